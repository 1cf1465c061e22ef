//! Validation: the raw `feeds.toml` tables → typed settings, one function per table,
//! each mistake a [`ConfigError`] naming the file, line and key.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use croner::Cron;
use lettre::message::Mailbox;
use toml::Spanned;
use url::Url;

use super::raw::{
    RawAnnouncement, RawArticles, RawBrief, RawDelivery, RawFeed, RawFetch, RawImap, RawInbound,
    RawPhrases, RawSection, RawSignup, RawSite, RawSmtpUrls, RawWeb,
};
use super::*;
use crate::filter::{Lists, MAX_PHRASE_CHARS, MAX_PHRASES, Phrase};

/// `[brief]`.
pub(super) fn brief(v: &Validator<'_>, b: RawBrief) -> Result<Brief, ConfigError> {
    let name = v.nonempty(&b.name, "brief.name")?;
    let reading = reading(v, &b)?;
    let from = v.mailbox(&b.from, "brief.from")?;
    let reply_to = b
        .reply_to
        .as_ref()
        .map(|s| v.mailbox(s, "brief.reply_to"))
        .transpose()?;
    let schedule = match &b.schedule {
        Some(s) => v.cron(s, "brief.schedule")?,
        None => Cron::from_str("0 6 * * Mon-Fri").map_err(|e| v.plain(format!("{e}")))?,
    };
    let timezone = match &b.timezone {
        Some(s) => s.get_ref().parse::<Tz>().map_err(|_| {
            v.at(
                s.span(),
                "brief.timezone",
                format!(
                    "unknown time zone {:?}; expected an IANA name such as \"America/New_York\"",
                    s.get_ref()
                ),
            )
        })?,
        None => Tz::UTC,
    };
    let base_url = b
        .base_url
        .as_ref()
        .map(|s| v.http_url(s, "brief.base_url"))
        .transpose()?;
    let editors = editors(v, &b)?;
    let review = review(v, &b, base_url.is_some(), &schedule, timezone)?;
    let weekly = weekly(v, b.weekly.as_ref(), &schedule, timezone)?;
    Ok(Brief {
        name,
        tagline: b.tagline.filter(|t| !t.trim().is_empty()),
        from,
        reply_to,
        schedule,
        timezone,
        base_url,
        postal_address: b.postal_address.filter(|t| !t.trim().is_empty()),
        max_stories: v.count(b.max_stories.as_ref(), "brief.max_stories", 12, 1, 100)?,
        per_section: v.count(b.per_section.as_ref(), "brief.per_section", 3, 1, 20)?,
        first_window: v.duration(b.first_window.as_ref(), "brief.first_window", "24h")?,
        data_dir: v.rel(b.data_dir.as_deref().unwrap_or("data")),
        templates: v.rel(b.templates.as_deref().unwrap_or("templates")),
        lang: b.lang.unwrap_or_else(|| "en".to_string()),
        editors,
        review,
        catch_up: match &b.catch_up {
            Some(s) => {
                parse_duration(s.get_ref()).map_err(|m| v.at(s.span(), "brief.catch_up", m))?
            }
            None => Duration::from_secs(6 * 3600),
        },
        filter: filters(v, b.include.as_ref(), b.exclude.as_ref(), "brief")?,
        reading,
        weekly,
    })
}

/// `[brief] editor` (one address, kept from before `editors`) and `editors` (a list):
/// together, each address once, `editor` first.
fn editors(v: &Validator<'_>, b: &RawBrief) -> Result<Vec<Mailbox>, ConfigError> {
    let mut out: Vec<Mailbox> = Vec::new();
    let listed = b
        .editors
        .as_ref()
        .map(|l| l.get_ref().as_slice())
        .unwrap_or(&[]);
    let one = b.editor.as_ref().map(|s| (s, "brief.editor"));
    for (s, key) in one
        .into_iter()
        .chain(listed.iter().map(|s| (s, "brief.editors")))
    {
        let m = v.mailbox(s, key)?;
        if !out.iter().any(|o| o.email == m.email) {
            out.push(m);
        }
    }
    Ok(out)
}

/// `[brief] review`, `review_lead` and `review_missing`. Review needs someone to review
/// (`editors`), a public address for the links mailed to them (`base_url`), and a
/// `review_lead` shorter than the shortest gap between two slots of `schedule` (else a
/// slot's draft would be due before the slot before it has gone out).
fn review(
    v: &Validator<'_>,
    b: &RawBrief,
    base_url_set: bool,
    schedule: &Cron,
    tz: Tz,
) -> Result<Review, ConfigError> {
    let required = match b.review.as_ref() {
        None => false,
        Some(r) => match r.get_ref().as_str() {
            "off" => false,
            "required" => true,
            other => {
                return Err(v.at(
                    r.span(),
                    "brief.review",
                    format!(
                        "{other:?} is not a choice; use \"off\" (digests go out as built) or \"required\" (each digest waits as a draft for an editor)"
                    ),
                ));
            }
        },
    };
    let missing = match b.review_missing.as_ref() {
        None => ReviewMissing::Send,
        Some(m) => match m.get_ref().as_str() {
            "send" => ReviewMissing::Send,
            "hold" => ReviewMissing::Hold,
            other => {
                return Err(v.at(
                    m.span(),
                    "brief.review_missing",
                    format!(
                        "{other:?} is not a choice; use \"send\" (an unapproved draft goes out as it stands) or \"hold\" (nothing goes out)"
                    ),
                ));
            }
        },
    };
    let lead = v.duration(b.review_lead.as_ref(), "brief.review_lead", "2h")?;
    if required {
        if b.editor.is_none() && b.editors.as_ref().is_none_or(|l| l.get_ref().is_empty()) {
            return Err(v.plain_key(
                "brief.review",
                "review = \"required\" needs someone to review: list their addresses in [brief] editors = [\"ann@example.org\"]",
            ));
        }
        if !base_url_set {
            return Err(v.plain_key(
                "brief.review",
                "review = \"required\" mails the editors links to the review page, so it needs [brief] base_url (the public address of the web endpoints, e.g. \"https://brief.example.org/\")",
            ));
        }
        if let Some((gap, from, to)) = shortest_gap(schedule, tz)
            && lead >= gap
        {
            let span = b
                .review_lead
                .as_ref()
                .map(Spanned::span)
                .or_else(|| b.review.as_ref().map(Spanned::span))
                .unwrap_or_default();
            let given = if b.review_lead.is_some() {
                "review_lead"
            } else {
                "review_lead (by default)"
            };
            return Err(v.at(
                span,
                "brief.review_lead",
                format!(
                    "{given} is {}, not shorter than the shortest gap between two slots of the schedule ({}, from {} to {}): a draft would be due before the slot before it has gone out; set review_lead under {}",
                    humantime::format_duration(lead),
                    humantime::format_duration(gap),
                    from.format("%a %b %-d %H:%M %Z"),
                    to.format("%a %b %-d %H:%M %Z"),
                    humantime::format_duration(gap),
                ),
            ));
        }
    }
    Ok(Review {
        required,
        lead,
        missing,
    })
}

/// The shortest time between two consecutive slots of `schedule` in `tz` over a year
/// (2026), with the two slots; `None` when the year has fewer than two. Bounded: the first
/// 2,000 slots of the year are looked at (an every-minute schedule shows its gap in the
/// first two), and again the slots from two days before to two days after each change of
/// the zone's UTC offset (a daylight-saving change shortens a gap by an hour).
fn shortest_gap(
    schedule: &Cron,
    tz: Tz,
) -> Option<(Duration, chrono::DateTime<Tz>, chrono::DateTime<Tz>)> {
    use chrono::{Offset, TimeZone};
    let start = tz.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).earliest()?;
    let end = start + chrono::Duration::days(366);
    let mut best: Option<(Duration, chrono::DateTime<Tz>, chrono::DateTime<Tz>)> = None;
    let mut scan = |from: chrono::DateTime<Tz>, until: chrono::DateTime<Tz>| {
        let Ok(mut prev) = schedule.find_next_occurrence(&from, true) else {
            return;
        };
        for _ in 0..2_000 {
            let Ok(next) = schedule.find_next_occurrence(&prev, false) else {
                break;
            };
            if next > until {
                break;
            }
            let gap = (next - prev).to_std().unwrap_or_default();
            if best.as_ref().is_none_or(|(b, _, _)| gap < *b) {
                best = Some((gap, prev, next));
            }
            prev = next;
        }
    };
    scan(start, end);
    let offset_on = |day: i64| (start + chrono::Duration::days(day)).offset().fix();
    for day in 1..=366 {
        if offset_on(day) != offset_on(day - 1) {
            let from = start + chrono::Duration::days(day - 3);
            scan(from, (from + chrono::Duration::days(5)).min(end));
        }
    }
    best
}

/// `[brief] weekly`: a day of the week (`"Fri"`, `"friday"`) on which the schedule has a
/// slot; `""` or no key: no weekly edition.
fn weekly(
    v: &Validator<'_>,
    day: Option<&Spanned<String>>,
    schedule: &Cron,
    tz: Tz,
) -> Result<Option<chrono::Weekday>, ConfigError> {
    let Some(day) = day.filter(|d| !d.get_ref().trim().is_empty()) else {
        return Ok(None);
    };
    let weekday = day.get_ref().trim().parse::<chrono::Weekday>().map_err(|_| {
        v.at(
            day.span(),
            "brief.weekly",
            format!(
                "{:?} is not a day of the week; use e.g. \"Fri\" (or leave the key out for no weekly edition)",
                day.get_ref()
            ),
        )
    })?;
    // The weekly edition goes out with that day's first slot: the schedule needs one.
    // Any 8 days hold every weekday; the loop stops there (or after a minute-by-minute
    // schedule's worth of slots).
    let start = chrono::TimeZone::with_ymd_and_hms(&tz, 2026, 1, 5, 0, 0, 0)
        .earliest()
        .ok_or_else(|| v.plain("no reference day in the brief's time zone".into()))?;
    let end = start + chrono::Duration::days(8);
    let mut at = start;
    let mut found = false;
    for _ in 0..20_000 {
        match schedule.find_next_occurrence(&at, false) {
            Ok(next) if next <= end => {
                if chrono::Datelike::weekday(&next) == weekday {
                    found = true;
                    break;
                }
                at = next;
            }
            _ => break,
        }
    }
    if !found {
        return Err(v.at(
            day.span(),
            "brief.weekly",
            format!(
                "weekly = {:?}, but the schedule {:?} has no slot on a {weekday}; choose a day the schedule sends on",
                day.get_ref(),
                schedule.pattern.to_string()
            ),
        ));
    }
    Ok(Some(weekday))
}

/// `[brief] share`, `track`, `most_read` and `images`: the share links, what a click
/// records, the "Most read last week" block and the stories' pictures.
fn reading(v: &Validator<'_>, b: &RawBrief) -> Result<Reading, ConfigError> {
    let track = match b.track.as_ref() {
        None => Track::Story,
        Some(t) => match t.get_ref().as_str() {
            "off" => Track::Off,
            "story" => Track::Story,
            "member" => Track::Member,
            other => {
                return Err(v.at(
                    t.span(),
                    "brief.track",
                    format!(
                        "{other:?} is not a choice; use \"off\", \"story\" or \"member\" (clicks per story, or per story and member)"
                    ),
                ));
            }
        },
    };
    Ok(Reading {
        share: b.share.unwrap_or(true),
        track,
        most_read: b.most_read.unwrap_or(true),
        images: images(v, b.images.as_ref())?,
    })
}

/// `[brief] images`: `"none"`, `"lead"` (the default) or `"all"`.
fn images(v: &Validator<'_>, images: Option<&Spanned<String>>) -> Result<Images, ConfigError> {
    let Some(i) = images else {
        return Ok(Images::Lead);
    };
    match i.get_ref().as_str() {
        "none" => Ok(Images::None),
        "lead" => Ok(Images::Lead),
        "all" => Ok(Images::All),
        other => Err(v.at(
            i.span(),
            "brief.images",
            format!(
                "{other:?} is not a choice; use \"lead\" (the lead story's picture), \"all\" (every story's) or \"none\""
            ),
        )),
    }
}

/// `[fetch]`; the default `User-Agent` names `base_url`.
pub(super) fn fetch(
    v: &Validator<'_>,
    f: RawFetch,
    base_url: Option<&Url>,
) -> Result<FetchSettings, ConfigError> {
    Ok(FetchSettings {
        interval: v.duration(f.interval.as_ref(), "fetch.interval", "30m")?,
        timeout: v.duration(f.timeout.as_ref(), "fetch.timeout", "20s")?,
        connect_timeout: v.duration(f.connect_timeout.as_ref(), "fetch.connect_timeout", "10s")?,
        concurrency: v.count(f.concurrency.as_ref(), "fetch.concurrency", 16, 1, 1024)?,
        per_host: v.count(f.per_host.as_ref(), "fetch.per_host", 2, 1, 64)?,
        user_agent: f.user_agent.unwrap_or_else(|| {
            format!(
                "feedbrief/{} (RSS digest; +{})",
                env!("CARGO_PKG_VERSION"),
                base_url.map_or("no-url-configured", |u| u.as_str())
            )
        }),
        max_body: match &f.max_body {
            Some(s) => parse_size(s.get_ref()).map_err(|m| v.at(s.span(), "fetch.max_body", m))?,
            None => 5 * 1024 * 1024,
        },
        articles: match &f.articles {
            None => Articles::Chosen,
            Some(a) => match a.get_ref() {
                RawArticles::Switch(true) => Articles::Chosen,
                RawArticles::Switch(false) => Articles::Off,
                RawArticles::Mode(m) if m == "all" => Articles::All,
                RawArticles::Mode(m) => {
                    return Err(v.at(
                        a.span(),
                        "fetch.articles",
                        format!("{m:?} is not a choice; use true (the stories a digest carries), \"all\" or false"),
                    ));
                }
            },
        },
        allow_private_addresses: f.allow_private_addresses.unwrap_or(false),
        attention_after: v.duration(f.attention_after.as_ref(), "fetch.attention_after", "24h")?,
        resolve: Vec::new(),
    })
}

/// `[delivery]`; the outbox defaults to `data_dir/outbox`, the SMTP password comes from
/// the environment.
pub(super) fn delivery(
    v: &Validator<'_>,
    d: RawDelivery,
    data_dir: &Path,
    smtp_password: Option<String>,
) -> Result<Delivery, ConfigError> {
    let transport_name = d
        .transport
        .as_ref()
        .map_or("outbox", |s| s.get_ref().as_str());
    let transport = match transport_name {
        "outbox" => Transport::Outbox(match &d.outbox {
            Some(p) => v.rel(p),
            None => data_dir.join("outbox"),
        }),
        "smtp" => {
            let Some(smtp_url) = &d.smtp_url else {
                return Err(v.plain_key(
                    "delivery.smtp_url",
                    "transport = \"smtp\" needs smtp_url, e.g. \"smtp://user@mail.example.org:587?tls=required\"",
                ));
            };
            Transport::Smtp(relays(v, smtp_url, smtp_password)?)
        }
        other => {
            let span = d.transport.as_ref().map(|s| s.span());
            return Err(v.maybe_at(
                span,
                "delivery.transport",
                format!("unknown transport {other:?}; expected \"outbox\" or \"smtp\""),
            ));
        }
    };
    Ok(Delivery {
        transport,
        connections: v.count(d.connections.as_ref(), "delivery.connections", 4, 1, 256)?,
        rate_per_second: match &d.rate_per_second {
            Some(r) if *r.get_ref() > 0.0 && *r.get_ref() <= MAX_RATE_PER_SECOND => {
                Some(*r.get_ref())
            }
            Some(r) => {
                return Err(v.at(
                    r.span(),
                    "delivery.rate_per_second",
                    format!(
                        "expected a number of messages per second above 0 and at most {MAX_RATE_PER_SECOND}; leave the key out for no limit"
                    ),
                ));
            }
            None => None,
        },
        timeout: v.duration(d.timeout.as_ref(), "delivery.timeout", "60s")?,
        attempts: v.count(d.attempts.as_ref(), "delivery.attempts", 3, 1, 10)? as u32,
        dkim: match (&d.dkim_selector, &d.dkim_domain, &d.dkim_key) {
            (None, None, None) => None,
            (Some(selector), Some(domain), Some(key)) => {
                let path = v.rel(key.get_ref());
                let key_pem = std::fs::read_to_string(&path).map_err(|e| {
                    v.at(
                        key.span(),
                        "delivery.dkim_key",
                        format!("cannot read the DKIM key {}: {e}", path.display()),
                    )
                })?;
                // Parse now so a bad key stops the program at startup, not mid-send.
                lettre::message::dkim::DkimSigningKey::new(
                    &key_pem,
                    lettre::message::dkim::DkimSigningAlgorithm::Rsa,
                )
                .map_err(|e| {
                    v.at(
                        key.span(),
                        "delivery.dkim_key",
                        format!(
                            "{} is not an RSA private key in PKCS#1 PEM ({e}); create one with `openssl genrsa -traditional -out dkim.pem 2048`",
                            path.display()
                        ),
                    )
                })?;
                Some(Dkim {
                    selector: v.nonempty(selector, "delivery.dkim_selector")?,
                    domain: v.nonempty(domain, "delivery.dkim_domain")?,
                    key_pem,
                })
            }
            _ => {
                return Err(v.plain_key(
                    "delivery.dkim_selector",
                    "DKIM needs all three of dkim_selector, dkim_domain and dkim_key",
                ));
            }
        },
    })
}

/// `[delivery] smtp_url`: one relay, or a list of them (`["smtp://a…", "smtp://b…"]`),
/// each checked with its line; an empty list or a relay listed twice is an error. The
/// password (from the environment) goes to every relay that names a user.
fn relays(
    v: &Validator<'_>,
    urls: &Spanned<RawSmtpUrls>,
    password: Option<String>,
) -> Result<Vec<SmtpSettings>, ConfigError> {
    let key = "delivery.smtp_url";
    let list: Vec<(std::ops::Range<usize>, &str)> = match urls.get_ref() {
        RawSmtpUrls::One(url) => vec![(urls.span(), url.as_str())],
        RawSmtpUrls::Many(many) => many
            .iter()
            .map(|u| (u.span(), u.get_ref().as_str()))
            .collect(),
    };
    if list.is_empty() {
        return Err(v.at(
            urls.span(),
            key,
            "smtp_url = [] names no relay; give one URL or a list of them, e.g. [\"smtp://relay1.example.org:587\", \"smtp://relay2.example.org:587\"]".into(),
        ));
    }
    let mut relays: Vec<SmtpSettings> = Vec::with_capacity(list.len());
    for (span, url) in list {
        let relay = v.smtp(span.clone(), url, password.clone())?;
        if relays
            .iter()
            .any(|r| r.host.eq_ignore_ascii_case(&relay.host) && r.port == relay.port)
        {
            return Err(v.at(
                span,
                key,
                format!(
                    "the relay {}:{} is listed twice; list each relay once",
                    relay.host, relay.port
                ),
            ));
        }
        relays.push(relay);
    }
    Ok(relays)
}

/// `[web]`.
pub(super) fn web(v: &Validator<'_>, w: &RawWeb) -> Result<Web, ConfigError> {
    Ok(Web {
        listen: match &w.listen {
            Some(s) => s.get_ref().parse().map_err(|_| {
                v.at(
                    s.span(),
                    "web.listen",
                    format!(
                        "{:?} is not a socket address; expected e.g. \"127.0.0.1:8080\"",
                        s.get_ref()
                    ),
                )
            })?,
            None => std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        },
        header_timeout: v.duration(w.header_timeout.as_ref(), "web.header_timeout", "10s")?,
        idle_timeout: v.duration(w.idle_timeout.as_ref(), "web.idle_timeout", "60s")?,
        max_connections: v.count(
            w.max_connections.as_ref(),
            "web.max_connections",
            256,
            1,
            65_536,
        )?,
        max_body: match &w.max_body {
            Some(s) => parse_size(s.get_ref())
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    v.at(
                        s.span(),
                        "web.max_body",
                        format!(
                            "{:?} is not a size of at least 1KB; expected e.g. \"64KB\"",
                            s.get_ref()
                        ),
                    )
                })?,
            None => 64 * 1024,
        },
        scanner_networks: w
            .scanner_networks
            .iter()
            .flatten()
            .map(|n| {
                n.get_ref().parse().map_err(|why: String| {
                    v.at(
                        n.span(),
                        "web.scanner_networks",
                        format!("{why}; expected a network such as \"40.92.0.0/15\" or an address"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    })
}

/// `[inbound]`: the bounce domain (a DNS name), the listener (which needs it) and its
/// limits, the soft-bounce rule.
pub(super) fn inbound(v: &Validator<'_>, i: &RawInbound) -> Result<Inbound, ConfigError> {
    let defaults = Inbound::default();
    let bounce_domain = match &i.bounce_domain {
        Some(s) => {
            let d = s
                .get_ref()
                .trim()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
                return Err(v.at(
                    s.span(),
                    "inbound.bounce_domain",
                    format!(
                        "{:?} is not a domain name; expected e.g. \"bounces.example.org\" (a domain whose MX points at this host)",
                        s.get_ref()
                    ),
                ));
            }
            Some(d)
        }
        None => None,
    };
    let listen = match &i.listen {
        Some(s) => {
            let addr: std::net::SocketAddr = s.get_ref().parse().map_err(|_| {
                v.at(
                    s.span(),
                    "inbound.listen",
                    format!(
                        "{:?} is not a socket address; expected e.g. \"127.0.0.1:2525\"",
                        s.get_ref()
                    ),
                )
            })?;
            if bounce_domain.is_none() {
                return Err(v.at(
                    s.span(),
                    "inbound.listen",
                    "the listener accepts mail for the bounce domain only; set inbound.bounce_domain too".into(),
                ));
            }
            Some(addr)
        }
        None => None,
    };
    let max_message_size = match &i.max_message_size {
        Some(s) => parse_size(s.get_ref())
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1024..=64 * 1024 * 1024).contains(n))
            .ok_or_else(|| {
                v.at(
                    s.span(),
                    "inbound.max_message_size",
                    format!(
                        "{:?} is not a size from 1KB to 64MB; expected e.g. \"2MB\"",
                        s.get_ref()
                    ),
                )
            })?,
        None => defaults.max_message_size,
    };
    Ok(Inbound {
        bounce_domain,
        listen,
        max_message_size,
        connection_timeout: v.duration(
            i.connection_timeout.as_ref(),
            "inbound.connection_timeout",
            "5m",
        )?,
        max_connections: v.count(
            i.max_connections.as_ref(),
            "inbound.max_connections",
            defaults.max_connections,
            1,
            4096,
        )?,
        max_recipients: v.count(
            i.max_recipients.as_ref(),
            "inbound.max_recipients",
            defaults.max_recipients,
            1,
            1000,
        )?,
        soft_bounce_limit: v.count(
            i.soft_bounce_limit.as_ref(),
            "inbound.soft_bounce_limit",
            defaults.soft_bounce_limit,
            1,
            1000,
        )?,
        soft_bounce_window: v.duration(
            i.soft_bounce_window.as_ref(),
            "inbound.soft_bounce_window",
            "15d",
        )?,
        imap: None,
    })
}

/// `[inbound] imap = { url, user, password_env, mailbox, every, after }`: the mailbox
/// polled for bounces. The password comes from the environment variable `password_env`
/// names, never from the file; plain `imap://` (no TLS) is allowed to loopback only.
pub(super) fn imap(
    v: &Validator<'_>,
    raw: Option<&Spanned<RawImap>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Imap>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let i = raw.get_ref();
    let url_text = i.url.get_ref().trim();
    let bad_url = |m: String| v.at(i.url.span(), "inbound.imap.url", m);
    let url = Url::parse(url_text).map_err(|e| {
        bad_url(format!(
            "{url_text:?} is not a URL ({e}); expected e.g. \"imaps://mail.example.org:993\""
        ))
    })?;
    let (tls, default_port) = match url.scheme() {
        "imaps" => (true, 993),
        "imap" => (false, 143),
        other => {
            return Err(bad_url(format!(
                "unknown scheme {other:?}; expected imaps:// (or imap:// to a loopback address)"
            )));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_url(
            "the URL must not carry a user or password; use the user key and put the password in the variable password_env names".into(),
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad_url(
            "expected only scheme, host and port (the mailbox is the mailbox key)".into(),
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad_url("the URL has no host".into()))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !tls && !loopback {
        return Err(bad_url(format!(
            "imap:// would send the password to {host} unencrypted; use imaps:// (plain imap:// is for loopback only)"
        )));
    }
    // Sent as IMAP quoted strings: printable ASCII, no line breaks.
    let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let user = i.user.get_ref().trim().to_string();
    if !printable(&user) {
        return Err(v.at(
            i.user.span(),
            "inbound.imap.user",
            "expected a non-empty login name of printable ASCII".into(),
        ));
    }
    let password_env = i.password_env.get_ref().trim().to_string();
    let is_name = !password_env.is_empty()
        && password_env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_name {
        return Err(v.at(
            i.password_env.span(),
            "inbound.imap.password_env",
            format!(
                "{password_env:?} is not an environment variable name; expected e.g. \"FEEDBRIEF_IMAP_PASSWORD\" (the password itself never goes in the file)"
            ),
        ));
    }
    let password = env(&password_env).unwrap_or_default();
    if password.is_empty() {
        return Err(v.at(
            i.password_env.span(),
            "inbound.imap.password_env",
            format!("the environment variable {password_env} is unset or empty; set it to the IMAP password"),
        ));
    }
    if password.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(v.at(
            i.password_env.span(),
            "inbound.imap.password_env",
            format!("the password in {password_env} holds a control character, which IMAP LOGIN cannot carry"),
        ));
    }
    let mailbox = match &i.mailbox {
        Some(m) if printable(m.get_ref().trim()) => m.get_ref().trim().to_string(),
        Some(m) => {
            return Err(v.at(
                m.span(),
                "inbound.imap.mailbox",
                "expected a mailbox name of printable ASCII, e.g. \"INBOX\" or \"Bounces\"".into(),
            ));
        }
        None => "INBOX".to_string(),
    };
    let every = v.duration(i.every.as_ref(), "inbound.imap.every", "5m")?;
    if every < Duration::from_secs(1) {
        return Err(v.maybe_at(
            i.every.as_ref().map(Spanned::span),
            "inbound.imap.every",
            "must be at least 1s".into(),
        ));
    }
    let after = match &i.after {
        None => ImapAfter::Seen,
        Some(a) => match a.get_ref().trim() {
            "seen" => ImapAfter::Seen,
            "delete" => ImapAfter::Delete,
            other => match other.strip_prefix("move:").map(str::trim) {
                Some(target) if printable(target) => ImapAfter::Move(target.to_string()),
                _ => {
                    return Err(v.at(
                        a.span(),
                        "inbound.imap.after",
                        format!(
                            "{other:?} is not a rule; expected \"seen\", \"delete\" or \"move:<mailbox>\" (e.g. \"move:Processed\")"
                        ),
                    ));
                }
            },
        },
    };
    Ok(Some(Imap {
        host,
        port: url.port().unwrap_or(default_port),
        tls,
        user,
        password_env,
        password,
        mailbox,
        every,
        after,
    }))
}

/// `[signup]`: the public sign-up form and its limits (issue #14).
/// The confirmation links point at `base_url`, never at a request's `Host` (which anyone
/// can set), so sign-up needs it.
pub(super) fn signup(
    v: &Validator<'_>,
    s: &RawSignup,
    base_url: Option<&Url>,
) -> Result<SignupSettings, ConfigError> {
    let enabled = s.enabled.unwrap_or(false);
    if enabled && base_url.is_none() {
        return Err(v.plain_key(
            "signup.enabled",
            "the sign-up form mails links to its confirm page, so it needs [brief] base_url (the public address of the web endpoints, e.g. \"https://brief.example.org/\")",
        ));
    }
    Ok(SignupSettings {
        enabled,
        confirm_within: v.duration(s.confirm_within.as_ref(), "signup.confirm_within", "48h")?,
        per_address: v.count(s.per_address.as_ref(), "signup.per_address", 3, 1, 100)?,
        per_ip: v.count(s.per_ip.as_ref(), "signup.per_ip", 20, 1, 100_000)?,
        forwarded_for: s.forwarded_for.unwrap_or(false),
    })
}

/// `[[section]]`s; none configured gives the one implicit "Top Stories".
pub(super) fn sections(v: &Validator<'_>, raw: &[RawSection]) -> Result<Vec<Section>, ConfigError> {
    let mut sections: Vec<Section> = Vec::new();
    for s in raw {
        let name = v.nonempty(&s.name, "section.name")?;
        if sections.iter().any(|x| x.name == name) {
            return Err(v.at(
                s.name.span(),
                "section.name",
                format!("section {name:?} is listed twice"),
            ));
        }
        sections.push(Section { name });
    }
    if sections.is_empty() {
        sections.push(Section {
            name: "Top Stories".to_string(),
        });
    }
    Ok(sections)
}

/// A section named by a feed or announcement, which must be one of `sections`.
fn section_ref(
    v: &Validator<'_>,
    sections: &[Section],
    s: &Spanned<String>,
    key: &str,
) -> Result<String, ConfigError> {
    if sections.iter().any(|x| &x.name == s.get_ref()) {
        Ok(s.get_ref().clone())
    } else {
        Err(v.at(
            s.span(),
            key,
            format!(
                "no [[section]] is named {:?}; known sections: {}",
                s.get_ref(),
                sections
                    .iter()
                    .map(|x| format!("{:?}", x.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// `[[feed]]`s: each URL once, a positive weight, a known section.
pub(super) fn feeds(
    v: &Validator<'_>,
    raw: &[RawFeed],
    sections: &[Section],
) -> Result<Vec<Feed>, ConfigError> {
    let mut feeds: Vec<Feed> = Vec::new();
    for f in raw {
        let url = v.feed_url(&f.url, "feed.url")?;
        if feeds.iter().any(|x| x.url == url) {
            return Err(v.at(
                f.url.span(),
                "feed.url",
                format!("feed {url} is listed twice"),
            ));
        }
        let weight = match &f.weight {
            Some(w) if *w.get_ref() > 0.0 && w.get_ref().is_finite() => *w.get_ref(),
            Some(w) => {
                return Err(v.at(
                    w.span(),
                    "feed.weight",
                    "expected a positive number (1.0 is neutral)".into(),
                ));
            }
            None => 1.0,
        };
        feeds.push(Feed {
            name: v.nonempty(&f.name, "feed.name")?,
            url,
            section: f
                .section
                .as_ref()
                .map(|s| section_ref(v, sections, s, "feed.section"))
                .transpose()?,
            weight,
            filter: filters(v, f.include.as_ref(), f.exclude.as_ref(), "feed")?,
        });
    }
    Ok(feeds)
}

/// The `include` and `exclude` lists of `[brief]` or a `[[feed]]` (`table`): at most
/// [`MAX_PHRASES`] each, every entry a word or phrase of at most [`MAX_PHRASE_CHARS`]
/// characters, none listed twice nor in both lists.
pub(super) fn filters(
    v: &Validator<'_>,
    include: Option<&RawPhrases>,
    exclude: Option<&RawPhrases>,
    table: &str,
) -> Result<Lists, ConfigError> {
    let list = |raw: Option<&RawPhrases>, name: &str| -> Result<Vec<Phrase>, ConfigError> {
        let key = format!("{table}.{name}");
        let Some(raw) = raw else {
            return Ok(Vec::new());
        };
        if raw.get_ref().len() > MAX_PHRASES {
            return Err(v.at(
                raw.span(),
                &key,
                format!(
                    "{} entries; at most {MAX_PHRASES} words or phrases a list (a broader word, or a feed of its own, may do)",
                    raw.get_ref().len()
                ),
            ));
        }
        let mut phrases: Vec<Phrase> = Vec::new();
        for s in raw.get_ref() {
            let Some(p) = Phrase::new(s.get_ref()) else {
                return Err(v.at(
                    s.span(),
                    &key,
                    "an empty word; remove it or write the word".into(),
                ));
            };
            let chars = p.text.chars().count();
            if chars > MAX_PHRASE_CHARS {
                return Err(v.at(
                    s.span(),
                    &key,
                    format!(
                        "a phrase of {chars} characters; at most {MAX_PHRASE_CHARS} (a few words that say it)"
                    ),
                ));
            }
            if phrases.iter().any(|q| q.key() == p.key()) {
                return Err(v.at(s.span(), &key, format!("{:?} is listed twice", p.text)));
            }
            phrases.push(p);
        }
        Ok(phrases)
    };
    let lists = Lists {
        include: list(include, "include")?,
        exclude: list(exclude, "exclude")?,
    };
    if let (Some(raw), Some(p)) = (
        exclude,
        lists
            .exclude
            .iter()
            .find(|p| lists.include.iter().any(|q| q.key() == p.key())),
    ) {
        let span = raw
            .get_ref()
            .iter()
            .find(|s| Phrase::new(s.get_ref()).is_some_and(|q| q.key() == p.key()))
            .map_or(raw.span(), |s| s.span());
        return Err(v.at(
            span,
            &format!("{table}.exclude"),
            format!(
                "{:?} is in both include and exclude; keep it in one",
                p.text
            ),
        ));
    }
    Ok(lists)
}

/// `[[announcement]]`s or `[[sponsor]]`s (`kind`): dated, linked, placed after a section.
pub(super) fn blocks(
    v: &Validator<'_>,
    raw: Vec<RawAnnouncement>,
    kind: &str,
    sections: &[Section],
) -> Result<Vec<Announcement>, ConfigError> {
    let mut announcements = Vec::new();
    for a in raw {
        let until = match &a.until {
            Some(d) => Some(match d.get_ref().date {
                Some(date) if d.get_ref().time.is_none() => {
                    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
                        .ok_or_else(|| {
                            v.at(
                                d.span(),
                                &format!("{kind}.until"),
                                "not a calendar date".into(),
                            )
                        })?
                }
                _ => {
                    return Err(v.at(
                        d.span(),
                        &format!("{kind}.until"),
                        "expected a date such as 2026-12-31".into(),
                    ));
                }
            }),
            None => None,
        };
        announcements.push(Announcement {
            title: a.title,
            body: a.body,
            link: v.http_url(&a.link, &format!("{kind}.link"))?,
            cta: a.cta.unwrap_or_else(|| "LEARN MORE".to_string()),
            image: a
                .image
                .as_ref()
                .map(|s| v.http_url(s, &format!("{kind}.image")))
                .transpose()?,
            image_alt: a.image_alt,
            until,
            after_section: a
                .after_section
                .as_ref()
                .map(|s| section_ref(v, sections, s, &format!("{kind}.after_section")))
                .transpose()?,
        });
    }
    Ok(announcements)
}

/// `[[site]]` tables: a bare host (its subdomains included) and CSS selectors that parse;
/// a host given twice, or a table with neither `article` nor `remove`, is an error.
pub(super) fn sites(v: &Validator<'_>, raw: &[RawSite]) -> Result<Vec<Site>, ConfigError> {
    let mut out: Vec<Site> = Vec::new();
    for s in raw {
        let host = v
            .nonempty(&s.host, "site.host")?
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if host.contains(['/', ':', '*', ' ']) || url::Host::parse(&host).is_err() {
            return Err(v.at(
                s.host.span(),
                "site.host",
                format!(
                    "{host:?} is not a host name; write the bare host, such as \"example.com\" (it covers www.example.com and other subdomains)"
                ),
            ));
        }
        if out.iter().any(|o| o.host == host) {
            return Err(v.at(
                s.host.span(),
                "site.host",
                format!("{host} has two [[site]] tables; merge them into one"),
            ));
        }
        let article = s
            .article
            .as_ref()
            .map(|a| css_selector(v, a, "site.article"))
            .transpose()?;
        let remove = s
            .remove
            .iter()
            .map(|r| css_selector(v, r, "site.remove"))
            .collect::<Result<Vec<_>, _>>()?;
        if article.is_none() && remove.is_empty() {
            return Err(v.at(
                s.host.span(),
                "site",
                format!("the [[site]] table for {host} has neither `article` nor `remove`; give one of them or delete the table"),
            ));
        }
        out.push(Site {
            host,
            article,
            remove,
        });
    }
    Ok(out)
}

/// A CSS selector as scraper will apply it, checked now so a typo stops the program at
/// startup rather than silently matching nothing.
fn css_selector(v: &Validator<'_>, s: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let text = s.get_ref().trim();
    if text.is_empty() {
        return Err(v.at(
            s.span(),
            key,
            "is empty; give a CSS selector such as \"div.story-body\"".to_string(),
        ));
    }
    scraper::Selector::parse(text).map_err(|e| {
        // scraper's message may open with a generic line; its last line names the fault.
        let why = e.to_string();
        let why = why.lines().last().unwrap_or_default().trim().to_string();
        v.at(
            s.span(),
            key,
            format!("{text:?} is not a CSS selector ({why}); write one such as \"div.story-body\" or \"#content > article\""),
        )
    })?;
    Ok(text.to_string())
}

/// Builds errors that point into the config text.
pub(super) struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    /// The config file's directory: relative paths in it start there.
    base_dir: PathBuf,
}

impl<'a> Validator<'a> {
    pub(super) fn new(text: &'a str, path: &'a Path) -> Self {
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self {
            text,
            path,
            base_dir,
        }
    }

    /// `p` resolved against the config file's directory (absolute paths stay).
    pub(super) fn rel(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    pub(super) fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn at(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: String,
    ) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(self.line_of(span.start)),
            key: Some(key.to_string()),
            message,
        }
    }

    pub(super) fn maybe_at(
        &self,
        span: Option<std::ops::Range<usize>>,
        key: &str,
        message: String,
    ) -> ConfigError {
        match span {
            Some(span) => self.at(span, key, message),
            None => self.plain_key(key, &message),
        }
    }

    pub(super) fn plain(&self, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: None,
            key: None,
            message,
        }
    }

    pub(super) fn plain_key(&self, key: &str, message: &str) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: None,
            key: Some(key.to_string()),
            message: message.to_string(),
        }
    }

    /// Turns a toml/serde error into one line with the key it happened at.
    pub(super) fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
        let message = err.message().trim().replace('\n', " ");
        let Some(span) = err.span() else {
            return self.plain(message);
        };
        let line = self.line_of(span.start);
        // The span covers the offending key or value; its table header is the nearest
        // `[name]` or `[[name]]` line above it.
        let table = self.text[..span.start.min(self.text.len())]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        let snippet = self
            .text
            .get(span.clone())
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim();
        let key_at_line = self
            .text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        let leaf = if !snippet.is_empty()
            && snippet
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !snippet.chars().all(|c| c.is_ascii_digit())
        {
            Some(snippet.to_string())
        } else {
            key_at_line
        };
        let key = match (table, leaf) {
            (Some(t), Some(l)) if !l.is_empty() => Some(format!("{t}.{l}")),
            (Some(t), None) => Some(t),
            (None, Some(l)) => Some(l),
            _ => None,
        };
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(line),
            key,
            message,
        }
    }

    pub(super) fn nonempty(&self, s: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        let t = s.get_ref().trim();
        if t.is_empty() {
            return Err(self.at(s.span(), key, "must not be empty".into()));
        }
        Ok(t.to_string())
    }

    pub(super) fn mailbox(&self, s: &Spanned<String>, key: &str) -> Result<Mailbox, ConfigError> {
        s.get_ref().parse::<Mailbox>().map_err(|e| {
            self.at(
                s.span(),
                key,
                format!(
                    "{:?} is not a mailbox ({e}); expected e.g. \"Leadership Brief <brief@example.org>\"",
                    s.get_ref()
                ),
            )
        })
    }

    pub(super) fn cron(&self, s: &Spanned<String>, key: &str) -> Result<Cron, ConfigError> {
        let fields = s.get_ref().split_whitespace().count();
        if fields != 5 {
            return Err(self.at(
                s.span(),
                key,
                format!(
                    "{:?} has {fields} fields; expected 5 (minute hour day-of-month month day-of-week), e.g. \"0 6 * * Mon-Fri\"",
                    s.get_ref()
                ),
            ));
        }
        Cron::from_str(s.get_ref()).map_err(|e| {
            self.at(
                s.span(),
                key,
                format!(
                    "{:?} is not a cron expression ({e}); expected e.g. \"0 6 * * Mon-Fri\"",
                    s.get_ref()
                ),
            )
        })
    }

    pub(super) fn http_url(&self, s: &Spanned<String>, key: &str) -> Result<Url, ConfigError> {
        match Url::parse(s.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            Ok(_) | Err(_) => Err(self.at(
                s.span(),
                key,
                format!(
                    "{:?} is not an absolute http(s) URL; expected e.g. \"https://example.org/\"",
                    s.get_ref()
                ),
            )),
        }
    }

    pub(super) fn feed_url(&self, s: &Spanned<String>, key: &str) -> Result<Url, ConfigError> {
        match Url::parse(s.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            Ok(u) if u.scheme() == "file" => Ok(u),
            Ok(_) | Err(_) => Err(self.at(
                s.span(),
                key,
                format!(
                    "{:?} is not a feed URL; expected an absolute http(s) URL such as \"https://example.org/feed/\"",
                    s.get_ref()
                ),
            )),
        }
    }

    pub(super) fn duration(
        &self,
        s: Option<&Spanned<String>>,
        key: &str,
        default: &str,
    ) -> Result<Duration, ConfigError> {
        match s {
            Some(s) => {
                let d = parse_duration(s.get_ref()).map_err(|m| self.at(s.span(), key, m))?;
                if d.is_zero() {
                    return Err(self.at(s.span(), key, "must be longer than zero".into()));
                }
                Ok(d)
            }
            None => parse_duration(default).map_err(|m| self.plain_key(key, &m)),
        }
    }

    pub(super) fn count(
        &self,
        s: Option<&Spanned<i64>>,
        key: &str,
        default: usize,
        min: i64,
        max: i64,
    ) -> Result<usize, ConfigError> {
        match s {
            Some(n) if (min..=max).contains(n.get_ref()) => Ok(*n.get_ref() as usize),
            Some(n) => Err(self.at(
                n.span(),
                key,
                format!("{} is out of range; expected {min} to {max}", n.get_ref()),
            )),
            None => Ok(default),
        }
    }

    pub(super) fn smtp(
        &self,
        span: std::ops::Range<usize>,
        text: &str,
        password: Option<String>,
    ) -> Result<SmtpSettings, ConfigError> {
        let key = "delivery.smtp_url";
        let bad = |m: String| self.at(span.clone(), key, m);
        let url = Url::parse(text).map_err(|e| {
            bad(format!(
                "{text:?} is not a URL ({e}); expected e.g. \"smtp://user@mail.example.org:587?tls=required\""
            ))
        })?;
        if url.password().is_some() {
            return Err(bad(format!(
                "smtp_url must not contain a password; put it in the {SMTP_PASSWORD_ENV} environment variable"
            )));
        }
        let (default_port, default_tls) = match url.scheme() {
            "smtp" => (587, SmtpTls::Opportunistic),
            "smtps" => (465, SmtpTls::Wrapper),
            other => {
                return Err(bad(format!(
                    "unknown scheme {other:?}; expected smtp:// or smtps://"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("smtp_url has no host".into()))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let mut tls = default_tls;
        for (k, val) in url.query_pairs() {
            match (k.as_ref(), val.as_ref()) {
                ("tls", "required") => tls = SmtpTls::Required,
                ("tls", "opportunistic") => tls = SmtpTls::Opportunistic,
                ("tls", "none") => tls = SmtpTls::None,
                ("tls", "wrapper") => tls = SmtpTls::Wrapper,
                ("tls", other) => {
                    return Err(bad(format!(
                        "unknown tls mode {other:?}; expected required, opportunistic, wrapper or none"
                    )));
                }
                (other, _) => return Err(bad(format!("unknown smtp_url parameter {other:?}"))),
            }
        }
        let user = (!url.username().is_empty()).then(|| percent_decode(url.username()));
        Ok(SmtpSettings {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
            password,
        })
    }
}

/// Decodes `%XX` escapes (user names like `me%40example.org` in URLs).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

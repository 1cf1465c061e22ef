//! Configuration: `feeds.toml` text → a validated [`Config`].
//!
//! Parsing happens in two steps (zola, mdBook): serde with `deny_unknown_fields` into the
//! `Raw*` structs, then validation into typed values (URLs, mailboxes, cron, time zone,
//! durations). Every mistake becomes one [`ConfigError`] naming the file, line and key.
//! Paths resolve relative to the config file, never the working directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use croner::Cron;
use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Environment variable holding the SMTP password; never read from the config file.
pub const SMTP_PASSWORD_ENV: &str = "FEEDBRIEF_SMTP_PASSWORD";

/// One problem in the config file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Dotted key path such as `brief.timezone`, when known.
    pub key: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The highest `[delivery] rate_per_second` (a message every 10 µs); past it, leave the
/// key out.
pub const MAX_RATE_PER_SECOND: f64 = 100_000.0;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// The brief itself: name, sender, schedule.
    pub brief: Brief,
    /// How feeds and pages are fetched.
    pub fetch: FetchSettings,
    /// How mail leaves.
    pub delivery: Delivery,
    /// The web endpoint settings.
    pub web: Web,
    /// Where the member list comes from.
    pub members: Members,
    /// Named sections, in digest order.
    pub sections: Vec<Section>,
    /// Feeds to follow.
    pub feeds: Vec<Feed>,
    /// The association's announcements.
    pub announcements: Vec<Announcement>,
    /// Sponsored blocks, shown labelled "ADVERTISEMENT".
    pub sponsors: Vec<Announcement>,
}

/// `[brief]`.
#[derive(Debug, Clone)]
pub struct Brief {
    /// Name shown in the header and `List-Id`.
    pub name: String,
    /// Line under the name.
    pub tagline: Option<String>,
    /// Sender mailbox.
    pub from: Mailbox,
    /// Optional Reply-To mailbox.
    pub reply_to: Option<Mailbox>,
    /// When digests go out, in `timezone`.
    pub schedule: Cron,
    /// The brief's time zone (dates in the digest, schedule).
    pub timezone: Tz,
    /// Public URL of the web endpoints (unsubscribe, archive).
    pub base_url: Option<Url>,
    /// Postal address printed in the footer (CAN-SPAM).
    pub postal_address: Option<String>,
    /// Most stories in one digest.
    pub max_stories: usize,
    /// Most stories per section.
    pub per_section: usize,
    /// How far back the first digest looks.
    pub first_window: Duration,
    /// Directory with the database and outbox.
    pub data_dir: PathBuf,
    /// Directory whose templates override the built-in ones.
    pub templates: PathBuf,
    /// BCP 47 language of the digest (`lang` attribute).
    pub lang: String,
    /// Who gets the "feeds needing attention" mail (at most once a day).
    pub editor: Option<Mailbox>,
    /// How late a missed schedule slot may still be sent when the daemon starts.
    pub catch_up: Duration,
}

/// `[fetch]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchSettings {
    /// How often the daemon refreshes feeds.
    pub interval: Duration,
    /// Total time for one request, body included.
    pub timeout: Duration,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests in flight at once to one host.
    pub per_host: usize,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Largest body read, decompressed, in bytes.
    pub max_body: u64,
    /// Which article pages are read (see [`Articles`]).
    pub articles: Articles,
    /// Allow article URLs on loopback or private networks.
    pub allow_private_addresses: bool,
    /// A feed failing for longer than this is listed as needing attention.
    pub attention_after: Duration,
    /// Host names answered with these addresses instead of DNS, like curl's `--resolve`.
    /// Not a `feeds.toml` key (always empty from a file): tests use it to give a
    /// public-looking name to a server on loopback. The names count as public: the
    /// private-address guards judge only addresses that DNS or a URL gives.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

impl Default for FetchSettings {
    /// The settings of an empty `[fetch]` table (a test keeps the two the same), for
    /// reading one feed or page from the command line without a config.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30 * 60),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            concurrency: 16,
            per_host: 2,
            user_agent: format!(
                "feedbrief/{} (RSS digest; +no-url-configured)",
                env!("CARGO_PKG_VERSION")
            ),
            max_body: 5 * 1024 * 1024,
            articles: Articles::Chosen,
            allow_private_addresses: false,
            attention_after: Duration::from_secs(24 * 3600),
            resolve: Vec::new(),
        }
    }
}

/// `[fetch] articles`: which entries' article pages are read and summarized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Articles {
    /// `false`: none; summaries come from the feeds alone.
    Off,
    /// `true` (the default): the pages of the stories a digest would carry.
    Chosen,
    /// `"all"`: every new entry's page that a digest could still carry.
    All,
}

/// How digests leave the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Write one `.eml` per message into this directory.
    Outbox(PathBuf),
    /// Send through an SMTP relay.
    Smtp(SmtpSettings),
}

/// SMTP relay settings parsed from `smtp_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Relay host name.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// TLS mode.
    pub tls: SmtpTls,
    /// User name, when the relay wants authentication.
    pub user: Option<String>,
    /// Password from [`SMTP_PASSWORD_ENV`].
    pub password: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    // Written by hand so the password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// TLS mode of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (only sensible on loopback).
    None,
    /// STARTTLS if offered.
    Opportunistic,
    /// STARTTLS, required.
    Required,
    /// TLS from the first byte (port 465).
    Wrapper,
}

/// `[delivery]`.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Where messages go.
    pub transport: Transport,
    /// Concurrent SMTP connections.
    pub connections: usize,
    /// Most messages per second, when set.
    pub rate_per_second: Option<f64>,
    /// Time allowed for one SMTP command.
    pub timeout: Duration,
    /// Attempts per member within one cycle for transient failures.
    pub attempts: u32,
    /// DKIM signing, when selector, domain and key are all configured.
    pub dkim: Option<Dkim>,
}

/// DKIM signing settings.
#[derive(Clone)]
pub struct Dkim {
    /// Selector (`s=`): the key is published at `{selector}._domainkey.{domain}`.
    pub selector: String,
    /// Signing domain (`d=`).
    pub domain: String,
    /// The RSA private key, PKCS#1 PEM.
    pub key_pem: String,
}

impl fmt::Debug for Dkim {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dkim")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// `[web]`.
#[derive(Debug, Clone)]
pub struct Web {
    /// Address the web endpoints listen on.
    pub listen: std::net::SocketAddr,
    /// Time a client has to send a request's headers, from connecting or from the end of
    /// its previous request (a keep-alive connection waiting for its next request).
    pub header_timeout: Duration,
    /// A connection on which nothing is sent or received for this long is closed (a body
    /// that stalls, a response nobody reads).
    pub idle_timeout: Duration,
    /// Connections served at once; further clients wait in the listen queue.
    pub max_connections: usize,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body: usize,
}

/// `[members]`.
#[derive(Debug, Clone)]
pub struct Members {
    /// The CSV file, when one is configured and exists.
    pub file: Option<PathBuf>,
}

/// `[[section]]`.
#[derive(Debug, Clone)]
pub struct Section {
    /// Section title in the digest.
    pub name: String,
}

/// `[[feed]]`.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Source name shown in `Full Story: Source`.
    pub name: String,
    /// Feed URL (http, https or file).
    pub url: Url,
    /// Section its stories go to; `None` means the first section.
    pub section: Option<String>,
    /// Ranking weight; 1.0 is neutral.
    pub weight: f64,
}

/// `[[announcement]]`.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Headline.
    pub title: String,
    /// One or two sentences.
    pub body: String,
    /// Where the call to action goes.
    pub link: Url,
    /// Button text.
    pub cta: String,
    /// Optional image URL.
    pub image: Option<Url>,
    /// Alt text for the image.
    pub image_alt: Option<String>,
    /// Last day (inclusive, in the brief's time zone) it is shown.
    pub until: Option<NaiveDate>,
    /// Section after which it appears; `None` places it after the first section.
    pub after_section: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    brief: RawBrief,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    web: RawWeb,
    #[serde(default)]
    members: RawMembers,
    #[serde(default)]
    section: Vec<RawSection>,
    #[serde(default)]
    feed: Vec<RawFeed>,
    #[serde(default)]
    announcement: Vec<RawAnnouncement>,
    #[serde(default)]
    sponsor: Vec<RawAnnouncement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrief {
    name: Spanned<String>,
    tagline: Option<String>,
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    postal_address: Option<String>,
    max_stories: Option<Spanned<i64>>,
    per_section: Option<Spanned<i64>>,
    first_window: Option<Spanned<String>>,
    data_dir: Option<String>,
    templates: Option<String>,
    lang: Option<String>,
    editor: Option<Spanned<String>>,
    catch_up: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawArticles {
    Switch(bool),
    Mode(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    user_agent: Option<String>,
    max_body: Option<Spanned<String>>,
    articles: Option<Spanned<RawArticles>>,
    allow_private_addresses: Option<bool>,
    attention_after: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    transport: Option<Spanned<String>>,
    smtp_url: Option<Spanned<String>>,
    outbox: Option<String>,
    connections: Option<Spanned<i64>>,
    rate_per_second: Option<Spanned<f64>>,
    timeout: Option<Spanned<String>>,
    attempts: Option<Spanned<i64>>,
    dkim_selector: Option<Spanned<String>>,
    dkim_domain: Option<Spanned<String>>,
    dkim_key: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Option<Spanned<String>>,
    header_timeout: Option<Spanned<String>>,
    idle_timeout: Option<Spanned<String>>,
    max_connections: Option<Spanned<i64>>,
    max_body: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMembers {
    file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Spanned<String>,
    url: Spanned<String>,
    section: Option<Spanned<String>>,
    weight: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnnouncement {
    title: String,
    body: String,
    link: Spanned<String>,
    cta: Option<String>,
    image: Option<Spanned<String>>,
    image_alt: Option<String>,
    until: Option<Spanned<toml::value::Datetime>>,
    after_section: Option<Spanned<String>>,
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        file: path.to_path_buf(),
        line: None,
        key: None,
        message: format!(
            "cannot read the config file: {err}; pass --config PATH or set FEEDBRIEF_CONFIG"
        ),
    })?;
    parse(&text, path, |name| std::env::var(name).ok())
}

/// Parses and validates config `text` that was read from `path`.
///
/// `env` looks up environment variables (the SMTP password), so tests need not touch the
/// process environment.
pub fn parse(
    text: &str,
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let v = Validator { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|err| v.toml_error(&err))?;
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let rel = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        }
    };

    let b = raw.brief;
    let name = v.nonempty(&b.name, "brief.name")?;
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
    let brief = Brief {
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
        data_dir: rel(b.data_dir.as_deref().unwrap_or("data")),
        templates: rel(b.templates.as_deref().unwrap_or("templates")),
        lang: b.lang.unwrap_or_else(|| "en".to_string()),
        editor: b
            .editor
            .as_ref()
            .map(|s| v.mailbox(s, "brief.editor"))
            .transpose()?,
        catch_up: match &b.catch_up {
            Some(s) => {
                parse_duration(s.get_ref()).map_err(|m| v.at(s.span(), "brief.catch_up", m))?
            }
            None => Duration::from_secs(6 * 3600),
        },
    };

    let f = raw.fetch;
    let fetch = FetchSettings {
        interval: v.duration(f.interval.as_ref(), "fetch.interval", "30m")?,
        timeout: v.duration(f.timeout.as_ref(), "fetch.timeout", "20s")?,
        connect_timeout: v.duration(f.connect_timeout.as_ref(), "fetch.connect_timeout", "10s")?,
        concurrency: v.count(f.concurrency.as_ref(), "fetch.concurrency", 16, 1, 1024)?,
        per_host: v.count(f.per_host.as_ref(), "fetch.per_host", 2, 1, 64)?,
        user_agent: f.user_agent.unwrap_or_else(|| {
            format!(
                "feedbrief/{} (RSS digest; +{})",
                env!("CARGO_PKG_VERSION"),
                brief
                    .base_url
                    .as_ref()
                    .map_or("no-url-configured", |u| u.as_str())
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
    };

    let d = raw.delivery;
    let transport_name = d
        .transport
        .as_ref()
        .map_or("outbox", |s| s.get_ref().as_str());
    let transport = match transport_name {
        "outbox" => Transport::Outbox(match &d.outbox {
            Some(p) => rel(p),
            None => brief.data_dir.join("outbox"),
        }),
        "smtp" => {
            let Some(smtp_url) = &d.smtp_url else {
                return Err(v.plain_key(
                    "delivery.smtp_url",
                    "transport = \"smtp\" needs smtp_url, e.g. \"smtp://user@mail.example.org:587?tls=required\"",
                ));
            };
            v.smtp(smtp_url, env(SMTP_PASSWORD_ENV))?
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
    let delivery = Delivery {
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
                let path = rel(key.get_ref());
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
    };

    let web = Web {
        listen: match &raw.web.listen {
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
        header_timeout: v.duration(raw.web.header_timeout.as_ref(), "web.header_timeout", "10s")?,
        idle_timeout: v.duration(raw.web.idle_timeout.as_ref(), "web.idle_timeout", "60s")?,
        max_connections: v.count(
            raw.web.max_connections.as_ref(),
            "web.max_connections",
            256,
            1,
            65_536,
        )?,
        max_body: match &raw.web.max_body {
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
    };

    let members = Members {
        file: Some(rel(raw.members.file.as_deref().unwrap_or("members.csv"))),
    };

    let mut sections: Vec<Section> = Vec::new();
    for s in &raw.section {
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
    let section_ref = |s: &Spanned<String>, key: &str| -> Result<String, ConfigError> {
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
    };

    let mut feeds: Vec<Feed> = Vec::new();
    for f in &raw.feed {
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
                .map(|s| section_ref(s, "feed.section"))
                .transpose()?,
            weight,
        });
    }

    let blocks =
        |raw: Vec<RawAnnouncement>, kind: &str| -> Result<Vec<Announcement>, ConfigError> {
            let mut announcements = Vec::new();
            for a in raw {
                let until = match &a.until {
                    Some(d) => Some(match d.get_ref().date {
                        Some(date) if d.get_ref().time.is_none() => NaiveDate::from_ymd_opt(
                            date.year.into(),
                            date.month.into(),
                            date.day.into(),
                        )
                        .ok_or_else(|| {
                            v.at(
                                d.span(),
                                &format!("{kind}.until"),
                                "not a calendar date".into(),
                            )
                        })?,
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
                        .map(|s| section_ref(s, &format!("{kind}.after_section")))
                        .transpose()?,
                });
            }
            Ok(announcements)
        };
    let announcements = blocks(raw.announcement, "announcement")?;
    let sponsors = blocks(raw.sponsor, "sponsor")?;

    Ok(Config {
        path: path.to_path_buf(),
        brief,
        fetch,
        delivery,
        web,
        members,
        sections,
        feeds,
        announcements,
        sponsors,
    })
}

/// Parses a human duration such as `30m`, `1h 30m` or `45s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("{s:?} is not a duration ({e}); expected e.g. \"30m\", \"2h\", \"45s\"")
    })
}

/// Parses a byte size such as `5MB`, `512KiB` or `1048576`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size; expected e.g. \"5MB\" or \"512KB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" | "kib" => 1024,
        "mb" | "m" | "mib" => 1024 * 1024,
        "gb" | "g" | "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; expected B, KB, MB or GB"
            ));
        }
    };
    n.checked_mul(mult)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

/// Builds errors that point into the config text.
struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Validator<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn at(&self, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(self.line_of(span.start)),
            key: Some(key.to_string()),
            message,
        }
    }

    fn maybe_at(
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

    fn plain(&self, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: None,
            key: None,
            message,
        }
    }

    fn plain_key(&self, key: &str, message: &str) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: None,
            key: Some(key.to_string()),
            message: message.to_string(),
        }
    }

    /// Turns a toml/serde error into one line with the key it happened at.
    fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
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

    fn nonempty(&self, s: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        let t = s.get_ref().trim();
        if t.is_empty() {
            return Err(self.at(s.span(), key, "must not be empty".into()));
        }
        Ok(t.to_string())
    }

    fn mailbox(&self, s: &Spanned<String>, key: &str) -> Result<Mailbox, ConfigError> {
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

    fn cron(&self, s: &Spanned<String>, key: &str) -> Result<Cron, ConfigError> {
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

    fn http_url(&self, s: &Spanned<String>, key: &str) -> Result<Url, ConfigError> {
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

    fn feed_url(&self, s: &Spanned<String>, key: &str) -> Result<Url, ConfigError> {
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

    fn duration(
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

    fn count(
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

    fn smtp(
        &self,
        s: &Spanned<String>,
        password: Option<String>,
    ) -> Result<Transport, ConfigError> {
        let key = "delivery.smtp_url";
        let bad = |m: String| self.at(s.span(), key, m);
        let url = Url::parse(s.get_ref()).map_err(|e| {
            bad(format!(
                "{:?} is not a URL ({e}); expected e.g. \"smtp://user@mail.example.org:587?tls=required\"",
                s.get_ref()
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
        Ok(Transport::Smtp(SmtpSettings {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
            password,
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fetch_settings_are_those_of_an_empty_fetch_table() {
        let c = parse(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n",
            Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config");
        assert_eq!(c.fetch, FetchSettings::default());
    }

    const MINIMAL: &str = r#"
[brief]
name = "Test Brief"
from = "Brief <brief@example.org>"

[[section]]
name = "Leading Edge"

[[feed]]
name = "Blog"
url = "https://blog.example.org/feed/"
"#;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/etc/feedbrief/feeds.toml"), |_| None)
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = parse_str(MINIMAL).expect("valid");
        assert_eq!(c.brief.max_stories, 12);
        assert_eq!(c.brief.timezone, Tz::UTC);
        assert_eq!(c.fetch.interval, Duration::from_secs(1800));
        assert_eq!(c.brief.data_dir, PathBuf::from("/etc/feedbrief/data"));
        assert_eq!(
            c.delivery.transport,
            Transport::Outbox(PathBuf::from("/etc/feedbrief/data/outbox"))
        );
        assert_eq!(c.fetch.max_body, 5 * 1024 * 1024);
    }

    #[test]
    fn web_limits_have_defaults_and_bad_values_name_their_key() {
        let c = parse_str(MINIMAL).expect("valid");
        assert_eq!(c.web.header_timeout, Duration::from_secs(10));
        assert_eq!(c.web.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.web.max_connections, 256);
        assert_eq!(c.web.max_body, 64 * 1024);
        let text = format!(
            "{MINIMAL}\n[web]\nheader_timeout = \"2s\"\nidle_timeout = \"5s\"\nmax_connections = 8\nmax_body = \"16KB\"\n"
        );
        let c = parse_str(&text).expect("valid");
        assert_eq!(c.web.header_timeout, Duration::from_secs(2));
        assert_eq!(c.web.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.web.max_connections, 8);
        assert_eq!(c.web.max_body, 16 * 1024);
        for (line, key) in [
            ("max_connections = 0", "web.max_connections"),
            ("max_body = \"10\"", "web.max_body"),
            ("header_timeout = \"0s\"", "web.header_timeout"),
            ("idle_timeout = \"soon\"", "web.idle_timeout"),
        ] {
            let err = parse_str(&format!("{MINIMAL}\n[web]\n{line}\n")).expect_err(line);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
        }
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = MINIMAL.replace("name = \"Blog\"", "name = \"Blog\"\nsectoin = \"x\"");
        let err = parse_str(&text).expect_err("unknown key");
        assert_eq!(err.line, Some(11));
        assert_eq!(err.key.as_deref(), Some("feed.sectoin"));
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn bad_time_zone_names_line_and_key() {
        let text = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\ntimezone = \"America/NewYork\"",
        );
        let err = parse_str(&text).expect_err("bad tz");
        assert_eq!(err.line, Some(5));
        assert_eq!(err.key.as_deref(), Some("brief.timezone"));
        let line = err.to_string();
        assert!(
            line.starts_with("/etc/feedbrief/feeds.toml:5: key `brief.timezone`"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn articles_takes_true_false_or_all_and_names_a_wrong_value() {
        assert_eq!(
            parse_str(MINIMAL).expect("valid").fetch.articles,
            Articles::Chosen
        );
        for (value, want) in [
            ("true", Articles::Chosen),
            ("false", Articles::Off),
            ("\"all\"", Articles::All),
        ] {
            let text = format!("{MINIMAL}\n[fetch]\narticles = {value}\n");
            assert_eq!(parse_str(&text).expect("valid").fetch.articles, want);
        }
        let text = format!("{MINIMAL}\n[fetch]\narticles = \"some\"\n");
        let err = parse_str(&text).expect_err("not a choice");
        assert_eq!(err.key.as_deref(), Some("fetch.articles"));
        assert_eq!(err.line, Some(14));
        assert!(err.message.contains("\"all\""), "{err}");
    }

    #[test]
    fn cron_with_six_fields_is_rejected() {
        let text = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nschedule = \"0 0 6 * * *\"",
        );
        let err = parse_str(&text).expect_err("6 fields");
        assert_eq!(err.key.as_deref(), Some("brief.schedule"));
        assert!(err.message.contains("expected 5"));
    }

    #[test]
    fn feed_in_unknown_section_is_rejected() {
        let text = format!("{MINIMAL}section = \"Nope\"\n");
        let err = parse_str(&text).expect_err("unknown section");
        assert_eq!(err.key.as_deref(), Some("feed.section"));
        assert!(err.message.contains("Leading Edge"));
    }

    #[test]
    fn smtp_url_is_parsed_and_password_comes_from_env() {
        let text = format!(
            "{MINIMAL}\n[delivery]\ntransport = \"smtp\"\nsmtp_url = \"smtp://me%40example.org@mail.example.org:2525?tls=required\"\n"
        )
        .replace("[[section]]", "[[section]]");
        // [delivery] after [[feed]] is fine in TOML: it starts a new table.
        let c = parse(&text, Path::new("feeds.toml"), |k| {
            (k == SMTP_PASSWORD_ENV).then(|| "s3cret".to_string())
        })
        .expect("valid");
        let Transport::Smtp(s) = c.delivery.transport else {
            panic!("expected smtp")
        };
        assert_eq!(s.host, "mail.example.org");
        assert_eq!(s.port, 2525);
        assert_eq!(s.tls, SmtpTls::Required);
        assert_eq!(s.user.as_deref(), Some("me@example.org"));
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn password_in_smtp_url_is_refused() {
        let text = format!(
            "{MINIMAL}\n[delivery]\ntransport = \"smtp\"\nsmtp_url = \"smtp://u:pw@mail.example.org\"\n"
        );
        let err = parse_str(&text).expect_err("password in url");
        assert!(err.message.contains(SMTP_PASSWORD_ENV));
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("5MB"), Ok(5 * 1024 * 1024));
        assert_eq!(parse_size("512 KB"), Ok(512 * 1024));
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
        let c = load(&path).expect("feeds.toml is valid");
        assert!(c.feeds.len() >= 5);
        assert!(c.sections.len() >= 2);
        assert!(
            c.announcements
                .iter()
                .any(|a| a.title.contains("Membership Dues") && a.cta == "LEARN MORE")
        );
    }
}

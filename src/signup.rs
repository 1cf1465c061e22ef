//! Sign-up and the preference centre (issue #14): a form's fields → a validated request;
//! the abuse limits on confirmation mail; the pages the web endpoints show.
//!
//! - [`parse_signup`]: a `POST /subscribe` body → a [`SignupForm`] (the address checked
//!   and lowercased, the name cleaned, the sections matched to the config's), or what is
//!   wrong with the address.
//! - [`Limiter`]: how many confirmation mails one address (per 24 h) and one client
//!   address (per hour) may cause. Kept in memory: a restart or a reload starts afresh,
//!   and it holds at most [`MAX_TRACKED`] addresses (past that, no mail until entries
//!   age out), so a flood cannot grow it without bound.
//! - [`parse_preferences`]: a `POST /preferences/{token}` body → the one [`Change`] its
//!   button asks for.
//! - The pages' HTML (`*_page` functions): the form, "check your inbox" (one page
//!   whatever the address, so nobody learns who is a member), the one-button confirm
//!   page and the preference centre. Plain HTML forms with inline CSS that work without
//!   JavaScript; the web module wraps them in its page.
//!
//! Pure: no I/O, no clock (callers pass `now`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::members::{Frequency, clean_name, normalise_address};
use crate::web::escape;

/// The form field that only robots fill: hidden from people (off-screen, skipped by
/// keyboard and screen readers), named like a field a form-filling robot cannot resist.
pub const HONEYPOT: &str = "website";

/// The most addresses (and client addresses) the [`Limiter`] remembers at once.
pub const MAX_TRACKED: usize = 50_000;

/// How long a confirmation mail counts against its address.
const ADDRESS_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How long a confirmation mail counts against the client address that asked for it.
const IP_WINDOW: Duration = Duration::from_secs(3600);

/// How far ahead a pause may reach.
pub const MAX_PAUSE_DAYS: i64 = 366;

/// A sign-up form, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupForm {
    /// The address, lowercased.
    pub email: String,
    /// The name, fit for a `To:` header.
    pub name: Option<String>,
    /// The sections ticked, as the config spells them (empty: all).
    pub sections: Vec<String>,
    /// The honeypot field was filled: a robot.
    pub robot: bool,
}

/// Reads a form-urlencoded sign-up body: `email`, `name`, `section` (repeated) and the
/// honeypot. Unknown sections are dropped; ticking every section means all (so sections
/// added later come too). The error says what is wrong with the address.
pub fn parse_signup(body: &[u8], known: &[String]) -> Result<SignupForm, String> {
    let mut email = String::new();
    let mut name = String::new();
    let mut ticked = Vec::new();
    let mut robot = false;
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "email" => email = value.into_owned(),
            "name" => name = value.into_owned(),
            "section" => ticked.push(value.into_owned()),
            HONEYPOT => robot |= !value.trim().is_empty(),
            _ => {}
        }
    }
    let email = normalise_address(&email)?;
    Ok(SignupForm {
        email,
        name: clean_name(&name),
        sections: chosen_sections(&ticked, known),
        robot,
    })
}

/// The ticked sections as the config spells them, in its order; all of them (or none
/// known) means all: empty.
fn chosen_sections(ticked: &[String], known: &[String]) -> Vec<String> {
    let chosen: Vec<String> = known
        .iter()
        .filter(|k| ticked.iter().any(|t| t.trim().eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    if chosen.len() == known.len() {
        Vec::new()
    } else {
        chosen
    }
}

/// Why a confirmation mail was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// The address had its confirmation mails for the day.
    Address,
    /// The client address asked for too many this hour.
    Client,
    /// The limiter is full (a flood): nothing is sent until entries age out.
    Full,
}

impl std::fmt::Display for Limited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Address => "per-address limit ([signup] per_address a day)",
            Self::Client => "per-client limit ([signup] per_ip an hour)",
            Self::Full => "the limiter is full",
        })
    }
}

/// Counts confirmation mails per address and per client address, in memory.
#[derive(Debug, Default)]
pub struct Limiter {
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    by_address: HashMap<String, VecDeque<Instant>>,
    by_client: HashMap<IpAddr, VecDeque<Instant>>,
}

/// Drops the times that left `window` by `now`; true when none is left.
fn age(times: &mut VecDeque<Instant>, window: Duration, now: Instant) -> bool {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        times.pop_front();
    }
    times.is_empty()
}

impl Limiter {
    /// Whether one more confirmation mail may go to `address`, asked for by `client`, at
    /// `now`, with at most `per_address` a day and `per_client` an hour; it is counted
    /// when it may. A refused request counts against neither.
    pub fn allow(
        &self,
        address: &str,
        client: Option<IpAddr>,
        per_address: usize,
        per_client: usize,
        now: Instant,
    ) -> Result<(), Limited> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.by_address.len() >= MAX_TRACKED || s.by_client.len() >= MAX_TRACKED {
            s.by_address.retain(|_, t| !age(t, ADDRESS_WINDOW, now));
            s.by_client.retain(|_, t| !age(t, IP_WINDOW, now));
        }
        let client_full = client.is_some_and(|c| {
            s.by_client
                .get_mut(&c)
                .is_some_and(|t| !age(t, IP_WINDOW, now) && t.len() >= per_client)
        });
        if client_full {
            return Err(Limited::Client);
        }
        let address_full = s
            .by_address
            .get_mut(address)
            .is_some_and(|t| !age(t, ADDRESS_WINDOW, now) && t.len() >= per_address);
        if address_full {
            return Err(Limited::Address);
        }
        let new_address = !s.by_address.contains_key(address);
        let new_client = client.is_some_and(|c| !s.by_client.contains_key(&c));
        if (new_address && s.by_address.len() >= MAX_TRACKED)
            || (new_client && s.by_client.len() >= MAX_TRACKED)
        {
            return Err(Limited::Full);
        }
        s.by_address
            .entry(address.to_string())
            .or_default()
            .push_back(now);
        if let Some(c) = client {
            s.by_client.entry(c).or_default().push_back(now);
        }
        Ok(())
    }
}

/// One change a preference-centre button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Receive these sections (empty: all).
    Sections(Vec<String>),
    /// No digest before this instant (the chosen day's midnight in the brief's zone).
    Pause(DateTime<Utc>),
    /// End a pause now.
    Resume,
    /// Leave.
    Unsubscribe,
    /// Move to this address, once it is confirmed there.
    Address(String),
    /// Receive every digest or the weekly edition.
    Frequency(Frequency),
}

/// Reads a preference-centre body: `action` names the button (`sections`, `pause`,
/// `resume`, `unsubscribe`, `address`, `frequency`) and the fields it needs (`section`,
/// `until`, `email`, `frequency`). `today` is the brief's date now. The error says what to fix.
pub fn parse_preferences(
    body: &[u8],
    known: &[String],
    tz: Tz,
    today: NaiveDate,
) -> Result<Change, String> {
    let mut action = String::new();
    let mut ticked = Vec::new();
    let (mut until, mut email, mut frequency) = (String::new(), String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "action" => action = value.into_owned(),
            "section" => ticked.push(value.into_owned()),
            "until" => until = value.into_owned(),
            "email" => email = value.into_owned(),
            "frequency" => frequency = value.into_owned(),
            _ => {}
        }
    }
    match action.as_str() {
        "sections" => {
            let chosen = chosen_sections(&ticked, known);
            if chosen.is_empty()
                && !ticked
                    .iter()
                    .any(|t| known.iter().any(|k| k.eq_ignore_ascii_case(t.trim())))
            {
                return Err(
                    "Tick at least one section (or unsubscribe below to receive nothing).".into(),
                );
            }
            Ok(Change::Sections(chosen))
        }
        "pause" => {
            let date = NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d").map_err(|_| {
                "Give the day the brief should start again, as a date (YYYY-MM-DD).".to_string()
            })?;
            if date <= today || (date - today).num_days() > MAX_PAUSE_DAYS {
                return Err(format!(
                    "Choose a day after today and within {MAX_PAUSE_DAYS} days."
                ));
            }
            let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
            let at = tz
                .from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    "That day has no midnight in the brief's time zone; choose the next."
                        .to_string()
                })?;
            Ok(Change::Pause(at))
        }
        "resume" => Ok(Change::Resume),
        "unsubscribe" => Ok(Change::Unsubscribe),
        "address" => normalise_address(&email).map(Change::Address),
        "frequency" => frequency
            .parse::<Frequency>()
            .map(Change::Frequency)
            .map_err(|_| "Choose every issue or the weekly edition.".to_string()),
        _ => Err("This form was not recognised; use the buttons on this page.".into()),
    }
}

/// The CSS of the sign-up and preference pages (added to the web page's own), in the
/// digest's colours; one column that fits a 320 px screen (a long address wraps).
pub const FORM_CSS: &str = "<style>\
body{overflow-wrap:anywhere}\
label{display:block;margin:.9em 0 .3em;font-weight:600}\
input[type=email],input[type=text],input[type=date]{font:inherit;box-sizing:border-box;width:100%;max-width:100%;padding:.5em .6em;border:1px solid #8a97a5;border-radius:4px}\
fieldset{border:1px solid #c9d2db;border-radius:4px;margin:1em 0;padding:.4em 1em .8em;min-width:0}\
legend{font-weight:600;padding:0 .3em}\
fieldset label{font-weight:400;margin:.4em 0}\
input[type=checkbox]{width:1.1em;height:1.1em;margin-right:.5em;vertical-align:-.15em}\
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}\
.note{color:#4a5561;font-size:.9em}\
.notice{background:#e8f1f8;border-left:4px solid #0b3c5d;padding:.6em .9em}\
.error{background:#fbeaea;border-left:4px solid #a11;padding:.6em .9em}\
section{border-top:1px solid #c9d2db;margin-top:1.5em}\
button.quiet{background:#fff;color:#0b3c5d;border:1px solid #0b3c5d}\
h1{color:#0f2a44;line-height:1.25}\
@media (prefers-color-scheme:dark){.note{color:#b8c2cc}.notice{background:#14283a}.error{background:#3a1414}h1{color:#e8eef4}button.quiet{background:transparent;color:#9cc7ea;border-color:#9cc7ea}}\
</style>";

/// The sign-up form: email, name, the sections as checkboxes (ticked by default), the
/// honeypot; posting to `action` (absolute, so the same markup works on another site).
/// `error` is shown above it, with the `email` and `name` typed kept.
pub fn subscribe_page(
    brief: &str,
    sections: &[String],
    action: &str,
    error: Option<&str>,
    email: &str,
    name: &str,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "<h1>Subscribe to {brief}</h1>{error}{form}\
         <p class=\"note\">We send a link to confirm the address; nothing is sent to it \
         until you follow that link.</p>",
        brief = escape(brief),
        form = signup_form(sections, action, email, name),
    )
}

/// The `<form>` alone, as a site embeds it.
pub fn signup_form(sections: &[String], action: &str, email: &str, name: &str) -> String {
    let boxes: String = sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "<label for=\"s{i}\"><input type=\"checkbox\" id=\"s{i}\" name=\"section\" \
                 value=\"{v}\" checked>{v}</label>",
                v = escape(s)
            )
        })
        .collect();
    let fieldset = if sections.len() > 1 {
        format!("<fieldset><legend>Sections</legend>{boxes}</fieldset>")
    } else {
        String::new()
    };
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <label for=\"email\">Email address</label>\
         <input type=\"email\" id=\"email\" name=\"email\" required autocomplete=\"email\" \
         maxlength=\"254\" value=\"{email}\">\
         <label for=\"name\">Name <span class=\"note\">(optional)</span></label>\
         <input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"name\" maxlength=\"100\" \
         value=\"{name}\">{fieldset}\
         <div class=\"hp\" aria-hidden=\"true\"><label for=\"{HONEYPOT}\">Leave this empty</label>\
         <input type=\"text\" id=\"{HONEYPOT}\" name=\"{HONEYPOT}\" tabindex=\"-1\" \
         autocomplete=\"off\"></div>\
         <p><button type=\"submit\">Subscribe</button></p></form>",
        action = escape(action),
        email = escape(email),
        name = escape(name),
    )
}

/// What every valid sign-up is answered with, whoever the address belongs to.
pub fn check_inbox_page(brief: &str) -> String {
    format!(
        "<h1>Check your inbox</h1><p>If the address can receive {brief}, a message with a \
         confirmation link is on its way. Follow the link to start receiving {brief}; \
         nothing is sent until you do.</p><p class=\"note\">Nothing arrived? Look in the \
         spam folder, or sign up again later.</p>",
        brief = escape(brief)
    )
}

/// The page a confirmation link opens: one button, because mail scanners open links.
pub fn confirm_page(brief: &str, email: &str, address_change: bool) -> String {
    let (title, button) = if address_change {
        (
            format!("Receive {} at {}?", escape(brief), escape(email)),
            "Confirm the new address",
        )
    } else {
        (
            format!("Subscribe {} to {}?", escape(email), escape(brief)),
            "Confirm",
        )
    };
    format!(
        "<h1>{title}</h1><form method=\"post\"><p><button type=\"submit\">{button}</button>\
         </p></form>"
    )
}

/// The preference centre of an active member: sections, how often (when the brief has a
/// weekly edition: `frequency` is the member's choice, else `None` and no such form), a
/// pause, the address, leaving. `notice` is what the last change did (or what to fix,
/// when `error`).
#[allow(clippy::too_many_arguments)]
pub fn preferences_page(
    brief: &str,
    email: &str,
    sections: &[String],
    chosen: &[String],
    frequency: Option<Frequency>,
    paused_until: Option<NaiveDate>,
    today: NaiveDate,
    notice: Option<&str>,
    error: bool,
) -> String {
    let notice = notice
        .map(|n| {
            let class = if error { "error" } else { "notice" };
            format!("<p class=\"{class}\" role=\"status\">{}</p>", escape(n))
        })
        .unwrap_or_default();
    let section_form = if sections.len() > 1 {
        let boxes: String = sections
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let on = chosen.is_empty() || chosen.contains(s);
                format!(
                    "<label for=\"s{i}\"><input type=\"checkbox\" id=\"s{i}\" name=\"section\" \
                     value=\"{v}\"{c}>{v}</label>",
                    v = escape(s),
                    c = if on { " checked" } else { "" }
                )
            })
            .collect();
        format!(
            "<section><h2>Sections</h2><form method=\"post\">\
             <input type=\"hidden\" name=\"action\" value=\"sections\">\
             <fieldset><legend>Sections you receive</legend>{boxes}</fieldset>\
             <p><button type=\"submit\">Save sections</button></p></form></section>"
        )
    } else {
        String::new()
    };
    let how_often = match frequency {
        Some(f) => {
            let radio = |value: Frequency, label: &str| {
                format!(
                    "<label for=\"f-{value}\"><input type=\"radio\" id=\"f-{value}\" \
                     name=\"frequency\" value=\"{value}\"{c}>{label}</label>",
                    c = if f == value { " checked" } else { "" }
                )
            };
            format!(
                "<section><h2>How often</h2><form method=\"post\">\
                 <input type=\"hidden\" name=\"action\" value=\"frequency\">\
                 <fieldset><legend>You receive</legend>{daily}{weekly}</fieldset>\
                 <p><button type=\"submit\">Save</button></p></form></section>",
                daily = radio(Frequency::Daily, "Every issue"),
                weekly = radio(
                    Frequency::Weekly,
                    "The weekly edition: the week's best stories"
                ),
            )
        }
        None => String::new(),
    };
    let pause = match paused_until {
        Some(d) if d > today => format!(
            "<section><h2>Pause</h2><p>Paused: no issue until {d}.</p><form method=\"post\">\
             <input type=\"hidden\" name=\"action\" value=\"resume\">\
             <p><button type=\"submit\">Resume now</button></p></form></section>",
            d = d.format("%B %-d, %Y")
        ),
        _ => format!(
            "<section><h2>Pause</h2><form method=\"post\">\
             <input type=\"hidden\" name=\"action\" value=\"pause\">\
             <label for=\"until\">No issues until</label>\
             <input type=\"date\" id=\"until\" name=\"until\" required min=\"{min}\" max=\"{max}\">\
             <p class=\"note\">Issues sent during the pause are not sent later; they stay in \
             the archive.</p>\
             <p><button type=\"submit\">Pause</button></p></form></section>",
            min = today.succ_opt().unwrap_or(today),
            max = today + chrono::Days::new(MAX_PAUSE_DAYS as u64),
        ),
    };
    format!(
        "<h1>{brief}: your preferences</h1>{notice}<p>For {email}. Changes hold from the next \
         issue.</p>{section_form}{how_often}{pause}\
         <section><h2>Address</h2><form method=\"post\">\
         <input type=\"hidden\" name=\"action\" value=\"address\">\
         <label for=\"email\">New email address</label>\
         <input type=\"email\" id=\"email\" name=\"email\" required autocomplete=\"email\" maxlength=\"254\">\
         <p class=\"note\">We send a link to the new address; the change holds once you follow it.</p>\
         <p><button type=\"submit\">Change address</button></p></form></section>\
         <section><h2>Unsubscribe</h2><form method=\"post\">\
         <input type=\"hidden\" name=\"action\" value=\"unsubscribe\">\
         <p><button type=\"submit\" class=\"quiet\">Unsubscribe from {brief}</button></p>\
         </form></section>",
        brief = escape(brief),
        email = escape(email),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        vec!["Leading Edge".into(), "Workforce".into()]
    }

    #[test]
    fn a_signup_body_gives_the_lowercased_address_clean_name_and_known_sections() {
        let f = parse_signup(
            b"email=Ann%40Example.org&name=Ann%0D%0ALee&section=workforce&section=Nope",
            &known(),
        )
        .expect("valid");
        assert_eq!(f.email, "ann@example.org");
        assert_eq!(f.name.as_deref(), Some("Ann Lee"));
        assert_eq!(f.sections, ["Workforce"]);
        assert!(!f.robot);
        // Every section ticked is "all", so sections added later come too.
        let all = parse_signup(
            b"email=a%40example.org&section=Leading+Edge&section=Workforce",
            &known(),
        )
        .expect("valid");
        assert!(all.sections.is_empty());
        assert!(parse_signup(b"email=not-an-address", &known()).is_err());
        assert!(parse_signup(b"name=x", &known()).is_err());
        let robot = parse_signup(b"email=a%40example.org&website=http%3A%2F%2Fspam", &known())
            .expect("valid");
        assert!(robot.robot);
    }

    #[test]
    fn the_limiter_counts_per_address_and_per_client_and_forgets_after_the_window() {
        let l = Limiter::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        assert_eq!(l.allow("a@example.org", Some(ip), 2, 3, t0), Ok(()));
        assert_eq!(l.allow("a@example.org", Some(other), 2, 3, t0), Ok(()));
        assert_eq!(
            l.allow("a@example.org", Some(ip), 2, 3, t0),
            Err(Limited::Address)
        );
        assert_eq!(l.allow("b@example.org", Some(ip), 2, 3, t0), Ok(()));
        // The client's third mail this hour (the refused request did not count), then no more.
        assert_eq!(l.allow("c@example.org", Some(ip), 2, 3, t0), Ok(()));
        assert_eq!(
            l.allow("d@example.org", Some(ip), 2, 3, t0),
            Err(Limited::Client)
        );
        // An hour later the client may ask again; a day later the address may receive.
        let hour = t0 + IP_WINDOW;
        assert_eq!(l.allow("d@example.org", Some(ip), 2, 3, hour), Ok(()));
        assert_eq!(
            l.allow("a@example.org", None, 2, 3, hour),
            Err(Limited::Address)
        );
        assert_eq!(
            l.allow("a@example.org", None, 2, 3, t0 + ADDRESS_WINDOW),
            Ok(())
        );
    }

    #[test]
    fn a_full_limiter_refuses_new_addresses_until_old_ones_age_out() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED {
            assert_eq!(
                l.allow(&format!("m{i}@example.org"), None, 3, 3, t0),
                Ok(())
            );
        }
        assert_eq!(
            l.allow("new@example.org", None, 3, 3, t0),
            Err(Limited::Full)
        );
        assert_eq!(
            l.allow("new@example.org", None, 3, 3, t0 + ADDRESS_WINDOW),
            Ok(())
        );
        let s = l.state.lock().expect("lock");
        assert_eq!(s.by_address.len(), 1, "the aged entries were dropped");
    }

    #[test]
    fn a_frequency_body_chooses_daily_or_weekly_and_the_page_shows_the_choice() {
        let tz: Tz = "UTC".parse().expect("tz");
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
        let p = |body: &str| parse_preferences(body.as_bytes(), &known(), tz, today);
        assert_eq!(
            p("action=frequency&frequency=weekly"),
            Ok(Change::Frequency(Frequency::Weekly))
        );
        assert_eq!(
            p("action=frequency&frequency=daily"),
            Ok(Change::Frequency(Frequency::Daily))
        );
        assert!(p("action=frequency&frequency=hourly").is_err());
        assert!(p("action=frequency").is_err());
        let page = |f| {
            preferences_page(
                "B",
                "a@example.org",
                &known(),
                &[],
                f,
                None,
                today,
                None,
                false,
            )
        };
        let weekly = page(Some(Frequency::Weekly));
        assert!(weekly.contains("value=\"weekly\" checked"), "{weekly}");
        assert!(!weekly.contains("value=\"daily\" checked"), "{weekly}");
        // Without a weekly edition there is nothing to choose.
        assert!(!page(None).contains("name=\"frequency\""));
    }

    #[test]
    fn preference_bodies_name_one_change_and_refuse_what_cannot_hold() {
        let tz: Tz = "America/New_York".parse().expect("tz");
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
        let p = |body: &str| parse_preferences(body.as_bytes(), &known(), tz, today);
        assert_eq!(
            p("action=sections&section=Workforce"),
            Ok(Change::Sections(vec!["Workforce".into()]))
        );
        assert_eq!(
            p("action=sections&section=Workforce&section=Leading+Edge"),
            Ok(Change::Sections(Vec::new()))
        );
        assert!(p("action=sections").is_err(), "no section at all");
        // The pause ends at midnight in the brief's zone (05:00 UTC in December).
        assert_eq!(
            p("action=pause&until=2026-12-10"),
            Ok(Change::Pause(
                DateTime::parse_from_rfc3339("2026-12-10T05:00:00Z")
                    .expect("date")
                    .with_timezone(&Utc)
            ))
        );
        for bad in ["2026-11-27", "2020-01-01", "2028-01-01", "soon", ""] {
            assert!(p(&format!("action=pause&until={bad}")).is_err(), "{bad}");
        }
        assert_eq!(p("action=resume"), Ok(Change::Resume));
        assert_eq!(p("action=unsubscribe"), Ok(Change::Unsubscribe));
        assert_eq!(
            p("action=address&email=New%40Example.org"),
            Ok(Change::Address("new@example.org".into()))
        );
        assert!(p("action=address&email=nope").is_err());
        assert!(p("action=delete-everything").is_err());
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = subscribe_page(
            "A & B",
            &known(),
            "https://x/subscribe",
            Some("<bad>"),
            "\"x",
            "<n>",
        );
        assert!(html.contains("A &amp; B"));
        assert!(html.contains("&lt;bad&gt;"));
        assert!(!html.contains("<n>") && !html.contains("value=\"\"x\""));
        assert!(html.contains("name=\"website\"") && html.contains("tabindex=\"-1\""));
        let prefs = preferences_page(
            "B",
            "<a@example.org>",
            &known(),
            &["Workforce".into()],
            None,
            None,
            NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
            None,
            false,
        );
        assert!(prefs.contains("&lt;a@example.org&gt;"));
        assert!(prefs.contains("value=\"Workforce\" checked"));
        assert!(!prefs.contains("value=\"Leading Edge\" checked"));
    }
}

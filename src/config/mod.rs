//! Configuration: `feeds.toml` text → a validated [`Config`].
//!
//! Parsing happens in two steps (zola, mdBook): serde with `deny_unknown_fields` into the
//! `Raw*` structs, then validation into typed values (URLs, mailboxes, cron, time zone,
//! durations). Every mistake becomes one [`ConfigError`] naming the file, line and key.
//! Paths resolve relative to the config file, never the working directory.

mod raw;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use croner::Cron;
use lettre::message::Mailbox;
use url::Url;

use raw::RawConfig;
use validate::Validator;

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
    /// Bounces, complaints and mailed unsubscribes: VERP and the inbound SMTP listener.
    pub inbound: Inbound,
    /// The public sign-up form (`[signup]`).
    pub signup: SignupSettings,
    /// Named sections, in digest order.
    pub sections: Vec<Section>,
    /// Feeds to follow.
    pub feeds: Vec<Feed>,
    /// The association's announcements.
    pub announcements: Vec<Announcement>,
    /// Sponsored blocks, shown labelled "ADVERTISEMENT".
    pub sponsors: Vec<Announcement>,
    /// `[[site]]` extraction rules for story pages, by host.
    pub sites: Vec<Site>,
}

/// `[[site]]`: how to read one site's story pages when the generic extractor gets them
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The host, lowercase; the rule covers its subdomains too (`example.com` applies to
    /// `www.example.com` and `news.example.com`), and the longest matching host wins.
    pub host: String,
    /// CSS selector of the element holding the article body (its first match is the
    /// story); none: the generic extractor finds it.
    pub article: Option<String>,
    /// CSS selectors of elements dropped before anything is read (default none).
    pub remove: Vec<String>,
}

impl Config {
    /// The `[[site]]` rule for a page on `host`: the rule for the host itself or for the
    /// nearest parent domain (`news.example.com` → `example.com`).
    pub fn site_for(&self, host: &str) -> Option<&Site> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.sites
            .iter()
            .filter(|s| {
                host == s.host
                    || host
                        .strip_suffix(s.host.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
            .max_by_key(|s| s.host.len())
    }
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
    /// `editor` and `editors`: who gets the "feeds needing attention" mail (at most once
    /// a day) and, with `review = "required"`, may sign in to review the drafts.
    pub editors: Vec<Mailbox>,
    /// `review`, `review_lead`, `review_missing`: whether a person approves each digest.
    pub review: Review,
    /// How late a missed schedule slot may still be sent when the daemon starts.
    pub catch_up: Duration,
    /// `include`/`exclude`: words every entry is judged by (empty lists: none).
    pub filter: crate::filter::Lists,
    /// What the digest offers readers and learns from them: share links, click tracking.
    pub reading: Reading,
    /// `weekly` (default off): the day of the week on which the weekly edition goes out,
    /// at that day's first schedule slot, to the members who chose it.
    pub weekly: Option<chrono::Weekday>,
}

/// `[brief] share`, `track`, `most_read` and `images`: the digest's share links, what a
/// click records, the "Most read last week" block and the stories' pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// `share` (default true): LinkedIn, X, Facebook and email share links under each story.
    pub share: bool,
    /// `track` (default `"story"`): what a "Full Story" click records.
    pub track: Track,
    /// `most_read` (default true): the "Most read last week" block, from counted clicks.
    pub most_read: bool,
    /// `images` (default `"lead"`): which stories show their picture.
    pub images: Images,
}

impl Default for Reading {
    fn default() -> Self {
        Self {
            share: true,
            track: Track::Story,
            most_read: true,
            images: Images::Lead,
        }
    }
}

/// `[brief] review`, `review_lead` and `review_missing` (issue #15): whether each digest
/// waits as a draft for an editor before its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Review {
    /// `review` (default `"off"`): `"required"` builds each digest as a draft first.
    pub required: bool,
    /// `review_lead` (default `"2h"`): how long before its slot a draft is built and the
    /// editors are mailed.
    pub lead: Duration,
    /// `review_missing` (default `"send"`): what the slot does with a draft nobody approved.
    pub missing: ReviewMissing,
}

impl Default for Review {
    fn default() -> Self {
        Self {
            required: false,
            lead: Duration::from_secs(2 * 3600),
            missing: ReviewMissing::Send,
        }
    }
}

/// `[brief] review_missing`: what the slot does with a draft no editor approved or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewMissing {
    /// `"send"` (the default): the draft goes out as it stands.
    Send,
    /// `"hold"`: nothing goes out; its stories stay candidates for the next slot.
    Hold,
}

impl ReviewMissing {
    /// The word written in `feeds.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Hold => "hold",
        }
    }
}

impl fmt::Display for ReviewMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[brief] images`: which stories show the picture their feed or article page names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Images {
    /// `"none"`: text only.
    None,
    /// `"lead"` (the default): the lead story's picture, full width.
    Lead,
    /// `"all"`: the lead's full width, every other story's smaller.
    All,
}

impl Images {
    /// The word written in `feeds.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Lead => "lead",
            Self::All => "all",
        }
    }
}

impl fmt::Display for Images {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[brief] track`: whether "Full Story" links go through the counting redirect, and what
/// a click records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// `"off"`: links go straight to the article; nothing is counted.
    Off,
    /// `"story"` (the default): clicks are counted per story, with no member identity.
    Story,
    /// `"member"`: clicks are counted per story and per member (say so in the privacy
    /// notice).
    Member,
}

impl Track {
    /// The word written in `feeds.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Story => "story",
            Self::Member => "member",
        }
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Send through SMTP relays (one or more; messages are spread over them, and a relay
    /// that fails is skipped until it recovers).
    Smtp(Vec<SmtpSettings>),
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
    /// `scanner_networks` (default none): clicks on tracked links from these networks (a
    /// mail provider's link-scanning gateways) are never counted.
    pub scanner_networks: Vec<crate::clicks::Network>,
}

/// `[inbound]`: where bounces, complaints and mailed unsubscribes arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The domain of the VERP addresses (`bounces+…@`, `unsubscribe+…@`); `None`: the
    /// envelope sender is `[brief] from` and no VERP address is written.
    pub bounce_domain: Option<String>,
    /// Address of the inbound SMTP listener `run` starts; `None`: no listener.
    pub listen: Option<std::net::SocketAddr>,
    /// Largest message accepted, in bytes (552 beyond).
    pub max_message_size: usize,
    /// Longest an SMTP connection may last, whatever it does.
    pub connection_timeout: Duration,
    /// Connections served at once; more are answered 421 and closed.
    pub max_connections: usize,
    /// Recipients per message (452 beyond).
    pub max_recipients: usize,
    /// Soft bounces within `soft_bounce_window` that suppress a member.
    pub soft_bounce_limit: usize,
    /// The window soft bounces are counted in.
    pub soft_bounce_window: Duration,
    /// `imap`: a mailbox `run` polls for bounces, for those who cannot receive mail
    /// themselves; `None`: no polling.
    pub imap: Option<Imap>,
}

/// `[inbound] imap = { … }`: where bounces wait in a mailbox, and what is done with
/// each once handled.
#[derive(Clone, PartialEq, Eq)]
pub struct Imap {
    /// Server host name (or address).
    pub host: String,
    /// Server port (`imaps://` 993, `imap://` 143 by default).
    pub port: u16,
    /// TLS from the first byte (`imaps://`); plain `imap://` is allowed on loopback only.
    pub tls: bool,
    /// `user`: the login name.
    pub user: String,
    /// `password_env`: the environment variable the password came from.
    pub password_env: String,
    /// The password, read from `password_env` (never from the file).
    pub password: String,
    /// `mailbox` (default `"INBOX"`): the mailbox polled.
    pub mailbox: String,
    /// `every` (default `"5m"`): time between polls.
    pub every: Duration,
    /// `after` (default `"seen"`): what happens to a mail once handled.
    pub after: ImapAfter,
}

impl fmt::Debug for Imap {
    // Written by hand so the password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password_env", &self.password_env)
            .field("password", &"<redacted>")
            .field("mailbox", &self.mailbox)
            .field("every", &self.every)
            .field("after", &self.after)
            .finish()
    }
}

/// What IMAP polling does with a mail it handled (a mail it skips is only flagged
/// `\Seen`, and one whose handling failed is left unseen for the next poll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapAfter {
    /// `"seen"`: flagged `\Seen`; it stays where it is.
    Seen,
    /// `"delete"`: flagged `\Seen` and `\Deleted`, then expunged.
    Delete,
    /// `"move:<mailbox>"`: flagged `\Seen` and moved to that (existing) mailbox.
    Move(String),
}

impl Default for Inbound {
    /// The settings of an empty (or absent) `[inbound]` table.
    fn default() -> Self {
        Self {
            bounce_domain: None,
            listen: None,
            max_message_size: 2 * 1024 * 1024,
            connection_timeout: Duration::from_secs(300),
            max_connections: 32,
            max_recipients: 50,
            soft_bounce_limit: 3,
            soft_bounce_window: Duration::from_secs(15 * 86_400),
            imap: None,
        }
    }
}

/// `[signup]`: the public sign-up form with double opt-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupSettings {
    /// `enabled` (default false): `/subscribe` answers; off, it and its confirm links are
    /// 404.
    pub enabled: bool,
    /// `confirm_within` (default `"48h"`): how long a confirmation link works.
    pub confirm_within: Duration,
    /// `per_address` (default 3): confirmation mails to one address per 24 hours.
    pub per_address: usize,
    /// `per_ip` (default 20): confirmation mails asked for from one client address per
    /// hour.
    pub per_ip: usize,
    /// `forwarded_for` (default false): the client address is the last entry of
    /// `X-Forwarded-For` (set it behind a reverse proxy that appends one), else the
    /// connection's peer.
    pub forwarded_for: bool,
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
    /// `include`/`exclude`: words this feed's entries are judged by, besides the brief's.
    pub filter: crate::filter::Lists,
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
    let v = Validator::new(text, path);
    let raw: RawConfig = toml::from_str(text).map_err(|err| v.toml_error(&err))?;
    let brief = validate::brief(&v, raw.brief)?;
    let fetch = validate::fetch(&v, raw.fetch, brief.base_url.as_ref())?;
    let delivery = validate::delivery(&v, raw.delivery, &brief.data_dir, env(SMTP_PASSWORD_ENV))?;
    let web = validate::web(&v, &raw.web)?;
    let members = Members {
        file: Some(v.rel(raw.members.file.as_deref().unwrap_or("members.csv"))),
    };
    let mut inbound = validate::inbound(&v, &raw.inbound)?;
    inbound.imap = validate::imap(&v, raw.inbound.imap.as_ref(), &env)?;
    let signup = validate::signup(&v, &raw.signup, brief.base_url.as_ref())?;
    let sections = validate::sections(&v, &raw.section)?;
    let feeds = validate::feeds(&v, &raw.feed, &sections)?;
    let announcements = validate::blocks(&v, raw.announcement, "announcement", &sections)?;
    let sponsors = validate::blocks(&v, raw.sponsor, "sponsor", &sections)?;
    let sites = validate::sites(&v, &raw.site)?;
    Ok(Config {
        path: path.to_path_buf(),
        brief,
        fetch,
        delivery,
        web,
        members,
        inbound,
        signup,
        sections,
        feeds,
        announcements,
        sponsors,
        sites,
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
        assert!(c.web.scanner_networks.is_empty());
        let c = parse_str(&format!(
            "{MINIMAL}\n[web]\nscanner_networks = [\"40.92.0.0/15\", \"2a01:111::/32\"]\n"
        ))
        .expect("valid");
        assert_eq!(c.web.scanner_networks.len(), 2);
        for (line, key) in [
            ("max_connections = 0", "web.max_connections"),
            ("max_body = \"10\"", "web.max_body"),
            ("header_timeout = \"0s\"", "web.header_timeout"),
            ("idle_timeout = \"soon\"", "web.idle_timeout"),
            (
                "scanner_networks = [\"40.92.0.0/33\"]",
                "web.scanner_networks",
            ),
            (
                "scanner_networks = [\"gateway.example\"]",
                "web.scanner_networks",
            ),
        ] {
            let err = parse_str(&format!("{MINIMAL}\n[web]\n{line}\n")).expect_err(line);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
        }
    }

    #[test]
    fn site_rules_are_validated_with_line_and_key_and_match_subdomains() {
        let text = format!(
            "{MINIMAL}\n[[site]]\nhost = \"Example.com\"\narticle = \"div.story-body\"\nremove = [\".promo\", \"aside\"]\n\n[[site]]\nhost = \"news.example.com\"\nremove = [\"#ad\"]\n"
        );
        let c = parse_str(&text).expect("valid");
        assert_eq!(c.sites.len(), 2);
        let rule = c.site_for("www.example.com").expect("subdomain");
        assert_eq!(rule.article.as_deref(), Some("div.story-body"));
        assert_eq!(rule.remove, vec![".promo", "aside"]);
        assert_eq!(
            c.site_for("news.example.com").map(|s| s.host.as_str()),
            Some("news.example.com")
        );
        assert!(c.site_for("notexample.com").is_none());
        assert!(c.site_for("example.org").is_none());
        for (table, line, key) in [
            (
                "host = \"example.com\"\narticle = \"div..story\"",
                15,
                "site.article",
            ),
            (
                "host = \"example.com\"\nremove = [\"p\", \"a[\"]",
                15,
                "site.remove",
            ),
            (
                "host = \"https://example.com/\"\narticle = \"main\"",
                14,
                "site.host",
            ),
            ("host = \"example.com\"", 14, "site"),
            (
                "host = \"example.com\"\nartcle = \"main\"",
                15,
                "site.artcle",
            ),
        ] {
            let err = parse_str(&format!("{MINIMAL}\n[[site]]\n{table}\n")).expect_err(table);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
            assert_eq!(err.line, Some(line), "{err}");
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
        let Transport::Smtp(relays) = c.delivery.transport else {
            panic!("expected smtp")
        };
        let [s] = &relays[..] else {
            panic!("one relay: {relays:?}")
        };
        assert_eq!(s.host, "mail.example.org");
        assert_eq!(s.port, 2525);
        assert_eq!(s.tls, SmtpTls::Required);
        assert_eq!(s.user.as_deref(), Some("me@example.org"));
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn smtp_url_may_list_relays_and_a_bad_one_names_its_own_line() {
        let relays = |urls: &str| {
            parse_str(&format!(
                "{MINIMAL}\n[delivery]\ntransport = \"smtp\"\nsmtp_url = {urls}\n"
            ))
        };
        let c =
            relays("[\n  \"smtp://a.example.org\",\n  \"smtp://b.example.org:2525?tls=none\",\n]")
                .expect("two relays");
        let Transport::Smtp(list) = c.delivery.transport else {
            panic!("expected smtp")
        };
        let hosts: Vec<(&str, u16)> = list.iter().map(|r| (r.host.as_str(), r.port)).collect();
        assert_eq!(hosts, [("a.example.org", 587), ("b.example.org", 2525)]);
        // MINIMAL ends on line 11; [delivery] is 13, smtp_url 15, its first URL 16.
        let err = relays("[\n  \"smtp://a.example.org\",\n  \"ftp://b.example.org\",\n]")
            .expect_err("a bad second relay");
        assert_eq!(err.key.as_deref(), Some("delivery.smtp_url"), "{err}");
        assert_eq!(err.line, Some(17), "{err}");
        assert!(err.message.contains("ftp"), "{err}");
        let err =
            relays("[\"smtp://a.example.org\", \"smtp://A.example.org:587\"]").expect_err("twice");
        assert!(err.message.contains("listed twice"), "{err}");
        let err = relays("[]").expect_err("none");
        assert!(err.message.contains("names no relay"), "{err}");
        assert_eq!(err.line, Some(15), "{err}");
        let err = relays("42").expect_err("not a URL");
        assert_eq!(err.key.as_deref(), Some("delivery.smtp_url"), "{err}");
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
    fn include_and_exclude_lists_are_read_on_the_brief_and_on_a_feed() {
        let text = MINIMAL
            .replace(
                "from = \"Brief <brief@example.org>\"",
                "from = \"Brief <brief@example.org>\"\nexclude = [\"crypto\", \" Sponsored   Post \"]",
            )
            .replace(
                "url = \"https://blog.example.org/feed/\"",
                "url = \"https://blog.example.org/feed/\"\ninclude = [\"budget\", \"city council\"]",
            );
        let c = parse_str(&text).expect("valid");
        let words =
            |l: &[crate::filter::Phrase]| l.iter().map(|p| p.text.clone()).collect::<Vec<_>>();
        assert_eq!(
            words(&c.brief.filter.exclude),
            ["crypto", "Sponsored   Post"]
        );
        assert!(c.brief.filter.include.is_empty());
        assert_eq!(
            words(&c.feeds[0].filter.include),
            ["budget", "city council"]
        );
        assert!(c.feeds[0].filter.exclude.is_empty());
        assert!(parse_str(MINIMAL).expect("valid").brief.filter.is_empty());
    }

    #[test]
    fn bad_filter_words_name_their_line_and_key() {
        let long = "word ".repeat(30);
        let many = (0..=crate::filter::MAX_PHRASES)
            .map(|i| format!("\"w{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let feed = |line: &str| format!("{MINIMAL}{line}\n");
        let brief = |line: &str| {
            MINIMAL.replace(
                "from = \"Brief <brief@example.org>\"",
                &format!("from = \"Brief <brief@example.org>\"\n{line}"),
            )
        };
        for (text, line, key, says) in [
            (
                feed("include = [\"budget\", \"  \"]"),
                12,
                "feed.include",
                "empty",
            ),
            (brief("exclude = [\"\"]"), 5, "brief.exclude", "empty"),
            (
                brief(&format!("include = [\"{long}\"]")),
                5,
                "brief.include",
                "at most 100",
            ),
            (
                feed(&format!("exclude = [{many}]")),
                12,
                "feed.exclude",
                "at most 100",
            ),
            (
                feed("include = [\"AI\", \"ai\"]"),
                12,
                "feed.include",
                "listed twice",
            ),
            (
                feed("include = [\"budget\"]\nexclude = [\"x\", \"Budget\"]"),
                13,
                "feed.exclude",
                "both include and exclude",
            ),
            (
                brief("include = \"budget\""),
                5,
                "brief.include",
                "sequence",
            ),
            (brief("include = [3]"), 5, "brief.include", ""),
        ] {
            let err = parse_str(&text).expect_err(&text);
            assert_eq!(err.line, Some(line), "{err}");
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
            assert!(err.message.contains(says), "{err}");
        }
    }

    #[test]
    fn review_is_off_by_default_and_editor_keeps_working_as_a_one_editor_list() {
        let c = parse_str(MINIMAL).expect("valid");
        assert_eq!(c.brief.review, Review::default());
        assert!(!c.brief.review.required);
        assert_eq!(c.brief.review.lead, Duration::from_secs(7200));
        assert_eq!(c.brief.review.missing, ReviewMissing::Send);
        assert!(c.brief.editors.is_empty());
        let one = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\neditor = \"ed@example.org\"",
        );
        let c = parse_str(&one).expect("valid");
        let emails: Vec<String> = c
            .brief
            .editors
            .iter()
            .map(|m| m.email.to_string())
            .collect();
        assert_eq!(emails, ["ed@example.org"]);
        let both = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nbase_url = \"https://b.example.org/\"\n\
             editor = \"ed@example.org\"\neditors = [\"ann@example.org\", \"ed@example.org\"]\n\
             review = \"required\"\nreview_lead = \"90m\"\nreview_missing = \"hold\"",
        );
        let c = parse_str(&both).expect("valid");
        let emails: Vec<String> = c
            .brief
            .editors
            .iter()
            .map(|m| m.email.to_string())
            .collect();
        assert_eq!(emails, ["ed@example.org", "ann@example.org"], "each once");
        assert!(c.brief.review.required);
        assert_eq!(c.brief.review.lead, Duration::from_secs(5400));
        assert_eq!(c.brief.review.missing, ReviewMissing::Hold);
    }

    #[test]
    fn review_required_without_editors_or_base_url_or_with_a_wrong_word_is_refused() {
        let with = |lines: &str| {
            MINIMAL.replace(
                "from = \"Brief <brief@example.org>\"",
                &format!("from = \"Brief <brief@example.org>\"\n{lines}"),
            )
        };
        let e = parse_str(&with(
            "base_url = \"https://b.example.org/\"\nreview = \"required\"",
        ))
        .expect_err("no editors");
        assert!(e.to_string().contains("editors"), "{e}");
        let e = parse_str(&with(
            "editors = [\"ann@example.org\"]\nreview = \"required\"",
        ))
        .expect_err("no base_url");
        assert!(e.to_string().contains("base_url"), "{e}");
        let e = parse_str(&with("review = \"always\"")).expect_err("bad word");
        assert!(e.to_string().contains(":5: key `brief.review`"), "{e}");
        let e = parse_str(&with("review_missing = \"drop\"")).expect_err("bad word");
        assert!(e.to_string().contains("brief.review_missing"), "{e}");
        let e = parse_str(&with("editors = [\"not an address\"]")).expect_err("bad address");
        assert!(e.to_string().contains("brief.editors"), "{e}");
    }

    #[test]
    fn a_review_lead_not_shorter_than_the_shortest_gap_between_slots_is_refused_at_its_line() {
        // base_url, editors and review on lines 5 to 7; `lines` from line 8.
        let with = |lines: &str| {
            MINIMAL.replace(
                "from = \"Brief <brief@example.org>\"",
                &format!(
                    "from = \"Brief <brief@example.org>\"\nbase_url = \"https://b.example.org/\"\n\
                     editors = [\"ann@example.org\"]\nreview = \"required\"\n{lines}"
                ),
            )
        };
        // Twice a day, at 6:00 and 12:00: the shortest gap is 6 hours.
        let e = parse_str(&with("schedule = \"0 6,12 * * *\"\nreview_lead = \"6h\""))
            .expect_err("as long as the gap");
        let text = e.to_string();
        assert!(text.contains(":9: key `brief.review_lead`"), "{text}");
        assert!(text.contains("shortest gap"), "{text}");
        assert!(text.contains("set review_lead under 6h"), "{text}");
        parse_str(&with(
            "schedule = \"0 6,12 * * *\"\nreview_lead = \"5h59m\"",
        ))
        .expect("shorter than the gap");
        // Hourly, with the default two hours: named at `review`, saying it is the default.
        let e = parse_str(&with("schedule = \"0 * * * *\"")).expect_err("the default lead");
        let text = e.to_string();
        assert!(text.contains(":7: key `brief.review_lead`"), "{text}");
        assert!(text.contains("by default"), "{text}");
        // Daily in New York: the day the clocks go forward is 23 hours long.
        let ny = "schedule = \"0 6 * * *\"\ntimezone = \"America/New_York\"\n";
        let e = parse_str(&with(&format!("{ny}review_lead = \"23h30m\"")))
            .expect_err("longer than the short day");
        assert!(e.to_string().contains("under 23h"), "{e}");
        parse_str(&with(&format!("{ny}review_lead = \"22h\""))).expect("fits every day");
        // Two-hourly in Berlin: the autumn change (25 October, past the year's first
        // 2,000 slots) makes one gap an hour long.
        let berlin = "schedule = \"0 */2 * * *\"\ntimezone = \"Europe/Berlin\"\n";
        let e = parse_str(&with(&format!("{berlin}review_lead = \"90m\"")))
            .expect_err("longer than the autumn gap");
        assert!(e.to_string().contains("under 1h"), "{e}");
        // With review off the lead is not used, and not checked.
        parse_str(&MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nschedule = \"0 * * * *\"\nreview_lead = \"3h\"",
        ))
        .expect("review off");
    }

    #[test]
    fn share_and_track_have_defaults_and_a_wrong_track_names_its_line() {
        let c = parse_str(MINIMAL).expect("valid");
        assert_eq!(c.brief.reading, Reading::default());
        assert!(c.brief.reading.share);
        assert_eq!(c.brief.reading.track, Track::Story);
        let text = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nshare = false\ntrack = \"member\"",
        );
        let c = parse_str(&text).expect("valid");
        assert!(!c.brief.reading.share);
        assert_eq!(c.brief.reading.track, Track::Member);
        let text = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\ntrack = \"members\"",
        );
        let err = parse_str(&text).expect_err("a wrong track");
        assert_eq!(err.line, Some(5), "{err}");
        assert_eq!(err.key.as_deref(), Some("brief.track"), "{err}");
        assert!(
            err.message.contains("\"off\", \"story\" or \"member\""),
            "{err}"
        );
        let text = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nshare = \"yes\"",
        );
        let err = parse_str(&text).expect_err("share is a boolean");
        assert_eq!(err.line, Some(5), "{err}");
    }

    #[test]
    fn inbound_imap_is_validated_with_line_errors_and_its_password_comes_from_the_environment() {
        let env = |name: &str| (name == "IMAP_PW").then(|| "pa ss\"word".to_string());
        let with = |imap: &str| format!("{MINIMAL}\n[inbound]\nimap = {{ {imap} }}\n");
        let path = Path::new("/etc/feedbrief/feeds.toml");
        let c = parse(
            &with("url = \"imaps://mail.example.org\", user = \"bounces@example.org\", password_env = \"IMAP_PW\""),
            path,
            env,
        )
        .expect("valid");
        let imap = c.inbound.imap.expect("imap");
        assert_eq!(
            (imap.host.as_str(), imap.port, imap.tls),
            ("mail.example.org", 993, true)
        );
        assert_eq!(imap.password, "pa ss\"word");
        assert_eq!(imap.mailbox, "INBOX");
        assert_eq!(imap.every, Duration::from_secs(300));
        assert_eq!(imap.after, ImapAfter::Seen);
        assert!(
            !format!("{imap:?}").contains("pa ss"),
            "the password is never printed"
        );
        let c = parse(
            &with("url = \"imap://127.0.0.1:1143\", user = \"b\", password_env = \"IMAP_PW\", mailbox = \"Bounces\", every = \"30s\", after = \"move:Done\""),
            path,
            env,
        )
        .expect("valid");
        let imap = c.inbound.imap.expect("imap");
        assert_eq!((imap.port, imap.tls), (1143, false));
        assert_eq!(imap.after, ImapAfter::Move("Done".into()));
        for (imap, key, says) in [
            (
                "url = \"imap://mail.example.org\", user = \"b\", password_env = \"IMAP_PW\"",
                "inbound.imap.url",
                "unencrypted",
            ),
            (
                "url = \"imaps://b:pw@mail.example.org\", user = \"b\", password_env = \"IMAP_PW\"",
                "inbound.imap.url",
                "password",
            ),
            (
                "url = \"pop3://mail.example.org\", user = \"b\", password_env = \"IMAP_PW\"",
                "inbound.imap.url",
                "scheme",
            ),
            (
                "url = \"imaps://mail.example.org\", user = \"b\", password_env = \"UNSET_PW\"",
                "inbound.imap.password_env",
                "UNSET_PW is unset",
            ),
            (
                "url = \"imaps://mail.example.org\", user = \"b\", password_env = \"s3cret!\"",
                "inbound.imap.password_env",
                "not an environment variable",
            ),
            (
                "url = \"imaps://mail.example.org\", user = \"\", password_env = \"IMAP_PW\"",
                "inbound.imap.user",
                "login name",
            ),
            (
                "url = \"imaps://mail.example.org\", user = \"b\", password_env = \"IMAP_PW\", after = \"archive\"",
                "inbound.imap.after",
                "move:",
            ),
            (
                "url = \"imaps://mail.example.org\", user = \"b\", password_env = \"IMAP_PW\", every = \"0s\"",
                "inbound.imap.every",
                "zero",
            ),
        ] {
            let err = parse(&with(imap), path, env).expect_err(imap);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
            assert_eq!(err.line, Some(MINIMAL.lines().count() + 3), "{err}");
            assert!(err.message.contains(says), "{err}");
        }
        let err = parse(&with("url = \"imaps://m.example.org\", user = \"b\", password_env = \"IMAP_PW\", pasword = \"x\""), path, env)
            .expect_err("unknown key");
        assert!(err.message.contains("pasword"), "{err}");
    }

    #[test]
    fn inbound_keys_have_defaults_and_a_listener_needs_a_bounce_domain() {
        let c = parse_str(MINIMAL).expect("valid");
        assert_eq!(c.inbound, Inbound::default());
        assert_eq!(c.inbound.bounce_domain, None);
        assert_eq!(c.inbound.max_message_size, 2 * 1024 * 1024);
        assert_eq!(c.inbound.soft_bounce_limit, 3);
        assert_eq!(
            c.inbound.soft_bounce_window,
            Duration::from_secs(15 * 86_400)
        );
        let text = format!(
            "{MINIMAL}\n[inbound]\nbounce_domain = \"Bounces.Example.org.\"\nlisten = \"127.0.0.1:2525\"\nmax_message_size = \"1MB\"\nsoft_bounce_limit = 5\nsoft_bounce_window = \"7d\"\n"
        );
        let c = parse_str(&text).expect("valid");
        assert_eq!(
            c.inbound.bounce_domain.as_deref(),
            Some("bounces.example.org")
        );
        assert_eq!(
            c.inbound.listen,
            Some("127.0.0.1:2525".parse().expect("addr"))
        );
        assert_eq!(c.inbound.max_message_size, 1024 * 1024);
        assert_eq!(c.inbound.soft_bounce_limit, 5);
        assert_eq!(
            c.inbound.soft_bounce_window,
            Duration::from_secs(7 * 86_400)
        );
        for (lines, key, says) in [
            (
                "listen = \"127.0.0.1:2525\"",
                "inbound.listen",
                "bounce_domain",
            ),
            (
                "bounce_domain = \"not a domain\"",
                "inbound.bounce_domain",
                "domain",
            ),
            (
                "bounce_domain = \"localhost\"",
                "inbound.bounce_domain",
                "domain",
            ),
            (
                "bounce_domain = \"b.example.org\"\nlisten = \"port 25\"",
                "inbound.listen",
                "socket address",
            ),
            (
                "max_message_size = \"10\"",
                "inbound.max_message_size",
                "1KB",
            ),
            (
                "soft_bounce_limit = 0",
                "inbound.soft_bounce_limit",
                "range",
            ),
            (
                "soft_bounce_window = \"soon\"",
                "inbound.soft_bounce_window",
                "duration",
            ),
            ("imap = \"x\"", "inbound.imap", "invalid type"),
        ] {
            let err = parse_str(&format!("{MINIMAL}\n[inbound]\n{lines}\n")).expect_err(lines);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
            assert!(err.message.contains(says), "{err}");
        }
    }

    #[test]
    fn signup_is_off_by_default_and_bad_limits_name_their_key() {
        let c = parse_str(MINIMAL).expect("valid");
        assert!(!c.signup.enabled);
        assert_eq!(c.signup.confirm_within, Duration::from_secs(48 * 3600));
        assert_eq!((c.signup.per_address, c.signup.per_ip), (3, 20));
        let with_base = MINIMAL.replace(
            "from = \"Brief <brief@example.org>\"",
            "from = \"Brief <brief@example.org>\"\nbase_url = \"https://brief.example.org/\"",
        );
        let text = format!(
            "{with_base}\n[signup]\nenabled = true\nconfirm_within = \"2h\"\nper_address = 1\nper_ip = 5\nforwarded_for = true\n"
        );
        let c = parse_str(&text).expect("valid");
        assert!(c.signup.enabled && c.signup.forwarded_for);
        assert_eq!(c.signup.confirm_within, Duration::from_secs(7200));
        assert_eq!((c.signup.per_address, c.signup.per_ip), (1, 5));
        let err =
            parse_str(&format!("{MINIMAL}\n[signup]\nenabled = true\n")).expect_err("no base_url");
        assert_eq!(err.key.as_deref(), Some("signup.enabled"), "{err}");
        assert!(err.message.contains("base_url"), "{err}");
        for (line, key) in [
            ("per_address = 0", "signup.per_address"),
            ("confirm_within = \"never\"", "signup.confirm_within"),
            ("enable = true", "signup.enable"),
        ] {
            let err = parse_str(&format!("{MINIMAL}\n[signup]\n{line}\n")).expect_err(line);
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
            assert_eq!(err.line, Some(14), "{err}");
        }
    }

    #[test]
    fn most_read_and_images_have_defaults_and_a_wrong_images_names_its_line() {
        let c = parse_str(MINIMAL).expect("valid");
        assert!(c.brief.reading.most_read);
        assert_eq!(c.brief.reading.images, Images::Lead);
        let with = |keys: &str| {
            MINIMAL.replace(
                "from = \"Brief <brief@example.org>\"",
                &format!("from = \"Brief <brief@example.org>\"\n{keys}"),
            )
        };
        let c = parse_str(&with("most_read = false\nimages = \"all\"")).expect("valid");
        assert!(!c.brief.reading.most_read);
        assert_eq!(c.brief.reading.images, Images::All);
        let c = parse_str(&with("images = \"none\"")).expect("valid");
        assert_eq!(c.brief.reading.images, Images::None);
        let err = parse_str(&with("images = \"first\"")).expect_err("a wrong images");
        assert_eq!(err.line, Some(5), "{err}");
        assert_eq!(err.key.as_deref(), Some("brief.images"), "{err}");
        assert!(err.message.contains("\"lead\""), "{err}");
        let err = parse_str(&with("most_read = \"yes\"")).expect_err("a boolean");
        assert_eq!(err.line, Some(5), "{err}");
    }

    #[test]
    fn weekly_is_off_by_default_takes_a_day_the_schedule_sends_on_and_names_its_line() {
        assert_eq!(parse_str(MINIMAL).expect("valid").brief.weekly, None);
        let with = |keys: &str| {
            MINIMAL.replace(
                "from = \"Brief <brief@example.org>\"",
                &format!("from = \"Brief <brief@example.org>\"\n{keys}"),
            )
        };
        let c = parse_str(&with("weekly = \"Fri\"")).expect("valid");
        assert_eq!(c.brief.weekly, Some(chrono::Weekday::Fri));
        let c = parse_str(&with("weekly = \"monday\"")).expect("valid");
        assert_eq!(c.brief.weekly, Some(chrono::Weekday::Mon));
        let err = parse_str(&with("weekly = \"Fryday\"")).expect_err("not a day");
        assert_eq!(err.line, Some(5), "{err}");
        assert_eq!(err.key.as_deref(), Some("brief.weekly"), "{err}");
        // The default schedule sends Monday to Friday: no Saturday slot to send with.
        let err = parse_str(&with("weekly = \"Sat\"")).expect_err("no slot on Saturday");
        assert_eq!(err.line, Some(5), "{err}");
        assert!(err.message.contains("no slot on a Sat"), "{err}");
        let c = parse_str(&with("schedule = \"30 7 * * *\"\nweekly = \"Sat\"")).expect("valid");
        assert_eq!(c.brief.weekly, Some(chrono::Weekday::Sat));
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

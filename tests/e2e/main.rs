//! End-to-end tests (one integration binary; modules below): a real HTTP server on 127.0.0.1:0 serving fixture feeds, a real SMTP
//! server in-process (mailin-embedded), a real SQLite file in a temp dir, and the whole
//! `once` cycle between them.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use feedbrief::app::App;
use feedbrief::cycle::{self, DigestOutcome, FeedOutcome};
use mailin_embedded::{Handler, Response as SmtpResponse, Server, response};
use tokio_util::sync::CancellationToken;

mod bounces;
mod bounds;
mod cli;
mod clicks;
mod concurrency;
mod corpus;
mod daemon;
mod delivery;
mod extraction;
mod faults;
mod filters;
mod guards;
mod images;
mod imap;
mod inbound;
mod look;
mod members;
mod relays;
mod review;
mod signup;
mod webdriver;
mod weekly;

/// `../shared/<rel>` beside the crate, when this checkout has it. Users' machines do not
/// (the tests that read it then skip, saying so); CI does, and sets
/// `FEEDBRIEF_REQUIRE_SHARED=1` so that a missing corpus fails instead of passing unrun.
fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        !std::env::var("FEEDBRIEF_REQUIRE_SHARED").is_ok_and(|v| v == "1"),
        "{} is absent and FEEDBRIEF_REQUIRE_SHARED=1: the shared corpora must be there",
        p.display()
    );
    None
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Requests the fixture server saw, per path.
#[derive(Clone, Default)]
struct Hits(Arc<Mutex<HashMap<String, usize>>>);

impl Hits {
    fn get(&self, path: &str) -> usize {
        *self.0.lock().expect("lock").get(path).unwrap_or(&0)
    }
}

#[derive(Clone)]
struct Fixtures {
    hits: Hits,
    base: String,
}

async fn serve_feed(
    State(f): State<Fixtures>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    serve_file(&f, "feeds", &name, &headers)
}

async fn serve_article(
    State(f): State<Fixtures>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    serve_file(&f, "articles", &name, &headers)
}

/// Serves a fixture with `{{BASE}}` replaced by this server's URL, so every link in a
/// fixture points back to 127.0.0.1.
fn serve_file(f: &Fixtures, dir: &str, name: &str, headers: &HeaderMap) -> Response {
    let key = format!("{dir}/{name}");
    *f.hits.0.lock().expect("lock").entry(key).or_default() += 1;
    // busy-N.html: one template for many pages; page 2 names page 1 as its canonical.
    // chain-N.html: the same template, every page naming busy-1 as its canonical.
    let chain = name.starts_with("chain-");
    let busy = name
        .strip_prefix("busy-")
        .or_else(|| name.strip_prefix("chain-"))
        .and_then(|r| r.strip_suffix(".html"))
        .filter(|_| dir == "articles");
    let file = if busy.is_some() { "busy.html" } else { name };
    let path = fixtures().join(dir).join(file);
    let Ok(body) = std::fs::read_to_string(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut body = body.replace("{{BASE}}", &f.base);
    if let Some(n) = busy {
        body = body
            .replace("{{N}}", n)
            .replace("{{CANON}}", if n == "2" || chain { "1" } else { n });
    }
    // The etag fixture behaves like a well-configured server: 304 for a matching ETag.
    if name == "etag.xml" {
        if headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some("\"v1\"")
        {
            return StatusCode::NOT_MODIFIED.into_response();
        }
        return (
            [
                (header::ETAG, "\"v1\""),
                (header::CONTENT_TYPE, "application/rss+xml"),
            ],
            body,
        )
            .into_response();
    }
    if name == "ratelimited.xml" {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3600")],
            "slow down",
        )
            .into_response();
    }
    let ctype = if name.ends_with(".json") {
        "application/feed+json"
    } else if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "application/xml"
    };
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}

/// Starts the web endpoints on 127.0.0.1:0; returns the base URL.
pub(crate) async fn spawn_web(app: &Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(feedbrief::web::serve(
        Arc::clone(app),
        listener,
        CancellationToken::new(),
    ));
    format!("http://{addr}")
}

/// An HTTP client that shows redirects instead of following them.
pub(crate) fn client() -> reqwest::Client {
    feedbrief::fetch::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Starts the fixture HTTP server; returns its base URL and request counts.
async fn spawn_http() -> (String, Hits) {
    let hits = Hits::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind http");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route("/{name}", axum::routing::get(serve_feed))
        .route("/articles/{name}", axum::routing::get(serve_article))
        .with_state(Fixtures {
            hits: hits.clone(),
            base: base.clone(),
        });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, hits)
}

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
struct Mail {
    /// The envelope sender (`MAIL FROM`).
    from: String,
    to: Vec<String>,
    data: String,
}

#[derive(Clone)]
struct SmtpSink {
    mails: Arc<Mutex<Vec<Mail>>>,
    /// While set, `flaky@` gets 451 (try later).
    flaky: Arc<AtomicBool>,
    /// Recipients starting with `once421@` get 421 after DATA the first time only.
    refused_once: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Milliseconds to wait before accepting each message (a slow relay).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// While set, the relay is shutting down: MAIL and the end of DATA get 421, so it
    /// takes nothing more.
    closing: Arc<AtomicBool>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for SmtpSink {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, _from: &str) -> SmtpResponse {
        if self.closing.load(Ordering::SeqCst) {
            return response::NO_SERVICE;
        }
        response::OK
    }
    fn rcpt(&mut self, to: &str) -> SmtpResponse {
        if to.starts_with("bounce@") {
            return response::NO_MAILBOX;
        }
        if to.starts_with("flaky@") && self.flaky.load(Ordering::SeqCst) {
            return response::INTERNAL_ERROR;
        }
        response::OK
    }
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> SmtpResponse {
        self.from = from.to_string();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> SmtpResponse {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        if self.closing.load(Ordering::SeqCst) {
            return response::NO_SERVICE;
        }
        if let Some(first) = self.to.first().filter(|t| t.starts_with("once421@"))
            && self
                .refused_once
                .lock()
                .expect("lock")
                .insert(first.clone())
        {
            return response::NO_SERVICE;
        }
        self.mails.lock().expect("lock").push(Mail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        });
        response::OK
    }
}

struct Smtp {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    flaky: Arc<AtomicBool>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Set: the sink refuses with 421 from now on (see `SmtpSink::closing`).
    closing: Arc<AtomicBool>,
}

impl Smtp {
    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("lock").clone()
    }
}

fn spawn_smtp() -> Smtp {
    let sink = SmtpSink {
        mails: Arc::default(),
        flaky: Arc::new(AtomicBool::new(true)),
        refused_once: Arc::default(),
        delay_ms: Arc::default(),
        closing: Arc::default(),
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mails = Arc::clone(&sink.mails);
    let flaky = Arc::clone(&sink.flaky);
    let delay_ms = Arc::clone(&sink.delay_ms);
    let closing = Arc::clone(&sink.closing);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
    let port = listener.local_addr().expect("addr").port();
    let mut server = Server::new(sink);
    // More threads than our connections, or mailin-embedded stalls.
    server
        .with_name("localhost")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    Smtp {
        port,
        mails,
        flaky,
        delay_ms,
        closing,
    }
}

fn config_text(http: &str, transport: &str, extra_feeds: &str) -> String {
    format!(
        r#"
[brief]
name = "Local Government Leadership Brief"
tagline = "What leaders in local government are reading"
from = "Leadership Brief <brief@example.org>"
timezone = "America/New_York"
base_url = "https://brief.example.org/"
postal_address = "777 N Capitol St NE, Washington, DC 20002"
max_stories = 12
data_dir = "data"

[fetch]
timeout = "5s"
allow_private_addresses = true

[delivery]
{transport}
connections = 2
attempts = 2

[members]
file = "members.csv"

[[section]]
name = "Leading Edge"

[[section]]
name = "Workforce"

[[feed]]
name = "Thought Leaders"
url = "{http}/wordpress.xml"
section = "Leading Edge"
weight = 1.5

[[feed]]
name = "Public Works Notes"
url = "{http}/atom.xml"
section = "Leading Edge"

[[feed]]
name = "Workforce Weekly"
url = "{http}/feed.json"
section = "Workforce"

[[feed]]
name = "Half Feed"
url = "{http}/broken.xml"

[[feed]]
name = "City Manager Letters"
url = "{http}/etag.xml"
section = "Workforce"
{extra_feeds}
[[announcement]]
title = "New, Reduced Membership Dues"
body = "A new, reduced dues rate is available for CAOs/ACAOs, with additional discounts for smaller communities."
link = "https://example.org/join"
cta = "LEARN MORE"
until = 2026-12-31
"#
    )
}

fn smtp_transport(port: u16) -> String {
    format!("transport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}?tls=none\"")
}

const MEMBERS: &str = "email,name,sections\n\
ann@example.org,Ann Lee,\n\
bo@example.org,Bo Diaz,Workforce\n\
not an address,Broken Row\n\
cy@example.org,Cy Young,\n";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .expect("date")
        .with_timezone(&Utc)
}

struct Env {
    dir: tempfile::TempDir,
    app: Arc<App>,
}

fn open(config: &str, members: &str) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("feeds.toml"), config).expect("write config");
    std::fs::write(dir.path().join("members.csv"), members).expect("write members");
    let config = feedbrief::config::load(&dir.path().join("feeds.toml")).expect("config is valid");
    let app = App::open(config).expect("app opens");
    Env { dir, app }
}

/// A forced fetch of every feed at `at` (as `once` and `fetch` do), which must run.
async fn fetch(env: &Env, at: DateTime<Utc>) -> cycle::FetchReport {
    cycle::fetch_all(&env.app, at, true, &CancellationToken::new())
        .await
        .expect("fetch")
}

/// The parts of a MIME message we check, decoded.
fn decoded(data: &str) -> String {
    // Bodies are quoted-printable or base64; decode enough to search the text.
    let mut out = String::new();
    let mut b64 = String::new();
    let mut in_b64 = false;
    for line in data.lines() {
        if line.eq_ignore_ascii_case("Content-Transfer-Encoding: base64") {
            in_b64 = true;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if in_b64 {
            if line.starts_with("--") {
                out.push_str(&String::from_utf8_lossy(&base64_decode(&b64)));
                b64.clear();
                in_b64 = false;
            } else if !line.is_empty() && !line.contains(':') {
                b64.push_str(line.trim());
                continue;
            }
        }
        match line.strip_suffix('=') {
            Some(soft) => out.push_str(soft),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    // Robust: what is not a valid escape (headers' `charset=utf-8`) stays as written.
    let bytes = quoted_printable::decode(out.as_bytes(), quoted_printable::ParseMode::Robust)
        .unwrap_or_else(|_| out.clone().into_bytes());
    String::from_utf8_lossy(&bytes).into_owned()
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = T.iter().position(|&t| t == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// A header's value with folded lines joined (RFC 5322 2.2.3).
fn header(data: &str, name: &str) -> Option<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or(data);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_mails_every_member_one_digest_and_a_second_once_sends_nothing() {
    let (http, hits) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&config_text(&http, &smtp_transport(smtp.port), ""), MEMBERS);
    let cancel = CancellationToken::new();

    let report = cycle::once(&env.app, now(), true, &cancel)
        .await
        .expect("cycle runs");
    let text = report.to_string();

    // The bad member row is reported by line and the others imported.
    assert_eq!(report.members.active, 3, "{text}");
    assert_eq!(report.members.errors.len(), 1, "{text}");
    assert!(report.members.errors[0].starts_with("line 4:"), "{text}");

    // The broken feed is reported with a reason; every other feed still arrives.
    let outcome = |name: &str| {
        report
            .fetch
            .feeds
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.outcome.clone())
            .expect("feed in report")
    };
    assert!(
        matches!(outcome("Half Feed"), FeedOutcome::Failed(ref why) if why.to_string().contains("not a readable feed")),
        "{text}"
    );
    for name in [
        "Thought Leaders",
        "Public Works Notes",
        "Workforce Weekly",
        "City Manager Letters",
    ] {
        assert!(
            matches!(outcome(name), FeedOutcome::Fetched { new, .. } if new > 0),
            "{name}: {text}"
        );
    }
    assert!(text.contains("FAILED  Half Feed"), "{text}");

    // Every member gets exactly one multipart digest.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{text}");
    let mut recipients: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec!["ann@example.org", "bo@example.org", "cy@example.org"]
    );
    let DigestOutcome::Built {
        stories,
        ref subject,
        ..
    } = report.digest
    else {
        panic!("a digest was built: {text}")
    };
    assert_eq!(stories, 6, "{text}");
    for mail in &mails {
        let d = &mail.data;
        assert!(
            header(d, "Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")),
            "{d}"
        );
        let plain = d.find("Content-Type: text/plain").expect("text part");
        let html = d.find("Content-Type: text/html").expect("html part");
        assert!(plain < html, "text part comes first");
        assert!(header(d, "Message-ID").is_some_and(|m| m.ends_with("@example.org>")));
        assert!(
            header(d, "List-Unsubscribe")
                .is_some_and(|v| v.contains("https://brief.example.org/unsubscribe/"))
        );
        assert_eq!(
            header(d, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(
            header(d, "List-Id")
                .is_some_and(|v| v.contains("local-government-leadership-brief.example.org"))
        );
        let body = decoded(d);
        assert!(body.contains(subject.as_str()) || body.contains(&subject.replace('&', "&amp;")));
        if mail.to != ["bo@example.org"] {
            assert!(
                body.contains("Snow Plans That Residents Actually Read"),
                "{body}"
            );
        }
        assert!(body.contains("New, Reduced Membership Dues"));
        // The lead's summary comes from the article page, not the feed's teaser.
        assert!(
            body.contains("Local government executives who invest in staff trust"),
            "{body}"
        );
        assert!(!body.contains("Photo: City hall"), "caption leaked: {body}");
        assert!(body.contains("LEARN MORE"));
        assert!(body.contains("777 N Capitol St NE"));
        assert!(
            !body.contains("appeared first on"),
            "boilerplate leaked: {body}"
        );
        assert!(!body.contains("Continue reading"));
        assert!(!body.contains("utm_source"), "tracking parameters removed");
        // The same story came from two feeds and appears once.
        assert!(
            body.matches("Why Trust Is the Currency of Local Government Leadership")
                .count()
                >= 1
        );
        assert!(!body.contains("A repost of a story another feed carries"));
        // Feed HTML is escaped, never executed.
        assert!(!body.contains("<script>alert"), "script survived: {body}");
    }
    // Bo chose the Workforce section: the Leading Edge section (not the lead) is left out.
    let bo = mails
        .iter()
        .find(|m| m.to == ["bo@example.org"])
        .expect("bo's mail");
    // The paywalled page is attributed to its site and marked.
    let ann = decoded(
        &mails
            .iter()
            .find(|m| m.to == ["ann@example.org"])
            .expect("ann")
            .data,
    );
    assert!(
        ann.contains("Full Story: Public Works Journal (11/27) (subscription required)"),
        "{ann}"
    );
    let page_hits = hits.get("articles/why-trust.html") + hits.get("articles/snow-plans.html");
    // The archive post is stored but too old to be selected: its page is not fetched.
    assert_eq!(hits.get("articles/old-post.html"), 0);
    assert!(!ann.contains("An Old Post From the Archive"));
    let bo_body = decoded(&bo.data);
    assert!(bo_body.contains("Counties Test Four-Day Weeks"));
    assert!(!bo_body.contains("Snow Plans That Residents Actually Read"));

    // Second cycle an hour later: nothing new, nothing sent, the ETag feed answers 304.
    let later = now() + chrono::Duration::hours(1);
    let report2 = cycle::once(&env.app, later, true, &cancel)
        .await
        .expect("cycle runs");
    let text2 = report2.to_string();
    assert!(
        matches!(report2.digest, DigestOutcome::NoNewStories),
        "{text2}"
    );
    assert!(text2.contains("no new stories"), "{text2}");
    assert_eq!(smtp.mails().len(), 3, "no member is mailed twice: {text2}");
    assert!(
        report2
            .fetch
            .feeds
            .iter()
            .any(|f| f.name == "City Manager Letters"
                && matches!(f.outcome, FeedOutcome::NotModified)),
        "{text2}"
    );
    assert_eq!(hits.get("feeds/etag.xml"), 2);
    assert_eq!(
        hits.get("articles/why-trust.html") + hits.get("articles/snow-plans.html"),
        page_hits,
        "no article page is fetched again"
    );
    drop(env.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failure_is_retried_next_cycle_and_hard_bounce_is_recorded() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    let members = "ann@example.org,Ann\nflaky@example.org,Flaky\nbounce@example.org,Bounce\n";
    let env = open(&config_text(&http, &smtp_transport(smtp.port), ""), members);
    let cancel = CancellationToken::new();

    let first = cycle::once(&env.app, now(), true, &cancel)
        .await
        .expect("cycle");
    assert_eq!(first.delivery.sent, 1, "{first}");
    assert_eq!(first.delivery.deferred, 1, "{first}");
    assert_eq!(first.delivery.failed, 1, "{first}");
    assert!(first.to_string().contains("will retry next cycle"));

    // The relay recovers; the next cycle sends only the deferred member.
    smtp.flaky.store(false, Ordering::SeqCst);
    let second = cycle::once(&env.app, now() + chrono::Duration::hours(1), true, &cancel)
        .await
        .expect("cycle");
    assert_eq!(second.delivery.sent, 1, "{second}");
    assert_eq!(
        second.delivery.failed, 0,
        "a permanent failure is not retried: {second}"
    );
    let to: Vec<Vec<String>> = smtp.mails().iter().map(|m| m.to.clone()).collect();
    assert_eq!(
        to,
        vec![
            vec!["ann@example.org".to_string()],
            vec!["flaky@example.org".to_string()]
        ]
    );

    let third = cycle::once(&env.app, now() + chrono::Duration::hours(2), true, &cancel)
        .await
        .expect("cycle");
    assert_eq!(third.delivery.sent, 0, "{third}");
    assert_eq!(smtp.mails().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_transport_writes_one_eml_per_member() {
    let (http, _) = spawn_http().await;
    let env = open(&config_text(&http, "transport = \"outbox\"", ""), MEMBERS);
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    assert_eq!(report.delivery.sent, 3, "{report}");
    let outbox = env.dir.path().join("data/outbox");
    let mut files: Vec<String> = std::fs::read_dir(&outbox)
        .expect("outbox exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.ends_with(".eml")));
    let eml = std::fs::read_to_string(outbox.join(&files[0])).expect("read eml");
    assert!(eml.contains("multipart/alternative"));
    assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_feed_is_skipped_until_retry_after() {
    let (http, hits) = spawn_http().await;
    std::fs::metadata(fixtures().join("feeds/ratelimited.xml")).expect("fixture exists");
    let extra = format!("\n[[feed]]\nname = \"Busy\"\nurl = \"{http}/ratelimited.xml\"\n");
    let env = open(&config_text(&http, "transport = \"outbox\"", &extra), "");
    let r1 = fetch(&env, now()).await;
    let busy = r1.feeds.iter().find(|f| f.name == "Busy").expect("busy");
    assert!(
        matches!(&busy.outcome, FeedOutcome::Failed(why) if why.to_string().contains("rate limited")),
        "{r1}"
    );
    let r2 = fetch(&env, now() + chrono::Duration::minutes(10)).await;
    let busy = r2.feeds.iter().find(|f| f.name == "Busy").expect("busy");
    assert!(matches!(&busy.outcome, FeedOutcome::Skipped(_)), "{r2}");
    assert_eq!(
        hits.get("feeds/ratelimited.xml"),
        1,
        "no request before Retry-After has passed"
    );
    let r3 = fetch(&env, now() + chrono::Duration::hours(2)).await;
    assert!(
        r3.feeds
            .iter()
            .any(|f| f.name == "Busy" && matches!(f.outcome, FeedOutcome::Failed(_)))
    );
    assert_eq!(hits.get("feeds/ratelimited.xml"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_pages_on_private_addresses_are_refused_and_feed_text_is_used() {
    let (http, hits) = spawn_http().await;
    let config = config_text(&http, "transport = \"outbox\"", "").replace(
        "allow_private_addresses = true",
        "allow_private_addresses = false",
    );
    let env = open(&config, "");
    let report = fetch(&env, now()).await;
    let text = report.to_string();
    assert!(text.contains("private or local address"), "{text}");
    for page in ["why-trust.html", "snow-plans.html", "four-day-weeks.html"] {
        assert_eq!(
            hits.get(&format!("articles/{page}")),
            0,
            "{page} was requested"
        );
    }
    // The feeds themselves (operator-configured) were still read, and summaries come from
    // the feed's own text.
    let digest = cycle::next_digest(&env.app, now())
        .expect("select")
        .expect("digest");
    let lead = digest.lead.summary.clone().unwrap_or_default();
    assert!(
        lead.starts_with("City managers who build trust early"),
        "{lead}"
    );
}

#[test]
fn malformed_config_names_its_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\n[[feed]]\nname = \"X\"\nurl = \"https://x.example.org/feed\"\nweigth = 2\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .args(["--config", path.to_str().expect("utf8"), "check"])
        .output()
        .expect("run feedbrief");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("feeds.toml:8: key `feed.weigth`"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_prints_entries_with_keys_and_summaries() {
    let (http, _) = spawn_http().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .args(["inspect", "--json", &format!("{http}/wordpress.xml")])
        .output()
        .await
        .expect("run feedbrief");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["title"], "Thought Leaders Blog");
    let first = &v["entries"][0];
    assert_eq!(
        first["key"],
        "id:https://www.thoughtleadersllc.com/?p=10231"
    );
    // Tracking parameters removed.
    assert_eq!(first["link"], format!("{http}/articles/why-trust.html"));
    let summary = first["summary"].as_str().expect("summary");
    assert!(
        summary.starts_with("City managers who build trust early"),
        "{summary}"
    );
    assert!(!summary.contains("By Sarah Mitchell"), "{summary}");
    let words = summary.split_whitespace().count();
    assert!((35..=80).contains(&words), "{words} words: {summary}");
    assert!(summary.ends_with('.'), "{summary}");
}

/// A brief of three stories over the ten-post busy feed, with `[fetch]` lines `fetch`.
fn busy_config(http: &str, fetch: &str) -> String {
    format!(
        r#"
[brief]
name = "Busy Brief"
from = "Busy Brief <brief@example.org>"
max_stories = 3
data_dir = "data"

[fetch]
timeout = "5s"
allow_private_addresses = true
{fetch}

[delivery]
transport = "outbox"

[[feed]]
name = "Busy Blog"
url = "{http}/busy.xml"
"#
    )
}

/// The busy brief's next digest, checked: stories 1, 3 and 4 (page 2 is page 1's story).
fn busy_digest(env: &Env) -> feedbrief::select::Digest {
    let digest = cycle::next_digest(&env.app, now())
        .expect("select")
        .expect("digest");
    let titles: Vec<&str> = digest.stories().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Busy Story Number 1 About Budget Season",
            "Busy Story Number 3 About Budget Season",
            "Busy Story Number 4 About Budget Season"
        ]
    );
    digest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_pages_are_read_only_for_the_stories_a_digest_carries() {
    let (http, hits) = spawn_http().await;
    let env = open(&busy_config(&http, ""), "");
    let report = fetch(&env, now()).await;
    let text = report.to_string();
    assert_eq!(report.new_entries(), 10, "{text}");
    let page_hits = |n: usize| hits.get(&format!("articles/busy-{n}.html"));
    // Round 1 reads the three newest; page 2's canonical is page 1, so the two merge and
    // round 2 reads the next story's page. The other six pages are never requested.
    assert_eq!(
        (1..=10).map(page_hits).collect::<Vec<_>>(),
        vec![1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
        "{text}"
    );
    assert!(text.contains("article pages: 4 read"), "{text}");
    let digest = busy_digest(&env);
    for s in digest.stories() {
        let summary = s.summary.as_deref().unwrap_or_default();
        assert!(summary.contains("finance directors"), "{summary}");
    }
    // A cycle an hour later finds nothing new and sends the digest: no page is read again.
    let report = cycle::once(
        &env.app,
        now() + chrono::Duration::hours(1),
        true,
        &CancellationToken::new(),
    )
    .await
    .expect("cycle");
    assert!(
        matches!(report.digest, DigestOutcome::Built { stories: 3, .. }),
        "{report}"
    );
    assert_eq!((1..=10).map(page_hits).sum::<usize>(), 4, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_articles_all_every_new_entrys_page_is_read_once() {
    let (http, hits) = spawn_http().await;
    let env = open(&busy_config(&http, "articles = \"all\""), "");
    let report = fetch(&env, now()).await;
    let text = report.to_string();
    let page_hits: Vec<usize> = (1..=10)
        .map(|n| hits.get(&format!("articles/busy-{n}.html")))
        .collect();
    assert_eq!(page_hits, vec![1; 10], "{text}");
    assert!(text.contains("article pages: 10 read"), "{text}");
    // The same digest as with pages read for the chosen stories only.
    busy_digest(&env);
    fetch(&env, now() + chrono::Duration::hours(1)).await;
    assert_eq!(
        (1..=10)
            .map(|n| hits.get(&format!("articles/busy-{n}.html")))
            .sum::<usize>(),
        10,
        "no page is read twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_keep_merging_stories_stop_at_the_page_budget_and_say_so() {
    let (http, hits) = spawn_http().await;
    let config = busy_config(&http, "")
        .replace("max_stories = 3", "max_stories = 2")
        .replace("busy.xml", "chain.xml");
    let env = open(&config, "");
    let report = fetch(&env, now()).await;
    let text = report.to_string();
    // Each page merges its story into story 1, so the selection keeps taking the next
    // story: 4 pages a story x 2 stories are read, then the budget is spent.
    let page_hits: Vec<usize> = (1..=10)
        .map(|n| hits.get(&format!("articles/chain-{n}.html")))
        .collect();
    assert_eq!(page_hits, vec![1, 1, 1, 1, 1, 1, 1, 1, 0, 0], "{text}");
    assert_eq!(report.pages.unread, 1, "{text}");
    assert!(
        text.contains("1 chosen stories keep their feed's text"),
        "{text}"
    );
    let digest = cycle::next_digest(&env.app, now())
        .expect("select")
        .expect("digest");
    let titles: Vec<&str> = digest.stories().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Chained Story 1 on Transit Funding Talks",
            "Chained Story 9 on Transit Funding Talks"
        ]
    );
}

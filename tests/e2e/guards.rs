//! Network guards (issue #11): a configured feed must not redirect feedbrief into the
//! internal network, an HTTP proxy must not carry article requests past the private-address
//! check, and the web endpoints must shed slow, silent and surplus clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use feedbrief::app::App;
use feedbrief::cycle::{self, FeedOutcome};
use tokio_util::sync::CancellationToken;

use super::{now, smtp_transport, spawn_smtp};

/// A feed that only the internal network should see.
const INTERNAL: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Intranet</title>\
<item><title>INTERNAL ONLY: Payroll Export Ready</title><link>https://intranet.example.org/payroll</link>\
<guid>internal-1</guid><pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate>\
<description>Salaries of every employee are attached. This must never leave the building.</description></item>\
</channel></rss>";

/// A public feed, reached through a redirect between public-looking names.
const PUBLIC: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Public</title>\
<item><title>Councils Share Their Budget Playbooks</title><link>https://news.example.org/budgets</link>\
<guid>public-1</guid><pubDate>Fri, 27 Nov 2026 09:00:00 GMT</pubDate>\
<description>Councils across the region now publish how they build a budget. Residents can follow every step.</description></item>\
</channel></rss>";

/// The public-looking feed host; only inside these tests does it resolve to 127.0.0.1.
const FEED_HOST: &str = "feeds.example.com";

/// A server on loopback playing both the public feed host and an internal service.
/// Returns its port and how often the internal feed was requested.
async fn spawn_redirecting() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let internal_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&internal_hits);
    let redirect = |status: StatusCode, to: String| {
        move || {
            let to = to.clone();
            async move { (status, [(header::LOCATION, to)]).into_response() }
        }
    };
    let app = axum::Router::new()
        .route(
            "/moved.xml",
            get(redirect(
                StatusCode::MOVED_PERMANENTLY,
                format!("http://127.0.0.1:{port}/internal.xml"),
            )),
        )
        .route(
            "/by-name.xml",
            get(redirect(
                StatusCode::FOUND,
                format!("http://localhost:{port}/internal.xml"),
            )),
        )
        .route(
            "/metadata.xml",
            get(redirect(
                StatusCode::PERMANENT_REDIRECT,
                "http://169.254.169.254/latest/meta-data/".to_string(),
            )),
        )
        .route(
            "/hop.xml",
            get(redirect(
                StatusCode::MOVED_PERMANENTLY,
                format!("http://{FEED_HOST}:{port}/public.xml"),
            )),
        )
        .route(
            "/public.xml",
            get(|| async { ([(header::CONTENT_TYPE, "application/rss+xml")], PUBLIC) }),
        )
        .route(
            "/internal.xml",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { ([(header::CONTENT_TYPE, "application/rss+xml")], INTERNAL) }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, internal_hits)
}

fn redirect_config(port: u16, transport: &str, allow_private: bool) -> String {
    let feed = |name: &str, path: &str| {
        format!("[[feed]]\nname = \"{name}\"\nurl = \"http://{FEED_HOST}:{port}/{path}\"\n")
    };
    format!(
        "[brief]\nname = \"Guarded Brief\"\nfrom = \"brief@example.org\"\ndata_dir = \"data\"\n\
         [fetch]\ntimeout = \"5s\"\narticles = false\nallow_private_addresses = {allow_private}\n\
         [delivery]\n{transport}\n[members]\nfile = \"members.csv\"\n{}{}{}{}",
        feed("Moved Inside", "moved.xml"),
        feed("Named Inside", "by-name.xml"),
        feed("Metadata", "metadata.xml"),
        feed("Hops Publicly", "hop.xml"),
    )
}

/// Opens an app whose fetcher resolves `FEED_HOST` to the loopback server.
fn open_resolving(config: &str, port: u16) -> (tempfile::TempDir, Arc<App>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("feeds.toml"), config).expect("config");
    std::fs::write(
        dir.path().join("members.csv"),
        "email,name\nann@example.org,Ann Lee\n",
    )
    .expect("members");
    let mut config = feedbrief::config::load(&dir.path().join("feeds.toml")).expect("config");
    config.fetch.resolve = vec![(FEED_HOST.to_string(), ([127, 0, 0, 1], port).into())];
    let app = App::open(config).expect("app");
    (dir, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_redirect_into_the_internal_network_is_refused_and_nothing_of_it_is_kept() {
    let (port, internal_hits) = spawn_redirecting().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let (_dir, app) = open_resolving(
        &redirect_config(port, &smtp_transport(smtp.port), false),
        port,
    );
    let report = cycle::once(&app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle runs");
    let text = report.to_string();
    let feed = |name: &str| {
        report
            .fetch
            .feeds
            .iter()
            .find(|f| f.name == name)
            .cloned()
            .expect("feed in report")
    };

    // Each redirect into loopback or the metadata address is a clear feed error.
    for (name, target) in [
        (
            "Moved Inside",
            format!("http://127.0.0.1:{port}/internal.xml"),
        ),
        (
            "Named Inside",
            format!("http://localhost:{port}/internal.xml"),
        ),
        (
            "Metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
    ] {
        let result = feed(name);
        let FeedOutcome::Failed(why) = &result.outcome else {
            panic!("{name} must fail: {text}");
        };
        let why = why.to_string();
        assert!(
            why.contains("refused") && why.contains(&target),
            "{name}: {why}"
        );
        assert!(why.contains("allow_private_addresses"), "{name}: {why}");
        assert_eq!(result.moved_to, None, "{name}: {text}");
    }
    // The internal server never saw a request, and no 301 became the feed's address.
    assert_eq!(internal_hits.load(Ordering::SeqCst), 0);
    for path in ["moved.xml", "by-name.xml", "metadata.xml"] {
        let state = app
            .store()
            .feed_state(&format!("http://{FEED_HOST}:{port}/{path}"))
            .expect("db")
            .expect("feed row");
        assert_eq!(state.fetch_url, None, "{path}");
        assert!(
            state.last_error.is_some_and(|e| e.contains("refused")),
            "{path}"
        );
    }

    // A redirect between public-looking names is still followed and remembered.
    let hop = feed("Hops Publicly");
    assert!(
        matches!(hop.outcome, FeedOutcome::Fetched { new: 1, .. }),
        "{text}"
    );
    assert_eq!(
        hop.moved_to.as_deref(),
        Some(format!("http://{FEED_HOST}:{port}/public.xml").as_str())
    );

    // Only the public story is stored and mailed.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{text}");
    let mail = super::decoded(&mails[0].data);
    assert!(
        mail.contains("Councils Share Their Budget Playbooks"),
        "{mail}"
    );
    assert!(!mail.contains("Payroll"), "{mail}");
    let entries = app.store().counts().expect("counts").entries;
    assert_eq!(entries, 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_redirect_into_the_internal_network_is_followed_when_private_addresses_are_allowed() {
    let (port, internal_hits) = spawn_redirecting().await;
    let (_dir, app) = open_resolving(&redirect_config(port, "", true), port);
    let report = cycle::fetch_all(&app, now(), true, &CancellationToken::new())
        .await
        .expect("fetch");
    let moved = report
        .feeds
        .iter()
        .find(|f| f.name == "Moved Inside")
        .expect("feed");
    assert!(
        matches!(moved.outcome, FeedOutcome::Fetched { new: 1, .. }),
        "{:?}",
        moved.outcome
    );
    assert!(internal_hits.load(Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_configured_on_loopback_may_redirect_within_it() {
    let (port, internal_hits) = spawn_redirecting().await;
    // The operator configured a loopback URL: where it redirects inside is theirs too.
    let config = format!(
        "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\ndata_dir = \"data\"\n\
         [fetch]\narticles = false\n\
         [[feed]]\nname = \"Local\"\nurl = \"http://127.0.0.1:{port}/by-name.xml\"\n"
    );
    let (_dir, app) = open_resolving(&config, port);
    let report = cycle::fetch_all(&app, now(), true, &CancellationToken::new())
        .await
        .expect("fetch");
    assert!(
        matches!(report.feeds[0].outcome, FeedOutcome::Fetched { new: 1, .. }),
        "{:?}",
        report.feeds[0].outcome
    );
    assert_eq!(internal_hits.load(Ordering::SeqCst), 1);
}

/// A forward HTTP proxy on loopback that serves `feed` for any URL ending in `feed.xml`
/// and an "internal" page for anything else. Returns its port and the request lines seen.
fn spawn_proxy(feed: String) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            // The rest of the head, bounded by the read timeout.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            log.lock().expect("lock").push(first.trim().to_string());
            let body = if first.contains("feed.xml") {
                feed.clone()
            } else {
                "<html><body><p>INTERNAL ADMIN PAGE: database passwords.</p></body></html>"
                    .to_string()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn article_pages_never_go_through_a_proxy_that_would_resolve_private_names() {
    let published = chrono::Utc::now().to_rfc2822();
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Proxied</title>\
         <item><title>Story Linking Inside</title><link>http://localhost:1/admin</link>\
         <guid>inside-1</guid><pubDate>{published}</pubDate>\
         <description>A story whose link leads into the machine itself. Its page must not be read.</description></item>\
         </channel></rss>"
    );
    let (proxy_port, seen) = spawn_proxy(feed);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[fetch]\narticles = \"all\"\ntimeout = \"5s\"\n\
         [[feed]]\nname = \"Proxied\"\nurl = \"http://feeds.example.com/feed.xml\"\n",
    )
    .expect("config");
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(&config)
        .arg("fetch")
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("https_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .expect("run feedbrief");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen = seen.lock().expect("lock").clone();
    // The operator's proxy still carries the configured feed ...
    assert_eq!(
        seen.first().map(String::as_str),
        Some("GET http://feeds.example.com/feed.xml HTTP/1.1"),
        "{seen:?}\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("Proxied: 1 new of 1"), "{stdout}\n{stderr}");
    // ... but never the article page, which would have reached the machine's own port 1.
    assert_eq!(seen.len(), 1, "{seen:?}\n{stdout}\n{stderr}");
}

/// `feedbrief serve` running with extra `[web]` keys; killed when dropped.
struct Served {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts the binary and waits (at most 20 s) until `/healthz` answers.
    fn start(web: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("feeds.toml");
        // A port picked by the OS, freed again for the server to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        std::fs::write(
            &config,
            format!(
                "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[web]\nlisten = \"127.0.0.1:{port}\"\n{web}\n"
            ),
        )
        .expect("config");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let served = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while served.healthz(Duration::from_secs(2)).is_none() {
            assert!(Instant::now() < deadline, "serve never answered /healthz");
            std::thread::sleep(Duration::from_millis(100));
        }
        served
    }

    fn connect(&self) -> std::net::TcpStream {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect")
    }

    /// `GET /healthz` on a new connection; the body when it answers within `wait`.
    fn healthz(&self, wait: Duration) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(wait)).ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.contains("\"status\":\"ok\"").then_some(body)
    }

    /// Open file descriptors of the server process.
    fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("/proc/PID/fd")
            .count()
    }
}

/// Reads until the server closes the connection; how long that took, or `None` when it
/// was still open after `wait`.
fn closed_within(stream: &mut std::net::TcpStream, wait: Duration) -> Option<Duration> {
    use std::io::Read;
    let start = Instant::now();
    stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            // A 408 or similar before closing is fine; keep reading to the close.
            Ok(_) if start.elapsed() < wait => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(start.elapsed());
            }
            _ => return None,
        }
    }
}

#[test]
fn web_server_disconnects_clients_that_send_half_a_request_or_nothing() {
    use std::io::Write;
    let served = Served::start("header_timeout = \"1s\"\nidle_timeout = \"2s\"");
    let mut half = served.connect();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut silent = served.connect();
    let mut dripping = served.connect();
    dripping
        .write_all(
            b"POST /unsubscribe/1.x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\nList-",
        )
        .expect("write");
    for (what, stream, limit) in [
        ("half a request", &mut half, 1),
        ("nothing", &mut silent, 1),
        ("half a body", &mut dripping, 2),
    ] {
        let took = closed_within(stream, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("a client sending {what} was still connected after 10 s"));
        assert!(
            took < Duration::from_secs(limit + 3),
            "a client sending {what} was disconnected only after {took:?}"
        );
    }
    // The server itself is fine.
    assert!(served.healthz(Duration::from_secs(5)).is_some());
}

#[test]
fn web_server_holds_at_most_max_connections_and_answers_again_once_idle_ones_time_out() {
    let served = Served::start("header_timeout = \"1s\"\nmax_connections = 4");
    let before = served.open_files();
    // Below the cap, requests are answered at once, idle connections or not.
    let idle: Vec<_> = (0..2).map(|_| served.connect()).collect();
    assert!(served.healthz(Duration::from_secs(3)).is_some());
    // Far more idle connections than the cap: the server keeps at most the cap open.
    let flood: Vec<_> = (0..20).map(|_| served.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = served.open_files();
    assert!(
        during <= before + 4,
        "{during} open files with 22 idle clients (was {before}; cap 4)"
    );
    // Once they time out (1 s each, four at a time), requests are answered again.
    let answered = served.healthz(Duration::from_secs(30));
    assert!(
        answered.is_some(),
        "no answer after the idle clients timed out"
    );
    assert!(served.open_files() <= before + 4);
    drop((idle, flood));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_body_over_web_max_body_is_refused_with_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[web]\nmax_body = \"16KB\"\n",
    )
    .expect("config");
    let config = feedbrief::config::load(&dir.path().join("feeds.toml")).expect("config");
    let app = App::open(config).expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(feedbrief::web::serve(
        app,
        listener,
        CancellationToken::new(),
    ));
    feedbrief::fetch::install_crypto_provider();
    let client = reqwest::Client::new();
    let post = |len: usize| {
        client
            .post(format!("http://{addr}/unsubscribe/1.00"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "List-Unsubscribe=One-Click&pad={}",
                "x".repeat(len)
            ))
            .send()
    };
    // Under the cap the request is read (and the bad token gets its 404) ...
    assert_eq!(post(1000).await.expect("post").status(), 404);
    // ... over it, 413 without reading on.
    assert_eq!(post(100_000).await.expect("post").status(), 413);
}

//! Hostile and broken feeds: a real HTTP server on loopback that misbehaves in every way
//! issue #5 lists. The cycle must finish within its bound, memory must stay bounded, the
//! good feeds' stories must arrive, and each fault must be reported with a clear reason.

use std::io::Write;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use feedbrief::cycle::{self, FeedOutcome, FetchReport};
use tokio_util::sync::CancellationToken;

use super::{fetch, now, open};

const GOOD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Good Feed</title>\
<item><title>Good Story Arrives Despite the Noise</title><link>https://good.example.org/1</link>\
<guid>good-1</guid><pubDate>Fri, 27 Nov 2026 09:00:00 GMT</pubDate>\
<description>Good stories still arrive when other feeds misbehave in every way. The cycle keeps going and reports each fault.</description></item>\
</channel></rss>";

fn rss_titled(title: &[u8]) -> Vec<u8> {
    let mut v =
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>".to_vec();
    v.extend_from_slice(title);
    v.extend_from_slice(
        b"</title><item><title>x</title><link>https://enc.example.org/1</link><guid>enc-1</guid></item></channel></rss>",
    );
    v
}

/// The misbehaving server. Returns its base URL.
async fn spawn_hostile() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let b = base.clone();
    // 32 MiB of zeros gzips to about 32 KiB: a small bomb against a 1 MiB cap.
    let bomb = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..32 {
            gz.write_all(&zeros).expect("gzip");
        }
        gz.finish().expect("gzip")
    };
    let app = axum::Router::new()
        .route("/good.xml", get(|| async { ([(header::CONTENT_TYPE, "application/rss+xml")], GOOD) }))
        .route("/never.xml", get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "too late"
        }))
        .route("/drip.xml", get(|| async {
            // One byte a second, forever.
            let stream = futures::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"<")), ()))
            });
            ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(stream))
        }))
        .route("/error.xml", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/huge.xml", get(|| async {
            // Ten gigabytes announced, an endless stream sent.
            let stream = futures::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 64 * 1024]))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "application/rss+xml")
                .header(header::CONTENT_LENGTH, "10737418240")
                .body(Body::from_stream(stream))
                .expect("response")
        }))
        .route("/endless.xml", get(|| async {
            // No length at all: the cap must stop it while reading.
            let stream = futures::stream::repeat_with(|| {
                Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 64 * 1024]))
            });
            ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(stream))
        }))
        .route("/bomb.xml", get(move || {
            let bomb = bomb.clone();
            async move {
                ([(header::CONTENT_TYPE, "application/rss+xml"), (header::CONTENT_ENCODING, "gzip")], bomb)
            }
        }))
        .route("/loop-a.xml", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop-b.xml")]) }))
        .route("/loop-b.xml", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop-a.xml")]) }))
        .route("/ftp.xml", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "ftp://files.example.org/feed.xml")]) }))
        .route("/page.html", get(|| async {
            (
                [(header::CONTENT_TYPE, "text/html")],
                "<!DOCTYPE html><html><head><title>Blog</title>\
                 <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/good.xml\"></head><body>Hi</body></html>",
            )
        }))
        .route("/moved.xml", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/new-home.xml")]) }))
        .route("/new-home.xml", get(|| async {
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                GOOD.replace("Good Feed", "New Home").replace("good-1", "home-1").replace("Good Story", "Relocated Story"),
            )
        }))
        .route("/gone.xml", get(|| async { (StatusCode::GONE, "gone") }))
        .route("/cp1252.xml", get(|| async {
            // Windows-1252 bytes in a document that claims UTF-8.
            ([(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")], rss_titled(b"Caf\xe9 Society \x93Quoted\x94"))
        }))
        .route("/utf16.xml", get(|| async {
            let text = String::from_utf8(rss_titled("Ünïcode Sixteen".as_bytes()))
                .expect("utf8")
                .replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
            let mut body = vec![0xff, 0xfe];
            for unit in text.encode_utf16() {
                body.extend_from_slice(&unit.to_le_bytes());
            }
            ([(header::CONTENT_TYPE, "application/xml")], body)
        }))
        .route("/wrongtype.xml", get(|| async {
            ([(header::CONTENT_TYPE, "image/png")], GOOD.replace("good-1", "wrongtype-1").replace("Good Story", "Mislabelled Story"))
        }))
        .route("/notype.xml", get(|| async {
            Response::builder()
                .body(Body::from(GOOD.replace("good-1", "notype-1").replace("Good Story", "Untyped Story")))
                .expect("response")
        }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    b
}

fn feed(name: &str, url: &str) -> String {
    format!("\n[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn outcome<'a>(r: &'a FetchReport, name: &str) -> &'a FeedOutcome {
    &r.feeds
        .iter()
        .find(|f| f.name == name)
        .expect("feed in report")
        .outcome
}

fn failed_with(r: &FetchReport, name: &str, needle: &str) {
    match outcome(r, name) {
        FeedOutcome::Failed(why) => assert!(
            why.to_string().contains(needle),
            "{name}: {why:?} lacks {needle:?}\n{r}"
        ),
        other => panic!("{name}: expected a failure mentioning {needle:?}, got {other:?}\n{r}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_bounded_and_reported_while_good_feeds_arrive() {
    let base = spawn_hostile().await;
    let names = [
        ("Good", "good.xml"),
        ("Never", "never.xml"),
        ("Drip", "drip.xml"),
        ("Error", "error.xml"),
        ("Huge", "huge.xml"),
        ("Endless", "endless.xml"),
        ("Bomb", "bomb.xml"),
        ("Loop", "loop-a.xml"),
        ("Ftp", "ftp.xml"),
        ("Page", "page.html"),
        ("Moved", "moved.xml"),
        ("Gone", "gone.xml"),
        ("Cp1252", "cp1252.xml"),
        ("Utf16", "utf16.xml"),
        ("WrongType", "wrongtype.xml"),
        ("NoType", "notype.xml"),
    ];
    let feeds: String = names
        .iter()
        .map(|(n, p)| feed(n, &format!("{base}/{p}")))
        .collect();
    let config = format!(
        "[brief]\nname = \"Faults\"\nfrom = \"b@example.org\"\nfirst_window = \"3650d\"\n\
         [fetch]\ntimeout = \"3s\"\nconnect_timeout = \"2s\"\nmax_body = \"1MB\"\narticles = false\n{feeds}"
    );
    let env = open(&config, "");
    let rss_before = rss_kib();
    let started = Instant::now();
    let r = fetch(&env, now()).await;
    let elapsed = started.elapsed();
    let grown_mib = rss_kib().saturating_sub(rss_before) / 1024;
    eprintln!("{r}\nfault cycle: {elapsed:?}, RSS grew {grown_mib} MiB");

    // Bounded in time (every request is capped at 3 s, and they run concurrently) and in
    // memory (1 MiB body cap; the 10 GB and bomb bodies never materialise).
    assert!(elapsed < Duration::from_secs(20), "cycle took {elapsed:?}");
    assert!(grown_mib < 200, "RSS grew by {grown_mib} MiB");

    assert!(
        matches!(outcome(&r, "Good"), FeedOutcome::Fetched { new: 1, .. }),
        "{r}"
    );
    failed_with(&r, "Never", "timed out");
    failed_with(&r, "Drip", "timed out");
    failed_with(&r, "Error", "HTTP 500");
    failed_with(&r, "Huge", "larger than");
    failed_with(&r, "Endless", "larger than");
    failed_with(&r, "Bomb", "larger than");
    failed_with(&r, "Loop", "redirect");
    failed_with(&r, "Ftp", "non-HTTP");
    failed_with(&r, "Page", "HTML page, not a feed");
    failed_with(&r, "Page", &format!("{base}/good.xml"));
    failed_with(&r, "Gone", "410");
    for name in ["Cp1252", "Utf16", "WrongType", "NoType"] {
        assert!(
            matches!(outcome(&r, name), FeedOutcome::Fetched { .. }),
            "{name}: {r}"
        );
    }
    let moved = r.feeds.iter().find(|f| f.name == "Moved").expect("moved");
    assert!(
        matches!(moved.outcome, FeedOutcome::Fetched { new: 1, .. }),
        "{r}"
    );
    assert_eq!(
        moved.moved_to.as_deref(),
        Some(format!("{base}/new-home.xml").as_str())
    );
    assert!(r.to_string().contains("moved permanently"));
    let state = |name: &str| {
        env.app
            .store()
            .feed_state(&format!("{base}/{name}"))
            .expect("db")
            .expect("state")
    };
    assert_eq!(
        state("moved.xml").fetch_url.as_deref(),
        Some(format!("{base}/new-home.xml").as_str())
    );

    // Next cycle: the moved feed is fetched at its new home, the gone one not at all.
    let r2 = fetch(&env, now() + chrono::Duration::hours(1)).await;
    assert!(
        matches!(outcome(&r2, "Gone"), FeedOutcome::Skipped(why) if why.contains("410")),
        "{r2}"
    );
    assert!(
        r2.feeds
            .iter()
            .find(|f| f.name == "Moved")
            .is_some_and(|f| f.moved_to.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_feeds_back_off_and_are_listed_as_needing_attention() {
    let base = spawn_hostile().await;
    let config = format!(
        "[brief]\nname = \"Faults\"\nfrom = \"b@example.org\"\neditor = \"editor@example.org\"\n\
         [fetch]\ninterval = \"30m\"\ntimeout = \"3s\"\nattention_after = \"12h\"\narticles = false\n{}{}",
        feed("Error", &format!("{base}/error.xml")),
        feed("Good", &format!("{base}/good.xml"))
    );
    let env = open(&config, "");
    let cancel = CancellationToken::new();
    // The daemon's view (force = false): a failing feed waits longer after each failure.
    let mut t = now();
    let mut waits = Vec::new();
    for _ in 0..4 {
        cycle::fetch_all(&env.app, t, false, &cancel)
            .await
            .expect("fetch");
        let next = env
            .app
            .store()
            .feed_state(&format!("{base}/error.xml"))
            .expect("db")
            .expect("state")
            .next_fetch_at
            .expect("scheduled");
        waits.push((next - t).num_minutes());
        t = next;
    }
    assert_eq!(waits, vec![30, 60, 120, 240], "exponential backoff");
    let not_due = cycle::fetch_all(&env.app, t - chrono::Duration::minutes(1), false, &cancel)
        .await
        .expect("fetch");
    assert!(matches!(outcome(&not_due, "Error"), FeedOutcome::NotDue));
    // After 12 h of failures the feed needs attention, in the report and in the cycle.
    let later = now() + chrono::Duration::hours(13);
    let r = cycle::fetch_all(&env.app, later, true, &cancel)
        .await
        .expect("fetch");
    let text = r.to_string();
    assert!(text.contains("feeds needing attention: 1"), "{text}");
    assert!(text.contains("failing since"), "{text}");
    let cycle = cycle::once(&env.app, later, true, &cancel)
        .await
        .expect("cycle");
    assert!(cycle.attention_mailed, "{cycle}");
    let again = cycle::once(&env.app, later + chrono::Duration::hours(2), true, &cancel)
        .await
        .expect("cycle");
    assert!(!again.attention_mailed, "at most once a day");
    let mails: Vec<String> = std::fs::read_dir(env.dir.path().join("data/outbox"))
        .expect("outbox")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("attention-"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
}

#[test]
fn next_fetch_time_honours_ttl_max_age_retry_after_and_caps_at_a_day() {
    let t = now();
    let m = |mins: i64| t + chrono::Duration::minutes(mins);
    let interval = Duration::from_secs(1800);
    assert_eq!(
        cycle::next_fetch_at(t, interval, None, None, 0, None),
        m(30)
    );
    assert_eq!(
        cycle::next_fetch_at(t, interval, Some(Duration::from_secs(7200)), None, 0, None),
        m(120)
    );
    assert_eq!(
        cycle::next_fetch_at(t, interval, None, Some(Duration::from_secs(60)), 0, None),
        m(30),
        "max-age never shortens"
    );
    assert_eq!(
        cycle::next_fetch_at(
            t,
            interval,
            Some(Duration::from_secs(30 * 86_400)),
            None,
            0,
            None
        ),
        m(24 * 60)
    );
    assert_eq!(
        cycle::next_fetch_at(t, interval, None, None, 20, None),
        m(24 * 60),
        "backoff capped at a day"
    );
    assert_eq!(
        cycle::next_fetch_at(
            t,
            interval,
            None,
            None,
            1,
            Some(Duration::from_secs(5 * 3600))
        ),
        m(300)
    );
}

//! Runs that overlap: two `once` started together on one data dir, two apps delivering from
//! one database, and a data dir whose database was lost. Nobody is mailed twice, nobody
//! is missed, and what cannot go on says what to do.

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use feedbrief::app::App;
use feedbrief::cycle;
use feedbrief::mail;
use feedbrief::mail::transport::Sender;
use tokio_util::sync::CancellationToken;

use super::{config_text, open, smtp_transport, spawn_http, spawn_smtp};

fn members(n: usize) -> String {
    (0..n)
        .map(|i| format!("m{i:03}@example.org,Member {i}\n"))
        .collect()
}

/// The shared config, on the real clock (the fixture stories must still count as new).
fn real_clock(config: String) -> String {
    config.replace(
        "data_dir = \"data\"",
        "data_dir = \"data\"\nfirst_window = \"3650d\"",
    )
}

fn once(config: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(config)
        .arg("once")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn feedbrief")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Messages per recipient.
fn counts(mails: &[super::Mail]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in mails {
        for to in &m.to {
            *counts.entry(to.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Two `once` on one data dir, started together or a few milliseconds apart (as the
/// hostile test found: every member mailed twice). The data dir's lock lets one work; the
/// other says who holds it, or, started after the first finished, finds nothing owed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_onces_started_together_mail_every_member_exactly_once() {
    const MEMBERS: usize = 300;
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    for offset_ms in [0u64, 40] {
        let before = smtp.mails().len();
        // A fresh data dir each round: both are first-ever runs, racing to create it.
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("feeds.toml");
        std::fs::write(
            &config,
            real_clock(config_text(&http, &smtp_transport(smtp.port), "")),
        )
        .expect("config");
        std::fs::write(dir.path().join("members.csv"), members(MEMBERS)).expect("members");
        let first = once(&config);
        tokio::time::sleep(Duration::from_millis(offset_ms)).await;
        let second = once(&config);
        let (a, b) = (
            first.wait_with_output().expect("first"),
            second.wait_with_output().expect("second"),
        );
        let mails = smtp.mails()[before..].to_vec();
        let counts = counts(&mails);
        let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            doubled.is_empty(),
            "offset {offset_ms} ms: mailed twice: {} members (e.g. {:?})\n{}\n{}",
            doubled.len(),
            doubled.first(),
            text(&a),
            text(&b)
        );
        assert_eq!(
            counts.len(),
            MEMBERS,
            "offset {offset_ms} ms: every member gets the digest\n{}\n{}",
            text(&a),
            text(&b)
        );
        for o in [&a, &b] {
            let out = text(o);
            assert!(
                !out.contains("already exists") && !out.contains("File exists"),
                "a first-ever run tripped over the other: {out}"
            );
            // Each either did the work or was turned away with a clear message.
            assert!(
                o.status.success() || out.contains("another feedbrief is using the data directory"),
                "{out}"
            );
        }
    }
}

/// Two apps on one database (as two daemons on one shared database would be: no data-dir
/// lock between them) deliver the same digest at once over a slow relay: every member is
/// claimed by one of them only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_delivering_from_one_database_never_double_a_member() {
    const MEMBERS: usize = 60;
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    smtp.delay_ms.store(5, Ordering::SeqCst);
    let env = open(
        &config_text(&http, &smtp_transport(smtp.port), ""),
        &members(MEMBERS),
    );
    let now = super::now();
    cycle::import_members(&env.app, now).expect("members");
    super::fetch(&env, now).await;
    let digest = cycle::next_digest(&env.app, now)
        .expect("select")
        .expect("a digest");
    cycle::record_digest(&env.app, &digest, now).expect("record");
    let other = App::open(env.app.config.clone()).expect("second app");
    let deliver = |app: Arc<App>| async move {
        let sender = Arc::new(
            Sender::new(
                &app.config.delivery.transport,
                app.config.delivery.connections,
                app.config.delivery.timeout,
            )
            .expect("sender"),
        );
        let report = mail::deliver_pending(&app, &sender, &CancellationToken::new())
            .await
            .expect("deliver");
        sender.close().await;
        report
    };
    let (a, b) = tokio::join!(
        tokio::spawn(deliver(Arc::clone(&env.app))),
        tokio::spawn(deliver(other))
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(a.sent + b.sent, MEMBERS, "{a:?} {b:?}");
    let counts = counts(&smtp.mails());
    assert_eq!(counts.len(), MEMBERS);
    assert!(counts.values().all(|&n| n == 1), "someone was mailed twice");
}

/// A database emptied (0 bytes) after earlier runs is refused with what to do; nothing is
/// mailed, and no message file or Message-ID is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_database_stops_once_with_what_to_do_and_mails_no_one() {
    let (http, _) = spawn_http().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        real_clock(config_text(&http, "transport = \"outbox\"", "")),
    )
    .expect("config");
    std::fs::write(dir.path().join("members.csv"), members(3)).expect("members");
    let first = once(&config).wait_with_output().expect("first");
    assert!(first.status.success(), "{}", text(&first));
    let data = dir.path().join("data");
    let outbox: Vec<_> = std::fs::read_dir(data.join("outbox"))
        .expect("outbox")
        .collect();
    assert_eq!(outbox.len(), 3);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("feedbrief.sqlite{suffix}")));
    }
    std::fs::write(data.join("feedbrief.sqlite"), b"").expect("empty the database");
    let second = once(&config).wait_with_output().expect("second");
    let out = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}");
    assert!(out.contains("Restore the database from a backup"), "{out}");
    assert_eq!(
        std::fs::read_dir(data.join("outbox"))
            .expect("outbox")
            .count(),
        3,
        "nothing more is written"
    );
    assert_eq!(
        std::fs::metadata(data.join("feedbrief.sqlite"))
            .expect("db")
            .len(),
        0,
        "the emptied file is left as it was, for the operator to restore"
    );
}

/// A data dir that cannot be written is the machine's problem, not a usage error: exit 1
/// with the directory named, for `once` and `serve` alike.
#[test]
fn an_unwritable_data_dir_is_a_runtime_failure_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    // Under /proc nothing can be created, even by root (CI runs as root, which ignores
    // a directory's mode bits).
    std::fs::write(
        &config,
        config_text("http://127.0.0.1:9", "transport = \"outbox\"", "").replace(
            "data_dir = \"data\"",
            "data_dir = \"/proc/feedbrief-test/data\"",
        ),
    )
    .expect("config");
    for command in ["once", "serve"] {
        let out = Command::new(env!("CARGO_BIN_EXE_feedbrief"))
            .arg("--config")
            .arg(&config)
            .arg(command)
            .output()
            .expect("run");
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{command}: {all}");
        assert!(
            all.contains("/proc/feedbrief-test/data"),
            "{command}: {all}"
        );
    }
}

/// A story stored while a digest is being chosen (the daemon's interval fetch beside a
/// cycle) was skipped for good when the digest's high-water mark was read at recording
/// time; it is a candidate for the next digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_stored_between_choosing_and_recording_a_digest_is_not_skipped() {
    let (http, _) = spawn_http().await;
    let env = open(&config_text(&http, "transport = \"outbox\"", ""), "");
    let now = super::now();
    super::fetch(&env, now).await;
    let digest = cycle::next_digest(&env.app, now)
        .expect("select")
        .expect("a digest");
    let title = "Late-Arriving Story About Snow Budgets";
    {
        let store = env.app.store();
        let feed = store
            .sync_feeds(&[(format!("{http}/wordpress.xml"), "Thought Leaders".into())])
            .expect("feeds")
            .remove(0);
        let entry = feedbrief::store::NewEntry {
            key: "late-1".into(),
            url: Some("https://late.example.org/snow".into()),
            title: title.into(),
            author: None,
            published_at: Some(now),
            summary: Some("A story that arrived while the digest was chosen.".into()),
            source: None,
            paywalled: false,
            from_page: false,
            page_wanted: false,
            image: None,
        };
        assert_eq!(
            store
                .insert_entries(feed.id, &[entry], now)
                .expect("insert"),
            1
        );
    }
    cycle::record_digest(&env.app, &digest, now).expect("record");
    let later = now + chrono::Duration::hours(1);
    let next = cycle::next_digest(&env.app, later)
        .expect("select")
        .expect("the late story makes a digest");
    assert!(
        next.stories().any(|s| s.title == title),
        "the late story is a candidate"
    );
}

/// A slow disk (the database held by another thread for as long as the test likes) must
/// not stall the web endpoints: the requests that need the database wait on blocking
/// threads, and one that does not is answered meanwhile, even with one async worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_held_database_never_stalls_the_web_endpoints() {
    let env = open(
        &config_text("http://127.0.0.1:9", "transport = \"outbox\"", ""),
        "",
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(feedbrief::web::serve(
        Arc::clone(&env.app),
        listener,
        CancellationToken::new(),
    ));
    feedbrief::fetch::install_crypto_provider();
    let client = reqwest::Client::new();
    // Another thread holds the database until told to let go (at most 20 s).
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held, is_held) = std::sync::mpsc::channel::<()>();
    let app = Arc::clone(&env.app);
    let holder = std::thread::spawn(move || {
        let _store = app.store();
        held.send(()).expect("held");
        let _ = released.recv_timeout(Duration::from_secs(20));
    });
    is_held.recv().expect("the database is held");
    // Requests that need the database, each waiting for it.
    let waiting: Vec<_> = ["/healthz", "/metrics", "/archive", "/unsubscribe/1.00"]
        .iter()
        .map(|path| tokio::spawn(client.get(format!("{base}{path}")).send()))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One that does not is answered while the database is still held.
    let answered = tokio::time::timeout(
        Duration::from_secs(10),
        client.get(format!("{base}/archive/not-a-number")).send(),
    )
    .await;
    let _ = release.send(());
    holder.join().expect("holder");
    let answered = answered.expect("the web endpoints stalled behind the database");
    assert_eq!(answered.expect("response").status(), 404);
    for w in waiting {
        let r = w.await.expect("task").expect("response");
        assert!(
            r.status().is_success() || r.status() == 404,
            "{}",
            r.status()
        );
    }
}

//! Review before sending around the slot (issue #15): the real binary killed with
//! SIGKILL between an approved draft and its slot, then restarted, sends the approved
//! issue exactly once to each member; and the daemon on a paused clock builds the draft
//! and mails the editors at `slot - review_lead`, not before, and sends nothing to
//! members until the slot.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use feedbrief::app::{App, SharedApp};
use feedbrief::cycle::drafts::{self, Decision, Edited};
use feedbrief::daemon::{self, Clock, Options};
use feedbrief::review;
use tokio_util::sync::CancellationToken;

use super::super::{decoded, header};
use super::{SCHEDULE, at, member_mails, review_cli, review_config, review_env_with};

/// `feedbrief run` on the brief in `dir`, its log in `dir/run-N.log`.
fn spawn_run(dir: &Path, n: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("run-{n}.log"))).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn feedbrief run")
}

fn log_of(dir: &Path, n: usize) -> String {
    std::fs::read_to_string(dir.join(format!("run-{n}.log"))).unwrap_or_default()
}

/// Waits (bounded by `limit`) until `ready`, else panics with `what` and `log`.
async fn wait_until(
    what: &str,
    limit: Duration,
    log: impl Fn() -> String,
    ready: impl Fn() -> bool,
) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "waited {limit:?} for {what}:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_draft_survives_kill_9_of_the_real_daemon_and_the_restart_sends_it_once() {
    // The slot: the first whole minute at least 40 s away, on the wall clock the binary
    // runs by; the draft is due at once (review_lead 10 minutes).
    let now = Utc::now();
    let slot = (now + chrono::Duration::seconds(100))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("a whole minute");
    assert!(slot - now >= chrono::Duration::seconds(40), "{now} {slot}");
    let local = slot.with_timezone(&chrono_tz::America::New_York);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let (env, smtp) = review_env_with(|http, smtp_port| {
        format!(
            "{}\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
            review_config(http, smtp_port, "hold")
                .replace(
                    SCHEDULE,
                    &format!(
                        "schedule = \"{} {} * * *\"\nreview_lead = \"10m\"",
                        local.minute(),
                        local.hour()
                    ),
                )
                // The binary runs on the real clock; the fixture stories must still be new.
                .replace(
                    "data_dir = \"data\"",
                    "data_dir = \"data\"\nfirst_window = \"3650d\"",
                )
        )
    })
    .await;
    let dir = env.dir.path().to_path_buf();

    // The daemon builds the draft and mails both editors.
    let mut daemon = spawn_run(&dir, 1);
    let store = || env.app.store();
    wait_until(
        "the draft and the editors' mails",
        Duration::from_secs(60),
        || log_of(&dir, 1),
        || {
            store().latest_draft().ok().flatten().is_some()
                && smtp.mails().len() - member_mails(&smtp).len() >= 2
        },
    )
    .await;
    let draft = store().latest_draft().expect("read").expect("the draft");
    assert_eq!(draft.slot, slot, "{}", log_of(&dir, 1));
    let digest = drafts::draft_digest(&draft).expect("digest");
    let removed = review::entry_of(&digest, 2).expect("story 2");
    let removed_title = digest
        .stories()
        .find(|s| s.entry_id == removed)
        .expect("story")
        .title
        .clone();
    // An editor removes story 2 and approves, in a terminal, while the daemon runs.
    for args in [&["remove", "2"][..], &["approve"][..]] {
        let out = review_cli(&dir, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let editor_mails = smtp.mails().len();

    // kill -9 before the slot: no cleanup runs.
    daemon.kill().expect("SIGKILL");
    daemon.wait().expect("reap");
    assert!(member_mails(&smtp).is_empty(), "nothing before the slot");
    let wait = (slot - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    tokio::time::sleep(wait).await;

    // Restarted after the slot: the approved draft goes out, once to each member.
    let mut daemon = spawn_run(&dir, 2);
    wait_until(
        "the approved issue at the three members",
        Duration::from_secs(60),
        || log_of(&dir, 2),
        || member_mails(&smtp).len() >= 3,
    )
    .await;
    // A few more wake-ups' worth of time: nothing more goes out.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stop = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(stop.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while daemon.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "no stop within 20 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And a `once` afterwards sends nothing: the slot is handled.
    let once = Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .arg("once")
        .output()
        .expect("once");
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );

    let members = member_mails(&smtp);
    let mut to: Vec<String> = members.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["ann@example.org", "bo@example.org", "cy@example.org"],
        "each member once:\n{}",
        log_of(&dir, 2)
    );
    for m in &members {
        let body = decoded(&m.data);
        assert!(!body.contains(&removed_title), "the approved issue: {body}");
    }
    assert_eq!(
        smtp.mails().len(),
        editor_mails + 3,
        "no editor mailed again"
    );
    let stored = store().draft(draft.id).expect("read").expect("there");
    assert!(stored.sent_digest.is_some(), "sent as the slot's digest");
    assert!(
        log_of(&dir, 2).contains("sent as an editor approved it"),
        "{}",
        log_of(&dir, 2)
    );
}

/// A brief at 06:00 New York time (11:00 UTC) with review on, two editors, two members,
/// one file feed, and the outbox for mail.
fn daemon_brief(dir: &Path) -> Arc<App> {
    let feed = url::Url::from_file_path(dir.join("feed.xml")).expect("file url");
    std::fs::write(
        dir.join("feed.xml"),
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>D</title>\
         <item><title>Budgets Before the Storm</title><link>https://daemon.example.org/1</link>\
         <guid>review-daemon-1</guid><pubDate>Fri, 27 Nov 2026 07:00:00 +0000</pubDate>\
         <description>Budgets Before the Storm is the first sentence of this story, long \
         enough to count. A second sentence gives the digest its summary.</description></item>\
         </channel></rss>",
    )
    .expect("feed");
    std::fs::write(
        dir.join("feeds.toml"),
        format!(
            r#"
[brief]
name = "Daemon Brief"
from = "brief@example.org"
schedule = "0 6 * * *"
timezone = "America/New_York"
base_url = "https://brief.example.org/"
review = "required"
review_missing = "hold"
editors = ["ann.editor@example.org", "ed@example.org"]

[fetch]
interval = "30m"
articles = false

[members]
file = "members.csv"

[[feed]]
name = "Local"
url = "{feed}"
"#
        ),
    )
    .expect("config");
    std::fs::write(
        dir.join("members.csv"),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    )
    .expect("members");
    App::open(feedbrief::config::load(&dir.join("feeds.toml")).expect("valid")).expect("open")
}

/// The recipients of the outbox's messages, sorted.
fn outbox_to(dir: &Path) -> Vec<String> {
    let mut to: Vec<String> = std::fs::read_dir(dir.join("data/outbox"))
        .map(|d| {
            d.map(|e| {
                let data = std::fs::read_to_string(e.expect("entry").path()).expect("read eml");
                header(&data, "To").expect("To")
            })
            .collect()
        })
        .unwrap_or_default();
    to.sort();
    to
}

/// Lets the paused clock run `d` in small steps, so blocking work (SQLite, files) between
/// timers finishes in order.
async fn run_for(d: Duration) {
    let step = Duration::from_secs(30);
    let mut left = d;
    while !left.is_zero() {
        let s = left.min(step);
        tokio::time::sleep(s).await;
        left -= s;
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_daemon_wakes_at_slot_minus_review_lead_to_build_the_draft_and_sends_only_at_the_slot()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let app = daemon_brief(dir.path());
    // Started off the five-minute fetch tick (08:02:17, 08:07:17 …): only the daemon's own
    // wake-up for the draft lands on 09:00, two hours before the 11:00 UTC slot.
    let start = at("2026-11-27T08:02:17Z");
    let cancel = CancellationToken::new();
    let opts = Options {
        clock: Clock::tokio_from(start),
        reload: Arc::new(tokio::sync::Notify::new()),
        config_path: None,
    };
    let handle = tokio::spawn(daemon::run(
        SharedApp::new(Arc::clone(&app)),
        cancel.clone(),
        opts,
    ));
    let elapsed = |t: &str| (at(t) - start).to_std().expect("after the start");

    run_for(elapsed("2026-11-27T08:59:45Z")).await;
    assert_eq!(
        app.store().latest_draft().expect("read"),
        None,
        "not before"
    );
    assert!(outbox_to(dir.path()).is_empty());

    run_for(Duration::from_secs(30)).await; // 09:00:15
    let draft = app
        .store()
        .latest_draft()
        .expect("read")
        .expect("built at slot - review_lead");
    assert_eq!(draft.slot, at("2026-11-27T11:00:00Z"));
    assert!(
        draft.created_at >= at("2026-11-27T09:00:00Z"),
        "{}",
        draft.created_at
    );
    assert_eq!(
        outbox_to(dir.path()),
        ["ann.editor@example.org", "ed@example.org"],
        "the editors, and nobody else"
    );
    let approved = drafts::decide(
        &app,
        draft.id,
        draft.version,
        "ed@example.org",
        at("2026-11-27T09:30:00Z"),
        Decision::Approve,
    )
    .expect("approve");
    assert!(matches!(approved, Edited::Saved(_)), "{approved:?}");

    run_for(elapsed("2026-11-27T10:59:45Z") - elapsed("2026-11-27T09:00:15Z")).await;
    assert_eq!(
        outbox_to(dir.path()).len(),
        2,
        "nothing to members before the slot"
    );
    assert!(app.store().digests().expect("digests").is_empty());

    run_for(Duration::from_secs(30)).await; // 11:00:15
    let to = outbox_to(dir.path());
    assert_eq!(
        to,
        [
            "Ann <ann@example.org>",
            "Bo <bo@example.org>",
            "ann.editor@example.org",
            "ed@example.org"
        ],
        "the members at the slot"
    );
    let sent = app.store().draft(draft.id).expect("read").expect("there");
    assert!(sent.sent_digest.is_some());
    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
}

//! The daemon on a paused clock: sends at each cron slot in the brief's time zone, never
//! twice for one slot, catches up a missed slot within `catch_up`, reloads on request.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use feedbrief::app::App;
use feedbrief::app::SharedApp;
use feedbrief::daemon::{self, Clock, Options};
use tokio_util::sync::CancellationToken;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("date")
        .with_timezone(&Utc)
}

/// An RSS file with one item per (title, published) pair; links are never fetched
/// (`articles = false`), so they need not resolve.
fn write_feed(path: &Path, items: &[(&str, DateTime<Utc>)]) {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(i, (title, date))| {
            format!(
                "<item><title>{title}</title><link>https://daemon.example.org/{i}</link>\
                 <guid>daemon-{i}</guid><pubDate>{}</pubDate>\
                 <description>{title} is the first sentence of this story, long enough to \
                 count. A second sentence gives the digest the two-sentence summary its \
                 readers expect from a brief.</description></item>",
                date.to_rfc2822()
            )
        })
        .collect();
    std::fs::write(
        path,
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>D</title>{items}</channel></rss>"),
    )
    .expect("write feed");
}

fn config(dir: &Path, extra_brief: &str) -> String {
    let feed = url::Url::from_file_path(dir.join("feed.xml")).expect("file url");
    format!(
        r#"
[brief]
name = "Daemon Brief"
from = "brief@example.org"
schedule = "0 6 * * *"
timezone = "America/New_York"
base_url = "https://brief.example.org/"
{extra_brief}

[fetch]
interval = "30m"
articles = false

[[feed]]
name = "Local"
url = "{feed}"
"#
    )
}

fn open_app(dir: &Path, extra_brief: &str) -> Arc<App> {
    std::fs::write(dir.join("feeds.toml"), config(dir, extra_brief)).expect("config");
    std::fs::write(
        dir.join("members.csv"),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    )
    .expect("members");
    App::open(feedbrief::config::load(&dir.join("feeds.toml")).expect("valid")).expect("open")
}

fn digests(app: &App) -> Vec<feedbrief::store::ArchivedDigest> {
    app.store().digests().expect("digests")
}

fn outbox_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("data/outbox")).map_or(0, |d| d.count())
}

/// Starts the daemon at `start` on tokio's (paused) clock.
fn spawn(
    app: Arc<App>,
    start: DateTime<Utc>,
    dir: &Path,
) -> (
    CancellationToken,
    Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let cancel = CancellationToken::new();
    let reload = Arc::new(tokio::sync::Notify::new());
    let opts = Options {
        clock: Clock::tokio_from(start),
        reload: Arc::clone(&reload),
        config_path: Some(dir.join("feeds.toml")),
    };
    let handle = tokio::spawn(daemon::run(SharedApp::new(app), cancel.clone(), opts));
    (cancel, reload, handle)
}

/// Lets the daemon run for `d` of virtual time.
async fn run_for(d: Duration) {
    // Small steps, so blocking work (SQLite, files) between timers finishes in order.
    let step = Duration::from_secs(30);
    let mut left = d;
    while !left.is_zero() {
        let s = left.min(step);
        tokio::time::sleep(s).await;
        left -= s;
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn daemon_sends_at_each_slot_once_and_skips_days_without_news() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 06:00 in New York on 27 November is 11:00 UTC; start a minute before.
    let start = at("2026-11-27T10:59:00Z");
    write_feed(
        &dir.path().join("feed.xml"),
        &[("Budgets Before the Storm", at("2026-11-27T09:00:00Z"))],
    );
    let app = open_app(dir.path(), "");
    let (cancel, _reload, handle) = spawn(Arc::clone(&app), start, dir.path());

    run_for(Duration::from_secs(50)).await;
    assert!(digests(&app).is_empty(), "nothing before the slot");
    run_for(Duration::from_secs(120)).await;
    let d = digests(&app);
    assert_eq!(d.len(), 1, "one digest at the slot");
    assert_eq!(d[0].subject, "Budgets Before the Storm");
    assert_eq!(outbox_files(dir.path()), 2, "one message per member");

    // The next day brings no news: no digest, nothing sent.
    run_for(Duration::from_secs(24 * 3600)).await;
    assert_eq!(digests(&app).len(), 1);
    assert_eq!(outbox_files(dir.path()), 2);

    // A new story appears; the following slot sends it, once.
    write_feed(
        &dir.path().join("feed.xml"),
        &[
            ("Budgets Before the Storm", at("2026-11-27T09:00:00Z")),
            ("Council Retreats That Work", at("2026-11-28T20:00:00Z")),
        ],
    );
    run_for(Duration::from_secs(24 * 3600)).await;
    let d = digests(&app);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].subject, "Council Retreats That Work");
    assert_eq!(outbox_files(dir.path()), 4);

    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_missed_slot_is_caught_up_once_within_catch_up_and_not_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(
        &dir.path().join("feed.xml"),
        &[("Missed Morning Story", at("2026-11-27T09:00:00Z"))],
    );
    // Down at 11:00 UTC, back at 13:00: within the default 6 h, so the slot is sent now.
    let app = open_app(dir.path(), "");
    let (cancel, _r, handle) = spawn(Arc::clone(&app), at("2026-11-27T13:00:00Z"), dir.path());
    run_for(Duration::from_secs(60)).await;
    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
    assert_eq!(digests(&app).len(), 1);

    // A restart half an hour later sends nothing more for that slot.
    drop(app);
    let app = open_app(dir.path(), "");
    let (cancel, _r, handle) = spawn(Arc::clone(&app), at("2026-11-27T13:30:00Z"), dir.path());
    run_for(Duration::from_secs(600)).await;
    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
    assert_eq!(digests(&app).len(), 1, "never two digests for one slot");
    assert_eq!(outbox_files(dir.path()), 2);

    // Back only at 18:00 (7 h late) with catch_up = 6h: that slot is skipped.
    let late = tempfile::tempdir().expect("tempdir");
    write_feed(
        &late.path().join("feed.xml"),
        &[("Missed Morning Story", at("2026-11-27T09:00:00Z"))],
    );
    let app = open_app(late.path(), "catch_up = \"6h\"");
    let (cancel, _r, handle) = spawn(Arc::clone(&app), at("2026-11-27T18:00:00Z"), late.path());
    run_for(Duration::from_secs(600)).await;
    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
    assert!(digests(&app).is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reload_keeps_the_old_config_when_the_new_one_is_bad() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(
        &dir.path().join("feed.xml"),
        &[("Story", at("2026-11-27T09:00:00Z"))],
    );
    let app = open_app(dir.path(), "");
    let cancel = CancellationToken::new();
    let reload = Arc::new(tokio::sync::Notify::new());
    let shared = SharedApp::new(app);
    let opts = Options {
        clock: Clock::tokio_from(at("2026-11-27T08:00:00Z")),
        reload: Arc::clone(&reload),
        config_path: Some(dir.path().join("feeds.toml")),
    };
    let handle = tokio::spawn(daemon::run(shared.clone(), cancel.clone(), opts));
    run_for(Duration::from_secs(30)).await;

    std::fs::write(
        dir.path().join("feeds.toml"),
        "[brief]\nname = \"Broken\"\nfrom = \"not a mailbox\"\n",
    )
    .expect("write");
    reload.notify_one();
    run_for(Duration::from_secs(30)).await;
    assert_eq!(
        shared.get().config.brief.name,
        "Daemon Brief",
        "bad config rejected"
    );

    let good = config(dir.path(), "").replace("Daemon Brief", "Renamed Brief");
    std::fs::write(dir.path().join("feeds.toml"), good).expect("write");
    reload.notify_one();
    run_for(Duration::from_secs(30)).await;
    assert_eq!(shared.get().config.brief.name, "Renamed Brief");

    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
}

#[test]
fn slots_follow_the_brief_time_zone_across_daylight_saving() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_feed(&dir.path().join("feed.xml"), &[]);
    let app = open_app(dir.path(), "");
    // US daylight saving ends on 1 November 2026: 06:00 EDT is 10:00 UTC, 06:00 EST 11:00.
    assert_eq!(
        daemon::next_slot(&app, at("2026-10-31T00:00:00Z")),
        Some(at("2026-10-31T10:00:00Z"))
    );
    assert_eq!(
        daemon::next_slot(&app, at("2026-10-31T10:00:00Z")),
        Some(at("2026-11-01T11:00:00Z"))
    );
    assert_eq!(
        daemon::next_slot(&app, at("2026-11-01T11:00:00Z")),
        Some(at("2026-11-02T11:00:00Z"))
    );
    // And it starts again on 8 March 2026.
    assert_eq!(
        daemon::next_slot(&app, at("2026-03-07T12:00:00Z")),
        Some(at("2026-03-08T10:00:00Z"))
    );
}

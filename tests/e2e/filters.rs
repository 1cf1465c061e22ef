//! Filters end to end, with the real binary: a brief-level `exclude` and a feed-level
//! `include` over two fixture feeds; the digest that reaches the SMTP server carries
//! exactly the stories they let through, the report and `feeds status` count the rest, a
//! changed config judges them again, an editor's release lets one through, and /metrics
//! counts them by list.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use feedbrief::store::{Release, Store};
use tokio_util::sync::CancellationToken;

use super::{decoded, smtp_transport, spawn_http, spawn_smtp};

/// The stories the filters let through, and those they leave out (with why).
const PASSING: [&str; 4] = [
    "Council adopts a new parking plan",
    "Winter road maintenance begins", // "cryptocurrency" is not the word "crypto"
    "County budget gap narrows",
    "Weekend reading for managers", // "City\n    Council" in its summary
];
const EXCLUDED: [&str; 2] = [
    "Crypto kiosks spread to city halls",
    "Budget relief through crypto bonds",
];
const NOT_INCLUDED: &str = "Library hours extended";

fn config(http: &str, smtp: &str, brief_exclude: bool) -> String {
    let exclude = if brief_exclude {
        "exclude = [\"crypto\"]"
    } else {
        ""
    };
    format!(
        r#"
[brief]
name = "Filter Brief"
from = "Brief <brief@example.org>"
data_dir = "data"
first_window = "3650d"
{exclude}

[fetch]
timeout = "5s"
articles = false
allow_private_addresses = true

[delivery]
{smtp}

[[feed]]
name = "Town Desk"
url = "{http}/filters-town.xml"

[[feed]]
name = "Budget Watch"
url = "{http}/filters-budget.xml"
include = ["budget", "city council"]
"#
    )
}

fn feedbrief(config: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run feedbrief");
    let text = format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
    (out, text)
}

/// The report's "filtered:" line and the per-feed lines under it.
fn filtered_block(report: &str) -> Vec<&str> {
    let mut lines = report.lines().skip_while(|l| !l.starts_with("filtered:"));
    let head = lines.next().into_iter();
    head.chain(lines.take_while(|l| l.starts_with("  ")).map(str::trim))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_and_exclude_decide_what_reaches_members_and_a_release_lets_one_through() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feeds.toml");
    let transport = smtp_transport(smtp.port);
    std::fs::write(&path, config(&http, &transport, true)).expect("config");
    std::fs::write(dir.path().join("members.csv"), "ann@example.org,Ann Lee\n").expect("members");

    // What the digest would carry, and what the filters leave out, per feed and list.
    let (_, report) = feedbrief(&path, &["once", "--no-send"]);
    assert!(report.contains("4 stories"), "{report}");
    assert_eq!(
        filtered_block(&report),
        [
            "filtered: 3 entries since the last digest left out by include/exclude",
            "Town Desk: 1 filtered (1 by [brief] exclude)",
            "Budget Watch: 2 filtered (1 by [brief] exclude, 1 by the feed's include)",
        ],
        "{report}"
    );
    let (_, status) = feedbrief(&path, &["feeds", "status"]);
    let after = |feed: &str| {
        status
            .lines()
            .skip_while(|l| !l.contains(feed))
            .nth(1)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    assert_eq!(
        after("Town Desk"),
        "1 filtered (1 by [brief] exclude) since the last digest",
        "{status}"
    );
    assert_eq!(
        after("Budget Watch"),
        "2 filtered (1 by [brief] exclude, 1 by the feed's include) since the last digest",
        "{status}"
    );

    // The brief's exclude removed from feeds.toml: the same stored entries are judged
    // again, and only the feed's include still leaves one out.
    std::fs::write(&path, config(&http, &transport, false)).expect("config");
    let (_, report) = feedbrief(&path, &["once", "--no-send"]);
    assert!(report.contains("6 stories"), "{report}");
    assert_eq!(
        filtered_block(&report),
        [
            "filtered: 1 entry since the last digest left out by include/exclude",
            "Budget Watch: 1 filtered (1 by the feed's include)",
        ],
        "{report}"
    );

    // Put back, and sent: the member gets exactly the four stories that pass.
    std::fs::write(&path, config(&http, &transport, true)).expect("config");
    let (_, report) = feedbrief(&path, &["once"]);
    assert!(report.contains("4 stories"), "{report}");
    assert_eq!(filtered_block(&report).len(), 3, "{report}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{report}");
    let body = decoded(&mails[0].data);
    for title in PASSING {
        assert!(body.contains(title), "{title} is missing:\n{body}");
    }
    for title in EXCLUDED.iter().chain([&NOT_INCLUDED]) {
        assert!(!body.contains(title), "{title} was sent:\n{body}");
    }

    // An editor lets the library story through: the next digest carries it, alone.
    let db = dir.path().join("data/feedbrief.sqlite");
    let id: i64 = rusqlite::Connection::open(&db)
        .expect("db")
        .query_row(
            "SELECT id FROM entries WHERE title = ?1",
            [NOT_INCLUDED],
            |r| r.get(0),
        )
        .expect("the library story is stored");
    {
        let store = Store::open(&db).expect("store");
        let why = store
            .filtered_why(id)
            .expect("why")
            .expect("it is filtered");
        assert_eq!(why.to_string(), "none of the feed's include was found");
        assert_eq!(
            store.release_filtered(id).expect("release"),
            Release::Released
        );
    }
    let (_, report) = feedbrief(&path, &["once"]);
    assert!(report.contains("1 stories"), "{report}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{report}");
    let body = decoded(&mails[1].data);
    assert!(body.contains(NOT_INCLUDED), "{body}");
    for title in PASSING.iter().chain(&EXCLUDED) {
        assert!(!body.contains(title), "{title} was sent again:\n{body}");
    }
    let (_, status) = feedbrief(&path, &["feeds", "status"]);
    assert!(!status.contains("by the feed's include"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_filtered_entries_by_list() {
    let (http, _) = spawn_http().await;
    let env = super::open(
        &config(&http, "transport = \"outbox\"", true),
        "ann@example.org,Ann\n",
    );
    feedbrief::cycle::once(&env.app, super::now(), false, &CancellationToken::new())
        .await
        .expect("cycle");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let web = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(feedbrief::web::serve(
        std::sync::Arc::clone(&env.app),
        listener,
        CancellationToken::new(),
    ));
    feedbrief::fetch::install_crypto_provider();
    let text = reqwest::get(format!("{web}/metrics"))
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    for line in [
        "feedbrief_entries_filtered{list=\"brief.exclude\"} 2",
        "feedbrief_entries_filtered{list=\"feed.exclude\"} 0",
        "feedbrief_entries_filtered{list=\"feed.include\"} 1",
        "feedbrief_entries_filtered{list=\"brief.include\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}

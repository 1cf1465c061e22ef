//! The weekly edition (`[brief] weekly`, issue #14): the daemon on a paused clock sends
//! it on its day, at the schedule's slot, to the members who chose it (members.csv's
//! `frequency` column or the preference centre over real HTTP), once per slot, while
//! daily members get their digest as before and weekly members no daily one. And
//! `members list` of the real binary showing each member's state and frequency.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use feedbrief::app::{App, SharedApp};
use feedbrief::cycle;
use feedbrief::cycle::weekly::WeeklyOutcome;
use feedbrief::daemon::{self, Clock, Options};
use feedbrief::members::Frequency;
use tokio_util::sync::CancellationToken;

use super::{client, config_text, decoded, header, open, spawn_http};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("date")
        .with_timezone(&Utc)
}

/// An RSS file with one item per (title, published) pair; links are never fetched.
fn write_feed(path: &Path, items: &[(String, DateTime<Utc>)]) {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(i, (title, date))| {
            format!(
                "<item><title>{title}</title><link>https://weekly.example.org/{i}</link>\
                 <guid>weekly-{i}</guid><pubDate>{}</pubDate>\
                 <description>{title} is the first sentence of this story, long enough to \
                 count. A second sentence gives the digest the summary its readers expect \
                 from a brief.</description></item>",
                date.to_rfc2822()
            )
        })
        .collect();
    std::fs::write(
        path,
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>W</title>{items}</channel></rss>"),
    )
    .expect("write feed");
}

/// A brief at 06:00 New York time every day, weekly on Friday, writing to the outbox.
fn open_app(dir: &Path) -> Arc<App> {
    let feed = url::Url::from_file_path(dir.join("feed.xml")).expect("file url");
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
weekly = "Fri"

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
        "email,name,sections,frequency\nann@example.org,Ann,,\nbo@example.org,Bo,,weekly\n",
    )
    .expect("members");
    App::open(feedbrief::config::load(&dir.join("feeds.toml")).expect("valid")).expect("open")
}

/// Every message in the outbox: (recipient, subject, decoded message), by file name.
fn outbox(dir: &Path) -> Vec<(String, String, String)> {
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("data/outbox"))
        .map(|d| d.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let data = std::fs::read_to_string(p).expect("read eml");
            (
                header(&data, "To").expect("To"),
                header(&data, "Subject").expect("Subject"),
                decoded(&data),
            )
        })
        .collect()
}

fn to(mails: &[(String, String, String)], who: &str) -> Vec<(String, String)> {
    mails
        .iter()
        .filter(|(t, _, _)| t.contains(who))
        .map(|(_, s, body)| (s.clone(), body.clone()))
        .collect()
}

/// Starts the daemon at `start` on tokio's (paused) clock.
fn spawn(
    app: Arc<App>,
    start: DateTime<Utc>,
    dir: &Path,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let cancel = CancellationToken::new();
    let opts = Options {
        clock: Clock::tokio_from(start),
        reload: Arc::new(tokio::sync::Notify::new()),
        config_path: Some(dir.join("feeds.toml")),
    };
    let handle = tokio::spawn(daemon::run(SharedApp::new(app), cancel.clone(), opts));
    (cancel, handle)
}

/// Lets the daemon run for `d` of virtual time, in small steps.
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
async fn the_weekly_edition_goes_on_its_day_once_to_weekly_members_and_daily_members_are_unaffected()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.xml");
    // Monday 23 November 2026, 10:00 UTC; each day's slot is 11:00 UTC (06:00 in New York).
    let monday = at("2026-11-23T10:00:00Z");
    let day = chrono::Duration::days(1);
    let mut stories: Vec<(String, DateTime<Utc>)> = Vec::new();
    let titles = [
        "Monday Budget Hearings",
        "Tuesday Transit Votes",
        "Wednesday Water Rates",
        "Thursday Library Hours",
        "Friday Snow Plans",
        "Saturday Market Rules",
    ];
    stories.push((titles[0].into(), monday - chrono::Duration::hours(1)));
    write_feed(&feed, &stories);
    let app = open_app(dir.path());
    let (cancel, handle) = spawn(Arc::clone(&app), monday, dir.path());
    run_for(Duration::from_secs(2 * 3600)).await;
    // Each later day: the day's story appears at 09:00 UTC, before its slot.
    for (i, title) in titles.iter().enumerate().skip(1).take(4) {
        stories.push((
            title.to_string(),
            monday + day * i as i32 - chrono::Duration::hours(1),
        ));
        write_feed(&feed, &stories);
        run_for(Duration::from_secs(24 * 3600)).await;
    }
    // Now Friday 12:00 UTC: Friday's slot has passed.
    let mails = outbox(dir.path());
    let ann = to(&mails, "ann@example.org");
    let bo = to(&mails, "bo@example.org");
    let subjects: Vec<&str> = ann.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, &titles[..5], "a daily digest each day for Ann");
    assert_eq!(
        bo.len(),
        1,
        "one weekly edition for Bo, no daily digest: {bo:?}"
    );
    let (subject, body) = &bo[0];
    assert_eq!(subject, "Daemon Brief weekly: Friday Snow Plans");
    for title in &titles[..5] {
        assert!(body.contains(title), "the week's {title} is in the edition");
    }
    let digests = app.store().digests().expect("digests");
    assert_eq!(digests.len(), 6, "five daily digests and one weekly");
    assert_eq!(digests[0].subject, "Daemon Brief weekly: Friday Snow Plans");

    // The slot's weekly edition, handled again (a restart before the slot was marked
    // done), is found recorded: nothing is recorded or sent twice.
    let slot = at("2026-11-27T11:00:00Z");
    let (outcome, report) = cycle::weekly::send_weekly(
        &app,
        at("2026-11-27T11:30:00Z"),
        slot,
        &CancellationToken::new(),
    )
    .await
    .expect("weekly");
    assert!(
        matches!(outcome, WeeklyOutcome::AlreadyRecorded(_)),
        "{outcome:?}"
    );
    assert_eq!(report.sent, 0);

    // Saturday: Ann's daily digest, nothing for Bo.
    stories.push((
        titles[5].into(),
        monday + day * 5 - chrono::Duration::hours(1),
    ));
    write_feed(&feed, &stories);
    run_for(Duration::from_secs(24 * 3600)).await;
    cancel.cancel();
    handle.await.expect("joined").expect("clean stop");
    let mails = outbox(dir.path());
    assert_eq!(to(&mails, "ann@example.org").len(), 6);
    assert_eq!(to(&mails, "bo@example.org").len(), 1);
    assert_eq!(app.store().digests().expect("digests").len(), 7);
}

/// The test brief on the real clock (the web endpoints read it), weekly on Friday or not.
fn web_config(http: &str, weekly: bool) -> String {
    let weekly = if weekly {
        "\nweekly = \"Fri\"\nschedule = \"0 6 * * *\""
    } else {
        ""
    };
    config_text(http, "transport = \"outbox\"", "").replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"data\"\nfirst_window = \"3650d\"{weekly}"),
    )
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.expect("get");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn post(c: &reqwest::Client, url: &str, form: &str) -> (u16, String) {
    let r = c
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequency_is_chosen_in_the_preference_centre_holds_from_the_next_digest_and_a_get_changes_nothing()
 {
    let (http, _) = spawn_http().await;
    let env = open(
        &web_config(&http, true),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    );
    cycle::import_members(&env.app, Utc::now()).expect("import");
    let web = super::spawn_web(&env.app).await;
    let c = client();
    let store = || env.app.store();
    let ann = store()
        .member_by_email("ann@example.org")
        .expect("read")
        .expect("ann");
    let url = format!(
        "{web}/preferences/{}",
        env.app.secret.token(ann.id, &ann.email)
    );
    let frequency = || {
        store()
            .preferences(ann.id)
            .expect("read")
            .expect("prefs")
            .frequency
    };

    let (status, page) = get(&c, &url).await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"daily\" checked"), "{page}");
    assert_eq!(frequency(), Frequency::Daily, "a GET changed nothing");

    let (status, page) = post(&c, &url, "action=frequency&frequency=weekly").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("weekly edition only"), "{page}");
    assert!(page.contains("value=\"weekly\" checked"), "{page}");
    assert_eq!(frequency(), Frequency::Weekly);
    let (status, _) = post(&c, &url, "action=frequency&frequency=hourly").await;
    assert_eq!(status, 400);
    assert_eq!(
        frequency(),
        Frequency::Weekly,
        "a bad choice changed nothing"
    );

    // The next daily digest is not owed to Ann; members.csv does not undo her choice.
    cycle::import_members(&env.app, Utc::now()).expect("import again");
    super::fetch(&env, Utc::now()).await;
    let digest = cycle::next_digest(&env.app, Utc::now())
        .expect("select")
        .expect("a digest");
    let id = cycle::record_digest(&env.app, &digest, Utc::now()).expect("record");
    let owed: Vec<i64> = store()
        .delivery_counts(id)
        .expect("counts")
        .iter()
        .map(|c| c.count)
        .collect();
    assert_eq!(owed, [1], "only Bo is owed the daily digest");
    assert_eq!(frequency(), Frequency::Weekly);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_weekly_edition_there_is_no_frequency_to_choose_and_everyone_gets_every_digest() {
    let (http, _) = spawn_http().await;
    let env = open(
        &web_config(&http, false),
        "email,name,sections,frequency\nann@example.org,Ann,,weekly\nbo@example.org,Bo,,\n",
    );
    cycle::import_members(&env.app, Utc::now()).expect("import");
    let web = super::spawn_web(&env.app).await;
    let c = client();
    let ann = env
        .app
        .store()
        .member_by_email("ann@example.org")
        .expect("read")
        .expect("ann");
    let url = format!(
        "{web}/preferences/{}",
        env.app.secret.token(ann.id, &ann.email)
    );
    let (status, page) = get(&c, &url).await;
    assert_eq!(status, 200);
    assert!(!page.contains("name=\"frequency\""), "{page}");
    let (status, page) = post(&c, &url, "action=frequency&frequency=daily").await;
    assert_eq!(status, 400);
    assert!(page.contains("no weekly edition"), "{page}");
    super::fetch(&env, Utc::now()).await;
    let digest = cycle::next_digest(&env.app, Utc::now())
        .expect("select")
        .expect("a digest");
    let id = cycle::record_digest(&env.app, &digest, Utc::now()).expect("record");
    let owed: i64 = env
        .app
        .store()
        .delivery_counts(id)
        .expect("counts")
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(owed, 2, "Ann chose weekly, but there is no weekly edition");
}

/// `feedbrief members list` of the real binary, with `--status` when given.
fn members_list(env: &super::Env, status: Option<&str>) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"));
    cmd.arg("--config")
        .arg(env.dir.path().join("feeds.toml"))
        .args(["members", "list"]);
    if let Some(s) = status {
        cmd.args(["--status", s]);
    }
    let out = cmd.output().expect("run feedbrief");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_list_shows_each_members_state_and_frequency_and_filters_by_status() {
    use feedbrief::store::{MemberEvent, MemberEventKind, MemberStatus};
    let (http, _) = spawn_http().await;
    let env = open(
        &web_config(&http, true),
        "email,name,sections,frequency\n\
         ann@example.org,Ann,,weekly\n\
         bo@example.org,Bo,,\n\
         cy@example.org,Cy,,\n\
         di@example.org,Di,,weekly\n\
         ed@example.org,Ed,,\n\
         fay@example.org,Fay,,\n",
    );
    let now = Utc::now();
    cycle::import_members(&env.app, now).expect("import");
    let store = env.app.store();
    let id = |email: &str| {
        store
            .member_by_email(email)
            .expect("read")
            .expect("member")
            .id
    };
    let event = |member_id, kind| MemberEvent {
        member_id,
        at: now,
        kind,
        status: Some("4.2.2".into()),
        evidence: "mailbox full".into(),
    };
    // Bo is paused; Cy had two soft bounces and stays active; Di complained; Ed
    // bounced hard; Fay unsubscribed; a stranger signed up and has not confirmed.
    store
        .pause(
            id("bo@example.org"),
            Some(now + chrono::Duration::days(10)),
            now,
        )
        .expect("pause");
    for _ in 0..2 {
        store
            .add_member_event(&event(id("cy@example.org"), MemberEventKind::SoftBounce))
            .expect("event");
    }
    store
        .add_member_event(&event(id("di@example.org"), MemberEventKind::Complaint))
        .expect("event");
    store
        .suppress_member(
            id("di@example.org"),
            MemberStatus::Unsubscribed,
            "spam complaint",
            now,
        )
        .expect("suppress");
    store
        .add_member_event(&event(id("ed@example.org"), MemberEventKind::HardBounce))
        .expect("event");
    store
        .suppress_member(
            id("ed@example.org"),
            MemberStatus::Bounced,
            "hard bounce: 550",
            now,
        )
        .expect("suppress");
    assert!(
        store
            .unsubscribe(id("fay@example.org"), now)
            .expect("unsubscribe")
    );
    store
        .record_signup(
            "new@example.org",
            Some("Nia"),
            &[],
            None,
            now,
            now + chrono::Duration::days(2),
        )
        .expect("signup");
    drop(store);

    let (code, out, err) = members_list(&env, None);
    assert_eq!(code, 0, "{err}");
    let line = |email: &str| {
        out.lines()
            .find(|l| l.contains(email))
            .unwrap_or_else(|| panic!("{email} listed: {out}"))
            .to_string()
    };
    assert!(line("ann@example.org").starts_with("active "), "{out}");
    assert!(line("ann@example.org").contains(" weekly "), "{out}");
    assert!(
        line("bo@example.org").starts_with("paused until 20"),
        "{out}"
    );
    assert!(line("bo@example.org").contains(" daily "), "{out}");
    assert!(line("cy@example.org").starts_with("active "), "{out}");
    assert!(out.contains("soft bounces: 2 in 15days"), "{out}");
    assert!(
        line("di@example.org").starts_with("complained (spam complaint)"),
        "{out}"
    );
    assert!(
        line("ed@example.org").starts_with("bounced (hard bounce: 550)"),
        "{out}"
    );
    assert!(
        line("fay@example.org").starts_with("unsubscribed ("),
        "{out}"
    );
    assert!(
        line("new@example.org").starts_with("pending (signed up;"),
        "{out}"
    );
    assert!(
        out.contains(
            "6 members, 3 active (2 active, 1 bounced, 1 complained, 1 paused, 1 pending, 1 unsubscribed)"
        ),
        "{out}"
    );

    let listed = |status: &str| {
        let (code, out, err) = members_list(&env, Some(status));
        assert_eq!(code, 0, "{err}");
        let mut emails: Vec<String> = out
            .lines()
            .filter_map(|l| l.split_whitespace().find(|w| w.contains('@')))
            .filter(|w| !w.starts_with('('))
            .map(str::to_string)
            .collect();
        emails.sort();
        emails
    };
    assert_eq!(listed("weekly"), ["ann@example.org"]);
    assert_eq!(listed("paused"), ["bo@example.org"]);
    assert_eq!(listed("complained"), ["di@example.org"]);
    assert_eq!(listed("pending"), ["new@example.org"]);
    assert_eq!(listed("active"), ["ann@example.org", "cy@example.org"]);
    let (code, _, err) = members_list(&env, Some("gone"));
    assert_eq!(code, 2, "a wrong status is a usage error");
    assert!(err.contains("--status \"gone\" is not a status"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_edition_stopped_before_sending_goes_out_with_the_next_cycle_under_its_own_subject()
 {
    let (http, _) = spawn_http().await;
    let env = open(
        &web_config(&http, true),
        "email,name,sections,frequency\nann@example.org,Ann,,weekly\nbo@example.org,Bo,,\n",
    );
    let now = Utc::now();
    cycle::import_members(&env.app, now).expect("import");
    super::fetch(&env, now).await;
    let daily = cycle::next_digest(&env.app, now)
        .expect("select")
        .expect("a digest");
    let lead = daily.lead.title.clone();
    cycle::record_digest(&env.app, &daily, now).expect("record the daily digest");
    // The weekly edition is recorded, then the run stops before sending anything.
    let stopped = CancellationToken::new();
    stopped.cancel();
    let (outcome, report) = cycle::weekly::send_weekly(&env.app, now, now, &stopped)
        .await
        .expect("weekly");
    assert!(
        matches!(outcome, WeeklyOutcome::Recorded { .. }),
        "{outcome:?}"
    );
    assert_eq!(report.sent, 0);
    assert!(outbox(env.dir.path()).is_empty());

    // The next cycle sends what both editions still owe, each under its own subject.
    let report = cycle::once(&env.app, now, true, &CancellationToken::new())
        .await
        .expect("cycle");
    let mails = outbox(env.dir.path());
    let (ann, bo) = (to(&mails, "ann@example.org"), to(&mails, "bo@example.org"));
    assert_eq!(ann.len(), 1, "{report}");
    assert_eq!(
        ann[0].0,
        format!("Local Government Leadership Brief weekly: {lead}")
    );
    assert_eq!(bo.len(), 1, "{report}");
    assert_eq!(bo[0].0, lead);
    // And nothing more after that.
    cycle::once(&env.app, now, true, &CancellationToken::new())
        .await
        .expect("cycle");
    assert_eq!(outbox(env.dir.path()).len(), 2);
}

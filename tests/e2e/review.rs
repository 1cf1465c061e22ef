//! Review before sending (issue #15): the slot's digest built as a draft `review_lead`
//! before it, the editors mailed its link over real SMTP, and at the slot the draft sent
//! exactly as approved, as it stood, held or skipped; a restart between draft and slot
//! keeps the approved draft and sends it once.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use feedbrief::app::App;
use feedbrief::cycle::drafts::{self, Decision, Edited};
use feedbrief::cycle::{self, DigestOutcome};
use feedbrief::review::{self, Edit};
use tokio_util::sync::CancellationToken;

mod desk;
mod slots;

use super::{Env, MEMBERS, config_text, decoded, open, smtp_transport, spawn_http, spawn_smtp};

/// 14:00 in New York every day: 19:00 UTC in November.
pub(crate) const SCHEDULE: &str = "schedule = \"0 14 * * *\"";

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("date")
        .with_timezone(&Utc)
}

/// The e2e brief with review required, two editors, and `missing` for `review_missing`.
pub(crate) fn review_config(http: &str, smtp_port: u16, missing: &str) -> String {
    config_text(http, &smtp_transport(smtp_port), "").replace(
        "max_stories = 12",
        &format!(
            "max_stories = 12\n{SCHEDULE}\nreview = \"required\"\nreview_missing = \"{missing}\"\n\
             editor = \"Ed Itor <ed@example.org>\"\neditors = [\"ann.editor@example.org\"]"
        ),
    )
}

/// The review brief over the fixture HTTP server and an SMTP sink that takes every
/// message, its config written by `config` from the server's URL and the sink's port.
pub(crate) async fn review_env_with(
    config: impl FnOnce(&str, u16) -> String,
) -> (Env, super::Smtp) {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&config(&http, smtp.port), MEMBERS);
    (env, smtp)
}

/// [`review_env_with`] the e2e review brief, `missing` for `review_missing`.
pub(crate) async fn review_env(missing: &str) -> (Env, super::Smtp) {
    review_env_with(|http, port| review_config(http, port, missing)).await
}

/// [`review_env`] with the 19:00 slot's draft built (and both editors mailed).
pub(crate) async fn drafted(missing: &str) -> (Env, super::Smtp, feedbrief::store::Draft) {
    let (env, smtp) = review_env(missing).await;
    let draft = build_draft(&env).await;
    (env, smtp, draft)
}

/// Runs `once` at `now`, which must succeed.
pub(crate) async fn once_at(app: &Arc<App>, now: DateTime<Utc>) -> cycle::CycleReport {
    cycle::once(app, now, true, &CancellationToken::new())
        .await
        .expect("once runs")
}

/// The draft `once` built at 17:30 UTC (within the default two hours of the 19:00 slot).
pub(crate) async fn build_draft(env: &Env) -> feedbrief::store::Draft {
    let report = once_at(&env.app, at("2026-11-27T17:30:00Z")).await;
    let DigestOutcome::Drafted { id, mailed, .. } = report.digest else {
        panic!("a draft was built: {report}")
    };
    assert_eq!(mailed, 2, "{report}");
    env.app
        .store()
        .draft(id)
        .expect("read")
        .expect("the draft is stored")
}

fn member_mails(smtp: &super::Smtp) -> Vec<super::Mail> {
    smtp.mails()
        .into_iter()
        .filter(|m| {
            !m.to
                .iter()
                .any(|t| t.contains("editor") || t.starts_with("ed@"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_review_on_a_draft_is_mailed_to_every_editor_before_the_slot_and_nothing_to_members() {
    let (env, smtp) = review_env("send").await;
    // 12:00 UTC: seven hours before the slot; no draft yet, nothing sent.
    let early = once_at(&env.app, at("2026-11-27T12:00:00Z")).await;
    assert!(
        matches!(early.digest, DigestOutcome::NoNewStories),
        "{early}"
    );
    assert!(smtp.mails().is_empty(), "{early}");
    let draft = build_draft(&env).await;
    assert_eq!(draft.slot, at("2026-11-27T19:00:00Z"));
    let mails = smtp.mails();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["ann.editor@example.org", "ed@example.org"]);
    let body = decoded(&mails[0].data);
    let key = env.app.secret.draft_key(draft.id);
    assert!(
        body.contains(&format!("https://brief.example.org/editor/draft/{key}")),
        "{body}"
    );
    // A second run before the slot keeps the draft (and mails nobody again).
    let again = once_at(&env.app, at("2026-11-27T18:00:00Z")).await;
    assert!(
        matches!(again.digest, DigestOutcome::NoNewStories),
        "{again}"
    );
    assert_eq!(smtp.mails().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_draft_survives_a_restart_and_is_sent_once_exactly_as_approved() {
    let (env, smtp, draft) = drafted("hold").await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    let removed = digest.sections[0].stories[0].clone();
    let kept = digest
        .stories()
        .find(|s| s.entry_id != removed.entry_id && s.entry_id != digest.lead.entry_id)
        .expect("another story")
        .clone();
    let now = at("2026-11-27T17:40:00Z");
    let editor = "ed@example.org";
    let v = |e: Edited| match e {
        Edited::Saved(v) => v,
        other => panic!("saved: {other:?}"),
    };
    let v2 = v(drafts::edit_draft(
        &env.app,
        draft.id,
        1,
        editor,
        now,
        &Edit::Remove(removed.entry_id),
    )
    .expect("remove"));
    let summary = "An editor's own summary of this story, written for the members.".to_string();
    let v3 = v(drafts::edit_draft(
        &env.app,
        draft.id,
        v2,
        editor,
        now,
        &Edit::Summary {
            entry: kept.entry_id,
            text: summary.clone(),
        },
    )
    .expect("summary"));
    v(drafts::decide(&env.app, draft.id, v3, editor, now, Decision::Approve).expect("approve"));

    // The daemon restarts between the draft and the slot: a new app on the same files.
    let Env { dir, app } = env;
    drop(app);
    let app = App::open(feedbrief::config::load(&dir.path().join("feeds.toml")).expect("config"))
        .expect("reopen");
    let sent = once_at(&app, at("2026-11-27T19:05:00Z")).await;
    assert!(
        matches!(sent.digest, DigestOutcome::Built { id: Some(_), .. }),
        "{sent}"
    );
    assert!(
        sent.to_string().contains("sent as an editor approved it"),
        "{sent}"
    );
    let members = member_mails(&smtp);
    assert_eq!(members.len(), 3, "{sent}");
    for m in &members {
        let body = decoded(&m.data);
        assert!(
            !body.contains(&removed.title),
            "the removed story went out: {body}"
        );
        if m.to == ["ann@example.org"] {
            assert!(body.contains(&summary), "the edited summary: {body}");
        }
    }
    // The slot is handled: another run sends nothing more, and the draft is closed.
    let later = once_at(&app, at("2026-11-27T19:30:00Z")).await;
    assert_eq!(member_mails(&smtp).len(), 3, "{later}");
    let stored = app.store().draft(draft.id).expect("read").expect("there");
    assert!(stored.sent_digest.is_some());
    assert_eq!(
        drafts::edit_draft(
            &app,
            draft.id,
            stored.version,
            editor,
            now,
            &Edit::Remove(kept.entry_id)
        )
        .expect("edit"),
        Edited::Closed
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_draft_is_sent_as_it_stands_with_review_missing_send() {
    let (env, smtp, draft) = drafted("send").await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    let removed = digest.sections[0].stories[0].clone();
    drafts::edit_draft(
        &env.app,
        draft.id,
        1,
        "ed@example.org",
        at("2026-11-27T17:45:00Z"),
        &Edit::Remove(removed.entry_id),
    )
    .expect("remove");
    let sent = once_at(&env.app, at("2026-11-27T19:01:00Z")).await;
    assert!(
        sent.to_string()
            .contains("nobody approved it; sent as it stood"),
        "{sent}"
    );
    let members = member_mails(&smtp);
    assert_eq!(members.len(), 3, "{sent}");
    assert!(
        members
            .iter()
            .all(|m| !decoded(&m.data).contains(&removed.title))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_draft_is_held_with_review_missing_hold_and_its_stories_stay_candidates() {
    let (env, smtp, draft) = drafted("hold").await;
    let lead = drafts::draft_digest(&draft).expect("digest").lead.title;
    let held = once_at(&env.app, at("2026-11-27T19:01:00Z")).await;
    assert!(matches!(held.digest, DigestOutcome::Held { .. }), "{held}");
    assert!(member_mails(&smtp).is_empty(), "{held}");
    let next = cycle::next_digest(&env.app, at("2026-11-27T19:02:00Z"))
        .expect("select")
        .expect("the held stories are still candidates");
    assert_eq!(next.lead.title, lead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_slot_sends_nothing_even_with_review_missing_send_and_its_stories_stay_candidates()
 {
    let (env, smtp, draft) = drafted("send").await;
    let lead = drafts::draft_digest(&draft).expect("digest").lead.title;
    let skipped = drafts::decide(
        &env.app,
        draft.id,
        1,
        "ann.editor@example.org",
        at("2026-11-27T18:00:00Z"),
        Decision::Skip,
    )
    .expect("skip");
    assert_eq!(skipped, Edited::Saved(2));
    let report = once_at(&env.app, at("2026-11-27T19:01:00Z")).await;
    assert!(
        matches!(report.digest, DigestOutcome::SkippedByEditor { .. }),
        "{report}"
    );
    assert!(member_mails(&smtp).is_empty(), "{report}");
    let next = cycle::next_digest(&env.app, at("2026-11-27T19:02:00Z"))
        .expect("select")
        .expect("the skipped stories are still candidates");
    assert_eq!(next.lead.title, lead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_review_off_once_sends_at_once_as_before() {
    let (env, smtp) = review_env_with(|http, port| {
        review_config(http, port, "hold").replace("review = \"required\"", "review = \"off\"")
    })
    .await;
    let report = once_at(&env.app, at("2026-11-27T12:00:00Z")).await;
    assert!(
        matches!(report.digest, DigestOutcome::Built { .. }),
        "{report}"
    );
    assert_eq!(member_mails(&smtp).len(), 3, "{report}");
}

/// Runs the real binary's `review` with `args` on the brief in `dir`.
fn review_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .arg("review")
        .args(args)
        .env("USER", "ed")
        .output()
        .expect("run feedbrief")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_in_a_terminal_lists_the_draft_and_removes_moves_leads_and_approves_by_number() {
    let (env, _smtp) = review_env_with(|http, port| {
        review_config(http, port, "hold").replace(
            "max_stories = 12",
            "max_stories = 12\nexclude = [\"engineers\"]",
        )
    })
    .await;
    let draft = build_draft(&env).await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    let dir = env.dir.path();

    let out = review_cli(dir, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("  1. [LEAD] {}", digest.lead.title)),
        "{text}"
    );
    // Counted since the last digest as of the draft (the fixture's clock, not the wall's).
    assert!(text.contains("\n2 filtered\n"), "{text}");
    assert!(text.contains("/editor/draft/"), "{text}");

    let second = review::entry_of(&digest, 2).expect("story 2");
    let third = review::entry_of(&digest, 3).expect("story 3");
    let out = review_cli(dir, &["remove", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Story 3 is now story 2.
    let out = review_cli(dir, &["lead", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = review_cli(dir, &["move", "2", "Workforce"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = review_cli(dir, &["remove", "99"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("there is no story 99"));
    let bad = review_cli(dir, &["move", "2", "Sports"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a section"));
    let out = review_cli(dir, &["approve"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stored = env
        .app
        .store()
        .draft(draft.id)
        .expect("read")
        .expect("there");
    assert_eq!(stored.state, feedbrief::store::DraftState::Approved);
    let edited = drafts::draft_digest(&stored).expect("digest");
    assert!(edited.stories().all(|s| s.entry_id != second), "removed");
    assert_eq!(edited.lead.entry_id, third, "story 3 leads");
    let old_lead = edited
        .sections
        .iter()
        .find(|s| {
            s.stories
                .iter()
                .any(|st| st.entry_id == digest.lead.entry_id)
        })
        .expect("the old lead is in a section");
    assert_eq!(old_lead.name, "Workforce", "moved");
    let edits = env.app.store().draft_edits(draft.id, None).expect("edits");
    assert_eq!(edits.len(), 4, "{edits:?}");
    assert!(edits.iter().all(|e| e.editor == "terminal (ed)"));
    // The slot sends the approved draft.
    let sent = once_at(&env.app, at("2026-11-27T19:01:00Z")).await;
    assert!(matches!(sent.digest, DigestOutcome::Built { .. }), "{sent}");
    let out = review_cli(dir, &["skip"]);
    assert_eq!(out.status.code(), Some(2), "a sent draft is not skipped");
}

// ─── Who may touch a draft: sign-in, sessions, CSRF, draft ids, over real HTTP ──────────

/// The public address links in mail start with (the test config's `base_url`).
const PUBLIC: &str = "https://brief.example.org/";

/// Waits (bounded: 10 s) until `ready` gives something.
async fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = ready() {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("waited 10 s for {what}")
}

/// The sign-in links mailed to `to` so far, as served by the test's web server `web`.
fn sign_in_links(smtp: &super::Smtp, to: &str, web: &str) -> Vec<String> {
    smtp.mails()
        .iter()
        .filter(|m| m.to == [to])
        .map(|m| decoded(&m.data))
        .filter_map(|body| {
            // Under the test config's base_url, or (the browser test's) the server's own.
            let (base, at) = [PUBLIC, web]
                .into_iter()
                .find_map(|b| body.find(&format!("{b}editor/sign-in/")).map(|at| (b, at)))?;
            let link: String = body[at..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            Some(format!("{web}{}", &link[base.len()..]))
        })
        .collect()
}

/// Everything an editor's request could change: drafts, their edits, links and sessions.
fn desk_state(env: &Env) -> String {
    let db = rusqlite::Connection::open(env.dir.path().join("data/feedbrief.sqlite"))
        .expect("open the database");
    let rows: Vec<String> = db
        .prepare(
            "SELECT id, content, version, state FROM drafts
             UNION ALL SELECT draft_id, action, version, editor FROM draft_edits
             UNION ALL SELECT id, email, used_at, expires_at FROM editor_links
             UNION ALL SELECT 0, email, created_at, expires_at FROM editor_sessions",
        )
        .expect("prepare")
        .query_map([], |r| {
            Ok(format!(
                "{:?}",
                (0..4)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()?
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.join("\n")
}

async fn post_form(
    c: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    form: &str,
) -> reqwest::Response {
    let mut r = c
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some(v) = cookie {
        r = r.header("cookie", format!("feedbrief_editor={v}"));
    }
    r.send().await.expect("post")
}

async fn get_with(c: &reqwest::Client, url: &str, cookie: Option<&str>) -> (u16, String) {
    let mut r = c.get(url);
    if let Some(v) = cookie {
        r = r.header("cookie", format!("feedbrief_editor={v}"));
    }
    let r = r.send().await.expect("get");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// Signs `editor` in through the mailed link; returns the session cookie's value.
async fn sign_in(c: &reqwest::Client, web: &str, smtp: &super::Smtp, editor: &str) -> String {
    let before = sign_in_links(smtp, editor, web).len();
    let r = post_form(
        c,
        &format!("{web}editor/sign-in"),
        None,
        &format!("email={editor}"),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let link = wait_for("the sign-in link", || {
        sign_in_links(smtp, editor, web).get(before).cloned()
    })
    .await;
    let (status, page) = get_with(c, &link, None).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<form method=\"post\""), "one button: {page}");
    let r = post_form(c, &link, None, "").await;
    assert_eq!(r.status().as_u16(), 303);
    let set = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    set.strip_prefix("feedbrief_editor=")
        .and_then(|v| v.split(';').next())
        .expect("the cookie's value")
        .to_string()
}

/// The CSRF token and version the review page's forms carry.
fn form_fields(page: &str) -> (String, String) {
    let value = |name: &str| {
        let at = page
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("no {name} field in {page}"));
        let rest = &page[at + name.len() + 15..];
        rest[..rest.find('"').expect("end")].to_string()
    };
    (value("csrf"), value("version"))
}

/// The brief with review on, a draft built, and its web endpoints.
async fn desk() -> (Env, super::Smtp, String, feedbrief::store::Draft) {
    let (env, smtp, draft) = drafted("hold").await;
    let web = format!("{}/", super::spawn_web(&env.app).await);
    (env, smtp, web, draft)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_session_every_editor_url_answers_the_sign_in_page_and_changes_nothing() {
    let (env, _smtp, web, draft) = desk().await;
    let c = super::client();
    let lead = drafts::draft_digest(&draft).expect("digest").lead.title;
    let key = env.app.secret.draft_key(draft.id);
    let before = desk_state(&env);
    let forged = "ab".repeat(32);
    for cookie in [None, Some(forged.as_str()), Some("not-a-session")] {
        for url in [
            format!("{web}editor"),
            format!("{web}editor/"),
            format!("{web}editor/draft/{key}"),
            format!("{web}editor/draft/{key}/preview"),
            format!("{web}editor/anything/else"),
        ] {
            let (status, page) = get_with(&c, &url, cookie).await;
            assert_eq!(status, 401, "{url}: {page}");
            assert!(page.contains("Sign in to review"), "{url}: {page}");
            assert!(!page.contains(&lead), "{url} showed the draft: {page}");
        }
        let entry = drafts::draft_digest(&draft).expect("digest").lead.entry_id;
        let r = post_form(
            &c,
            &format!("{web}editor/draft/{key}"),
            cookie,
            &format!("action=remove&entry={entry}&version=1&csrf=x"),
        )
        .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    assert_eq!(desk_state(&env), before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_goes_only_to_editors_works_once_and_makes_a_strict_http_only_session() {
    let (env, smtp, web, draft) = desk().await;
    let c = super::client();
    // A stranger gets the same page and no mail.
    let stranger = post_form(
        &c,
        &format!("{web}editor/sign-in"),
        None,
        "email=eve%40example.org",
    )
    .await;
    assert_eq!(stranger.status().as_u16(), 200);
    let stranger_page = stranger.text().await.expect("body");
    let r = post_form(
        &c,
        &format!("{web}editor/sign-in"),
        None,
        "email=ed%40example.org",
    )
    .await;
    let editor_page = r.text().await.expect("body");
    assert_eq!(
        stranger_page, editor_page,
        "the answer never tells an editor apart"
    );
    let link = wait_for("the sign-in link", || {
        sign_in_links(&smtp, "ed@example.org", &web)
            .first()
            .cloned()
    })
    .await;
    assert!(
        smtp.mails().iter().all(|m| m.to != ["eve@example.org"]),
        "nothing went to the stranger"
    );
    // A GET (a mail scanner) signs nobody in; the button's POST does, once.
    let (status, _) = get_with(&c, &link, None).await;
    assert_eq!(status, 200);
    let (status, _) = get_with(&c, &link, None).await;
    assert_eq!(status, 200, "a GET does not use the link up");
    let r = post_form(&c, &link, None, "").await;
    assert_eq!(r.status().as_u16(), 303);
    let set = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Max-Age=43200",
        "Path=/",
    ] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    let value = set
        .strip_prefix("feedbrief_editor=")
        .and_then(|v| v.split(';').next())
        .expect("value")
        .to_string();
    let stored = desk_state(&env);
    assert!(!stored.contains(&value), "the session is stored hashed");
    let reused = post_form(&c, &link, None, "").await;
    assert_eq!(reused.status().as_u16(), 410);
    assert!(reused.headers().get("set-cookie").is_none());
    // The session opens the newest draft.
    let (status, _) = get_with(&c, &format!("{web}editor"), Some(&value)).await;
    assert_eq!(status, 303);
    let (status, page) = get_with(
        &c,
        &format!("{web}editor/draft/{}", env.app.secret.draft_key(draft.id)),
        Some(&value),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let lead = drafts::draft_digest(&draft).expect("digest").lead.title;
    assert!(page.contains(&feedbrief_escape(&lead)), "{page}");
}

/// `s` as the pages escape it.
fn feedbrief_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_forged_sign_in_link_is_refused_and_signs_nobody_in() {
    let (env, _smtp, web, _draft) = desk().await;
    let c = super::client();
    let now = Utc::now();
    let id = env
        .app
        .store()
        .create_signin_link(
            "ed@example.org",
            now - chrono::Duration::minutes(20),
            now - chrono::Duration::minutes(5),
        )
        .expect("link");
    let token = env.app.secret.signin_token(id, "ed@example.org");
    let before = desk_state(&env);
    let r = post_form(&c, &format!("{web}editor/sign-in/{token}"), None, "").await;
    assert_eq!(r.status().as_u16(), 410);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.expect("body").contains("expired"));
    let forged = format!("{id}.{}", "0".repeat(32));
    let r = post_form(&c, &format!("{web}editor/sign-in/{forged}"), None, "").await;
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers().get("set-cookie").is_none());
    let other = feedbrief::token::Secret::from_bytes(b"another brief's secret, 32 bytes")
        .signin_token(id, "ed@example.org");
    let r = post_form(&c, &format!("{web}editor/sign-in/{other}"), None, "").await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(desk_state(&env), before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_csrf_token_and_an_unknown_or_foreign_draft_id_are_refused_and_change_nothing()
 {
    let (env, smtp, web, draft) = desk().await;
    let c = super::client();
    let ed = sign_in(&c, &web, &smtp, "ed@example.org").await;
    let ann = sign_in(&c, &web, &smtp, "ann.editor@example.org").await;
    let key = env.app.secret.draft_key(draft.id);
    let url = format!("{web}editor/draft/{key}");
    let (_, ann_page) = get_with(&c, &url, Some(&ann)).await;
    let (ann_csrf, _) = form_fields(&ann_page);
    let (_, page) = get_with(&c, &url, Some(&ed)).await;
    let (csrf, version) = form_fields(&page);
    assert_ne!(csrf, ann_csrf, "a token is tied to its session");
    let entry = drafts::draft_digest(&draft).expect("digest").sections[0].stories[0].entry_id;
    let before = desk_state(&env);
    let remove = |csrf: &str| format!("action=remove&entry={entry}&version={version}{csrf}");
    for form in [
        remove(""),
        remove("&csrf="),
        remove(&format!("&csrf={ann_csrf}")),
    ] {
        let r = post_form(&c, &url, Some(&ed), &form).await;
        assert_eq!(r.status().as_u16(), 403, "{form}");
    }
    let other = feedbrief::token::Secret::from_bytes(b"another brief's secret, 32 bytes");
    for bad in [
        other.draft_key(draft.id),
        env.app.secret.draft_key(draft.id + 1000),
        format!("{}.{}", draft.id, "0".repeat(32)),
        draft.id.to_string(),
    ] {
        let bad_url = format!("{web}editor/draft/{bad}");
        let r = post_form(&c, &bad_url, Some(&ed), &remove(&format!("&csrf={csrf}"))).await;
        assert_eq!(r.status().as_u16(), 404, "{bad}");
        let (status, _) = get_with(&c, &bad_url, Some(&ed)).await;
        assert_eq!(status, 404, "{bad}");
    }
    assert_eq!(desk_state(&env), before, "nothing changed");
    // The same form with its own token works.
    let r = post_form(&c, &url, Some(&ed), &remove(&format!("&csrf={csrf}"))).await;
    assert_eq!(r.status().as_u16(), 200);
    let after = env
        .app
        .store()
        .draft(draft.id)
        .expect("read")
        .expect("there");
    assert_eq!(after.version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_editor_saving_on_a_stale_page_is_refused_and_told_what_changed() {
    let (env, smtp, web, draft) = desk().await;
    let c = super::client();
    let ed = sign_in(&c, &web, &smtp, "ed@example.org").await;
    let ann = sign_in(&c, &web, &smtp, "ann.editor@example.org").await;
    let url = format!("{web}editor/draft/{}", env.app.secret.draft_key(draft.id));
    let (_, ed_page) = get_with(&c, &url, Some(&ed)).await;
    let (_, ann_page) = get_with(&c, &url, Some(&ann)).await;
    let (ed_csrf, v) = form_fields(&ed_page);
    let (ann_csrf, _) = form_fields(&ann_page);
    let digest = drafts::draft_digest(&draft).expect("digest");
    let (first, second) = (digest.sections[0].stories[0].clone(), digest.lead.entry_id);
    let r = post_form(
        &c,
        &url,
        Some(&ed),
        &format!(
            "action=remove&entry={}&version={v}&csrf={ed_csrf}",
            first.entry_id
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let r = post_form(
        &c,
        &url,
        Some(&ann),
        &format!("action=remove&entry={second}&version={v}&csrf={ann_csrf}"),
    )
    .await;
    assert_eq!(r.status().as_u16(), 409);
    let page = r.text().await.expect("body");
    assert!(page.contains("another editor changed this issue"), "{page}");
    assert!(page.contains("ed@example.org"), "{page}");
    assert!(
        page.contains(&feedbrief_escape(&first.title)),
        "what changed: {page}"
    );
    let stored = drafts::draft_digest(
        &env.app
            .store()
            .draft(draft.id)
            .expect("read")
            .expect("there"),
    )
    .expect("digest");
    assert_eq!(
        stored.lead.entry_id, second,
        "Ann's stale removal was not applied"
    );
    assert!(
        stored.stories().all(|s| s.entry_id != first.entry_id),
        "Ed's was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_requests_are_limited_per_address() {
    let (_env, smtp, web, _draft) = desk().await;
    let c = super::client();
    for _ in 0..7 {
        let r = post_form(
            &c,
            &format!("{web}editor/sign-in"),
            None,
            "email=ed%40example.org",
        )
        .await;
        assert_eq!(r.status().as_u16(), 200);
    }
    wait_for("five sign-in links", || {
        (sign_in_links(&smtp, "ed@example.org", &web).len() >= 5).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sign_in_links(&smtp, "ed@example.org", &web).len(), 5);
}

// ─── The whole flow in a real browser (headless Chromium through chromedriver) ─────────

/// Where the browser test writes its screenshots.
fn screenshots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("review");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Whether the page scrolls sideways (its content wider than the window).
async fn scrolls_sideways(s: &super::webdriver::Session) -> (bool, serde_json::Value) {
    let v = s
        .script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        )
        .await;
    let (scroll, client) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
    (scroll > client, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_an_editor_signs_in_by_mail_edits_adds_approves_and_members_get_exactly_that()
{
    let test =
        "in_a_browser_an_editor_signs_in_by_mail_edits_adds_approves_and_members_get_exactly_that";
    let Some(binary) = super::webdriver::chromedriver() else {
        super::look::skip(
            test,
            "chromedriver is not installed (Debian: chromium-driver)",
        );
        return;
    };
    // The web endpoints' address is known before the config: links in mail point at it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let web = format!("http://{}/", listener.local_addr().expect("addr"));
    let mut http = String::new();
    let (env, smtp) = review_env_with(|h, port| {
        http = h.to_string();
        review_config(h, port, "hold").replace(PUBLIC, &web)
    })
    .await;
    let draft = build_draft(&env).await;
    tokio::spawn(feedbrief::web::serve(
        Arc::clone(&env.app),
        listener,
        CancellationToken::new(),
    ));
    let digest = drafts::draft_digest(&draft).expect("digest");
    let removed = digest.sections[0].stories[0].clone();
    let edited = digest
        .stories()
        .find(|s| s.entry_id != removed.entry_id && s.entry_id != digest.lead.entry_id)
        .expect("a story to edit")
        .clone();
    let new_summary = "Edited in the browser: the editor rewrote this summary for members.";
    let draft_link = format!("{web}editor/draft/{}", env.app.secret.draft_key(draft.id));
    let mailed = decoded(&smtp.mails()[0].data);
    assert!(mailed.contains(&draft_link), "{mailed}");

    let driver = super::webdriver::Driver::start(&binary).await;
    let s = driver.session(1200, 900).await;
    // The mailed draft link, without a session: the sign-in page.
    s.goto(&draft_link).await;
    s.source_with("Sign in to review").await;
    s.find("#email").await.send_keys("ed@example.org").await;
    s.find("form button[type=submit]").await.click().await;
    s.source_with("Check your inbox").await;
    let link = wait_for("the sign-in link", || {
        sign_in_links(&smtp, "ed@example.org", &web)
            .first()
            .cloned()
    })
    .await;
    s.goto(&link).await;
    s.find("#sign-in").await.click().await;
    s.source_with("Not approved yet").await;
    let url = s.current_url().await;
    assert!(
        url.contains("/editor/draft/"),
        "signed in and sent to the draft: {url}"
    );
    assert!(s.source().await.contains("Not approved yet"));
    std::fs::write(screenshots().join("desk-1200.png"), s.screenshot().await).expect("png");

    // Remove a story.
    s.find(&format!("#story-{} button.danger", removed.entry_id))
        .await
        .click()
        .await;
    let page = s.source_with("id=\"notice\"").await;
    assert!(page.contains("Saved."), "{page}");
    assert!(!page.contains(&format!("id=\"story-{}\"", removed.entry_id)));
    // Edit a summary.
    let field = s.find(&format!("#summary-{}", edited.entry_id)).await;
    field.clear().await;
    field.send_keys(new_summary).await;
    s.find(&format!("#save-{}", edited.entry_id))
        .await
        .click()
        .await;
    let page = s
        .source_with(&format!("<p class=\"summary\">{new_summary}</p>"))
        .await;
    assert!(page.contains("Saved."), "{page}");
    // Add a story by URL from the test HTTP server.
    s.find("#add-url")
        .await
        .send_keys(&format!("{http}/articles/busy-7.html"))
        .await;
    s.find("#add").await.click().await;
    let page = s.source_with("Busy Story Number 7").await;
    assert!(page.contains("Saved."), "{page}");
    assert!(
        page.contains("<table id=\"changes\">"),
        "every change shown"
    );

    // The page at 375 px: no sideways scroll, forms usable.
    s.resize(375, 812).await;
    s.goto(&draft_link).await;
    s.source_with("Not approved yet").await;
    let (sideways, widths) = scrolls_sideways(&s).await;
    std::fs::write(screenshots().join("desk-375.png"), s.screenshot().await).expect("png");
    assert!(
        !sideways,
        "the review page scrolls sideways at 375 px: {widths}"
    );
    s.find("button[value=approve]").await.click().await;
    s.source_with("Approved by ed@example.org").await;
    s.quit().await;
    drop(driver);

    // The slot: members get exactly the approved issue.
    let sent = once_at(&env.app, at("2026-11-27T19:05:00Z")).await;
    assert!(
        sent.to_string().contains("sent as an editor approved it"),
        "{sent}"
    );
    let members = member_mails(&smtp);
    assert_eq!(members.len(), 3, "{sent}");
    let ann = members
        .iter()
        .find(|m| m.to == ["ann@example.org"])
        .map(|m| decoded(&m.data))
        .expect("ann's issue");
    assert!(!ann.contains(&removed.title), "removed: {ann}");
    assert!(ann.contains(new_summary), "edited: {ann}");
    assert!(
        ann.contains("Busy Story Number 7 About Budget Season"),
        "added: {ann}"
    );
}

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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&review_config(&http, smtp.port, "send"), MEMBERS);
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let config = review_config(&http, smtp.port, "hold");
    let env = open(&config, MEMBERS);
    let draft = build_draft(&env).await;
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&review_config(&http, smtp.port, "send"), MEMBERS);
    let draft = build_draft(&env).await;
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&review_config(&http, smtp.port, "hold"), MEMBERS);
    let draft = build_draft(&env).await;
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&review_config(&http, smtp.port, "send"), MEMBERS);
    let draft = build_draft(&env).await;
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let config = review_config(&http, smtp.port, "hold")
        .replace("review = \"required\"", "review = \"off\"");
    let env = open(&config, MEMBERS);
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
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(&review_config(&http, smtp.port, "hold"), MEMBERS);
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
    assert!(text.contains("filtered"), "{text}");
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

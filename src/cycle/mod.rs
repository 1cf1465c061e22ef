//! One cycle's orchestration: members → refresh feeds → story pages → digest → delivery,
//! for `once` and for each of the daemon's schedule slots. The stages live beside it:
//! [`refresh`] (feeds), [`pages`] (article pages), [`digest`] (choose and record),
//! [`drafts`] (review before sending: the draft before the slot, the slot's decision) and
//! [`report`]; delivery is [`crate::mail::delivery`]. Orchestration calls the stages; they
//! never call back up into it.

pub mod digest;
pub mod drafts;
pub mod pages;
pub mod refresh;
pub mod report;
pub mod weekly;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::mail::delivery::{deliver_pending, mail_attention};
use crate::mail::transport::Sender;
use crate::members;

pub use digest::{
    filtered_counts, learned_weights, next_digest, oldest_selectable, record_digest,
    record_digest_for_slot,
};
pub use pages::{entry_from_feed, fetch_story_pages, page_update};
pub use refresh::{attention_after, fetch_all, fetch_all_with_progress, next_fetch_at};
pub use report::{
    CycleReport, DeliveryReport, DigestOutcome, FeedFiltered, FeedOutcome, FeedResult, FetchReport,
    FilteredReport, MembersReport, PagesReport,
};

/// Reads the members file (when configured and present) into the store.
pub fn import_members(app: &App, now: DateTime<Utc>) -> anyhow::Result<MembersReport> {
    let mut report = MembersReport::default();
    if let Some(path) = &app.config.members.file {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let r = import_members_text(app, &text, now)?;
                report = MembersReport {
                    file: Some(path.display().to_string()),
                    ..r
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(file = %path.display(), "no members file; using the members already stored");
            }
            Err(e) => report
                .errors
                .push(format!("cannot read {}: {e}", path.display())),
        }
    }
    report.active = app
        .store()
        .members()?
        .iter()
        .filter(|m| m.status == crate::store::MemberStatus::Active)
        .count();
    Ok(report)
}

/// Imports members from CSV text.
pub fn import_members_text(
    app: &App,
    text: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<MembersReport> {
    let sections: Vec<String> = app.config.sections.iter().map(|s| s.name.clone()).collect();
    let (rows, problems) = members::parse_csv(text, &sections);
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for e in &problems {
        tracing::warn!(line = e.line, fate = ?e.fate, "members: {}", e.message);
        match e.fate {
            members::RowFate::Skipped => errors.push(e.to_string()),
            members::RowFate::Imported => warnings.push(e.to_string()),
        }
    }
    let counts = app.store().import_members(&rows, now)?;
    Ok(MembersReport {
        file: None,
        counts,
        errors,
        warnings,
        active: 0,
    })
}

/// One whole cycle: members, fetch, digest, delivery.
///
/// With `[brief] review = "required"` (and sending), `once` keeps to the schedule as the
/// daemon does: when a slot is due (within `catch_up`, not handled yet) it does what the
/// slot does with its draft and marks the slot handled; otherwise it builds the next
/// slot's draft once within `review_lead` of it, and sends nothing new.
pub async fn once(
    app: &Arc<App>,
    now: DateTime<Utc>,
    send: bool,
    cancel: &CancellationToken,
) -> anyhow::Result<CycleReport> {
    if !(send && app.config.brief.review.required) {
        return cycle(app, now, send, None, cancel).await;
    }
    let due = app
        .blocking("finding the due slot", move |app| {
            crate::daemon::due_slot(app, now)
        })
        .await?;
    let report = cycle(app, now, send, due, cancel).await;
    if let Some(slot) = due {
        app.blocking("recording the slot", move |app| {
            crate::daemon::mark_slot_handled(app, slot)
        })
        .await?;
    }
    report
}

/// One whole cycle for a schedule `slot` (the daemon), or for no slot (`once`).
pub async fn cycle(
    app: &Arc<App>,
    now: DateTime<Utc>,
    send: bool,
    slot: Option<DateTime<Utc>>,
    cancel: &CancellationToken,
) -> anyhow::Result<CycleReport> {
    let started = Instant::now();
    let mut report = CycleReport {
        no_send: !send,
        ..CycleReport::default()
    };
    report.members = app
        .blocking("importing members", move |app| import_members(app, now))
        .await?;
    report.fetch = fetch_all(app, now, true, cancel).await?;
    let sender = if send {
        Some(Arc::new(Sender::new(
            &app.config.delivery.transport,
            app.config.delivery.connections,
            app.config.delivery.timeout,
        )?))
    } else {
        None
    };
    // Leftovers from an interrupted or deferred earlier send go out before anything new.
    if let Some(sender) = &sender {
        report.delivery = deliver_pending(app, sender, cancel).await?;
    }
    let digest = if cancel.is_cancelled() {
        None
    } else {
        // Pages an interrupted earlier fetch left unread are read before the digest is
        // built (a fetch that found new entries has just read them).
        if report.fetch.new_entries() == 0 {
            let more = fetch_story_pages(app, now, cancel).await?;
            report.fetch.pages.read += more.read;
            report.fetch.pages.errors.extend(more.errors);
            report.fetch.pages.unread = more.unread;
        }
        // With review on, the slot sends its draft (or nothing), and a run with no slot
        // due builds the next slot's draft instead of a digest.
        let review = send && app.config.brief.review.required;
        if review
            && slot.is_none()
            && let Some(built) = drafts::prepare_draft(app, now, cancel).await?
        {
            report.digest = DigestOutcome::Drafted {
                id: built.id,
                slot: built.slot,
                stories: built.stories,
                mailed: built.mailed,
            };
        }
        let (digest, filtered, outcome) = app
            .blocking("choosing the digest", move |app| {
                let (digest, outcome) = match slot.filter(|_| review) {
                    Some(slot) => match drafts::at_slot(app, now, slot)? {
                        drafts::AtSlot::Send(d, why) => (Some(*d), Some(Ok(why))),
                        drafts::AtSlot::Held => (None, Some(Err(DigestOutcome::Held { slot }))),
                        drafts::AtSlot::Skipped => {
                            (None, Some(Err(DigestOutcome::SkippedByEditor { slot })))
                        }
                        drafts::AtSlot::Nothing => (None, None),
                    },
                    None if review => (None, None),
                    None => (next_digest(app, now)?, None),
                };
                // Counted before the digest is recorded: recording moves the window on.
                let mut filtered = filtered_counts(app, now)?;
                filtered.retain(|c| c.since_last_digest);
                Ok((
                    digest,
                    report::FilteredReport::new(&app.config, &filtered),
                    outcome,
                ))
            })
            .await?;
        report.filtered = filtered;
        match outcome {
            Some(Ok(why)) => report.reviewed = Some(why),
            Some(Err(outcome)) => report.digest = outcome,
            None => {}
        }
        digest
    };
    if let Some(digest) = digest {
        let (subject, stories) = (digest.lead.title.clone(), digest.stories().count());
        let id = if send {
            Some(
                app.blocking("recording the digest", move |app| {
                    record_digest_for_slot(app, &digest, now, slot)
                })
                .await?,
            )
        } else {
            None
        };
        report.digest = DigestOutcome::Built {
            id,
            subject,
            stories,
        };
        if let Some(sender) = &sender {
            let more = deliver_pending(app, sender, cancel).await?;
            let r = &mut report.delivery;
            r.sent += more.sent;
            r.deferred += more.deferred;
            r.failed += more.failed;
            r.skipped += more.skipped;
            r.taken_over += more.taken_over;
            r.errors.extend(more.errors);
        }
    }
    if let Some(sender) = &sender {
        report.attention_mailed = mail_attention(app, sender, &report.fetch, now).await;
        sender.close().await;
    }
    app.metrics
        .cycle_done(now, started.elapsed(), report.fetch.elapsed);
    Ok(report)
}

//! `review`: the draft waiting for the next slot, in a terminal (issue #15) — list it,
//! remove, move or lead a story by its number, approve, skip. Each change goes through
//! the same path as the review page ([`crate::cycle::drafts::edit_draft`] and
//! [`crate::cycle::drafts::decide`]) and is recorded as made by `terminal (<user>)`.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;

use super::{Failure, Outcome, open_app};
use crate::app::App;
use crate::cycle::drafts::{self, Decision, Edited};
use crate::review::{self, Edit};
use crate::store::Draft;

/// What `feedbrief review` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print the draft.
    List,
    /// Take story N out.
    Remove(usize),
    /// Move story N to a section.
    Move(usize, String),
    /// Make story N the lead.
    Lead(usize),
    /// Approve the draft as it stands.
    Approve,
    /// Send nothing at the draft's slot.
    Skip,
}

/// Who the record names for a change made here.
fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("terminal ({user})")
}

/// The draft still to be sent for the newest slot, or a usage failure saying why not.
fn open_draft(app: &App) -> Result<Draft, Failure> {
    let draft = app.store().latest_draft()?;
    match draft {
        Some(d) if d.sent_digest.is_none() => Ok(d),
        Some(d) => Err(Failure::Usage(anyhow::anyhow!(
            "the newest draft (for {}) was sent as digest #{}; the next draft is built {} before the next slot",
            d.slot.to_rfc3339(),
            d.sent_digest.unwrap_or_default(),
            humantime::format_duration(app.config.brief.review.lead)
        ))),
        None => Err(Failure::Usage(anyhow::anyhow!(
            "no draft yet: with [brief] review = \"required\" the daemon (or `feedbrief once`) builds one {} before each slot",
            humantime::format_duration(app.config.brief.review.lead)
        ))),
    }
}

/// `feedbrief review [ACTION]`.
pub fn review(config_path: &Path, action: &Action) -> Outcome {
    let app = open_app(config_path)?;
    let draft = open_draft(&app)?;
    let digest = drafts::draft_digest(&draft)?;
    let number = |n: usize| {
        review::entry_of(&digest, n).ok_or_else(|| {
            Failure::Usage(anyhow::anyhow!(
                "there is no story {n}; `feedbrief review` lists them (1 to {})",
                digest.stories().count()
            ))
        })
    };
    let now = Utc::now();
    let (id, version, editor) = (draft.id, draft.version, who());
    let done = match action {
        Action::List => {
            // Since the last digest as of the draft's building, as the review page counts.
            let filtered: i64 = crate::cycle::filtered_counts(&app, draft.created_at)?
                .iter()
                .filter(|c| c.since_last_digest)
                .map(|c| c.count)
                .sum();
            println!(
                "draft #{id} for {} ({}, version {version})",
                draft
                    .slot
                    .with_timezone(&app.config.brief.timezone)
                    .format("%a %b %-d %H:%M %Z"),
                draft.state
            );
            print!(
                "{}",
                review::listing(&digest, usize::try_from(filtered).unwrap_or(0))
            );
            if let Some(url) = drafts::draft_url(&app, id) {
                println!("review page: {url}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Action::Remove(n) => {
            drafts::edit_draft(&app, id, version, &editor, now, &Edit::Remove(number(*n)?))?
        }
        Action::Move(n, section) => drafts::edit_draft(
            &app,
            id,
            version,
            &editor,
            now,
            &Edit::Move {
                entry: number(*n)?,
                section: section.clone(),
            },
        )?,
        Action::Lead(n) => {
            drafts::edit_draft(&app, id, version, &editor, now, &Edit::Lead(number(*n)?))?
        }
        Action::Approve => drafts::decide(&app, id, version, &editor, now, Decision::Approve)?,
        Action::Skip => drafts::decide(&app, id, version, &editor, now, Decision::Skip)?,
    };
    match done {
        Edited::Saved(v) => {
            let what = match action {
                Action::Approve => "approved: the slot sends it as it stands now".to_string(),
                Action::Skip => "skipped: nothing is sent at this slot".to_string(),
                _ => "saved".to_string(),
            };
            println!("draft #{id} {what} (version {v})");
            Ok(ExitCode::SUCCESS)
        }
        Edited::Stale(changes) => {
            let mut msg = format!("draft #{id} changed while this ran; nothing saved. Changes:");
            for c in changes {
                msg.push_str(&format!(
                    "\n  {} by {}: {}",
                    c.at.to_rfc3339(),
                    c.editor,
                    c.action
                ));
            }
            Err(Failure::Runtime(anyhow::anyhow!("{msg}\nrun it again")))
        }
        Edited::Refused(e) => Err(Failure::Usage(anyhow::anyhow!("{e}"))),
        Edited::Closed => Err(Failure::Usage(anyhow::anyhow!(
            "draft #{id} was sent or skipped; it changes no more"
        ))),
        Edited::Unknown => Err(Failure::Runtime(anyhow::anyhow!("draft #{id} vanished"))),
    }
}

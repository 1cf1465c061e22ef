//! Choosing and recording a digest: the stored candidates since the last digest →
//! [`crate::select`] → the digest with its stories' summaries, recorded with a delivery
//! owed to every active member.

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::select::{self, Digest};

fn first_window(app: &App) -> chrono::Duration {
    chrono::Duration::from_std(app.config.brief.first_window).unwrap_or(chrono::Duration::hours(24))
}

/// The oldest publication time a story may have and still be selected: a feed added today
/// brings its backlog, and only posts from the window before the last digest (or, before
/// any digest, before the first window) qualify.
pub fn oldest_selectable(app: &App, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let window = first_window(app);
    let since = match app.store().last_digest()? {
        Some(last) => last.created_at,
        None => now - window,
    };
    Ok(since - window)
}

/// Selects the next digest from stored entries without recording anything.
pub fn next_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<Option<Digest>> {
    let oldest = oldest_selectable(app, now)?;
    let store = app.store();
    let last = store.last_digest()?;
    let window = first_window(app);
    let (after, since) = match last {
        Some(last) => (Some(last.max_entry_id), last.created_at),
        None => (None, now - window),
    };
    let candidates = store.candidates(after, since)?;
    // Stories of the last month's digests are not sent again through another feed.
    let recently_sent = store.recently_sent(now - chrono::Duration::days(30))?;
    let Some(mut digest) = select::select(&app.config, &candidates, &recently_sent, oldest, now)
    else {
        return Ok(None);
    };
    drop(candidates);
    // Summaries are loaded for the chosen dozen only, not for every candidate.
    let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    let mut summaries = store.summaries(&ids)?;
    for story in std::iter::once(&mut digest.lead).chain(
        digest
            .sections
            .iter_mut()
            .flat_map(|s| s.stories.iter_mut()),
    ) {
        story.summary = summaries.remove(&story.entry_id);
    }
    Ok(Some(digest))
}

/// Records `digest` with a pending delivery for every active member; returns its id.
pub fn record_digest(app: &App, digest: &Digest, now: DateTime<Utc>) -> anyhow::Result<i64> {
    record_digest_for_slot(app, digest, now, None)
}

/// Records `digest` for a schedule slot (the database refuses a second digest for a slot).
pub fn record_digest_for_slot(
    app: &App,
    digest: &Digest,
    now: DateTime<Utc>,
    slot: Option<DateTime<Utc>>,
) -> anyhow::Result<i64> {
    let content = serde_json::to_string(digest).context("serialising the digest")?;
    let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    app.store().create_digest(
        now,
        digest.high_water,
        &digest.lead.title,
        &content,
        &ids,
        slot,
    )
}

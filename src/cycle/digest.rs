//! Choosing and recording a digest: the stored candidates since the last digest, judged
//! by the filters → [`crate::select`] → the digest with its stories' summaries and the
//! week's most read stories, recorded with a delivery owed to every active member.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::config::Config;
use crate::filter;
use crate::members::Frequency;
use crate::select::{self, Digest};
use crate::store::Store;

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

/// The window of the next digest's candidates: after the last digest's highest entry id,
/// or (before any digest) first seen since `now - first_window`.
fn window(
    app: &App,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<(Option<i64>, DateTime<Utc>)> {
    Ok(match store.last_digest()? {
        Some(last) => (Some(last.max_entry_id), last.created_at),
        None => (None, now - first_window(app)),
    })
}

/// Judges every entry since the last digest by the filters of `config` as it is now (a
/// filter added, changed or removed applies to them at once) and stores each one's "why"
/// where it changed. Returns how many verdicts changed.
fn judge(
    config: &Config,
    store: &Store,
    after: Option<i64>,
    since: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let feeds: HashMap<&str, &filter::Lists> = config
        .feeds
        .iter()
        .rev() // the first feed of a URL wins, as in selection
        .map(|f| (f.url.as_str(), &f.filter))
        .collect();
    let any = !config.brief.filter.is_empty() || feeds.values().any(|l| !l.is_empty());
    let none = filter::Lists::default();
    store.judge_entries(after, since, any, |feed_url, title, summary| {
        // A feed no longer configured is not selected anyway; its entries are judged by
        // the brief's lists alone.
        let feed = feeds.get(feed_url).copied().unwrap_or(&none);
        filter::judge(&config.brief.filter, feed, title, summary)
    })
}

/// Filtered entries not released, by feed and list, as the last selection judged them;
/// those since the last digest (judged again at the next selection) flagged apart from
/// those an earlier digest passed over.
pub fn filtered_counts(
    app: &App,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<crate::store::FilteredCount>> {
    let store = app.store();
    let (after, since) = window(app, &store, now)?;
    store.filtered_counts(after, since)
}

/// What ranking learned of each feed (by row id) from the clicks on the digests of the
/// last [`select::LEARN_WINDOW`] before `now`; empty when nothing was clicked.
pub fn learned_weights(
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<HashMap<i64, select::ClickWeight>> {
    let reach = store.feed_reach(now - select::LEARN_WINDOW)?;
    Ok(select::click_weights(&reach, now))
}

/// Selects the next digest from stored entries, recording nothing but the filters'
/// verdicts (each entry since the last digest is judged again first).
pub fn next_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<Option<Digest>> {
    let oldest = oldest_selectable(app, now)?;
    let store = app.store();
    let (after, since) = window(app, &store, now)?;
    judge(&app.config, &store, after, since)?;
    let candidates = store.candidates(after, since)?;
    // Stories of the last month's digests are not sent again through another feed.
    let recently_sent = store.recently_sent(now - chrono::Duration::days(30))?;
    let learned = learned_weights(&store, now)?;
    let Some(mut digest) = select::select_learned(
        &app.config,
        &candidates,
        &recently_sent,
        oldest,
        now,
        &learned,
    ) else {
        return Ok(None);
    };
    drop(candidates);
    crate::app::return_freed_memory();
    // Summaries and pictures are loaded for the chosen dozen only, not for every candidate.
    let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    let mut summaries = store.summaries(&ids)?;
    let mut pictures = store.pictures(&ids)?;
    for story in std::iter::once(&mut digest.lead).chain(
        digest
            .sections
            .iter_mut()
            .flat_map(|s| s.stories.iter_mut()),
    ) {
        story.summary = summaries.remove(&story.entry_id);
        story.image = pictures.remove(&story.entry_id);
    }
    if app.config.brief.reading.most_read {
        digest.most_read = store
            .most_read(
                now - select::MOST_READ_WINDOW,
                now,
                &ids,
                select::MOST_READ_STORIES,
            )?
            .into_iter()
            .map(|r| select::MostRead {
                entry_id: r.entry_id,
                title: r.title,
                url: r.url,
                source: r.source,
                clicks: r.clicks,
            })
            .collect();
    }
    Ok(Some(digest))
}

/// Records `digest` with a pending delivery for every active member; returns its id.
pub fn record_digest(app: &App, digest: &Digest, now: DateTime<Utc>) -> anyhow::Result<i64> {
    record_digest_for_slot(app, digest, now, None)
}

/// Records `digest` for a schedule slot (the database refuses a second digest for a slot).
/// With `[brief] weekly` set it is owed to the members who chose every digest; without,
/// to every active member.
pub fn record_digest_for_slot(
    app: &App,
    digest: &Digest,
    now: DateTime<Utc>,
    slot: Option<DateTime<Utc>>,
) -> anyhow::Result<i64> {
    record_edition(app, digest, &digest.lead.title, now, slot, Frequency::Daily)
}

/// Records the weekly edition `digest` for schedule slot `slot` (the database refuses a
/// second weekly edition for a slot), owed to the members who chose it; its subject is
/// "<brief name> weekly: <lead headline>".
pub fn record_weekly_for_slot(
    app: &App,
    digest: &Digest,
    now: DateTime<Utc>,
    slot: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let subject = format!(
        "{}{}",
        crate::mail::delivery::weekly_subject_prefix(&app.config.brief.name),
        digest.lead.title
    );
    record_edition(app, digest, &subject, now, Some(slot), Frequency::Weekly)
}

fn record_edition(
    app: &App,
    digest: &Digest,
    subject: &str,
    now: DateTime<Utc>,
    slot: Option<DateTime<Utc>>,
    edition: Frequency,
) -> anyhow::Result<i64> {
    let content = serde_json::to_string(digest).context("serialising the digest")?;
    let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    app.store().create_edition(
        now,
        digest.high_water,
        subject,
        &content,
        &ids,
        slot,
        edition,
        app.config.brief.weekly.is_some(),
    )
}

//! Refreshing feeds: each feed's schedule (interval, TTL, backoff, Retry-After), fetching
//! and parsing one feed, storing its new entries, and the fetch stage's report. Feed
//! document → parsed entries → stored entries; one feed's failure never stops the others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::app::{App, record};
use crate::config::{Articles, Config};
use crate::cycle::digest::oldest_selectable;
use crate::cycle::pages::{apply_page, entry_from_feed, fetch_story_pages, page_known};
use crate::cycle::report::{FeedOutcome, FeedResult, FetchReport};
use crate::fetch::{FetchError, Outcome};
use crate::parse::{self, ParsedEntry};

/// When to fetch a feed again after a fetch at `now`.
///
/// Success: the configured interval, stretched (never shortened) by the feed's `<ttl>`
/// and `Cache-Control: max-age`, at most a day. Failure: the interval doubled per
/// consecutive failure, at most a day, and never before a `Retry-After`. Pure.
pub fn next_fetch_at(
    now: DateTime<Utc>,
    interval: Duration,
    ttl: Option<Duration>,
    max_age: Option<Duration>,
    failures: u32,
    retry_after: Option<Duration>,
) -> DateTime<Utc> {
    const DAY: Duration = Duration::from_secs(86_400);
    let wait = if failures == 0 {
        interval
            .max(ttl.unwrap_or_default())
            .max(max_age.unwrap_or_default())
            .min(DAY.max(interval))
    } else {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        interval
            .saturating_mul(factor)
            .min(DAY)
            .max(retry_after.unwrap_or_default())
    };
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1))
}

/// `[fetch] attention_after` as a time span: how long a feed may fail before the editor
/// is told.
pub fn attention_after(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.fetch.attention_after).unwrap_or(chrono::Duration::days(1))
}

/// Fetches every feed concurrently, stores new entries with their summaries, and reports
/// per feed. One feed's failure never stops the others.
///
/// `force` fetches every feed now (`once`, `fetch`); otherwise (the daemon) a feed waits
/// for its own next fetch time. A `Retry-After` and a 410 are honoured either way.
pub async fn fetch_all(
    app: &Arc<App>,
    now: DateTime<Utc>,
    force: bool,
    cancel: &CancellationToken,
) -> anyhow::Result<FetchReport> {
    fetch_all_with_progress(app, now, force, cancel, &|_| {}).await
}

/// [`fetch_all`], calling `on_feed` as each feed finishes (for a progress bar).
pub async fn fetch_all_with_progress(
    app: &Arc<App>,
    now: DateTime<Utc>,
    force: bool,
    cancel: &CancellationToken,
    on_feed: &(dyn Fn(&FeedResult) + Sync),
) -> anyhow::Result<FetchReport> {
    let started = Instant::now();
    let pairs: Vec<(String, String)> = app
        .config
        .feeds
        .iter()
        .map(|f| (f.url.to_string(), f.name.clone()))
        .collect();
    let states = app.store().sync_feeds(&pairs)?;
    let attention_after = attention_after(&app.config);
    // The futures are built eagerly: a lazily mapping closure that borrows `app` would
    // make this future non-Send (rustc's higher-ranked lifetime limitation).
    let futures: Vec<_> = states
        .into_iter()
        .enumerate()
        .map(|(index, state)| {
            let app = Arc::clone(app);
            let cancel = cancel.clone();
            async move {
                let (outcome, moved_to) = if cancel.is_cancelled() {
                    (FeedOutcome::Skipped("shutting down".into()), None)
                } else {
                    fetch_one(&app, &state, now, force).await
                };
                // Read back what the fetch recorded, to say whether the feed needs attention.
                let after = app.store().feed_state(&state.url).ok().flatten();
                let attention = after.and_then(|s| s.attention(now, attention_after));
                let result = FeedResult {
                    name: state.name.clone(),
                    url: state.url.clone(),
                    outcome,
                    moved_to,
                    attention,
                };
                on_feed(&result);
                (index, result)
            }
        })
        .collect();
    // The fetcher holds requests to `[fetch] concurrency` (and `per_host`); twice as many
    // feeds are under way so that parsing and storing one never leaves a request slot idle.
    let mut results = futures::stream::iter(futures)
        .buffer_unordered(app.config.fetch.concurrency.max(1) * 2)
        .collect::<Vec<_>>()
        .await;
    results.sort_by_key(|(index, _)| *index);
    let mut report = FetchReport {
        feeds: results.into_iter().map(|(_, r)| r).collect(),
        ..FetchReport::default()
    };
    // New entries may outrank the stories chosen so far: read the pages of those that do.
    if report.new_entries() > 0 {
        // The feeds' entries are stored whatever happens here; a failure is reported.
        match fetch_story_pages(app, now, cancel).await {
            Ok(pages) => report.pages = pages,
            Err(e) => {
                tracing::error!("reading article pages: {e:#}");
                report.pages.errors.push(format!("database: {e:#}"));
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn fetch_one(
    app: &Arc<App>,
    state: &crate::store::FeedState,
    now: DateTime<Utc>,
    force: bool,
) -> (FeedOutcome, Option<String>) {
    if let Some(why) = &state.disabled {
        return (FeedOutcome::Skipped(format!("disabled: {why}")), None);
    }
    if let Some(not_before) = state.not_before
        && not_before > now
    {
        return (
            FeedOutcome::Skipped(format!(
                "the server asked us to wait (Retry-After) until {}",
                not_before.format("%Y-%m-%d %H:%M UTC")
            )),
            None,
        );
    }
    if !force && state.next_fetch_at.is_some_and(|t| t > now) {
        return (FeedOutcome::NotDue, None);
    }
    let interval = app.config.fetch.interval;
    let failures = u32::try_from(state.error_count)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let failed = |msg: String, retry_after: Option<Duration>, disabled: Option<&str>| {
        let next = next_fetch_at(now, interval, None, None, failures, retry_after);
        record(
            app.store().record_fetch(
                state.id,
                now,
                &crate::store::FetchRecord {
                    error: Some(&msg),
                    next_fetch_at: Some(next),
                    not_before: retry_after
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .map(|d| now + d),
                    disabled,
                    ..Default::default()
                },
            ),
        );
        (FeedOutcome::Failed(msg), None)
    };
    let location = state.fetch_url.as_deref().unwrap_or(&state.url);
    let Ok(url) = url::Url::parse(location) else {
        return failed(
            format!("stored URL {location:?} does not parse"),
            None,
            None,
        );
    };
    let result = match app.fetcher.get(&url, &state.validators).await {
        // A short Retry-After is worth waiting for within the cycle; a long one is not.
        Err(FetchError::RateLimited {
            retry_after: Some(d),
            ..
        }) if d <= Duration::from_secs(5) => {
            tokio::time::sleep(d).await;
            app.fetcher.get(&url, &state.validators).await
        }
        other => other,
    };
    let fetched = match result {
        Ok(Outcome::NotModified) => {
            let next = next_fetch_at(now, interval, None, None, 0, None);
            record(app.store().record_fetch(
                state.id,
                now,
                &crate::store::FetchRecord {
                    next_fetch_at: Some(next),
                    ..Default::default()
                },
            ));
            return (FeedOutcome::NotModified, None);
        }
        Ok(Outcome::Fetched(f)) => *f,
        Err(e) => {
            tracing::warn!(feed = %state.url, error = %e, "fetch failed");
            return match e {
                FetchError::RateLimited { retry_after, .. } => failed(
                    e.to_string(),
                    Some(retry_after.unwrap_or(Duration::from_secs(3600))),
                    None,
                ),
                FetchError::Gone => failed(
                    e.to_string(),
                    None,
                    Some(&format!("HTTP 410 Gone on {}", now.format("%Y-%m-%d"))),
                ),
                other => failed(other.to_string(), None, None),
            };
        }
    };
    let moved_to = fetched.moved_to.as_ref().map(|u| u.to_string());
    if let Some(to) = &moved_to {
        tracing::warn!(feed = %state.url, moved_to = %to, "feed moved permanently; update feeds.toml");
    }
    let feed_url = fetched.final_url.clone();
    let body = fetched.body;
    let parsed = match off_async("parsing the feed", move || {
        parse::parse_feed(&body, &feed_url)
    })
    .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return failed(e.to_string(), None, None),
        Err(e) => return failed(e, None, None),
    };
    let total = parsed.entries.len();
    let known = {
        let keys: Vec<&str> = parsed.entries.iter().map(|e| e.key.as_str()).collect();
        match app.store().known_keys(state.id, &keys) {
            Ok(k) => k,
            Err(e) => return (FeedOutcome::Failed(format!("database: {e:#}")), moved_to),
        }
    };
    let fresh: Vec<ParsedEntry> = parsed
        .entries
        .into_iter()
        .zip(known)
        .filter(|(_, known)| !known)
        .map(|(e, _)| e)
        .collect();
    // New entries are stored at once with their feed's text. Their article pages wait
    // until they contend for a digest ([`fetch_story_pages`]): a page is read for the
    // dozen stories a digest carries, not for every post of every feed.
    let oldest = match oldest_selectable(app, now) {
        Ok(t) => t,
        Err(e) => return (FeedOutcome::Failed(format!("database: {e:#}")), moved_to),
    };
    let articles = app.config.fetch.articles;
    let new_entries = off_async("summarizing the feed's entries", move || {
        fresh
            .into_iter()
            .map(|e| {
                // A post older than any digest can carry never contends.
                let selectable = e.published.is_none_or(|p| p >= oldest);
                entry_from_feed(e, articles != Articles::Off && selectable)
            })
            .collect::<Vec<_>>()
    })
    .await;
    // A panic is this feed's failure: its validators are not advanced, so the same
    // document is fetched and read again next time instead of its posts being lost.
    let mut new_entries = match new_entries {
        Ok(entries) => entries,
        Err(e) => return failed(e, None, None),
    };
    let store = app.store();
    // Another feed's entry may already have read this article's page.
    for e in new_entries.iter_mut().filter(|e| e.page_wanted) {
        if let Some(url) = &e.url
            && let Ok(Some(facts)) = store.page_facts(url)
        {
            apply_page(e, &page_known(facts));
        }
    }
    let inserted = match store.insert_entries(state.id, &new_entries, now) {
        Ok(n) => n,
        Err(e) => return (FeedOutcome::Failed(format!("database: {e:#}")), moved_to),
    };
    let ttl = parsed
        .ttl_minutes
        .map(|m| Duration::from_secs(u64::from(m) * 60));
    let next = next_fetch_at(now, interval, ttl, fetched.max_age, 0, None);
    record(store.record_fetch(
        state.id,
        now,
        &crate::store::FetchRecord {
            validators: Some(&fetched.validators),
            title: parsed.title.as_deref(),
            next_fetch_at: Some(next),
            moved_to: moved_to.as_deref(),
            ..Default::default()
        },
    ));
    if !parsed.repaired.is_empty() {
        tracing::info!(feed = %state.url, repairs = ?parsed.repaired, "feed needed repairs");
    }
    (
        FeedOutcome::Fetched {
            entries: total,
            new: inserted,
            repaired: parsed.repaired,
        },
        moved_to,
    )
}

/// Runs CPU work off the async threads. A panic in it comes back as an error naming the
/// stage and the panic's message, for the caller to report as that item's failure.
pub(crate) async fn off_async<T: Send + 'static>(
    stage: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        if !e.is_panic() {
            return format!("{stage} was cancelled");
        }
        let panic = e.into_panic();
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        let message = message.lines().next().unwrap_or_default();
        format!(
            "{stage} failed: feedbrief panicked ({message}); please report it with this feed's URL"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::pages::tests::PANIC_TITLE;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_while_reading_a_feed_is_its_failure_and_keeps_its_validators() {
        use axum::http::header;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let rss = format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><title>{PANIC_TITLE}</title>\
             <link>{base}/a</link><guid>a</guid></item></channel></rss>"
        );
        let router = axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move || {
                let rss = rss.clone();
                async move {
                    (
                        [
                            (header::ETAG, "\"v1\""),
                            (header::CONTENT_TYPE, "application/rss+xml"),
                        ],
                        rss,
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::parse(
            &format!(
                "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\
                 [fetch]\nallow_private_addresses = true\n\
                 [[feed]]\nname = \"F\"\nurl = \"{base}/feed.xml\"\n"
            ),
            &dir.path().join("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let app = App::open(config).expect("open");
        let report = fetch_all(&app, Utc::now(), true, &CancellationToken::new())
            .await
            .expect("fetch");
        let FeedOutcome::Failed(why) = &report.feeds[0].outcome else {
            panic!(
                "the feed is not reported failed: {:?}",
                report.feeds[0].outcome
            );
        };
        assert!(
            why.contains("feedbrief panicked") && why.contains("injected panic"),
            "{why}"
        );
        let state = app
            .store()
            .feed_state(&format!("{base}/feed.xml"))
            .expect("state")
            .expect("feed");
        assert_eq!(state.validators.etag, None, "the ETag is not advanced");
        assert_eq!(state.error_count, 1);
    }
}

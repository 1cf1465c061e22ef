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
use crate::cycle::pages::{entry_from_feed, fetch_story_pages, page_known};
use crate::cycle::report::{FeedError, FeedOutcome, FeedResult, FetchReport};
use crate::fetch::{FetchError, Outcome};
use crate::parse;
use crate::store::{FeedState, FetchRecord, NewEntry};

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
    let states = app
        .blocking("listing the feeds", move |app| {
            app.store().sync_feeds(&pairs)
        })
        .await?;
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
                let (outcome, moved_to, after) = if cancel.is_cancelled() {
                    let skipped = FeedOutcome::Skipped("shutting down".into());
                    (skipped, None, Some(state.clone()))
                } else {
                    fetch_one(&app, &state, now, force).await
                };
                // What the fetch recorded says whether the feed needs attention.
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

/// One feed: its schedule checked, the document fetched (the async part), then read and
/// stored on a blocking thread ([`read_feed`]). Returns the outcome, a permanent move, and
/// the feed's state as it stands after the fetch (read in the same blocking step).
async fn fetch_one(
    app: &Arc<App>,
    state: &FeedState,
    now: DateTime<Utc>,
    force: bool,
) -> (FeedOutcome, Option<String>, Option<FeedState>) {
    if let Some(why) = &state.disabled {
        return (
            FeedOutcome::Skipped(format!("disabled: {why}")),
            None,
            Some(state.clone()),
        );
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
            Some(state.clone()),
        );
    }
    if !force && state.next_fetch_at.is_some_and(|t| t > now) {
        return (FeedOutcome::NotDue, None, Some(state.clone()));
    }
    let location = fetch_location(
        &state.url,
        state.fetch_url.as_deref(),
        app.config.fetch.allow_private_addresses,
    );
    let result = match url::Url::parse(location) {
        Err(_) => Err(Failure::new(FeedError::BadUrl(location.to_string()))),
        Ok(url) => fetch_document(app, &url, state).await,
    };
    let (state, for_failure) = (state.clone(), state.clone());
    let done = app
        .blocking("reading the feed", move |app| {
            let (outcome, moved_to) = match result {
                Ok(Outcome::NotModified) => {
                    let next = next_fetch_at(now, app.config.fetch.interval, None, None, 0, None);
                    record(app.store().record_fetch(
                        state.id,
                        now,
                        &FetchRecord {
                            next_fetch_at: Some(next),
                            ..Default::default()
                        },
                    ));
                    (FeedOutcome::NotModified, None)
                }
                Ok(Outcome::Fetched(fetched)) => read_feed(app, &state, *fetched, now),
                Err(failure) => record_failure(app, &state, now, failure),
            };
            let after = app.store().feed_state(&state.url).ok().flatten();
            Ok((outcome, moved_to, after))
        })
        .await;
    match done {
        Ok(done) => done,
        // A panic while reading is this feed's failure: its validators are not advanced,
        // so the same document is fetched and read again next time instead of its posts
        // being lost.
        Err(e) => {
            let why = FeedError::Panicked(Arc::new(e));
            let recorded = app
                .blocking("recording the feed's failure", move |app| {
                    let (outcome, moved_to) =
                        record_failure(app, &for_failure, now, Failure::new(why));
                    let after = app.store().feed_state(&for_failure.url).ok().flatten();
                    Ok((outcome, moved_to, after))
                })
                .await;
            recorded.unwrap_or_else(|e| {
                (
                    FeedOutcome::Failed(FeedError::Panicked(Arc::new(e))),
                    None,
                    None,
                )
            })
        }
    }
}

/// Where to fetch a feed: where it moved (a stored permanent redirect), else its
/// configured URL. A move to a private or local address is ignored unless the configured
/// URL is itself one or private addresses are allowed: versions before the redirect guard
/// followed and stored such moves.
fn fetch_location<'a>(configured: &'a str, moved: Option<&'a str>, allow_private: bool) -> &'a str {
    let private =
        |u: &str| url::Url::parse(u).is_ok_and(|u| crate::fetch::names_private_address(&u));
    match moved {
        Some(m) if !allow_private && private(m) && !private(configured) => {
            tracing::warn!(
                feed = configured,
                moved_to = m,
                "ignoring a stored move to a private address; fetching the configured URL"
            );
            configured
        }
        Some(m) => m,
        None => configured,
    }
}

/// A failed fetch, as it is recorded: why, and a `Retry-After` or a reason to stop.
struct Failure {
    why: FeedError,
    retry_after: Option<Duration>,
    disabled: Option<String>,
}

impl Failure {
    fn new(why: FeedError) -> Self {
        Self {
            why,
            retry_after: None,
            disabled: None,
        }
    }
}

/// Fetches the feed document, waiting out a short `Retry-After` once.
async fn fetch_document(app: &App, url: &url::Url, state: &FeedState) -> Result<Outcome, Failure> {
    let result = match app.fetcher.get(url, &state.validators).await {
        // A short Retry-After is worth waiting for within the cycle; a long one is not.
        Err(FetchError::RateLimited {
            retry_after: Some(d),
            ..
        }) if d <= Duration::from_secs(5) => {
            tokio::time::sleep(d).await;
            app.fetcher.get(url, &state.validators).await
        }
        other => other,
    };
    result.map_err(|e| {
        tracing::warn!(feed = %state.url, error = %e, "fetch failed");
        let retry_after = match &e {
            FetchError::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(Duration::from_secs(3600)))
            }
            _ => None,
        };
        let gone = matches!(e, FetchError::Gone);
        let why = FeedError::Fetch(Arc::new(e));
        if gone {
            Failure {
                why,
                retry_after: None,
                disabled: Some(format!(
                    "HTTP 410 Gone on {}",
                    Utc::now().format("%Y-%m-%d")
                )),
            }
        } else {
            Failure {
                why,
                retry_after,
                disabled: None,
            }
        }
    })
}

/// Records a failed fetch (the validators stay as they were) and reports it.
fn record_failure(
    app: &App,
    state: &FeedState,
    now: DateTime<Utc>,
    failure: Failure,
) -> (FeedOutcome, Option<String>) {
    let failures = u32::try_from(state.error_count)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let next = next_fetch_at(
        now,
        app.config.fetch.interval,
        None,
        None,
        failures,
        failure.retry_after,
    );
    record(
        app.store().record_fetch(
            state.id,
            now,
            &FetchRecord {
                error: Some(&failure.why.to_string()),
                next_fetch_at: Some(next),
                not_before: failure
                    .retry_after
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .map(|d| now + d),
                disabled: failure.disabled.as_deref(),
                ..Default::default()
            },
        ),
    );
    (FeedOutcome::Failed(failure.why), None)
}

/// Reads a fetched feed document and stores its new entries with their feed's text, then
/// the feed's new validators. Blocking work: parsing, summarizing, the database.
fn read_feed(
    app: &App,
    state: &FeedState,
    fetched: crate::fetch::Fetched,
    now: DateTime<Utc>,
) -> (FeedOutcome, Option<String>) {
    let moved_to = fetched.moved_to.as_ref().map(|u| u.to_string());
    if let Some(to) = &moved_to {
        tracing::warn!(feed = %state.url, moved_to = %to, "feed moved permanently; update feeds.toml");
    }
    let parsed = match parse::parse_feed(&fetched.body, &fetched.final_url) {
        Ok(p) => p,
        Err(e) => {
            return record_failure(app, state, now, Failure::new(FeedError::Parse(Arc::new(e))));
        }
    };
    let total = parsed.entries.len();
    let store = app.store();
    let known = {
        let keys: Vec<&str> = parsed.entries.iter().map(|e| e.key.as_str()).collect();
        match store.known_keys(state.id, &keys) {
            Ok(k) => k,
            Err(e) => {
                return (
                    FeedOutcome::Failed(FeedError::Database(Arc::new(e))),
                    moved_to,
                );
            }
        }
    };
    drop(store);
    // New entries are stored at once with their feed's text. Their article pages wait
    // until they contend for a digest ([`fetch_story_pages`]): a page is read for the
    // dozen stories a digest carries, not for every post of every feed.
    let oldest = match oldest_selectable(app, now) {
        Ok(t) => t,
        Err(e) => {
            return (
                FeedOutcome::Failed(FeedError::Database(Arc::new(e))),
                moved_to,
            );
        }
    };
    let articles = app.config.fetch.articles;
    let mut new_entries: Vec<NewEntry> = parsed
        .entries
        .into_iter()
        .zip(known)
        .filter(|(_, known)| !known)
        .map(|(e, _)| {
            // A post older than any digest can carry never contends.
            let selectable = e.published.is_none_or(|p| p >= oldest);
            entry_from_feed(e, articles != Articles::Off && selectable)
        })
        .collect();
    let store = app.store();
    // Another feed's entry may already have read this article's page.
    for e in new_entries.iter_mut().filter(|e| e.page_wanted) {
        if let Some(url) = &e.url
            && let Ok(Some(facts)) = store.page_facts(url)
        {
            e.apply_page(&page_known(facts));
        }
    }
    let inserted = match store.insert_entries(state.id, &new_entries, now) {
        Ok(n) => n,
        Err(e) => {
            return (
                FeedOutcome::Failed(FeedError::Database(Arc::new(e))),
                moved_to,
            );
        }
    };
    let ttl = parsed
        .ttl_minutes
        .map(|m| Duration::from_secs(u64::from(m) * 60));
    let next = next_fetch_at(
        now,
        app.config.fetch.interval,
        ttl,
        fetched.max_age,
        0,
        None,
    );
    record(store.record_fetch(
        state.id,
        now,
        &FetchRecord {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::pages::tests::PANIC_TITLE;

    #[test]
    fn a_stored_move_to_a_private_address_is_not_followed_unless_allowed() {
        let public = "https://feeds.example.com/feed.xml";
        let moved = Some("http://127.0.0.1:8080/admin.xml");
        assert_eq!(fetch_location(public, moved, false), public);
        assert_eq!(
            fetch_location(public, Some("http://localhost/x"), false),
            public
        );
        assert_eq!(
            fetch_location(public, moved, true),
            "http://127.0.0.1:8080/admin.xml"
        );
        let local = "http://127.0.0.1:9000/feed.xml";
        assert_eq!(
            fetch_location(local, moved, false),
            "http://127.0.0.1:8080/admin.xml"
        );
        let elsewhere = Some("https://new.example.org/feed.xml");
        assert_eq!(
            fetch_location(public, elsewhere, false),
            "https://new.example.org/feed.xml"
        );
        assert_eq!(fetch_location(public, None, false), public);
    }

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
        let FeedOutcome::Failed(FeedError::Panicked(why)) = &report.feeds[0].outcome else {
            panic!(
                "the feed is not reported failed: {:?}",
                report.feeds[0].outcome
            );
        };
        assert!(
            why.to_string().contains("feedbrief panicked")
                && why.to_string().contains("injected panic"),
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

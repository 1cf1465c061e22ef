//! Pipeline: one whole cycle, members → fetch → parse → summarize → store → select →
//! render → deliver, and the report of what each stage did.
//!
//! [`App`] holds what a cycle needs (config, database, templates, HTTP client, secret),
//! opened and checked at startup so a bad config, template or database stops the program
//! before any work. Each stage's failures on single items (a feed, a page, a member) are
//! recorded in the report and skipped; the cycle goes on.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;

use crate::config::{Articles, Config};
use crate::copies::{Copies, MemberCopy};
use crate::deliver::{self, SendError, Sender};
use crate::fetch::{FetchError, Fetcher, Outcome};
use crate::members;
use crate::parse::{self, ParsedEntry};
use crate::render::{BriefInfo, Recipient, Templates};
use crate::select::{self, Digest};
use crate::store::{ClaimCheck, NewEntry, PageUpdate, PendingDelivery, Store};
use crate::summarize;
use crate::token::Secret;

/// Everything a cycle needs, opened and checked.
pub struct App {
    /// The validated config.
    pub config: Config,
    store: Mutex<Store>,
    /// The checked templates.
    pub templates: Templates,
    /// The shared HTTP client.
    pub fetcher: Fetcher,
    /// The unsubscribe-token secret.
    pub secret: Secret,
    /// DKIM signing, when configured.
    dkim: Option<lettre::message::dkim::DkimConfig>,
    /// Timings of the last cycles, for `/metrics` and `/healthz`.
    pub metrics: Metrics,
}

/// What the last cycles did, for `/metrics` and `/healthz`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<MetricsState>,
}

/// A snapshot of [`Metrics`].
#[derive(Debug, Clone, Default)]
pub struct MetricsState {
    /// Cycles (fetch or fetch-and-send) completed since start.
    pub cycles: u64,
    /// When the last cycle finished.
    pub last_cycle_at: Option<DateTime<Utc>>,
    /// Wall time of the last cycle.
    pub last_cycle: Duration,
    /// Wall time of the last fetch stage.
    pub last_fetch: Duration,
    /// Sum of fetch-stage wall times.
    pub fetch_total: Duration,
    /// Fetch runs (interval fetches and cycles) since start.
    pub fetches: u64,
    /// When the last fetch finished.
    pub last_fetch_at: Option<DateTime<Utc>>,
}

impl Metrics {
    /// Records a finished cycle.
    pub fn cycle_done(&self, at: DateTime<Utc>, cycle: Duration, fetch: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.cycles += 1;
        m.last_cycle_at = Some(at);
        m.last_cycle = cycle;
        m.last_fetch = fetch;
        m.fetch_total += fetch;
        m.fetches += 1;
        m.last_fetch_at = Some(at);
    }

    /// Records a fetch-only run (the daemon's interval fetches).
    pub fn fetch_done(&self, at: DateTime<Utc>, fetch: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.last_fetch = fetch;
        m.fetch_total += fetch;
        m.fetches += 1;
        m.last_fetch_at = Some(at);
    }

    /// A copy of the current figures.
    pub fn snapshot(&self) -> MetricsState {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl App {
    /// Opens the database and loads the templates; any failure here is fatal.
    pub fn open(config: Config) -> Result<Arc<Self>, OpenError> {
        let templates = Templates::load(&config.brief.templates)
            .with_context(|| {
                format!(
                    "loading templates from {}",
                    config.brief.templates.display()
                )
            })
            .map_err(OpenError::Config)?;
        let dkim = config
            .delivery
            .dkim
            .as_ref()
            .map(deliver::dkim_config)
            .transpose()
            .map_err(OpenError::Config)?;
        let store = Store::open(&config.brief.data_dir.join("feedbrief.sqlite"))
            .map_err(|e| OpenError::Runtime(e.into()))?;
        let fetcher = Fetcher::new(&config.fetch).map_err(OpenError::Runtime)?;
        let secret = Secret::load_or_create(&config.brief.data_dir).map_err(OpenError::Runtime)?;
        Ok(Arc::new(Self {
            metrics: Metrics::default(),
            dkim,
            config,
            store: Mutex::new(store),
            templates,
            fetcher,
            secret,
        }))
    }

    /// The database, locked for a short, synchronous use (never held across `.await`).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why [`App::open`] failed: a file the operator must fix (templates, DKIM key: exit 2),
/// or the machine (the database, the data dir, the secret: exit 1).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Templates or DKIM settings are unusable.
    #[error("{0:#}")]
    Config(anyhow::Error),
    /// The database, data dir or secret could not be opened.
    #[error("{0:#}")]
    Runtime(anyhow::Error),
}

/// What happened to one feed in a fetch.
#[derive(Debug, Clone)]
pub enum FeedOutcome {
    /// Fetched and parsed.
    Fetched {
        /// Entries in the document.
        entries: usize,
        /// Entries we had not seen.
        new: usize,
        /// Repairs that were needed to parse it.
        repaired: Vec<String>,
    },
    /// 304: nothing changed.
    NotModified,
    /// Its next scheduled fetch has not come yet (daemon only).
    NotDue,
    /// Not fetched this time, and why (Retry-After, disabled after 410).
    Skipped(String),
    /// Failed, with the reason and what to do.
    Failed(String),
}

/// One feed's line in the report.
#[derive(Debug, Clone)]
pub struct FeedResult {
    /// Name from feeds.toml.
    pub name: String,
    /// Feed URL as configured.
    pub url: String,
    /// What happened.
    pub outcome: FeedOutcome,
    /// The feed answered with a permanent redirect to this URL (now used for fetching).
    pub moved_to: Option<String>,
    /// Why the feed needs the editor's attention (failing for longer than
    /// `[fetch] attention_after`, or disabled), if it does.
    pub attention: Option<String>,
}

/// The fetch stage's report.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    /// Per feed, in config order.
    pub feeds: Vec<FeedResult>,
    /// The article pages read: the chosen stories', or every new entry's (`"all"`).
    pub pages: PagesReport,
    /// Wall time.
    pub elapsed: Duration,
}

impl FetchReport {
    /// New entries across all feeds.
    pub fn new_entries(&self) -> usize {
        self.feeds
            .iter()
            .map(|f| match f.outcome {
                FeedOutcome::Fetched { new, .. } => new,
                _ => 0,
            })
            .sum()
    }

    /// Feeds that need the editor's attention.
    pub fn attention(&self) -> impl Iterator<Item = &FeedResult> {
        self.feeds.iter().filter(|f| f.attention.is_some())
    }

    fn count(&self, pred: impl Fn(&FeedOutcome) -> bool) -> usize {
        self.feeds.iter().filter(|f| pred(&f.outcome)).count()
    }
}

/// The member import's report.
#[derive(Debug, Clone, Default)]
pub struct MembersReport {
    /// The file read, if any.
    pub file: Option<String>,
    /// Counts from the store.
    pub counts: crate::store::ImportCounts,
    /// Rows skipped, with line numbers.
    pub errors: Vec<String>,
    /// Rows imported with part of them ignored or cleaned (an unknown section, a line
    /// break in the name), with line numbers.
    pub warnings: Vec<String>,
    /// Active members after the import.
    pub active: usize,
}

/// The digest stage's outcome.
#[derive(Debug, Clone, Default)]
pub enum DigestOutcome {
    /// No story qualified; nothing is sent.
    #[default]
    NoNewStories,
    /// A digest was built (and recorded unless `--no-send`).
    Built {
        /// Its id, when recorded.
        id: Option<i64>,
        /// Subject line.
        subject: String,
        /// Stories carried.
        stories: usize,
    },
}

/// The delivery stage's report.
#[derive(Debug, Clone, Default)]
pub struct DeliveryReport {
    /// Messages accepted.
    pub sent: usize,
    /// Transient failures left for the next cycle.
    pub deferred: usize,
    /// Permanent failures.
    pub failed: usize,
    /// Members skipped because they left mid-send.
    pub skipped: usize,
    /// Deliveries another process took over (this one stalled past its claim).
    pub taken_over: usize,
    /// A few failure lines for the report.
    pub errors: Vec<String>,
}

/// The whole cycle's report, printed by `once`.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    /// Members.
    pub members: MembersReport,
    /// Fetch.
    pub fetch: FetchReport,
    /// Digest.
    pub digest: DigestOutcome,
    /// Delivery.
    pub delivery: DeliveryReport,
    /// Whether sending was skipped (`--no-send`).
    pub no_send: bool,
    /// Whether the "feeds needing attention" mail went to the editor.
    pub attention_mailed: bool,
}

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
        .filter(|m| m.status == "active")
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
async fn off_async<T: Send + 'static>(
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

/// Logs a database error that should not stop the cycle.
fn record(result: anyhow::Result<()>) {
    if let Err(e) = result {
        tracing::error!("database: {e:#}");
    }
}

/// Most pages one call reads for the chosen stories, per story a digest carries. A page
/// can move a story to its canonical URL (merging it with another feed's copy) or leave it
/// without a summary; the selection then takes another story, whose page is read in turn.
/// Real feeds settle in one or two rounds; this bounds a feed whose pages all merge or fail.
const PAGE_BUDGET_PER_STORY: usize = 4;

/// The article pages read by [`fetch_story_pages`].
#[derive(Debug, Clone, Default)]
pub struct PagesReport {
    /// Pages read.
    pub read: usize,
    /// Pages that could not be had (the feed's own text is used), each naming its URL.
    pub errors: Vec<String>,
    /// Chosen stories whose pages stay unread because the budget was spent.
    pub unread: usize,
}

/// Reads the article pages of the stories the next digest would carry, where not read yet.
///
/// Selection ranks by recency, feed weight and whether there is a summary, none of which
/// needs the page, so the pages are read only for the chosen stories (a page still wanted
/// counts as giving a summary, so an entry is never passed over for lacking one it would
/// get). Then the selection runs again when a page changed what it ranks on, until the
/// chosen stories' pages are all read or [`PAGE_BUDGET_PER_STORY`] pages a story are spent.
/// Each page is read once: an entry whose page failed keeps its feed's text. A new feed's
/// fifty-post backlog costs no page at all unless its posts make the digest.
pub async fn fetch_story_pages(
    app: &Arc<App>,
    now: DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<PagesReport> {
    let mut report = PagesReport::default();
    match app.config.fetch.articles {
        Articles::Off => return Ok(report),
        Articles::Chosen => {}
        Articles::All => {
            let wanted = app.store().all_wanted_pages()?;
            read_pages(app, by_turns_of_host(wanted), &mut report).await?;
        }
    }
    let budget = PAGE_BUDGET_PER_STORY * app.config.brief.max_stories.max(1);
    let mut spent = 0;
    // Each turn either stops or reads at least one page of the budget: bounded.
    while !cancel.is_cancelled() {
        let Some(digest) = next_digest(app, now)? else {
            break;
        };
        let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
        let mut wanted = app.store().wanted_pages(&ids)?;
        if wanted.is_empty() {
            break;
        }
        if spent >= budget {
            report.unread = wanted.len();
            tracing::warn!(
                stories = wanted.len(),
                budget,
                "page budget spent; these stories keep their feed's text"
            );
            break;
        }
        let truncated = wanted.len() > budget - spent;
        wanted.truncate(budget - spent);
        spent += wanted.len();
        let changed = read_pages(app, wanted, &mut report).await?;
        if !changed && !truncated {
            break;
        }
    }
    Ok(report)
}

/// `wanted` reordered so consecutive pages are on different hosts where possible: in
/// entry order one feed's pages come together, and `per_host` would let only two of the
/// reads under way proceed (35,000 pages took 253 s instead of about 50).
fn by_turns_of_host(wanted: Vec<crate::store::WantedPage>) -> Vec<crate::store::WantedPage> {
    let mut hosts: Vec<(String, std::collections::VecDeque<crate::store::WantedPage>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for w in wanted {
        let host = url::Url::parse(&w.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let i = *index.entry(host.clone()).or_insert_with(|| {
            hosts.push((host, std::collections::VecDeque::new()));
            hosts.len() - 1
        });
        hosts[i].1.push_back(w);
    }
    let total = hosts.iter().map(|(_, q)| q.len()).sum();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for (_, queue) in &mut hosts {
            out.extend(queue.pop_front());
        }
    }
    out
}

/// Reads `wanted` pages concurrently (within the fetcher's limits), storing each as it
/// comes; returns whether one changed what selection ranks on.
async fn read_pages(
    app: &Arc<App>,
    wanted: Vec<crate::store::WantedPage>,
    report: &mut PagesReport,
) -> anyhow::Result<bool> {
    let futures = wanted.into_iter().map(|w| {
        let app = Arc::clone(app);
        async move {
            let update = read_page(&app, &w).await;
            (w, update)
        }
    });
    let mut updates =
        futures::stream::iter(futures).buffer_unordered(app.config.fetch.concurrency.max(1));
    let mut reselect = false;
    while let Some((w, update)) = updates.next().await {
        let update = update.unwrap_or_else(|e| {
            tracing::info!(page = %w.url, feed = %w.feed_url, error = %e, "article page unavailable; feed text used");
            report.errors.push(e);
            PageUpdate::default()
        });
        report.read += usize::from(update.from_page);
        reselect |= changes_selection(&w, &update);
        app.store().set_page(w.id, &update)?;
    }
    Ok(reselect)
}

/// Whether what a page told us can change the selection that chose its entry: a new URL
/// (two stories may now be one), no summary after all (a lower score), or a date where the
/// feed gave none (another age). Its site name or paywall cannot.
fn changes_selection(w: &crate::store::WantedPage, update: &PageUpdate) -> bool {
    update.url.as_deref().is_some_and(|u| u != w.url)
        || !(w.has_summary || update.summary.is_some() || update.description.is_some())
        || (!w.has_date && update.published_at.is_some())
}

/// Fetches and reads one wanted page; `Err` says why it could not be had, naming its URL.
async fn read_page(app: &App, w: &crate::store::WantedPage) -> Result<PageUpdate, String> {
    // Another feed's entry may have read this article since.
    if let Ok(Some(facts)) = app.store().page_facts(&w.url) {
        return Ok(page_known(facts));
    }
    let url = url::Url::parse(&w.url).map_err(|e| format!("{}: {e}", w.url))?;
    let fetched = app
        .fetcher
        .get_page(&url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !fetched.is_html() {
        return Err(format!(
            "{url}: not an HTML page ({})",
            fetched.content_type.as_deref().unwrap_or("no content type")
        ));
    }
    let (html, final_url) = (fetched.text(), fetched.final_url);
    let title = w.title.clone();
    // Extraction is CPU work (and scraper's DOM is not Send): off the async threads.
    tokio::task::spawn_blocking(move || page_update(&title, &html, &final_url))
        .await
        .map_err(|e| format!("{url}: reading the page failed: {e}"))
}

/// What another entry's reading of the same page told us.
fn page_known(facts: crate::store::PageFacts) -> PageUpdate {
    PageUpdate {
        url: None,
        summary: facts.summary,
        description: None,
        source: facts.source,
        paywalled: facts.paywalled,
        published_at: None,
        from_page: true,
    }
}

/// The stored form of an entry from its feed alone: the summary from the feed's full
/// content, else its description. `want_page` marks its article page as worth reading
/// should the entry contend for a digest (only when it has a link).
pub fn entry_from_feed(e: ParsedEntry, want_page: bool) -> NewEntry {
    // Fault injection for the test that a panic here is the feed's failure.
    #[cfg(test)]
    assert_ne!(e.title, tests::PANIC_TITLE, "injected panic");
    let from_html = |html: &Option<String>| {
        html.as_deref()
            .map(crate::extract::html_to_blocks)
            .and_then(|blocks| summarize::summarize(&blocks))
    };
    let summary = from_html(&e.content_html).or_else(|| from_html(&e.summary_html));
    NewEntry {
        page_wanted: want_page && e.url.is_some(),
        key: e.key,
        url: e.url,
        title: e.title,
        author: e.author,
        published_at: e.published,
        summary,
        source: None,
        paywalled: false,
        from_page: false,
    }
}

/// What an article page (`html`, at `final_url` after redirects) adds to the entry titled
/// `title`: the summary of its main text, its site name, paywall, date, and its own URL
/// (FeedBurner and tracking redirectors resolve here) or its canonical link on the same
/// host (any page can claim any canonical).
pub fn page_update(title: &str, html: &str, final_url: &url::Url) -> PageUpdate {
    let a = crate::extract::extract(html, Some(final_url));
    let canonical = a
        .canonical_url
        .as_ref()
        .filter(|c| c.host_str() == final_url.host_str())
        .unwrap_or(final_url);
    PageUpdate {
        url: Some(parse::canonical_url(canonical).to_string()),
        summary: summarize::summarize_with_title(&a.blocks, Some(title)),
        description: a.description.and_then(|d| summarize::summarize(&[d])),
        source: a.site_name,
        paywalled: a.paywalled,
        published_at: a.published,
        from_page: true,
    }
}

/// `update` applied to `entry` as [`crate::store::Store::set_page`] applies it to the row.
fn apply_page(entry: &mut NewEntry, update: &PageUpdate) {
    entry.page_wanted = false;
    if let Some(u) = &update.url {
        entry.url = Some(u.clone());
    }
    entry.summary = update
        .summary
        .clone()
        .or(entry.summary.take())
        .or(update.description.clone());
    if update.source.is_some() {
        entry.source = update.source.clone();
    }
    entry.paywalled = update.paywalled;
    entry.published_at = entry.published_at.or(update.published_at);
    entry.from_page = update.from_page;
}

fn first_window(app: &App) -> chrono::Duration {
    chrono::Duration::from_std(app.config.brief.first_window).unwrap_or(chrono::Duration::hours(24))
}

/// The oldest publication time a story may have and still be selected: a feed added today
/// brings its backlog, and only posts from the window before the last digest (or, before
/// any digest, before the first window) qualify.
pub fn oldest_selectable(app: &App, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let window = first_window(app);
    let since = match app.store().last_digest()? {
        Some((_, created, _)) => created,
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
        Some((_, created, max_id)) => (Some(max_id), created),
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

/// The facts about the brief the templates show, for a digest built at `created_at`.
pub fn brief_info(config: &Config, digest_id: Option<i64>, created_at: DateTime<Utc>) -> BriefInfo {
    let local = created_at.with_timezone(&config.brief.timezone);
    let base = config.brief.base_url.as_ref();
    BriefInfo {
        name: config.brief.name.clone(),
        tagline: config.brief.tagline.clone(),
        date_long: local.format("%A, %B %-d, %Y").to_string(),
        date_short: local.format("%-m/%-d/%Y").to_string(),
        web_url: base
            .zip(digest_id)
            .and_then(|(b, id)| b.join(&format!("archive/{id}")).ok())
            .map(|u| u.to_string()),
        archive_url: base
            .and_then(|b| b.join("archive").ok())
            .map(|u| u.to_string()),
        base_url: base.map(|u| u.to_string()),
        postal_address: config.brief.postal_address.clone(),
        lang: config.brief.lang.clone(),
        from_address: config.brief.from.email.to_string(),
    }
}

/// The member's one-click unsubscribe URL (https when `base_url` is set, else mailto).
pub fn unsubscribe_url(
    config: &Config,
    secret: &Secret,
    member_id: i64,
    email: &str,
) -> (String, Option<String>) {
    let token = secret.token(member_id, email);
    match config
        .brief
        .base_url
        .as_ref()
        .and_then(|b| b.join(&format!("unsubscribe/{token}")).ok())
    {
        Some(u) => (u.to_string(), Some(u.to_string())),
        None => (
            format!("mailto:{}?subject=unsubscribe", config.brief.from.email),
            None,
        ),
    }
}

/// Renders and composes one member's message for a recorded digest.
pub fn message_for(
    app: &App,
    digest_id: Option<i64>,
    digest: &Digest,
    member_id: i64,
    member: &Recipient,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let config = &app.config;
    let brief = brief_info(config, digest_id, digest.created_at);
    let (unsub, https) = unsubscribe_url(config, &app.secret, member_id, &member.email);
    let rendered = app
        .templates
        .render(digest, &brief, member, &unsub, config.brief.timezone)?;
    compose_for(
        app,
        digest_id,
        member_id,
        member,
        MemberCopy::Rendered(rendered),
        https,
        date,
    )
}

/// [`message_for`] from a digest's [`Copies`]: the same message without rendering the
/// templates or encoding the MIME body for every member.
fn message_from_copies(
    app: &App,
    digest_id: i64,
    copies: &Copies,
    member_id: i64,
    member: &Recipient,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let (unsub, https) = unsubscribe_url(&app.config, &app.secret, member_id, &member.email);
    let copy = copies.copy(&app.templates, member, &unsub)?;
    compose_for(app, Some(digest_id), member_id, member, copy, https, date)
}

fn compose_for(
    app: &App,
    digest_id: Option<i64>,
    member_id: i64,
    member: &Recipient,
    copy: MemberCopy,
    https: Option<String>,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let config = &app.config;
    let to = Mailbox::new(
        member.name.clone(),
        member
            .email
            .parse()
            .with_context(|| format!("member address {:?}", member.email))?,
    );
    let domain = config.brief.from.email.domain().to_string();
    let label = format!(
        "{}.{member_id}",
        digest_id.map_or("test".to_string(), |d| d.to_string())
    );
    let message_id = format!("{label}.{}@{domain}", app.secret.tag(&label));
    let envelope = deliver::Envelope {
        to,
        message_id,
        unsubscribe_https: https.as_deref(),
        date,
    };
    let mut message = match copy {
        MemberCopy::Encoded { subject, body } => {
            deliver::compose_mime(&config.brief, &subject, body, &envelope)?
        }
        MemberCopy::Rendered(rendered) => deliver::compose(&config.brief, &rendered, &envelope)?,
    };
    if let Some(dkim) = &app.dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// A recorded digest, read back from its row.
fn read_digest(app: &App, digest_id: i64) -> anyhow::Result<Digest> {
    let row = app
        .store()
        .digest(digest_id)?
        .with_context(|| format!("digest {digest_id} is missing"))?;
    serde_json::from_str(&row.content).context("its stored content is unreadable")
}

/// The web version of a recorded digest (for the archive): no member, no token.
pub fn web_version(app: &App, digest_id: i64) -> anyhow::Result<Option<String>> {
    let Some(row) = app.store().digest(digest_id)? else {
        return Ok(None);
    };
    let digest: Digest = serde_json::from_str(&row.content)
        .with_context(|| format!("digest {digest_id} content is unreadable"))?;
    let config = &app.config;
    let brief = brief_info(config, Some(digest_id), digest.created_at);
    let reader = Recipient {
        name: None,
        email: String::new(),
        sections: Vec::new(),
    };
    // The archive copy's unsubscribe link leads to the archive: it must identify no one.
    let unsubscribe = brief
        .archive_url
        .clone()
        .unwrap_or_else(|| format!("mailto:{}?subject=unsubscribe", config.brief.from.email));
    let rendered = app.templates.render(
        &digest,
        &brief,
        &reader,
        &unsubscribe,
        config.brief.timezone,
    )?;
    Ok(Some(rendered.html))
}

/// How long a claim on a delivery holds without being renewed: long enough for one
/// message's every attempt, so a claim only runs out for a process that stopped or stalled.
fn claim_lease(config: &Config) -> chrono::Duration {
    let attempts = config.delivery.attempts.max(1);
    let per_message = (config.delivery.timeout + Duration::from_secs(1))
        .saturating_mul(attempts)
        .saturating_mul(4);
    chrono::Duration::from_std(per_message.max(Duration::from_secs(300)))
        .unwrap_or(chrono::Duration::hours(1))
}

/// Sends every delivery still owed (this digest's and earlier cycles' leftovers).
///
/// The owed deliveries are first claimed in the database, so another process on the same
/// database (a second `once`, a daemon on another machine) never sends the same one; a
/// claim whose process died is taken back. Each member is checked right before their
/// message (an unsubscribe mid-send holds, and so does a claim another process took over),
/// each acceptance is recorded at once, transient failures are retried with backoff up to
/// `[delivery] attempts` and then left for the next cycle, permanent ones recorded. What a
/// stop leaves unsent is given back, owed again.
pub async fn deliver_pending(
    app: &Arc<App>,
    sender: &Arc<Sender>,
    cancel: &CancellationToken,
) -> anyhow::Result<DeliveryReport> {
    let result = deliver_claimed(app, sender, cancel).await;
    if let Err(e) = app.store().release_claims() {
        tracing::error!(
            "giving back unsent deliveries: {e:#}; they are owed again once their claim runs out"
        );
    }
    result
}

async fn deliver_claimed(
    app: &Arc<App>,
    sender: &Arc<Sender>,
    cancel: &CancellationToken,
) -> anyhow::Result<DeliveryReport> {
    let lease = claim_lease(&app.config);
    let now = Utc::now();
    let mut pending = app.store().claim_deliveries(now, now + lease)?;
    let mut report = DeliveryReport::default();
    // One set of copies per digest: its templates render once per kind of member. A
    // digest that cannot be read is set aside (its deliveries failed, with why), and the
    // others go on: one damaged row must not stop every later digest.
    let mut digests: std::collections::HashMap<i64, Arc<Copies>> = std::collections::HashMap::new();
    let mut unreadable = std::collections::HashSet::new();
    for p in &pending {
        if digests.contains_key(&p.digest_id) || unreadable.contains(&p.digest_id) {
            continue;
        }
        match read_digest(app, p.digest_id) {
            Ok(digest) => {
                let brief = brief_info(&app.config, Some(p.digest_id), digest.created_at);
                let copies = Copies::new(digest, brief, app.config.brief.timezone);
                digests.insert(p.digest_id, Arc::new(copies));
            }
            Err(e) => {
                let why = format!("{e:#}");
                tracing::error!(digest = p.digest_id, error = %why, "digest set aside");
                let set_aside = app
                    .store()
                    .set_digest_aside(p.digest_id, &why, Utc::now())?;
                report.failed += set_aside;
                report.errors.push(format!(
                    "digest #{}: {why}; its {set_aside} owed deliveries were set aside (restore the row from a backup to send it)",
                    p.digest_id
                ));
                unreadable.insert(p.digest_id);
            }
        }
    }
    pending.retain(|p| !unreadable.contains(&p.digest_id));
    let report = Arc::new(Mutex::new(report));
    let pace = app
        .config
        .delivery
        .rate_per_second
        .map(|r| Arc::new(Pace::new(r)));
    let connections = app.config.delivery.connections;
    // Each member's send is made only when a connection can take it: 10,000 futures built
    // up front held ~10 KB each (96 MB). The closure owns what it clones (Arcs), which keeps
    // the lazily built futures Send.
    let (app_for, sender_for, cancel_for) = (Arc::clone(app), Arc::clone(sender), cancel.clone());
    let report_for = Arc::clone(&report);
    let futures = pending.into_iter().map(move |p| {
        let app = Arc::clone(&app_for);
        let sender = Arc::clone(&sender_for);
        let digest = Arc::clone(&digests[&p.digest_id]);
        let report = Arc::clone(&report_for);
        let pace = pace.clone();
        let cancel = cancel_for.clone();
        async move {
            if cancel.is_cancelled() {
                return;
            }
            if let Some(p) = &pace {
                p.wait().await;
            }
            let outcome = deliver_one(&app, &sender, &digest, &p).await;
            let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Delivered::Sent => r.sent += 1,
                Delivered::Skipped => r.skipped += 1,
                Delivered::TakenOver => r.taken_over += 1,
                Delivered::Deferred(e) => {
                    r.deferred += 1;
                    if r.errors.len() < 10 {
                        r.errors
                            .push(format!("{}: {e} (will retry next cycle)", p.member.email));
                    }
                }
                Delivered::Failed(e) => {
                    r.failed += 1;
                    if r.errors.len() < 10 {
                        r.errors.push(format!("{}: {e}", p.member.email));
                    }
                }
            }
        }
    });
    futures::stream::iter(futures)
        .buffer_unordered(connections.max(1))
        .collect::<Vec<()>>()
        .await;
    let report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(report)
}

/// Holds messages to `[delivery] rate_per_second`: one per period, and after a stall (a
/// slow relay, a retry) no burst to catch up, so the rate is never exceeded.
struct Pace(tokio::sync::Mutex<tokio::time::Interval>);

impl Pace {
    fn new(rate_per_second: f64) -> Self {
        // The config caps the rate; the floor keeps a period tokio accepts whatever it says.
        let period = Duration::from_secs_f64(1.0 / rate_per_second).max(Duration::from_micros(1));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self(tokio::sync::Mutex::new(interval))
    }

    async fn wait(&self) {
        self.0.lock().await.tick().await;
    }
}

enum Delivered {
    Sent,
    Skipped,
    /// Another process claimed it after our lease ran out: it sends it, not us.
    TakenOver,
    Deferred(String),
    Failed(String),
}

async fn deliver_one(
    app: &App,
    sender: &Sender,
    copies: &Copies,
    p: &PendingDelivery,
) -> Delivered {
    let member = &p.member;
    let lease_until = Utc::now() + claim_lease(&app.config);
    match app.store().claim_check(p.digest_id, member.id, lease_until) {
        Ok(ClaimCheck::Send) => {}
        Ok(ClaimCheck::MemberLeft) => return Delivered::Skipped,
        Ok(ClaimCheck::Lost) => {
            tracing::warn!(member = %member.email, digest = p.digest_id, "another process took this delivery over; not sending it");
            return Delivered::TakenOver;
        }
        Err(e) => return Delivered::Deferred(format!("database: {e:#}")),
    }
    let recipient = Recipient {
        name: member.name.clone(),
        email: member.email.clone(),
        sections: member.sections.clone(),
    };
    let message = match message_from_copies(
        app,
        p.digest_id,
        copies,
        member.id,
        &recipient,
        SystemTime::now(),
    ) {
        Ok(m) => m,
        Err(e) => {
            let msg = format!("{e:#}");
            record(
                app.store()
                    .delivery_failed(p.digest_id, member.id, Utc::now(), &msg, true),
            );
            return Delivered::Failed(msg);
        }
    };
    let name = format!("digest-{}-member-{}", p.digest_id, member.id);
    let attempts = app.config.delivery.attempts;
    let mut backoff = Duration::from_millis(500);
    for attempt in 1..=attempts {
        match sender.send(&message, &name).await {
            Ok(()) => {
                match app
                    .store()
                    .delivery_sent(p.digest_id, member.id, Utc::now())
                {
                    Ok(true) => {}
                    Ok(false) => tracing::error!(
                        member = %member.email,
                        digest = p.digest_id,
                        "sent, but the delivery's claim had passed to another process; it may send it too"
                    ),
                    Err(e) => tracing::error!("database: {e:#}"),
                }
                return Delivered::Sent;
            }
            Err(SendError::Permanent { message, bounce }) => {
                tracing::warn!(member = %member.email, error = %message, bounce, "delivery refused");
                let store = app.store();
                record(store.delivery_failed(p.digest_id, member.id, Utc::now(), &message, true));
                if bounce {
                    // A hard bounce suppresses the member; no re-import brings them back.
                    let reason = format!("hard bounce: {message}");
                    record(
                        store
                            .set_member_status(&member.email, "bounced", &reason, Utc::now())
                            .map(|_| ()),
                    );
                }
                return Delivered::Failed(message);
            }
            Err(SendError::Transient(e)) if attempt == attempts => {
                tracing::warn!(member = %member.email, error = %e, "delivery deferred to next cycle");
                record(
                    app.store()
                        .delivery_failed(p.digest_id, member.id, Utc::now(), &e, false),
                );
                return Delivered::Deferred(e);
            }
            Err(SendError::Transient(e)) => {
                tracing::info!(member = %member.email, error = %e, attempt, "retrying delivery");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
    Delivered::Deferred("no attempt made ([delivery] attempts is 0)".into())
}

/// One whole cycle: members, fetch, digest, delivery.
pub async fn once(
    app: &Arc<App>,
    now: DateTime<Utc>,
    send: bool,
    cancel: &CancellationToken,
) -> anyhow::Result<CycleReport> {
    cycle(app, now, send, None, cancel).await
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
    report.members = import_members(app, now)?;
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
        next_digest(app, now)?
    };
    if let Some(digest) = digest {
        let id = if send {
            Some(record_digest_for_slot(app, &digest, now, slot)?)
        } else {
            None
        };
        report.digest = DigestOutcome::Built {
            id,
            subject: digest.lead.title.clone(),
            stories: digest.stories().count(),
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

/// Mails the "feeds needing attention" list to `[brief] editor`, at most once a day.
/// Returns whether a mail went out; a failure is logged, never fatal.
async fn mail_attention(
    app: &App,
    sender: &Sender,
    fetch: &FetchReport,
    now: DateTime<Utc>,
) -> bool {
    let Some(editor) = &app.config.brief.editor else {
        return false;
    };
    let feeds: Vec<&FeedResult> = fetch.attention().collect();
    if feeds.is_empty() {
        return false;
    }
    let last = app
        .store()
        .meta("attention_mailed_at")
        .ok()
        .flatten()
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|d| d.with_timezone(&Utc));
    if last.is_some_and(|l| now - l < chrono::Duration::hours(24)) {
        return false;
    }
    let mut body = format!(
        "{} feed(s) of {} need attention:\n\n",
        feeds.len(),
        app.config.brief.name
    );
    for f in &feeds {
        body.push_str(&format!(
            "- {} <{}>\n  {}\n",
            f.name,
            f.url,
            f.attention.as_deref().unwrap_or("")
        ));
    }
    body.push_str(
        "\nFix or remove them in feeds.toml; `feedbrief feeds status` shows every feed.\n",
    );
    let message = lettre::Message::builder()
        .from(app.config.brief.from.clone())
        .to(editor.clone())
        .subject(format!(
            "{}: {} feed(s) need attention",
            app.config.brief.name,
            feeds.len()
        ))
        .date(SystemTime::now())
        .body(body);
    let message = match message {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("building the attention mail: {e}");
            return false;
        }
    };
    let name = format!("attention-{}", now.format("%Y%m%dT%H%M%S"));
    match sender.send(&message, &name).await {
        Ok(()) => {
            record(
                app.store()
                    .set_meta("attention_mailed_at", &now.to_rfc3339()),
            );
            true
        }
        Err(e) => {
            tracing::warn!("mailing the attention report to {editor}: {e}");
            false
        }
    }
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ok = self.count(|o| matches!(o, FeedOutcome::Fetched { .. }));
        let nm = self.count(|o| matches!(o, FeedOutcome::NotModified));
        let not_due = self.count(|o| matches!(o, FeedOutcome::NotDue));
        let skipped = self.count(|o| matches!(o, FeedOutcome::Skipped(_)));
        let failed = self.count(|o| matches!(o, FeedOutcome::Failed(_)));
        write!(
            f,
            "feeds: {ok} ok, {nm} not modified, {skipped} skipped, {failed} failed"
        )?;
        if not_due > 0 {
            write!(f, ", {not_due} not due")?;
        }
        writeln!(
            f,
            " ({} new entries, {:.1}s)",
            self.new_entries(),
            self.elapsed.as_secs_f64()
        )?;
        for r in &self.feeds {
            match &r.outcome {
                FeedOutcome::Fetched {
                    entries,
                    new,
                    repaired,
                } => {
                    write!(f, "  ok      {}: {new} new of {entries}", r.name)?;
                    if !repaired.is_empty() {
                        write!(f, " (repaired: {})", repaired.join("; "))?;
                    }
                    writeln!(f)?;
                }
                FeedOutcome::NotModified => writeln!(f, "  304     {}: not modified", r.name)?,
                FeedOutcome::NotDue => {}
                FeedOutcome::Skipped(why) => writeln!(f, "  skipped {}: {why}", r.name)?,
                FeedOutcome::Failed(why) => writeln!(f, "  FAILED  {} <{}>: {why}", r.name, r.url)?,
            }
            if let Some(to) = &r.moved_to {
                writeln!(
                    f,
                    "          {} moved permanently to {to}; now fetched there (update feeds.toml)",
                    r.name
                )?;
            }
        }
        let pages = &self.pages;
        if pages.read > 0 || !pages.errors.is_empty() || pages.unread > 0 {
            write!(f, "article pages: {} read", pages.read)?;
            if !pages.errors.is_empty() {
                write!(f, ", {} unavailable (feed text used)", pages.errors.len())?;
            }
            writeln!(f)?;
            for e in pages.errors.iter().take(5) {
                writeln!(f, "  unavailable {e}")?;
            }
            if pages.unread > 0 {
                writeln!(
                    f,
                    "  {} chosen stories keep their feed's text: the page budget ({PAGE_BUDGET_PER_STORY} a story) went on pages that merged or failed",
                    pages.unread
                )?;
            }
        }
        let attention: Vec<&FeedResult> = self.attention().collect();
        if !attention.is_empty() {
            writeln!(f, "feeds needing attention: {}", attention.len())?;
            for r in attention {
                writeln!(
                    f,
                    "  {} <{}>: {}",
                    r.name,
                    r.url,
                    r.attention.as_deref().unwrap_or("")
                )?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for CycleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.members;
        write!(f, "members: {} active", m.active)?;
        if let Some(file) = &m.file {
            write!(
                f,
                " ({file}: {} added, {} updated, {} unchanged, {} rows skipped",
                m.counts.added,
                m.counts.updated,
                m.counts.unchanged,
                m.errors.len()
            )?;
            if !m.warnings.is_empty() {
                write!(f, ", {} imported with warnings", m.warnings.len())?;
            }
            write!(f, ")")?;
        }
        writeln!(f)?;
        for e in m.errors.iter().take(10) {
            writeln!(f, "  skipped row {e}")?;
        }
        if m.errors.len() > 10 {
            writeln!(f, "  … and {} more skipped rows", m.errors.len() - 10)?;
        }
        for w in m.warnings.iter().take(10) {
            writeln!(f, "  warning {w}")?;
        }
        if m.warnings.len() > 10 {
            writeln!(
                f,
                "  … and {} more rows with warnings",
                m.warnings.len() - 10
            )?;
        }
        write!(f, "{}", self.fetch)?;
        match &self.digest {
            DigestOutcome::NoNewStories => {
                writeln!(
                    f,
                    "digest: no new stories since the last digest; nothing to send"
                )?;
            }
            DigestOutcome::Built {
                id,
                subject,
                stories,
            } => {
                match id {
                    Some(id) => write!(f, "digest #{id}: ")?,
                    None => write!(f, "digest (not recorded, --no-send): ")?,
                }
                writeln!(f, "{stories} stories, lead \"{subject}\"")?;
            }
        }
        if self.attention_mailed {
            writeln!(f, "attention: the list above was mailed to the editor")?;
        }
        if self.no_send {
            writeln!(f, "delivery: skipped (--no-send)")?;
        } else {
            let d = &self.delivery;
            writeln!(
                f,
                "delivery: {} sent, {} deferred, {} failed, {} skipped (unsubscribed mid-send)",
                d.sent, d.deferred, d.failed, d.skipped
            )?;
            if d.taken_over > 0 {
                writeln!(
                    f,
                    "  {} deliveries were taken over by another feedbrief on this database after this one stalled",
                    d.taken_over
                )?;
            }
            for e in &d.errors {
                writeln!(f, "  {e}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> ParsedEntry {
        ParsedEntry {
            key: "id:1".into(),
            title: "Snow Plans That Residents Actually Read".into(),
            url: Some(url.into()),
            published: None,
            author: None,
            content_html: None,
            summary_html: Some("<p>A teaser from the feed that is far too short.</p>".into()),
        }
    }

    #[test]
    fn article_page_gives_summary_site_name_date_and_paywall() {
        let html = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/articles/snow-plans.html"),
        )
        .expect("fixture");
        let final_url =
            url::Url::parse("https://pwj.example.org/snow-plans?utm_source=x").expect("url");
        let entry = parsed("https://feeds.example.org/~r/pwj/123");
        let update = page_update(&entry.title, &html, &final_url);
        let mut e = entry_from_feed(entry, true);
        apply_page(&mut e, &update);
        assert_eq!(e.source.as_deref(), Some("Public Works Journal"));
        assert!(e.paywalled);
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/snow-plans"));
        assert!(e.published_at.is_some());
        assert!(
            e.summary
                .is_some_and(|s| s.starts_with("Most winter operations plans"))
        );
    }

    /// A feed entry with this title makes [`entry_from_feed`] panic (tests only).
    pub(super) const PANIC_TITLE: &str = "feedbrief test: a panic while reading this entry";

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

    #[tokio::test(start_paused = true)]
    async fn the_delivery_pace_never_bursts_after_a_stall() {
        let pace = Pace::new(10.0);
        pace.wait().await;
        // A stall of ten seconds (a slow relay), then as many messages as it lets through
        // in the next second: tokio's default would fire the hundred missed ticks at once.
        tokio::time::advance(Duration::from_secs(10)).await;
        let start = tokio::time::Instant::now();
        let mut sent = 0;
        while tokio::time::Instant::now() - start < Duration::from_secs(1) {
            pace.wait().await;
            sent += 1;
        }
        assert!(sent <= 11, "{sent} messages in one second at 10 a second");
        // The largest rate the config accepts gives a period tokio takes.
        Pace::new(crate::config::MAX_RATE_PER_SECOND).wait().await;
    }

    #[test]
    fn without_a_page_the_feed_text_is_summarized() {
        let e = entry_from_feed(parsed("https://pwj.example.org/x"), true);
        assert!(e.page_wanted, "its page is read should it contend");
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/x"));
        assert!(e.source.is_none());
        assert!(!e.paywalled);
    }
}

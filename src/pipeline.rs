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

use crate::config::Config;
use crate::deliver::{self, SendError, Sender};
use crate::fetch::{FetchError, Fetcher, Outcome};
use crate::members;
use crate::parse::{self, ParsedEntry};
use crate::render::{BriefInfo, Recipient, Templates};
use crate::select::{self, Digest};
use crate::store::{NewEntry, PendingDelivery, Store};
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
}

impl App {
    /// Opens the database and loads the templates; any failure here is fatal.
    pub fn open(config: Config) -> anyhow::Result<Arc<Self>> {
        let templates = Templates::load(&config.brief.templates).with_context(|| {
            format!(
                "loading templates from {}",
                config.brief.templates.display()
            )
        })?;
        let store = Store::open(&config.brief.data_dir.join("feedbrief.sqlite"))?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let secret = Secret::load_or_create(&config.brief.data_dir)?;
        let dkim = config
            .delivery
            .dkim
            .as_ref()
            .map(deliver::dkim_config)
            .transpose()?;
        Ok(Arc::new(Self {
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
        /// Article pages fetched for new entries.
        pages: usize,
        /// Article pages that could not be had (the feed's own text was used).
        page_errors: Vec<String>,
    },
    /// 304: nothing changed.
    NotModified,
    /// Not fetched this time, and why (e.g. honouring Retry-After).
    Skipped(String),
    /// Failed, with the reason and what to do.
    Failed(String),
}

/// One feed's line in the report.
#[derive(Debug, Clone)]
pub struct FeedResult {
    /// Name from feeds.toml.
    pub name: String,
    /// Feed URL.
    pub url: String,
    /// What happened.
    pub outcome: FeedOutcome,
}

/// The fetch stage's report.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    /// Per feed, in config order.
    pub feeds: Vec<FeedResult>,
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
    let (rows, errors) = members::parse_csv(text, &sections);
    for e in &errors {
        tracing::warn!(line = e.line, "members: {}", e.message);
    }
    let counts = app.store().import_members(&rows, now)?;
    Ok(MembersReport {
        file: None,
        counts,
        errors: errors.iter().map(ToString::to_string).collect(),
        active: 0,
    })
}

/// Fetches every feed concurrently, stores new entries with their summaries, and reports
/// per feed. One feed's failure never stops the others.
pub async fn fetch_all(app: &Arc<App>, now: DateTime<Utc>) -> anyhow::Result<FetchReport> {
    let started = Instant::now();
    let pairs: Vec<(String, String)> = app
        .config
        .feeds
        .iter()
        .map(|f| (f.url.to_string(), f.name.clone()))
        .collect();
    let states = app.store().sync_feeds(&pairs)?;
    let results = futures::stream::iter(states.into_iter().map(|state| {
        let app = Arc::clone(app);
        async move {
            let outcome = fetch_one(&app, &state, now).await;
            FeedResult {
                name: state.name.clone(),
                url: state.url.clone(),
                outcome,
            }
        }
    }))
    .buffered(app.config.fetch.concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    Ok(FetchReport {
        feeds: results,
        elapsed: started.elapsed(),
    })
}

async fn fetch_one(
    app: &Arc<App>,
    state: &crate::store::FeedState,
    now: DateTime<Utc>,
) -> FeedOutcome {
    if let Some(not_before) = state.not_before
        && not_before > now
    {
        return FeedOutcome::Skipped(format!(
            "the server asked us to wait (Retry-After) until {}",
            not_before.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    let Ok(url) = url::Url::parse(&state.url) else {
        return FeedOutcome::Failed("stored URL does not parse".into());
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
    match result {
        Ok(Outcome::NotModified) => {
            record(app.store().feed_succeeded(state.id, now, None, None));
            FeedOutcome::NotModified
        }
        Ok(Outcome::Fetched(fetched)) => {
            let feed_url = fetched.final_url.clone();
            let body = fetched.body;
            let parsed =
                tokio::task::spawn_blocking(move || parse::parse_feed(&body, &feed_url)).await;
            let parsed = match parsed {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    let msg = e.to_string();
                    record(app.store().feed_failed(state.id, now, &msg, None));
                    return FeedOutcome::Failed(msg);
                }
                Err(e) => {
                    let msg = format!("parser crashed: {e}");
                    record(app.store().feed_failed(state.id, now, &msg, None));
                    return FeedOutcome::Failed(msg);
                }
            };
            let total = parsed.entries.len();
            let known = {
                let keys: Vec<&str> = parsed.entries.iter().map(|e| e.key.as_str()).collect();
                match app.store().known_keys(state.id, &keys) {
                    Ok(k) => k,
                    Err(e) => return FeedOutcome::Failed(format!("database: {e:#}")),
                }
            };
            let fresh: Vec<ParsedEntry> = parsed
                .entries
                .into_iter()
                .zip(known)
                .filter(|(_, known)| !known)
                .map(|(e, _)| e)
                .collect();
            // Pages and summaries only for entries we have not seen: this runs once each.
            let pages = fetch_pages(app, &fresh).await;
            let pages_fetched = pages
                .iter()
                .filter(|p| matches!(p, Page::Html { .. }))
                .count();
            let page_errors: Vec<String> = pages
                .iter()
                .filter_map(|p| match p {
                    Page::Failed(e) => Some(e.clone()),
                    _ => None,
                })
                .collect();
            let new_entries = tokio::task::spawn_blocking(move || {
                fresh
                    .into_iter()
                    .zip(pages)
                    .map(|(e, page)| entry_from(e, page))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            let store = app.store();
            let inserted = match store.insert_entries(state.id, &new_entries, now) {
                Ok(n) => n,
                Err(e) => return FeedOutcome::Failed(format!("database: {e:#}")),
            };
            record(store.feed_succeeded(
                state.id,
                now,
                Some(&fetched.validators),
                parsed.title.as_deref(),
            ));
            if !parsed.repaired.is_empty() {
                tracing::info!(feed = %state.url, repairs = ?parsed.repaired, "feed needed repairs");
            }
            FeedOutcome::Fetched {
                entries: total,
                new: inserted,
                repaired: parsed.repaired,
                pages: pages_fetched,
                page_errors,
            }
        }
        Err(e) => {
            let not_before = match &e {
                FetchError::RateLimited { retry_after, .. } => {
                    let wait = retry_after.unwrap_or(Duration::from_secs(3600));
                    chrono::Duration::from_std(wait).ok().map(|d| now + d)
                }
                _ => None,
            };
            let msg = e.to_string();
            tracing::warn!(feed = %state.url, error = %msg, "fetch failed");
            record(app.store().feed_failed(state.id, now, &msg, not_before));
            FeedOutcome::Failed(msg)
        }
    }
}

/// Logs a database error that should not stop the cycle.
fn record(result: anyhow::Result<()>) {
    if let Err(e) = result {
        tracing::error!("database: {e:#}");
    }
}

/// An article page as fetched for one new entry.
#[derive(Debug, Clone)]
pub enum Page {
    /// Not fetched: `[fetch] articles = false`, or the entry has no link.
    Skipped,
    /// The page's HTML and the URL it ended at after redirects.
    Html {
        /// The decoded HTML.
        html: String,
        /// The URL after redirects.
        final_url: url::Url,
    },
    /// Fetching failed, or it was not HTML; the reason names the URL.
    Failed(String),
    /// Another entry already has this article: what its page told us.
    Known(crate::store::PageFacts),
}

/// Fetches the article page of each entry (concurrently, within the fetcher's limits).
async fn fetch_pages(app: &App, entries: &[ParsedEntry]) -> Vec<Page> {
    if !app.config.fetch.articles {
        return vec![Page::Skipped; entries.len()];
    }
    futures::stream::iter(entries.iter().map(|e| async move {
        let Some(url) = e.url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
            return Page::Skipped;
        };
        if let Ok(Some(facts)) = app.store().page_facts(url.as_str()) {
            return Page::Known(facts);
        }
        match app.fetcher.get_page(&url).await {
            Ok(f) if f.is_html() => Page::Html {
                html: f.text(),
                final_url: f.final_url,
            },
            Ok(f) => Page::Failed(format!(
                "{url}: not an HTML page ({})",
                f.content_type.as_deref().unwrap_or("no content type")
            )),
            Err(err) => Page::Failed(format!("{url}: {err}")),
        }
    }))
    .buffered(app.config.fetch.per_host.max(1) * 2)
    .collect()
    .await
}

/// Turns a parsed entry and its article page into a stored entry. The summary comes from
/// the article's main text; when the page cannot be had or says too little, from the
/// feed's full content, then its description, then the page's own description.
pub fn entry_from(e: ParsedEntry, page: Page) -> NewEntry {
    let from_html = |html: &Option<String>| {
        html.as_deref()
            .map(crate::extract::html_to_blocks)
            .and_then(|blocks| summarize::summarize(&blocks))
    };
    if let Page::Known(facts) = page {
        return NewEntry {
            key: e.key,
            url: e.url,
            title: e.title,
            author: e.author,
            published_at: e.published,
            summary: facts.summary,
            source: facts.source,
            paywalled: facts.paywalled,
            from_page: true,
        };
    }
    let article = match &page {
        Page::Html { html, final_url } => Some(crate::extract::extract(html, Some(final_url))),
        Page::Skipped | Page::Failed(_) | Page::Known(_) => None,
    };
    let summary = article
        .as_ref()
        .and_then(|a| summarize::summarize(&a.blocks))
        .or_else(|| from_html(&e.content_html))
        .or_else(|| from_html(&e.summary_html))
        .or_else(|| {
            article
                .as_ref()
                .and_then(|a| a.description.clone())
                .and_then(|d| summarize::summarize(&[d]))
        });
    // The page's own URL after redirects (FeedBurner and tracking redirectors resolve
    // here); its canonical link counts only on the same host, since any page can claim any
    // canonical.
    let url = match (&page, &article) {
        (Page::Html { final_url, .. }, Some(a)) => {
            let canonical = a
                .canonical_url
                .as_ref()
                .filter(|c| c.host_str() == final_url.host_str())
                .unwrap_or(final_url);
            Some(parse::canonical_url(canonical).to_string())
        }
        _ => e.url.clone(),
    };
    NewEntry {
        key: e.key,
        url,
        title: e.title,
        author: e.author,
        published_at: e
            .published
            .or_else(|| article.as_ref().and_then(|a| a.published)),
        summary,
        source: article.as_ref().and_then(|a| a.site_name.clone()),
        paywalled: article.as_ref().is_some_and(|a| a.paywalled),
        from_page: article.is_some(),
    }
}

/// The stored form of an entry from its feed alone (no page), as `inspect` shows it.
pub fn entry_with_summary(e: ParsedEntry) -> NewEntry {
    entry_from(e, Page::Skipped)
}

/// Selects the next digest from stored entries without recording anything.
pub fn next_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<Option<Digest>> {
    let store = app.store();
    let last = store.last_digest()?;
    let window = chrono::Duration::from_std(app.config.brief.first_window)
        .unwrap_or(chrono::Duration::hours(24));
    let (after, since) = match last {
        Some((_, created, max_id)) => (Some(max_id), created),
        None => (None, now - window),
    };
    let candidates = store.candidates(after, since)?;
    // Stories of the last month's digests are not sent again through another feed.
    let recently_sent = store.recently_sent(now - chrono::Duration::days(30))?;
    // A feed added today brings its backlog; only posts from the window before the last
    // digest (or the first window) qualify.
    let oldest = since - window;
    Ok(select::select(
        &app.config,
        &candidates,
        &recently_sent,
        oldest,
        now,
    ))
}

/// Records `digest` with a pending delivery for every active member; returns its id.
pub fn record_digest(app: &App, digest: &Digest, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let content = serde_json::to_string(digest).context("serialising the digest")?;
    let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    let store = app.store();
    let max_id = store.max_entry_id()?;
    store.create_digest(now, max_id, &digest.lead.title, &content, &ids)
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
    let mut message = deliver::compose(
        &config.brief,
        &rendered,
        &deliver::Envelope {
            to,
            message_id,
            unsubscribe_https: https.as_deref(),
            date,
        },
    )?;
    if let Some(dkim) = &app.dkim {
        message.sign(dkim);
    }
    Ok(message)
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

/// Sends every delivery still owed (this digest's and earlier cycles' leftovers).
///
/// Each member is checked right before their message (an unsubscribe mid-send holds),
/// each acceptance is recorded at once, transient failures are retried with backoff up to
/// `[delivery] attempts` and then left for the next cycle, permanent ones recorded.
pub async fn deliver_pending(
    app: &Arc<App>,
    sender: &Arc<Sender>,
    cancel: &CancellationToken,
) -> anyhow::Result<DeliveryReport> {
    let pending = app.store().pending_deliveries()?;
    let mut digests: std::collections::HashMap<i64, Arc<Digest>> = std::collections::HashMap::new();
    for p in &pending {
        if digests.contains_key(&p.digest_id) {
            continue;
        }
        let row = app
            .store()
            .digest(p.digest_id)?
            .with_context(|| format!("digest {} is missing", p.digest_id))?;
        let digest: Digest = serde_json::from_str(&row.content)
            .with_context(|| format!("digest {} content is unreadable", row.id))?;
        digests.insert(row.id, Arc::new(digest));
    }
    let report = Arc::new(Mutex::new(DeliveryReport::default()));
    let pace = app.config.delivery.rate_per_second.map(|r| {
        Arc::new(tokio::sync::Mutex::new(tokio::time::interval(
            Duration::from_secs_f64(1.0 / r),
        )))
    });
    let connections = app.config.delivery.connections;
    futures::stream::iter(pending.into_iter().map(|p| {
        let app = Arc::clone(app);
        let sender = Arc::clone(sender);
        let digest = Arc::clone(&digests[&p.digest_id]);
        let report = Arc::clone(&report);
        let pace = pace.clone();
        let cancel = cancel.clone();
        async move {
            if cancel.is_cancelled() {
                return;
            }
            if let Some(p) = &pace {
                p.lock().await.tick().await;
            }
            let outcome = deliver_one(&app, &sender, &digest, &p).await;
            let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Delivered::Sent => r.sent += 1,
                Delivered::Skipped => r.skipped += 1,
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
    }))
    .buffer_unordered(connections.max(1))
    .collect::<Vec<()>>()
    .await;
    let report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(report)
}

enum Delivered {
    Sent,
    Skipped,
    Deferred(String),
    Failed(String),
}

async fn deliver_one(
    app: &App,
    sender: &Sender,
    digest: &Digest,
    p: &PendingDelivery,
) -> Delivered {
    let member = &p.member;
    match app.store().member_active(member.id) {
        Ok(true) => {}
        Ok(false) => return Delivered::Skipped,
        Err(e) => return Delivered::Deferred(format!("database: {e:#}")),
    }
    let recipient = Recipient {
        name: member.name.clone(),
        email: member.email.clone(),
        sections: member.sections.clone(),
    };
    let message = match message_for(
        app,
        Some(p.digest_id),
        digest,
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
                record(
                    app.store()
                        .delivery_sent(p.digest_id, member.id, Utc::now()),
                );
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
    let mut report = CycleReport {
        no_send: !send,
        ..CycleReport::default()
    };
    report.members = import_members(app, now)?;
    report.fetch = fetch_all(app, now).await?;
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
    if let Some(digest) = next_digest(app, now)? {
        let id = if send {
            Some(record_digest(app, &digest, now)?)
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
            r.errors.extend(more.errors);
        }
    }
    if let Some(sender) = &sender {
        sender.close().await;
    }
    Ok(report)
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ok = self.count(|o| matches!(o, FeedOutcome::Fetched { .. }));
        let nm = self.count(|o| matches!(o, FeedOutcome::NotModified));
        let skipped = self.count(|o| matches!(o, FeedOutcome::Skipped(_)));
        let failed = self.count(|o| matches!(o, FeedOutcome::Failed(_)));
        writeln!(
            f,
            "feeds: {ok} ok, {nm} not modified, {skipped} skipped, {failed} failed ({} new entries, {:.1}s)",
            self.new_entries(),
            self.elapsed.as_secs_f64()
        )?;
        for r in &self.feeds {
            match &r.outcome {
                FeedOutcome::Fetched {
                    entries,
                    new,
                    repaired,
                    pages,
                    page_errors,
                } => {
                    write!(f, "  ok      {}: {new} new of {entries}", r.name)?;
                    if *pages > 0 || !page_errors.is_empty() {
                        write!(f, ", {pages} article pages")?;
                    }
                    if !page_errors.is_empty() {
                        write!(
                            f,
                            " ({} unavailable, feed text used; first: {})",
                            page_errors.len(),
                            page_errors[0]
                        )?;
                    }
                    if !repaired.is_empty() {
                        write!(f, " (repaired: {})", repaired.join("; "))?;
                    }
                    writeln!(f)?;
                }
                FeedOutcome::NotModified => writeln!(f, "  304     {}: not modified", r.name)?,
                FeedOutcome::Skipped(why) => writeln!(f, "  skipped {}: {why}", r.name)?,
                FeedOutcome::Failed(why) => writeln!(f, "  FAILED  {} <{}>: {why}", r.name, r.url)?,
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
                " ({file}: {} added, {} updated, {} unchanged, {} rows skipped)",
                m.counts.added,
                m.counts.updated,
                m.counts.unchanged,
                m.errors.len()
            )?;
        }
        writeln!(f)?;
        for e in m.errors.iter().take(10) {
            writeln!(f, "  skipped row {e}")?;
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
        if self.no_send {
            writeln!(f, "delivery: skipped (--no-send)")?;
        } else {
            let d = &self.delivery;
            writeln!(
                f,
                "delivery: {} sent, {} deferred, {} failed, {} skipped (unsubscribed mid-send)",
                d.sent, d.deferred, d.failed, d.skipped
            )?;
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
        let e = entry_from(
            parsed("https://feeds.example.org/~r/pwj/123"),
            Page::Html { html, final_url },
        );
        assert_eq!(e.source.as_deref(), Some("Public Works Journal"));
        assert!(e.paywalled);
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/snow-plans"));
        assert!(e.published_at.is_some());
        assert!(
            e.summary
                .is_some_and(|s| s.starts_with("Most winter operations plans"))
        );
    }

    #[test]
    fn without_a_page_the_feed_text_is_summarized() {
        let e = entry_from(
            parsed("https://pwj.example.org/x"),
            Page::Failed("gone".into()),
        );
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/x"));
        assert!(e.source.is_none());
        assert!(!e.paywalled);
    }
}

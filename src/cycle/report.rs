//! A cycle's report: what each stage did to each item (feed, page, digest, member), and
//! the one screen `once` and `fetch` print.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::cycle::pages::PAGE_BUDGET_PER_STORY;
use crate::filter::FilterList;
use crate::store::FilteredCount;

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
    Failed(FeedError),
}

/// Why a feed could not be read this time. Its `Display` is the report's one line: what
/// failed and what to do; the source error is kept for logs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FeedError {
    /// Fetching failed: HTTP status, network, limits, a refused redirect.
    #[error(transparent)]
    Fetch(Arc<crate::fetch::FetchError>),
    /// The document is not a feed we can read, even leniently.
    #[error(transparent)]
    Parse(Arc<crate::parse::ParseError>),
    /// The stored address of the feed does not parse.
    #[error("stored URL {0:?} does not parse; check the feed's url in feeds.toml")]
    BadUrl(String),
    /// The database failed while storing the feed's entries.
    #[error("database: {0:#}")]
    Database(Arc<anyhow::Error>),
    /// Reading the feed panicked (a bug: the message says so).
    #[error("{0:#}")]
    Panicked(Arc<anyhow::Error>),
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
    /// With review on: the next slot's draft was built and the editors mailed.
    Drafted {
        /// The draft's id.
        id: i64,
        /// The slot it is for.
        slot: chrono::DateTime<chrono::Utc>,
        /// Stories it carries.
        stories: usize,
        /// Editors mailed its link.
        mailed: usize,
    },
    /// With review on: the slot's draft was not approved and `review_missing = "hold"`.
    Held {
        /// The slot.
        slot: chrono::DateTime<chrono::Utc>,
    },
    /// With review on: an editor skipped the slot.
    SkippedByEditor {
        /// The slot.
        slot: chrono::DateTime<chrono::Utc>,
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

/// Entries since the last digest that the filters keep out of it, per feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilteredReport {
    /// Feeds with filtered entries, in config order.
    pub feeds: Vec<FeedFiltered>,
}

/// One feed's filtered entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFiltered {
    /// Name from feeds.toml (the URL, for a feed no longer configured).
    pub name: String,
    /// How many each list filtered, in judging order.
    pub by_list: Vec<(FilterList, i64)>,
}

impl FeedFiltered {
    /// All of this feed's filtered entries.
    pub fn total(&self) -> i64 {
        self.by_list.iter().map(|(_, n)| n).sum()
    }
}

impl FilteredReport {
    /// The report of `counts` (from [`crate::store::Store::filtered_counts`]), named by
    /// `config`'s feeds.
    pub fn new(config: &Config, counts: &[FilteredCount]) -> Self {
        let mut feeds: Vec<FeedFiltered> = Vec::new();
        // Configured feeds first, in config order, then any other feed counted.
        let mut urls: Vec<&str> = config.feeds.iter().map(|f| f.url.as_str()).collect();
        for c in counts {
            if !urls.contains(&c.feed_url.as_str()) {
                urls.push(&c.feed_url);
            }
        }
        for url in urls {
            let by_list: Vec<(FilterList, i64)> = FilterList::ALL
                .into_iter()
                .filter_map(|list| {
                    let n: i64 = counts
                        .iter()
                        .filter(|c| c.feed_url == url && c.list == list)
                        .map(|c| c.count)
                        .sum();
                    (n > 0).then_some((list, n))
                })
                .collect();
            if by_list.is_empty() {
                continue;
            }
            let name = config
                .feeds
                .iter()
                .find(|f| f.url.as_str() == url)
                .map_or_else(|| url.to_string(), |f| f.name.clone());
            feeds.push(FeedFiltered { name, by_list });
        }
        Self { feeds }
    }

    /// Filtered entries across all feeds.
    pub fn total(&self) -> i64 {
        self.feeds.iter().map(FeedFiltered::total).sum()
    }
}

impl fmt::Display for FeedFiltered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists: Vec<String> = self
            .by_list
            .iter()
            .map(|(list, n)| format!("{n} by {list}"))
            .collect();
        write!(f, "{} filtered ({})", self.total(), lists.join(", "))
    }
}

impl fmt::Display for FilteredReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        if total == 0 {
            return Ok(());
        }
        let entries = if total == 1 { "entry" } else { "entries" };
        writeln!(
            f,
            "filtered: {total} {entries} since the last digest left out by include/exclude"
        )?;
        for feed in &self.feeds {
            writeln!(f, "  {}: {feed}", feed.name)?;
        }
        Ok(())
    }
}

/// The whole cycle's report, printed by `once`.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    /// Members.
    pub members: MembersReport,
    /// Fetch.
    pub fetch: FetchReport,
    /// Entries the filters leave out of the digest.
    pub filtered: FilteredReport,
    /// Digest.
    pub digest: DigestOutcome,
    /// Delivery.
    pub delivery: DeliveryReport,
    /// Whether sending was skipped (`--no-send`).
    pub no_send: bool,
    /// Whether the "feeds needing attention" mail went to the editor.
    pub attention_mailed: bool,
    /// With review on, why the slot's digest went out (approved, or unapproved).
    pub reviewed: Option<super::drafts::SendReason>,
}

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
        write!(f, "{}", self.filtered)?;
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
                match self.reviewed {
                    Some(super::drafts::SendReason::Approved) => {
                        writeln!(f, "review: sent as an editor approved it")?
                    }
                    Some(super::drafts::SendReason::Unapproved) => writeln!(
                        f,
                        "review: nobody approved it; sent as it stood (review_missing = \"send\")"
                    )?,
                    None => {}
                }
            }
            DigestOutcome::Drafted {
                id,
                slot,
                stories,
                mailed,
            } => writeln!(
                f,
                "draft #{id} for the slot {}: {stories} stories, waiting for review ({mailed} editor(s) mailed)",
                slot.to_rfc3339()
            )?,
            DigestOutcome::Held { slot } => writeln!(
                f,
                "digest: held; nobody approved the draft for the slot {} (review_missing = \"hold\"); its stories stay candidates",
                slot.to_rfc3339()
            )?,
            DigestOutcome::SkippedByEditor { slot } => writeln!(
                f,
                "digest: an editor skipped the slot {}; nothing sent, its stories stay candidates",
                slot.to_rfc3339()
            )?,
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

//! Store: the one SQLite file (WAL) that holds all state between cycles.
//!
//! Feeds and their HTTP state, entries with first-seen time and summary, digests with the
//! stories they carried, members, and a delivery row per (digest, member). The schema is
//! created by versioned migrations on open (`PRAGMA user_version`). Every write that must
//! not be half-done (a digest and its deliveries, a delivery marked sent) is one
//! transaction.
//!
//! The face is here: [`Store`], [`Store::open`] and the rows it hands out. The queries
//! live with their tables: `migrations`, `feeds`, `entries`, `digests`, `deliveries`
//! (with claims), `members`, `clicks` and `drafts` (the editor's desk: drafts, their
//! edits, sign-in links and sessions).

mod clicks;
mod deliveries;
mod digests;
mod drafts;
mod entries;
mod feeds;
mod members;
mod migrations;

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::fetch::Validators;

pub use clicks::{ClickTarget, FeedReach, ReadStory, StoryClicks};
pub use drafts::{ADDED_FEED_URL, Change, Draft, DraftEdit, DraftState, Saved, SignIn, SigninLink};
pub use entries::{FilteredCount, Release};
pub use members::{Confirmed, MemberActivity, MemberEvent, MemberEventKind, Preferences, Signup};
pub use migrations::{DatabaseState, inspect};

/// The file beside the database that says a database was made in this data dir; it
/// holds the database's id (`meta.database_id`).
pub const MARKER_FILE: &str = "database-id";

/// Why the database cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The database is empty or missing, but the data dir shows an earlier run.
    #[error(
        "{db} is empty or missing, but {dir} holds an earlier run's {evidence}: the database was lost or \
         truncated, and starting afresh would forget every unsubscribe and bounce and mail \
         removed members again. Restore the database from a backup; to start afresh on purpose, \
         move {dir} aside first"
    )]
    Lost {
        /// The database file.
        db: String,
        /// The data directory.
        dir: String,
        /// What shows the earlier run.
        evidence: String,
    },
    /// Any other failure (I/O, a damaged file, a schema newer than ours).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The open database.
pub struct Store {
    conn: Connection,
    /// Who this store's delivery claims belong to: `host/pid/nonce`, unique per open.
    owner: String,
}

/// A delivery owed to a member, as [`Store::claim_check`] finds it right before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimCheck {
    /// Still ours, the member still active: send (the claim's lease was renewed).
    Send,
    /// The member left (unsubscribed, bounced, removed) since the claim.
    MemberLeft,
    /// Another process took the delivery over (our lease ran out while we stalled).
    Lost,
}

/// A feed's stored state.
#[derive(Debug, Clone)]
pub struct FeedState {
    /// Row id.
    pub id: i64,
    /// Feed URL.
    pub url: String,
    /// Name from feeds.toml.
    pub name: String,
    /// Validators for the next conditional GET.
    pub validators: Validators,
    /// Last successful fetch.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last error, if the last fetch failed.
    pub last_error: Option<String>,
    /// Consecutive failures.
    pub error_count: i64,
    /// Do not fetch before this time (Retry-After).
    pub not_before: Option<DateTime<Utc>>,
    /// Where the feed lives now, after a permanent redirect.
    pub fetch_url: Option<String>,
    /// When the daemon fetches it next.
    pub next_fetch_at: Option<DateTime<Utc>>,
    /// Start of the current run of failures.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the feed is no longer fetched (410 Gone), if it is not.
    pub disabled: Option<String>,
}

impl FeedState {
    /// Why the feed needs the editor's attention at `now`, if it does: it is disabled, or
    /// it has been failing for at least `after`. The one policy behind the cycle report,
    /// `feeds status` and the editor's mail.
    pub fn attention(&self, now: DateTime<Utc>, after: chrono::Duration) -> Option<String> {
        if let Some(why) = &self.disabled {
            return Some(format!(
                "disabled: {why}; remove or replace it in feeds.toml"
            ));
        }
        let since = self.failing_since?;
        (now - since >= after).then(|| {
            format!(
                "failing since {} ({} attempts): {}",
                since.format("%Y-%m-%d %H:%M UTC"),
                self.error_count,
                self.last_error.as_deref().unwrap_or("unknown error")
            )
        })
    }
}

/// The stored state of one fetch, success or failure.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord<'a> {
    /// The error, when the fetch failed.
    pub error: Option<&'a str>,
    /// New validators (a 200); `None` keeps the old ones (a 304 or a failure).
    pub validators: Option<&'a Validators>,
    /// The feed's title, when parsed.
    pub title: Option<&'a str>,
    /// When to fetch next.
    pub next_fetch_at: Option<DateTime<Utc>>,
    /// Not before this time (Retry-After).
    pub not_before: Option<DateTime<Utc>>,
    /// The new location after a permanent redirect.
    pub moved_to: Option<&'a str>,
    /// Stop fetching, with this reason (410 Gone).
    pub disabled: Option<&'a str>,
}

/// An entry ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Our stable key within the feed.
    pub key: String,
    /// Canonical URL.
    pub url: Option<String>,
    /// Headline.
    pub title: String,
    /// Author.
    pub author: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Two-sentence summary.
    pub summary: Option<String>,
    /// Site name from the article page (og:site_name), when it gave one.
    pub source: Option<String>,
    /// The page is behind a paywall or registration wall.
    pub paywalled: bool,
    /// The summary and facts came from the article page itself.
    pub from_page: bool,
    /// The article page is yet to be fetched (once the entry contends for a digest).
    pub page_wanted: bool,
    /// The story's picture (the feed's, else the article page's).
    pub image: Option<crate::parse::Image>,
}

/// What an entry's article page changed, once fetched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageUpdate {
    /// The page's canonical URL (after redirects).
    pub url: Option<String>,
    /// The summary of its main text; `None` keeps the feed's.
    pub summary: Option<String>,
    /// The summary of the page's own description, for an entry with no other summary.
    pub description: Option<String>,
    /// For a main text with no sentence at all (a calendar, a results table): its opening
    /// lines ([`crate::article::loose_summary`]), the last resort after the description.
    pub loose_summary: Option<String>,
    /// Its site name.
    pub source: Option<String>,
    /// Whether it is behind a paywall.
    pub paywalled: bool,
    /// Its publication date, used when the feed gave none.
    pub published_at: Option<DateTime<Utc>>,
    /// The page was read (false: it could not be had; the feed's text stays).
    pub from_page: bool,
    /// Its `og:image` or `twitter:image`, used when the feed gave no picture.
    pub image: Option<crate::parse::Image>,
}

/// What an article page can change of an entry: the fields [`PageUpdate::apply`] rewrites,
/// whether the entry is new ([`NewEntry::apply_page`]) or stored ([`Store::set_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageFields {
    /// Canonical URL.
    pub url: Option<String>,
    /// Two-sentence summary.
    pub summary: Option<String>,
    /// Site name.
    pub source: Option<String>,
    /// Behind a paywall.
    pub paywalled: bool,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// The summary and facts came from the article page itself.
    pub from_page: bool,
    /// The article page is yet to be fetched.
    pub page_wanted: bool,
    /// The story's picture.
    pub image: Option<crate::parse::Image>,
}

impl PageUpdate {
    /// The one rule for what a page changes: the page is no longer wanted; its URL and
    /// site name replace the entry's when it has them; its summary comes first, then the
    /// entry's own when it has a sentence, then the page's description, then the opening
    /// lines of a main text without sentences, the page's before the feed's; its paywall and whether it was read
    /// replace the entry's; its date and its picture are used only where the entry has
    /// none (a feed's picture is the one its editors chose).
    pub fn apply(&self, e: &mut PageFields) {
        e.page_wanted = false;
        if let Some(u) = &self.url {
            e.url = Some(u.clone());
        }
        // The entry's own summary is the feed's: its sentences rank before the page's
        // description, its sentence-less opening lines after everything the page gave.
        let (feed_sentences, feed_lines) = match e.summary.take() {
            Some(s)
                if crate::article::sentence_summary(std::slice::from_ref(&s), None).is_some() =>
            {
                (Some(s), None)
            }
            other => (None, other),
        };
        e.summary = self
            .summary
            .clone()
            .or(feed_sentences)
            .or(self.description.clone())
            .or(self.loose_summary.clone())
            .or(feed_lines);
        if let Some(s) = &self.source {
            e.source = Some(s.clone());
        }
        e.paywalled = self.paywalled;
        e.published_at = e.published_at.or(self.published_at);
        e.from_page = self.from_page;
        if e.image.is_none() {
            e.image = self.image.clone();
        }
    }
}

impl NewEntry {
    /// `update` applied to this entry before it is stored, by [`PageUpdate::apply`], as
    /// [`Store::set_page`] applies it to a stored one.
    pub fn apply_page(&mut self, update: &PageUpdate) {
        let mut f = PageFields {
            url: self.url.take(),
            summary: self.summary.take(),
            source: self.source.take(),
            paywalled: self.paywalled,
            published_at: self.published_at,
            from_page: self.from_page,
            page_wanted: self.page_wanted,
            image: self.image.take(),
        };
        update.apply(&mut f);
        self.url = f.url;
        self.summary = f.summary;
        self.source = f.source;
        self.paywalled = f.paywalled;
        self.published_at = f.published_at;
        self.from_page = f.from_page;
        self.page_wanted = f.page_wanted;
        self.image = f.image;
    }
}

/// An entry whose article page is wanted: what fetching and reading the page needs.
#[derive(Debug, Clone)]
pub struct WantedPage {
    /// Row id.
    pub id: i64,
    /// The article's URL as the feed gave it.
    pub url: String,
    /// Headline (the summarizer skips sentences that repeat it).
    pub title: String,
    /// Feed URL, to say which feed a failing page belongs to.
    pub feed_url: String,
    /// It has a summary from its feed.
    pub has_summary: bool,
    /// Its feed gave a publication date.
    pub has_date: bool,
}

/// What an article page told us, kept with the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFacts {
    /// The summary of its main text.
    pub summary: Option<String>,
    /// Its site name.
    pub source: Option<String>,
    /// Whether it is behind a paywall.
    pub paywalled: bool,
    /// The picture that entry has.
    pub image: Option<crate::parse::Image>,
}

/// A stored entry, as selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// Row id.
    pub id: i64,
    /// Feed row id.
    pub feed_id: i64,
    /// Feed URL (to find its name, section and weight in the config), one copy per feed.
    pub feed_url: std::sync::Arc<str>,
    /// Canonical URL.
    pub url: Option<String>,
    /// Headline.
    pub title: String,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// When we first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// It has a summary (the text itself is loaded only for the chosen stories).
    pub has_summary: bool,
    /// Site name from the article page.
    pub source: Option<String>,
    /// Behind a paywall.
    pub paywalled: bool,
    /// The article page is yet to be fetched; its summary may still come.
    pub page_wanted: bool,
}

/// A member as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Row id.
    pub id: i64,
    /// Normalised address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Sections chosen; empty means all.
    pub sections: Vec<String>,
    /// Whether digests go to them.
    pub status: MemberStatus,
    /// Why the status is what it is.
    pub reason: Option<String>,
}

/// Counts from a member import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// New members.
    pub added: usize,
    /// Existing members whose name or sections changed.
    pub updated: usize,
    /// Rows that matched a member as they already were.
    pub unchanged: usize,
}

/// A digest as recorded.
#[derive(Debug, Clone)]
pub struct DigestRow {
    /// Row id.
    pub id: i64,
    /// When it was built.
    pub created_at: DateTime<Utc>,
    /// Subject line.
    pub subject: String,
    /// The digest content (JSON of [`crate::select::Digest`]).
    pub content: String,
}

/// A pending delivery: who still needs which digest.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    /// The digest.
    pub digest_id: i64,
    /// The member.
    pub member: Member,
    /// Attempts so far.
    pub attempts: i64,
}

/// A member's status: whether digests go to them and, when not, why. Stored as the text
/// [`MemberStatus::as_str`] gives (`active`, `unsubscribed`, `bounced`, `removed`); the
/// SQL in this module spells the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Receives digests.
    Active,
    /// Left through the unsubscribe link.
    Unsubscribed,
    /// Their address bounced permanently.
    Bounced,
    /// An operator removed them (`members remove`).
    Removed,
}

impl MemberStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [
        Self::Active,
        Self::Unsubscribed,
        Self::Bounced,
        Self::Removed,
    ];

    /// The stored (and shown) text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
            Self::Removed => "removed",
        }
    }
}

/// A delivery's status: owed (`pending`, `retry` after a transient failure), claimed by
/// a process sending it (`sending`), or done (`sent`, `failed` for good). Stored as the
/// text [`DeliveryStatus::as_str`] gives; the SQL in this module spells the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Owed, never tried.
    Pending,
    /// Owed again after a transient failure.
    Retry,
    /// Claimed by a process that is sending it.
    Sending,
    /// Accepted by the relay (or written to the outbox).
    Sent,
    /// Failed for good (a permanent failure, or its digest set aside).
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Retry,
        Self::Sending,
        Self::Sent,
        Self::Failed,
    ];

    /// The stored (and shown) text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retry => "retry",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// A feed's health, as `/metrics` counts it (worst first: a disabled feed is not also
/// failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedHealth {
    /// Its last fetch succeeded.
    Ok,
    /// Its last fetch failed.
    Failing,
    /// No longer fetched (410 Gone).
    Disabled,
    /// Not fetched yet.
    NeverFetched,
}

impl FeedHealth {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Ok, Self::Failing, Self::Disabled, Self::NeverFetched];

    /// The text `/metrics` shows (and the feeds query computes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failing => "failing",
            Self::Disabled => "disabled",
            Self::NeverFetched => "never_fetched",
        }
    }
}

/// A status text this feedbrief does not know, read from the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown {kind} status {text:?} (known: {known}); the database was written by another program or a newer feedbrief"
)]
pub struct UnknownStatus {
    /// Which status (`member`, `delivery`, `feed`).
    pub kind: &'static str,
    /// The text found.
    pub text: String,
    /// The texts known.
    pub known: String,
}

/// `Display`, `FromStr` and the SQLite conversions of a status enum, all through its
/// `as_str` and `ALL`, so the stored words are written once.
macro_rules! stored_as_text {
    ($ty:ty, $kind:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = UnknownStatus;

            fn from_str(text: &str) -> Result<Self, UnknownStatus> {
                Self::ALL
                    .into_iter()
                    .find(|s| s.as_str() == text)
                    .ok_or_else(|| UnknownStatus {
                        kind: $kind,
                        text: text.to_string(),
                        known: Self::ALL.map(Self::as_str).join(", "),
                    })
            }
        }

        stored_as_text!(@sql $ty, $kind);
    };
    // Only the SQLite conversions (for an enum with its own `Display` and `FromStr`).
    (@sql $ty:ty, $kind:literal) => {
        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $ty {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                <$ty>::ALL
                    .into_iter()
                    .find(|s| s.as_str() == text)
                    .ok_or_else(|| {
                        rusqlite::types::FromSqlError::Other(Box::new(UnknownStatus {
                            kind: $kind,
                            text: text.to_string(),
                            known: <$ty>::ALL.map(<$ty>::as_str).join(", "),
                        }))
                    })
            }
        }
    };
}

stored_as_text!(MemberStatus, "member");
stored_as_text!(DeliveryStatus, "delivery");
stored_as_text!(FeedHealth, "feed");
stored_as_text!(members::MemberEventKind, "member event");
stored_as_text!(@sql crate::members::Frequency, "frequency");

/// How many rows have one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCount<S> {
    /// The status.
    pub status: S,
    /// How many rows have it.
    pub count: i64,
}

/// What `/metrics` counts in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Entries stored.
    pub entries: i64,
    /// Digests recorded.
    pub digests: i64,
    /// Deliveries by status, in the order of their text.
    pub deliveries: Vec<StatusCount<DeliveryStatus>>,
    /// Members by status, in the order of their text.
    pub members: Vec<StatusCount<MemberStatus>>,
}

/// The newest digest: where the next digest's candidates begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastDigest {
    /// Row id.
    pub id: i64,
    /// When it was built.
    pub created_at: DateTime<Utc>,
    /// The highest entry id when it was built; later entries are the next candidates.
    pub max_entry_id: i64,
}

/// A digest as the archive lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedDigest {
    /// Row id.
    pub id: i64,
    /// When it was built.
    pub created_at: DateTime<Utc>,
    /// Subject line.
    pub subject: String,
}

/// A story a recent digest carried, so it is not sent again through another feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentStory {
    /// Headline.
    pub title: String,
    /// Its URL, when it has one.
    pub url: Option<String>,
}

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_ts(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

impl Store {
    /// Runs `work` on this store in one transaction (IMMEDIATE: the write lock is taken
    /// first), committed when `work` succeeds: several small writes cost one commit.
    /// `work` must not start a transaction of its own.
    pub fn in_transaction<T>(
        &self,
        work: impl FnOnce(&Store) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let result = work(self)?;
        tx.commit()?;
        Ok(result)
    }

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    ///
    /// A database that is empty or missing while its data dir shows an earlier run (the
    /// marker file, the secret, mail in the outbox) is refused: it was lost, and a new one
    /// would forget the suppression list. Two processes opening a new database at once
    /// both succeed: migrations run one process at a time.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
        let conn = Connection::open(path)
            .with_context(|| format!("opening the database {}", path.display()))?;
        let store = Self::init(conn, dir)
            .with_context(|| format!("preparing the database {}", path.display()));
        match store {
            Ok(s) => {
                s.write_marker(dir);
                Ok(s)
            }
            Err(e) => match e.downcast::<OpenError>() {
                Ok(lost) => Err(lost),
                Err(e) => Err(OpenError::Other(e)),
            },
        }
    }

    fn init(mut conn: Connection, dir: &Path) -> anyhow::Result<Self> {
        // Set first: a second process creating the same database waits instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Before anything writes to the file: a new (empty) database where an earlier run
        // left its traces was lost. The version is read again after the traces: they are
        // made only once a database is complete, so one seen there is a committed one
        // (another process may have just created it), not a lost one.
        let version =
            |c: &Connection| c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0));
        if version(&conn)? == 0
            && let Some(evidence) = earlier_run(dir)
            && version(&conn)? == 0
        {
            return Err(OpenError::Lost {
                db: dir.join("feedbrief.sqlite").display().to_string(),
                dir: dir.display().to_string(),
                evidence,
            }
            .into());
        }
        // WAL lets `serve` read while `once` writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn,
            owner: deliveries::claim_owner(),
        })
    }

    /// Writes the data dir's marker file if it is missing (best effort: it only lets a
    /// later open tell a lost database from a new one).
    fn write_marker(&self, dir: &Path) {
        let marker = dir.join(MARKER_FILE);
        if marker.exists() {
            return;
        }
        let Ok(Some(id)) = self.meta("database_id") else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{id}\n").as_bytes()));
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            tracing::warn!(file = %marker.display(), error = %e, "cannot write the database marker");
        }
    }

    /// A small stored fact (`last_slot`, `attention_mailed_at` …).
    pub fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Stores a small fact.
    pub fn set_meta(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Counts for `/metrics`: entries, digests, deliveries by status, members by status.
    pub fn counts(&self) -> anyhow::Result<Counts> {
        let one =
            |sql: &str| -> anyhow::Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Counts {
            entries: one("SELECT COUNT(*) FROM entries")?,
            digests: one("SELECT COUNT(*) FROM digests")?,
            deliveries: self.by_status("deliveries")?,
            members: self.by_status("members")?,
        })
    }

    /// The rows of `table` counted by their `status` column.
    fn by_status<S: rusqlite::types::FromSql>(
        &self,
        table: &str,
    ) -> anyhow::Result<Vec<StatusCount<S>>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(StatusCount {
                status: r.get(0)?,
                count: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What in `dir` shows that a database was made there before, if anything does.
fn earlier_run(dir: &Path) -> Option<String> {
    let mut evidence = Vec::new();
    if dir.join(MARKER_FILE).exists() {
        evidence.push(format!("database marker ({MARKER_FILE})"));
    }
    if dir.join("secret").exists() {
        evidence.push("secret".to_string());
    }
    if std::fs::read_dir(dir.join("outbox")).is_ok_and(|mut d| d.next().is_some()) {
        evidence.push("outbox mail".to_string());
    }
    (!evidence.is_empty()).then(|| evidence.join(", "))
}

#[cfg(test)]
mod testing {
    use chrono::{DateTime, Utc};

    use super::NewEntry;

    pub(super) fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    pub(super) fn entry(key: &str) -> NewEntry {
        NewEntry {
            key: key.into(),
            url: Some(format!("https://ex.org/{key}")),
            title: format!("Story {key}"),
            author: None,
            published_at: Some(now()),
            summary: Some("A summary.".into()),
            source: None,
            paywalled: false,
            from_page: false,
            page_wanted: false,
            image: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_database_is_refused_where_an_earlier_run_left_its_marker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        drop(Store::open(&path).expect("first open"));
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("feedbrief.sqlite{suffix}")));
        }
        std::fs::write(&path, b"").expect("truncate");
        let err = Store::open(&path)
            .err()
            .expect("an emptied database is refused");
        assert!(matches!(err, OpenError::Lost { .. }), "{err}");
        assert!(err.to_string().contains("Restore the database"), "{err}");
        // The same when the file is gone but an earlier run's secret and outbox remain.
        let other = tempfile::tempdir().expect("tempdir");
        std::fs::write(other.path().join("secret"), [b'x'; 64]).expect("secret");
        let err = Store::open(&other.path().join("feedbrief.sqlite"))
            .err()
            .expect("refused");
        assert!(err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn statuses_keep_the_words_the_database_always_held() {
        let members: Vec<String> = MemberStatus::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(members, ["active", "unsubscribed", "bounced", "removed"]);
        let deliveries: Vec<String> = DeliveryStatus::ALL
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            deliveries,
            ["pending", "retry", "sending", "sent", "failed"]
        );
        for s in MemberStatus::ALL {
            assert_eq!(s.to_string().parse::<MemberStatus>(), Ok(s));
        }
        for s in DeliveryStatus::ALL {
            assert_eq!(s.to_string().parse::<DeliveryStatus>(), Ok(s));
        }
        let err = "paused".parse::<MemberStatus>().expect_err("unknown");
        assert!(
            err.to_string().contains(
                "unknown member status \"paused\" (known: active, unsubscribed, bounced, removed)"
            ),
            "{err}"
        );
    }

    #[test]
    fn rows_written_with_the_stored_words_read_back_as_statuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        // Rows as any earlier version wrote them: plain words, no migration.
        for (i, word) in ["active", "unsubscribed", "bounced", "removed"]
            .iter()
            .enumerate()
        {
            s.conn
                .execute(
                    "INSERT INTO members (email, status, created_at, updated_at)
                     VALUES (?1, ?2, 0, 0)",
                    params![format!("m{i}@example.org"), word],
                )
                .expect("member");
        }
        let statuses: Vec<MemberStatus> = s
            .members()
            .expect("members")
            .into_iter()
            .map(|m| m.status)
            .collect();
        assert_eq!(statuses, MemberStatus::ALL);
        s.conn
            .execute(
                "INSERT INTO digests (created_at, max_entry_id, subject, content) VALUES (0, 0, 'S', '{}')",
                [],
            )
            .expect("digest");
        for (member, word) in [(1, "sent"), (2, "failed"), (3, "retry"), (4, "sent")] {
            s.conn
                .execute(
                    "INSERT INTO deliveries (digest_id, member_id, status, updated_at) VALUES (1, ?1, ?2, 0)",
                    params![member, word],
                )
                .expect("delivery");
        }
        assert_eq!(
            s.delivery_counts(1).expect("counts"),
            [
                StatusCount {
                    status: DeliveryStatus::Failed,
                    count: 1
                },
                StatusCount {
                    status: DeliveryStatus::Retry,
                    count: 1
                },
                StatusCount {
                    status: DeliveryStatus::Sent,
                    count: 2
                },
            ]
        );
        // Setting a status writes the same word back.
        assert!(
            s.set_member_status(
                "m0@example.org",
                MemberStatus::Removed,
                "test",
                testing::now()
            )
            .expect("set")
        );
        let word: String = s
            .conn
            .query_row(
                "SELECT status FROM members WHERE email = 'm0@example.org'",
                [],
                |r| r.get(0),
            )
            .expect("word");
        assert_eq!(word, "removed");
        // A word no feedbrief wrote is an error that names it, not a silent default.
        s.conn
            .execute("UPDATE members SET status = 'paused' WHERE id = 2", [])
            .expect("odd word");
        let err = s.members().expect_err("an unknown status");
        assert!(
            format!("{err:#}").contains("unknown member status \"paused\""),
            "{err:#}"
        );
    }

    #[test]
    fn queries_name_what_they_return() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let now = testing::now();
        assert!(s.last_digest().expect("none yet").is_none());
        let feeds = s
            .sync_feeds(&[
                ("https://a.example/feed".into(), "A".into()),
                ("https://b.example/feed".into(), "B".into()),
                ("https://c.example/feed".into(), "C".into()),
            ])
            .expect("feeds");
        s.insert_entries(
            feeds[0].id,
            &[testing::entry("1"), testing::entry("2")],
            now,
        )
        .expect("insert");
        s.record_fetch(feeds[0].id, now, &FetchRecord::default())
            .expect("ok");
        let failed = FetchRecord {
            error: Some("timed out"),
            ..FetchRecord::default()
        };
        s.record_fetch(feeds[1].id, now, &failed).expect("failing");
        assert_eq!(
            s.feeds_by_state().expect("states"),
            [
                StatusCount {
                    status: FeedHealth::Failing,
                    count: 1
                },
                StatusCount {
                    status: FeedHealth::NeverFetched,
                    count: 1
                },
                StatusCount {
                    status: FeedHealth::Ok,
                    count: 1
                },
            ]
        );
        let later = now + chrono::Duration::hours(1);
        s.create_digest(now, 1, "First", "{}", &[1], None)
            .expect("first");
        let second = s
            .create_digest(later, 2, "Second", "{}", &[2], None)
            .expect("second");
        assert_eq!(
            s.last_digest().expect("last"),
            Some(LastDigest {
                id: second,
                created_at: later,
                max_entry_id: 2
            })
        );
        let archive = s.digests().expect("archive");
        assert_eq!(
            archive
                .iter()
                .map(|d| (d.subject.as_str(), d.created_at))
                .collect::<Vec<_>>(),
            [("Second", later), ("First", now)],
            "newest first"
        );
        let sent = s.recently_sent(now).expect("sent");
        assert_eq!(sent.len(), 2);
        assert!(sent.contains(&SentStory {
            title: "Story 1".into(),
            url: Some("https://ex.org/1".into())
        }));
        assert_eq!(
            s.counts().expect("counts"),
            Counts {
                entries: 2,
                digests: 2,
                deliveries: vec![],
                members: vec![]
            }
        );
    }
}

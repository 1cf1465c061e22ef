//! Store: the one SQLite file (WAL) that holds all state between cycles.
//!
//! Feeds and their HTTP state, entries with first-seen time and summary, digests with the
//! stories they carried, members, and a delivery row per (digest, member). The schema is
//! created by versioned migrations on open (`PRAGMA user_version`). Every write that must
//! not be half-done (a digest and its deliveries, a delivery marked sent) is one
//! transaction.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::fetch::Validators;
use crate::members::MemberRow;

/// Migrations in order; `user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    title           TEXT,
    etag            TEXT,
    last_modified   TEXT,
    last_fetch_at   INTEGER,
    last_success_at INTEGER,
    last_error      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,
    not_before      INTEGER
);
CREATE TABLE entries (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id),
    key           TEXT NOT NULL,
    url           TEXT,
    title         TEXT NOT NULL,
    author        TEXT,
    published_at  INTEGER,
    first_seen_at INTEGER NOT NULL,
    summary       TEXT,
    UNIQUE (feed_id, key)
);
CREATE INDEX entries_first_seen ON entries(first_seen_at);
CREATE INDEX entries_url ON entries(url);
CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    max_entry_id INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    content      TEXT NOT NULL
);
CREATE TABLE digest_entries (
    digest_id INTEGER NOT NULL REFERENCES digests(id),
    entry_id  INTEGER NOT NULL REFERENCES entries(id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (digest_id, entry_id)
);
CREATE INDEX digest_entries_entry ON digest_entries(entry_id);
CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    name       TEXT,
    sections   TEXT,
    status     TEXT NOT NULL DEFAULT 'active',
    reason     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE deliveries (
    digest_id  INTEGER NOT NULL REFERENCES digests(id),
    member_id  INTEGER NOT NULL REFERENCES members(id),
    status     TEXT NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    sent_at    INTEGER,
    PRIMARY KEY (digest_id, member_id)
);
CREATE INDEX deliveries_status ON deliveries(status);
"#,
    // 2: extra CSV columns kept per member, as a JSON object.
    "ALTER TABLE members ADD COLUMN attributes TEXT;",
    // 3: what the article page said about itself.
    "ALTER TABLE entries ADD COLUMN source TEXT;
     ALTER TABLE entries ADD COLUMN paywalled INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE entries ADD COLUMN from_page INTEGER NOT NULL DEFAULT 0;",
    // 4: per-feed schedule and health; digest slots; small key-value facts.
    "ALTER TABLE feeds ADD COLUMN fetch_url TEXT;
     ALTER TABLE feeds ADD COLUMN next_fetch_at INTEGER;
     ALTER TABLE feeds ADD COLUMN failing_since INTEGER;
     ALTER TABLE feeds ADD COLUMN disabled TEXT;
     ALTER TABLE digests ADD COLUMN slot INTEGER;
     CREATE UNIQUE INDEX digests_slot ON digests(slot) WHERE slot IS NOT NULL;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 5: the article page is still to be fetched, should the entry contend for a digest.
    "ALTER TABLE entries ADD COLUMN page_wanted INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX entries_page_wanted ON entries(id) WHERE page_wanted = 1;",
    // 6: a delivery being sent is claimed by one process (status 'sending'), so two
    // processes on one database never send it both; the database's own id, which the
    // data dir's marker file repeats (an emptied database is then told from a new one).
    "ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
     ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER;
     INSERT OR IGNORE INTO meta (key, value)
         VALUES ('database_id', lower(hex(randomblob(16))));",
];

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

/// What `feedbrief check` sees of a database file, without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    /// No file yet: the first run creates it.
    Missing,
    /// A database at this schema version (migrations still to run, if below ours).
    Version {
        /// `PRAGMA user_version`.
        version: usize,
        /// The version this binary migrates to.
        current: usize,
    },
}

impl std::fmt::Display for DatabaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("not created yet (the first run creates it)"),
            Self::Version { version, current } if version == current => {
                write!(f, "schema version {version}, up to date")
            }
            Self::Version { version, current } => write!(
                f,
                "schema version {version}; the next run migrates it to {current}"
            ),
        }
    }
}

/// Looks at the database at `path` read-only: no migration runs and nothing is created.
/// A schema newer than this binary, or a file that is not a database, is an error.
pub fn inspect(path: &Path) -> anyhow::Result<DatabaseState> {
    if !path.exists() {
        return Ok(DatabaseState::Missing);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {} read-only", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(|| format!("reading {}", path.display()))?;
    // Reading the schema proves the file is a database, not just a file.
    conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .with_context(|| format!("{} is not a readable SQLite database", path.display()))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "{}: schema version {version} is newer than this feedbrief knows ({}); upgrade feedbrief",
            path.display(),
            MIGRATIONS.len()
        );
    }
    Ok(DatabaseState::Version {
        version,
        current: MIGRATIONS.len(),
    })
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
#[derive(Debug, Clone)]
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
    /// Its site name.
    pub source: Option<String>,
    /// Whether it is behind a paywall.
    pub paywalled: bool,
    /// Its publication date, used when the feed gave none.
    pub published_at: Option<DateTime<Utc>>,
    /// The page was read (false: it could not be had; the feed's text stays).
    pub from_page: bool,
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
    /// `active`, `unsubscribed`, `bounced` or `removed`.
    pub status: String,
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

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_ts(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

impl Store {
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
        loop {
            // IMMEDIATE takes the write lock before the version is read, so two processes
            // opening a new database run each migration once between them.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let version = usize::try_from(version).unwrap_or(usize::MAX);
            if version > MIGRATIONS.len() {
                anyhow::bail!(
                    "the database schema is version {version}, newer than this feedbrief knows ({}); upgrade feedbrief",
                    MIGRATIONS.len()
                );
            }
            if version == MIGRATIONS.len() {
                break;
            }
            tx.execute_batch(MIGRATIONS[version])
                .with_context(|| format!("running migration {}", version + 1))?;
            tx.pragma_update(None, "user_version", (version + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Self {
            conn,
            owner: claim_owner(),
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

    /// Inserts feeds that are new and refreshes names; returns each feed's state by URL.
    pub fn sync_feeds(&self, feeds: &[(String, String)]) -> anyhow::Result<Vec<FeedState>> {
        let tx = self.conn.unchecked_transaction()?;
        for (url, name) in feeds {
            tx.execute(
                "INSERT INTO feeds (url, name) VALUES (?1, ?2)
                 ON CONFLICT(url) DO UPDATE SET name = excluded.name",
                params![url, name],
            )?;
        }
        tx.commit()?;
        feeds
            .iter()
            .map(|(url, _)| {
                self.feed_state(url)?
                    .ok_or_else(|| anyhow::anyhow!("feed {url} vanished from the database"))
            })
            .collect()
    }

    /// The stored state of the feed at `url`.
    pub fn feed_state(&self, url: &str) -> anyhow::Result<Option<FeedState>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, url, name, etag, last_modified, last_success_at, last_error,
                        error_count, not_before, fetch_url, next_fetch_at, failing_since, disabled
                 FROM feeds WHERE url = ?1",
                [url],
                |r| {
                    Ok(FeedState {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        name: r.get(2)?,
                        validators: Validators {
                            etag: r.get(3)?,
                            last_modified: r.get(4)?,
                        },
                        last_success_at: r.get::<_, Option<i64>>(5)?.map(from_ts),
                        last_error: r.get(6)?,
                        error_count: r.get(7)?,
                        not_before: r.get::<_, Option<i64>>(8)?.map(from_ts),
                        fetch_url: r.get(9)?,
                        next_fetch_at: r.get::<_, Option<i64>>(10)?.map(from_ts),
                        failing_since: r.get::<_, Option<i64>>(11)?.map(from_ts),
                        disabled: r.get(12)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records the outcome of one fetch of a feed.
    pub fn record_fetch(
        &self,
        feed_id: i64,
        now: DateTime<Utc>,
        r: &FetchRecord<'_>,
    ) -> anyhow::Result<()> {
        match r.error {
            None => self.conn.execute(
                "UPDATE feeds SET last_fetch_at = ?2, last_success_at = ?2, last_error = NULL,
                        error_count = 0, not_before = NULL, failing_since = NULL,
                        etag = CASE WHEN ?3 THEN ?4 ELSE etag END,
                        last_modified = CASE WHEN ?3 THEN ?5 ELSE last_modified END,
                        title = COALESCE(?6, title),
                        next_fetch_at = ?7,
                        fetch_url = COALESCE(?8, fetch_url)
                 WHERE id = ?1",
                params![
                    feed_id,
                    ts(now),
                    r.validators.is_some(),
                    r.validators.and_then(|v| v.etag.as_deref()),
                    r.validators.and_then(|v| v.last_modified.as_deref()),
                    r.title,
                    r.next_fetch_at.map(ts),
                    r.moved_to,
                ],
            )?,
            Some(error) => self.conn.execute(
                "UPDATE feeds SET last_fetch_at = ?2, last_error = ?3,
                        error_count = error_count + 1, not_before = ?4,
                        failing_since = COALESCE(failing_since, ?2),
                        next_fetch_at = ?5,
                        disabled = COALESCE(?6, disabled)
                 WHERE id = ?1",
                params![
                    feed_id,
                    ts(now),
                    error,
                    r.not_before.map(ts),
                    r.next_fetch_at.map(ts),
                    r.disabled,
                ],
            )?,
        };
        Ok(())
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

    /// Feeds by state: `ok`, `failing`, `disabled`, `never_fetched`.
    pub fn feeds_by_state(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT CASE WHEN disabled IS NOT NULL THEN 'disabled'
                         WHEN last_fetch_at IS NULL THEN 'never_fetched'
                         WHEN last_error IS NOT NULL THEN 'failing'
                         ELSE 'ok' END AS state, COUNT(*)
             FROM feeds GROUP BY state ORDER BY state",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts for `/metrics`: entries, digests, deliveries by status, members by status.
    pub fn counts(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        let mut out = Vec::new();
        let one =
            |sql: &str| -> anyhow::Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        out.push((
            "entries".into(),
            String::new(),
            one("SELECT COUNT(*) FROM entries")?,
        ));
        out.push((
            "digests".into(),
            String::new(),
            one("SELECT COUNT(*) FROM digests")?,
        ));
        for (table, metric) in [("deliveries", "deliveries"), ("members", "members")] {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT status, COUNT(*) FROM {table} GROUP BY status"
            ))?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (status, n) = row?;
                out.push((metric.to_string(), status, n));
            }
        }
        Ok(out)
    }

    /// Which of `keys` the feed already has (so only new entries are summarized).
    pub fn known_keys(&self, feed_id: i64, keys: &[&str]) -> anyhow::Result<Vec<bool>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM entries WHERE feed_id = ?1 AND key = ?2")?;
        keys.iter()
            .map(|k| Ok(stmt.exists(params![feed_id, k])?))
            .collect()
    }

    /// What an earlier entry with this URL (from any feed) learned from its page, so the
    /// same article is not fetched twice.
    pub fn page_facts(&self, url: &str) -> anyhow::Result<Option<PageFacts>> {
        Ok(self
            .conn
            .query_row(
                "SELECT summary, source, paywalled FROM entries
                 WHERE url = ?1 AND from_page = 1 ORDER BY id LIMIT 1",
                [url],
                |r| {
                    Ok(PageFacts {
                        summary: r.get(0)?,
                        source: r.get(1)?,
                        paywalled: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Inserts entries not yet stored; returns how many were new.
    pub fn insert_entries(
        &self,
        feed_id: i64,
        entries: &[NewEntry],
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO entries (feed_id, key, url, title, author, published_at,
                                      first_seen_at, summary, source, paywalled, from_page,
                                      page_wanted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT(feed_id, key) DO NOTHING",
            )?;
            for e in entries {
                added += stmt.execute(params![
                    feed_id,
                    e.key,
                    e.url,
                    e.title,
                    e.author,
                    e.published_at.map(ts),
                    ts(now),
                    e.summary,
                    e.source,
                    e.paywalled,
                    e.from_page,
                    e.page_wanted,
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The newest digest, if any.
    pub fn last_digest(&self) -> anyhow::Result<Option<(i64, DateTime<Utc>, i64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, max_entry_id FROM digests ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, from_ts(r.get(1)?), r.get(2)?)),
            )
            .optional()?)
    }

    /// Entries that could go into the next digest: newer than the last digest (by entry id)
    /// or, before any digest, first seen after `since`; never carried by an earlier digest.
    pub fn candidates(
        &self,
        after_entry_id: Option<i64>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<StoredEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.feed_id, f.url, e.url, e.title, e.published_at, e.first_seen_at,
                    e.summary IS NOT NULL, e.source, e.paywalled, e.page_wanted
             FROM entries e JOIN feeds f ON f.id = e.feed_id
             WHERE (CASE WHEN ?1 IS NULL THEN e.first_seen_at >= ?2 ELSE e.id > ?1 END)
               AND NOT EXISTS (SELECT 1 FROM digest_entries d WHERE d.entry_id = e.id)
             ORDER BY e.id",
        )?;
        // One shared copy of each feed's URL rather than one per entry.
        let mut feed_urls: std::collections::HashMap<i64, std::sync::Arc<str>> =
            std::collections::HashMap::new();
        let rows = stmt.query_map(params![after_entry_id, ts(since)], |r| {
            let feed_id: i64 = r.get(1)?;
            let feed_url = match feed_urls.get(&feed_id) {
                Some(u) => std::sync::Arc::clone(u),
                None => {
                    let u: std::sync::Arc<str> = r.get::<_, String>(2)?.into();
                    feed_urls.insert(feed_id, std::sync::Arc::clone(&u));
                    u
                }
            };
            Ok(StoredEntry {
                id: r.get(0)?,
                feed_id,
                feed_url,
                url: r.get(3)?,
                title: r.get(4)?,
                published_at: r.get::<_, Option<i64>>(5)?.map(from_ts),
                first_seen_at: from_ts(r.get(6)?),
                has_summary: r.get(7)?,
                source: r.get(8)?,
                paywalled: r.get(9)?,
                page_wanted: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The summaries of entries `ids` (those that have one).
    pub fn summaries(&self, ids: &[i64]) -> anyhow::Result<std::collections::HashMap<i64, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT summary FROM entries WHERE id = ?1 AND summary IS NOT NULL")?;
        let mut out = std::collections::HashMap::new();
        for &id in ids {
            if let Some(s) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.insert(id, s);
            }
        }
        Ok(out)
    }

    /// Every entry whose article page is still wanted (`[fetch] articles = "all"`).
    pub fn all_wanted_pages(&self) -> anyhow::Result<Vec<WantedPage>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id FROM entries e WHERE e.page_wanted = 1 AND e.url IS NOT NULL ORDER BY e.id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        self.wanted_pages(&ids)
    }

    /// Of `ids`, the entries whose article page is still wanted.
    pub fn wanted_pages(&self, ids: &[i64]) -> anyhow::Result<Vec<WantedPage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.url, e.title, f.url, e.summary IS NOT NULL, e.published_at IS NOT NULL
             FROM entries e JOIN feeds f ON f.id = e.feed_id
             WHERE e.id = ?1 AND e.page_wanted = 1 AND e.url IS NOT NULL",
        )?;
        let mut out = Vec::new();
        for id in ids {
            let row = stmt
                .query_row([id], |r| {
                    Ok(WantedPage {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        title: r.get(2)?,
                        feed_url: r.get(3)?,
                        has_summary: r.get(4)?,
                        has_date: r.get(5)?,
                    })
                })
                .optional()?;
            out.extend(row);
        }
        Ok(out)
    }

    /// Records what an entry's article page said; the page is no longer wanted either way.
    pub fn set_page(&self, id: i64, page: &PageUpdate) -> anyhow::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE entries SET page_wanted = 0,
                        url = COALESCE(?2, url),
                        summary = COALESCE(?3, summary, ?8),
                        source = COALESCE(?4, source),
                        paywalled = ?5,
                        published_at = COALESCE(published_at, ?6),
                        from_page = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                page.url,
                page.summary,
                page.source,
                page.paywalled,
                page.published_at.map(ts),
                page.from_page,
                page.description,
            ])?;
        Ok(())
    }

    /// Titles and URLs of stories recent digests carried, to keep a story from returning
    /// through another feed.
    pub fn recently_sent(
        &self,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<(String, Option<String>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.title, e.url FROM digest_entries d
             JOIN entries e ON e.id = d.entry_id
             JOIN digests g ON g.id = d.digest_id
             WHERE g.created_at >= ?1",
        )?;
        let rows = stmt.query_map([ts(since)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The highest entry id so far.
    pub fn max_entry_id(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM entries", [], |r| r.get(0))?)
    }

    /// Records a digest, the entries it carries and a pending delivery for each active
    /// member, in one transaction. Returns the digest id.
    pub fn create_digest(
        &self,
        now: DateTime<Utc>,
        max_entry_id: i64,
        subject: &str,
        content: &str,
        entry_ids: &[i64],
        slot: Option<DateTime<Utc>>,
    ) -> anyhow::Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        // The unique index on slot makes a second digest for one schedule slot impossible.
        tx.execute(
            "INSERT INTO digests (created_at, max_entry_id, subject, content, slot)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ts(now), max_entry_id, subject, content, slot.map(ts)],
        )?;
        let id = tx.last_insert_rowid();
        for (pos, e) in entry_ids.iter().enumerate() {
            tx.execute(
                "INSERT INTO digest_entries (digest_id, entry_id, position) VALUES (?1, ?2, ?3)",
                params![id, e, pos as i64],
            )?;
        }
        tx.execute(
            "INSERT INTO deliveries (digest_id, member_id, status, updated_at)
             SELECT ?1, id, 'pending', ?2 FROM members WHERE status = 'active'",
            params![id, ts(now)],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// A digest by id.
    pub fn digest(&self, id: i64) -> anyhow::Result<Option<DigestRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, subject, content FROM digests WHERE id = ?1",
                [id],
                |r| {
                    Ok(DigestRow {
                        id: r.get(0)?,
                        created_at: from_ts(r.get(1)?),
                        subject: r.get(2)?,
                        content: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Claims every delivery still owed (pending or transiently failed, to members still
    /// active, or claimed by a process that died or whose lease ran out) for this store,
    /// until `lease_until`, and returns them, oldest digest first.
    ///
    /// The claim is one transaction: two processes claiming at once split the rows, never
    /// share one. Each claimed row is checked again right before its message goes out
    /// ([`Store::claim_check`]), and what is left unsent is given back with
    /// [`Store::release_claims`].
    pub fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<PendingDelivery>> {
        // IMMEDIATE: the write lock is taken before the first read, so a second claimer
        // waits (busy_timeout) instead of failing to upgrade its read.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        // Take back the claims of processes that died mid-send on this host, and of any
        // process whose lease ran out.
        let owners: Vec<String> = tx
            .prepare("SELECT DISTINCT claimed_by FROM deliveries WHERE status = 'sending'")?
            .query_map([], |r| r.get::<_, Option<String>>(0))?
            .filter_map(|r| r.ok().flatten())
            .collect();
        for owner in owners.iter().filter(|o| owner_is_dead(o)) {
            tracing::info!(
                owner,
                "taking back the deliveries of a process that stopped mid-send"
            );
            tx.execute(RELEASE_SQL_BY_OWNER, [owner])?;
        }
        tx.execute(
            "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retry' ELSE 'pending' END,
                    claimed_by = NULL, claimed_until = NULL
             WHERE status = 'sending' AND claimed_until < ?1",
            [ts(now)],
        )?;
        tx.execute(
            "UPDATE deliveries SET status = 'sending', claimed_by = ?1, claimed_until = ?2
             WHERE status IN ('pending', 'retry')
               AND member_id IN (SELECT id FROM members WHERE status = 'active')",
            params![self.owner, ts(lease_until)],
        )?;
        let claimed = {
            let mut stmt = tx.prepare(
                "SELECT d.digest_id, d.attempts, m.id, m.email, m.name, m.sections, m.status, m.reason
                 FROM deliveries d JOIN members m ON m.id = d.member_id
                 WHERE d.status = 'sending' AND d.claimed_by = ?1
                 ORDER BY d.digest_id, m.id",
            )?;
            let rows = stmt.query_map([&self.owner], |r| {
                Ok(PendingDelivery {
                    digest_id: r.get(0)?,
                    attempts: r.get(1)?,
                    member: Member {
                        id: r.get(2)?,
                        email: r.get(3)?,
                        name: r.get(4)?,
                        sections: split_sections(r.get::<_, Option<String>>(5)?),
                        status: r.get(6)?,
                        reason: r.get(7)?,
                    },
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        Ok(claimed)
    }

    /// Right before a claimed delivery is sent: whether it is still this store's and its
    /// member still active. A delivery still ours has its lease renewed to `lease_until`,
    /// so the message may take that long.
    pub fn claim_check(
        &self,
        digest_id: i64,
        member_id: i64,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<ClaimCheck> {
        // Once per member sent: cached statements save SQLite parsing them each time.
        let renewed = self
            .conn
            .prepare_cached(
                "UPDATE deliveries SET claimed_until = ?4
                 WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?3
                   AND EXISTS (SELECT 1 FROM members WHERE id = ?2 AND status = 'active')",
            )?
            .execute(params![digest_id, member_id, self.owner, ts(lease_until)])?;
        if renewed == 1 {
            return Ok(ClaimCheck::Send);
        }
        let active: bool = self
            .conn
            .prepare_cached("SELECT status = 'active' FROM members WHERE id = ?1")?
            .query_row([member_id], |r| r.get(0))
            .optional()?
            .unwrap_or(false);
        Ok(if active {
            ClaimCheck::Lost
        } else {
            ClaimCheck::MemberLeft
        })
    }

    /// Gives back this store's claims that were not sent (a stop mid-send, members who
    /// left): they are owed again, to whichever process claims next.
    pub fn release_claims(&self) -> anyhow::Result<usize> {
        Ok(self.conn.execute(RELEASE_SQL_BY_OWNER, [&self.owner])?)
    }

    /// Marks a delivery this store claimed as sent; a row is never "sent" twice, and a
    /// delivery another process took over is left to it (returns false).
    pub fn delivery_sent(
        &self,
        digest_id: i64,
        member_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?3,
                        updated_at = ?3, last_error = NULL, claimed_by = NULL, claimed_until = NULL
                 WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?4",
            )?
            .execute(params![digest_id, member_id, ts(now), self.owner])?;
        Ok(changed == 1)
    }

    /// Records a failed attempt of a delivery this store claimed: `retry` (transient;
    /// tried again next cycle) or `failed`.
    pub fn delivery_failed(
        &self,
        digest_id: i64,
        member_id: i64,
        now: DateTime<Utc>,
        error: &str,
        permanent: bool,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET status = ?3, attempts = attempts + 1, last_error = ?4,
                    updated_at = ?5, claimed_by = NULL, claimed_until = NULL
             WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?6",
            params![
                digest_id,
                member_id,
                if permanent { "failed" } else { "retry" },
                error,
                ts(now),
                self.owner
            ],
        )?;
        Ok(())
    }

    /// Sets a digest that cannot be read aside: its owed deliveries (whoever claimed them)
    /// become `failed` with `why`. Returns how many.
    pub fn set_digest_aside(
        &self,
        digest_id: i64,
        why: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        Ok(self.conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ?2, updated_at = ?3,
                    claimed_by = NULL, claimed_until = NULL
             WHERE digest_id = ?1 AND status IN ('pending', 'retry', 'sending')",
            params![digest_id, format!("digest set aside: {why}"), ts(now)],
        )?)
    }

    /// Delivery counts of one digest by status.
    pub fn delivery_counts(&self, digest_id: i64) -> anyhow::Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT status, COUNT(*) FROM deliveries WHERE digest_id = ?1 GROUP BY status ORDER BY status",
        )?;
        let rows = stmt.query_map([digest_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds new members and updates names and sections of known ones. Never reactivates
    /// a member who unsubscribed, bounced or was removed.
    pub fn import_members(
        &self,
        rows: &[MemberRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<ImportCounts> {
        let tx = self.conn.unchecked_transaction()?;
        let mut counts = ImportCounts::default();
        for row in rows {
            let sections = (!row.sections.is_empty()).then(|| row.sections.join(";"));
            let attributes = (!row.attributes.is_empty()).then(|| {
                serde_json::Value::Object(
                    row.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect(),
                )
                .to_string()
            });
            // Cached statements: preparing three per row cost more than running them.
            let existing: Option<(Option<String>, Option<String>, Option<String>)> = tx
                .prepare_cached("SELECT name, sections, attributes FROM members WHERE email = ?1")?
                .query_row([&row.email], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            match existing {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO members (email, name, sections, attributes, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )?
                    .execute(params![row.email, row.name, sections, attributes, ts(now)])?;
                    counts.added += 1;
                }
                Some((name, secs, attrs))
                    if name == row.name && secs == sections && attrs == attributes =>
                {
                    counts.unchanged += 1
                }
                Some(_) => {
                    // Status is never touched here: a suppressed member stays suppressed.
                    tx.prepare_cached(
                        "UPDATE members SET name = ?2, sections = ?3, attributes = ?4, updated_at = ?5
                         WHERE email = ?1",
                    )?
                    .execute(params![row.email, row.name, sections, attributes, ts(now)])?;
                    counts.updated += 1;
                }
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Every member, by address.
    pub fn members(&self) -> anyhow::Result<Vec<Member>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, email, name, sections, status, reason FROM members ORDER BY email",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Member {
                id: r.get(0)?,
                email: r.get(1)?,
                name: r.get(2)?,
                sections: split_sections(r.get::<_, Option<String>>(3)?),
                status: r.get(4)?,
                reason: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A member by id.
    pub fn member_by_id(&self, id: i64) -> anyhow::Result<Option<Member>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, name, sections, status, reason FROM members WHERE id = ?1",
                [id],
                |r| {
                    Ok(Member {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        name: r.get(2)?,
                        sections: split_sections(r.get::<_, Option<String>>(3)?),
                        status: r.get(4)?,
                        reason: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Unsubscribes an active member; returns false when they were not active (so a
    /// repeated click changes nothing and a bounce reason is kept).
    pub fn unsubscribe(&self, member_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET status = 'unsubscribed', reason = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'active'",
            params![
                member_id,
                format!(
                    "one-click unsubscribe on {}",
                    now.format("%Y-%m-%d %H:%M UTC")
                ),
                ts(now)
            ],
        )?;
        Ok(n > 0)
    }

    /// Recorded digests, newest first: (id, created, subject).
    pub fn digests(&self) -> anyhow::Result<Vec<(i64, DateTime<Utc>, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, created_at, subject FROM digests ORDER BY id DESC")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, from_ts(r.get(1)?), r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets a member's status (`removed`, `unsubscribed`, `bounced`) with a reason.
    /// Returns false when no member has that address.
    pub fn set_member_status(
        &self,
        email: &str,
        status: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET status = ?2, reason = ?3, updated_at = ?4 WHERE email = ?1",
            params![email, status, reason, ts(now)],
        )?;
        Ok(n > 0)
    }
}

/// Gives a process's unsent claims back: owed again, as `retry` once tried.
const RELEASE_SQL_BY_OWNER: &str =
    "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retry' ELSE 'pending' END,
            claimed_by = NULL, claimed_until = NULL
     WHERE status = 'sending' AND claimed_by = ?1";

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

/// This store's claim owner: host, pid and a per-open nonce (two stores in one process
/// are two owners).
fn claim_owner() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static OPENED: AtomicU64 = AtomicU64::new(0);
    let nonce = OPENED.fetch_add(1, Ordering::Relaxed);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}/{}/{started:x}-{nonce}", host_name(), std::process::id())
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether a claim owner is a process on this host that no longer runs (killed or
/// crashed mid-send): its claims are taken back at once instead of after their lease.
/// Elsewhere, or where `/proc` is missing, only the lease tells.
fn owner_is_dead(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != host_name() || !Path::new("/proc/self").exists() {
        return false;
    }
    if pid == std::process::id().to_string() {
        // Another store in this very process: alive.
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie (killed, not yet reaped) sends nothing more.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => true,
    }
}

fn split_sections(s: Option<String>) -> Vec<String> {
    s.map(|s| {
        s.split(';')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    fn entry(key: &str) -> NewEntry {
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
        }
    }

    #[test]
    fn migrations_run_once_and_reopen_keeps_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db/feedbrief.sqlite");
        {
            let s = Store::open(&path).expect("open");
            let feeds = s
                .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
                .expect("sync");
            assert_eq!(
                s.insert_entries(feeds[0].id, &[entry("a")], now())
                    .expect("insert"),
                1
            );
        }
        let s = Store::open(&path).expect("reopen");
        let feeds = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("sync");
        assert_eq!(
            s.insert_entries(feeds[0].id, &[entry("a"), entry("b")], now())
                .expect("insert"),
            1,
            "the known entry is not inserted again"
        );
    }

    #[test]
    fn digest_excludes_carried_entries_and_creates_deliveries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let feeds = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("sync");
        s.insert_entries(feeds[0].id, &[entry("a"), entry("b")], now())
            .expect("insert");
        let rows = vec![
            MemberRow {
                line: 2,
                email: "a@example.org".into(),
                name: Some("A".into()),
                sections: vec![],
                attributes: vec![("city".into(), "Dayton".into())],
            },
            MemberRow {
                line: 3,
                email: "b@example.org".into(),
                name: None,
                sections: vec![],
                attributes: vec![],
            },
        ];
        s.import_members(&rows, now()).expect("import");
        s.set_member_status("b@example.org", "unsubscribed", "test", now())
            .expect("status");
        let c = s
            .candidates(None, now() - chrono::Duration::hours(1))
            .expect("cands");
        assert_eq!(c.len(), 2);
        let id = s
            .create_digest(
                now(),
                s.max_entry_id().expect("max"),
                "S",
                "{}",
                &[c[0].id],
                None,
            )
            .expect("digest");
        let lease = now() + chrono::Duration::minutes(5);
        let pending = s.claim_deliveries(now(), lease).expect("claim");
        assert_eq!(
            pending.len(),
            1,
            "only the active member is owed the digest"
        );
        let c2 = s
            .candidates(None, now() - chrono::Duration::hours(1))
            .expect("cands");
        assert_eq!(c2.len(), 1, "the carried entry is not a candidate again");
        assert!(
            s.delivery_sent(id, pending[0].member.id, now())
                .expect("sent")
        );
        assert!(
            !s.delivery_sent(id, pending[0].member.id, now())
                .expect("sent twice is a no-op")
        );
        assert_eq!(
            s.delivery_counts(id).expect("counts"),
            vec![("sent".into(), 1)]
        );
        assert!(s.claim_deliveries(now(), lease).expect("claim").is_empty());
        // Re-import does not resubscribe.
        s.import_members(&rows, now()).expect("import");
        assert_eq!(
            s.claim_check(id, 2, lease).expect("check"),
            ClaimCheck::MemberLeft
        );
    }

    /// A database with one digest owed to `members` active members.
    fn owed_digest(path: &Path, members: usize) -> (Store, i64) {
        let s = Store::open(path).expect("open");
        let feeds = s
            .sync_feeds(&[("https://a.example/feed".into(), "A".into())])
            .expect("feeds");
        s.insert_entries(feeds[0].id, &[entry("1")], now())
            .expect("insert");
        let rows: Vec<MemberRow> = (0..members)
            .map(|i| MemberRow {
                line: i + 2,
                email: format!("m{i}@example.org"),
                name: None,
                sections: Vec::new(),
                attributes: Default::default(),
            })
            .collect();
        s.import_members(&rows, now()).expect("import");
        let id = s
            .create_digest(now(), s.max_entry_id().expect("max"), "S", "{}", &[1], None)
            .expect("digest");
        (s, id)
    }

    #[test]
    fn two_stores_claiming_at_once_never_share_a_delivery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (first, _) = owed_digest(&path, 300);
        let second = Store::open(&path).expect("second store");
        let lease = now() + chrono::Duration::minutes(5);
        let claim = move |s: Store| {
            std::thread::spawn(move || {
                let claimed = s.claim_deliveries(now(), lease).expect("claim");
                (s, claimed)
            })
        };
        let (a, b) = (claim(first), claim(second));
        let ((first, a), (second, b)) = (a.join().expect("a"), b.join().expect("b"));
        assert_eq!(a.len() + b.len(), 300, "every delivery is claimed once");
        let mut members: Vec<i64> = a.iter().chain(&b).map(|p| p.member.id).collect();
        members.sort_unstable();
        members.dedup();
        assert_eq!(members.len(), 300, "no member is claimed by both");
        // The loser of the race cannot send what the winner holds.
        let held = a.first().or(b.first()).expect("a claim");
        let other = if a.is_empty() { &first } else { &second };
        assert_eq!(
            other
                .claim_check(held.digest_id, held.member.id, lease)
                .expect("check"),
            ClaimCheck::Lost
        );
    }

    #[test]
    fn claims_return_to_the_queue_when_released_or_when_their_lease_runs_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (first, id) = owed_digest(&path, 3);
        let second = Store::open(&path).expect("second store");
        let lease = now() + chrono::Duration::minutes(5);
        assert_eq!(
            first.claim_deliveries(now(), lease).expect("claim").len(),
            3
        );
        assert!(
            second
                .claim_deliveries(now(), lease)
                .expect("claim")
                .is_empty(),
            "a live claim is not taken"
        );
        // The first process stalls past its lease: the second takes over, and the first's
        // late check tells it not to send.
        let later = lease + chrono::Duration::seconds(1);
        let taken = second
            .claim_deliveries(later, later + chrono::Duration::minutes(5))
            .expect("claim after the lease");
        assert_eq!(taken.len(), 3);
        assert_eq!(
            first
                .claim_check(id, taken[0].member.id, later)
                .expect("check"),
            ClaimCheck::Lost
        );
        assert!(
            !first
                .delivery_sent(id, taken[0].member.id, later)
                .expect("sent")
        );
        assert_eq!(second.release_claims().expect("release"), 3);
        assert_eq!(
            first.claim_deliveries(later, lease).expect("claim").len(),
            3
        );
    }

    #[test]
    fn a_dead_processs_claims_are_taken_back_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (s, _) = owed_digest(&path, 2);
        // A process on this host that has exited (its pid reaped) claimed both.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        child.wait().expect("wait");
        let dead = format!("{}/{}/0-0", host_name(), child.id());
        s.conn
            .execute(
                "UPDATE deliveries SET status = 'sending', claimed_by = ?1, claimed_until = ?2",
                params![dead, ts(now() + chrono::Duration::hours(1))],
            )
            .expect("claim as the dead process");
        let lease = now() + chrono::Duration::minutes(5);
        assert_eq!(s.claim_deliveries(now(), lease).expect("claim").len(), 2);
        // A live process elsewhere keeps its claim until the lease runs out.
        s.release_claims().expect("release");
        s.conn
            .execute(
                "UPDATE deliveries SET status = 'sending', claimed_by = 'other-host/1/x', claimed_until = ?1",
                params![ts(now() + chrono::Duration::hours(1))],
            )
            .expect("claim as another host");
        assert!(s.claim_deliveries(now(), lease).expect("claim").is_empty());
    }

    #[test]
    fn many_processes_creating_the_database_at_once_all_open_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        std::thread::scope(|scope| {
            let opens: Vec<_> = (0..8).map(|_| scope.spawn(|| Store::open(&path))).collect();
            for o in opens {
                o.join().expect("thread").expect("every open succeeds");
            }
        });
        let s = Store::open(&path).expect("reopen");
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, MIGRATIONS.len());
        assert!(dir.path().join(MARKER_FILE).exists());
    }

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
}

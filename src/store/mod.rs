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
//! (with claims) and `members`.

mod deliveries;
mod digests;
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
}

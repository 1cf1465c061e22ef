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
];

/// The open database.
pub struct Store {
    conn: Connection,
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
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the data directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the database {}", path.display()))?;
        Self::init(conn).with_context(|| format!("preparing the database {}", path.display()))
    }

    fn init(conn: Connection) -> anyhow::Result<Self> {
        // WAL lets `serve` read while `once` writes; busy_timeout rides out short locks.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            anyhow::bail!(
                "the database schema is version {version}, newer than this feedbrief knows ({}); upgrade feedbrief",
                MIGRATIONS.len()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("running migration {}", i + 1))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Self { conn })
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

    /// Deliveries still owed: pending or transiently failed, to members still active,
    /// oldest digest first.
    pub fn pending_deliveries(&self) -> anyhow::Result<Vec<PendingDelivery>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.digest_id, d.attempts, m.id, m.email, m.name, m.sections, m.status, m.reason
             FROM deliveries d JOIN members m ON m.id = d.member_id
             WHERE d.status IN ('pending', 'retry') AND m.status = 'active'
             ORDER BY d.digest_id, m.id",
        )?;
        let rows = stmt.query_map([], |r| {
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
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the member is still active (checked right before each send, so an
    /// unsubscribe takes effect mid-send).
    pub fn member_active(&self, member_id: i64) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT status = 'active' FROM members WHERE id = ?1")?
            .query_row([member_id], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// Marks a delivery sent; only a pending or retrying row changes, so a row is never
    /// "sent" twice.
    pub fn delivery_sent(
        &self,
        digest_id: i64,
        member_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        // Once per member sent: a cached statement saves SQLite parsing it each time.
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?3,
                        updated_at = ?3, last_error = NULL
                 WHERE digest_id = ?1 AND member_id = ?2 AND status IN ('pending', 'retry')",
            )?
            .execute(params![digest_id, member_id, ts(now)])?;
        Ok(())
    }

    /// Records a failed attempt: `retry` (transient; tried again next cycle) or `failed`.
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
                    updated_at = ?5
             WHERE digest_id = ?1 AND member_id = ?2 AND status IN ('pending', 'retry')",
            params![
                digest_id,
                member_id,
                if permanent { "failed" } else { "retry" },
                error,
                ts(now)
            ],
        )?;
        Ok(())
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
        let pending = s.pending_deliveries().expect("pending");
        assert_eq!(
            pending.len(),
            1,
            "only the active member is owed the digest"
        );
        let c2 = s
            .candidates(None, now() - chrono::Duration::hours(1))
            .expect("cands");
        assert_eq!(c2.len(), 1, "the carried entry is not a candidate again");
        s.delivery_sent(id, pending[0].member.id, now())
            .expect("sent");
        s.delivery_sent(id, pending[0].member.id, now())
            .expect("sent twice is a no-op");
        assert_eq!(
            s.delivery_counts(id).expect("counts"),
            vec![("sent".into(), 1)]
        );
        assert!(s.pending_deliveries().expect("pending").is_empty());
        // Re-import does not resubscribe.
        s.import_members(&rows, now()).expect("import");
        assert!(!s.member_active(2).expect("active"));
    }
}

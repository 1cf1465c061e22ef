//! Migrations: the schema, built by versioned migrations run on open (`PRAGMA
//! user_version` counts them), and a read-only look at a database's version for
//! `feedbrief check`.

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;

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
    // 7: why an entry is filtered (which list: `brief.exclude`, `feed.include` …, and the
    // word an exclude found), judged again at every selection; an editor's release lets
    // a filtered entry through whatever the lists say.
    "ALTER TABLE entries ADD COLUMN filter_list TEXT;
     ALTER TABLE entries ADD COLUMN filter_word TEXT;
     ALTER TABLE entries ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX entries_filtered ON entries(feed_id) WHERE filter_list IS NOT NULL;
     CREATE INDEX entries_released ON entries(id) WHERE released = 1;",
    // 8: clicks on tracked links, one row per (digest, story, member) holding a count;
    // member 0 is "no member recorded" (`[brief] track = "story"`). The deliveries index
    // finds a digest's (or a member's) latest delivery in one seek, for the scanner rule.
    "CREATE TABLE clicks (
         digest_id INTEGER NOT NULL REFERENCES digests(id),
         entry_id  INTEGER NOT NULL,
         member_id INTEGER NOT NULL DEFAULT 0,
         count     INTEGER NOT NULL DEFAULT 0,
         first_at  INTEGER NOT NULL,
         last_at   INTEGER NOT NULL,
         PRIMARY KEY (digest_id, entry_id, member_id)
     ) WITHOUT ROWID;
     CREATE INDEX deliveries_sent ON deliveries(digest_id, sent_at);",
    // 9: what inbound mail did to a member (a hard or soft bounce, a complaint, a mailed
    // unsubscribe), with its evidence: the status code and a short excerpt.
    "CREATE TABLE member_events (
         id        INTEGER PRIMARY KEY,
         member_id INTEGER NOT NULL REFERENCES members(id),
         at        INTEGER NOT NULL,
         kind      TEXT NOT NULL,
         status    TEXT,
         evidence  TEXT NOT NULL
     );
     CREATE INDEX member_events_member ON member_events(member_id, at);",
    // 10: members who manage themselves (issue #14). A sign-up or an address change waits
    // in `signups` until its link is confirmed (nothing is added to `members` before);
    // `paused_until` keeps a member out of the digests recorded before it; `chosen_at`
    // says the member chose their sections themselves, so an import of members.csv no
    // longer overwrites them.
    // AUTOINCREMENT: a pruned row's id is never reused, so an old link (which names the
    // id) never comes to name a newer sign-up of the same address.
    "CREATE TABLE signups (
         id           INTEGER PRIMARY KEY AUTOINCREMENT,
         email        TEXT NOT NULL,
         name         TEXT,
         sections     TEXT,
         member_id    INTEGER REFERENCES members(id),
         created_at   INTEGER NOT NULL,
         expires_at   INTEGER NOT NULL,
         confirmed_at INTEGER
     );
     CREATE INDEX signups_expires ON signups(expires_at);
     ALTER TABLE members ADD COLUMN paused_until INTEGER;
     ALTER TABLE members ADD COLUMN chosen_at INTEGER;",
    // 11: a story's picture (from its feed, else its article page's og:image), named and
    // never fetched: an https URL and the size the source gave, if any.
    "ALTER TABLE entries ADD COLUMN image_url TEXT;
     ALTER TABLE entries ADD COLUMN image_width INTEGER;
     ALTER TABLE entries ADD COLUMN image_height INTEGER;",
    // 12: the editor's desk (issue #15). A digest built before its slot waits in `drafts`
    // (one per slot; `built` as chosen, `content` as edited, `version` bumped by every
    // change so a stale save is refused); every change is in `draft_edits`. Editors sign
    // in with a single-use link (`editor_links`) that makes a session, stored by the
    // SHA-256 of its cookie value, never the value.
    "CREATE TABLE drafts (
         id         INTEGER PRIMARY KEY AUTOINCREMENT,
         slot       INTEGER NOT NULL UNIQUE,
         created_at INTEGER NOT NULL,
         built      TEXT NOT NULL,
         content    TEXT NOT NULL,
         version    INTEGER NOT NULL DEFAULT 1,
         state      TEXT NOT NULL DEFAULT 'open',
         decided_by TEXT,
         decided_at INTEGER
     );
     CREATE TABLE draft_edits (
         id       INTEGER PRIMARY KEY,
         draft_id INTEGER NOT NULL REFERENCES drafts(id),
         version  INTEGER NOT NULL,
         editor   TEXT NOT NULL,
         at       INTEGER NOT NULL,
         action   TEXT NOT NULL,
         before   TEXT,
         after    TEXT,
         UNIQUE (draft_id, version)
     );
     CREATE TABLE editor_links (
         id         INTEGER PRIMARY KEY AUTOINCREMENT,
         email      TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL,
         used_at    INTEGER
     );
     CREATE TABLE editor_sessions (
         hash       TEXT PRIMARY KEY,
         email      TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL
     );",
    // 13: the weekly edition (issue #14). Each member receives every digest (`daily`) or
    // the weekly edition (`weekly`); `frequency_chosen_at` says the member chose it in the
    // preference centre, so an import of members.csv no longer overwrites it. Each digest
    // is one edition; a schedule slot holds at most one digest of each edition.
    "ALTER TABLE members ADD COLUMN frequency TEXT NOT NULL DEFAULT 'daily';
     ALTER TABLE members ADD COLUMN frequency_chosen_at INTEGER;
     ALTER TABLE digests ADD COLUMN edition TEXT NOT NULL DEFAULT 'daily';
     DROP INDEX digests_slot;
     CREATE UNIQUE INDEX digests_slot ON digests(slot, edition) WHERE slot IS NOT NULL;",
];

/// Runs the migrations `conn` has not run yet, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
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
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::store::testing::{entry, now};
    use crate::store::{MARKER_FILE, Store};

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
}

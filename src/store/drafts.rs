//! Drafts and the editor's desk (issue #15): a digest built before its slot and held for
//! review, every edit made to it (editor, time, before, after), the single-use sign-in
//! links mailed to editors and their sessions (stored hashed).
//!
//! A draft carries a version: every change (an edit, an approval, a skip) must name the
//! version it was made on and bumps it, in one transaction, so a save made on a page that
//! another editor has since changed is refused with what changed rather than lost. A draft
//! is sent when a digest is recorded for its slot (the digests' unique slot index keeps
//! that to once); it is never changed after.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, from_ts, ts};

/// The feed row that editor-added stories belong to (never fetched: not in the config).
pub const ADDED_FEED_URL: &str = "feedbrief:added-by-an-editor";

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftState {
    /// Built, open to edits, not yet decided.
    Open,
    /// An editor approved this version: the slot sends it exactly.
    Approved,
    /// An editor skipped the slot: nothing is sent, its stories stay candidates.
    Skipped,
}

impl DraftState {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approved => "approved",
            Self::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "approved" => Self::Approved,
            "skipped" => Self::Skipped,
            _ => Self::Open,
        }
    }
}

impl std::fmt::Display for DraftState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Row id.
    pub id: i64,
    /// The schedule slot it is for.
    pub slot: DateTime<Utc>,
    /// When it was built.
    pub created_at: DateTime<Utc>,
    /// The digest as built (JSON), before any edit.
    pub built: String,
    /// The digest as edited so far (JSON): what the slot sends.
    pub content: String,
    /// Bumped by every change.
    pub version: i64,
    /// Open, approved or skipped.
    pub state: DraftState,
    /// Who approved or skipped it, and when.
    pub decided: Option<(String, DateTime<Utc>)>,
    /// The digest recorded for its slot, once sent.
    pub sent_digest: Option<i64>,
}

/// One recorded change to a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftEdit {
    /// The version this change made.
    pub version: i64,
    /// The editor's address (or `cli` for the terminal).
    pub editor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What was done, e.g. `remove story 12`.
    pub action: String,
    /// The text before, when a text changed.
    pub before: Option<String>,
    /// The text after.
    pub after: Option<String>,
}

/// A change to record: what, and the text before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What was done.
    pub action: String,
    /// The text before, when a text changed.
    pub before: Option<String>,
    /// The text after.
    pub after: Option<String>,
}

/// What saving a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Saved; the draft is now at this version.
    Saved(i64),
    /// Refused: the draft moved on since the version the change was made on; these are
    /// the changes made since, for the editor to see.
    Stale(Vec<DraftEdit>),
    /// Refused: the draft was sent or skipped and changes no more.
    Closed,
    /// No such draft.
    Unknown,
}

/// A sign-in link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninLink {
    /// Row id (named in the link).
    pub id: i64,
    /// The editor it was mailed to.
    pub email: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub used_at: Option<DateTime<Utc>>,
}

/// What following a sign-in link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A session was created for this editor.
    Session(String),
    /// The link was used before.
    Used,
    /// The link expired.
    Expired,
    /// No such link.
    Unknown,
}

fn draft_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Draft> {
    let decided_by: Option<String> = r.get(7)?;
    let decided_at: Option<i64> = r.get(8)?;
    Ok(Draft {
        id: r.get(0)?,
        slot: from_ts(r.get(1)?),
        created_at: from_ts(r.get(2)?),
        built: r.get(3)?,
        content: r.get(4)?,
        version: r.get(5)?,
        state: DraftState::parse(&r.get::<_, String>(6)?),
        decided: decided_by.zip(decided_at.map(from_ts)),
        sent_digest: r.get(9)?,
    })
}

const DRAFT_COLUMNS: &str = "d.id, d.slot, d.created_at, d.built, d.content, d.version, d.state,
     d.decided_by, d.decided_at, g.id";

impl Store {
    /// Stores the draft for `slot` built at `now` (`content`: the digest's JSON), unless
    /// the slot has one already. Returns the new draft's id, or `None` when one existed.
    pub fn create_draft(
        &self,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
        content: &str,
    ) -> anyhow::Result<Option<i64>> {
        let added = self.conn.execute(
            "INSERT INTO drafts (slot, created_at, built, content) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(slot) DO NOTHING",
            params![ts(slot), ts(now), content],
        )?;
        Ok((added == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// The draft with row id `id`.
    pub fn draft(&self, id: i64) -> anyhow::Result<Option<Draft>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {DRAFT_COLUMNS} FROM drafts d LEFT JOIN digests g ON g.slot = d.slot AND g.edition = 'daily'
                     WHERE d.id = ?1"
                ),
                [id],
                draft_row,
            )
            .optional()?)
    }

    /// The draft for schedule slot `slot`.
    pub fn draft_for_slot(&self, slot: DateTime<Utc>) -> anyhow::Result<Option<Draft>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {DRAFT_COLUMNS} FROM drafts d LEFT JOIN digests g ON g.slot = d.slot AND g.edition = 'daily'
                     WHERE d.slot = ?1"
                ),
                [ts(slot)],
                draft_row,
            )
            .optional()?)
    }

    /// The newest draft (the one for the latest slot), sent or not.
    pub fn latest_draft(&self) -> anyhow::Result<Option<Draft>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {DRAFT_COLUMNS} FROM drafts d LEFT JOIN digests g ON g.slot = d.slot AND g.edition = 'daily'
                     ORDER BY d.slot DESC LIMIT 1"
                ),
                [],
                draft_row,
            )
            .optional()?)
    }

    /// The changes recorded on draft `id`, oldest first; with `after`, only those that
    /// made a version above it.
    pub fn draft_edits(&self, id: i64, after: Option<i64>) -> anyhow::Result<Vec<DraftEdit>> {
        let mut stmt = self.conn.prepare(
            "SELECT version, editor, at, action, before, after FROM draft_edits
             WHERE draft_id = ?1 AND version > ?2 ORDER BY version",
        )?;
        let rows = stmt.query_map(params![id, after.unwrap_or(0)], |r| {
            Ok(DraftEdit {
                version: r.get(0)?,
                editor: r.get(1)?,
                at: from_ts(r.get(2)?),
                action: r.get(3)?,
                before: r.get(4)?,
                after: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves a change to draft `id` made on `version`: `content` (the digest's JSON after
    /// the change; `None` for a decision that changes no story) and `state` replace the
    /// stored ones and the change is recorded, all in one transaction, unless the draft
    /// moved on since `version` ([`Saved::Stale`]) or was sent or skipped
    /// ([`Saved::Closed`]).
    #[allow(clippy::too_many_arguments)]
    pub fn save_draft(
        &self,
        id: i64,
        version: i64,
        editor: &str,
        now: DateTime<Utc>,
        change: &Change,
        content: Option<&str>,
        state: DraftState,
    ) -> anyhow::Result<Saved> {
        self.in_transaction(|store| {
            let Some(draft) = store.draft(id)? else {
                return Ok(Saved::Unknown);
            };
            if draft.sent_digest.is_some() || draft.state == DraftState::Skipped {
                return Ok(Saved::Closed);
            }
            if draft.version != version {
                return Ok(Saved::Stale(store.draft_edits(id, Some(version))?));
            }
            let next = version + 1;
            let decided = matches!(state, DraftState::Approved | DraftState::Skipped);
            store.conn.execute(
                "UPDATE drafts SET content = COALESCE(?2, content), version = ?3, state = ?4,
                        decided_by = ?5, decided_at = ?6
                 WHERE id = ?1",
                params![
                    id,
                    content,
                    next,
                    state.as_str(),
                    decided.then_some(editor),
                    decided.then_some(ts(now)),
                ],
            )?;
            store.conn.execute(
                "INSERT INTO draft_edits (draft_id, version, editor, at, action, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    next,
                    editor,
                    ts(now),
                    change.action,
                    change.before,
                    change.after
                ],
            )?;
            Ok(Saved::Saved(next))
        })
    }

    /// The entry for a story an editor added by URL: stored under [`ADDED_FEED_URL`]
    /// (made on first use) with its headline and summary, or the one stored before for
    /// the same URL. Returns its id.
    pub fn add_editor_entry(
        &self,
        url: &str,
        title: &str,
        summary: Option<&str>,
        source: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        self.in_transaction(|store| {
            store.conn.execute(
                "INSERT INTO feeds (url, name, disabled) VALUES (?1, 'Added by an editor', 'not a feed')
                 ON CONFLICT(url) DO NOTHING",
                [ADDED_FEED_URL],
            )?;
            let feed: i64 = store.conn.query_row(
                "SELECT id FROM feeds WHERE url = ?1",
                [ADDED_FEED_URL],
                |r| r.get(0),
            )?;
            let key = format!("editor:{url}");
            store.conn.execute(
                "INSERT INTO entries (feed_id, key, url, title, first_seen_at, summary, source, from_page)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)
                 ON CONFLICT(feed_id, key) DO UPDATE SET title = excluded.title,
                     summary = excluded.summary, source = excluded.source",
                params![feed, key, url, title, ts(now), summary, source],
            )?;
            Ok(store.conn.query_row(
                "SELECT id FROM entries WHERE feed_id = ?1 AND key = ?2",
                params![feed, key],
                |r| r.get(0),
            )?)
        })
    }

    /// Records a sign-in link for `email`, working until `expires_at`; returns its id.
    pub fn create_signin_link(
        &self,
        email: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        // Links long dead are of no use to anyone: the table stays small.
        self.conn.execute(
            "DELETE FROM editor_links WHERE expires_at < ?1",
            [ts(now - chrono::Duration::days(7))],
        )?;
        self.conn.execute(
            "INSERT INTO editor_links (email, created_at, expires_at) VALUES (?1, ?2, ?3)",
            params![email, ts(now), ts(expires_at)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The sign-in link with row id `id`.
    pub fn signin_link(&self, id: i64) -> anyhow::Result<Option<SigninLink>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, expires_at, used_at FROM editor_links WHERE id = ?1",
                [id],
                |r| {
                    Ok(SigninLink {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        expires_at: from_ts(r.get(2)?),
                        used_at: r.get::<_, Option<i64>>(3)?.map(from_ts),
                    })
                },
            )
            .optional()?)
    }

    /// Uses sign-in link `id` at `now`: marks it used and stores a session (by the hash
    /// of its cookie value, never the value) until `session_expires`, in one transaction.
    /// A link works once, and not after it expires.
    pub fn use_signin_link(
        &self,
        id: i64,
        now: DateTime<Utc>,
        session_hash: &str,
        session_expires: DateTime<Utc>,
    ) -> anyhow::Result<SignIn> {
        self.in_transaction(|store| {
            let Some(link) = store.signin_link(id)? else {
                return Ok(SignIn::Unknown);
            };
            if link.used_at.is_some() {
                return Ok(SignIn::Used);
            }
            if link.expires_at <= now {
                return Ok(SignIn::Expired);
            }
            store.conn.execute(
                "UPDATE editor_links SET used_at = ?2 WHERE id = ?1",
                params![id, ts(now)],
            )?;
            store.conn.execute(
                "DELETE FROM editor_sessions WHERE expires_at <= ?1",
                [ts(now)],
            )?;
            store.conn.execute(
                "INSERT INTO editor_sessions (hash, email, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![session_hash, link.email, ts(now), ts(session_expires)],
            )?;
            Ok(SignIn::Session(link.email))
        })
    }

    /// The editor whose session has hash `session_hash`, while it lasts at `now`.
    pub fn editor_session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT email FROM editor_sessions WHERE hash = ?1 AND expires_at > ?2",
                params![session_hash, ts(now)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Ends the session with hash `session_hash` (signing out).
    pub fn end_editor_session(&self, session_hash: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "DELETE FROM editor_sessions WHERE hash = ?1",
            [session_hash],
        )?;
        Ok(())
    }
}

/// A stored entry as a story could be made of it (a filtered one an editor lets through).
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFacts {
    /// Row id.
    pub id: i64,
    /// Headline.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// The page's site name, if read.
    pub source: Option<String>,
    /// Its feed's URL.
    pub feed_url: String,
    /// Its feed's name.
    pub feed_name: String,
    /// Published (else first seen).
    pub date: DateTime<Utc>,
    /// Why it is filtered, when it is: the list, and the word found.
    pub filtered: Option<(String, Option<String>)>,
}

const ENTRY_FACTS: &str = "SELECT e.id, e.title, e.url, e.summary, e.source, f.url, f.name,
            COALESCE(e.published_at, e.first_seen_at), e.filter_list, e.filter_word
     FROM entries e JOIN feeds f ON f.id = e.feed_id";

fn entry_facts(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryFacts> {
    let list: Option<String> = r.get(8)?;
    Ok(EntryFacts {
        id: r.get(0)?,
        title: r.get(1)?,
        url: r.get(2)?,
        summary: r.get(3)?,
        source: r.get(4)?,
        feed_url: r.get(5)?,
        feed_name: r.get(6)?,
        date: from_ts(r.get(7)?),
        filtered: list.map(|l| (l, r.get(9).ok().flatten())),
    })
}

impl Store {
    /// Filtered entries not released since the last digest (entry ids above
    /// `after_entry_id`, or before any digest first seen since `since`), newest first,
    /// at most `limit`; and how many there are in all.
    pub fn filtered_entries(
        &self,
        after_entry_id: Option<i64>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<(Vec<EntryFacts>, usize)> {
        let window = "e.filter_list IS NOT NULL AND e.released = 0
             AND ((?1 IS NULL AND e.first_seen_at >= ?2) OR e.id > ?1)";
        let count: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM entries e WHERE {window}"),
            params![after_entry_id, ts(since)],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare(&format!(
            "{ENTRY_FACTS} WHERE {window} ORDER BY e.id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                after_entry_id,
                ts(since),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            entry_facts,
        )?;
        Ok((
            rows.collect::<Result<_, _>>()?,
            usize::try_from(count).unwrap_or(0),
        ))
    }

    /// Counted clicks per story (entry id) of digest `digest_id` (the review page of a
    /// sent draft shows them).
    pub fn digest_story_clicks(
        &self,
        digest_id: i64,
    ) -> anyhow::Result<std::collections::HashMap<i64, i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT entry_id, SUM(count) FROM clicks WHERE digest_id = ?1 GROUP BY entry_id",
        )?;
        let rows = stmt.query_map([digest_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Entry `id` as a story could be made of it.
    pub fn entry_facts(&self, id: i64) -> anyhow::Result<Option<EntryFacts>> {
        Ok(self
            .conn
            .query_row(&format!("{ENTRY_FACTS} WHERE e.id = ?1"), [id], entry_facts)
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::now;

    #[test]
    fn a_weekly_edition_for_the_slot_is_not_the_drafts_sent_digest() {
        use crate::members::Frequency;
        let (_dir, s) = store();
        let slot = now() + chrono::Duration::hours(2);
        let id = s
            .create_draft(slot, now(), "v1")
            .expect("create")
            .expect("new");
        // A held or skipped daily slot on the weekly day: only the weekly edition goes.
        s.create_edition(
            now(),
            0,
            "weekly",
            "w",
            &[],
            Some(slot),
            Frequency::Weekly,
            false,
        )
        .expect("weekly");
        let d = s.draft(id).expect("read").expect("there");
        assert_eq!(d.sent_digest, None, "the draft was not sent");
        assert_eq!(s.latest_draft().expect("latest"), Some(d));
        let daily = s
            .create_digest(now(), 0, "daily", "v1", &[], Some(slot))
            .expect("daily");
        let d = s.draft_for_slot(slot).expect("read").expect("there");
        assert_eq!(d.sent_digest, Some(daily));
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("feedbrief.sqlite")).expect("open");
        (dir, s)
    }

    fn change(what: &str) -> Change {
        Change {
            action: what.to_string(),
            before: Some("old".into()),
            after: Some("new".into()),
        }
    }

    #[test]
    fn a_slot_has_one_draft_and_a_second_build_keeps_the_first() {
        let (_d, s) = store();
        let slot = now() + chrono::Duration::hours(2);
        let id = s.create_draft(slot, now(), "{\"a\":1}").expect("create");
        assert!(id.is_some());
        assert_eq!(
            s.create_draft(slot, now(), "{\"b\":2}").expect("again"),
            None
        );
        let d = s.draft_for_slot(slot).expect("read").expect("there");
        assert_eq!(d.content, "{\"a\":1}");
        assert_eq!(
            (d.version, d.state, d.sent_digest),
            (1, DraftState::Open, None)
        );
    }

    #[test]
    fn a_save_on_a_stale_version_is_refused_with_the_changes_made_since() {
        let (_d, s) = store();
        let id = s
            .create_draft(now(), now(), "v1")
            .expect("create")
            .expect("new");
        let saved = s
            .save_draft(
                id,
                1,
                "ann@example.org",
                now(),
                &change("edit summary of story 3"),
                Some("v2"),
                DraftState::Open,
            )
            .expect("save");
        assert_eq!(saved, Saved::Saved(2));
        // Bo's page still shows version 1.
        let stale = s
            .save_draft(
                id,
                1,
                "bo@example.org",
                now(),
                &change("remove story 4"),
                Some("v2-bo"),
                DraftState::Open,
            )
            .expect("save");
        let Saved::Stale(since) = stale else {
            panic!("a stale save is refused: {stale:?}")
        };
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].editor, "ann@example.org");
        assert_eq!(since[0].action, "edit summary of story 3");
        assert_eq!(since[0].before.as_deref(), Some("old"));
        let d = s.draft(id).expect("read").expect("there");
        assert_eq!(
            (d.content.as_str(), d.version),
            ("v2", 2),
            "Ann's edit kept"
        );
        assert_eq!(s.draft_edits(id, None).expect("edits").len(), 1);
    }

    #[test]
    fn approving_records_who_and_an_edit_after_approval_reopens_the_draft() {
        let (_d, s) = store();
        let id = s
            .create_draft(now(), now(), "v1")
            .expect("create")
            .expect("new");
        let approve = Change {
            action: "approve".into(),
            before: None,
            after: None,
        };
        assert_eq!(
            s.save_draft(
                id,
                1,
                "ann@example.org",
                now(),
                &approve,
                None,
                DraftState::Approved
            )
            .expect("approve"),
            Saved::Saved(2)
        );
        let d = s.draft(id).expect("read").expect("there");
        assert_eq!(d.state, DraftState::Approved);
        assert_eq!(d.content, "v1", "a decision changes no story");
        assert_eq!(
            d.decided.as_ref().map(|(e, _)| e.as_str()),
            Some("ann@example.org")
        );
        s.save_draft(
            id,
            2,
            "bo@example.org",
            now(),
            &change("lead story 5"),
            Some("v3"),
            DraftState::Open,
        )
        .expect("edit");
        let d = s.draft(id).expect("read").expect("there");
        assert_eq!(
            (d.state, d.decided.clone()),
            (DraftState::Open, None),
            "approval was of another version"
        );
    }

    #[test]
    fn a_skipped_or_sent_draft_takes_no_more_changes() {
        let (_d, s) = store();
        let id = s
            .create_draft(now(), now(), "v1")
            .expect("create")
            .expect("new");
        let skip = Change {
            action: "skip".into(),
            before: None,
            after: None,
        };
        s.save_draft(
            id,
            1,
            "ann@example.org",
            now(),
            &skip,
            None,
            DraftState::Skipped,
        )
        .expect("skip");
        assert_eq!(
            s.save_draft(
                id,
                2,
                "ann@example.org",
                now(),
                &change("x"),
                Some("v9"),
                DraftState::Open
            )
            .expect("save"),
            Saved::Closed
        );
        let slot = now() + chrono::Duration::days(1);
        let sent = s
            .create_draft(slot, now(), "w1")
            .expect("create")
            .expect("new");
        s.create_digest(now(), 0, "subject", "w1", &[], Some(slot))
            .expect("digest");
        let d = s.draft(sent).expect("read").expect("there");
        assert!(d.sent_digest.is_some());
        assert_eq!(
            s.save_draft(
                sent,
                1,
                "ann@example.org",
                now(),
                &change("x"),
                Some("w2"),
                DraftState::Open
            )
            .expect("save"),
            Saved::Closed
        );
        assert_eq!(
            s.save_draft(
                999,
                1,
                "ann@example.org",
                now(),
                &change("x"),
                Some("w2"),
                DraftState::Open
            )
            .expect("save"),
            Saved::Unknown
        );
    }

    #[test]
    fn a_signin_link_works_once_and_not_after_it_expires() {
        let (_d, s) = store();
        let expires = now() + chrono::Duration::minutes(15);
        let id = s
            .create_signin_link("ann@example.org", now(), expires)
            .expect("link");
        assert_eq!(
            s.use_signin_link(id, now(), "hash1", now() + chrono::Duration::hours(12))
                .expect("use"),
            SignIn::Session("ann@example.org".into())
        );
        assert_eq!(
            s.use_signin_link(id, now(), "hash2", now() + chrono::Duration::hours(12))
                .expect("reuse"),
            SignIn::Used
        );
        assert_eq!(s.editor_session("hash2", now()).expect("read"), None);
        let late = s
            .create_signin_link("ann@example.org", now(), expires)
            .expect("link");
        assert_eq!(
            s.use_signin_link(
                late,
                expires,
                "hash3",
                expires + chrono::Duration::hours(12)
            )
            .expect("late"),
            SignIn::Expired
        );
        assert_eq!(
            s.use_signin_link(4242, now(), "h", now()).expect("unknown"),
            SignIn::Unknown
        );
        assert_eq!(
            s.editor_session("hash1", now()).expect("read").as_deref(),
            Some("ann@example.org")
        );
        assert_eq!(
            s.editor_session("hash1", now() + chrono::Duration::hours(12))
                .expect("read"),
            None,
            "a session expires"
        );
        s.end_editor_session("hash1").expect("end");
        assert_eq!(s.editor_session("hash1", now()).expect("read"), None);
    }

    #[test]
    fn a_story_added_twice_by_url_is_one_entry() {
        let (_d, s) = store();
        let a = s
            .add_editor_entry("https://ex.org/a", "A", Some("Sum."), Some("Ex"), now())
            .expect("add");
        let b = s
            .add_editor_entry("https://ex.org/a", "A again", None, None, now())
            .expect("add");
        assert_eq!(a, b);
    }
}

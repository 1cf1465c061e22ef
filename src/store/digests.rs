//! Digests: each digest recorded with the stories it carried, and the pending delivery it
//! owes every active member who receives its edition, in one transaction. Chosen stories →
//! a digest row; rows → the archive, the last digest and the stories recently sent.
//!
//! A digest is one edition ([`Frequency`]): the daily digest, or the weekly edition built
//! from the week's daily digests. Only daily digests move the window of the next digest.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ArchivedDigest, DigestRow, LastDigest, SentStory, Store, from_ts, ts};
use crate::members::Frequency;

impl Store {
    /// The newest daily digest, if any (a weekly edition chooses no new stories, so it
    /// never moves the window of the next digest).
    pub fn last_digest(&self) -> anyhow::Result<Option<LastDigest>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, max_entry_id FROM digests WHERE edition = 'daily'
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(LastDigest {
                        id: r.get(0)?,
                        created_at: from_ts(r.get(1)?),
                        max_entry_id: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Titles and URLs of stories recent digests carried, to keep a story from returning
    /// through another feed.
    pub fn recently_sent(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<SentStory>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.title, e.url FROM digest_entries d
             JOIN entries e ON e.id = d.entry_id
             JOIN digests g ON g.id = d.digest_id
             WHERE g.created_at >= ?1",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            Ok(SentStory {
                title: r.get(0)?,
                url: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a daily digest owed to every active member, whatever frequency they chose
    /// (the brief has no weekly edition): [`Store::create_edition`].
    pub fn create_digest(
        &self,
        now: DateTime<Utc>,
        max_entry_id: i64,
        subject: &str,
        content: &str,
        entry_ids: &[i64],
        slot: Option<DateTime<Utc>>,
    ) -> anyhow::Result<i64> {
        self.create_edition(
            now,
            max_entry_id,
            subject,
            content,
            entry_ids,
            slot,
            Frequency::Daily,
            false,
        )
    }

    /// Records a digest of `edition`, the entries it carries and a pending delivery for
    /// each active member not paused at `now` who receives that edition, in one
    /// transaction. Returns the digest id.
    ///
    /// Who receives it: with `weekly_offered` false (no `[brief] weekly`), every active
    /// member receives the daily digest whatever they chose; with it, a daily digest goes
    /// to the members who chose `daily` and a weekly edition to those who chose `weekly`.
    /// A paused member is owed nothing for this digest, now or later: the pause skips
    /// digests, it does not queue them.
    #[allow(clippy::too_many_arguments)]
    pub fn create_edition(
        &self,
        now: DateTime<Utc>,
        max_entry_id: i64,
        subject: &str,
        content: &str,
        entry_ids: &[i64],
        slot: Option<DateTime<Utc>>,
        edition: Frequency,
        weekly_offered: bool,
    ) -> anyhow::Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        // The unique index on (slot, edition) makes a second digest of one edition for one
        // schedule slot impossible.
        tx.execute(
            "INSERT INTO digests (created_at, max_entry_id, subject, content, slot, edition)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                ts(now),
                max_entry_id,
                subject,
                content,
                slot.map(ts),
                edition
            ],
        )?;
        let id = tx.last_insert_rowid();
        for (pos, e) in entry_ids.iter().enumerate() {
            tx.execute(
                "INSERT INTO digest_entries (digest_id, entry_id, position) VALUES (?1, ?2, ?3)",
                params![id, e, pos as i64],
            )?;
        }
        let receiving = (weekly_offered || edition == Frequency::Weekly).then_some(edition);
        tx.execute(
            "INSERT INTO deliveries (digest_id, member_id, status, updated_at)
             SELECT ?1, id, 'pending', ?2 FROM members
             WHERE status = 'active' AND (paused_until IS NULL OR paused_until <= ?2)
               AND (?3 IS NULL OR frequency = ?3)",
            params![id, ts(now), receiving],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The edition of digest `id` (`None` when there is no such digest).
    pub fn digest_edition(&self, id: i64) -> anyhow::Result<Option<Frequency>> {
        Ok(self
            .conn
            .prepare_cached("SELECT edition FROM digests WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// The id of the digest of `edition` recorded for schedule slot `slot`, if any.
    pub fn digest_for_slot(
        &self,
        slot: DateTime<Utc>,
        edition: Frequency,
    ) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM digests WHERE slot = ?1 AND edition = ?2",
                params![ts(slot), edition],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The digests of `edition` built after `since` and at or before `until`, with their
    /// content, oldest first (the week a weekly edition is made of).
    pub fn digests_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        edition: Frequency,
    ) -> anyhow::Result<Vec<DigestRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, created_at, subject, content FROM digests
             WHERE created_at > ?1 AND created_at <= ?2 AND edition = ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![ts(since), ts(until), edition], |r| {
            Ok(DigestRow {
                id: r.get(0)?,
                created_at: from_ts(r.get(1)?),
                subject: r.get(2)?,
                content: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Recorded digests, newest first.
    pub fn digests(&self) -> anyhow::Result<Vec<ArchivedDigest>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, created_at, subject FROM digests ORDER BY id DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok(ArchivedDigest {
                id: r.get(0)?,
                created_at: from_ts(r.get(1)?),
                subject: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `limit` digests with their content, newest first (the archive feed).
    pub fn recent_digests(&self, limit: usize) -> anyhow::Result<Vec<DigestRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, created_at, subject, content FROM digests ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(DigestRow {
                id: r.get(0)?,
                created_at: from_ts(r.get(1)?),
                subject: r.get(2)?,
                content: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

//! Digests: each digest recorded with the stories it carried, and the pending delivery it
//! owes every active member, in one transaction. Chosen stories → a digest row; rows → the
//! archive, the last digest and the stories recently sent.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ArchivedDigest, DigestRow, LastDigest, SentStory, Store, from_ts, ts};

impl Store {
    /// The newest digest, if any.
    pub fn last_digest(&self) -> anyhow::Result<Option<LastDigest>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, max_entry_id FROM digests ORDER BY id DESC LIMIT 1",
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

    /// Records a digest, the entries it carries and a pending delivery for each active
    /// member not paused at `now`, in one transaction. Returns the digest id. A paused
    /// member is owed nothing for this digest, now or later: the pause skips digests, it
    /// does not queue them.
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
             SELECT ?1, id, 'pending', ?2 FROM members
             WHERE status = 'active' AND (paused_until IS NULL OR paused_until <= ?2)",
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

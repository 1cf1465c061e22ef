//! Feeds: each configured feed's row, its HTTP validators, schedule and health. The
//! configured feed list → rows; a fetch's outcome → the row; the rows → their states.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{FeedHealth, FeedState, FetchRecord, StatusCount, Store, from_ts, ts};
use crate::fetch::Validators;

impl Store {
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

    /// Feeds by state: `ok`, `failing`, `disabled`, `never_fetched`.
    pub fn feeds_by_state(&self) -> anyhow::Result<Vec<StatusCount<FeedHealth>>> {
        let mut stmt = self.conn.prepare(
            "SELECT CASE WHEN disabled IS NOT NULL THEN 'disabled'
                         WHEN last_fetch_at IS NULL THEN 'never_fetched'
                         WHEN last_error IS NOT NULL THEN 'failing'
                         ELSE 'ok' END AS state, COUNT(*)
             FROM feeds GROUP BY state ORDER BY state",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StatusCount {
                status: r.get(0)?,
                count: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

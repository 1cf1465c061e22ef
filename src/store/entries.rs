//! Entries: the stories feeds gave, with what their article pages added. New entries →
//! rows (once per feed and key); rows → the candidates of the next digest, the pages still
//! to read and the summaries of the chosen stories.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{
    NewEntry, PageFacts, PageFields, PageUpdate, Store, StoredEntry, WantedPage, from_ts, ts,
};

impl Store {
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

    /// Records what an entry's article page said, by [`PageUpdate::apply`] (the rule a
    /// new entry gets too); the page is no longer wanted either way. The row is read,
    /// changed and written back in one transaction.
    pub fn set_page(&self, id: i64, page: &PageUpdate) -> anyhow::Result<()> {
        // IMMEDIATE: the write lock is held from the read, so no other process changes the
        // row in between (nor can a read snapshot fail to upgrade to a write).
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let fields = tx
            .prepare_cached(
                "SELECT url, summary, source, paywalled, published_at, from_page, page_wanted
                 FROM entries WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(PageFields {
                    url: r.get(0)?,
                    summary: r.get(1)?,
                    source: r.get(2)?,
                    paywalled: r.get(3)?,
                    published_at: r.get::<_, Option<i64>>(4)?.map(from_ts),
                    from_page: r.get(5)?,
                    page_wanted: r.get(6)?,
                })
            })
            .optional()?;
        // An entry that is gone has nothing to change.
        if let Some(mut f) = fields {
            page.apply(&mut f);
            tx.prepare_cached(
                "UPDATE entries SET url = ?2, summary = ?3, source = ?4, paywalled = ?5,
                        published_at = ?6, from_page = ?7, page_wanted = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                f.url,
                f.summary,
                f.source,
                f.paywalled,
                f.published_at.map(ts),
                f.from_page,
                f.page_wanted,
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The highest entry id so far.
    pub fn max_entry_id(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM entries", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use crate::store::testing::{entry, now};
    use crate::store::{NewEntry, PageUpdate, Store, from_ts};

    /// The entry stored under `key`, its key left out (what is compared is the rest).
    fn entry_as_stored(s: &Store, key: &str) -> NewEntry {
        s.conn
            .query_row(
                "SELECT url, title, author, published_at, summary, source, paywalled, from_page,
                        page_wanted
                 FROM entries WHERE key = ?1",
                [key],
                |r| {
                    Ok(NewEntry {
                        key: String::new(),
                        url: r.get(0)?,
                        title: r.get(1)?,
                        author: r.get(2)?,
                        published_at: r.get::<_, Option<i64>>(3)?.map(from_ts),
                        summary: r.get(4)?,
                        source: r.get(5)?,
                        paywalled: r.get(6)?,
                        from_page: r.get(7)?,
                        page_wanted: r.get(8)?,
                    })
                },
            )
            .expect("stored entry")
    }

    fn id_of(s: &Store, key: &str) -> i64 {
        s.conn
            .query_row("SELECT id FROM entries WHERE key = ?1", [key], |r| r.get(0))
            .expect("id")
    }

    #[test]
    fn a_page_changes_an_entry_alike_before_it_is_stored_and_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let feed = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("feed")[0]
            .id;
        let day = |d: &str| -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(d)
                .expect("date")
                .with_timezone(&Utc)
        };
        // Entries as feeds give them: with or without a summary, a date, a site name.
        let entries = [
            entry("full"),
            NewEntry {
                summary: None,
                published_at: None,
                ..entry("bare")
            },
            NewEntry {
                source: Some("Feed Site".into()),
                paywalled: true,
                ..entry("known")
            },
        ];
        // Pages as they come: read in full, unreadable, a description only, a date only.
        let updates = [
            PageUpdate {
                url: Some("https://ex.org/canonical".into()),
                summary: Some("The page's summary.".into()),
                description: Some("Its description.".into()),
                source: Some("Page Site".into()),
                paywalled: true,
                published_at: Some(day("2026-11-20T08:00:00Z")),
                from_page: true,
            },
            PageUpdate::default(),
            PageUpdate {
                description: Some("Its description.".into()),
                from_page: true,
                ..PageUpdate::default()
            },
            PageUpdate {
                published_at: Some(day("2026-11-21T08:00:00Z")),
                from_page: true,
                ..PageUpdate::default()
            },
        ];
        let mut n = 0;
        for e in &entries {
            for update in &updates {
                n += 1;
                let wanted = NewEntry {
                    page_wanted: true,
                    ..e.clone()
                };
                // Refreshing a feed: the page applied to the new entry, then stored.
                let mut applied = NewEntry {
                    key: format!("applied-{n}"),
                    ..wanted.clone()
                };
                applied.apply_page(update);
                // Reading a story's page: the entry stored, then the page set on its row.
                let stored = NewEntry {
                    key: format!("stored-{n}"),
                    ..wanted
                };
                s.insert_entries(feed, &[applied, stored], now())
                    .expect("insert");
                s.set_page(id_of(&s, &format!("stored-{n}")), update)
                    .expect("set page");
                assert_eq!(
                    entry_as_stored(&s, &format!("applied-{n}")),
                    entry_as_stored(&s, &format!("stored-{n}")),
                    "{e:?} with {update:?}"
                );
            }
        }
        // And the rule did something: a read page moves the entry, a description fills a
        // missing summary, a feed's date is kept.
        let read = entry_as_stored(&s, "stored-1");
        assert_eq!(read.url.as_deref(), Some("https://ex.org/canonical"));
        assert_eq!(read.summary.as_deref(), Some("The page's summary."));
        assert_eq!(read.published_at, Some(now()));
        assert!(!read.page_wanted && read.from_page);
        let described = entry_as_stored(&s, "stored-7");
        assert_eq!(described.summary.as_deref(), Some("Its description."));
        assert_eq!(
            entry_as_stored(&s, "stored-8").published_at,
            Some(day("2026-11-21T08:00:00Z"))
        );
    }
}

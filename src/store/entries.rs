//! Entries: the stories feeds gave, with what their article pages added. New entries →
//! rows (once per feed and key); rows → the candidates of the next digest, the pages still
//! to read and the summaries of the chosen stories; the filters' verdicts on them (why an
//! entry is filtered, an editor's release) and their counts.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{
    NewEntry, PageFacts, PageFields, PageUpdate, Store, StoredEntry, WantedPage, from_ts, ts,
};
use crate::filter::{FilterList, Filtered};

/// The entries the next digest is chosen from, given `?1` (the last digest's highest entry
/// id, or NULL before any digest) and `?2` (before any digest: the first-seen time the
/// window starts at): newer than the last digest, never carried by one.
const SINCE_LAST_DIGEST: &str =
    "(CASE WHEN ?1 IS NULL THEN e.first_seen_at >= ?2 ELSE e.id > ?1 END)
     AND NOT EXISTS (SELECT 1 FROM digest_entries d WHERE d.entry_id = e.id)";

/// A candidate for the next digest (see [`Store::candidates`]).
const CANDIDATE: &str = "((CASE WHEN ?1 IS NULL THEN e.first_seen_at >= ?2 ELSE e.id > ?1 END)
      AND NOT EXISTS (SELECT 1 FROM digest_entries d WHERE d.entry_id = e.id)
      AND e.filter_list IS NULL)
     OR (e.released = 1 AND NOT EXISTS (SELECT 1 FROM digest_entries d WHERE d.entry_id = e.id))";

/// Filtered entries of one feed and list, as [`Store::filtered_counts`] counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredCount {
    /// The feed's URL as configured.
    pub feed_url: String,
    /// The list that filtered them.
    pub list: FilterList,
    /// Whether they are since the last digest (judged again at each selection), rather
    /// than passed over by an earlier digest.
    pub since_last_digest: bool,
    /// How many.
    pub count: i64,
}

/// What [`Store::release_filtered`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The entry was filtered; it is now a candidate until a digest carries it.
    Released,
    /// It had been released already.
    AlreadyReleased,
    /// It is not filtered (the filters let it through, or it is not judged yet).
    NotFiltered,
    /// No entry has this id.
    NoSuchEntry,
}

impl rusqlite::types::ToSql for FilterList {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

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
                "SELECT summary, source, paywalled, image_url, image_width, image_height
                 FROM entries
                 WHERE url = ?1 AND from_page = 1 ORDER BY id LIMIT 1",
                [url],
                |r| {
                    Ok(PageFacts {
                        summary: r.get(0)?,
                        source: r.get(1)?,
                        paywalled: r.get(2)?,
                        image: image_at(r, 3)?,
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
                                      page_wanted, image_url, image_width, image_height)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
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
                    e.image.as_ref().map(|i| &i.url),
                    e.image.as_ref().and_then(|i| i.width),
                    e.image.as_ref().and_then(|i| i.height),
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Entries that could go into the next digest: newer than the last digest (by entry id)
    /// or, before any digest, first seen after `since`; never carried by an earlier digest;
    /// not filtered (as last judged by [`Store::judge_entries`]). An entry an editor
    /// released is a candidate whenever it is, until a digest carries it.
    pub fn candidates(
        &self,
        after_entry_id: Option<i64>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<StoredEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT e.id, e.feed_id, f.url, e.url, e.title, e.published_at, e.first_seen_at,
                    e.summary IS NOT NULL, e.source, e.paywalled, e.page_wanted
             FROM entries e JOIN feeds f ON f.id = e.feed_id
             WHERE {CANDIDATE}
             ORDER BY e.id"
        ))?;
        // The list is sized once: grown by doubling, 35,000 candidates briefly held a
        // buffer twice their size beside the one being copied (the peak of a whole cycle).
        let count: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM entries e WHERE {CANDIDATE}"),
            params![after_entry_id, ts(since)],
            |r| r.get(0),
        )?;
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
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
        for row in rows {
            out.push(row?);
        }
        Ok(out)
    }

    /// Judges again every entry since the last digest (the window of
    /// [`Store::candidates`]) that no editor released: `verdict` gets each one's feed URL,
    /// headline and summary, and its answer (why it is filtered, or `None`) is stored where
    /// it changed. With `all` false only the entries filtered so far are read (no filter is
    /// configured any more: they are let through). Returns how many verdicts changed.
    pub fn judge_entries(
        &self,
        after_entry_id: Option<i64>,
        since: DateTime<Utc>,
        all: bool,
        mut verdict: impl FnMut(&str, &str, Option<&str>) -> Option<Filtered>,
    ) -> anyhow::Result<usize> {
        let mut changes: Vec<(i64, Option<Filtered>)> = Vec::new();
        {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT e.id, f.url, e.title, e.summary, e.filter_list, e.filter_word
                 FROM entries e JOIN feeds f ON f.id = e.feed_id
                 WHERE {SINCE_LAST_DIGEST} AND e.released = 0
                   AND (?3 OR e.filter_list IS NOT NULL)"
            ))?;
            let mut rows = stmt.query(params![after_entry_id, ts(since), all])?;
            // Rows are read one at a time: 35,000 candidates' summaries are never held at once.
            while let Some(r) = rows.next()? {
                let title: &str = r.get_ref(2)?.as_str()?;
                let summary: Option<&str> = r.get_ref(3)?.as_str_or_null()?;
                let now = verdict(r.get_ref(1)?.as_str()?, title, summary);
                let stored_list: Option<&str> = r.get_ref(4)?.as_str_or_null()?;
                let stored_word: Option<&str> = r.get_ref(5)?.as_str_or_null()?;
                let same = match &now {
                    None => stored_list.is_none(),
                    Some(f) => {
                        stored_list == Some(f.list.as_str()) && stored_word == f.word.as_deref()
                    }
                };
                if !same {
                    changes.push((r.get(0)?, now));
                }
            }
        }
        if !changes.is_empty() {
            let tx = self.conn.unchecked_transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE entries SET filter_list = ?2, filter_word = ?3 WHERE id = ?1",
                )?;
                for (id, f) in &changes {
                    stmt.execute(params![
                        id,
                        f.as_ref().map(|f| f.list),
                        f.as_ref().and_then(|f| f.word.as_deref())
                    ])?;
                }
            }
            tx.commit()?;
        }
        Ok(changes.len())
    }

    /// Why entry `id` is filtered, as last judged; `None` when it is not (or is unknown).
    pub fn filtered_why(&self, id: i64) -> anyhow::Result<Option<Filtered>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT filter_list, filter_word FROM entries WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(list, word)| {
            Some(Filtered {
                list: list?.parse().ok()?,
                word,
            })
        }))
    }

    /// Lets filtered entry `id` through, whatever the filters say: it stays a candidate
    /// until a digest carries it (even one below the last digest's high-water mark). The
    /// stored "why" is kept, so a review page can still say what it was filtered by.
    pub fn release_filtered(&self, id: i64) -> anyhow::Result<Release> {
        let changed = self.conn.execute(
            "UPDATE entries SET released = 1
             WHERE id = ?1 AND filter_list IS NOT NULL AND released = 0",
            [id],
        )?;
        if changed == 1 {
            return Ok(Release::Released);
        }
        let row: Option<bool> = self
            .conn
            .query_row("SELECT released FROM entries WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(match row {
            None => Release::NoSuchEntry,
            Some(true) => Release::AlreadyReleased,
            Some(false) => Release::NotFiltered,
        })
    }

    /// Filtered entries not released nor carried by a digest, counted by feed and list,
    /// those since the last digest (the window of [`Store::candidates`]: `after_entry_id`,
    /// `since`) apart from those an earlier digest passed over.
    pub fn filtered_counts(
        &self,
        after_entry_id: Option<i64>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<FilteredCount>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT f.url, e.filter_list, {SINCE_LAST_DIGEST} AS pending, COUNT(*)
             FROM entries e JOIN feeds f ON f.id = e.feed_id
             WHERE e.filter_list IS NOT NULL AND e.released = 0
             GROUP BY f.url, e.filter_list, pending
             ORDER BY f.url, e.filter_list, pending"
        ))?;
        let rows = stmt.query_map(params![after_entry_id, ts(since)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (feed_url, list, since_last_digest, count) = row?;
            // A list name this version does not know (written by a newer one) is not ours
            // to count; the next judging rewrites it.
            if let Ok(list) = list.parse() {
                out.push(FilteredCount {
                    feed_url,
                    list,
                    since_last_digest,
                    count,
                });
            }
        }
        Ok(out)
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

    /// The pictures of entries `ids` (those that have one), loaded for the chosen stories
    /// only, as [`Store::summaries`] are.
    pub fn pictures(
        &self,
        ids: &[i64],
    ) -> anyhow::Result<std::collections::HashMap<i64, crate::parse::Image>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT image_url, image_width, image_height FROM entries WHERE id = ?1",
        )?;
        let mut out = std::collections::HashMap::new();
        for &id in ids {
            if let Some(Some(image)) = stmt.query_row([id], |r| image_at(r, 0)).optional()? {
                out.insert(id, image);
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
                "SELECT url, summary, source, paywalled, published_at, from_page, page_wanted,
                        image_url, image_width, image_height
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
                    image: image_at(r, 7)?,
                })
            })
            .optional()?;
        // An entry that is gone has nothing to change.
        if let Some(mut f) = fields {
            page.apply(&mut f);
            tx.prepare_cached(
                "UPDATE entries SET url = ?2, summary = ?3, source = ?4, paywalled = ?5,
                        published_at = ?6, from_page = ?7, page_wanted = ?8,
                        image_url = ?9, image_width = ?10, image_height = ?11
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
                f.image.as_ref().map(|i| &i.url),
                f.image.as_ref().and_then(|i| i.width),
                f.image.as_ref().and_then(|i| i.height),
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

/// The picture stored in columns `at`, `at + 1`, `at + 2` (URL, width, height).
fn image_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<crate::parse::Image>> {
    let Some(url) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(crate::parse::Image {
        url,
        width: r.get(at + 1)?,
        height: r.get(at + 2)?,
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use crate::filter::{FilterList, Filtered};
    use crate::store::testing::{entry, now};
    use crate::store::{FilteredCount, NewEntry, PageUpdate, Release, Store, from_ts};

    /// The entry stored under `key`, its key left out (what is compared is the rest).
    fn entry_as_stored(s: &Store, key: &str) -> NewEntry {
        s.conn
            .query_row(
                "SELECT url, title, author, published_at, summary, source, paywalled, from_page,
                        page_wanted, image_url, image_width, image_height
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
                        image: super::image_at(r, 9)?,
                    })
                },
            )
            .expect("stored entry")
    }

    /// A verdict that filters every headline containing `word` by `[brief] exclude`.
    fn excluding(word: &str) -> impl FnMut(&str, &str, Option<&str>) -> Option<Filtered> + '_ {
        move |_, title, _| {
            title.contains(word).then(|| Filtered {
                list: FilterList::BriefExclude,
                word: Some(word.to_string()),
            })
        }
    }

    fn candidate_keys(s: &Store, after: Option<i64>) -> Vec<String> {
        let since = now() - chrono::Duration::hours(1);
        s.candidates(after, since)
            .expect("candidates")
            .into_iter()
            .map(|c| c.title.trim_start_matches("Story ").to_string())
            .collect()
    }

    #[test]
    fn filtered_entries_are_no_candidates_until_released_and_their_why_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let feed = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("feed")[0]
            .id;
        let entries = [entry("plain"), entry("crypto-1"), entry("crypto-2")];
        s.insert_entries(feed, &entries, now()).expect("insert");
        let since = now() - chrono::Duration::hours(1);
        assert_eq!(
            s.judge_entries(None, since, true, excluding("crypto"))
                .expect("judge"),
            2
        );
        assert_eq!(candidate_keys(&s, None), ["plain"]);
        let crypto = id_of(&s, "crypto-1");
        assert_eq!(
            s.filtered_why(crypto).expect("why"),
            Some(Filtered {
                list: FilterList::BriefExclude,
                word: Some("crypto".into())
            })
        );
        assert_eq!(
            s.filtered_counts(None, since).expect("counts"),
            [FilteredCount {
                feed_url: "https://ex.org/feed".into(),
                list: FilterList::BriefExclude,
                since_last_digest: true,
                count: 2
            }]
        );
        // Judging again changes nothing stored.
        assert_eq!(
            s.judge_entries(None, since, true, excluding("crypto"))
                .expect("judge"),
            0
        );
        // A digest passes them over; a released one is a candidate again all the same.
        let plain = id_of(&s, "plain");
        let high = id_of(&s, "crypto-2");
        s.create_digest(now(), high, "Story plain", "{}", &[plain], None)
            .expect("digest");
        assert!(candidate_keys(&s, Some(high)).is_empty());
        assert_eq!(
            s.release_filtered(crypto).expect("release"),
            Release::Released
        );
        assert_eq!(candidate_keys(&s, Some(high)), ["crypto-1"]);
        // Released entries are not judged again and no longer counted.
        assert_eq!(
            s.judge_entries(None, since, true, excluding("crypto"))
                .expect("judge"),
            0
        );
        assert_eq!(
            s.filtered_counts(Some(high), since)
                .expect("counts")
                .iter()
                .map(|c| (c.since_last_digest, c.count))
                .collect::<Vec<_>>(),
            [(false, 1)]
        );
        assert!(
            s.filtered_why(crypto).expect("why").is_some(),
            "the why stays"
        );
        assert_eq!(
            s.release_filtered(crypto).expect("release"),
            Release::AlreadyReleased
        );
        assert_eq!(
            s.release_filtered(plain).expect("release"),
            Release::NotFiltered
        );
        assert_eq!(
            s.release_filtered(9_999).expect("release"),
            Release::NoSuchEntry
        );
    }

    #[test]
    fn a_filter_changed_or_removed_rejudges_the_entries_since_the_last_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let feed = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("feed")[0]
            .id;
        s.insert_entries(feed, &[entry("crypto"), entry("budget")], now())
            .expect("insert");
        let since = now() - chrono::Duration::hours(1);
        s.judge_entries(None, since, true, excluding("crypto"))
            .expect("judge");
        assert_eq!(candidate_keys(&s, None), ["budget"]);
        // Another word: the why follows it.
        s.judge_entries(None, since, true, excluding("budget"))
            .expect("judge");
        assert_eq!(candidate_keys(&s, None), ["crypto"]);
        assert_eq!(
            s.filtered_why(id_of(&s, "budget"))
                .expect("why")
                .and_then(|f| f.word),
            Some("budget".into())
        );
        // No filter any more: only the filtered entries are read, and let through.
        let mut seen = Vec::new();
        s.judge_entries(None, since, false, |_, title, _| {
            seen.push(title.to_string());
            None
        })
        .expect("judge");
        assert_eq!(seen, ["Story budget"]);
        assert_eq!(candidate_keys(&s, None), ["crypto", "budget"]);
        assert!(s.filtered_counts(None, since).expect("counts").is_empty());
    }

    fn id_of(s: &Store, key: &str) -> i64 {
        s.conn
            .query_row("SELECT id FROM entries WHERE key = ?1", [key], |r| r.get(0))
            .expect("id")
    }

    #[test]
    fn a_page_changes_an_entry_alike_before_it_is_stored_and_after() {
        let picture = |from: &str| crate::parse::Image {
            url: format!("https://img.ex.org/{from}.jpg"),
            width: Some(1200),
            height: Some(630),
        };
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
                image: Some(picture("feed")),
                ..entry("known")
            },
        ];
        // Pages as they come: read in full, unreadable, a description only, a date only.
        let updates = [
            PageUpdate {
                url: Some("https://ex.org/canonical".into()),
                summary: Some("The page's summary.".into()),
                description: Some("Its description.".into()),
                loose_summary: None,
                source: Some("Page Site".into()),
                paywalled: true,
                published_at: Some(day("2026-11-20T08:00:00Z")),
                from_page: true,
                image: Some(picture("page")),
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
        // The page's picture where the feed gave none; the feed's is kept.
        assert_eq!(read.image, Some(picture("page")));
        assert_eq!(entry_as_stored(&s, "stored-9").image, Some(picture("feed")));
        assert_eq!(entry_as_stored(&s, "stored-2").image, None, "nothing read");
        let described = entry_as_stored(&s, "stored-7");
        assert_eq!(described.summary.as_deref(), Some("Its description."));
        assert_eq!(
            entry_as_stored(&s, "stored-8").published_at,
            Some(day("2026-11-21T08:00:00Z"))
        );
    }
}

//! Clicks: a tracked link's click → one counted row per (digest, story, member), and the
//! counts read back for the archive, `/metrics` and `feedbrief stats`.
//!
//! A click is one indexed write (an upsert on the table's primary key); the member is
//! stored only when `[brief] track = "member"` (else member 0: nobody).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, from_ts, ts};

/// What a tracked link needs to know before it redirects: the digest it belongs to and
/// when that digest (or that member's copy) was last delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickTarget {
    /// The digest's stored content (JSON of [`crate::select::Digest`]): the story's URL is
    /// read from it, never from the request.
    pub content: String,
    /// The latest accepted delivery of the digest (to the member, when the link names one).
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One story's clicks in one digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryClicks {
    /// The digest.
    pub digest_id: i64,
    /// When the digest was built.
    pub digest_at: DateTime<Utc>,
    /// The story's entry.
    pub entry_id: i64,
    /// Its headline.
    pub title: String,
    /// The feed it came from (its name in `feeds.toml`).
    pub source: String,
    /// Counted clicks.
    pub clicks: i64,
    /// Distinct members who clicked (0 unless `track = "member"`).
    pub members: i64,
}

/// A story members clicked, over several digests: for the "Most read last week" block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStory {
    /// The story's entry.
    pub entry_id: i64,
    /// Its headline.
    pub title: String,
    /// Its article.
    pub url: String,
    /// The page's site name, else the feed's name in `feeds.toml`.
    pub source: String,
    /// Counted clicks, over every digest that carried it in the window.
    pub clicks: i64,
}

/// One feed's stories in one digest and the clicks they drew: what ranking learns from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReach {
    /// The feed's row id.
    pub feed_id: i64,
    /// When the digest was built.
    pub digest_at: DateTime<Utc>,
    /// How many of the feed's stories the digest carried.
    pub stories: i64,
    /// Counted clicks on them.
    pub clicks: i64,
}

impl Store {
    /// The digest a tracked link points into and its latest delivery, or `None` when the
    /// digest does not exist. Two primary-key (or indexed) reads.
    pub fn click_target(
        &self,
        digest_id: i64,
        member_id: Option<i64>,
    ) -> anyhow::Result<Option<ClickTarget>> {
        let Some(content) = self
            .conn
            .prepare_cached("SELECT content FROM digests WHERE id = ?1")?
            .query_row([digest_id], |r| r.get::<_, String>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let sent: Option<i64> = match member_id {
            Some(m) => self
                .conn
                .prepare_cached(
                    "SELECT sent_at FROM deliveries WHERE digest_id = ?1 AND member_id = ?2",
                )?
                .query_row(params![digest_id, m], |r| r.get(0))
                .optional()?
                .flatten(),
            None => self
                .conn
                .prepare_cached("SELECT MAX(sent_at) FROM deliveries WHERE digest_id = ?1")?
                .query_row([digest_id], |r| r.get(0))?,
        };
        Ok(Some(ClickTarget {
            content,
            delivered_at: sent.map(from_ts),
        }))
    }

    /// Counts one click on `entry_id` in `digest_id`, by `member_id` when set: one upsert.
    pub fn record_click(
        &self,
        digest_id: i64,
        entry_id: i64,
        member_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO clicks (digest_id, entry_id, member_id, count, first_at, last_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)
                 ON CONFLICT (digest_id, entry_id, member_id)
                 DO UPDATE SET count = count + 1, last_at = excluded.last_at",
            )?
            .execute(params![
                digest_id,
                entry_id,
                member_id.unwrap_or(0),
                ts(now)
            ])?;
        Ok(())
    }

    /// Every counted click.
    pub fn clicks_total(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(SUM(count), 0) FROM clicks", [], |r| {
                r.get(0)
            })?)
    }

    /// Counted clicks per digest (digests without clicks left out).
    pub fn clicks_by_digest(&self) -> anyhow::Result<std::collections::HashMap<i64, i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT digest_id, SUM(count) FROM clicks GROUP BY digest_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each clicked story of the digests built since `since`, most clicked first.
    pub fn story_clicks(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<StoryClicks>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.digest_id, g.created_at, c.entry_id, e.title, f.name, SUM(c.count),
                    COUNT(DISTINCT NULLIF(c.member_id, 0))
             FROM clicks c
             JOIN digests g ON g.id = c.digest_id
             JOIN entries e ON e.id = c.entry_id
             JOIN feeds f ON f.id = e.feed_id
             WHERE g.created_at >= ?1
             GROUP BY c.digest_id, c.entry_id
             ORDER BY SUM(c.count) DESC, c.digest_id DESC, c.entry_id",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            Ok(StoryClicks {
                digest_id: r.get(0)?,
                digest_at: from_ts(r.get(1)?),
                entry_id: r.get(2)?,
                title: r.get(3)?,
                source: r.get(4)?,
                clicks: r.get(5)?,
                members: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per feed and digest built since `since`: the stories carried and their clicks.
    pub fn feed_reach(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<FeedReach>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.feed_id, g.created_at, COUNT(*), COALESCE(SUM(c.n), 0)
             FROM digest_entries d
             JOIN digests g ON g.id = d.digest_id
             JOIN entries e ON e.id = d.entry_id
             LEFT JOIN (SELECT digest_id, entry_id, SUM(count) AS n FROM clicks
                        GROUP BY digest_id, entry_id) c
                    ON c.digest_id = d.digest_id AND c.entry_id = d.entry_id
             WHERE g.created_at >= ?1
             GROUP BY e.feed_id, g.id
             ORDER BY g.id, e.feed_id",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            Ok(FeedReach {
                feed_id: r.get(0)?,
                digest_at: from_ts(r.get(1)?),
                stories: r.get(2)?,
                clicks: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The `limit` stories most clicked in the digests built from `since` to `until`,
    /// leaving out `exclude` (the stories of the digest being built) and stories without a
    /// link; most clicked first, then the newer digest's, then by entry.
    pub fn most_read(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        exclude: &[i64],
        limit: usize,
    ) -> anyhow::Result<Vec<ReadStory>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.entry_id, e.title, e.url, COALESCE(e.source, f.name), SUM(c.count)
             FROM clicks c
             JOIN digests g ON g.id = c.digest_id
             JOIN entries e ON e.id = c.entry_id
             JOIN feeds f ON f.id = e.feed_id
             WHERE g.created_at >= ?1 AND g.created_at <= ?2 AND e.url IS NOT NULL
             GROUP BY c.entry_id
             HAVING SUM(c.count) > 0
             ORDER BY SUM(c.count) DESC, MAX(c.digest_id) DESC, c.entry_id
             LIMIT ?3",
        )?;
        // The excluded stories are few (a digest's dozen): asking for that many more rows
        // and dropping them here keeps the query one plain statement.
        let wanted = i64::try_from(limit.saturating_add(exclude.len())).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![ts(since), ts(until), wanted], |r| {
            Ok(ReadStory {
                entry_id: r.get(0)?,
                title: r.get(1)?,
                url: r.get(2)?,
                source: r.get(3)?,
                clicks: r.get(4)?,
            })
        })?;
        let mut out = Vec::with_capacity(limit);
        for row in rows {
            let row = row?;
            if out.len() < limit && !exclude.contains(&row.entry_id) {
                out.push(row);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;
    use crate::store::testing::{entry, now};

    #[test]
    fn clicks_add_up_per_story_and_member_and_an_unknown_digest_has_no_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("feedbrief.sqlite")).expect("open");
        let feeds = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("sync");
        s.insert_entries(feeds[0].id, &[entry("a"), entry("b")], now())
            .expect("insert");
        let d = s
            .create_digest(now(), 2, "A", "{}", &[1, 2], None)
            .expect("digest");
        assert!(s.click_target(d + 1, None).expect("read").is_none());
        let t = s.click_target(d, None).expect("read").expect("target");
        assert_eq!(t.content, "{}");
        assert_eq!(t.delivered_at, None, "nothing delivered yet");
        s.record_click(d, 1, None, now()).expect("click");
        s.record_click(d, 1, None, now()).expect("click");
        s.record_click(d, 1, Some(5), now()).expect("click");
        s.record_click(d, 2, Some(6), now()).expect("click");
        assert_eq!(s.clicks_total().expect("total"), 4);
        assert_eq!(s.clicks_by_digest().expect("by digest")[&d], 4);
        let stories = s
            .story_clicks(now() - chrono::Duration::days(30))
            .expect("stories");
        assert_eq!(
            stories
                .iter()
                .map(|c| (c.entry_id, c.clicks, c.members))
                .collect::<Vec<_>>(),
            vec![(1, 3, 1), (2, 1, 1)]
        );
        assert_eq!(stories[0].source, "Ex");
        assert!(
            s.story_clicks(now() + chrono::Duration::days(1))
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn feed_reach_counts_each_feeds_stories_and_their_clicks_per_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("feedbrief.sqlite")).expect("open");
        let feeds = s
            .sync_feeds(&[
                ("https://a.org/feed".into(), "A".into()),
                ("https://b.org/feed".into(), "B".into()),
            ])
            .expect("sync");
        s.insert_entries(feeds[0].id, &[entry("a1"), entry("a2")], now())
            .expect("insert");
        s.insert_entries(feeds[1].id, &[entry("b1")], now())
            .expect("insert");
        let old = s
            .create_digest(now() - chrono::Duration::days(40), 1, "A", "{}", &[1], None)
            .expect("digest");
        let d = s
            .create_digest(now(), 3, "A", "{}", &[1, 2, 3], None)
            .expect("digest");
        s.record_click(old, 1, None, now()).expect("click");
        s.record_click(d, 2, None, now()).expect("click");
        s.record_click(d, 2, Some(4), now()).expect("click");
        let reach = s
            .feed_reach(now() - chrono::Duration::days(30))
            .expect("reach");
        assert_eq!(
            reach
                .iter()
                .map(|r| (r.feed_id, r.stories, r.clicks))
                .collect::<Vec<_>>(),
            vec![(feeds[0].id, 2, 2), (feeds[1].id, 1, 0)]
        );
    }

    #[test]
    fn most_read_ranks_a_weeks_clicks_across_digests_and_leaves_out_the_excluded_and_older() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("feedbrief.sqlite")).expect("open");
        let feeds = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("sync");
        let entries: Vec<_> = ["a", "b", "c", "d", "e"].map(entry).into();
        s.insert_entries(feeds[0].id, &entries, now())
            .expect("insert");
        let day = chrono::Duration::days(1);
        // Ten days ago (outside the week), two days ago and yesterday.
        let old = s
            .create_digest(now() - day * 10, 1, "A", "{}", &[1], None)
            .expect("digest");
        let d1 = s
            .create_digest(now() - day * 2, 3, "B", "{}", &[2, 3], None)
            .expect("digest");
        let d2 = s
            .create_digest(now() - day, 5, "D", "{}", &[4, 5], None)
            .expect("digest");
        let click = |d, e, n| {
            for _ in 0..n {
                s.record_click(d, e, None, now()).expect("click");
            }
        };
        click(old, 1, 9); // most clicked of all, but ten days old
        click(d1, 2, 2);
        click(d1, 3, 5);
        click(d2, 4, 2); // ties with 2: the newer digest's first
        click(d2, 5, 1);
        let ids = |v: Vec<super::ReadStory>| v.into_iter().map(|r| r.entry_id).collect::<Vec<_>>();
        let week = now() - day * 7;
        assert_eq!(
            ids(s.most_read(week, now(), &[], 3).expect("read")),
            [3, 4, 2]
        );
        // This digest's own stories are never in its block; the next one moves up.
        assert_eq!(
            ids(s.most_read(week, now(), &[3], 3).expect("read")),
            [4, 2, 5]
        );
        let top = s.most_read(week, now(), &[], 1).expect("read");
        assert_eq!(top[0].clicks, 5);
        assert_eq!(top[0].source, "Ex");
        assert!(top[0].url.starts_with("https://"), "{:?}", top[0].url);
        // Digests built after `until` are not looked at (a preview of an earlier day).
        assert_eq!(
            ids(s.most_read(week, now() - day * 2, &[], 3).expect("read")),
            [3, 2]
        );
    }
}

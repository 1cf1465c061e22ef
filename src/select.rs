//! Select: candidate entries → the day's [`Digest`] (lead story, sections, announcements).
//!
//! Drops stories an earlier digest carried under another feed, merges the same story from
//! two feeds (same canonical URL or near-identical headline), scores by recency and feed
//! weight, then fills sections up to the per-section and total limits. Pure: `now` is an
//! argument and nothing is read from outside.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Announcement, Articles, Config};
use crate::store::{SentStory, StoredEntry};

/// Most sections one digest shows (SmartBrief's layout).
pub const MAX_SECTIONS: usize = 6;

/// One story as the digest shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Story {
    /// The stored entry.
    pub entry_id: i64,
    /// Headline.
    pub title: String,
    /// Full Story link.
    pub url: String,
    /// Two-sentence summary (selection ranks on whether there is one; the caller loads
    /// the text for the chosen stories only).
    pub summary: Option<String>,
    /// Source name for `Full Story: Source (M/D)`.
    pub source: String,
    /// Publication time (else first seen).
    pub date: DateTime<Utc>,
    /// Section the story belongs to.
    pub section: String,
    /// Access note such as "subscription required".
    pub access_note: Option<String>,
    /// The story's picture (its feed's, else its page's), shown per `[brief] images`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::parse::Image>,
}

/// A section with its stories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SectionStories {
    /// Section title.
    pub name: String,
    /// Its stories, best first.
    pub stories: Vec<Story>,
}

/// An announcement as frozen into a digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DigestAnnouncement {
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// Call-to-action link.
    pub link: String,
    /// Button text.
    pub cta: String,
    /// Image URL.
    pub image: Option<String>,
    /// Image alt text.
    pub image_alt: Option<String>,
    /// Section after which it appears.
    pub after_section: String,
}

/// Everything one digest carries; stored as JSON so a re-send is identical.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Digest {
    /// When it was built.
    pub created_at: DateTime<Utc>,
    /// The lead story.
    pub lead: Story,
    /// Sections in config order, each with at least one story.
    pub sections: Vec<SectionStories>,
    /// Announcements current on the digest's date.
    pub announcements: Vec<DigestAnnouncement>,
    /// Sponsored blocks current on the digest's date.
    #[serde(default)]
    pub sponsors: Vec<DigestAnnouncement>,
    /// The highest entry id among the candidates it was chosen from: the next digest
    /// considers entries above it. Taken from the candidates, not read when the digest is
    /// recorded, so an entry stored in between is still a candidate next time.
    #[serde(default)]
    pub high_water: i64,
    /// "Most read last week": the stories of the last 7 days' digests members clicked
    /// most (none of this digest's), most clicked first; empty without clicks or with
    /// `[brief] most_read = false`. Filled in by the caller, which reads the counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub most_read: Vec<MostRead>,
}

/// A story of an earlier digest in the "Most read last week" block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MostRead {
    /// The stored entry.
    pub entry_id: i64,
    /// Headline.
    pub title: String,
    /// The article (linked straight, never through the counting redirect: a click on the
    /// block would otherwise feed the block).
    pub url: String,
    /// Source name, as in "Full Story".
    pub source: String,
    /// Counted clicks over the week.
    pub clicks: i64,
}

/// How many stories the "Most read last week" block shows.
pub const MOST_READ_STORIES: usize = 3;

/// How far back the "Most read last week" block looks: digests built in the last 7 days.
pub const MOST_READ_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(7);

impl Digest {
    /// Every story, lead first.
    pub fn stories(&self) -> impl Iterator<Item = &Story> {
        std::iter::once(&self.lead).chain(self.sections.iter().flat_map(|s| s.stories.iter()))
    }
}

/// How far back ranking looks at clicks.
pub const LEARN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// A digest's clicks count half as much every this many days.
pub const LEARN_HALF_LIFE_DAYS: f64 = 7.0;
/// Stories' worth of the brief-wide click rate every feed starts from, so that a feed
/// with two stories and one lucky click is not taken for a favourite.
pub const LEARN_PRIOR_STORIES: f64 = 5.0;
/// The bounds of a feed's learned factor on its `weight`.
pub const LEARN_BOUNDS: (f64, f64) = (0.8, 1.25);

/// What ranking learned of one feed from members' clicks: a factor on its `weight`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClickWeight {
    /// The factor, within [`LEARN_BOUNDS`].
    pub factor: f64,
    /// Its clicks over [`LEARN_WINDOW`], decayed.
    pub clicks: f64,
    /// Its stories in the digests of the window, decayed alike.
    pub stories: f64,
    /// Clicks per story over every feed (decayed), the rate a factor of 1 stands for.
    pub brief_rate: f64,
}

impl ClickWeight {
    /// The feed's own clicks per story (decayed).
    pub fn rate(&self) -> f64 {
        if self.stories > 0.0 {
            self.clicks / self.stories
        } else {
            0.0
        }
    }
}

impl std::fmt::Display for ClickWeight {
    /// How `feeds status` explains it: "weight ×1.18 from clicks: 3.2 per story against
    /// the brief's 1.9 (last 30 days, halved every 7 days; held within ×0.80–×1.25)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "weight \u{d7}{:.2} from clicks: {:.1} per story against the brief's {:.1} \
             (last {} days, halved every {} days; held within \u{d7}{:.2}\u{2013}\u{d7}{:.2})",
            self.factor,
            self.rate(),
            self.brief_rate,
            LEARN_WINDOW.num_days(),
            LEARN_HALF_LIFE_DAYS,
            LEARN_BOUNDS.0,
            LEARN_BOUNDS.1
        )
    }
}

/// Each feed's factor from its stories and clicks in the digests of the last
/// [`LEARN_WINDOW`]: its clicks per story, each digest's counts halved every
/// [`LEARN_HALF_LIFE_DAYS`], drawn toward the brief-wide rate by [`LEARN_PRIOR_STORIES`],
/// divided by that rate and held within [`LEARN_BOUNDS`]. Empty when nothing was clicked
/// (every feed then keeps its configured weight). Pure.
pub fn click_weights(
    reach: &[crate::store::FeedReach],
    now: DateTime<Utc>,
) -> HashMap<i64, ClickWeight> {
    let mut per_feed: HashMap<i64, (f64, f64)> = HashMap::new();
    for r in reach {
        let age_days = (now - r.digest_at).num_seconds().max(0) as f64 / 86_400.0;
        if age_days > LEARN_WINDOW.num_days() as f64 {
            continue;
        }
        let decay = 0.5f64.powf(age_days / LEARN_HALF_LIFE_DAYS);
        let f = per_feed.entry(r.feed_id).or_default();
        f.0 += decay * r.clicks as f64;
        f.1 += decay * r.stories as f64;
    }
    let (clicks, stories) = per_feed
        .values()
        .fold((0.0, 0.0), |(c, s), (fc, fs)| (c + fc, s + fs));
    if clicks <= 0.0 || stories <= 0.0 {
        return HashMap::new();
    }
    let brief_rate = clicks / stories;
    per_feed
        .into_iter()
        .map(|(feed, (clicks, stories))| {
            let smoothed =
                (clicks + LEARN_PRIOR_STORIES * brief_rate) / (stories + LEARN_PRIOR_STORIES);
            let factor = (smoothed / brief_rate).clamp(LEARN_BOUNDS.0, LEARN_BOUNDS.1);
            (
                feed,
                ClickWeight {
                    factor,
                    clicks,
                    stories,
                    brief_rate,
                },
            )
        })
        .collect()
}

/// Builds the digest from `candidates`, or `None` when there is no story to send.
///
/// `recently_sent` holds the stories earlier digests carried; `oldest` drops
/// entries published before it (a newly added feed's backlog). Scored, then each story's
/// best copy among feeds kept, then chosen within the section limits, then arranged.
pub fn select(
    config: &Config,
    candidates: &[StoredEntry],
    recently_sent: &[SentStory],
    oldest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Digest> {
    select_learned(
        config,
        candidates,
        recently_sent,
        oldest,
        now,
        &HashMap::new(),
    )
}

/// [`select`], each feed's `weight` multiplied by what [`click_weights`] learned of it
/// (by feed row id; a feed not in `learned` keeps its weight).
pub fn select_learned(
    config: &Config,
    candidates: &[StoredEntry],
    recently_sent: &[SentStory],
    oldest: DateTime<Utc>,
    now: DateTime<Utc>,
    learned: &HashMap<i64, ClickWeight>,
) -> Option<Digest> {
    let first_section = config
        .sections
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let (scored, titles) = score(
        config,
        candidates,
        recently_sent,
        (oldest, now),
        &first_section,
        learned,
    );
    let best = best_copies(&scored, &titles);
    let chosen = choose(config, &scored, &best);
    let high_water = candidates.iter().map(|c| c.id).max().unwrap_or(0);
    arrange(config, chosen, now, &first_section, high_water)
}

/// A candidate kept as references with its score; a [`Story`] (with its own copies of the
/// strings) is built only for the dozen chosen, so 35,000 candidates cost little.
struct Scored<'a> {
    score: f64,
    entry: &'a StoredEntry,
    url: &'a str,
    feed: &'a crate::config::Feed,
    section: &'a str,
    date: DateTime<Utc>,
}

/// The candidates that may be sent (a link, a configured feed, not too old, not carried
/// by a recent digest under any headline), scored and sorted best first, with their
/// headlines' word sets.
fn score<'a>(
    config: &'a Config,
    candidates: &'a [StoredEntry],
    recently_sent: &[SentStory],
    (oldest, now): (DateTime<Utc>, DateTime<Utc>),
    first_section: &'a str,
    learned: &HashMap<i64, ClickWeight>,
) -> (Vec<Scored<'a>>, Vec<Title>) {
    let sent_urls: HashSet<&str> = recently_sent
        .iter()
        .filter_map(|s| s.url.as_deref())
        .collect();
    let sent_titles: Vec<Title> = recently_sent.iter().map(|s| Title::new(&s.title)).collect();
    let feeds: HashMap<&str, &crate::config::Feed> = config
        .feeds
        .iter()
        .rev()
        .map(|f| (f.url.as_str(), f))
        .collect(); // first wins
    let mut scored: Vec<(Scored<'_>, Title)> = Vec::with_capacity(candidates.len());
    for e in candidates {
        let Some(url) = e.url.as_deref() else {
            continue;
        };
        let Some(&feed) = feeds.get(&*e.feed_url) else {
            // The feed was removed from feeds.toml; its stories go with it.
            continue;
        };
        let date = e
            .published_at
            .unwrap_or(e.first_seen_at)
            .min(e.first_seen_at.max(now));
        if e.published_at.is_some_and(|p| p < oldest) {
            continue;
        }
        if sent_urls.contains(url) {
            continue;
        }
        let title = Title::new(&e.title);
        if sent_titles.iter().any(|t| t.similar(&title)) {
            continue;
        }
        let age_hours = (now - date).num_minutes().max(0) as f64 / 60.0;
        // Recency halves a story's score every 24 hours; a summary makes it far more useful
        // (a page not read yet may still give one: it contends as if it had).
        let learned = learned.get(&e.feed_id).map_or(1.0, |w| w.factor);
        let mut score = feed.weight * learned * 0.5f64.powf(age_hours / 24.0);
        if e.has_summary || (e.page_wanted && config.fetch.articles != Articles::Off) {
            score *= 1.5;
        }
        let section = feed.section.as_deref().unwrap_or(first_section);
        scored.push((
            Scored {
                score,
                entry: e,
                url,
                feed,
                section,
                date,
            },
            title,
        ));
    }
    // Best first; ties broken by entry id so the result is deterministic.
    scored.sort_by(|a, b| {
        b.0.score
            .partial_cmp(&a.0.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.entry.id.cmp(&b.0.entry.id))
    });
    scored.into_iter().unzip()
}

/// Indexes into `scored` of each story's best copy, best first: the same story may come
/// from several feeds under slightly different headlines or with the same URL; those are
/// grouped (transitively) and the group's best copy kept.
fn best_copies(scored: &[Scored<'_>], titles: &[Title]) -> Vec<usize> {
    let mut group: Vec<usize> = (0..scored.len()).collect();
    fn root(group: &mut [usize], mut i: usize) -> usize {
        while group[i] != i {
            group[i] = group[group[i]];
            i = group[i];
        }
        i
    }
    let urls: Vec<&str> = scored.iter().map(|s| s.url).collect();
    for (i, j) in duplicate_pairs(&urls, titles) {
        let (a, b) = (root(&mut group, i), root(&mut group, j));
        // Point the later root at the earlier one, so a group's root is its best copy.
        group[a.max(b)] = a.min(b);
    }
    (0..scored.len())
        .filter(|&i| root(&mut group, i) == i)
        .collect()
}

/// The stories of the digest, lead first: the best copies in order, up to `max_stories`,
/// at most `per_section` in a section when there are several.
fn choose(config: &Config, scored: &[Scored<'_>], best: &[usize]) -> Vec<Story> {
    let mut chosen: Vec<Story> = Vec::new();
    for &i in best {
        let c = &scored[i];
        if chosen.len() >= config.brief.max_stories {
            break;
        }
        let in_section = chosen
            .iter()
            .skip(1)
            .filter(|s| s.section == c.section)
            .count();
        let is_lead = chosen.is_empty();
        // `per_section` balances sections; a brief of one section (or none, and so the
        // implicit one) is filled up to `max_stories`.
        let per_section = if config.sections.len() > 1 {
            config.brief.per_section
        } else {
            usize::MAX
        };
        if !is_lead && in_section >= per_section {
            continue;
        }
        let e = c.entry;
        chosen.push(Story {
            entry_id: e.id,
            title: e.title.clone(),
            url: c.url.to_string(),
            summary: None,
            source: e.source.clone().unwrap_or_else(|| c.feed.name.clone()),
            date: c.date,
            section: c.section.to_string(),
            access_note: e.paywalled.then(|| "subscription required".to_string()),
            image: None,
        });
    }
    chosen
}

/// The chosen stories arranged as the digest: the lead, then the sections in config
/// order (at most six), with the announcements and sponsors current `now`.
fn arrange(
    config: &Config,
    chosen: Vec<Story>,
    now: DateTime<Utc>,
    first_section: &str,
    high_water: i64,
) -> Option<Digest> {
    let mut chosen = chosen.into_iter();
    let lead = chosen.next()?;
    let rest: Vec<Story> = chosen.collect();
    let sections: Vec<SectionStories> = config
        .sections
        .iter()
        .map(|s| SectionStories {
            name: s.name.clone(),
            stories: rest
                .iter()
                .filter(|st| st.section == s.name)
                .cloned()
                .collect(),
        })
        .filter(|s| !s.stories.is_empty())
        .take(MAX_SECTIONS)
        .collect();
    let today = now.with_timezone(&config.brief.timezone).date_naive();
    let announcements =
        current_announcements(&config.announcements, today, &sections, first_section);
    let sponsors = current_announcements(&config.sponsors, today, &sections, first_section);
    Some(Digest {
        created_at: now,
        lead,
        sections,
        announcements,
        sponsors,
        high_water,
        most_read: Vec::new(),
    })
}

/// Announcements not past their `until` date, each placed after a section that exists in
/// this digest (its own choice if present, else the first section shown).
fn current_announcements(
    all: &[Announcement],
    today: NaiveDate,
    sections: &[SectionStories],
    first_section: &str,
) -> Vec<DigestAnnouncement> {
    let fallback = sections.first().map_or(first_section, |s| s.name.as_str());
    all.iter()
        .filter(|a| a.until.is_none_or(|u| today <= u))
        .map(|a| DigestAnnouncement {
            title: a.title.clone(),
            body: a.body.clone(),
            link: a.link.to_string(),
            cta: a.cta.clone(),
            image: a.image.as_ref().map(|u| u.to_string()),
            image_alt: a.image_alt.clone(),
            after_section: a
                .after_section
                .as_ref()
                .filter(|name| sections.iter().any(|s| &&s.name == name))
                .map_or(fallback, |s| s.as_str())
                .to_string(),
        })
        .collect()
}

/// The words of a headline (runs of alphanumeric characters, lowercased), each as its
/// 64-bit FNV-1a hash, computed without allocating a string per word.
fn title_words(title: &str) -> Vec<u64> {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut words = Vec::new();
    let mut current: Option<u64> = None;
    for c in title.chars() {
        if !c.is_alphanumeric() {
            words.extend(current.take());
            continue;
        }
        let mut hash = current.unwrap_or(OFFSET);
        if c.is_ascii() {
            current = Some((hash ^ u64::from(c.to_ascii_lowercase() as u8)).wrapping_mul(PRIME));
            continue;
        }
        for lower in c.to_lowercase() {
            let mut buf = [0u8; 4];
            for b in lower.encode_utf8(&mut buf).bytes() {
                hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
            }
        }
        current = Some(hash);
    }
    words.extend(current);
    words
}

/// Maps keyed by word hash. The word hashes are unkeyed FNV, so a feed could craft words
/// that collide; the map hashes them again with std's random key.
type WordMap<V> = HashMap<u64, V>;

/// A headline's words as written (for equality) and as a sorted set (for overlap), each
/// word as a 64-bit hash: 35,000 headlines then take a few megabytes, not tens.
struct Title {
    /// How many words, and a hash of the words in order (for "the same words").
    len: usize,
    sequence: u64,
    /// The distinct words, sorted (for the overlap).
    set: Vec<u64>,
}

impl Title {
    fn new(title: &str) -> Self {
        let mut set = title_words(title);
        let len = set.len();
        let sequence = set.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, w| {
            (h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29)
        });
        set.sort_unstable();
        set.dedup();
        Self { len, sequence, set }
    }

    /// The same words in the same order: the same count, order hash and set of words (so a
    /// headline crafted to collide with another's order hash must also share its words).
    fn same_words(&self, other: &Title) -> bool {
        self.len > 0
            && self.len == other.len
            && self.sequence == other.sequence
            && self.set == other.set
    }

    /// Near-identical: the same words, or word sets overlapping by 80% or more.
    fn similar(&self, other: &Title) -> bool {
        if self.len == 0 || other.len == 0 {
            return false;
        }
        if self.same_words(other) {
            return true;
        }
        // Short headlines ("Weekly roundup") share words by chance; require equality there.
        if self.len < 4 || other.len < 4 {
            return false;
        }
        // The overlap is at most the smaller set over the larger: skip the count when that
        // already falls short.
        let (small, large) = (
            self.set.len().min(other.set.len()),
            self.set.len().max(other.set.len()),
        );
        if (small as f64) / (large as f64) < 0.8 {
            return false;
        }
        let (mut i, mut j, mut inter) = (0, 0, 0usize);
        while i < self.set.len() && j < other.set.len() {
            match self.set[i].cmp(&other.set[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let union = self.set.len() + other.set.len() - inter;
        inter as f64 / union as f64 >= 0.8
    }
}

/// Every pair `(later, earlier)` of stories that are the same story: the same URL, or
/// [`Title::similar`] headlines.
///
/// Comparing every pair is quadratic (35,000 candidates from 1,000 feeds is 600 million
/// pairs), so candidates come from an index instead: identical URLs and word lists by hash,
/// and near-identical headlines by prefix filtering. Two word sets overlapping by 80% of
/// their union share at least `floor(0.8 × size)` words, so when each set's words are
/// ordered rarest first, their first `size − floor(0.8 × size) + 1` words meet; only pairs
/// meeting there are compared.
fn duplicate_pairs(urls: &[&str], titles: &[Title]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    let mut by_words: WordMap<usize> = WordMap::default();
    for (i, (url, t)) in urls.iter().zip(titles).enumerate() {
        match by_url.get(url) {
            Some(&j) => pairs.push((i, j)),
            None => {
                by_url.insert(url, i);
            }
        }
        if t.len > 0 {
            match by_words.get(&t.sequence) {
                Some(&j) if t.same_words(&titles[j]) => pairs.push((i, j)),
                Some(_) => {}
                None => {
                    by_words.insert(t.sequence, i);
                }
            }
        }
    }
    let mut frequency: WordMap<usize> = WordMap::default();
    for t in titles.iter().filter(|t| t.len >= 4) {
        for w in &t.set {
            *frequency.entry(*w).or_default() += 1;
        }
    }
    let mut index: WordMap<Vec<usize>> = WordMap::default();
    let mut checked = vec![usize::MAX; titles.len()];
    let mut ordered: Vec<(usize, u64)> = Vec::new();
    for (i, t) in titles.iter().enumerate() {
        if t.len < 4 {
            continue;
        }
        ordered.clear();
        ordered.extend(t.set.iter().map(|w| (frequency[w], *w)));
        ordered.sort_unstable();
        let prefix = t.set.len() - (t.set.len() * 4 / 5).max(1) + 1;
        for (_, w) in &ordered[..prefix.min(ordered.len())] {
            if let Some(earlier) = index.get(w) {
                for &j in earlier {
                    if checked[j] != i {
                        checked[j] = i;
                        if t.similar(&titles[j]) {
                            pairs.push((i, j));
                        }
                    }
                }
            }
        }
        for (_, w) in &ordered[..prefix.min(ordered.len())] {
            index.entry(*w).or_default().push(i);
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        crate::config::parse(
            r#"
[brief]
name = "B"
from = "b@example.org"
max_stories = 4
per_section = 2
[[section]]
name = "One"
[[section]]
name = "Two"
[[feed]]
name = "A"
url = "https://a.example.org/feed"
section = "One"
[[feed]]
name = "Bee"
url = "https://b.example.org/feed"
section = "Two"
weight = 2.0
[[announcement]]
title = "Dues"
body = "Lower dues."
link = "https://example.org/join"
until = 2026-11-30
[[announcement]]
title = "Old"
body = "Expired."
link = "https://example.org/old"
until = 2026-11-01
"#,
            Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    fn entry(id: i64, feed: &str, title: &str, url: &str, hours_old: i64) -> StoredEntry {
        StoredEntry {
            id,
            feed_id: 1,
            feed_url: feed.into(),
            url: Some(url.into()),
            title: title.into(),
            published_at: Some(now() - chrono::Duration::hours(hours_old)),
            first_seen_at: now(),
            has_summary: true,
            source: None,
            paywalled: false,
            page_wanted: false,
        }
    }

    #[test]
    fn a_brief_without_sections_is_filled_up_to_max_stories() {
        let c = crate::config::parse(
            r#"
[brief]
name = "B"
from = "b@example.org"
max_stories = 12
[[feed]]
name = "A"
url = "https://a.example.org/feed"
"#,
            Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let topics = [
            "budgets",
            "snow",
            "hiring",
            "parks",
            "water",
            "transit",
            "housing",
            "libraries",
            "police",
            "broadband",
            "pensions",
            "zoning",
            "elections",
            "roads",
            "heat",
            "trees",
        ];
        let cands: Vec<StoredEntry> = topics
            .iter()
            .enumerate()
            .map(|(i, t)| {
                entry(
                    i as i64 + 1,
                    "https://a.example.org/feed",
                    &format!("What cities are learning about {t} this winter"),
                    &format!("https://x.org/{t}"),
                    i as i64,
                )
            })
            .collect();
        let d = select(&c, &cands, &[], now() - chrono::Duration::days(2), now()).expect("digest");
        assert_eq!(d.stories().count(), 12);
        assert_eq!(d.sections.len(), 1);
    }

    #[test]
    fn same_story_from_two_feeds_appears_once() {
        let c = config();
        let cands = vec![
            entry(
                1,
                "https://a.example.org/feed",
                "City budgets face a hard winter",
                "https://x.org/1",
                1,
            ),
            entry(
                2,
                "https://b.example.org/feed",
                "Other news about leadership",
                "https://x.org/1",
                2,
            ),
            entry(
                3,
                "https://b.example.org/feed",
                "City Budgets Face a Hard Winter!",
                "https://y.org/9",
                3,
            ),
            entry(
                4,
                "https://a.example.org/feed",
                "Something else entirely here",
                "https://x.org/4",
                4,
            ),
        ];
        let d = select(&c, &cands, &[], now() - chrono::Duration::days(2), now()).expect("digest");
        let ids: Vec<i64> = d.stories().map(|s| s.entry_id).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&4));
        // The heavier feed's copy wins the lead.
        assert_eq!(d.lead.source, "Bee");
    }

    #[test]
    fn an_unread_page_counts_as_a_summary_only_while_pages_are_read() {
        let mut c = config();
        let mut unread = entry(
            1,
            "https://a.example.org/feed",
            "Newer, no text yet",
            "https://a.org/1",
            1,
        );
        unread.has_summary = false;
        unread.page_wanted = true;
        let summarized = entry(
            2,
            "https://a.example.org/feed",
            "Older with a summary",
            "https://a.org/2",
            2,
        );
        let cands = [unread, summarized];
        let oldest = now() - chrono::Duration::days(2);
        let lead = |c: &Config| {
            select(c, &cands, &[], oldest, now())
                .expect("digest")
                .lead
                .entry_id
        };
        assert_eq!(
            lead(&c),
            1,
            "the newer story leads while its page may give a summary"
        );
        c.fetch.articles = Articles::Off;
        assert_eq!(
            lead(&c),
            2,
            "with pages off, a story without text has no bonus"
        );
    }

    #[test]
    fn limits_and_sections_are_respected_and_expired_announcements_dropped() {
        let c = config();
        let cands: Vec<StoredEntry> = (1..=10)
            .map(|i| {
                let feed = if i % 2 == 0 {
                    "https://a.example.org/feed"
                } else {
                    "https://b.example.org/feed"
                };
                entry(
                    i,
                    feed,
                    &format!("Distinct headline number {i} about things"),
                    &format!("https://x.org/{i}"),
                    i,
                )
            })
            .collect();
        let d = select(&c, &cands, &[], now() - chrono::Duration::days(2), now()).expect("digest");
        assert_eq!(d.stories().count(), 4);
        for s in &d.sections {
            assert!(s.stories.len() <= 2);
        }
        assert_eq!(d.announcements.len(), 1);
        assert_eq!(d.announcements[0].title, "Dues");
    }

    #[test]
    fn stories_sent_before_and_old_backlog_are_skipped() {
        let c = config();
        let cands = vec![
            entry(
                1,
                "https://a.example.org/feed",
                "Already sent headline for the city",
                "https://x.org/1",
                1,
            ),
            entry(
                2,
                "https://a.example.org/feed",
                "A very old post from the archive",
                "https://x.org/2",
                24 * 30,
            ),
        ];
        let sent = vec![SentStory {
            title: "Already sent headline for the city".to_string(),
            url: Some("https://elsewhere.org/a".to_string()),
        }];
        assert!(select(&c, &cands, &sent, now() - chrono::Duration::days(2), now()).is_none());
    }
    #[test]
    fn indexed_duplicate_pairs_group_like_comparing_every_pair() {
        // Headlines drawn from a small vocabulary, so many overlap by 80% or more.
        let words = [
            "city", "budget", "trust", "leaders", "team", "plan", "the", "a", "new",
        ];
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let titles: Vec<Title> = (0..400)
            .map(|_| {
                let n = 1 + next() % 7;
                let t: Vec<&str> = (0..n).map(|_| words[next() % words.len()]).collect();
                Title::new(&t.join(" "))
            })
            .collect();
        let urls: Vec<String> = (0..400).map(|i| format!("https://x/{}", i % 350)).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let components = |pairs: &[(usize, usize)]| {
            let mut group: Vec<usize> = (0..titles.len()).collect();
            fn root(g: &mut [usize], mut i: usize) -> usize {
                while g[i] != i {
                    i = g[i];
                }
                i
            }
            for &(i, j) in pairs {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[a.max(b)] = a.min(b);
            }
            (0..titles.len())
                .map(|i| root(&mut group, i))
                .collect::<Vec<_>>()
        };
        let mut every = Vec::new();
        for i in 0..titles.len() {
            for j in 0..i {
                if urls[i] == urls[j] || titles[i].similar(&titles[j]) {
                    every.push((i, j));
                }
            }
        }
        assert_eq!(
            components(&duplicate_pairs(&urls, &titles)),
            components(&every)
        );
    }

    fn reach(feed: i64, days_ago: i64, stories: i64, clicks: i64) -> crate::store::FeedReach {
        crate::store::FeedReach {
            feed_id: feed,
            digest_at: now() - chrono::Duration::days(days_ago),
            stories,
            clicks,
        }
    }

    #[test]
    fn click_weights_are_bounded_smoothed_and_decay_with_age() {
        // Nothing clicked: nothing learned.
        assert!(click_weights(&[reach(1, 1, 3, 0), reach(2, 1, 3, 0)], now()).is_empty());
        // Feed 1 drew 9 clicks on 3 stories, feed 2 none on 3: bounded both ways.
        let w = click_weights(&[reach(1, 1, 3, 9), reach(2, 1, 3, 0)], now());
        assert_eq!(w[&1].factor, LEARN_BOUNDS.1);
        assert_eq!(w[&2].factor, LEARN_BOUNDS.0);
        // A small lead is drawn toward the brief's rate: inside the bounds, above 1.
        let w = click_weights(&[reach(1, 1, 10, 6), reach(2, 1, 10, 4)], now());
        assert!(
            w[&1].factor > 1.0 && w[&1].factor < LEARN_BOUNDS.1,
            "{:?}",
            w[&1]
        );
        assert!((w[&1].factor * w[&2].factor - 1.0).abs() < 0.05, "{w:?}");
        // The same clicks two half-lives ago weigh a quarter (the rate alike, its weight
        // against the prior less); past the window, nothing.
        let old = click_weights(&[reach(1, 14, 10, 6), reach(2, 1, 10, 4)], now());
        assert!(old[&1].factor < w[&1].factor, "{:?}", old[&1]);
        assert!((old[&1].clicks - 1.5).abs() < 1e-9, "{:?}", old[&1]);
        let gone = click_weights(&[reach(1, 31, 10, 60), reach(2, 1, 10, 4)], now());
        assert!(!gone.contains_key(&1));
        assert_eq!(
            w[&1].to_string(),
            format!(
                "weight \u{d7}{:.2} from clicks: 0.6 per story against the brief's 0.5 \
                 (last 30 days, halved every 7 days; held within \u{d7}0.80\u{2013}\u{d7}1.25)",
                w[&1].factor
            )
        );
    }

    #[test]
    fn a_feed_members_click_more_outranks_an_equal_one() {
        let config = crate::config::parse(
            r#"
[brief]
name = "B"
from = "b@example.org"
[[feed]]
name = "A"
url = "https://a.example.org/feed"
[[feed]]
name = "C"
url = "https://c.example.org/feed"
"#,
            Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config");
        // Two stories alike but for C's being an hour older.
        let mut a = entry(
            1,
            "https://a.example.org/feed",
            "Parks reopen",
            "https://a.example.org/1",
            1,
        );
        let mut c = entry(
            2,
            "https://c.example.org/feed",
            "Rates hold",
            "https://c.example.org/2",
            2,
        );
        a.feed_id = 10;
        c.feed_id = 20;
        let oldest = now() - chrono::Duration::days(7);
        let plain = select(&config, &[a.clone(), c.clone()], &[], oldest, now()).expect("digest");
        let learned = click_weights(&[reach(10, 2, 5, 0), reach(20, 2, 5, 8)], now());
        let digest =
            select_learned(&config, &[a, c], &[], oldest, now(), &learned).expect("digest");
        assert_ne!(
            plain.lead.entry_id, 2,
            "without clicks C's story does not lead"
        );
        assert_eq!(digest.lead.entry_id, 2, "members click C's stories more");
    }
}

//! Parse: feed bytes → [`ParsedFeed`] (title, entries with our own keys, canonical URLs, dates).
//!
//! feed-rs does the parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed) of a body we first decode to
//! UTF-8 ourselves (BOM, UTF-16/32, declared or lying charsets). When it rejects a document,
//! or misses entries the document holds, we repair the common breakage of real feeds (junk
//! before the root, bare `&`, HTML-only entities) and parse again, then fall back to
//! [`lenient`], a forgiving reader of our own (unknown RSS versions and namespaces, Atom
//! 0.3, CDF, unclosed tags, JSON Feed quirks), noting what was done. Pure: no I/O, no clock.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

/// Marker our id generator returns, so we can tell a feed's own guid from an invented one.
const NO_ID: &str = "\u{0}feedbrief:no-id";

/// Query parameters that only track the click and never change the page.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "igshid",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "rb_clickid",
    "s_cid",
    "ncid",
    "cmpid",
    "__s",
];

/// Longest entry headline kept, in characters: about 45 words, twice a long real headline
/// (a digest's Subject is the lead headline).
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest feed title kept, in characters.
pub const MAX_FEED_TITLE_CHARS: usize = 200;
/// Longest author line kept (names comma-joined), in characters.
pub const MAX_AUTHOR_CHARS: usize = 200;
/// Longest link kept, in bytes: the limit sitemaps, search engines and many servers set. A
/// longer link is dropped, not cut: a cut URL is a broken link.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest guid used as the key as it is, in bytes; a longer one is keyed by its hash.
const MAX_ID_BYTES: usize = 512;

/// `text` cut to at most `max_chars` characters, on a word boundary when one lies in the
/// second half, with an ellipsis where text was cut; unchanged when it fits.
pub fn clip(text: &str, max_chars: usize) -> String {
    let Some((room, _)) = text.char_indices().nth(max_chars) else {
        return text.to_string();
    };
    // One character is the ellipsis; `room` marks where text would run over.
    let head = &text[..text[..room].char_indices().last().map_or(0, |(i, _)| i)];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space >= head.len() / 2 => &head[..space],
        _ => head,
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{head}…")
}

/// A parsed feed.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedFeed {
    /// The feed's own title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// Entries in document order.
    pub entries: Vec<ParsedEntry>,
    /// Entries left out because they carry no title, link or text a reader could use.
    pub skipped: usize,
    /// What had to be repaired before the feed parsed, if anything.
    pub repaired: Vec<String>,
    /// The feed's `<ttl>`: minutes it may be cached.
    pub ttl_minutes: Option<u32>,
}

/// One entry of a feed.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedEntry {
    /// Our stable key: `id:<guid>`, else `url:<canonical link>`, else `hash:<sha256>`.
    pub key: String,
    /// Headline as plain text.
    pub title: String,
    /// Canonical article URL (tracking parameters removed, resolved against the feed).
    pub url: Option<String>,
    /// Publication (else update) time.
    pub published: Option<DateTime<Utc>>,
    /// Author names, comma-joined.
    pub author: Option<String>,
    /// Full content HTML (`content:encoded`, Atom `content`), if any.
    pub content_html: Option<String>,
    /// Description or summary HTML, if any.
    pub summary_html: Option<String>,
}

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is an HTML page, not a feed.
    #[error("this is an HTML page, not a feed{}", .alternate.as_ref().map(|u| format!("; the page names its feed: {u} (use that URL in feeds.toml)")).unwrap_or_else(|| "; find the site's RSS or Atom URL".into()))]
    Html {
        /// The feed the page links with `<link rel="alternate">`, if any.
        alternate: Option<String>,
    },
    /// feed-rs rejected it even after repairs.
    #[error(
        "not a readable feed ({reason}); tried repairing encoding, stray characters and entities"
    )]
    Invalid {
        /// feed-rs's complaint about the original document.
        reason: String,
    },
}

/// Parses `body`, fetched from `feed_url`, into a feed.
///
/// The body is first decoded to UTF-8 (BOM, XML 1.0 appendix F autodetection, declared
/// encoding, else UTF-8 or Windows-1252), so feed-rs never switches encodings mid-stream.
/// If feed-rs rejects the document, or reads fewer entries than the document plainly
/// holds, the document is repaired and read again, then read by [`lenient`], which takes
/// any `<item>`/`<entry>` under any feed-like root and never fails on markup.
pub fn parse_feed(body: &[u8], feed_url: &Url) -> Result<ParsedFeed, ParseError> {
    let (text, mut notes) = normalize(body);
    // Every reading below (feed-rs, repaired, lenient) sees the bounded text.
    let (text, empty, over) =
        bound_entries(text).map_err(|reason| ParseError::Invalid { reason })?;
    if over > 0 {
        notes.push(format!(
            "read {MAX_ENTRIES} of {} entries (the first and last {}; the limit per feed)",
            MAX_ENTRIES + over,
            MAX_ENTRIES / 2
        ));
    }
    let mut feed = parse_text(text, feed_url, notes)?;
    feed.skipped += empty;
    Ok(feed)
}

/// [`parse_feed`] of normalized, bounded text.
fn parse_text(text: String, feed_url: &Url, notes: Vec<String>) -> Result<ParsedFeed, ParseError> {
    let visible = lenient::count_entries(&text);
    // Done when a reading has every entry the document holds and each is usable.
    let complete = |p: &ParsedFeed, read: usize| read >= visible && p.skipped == 0;
    let mut best: Option<ParsedFeed> = None;
    let first_reason = match try_parse(text.as_bytes(), feed_url) {
        Ok(feed) => {
            let read = feed.entries.len();
            let parsed = convert(from_feed_rs(feed), feed_url, notes.clone());
            if complete(&parsed, read) {
                return Ok(parsed);
            }
            let reason = format!(
                "feed-rs read {read} of {visible} entries, {} of them without title, link or text",
                parsed.skipped
            );
            best = Some(parsed);
            reason
        }
        Err(_) if looks_like_html(text.as_bytes()) => {
            return Err(ParseError::Html {
                alternate: find_alternate(text.as_bytes(), feed_url),
            });
        }
        Err(e) => e,
    };
    let (repaired, repairs) = repair(&text);
    let mut notes = notes;
    notes.extend(repairs.iter().cloned());
    if !repairs.is_empty()
        && let Ok(feed) = try_parse(repaired.as_bytes(), feed_url)
    {
        let read = feed.entries.len();
        let parsed = convert(from_feed_rs(feed), feed_url, notes.clone());
        if complete(&parsed, read) {
            return Ok(parsed);
        }
        if better(&parsed, best.as_ref()) {
            best = Some(parsed);
        }
    }
    // The strict readings miss entries (or failed): the lenient one, if it does better.
    if let Some(loose) = lenient::parse(&repaired) {
        notes.push(format!("read leniently ({first_reason})"));
        let parsed = convert(loose, feed_url, notes);
        if better(&parsed, best.as_ref()) {
            best = Some(parsed);
        }
    }
    best.ok_or(ParseError::Invalid {
        reason: first_reason,
    })
}

/// Most entries read from one feed. Real feeds carry tens, a few hundred at most (a long
/// podcast, a full archive); a document holding more is bloated or hostile, and feed-rs
/// spends about a kilobyte of model on even an empty entry.
pub const MAX_ENTRIES: usize = 1000;

/// The document with its empty entries (`<item></item>`, `{}`) removed and at most
/// [`MAX_ENTRIES`] kept, before any parser builds a model of it: the first half and the
/// last half of the limit, so the newest entries are kept whichever end a feed starts
/// with. Returns the text, how many empty entries were removed and how many entries
/// past the limit were left out. Linear time; the memory is one copy of the text.
fn bound_entries(text: String) -> Result<(String, usize, usize), String> {
    if text.trim_start().starts_with('{') {
        return json_bound::bound(&text);
    }
    let spans = lenient::entry_spans(&text);
    let empty = spans.iter().filter(|s| s.empty).count();
    let full = spans.len() - empty;
    if empty == 0 && full <= MAX_ENTRIES {
        return Ok((text, 0, 0));
    }
    let (front, back) = (MAX_ENTRIES / 2, MAX_ENTRIES - MAX_ENTRIES / 2);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut nth = 0;
    for span in &spans {
        let keep = !span.empty && {
            nth += 1;
            nth <= front || nth > full.saturating_sub(back)
        };
        if !keep {
            out.push_str(&text[copied..span.range.start]);
            copied = span.range.end;
        }
    }
    out.push_str(&text[copied..]);
    Ok((out, empty, full.saturating_sub(MAX_ENTRIES)))
}

/// JSON Feed read within bounds: the `items` array is read one item at a time, empty items
/// dropped and only [`MAX_ENTRIES`] kept, and every value is a budget of nodes (deeper or
/// longer arrays and objects are cut), so `[{},{},…]` or `[[[[…` never becomes a model
/// many times the size of the body. The kept document is written out again for feed-rs.
mod json_bound {
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    use super::MAX_ENTRIES;

    /// Nodes (values) one item may hold; an item has tens, a rich one a few hundred.
    const ITEM_NODES: usize = 4096;
    /// Nodes all the other top-level members together may hold.
    const FEED_NODES: usize = 4096;

    /// Fields that give an entry something a reader can use.
    const USABLE: &[&str] = &[
        "title",
        "url",
        "external_url",
        "content_html",
        "content_text",
        "summary",
    ];

    /// See the module: the bounded document, empty items dropped, items past the limit.
    pub(super) fn bound(text: &str) -> Result<(String, usize, usize), String> {
        let mut items = Items::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let members = Top { items: &mut items }
            .deserialize(&mut de)
            .and_then(|m| de.end().map(|()| m))
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let Some(mut members) = members else {
            // Not an object: feed-rs and the lenient reader refuse it as it is.
            return Ok((text.to_string(), 0, 0));
        };
        if items.seen {
            let kept = items.front.into_iter().chain(items.back).collect();
            members.insert("items".into(), Value::Array(kept));
        }
        let out = serde_json::to_string(&Value::Object(members))
            .map_err(|e| format!("writing the bounded feed: {e}"))?;
        Ok((out, items.empty, items.over))
    }

    /// The items read so far.
    #[derive(Default)]
    struct Items {
        seen: bool,
        front: Vec<Value>,
        back: VecDeque<Value>,
        empty: usize,
        over: usize,
    }

    impl Items {
        fn push(&mut self, item: Value) {
            let usable = item.as_object().is_some_and(|o| {
                USABLE
                    .iter()
                    .any(|k| o.get(*k).is_some_and(|v| !v.is_null()))
            });
            if !usable {
                self.empty += 1;
            } else if self.front.len() < MAX_ENTRIES / 2 {
                self.front.push(item);
            } else {
                // The last half of the limit: the oldest of them makes way.
                if self.back.len() == MAX_ENTRIES - MAX_ENTRIES / 2 {
                    self.back.pop_front();
                    self.over += 1;
                }
                self.back.push_back(item);
            }
        }
    }

    /// The top-level object: `items` read item by item, other members within a budget.
    /// `None` when the document is not an object.
    struct Top<'a> {
        items: &'a mut Items,
    }

    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = Option<Map<String, Value>>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = Option<Map<String, Value>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON Feed object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let budget = Cell::new(FEED_NODES);
            let mut members = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if key == "items" && !self.items.seen {
                    self.items.seen = true;
                    map.next_value_seed(ItemSeq {
                        items: &mut *self.items,
                    })?;
                } else {
                    let v = map.next_value_seed(Bounded(&budget))?;
                    members.insert(key, v);
                }
            }
            Ok(Some(members))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    /// The `items` array, one item at a time into [`Items`]; anything but an array is
    /// read as no items.
    struct ItemSeq<'a> {
        items: &'a mut Items,
    }

    impl<'de> DeserializeSeed<'de> for ItemSeq<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for ItemSeq<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of items")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            loop {
                let budget = Cell::new(ITEM_NODES);
                match seq.next_element_seed(Bounded(&budget))? {
                    Some(item) => self.items.push(item),
                    None => return Ok(()),
                }
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(())
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    }

    /// A JSON value of at most as many nodes as the budget holds; past it, array elements
    /// and object members are read and dropped.
    struct Bounded<'b>(&'b Cell<usize>);

    impl Bounded<'_> {
        /// Takes one node from the budget; false when none is left.
        fn take(&self) -> bool {
            let left = self.0.get();
            self.0.set(left.saturating_sub(1));
            left > 0
        }
    }

    impl<'de> DeserializeSeed<'de> for Bounded<'_> {
        type Value = Value;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Bounded<'_> {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while self.take() {
                match seq.next_element_seed(Bounded(self.0))? {
                    Some(v) => out.push(v),
                    None => return Ok(Value::Array(out)),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Value::Array(out))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while self.take() {
                match map.next_key::<String>()? {
                    Some(k) => {
                        let v = map.next_value_seed(Bounded(self.0))?;
                        out.insert(k, v);
                    }
                    None => return Ok(Value::Object(out)),
                }
            }
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Value::Object(out))
        }
    }
}

/// Whether `a` gives a reader more than `b`: more usable entries, else more entries read
/// (a tie keeps `b`, the stricter reading).
fn better(a: &ParsedFeed, b: Option<&ParsedFeed>) -> bool {
    let rank = |p: &ParsedFeed| (p.entries.len(), p.entries.len() + p.skipped);
    b.is_none_or(|b| rank(a) > rank(b))
}

fn try_parse(body: &[u8], feed_url: &Url) -> Result<feed_rs::model::Feed, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    parser.parse(body).map_err(|e| e.to_string())
}

/// A feed as either reader saw it, before it becomes a [`ParsedFeed`].
#[derive(Debug, Default)]
struct RawFeed {
    title: Option<String>,
    ttl: Option<u32>,
    links: Vec<RawLink>,
    entries: Vec<RawEntry>,
}

/// A link with its `rel`, unresolved.
#[derive(Debug)]
struct RawLink {
    rel: Option<String>,
    href: String,
}

/// One entry as either reader saw it: HTML or text, unresolved links.
#[derive(Debug, Default)]
struct RawEntry {
    id: Option<String>,
    title: Option<String>,
    links: Vec<RawLink>,
    content: Option<String>,
    summary: Option<String>,
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    authors: Vec<String>,
}

fn from_feed_rs(feed: feed_rs::model::Feed) -> RawFeed {
    let links = |links: Vec<feed_rs::model::Link>| {
        links
            .into_iter()
            .map(|l| RawLink {
                rel: l.rel,
                href: l.href,
            })
            .collect()
    };
    RawFeed {
        title: feed.title.map(|t| t.content),
        ttl: feed.ttl,
        links: links(feed.links),
        entries: feed
            .entries
            .into_iter()
            .map(|e| RawEntry {
                id: (e.id != NO_ID).then_some(e.id),
                title: e.title.map(|t| t.content),
                links: links(e.links),
                content: e.content.and_then(|c| c.body),
                summary: e.summary.map(|s| s.content),
                published: e.published,
                updated: e.updated,
                authors: e.authors.into_iter().filter_map(|a| a.name).collect(),
            })
            .collect(),
    }
}

fn convert(feed: RawFeed, feed_url: &Url, repaired: Vec<String>) -> ParsedFeed {
    let site_url = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| feed_url.join(l.href.trim()).ok())
        .map(|u| u.to_string())
        .filter(|u| u.len() <= MAX_URL_BYTES);
    let total = feed.entries.len();
    let entries: Vec<ParsedEntry> = feed
        .entries
        .into_iter()
        .filter_map(|e| convert_entry(e, feed_url))
        .collect();
    ParsedFeed {
        title: feed
            .title
            .map(|t| clip(&text_of(&t), MAX_FEED_TITLE_CHARS))
            .filter(|t| !t.is_empty()),
        site_url,
        skipped: total - entries.len(),
        entries,
        repaired,
        ttl_minutes: feed.ttl,
    }
}

fn convert_entry(e: RawEntry, feed_url: &Url) -> Option<ParsedEntry> {
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| feed_url.join(l.href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_url(&u))
        .filter(|u| u.as_str().len() <= MAX_URL_BYTES);
    let title = e.title.as_deref().map(text_of).unwrap_or_default();
    let content_html = e.content.filter(|b| !b.trim().is_empty());
    let summary_html = e.summary.filter(|b| !b.trim().is_empty());
    // An entry with neither a title nor a link nor text is nothing a reader can use.
    if title.is_empty() && link.is_none() && content_html.is_none() && summary_html.is_none() {
        return None;
    }
    let published = e.published.or(e.updated);
    let title = if title.is_empty() {
        untitled(content_html.as_deref().or(summary_html.as_deref()))
    } else {
        title
    };
    let title = clip(&title, MAX_TITLE_CHARS);
    let id = e.id.as_deref().map(str::trim).filter(|id| !id.is_empty());
    let key = if let Some(id) = id {
        if id.len() <= MAX_ID_BYTES {
            format!("id:{id}")
        } else {
            format!(
                "id:sha256:{}",
                hex16(Sha256::digest(id.as_bytes()).as_slice())
            )
        }
    } else if let Some(link) = &link {
        format!("url:{link}")
    } else {
        let mut h = Sha256::new();
        h.update(title.as_bytes());
        h.update(b"\n");
        h.update(
            published
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
                .as_bytes(),
        );
        format!("hash:{}", hex16(h.finalize().as_slice()))
    };
    let author = e
        .authors
        .iter()
        .map(|a| a.trim())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let author = clip(&author, MAX_AUTHOR_CHARS);
    Some(ParsedEntry {
        key,
        title,
        url: link.map(|u| u.to_string()),
        published,
        author: (!author.is_empty()).then_some(author),
        content_html,
        summary_html,
    })
}

/// The first 16 bytes of a digest in hex.
fn hex16(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A stand-in headline for entries without one: the start of their text.
fn untitled(html: Option<&str>) -> String {
    let text = html.map(text_of).unwrap_or_default();
    let mut words: Vec<&str> = text.split_whitespace().take(10).collect();
    if words.is_empty() {
        return "(untitled)".to_string();
    }
    if text.split_whitespace().count() > 10 {
        words.push("…");
    }
    words.join(" ")
}

/// Plain text of a title or other short HTML-ish string: tags dropped, entities decoded,
/// whitespace collapsed.
pub fn text_of(s: &str) -> String {
    let s = s.trim();
    let decoded: Cow<'_, str> = if s.contains('<') || s.contains('&') {
        let frag = crate::article::parse_fragment(s);
        Cow::Owned(frag.root_element().text().collect::<String>())
    } else {
        Cow::Borrowed(s)
    };
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL with tracking parameters and the fragment removed.
pub fn canonical_url(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    u
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let start = head.trim_start_matches('\u{feff}').trim_start();
    (start.starts_with("<!doctype html") || start.starts_with("<html") || head.contains("<html"))
        && !head.contains("<rss")
        && !head.contains("<feed")
        && !head.contains("<rdf:rdf")
}

/// The feed URL an HTML page announces with `<link rel="alternate" type="application/rss+xml">`.
pub fn find_alternate(body: &[u8], page_url: &Url) -> Option<String> {
    let html = String::from_utf8_lossy(body);
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("link[rel~=alternate][href]").ok()?;
    doc.select(&sel)
        .find(|l| {
            let t = l.value().attr("type").unwrap_or("").to_ascii_lowercase();
            t.contains("rss") || t.contains("atom") || t.contains("feed+json")
        })
        .and_then(|l| page_url.join(l.value().attr("href")?).ok())
        .map(|u| u.to_string())
}

/// Decodes `body` to UTF-8 text that feed-rs can read without switching encodings: no BOM,
/// every XML declaration saying UTF-8 (quick-xml panics when a declaration names another
/// encoding once its look-ahead buffer is spent), no control characters XML forbids.
/// Returns the text and what was done that a reader of the report should know.
fn normalize(body: &[u8]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let (text, note) = decode(body);
    notes.extend(note);
    let mut text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let before = text.len();
    text.retain(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
    if text.len() != before {
        notes.push("removed control characters".into());
    }
    (utf8_declarations(&text), notes)
}

/// Every `<?xml …?>` declaration rewritten to name UTF-8: the first as the document's
/// declaration, any later one (junk, concatenated documents) made an inert processing
/// instruction. Replaced, not deleted: deleting `<?xml version…?>` out of
/// `<?xml<?xml version…?> encoding="utf-16"?>` would join a new declaration.
fn utf8_declarations(text: &str) -> String {
    const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    const INERT: &str = "<?removed-declaration?>";
    let mut out = String::with_capacity(text.len() + DECL.len());
    let mut rest = text;
    while let Some(pos) = rest.find("<?xml") {
        let after = &rest[pos + 5..];
        // `<?xml-stylesheet …?>` is a processing instruction, not a declaration.
        let is_decl = after.starts_with(|c: char| c.is_ascii_whitespace() || c == '?');
        match after.find("?>") {
            Some(end) if is_decl => {
                out.push_str(&rest[..pos]);
                if out.trim().is_empty() {
                    out.clear();
                    out.push_str(DECL);
                } else {
                    out.push_str(INERT);
                }
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..pos + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Repairs the usual breakage of real-world feeds in normalized text; returns the repaired
/// text and what was done.
fn repair(text: &str) -> (String, Vec<String>) {
    let mut repairs = Vec::new();
    // JSON has its own escaping; these repairs are for XML.
    if text.trim_start().starts_with('{') {
        return (text.to_string(), repairs);
    }
    let mut text = text;
    // Junk before the root element (a PHP warning, blank lines).
    if let Some(start) = text.find('<')
        && !text[..start].trim().is_empty()
    {
        text = &text[start..];
        repairs.push("removed text before the root element".into());
    }
    let (fixed, amps, entities) = fix_ampersands(text);
    if amps > 0 {
        repairs.push(format!("escaped {amps} bare '&'"));
    }
    if entities > 0 {
        repairs.push(format!(
            "replaced {entities} HTML entities XML does not know"
        ));
    }
    (fixed, repairs)
}

/// Decodes bytes to text: BOM first, then the byte pattern of `<?` (XML 1.0 appendix F),
/// then a declared encoding that actually fits, then UTF-8, then Windows-1252 (what
/// "ISO-8859-1" and unlabelled Western pages really are).
fn decode(body: &[u8]) -> (String, Option<String>) {
    // UTF-32 first: its little-endian BOM starts like UTF-16's.
    if let Some(rest) = body.strip_prefix(&[0, 0, 0xfe, 0xff]) {
        return (utf32(rest, u32::from_be_bytes), None);
    }
    if let Some(rest) = body.strip_prefix(&[0xff, 0xfe, 0, 0]) {
        return (utf32(rest, u32::from_le_bytes), None);
    }
    if body.starts_with(&[0, 0, 0, b'<']) {
        return (utf32(body, u32::from_be_bytes), None);
    }
    if body.starts_with(&[b'<', 0, 0, 0]) {
        return (utf32(body, u32::from_le_bytes), None);
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text.into_owned(), None);
    }
    match body {
        [0, b'<', 0, _, ..] => {
            let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(body);
            return (text.into_owned(), None);
        }
        [b'<', 0, _, 0, ..] => {
            let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(body);
            return (text.into_owned(), None);
        }
        _ => {}
    }
    let declared = declared_encoding(body);
    if let Some(enc) = declared
        && enc != encoding_rs::UTF_8
    {
        let (text, had_errors) = enc.decode_without_bom_handling(body);
        if !had_errors {
            return (text.into_owned(), None);
        }
    }
    match std::str::from_utf8(body) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(body);
            let label = declared.map_or("no encoding", |e| e.name());
            (
                text.into_owned(),
                Some(format!(
                    "decoded as Windows-1252 (declared {label}, but the bytes are not valid)"
                )),
            )
        }
    }
}

/// UTF-32 in either byte order (encoding_rs has no decoder for it); bad code points and a
/// ragged end become U+FFFD.
fn utf32(bytes: &[u8], word: fn([u8; 4]) -> u32) -> String {
    let mut out: String = bytes
        .chunks_exact(4)
        .map(|c| {
            let w = word([c[0], c[1], c[2], c[3]]);
            char::from_u32(w).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    if !bytes.len().is_multiple_of(4) {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

/// The encoding the XML declaration names, if it is one we can read a declaration in:
/// a declaration readable as ASCII cannot be in UTF-16, whatever it says.
fn declared_encoding(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &body[..body.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let decl_end = head.find("?>")?;
    let decl = &head[..decl_end];
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let label = rest[1..].split(quote).next()?;
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).filter(|e| e.is_ascii_compatible())
}

/// Escapes `&` that do not start a reference, and rewrites HTML-only named entities
/// (`&nbsp;`, `&mdash;` …) as numeric references XML accepts.
fn fix_ampersands(text: &str) -> (String, usize, usize) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut bare = 0;
    let mut entities = 0;
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(after.len());
        let terminated = after[name_len..].starts_with(';');
        let name = &after[..name_len];
        if terminated && !name.is_empty() {
            if let Some(num) = name.strip_prefix('#') {
                let valid = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).is_ok(),
                    None => num.parse::<u32>().is_ok(),
                };
                if valid {
                    out.push('&');
                } else {
                    out.push_str("&amp;");
                    bare += 1;
                }
            } else if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
                out.push('&');
            } else if let Some(cp) = html_entity(name) {
                out.push_str(&format!("&#{cp};"));
                rest = &after[name_len + 1..];
                entities += 1;
                continue;
            } else {
                out.push_str("&amp;");
                bare += 1;
            }
        } else {
            out.push_str("&amp;");
            bare += 1;
        }
        rest = after;
    }
    out.push_str(rest);
    (out, bare, entities)
}

/// Code points of the HTML entities real feeds use where XML has none.
fn html_entity(name: &str) -> Option<u32> {
    Some(match name {
        "nbsp" => 160,
        "iexcl" => 161,
        "cent" => 162,
        "pound" => 163,
        "yen" => 165,
        "sect" => 167,
        "copy" => 169,
        "laquo" => 171,
        "reg" => 174,
        "deg" => 176,
        "plusmn" => 177,
        "para" => 182,
        "middot" => 183,
        "raquo" => 187,
        "frac12" => 189,
        "iquest" => 191,
        "Agrave" => 192,
        "Aacute" => 193,
        "Auml" => 196,
        "Ccedil" => 199,
        "Eacute" => 201,
        "Ntilde" => 209,
        "Ouml" => 214,
        "times" => 215,
        "Uuml" => 220,
        "szlig" => 223,
        "agrave" => 224,
        "aacute" => 225,
        "acirc" => 226,
        "auml" => 228,
        "ccedil" => 231,
        "egrave" => 232,
        "eacute" => 233,
        "ecirc" => 234,
        "euml" => 235,
        "iacute" => 237,
        "ntilde" => 241,
        "oacute" => 243,
        "ouml" => 246,
        "divide" => 247,
        "uacute" => 250,
        "uuml" => 252,
        "ndash" => 8211,
        "mdash" => 8212,
        "lsquo" => 8216,
        "rsquo" => 8217,
        "sbquo" => 8218,
        "ldquo" => 8220,
        "rdquo" => 8221,
        "bdquo" => 8222,
        "dagger" => 8224,
        "bull" => 8226,
        "hellip" => 8230,
        "prime" => 8242,
        "lsaquo" => 8249,
        "rsaquo" => 8250,
        "euro" => 8364,
        "trade" => 8482,
        "larr" => 8592,
        "rarr" => 8594,
        "ensp" => 8194,
        "emsp" => 8195,
        "thinsp" => 8201,
        "zwnj" => 8204,
        "zwj" => 8205,
        _ => return None,
    })
}

/// A forgiving reader for what feed-rs refuses: any `<item>`/`<entry>` under the first
/// `rss`, `feed`, `RDF` or `channel` element (RSS of any version or namespace, Atom 0.3,
/// CDF), whatever the namespaces, unknown content types or unclosed tags.
///
/// Linear in the input: each byte is scanned a bounded number of times, nesting deeper
/// than [`MAX_DEPTH`] is flattened, and the tree is an arena (no recursive drop).
mod lenient {
    use std::collections::HashMap;

    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    use super::{RawEntry, RawFeed, RawLink, html_entity};

    /// Deepest nesting kept; deeper start tags are read as if they closed at once.
    const MAX_DEPTH: usize = 256;

    /// A piece of markup.
    enum Token<'a> {
        Start {
            name: &'a str,
            attrs: &'a str,
            empty: bool,
        },
        End {
            name: &'a str,
        },
        /// Character data with entities still escaped.
        Text(&'a str),
        /// A CDATA section's content, taken literally.
        CData(&'a str),
    }

    /// Markup tokens of a text, skipping comments, processing instructions and doctypes.
    struct Tokens<'a> {
        s: &'a str,
        pos: usize,
        /// Where the token last returned starts.
        start: usize,
        /// Quote characters known not to occur after `pos` (so a tag with a stray quote does
        /// not rescan the rest of the document each time).
        no_dquote: bool,
        no_squote: bool,
    }

    impl<'a> Tokens<'a> {
        fn new(s: &'a str) -> Self {
            Tokens {
                s,
                pos: 0,
                start: 0,
                no_dquote: false,
                no_squote: false,
            }
        }

        /// Skips to just after `close`, or to the end when it never comes.
        fn skip_past(&mut self, close: &str) {
            self.pos = match self.s[self.pos..].find(close) {
                Some(i) => self.pos + i + close.len(),
                None => self.s.len(),
            };
        }

        /// The end of the tag starting at `from` (index of its `>`), honouring quoted values.
        fn tag_end(&mut self, from: usize) -> Option<usize> {
            let bytes = self.s.as_bytes();
            let mut i = from;
            while i < bytes.len() {
                match bytes[i] {
                    b'>' => return Some(i),
                    // A tag never holds another `<` outside quotes: this one was never closed.
                    b'<' => return None,
                    q @ (b'"' | b'\'') => {
                        let known_missing = if q == b'"' {
                            self.no_dquote
                        } else {
                            self.no_squote
                        };
                        let close = if known_missing {
                            None
                        } else {
                            self.s[i + 1..].find(q as char)
                        };
                        match close {
                            Some(c) => i += c + 2,
                            None => {
                                if q == b'"' {
                                    self.no_dquote = true;
                                } else {
                                    self.no_squote = true;
                                }
                                i += 1;
                            }
                        }
                    }
                    _ => i += 1,
                }
            }
            None
        }
    }

    impl<'a> Iterator for Tokens<'a> {
        type Item = Token<'a>;

        fn next(&mut self) -> Option<Token<'a>> {
            loop {
                self.start = self.pos;
                let rest = &self.s[self.pos..];
                if rest.is_empty() {
                    return None;
                }
                if !rest.starts_with('<') {
                    let end = rest.find('<').unwrap_or(rest.len());
                    self.pos += end;
                    return Some(Token::Text(&rest[..end]));
                }
                if rest.starts_with("<!--") {
                    self.pos += 4;
                    self.skip_past("-->");
                    continue;
                }
                if let Some(body) = rest.strip_prefix("<![CDATA[") {
                    let end = body.find("]]>").unwrap_or(body.len());
                    self.pos += 9 + end + 3.min(body.len() - end);
                    return Some(Token::CData(&body[..end]));
                }
                if rest.starts_with("<!") {
                    // A doctype may carry an internal subset in brackets.
                    let gt = rest.find('>').unwrap_or(rest.len());
                    if rest[..gt].contains('[') {
                        self.skip_past("]>");
                    } else {
                        self.pos += (gt + 1).min(rest.len());
                    }
                    continue;
                }
                if rest.starts_with("<?") {
                    self.skip_past("?>");
                    continue;
                }
                let (closing, name_from) = match rest.strip_prefix("</") {
                    Some(_) => (true, 2),
                    None => (false, 1),
                };
                let name_len = rest[name_from..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '<'))
                    .unwrap_or(rest.len() - name_from);
                let starts_name = rest[name_from..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':');
                let start = self.pos;
                let end = if starts_name && name_len > 0 {
                    self.tag_end(start + name_from + name_len)
                } else {
                    None
                };
                let Some(end) = end else {
                    // A `<` that opens no tag is text.
                    self.pos += 1;
                    return Some(Token::Text("<"));
                };
                self.pos = end + 1;
                let name = &rest[name_from..name_from + name_len];
                if closing {
                    return Some(Token::End { name });
                }
                let inner = &self.s[start + name_from + name_len..end];
                let empty = inner.ends_with('/');
                return Some(Token::Start {
                    name,
                    attrs: inner.strip_suffix('/').unwrap_or(inner),
                    empty,
                });
            }
        }
    }

    /// The local part of a qualified name, lowercased.
    fn local(name: &str) -> String {
        name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase()
    }

    /// How many `<item>` and `<entry>` elements the text holds.
    pub(super) fn count_entries(text: &str) -> usize {
        Tokens::new(text)
            .filter(|t| {
                matches!(t, Token::Start { name, .. } if matches!(local(name).as_str(), "item" | "entry"))
            })
            .count()
    }

    /// One outermost `<item>` or `<entry>` element of a text.
    pub(super) struct Span {
        /// Byte range of the element, start tag to end tag.
        pub(super) range: std::ops::Range<usize>,
        /// Whether it holds nothing: no attribute, child element or text.
        pub(super) empty: bool,
    }

    /// The outermost `<item>`/`<entry>` elements of `text`, in order, in one linear scan
    /// that builds nothing. An element still open at the end runs to the end of the text.
    pub(super) fn entry_spans(text: &str) -> Vec<Span> {
        let is_entry = |name: &str| matches!(local(name).as_str(), "item" | "entry");
        let mut spans = Vec::new();
        let mut tokens = Tokens::new(text);
        // The open entry: where it starts, how many entry elements deep, and whether it
        // has shown anything yet.
        let mut open: Option<(usize, usize, bool)> = None;
        while let Some(token) = tokens.next() {
            let at = tokens.start;
            match (token, &mut open) {
                (Token::Start { name, attrs, empty }, None) if is_entry(name) => {
                    let bare = attrs.trim().is_empty();
                    if empty {
                        spans.push(Span {
                            range: at..tokens.pos,
                            empty: bare,
                        });
                    } else {
                        open = Some((at, 1, bare));
                    }
                }
                (token, Some((start, depth, bare))) => {
                    match token {
                        Token::Start { name, empty, .. } => {
                            *bare = false;
                            if is_entry(name) && !empty {
                                *depth += 1;
                            }
                        }
                        Token::End { name } if is_entry(name) => *depth -= 1,
                        Token::End { .. } => {}
                        Token::Text(t) | Token::CData(t) => *bare &= t.trim().is_empty(),
                    }
                    if *depth == 0 {
                        spans.push(Span {
                            range: *start..tokens.pos,
                            empty: *bare,
                        });
                        open = None;
                    }
                }
                _ => {}
            }
        }
        if let Some((start, _, _)) = open {
            spans.push(Span {
                range: start..text.len(),
                empty: false,
            });
        }
        spans
    }

    /// Attribute pairs of a start tag, values unescaped; unquoted and bare names accepted.
    fn attributes(s: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = s.trim_start();
        while !rest.is_empty() {
            let name_len = rest
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(rest.len());
            let name = &rest[..name_len];
            rest = rest[name_len..].trim_start();
            let value = if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim_start();
                match v.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let end = v[1..].find(q).map_or(v.len(), |e| e + 1);
                        rest = v.get(end + 1..).unwrap_or("");
                        &v[1..end]
                    }
                    _ => {
                        let end = v.find(char::is_whitespace).unwrap_or(v.len());
                        rest = &v[end..];
                        &v[..end]
                    }
                }
            } else {
                ""
            };
            if !name.is_empty() {
                out.push((name.to_string(), unescape(value)));
            }
            rest = rest.trim_start();
            if name.is_empty() {
                // A stray `=`: skip it so the loop advances.
                rest = rest.get(1..).unwrap_or("");
            }
        }
        out
    }

    /// Text with XML, numeric and HTML entity references decoded; anything else left as is.
    pub(super) fn unescape(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('&') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let semi = after
                .char_indices()
                .take(32)
                .find(|&(_, c)| c == ';')
                .map(|(i, _)| i);
            let decoded = semi.and_then(|semi| {
                let name = &after[..semi];
                let c = if let Some(num) = name.strip_prefix('#') {
                    match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    }
                    .and_then(char::from_u32)
                } else {
                    match name {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => html_entity(name).and_then(char::from_u32),
                    }
                };
                c.map(|c| (c, semi))
            });
            match decoded {
                Some((c, semi)) => {
                    out.push(c);
                    rest = &after[semi + 1..];
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A child of an element.
    enum Node {
        Element(usize),
        Text(String),
    }

    /// An element of the arena.
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Node>,
    }

    /// The document as a tree: `elements[0]` is the document itself.
    struct Doc {
        elements: Vec<Element>,
        /// Elements still open when the text ended: the document was cut short there.
        cut_off: Vec<usize>,
    }

    impl Doc {
        fn build(text: &str) -> Doc {
            let mut elements = vec![Element {
                name: String::new(),
                attrs: Vec::new(),
                children: Vec::new(),
            }];
            let mut stack = vec![0usize];
            // How many elements of each (lowercased) name are open, so an end tag that
            // matches nothing open costs nothing rather than a walk down the stack.
            let mut open: HashMap<String, usize> = HashMap::new();
            for token in Tokens::new(text) {
                let parent = *stack.last().unwrap_or(&0);
                match token {
                    Token::Start { name, attrs, empty } => {
                        let id = elements.len();
                        elements.push(Element {
                            name: name.to_string(),
                            attrs: attributes(attrs),
                            children: Vec::new(),
                        });
                        elements[parent].children.push(Node::Element(id));
                        if !empty && stack.len() <= MAX_DEPTH {
                            stack.push(id);
                            *open.entry(name.to_ascii_lowercase()).or_default() += 1;
                        }
                    }
                    Token::End { name } => {
                        // Close the nearest open element of that name, and any left open
                        // inside it; an end tag matching nothing open is ignored.
                        let key = name.to_ascii_lowercase();
                        if open.get(&key).is_some_and(|&n| n > 0) {
                            while stack.len() > 1 {
                                let e = stack.pop().unwrap_or(0);
                                let closed = elements[e].name.to_ascii_lowercase();
                                if let Some(n) = open.get_mut(&closed) {
                                    *n = n.saturating_sub(1);
                                }
                                if closed == key {
                                    break;
                                }
                            }
                        }
                    }
                    Token::Text(t) => push_text(&mut elements[parent], unescape(t)),
                    Token::CData(t) => push_text(&mut elements[parent], t.to_string()),
                }
            }
            Doc {
                elements,
                cut_off: stack,
            }
        }

        fn local(&self, e: usize) -> String {
            local(&self.elements[e].name)
        }

        fn attr(&self, e: usize, name: &str) -> Option<&str> {
            self.elements[e]
                .attrs
                .iter()
                .find(|(k, _)| local(k) == name)
                .map(|(_, v)| v.as_str())
        }

        fn children(&self, e: usize) -> impl Iterator<Item = usize> + '_ {
            self.elements[e].children.iter().filter_map(|n| match n {
                Node::Element(c) => Some(*c),
                Node::Text(_) => None,
            })
        }

        fn child(&self, e: usize, name: &str) -> Option<usize> {
            self.children(e).find(|&c| self.local(c) == name)
        }

        /// All text below `e`, in order.
        fn text(&self, e: usize) -> String {
            let mut out = String::new();
            self.collect_text(e, &mut out);
            out.trim().to_string()
        }

        fn collect_text(&self, e: usize, out: &mut String) {
            for n in &self.elements[e].children {
                match n {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(c) => self.collect_text(*c, out),
                }
            }
        }

        /// The content of `e` as HTML: its text when it holds only text (escaped HTML,
        /// CDATA), else its children serialized (inline XHTML, unescaped markup).
        fn html(&self, e: usize) -> String {
            if self.children(e).next().is_none() {
                return self.text(e);
            }
            let mut out = String::new();
            for n in &self.elements[e].children {
                self.serialize(n, &mut out);
            }
            out.trim().to_string()
        }

        fn serialize(&self, n: &Node, out: &mut String) {
            match n {
                Node::Text(t) => {
                    for c in t.chars() {
                        match c {
                            '<' => out.push_str("&lt;"),
                            '>' => out.push_str("&gt;"),
                            '&' => out.push_str("&amp;"),
                            c => out.push(c),
                        }
                    }
                }
                Node::Element(e) => {
                    let el = &self.elements[*e];
                    let name = el.name.rsplit(':').next().unwrap_or(&el.name);
                    out.push('<');
                    out.push_str(name);
                    for (k, v) in &el.attrs {
                        if k.starts_with("xmlns") {
                            continue;
                        }
                        out.push(' ');
                        out.push_str(k);
                        out.push_str("=\"");
                        out.push_str(&v.replace('&', "&amp;").replace('"', "&quot;"));
                        out.push('"');
                    }
                    out.push('>');
                    for c in &el.children {
                        self.serialize(c, out);
                    }
                    out.push_str("</");
                    out.push_str(name);
                    out.push('>');
                }
            }
        }

        /// The first element, in document order, whose local name is one of `names`.
        fn find(&self, names: &[&str]) -> Option<usize> {
            (1..self.elements.len()).find(|&e| names.contains(&self.local(e).as_str()))
        }

        /// The outermost `item`/`entry` elements below `root`, in document order.
        fn entries(&self, root: usize) -> Vec<usize> {
            let mut out = Vec::new();
            let mut stack = vec![root];
            while let Some(e) = stack.pop() {
                let kids: Vec<usize> = self.children(e).collect();
                for &c in kids.iter().rev() {
                    if matches!(self.local(c).as_str(), "item" | "entry") {
                        out.push(c);
                    } else {
                        stack.push(c);
                    }
                }
            }
            // The stack visits later siblings' subtrees first; element ids are in document order.
            out.sort_unstable();
            out
        }

        fn link(&self, e: usize) -> Option<RawLink> {
            let rel = self.attr(e, "rel").map(str::to_string);
            let href = match self.attr(e, "href") {
                Some(h) => h.to_string(),
                None => self.text(e),
            };
            (!href.trim().is_empty()).then_some(RawLink { rel, href })
        }

        fn entry(&self, e: usize) -> RawEntry {
            let mut entry = RawEntry::default();
            // CDF puts the link and date on the item itself.
            if let Some(href) = self.attr(e, "href") {
                entry.links.push(RawLink {
                    rel: None,
                    href: href.to_string(),
                });
            }
            entry.updated = self.attr(e, "lastmod").and_then(parse_date);
            let mut permalink = None;
            for c in self.children(e) {
                match self.local(c).as_str() {
                    "title" if entry.title.is_none() => entry.title = Some(self.text(c)),
                    "link" => entry.links.extend(self.link(c)),
                    "guid" | "id" if entry.id.is_none() => {
                        let id = self.text(c);
                        if self.attr(c, "ispermalink") != Some("false")
                            && (id.starts_with("http://") || id.starts_with("https://"))
                        {
                            permalink = Some(id.clone());
                        }
                        entry.id = Some(id);
                    }
                    // `xhtml:body` and `fullitem` are how some early feeds carried full
                    // content; feedparser reads both.
                    "encoded" | "content" | "body" | "fullitem"
                        if self.attr(c, "src").is_none() =>
                    {
                        entry.content = Some(self.html(c));
                    }
                    "description" | "summary" | "abstract" if entry.summary.is_none() => {
                        entry.summary = Some(self.html(c));
                    }
                    "pubdate" | "published" | "issued" | "date" | "created" => {
                        entry.published = entry.published.or(parse_date(&self.text(c)));
                    }
                    "updated" | "modified" | "lastbuilddate" => {
                        entry.updated = entry.updated.or(parse_date(&self.text(c)));
                    }
                    "author" | "creator" => {
                        let name = match self.child(c, "name") {
                            Some(n) => self.text(n),
                            None => self.text(c),
                        };
                        entry.authors.push(name);
                    }
                    _ => {}
                }
            }
            // An RSS guid that is a permalink is the article's link when no link is given.
            if entry.links.is_empty()
                && let Some(href) = permalink
            {
                entry.links.push(RawLink { rel: None, href });
            }
            entry
        }
    }

    fn push_text(parent: &mut Element, text: String) {
        match parent.children.last_mut() {
            Some(Node::Text(t)) => t.push_str(&text),
            _ => parent.children.push(Node::Text(text)),
        }
    }

    /// Dates as feeds write them: RFC 822/2822, RFC 3339, and W3C-DTF without a zone or time.
    pub(super) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
        let s = s.trim();
        if let Ok(d) = DateTime::parse_from_rfc2822(s) {
            return Some(d.with_timezone(&Utc));
        }
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Some(d.with_timezone(&Utc));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(d.and_utc());
            }
        }
        NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }

    /// A JSON Feed read without insisting on its version URL (`"version": "1.1"` is common)
    /// or on fields the spec requires: any object with an `items` array.
    fn parse_json(text: &str) -> Option<RawFeed> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let items = v.get("items")?.as_array()?;
        let s =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let entries = items
            .iter()
            .map(|item| {
                let mut authors: Vec<String> = item
                    .get("authors")
                    .and_then(|a| a.as_array())
                    .into_iter()
                    .flatten()
                    .chain(item.get("author"))
                    .filter_map(|a| s(a, "name"))
                    .collect();
                authors.dedup();
                RawEntry {
                    id: item.get("id").and_then(|id| {
                        id.as_str()
                            .map(str::to_string)
                            .or(id.as_i64().map(|n| n.to_string()))
                    }),
                    title: s(item, "title"),
                    links: ["url", "external_url"]
                        .iter()
                        .filter_map(|k| s(item, k))
                        .map(|href| RawLink { rel: None, href })
                        .collect(),
                    content: s(item, "content_html").or_else(|| {
                        s(item, "content_text").map(|t| {
                            t.replace('&', "&amp;")
                                .replace('<', "&lt;")
                                .replace('>', "&gt;")
                        })
                    }),
                    summary: s(item, "summary"),
                    published: s(item, "date_published").as_deref().and_then(parse_date),
                    updated: s(item, "date_modified").as_deref().and_then(parse_date),
                    authors,
                }
            })
            .collect();
        Some(RawFeed {
            title: s(&v, "title"),
            ttl: None,
            links: s(&v, "home_page_url")
                .map(|href| RawLink { rel: None, href })
                .into_iter()
                .collect(),
            entries,
        })
    }

    /// Reads `text` as a feed, or `None` when it has no feed-like root element (or, for
    /// JSON, no `items`).
    pub(super) fn parse(text: &str) -> Option<RawFeed> {
        if text.trim_start().starts_with('{') {
            return parse_json(text);
        }
        let doc = Doc::build(text);
        let root = doc.find(&["rss", "feed", "rdf", "channel"])?;
        // A feed that ends inside an entry was cut short (a dropped connection, the body
        // size cap): that entry is a fragment, and a stored fragment stays. A missing
        // `</rss>` alone loses nothing.
        if doc
            .cut_off
            .iter()
            .any(|&e| matches!(doc.local(e).as_str(), "item" | "entry"))
        {
            return None;
        }
        let channel = doc.child(root, "channel").unwrap_or(root);
        Some(RawFeed {
            title: doc.child(channel, "title").map(|t| doc.text(t)),
            ttl: doc
                .child(channel, "ttl")
                .and_then(|t| doc.text(t).parse().ok()),
            links: doc
                .children(channel)
                .filter(|&c| doc.local(c) == "link")
                .filter_map(|c| doc.link(c))
                .collect(),
            entries: doc
                .entries(root)
                .into_iter()
                .map(|e| doc.entry(e))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://blog.example.org/feed/").expect("url")
    }

    #[test]
    fn tracking_parameters_are_removed_and_others_kept() {
        let u = Url::parse("https://ex.org/a?utm_source=x&id=7&fbclid=1&UTM_Medium=y#top")
            .expect("url");
        assert_eq!(canonical_url(&u).as_str(), "https://ex.org/a?id=7");
        let u = Url::parse("https://ex.org/a?gclid=1").expect("url");
        assert_eq!(canonical_url(&u).as_str(), "https://ex.org/a");
    }

    #[test]
    fn guid_is_the_key_and_missing_guid_falls_back_to_link() {
        let xml = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
          <item><title>One</title><link>/one?utm_source=rss</link><guid isPermaLink="false">g-1</guid></item>
          <item><title>Two</title><link>https://blog.example.org/two</link></item>
          <item><title>Three</title><pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate><description>x</description></item>
        </channel></rss>"#;
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!(f.entries[0].key, "id:g-1");
        assert_eq!(
            f.entries[0].url.as_deref(),
            Some("https://blog.example.org/one")
        );
        assert_eq!(f.entries[1].key, "url:https://blog.example.org/two");
        assert!(f.entries[2].key.starts_with("hash:"));
        // The hash key is stable across parses.
        let again = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!(f.entries[2].key, again.entries[2].key);
    }

    #[test]
    fn bare_ampersands_and_html_entities_are_repaired() {
        let xml = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Q & A</title>\
          <item><title>Fish &amp; chips &mdash; AT&T&nbsp;news</title><link>https://ex.org/1</link></item>\
          </channel></rss>";
        let f = parse_feed(xml.as_bytes(), &url()).expect("repaired");
        assert_eq!(f.title.as_deref(), Some("Q & A"));
        assert_eq!(f.entries[0].title, "Fish & chips — AT&T news");
        assert!(!f.repaired.is_empty());
    }

    #[test]
    fn windows_1252_labelled_utf8_is_decoded() {
        let mut xml =
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Caf"
                .to_vec();
        xml.push(0xe9); // é in Windows-1252, invalid as UTF-8
        xml.extend_from_slice(
            b"</title><item><title>x</title><link>https://ex.org/1</link></item></channel></rss>",
        );
        let f = parse_feed(&xml, &url()).expect("repaired");
        assert_eq!(f.title.as_deref(), Some("Café"));
    }

    #[test]
    fn junk_before_root_and_control_characters_are_removed() {
        let xml = "\n\nWarning: something in functions.php\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T\u{1}</title>\
          <item><title>x</title><link>https://ex.org/1</link></item></channel></rss>";
        let f = parse_feed(xml.as_bytes(), &url()).expect("repaired");
        assert_eq!(f.entries.len(), 1);
    }

    #[test]
    fn html_page_names_its_feed() {
        let html = br#"<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" href="/feed/"></head><body>hi</body></html>"#;
        let err =
            parse_feed(html, &Url::parse("https://ex.org/blog/").expect("url")).expect_err("html");
        assert!(err.to_string().contains("https://ex.org/feed/"), "{err}");
    }

    #[test]
    fn garbage_is_reported_not_panicked() {
        let err = parse_feed(b"\x00\x01 not a feed at all", &url()).expect_err("garbage");
        assert!(matches!(err, ParseError::Invalid { .. }));
    }

    /// The item titles of a parse.
    fn titles(f: &ParsedFeed) -> Vec<&str> {
        f.entries.iter().map(|e| e.title.as_str()).collect()
    }

    const RSS: &str = "<rss version=\"2.0\"><channel><title>Café</title>\
        <item><title>Crème</title><link>https://ex.org/1</link></item></channel></rss>";

    #[test]
    fn utf16_and_utf32_are_decoded_with_or_without_a_bom() {
        // A declaration saying "utf-16" once made quick-xml panic inside feed-rs.
        let doc = format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>{RSS}");
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let u32le: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        let u32be: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        for (name, body) in [
            ("utf-16le", le.clone()),
            ("utf-16be", be.clone()),
            ("utf-16le bom", [&[0xff, 0xfe][..], &le].concat()),
            ("utf-16be bom", [&[0xfe, 0xff][..], &be].concat()),
            ("utf-32le", u32le.clone()),
            ("utf-32be", u32be.clone()),
            ("utf-32le bom", [&[0xff, 0xfe, 0, 0][..], &u32le].concat()),
            ("utf-32be bom", [&[0, 0, 0xfe, 0xff][..], &u32be].concat()),
        ] {
            let f = parse_feed(&body, &url()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(f.title.as_deref(), Some("Café"), "{name}");
            assert_eq!(titles(&f), ["Crème"], "{name}");
        }
    }

    #[test]
    fn a_later_declaration_naming_another_encoding_does_not_panic() {
        // Past quick-xml's look-ahead, a second declaration used to switch the decoder.
        let items = "<item><title>x</title><link>https://ex.org/x</link></item>".repeat(400);
        let xml = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>{items}\
             <?xml version=\"1.0\" encoding=\"iso-8859-1\"?>{items}</channel></rss>"
        );
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!(f.entries.len(), 800);
    }

    #[test]
    fn empty_and_non_ascii_bodies_are_errors_not_panics() {
        for body in [&b""[..], "é".as_bytes(), b"   ", b"<", b"\xff\xfe", b"{"] {
            assert!(parse_feed(body, &url()).is_err(), "{body:?}");
        }
    }

    #[test]
    fn rss_of_any_version_atom_03_and_cdf_are_read() {
        for xml in [
            "<rss><channel><item><title>A</title></item></channel></rss>",
            "<rss version=\"0.94\"><channel><item><title>A</title></item></channel></rss>",
            "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel>\
             <item><title>A</title></item></channel></rss>",
            "<CHANNEL HREF=\"https://ex.org/\"><TITLE>T</TITLE>\
             <ITEM HREF=\"https://ex.org/a\"><TITLE>A</TITLE></ITEM></CHANNEL>",
        ] {
            let f = parse_feed(xml.as_bytes(), &url()).unwrap_or_else(|e| panic!("{xml}: {e}"));
            assert_eq!(titles(&f), ["A"], "{xml}");
        }
        let atom03 = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title>
            <entry><title>A</title><link rel="alternate" href="https://ex.org/a"/>
            <issued>2004-01-02T03:04:05Z</issued>
            <content type="text/html" mode="escaped">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"#;
        let f = parse_feed(atom03.as_bytes(), &url()).expect("atom 0.3");
        let e = &f.entries[0];
        assert_eq!(e.title, "A");
        assert_eq!(e.url.as_deref(), Some("https://ex.org/a"));
        assert_eq!(
            e.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2004-01-02T03:04:05+00:00")
        );
        assert_eq!(e.content_html.as_deref(), Some("<p>Body</p>"));
        assert!(f.repaired.iter().any(|r| r.starts_with("read leniently")));
    }

    #[test]
    fn one_bad_element_does_not_cost_the_other_entries() {
        // feed-rs rejects the whole feed over one content type it does not know, and over
        // tags left open; the lenient reader keeps every entry.
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom">
            <entry><title>A</title><content type="application/x-weird">?</content></entry>
            <entry><title>B</title><summary>b<br>c</summary></entry></feed>"#;
        let f = parse_feed(atom.as_bytes(), &url()).expect("lenient");
        assert_eq!(titles(&f), ["A", "B"]);
    }

    #[test]
    fn json_feed_with_a_bare_version_number_is_read() {
        let json = r#"{"version": "1.1", "title": "J", "items": [
            {"id": 7, "url": "https://ex.org/j", "title": "J1", "content_text": "a < b",
             "date_published": "2026-11-27T10:00:00Z"}]}"#;
        let f = parse_feed(json.as_bytes(), &url()).expect("json");
        let e = &f.entries[0];
        assert_eq!((e.key.as_str(), e.title.as_str()), ("id:7", "J1"));
        assert_eq!(e.content_html.as_deref(), Some("a &lt; b"));
        assert!(e.published.is_some());
    }

    #[test]
    fn entries_with_nothing_to_show_are_counted_as_skipped() {
        let xml = "<rss version=\"2.0\"><channel><item><category>x</category></item>\
            <item><title>A</title></item></channel></rss>";
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!((f.entries.len(), f.skipped), (1, 1));
    }

    #[test]
    fn lenient_dates_cover_what_feeds_write() {
        for s in [
            "Fri, 27 Nov 2026 10:00:00 GMT",
            "2026-11-27T10:00:00Z",
            "2026-11-27T10:00:00+00:00",
            "2026-11-27T10:00:00",
            "2026-11-27",
        ] {
            assert!(lenient::parse_date(s).is_some(), "{s}");
        }
        assert!(lenient::parse_date("yesterday").is_none());
    }

    #[test]
    fn a_feed_cut_off_inside_an_entry_is_refused_but_a_missing_end_tag_loses_nothing() {
        let cut = "<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>Whole</title></item><item><title>Cut off mid-tr";
        assert!(parse_feed(cut.as_bytes(), &url()).is_err());
        let unclosed = "<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>Whole</title></item></channel></rss";
        let f = parse_feed(unclosed.as_bytes(), &url()).expect("lenient");
        assert_eq!(titles(&f), ["Whole"]);
    }

    #[test]
    fn clip_cuts_on_a_word_with_an_ellipsis_and_leaves_short_text_alone() {
        assert_eq!(clip("Short headline", 300), "Short headline");
        assert_eq!(clip("one two three four", 12), "one two…");
        assert_eq!(clip("Breaking, news: more", 17), "Breaking, news…");
        // No space in the second half: cut inside the word.
        assert_eq!(clip(&"x".repeat(50), 10), format!("{}…", "x".repeat(9)));
        assert_eq!(clip("éééééé", 4).chars().count(), 4);
    }

    #[test]
    fn monster_fields_are_cut_or_dropped_when_the_feed_is_parsed() {
        let words = "word ".repeat(200_000);
        let long_url = format!("https://ex.org/{}", "a".repeat(1_000_000));
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>{words}</title><link>{long_url}</link>\
             <item><title>{words}</title><link>{long_url}</link><guid>{long_url}</guid>\
             <author>{words}</author><description>Short text.</description></item>\
             </channel></rss>"
        );
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        let title = f.title.as_deref().expect("feed title");
        assert!(title.chars().count() <= MAX_FEED_TITLE_CHARS && title.ends_with("word…"));
        assert_eq!(f.site_url, None, "an over-long link is dropped, not cut");
        let e = &f.entries[0];
        assert!(e.title.chars().count() <= MAX_TITLE_CHARS && e.title.ends_with("word…"));
        assert_eq!(e.url, None);
        let author = e.author.as_deref().expect("author");
        assert!(author.chars().count() <= MAX_AUTHOR_CHARS && author.ends_with('…'));
        assert!(
            e.key.starts_with("id:sha256:") && e.key.len() < 64,
            "{}",
            e.key
        );
        // The key of a long guid is stable.
        let again = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!(again.entries[0].key, e.key);
    }

    /// An RSS document of `n` items titled by number, with `empty` empty items between.
    fn numbered_rss(n: usize, empty: usize) -> String {
        let items: String = (0..n)
            .map(|i| format!("<item><title>T{i}</title><link>https://ex.org/{i}</link></item>"))
            .collect();
        format!(
            "<rss version=\"2.0\"><channel><title>T</title>{}{items}{}</channel></rss>",
            "<item></item>".repeat(empty / 2),
            "<item/>".repeat(empty - empty / 2)
        )
    }

    #[test]
    fn a_feed_reads_at_most_the_entry_limit_keeping_both_ends() {
        let f = parse_feed(numbered_rss(3000, 0).as_bytes(), &url()).expect("parses");
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        let t = titles(&f);
        assert_eq!(
            (t[0], t[499], t[500], t[999]),
            ("T0", "T499", "T2500", "T2999")
        );
        assert!(
            f.repaired.iter().any(|r| r.contains("of 3000 entries")),
            "{:?}",
            f.repaired
        );
        // The lenient reader, for what feed-rs refuses, reads the same bounded text.
        let entries: String = (0..3000)
            .map(|i| format!("<entry><title>A{i}</title><summary>b<br>c</summary></entry>"))
            .collect();
        let atom = format!("<feed xmlns=\"http://www.w3.org/2005/Atom\">{entries}</feed>");
        let f = parse_feed(atom.as_bytes(), &url()).expect("lenient");
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        assert!(
            f.repaired.iter().any(|r| r.starts_with("read leniently")),
            "{:?}",
            f.repaired
        );
    }

    #[test]
    fn empty_items_are_removed_before_any_parser_models_them() {
        let xml = numbered_rss(2, 100_000);
        let (bounded, empty, over) = bound_entries(xml.clone()).expect("bounded");
        assert_eq!((empty, over), (100_000, 0));
        assert!(bounded.len() < 300, "{} bytes left", bounded.len());
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!((titles(&f), f.skipped), (vec!["T0", "T1"], 100_000));
        // An entry with only attributes or children is not empty: feed-rs decides.
        let kept =
            "<rss><channel><item href=\"https://ex.org/a\"/><item><x/></item></channel></rss>";
        assert_eq!(bound_entries(kept.into()).expect("bounded").1, 0);
    }

    #[test]
    fn json_feeds_of_empty_items_or_too_many_items_are_bounded_before_parsing() {
        let items = vec!["{}"; 200_000].join(",");
        let json = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{items},
               {{"id":"1","url":"https://ex.org/1","title":"Real"}}]}}"#
        );
        let (bounded, empty, over) = bound_entries(json.clone()).expect("bounded");
        assert_eq!((empty, over), (200_000, 0));
        assert!(bounded.len() < 300, "{bounded}");
        let f = parse_feed(json.as_bytes(), &url()).expect("parses");
        assert_eq!((titles(&f), f.skipped), (vec!["Real"], 200_000));

        let items: Vec<String> = (0..3000)
            .map(|i| {
                format!(
                    r#"{{"id":"{i}","title":"J{i}","tags":[{}]}}"#,
                    "1,".repeat(9000) + "1"
                )
            })
            .collect();
        let json = format!(r#"{{"version":"1.1","items":[{}]}}"#, items.join(","));
        let (bounded, _, over) = bound_entries(json.clone()).expect("bounded");
        assert_eq!(over, 2000);
        // Each item's 9,001 tags are cut to its node budget.
        assert!(
            bounded.len() < json.len() / 4,
            "{} of {}",
            bounded.len(),
            json.len()
        );
        let f = parse_feed(json.as_bytes(), &url()).expect("parses");
        let t = titles(&f);
        assert_eq!((t.len(), t[0], t[999]), (MAX_ENTRIES, "J0", "J2999"));
        assert!(parse_feed(b"{\"items\": [{}, ", &url()).is_err());
    }

    #[test]
    fn removing_a_declaration_never_joins_a_new_one() {
        // Found by `mutated_real_feeds_never_panic` after 691,960 cases: quick-xml panicked
        // on the declaration the old removal glued together.
        let xml = "<rss version=\"2.0\"><channel><title>a<?xml<?xml version=\"1.0\" \
            encoding=\"utf-16\"?> version=\"1.0\" encoding=\"utf-16\"?>b</title>\
            <item><title>x</title></item></channel></rss>";
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        assert_eq!(titles(&f), ["x"]);
    }
}

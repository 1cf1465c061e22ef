//! Either reader's feed → [`ParsedFeed`]: links resolved and made canonical, text and
//! lengths capped, our own stable key for every entry (guid, else canonical link, else a
//! hash of title and date), and entries with nothing a reader can use counted as skipped.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    Image, MAX_AUTHOR_CHARS, MAX_FEED_TITLE_CHARS, MAX_ID_BYTES, MAX_TITLE_CHARS, MAX_URL_BYTES,
    NO_ID, ParsedEntry, ParsedFeed, canonical_url, clip, text_of,
};

/// A feed as either reader saw it, before it becomes a [`ParsedFeed`].
#[derive(Debug, Default)]
pub(super) struct RawFeed {
    pub(super) title: Option<String>,
    pub(super) ttl: Option<u32>,
    pub(super) links: Vec<RawLink>,
    pub(super) entries: Vec<RawEntry>,
}

/// A link with its `rel`, unresolved.
#[derive(Debug)]
pub(super) struct RawLink {
    pub(super) rel: Option<String>,
    pub(super) href: String,
}

/// One entry as either reader saw it: HTML or text, unresolved links.
#[derive(Debug, Default)]
pub(super) struct RawEntry {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) links: Vec<RawLink>,
    pub(super) content: Option<String>,
    pub(super) summary: Option<String>,
    pub(super) published: Option<DateTime<Utc>>,
    pub(super) updated: Option<DateTime<Utc>>,
    pub(super) authors: Vec<String>,
    /// Pictures the entry names, best first: `media:content` images, thumbnails, then
    /// enclosures.
    pub(super) images: Vec<RawImage>,
}

/// A picture an entry names, unresolved.
#[derive(Debug, Default)]
pub(super) struct RawImage {
    pub(super) url: String,
    /// Declared an image (MIME `image/…`, a thumbnail); `None`: no type given.
    pub(super) typed: Option<bool>,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
}

pub(super) fn from_feed_rs(feed: feed_rs::model::Feed) -> RawFeed {
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
                images: media_images(&e.media),
            })
            .collect(),
    }
}

/// The pictures among feed-rs's media objects (where it puts `media:content`,
/// `media:thumbnail` and enclosures alike, enclosures last): image content first, then
/// thumbnails.
fn media_images(media: &[feed_rs::model::MediaObject]) -> Vec<RawImage> {
    let content = media.iter().flat_map(|m| &m.content).filter_map(|c| {
        Some(RawImage {
            url: c.url.as_ref()?.to_string(),
            typed: c
                .content_type
                .as_ref()
                .map(|t| t.ty().as_ref().eq_ignore_ascii_case("image")),
            width: c.width,
            height: c.height,
        })
    });
    let thumbnails = media.iter().flat_map(|m| &m.thumbnails).map(|t| RawImage {
        url: t.image.uri.clone(),
        typed: Some(true),
        width: t.image.width,
        height: t.image.height,
    });
    content.chain(thumbnails).collect()
}

pub(super) fn convert(feed: RawFeed, feed_url: &Url, repaired: Vec<String>) -> ParsedFeed {
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
    let key = entry_key(e.id.as_deref(), link.as_ref(), &title, published);
    let author = e
        .authors
        .iter()
        .map(|a| a.trim())
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let author = clip(&author, MAX_AUTHOR_CHARS);
    let image = e
        .images
        .iter()
        .find_map(|i| Image::resolve(&i.url, feed_url, i.typed, i.width, i.height));
    Some(ParsedEntry {
        key,
        title,
        url: link.map(|u| u.to_string()),
        published,
        author: (!author.is_empty()).then_some(author),
        content_html,
        summary_html,
        image,
    })
}

/// Our stable key for an entry: `id:<guid>` (a guid over [`MAX_ID_BYTES`] by its hash),
/// else `url:<canonical link>`, else `hash:<sha256 of title and date>`.
fn entry_key(
    id: Option<&str>,
    link: Option<&Url>,
    title: &str,
    published: Option<DateTime<Utc>>,
) -> String {
    let id = id.map(str::trim).filter(|id| !id.is_empty());
    if let Some(id) = id {
        if id.len() <= MAX_ID_BYTES {
            format!("id:{id}")
        } else {
            format!(
                "id:sha256:{}",
                hex16(Sha256::digest(id.as_bytes()).as_slice())
            )
        }
    } else if let Some(link) = link {
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
    }
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

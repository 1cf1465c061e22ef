//! Parse: feed bytes → [`ParsedFeed`] (title, entries with our own keys, canonical URLs, dates).
//!
//! feed-rs does the parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed) of a body we first decode to
//! UTF-8 ourselves (BOM, UTF-16/32, declared or lying charsets). When it rejects a document,
//! or misses entries the document holds, we repair the common breakage of real feeds (junk
//! before the root, bare `&`, HTML-only entities) and parse again, then fall back to
//! [`lenient`], a forgiving reader of our own (unknown RSS versions and namespaces, Atom
//! 0.3, CDF, unclosed tags, JSON Feed quirks), noting what was done. Pure: no I/O, no clock.
//!
//! This file is the face ([`parse_feed`], [`ParsedFeed`], [`ParsedEntry`], [`canonical_url`],
//! [`clip`], the caps) and the order of the readings; the rooms, in data-flow order:
//! - `decode`: bytes → UTF-8 text with UTF-8 declarations and no forbidden characters.
//! - `json_bound` and [`lenient`]'s entry spans: the document bounded to [`MAX_ENTRIES`]
//!   non-empty entries before any parser models it.
//! - `repair`: the XML repairs tried when feed-rs refuses or misses entries.
//! - [`lenient`]: the forgiving reader.
//! - `convert`: either reader's feed → [`ParsedFeed`], with our keys and caps.

mod convert;
mod decode;
mod json_bound;
mod lenient;
mod repair;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use convert::{convert, from_feed_rs};
use decode::normalize;
use repair::repair;

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
    /// The entry's picture: its first `https` image among `media:content`,
    /// `media:thumbnail` and image enclosures.
    pub image: Option<Image>,
}

/// A story's picture, as a feed or an article page names it: never fetched by us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Image {
    /// An absolute `https` URL of at most [`MAX_URL_BYTES`].
    pub url: String,
    /// Width in pixels, when the source gives a plausible one.
    pub width: Option<u32>,
    /// Height in pixels, when the source gives a plausible one.
    pub height: Option<u32>,
}

/// Largest image side believed, in pixels; a larger (or zero) size is taken as unknown.
const MAX_IMAGE_SIDE: u32 = 10_000;

/// File endings of pictures, for media named without a MIME type.
const IMAGE_ENDINGS: &[&str] = &[".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"];

impl Image {
    /// `src` resolved against `base` as a picture: `None` unless it is `https` and short
    /// enough. `typed` says whether the source declared it an image (a MIME type
    /// `image/…`, a thumbnail, an `og:image`); `None`: only a picture's file ending makes
    /// it one. Sizes outside 1..=10,000 px are dropped.
    pub fn resolve(
        src: &str,
        base: &Url,
        typed: Option<bool>,
        width: Option<u32>,
        height: Option<u32>,
    ) -> Option<Self> {
        let url = base.join(src.trim()).ok()?;
        if url.scheme() != "https" || url.as_str().len() > MAX_URL_BYTES {
            return None;
        }
        let is_image = typed.unwrap_or_else(|| {
            let path = url.path().to_ascii_lowercase();
            IMAGE_ENDINGS.iter().any(|e| path.ends_with(e))
        });
        let side = |v: Option<u32>| v.filter(|v| (1..=MAX_IMAGE_SIDE).contains(v));
        is_image.then(|| Self {
            url: url.to_string(),
            width: side(width),
            height: side(height),
        })
    }
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

    /// The picture of each entry: (URL, width, height).
    fn images(f: &ParsedFeed) -> Vec<Option<Image>> {
        f.entries.iter().map(|e| e.image.clone()).collect()
    }

    #[test]
    fn entry_picture_is_the_first_https_image_of_media_content_thumbnail_and_enclosure() {
        let xml = r#"<?xml version="1.0"?>
        <rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title>
          <item><title>Content</title><link>https://ex.org/1</link>
            <media:content url="https://img.ex.org/1.jpg" type="image/jpeg" width="1200" height="800"/>
            <media:thumbnail url="https://img.ex.org/1-thumb.jpg" width="150" height="100"/></item>
          <item><title>Video, then its thumbnail</title><link>https://ex.org/2</link>
            <media:content url="https://img.ex.org/2.mp4" type="video/mp4" width="1920" height="1080"/>
            <media:thumbnail url="/img/2-thumb.jpg" width="320" height="180"/></item>
          <item><title>Enclosure</title><link>https://ex.org/3</link>
            <enclosure url="https://img.ex.org/3.png" type="image/png" length="1000"/></item>
          <item><title>Audio enclosure</title><link>https://ex.org/4</link>
            <enclosure url="https://img.ex.org/4.mp3" type="audio/mpeg" length="1000"/></item>
          <item><title>Plain http, untyped, absurd size</title><link>https://ex.org/5</link>
            <media:content url="http://img.ex.org/5.jpg" type="image/jpeg"/>
            <media:content url="https://img.ex.org/5.webp" width="0" height="99999"/></item>
          <item><title>Untyped, not a picture</title><link>https://ex.org/6</link>
            <media:content url="https://img.ex.org/6.pdf"/></item>
        </channel></rss>"#;
        let f = parse_feed(xml.as_bytes(), &url()).expect("parses");
        let img = |u: &str, width, height| {
            Some(Image {
                url: u.to_string(),
                width,
                height,
            })
        };
        assert_eq!(
            images(&f),
            [
                img("https://img.ex.org/1.jpg", Some(1200), Some(800)),
                img(
                    "https://blog.example.org/img/2-thumb.jpg",
                    Some(320),
                    Some(180)
                ),
                img("https://img.ex.org/3.png", None, None),
                None,
                img("https://img.ex.org/5.webp", None, None),
                None,
            ]
        );
        // The lenient reader (feed-rs refuses the tag left open) finds them too.
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
            <entry><title>A</title><content type="application/x-weird">?</content>
              <media:content url="https://img.ex.org/a.jpg" medium="image" width="640" height="480"/></entry>
            <entry><title>B</title><summary>b<br>c</summary>
              <media:content url="https://img.ex.org/b.mp4" type="video/mp4"/>
              <media:thumbnail url="https://img.ex.org/b.jpg"/></entry></feed>"#;
        let f = parse_feed(atom.as_bytes(), &url()).expect("lenient");
        assert!(f.repaired.iter().any(|r| r.starts_with("read leniently")));
        assert_eq!(
            images(&f),
            [
                img("https://img.ex.org/a.jpg", Some(640), Some(480)),
                img("https://img.ex.org/b.jpg", None, None),
            ]
        );
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

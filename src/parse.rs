//! Parse: feed bytes → [`ParsedFeed`] (title, entries with our own keys, canonical URLs, dates).
//!
//! feed-rs does the parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed). When it rejects a
//! document we try to repair the common breakage of real feeds (wrong or lying encoding,
//! junk before the root, control characters, bare `&`, HTML-only entities) and parse again,
//! noting what was repaired. Pure: no I/O, no clock.

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

/// A parsed feed.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedFeed {
    /// The feed's own title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// Entries in document order.
    pub entries: Vec<ParsedEntry>,
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
pub fn parse_feed(body: &[u8], feed_url: &Url) -> Result<ParsedFeed, ParseError> {
    let first = match try_parse(body, feed_url) {
        Ok(feed) => return Ok(convert(feed, feed_url, Vec::new())),
        Err(e) => e,
    };
    if looks_like_html(body) {
        return Err(ParseError::Html {
            alternate: find_alternate(body, feed_url),
        });
    }
    let (repaired_body, repairs) = repair(body);
    match try_parse(repaired_body.as_bytes(), feed_url) {
        Ok(feed) if !repairs.is_empty() => Ok(convert(feed, feed_url, repairs)),
        _ => Err(ParseError::Invalid { reason: first }),
    }
}

fn try_parse(body: &[u8], feed_url: &Url) -> Result<feed_rs::model::Feed, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    parser.parse(body).map_err(|e| e.to_string())
}

fn convert(feed: feed_rs::model::Feed, feed_url: &Url, repaired: Vec<String>) -> ParsedFeed {
    let site_url = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| feed_url.join(&l.href).ok())
        .map(|u| u.to_string());
    let entries = feed
        .entries
        .into_iter()
        .filter_map(|e| convert_entry(e, feed_url))
        .collect();
    ParsedFeed {
        ttl_minutes: feed.ttl,
        title: feed
            .title
            .map(|t| text_of(&t.content))
            .filter(|t| !t.is_empty()),
        site_url,
        entries,
        repaired,
    }
}

fn convert_entry(e: feed_rs::model::Entry, feed_url: &Url) -> Option<ParsedEntry> {
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| feed_url.join(l.href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_url(&u));
    let title = e
        .title
        .as_ref()
        .map(|t| text_of(&t.content))
        .unwrap_or_default();
    let content_html = e
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .filter(|b| !b.trim().is_empty());
    let summary_html = e
        .summary
        .as_ref()
        .map(|s| s.content.clone())
        .filter(|b| !b.trim().is_empty());
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
    let key = if e.id != NO_ID && !e.id.trim().is_empty() {
        format!("id:{}", e.id.trim())
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
        let digest = h.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("hash:{hex}")
    };
    let author = (!e.authors.is_empty()).then(|| {
        e.authors
            .iter()
            .filter_map(|a| a.name.as_deref().map(str::trim))
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(ParsedEntry {
        key,
        title,
        url: link.map(|u| u.to_string()),
        published,
        author: author.filter(|a| !a.is_empty()),
        content_html,
        summary_html,
    })
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
        let frag = scraper::Html::parse_fragment(s);
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

/// Repairs the usual breakage of real-world feeds; returns the UTF-8 text and what was done.
fn repair(body: &[u8]) -> (String, Vec<String>) {
    let mut repairs = Vec::new();
    let (text, note) = decode(body);
    if let Some(note) = note {
        repairs.push(note);
    }
    let mut text = text.into_owned();

    // Junk before the root element (a PHP warning, blank lines, a BOM).
    if let Some(start) = text.find('<')
        && start > 0
    {
        text.drain(..start);
        repairs.push("removed text before the root element".into());
    }
    // Only one XML declaration may exist, at offset 0; a second one after junk is dropped.
    if let Some(pos) = text[1..].find("<?xml").map(|p| p + 1)
        && text.starts_with("<?xml")
        && let Some(end) = text[pos..].find("?>")
    {
        text.replace_range(pos..pos + end + 2, "");
    }
    // We transcoded to UTF-8 above, so the declaration must now say so.
    if text.starts_with("<?xml")
        && let Some(end) = text.find("?>")
    {
        let decl = &text[..end];
        if let Some(enc) = decl.find("encoding=") {
            let rest = &decl[enc + 9..];
            let quote = rest.chars().next().unwrap_or('"');
            if let Some(close) = rest[1..].find(quote) {
                let range = enc..enc + 9 + close + 2;
                if !text[range.clone()].eq_ignore_ascii_case("encoding=\"utf-8\"") {
                    text.replace_range(range, "encoding=\"utf-8\"");
                }
            }
        }
    }
    let before = text.len();
    text.retain(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
    if text.len() != before {
        repairs.push("removed control characters".into());
    }
    let (fixed, amps, entities) = fix_ampersands(&text);
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

/// Decodes bytes to text: BOM first, then a declared encoding that actually fits, then
/// UTF-8, then Windows-1252 (what "ISO-8859-1" and unlabelled Western pages really are).
fn decode(body: &[u8]) -> (Cow<'_, str>, Option<String>) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(body) {
        let (text, _, _) = enc.decode(&body[bom_len..]);
        return (text, None);
    }
    let declared = declared_encoding(body);
    if let Some(enc) = declared
        && enc != encoding_rs::UTF_8
    {
        let (text, _, had_errors) = enc.decode(body);
        if !had_errors {
            return (text, None);
        }
    }
    match std::str::from_utf8(body) {
        Ok(s) => (Cow::Borrowed(s), None),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            let label = declared.map_or("no encoding", |e| e.name());
            (
                text,
                Some(format!(
                    "decoded as Windows-1252 (declared {label}, but the bytes are not valid)"
                )),
            )
        }
    }
}

fn declared_encoding(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &body[..body.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let decl_end = head.find("?>")?;
    let decl = &head[..decl_end];
    let pos = decl.find("encoding=")?;
    let rest = &decl[pos + 9..];
    let quote = rest.chars().next()?;
    let label = rest[1..].split(quote).next()?;
    encoding_rs::Encoding::for_label(label.trim().as_bytes())
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
}

//! Page metadata: a parsed page → title, site name, canonical URL, publication time,
//! description, paywall flag and JSON-LD `articleBody`.
//!
//! Sources, first found wins within each: `<meta>` tags (`og:`, `twitter:`, `article:`,
//! Dublin Core, Parse.ly, Sailthru), `<link rel=canonical>`, `<title>` and the first `<h1>`,
//! the first `<time datetime>`, and JSON-LD objects of an article type (through `@graph`
//! and nested arrays), read with serde_json after [`strict_json`] repairs the slips pages
//! make. Pure: no I/O, no clock, no globals.

use html5ever::{local_name, ns};
use scraper::Html;

use super::blocks::clean_text;
use super::extract::same_title;

/// Metadata found in `<head>`, JSON-LD and `<time>`.
#[derive(Debug, Default)]
pub(super) struct Meta {
    pub(super) title: Option<String>,
    pub(super) site_name: Option<String>,
    pub(super) canonical_url: Option<url::Url>,
    pub(super) published: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) description: Option<String>,
    pub(super) paywalled: bool,
    /// JSON-LD `articleBody`, used when the DOM holds much less.
    pub(super) json_body: Option<String>,
}

/// Longest site name kept (it is stored and shown in every "Full Story" line).
const MAX_SITE_NAME_CHARS: usize = 100;

/// Reads title, site name, canonical URL, dates, description and paywall flags.
pub(super) fn read_metadata(doc: &Html, page_url: Option<&url::Url>) -> Meta {
    let mut found = Found::default();
    for el in doc.root_element().descendent_elements() {
        found.note(el);
    }
    found.into_meta(page_url)
}

/// What a `<meta>` tag can tell, by its lowercased property, name or itemprop.
#[derive(Debug, Clone, Copy)]
enum MetaFact {
    Title,
    SiteName,
    AppName,
    Url,
    Published,
    Description,
    MetaDescription,
    ContentTier,
}

/// The fact a `<meta>` key gives, if it is one extraction reads.
fn meta_fact(key: &str) -> Option<MetaFact> {
    Some(match key {
        "og:title" | "twitter:title" => MetaFact::Title,
        "og:site_name" => MetaFact::SiteName,
        "application-name" => MetaFact::AppName,
        "og:url" => MetaFact::Url,
        "article:published_time"
        | "datepublished"
        | "og:published_time"
        | "publish-date"
        | "pubdate"
        | "date"
        | "dc.date.issued"
        | "dc.date"
        | "sailthru.date"
        | "parsely-pub-date" => MetaFact::Published,
        "og:description" | "twitter:description" => MetaFact::Description,
        "description" => MetaFact::MetaDescription,
        "article:content_tier" => MetaFact::ContentTier,
        _ => return None,
    })
}

/// Whether a `<meta>` tag keyed `key` (its property, name or itemprop, any case) says
/// anything extraction reads: the others are dropped before the page is parsed.
pub(super) fn reads_meta_key(key: &str) -> bool {
    meta_fact(&key.to_ascii_lowercase()).is_some()
}

/// Every candidate for each fact, as the page's elements are read in order; the first of
/// each kind is kept.
#[derive(Debug, Default)]
struct Found {
    og_title: Option<String>,
    doc_title: Option<String>,
    h1: Option<String>,
    og_site: Option<String>,
    app_name: Option<String>,
    canonical: Option<String>,
    og_url: Option<String>,
    meta_published: Option<String>,
    time_published: Option<chrono::DateTime<chrono::Utc>>,
    og_desc: Option<String>,
    meta_desc: Option<String>,
    paywalled: bool,
    ld: JsonLdFacts,
}

impl Found {
    /// Notes what one element says, if anything.
    fn note(&mut self, el: scraper::ElementRef<'_>) {
        let v = el.value();
        // Tag names are atoms: six integer comparisons, not six string ones, for each of
        // the page's elements.
        let name = &v.name.local;
        let tag = if *name == local_name!("meta") {
            "meta"
        } else if *name == local_name!("link") {
            "link"
        } else if *name == local_name!("title") && v.name.ns == ns!(html) {
            // The page's title, not an icon's (`<svg><title>`).
            "title"
        } else if *name == local_name!("h1") {
            "h1"
        } else if *name == local_name!("time") {
            "time"
        } else if *name == local_name!("script") {
            "script"
        } else {
            return;
        };
        match tag {
            "meta" => {
                let key = v
                    .attr("property")
                    .or_else(|| v.attr("name"))
                    .or_else(|| v.attr("itemprop"))
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if let Some(content) = v.attr("content").map(clean_text).filter(|c| !c.is_empty()) {
                    self.note_meta(&key, content);
                }
            }
            "link" => {
                let rel = v.attr("rel").unwrap_or("");
                let is_canonical = rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"));
                if let Some(href) = v.attr("href").filter(|_| is_canonical) {
                    self.canonical.get_or_insert(href.trim().to_string());
                }
            }
            "title" if self.doc_title.is_none() => {
                self.doc_title =
                    Some(clean_text(&el.text().collect::<String>())).filter(|t| !t.is_empty());
            }
            "h1" if self.h1.is_none() => {
                self.h1 =
                    Some(clean_text(&el.text().collect::<String>())).filter(|t| !t.is_empty());
            }
            "time" if self.time_published.is_none() => {
                self.time_published = v.attr("datetime").and_then(parse_date);
            }
            "script" => {
                let kind = v.attr("type").unwrap_or("");
                if kind.eq_ignore_ascii_case("application/ld+json") {
                    let text: String = el.text().collect();
                    if let Some(json) = Json::parse(&text) {
                        self.ld.collect(&json);
                    }
                }
            }
            _ => {}
        }
    }

    /// Notes a `<meta>` tag's non-empty content under its lowercased property, name or
    /// itemprop.
    fn note_meta(&mut self, key: &str, content: String) {
        let Some(fact) = meta_fact(key) else { return };
        match fact {
            MetaFact::Title => {
                self.og_title.get_or_insert(content);
            }
            MetaFact::SiteName => {
                self.og_site.get_or_insert(content);
            }
            MetaFact::AppName => {
                self.app_name.get_or_insert(content);
            }
            MetaFact::Url => {
                self.og_url.get_or_insert(content);
            }
            MetaFact::Published => {
                self.meta_published.get_or_insert(content);
            }
            MetaFact::Description => {
                self.og_desc.get_or_insert(content);
            }
            MetaFact::MetaDescription => {
                self.meta_desc.get_or_insert(content);
            }
            MetaFact::ContentTier => {
                self.paywalled |= content.eq_ignore_ascii_case("locked")
                    || content.eq_ignore_ascii_case("metered");
            }
        }
    }

    /// Each fact from its best source: `<meta>` tags first, then JSON-LD, then the markup.
    fn into_meta(self, page_url: Option<&url::Url>) -> Meta {
        let ld = self.ld;
        let site_name = self
            .og_site
            .or(self.app_name)
            .or(ld.publisher)
            .map(|s| crate::parse::clip(&s, MAX_SITE_NAME_CHARS));
        // og:title sometimes carries the site name too ("Headline | Site"); only a tail that
        // is the known site name is cut from it, while the <title> tag gets the usual guess.
        let title = self
            .og_title
            .map(|t| strip_site_suffix(&t, site_name.as_deref(), false))
            .or(ld.headline)
            .or_else(|| {
                self.doc_title
                    .map(|t| strip_site_suffix(&t, site_name.as_deref(), true))
            })
            .or(self.h1);
        let resolve = |href: String| -> Option<url::Url> {
            match page_url {
                Some(base) => base.join(&href).ok(),
                None => url::Url::parse(&href).ok(),
            }
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        };
        let canonical_url = self
            .canonical
            .and_then(resolve)
            .or_else(|| self.og_url.and_then(resolve));
        let published = self
            .meta_published
            .as_deref()
            .and_then(parse_date)
            .or_else(|| ld.published.as_deref().and_then(parse_date))
            .or(self.time_published);
        Meta {
            title,
            site_name,
            canonical_url,
            published,
            description: self.og_desc.or(self.meta_desc).or(ld.description),
            paywalled: self.paywalled || ld.not_free,
            json_body: ld.body,
        }
    }
}

/// Drops a " | Site" or " - Site" tail from a title: a tail equal to the site name, or with
/// `guess`, any short tail after a longer headline.
fn strip_site_suffix(title: &str, site: Option<&str>, guess: bool) -> String {
    for sep in [" | ", " - ", " — ", " – ", " :: ", " · "] {
        if let Some(pos) = title.rfind(sep) {
            let (head, tail) = (&title[..pos], &title[pos + sep.len()..]);
            let tail_is_site = site.is_some_and(|s| same_title(s, tail));
            // Without a known site name, a short tail after a longer head is the usual shape.
            let looks_like_site = tail.split_whitespace().count() <= 4 && head.len() > tail.len();
            if tail_is_site || (guess && looks_like_site) {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}

/// Parses the date formats pages use (RFC 3339 and its common near-misses, or a bare date).
fn parse_date(raw: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = raw.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc());
        }
    }
    let day = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// Facts gathered from a page's JSON-LD objects.
#[derive(Debug, Default)]
struct JsonLdFacts {
    headline: Option<String>,
    publisher: Option<String>,
    published: Option<String>,
    description: Option<String>,
    body: Option<String>,
    not_free: bool,
}

impl JsonLdFacts {
    /// Walks every object (through `@graph` and arrays) and keeps the first of each fact.
    fn collect(&mut self, json: &Json) {
        match json {
            Json::Arr(items) => items.iter().for_each(|i| self.collect(i)),
            Json::Obj(fields) => {
                let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
                let is_article = get("@type").is_some_and(|t| {
                    let types: Vec<&str> = match t {
                        Json::Str(s) => vec![s.as_str()],
                        Json::Arr(a) => a.iter().filter_map(Json::as_str).collect(),
                        _ => Vec::new(),
                    };
                    types.iter().any(|t| {
                        t.ends_with("Article") || matches!(*t, "BlogPosting" | "Report" | "WebPage")
                    })
                });
                if is_article {
                    if let Some(h) = get("headline").and_then(Json::as_str) {
                        self.headline.get_or_insert_with(|| clean_text(h));
                    }
                    if let Some(d) = get("datePublished").and_then(Json::as_str) {
                        self.published.get_or_insert_with(|| d.to_string());
                    }
                    if let Some(d) = get("description").and_then(Json::as_str) {
                        self.description.get_or_insert_with(|| clean_text(d));
                    }
                    if let Some(b) = get("articleBody").and_then(Json::as_str) {
                        self.body.get_or_insert_with(|| b.to_string());
                    }
                    let publisher = match get("publisher") {
                        Some(Json::Obj(p)) => p.iter().find(|(k, _)| k == "name"),
                        _ => None,
                    };
                    if let Some((_, Json::Str(name))) = publisher {
                        self.publisher.get_or_insert_with(|| clean_text(name));
                    }
                }
                match get("isAccessibleForFree") {
                    Some(Json::Bool(false)) => self.not_free = true,
                    Some(Json::Str(s)) if s.eq_ignore_ascii_case("false") => self.not_free = true,
                    _ => {}
                }
                fields.iter().for_each(|(_, v)| {
                    if matches!(v, Json::Arr(_) | Json::Obj(_)) {
                        self.collect(v);
                    }
                });
            }
            _ => {}
        }
    }
}

/// A JSON value, just enough to read JSON-LD: numbers are not kept, and an object keeps
/// its members in document order, duplicates included (the first one is read).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num,
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Deepest nesting of values read (a scalar inside 63 arrays); deeper JSON-LD is refused.
const MAX_JSON_DEPTH: u32 = 64;

impl Json {
    /// Parses a JSON document; `None` on any syntax error. Pages wrap JSON-LD in HTML
    /// comments or CDATA now and then, so those wrappers are tolerated, and so is what
    /// [`strict_json`] repairs.
    fn parse(text: &str) -> Option<Json> {
        let t = text.trim();
        let t = t.strip_prefix("<!--").unwrap_or(t);
        let t = t.strip_suffix("-->").unwrap_or(t);
        let t = t.trim().strip_prefix("//<![CDATA[").unwrap_or(t);
        let t = t.trim().strip_suffix("//]]>").unwrap_or(t);
        let strict = strict_json(t.trim())?;
        let mut de = serde_json::Deserializer::from_str(&strict);
        let json = serde::de::DeserializeSeed::deserialize(JsonSeed { depth: 1 }, &mut de).ok()?;
        de.end().ok()?;
        Some(json)
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The slips of hand-written JSON-LD rewritten as strict JSON for serde_json, or `None`
/// when a string is cut short or holds a bad `\u` escape.
///
/// Tolerated, as pages write them: raw control characters in strings; escapes JSON does not
/// know (`\'` reads as `'`); lone surrogates (read as U+FFFD); numbers in any shape (`+1`,
/// `.5`, `1.2.3`: only their presence matters, so each becomes `0`); form feeds between
/// tokens; one trailing `;`. `\t` and `\r` read as spaces and `\b` and `\f` as nothing, as
/// they always have here. Everything else (trailing commas, bare words, several documents)
/// is left for serde_json to refuse.
fn strict_json(text: &str) -> Option<String> {
    let s = text.as_bytes();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => i = strict_string(s, i + 1, &mut out)?,
            b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' => {
                while i < s.len() && matches!(s[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                out.push('0');
            }
            // A word (`true`, `null`, or a bare word serde_json refuses) is copied whole, so
            // its letters are not read as a number's exponent.
            c if c.is_ascii_alphabetic() => {
                let end = s[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(s.len(), |n| i + n);
                out.push_str(&text[i..end]);
                i = end;
            }
            b'\x0c' => {
                out.push(' ');
                i += 1;
            }
            b';' if s[i + 1..].iter().all(u8::is_ascii_whitespace) => break,
            _ => {
                // Everything else is ASCII punctuation or whitespace, or the start of a
                // character serde_json will refuse: copied whole either way.
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    Some(out)
}

/// Copies the JSON string whose content starts at `s[i]` to `out` as a strict JSON string
/// (see [`strict_json`]); returns the index after its closing quote.
fn strict_string(s: &[u8], mut i: usize, out: &mut String) -> Option<usize> {
    let mut content: Vec<u8> = Vec::new();
    loop {
        let c = *s.get(i)?;
        i += 1;
        match c {
            b'"' => break,
            b'\\' => {
                let e = *s.get(i)?;
                i += 1;
                match e {
                    b'n' => content.push(b'\n'),
                    b't' | b'r' => content.push(b' '),
                    b'b' | b'f' => {}
                    b'u' => {
                        let mut code = hex4(s, &mut i)?;
                        // Surrogate pairs encode characters beyond the BMP (emoji).
                        if (0xD800..0xDC00).contains(&code) && s[i..].starts_with(b"\\u") {
                            i += 2;
                            let low = hex4(s, &mut i)?;
                            code = 0x10000
                                + ((code - 0xD800) << 10)
                                + (low.wrapping_sub(0xDC00) & 0x3FF);
                        }
                        let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        content.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    other => content.push(other),
                }
            }
            _ => content.push(c),
        }
    }
    // The content is whole characters of the (valid UTF-8) text and decoded escapes.
    let content = String::from_utf8(content).ok()?;
    out.push('"');
    for ch in content.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    Some(i)
}

/// The four hex digits of a `\u` escape at `s[*i]`, stepping past them.
fn hex4(s: &[u8], i: &mut usize) -> Option<u32> {
    let h = s.get(*i..*i + 4)?;
    *i += 4;
    u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
}

/// Reads one value into a [`Json`] at a given depth, refusing what nests past
/// [`MAX_JSON_DEPTH`] (before serde_json's own limit of 128, and before the stack).
struct JsonSeed {
    depth: u32,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonSeed {
    type Value = Json;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        if self.depth > MAX_JSON_DEPTH {
            return Err(serde::de::Error::custom("JSON-LD nested too deep"));
        }
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonSeed {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Json, E> {
        Ok(Json::Num)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Json, E> {
        Ok(Json::Num)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Num)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(JsonSeed {
            depth: self.depth + 1,
        })? {
            items.push(v);
        }
        Ok(Json::Arr(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(JsonSeed {
                depth: self.depth + 1,
            })?;
            fields.push((key, v));
        }
        Ok(Json::Obj(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::extract;

    #[test]
    fn json_parser_reads_escapes_and_rejects_garbage() {
        assert_eq!(
            Json::parse(r#"{"a":"x\"y\u00e9\ud83d\ude00","b":[1,-2.5e3,true,null]}"#),
            Some(Json::Obj(vec![
                ("a".into(), Json::Str("x\"yé😀".into())),
                (
                    "b".into(),
                    Json::Arr(vec![Json::Num, Json::Num, Json::Bool(true), Json::Null])
                ),
            ]))
        );
        assert_eq!(Json::parse("{\"a\":}"), None);
        assert_eq!(Json::parse(&"[".repeat(1000)), None);
    }

    // What the JSON-LD reader tolerates, case by case: pages ship hand-edited JSON-LD, and
    // each of these shapes was read before the reader moved to serde_json.

    #[test]
    fn json_ld_wrapped_in_an_html_comment_or_cdata_is_read() {
        let want = Some(Json::Obj(vec![("a".into(), Json::Str("b".into()))]));
        assert_eq!(Json::parse(r#"<!-- {"a":"b"} -->"#), want);
        assert_eq!(Json::parse("//<![CDATA[\n{\"a\":\"b\"}\n//]]>"), want);
    }

    #[test]
    fn a_trailing_semicolon_after_json_ld_is_tolerated() {
        assert_eq!(
            Json::parse("{\"a\":true} ; \n"),
            Some(Json::Obj(vec![("a".into(), Json::Bool(true))]))
        );
        assert_eq!(Json::parse("{\"a\":true};;"), None);
    }

    #[test]
    fn raw_control_characters_inside_json_ld_strings_are_kept() {
        assert_eq!(
            Json::parse("[\"line one\nline\ttwo\u{1}\"]"),
            Some(Json::Arr(vec![Json::Str(
                "line one\nline\ttwo\u{1}".into()
            )]))
        );
    }

    #[test]
    fn json_ld_tab_and_return_escapes_read_as_spaces_and_backspace_and_form_feed_vanish() {
        assert_eq!(
            Json::parse(r#"["a\tb\rc\nd\be\ff\/g\\h"]"#),
            Some(Json::Arr(vec![Json::Str("a b c\ndef/g\\h".into())]))
        );
    }

    #[test]
    fn unknown_escapes_in_json_ld_keep_the_escaped_character() {
        assert_eq!(
            Json::parse("[\"it\\'s \\é \\\u{1}\"]"),
            Some(Json::Arr(vec![Json::Str("it's é \u{1}".into())]))
        );
    }

    #[test]
    fn lone_surrogates_in_json_ld_become_replacement_characters() {
        assert_eq!(
            Json::parse(r#"["\ud83d x","\ude00","\ud83d\u0041","\u+04A"]"#),
            Some(Json::Arr(vec![
                Json::Str("\u{fffd} x".into()),
                Json::Str("\u{fffd}".into()),
                Json::Str("\u{1f441}".into()),
                Json::Str("J".into()),
            ]))
        );
        assert_eq!(Json::parse(r#"["\u12"]"#), None);
        assert_eq!(Json::parse(r#"["\ud83d\uzzzz"]"#), None);
    }

    #[test]
    fn loose_numbers_in_json_ld_are_read_as_numbers() {
        assert_eq!(
            Json::parse("[+1, 01, 1., .5, -, 1.2.3, e, 1e999999]"),
            Some(Json::Arr(vec![Json::Num; 8]))
        );
        assert_eq!(Json::parse("[NaN]"), None);
        assert_eq!(Json::parse("[1true]"), None);
    }

    #[test]
    fn a_form_feed_between_json_ld_tokens_is_whitespace() {
        assert_eq!(
            Json::parse("{\u{c}\"a\"\u{c}:\u{c}null\u{c}}"),
            Some(Json::Obj(vec![("a".into(), Json::Null)]))
        );
        // Inside a string it is a character like any other control character.
        assert_eq!(
            Json::parse("[\"\u{c}\"]"),
            Some(Json::Arr(vec![Json::Str("\u{c}".into())]))
        );
        // Vertical tab is not JSON whitespace.
        assert_eq!(Json::parse("[\u{b}1]"), None);
    }

    #[test]
    fn json_ld_members_keep_their_order_and_duplicate_keys_are_all_kept() {
        let parsed = Json::parse(r#"{"z":1,"a":"first","a":"second"}"#);
        assert_eq!(
            parsed,
            Some(Json::Obj(vec![
                ("z".into(), Json::Num),
                ("a".into(), Json::Str("first".into())),
                ("a".into(), Json::Str("second".into())),
            ]))
        );
        // The first of duplicate keys is the one read.
        let html = r#"<html><head><script type="application/ld+json">{"@type":"NewsArticle","headline":"First","headline":"Second"}</script></head></html>"#;
        assert_eq!(extract(html, None).title.as_deref(), Some("First"));
    }

    #[test]
    fn json_ld_nested_up_to_sixty_four_values_is_read_and_deeper_is_refused() {
        // Depth counts every value, the innermost scalar included.
        let nested = |depth: usize| "[".repeat(depth - 1) + "1" + &"]".repeat(depth - 1);
        assert!(Json::parse(&nested(64)).is_some());
        assert_eq!(Json::parse(&nested(65)), None);
        assert!(Json::parse(&("[".repeat(63) + &"]".repeat(63))).is_some());
        assert_eq!(Json::parse(&("[".repeat(65) + &"]".repeat(65))), None);
    }

    #[test]
    fn json_ld_with_trailing_commas_or_several_documents_is_refused() {
        assert_eq!(Json::parse(r#"{"a":1,}"#), None);
        assert_eq!(Json::parse("[1,]"), None);
        assert_eq!(Json::parse(r#"{"a":1}{"b":2}"#), None);
        assert_eq!(Json::parse(r#"["unterminated]"#), None);
        assert_eq!(Json::parse(""), None);
        assert_eq!(Json::parse(r#"{a:1}"#), None);
        assert_eq!(Json::parse("[tru]"), None);
    }

    #[test]
    fn a_json_ld_graph_is_walked_for_the_article() {
        let html = r#"<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Site"},{"@type":["Thing","BlogPosting"],"headline":"From the graph","publisher":{"name":"Pub"}}]}</script></head></html>"#;
        let a = extract(html, None);
        assert_eq!(a.title.as_deref(), Some("From the graph"));
        assert_eq!(a.site_name.as_deref(), Some("Pub"));
    }

    #[test]
    fn dates_in_common_formats_parse() {
        for raw in [
            "2024-03-05T14:30:00Z",
            "2024-03-05T14:30:00+0000",
            "2024-03-05T14:30:00.000+00:00",
            "2024-03-05 14:30:00",
            "Tue, 05 Mar 2024 14:30:00 GMT",
        ] {
            let d = parse_date(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!(d.to_rfc3339(), "2024-03-05T14:30:00+00:00", "{raw}");
        }
        assert!(parse_date("yesterday").is_none());
    }
}

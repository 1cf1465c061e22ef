//! A forgiving reader for what feed-rs refuses: any `<item>`/`<entry>` under the first
//! `rss`, `feed`, `RDF` or `channel` element (RSS of any version or namespace, Atom 0.3,
//! CDF), whatever the namespaces, unknown content types or unclosed tags.
//!
//! Linear in the input: each byte is scanned a bounded number of times, nesting deeper
//! than [`MAX_DEPTH`] is flattened, and the tree is an arena (no recursive drop).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::convert::{RawEntry, RawFeed, RawImage, RawLink};
use super::repair::html_entity;

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

    /// A `media:content`, `media:thumbnail` or `enclosure` element as a picture, when its
    /// type (or, for a thumbnail, its kind) allows one.
    fn image(&self, e: usize) -> Option<RawImage> {
        let url = self.attr(e, "url")?.to_string();
        let kind = self.local(e);
        let typed = if kind == "thumbnail" {
            Some(true)
        } else {
            let mime = self.attr(e, "type").map(|t| t.trim().to_ascii_lowercase());
            let medium = self
                .attr(e, "medium")
                .map(|m| m.trim().to_ascii_lowercase());
            match (mime, medium) {
                (Some(t), _) => Some(t.starts_with("image/")),
                (None, Some(m)) => Some(m == "image"),
                (None, None) => None,
            }
        };
        let px = |name: &str| self.attr(e, name).and_then(|v| v.trim().parse().ok());
        Some(RawImage {
            url,
            typed,
            width: px("width"),
            height: px("height"),
        })
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
                // `media:content`, `media:thumbnail` and `enclosure` name a file by `url`
                // (an Atom or CDF `content` never does).
                "content" | "thumbnail" | "enclosure" if self.attr(c, "url").is_some() => {
                    entry.images.extend(self.image(c));
                }
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
                "encoded" | "content" | "body" | "fullitem" if self.attr(c, "src").is_none() => {
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
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
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
                images: ["image", "banner_image"]
                    .iter()
                    .filter_map(|k| s(item, k))
                    .map(|url| RawImage {
                        url,
                        typed: Some(true),
                        ..RawImage::default()
                    })
                    .collect(),
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

//! Main-content extraction: an article page's HTML → its text blocks and metadata.
//!
//! Input is a whole HTML page (or a feed's HTML fragment); output is an [`Article`]: the
//! story's paragraphs in reading order plus title, site name, canonical URL, publication
//! time, description and whether a paywall hides the rest.
//!
//! How the main text is found (our own scoring, after studying readability, trafilatura and
//! jusText):
//! 1. The DOM is flattened once into *blocks* (paragraph-level runs of text), each tied to
//!    the element that owns it, with its link text counted.
//! 2. Every block gets a signed weight: long, sentence-like, link-poor text counts for the
//!    story; link lists, short labels and text under boilerplate-looking elements (comments,
//!    sidebars, share bars, "related" lists) count against it.
//! 3. The container is the element whose subtree has the largest total weight — a maximum
//!    subtree sum, which takes in a lead paragraph sitting beside the body `div` when it
//!    helps and stops before the comments when they would cost more than they add.
//! 4. Inside the container, boilerplate blocks are dropped again one by one, and short blocks
//!    (subheadings) are kept only when their neighbours are story text.
//!
//! Pure: no I/O, no clock, no globals; `scraper` (html5ever) does the parsing.

use scraper::{ElementRef, Html, Node};

/// Clean text blocks (paragraph-level, entities decoded, whitespace collapsed) of an HTML
/// fragment, e.g. a feed's content:encoded or description. Drops script/style/figure
/// captions/share widgets; splits on block elements (p, div, li, h1-h6, blockquote, br br, etc.).
pub fn html_to_blocks(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let flat = flatten(doc.root_element(), fragment_skip);
    flat.blocks.into_iter().map(|b| b.text).collect()
}

/// What kind of element owns a block of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `<p>` and text directly in generic containers.
    Para,
    /// `<h1>`…`<h6>`, with the level.
    Heading(u8),
    /// `<li>`, `<dt>`, `<dd>`.
    Item,
    /// `<pre>`.
    Pre,
    /// Table rows and cells.
    Table,
    /// `<div>`, `<section>` and other generic blocks.
    Other,
}

/// One element of the flattened DOM (only the parts scoring needs).
#[derive(Debug)]
struct Elem {
    /// Index of the parent in [`Flat::elems`]; `usize::MAX` for the root.
    parent: usize,
    /// Tag name, lowercase.
    tag: String,
    /// Boilerplate likelihood from tag, class, id and role: negative means "not the story".
    hint: i8,
    /// Depth in the tree, root = 0.
    #[allow(dead_code)] // kept for debugging dumps of the flattened tree
    depth: u16,
}

/// A paragraph-level run of text.
#[derive(Debug)]
struct Block {
    /// Whitespace-collapsed text.
    text: String,
    /// Index of the innermost block-level element that holds the text.
    elem: usize,
    /// Non-whitespace characters.
    chars: usize,
    /// Non-whitespace characters inside links.
    link_chars: usize,
    /// What owns the text.
    kind: Kind,
}

/// The DOM as blocks and their owning elements.
#[derive(Debug, Default)]
struct Flat {
    elems: Vec<Elem>,
    blocks: Vec<Block>,
}

/// Elements that never hold readable text.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "video", "audio", "select", "option", "button", "input", "textarea", "head", "title",
    "meta", "link", "map", "dialog",
];

/// Elements that start a new block of text.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Skip rule for feed fragments: captions and share widgets are not the story.
fn fragment_skip(el: &ElementRef<'_>, tag: &str) -> bool {
    if tag == "figcaption" {
        return true;
    }
    let v = el.value();
    let names =
        format!("{} {}", v.attr("class").unwrap_or(""), v.id().unwrap_or("")).to_lowercase();
    names.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| {
        matches!(
            t,
            "share"
                | "sharing"
                | "sharedaddy"
                | "social"
                | "addtoany"
                | "feedflare"
                | "caption"
                | "relatedposts"
                | "related"
        )
    })
}

/// Whether an element is hidden from readers (`hidden`, `aria-hidden`, inline `display:none`).
fn is_hidden(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if v.attr("hidden").is_some() || v.attr("aria-hidden") == Some("true") {
        return true;
    }
    v.attr("style").is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// State of one flattening walk.
struct Walker<F> {
    flat: Flat,
    skip: F,
    buf: String,
    link_chars: usize,
    owner: usize,
    links: usize,
    /// A `<br>` was just seen with no text after it; a second one ends the block.
    pending_br: bool,
}

/// Flattens the tree under `root` into blocks; `skip` drops whole subtrees.
fn flatten<F>(root: ElementRef<'_>, skip: F) -> Flat
where
    F: Fn(&ElementRef<'_>, &str) -> bool,
{
    let mut w = Walker {
        flat: Flat::default(),
        skip,
        buf: String::new(),
        link_chars: 0,
        owner: 0,
        links: 0,
        pending_br: false,
    };
    w.walk(root, usize::MAX, 0);
    w.flush();
    w.flat
}

/// Deepest nesting we follow; deeper markup is broken or hostile and holds no article.
const MAX_DEPTH: u16 = 256;

impl<F> Walker<F>
where
    F: Fn(&ElementRef<'_>, &str) -> bool,
{
    fn walk(&mut self, el: ElementRef<'_>, parent: usize, depth: u16) {
        if depth > MAX_DEPTH {
            return;
        }
        let tag = el.value().name();
        if SKIP_TAGS.contains(&tag) || is_hidden(&el) || (self.skip)(&el, tag) {
            return;
        }
        if tag == "br" {
            if self.pending_br {
                self.flush();
            } else {
                self.pending_br = true;
                self.buf.push(' ');
            }
            return;
        }
        let idx = self.flat.elems.len();
        self.flat.elems.push(Elem {
            parent,
            tag: tag.to_string(),
            hint: element_hint(&el, tag),
            depth,
        });
        let block = BLOCK_TAGS.contains(&tag);
        let saved_owner = self.owner;
        if block {
            self.flush();
            self.owner = idx;
        }
        let link = tag == "a";
        if link {
            self.links += 1;
        }
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.text(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        self.walk(c, idx, depth + 1);
                    }
                }
                _ => {}
            }
        }
        if link {
            self.links -= 1;
        }
        if matches!(tag, "td" | "th") {
            self.buf.push(' ');
        }
        if block {
            self.flush();
            self.owner = saved_owner;
        }
    }

    fn text(&mut self, t: &str) {
        let visible = t.chars().filter(|c| !c.is_whitespace()).count();
        if visible > 0 {
            self.pending_br = false;
            if self.links > 0 {
                self.link_chars += visible;
            }
        }
        self.buf.push_str(t);
    }

    fn flush(&mut self) {
        self.pending_br = false;
        if self.buf.is_empty() {
            return;
        }
        let text = clean_text(&self.buf);
        self.buf.clear();
        let link_chars = std::mem::take(&mut self.link_chars);
        if text.is_empty() {
            return;
        }
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        let kind = match self.flat.elems.get(self.owner).map(|e| e.tag.as_str()) {
            Some("p") => Kind::Para,
            Some(h @ ("h1" | "h2" | "h3" | "h4" | "h5" | "h6")) => {
                Kind::Heading(h.as_bytes()[1].saturating_sub(b'0'))
            }
            Some("li" | "dt" | "dd") => Kind::Item,
            Some("pre") => Kind::Pre,
            Some("td" | "th" | "tr" | "table" | "tbody" | "thead" | "tfoot") => Kind::Table,
            _ => Kind::Other,
        };
        self.flat.blocks.push(Block {
            text,
            elem: self.owner,
            chars,
            link_chars: link_chars.min(chars),
            kind,
        });
    }
}

/// Collapses whitespace (including no-break spaces) and drops invisible format characters.
fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        let word: String = word
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}'
                )
            })
            .collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// The readable content and metadata of an article page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    /// Headline: `og:title`, else the page `<title>` without its site suffix, else the `<h1>`.
    pub title: Option<String>,
    /// Main text paragraphs in order (headings included as their own blocks).
    pub blocks: Vec<String>,
    /// Publication name: `og:site_name`, `application-name` or the JSON-LD publisher.
    pub site_name: Option<String>,
    /// `<link rel=canonical>` or `og:url`, resolved against the page URL.
    pub canonical_url: Option<url::Url>,
    /// `article:published_time`, JSON-LD `datePublished` or the first `<time datetime>`.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// `og:description` or the meta description.
    pub description: Option<String>,
    /// Whether a "subscription required" wall was detected (the text may be a teaser).
    pub paywalled: bool,
}

impl Article {
    /// The main text: blocks joined by blank lines.
    pub fn text(&self) -> String {
        self.blocks.join("\n\n")
    }
}

/// Extracts the main content and metadata of an HTML page.
///
/// `page_url` resolves relative canonical links; without it only absolute ones are kept.
/// Never fails: a page with no recognisable article gives an `Article` with empty `blocks`.
pub fn extract(html: &str, page_url: Option<&url::Url>) -> Article {
    let doc = Html::parse_document(html);
    let meta = read_metadata(&doc, page_url);
    let flat = flatten(doc.root_element(), page_skip);
    let mut blocks = main_blocks(&flat, meta.title.as_deref());
    // Some pages render the story with script and ship it only as JSON-LD `articleBody`;
    // when the DOM yields much less than that, the structured copy is the better text.
    if let Some(body) = &meta.json_body {
        let dom_chars: usize = blocks.iter().map(|b| b.chars().count()).sum();
        let body_chars = body.chars().count();
        if body_chars > 200 && dom_chars * 2 < body_chars {
            blocks = body
                .split('\n')
                .map(clean_text)
                .filter(|b| !b.is_empty())
                .collect();
        }
    }
    let paywalled = meta.paywalled || blocks.iter().rev().take(3).any(|b| is_paywall_text(b));
    Article {
        title: meta.title,
        blocks,
        site_name: meta.site_name,
        canonical_url: meta.canonical_url,
        published: meta.published,
        description: meta.description,
        paywalled,
    }
}

/// Skip rule for whole pages: only subtrees that cannot hold the story are cut early.
fn page_skip(_el: &ElementRef<'_>, _tag: &str) -> bool {
    false
}

/// Class and id words that mark boilerplate when they open a word ("comment-list").
const NEGATIVE_PREFIXES: &[&str] = &[
    "comment",
    "disqus",
    "sidebar",
    "related",
    "recommend",
    "promo",
    "newsletter",
    "subscri",
    "signup",
    "share",
    "sharing",
    "social",
    "footer",
    "breadcrumb",
    "widget",
    "advert",
    "sponsor",
    "byline",
    "caption",
    "pagination",
    "trending",
    "outbrain",
    "taboola",
    "cookie",
    "consent",
    "popup",
    "modal",
    "toolbar",
    "masthead",
    "copyright",
    "newsletter",
    "navigation",
    "dateline",
];

/// Class and id words that mark boilerplate only as whole words ("ad", not "head").
const NEGATIVE_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "menu",
    "ad",
    "ads",
    "adslot",
    "banner",
    "author",
    "credit",
    "credits",
    "tags",
    "tag",
    "meta",
    "hidden",
    "pager",
    "popular",
    "rail",
    "search",
    "login",
    "bio",
    "more",
    "print",
    "skip",
    "gdpr",
    "follow",
    "jump",
    "header",
    "topbar",
    "timestamp",
    "date",
    "time",
    "hide",
    "sr",
    "visually",
    "offscreen",
    "screenreader",
];

/// Class and id words that mark the story's container.
const POSITIVE_WORDS: &[&str] = &[
    "article",
    "articlebody",
    "content",
    "entry",
    "main",
    "post",
    "text",
    "body",
    "story",
    "blog",
    "prose",
    "richtext",
    "paragraph",
];

/// Boilerplate likelihood of an element: −1 boilerplate, 0 neutral, +1 story container.
fn element_hint(el: &ElementRef<'_>, tag: &str) -> i8 {
    let v = el.value();
    if matches!(tag, "nav" | "aside" | "footer") {
        return -1;
    }
    if let Some(role) = v.attr("role") {
        if matches!(
            role,
            "navigation"
                | "complementary"
                | "contentinfo"
                | "banner"
                | "menu"
                | "menubar"
                | "search"
                | "dialog"
                | "alert"
        ) {
            return -1;
        }
        if role == "main" || role == "article" {
            return 1;
        }
    }
    if v.attr("itemprop")
        .is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
    {
        return 1;
    }
    let class = v.attr("class").unwrap_or("");
    let id = v.id().unwrap_or("");
    if class.is_empty() && id.is_empty() {
        return i8::from(matches!(tag, "article" | "main"));
    }
    let names = format!("{class} {id}").to_ascii_lowercase();
    let mut negative = false;
    let mut positive = matches!(tag, "article" | "main");
    for word in names.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if NEGATIVE_WORDS.contains(&word) || NEGATIVE_PREFIXES.iter().any(|p| word.starts_with(p)) {
            negative = true;
        } else if POSITIVE_WORDS.contains(&word) {
            positive = true;
        }
    }
    match (negative, positive) {
        (true, false) => -1,
        (false, true) => 1,
        _ => 0,
    }
}

/// Signed story weight of a block: positive for story-like text, negative for boilerplate.
fn block_weight(b: &Block) -> f64 {
    let c = b.chars as f64;
    let ld = b.link_chars as f64 / c.max(1.0);
    if ld > 0.5 {
        return -c;
    }
    let words = b.text.split_whitespace().count();
    let punct = b
        .text
        .chars()
        .filter(|c| {
            matches!(
                c,
                '.' | ',' | '!' | '?' | ';' | ':' | '。' | '，' | '、' | '،'
            )
        })
        .count();
    let base = if words >= 10 && punct >= 1 {
        c
    } else if b.chars >= 100 {
        0.6 * c
    } else if matches!(b.kind, Kind::Heading(_)) {
        0.0
    } else {
        -0.3 * c
    };
    if base > 0.0 {
        base * (1.0 - ld) * (1.0 - ld)
    } else {
        base
    }
}

/// Whether element `e` lies inside `ancestor` (or is it).
fn is_within(flat: &Flat, mut e: usize, ancestor: usize) -> bool {
    while e != usize::MAX {
        if e == ancestor {
            return true;
        }
        e = flat.elems[e].parent;
    }
    false
}

/// Whether an element between `e` (inclusive) and `stop` (exclusive) marks boilerplate.
fn boilerplate_between(flat: &Flat, mut e: usize, stop: usize) -> bool {
    while e != usize::MAX && e != stop {
        if flat.elems[e].hint < 0 {
            return true;
        }
        e = flat.elems[e].parent;
    }
    false
}

/// The story's blocks: pick the container, then keep its story-like blocks in order.
fn main_blocks(flat: &Flat, title: Option<&str>) -> Vec<String> {
    if flat.blocks.is_empty() || flat.elems.is_empty() {
        return Vec::new();
    }
    let weights: Vec<f64> = flat
        .blocks
        .iter()
        .map(|b| {
            let w = block_weight(b);
            // Good text under a boilerplate element (comments, related teasers) counts
            // against whichever container would take it in.
            if w > 0.0 && boilerplate_between(flat, b.elem, usize::MAX) {
                -0.5 * w
            } else {
                w
            }
        })
        .collect();
    let mut score = vec![0.0f64; flat.elems.len()];
    for (b, w) in flat.blocks.iter().zip(&weights) {
        let mut e = b.elem;
        while e != usize::MAX {
            score[e] += w;
            e = flat.elems[e].parent;
        }
    }
    let mut best = 0;
    let mut best_score = f64::MIN;
    for (i, s) in score.iter().enumerate() {
        let bonus = if flat.elems[i].hint > 0 { 1.1 } else { 1.0 };
        let s = if *s > 0.0 { s * bonus } else { *s };
        // `>=` prefers the deeper of equal candidates (children come after parents).
        if s >= best_score {
            best_score = s;
            best = i;
        }
    }

    let inside: Vec<usize> = (0..flat.blocks.len())
        .filter(|&i| is_within(flat, flat.blocks[i].elem, best))
        .collect();
    let mut keep: Vec<bool> = inside
        .iter()
        .map(|&i| {
            let b = &flat.blocks[i];
            let ld = b.link_chars as f64 / (b.chars.max(1)) as f64;
            !(ld > 0.5
                || boilerplate_between(flat, b.elem, best)
                || flat.elems[b.elem].tag == "figcaption"
                || is_junk_line(&b.text)
                || (b.kind == Kind::Heading(1) && title.is_some_and(|t| same_title(t, &b.text))))
        })
        .collect();
    // Leading and trailing short blocks of the container are bylines, dates, share bars and
    // tag lists far more often than story; inner ones are subheadings.
    let good: Vec<bool> = inside.iter().map(|&i| weights[i] > 0.0).collect();
    if let Some(first) = good.iter().position(|g| *g) {
        for k in keep.iter_mut().take(first) {
            *k = false;
        }
    }
    if let Some(last) = good.iter().rposition(|g| *g) {
        for k in keep.iter_mut().skip(last + 1) {
            *k = false;
        }
    }
    inside
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&i, _)| flat.blocks[i].text.clone())
        .collect()
}

/// Whether two headlines are the same up to case, punctuation and a site suffix.
fn same_title(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && !b.is_empty() && (a == b || a.starts_with(&b) || b.starts_with(&a))
}

/// Whether a short line is a label rather than text ("Advertisement", "Share this").
fn is_junk_line(text: &str) -> bool {
    if text.chars().count() > 60 {
        return false;
    }
    let lower = text.to_lowercase();
    let lower = lower.trim_matches(|c: char| !c.is_alphanumeric());
    const LABELS: &[&str] = &[
        "advertisement",
        "advertisment",
        "ad",
        "sponsored",
        "share",
        "share this",
        "share this article",
        "share this story",
        "comments",
        "read more",
        "continue reading",
        "related",
        "related articles",
        "related stories",
        "more",
        "tweet",
        "email",
        "print",
        "close",
        "menu",
    ];
    if LABELS.contains(&lower) {
        return true;
    }
    const PREFIXES: &[&str] = &[
        "photo:",
        "image:",
        "photograph:",
        "credit:",
        "source: getty",
        "sign up",
        "subscribe to",
        "click here",
        "follow us",
        "related:",
        "read more:",
        "see also:",
        "also read:",
        "posted in",
        "filed under",
        "tags:",
    ];
    PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Whether a line reads like a paywall notice.
fn is_paywall_text(text: &str) -> bool {
    if text.chars().count() > 300 {
        return false;
    }
    let lower = text.to_lowercase();
    const MARKERS: &[&str] = &[
        "subscribe to continue reading",
        "subscribe to read",
        "subscription required",
        "to continue reading",
        "subscribers only",
        "for subscribers",
        "already a subscriber",
        "this content is reserved for",
        "log in to continue",
        "sign in to continue",
        "become a member to",
        "unlock this article",
    ];
    MARKERS.iter().any(|m| lower.contains(m))
}

/// Metadata found in `<head>`, JSON-LD and `<time>`.
#[derive(Debug, Default)]
struct Meta {
    title: Option<String>,
    site_name: Option<String>,
    canonical_url: Option<url::Url>,
    published: Option<chrono::DateTime<chrono::Utc>>,
    description: Option<String>,
    paywalled: bool,
    /// JSON-LD `articleBody`, used when the DOM holds much less.
    json_body: Option<String>,
}

/// Reads title, site name, canonical URL, dates, description and paywall flags.
fn read_metadata(doc: &Html, page_url: Option<&url::Url>) -> Meta {
    let mut og_title = None;
    let mut doc_title = None;
    let mut h1 = None;
    let mut og_site = None;
    let mut app_name = None;
    let mut canonical = None;
    let mut og_url = None;
    let mut meta_published = None;
    let mut time_published = None;
    let mut og_desc = None;
    let mut meta_desc = None;
    let mut paywalled = false;
    let mut ld = JsonLdFacts::default();

    for el in doc.root_element().descendent_elements() {
        let v = el.value();
        match v.name() {
            "meta" => {
                let key = v
                    .attr("property")
                    .or_else(|| v.attr("name"))
                    .or_else(|| v.attr("itemprop"))
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let Some(content) = v.attr("content").map(clean_text).filter(|c| !c.is_empty())
                else {
                    continue;
                };
                match key.as_str() {
                    "og:title" | "twitter:title" => {
                        og_title.get_or_insert(content);
                    }
                    "og:site_name" => {
                        og_site.get_or_insert(content);
                    }
                    "application-name" => {
                        app_name.get_or_insert(content);
                    }
                    "og:url" => {
                        og_url.get_or_insert(content);
                    }
                    "article:published_time"
                    | "datepublished"
                    | "og:published_time"
                    | "publish-date"
                    | "pubdate"
                    | "date"
                    | "dc.date.issued"
                    | "dc.date"
                    | "sailthru.date"
                    | "parsely-pub-date" => {
                        meta_published.get_or_insert(content);
                    }
                    "og:description" | "twitter:description" => {
                        og_desc.get_or_insert(content);
                    }
                    "description" => {
                        meta_desc.get_or_insert(content);
                    }
                    "article:content_tier" => {
                        paywalled |= content.eq_ignore_ascii_case("locked")
                            || content.eq_ignore_ascii_case("metered");
                    }
                    _ => {}
                }
            }
            "link" => {
                let rel = v.attr("rel").unwrap_or("");
                if rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
                    && let Some(href) = v.attr("href")
                {
                    canonical.get_or_insert(href.trim().to_string());
                }
            }
            "title" if doc_title.is_none() => {
                let t = clean_text(&el.text().collect::<String>());
                if !t.is_empty() {
                    doc_title = Some(t);
                }
            }
            "h1" if h1.is_none() => {
                let t = clean_text(&el.text().collect::<String>());
                if !t.is_empty() {
                    h1 = Some(t);
                }
            }
            "time" if time_published.is_none() => {
                time_published = v.attr("datetime").and_then(parse_date);
            }
            "script" => {
                let kind = v.attr("type").unwrap_or("");
                if kind.eq_ignore_ascii_case("application/ld+json") {
                    let text: String = el.text().collect();
                    if let Some(json) = Json::parse(&text) {
                        ld.collect(&json);
                    }
                }
            }
            _ => {}
        }
    }

    let site_name = og_site.or(app_name).or(ld.publisher);
    let title = og_title
        .or(ld.headline)
        .or_else(|| doc_title.map(|t| strip_site_suffix(&t, site_name.as_deref())))
        .or(h1);
    let resolve = |href: String| -> Option<url::Url> {
        match page_url {
            Some(base) => base.join(&href).ok(),
            None => url::Url::parse(&href).ok(),
        }
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let canonical_url = canonical
        .and_then(resolve)
        .or_else(|| og_url.and_then(resolve));
    let published = meta_published
        .as_deref()
        .and_then(parse_date)
        .or_else(|| ld.published.as_deref().and_then(parse_date))
        .or(time_published);
    Meta {
        title,
        site_name,
        canonical_url,
        published,
        description: og_desc.or(meta_desc).or(ld.description),
        paywalled: paywalled || ld.not_free,
        json_body: ld.body,
    }
}

/// Drops a " | Site" or " - Site" tail from a document title.
fn strip_site_suffix(title: &str, site: Option<&str>) -> String {
    for sep in [" | ", " - ", " — ", " – ", " :: ", " · "] {
        if let Some(pos) = title.rfind(sep) {
            let (head, tail) = (&title[..pos], &title[pos + sep.len()..]);
            let tail_is_site = site.is_some_and(|s| same_title(s, tail));
            // Without a known site name, a short tail after a longer head is the usual shape.
            if tail_is_site || (tail.split_whitespace().count() <= 4 && head.len() > tail.len() * 2)
            {
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
                    if let Some(Json::Obj(p)) = get("publisher")
                        && let Some((_, Json::Str(name))) = p.iter().find(|(k, _)| k == "name")
                    {
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

/// A JSON value, just enough to read JSON-LD.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num,
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses a JSON document; `None` on any syntax error. Pages wrap JSON-LD in HTML
    /// comments or CDATA now and then, so those wrappers are tolerated.
    fn parse(text: &str) -> Option<Json> {
        let t = text.trim();
        let t = t.strip_prefix("<!--").unwrap_or(t);
        let t = t.strip_suffix("-->").unwrap_or(t);
        let t = t.trim().strip_prefix("//<![CDATA[").unwrap_or(t);
        let t = t.trim().strip_suffix("//]]>").unwrap_or(t);
        let bytes = t.trim().as_bytes();
        let mut p = JsonParser {
            s: bytes,
            i: 0,
            depth: 0,
        };
        let v = p.value()?;
        p.ws();
        // A trailing semicolon is a common slip in hand-written JSON-LD.
        if p.i < p.s.len() && p.s[p.i] == b';' {
            p.i += 1;
            p.ws();
        }
        (p.i == p.s.len()).then_some(v)
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A recursive-descent JSON parser over bytes.
struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        self.depth += 1;
        // Hostile nesting must not overflow the stack.
        if self.depth > 64 {
            return None;
        }
        let v = match *self.s.get(self.i)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(Json::Str),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'n' => self.word(b"null", Json::Null),
            _ => self.number(),
        };
        self.depth -= 1;
        v
    }

    fn word(&mut self, w: &[u8], v: Json) -> Option<Json> {
        if self.s[self.i..].starts_with(w) {
            self.i += w.len();
            Some(v)
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(
                self.s[self.i],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.i += 1;
        }
        (self.i > start).then_some(Json::Num)
    }

    fn array(&mut self) -> Option<Json> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(Json::Arr(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Json::Arr(items));
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self) -> Option<Json> {
        self.i += 1;
        let mut fields = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(Json::Obj(fields));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return None;
            }
            let key = self.string()?;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            let v = self.value()?;
            fields.push((key, v));
            self.ws();
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Json::Obj(fields));
                }
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' | b'r' => out.push(b' '),
                        b'b' | b'f' => {}
                        b'u' => {
                            let mut code = self.hex4()?;
                            // Surrogate pairs encode characters beyond the BMP (emoji).
                            if (0xD800..0xDC00).contains(&code)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let low = self.hex4()?;
                                code = 0x10000
                                    + ((code - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_paragraphs_become_blocks_with_entities_decoded() {
        let b =
            html_to_blocks("<p>Fish &amp; chips&nbsp;are  <b>great</b>.</p><p>Second&#8230;</p>");
        assert_eq!(b, vec!["Fish & chips are great.", "Second…"]);
    }

    #[test]
    fn fragment_scripts_styles_and_captions_are_dropped() {
        let b = html_to_blocks(
            "<script>var x=1;</script><style>p{}</style><figure><img src=a><figcaption>A cat</figcaption></figure><p>Body text.</p>",
        );
        assert_eq!(b, vec!["Body text."]);
    }

    #[test]
    fn fragment_double_br_splits_and_single_br_joins() {
        let b = html_to_blocks("One line<br>same block<br><br>New block");
        assert_eq!(b, vec!["One line same block", "New block"]);
    }

    #[test]
    fn fragment_share_widgets_are_dropped() {
        let b = html_to_blocks(
            "<p>Story.</p><div class=\"sharedaddy sd-sharing-enabled\"><h3>Share this:</h3><ul><li>Twitter</li></ul></div><div class=\"feedflare\"><a href=x>Email</a></div>",
        );
        assert_eq!(b, vec!["Story."]);
    }

    #[test]
    fn fragment_lists_and_headings_are_separate_blocks() {
        let b = html_to_blocks("<h2>Title</h2>Intro text<ul><li>one</li><li>two</li></ul>");
        assert_eq!(b, vec!["Title", "Intro text", "one", "two"]);
    }
}

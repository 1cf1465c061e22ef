//! Main-content extraction: an article page's HTML → its text blocks and metadata.
//!
//! Input is a whole HTML page (or, through [`html_to_blocks`], a feed's HTML fragment);
//! output is an [`Article`]: the story's paragraphs in reading order plus title, site name,
//! canonical URL, publication time, description and whether a paywall hides the rest.
//!
//! How the main text is found (our own scoring, after studying how readability,
//! trafilatura and jusText decide):
//! 1. Inline `<script>` and `<style>` bodies are emptied before parsing (half the bytes of
//!    a news page), then the DOM is flattened once into *blocks* — paragraph-level runs of
//!    text — each tied to the element that owns it, with its link text counted.
//! 2. Every block gets a signed weight: long, sentence-like, link-poor text counts for the
//!    story; link lists, short labels and headline-plus-blurb teasers count against it.
//!    Class, id and role words mark boilerplate elements (comments, sidebars, share bars,
//!    "related" sections), whose good text then counts against any container holding them
//!    — unless the element carries most of the page's text, as misnamed wrappers do.
//! 3. The container is the element with the largest subtree sum, discounted by how
//!    scattered its text is: an article body is one group of paragraphs, a page wrapper
//!    that also spans a list of teasers is many small groups.
//! 4. Inside the container, blocks are filtered one by one (links, teasers, captions,
//!    labels, bylines), leading and trailing page furniture (dates, bylines, tags) is
//!    trimmed, and a "Related stories" heading or a widget after a long run of short
//!    blocks cuts the rest off.
//!
//! Metadata comes from `<meta>`/`<link>` tags, JSON-LD (serde_json, after a repair pass for
//! the slips pages make) and `<time>`. Pure: no I/O, no clock, no globals.

use html5ever::tree_builder::{NodeOrText, TreeSink};
use scraper::{ElementRef, Html, Node};

/// Clean text blocks (paragraph-level, entities decoded, whitespace collapsed) of an HTML
/// fragment, e.g. a feed's content:encoded or description. Drops script/style/figure
/// captions/share widgets; splits on block elements (p, div, li, h1-h6, blockquote, br br, etc.).
pub fn html_to_blocks(html: &str) -> Vec<String> {
    let doc = parse_fragment(html);
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
    tag: &'static str,
    /// Boilerplate likelihood from tag, class, id and role: negative means "not the story".
    hint: i8,
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
    /// Non-whitespace characters of the link the block opens with (0 if it opens with text);
    /// a teaser is a headline link followed by its blurb.
    lead_link: usize,
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

/// Phrasing elements whose class names say nothing about the page's structure.
const INLINE_TAGS: &[&str] = &[
    "a", "b", "i", "em", "strong", "img", "sup", "sub", "abbr", "small", "u", "s", "font", "code",
    "cite", "mark", "q", "wbr", "picture", "source",
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
fn fragment_skip(a: &Attrs<'_>, tag: &str) -> bool {
    if tag == "figcaption" {
        return true;
    }
    let names = format!("{} {}", a.class, a.id).to_lowercase();
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

/// The attributes scoring reads, gathered in one pass (scraper looks attributes up by a
/// linear scan, so asking for seven of them one by one costs seven scans).
#[derive(Debug, Default)]
struct Attrs<'a> {
    class: &'a str,
    id: &'a str,
    role: &'a str,
    itemprop: &'a str,
    style: &'a str,
    hidden: bool,
}

impl<'a> Attrs<'a> {
    fn of(el: &ElementRef<'a>) -> Attrs<'a> {
        let mut a = Attrs::default();
        for (name, value) in el.value().attrs() {
            match name {
                "class" => a.class = value,
                "id" => a.id = value,
                "role" => a.role = value,
                "itemprop" => a.itemprop = value,
                "style" => a.style = value,
                "hidden" => a.hidden = true,
                "aria-hidden" => a.hidden |= value == "true",
                _ => {}
            }
        }
        a
    }
}

/// Whether an element is hidden from readers (`hidden`, `aria-hidden`, inline `display:none`).
fn is_hidden(a: &Attrs<'_>) -> bool {
    if a.hidden {
        return true;
    }
    Some(a.style).filter(|s| !s.is_empty()).is_some_and(|s| {
        // Cheap test first: most inline styles hide nothing.
        if !(s.contains("none") || s.contains("hidden") || s.contains("NONE")) {
            return false;
        }
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
    /// What has been flattened so far.
    flat: Flat,
    /// Which subtrees to leave out.
    skip: F,
    /// Raw text of the block being gathered.
    buf: String,
    /// Visible characters of `buf` inside links.
    link_chars: usize,
    /// Link characters seen before the block's first non-link text.
    lead_link: usize,
    /// Whether non-link text has been seen in the current block.
    seen_plain: bool,
    /// Element that owns the text being gathered (innermost open block element).
    owner: usize,
    /// How many `<a>` elements are open around the current text.
    links: usize,
    /// A `<br>` was just seen with no text after it; a second one ends the block.
    pending_br: bool,
}

/// Flattens the tree under `root` into blocks; `skip` drops whole subtrees.
fn flatten<F>(root: ElementRef<'_>, skip: F) -> Flat
where
    F: Fn(&Attrs<'_>, &str) -> bool,
{
    let mut w = Walker {
        flat: Flat::default(),
        skip,
        buf: String::new(),
        link_chars: 0,
        lead_link: 0,
        seen_plain: false,
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

/// Tree depth at which parsing stops (see [`parse_document`]): beyond the walker's
/// [`MAX_DEPTH`] with room for `html`, `body` and a fragment's wrapper.
const PARSE_DEPTH: usize = MAX_DEPTH as usize + 8;

/// Bytes handed to the parser at a time; the depth is checked between pieces, so a piece
/// can overshoot the limit by at most a few hundred levels.
const PARSE_CHUNK: usize = 2048;

impl<F> Walker<F>
where
    F: Fn(&Attrs<'_>, &str) -> bool,
{
    fn walk(&mut self, el: ElementRef<'_>, parent: usize, depth: u16) {
        if depth > MAX_DEPTH {
            return;
        }
        let tag = el.value().name();
        if SKIP_TAGS.contains(&tag) {
            return;
        }
        let attrs = Attrs::of(&el);
        if is_hidden(&attrs) || (self.skip)(&attrs, tag) {
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
            tag: intern_tag(tag),
            hint: if INLINE_TAGS.contains(&tag) {
                0
            } else {
                element_hint(&attrs, tag)
            },
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
                if !self.seen_plain {
                    self.lead_link += visible;
                }
            } else {
                self.seen_plain = true;
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
        let lead_link = std::mem::take(&mut self.lead_link);
        self.seen_plain = false;
        if text.is_empty() {
            return;
        }
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        let kind = match self.flat.elems.get(self.owner).map(|e| e.tag) {
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
            lead_link: lead_link.min(chars),
            kind,
        });
    }
}

/// Collapses whitespace (including no-break spaces) and drops invisible format characters.
fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !matches!(
            c,
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}'
        ) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The tag names scoring looks at, as static strings (no allocation per element); any
/// other tag is "other".
fn intern_tag(tag: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "p",
        "div",
        "span",
        "a",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "main",
        "aside",
        "nav",
        "header",
        "footer",
        "figure",
        "figcaption",
        "form",
        "body",
        "html",
        "center",
        "caption",
    ];
    KNOWN
        .iter()
        .find(|k| **k == tag)
        .copied()
        .unwrap_or("other")
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
    let doc = parse_document(&strip_raw_text(html));
    let meta = read_metadata(&doc, page_url);
    let flat = flatten(doc.root_element(), page_skip);
    let (mut blocks, wall_notice) = main_blocks(&flat, meta.title.as_deref());
    // Some pages render the story with script and ship it only as JSON-LD `articleBody`;
    // when the DOM yields much less than that, the structured copy is the better text.
    if let Some(body) = &meta.json_body {
        let dom_chars: usize = blocks.iter().map(|b| b.chars().count()).sum();
        let body_chars = body.chars().count();
        if body_chars > 200 && dom_chars * 2 < body_chars {
            blocks = json_body_blocks(body);
        }
    }
    let paywalled = meta.paywalled || wall_notice;
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

/// `html` parsed as a document, as scraper's `Html::parse_document` would, except that the
/// parse stops once the tree is [`PARSE_DEPTH`] deep (plus at most one piece's worth).
///
/// html5ever's tree builder walks its stack of open elements for most tags (is a `<p>`
/// open in button scope? is this end tag's element in scope?), so N nested elements cost
/// N² steps: 100,000 `<div>`s, a 0.5 MB page, took half a minute. The walker never reads
/// below [`MAX_DEPTH`] anyway, so the page is fed in [`PARSE_CHUNK`]-byte pieces and the
/// rest dropped once that depth is passed: the cost is linear in the page, whatever its
/// depth, and only what follows a nesting bomb is lost.
fn parse_document(html: &str) -> Html {
    let sink = DepthSink::new(Html::new_document());
    feed(
        html5ever::driver::parse_document(sink, Default::default()),
        html,
    )
}

/// `html` parsed as a fragment in `<body>`, as scraper's `Html::parse_fragment` would, with
/// the depth limit of [`parse_document`].
pub(crate) fn parse_fragment(html: &str) -> Html {
    use html5ever::{QualName, local_name, ns};
    let sink = DepthSink::new(Html::new_fragment());
    let body = QualName::new(None, ns!(html), local_name!("body"));
    let parser =
        html5ever::driver::parse_fragment(sink, Default::default(), body, Vec::new(), false);
    feed(parser, html)
}

/// Feeds `html` to `parser` a piece at a time until it ends or the tree is too deep.
fn feed(mut parser: html5ever::driver::Parser<DepthSink>, html: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    let mut rest = html;
    while !rest.is_empty() && parser.tokenizer.sink.sink.deepest.get() <= PARSE_DEPTH {
        let mut cut = PARSE_CHUNK.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(rest[..cut].into());
        rest = &rest[cut..];
    }
    parser.finish()
}

/// scraper's tree sink, noting how deep each element lands (the tree builder's stack of
/// open elements is the chain of ancestors of the element being filled).
struct DepthSink {
    inner: scraper::HtmlTreeSink,
    depth: std::cell::RefCell<std::collections::HashMap<Handle, usize>>,
    deepest: std::cell::Cell<usize>,
}

impl DepthSink {
    fn new(html: Html) -> Self {
        DepthSink {
            inner: scraper::HtmlTreeSink::new(html),
            depth: Default::default(),
            deepest: Default::default(),
        }
    }

    fn depth_of(&self, node: &Handle) -> usize {
        self.depth.borrow().get(node).copied().unwrap_or(0)
    }

    /// Records that `child`, if an element, now sits at `depth`.
    fn place(&self, child: &NodeOrText<Handle>, depth: usize) {
        if let NodeOrText::AppendNode(id) = child {
            self.depth.borrow_mut().insert(*id, depth);
            self.deepest.set(self.deepest.get().max(depth));
        }
    }
}

/// A node of scraper's tree.
type Handle = <scraper::HtmlTreeSink as TreeSink>::Handle;

/// Everything is scraper's; only where elements land is noted on the way.
impl TreeSink for DepthSink {
    type Handle = Handle;
    type Output = Html;
    type ElemName<'a> = <scraper::HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: std::borrow::Cow<'static, str>) {
        self.inner.parse_error(msg);
    }

    fn get_document(&self) -> Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(
        &self,
        name: html5ever::QualName,
        attrs: Vec<html5ever::Attribute>,
        flags: html5ever::tree_builder::ElementFlags,
    ) -> Handle {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: html5ever::tendril::StrTendril) -> Handle {
        self.inner.create_comment(text)
    }

    fn create_pi(
        &self,
        target: html5ever::tendril::StrTendril,
        data: html5ever::tendril::StrTendril,
    ) -> Handle {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        self.place(&child, self.depth_of(parent) + 1);
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        // Lands beside `element` or under `prev_element`: count the deeper of the two.
        let depth = self.depth_of(element).max(self.depth_of(prev_element) + 1);
        self.place(&child, depth);
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: html5ever::tendril::StrTendril,
        public_id: html5ever::tendril::StrTendril,
        system_id: html5ever::tendril::StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &Handle) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &Handle) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        // A template's contents hang off the tree, but its elements stay on the stack.
        let contents = self.inner.get_template_contents(target);
        self.place(&NodeOrText::AppendNode(contents), self.depth_of(target) + 1);
        contents
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: html5ever::tree_builder::QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.place(&new_node, self.depth_of(sibling));
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<html5ever::Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &self,
        target: &Handle,
        form: &Handle,
        nodes: (&Handle, Option<&Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        // The moved children keep their recorded depth: the adoption agency moves them one
        // level at most, and whatever is added under them next is placed afresh.
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(
        &self,
        location: &Handle,
        template: &Handle,
        attrs: &[html5ever::Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }

    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Handle) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option);
    }
}

/// Paragraphs of a JSON-LD `articleBody`: plain text with line breaks, or (from some
/// CMSs) HTML, or plain text with entities left escaped.
fn json_body_blocks(body: &str) -> Vec<String> {
    if body.contains("</p>") || body.contains("<br") {
        return html_to_blocks(body);
    }
    body.split('\n')
        .flat_map(|line| {
            if line.contains('&') {
                html_to_blocks(line)
            } else {
                vec![clean_text(line)]
            }
        })
        .filter(|b| !b.is_empty())
        .collect()
}

/// Empties `<script>` (except JSON-LD) and `<style>` elements before parsing.
///
/// Half the bytes of a typical news page are inline script and CSS, which the tokenizer
/// would otherwise copy character by character only for us to throw away. The scan follows
/// the tokenizer's own rule (raw text ends at the first `</script` or `</style`) and steps
/// over comments, so it removes exactly what the parser would have put in those elements.
fn strip_raw_text(html: &str) -> std::borrow::Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = html.get(i..).and_then(|rest| rest.find('<')) {
        let p = i + off;
        let rest = &bytes[p..];
        if rest.starts_with(b"<!--") {
            i = html[p + 4..]
                .find("-->")
                .map_or(bytes.len(), |e| p + 4 + e + 3);
            continue;
        }
        let name: &[u8] = if starts_with_ci(rest, b"<script") {
            b"script"
        } else if starts_with_ci(rest, b"<style") {
            b"style"
        } else {
            i = p + 1;
            continue;
        };
        let name_end = p + 1 + name.len();
        if !matches!(
            bytes.get(name_end),
            Some(b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'/' | b'\x0c')
        ) {
            i = p + 1;
            continue;
        }
        let Some(gt) = bytes[name_end..]
            .iter()
            .position(|&b| b == b'>')
            .map(|g| name_end + g)
        else {
            break;
        };
        let Some(close) = find_end_tag(html, gt + 1, name) else {
            break;
        };
        let keep = name == b"script" && find_ascii_ci(&bytes[p..gt], 0, b"ld+json").is_some();
        if !keep && close > gt + 1 {
            out.push_str(&html[copied..=gt]);
            copied = close;
        }
        i = close + 2 + name.len();
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Position of the first `</name` at or after `from`, name matched ASCII case-insensitively.
fn find_end_tag(html: &str, from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    loop {
        let p = i + html.get(i..)?.find("</")?;
        if starts_with_ci(&html.as_bytes()[p + 2..], name) {
            return Some(p);
        }
        i = p + 2;
    }
}

/// Whether `hay` starts with `needle`, ASCII case-insensitively.
fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Position of `needle` in `hay` at or after `from`, ASCII case-insensitively.
fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle.first()?.to_ascii_lowercase();
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let pos = hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|b| b.to_ascii_lowercase() == first)?;
        let at = i + pos;
        if hay[at..at + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Skip rule for whole pages: only subtrees that cannot hold the story are cut early.
fn page_skip(_attrs: &Attrs<'_>, tag: &str) -> bool {
    // Figures hold images, their captions and credits; news text never lives there.
    matches!(tag, "figure" | "figcaption")
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
    "advert",
    "sponsor",
    "byline",
    "caption",
    "outbrain",
    "taboola",
    "cookie",
    "consent",
    "popup",
    "modal",
    "masthead",
    "copyright",
    "navigation",
    "respond",
    "replies",
    "gallery",
    "slideshow",
    "carousel",
    "lightbox",
];

/// Boilerplate that can hold more text than the story itself (comment threads, photo
/// galleries), so its size never excuses its name.
const OUTWEIGHING_PREFIXES: &[&str] = &[
    "comment",
    "disqus",
    "respond",
    "replies",
    "gallery",
    "slideshow",
    "carousel",
    "lightbox",
];

/// Class and id words that mark boilerplate only as whole words ("ad", not "head"), and only
/// when nothing marks the element as story.
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
    "pagination",
    "popular",
    "trending",
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
    "toolbar",
    "timestamp",
    "date",
    "time",
    "dateline",
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

/// Class-name prefixes that describe what a post *has* (WordPress taxonomy and state classes
/// such as "tag-news", "has-post-thumbnail"), not what the element is.
const TAXONOMY_PREFIXES: &[&str] = &[
    "tag-",
    "category-",
    "has-",
    "postid-",
    "format-",
    "status-",
    "type-",
    "post-template",
    "page-id",
    "author-",
    "no-",
    "single-",
    "elementor-page",
];

/// Boilerplate likelihood of an element: −2 comment thread or gallery, −1 other
/// boilerplate, 0 neutral, +1 story-like container, +2 explicitly the story body
/// ("article-body", `itemprop=articleBody`).
fn element_hint(a: &Attrs<'_>, tag: &str) -> i8 {
    if matches!(tag, "nav" | "aside" | "footer") {
        return -1;
    }
    // Page-level classes describe the page ("single-post no-sidebar"), not an element.
    if matches!(tag, "html" | "body") {
        return 0;
    }
    let role = a.role;
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
    if a.itemprop.eq_ignore_ascii_case("articleBody") {
        return 2;
    }
    let (class, id) = (a.class, a.id);
    let mut strong_negative = false;
    let mut weak_negative = false;
    let mut outweighing = false;
    let mut positive = matches!(tag, "article" | "main") || role == "main";
    let mut body = false;
    // An id slugged from a heading ("sharing-with-a-review-server") names the section's
    // topic, not its role.
    let id = if id.split(['-', '_']).count() >= 4 {
        ""
    } else {
        id
    };
    for name in class.split_whitespace().chain(std::iter::once(id)) {
        let name: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.into()
        };
        if name.is_empty() || TAXONOMY_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let mut story_part = false;
        let mut body_part = false;
        for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
            if word.is_empty() {
                continue;
            }
            if NEGATIVE_PREFIXES.iter().any(|p| word.starts_with(p)) {
                strong_negative = true;
                outweighing |= OUTWEIGHING_PREFIXES.iter().any(|p| word.starts_with(p));
            } else if NEGATIVE_WORDS.contains(&word) {
                weak_negative = true;
            } else if POSITIVE_WORDS.contains(&word) {
                positive = true;
            }
            story_part |= matches!(
                word,
                "article" | "entry" | "post" | "story" | "blog" | "news"
            );
            body_part |= matches!(word, "body" | "content" | "text");
            body |= matches!(
                word,
                "articlebody" | "storybody" | "articletext" | "storytext"
            );
        }
        body |= story_part && body_part;
    }
    if body {
        2
    } else if outweighing {
        -2
    } else if strong_negative || (weak_negative && !positive) {
        // "footer-text" and "comment-body" are boilerplate whatever else they say; a weak word
        // like "meta" or "date" only counts when nothing marks the element as story.
        -1
    } else {
        i8::from(positive)
    }
}

/// Signed story weight of a block: positive for story-like text, negative for boilerplate.
fn block_weight(b: &Block) -> f64 {
    let c = b.chars as f64;
    let ld = b.link_chars as f64 / c.max(1.0);
    if ld > link_limit(b) {
        // Capped: one paragraph stuffed with hover-card links must not outweigh the story
        // around it; navigation is many small link blocks and stays negative anyway.
        return -c.min(200.0) * ld;
    }
    let words = word_estimate(&b.text);
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
    if is_teaser(b) {
        return -0.5 * c;
    }
    let base = if words >= 10 && punct >= 1 {
        c
    } else if b.chars >= 100 {
        0.6 * c
    } else if matches!(b.kind, Kind::Heading(_)) {
        0.0
    } else if b.link_chars == 0 && b.text.chars().filter(|&c| is_dense_script(c)).count() >= 20 {
        // Chinese and Japanese posts often run lines of prose without any punctuation
        // (photo-blog captions); twenty ideographs are a clause, not a label.
        0.5 * c
    } else if matches!(b.kind, Kind::Para | Kind::Item)
        && words >= 4
        && b.link_chars == 0
        && ends_with_terminal(&b.text)
    {
        // A short paragraph that is a whole sentence ("It's complicated.") is story text
        // in punchy prose, though weak evidence on its own.
        0.3 * c
    } else {
        -0.3 * c
    };
    if base > 0.0 {
        base * (1.0 - ld) * (1.0 - ld)
    } else {
        base
    }
}

/// Whether text ends like a sentence, closing quotes allowed.
fn ends_with_terminal(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['"', '”', '’', '\'', ')'])
        .ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// Highest share of link text a block may have and still be story text. A paragraph that
/// reads as a sentence may link half its words ("The suspect, [Michael Webb], was convicted
/// [and sentenced to life]."); anything else with that many links is navigation.
fn link_limit(b: &Block) -> f64 {
    let sentence = matches!(b.kind, Kind::Para | Kind::Item)
        && b.text.split_whitespace().count() >= 8
        && ends_with_terminal(&b.text);
    if sentence { 0.7 } else { 0.5 }
}

/// Whether a block is a headline link followed by its blurb: a teaser for another story.
fn is_teaser(b: &Block) -> bool {
    if b.lead_link < 15 || b.link_chars * 100 < b.chars * 15 || b.kind == Kind::Para {
        return false;
    }
    // The headline stands alone: it has no closing period, and what follows the link starts
    // anew (a capital, a dateline), where a sentence that merely opens with a link carries
    // on in lowercase.
    let mut seen = 0;
    let mut last_of_link = ' ';
    let mut next_after_link = None;
    for c in b.text.chars().filter(|c| !c.is_whitespace()) {
        seen += 1;
        if seen <= b.lead_link {
            last_of_link = c;
        } else {
            next_after_link = Some(c);
            break;
        }
    }
    !matches!(last_of_link, '.' | '!' | '?' | '…' | '"' | '”')
        && next_after_link.is_some_and(|c| c.is_uppercase() || c.is_numeric())
}

/// Whether a block announces the end of the story: a "Related" / "You may also like" heading.
fn is_stop_marker(b: &Block, hint: i8) -> bool {
    let short = b.chars <= 40;
    if !short {
        return false;
    }
    if matches!(b.kind, Kind::Heading(_)) && hint < 0 {
        return true;
    }
    let lower = b.text.to_lowercase();
    const MARKERS: &[&str] = &[
        "related articles",
        "related stories",
        "related posts",
        "related content",
        "related coverage",
        "you may also like",
        "you might also like",
        "you may like",
        "recommended for you",
        "more stories",
        "more from",
        "most popular",
        "most read",
        "trending now",
        "read next",
        "what to read next",
        "also on",
    ];
    MARKERS.iter().any(|m| lower.starts_with(m))
}

/// Rough word count that also works for scripts written without spaces (CJK, Thai): there a
/// word is about two characters.
fn word_estimate(text: &str) -> usize {
    let spaced = text.split_whitespace().count();
    let dense = text.chars().filter(|&c| is_dense_script(c)).count();
    spaced + dense / 2
}

/// Whether a character belongs to a script written without spaces between words.
fn is_dense_script(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK Extension A
        | 0x4E00..=0x9FFF // CJK Unified Ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x0E00..=0x0E7F // Thai
        | 0xF900..=0xFAFF)
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
fn boilerplate_between(neg: &[bool], flat: &Flat, mut e: usize, stop: usize) -> bool {
    while e != usize::MAX && e != stop {
        if neg[e] {
            return true;
        }
        e = flat.elems[e].parent;
    }
    false
}

/// The story's blocks: pick the container, then keep its story-like blocks in order. Also
/// says whether a paywall notice ("Subscribe to continue reading") sits in or right after
/// the container; the notice itself is not story text and is dropped.
fn main_blocks(flat: &Flat, title: Option<&str>) -> (Vec<String>, bool) {
    if flat.blocks.is_empty() || flat.elems.is_empty() {
        return (Vec::new(), false);
    }
    let weights: Vec<f64> = flat.blocks.iter().map(block_weight).collect();
    let neg = believed_boilerplate(flat, &weights);
    let best = choose_container(flat, &weights, &neg);
    // Blocks come in document order, so a subtree's blocks are one contiguous run.
    let inside: Vec<usize> = (0..flat.blocks.len())
        .skip_while(|&i| !is_within(flat, flat.blocks[i].elem, best))
        .take_while(|&i| is_within(flat, flat.blocks[i].elem, best))
        .collect();
    let keep = select_blocks(flat, &weights, &neg, best, &inside, title);
    // Walls put their notice at the end of the teaser or just below the container.
    let after = inside.last().map_or(0, |&i| i + 1);
    let wall_notice = inside
        .iter()
        .copied()
        .chain(after..(after + 5).min(flat.blocks.len()))
        .any(|i| is_paywall_text(&flat.blocks[i].text));
    let blocks = inside
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&i, _)| flat.blocks[i].text.clone())
        .collect();
    (blocks, wall_notice)
}

/// Which elements to treat as boilerplate, one flag per element.
///
/// Class names mislead ("content-with-sidebar" wraps the story), so an element holding most
/// of the page's story-like text, in several paragraphs, is not boilerplate whatever it is
/// called; comment threads are the exception, as they can outweigh a short post. A section
/// that opens with a "Related posts" heading is boilerplate whatever its class says.
fn believed_boilerplate(flat: &Flat, weights: &[f64]) -> Vec<bool> {
    let mut mass = vec![(0.0f64, 0usize); flat.elems.len()];
    for (b, &w) in flat.blocks.iter().zip(weights) {
        if w > 0.0 {
            let mut e = b.elem;
            while e != usize::MAX {
                mass[e].0 += w;
                mass[e].1 += 1;
                e = flat.elems[e].parent;
            }
        }
    }
    let total: f64 = mass.first().map_or(0.0, |m| m.0);
    let mut neg: Vec<bool> = flat
        .elems
        .iter()
        .zip(&mass)
        .map(|(el, &(m, n))| el.hint <= -2 || (el.hint < 0 && (m < 0.5 * total || n < 3)))
        .collect();
    for (i, b) in flat.blocks.iter().enumerate() {
        let parent = flat.elems[b.elem].parent;
        if parent == usize::MAX || !is_stop_marker(b, flat.elems[b.elem].hint) {
            continue;
        }
        if i == 0 || !is_within(flat, flat.blocks[i - 1].elem, parent) {
            neg[parent] = true;
        }
    }
    neg
}

/// The element whose subtree is the story: the best maximum-subtree-sum candidate after
/// discounts for incoherence and for sitting inside boilerplate.
fn choose_container(flat: &Flat, weights: &[f64], neg: &[bool]) -> usize {
    let n = flat.elems.len();
    // Subtree sums. Good text in a boilerplate element (comments, related teasers, a
    // gallery) counts against that element and every container above it, so containers
    // stop short of it when they can. The penalty is small and capped per element: its job
    // is to tip the balance between a container and its parent, not to outweigh a short
    // story that has a big gallery embedded in it (the boilerplate's blocks are dropped
    // from whatever container wins anyway).
    const PENALTY_CAP: f64 = 100.0;
    let mut score = vec![0.0f64; n];
    let mut mass = vec![0.0f64; n];
    let mut penalty = vec![0.0f64; n];
    for (b, &w) in flat.blocks.iter().zip(weights) {
        let positive = w.max(0.0);
        let mut e = b.elem;
        while e != usize::MAX {
            // Mass (story-like text, for coherence below) stops at boilerplate too: a
            // gallery's captions must not count as the story's text.
            mass[e] += positive;
            if w > 0.0 && neg[e] {
                // The lowest boilerplate element above the block takes the penalty, charged
                // below once per element; the block adds nothing further up.
                penalty[e] += 0.5 * w;
                break;
            }
            score[e] += w;
            e = flat.elems[e].parent;
        }
    }
    for (l, &p) in penalty.iter().enumerate() {
        if p > 0.0 {
            let charge = p.min(PENALTY_CAP);
            let mut e = l;
            while e != usize::MAX {
                score[e] -= charge;
                e = flat.elems[e].parent;
            }
        }
    }
    // Coherence: how much of a candidate's story-like text sits in its single best
    // paragraph group (the text owned by one element, its children and, at half weight, its
    // grandchildren: bodies split into sibling wrappers between ads stay one group). An
    // article body is one such group; a page-wide wrapper that also spans a list of
    // teasers is many small ones, and is discounted by the share outside its best group.
    let mut core = vec![0.0f64; n];
    for (b, &w) in flat.blocks.iter().zip(weights) {
        if w <= 0.0 {
            continue;
        }
        core[b.elem] += w;
        let p = flat.elems[b.elem].parent;
        if p != usize::MAX {
            core[p] += w;
            let g = flat.elems[p].parent;
            if g != usize::MAX {
                core[g] += 0.5 * w;
            }
        }
    }
    for i in (1..n).rev() {
        let p = flat.elems[i].parent;
        // A paragraph group inside boilerplate is nobody's story above it.
        if p != usize::MAX && core[i] > core[p] && !neg[i] {
            core[p] = core[i];
        }
    }
    // A container inside a boilerplate element (one comment of a thread, one teaser of a
    // "related" list) is a poor candidate even when it holds a long paragraph.
    let mut under_negative = vec![false; n];
    for i in 0..n {
        let p = flat.elems[i].parent;
        if p != usize::MAX {
            under_negative[i] = under_negative[p] || neg[p];
        }
    }
    // Candidates inside boilerplate (one comment of a thread, one slide of a gallery) only
    // compete when nothing outside holds any story text at all.
    let mut best = (0, f64::MIN);
    let mut best_inside_boilerplate = (0, f64::MIN);
    for i in 0..n {
        let mut s = score[i];
        if s > 0.0 {
            if mass[i] > 0.0 {
                s *= (core[i] / mass[i]).min(1.0).sqrt();
            }
            s *= match flat.elems[i].hint {
                2 => 1.25,
                1 => 1.1,
                _ => 1.0,
            };
        }
        let slot = if under_negative[i] {
            &mut best_inside_boilerplate
        } else {
            &mut best
        };
        // `>=` prefers the deeper of equal candidates (children come after parents).
        if s >= slot.1 {
            *slot = (i, s);
        }
    }
    if best.1 <= 0.0 && best_inside_boilerplate.1 > 0.0 {
        best = best_inside_boilerplate;
    }
    // No story-like text anywhere (a stub page, a few short lines): take the whole
    // document and let the block filters do what they can.
    if best.1 <= 0.0 { 0 } else { best.0 }
}

/// Which of the container's blocks (`inside`, in order) are story text.
fn select_blocks(
    flat: &Flat,
    weights: &[f64],
    neg: &[bool],
    container: usize,
    inside: &[usize],
    title: Option<&str>,
) -> Vec<bool> {
    let mut keep: Vec<bool> = inside
        .iter()
        .map(|&i| {
            let b = &flat.blocks[i];
            let ld = b.link_chars as f64 / (b.chars.max(1)) as f64;
            !(ld > link_limit(b)
                || is_teaser(b)
                || boilerplate_between(neg, flat, b.elem, container)
                || is_junk_line(&b.text)
                || is_byline_line(&b.text)
                || (b.kind == Kind::Heading(1) && title.is_some_and(|t| same_title(t, &b.text))))
        })
        .collect();
    let good: Vec<bool> = inside.iter().map(|&i| weights[i] > 0.0).collect();
    let Some(first) = good.iter().position(|g| *g) else {
        return keep;
    };
    let meta: Vec<bool> = inside
        .iter()
        .map(|&i| looks_like_meta(&flat.blocks[i]))
        .collect();
    // Before the first story paragraph: bylines, dates, share bars and the headline again
    // (a heading that shares most words with the title, like an H1 beside a longer
    // og:title). Short blocks that are none of these (a standfirst, a first subheading)
    // stay.
    for ((k, m), &i) in keep.iter_mut().zip(&meta).zip(inside).take(first) {
        let b = &flat.blocks[i];
        let headline = b.text.split_whitespace().count() <= 20
            && title.is_some_and(|t| word_overlap(t, &b.text) >= 0.6);
        *k &= !*m && !headline;
    }
    if let Some(cut) = trailing_widget_start(weights, inside, &good) {
        keep.iter_mut().skip(cut).for_each(|k| *k = false);
    }
    if let Some(cut) = stop_marker_position(flat, inside, &good, first) {
        keep.iter_mut().skip(cut).for_each(|k| *k = false);
    }
    // After the last story paragraph: tags, share prompts, "posted in", pagers.
    if let Some(last) = good.iter().rposition(|g| *g) {
        for (k, m) in keep.iter_mut().zip(&meta).skip(last + 1) {
            *k &= !*m;
        }
    }
    // The story's own last lines may be credits and sign-offs ("Reporting by …", "Jane Doe
    // contributed to this report.", "Follow us on Twitter"), sentences though they are.
    for k in (0..inside.len()).rev() {
        if !keep[k] {
            continue;
        }
        if !is_sign_off(&flat.blocks[inside[k]].text) {
            break;
        }
        keep[k] = false;
    }
    keep
}

/// Whether a closing line credits reporters or points elsewhere rather than telling the
/// story.
fn is_sign_off(text: &str) -> bool {
    if text.split_whitespace().count() > 40 {
        return false;
    }
    let lower = text.to_lowercase();
    const CONTAINS: &[&str] = &[
        "contributed to this report",
        "contributed to this story",
        "contributed reporting",
        "contributed to this article",
        "additional reporting by",
        "all rights reserved",
        "this story has been updated",
        "this article has been updated",
        "if you enjoyed this article",
    ];
    const STARTS: &[&str] = &[
        "reporting by",
        "editing by",
        "writing by",
        "follow ",
        "email ",
        "listen to ",
        "updated at",
        "©",
        "copyright",
        "(reporting",
    ];
    CONTAINS.iter().any(|c| lower.contains(c)) || STARTS.iter().any(|s| lower.starts_with(s))
}

/// Where a trailing widget starts, as an index into the container's blocks.
///
/// A long run of short, non-story blocks (a staff list, a link farm) splits the container
/// into segments; good text after such a run, if it weighs less than half the main
/// segment, is a widget ("Support our journalism …") rather than the story's ending, and so
/// is everything after it.
fn trailing_widget_start(weights: &[f64], inside: &[usize], good: &[bool]) -> Option<usize> {
    const SEPARATING_RUN: usize = 6;
    let mut segments: Vec<(usize, f64)> = Vec::new();
    let mut bad_run = 0;
    let mut mass = 0.0;
    for (k, &g) in good.iter().enumerate() {
        if g {
            if bad_run >= SEPARATING_RUN && mass > 0.0 {
                // The segment ends where its trailing run of non-story blocks begins.
                segments.push((k - bad_run, mass));
                mass = 0.0;
            }
            bad_run = 0;
            mass += weights[inside[k]];
        } else {
            bad_run += 1;
        }
    }
    segments.push((inside.len(), mass));
    let main = segments
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map_or(0, |(i, _)| i);
    let main_mass = segments[main].1;
    (main + 1..segments.len())
        .find(|&i| segments[i].1 < 0.5 * main_mass)
        .map(|i| segments[i - 1].0)
}

/// Where a "Related stories" / "You may also like" heading cuts the story off.
///
/// Only a marker standing beside the story's own paragraphs counts: the same words inside
/// a box nested in the story are an inline "related" box, dropped on its own.
fn stop_marker_position(
    flat: &Flat,
    inside: &[usize],
    good: &[bool],
    first: usize,
) -> Option<usize> {
    let mut last_good_parent = usize::MAX;
    for (k, &i) in inside.iter().enumerate().skip(first) {
        let b = &flat.blocks[i];
        let parent = flat.elems[b.elem].parent;
        if good[k] {
            last_good_parent = parent;
        } else if parent == last_good_parent && is_stop_marker(b, flat.elems[b.elem].hint) {
            return Some(k);
        }
    }
    None
}

/// Whether a short block is page furniture around a story: a byline, a date, a reading
/// time, a label, a count.
fn looks_like_meta(b: &Block) -> bool {
    let text = b.text.as_str();
    let words = text.split_whitespace().count();
    if words <= 2 || b.link_chars * 10 >= b.chars * 3 {
        return true;
    }
    let lower = text.to_lowercase();
    const STARTS: &[&str] = &[
        "by ",
        "email ",
        "contact ",
        "posted",
        "written by",
        "published",
        "updated",
        "last updated",
        "from ",
        "par ",
        "von ",
        "por ",
        "di ",
        "door ",
        "share",
        "tags",
        "filed",
        "categories",
        "category",
        "source",
        "photo",
        "image",
        "credit",
        "comments",
        "leave a",
        "read more",
        "related",
        "advertisement",
        "sponsored",
        "follow",
        "subscribe",
        "sign up",
        "copyright",
        "©",
    ];
    if STARTS.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    if is_byline_line(text) {
        return true;
    }
    // Photo credits ("Patrick Semansky, ASSOCIATED PRESS") and pagers ("1 - 5 of 36").
    const CREDITS: &[&str] = &[
        "associated press",
        "getty images",
        "reuters",
        "afp",
        "ap photo",
        "shutterstock",
        "istock",
        "staff photographer",
    ];
    if words <= 8 && CREDITS.iter().any(|c| lower.contains(c)) {
        return true;
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if words <= 6 && letters * 2 < b.chars {
        return true;
    }
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    const DATE_WORDS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "am",
        "pm", "ago", "min", "read", "gmt", "utc", "est", "et", "pt",
    ];
    has_digit
        && words <= 12
        && lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| DATE_WORDS.iter().any(|d| w.starts_with(d) && w.len() <= 9))
}

/// Whether a line credits the author: "05/10/2018 - Published by: Jane - Category: Health",
/// in a few languages.
fn is_byline_line(text: &str) -> bool {
    if text.split_whitespace().count() > 30 {
        return false;
    }
    let lower = text.to_lowercase();
    const MARKERS: &[&str] = &[
        "posted by",
        "written by",
        "published by",
        "publicado por",
        "publié par",
        "veröffentlicht von",
        "pubblicato da",
    ];
    // In running text "published by the city" is ordinary prose; a credit line starts with
    // the phrase or gives it a colon.
    MARKERS.iter().any(|p| {
        lower.starts_with(p)
            || lower
                .match_indices(p)
                .any(|(at, _)| lower[at + p.len()..].trim_start().starts_with(':'))
    })
}

/// Share of the words of the shorter text that also occur in the longer one.
fn word_overlap(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0.0;
    }
    short.iter().filter(|w| long.contains(w)).count() as f64 / short.len() as f64
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
    let len = text.chars().count();
    // Bare URLs and file names leaking from widgets and image metadata.
    let url_chars: usize = text
        .split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www."))
        .map(str::len)
        .sum();
    if url_chars * 2 >= text.len() {
        return true;
    }
    // Captions that carry their credit inline: "Protesters march (Image: GETTY)".
    if len <= 300 && text.trim_end().ends_with(')') {
        let lower = text.to_lowercase();
        if [
            "(image:",
            "(photo:",
            "(picture:",
            "(credit:",
            "(photo by",
            "(ap photo",
            "(getty",
        ]
        .iter()
        .any(|m| lower.contains(m))
        {
            return true;
        }
    }
    if len <= 300 {
        let lower = text.to_lowercase();
        // Newsletter and sign-up promos: "Let our news meet your inbox. The news and
        // stories that matter, delivered weekday mornings."
        const PROMO: &[&str] = &[
            "sign up",
            "subscribe",
            "newsletter",
            "inbox",
            "delivered to",
            "delivered weekday",
            "delivered daily",
            "free daily",
        ];
        if PROMO.iter().filter(|p| lower.contains(*p)).count() >= 2 {
            return true;
        }
        // Time stamps: "PUBLISHED: 10:48, Tue, Nov 19, 2019 | UPDATED: 11:05, …".
        if len <= 120
            && ["published:", "updated:", "last updated:", "posted:"]
                .iter()
                .any(|p| lower.starts_with(p))
        {
            return true;
        }
        // Gallery counters: "Image 3 of 5".
        let words: Vec<&str> = lower.split_whitespace().collect();
        let counter = match words.as_slice() {
            [kind, n, "of", m] => {
                ["image", "photo", "picture", "slide"].contains(kind)
                    && n.chars().all(|c| c.is_ascii_digit())
                    && m.chars().all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
        if counter {
            return true;
        }
    }
    if len > 60 {
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
        "don't miss",
        "don’t miss",
        "recommended",
        "most popular",
        "trending",
        "more on this story",
        "scroll to continue with content",
        "advert",
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
        "published:",
        "updated:",
        "last updated:",
        "posted:",
    ];
    PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Whether a line reads like a paywall notice.
fn is_paywall_text(text: &str) -> bool {
    if text.chars().count() > 300 {
        return false;
    }
    let lower = text.to_lowercase();
    // Phrases a wall uses to ask for money or a login; generic ones ("subscription
    // required" is how Wikipedia marks a paywalled citation) are left out.
    const MARKERS: &[&str] = &[
        "subscribe to continue",
        "subscribe to read",
        "subscribe now to",
        "subscribers only",
        "subscriber-only",
        "already a subscriber",
        "this article is reserved for",
        "this content is reserved for",
        "log in to continue reading",
        "sign in to continue reading",
        "register to continue reading",
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

/// Longest site name kept (it is stored and shown in every "Full Story" line).
const MAX_SITE_NAME_CHARS: usize = 100;

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
                let is_canonical = rel
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"));
                if let Some(href) = v.attr("href").filter(|_| is_canonical) {
                    canonical.get_or_insert(href.trim().to_string());
                }
            }
            "title" if doc_title.is_none() => {
                doc_title =
                    Some(clean_text(&el.text().collect::<String>())).filter(|t| !t.is_empty());
            }
            "h1" if h1.is_none() => {
                h1 = Some(clean_text(&el.text().collect::<String>())).filter(|t| !t.is_empty());
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

    let site_name = og_site
        .or(app_name)
        .or(ld.publisher)
        .map(|s| crate::parse::clip(&s, MAX_SITE_NAME_CHARS));
    // og:title sometimes carries the site name too ("Headline | Site"); only a tail that
    // is the known site name is cut from it, while the <title> tag gets the usual guess.
    let title = og_title
        .map(|t| strip_site_suffix(&t, site_name.as_deref(), false))
        .or(ld.headline)
        .or_else(|| doc_title.map(|t| strip_site_suffix(&t, site_name.as_deref(), true)))
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

    /// A page shaped like a WordPress news post: navigation, the story, share bar, related
    /// posts, comments, sidebar and footer.
    const PAGE: &str = r##"<!DOCTYPE html><html><head>
<title>Council approves budget | Springfield Times</title>
<meta property="og:title" content="Council approves budget">
<meta property="og:site_name" content="Springfield Times">
<meta property="og:description" content="The vote ends a long debate.">
<meta property="article:published_time" content="2024-03-05T14:30:00-05:00">
<link rel="canonical" href="/news/council-budget">
<script>var tracking = "<p>not text</p>";</script>
<style>p { color: red }</style>
</head><body>
<nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sports">Sports</a></li></ul></nav>
<div id="page"><main>
<article class="post">
<h1>Council approves budget</h1>
<div class="byline">By Jane Doe</div>
<div class="entry-content">
<p>The Springfield city council approved a budget on Tuesday that raises spending on parks and libraries by twelve percent, ending months of debate.</p>
<p>The vote was seven to two. Members who opposed it said property taxes would have to rise next year to pay for the new programs.</p>
<h2>What changes</h2>
<p>Library hours will be extended on weekends, and three parks will get new playgrounds, according to the plan published by the city manager.</p>
<p>The mayor, who proposed the increase in January, called the vote a good day for families and said the city could afford it.</p>
</div>
<div class="share-buttons"><a href="#">Facebook</a> <a href="#">Twitter</a> Share this story</div>
</article>
<section class="related-posts"><h3>Related posts</h3>
<article><h4><a href="/a">Schools ask for more money</a></h4><p>The school board wants a larger share of the budget, and it says enrollment is growing faster than expected this year.</p></article>
<article><h4><a href="/b">Parks department hires director</a></h4><p>The new director comes from a neighboring city, where she ran the recreation programs for a decade and more.</p></article>
</section>
<div id="comments" class="comments-area"><ol class="comment-list">
<li class="comment"><p>This is a great decision for our town, and I hope the council keeps investing in parks like this for years.</p></li>
<li class="comment"><p>Taxes are already too high in Springfield, and this budget will make it worse for every family on a fixed income.</p></li>
</ol></div>
</main>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/x">Storm hits coast</a></li><li><a href="/y">Team wins title</a></li></ul></aside>
</div>
<footer><p>© 2024 Springfield Times. All rights reserved. Contact us at the newsroom any time of the day.</p></footer>
</body></html>"##;

    fn page_url() -> url::Url {
        url::Url::parse("https://times.example.com/news/council-budget?utm=x").expect("url")
    }

    #[test]
    fn the_story_is_extracted_without_navigation_comments_or_related_posts() {
        let a = extract(PAGE, Some(&page_url()));
        assert_eq!(a.blocks.len(), 5, "{:#?}", a.blocks);
        assert!(a.blocks[0].starts_with("The Springfield city council approved"));
        assert_eq!(a.blocks[2], "What changes");
        assert!(a.blocks[4].starts_with("The mayor"));
        let text = a.text();
        for absent in [
            "Home",
            "By Jane Doe",
            "Share this",
            "Schools ask",
            "great decision",
            "©",
        ] {
            assert!(!text.contains(absent), "{absent} leaked into {text}");
        }
    }

    #[test]
    fn metadata_comes_from_open_graph_and_canonical_link() {
        let a = extract(PAGE, Some(&page_url()));
        assert_eq!(a.title.as_deref(), Some("Council approves budget"));
        assert_eq!(a.site_name.as_deref(), Some("Springfield Times"));
        assert_eq!(
            a.description.as_deref(),
            Some("The vote ends a long debate.")
        );
        assert_eq!(
            a.canonical_url.as_ref().map(url::Url::as_str),
            Some("https://times.example.com/news/council-budget")
        );
        let published = a.published.expect("published");
        assert_eq!(published.to_rfc3339(), "2024-03-05T19:30:00+00:00");
        assert!(!a.paywalled);
    }

    #[test]
    fn article_text_joins_blocks_with_blank_lines() {
        let a = Article {
            blocks: vec!["One.".into(), "Two.".into()],
            ..Article::default()
        };
        assert_eq!(a.text(), "One.\n\nTwo.");
    }

    #[test]
    fn title_falls_back_to_the_document_title_without_the_site_suffix() {
        let html = "<html><head><title>Water rates rise in July - Springfield Times</title></head><body><p>x</p></body></html>";
        assert_eq!(
            extract(html, None).title.as_deref(),
            Some("Water rates rise in July")
        );
        let html = r#"<html><head><meta property="og:site_name" content="my6sense"><meta property="og:title" content="Ad platform names a new officer | my6sense"></head></html>"#;
        assert_eq!(
            extract(html, None).title.as_deref(),
            Some("Ad platform names a new officer")
        );
    }

    #[test]
    fn json_ld_supplies_date_publisher_and_paywall_flag() {
        let html = r#"<html><head><script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[{"@type":"NewsArticle","headline":"Caf\u00e9 opens",
             "datePublished":"2024-01-02T08:00:00Z","isAccessibleForFree":false,
             "publisher":{"@type":"Organization","name":"Daily \"Bugle\""}}]}
            </script></head><body><p>Short teaser.</p></body></html>"#;
        let a = extract(html, None);
        assert_eq!(a.title.as_deref(), Some("Café opens"));
        assert_eq!(a.site_name.as_deref(), Some("Daily \"Bugle\""));
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-02T08:00:00+00:00")
        );
        assert!(a.paywalled);
    }

    #[test]
    fn a_subscribe_to_continue_notice_marks_the_article_paywalled() {
        let html = "<html><body><article><p>The first paragraph of the story is free to read for everyone, as usual, and it is long.</p><p>Subscribe to continue reading this article.</p></article></body></html>";
        assert!(extract(html, None).paywalled);
    }

    #[test]
    fn a_time_element_dates_the_article_when_meta_tags_do_not() {
        let html =
            r#"<html><body><time datetime="2023-11-20">Nov 20</time><p>Text.</p></body></html>"#;
        let a = extract(html, None);
        assert_eq!(
            a.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-11-20T00:00:00+00:00")
        );
    }

    #[test]
    fn relative_canonical_links_need_a_page_url() {
        let html = r#"<html><head><link rel="canonical" href="/story"><meta property="og:url" content="https://x.example/og"></head><body></body></html>"#;
        assert_eq!(
            extract(html, None)
                .canonical_url
                .map(|u| u.to_string())
                .as_deref(),
            Some("https://x.example/og")
        );
    }

    #[test]
    fn cjk_paragraphs_count_as_story_text() {
        let html = "<html><body><div class=\"menu\"><a href=\"/\">ホーム</a></div><div class=\"post\">\
            <p>先日、不正に改造したスマートフォンを販売したとして、商標法違反の疑いで男性が逮捕されたというニュースを耳にしました。</p>\
            <p>報道によると、今回販売されたのは、いわゆる脱獄した端末で、非公式のアプリを利用できるようにしたものです。</p></div></body></html>";
        let a = extract(html, None);
        assert_eq!(a.blocks.len(), 2, "{:?}", a.blocks);
    }

    #[test]
    fn a_page_without_story_text_keeps_what_little_there_is() {
        let a = extract("<html><body><p>Hello world</p></body></html>", None);
        assert_eq!(a.blocks, vec!["Hello world"]);
        assert_eq!(extract("", None).blocks, Vec::<String>::new());
        assert_eq!(extract("<<<>>>&&&", None).title, None);
    }

    #[test]
    fn deeply_nested_markup_does_not_overflow_the_stack() {
        let html = "<div>".repeat(5000) + "text" + &"</div>".repeat(5000);
        let _ = extract(&html, None);
    }

    /// The deepest element of a parsed tree (document = 0), counted without recursion.
    fn tree_depth(doc: &Html) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(doc.tree.root(), 0usize)];
        while let Some((node, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            stack.extend(node.children().map(|c| (c, depth + 1)));
        }
        deepest
    }

    #[test]
    fn a_page_nested_twenty_thousand_deep_is_parsed_only_to_the_depth_limit() {
        // html5ever walks its stack of open elements for every start tag, so an unbounded
        // depth costs time quadratic in the page size; the parse stops at the limit instead.
        let n = 20_000;
        let html = "<div>".repeat(n) + "deep" + &"</div>".repeat(n);
        for doc in [parse_document(&html), parse_fragment(&html)] {
            let depth = tree_depth(&doc);
            assert!(
                depth <= PARSE_DEPTH + PARSE_CHUNK,
                "tree {depth} deep, limit {PARSE_DEPTH}"
            );
        }
        // Still extracts (to nothing: the text lies below the limit) without overflowing.
        assert!(extract(&html, None).blocks.len() <= 1);
        assert!(html_to_blocks(&html).len() <= 1);
    }

    #[test]
    fn nesting_within_the_limit_is_parsed_whole() {
        let n = MAX_DEPTH as usize - 10;
        let html = "<div>".repeat(n) + "<p>deep text</p>" + &"</div>".repeat(n) + "<p>after</p>";
        assert_eq!(html_to_blocks(&html), ["deep text", "after"]);
        let page = format!("<html><body>{html}</body></html>");
        assert_eq!(extract(&page, None).blocks, ["deep text", "after"]);
    }

    #[test]
    fn raw_text_stripping_keeps_json_ld_and_survives_comments_and_case() {
        let html = "<SCRIPT>a<b</SCRIPT><!-- <script> --><p>x</p><script type=\"application/ld+json\">{\"a\":1}</script><style>p{}</STYLE>";
        assert_eq!(
            strip_raw_text(html),
            "<SCRIPT></SCRIPT><!-- <script> --><p>x</p><script type=\"application/ld+json\">{\"a\":1}</script><style></STYLE>"
        );
        assert!(matches!(
            strip_raw_text("<p>plain</p>"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

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

    #[test]
    fn json_ld_article_body_stands_in_for_a_page_rendered_by_script() {
        let body = "First paragraph of a story that the page only renders with JavaScript, so the markup holds nothing.\nSecond paragraph, with an escaped ampersand: Smith &amp; Sons said the deal closed on Friday afternoon.";
        let html = format!(
            r#"<html><head><script type="application/ld+json">{{"@type":"NewsArticle","articleBody":"{}"}}</script></head><body><div id="app"></div></body></html>"#,
            body.replace('\n', "\\n")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 2, "{:?}", a.blocks);
        assert!(a.blocks[1].contains("Smith & Sons"));
    }

    #[test]
    fn fragment_from_a_wordpress_feed_keeps_paragraphs_and_drops_feedburner_widgets() {
        let html = r#"<p>Leaders who listen build teams that stay.</p>
            <p>A survey of 2,000 workers shows why. <a class="more-link" href="/x">Continue reading <span class="meta-nav">&rarr;</span></a></p>
            <div class="feedflare"><a href="http://feeds.feedburner.com/~ff/x?a=1"><img src="http://feeds.feedburner.com/~ff/x?d=yIl2AUoC8zA" border="0"></img></a> Share on Facebook</div>
            <img src="http://feeds.feedburner.com/~r/x/~4/abc" height="1" width="1" alt=""/>
            <p>The post <a href="/why">Why Listening Matters</a> appeared first on <a href="/">Thought Leaders</a>.</p>"#;
        assert_eq!(
            html_to_blocks(html),
            vec![
                "Leaders who listen build teams that stay.",
                "A survey of 2,000 workers shows why. Continue reading →",
                "The post Why Listening Matters appeared first on Thought Leaders.",
            ]
        );
    }

    fn paragraph(n: usize, topic: &str) -> String {
        format!(
            "<p>Paragraph {n} about {topic} explains, in plain words and at some length, what happened and why it matters to the people who live here.</p>"
        )
    }

    #[test]
    fn a_short_post_is_chosen_over_a_long_comment_thread() {
        let comments: String = (0..12)
            .map(|i| {
                format!(
                    "<li class=\"comment\">{}</li>",
                    paragraph(i, "a reader's view")
                )
            })
            .collect();
        let html = format!(
            "<html><body><article class=\"post\"><h1>Open thread</h1>{}{}</article><section id=\"comments\"><ol class=\"comment-list\">{comments}</ol></section></body></html>",
            paragraph(1, "the thread"),
            paragraph(2, "the thread")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 2, "{:?}", a.blocks);
        assert!(a.blocks.iter().all(|b| b.contains("the thread")));
    }

    #[test]
    fn a_gallery_inside_the_story_does_not_pull_the_container_into_it() {
        let slides: String = (0..30)
            .map(|i| format!("<li><h2>{i}/30 Slide</h2>{}</li>", paragraph(i, "a photo")))
            .collect();
        let html = format!(
            "<html><body><div class=\"article-body\">{}{}<div class=\"gallery\"><ul>{slides}</ul></div>{}</div></body></html>",
            paragraph(1, "the story"),
            paragraph(2, "the story"),
            paragraph(3, "the story")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
        assert!(a.blocks.iter().all(|b| b.contains("the story")));
    }

    #[test]
    fn teaser_lists_beside_the_story_are_left_out() {
        let teasers: String = (0..10)
            .map(|i| format!("<li><a href=\"/s{i}\">Headline number {i} about something else</a> Officials said the other thing happened on Monday, and more.</li>"))
            .collect();
        let html = format!(
            "<html><body><div class=\"story\">{}{}{}</div><ul class=\"latest\">{teasers}</ul></body></html>",
            paragraph(1, "the story"),
            paragraph(2, "the story"),
            paragraph(3, "the story")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }

    #[test]
    fn reporter_credits_and_copyright_lines_at_the_end_are_dropped() {
        let html = format!(
            "<html><body><div class=\"story\">{}{}<p>Reporting by Jane Roe; editing by John Doe.</p><p>© 2019 The Associated Press. All rights reserved.</p></div></body></html>",
            paragraph(1, "the story"),
            paragraph(2, "the story")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 2, "{:?}", a.blocks);
    }

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

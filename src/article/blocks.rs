//! HTML → blocks: a page or fragment parsed with a depth bound, then flattened once into
//! paragraph-level runs of clean text, each tied to the element that owns it.
//!
//! Input is HTML text; output is a [`Flat`]: the elements scoring needs (parent, tag, and a
//! boilerplate hint from `boilerplate::element_hint`) and the blocks in reading order with
//! their link text counted. Inline `<script>` and `<style>` bodies are emptied before
//! parsing ([`strip_raw_text`]), and parsing stops at [`PARSE_DEPTH`], so hostile nesting
//! costs linear time. Pure: no I/O, no clock, no globals.

use html5ever::tree_builder::{NodeOrText, TreeSink};
use scraper::{ElementRef, Html, Node};

use super::boilerplate::{ClassHasher, ClassWords, element_hint};

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
pub(super) enum Kind {
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
pub(super) struct Elem {
    /// Index of the parent in [`Flat::elems`]; `usize::MAX` for the root.
    pub(super) parent: usize,
    /// Tag name, lowercase.
    pub(super) tag: &'static str,
    /// Boilerplate likelihood from tag, class, id and role: negative means "not the story".
    pub(super) hint: i8,
}

/// A paragraph-level run of text.
#[derive(Debug)]
pub(super) struct Block {
    /// Whitespace-collapsed text.
    pub(super) text: String,
    /// Index of the innermost block-level element that holds the text.
    pub(super) elem: usize,
    /// Non-whitespace characters.
    pub(super) chars: usize,
    /// Non-whitespace characters inside links.
    pub(super) link_chars: usize,
    /// Non-whitespace characters of the link the block opens with (0 if it opens with text);
    /// a teaser is a headline link followed by its blurb.
    pub(super) lead_link: usize,
    /// What owns the text.
    pub(super) kind: Kind,
}

/// The DOM as blocks and their owning elements.
#[derive(Debug, Default)]
pub(super) struct Flat {
    pub(super) elems: Vec<Elem>,
    pub(super) blocks: Vec<Block>,
}

/// Elements whose text is never the story's.
///
/// `rt` and `rp` are ruby annotations (the readings printed over East Asian characters and
/// their fallback parentheses): read inline they would interleave every word with its
/// pronunciation, so the text keeps the base characters only.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "video", "audio", "select", "option", "button", "input", "textarea", "head", "title",
    "meta", "link", "map", "dialog", "rt", "rp",
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

/// Which of [`SKIP_TAGS`], [`INLINE_TAGS`] and [`BLOCK_TAGS`] a tag is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagClass {
    Skip,
    Inline,
    Block,
    Other,
}

/// The class of a tag, looked up once per element: the lists are short, but scanning
/// three of them string by string for every element of a page added up.
fn tag_class(tag: &str) -> TagClass {
    // The lists are few and short enough that a match of the first byte narrows them to
    // a handful of comparisons; the lists themselves stay the definition.
    let Some(&first) = tag.as_bytes().first() else {
        return TagClass::Other;
    };
    let has = |list: &[&str]| list.iter().any(|t| t.as_bytes()[0] == first && *t == tag);
    if has(SKIP_TAGS) {
        TagClass::Skip
    } else if has(INLINE_TAGS) {
        TagClass::Inline
    } else if has(BLOCK_TAGS) {
        TagClass::Block
    } else {
        TagClass::Other
    }
}

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
pub(super) struct Attrs<'a> {
    pub(super) class: &'a str,
    pub(super) id: &'a str,
    pub(super) role: &'a str,
    pub(super) itemprop: &'a str,
    pub(super) style: &'a str,
    pub(super) hidden: bool,
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
    /// What each class list seen so far says (see `boilerplate::element_hint`).
    class_words: ClassWords,
    /// Each tag name seen so far, with its class and interned name: a page uses a few
    /// dozen tag names over a thousand elements, and the atom compares as one integer.
    tags: std::collections::HashMap<
        html5ever::LocalName,
        (TagClass, &'static str),
        std::hash::BuildHasherDefault<ClassHasher>,
    >,
}

/// Flattens the tree under `root` into blocks; `skip` drops whole subtrees.
pub(super) fn flatten<F>(root: ElementRef<'_>, skip: F) -> Flat
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
        class_words: ClassWords::default(),
        tags: Default::default(),
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
        let name = &el.value().name.local;
        let (class, interned) = match self.tags.get(name) {
            Some(&known) => known,
            None => {
                let known = (tag_class(name), intern_tag(name));
                self.tags.insert(name.clone(), known);
                known
            }
        };
        let tag: &str = name;
        if class == TagClass::Skip {
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
        let hint = if class == TagClass::Inline {
            0
        } else {
            element_hint(&attrs, tag, || self.class_words.get(attrs.class))
        };
        self.flat.elems.push(Elem {
            parent,
            tag: interned,
            hint,
        });
        let block = class == TagClass::Block;
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
pub(super) fn clean_text(raw: &str) -> String {
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
    let first = tag.as_bytes().first().copied();
    KNOWN
        .iter()
        .find(|k| k.as_bytes().first().copied() == first && **k == tag)
        .copied()
        .unwrap_or("other")
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
pub(super) fn parse_document(html: &str) -> Html {
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
    depth: std::cell::RefCell<std::collections::HashMap<Handle, usize, NodeIdHash>>,
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

/// Hashing for [`DepthSink`]'s map: node ids are small integers, so one multiplication
/// spreads them well enough; SipHash, the default, cost as much as the rest of the sink.
type NodeIdHash = std::hash::BuildHasherDefault<NodeIdHasher>;

/// See [`NodeIdHash`]: folds whatever it is given, then multiplies (Fibonacci hashing).
#[derive(Default)]
struct NodeIdHasher(u64);

impl std::hash::Hasher for NodeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(32) ^ n as u64;
    }

    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

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

/// Empties `<script>` (except JSON-LD) and `<style>` elements before parsing.
///
/// Half the bytes of a typical news page are inline script and CSS, which the tokenizer
/// would otherwise copy character by character only for us to throw away. The scan follows
/// the tokenizer's own rule (raw text ends at the first `</script` or `</style`) and steps
/// over comments, so it removes exactly what the parser would have put in those elements.
pub(super) fn strip_raw_text(html: &str) -> std::borrow::Cow<'_, str> {
    lean(html, false, true)
}

/// Position of the first `</name` at or after `from`, name matched ASCII case-insensitively.
fn find_end_tag(html: &str, from: usize, name: &[u8]) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut i = from;
    loop {
        // A search for the one character `<` (memchr, a word at a time) is much cheaper
        // than a substring search set up afresh for every `</` in a long script, or a
        // byte-by-byte loop.
        let p = i + html.get(i..)?.find('<')?;
        if bytes.get(p + 1) == Some(&b'/') && starts_with_ci(&bytes[p + 2..], name) {
            return Some(p);
        }
        i = p + 1;
    }
}

/// Whether `hay` starts with `needle`, ASCII case-insensitively.
fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Position of `needle` in `hay` at or after `from`, ASCII case-insensitively.
pub(super) fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
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

/// Attributes whose values no part of extraction reads and which make up much of a modern
/// page's markup (resource URLs, responsive-image lists, data blobs, SVG paths, event
/// handlers, tooltips): [`drop_unread_attributes`] removes them before parsing. `href`
/// is read on `<link>` (the canonical URL) and kept there. Reading one of these anywhere
/// in `article` means taking it off this list.
const UNREAD_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "sizes",
    "d",
    "alt",
    "title",
    "target",
    "width",
    "height",
    "loading",
    "decoding",
    "viewbox",
    "xmlns",
    "xlink:href",
    "tabindex",
    "value",
];

/// Prefixes of further unread attribute names (`data-*`, `on*` handlers, `aria-` labels).
const UNREAD_PREFIXES: &[&str] = &[
    "data-",
    "on",
    "aria-label",
    "aria-describedby",
    "aria-controls",
];

/// Elements whose content the tokenizer reads as text (or may, depending on where they
/// sit), up to their end tag: nothing in them is touched.
const TEXT_ELEMENTS: &[&[u8]] = &[
    b"script",
    b"style",
    b"title",
    b"textarea",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
];

/// Whether a lowercased attribute name is one extraction never reads.
fn is_unread(name: &[u8], tag: &[u8]) -> bool {
    let Some(first) = name.first().map(u8::to_ascii_lowercase) else {
        return false;
    };
    // The first byte rules out nearly every entry before a whole name is compared.
    let eq = |w: &&str| w.as_bytes()[0] == first && name.eq_ignore_ascii_case(w.as_bytes());
    let opens = |p: &&str| {
        p.as_bytes()[0] == first
            && name.len() >= p.len()
            && name[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    (UNREAD_ATTRIBUTES.iter().any(eq) || UNREAD_PREFIXES.iter().any(opens))
        && !(name.eq_ignore_ascii_case(b"href") && tag.eq_ignore_ascii_case(b"link"))
}

/// Whether a `<meta>` or `<link>` start tag is one extraction never reads, so the whole
/// tag can go before parsing: a `<link>` other than the canonical one (style sheets,
/// icons, preloads), a `<meta>` whose property, name and itemprop are none of the keys
/// `metadata` reads (viewport, verification codes, app ids). Both are void elements, so
/// the tree around them is built the same without them. A value with a character
/// reference is kept rather than decoded here.
fn is_unread_head_element(html: &str, name: &[u8], t: &TagScan) -> bool {
    let is_link = name.eq_ignore_ascii_case(b"link");
    if !is_link && !name.eq_ignore_ascii_case(b"meta") {
        return false;
    }
    let b = html.as_bytes();
    let named = |a: &AttrSpan, n: &[u8]| b[a.name.0..a.name.1].eq_ignore_ascii_case(n);
    let value = |a: &AttrSpan| &html[a.value.0..a.value.1];
    if t.attrs.iter().any(|a| value(a).contains('&')) {
        return false;
    }
    if is_link {
        !t.attrs
            .iter()
            .filter(|a| named(a, b"rel"))
            .any(|a| find_ascii_ci(value(a).as_bytes(), 0, b"canonical").is_some())
    } else {
        !t.attrs
            .iter()
            .filter(|a| named(a, b"property") || named(a, b"name") || named(a, b"itemprop"))
            .any(|a| super::metadata::reads_meta_key(value(a)))
    }
}

/// HTML whitespace as the tokenizer sees it (CR becomes LF before tokenizing).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// One tag read the way html5ever's tokenizer reads it: where it ends and which attribute
/// spans can be cut without changing how the rest of it reads.
struct TagScan {
    /// Just past the closing `>`.
    end: usize,
    /// Byte ranges of the attributes to cut.
    cuts: Vec<(usize, usize)>,
    /// End of the tag's name.
    name_end: usize,
    /// Whether the tag closes on `/>` read as the tokenizer reads it (not a `/` that ends
    /// an unquoted value, as in `<svg fill=none/>`).
    self_closing: bool,
    /// Name and value spans of each attribute, noted only for the head elements that
    /// [`is_unread_head_element`] judges (`<meta>`, `<link>`).
    attrs: Vec<AttrSpan>,
}

/// Where one attribute's name and value sit in the page.
struct AttrSpan {
    name: (usize, usize),
    value: (usize, usize),
}

/// Reads the tag whose name starts at `start` (just after `<` or `</`); `None` when the
/// page ends inside it (the tokenizer then drops it). Cuts are noted only when `cut`.
fn scan_tag(html: &str, start: usize, cut: bool) -> Option<TagScan> {
    let b = html.as_bytes();
    let mut i = start;
    while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let name_end = i;
    let tag = &b[start..name_end];
    let mut cuts = Vec::new();
    let note_attrs =
        cut && (tag.eq_ignore_ascii_case(b"meta") || tag.eq_ignore_ascii_case(b"link"));
    let mut attrs = Vec::new();
    // Where the last `/` read between attributes stood: a `/` right before `>` closes the
    // element at once.
    let mut slash_at = usize::MAX;
    loop {
        // Before (or after) attribute name.
        let before = i;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let c = *b.get(i)?;
        match c {
            b'>' => {
                return Some(TagScan {
                    end: i + 1,
                    cuts,
                    name_end,
                    self_closing: slash_at.wrapping_add(1) == i,
                    attrs,
                });
            }
            b'/' => {
                slash_at = i;
                i += 1;
                continue;
            }
            _ => {}
        }
        let spaced = i > before;
        // Attribute name: its first character may be `=`.
        let name_start = i;
        i += 1;
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = &b[name_start..i];
        let mut j = i;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        let mut attr_end = i;
        let mut value = (i, i);
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match *b.get(j)? {
                q @ (b'"' | b'\'') => {
                    // `str::find` of an ASCII character is a memchr.
                    let close = j + 1 + html[j + 1..].find(char::from(q))?;
                    attr_end = close + 1;
                    value = (j + 1, close);
                }
                b'>' => attr_end = j,
                _ => {
                    let from = j;
                    while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                    attr_end = j;
                    value = (from, j);
                }
            }
            i = attr_end;
        }
        if note_attrs {
            attrs.push(AttrSpan {
                name: (name_start, name_start + name.len()),
                value,
            });
        }
        // A cut attribute must stand after whitespace and before whitespace, `/` or `>`,
        // so what is left reads as before (no `/` meeting a `>`, no `=` meeting a name).
        // Nor may the cut leave whitespace and `=` after a valueless attribute: `<a class
        // src=1 =b>` would turn into `<a class  =b>`, giving `class` the value `b`.
        let next = b.get(attr_end).copied();
        let after_space = b[attr_end..].iter().position(|&c| !is_space(c));
        let equals_follows = after_space.is_some_and(|k| b[attr_end + k] == b'=');
        if cut
            && spaced
            && !equals_follows
            && next.is_none_or(|n| is_space(n) || n == b'>' || n == b'/')
            && is_unread(name, tag)
        {
            cuts.push((name_start, attr_end));
        }
    }
}

/// Position just past the first appropriate end tag `</name` (followed by whitespace,
/// `/` or `>`) at or after `from`, name matched ASCII case-insensitively.
fn find_appropriate_end(html: &str, from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    loop {
        let p = i + html.get(i..)?.find('<')?;
        if is_end_tag_at(html.as_bytes(), p, name) {
            return Some(p);
        }
        i = p + 1;
    }
}

/// Whether an end tag `</name` (followed by whitespace, `/` or `>`) opens at `p`, name
/// matched ASCII case-insensitively.
fn is_end_tag_at(b: &[u8], p: usize, name: &[u8]) -> bool {
    let n = p + 2 + name.len();
    b.get(p + 1) == Some(&b'/')
        && b.len() > n
        && b[p + 2..n].eq_ignore_ascii_case(name)
        && (is_space(b[n]) || matches!(b[n], b'/' | b'>'))
}

/// Whether an element whose start tag is `tag` (named `name`) has a body
/// [`strip_raw_text`] empties: a `<style>`, or a `<script>` other than JSON-LD.
fn is_strippable(name: &[u8], tag: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"style")
        || (name.eq_ignore_ascii_case(b"script") && find_ascii_ci(tag, 0, b"ld+json").is_none())
}

/// Just past the end of the comment opening at `p` (`<!--`): the first `-->` (its dashes
/// may be the opening ones: `<!-->`) or `--!>`. `None` when the page ends inside it.
fn comment_end(html: &str, p: usize) -> Option<usize> {
    let close = find_str(html, p + 2, "-->").map(|e| e + 3);
    let bang = html[..close.unwrap_or(html.len())]
        .get(p + 4..)
        .and_then(|body| find_str(body, 0, "--!>"))
        .map(|e| p + 4 + e + 4);
    bang.or(close)
}

/// HTML start tags that end foreign content (an `<svg>` or `<math>`) wherever they stand
/// in it: the parser closes the drawing and reads them as HTML. `font` does so only with
/// some attributes; it is listed whole.
const BREAKOUT_TAGS: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

/// SVG and MathML elements whose content the parser reads as HTML (HTML integration points
/// and MathML text integration points), lowercase.
const INTEGRATION_POINTS: &[&str] = &[
    "foreignobject",
    "desc",
    "title",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "annotation-xml",
];

/// Where the content of the `<svg>` or `<math>` element (`root`) whose start tag ends at
/// `from` ends: the position of its own end tag, when the content can go before parsing
/// without changing anything outside it. `None` (keep it) when the content holds a tag
/// that would end the drawing early (an HTML tag such as `<p>`, or an end tag of no
/// element opened inside it, which would close one outside), or anything else this scan
/// does not follow as the tokenizer does.
fn foreign_content_end(html: &str, from: usize, root: &[u8]) -> Option<usize> {
    let b = html.as_bytes();
    // The elements open inside, the drawing itself first, as the tree builder keeps them.
    let mut open: Vec<Vec<u8>> = vec![root.to_ascii_lowercase()];
    let mut i = from;
    loop {
        let p = i + html.get(i..)?.find('<')?;
        match b.get(p + 1).copied() {
            Some(b'!') if b[p..].starts_with(b"<!--") => i = comment_end(html, p)?,
            Some(b'!') if b[p..].starts_with(b"<![CDATA[") => i = find_str(html, p, "]]>")? + 3,
            Some(b'/') if b.get(p + 2).is_some_and(u8::is_ascii_alphabetic) => {
                // An end tag closes the innermost open element of its name and all inside it.
                let t = scan_tag(html, p + 2, false)?;
                let name = b[p + 2..t.name_end].to_ascii_lowercase();
                let at = open.iter().rposition(|n| *n == name)?;
                open.truncate(at);
                if open.is_empty() {
                    return Some(p);
                }
                i = t.end;
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let t = scan_tag(html, p + 1, false)?;
                let name = b[p + 1..t.name_end].to_ascii_lowercase();
                if BREAKOUT_TAGS.iter().any(|n| n.as_bytes() == name) {
                    return None;
                }
                // In foreign content only `/>` closes an element at once.
                if t.self_closing {
                    i = t.end;
                    continue;
                }
                // Inside an integration point (an icon's `<title>`, a `<foreignObject>`)
                // markup is read as HTML, with its own rules for raw text and end tags:
                // only plain text up to the element's own end tag is followed.
                if INTEGRATION_POINTS.iter().any(|n| n.as_bytes() == name) {
                    let q = t.end + html.get(t.end..)?.find('<')?;
                    if !is_end_tag_at(b, q, &name) {
                        return None;
                    }
                }
                open.push(name);
                i = t.end;
            }
            Some(b'!' | b'?' | b'/') => return None,
            _ => i = p + 1,
        }
    }
}

/// Whether a tag name is `pre` or `listing`, whose text keeps its line breaks.
fn is_preformatted(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"pre") || name.eq_ignore_ascii_case(b"listing")
}

/// Copies the text `html[from..to]` (read by the tokenizer as character data) into `out`
/// with each run of whitespace that holds a line break made one space, when it has one.
///
/// The tokenizer stops at every line break and hands it on as a token of its own, which
/// the tree builder then appends to the text before it: an indented page pays for two
/// or three tokens per line where one would do. A space is whitespace to the tree
/// builder exactly as a line break is (only the first line break in a `<pre>` or
/// `<listing>` is special, and those are left alone), and the text is read with its
/// whitespace collapsed ([`clean_text`]), so the tree and the text come out the same.
fn fold_line_breaks(html: &str, from: usize, to: usize, out: &mut String, copied: &mut usize) {
    let b = &html.as_bytes()[..to];
    let Some(first) = memchr::memchr2(b'\n', b'\r', &b[from..]) else {
        return;
    };
    out.push_str(&html[*copied..from]);
    let (mut start, mut k) = (from, from + first);
    loop {
        let mut s = k;
        while s > start && is_space(b[s - 1]) {
            s -= 1;
        }
        let mut e = k + 1;
        while e < to && is_space(b[e]) {
            e += 1;
        }
        out.push_str(&html[start..s]);
        out.push(' ');
        start = e;
        match memchr::memchr2(b'\n', b'\r', &b[e..]) {
            Some(off) => k = e + off,
            None => break,
        }
    }
    out.push_str(&html[start..to]);
    *copied = to;
}

/// Position of the first `needle` in `b` at or after `from`.
fn find_str(html: &str, from: usize, needle: &str) -> Option<usize> {
    let b = html.as_bytes();
    let (&first, rest) = needle.as_bytes().split_first()?;
    let mut i = from;
    loop {
        let p = i + html.get(i..)?.find(char::from(first))?;
        if b[p + 1..].starts_with(rest) {
            return Some(p);
        }
        i = p + 1;
    }
}

/// `html` without the attributes extraction never reads ([`UNREAD_ATTRIBUTES`]).
///
/// Tokenizing attributes is most of html5ever's work on a page whose scripts are gone
/// (class names, link and image URLs, `data-` blobs, SVG paths), and scraper then stores
/// and sorts them all. The scan follows the tokenizer's own rules: tags, comments,
/// doctypes and the text of `<script>`, `<style>`, `<title>`, `<textarea>` and the like
/// are told apart as it tells them apart, and an attribute is cut only where what is left
/// reads exactly as before. Where it is unsure it leaves the markup as it is.
#[cfg(test)]
fn drop_unread_attributes(html: &str) -> std::borrow::Cow<'_, str> {
    lean(html, true, false)
}

/// [`drop_unread_attributes`] and [`strip_raw_text`] in one pass over the page, as the
/// generic extractor wants it: the unread attributes cut and the bodies of `<script>`
/// (JSON-LD kept) and `<style>` emptied, as `strip_raw_text` empties them (up to the first
/// end tag of their name). One scan and one copy of the page instead of two of each.
pub(super) fn lean_markup(html: &str) -> std::borrow::Cow<'_, str> {
    lean(html, true, true)
}

/// The one scan behind [`lean_markup`], [`strip_raw_text`] and `drop_unread_attributes`:
/// `cut_attributes` says whether unread attributes go, `empty_raw_text` whether script
/// and style bodies do.
fn lean(html: &str, cut_attributes: bool, empty_raw_text: bool) -> std::borrow::Cow<'_, str> {
    let b = html.as_bytes();
    // The lean page is most often a third of the page or more: one allocation up front
    // (untouched memory until written) instead of a dozen doubling copies of a growing page.
    let mut out = String::with_capacity(html.len() / 2);
    let mut copied = 0;
    let mut i = 0;
    // Open `<pre>` and `<listing>` elements, where line breaks are kept as they are.
    let mut pre_depth = 0usize;
    // Whether drawings are still looked into: after one scan that failed, never again (the
    // scans then stay linear in the page's length).
    let mut foreign_scans = true;
    while let Some(off) = html.get(i..).and_then(|rest| rest.find('<')) {
        let p = i + off;
        if cut_attributes && pre_depth == 0 {
            fold_line_breaks(html, i, p, &mut out, &mut copied);
        }
        let next = b.get(p + 1).copied();
        match next {
            Some(b'!') => {
                if b[p..].starts_with(b"<!--") {
                    match comment_end(html, p) {
                        Some(e) => {
                            // Nothing reads comments: they go with the unread attributes.
                            if cut_attributes {
                                out.push_str(&html[copied..p]);
                                copied = e;
                            }
                            i = e
                        }
                        None => break,
                    }
                } else if b[p..].starts_with(b"<![CDATA[") {
                    // A CDATA section in a drawing or formula ends at `]]>`; anywhere else it
                    // is a bogus comment, ending at the first `>`. The scan does not follow
                    // which it is in, so it goes on only where both end at the same place.
                    match (find_str(html, p, "]]>"), html[p..].find('>')) {
                        (Some(e), Some(g)) if p + g == e + 2 => i = e + 3,
                        _ => break,
                    }
                } else {
                    // Doctype or bogus comment: up to the first `>`.
                    match html[p..].find('>') {
                        Some(e) => i = p + e + 1,
                        None => break,
                    }
                }
            }
            Some(b'?') => match html[p..].find('>') {
                Some(e) => i = p + e + 1,
                None => break,
            },
            Some(b'/') => match b.get(p + 2) {
                Some(c) if c.is_ascii_alphabetic() => match scan_tag(html, p + 2, false) {
                    Some(t) => {
                        if is_preformatted(&b[p + 2..t.name_end]) {
                            pre_depth = pre_depth.saturating_sub(1);
                        }
                        i = t.end
                    }
                    None => break,
                },
                Some(b'>') => i = p + 3,
                Some(_) => match html[p..].find('>') {
                    Some(e) => i = p + e + 1,
                    None => break,
                },
                None => break,
            },
            Some(c) if c.is_ascii_alphabetic() => {
                let Some(t) = scan_tag(html, p + 1, cut_attributes) else {
                    break;
                };
                if cut_attributes && is_unread_head_element(html, &b[p + 1..t.name_end], &t) {
                    // A void element that nothing reads: the whole tag goes.
                    out.push_str(&html[copied..p]);
                    copied = t.end;
                    i = t.end;
                    continue;
                }
                for &(s, e) in &t.cuts {
                    out.push_str(&html[copied..s]);
                    copied = e;
                }
                let name = &b[p + 1..t.name_end];
                i = t.end;
                if name.eq_ignore_ascii_case(b"plaintext") {
                    break;
                }
                if is_preformatted(name) {
                    pre_depth += 1;
                }
                if cut_attributes
                    && foreign_scans
                    && (name.eq_ignore_ascii_case(b"svg") || name.eq_ignore_ascii_case(b"math"))
                    && !t.self_closing
                {
                    match foreign_content_end(html, i, name) {
                        Some(close) => {
                            // Drawings and formulas are never read: their content goes whole.
                            out.push_str(&html[copied..i]);
                            copied = close;
                            i = close;
                            continue;
                        }
                        // A scan that failed may have read to the end of the page; another
                        // from a drawing nested inside would read it all again.
                        None => foreign_scans = false,
                    }
                }
                if empty_raw_text && is_strippable(name, &b[p..t.end]) {
                    // As `strip_raw_text` does: the body ends at the first `</name`, and
                    // the end tag itself is read by the next turn of the loop.
                    let Some(close) = find_end_tag(html, i, name) else {
                        break;
                    };
                    if close > i {
                        out.push_str(&html[copied..i]);
                        copied = close;
                    }
                    i = close;
                    continue;
                }
                if TEXT_ELEMENTS.iter().any(|n| name.eq_ignore_ascii_case(n)) {
                    match find_appropriate_end(html, i, name) {
                        // In a script, `<!--` can hide an end tag from the tokenizer
                        // (its escaped states); past such a script, nothing is cut.
                        Some(e)
                            if !(name.eq_ignore_ascii_case(b"script")
                                && find_str(&html[..e], i, "<!--").is_some()) =>
                        {
                            i = e
                        }
                        _ => break,
                    }
                }
            }
            _ => i = p + 1,
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::extract;

    #[test]
    fn ruby_readings_are_left_out_of_the_text() {
        let blocks = html_to_blocks(
            "<p><ruby>子<rp>(</rp><rt>こ</rt><rp>)</rp></ruby>どもの<ruby>教育<rt>きょういく</rt></ruby>について。</p>",
        );
        assert_eq!(blocks, vec!["子どもの教育について。"]);
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
    fn the_one_pass_lean_markup_equals_stripping_then_cutting() {
        for html in [
            "<SCRIPT src=a.js>a<b</SCRIPT><!-- <script> --><p data-x=1>x</p><script type=\"application/ld+json\">{\"a\":\"<p src=1>\"}</script><style media=x>p{}</STYLE><img src=y>",
            "<script><!--<script></script><img src=x></script><p title=t>after</p>",
            "<script>if (a</b) {}</script ><p onclick=x>t</p>",
            "<style>unclosed <p src=x>",
            "<script type=application/LD+JSON><!-- {} --></script><img src=z>",
            "<p>no raw text <a href=/x>link</a></p>",
            "<script/>x</script><scriptx src=1>y</scriptx>",
        ] {
            assert_eq!(
                lean_markup(html),
                drop_unread_attributes(&strip_raw_text(html)),
                "{html}"
            );
        }
    }

    #[test]
    fn unread_attributes_are_cut_and_read_ones_kept() {
        let html = r#"<p class="lead" data-track='{"a":1}' src=x.png id=top ONCLICK="go()">Text</p><link rel=canonical HREF="/story"><a href="/x" title="More" target=_blank>link</a><img srcset="a.png 1x, b.png 2x" alt="">"#;
        assert_eq!(
            drop_unread_attributes(html),
            // The whitespace before a cut attribute stays: it separates nothing now.
            r#"<p class="lead"   id=top >Text</p><link rel=canonical HREF="/story"><a   >link</a><img  >"#
        );
    }

    #[test]
    fn markup_inside_text_elements_comments_and_odd_tags_is_left_alone() {
        for html in [
            "<title>A <img src=x> title</title>",
            "<textarea><img src=x></textarea>",
            "<noscript><img src=x></noscript>",
            "<script type=\"application/ld+json\">\"<img src=x>\"</script>",
            "<script><!--<script></script><img src=x></script>",
            "<!DOCTYPE html><? x ?></div data-x=\"<img src=x>\">",
            "<plaintext><img src=x>",
            // A cut that would change how the rest reads: `/` meeting `>`, no space before.
            "<a x/src=1>",
            "<a x=\"1\"src=\"2\">",
            "<a class src=\"1\"=b>",
            "<div aria-hidden data-x=1 =true>",
            "<a class src=1\t\n =b>",
            "<img src=\"unterminated>",
        ] {
            assert!(
                matches!(drop_unread_attributes(html), std::borrow::Cow::Borrowed(_)),
                "{html}"
            );
        }
        // In HTML content `<![CDATA[` opens a bogus comment that ends at the first `>`, so
        // the `<textarea>` here opens and what follows is its text, not tags (in a drawing
        // the section would run to `]]>`): the scan stops where the two readings part.
        let page = "<p><![CDATA[ a > <textarea>]]><img src=y data-a=1></textarea><p data-b=2>x</p>";
        assert!(matches!(
            drop_unread_attributes(page),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            read_nodes(&parse_document(&lean_markup(page))),
            read_nodes(&parse_document(page))
        );
        // Where both readings end at the same `>`, cutting goes on after it.
        assert_eq!(
            drop_unread_attributes("<![CDATA[ a ]]><img src=y>"),
            "<![CDATA[ a ]]><img >"
        );
        // A comment goes whole, markup-like text and all.
        for html in ["<!-- <img src=x> -->", "<!--x--!<img src=x> -->"] {
            assert_eq!(drop_unread_attributes(html), "", "{html}");
        }
        // After the text element ends, cutting resumes.
        assert_eq!(
            drop_unread_attributes("<title><img src=x></title ><img src=y>"),
            "<title><img src=x></title ><img >"
        );
    }

    /// Every node of a parsed tree that extraction reads, in document order: element names
    /// with the attributes it reads, and text (no comments, no unread `<meta>`/`<link>`).
    /// Sibling texts that only a dropped node kept apart are read as one, as the lean
    /// page's parse gives them.
    fn read_nodes(doc: &Html) -> Vec<String> {
        let mut nodes: Vec<(usize, String)> = Vec::new();
        for n in doc.tree.root().descendants() {
            // The content of a drawing or formula goes before parsing (see
            // `foreign_content_end`); only the element itself is compared.
            let in_foreign = n.ancestors().any(|a| {
                a.value()
                    .as_element()
                    .is_some_and(|e| matches!(e.name(), "svg" | "math"))
            });
            if in_foreign {
                continue;
            }
            let depth = n.ancestors().count();
            let shown = match n.value() {
                Node::Comment(_) => continue,
                Node::Element(e) if is_unread_head(e) => continue,
                Node::Element(e) => {
                    let tag = e.name().as_bytes();
                    let attrs: Vec<String> = e
                        .attrs()
                        .filter(|(k, _)| !is_unread(k.as_bytes(), tag))
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    format!("<{} {}>", e.name(), attrs.join(" "))
                }
                Node::Text(t) => {
                    // Line breaks outside `<pre>` and `<listing>` are read as spaces: the
                    // lean page folds each whitespace run holding one into one space.
                    let preformatted = n.ancestors().any(|a| {
                        a.value()
                            .as_element()
                            .is_some_and(|e| matches!(e.name(), "pre" | "listing"))
                    });
                    let t = if preformatted {
                        t.to_string()
                    } else {
                        fold_breaks(t)
                    };
                    if let Some((d, last)) = nodes.last_mut()
                        && *d == depth
                        && last.starts_with("text ")
                    {
                        last.push_str(&t);
                        continue;
                    }
                    format!("text {t}")
                }
                other => format!("{other:?}"),
            };
            nodes.push((depth, shown));
        }
        nodes.into_iter().map(|(_, n)| n).collect()
    }

    /// `text` with each whitespace run that holds a line break made one space (the tree
    /// builder has already turned CR and CRLF into LF).
    fn fold_breaks(text: &str) -> String {
        let mut out = String::new();
        let mut run = String::new();
        for c in text.chars().chain(std::iter::once('x')) {
            if matches!(c, '\t' | '\n' | '\x0c' | ' ') {
                run.push(c);
                continue;
            }
            out.push_str(if run.contains('\n') { " " } else { &run });
            run.clear();
            out.push(c);
        }
        out.pop();
        out
    }

    /// A `<link>` other than the canonical one, or a `<meta>` with no key metadata reads:
    /// what [`lean_markup`] drops whole, judged here on the parsed element.
    fn is_unread_head(e: &scraper::node::Element) -> bool {
        match e.name() {
            "link" => !e.attr("rel").unwrap_or("").contains("canonical"),
            "meta" => !["property", "name", "itemprop"]
                .iter()
                .filter_map(|k| e.attr(k))
                .any(crate::article::metadata::reads_meta_key),
            _ => false,
        }
    }

    #[test]
    fn comments_and_unread_head_tags_are_dropped_whole_and_read_ones_kept() {
        let head = concat!(
            r#"<meta charset="utf-8"><meta name="viewport" content="width=device-width">"#,
            r#"<!-- build 42 --><link rel="stylesheet" href="/a.css"><LINK REL=icon href=i.png/>"#,
            r#"<meta NAME="Description" content="What it says"><meta property="og:title" content="Headline">"#,
            r#"<meta name="og&#58;url" content="/x"><link rel="canonical" href="/story">"#,
            r#"<meta itemprop="datePublished" content="2026-01-02">"#,
        );
        assert_eq!(
            drop_unread_attributes(head),
            concat!(
                r#"<meta NAME="Description" content="What it says"><meta property="og:title" content="Headline">"#,
                r#"<meta name="og&#58;url" content="/x"><link rel="canonical" href="/story">"#,
                r#"<meta itemprop="datePublished" content="2026-01-02">"#,
            )
        );
        // What the kept tags say still reaches the article.
        let page = format!(
            "<html><head>{head}</head><body><article><p>{}</p></article></body></html>",
            "A sentence of the story that is long enough to count as one. ".repeat(4)
        );
        let url = url::Url::parse("https://example.com/a").expect("static URL");
        let article = extract(&page, Some(&url));
        assert_eq!(article.title.as_deref(), Some("Headline"));
        assert_eq!(article.description.as_deref(), Some("What it says"));
        assert_eq!(
            article.canonical_url.as_ref().map(url::Url::as_str),
            Some("https://example.com/story")
        );
    }

    #[test]
    fn a_page_without_its_unread_attributes_parses_to_the_same_tree() {
        let page = r#"<!DOCTYPE html><html lang=en><head><title>T <b data-x=1></title>
            <meta property="og:title" content="Headline" data-x=1><link rel="canonical" href="/c">
            <meta name=viewport content="width=device-width"><link rel=preload href=f.woff2 as=font>
            <script type="application/ld+json">{"articleBody": "<p src=x>"}</script></head>
            <body class="single" onload="x()"><!--> <p data-a=1>--><!-- a <!--> b -->
            <div id=main class="article-body" data-id=7><p style="color:red" title=t>One <a href="/x"rel=nofollow>two</a></p>
            <svg viewBox="0 0 1 1"><path d="M0 0"/><title>icon</title></svg><img src=a.png/>
            <p aria-hidden=true aria-label="x">hidden</p><textarea><p src=x></textarea>
            <table><input type=hidden data-x=1><tr><td width=3>cell</td></tr></table>
            </div data-x=">"><p x/src=1>end</p>
            <pre>
  indented
    code</pre><listing>
a
 b</listing><p>one{CRLF}  two {CR} three
            <b>four</b>
            </p>
            </body></html>"#;
        let page = &page.replace("{CRLF}", "\r\n").replace("{CR}", "\r");
        let full = parse_document(page);
        let lean = drop_unread_attributes(page);
        assert!(lean.len() < page.len(), "nothing was cut");
        assert_eq!(read_nodes(&parse_document(&lean)), read_nodes(&full));
    }

    #[test]
    fn drawings_and_formulas_lose_their_content_unless_it_would_end_them_early() {
        assert_eq!(
            lean_markup(concat!(
                r#"<p>a</p><svg viewBox="0 0 1 1"><g><path d="M0 0"/><title>icon</title>"#,
                r#"<!-- </svg> --><svg><circle/></svg></g></svg><p>b</p>"#,
                "<math><mi>x</mi></math><SVG><![CDATA[<img src=x></svg>]]></SVG>",
            )),
            "<p>a</p><svg ></svg><p>b</p><math></math><SVG></SVG>"
        );
        // Content the parser would not keep inside the drawing stays, and so does a
        // drawing the scan cannot see the end of.
        for html in [
            "<svg><p>broke out</p></svg><p>after</p>",
            "<svg><g><font color=red>x</font></g></svg>",
            "<div><svg><g></div><p>after</p></svg>",
            "<a>x<svg><g></g></a></svg>",
            "<svg/><p>after</p>",
            "<svg><g>never closed",
            "<svg><!-- never closed </svg>",
            "<svg><?pi?></svg>",
        ] {
            assert!(
                matches!(lean_markup(html), std::borrow::Cow::Borrowed(_)),
                "{html}"
            );
        }
        let page = "<p>one</p><svg><g><title>icon</title></g></svg><p>two</p>";
        assert_eq!(
            read_nodes(&parse_document(&lean_markup(page))),
            read_nodes(&parse_document(page))
        );
        // An icon's title of plain text still goes with the drawing.
        assert_eq!(
            lean_markup("<svg><title>icon</title><path d=\"M0 0\"/></svg>"),
            "<svg></svg>"
        );
    }

    #[test]
    fn markup_read_as_html_inside_a_drawing_keeps_the_drawing_whole() {
        // Inside `<foreignObject>`, `<desc>`, `<title>` and MathML's text elements the
        // parser reads HTML: end tags that close nothing there are ignored, and `<textarea>`
        // or `<style>` start raw text. A `/` that ends an unquoted value does not close
        // the element. Each page parses as it would without the lean pass.
        for page in [
            "<p>a</p><svg><foreignObject><section>x</foreignObject></svg><p>after</p>",
            "<p>x</p><math><mi><a>y</math><p>after</p>",
            "<p>a</p><svg><foreignObject><textarea></svg><p>leak</p></textarea></foreignObject></svg><p>b</p>",
            "<p>a</p><svg><desc><textarea></svg><p>leak</p></textarea></desc></svg><p>b</p>",
            "<p>a</p><svg><foreignObject><style>/*<!--*/</style></foreignObject></svg><p>visible story text</p><svg><!-- --></svg><p>b</p>",
            "<p>x</p><svg><svg fill=none/></svg>tail text</svg><p>b</p>",
        ] {
            assert_eq!(
                read_nodes(&parse_document(&lean_markup(page))),
                read_nodes(&parse_document(page)),
                "{page}"
            );
        }
        // An icon's `<title>` is not the page's, whether or not the drawing was emptied
        // (the `<font color>` keeps this one whole).
        for page in [
            "<html><body><svg><title>Icon title</title></svg><p>Body</p></body></html>",
            "<html><body><svg><title>Icon title</title><font color=red>x</font></svg><p>Body</p></body></html>",
        ] {
            assert_eq!(extract(page, None).title, None, "{page}");
        }
    }

    #[test]
    fn drawings_that_never_close_are_scanned_once() {
        // Every nested drawing would start a scan to the end of the page: quadratic time
        // on a page of unclosed `<svg>` tags. After one failed scan none is tried again.
        let page = "<svg><g>".repeat(20_000);
        assert!(matches!(lean_markup(&page), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn line_breaks_between_words_and_tags_become_spaces_except_in_preformatted_text() {
        let page =
            "<div>\n  <p>one\r\n\t two</p>\n</div><pre>\n a\n  b</pre>\n<p>three \n four</p>";
        assert_eq!(
            lean_markup(page),
            "<div> <p>one two</p> </div><pre>\n a\n  b</pre> <p>three four</p>"
        );
        // Markup with no line break in its text is handed on as it is.
        assert!(matches!(
            lean_markup("<p>one two</p>"),
            std::borrow::Cow::Borrowed(_)
        ));
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

//! Main-content extraction: an article page's HTML → its text blocks and metadata.
//!
//! Input is a whole HTML page; output is an [`Article`]: the story's paragraphs in reading
//! order plus title, site name, canonical URL, publication time, description and whether a
//! paywall hides the rest.
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
//! 5. A page that renders its story with script is read again from its `<noscript>` copy
//!    or its JSON-LD `articleBody` when the DOM yields much less than they do.
//!
//! Flattening is `blocks`' job and the metadata `metadata`'s; the class words and phrases
//! that mark boilerplate live in `boilerplate`. Pure: no I/O, no clock, no globals.

use super::blocks::{
    Attrs, Block, Flat, Kind, clean_text, flatten, html_to_blocks, lean_markup, parse_document,
    strip_raw_text,
};
use super::boilerplate;
use super::metadata::read_metadata;
use scraper::{Html, Selector};

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

/// A site's own extraction rule (`[[site]]` in `feeds.toml`): CSS selectors, checked when
/// the config was read (a selector that does not parse here is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteRule {
    /// Selector of the element holding the article body: its first match is the story,
    /// all its text kept in order. When nothing matches, the generic extractor runs.
    pub article: Option<String>,
    /// Selectors of elements dropped before the page is read (promos, hover cards).
    pub remove: Vec<String>,
}

/// Extracts the main content and metadata of an HTML page.
///
/// `page_url` resolves relative canonical links; without it only absolute ones are kept.
/// Never fails: a page with no recognisable article gives an `Article` with empty `blocks`.
pub fn extract(html: &str, page_url: Option<&url::Url>) -> Article {
    extract_with_rule(html, page_url, None)
}

/// [`extract`], with the page's site rule applied first when there is one: its `remove`
/// selectors drop elements, and its `article` selector, when it matches, names the story.
pub fn extract_with_rule(
    html: &str,
    page_url: Option<&url::Url>,
    rule: Option<&SiteRule>,
) -> Article {
    // A site rule's selectors may test any attribute; the generic extractor reads a few.
    let markup = match rule {
        Some(_) => strip_raw_text(html),
        None => lean_markup(html),
    };
    let mut doc = parse_document(&markup);
    let meta = read_metadata(&doc, page_url);
    let ruled = rule.and_then(|r| apply_site_rule(&mut doc, r));
    let (mut blocks, wall_notice) = match ruled {
        Some(flat) => (flat.blocks.into_iter().map(|b| b.text).collect(), false),
        None => {
            let flat = flatten(doc.root_element(), page_skip);
            let (mut dom, wall) = main_blocks(&flat, meta.title.as_deref(), Names::Read);
            if dom.is_empty() {
                dom = second_reading(&doc, meta.title.as_deref());
            }
            if dom.is_empty() {
                dom = marked_story(&flat, meta.title.as_deref());
            }
            let dom = match noscript_blocks(html, &doc, meta.title.as_deref(), &dom) {
                Some(copy) => copy.better_than(dom),
                None => dom,
            };
            (dom, wall)
        }
    };
    // Some pages render the story with script and ship it only as JSON-LD `articleBody`;
    // when the DOM yields much less than that, the structured copy is the better text.
    // It is also the first fallback when the DOM's text holds no story sentence at all (a
    // "Loading…" shell, a consent wall); the feed's content and `og:description` come
    // after it, where the page's facts meet the entry's (see `PageUpdate::apply`).
    if let Some(body) = &meta.json_body {
        let dom_chars: usize = blocks.iter().map(|b| b.chars().count()).sum();
        let body_chars = body.chars().count();
        if body_chars > 200 && dom_chars * 2 < body_chars {
            blocks = json_body_blocks(body);
        } else if super::summarize::sentence_summary(&blocks, None).is_none() {
            let structured = json_body_blocks(body);
            if super::summarize::sentence_summary(&structured, None).is_some() {
                blocks = structured;
            }
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

/// Whether [`main_blocks`] reads class, id and role words (and "Related" headings) as
/// marks of boilerplate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// The first reading: names mark comments, galleries, sidebars and share bars.
    Read,
    /// The second reading of a page whose first gave nothing: every element is judged by
    /// its text alone.
    Ignored,
}

/// The story of a page whose first reading gave no text at all, read again with looser
/// rules (as readability retries when its text is short): figures and their captions are
/// read, and no class name marks boilerplate. A gallery post tells its story in the
/// captions of a "gallery", which the first reading leaves out twice over. Runs only on
/// pages whose first reading is empty, so it costs nothing elsewhere.
fn second_reading(doc: &Html, title: Option<&str>) -> Vec<String> {
    let flat = flatten(doc.root_element(), |a: &Attrs<'_>, tag: &str| {
        !matches!(tag, "figure" | "figcaption") && page_skip(a, tag)
    });
    main_blocks(&flat, title, Names::Ignored).0
}

/// The story of a page that neither reading found any story text in (a post of headings,
/// short lines and a photo strip, with no sentence long enough to score), taken from where
/// the markup says the story is: the element marked as the story's body
/// (`itemprop=articleBody`, "entry-content", "article-body") holding the most text, else
/// the `<article>` or `<main>` element that does, with the same line filters as any
/// container. Runs only when both readings gave nothing.
fn marked_story(flat: &Flat, title: Option<&str>) -> Vec<String> {
    if flat.blocks.is_empty() {
        return Vec::new();
    }
    let weights: Vec<f64> = flat.blocks.iter().map(block_weight).collect();
    let neg = believed_boilerplate(flat, &weights);
    let mut chars = vec![0usize; flat.elems.len()];
    for b in &flat.blocks {
        let mut e = b.elem;
        while e != usize::MAX {
            chars[e] += b.chars;
            e = flat.elems[e].parent;
        }
    }
    let most_text = |marked: fn(i8, &str) -> bool| {
        (0..flat.elems.len())
            .filter(|&e| {
                chars[e] > 0
                    && marked(flat.elems[e].hint, flat.elems[e].tag)
                    && !boilerplate_between(&neg, flat, e, usize::MAX)
            })
            .max_by_key(|&e| chars[e])
    };
    let Some(container) = most_text(|hint, _| hint == 2)
        .or_else(|| most_text(|_, tag| matches!(tag, "article" | "main")))
    else {
        return Vec::new();
    };
    let inside: Vec<usize> = (0..flat.blocks.len())
        .filter(|&i| is_within(flat, flat.blocks[i].elem, container))
        .collect();
    let keep = select_blocks(flat, &weights, &neg, container, &inside, title, container);
    let kept: Vec<usize> = inside
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&i, _)| i)
        .collect();
    without_empty_sections(flat, &weights, &kept)
        .map(|i| flat.blocks[i].text.clone())
        .collect()
}

/// The story as a page's `<noscript>` copy tells it, for pages that render the story with
/// script and print it again inside `<noscript>` for readers without it (Blogger does).
struct NoscriptStory(Vec<String>);

impl NoscriptStory {
    /// The noscript copy when it is the better text: it holds a story sentence and the DOM
    /// (noscript parts left out) yields less than half as much text, as a script shell
    /// does. Otherwise the DOM's blocks.
    fn better_than(self, dom: Vec<String>) -> Vec<String> {
        let chars = |bs: &[String]| bs.iter().map(|b| b.chars().count()).sum::<usize>();
        let (ours, theirs) = (chars(&dom), chars(&self.0));
        if theirs > 200
            && ours * 2 < theirs
            && super::summarize::sentence_summary(&self.0, None).is_some()
        {
            self.0
        } else {
            dom
        }
    }
}

/// The story found in the page's `<noscript>` elements, read as a page of their own (the
/// parser keeps their markup as text while scripting is on, as browsers do); `None` when
/// the DOM's own text (`dom`) is not a shell's or the page has no noscript copy worth
/// reading.
fn noscript_blocks(
    html: &str,
    doc: &Html,
    title: Option<&str>,
    dom: &[String],
) -> Option<NoscriptStory> {
    /// Less noscript markup than this is a tracking pixel or an "enable JavaScript" line.
    const MIN_BYTES: usize = 400;
    /// More text than this is a page that shows its story: two pages in three carry a
    /// noscript element (tracking pixels), and searching them all would cost every page.
    const SHELL_CHARS: usize = 1000;
    let dom_chars: usize = dom.iter().map(|b| b.chars().count()).sum();
    // Tag names are case-insensitive: `<NoScript>` is a noscript too.
    if dom_chars >= SHELL_CHARS
        || super::blocks::find_ascii_ci(html.as_bytes(), 0, b"<noscript").is_none()
    {
        return None;
    }
    let sel = Selector::parse("noscript").ok()?;
    let inner: String = doc
        .select(&sel)
        .map(|e| e.text().collect::<String>())
        .filter(|t| t.len() >= MIN_BYTES)
        .collect::<Vec<_>>()
        .join("\n");
    if inner.len() < MIN_BYTES {
        return None;
    }
    let copy = parse_document(&strip_raw_text(&format!(
        "<html><body>{inner}</body></html>"
    )));
    let flat = flatten(copy.root_element(), page_skip);
    let (blocks, _) = main_blocks(&flat, title, Names::Read);
    Some(NoscriptStory(blocks))
}

/// Drops the elements `rule.remove` selects, then flattens the first element
/// `rule.article` selects; `None` when there is no `article` selector or it matches
/// nothing (the removals stay done).
fn apply_site_rule(doc: &mut Html, rule: &SiteRule) -> Option<Flat> {
    let parse = |s: &str| Selector::parse(s).ok();
    let doomed: Vec<_> = rule
        .remove
        .iter()
        .filter_map(|s| parse(s))
        .flat_map(|sel| doc.select(&sel).map(|e| e.id()).collect::<Vec<_>>())
        .collect();
    for id in doomed {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
    }
    let sel = parse(rule.article.as_deref()?)?;
    let story = doc.select(&sel).next()?;
    Some(flatten(story, page_skip))
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

/// Skip rule for whole pages: only subtrees that cannot hold the story are cut early.
fn page_skip(attrs: &Attrs<'_>, tag: &str) -> bool {
    // Figures hold images, their captions and credits; news text never lives there.
    // Hover cards sit inside the text; a page-level element's classes describe the page
    // ("avada-image-rollover-yes" on `<body>`), not a card.
    matches!(tag, "figure" | "figcaption")
        || (!matches!(tag, "html" | "body" | "main" | "article")
            && boilerplate::is_hover_card(attrs))
}

/// Signed story weight of a block: positive for story-like text, negative for boilerplate.
fn block_weight(b: &Block) -> f64 {
    let c = b.chars as f64;
    let ld = b.link_chars as f64 / c.max(1.0);
    if ld > LOWEST_LINK_LIMIT && ld > link_limit(b) {
        // Capped: one paragraph stuffed with hover-card links must not outweigh the story
        // around it; navigation is many small link blocks and stays negative anyway.
        return -c.min(200.0) * ld;
    }
    let punct = b
        .text
        .contains(['.', ',', '!', '?', ';', ':', '。', '，', '、', '،']);
    if is_teaser(b) || boilerplate::is_site_notice(&b.text) {
        return -0.5 * c;
    }
    let base = if punct && has_words(&b.text, 10) {
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
        && has_words(&b.text, 4)
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
        && b.text.split_whitespace().nth(7).is_some()
        && ends_with_terminal(&b.text);
    // A list item that opens with a quantity in plain text ("350 g [flour]") is a recipe's
    // or a kit list's line, however much of it links to the ingredient.
    let quantity = b.kind == Kind::Item
        && b.lead_link == 0
        && b.text.starts_with(|c: char| c.is_ascii_digit());
    if sentence || quantity {
        0.7
    } else {
        LOWEST_LINK_LIMIT
    }
}

/// The least [`link_limit`] gives: a block with no more link text than this is never
/// judged by its links, so its kind and words need not be read for that.
const LOWEST_LINK_LIMIT: f64 = 0.5;

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

/// Arrows and ellipses that trail a "read more" label ("Read more →", "Weiterlesen »").
const POINTER_MARKS: [char; 5] = ['→', '»', '›', '>', '…'];

/// Whether a block is another story's blurb: it closes on a "read more" link ("… See for
/// yourselves! Weiterlesen", "… Read more →"). A story's own paragraph ends on its last
/// sentence, not on a pointer to a page that continues it.
fn closes_on_read_more(b: &Block) -> bool {
    if b.link_chars == 0 || b.chars > 600 {
        return false;
    }
    let tail = b
        .text
        .trim_end_matches(|c: char| c.is_whitespace() || POINTER_MARKS.contains(&c))
        .trim_end_matches("...");
    // Only the tail can be the label: lowercase just enough of it.
    let start = tail.char_indices().rev().nth(24).map_or(0, |(at, _)| at);
    let lower = tail[start..].to_lowercase();
    boilerplate::READ_MORE_LABELS.iter().any(|l| {
        lower.ends_with(l)
            && b.link_chars >= l.chars().filter(|c| !c.is_whitespace()).count()
            // The label stands alone: a sentence that merely ends on the word ("… and
            // more") has no link of that length at its end, and a label follows a
            // sentence's end or opens the block.
            && lower[..lower.len() - l.len()]
                .trim_end()
                .ends_with(['.', '!', '?', '…', '"', '”', '“', ')'])
    })
}

/// The blurbs that a "read more" link of their own follows: a block right before a block
/// that is nothing but such a link ("Mehr", "Read more →"), in the same parent. The link
/// points to the story the blurb teases; a story's paragraph is not followed by a pointer
/// to the rest of itself.
fn blurbs_before_read_more(flat: &Flat, inside: &[usize]) -> Vec<usize> {
    let parent = |i: usize| flat.elems[flat.blocks[i].elem].parent;
    (1..inside.len())
        .filter(|&k| {
            let b = &flat.blocks[inside[k]];
            if b.link_chars < b.chars || b.chars > 24 {
                return false;
            }
            let lower = b
                .text
                .trim_end_matches(|c: char| {
                    c.is_whitespace() || c == '.' || POINTER_MARKS.contains(&c)
                })
                .to_lowercase();
            let label = boilerplate::READ_MORE_LABELS.contains(&lower.as_str())
                || boilerplate::BARE_MORE_LABELS.contains(&lower.as_str());
            label && parent(inside[k - 1]) == parent(inside[k])
        })
        .map(|k| k - 1)
        .collect()
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
    boilerplate::STOP_MARKERS
        .iter()
        .any(|m| lower.starts_with(m))
}

/// Whether `text` holds at least `n` words by a rough count that also works for scripts
/// written without spaces (CJK, Thai): there a word is about two characters. Stops
/// counting at `n`: a long paragraph's words are not all counted to learn it has ten.
fn has_words(text: &str, n: usize) -> bool {
    let spaced = text.split_whitespace().take(n).count();
    spaced >= n || spaced + text.chars().filter(|&c| is_dense_script(c)).count() / 2 >= n
}

/// Whether a character belongs to a script written without spaces between words.
pub(super) fn is_dense_script(c: char) -> bool {
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
fn main_blocks(flat: &Flat, title: Option<&str>, names: Names) -> (Vec<String>, bool) {
    if flat.blocks.is_empty() || flat.elems.is_empty() {
        return (Vec::new(), false);
    }
    let weights: Vec<f64> = flat.blocks.iter().map(block_weight).collect();
    let mut neg = match names {
        Names::Read => believed_boilerplate(flat, &weights),
        Names::Ignored => vec![false; flat.elems.len()],
    };
    let (mut chosen, mut siblings) = container_with_siblings(flat, &weights, &neg);
    if boilerplate_between(&neg, flat, chosen, usize::MAX) {
        // Nothing outside boilerplate holds story text, so the container was taken inside
        // it: the page's story is where its class names said there was none.
        trust_the_region_of(flat, &mut neg, chosen);
        (chosen, siblings) = container_with_siblings(flat, &weights, &neg);
    }
    // With siblings, the story spans part of the container's parent; boilerplate is then
    // judged up to that parent.
    let best = if siblings.is_empty() {
        chosen
    } else {
        flat.elems[chosen].parent
    };
    let parts: Vec<usize> = std::iter::once(chosen).chain(siblings).collect();
    // Blocks come in document order, so a subtree's blocks are one contiguous run.
    let inside: Vec<usize> = (0..flat.blocks.len())
        .skip_while(|&i| !is_within(flat, flat.blocks[i].elem, best))
        .take_while(|&i| is_within(flat, flat.blocks[i].elem, best))
        .filter(|&i| {
            let b = &flat.blocks[i];
            parts.iter().any(|&p| is_within(flat, b.elem, p))
                || (best != chosen && b.elem == best && loose_paragraph(b))
        })
        .collect();
    let mut keep = select_blocks(flat, &weights, &neg, best, &inside, title, chosen);
    keep_story_text_before(flat, &weights, &inside, chosen, &mut keep);
    let lead = standfirst(flat, &weights, &neg, &inside, title);
    // Walls put their notice at the end of the teaser or just below the container.
    let after = inside.last().map_or(0, |&i| i + 1);
    let wall_notice = inside
        .iter()
        .copied()
        .chain(after..(after + 5).min(flat.blocks.len()))
        .any(|i| is_paywall_text(&flat.blocks[i].text));
    let kept: Vec<usize> = lead
        .iter()
        .copied()
        .chain(inside.iter().zip(keep).filter(|(_, k)| *k).map(|(&i, _)| i))
        .collect();
    let blocks = without_empty_sections(flat, &weights, &kept)
        .map(|i| flat.blocks[i].text.clone())
        .collect();
    (blocks, wall_notice)
}

/// The kept blocks less the headings that head nothing: a short heading followed by no
/// text before the next heading of its level or above (or the end) titled a widget whose
/// links were dropped ("More on this topic", "Comments", "You may also like"). A heading
/// that is prose itself (a standfirst set as `<h2>`) stays.
fn without_empty_sections<'a>(
    flat: &'a Flat,
    weights: &'a [f64],
    kept: &'a [usize],
) -> impl Iterator<Item = usize> + 'a {
    let level = |i: usize| match flat.blocks[i].kind {
        Kind::Heading(l) if weights[i] <= 0.0 => Some(l),
        Kind::Heading(_) => None,
        _ => None,
    };
    kept.iter().enumerate().filter_map(move |(k, &i)| {
        let Some(l) = level(i) else { return Some(i) };
        let heads_text = kept[k + 1..]
            .iter()
            .map(|&j| level(j))
            .take_while(|next| next.is_none_or(|n| n > l))
            .any(|next| next.is_none());
        heads_text.then_some(i)
    })
}

/// The standfirst: paragraphs between the headline and the story's container (a lead in
/// the article's `<header>`, a teaser above the body), which the container leaves out.
///
/// Going back from the container's first block, the headline (an `<h1>`, text just inside
/// one, or a heading that repeats the title) must be met within a few blocks; the prose
/// between them joins the story, in order. Bylines, dates, captions, share bars and a
/// repeat of the title in between stay out, and so does anything inside boilerplate other
/// than a `<header>`. No headline, no standfirst: without it, what comes before the
/// container may be anything.
fn standfirst(
    flat: &Flat,
    weights: &[f64],
    neg: &[bool],
    inside: &[usize],
    title: Option<&str>,
) -> Vec<usize> {
    /// How many blocks back from the container the headline may stand.
    const REACH: usize = 12;
    let Some(&start) = inside.first() else {
        return Vec::new();
    };
    let is_headline = |b: &Block| {
        (matches!(b.kind, Kind::Heading(_))
            && (b.kind == Kind::Heading(1) || title.is_some_and(|t| same_title(t, &b.text))))
            || inside_h1(flat, b.elem)
    };
    let Some(head) = (start.saturating_sub(REACH)..start)
        .rev()
        .find(|&i| is_headline(&flat.blocks[i]))
    else {
        return Vec::new();
    };
    // The element holding both the headline and the story: the standfirst lies within it.
    let mut common = flat.blocks[head].elem;
    while common != usize::MAX && !is_within(flat, flat.blocks[start].elem, common) {
        common = flat.elems[common].parent;
    }
    let in_boilerplate = |mut e: usize| {
        while e != usize::MAX && e != common {
            if neg[e] && flat.elems[e].tag != "header" {
                return true;
            }
            e = flat.elems[e].parent;
        }
        false
    };
    (head + 1..start)
        .filter(|&i| {
            let b = &flat.blocks[i];
            let ld = b.link_chars as f64 / b.chars.max(1) as f64;
            weights[i] > 0.0
                && b.chars >= 120
                && ld < 0.25
                && !matches!(b.kind, Kind::Item | Kind::Table)
                && !in_boilerplate(b.elem)
                && !looks_like_meta(b)
                && !is_junk_line(&b.text)
                && !is_paywall_text(&b.text)
                && !boilerplate::is_site_notice(&b.text)
                && !reads_as_caption(&b.text)
                && !title.is_some_and(|t| repeats_title(t, &b.text))
        })
        .collect()
}

/// Whether text reads as a photo caption: it places people in the picture ("…, left, …")
/// or opens like one ("In this photo …").
fn reads_as_caption(text: &str) -> bool {
    let lower = text.to_lowercase();
    boilerplate::CAPTION_POSITIONS
        .iter()
        .any(|p| lower.contains(p))
        || boilerplate::CAPTION_OPENERS
            .iter()
            .any(|c| lower.starts_with(c))
}

/// Unmarks the boilerplate elements around `chosen`, a container found inside boilerplate
/// because nothing outside it held story text (a review told in the slides of a
/// "slideshow", a post whose wrapper's class reads like a widget's). Read from there, one
/// slide or one paragraph would be the story; with the wrappers above it trusted, the
/// container can grow to the whole region, and boilerplate beside it stays boilerplate.
fn trust_the_region_of(flat: &Flat, neg: &mut [bool], chosen: usize) {
    let mut e = chosen;
    while e != usize::MAX {
        neg[e] = false;
        e = flat.elems[e].parent;
    }
}

/// Whether the element owning a block is an `<h1>` or sits just inside one (a headline
/// whose text a `<div>` or `<span>` block inside the `<h1>` holds).
fn inside_h1(flat: &Flat, mut e: usize) -> bool {
    /// How many elements up from the block's owner the `<h1>` may be.
    const REACH: usize = 3;
    for _ in 0..REACH {
        if e == usize::MAX {
            return false;
        }
        if flat.elems[e].tag == "h1" {
            return true;
        }
        e = flat.elems[e].parent;
    }
    false
}

/// Whether a block before the story repeats its title: it shares most of the title's words
/// and is not much longer than the title. A lead tells the headline's story at more length,
/// so it shares the title's words too, but runs on well past them.
fn repeats_title(title: &str, text: &str) -> bool {
    text.split_whitespace().count() <= 2 * title.split_whitespace().count()
        && word_overlap(title, text) >= 0.6
}

/// The story's container and its sibling parts ([`story_siblings`]). When the chosen
/// container has none, its wrappers are tried in turn, up to a few levels, as long as a
/// wrapper holds no story text beside the container (a body inside a column inside a
/// row): a story split over cousins (a recipe's ingredients in one column, its steps in
/// the other; a lead in the page header, the body in a section below) joins up there.
fn container_with_siblings(flat: &Flat, weights: &[f64], neg: &[bool]) -> (usize, Vec<usize>) {
    /// How many wrappers up the story's parts are looked for.
    const MAX_LIFT: usize = 3;
    let chosen = choose_container(flat, weights, neg);
    let siblings = story_siblings(flat, weights, neg, chosen);
    if !siblings.is_empty() {
        return (chosen, siblings);
    }
    let mut base = chosen;
    for _ in 0..MAX_LIFT {
        let up = flat.elems[base].parent;
        if up == usize::MAX || neg[up] || matches!(flat.elems[up].tag, "body" | "html") {
            break;
        }
        let story_beside = flat.blocks.iter().zip(weights).any(|(b, &w)| {
            w > 0.0 && is_within(flat, b.elem, up) && !is_within(flat, b.elem, base)
        });
        if story_beside {
            break;
        }
        base = up;
        let siblings = story_siblings(flat, weights, neg, base);
        if !siblings.is_empty() {
            return (base, siblings);
        }
    }
    (chosen, Vec::new())
}

/// Highest share of link text a sibling that is mostly link-free rows may carry and still
/// join the story as its structure: a maker's recipe links a few of its ingredient rows to
/// its shop ("1 pack | [Acme baking powder]"); a list of links is far above it.
const MAX_ROWS_LINK_SHARE: f64 = 0.35;

/// The container's later siblings that belong to the story: an article split into
/// sibling parts (a recipe's steps after its ingredients, paragraphs resumed after an ad
/// or a figure), or text written straight into the container's parent. A sibling joins
/// when nothing on its way up is boilerplate, it is link-poor, and it either carries
/// story-like text of its own or is mostly a link-free list, table or heading run (a few
/// of its rows may link, up to [`MAX_ROWS_LINK_SHARE`] of its text). Earlier siblings
/// mostly stay out (before the story stand its headline, byline and dates): only a run of
/// such rows right before it, or a sibling with two sentences'
/// worth of link-poor story text (a lead set apart from the body), joins.
///
/// Returns the joining siblings; `chosen` itself stands for the parent's own text when
/// only that joins. Empty when the story is the container alone.
fn story_siblings(flat: &Flat, weights: &[f64], neg: &[bool], chosen: usize) -> Vec<usize> {
    /// Least story-like weight (about two sentences) a sibling needs to join on its text.
    const MIN_SIBLING_WEIGHT: f64 = 120.0;
    let parent = flat.elems[chosen].parent;
    if parent == usize::MAX || neg[parent] {
        return Vec::new();
    }
    // The child of `parent` an element lies in, unless boilerplate lies on the way.
    let child_of = |mut e: usize| -> Option<usize> {
        let mut boilerplate = false;
        while e != usize::MAX {
            let p = flat.elems[e].parent;
            boilerplate |= neg[e];
            if p == parent {
                return (!boilerplate).then_some(e);
            }
            e = p;
        }
        None
    };
    #[derive(Default)]
    struct Part {
        chars: usize,
        link_chars: usize,
        weight: f64,
        structured_chars: usize,
        row_chars: usize,
    }
    let mut parts: std::collections::BTreeMap<usize, Part> = Default::default();
    let mut chosen_weight = 0.0;
    for (b, &w) in flat.blocks.iter().zip(weights) {
        let Some(c) = child_of(b.elem) else { continue };
        if c == chosen {
            chosen_weight += w.max(0.0);
            continue;
        }
        let part = parts.entry(c).or_default();
        part.chars += b.chars;
        part.link_chars += b.link_chars;
        part.weight += w.max(0.0);
        if matches!(b.kind, Kind::Item | Kind::Table | Kind::Heading(_)) && b.link_chars == 0 {
            part.structured_chars += b.chars;
            if !matches!(b.kind, Kind::Heading(_)) {
                part.row_chars += b.chars;
            }
        }
    }
    let structured = |p: &Part| {
        let ld = p.link_chars as f64 / p.chars.max(1) as f64;
        p.structured_chars * 2 >= p.chars && p.structured_chars >= 50 && ld < MAX_ROWS_LINK_SHARE
    };
    // Before the story, headings alone are its headline and standfirst (the standfirst
    // rule's business): only parts with rows of their own join.
    let earlier = structured_run_before(
        parts
            .range(..chosen)
            .map(|(&c, p)| (c, structured(p) && p.row_chars >= 50)),
    );
    let prose = |p: &Part| {
        let ld = p.link_chars as f64 / p.chars.max(1) as f64;
        ld < 0.25 && p.weight >= (0.2 * chosen_weight).max(MIN_SIBLING_WEIGHT)
    };
    let mut out: Vec<usize> = parts
        .range(chosen..)
        .filter(|(_, p)| {
            let ld = p.link_chars as f64 / p.chars.max(1) as f64;
            prose(p) || (ld < 0.25 && structured(p))
        })
        .map(|(&c, _)| c)
        .collect();
    let earlier_prose: Vec<usize> = parts
        .range(..chosen)
        .filter(|(c, p)| {
            let ld = p.link_chars as f64 / p.chars.max(1) as f64;
            ld < 0.25 && p.weight >= MIN_SIBLING_WEIGHT && !earlier.contains(c)
        })
        .map(|(&c, _)| c)
        .collect();
    out.extend(earlier);
    out.extend(earlier_prose);
    let own_text = flat
        .blocks
        .iter()
        .any(|b| b.elem == parent && b.chars > 80 && loose_paragraph(b));
    if out.is_empty() && own_text {
        out.push(chosen);
    }
    out
}

/// Of the blocks joined from before the chosen container, a sibling that is mostly
/// link-free rows (a recipe's ingredients) keeps them all; a sibling that joined for its
/// prose (a lead paragraph set apart from the body) keeps only its story text, not the
/// dates, captions, labels and buttons beside it.
fn keep_story_text_before(
    flat: &Flat,
    weights: &[f64],
    inside: &[usize],
    chosen: usize,
    keep: &mut [bool],
) {
    let parent = flat.elems[chosen].parent;
    let before: Vec<usize> = inside
        .iter()
        .copied()
        .take_while(|&i| !is_within(flat, flat.blocks[i].elem, chosen))
        .collect();
    // The child of `parent` each block lies in, and how much of each child is rows.
    let part_of = |mut e: usize| {
        while e != usize::MAX && flat.elems[e].parent != parent {
            e = flat.elems[e].parent;
        }
        e
    };
    let row = |b: &Block| {
        b.link_chars == 0 && matches!(b.kind, Kind::Item | Kind::Table | Kind::Heading(_))
    };
    let mut shares: std::collections::HashMap<usize, (usize, usize)> = Default::default();
    for &i in &before {
        let b = &flat.blocks[i];
        let share = shares.entry(part_of(b.elem)).or_default();
        share.0 += b.chars;
        if row(b) {
            share.1 += b.chars;
        }
    }
    for (k, &i) in before.iter().enumerate() {
        let b = &flat.blocks[i];
        let (chars, rows) = shares[&part_of(b.elem)];
        let listed = rows * 2 >= chars && row(b);
        keep[k] &=
            listed || (weights[i] > 0.0 && !looks_like_meta(b) && !reads_as_caption(&b.text));
    }
}

/// The earlier siblings that join the story: the unbroken run of link-free lists, tables and
/// headings right before the container (a recipe's ingredients before its steps, a fact
/// table before the text), given closest last as (sibling, structured) pairs in document
/// order. Prose, teasers and bylines before the story stay out, and end the run.
fn structured_run_before(earlier: impl DoubleEndedIterator<Item = (usize, bool)>) -> Vec<usize> {
    earlier
        .rev()
        .take_while(|&(_, structured)| structured)
        .map(|(c, _)| c)
        .collect()
}

/// Whether the story spans the chosen container's parent (siblings joined it).
fn best_is_parent(flat: &Flat, chosen: usize, container: usize) -> bool {
    container != chosen && flat.elems[chosen].parent == container
}

/// Whether text written straight into the story's parent (between its parts, after a
/// `<br>`) reads as a paragraph: long and link-poor, or a short whole sentence.
fn loose_paragraph(b: &Block) -> bool {
    let ld = b.link_chars as f64 / b.chars.max(1) as f64;
    (b.chars > 80 && ld < 0.25) || (b.link_chars == 0 && ends_with_terminal(&b.text))
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
    let (score, mass) = subtree_scores(flat, weights, neg);
    let core = paragraph_groups(flat, weights, neg);
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

/// Each element's subtree sum of block weights (`score`, less the penalty for good text
/// inside boilerplate below it) and of story-like weight (`mass`).
fn subtree_scores(flat: &Flat, weights: &[f64], neg: &[bool]) -> (Vec<f64>, Vec<f64>) {
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
            // Mass (story-like text, for the coherence discount) stops at boilerplate too: a
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
    (score, mass)
}

/// Each element's best paragraph group: the story-like weight of the single group of
/// paragraphs under it that weighs most, for the coherence discount of
/// [`choose_container`].
fn paragraph_groups(flat: &Flat, weights: &[f64], neg: &[bool]) -> Vec<f64> {
    let n = flat.elems.len();
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
    core
}

/// Which of the container's blocks (`inside`, in order) are story text.
fn select_blocks(
    flat: &Flat,
    weights: &[f64],
    neg: &[bool],
    container: usize,
    inside: &[usize],
    title: Option<&str>,
    chosen: usize,
) -> Vec<bool> {
    let mut keep: Vec<bool> = inside
        .iter()
        .map(|&i| {
            let b = &flat.blocks[i];
            let ld = b.link_chars as f64 / (b.chars.max(1)) as f64;
            !(ld > link_limit(b)
                || is_teaser(b)
                || closes_on_read_more(b)
                || boilerplate_between(neg, flat, b.elem, container)
                || is_junk_line(&b.text)
                || is_credit_line(&b.text)
                || is_paywall_text(&b.text)
                || boilerplate::is_site_notice(&b.text)
                || is_byline_line(&b.text)
                || (b.kind == Kind::Heading(1) && title.is_some_and(|t| same_title(t, &b.text))))
        })
        .collect();
    for k in blurbs_before_read_more(flat, inside) {
        keep[k] = false;
    }
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
        // Rows of a list or table that joined from before the container ("125 g | flour")
        // are short, but they are the story's own structure, not its furniture.
        let joined_row = !is_within(flat, b.elem, chosen)
            && best_is_parent(flat, chosen, container)
            && matches!(b.kind, Kind::Item | Kind::Table | Kind::Heading(_))
            && b.link_chars == 0;
        *k &= (joined_row || !*m) && !headline;
    }
    // Widgets are looked for in the chosen container only: siblings joined it for their
    // structure (a recipe card's lists), which a run of short items would otherwise cut.
    let own: Vec<bool> = inside
        .iter()
        .map(|&i| is_within(flat, flat.blocks[i].elem, chosen))
        .collect();
    let own_start = own.iter().position(|&o| o).unwrap_or(0);
    let own_end = own.iter().rposition(|&o| o).map_or(inside.len(), |e| e + 1);
    // Link-free list items and table rows (or paragraphs set inside them) that read as
    // content are the story's own structure (a recipe's ingredients), not a run of widgets.
    let listed: Vec<bool> = inside
        .iter()
        .map(|&i| {
            let b = &flat.blocks[i];
            // Names alone (a staff list) are not: an item of the story's own lists has a
            // quantity, a clause or a few words.
            b.link_chars * 2 < b.chars
                && (matches!(b.kind, Kind::Item | Kind::Table | Kind::Heading(_))
                    || is_row_paragraph(flat, b))
                && (b.text.split_whitespace().count() >= 4
                    || b.text.contains(',')
                    || b.text.chars().any(|c| c.is_ascii_digit()))
        })
        .collect();
    if let Some(cut) = trailing_widget_start(
        weights,
        &inside[own_start..own_end],
        &good[own_start..own_end],
        &listed[own_start..own_end],
    ) {
        keep.iter_mut()
            .skip(own_start + cut)
            .for_each(|k| *k = false);
    }
    // Story parts joined from before the chosen container (a header with the byline) do
    // not end the story: the stop markers count from the container's own first paragraph.
    let core_first = inside
        .iter()
        .zip(&good)
        .position(|(&i, &g)| g && is_within(flat, flat.blocks[i].elem, chosen))
        .unwrap_or(first);
    if let Some(cut) = stop_marker_position(flat, inside, &good, core_first) {
        keep.iter_mut().skip(cut).for_each(|k| *k = false);
    }
    // After the last story paragraph: tags, share prompts, "posted in", pagers.
    if let Some(last) = good.iter().rposition(|g| *g) {
        for (k, m) in keep.iter_mut().zip(&meta).skip(last + 1) {
            *k &= !*m;
        }
    }
    for k in widget_titles(flat, inside, &keep, container) {
        keep[k] = false;
    }
    // The story's own last lines may be credits and sign-offs ("Reporting by …", "Jane Doe
    // contributed to this report.", "Follow us on Twitter"), sentences though they are;
    // the very last may be an author box with no class to tell it.
    let mut last = true;
    for k in (0..inside.len()).rev() {
        if !keep[k] {
            continue;
        }
        let text = &flat.blocks[inside[k]].text;
        let closing_author = last && k > 1 && is_author_box(text);
        if !(is_sign_off(text) || closing_author) {
            break;
        }
        last = false;
        keep[k] = false;
    }
    keep
}

/// Whether a closing line credits reporters or points elsewhere rather than telling the
/// story.
fn is_sign_off(text: &str) -> bool {
    let words = text.split_whitespace().count();
    if words > 100 {
        return false;
    }
    let lower = text.to_lowercase();
    if boilerplate::FILING_OPENERS
        .iter()
        .any(|s| lower.starts_with(s))
    {
        return true;
    }
    if words > 40 {
        return false;
    }
    boilerplate::SIGN_OFF_PHRASES
        .iter()
        .any(|c| lower.contains(c))
        || boilerplate::SIGN_OFF_OPENERS
            .iter()
            .any(|s| lower.starts_with(s))
}

/// The short titles left alone in a widget whose content was dropped: "Recommendations
/// from our shop" over product links, "Current designs" over a photo gallery's links,
/// "More on the topic" over a list of teasers. A title is a short kept block that does not
/// read as a sentence; its widget is the smallest element around it that holds other
/// blocks, and it is a widget's title when none of those blocks is kept. A section heading
/// shares its element with the section's paragraphs, which are kept, so it stays.
fn widget_titles(flat: &Flat, inside: &[usize], keep: &[bool], container: usize) -> Vec<usize> {
    let mut titles = Vec::new();
    for (k, &i) in inside.iter().enumerate() {
        let b = &flat.blocks[i];
        // A table's cells and a list's items are the story's structure, however short.
        let title_kind = matches!(b.kind, Kind::Heading(_) | Kind::Para | Kind::Other);
        if !keep[k]
            || !title_kind
            || b.text.split_whitespace().count() > 10
            || ends_with_terminal(&b.text)
        {
            continue;
        }
        let mut e = flat.elems[b.elem].parent;
        // Bounded by the depth of the tree: each step goes one element up.
        while e != usize::MAX && e != container {
            let within = |j: &usize| is_within(flat, flat.blocks[inside[*j]].elem, e);
            // Blocks are in document order, so the element's blocks are a contiguous run
            // around the title; the look outward stops at the first kept one.
            let mut others = (0..k)
                .rev()
                .take_while(within)
                .chain((k + 1..inside.len()).take_while(within))
                .peekable();
            if others.peek().is_some() {
                if !others.any(|j| keep[j]) {
                    titles.push(k);
                }
                break;
            }
            e = flat.elems[e].parent;
        }
    }
    titles
}

/// Whether a closing block introduces the author ("Jane Doe is the founder of …", "Jane
/// Doe is a freelance writer …"): a name of two or three capitalized words, "is a", "is
/// an" or "is the", and a role among the next words. A post's own closing lines rarely
/// open on a person's job title.
fn is_author_box(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().take(30).collect();
    if text.split_whitespace().count() > 120 {
        return false;
    }
    let Some(is_at) = words.iter().position(|w| *w == "is") else {
        return false;
    };
    let named = (2..=3).contains(&is_at)
        && words[..is_at]
            .iter()
            .all(|w| w.starts_with(|c: char| c.is_uppercase()));
    named
        && words
            .get(is_at + 1)
            .is_some_and(|a| matches!(*a, "a" | "an" | "the"))
        && words[is_at + 2..].iter().take(8).any(|w| {
            let w = w.to_lowercase();
            boilerplate::AUTHOR_ROLES.iter().any(|r| w.starts_with(r))
        })
}

/// Whether a block is a paragraph set inside a list item or a table cell
/// (`<li><p>120 g flour</p></li>`, as recipe plug-ins write ingredients): a row of the
/// list, as the item itself would be.
fn is_row_paragraph(flat: &Flat, b: &Block) -> bool {
    let parent = flat.elems[b.elem].parent;
    b.kind == Kind::Para
        && parent != usize::MAX
        && matches!(flat.elems[parent].tag, "li" | "dt" | "dd" | "td" | "th")
}

/// Where a trailing widget starts, as an index into the container's blocks.
///
/// A long run of short, non-story blocks (a staff list, a link farm) splits the container
/// into segments; good text after such a run, if it weighs less than half the main
/// segment, is a widget ("Support our journalism …") rather than the story's ending, and so
/// is everything after it.
fn trailing_widget_start(
    weights: &[f64],
    inside: &[usize],
    good: &[bool],
    listed: &[bool],
) -> Option<usize> {
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
        } else if listed[k] {
            // The story's own lists and headings are content, not a widget's run.
            bad_run = 0;
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

/// Characters of a long block's opening that [`looks_like_meta`] lowercases: more than
/// the longest of `boilerplate::META_OPENERS`, so a cut never meets one.
const META_OPENER_CHARS: usize = 64;

/// Whether a short block is page furniture around a story: a byline, a date, a reading
/// time, a label, a count.
fn looks_like_meta(b: &Block) -> bool {
    let text = b.text.as_str();
    // Counted up to 13: the rules below tell nothing apart past twelve words.
    let words = text.split_whitespace().take(13).count();
    if words <= 2 || b.link_chars * 10 >= b.chars * 3 {
        return true;
    }
    // Past twelve words only an opener and a byline can mark a block: a paragraph's opening
    // is all that needs lowercasing (this runs for every block of the container).
    let lower = if words > 12 {
        let end = text
            .char_indices()
            .nth(META_OPENER_CHARS)
            .map_or(text.len(), |(at, _)| at);
        text[..end].to_lowercase()
    } else {
        text.to_lowercase()
    };
    if boilerplate::META_OPENERS
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    if is_byline_line(text) {
        return true;
    }
    if words > 12 {
        return false;
    }
    // Photo credits ("Patrick Semansky, ASSOCIATED PRESS") and pagers ("1 - 5 of 36").
    if words <= 8 && boilerplate::PHOTO_CREDITS.iter().any(|c| lower.contains(c)) {
        return true;
    }
    if words <= 6 && text.chars().filter(|c| c.is_alphabetic()).count() * 2 < b.chars {
        return true;
    }
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    has_digit
        && lower.split(|c: char| !c.is_alphanumeric()).any(|w| {
            boilerplate::MONTH_ABBREVIATIONS
                .iter()
                .chain(boilerplate::CLOCK_WORDS)
                .any(|d| w.starts_with(d) && w.len() <= 9)
        })
}

/// Characters of a colon-free line that [`is_byline_line`] reads: more than any of
/// [`boilerplate::BYLINE_MARKERS`] is long.
const BYLINE_HEAD_CHARS: usize = 40;

/// Whether a line credits the author: "05/10/2018 - Published by: Jane - Category: Health",
/// in a few languages.
fn is_byline_line(text: &str) -> bool {
    if text.split_whitespace().nth(30).is_some() {
        return false;
    }
    // In running text "published by the city" is ordinary prose; a credit line starts with
    // the phrase or gives it a colon. Without a colon only the opening can tell, so only
    // the opening is lowercased (most blocks on a page have none).
    if !text.contains(':') {
        let head: String = text.chars().take(BYLINE_HEAD_CHARS).collect();
        let head = head.to_lowercase();
        return boilerplate::BYLINE_MARKERS
            .iter()
            .any(|p| head.starts_with(p));
    }
    let lower = text.to_lowercase();
    boilerplate::BYLINE_MARKERS.iter().any(|p| {
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
pub(super) fn same_title(a: &str, b: &str) -> bool {
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
    // Counted up to 301: no rule below tells longer lines apart.
    let len = text.chars().take(301).count();
    // Bare URLs and file names leaking from widgets and image metadata.
    let url_chars: usize = if text.contains("http") || text.contains("www.") {
        text.split_whitespace()
            .filter(|w| {
                w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
            })
            .map(str::len)
            .sum()
    } else {
        0
    };
    if url_chars * 2 >= text.len() {
        return true;
    }
    // Captions that carry their credit inline: "Protesters march (Image: GETTY)".
    if len <= 300 && text.trim_end().ends_with(')') {
        let lower = text.to_lowercase();
        if boilerplate::INLINE_CREDITS
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
        if boilerplate::is_promo(&lower) {
            return true;
        }
        // Time stamps: "PUBLISHED: 10:48, Tue, Nov 19, 2019 | UPDATED: 11:05, …".
        if len <= 120
            && boilerplate::STAMP_LABELS
                .iter()
                .any(|p| lower.starts_with(p))
        {
            return true;
        }
        // Date lines run longer when they carry the site's disclaimer after the date
        // ("Letzte Aktualisierung am 2.02.2022 / Affiliate Links / …").
        if len <= 160
            && boilerplate::DATE_LABELS
                .iter()
                .any(|p| lower.starts_with(p))
        {
            return true;
        }
        if len <= 150
            && boilerplate::PROMPT_OPENERS
                .iter()
                .any(|p| lower.starts_with(p))
        {
            return true;
        }
        // Gallery counters: "Image 3 of 5".
        let words: Vec<&str> = lower.split_whitespace().collect();
        let counter = match words.as_slice() {
            [kind, n, "of", m] => {
                boilerplate::COUNTED_MEDIA.contains(kind)
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
    if boilerplate::LABELS.contains(&lower) {
        return true;
    }
    boilerplate::LINE_OPENERS
        .iter()
        .chain(boilerplate::STAMP_LABELS)
        .any(|p| lower.starts_with(p))
}

/// Whether a short block is a photo's caption or credit rather than story text: it opens
/// with a credit label ("Foto: …", "Beitragsbild: …") or carries a copyright sign
/// ("Der Hirschkäfer. Foto © Jane Doe"). A story's own paragraphs are longer than a caption
/// and name no copyright holder.
fn is_credit_line(text: &str) -> bool {
    if closes_on_a_credit(text) {
        return true;
    }
    let chars = text.chars().count();
    if chars > 300 {
        return false;
    }
    if chars <= 250 && names_a_copyright_holder(text) {
        return true;
    }
    let lower = text.to_lowercase();
    boilerplate::CREDIT_OPENERS
        .iter()
        .any(|p| lower.starts_with(p))
        // "Roman Doe, photo: Archives": a name, then the credit.
        || (chars <= 80 && lower.contains(", photo:"))
}

/// Whether a longer block is a caption that closes on its photo credit: its last sentence
/// is a credit label with a holder of a few words ("… left behind. Foto © Jane Doe"). A
/// story's paragraph never ends by crediting a photographer; a caption may run long.
fn closes_on_a_credit(text: &str) -> bool {
    if text.len() > 4000 {
        return false;
    }
    // The credit is the tail after the last sentence end.
    let Some(end) = text.rfind(['.', '!', '?']) else {
        return false;
    };
    let tail = text[end + 1..].trim();
    if tail.split_whitespace().nth(6).is_some() {
        return false;
    }
    let lower = tail.to_lowercase();
    boilerplate::CREDIT_LABELS.iter().any(|l| {
        lower
            .strip_prefix(l)
            .is_some_and(|rest| rest.trim_start().starts_with([':', '©']))
    })
}

/// Whether a `©` in the text is a credit: the text opens with it ("© John Doe Protesters
/// march …"), or what follows it is a holder or a year of a few words ("© dpa | Kay
/// Nietfeld", "©iStock", "Foto © Jane Doe"), not the rest of a sentence that plays with
/// the sign ("our manifesto™© we just think …").
fn names_a_copyright_holder(text: &str) -> bool {
    // A caption may also open with its credit: "© John Doe Protesters march on …".
    text.trim_start().starts_with('©')
        || text
            .match_indices('©')
            .any(|(at, sign)| text[at + sign.len()..].split_whitespace().nth(6).is_none())
}

/// Whether a line reads like a paywall notice.
fn is_paywall_text(text: &str) -> bool {
    if text.chars().nth(300).is_some() {
        return false;
    }
    boilerplate::has_paywall_notice(text)
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
        // In any case, and not from a long paragraph that merely mentions subscribing.
        assert!(is_paywall_text("ALREADY A SUBSCRIBER? Log in"));
        assert!(!is_paywall_text(&format!(
            "{} Subscribe to read more.",
            "A long paragraph of the story itself. ".repeat(10)
        )));
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
    fn a_story_printed_again_in_noscript_stands_in_for_a_script_shell() {
        let story: String = (1..=4).map(|n| paragraph(n, "the new filter")).collect();
        let html = format!(
            "<html><head><title>Safer browsing</title></head><body><div class=\"post\"><h2>Safer browsing</h2>\
             <div class=\"date\">May 19, 2024</div><div class=\"post-body\"><script type=\"text/template\">{story}</script>\
             <noscript>{story}</noscript></div></div>\
             <noscript><iframe src=\"https://tags.example.com/ns.html\" height=\"0\" width=\"0\"></iframe></noscript></body></html>"
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
        assert!(a.blocks[0].starts_with("Paragraph 1 about the new filter"));
        assert!(crate::article::summarize(&a.blocks).is_some());
        // Tag names in any case.
        let mixed = html
            .replace("<noscript>", "<NoScript>")
            .replace("</noscript>", "</NoScript>");
        assert_eq!(extract(&mixed, None).blocks.len(), 4);
    }

    #[test]
    fn a_noscript_copy_does_not_replace_a_story_the_page_shows() {
        let story: String = (1..=4).map(|n| paragraph(n, "the harbour")).collect();
        let html = format!(
            "<html><body><div class=\"story\">{story}</div><noscript><p>Please turn on JavaScript to see the comments and the photo gallery of this story, which need it to load; the text above does not.</p>{}</noscript></body></html>",
            paragraph(9, "an old notice")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
        assert!(a.blocks.iter().all(|b| b.contains("the harbour")));
    }

    /// Asserts that each of `present` is in the article's text.
    fn assert_text_has(a: &Article, present: &[&str]) {
        let text = a.text();
        for p in present {
            assert!(text.contains(p), "{p} is missing from {:?}", a.blocks);
        }
    }

    /// A list of topic links, as pages put beside a headline (it keeps the headline's
    /// wrapper from reading as story text).
    fn topic_links() -> String {
        (0..6)
            .map(|i| format!("<li><a href=\"/t/{i}\">Topic number {i} of the list</a></li>"))
            .collect()
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
    fn a_hover_card_inside_a_paragraph_is_not_glued_into_its_text() {
        let html = format!(
            "<html><body><div class=\"story\"><p>Gov. <span class=\"person\"><a href=\"/people/jane-roe\">Jane Roe</a><span class=\"hovercard\"><span>Jane Alice Roe</span><span><a href=\"/x\">Northland governor doubles down on the road plan</a></span></span></span> signed the transport bill on Tuesday, ending a year of debate in the state house.</p><p>She said the <abbr>role</abbr> of <span role=\"tooltip\">(a note)</span>roads was clear.</p>{}</div></body></html>",
            paragraph(1, "the bill")
        );
        let a = extract(&html, None);
        assert!(
            a.blocks[0].starts_with("Gov. Jane Roe signed the transport bill"),
            "{:?}",
            a.blocks
        );
        assert!(!a.text().contains("doubles down"), "{:?}", a.blocks);
        assert!(!a.text().contains("(a note)"), "{:?}", a.blocks);
    }

    #[test]
    fn a_lead_paragraph_between_the_headline_and_the_body_opens_the_story() {
        let html = format!(
            "<html><head><title>Harbour reopens</title></head><body><nav><a href=\"/\">Home</a></nav>\
             <article><header><h1>Harbour reopens</h1>\
             <p class=\"lead\">After eight months of dredging, the old harbour opened to ships again on Monday, and the first ferry docked before noon with a full deck of cars, vans and cheering passengers.</p>\
             <p class=\"byline\">By Jane Roe</p><ul class=\"topics\"><li><a href=\"/t/1\">Harbours and ports</a></li><li><a href=\"/t/2\">Shipping news</a></li><li><a href=\"/t/3\">City council</a></li><li><a href=\"/t/4\">Ferries and boats</a></li><li><a href=\"/t/5\">Local economy</a></li><li><a href=\"/t/6\">Weather and tides</a></li></ul>\
             <p>In this file photo, workers, left, stand on the quay in March while the dredger works behind them in the basin.</p></header>\
             <div class=\"article-body\">{}{}{}</div></article></body></html>",
            paragraph(1, "the harbour"),
            paragraph(2, "the harbour"),
            paragraph(3, "the harbour")
        );
        let a = extract(&html, None);
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
        assert!(
            a.blocks[0].starts_with("After eight months"),
            "{:?}",
            a.blocks
        );
        assert!(!a.text().contains("In this file photo"), "{:?}", a.blocks);
    }

    #[test]
    fn a_heading_left_without_text_under_it_is_dropped() {
        let links: String = (0..5)
            .map(|i| {
                format!(
                    "<li><a href=\"/more/{i}\">Another story about the harbour, part {i}</a></li>"
                )
            })
            .collect();
        let html = format!(
            "<html><body><div class=\"story\"><h2>Ships return to the old harbour after a long wait</h2>{}<h2>What the council decided</h2>{}{}<h3>Further reading on our site</h3><ul>{links}</ul></div></body></html>",
            paragraph(1, "the harbour"),
            paragraph(2, "the harbour"),
            paragraph(3, "the harbour")
        );
        let a = extract(&html, None);
        assert!(
            a.text().contains("What the council decided"),
            "{:?}",
            a.blocks
        );
        assert!(!a.text().contains("Further reading"), "{:?}", a.blocks);
    }

    #[test]
    fn a_recipe_card_after_the_post_keeps_its_ingredients_and_steps() {
        let ingredients: String = [
            "300 g <a href=\"/i/butter\">butter</a>, soft",
            "200 g <a href=\"/i/sugar\">sugar</a>",
            "6 eggs",
            "350 g <a href=\"/i/flour\">flour</a>",
            "2 tsp <a href=\"/i/baking-powder\">baking powder</a>",
            "3 tbsp lemon juice",
        ]
        .iter()
        .map(|i| format!("<li>{i}</li>"))
        .collect();
        let html = format!(
            "<html><body><div class=\"entry-content\">{}\
             <div class=\"recipe-card\"><h2>Lemon sheet cake</h2><div><a href=\"/print\">Print</a> <a href=\"/pin\">Pin</a></div>\
             <div>Prep 10 min</div><div>Bake 25 min</div><div>Total 35 min</div><div>Serves: one tray</div>\
             <h3>Ingredients</h3><ul>{ingredients}</ul><h3>Method</h3><ol>\
             <li><div>Heat the oven to 175 degrees and butter a baking tray, then dust it with a little flour so nothing sticks.</div></li>\
             <li><div>Beat the butter and sugar until pale, add the eggs one by one, then fold in the flour, baking powder and juice.</div></li>\
             <li><div>Spread the batter on the tray and bake for about 25 minutes, until a skewer comes out clean.</div></li></ol></div></div></body></html>",
            (1..=7)
                .map(|n| paragraph(n, "lemon cake"))
                .collect::<String>()
        );
        let a = extract(&html, None);
        assert_text_has(
            &a,
            &["6 eggs", "350 g flour", "Spread the batter on the tray"],
        );
    }

    #[test]
    fn an_ingredients_table_before_the_steps_joins_the_recipe() {
        let rows: String = [
            ("125 g", "flour"),
            ("65 g", "sugar"),
            ("65 g", "butter or margarine"),
            ("1", "egg"),
            ("2 cans", "mandarins, drained"),
            ("500 ml", "milk"),
        ]
        .iter()
        .map(|(q, i)| format!("<tr><td>{q}</td><td><span>{i}</span></td></tr>"))
        .collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a> <a href=\"/cakes\">Cakes</a></nav><div class=\"recipe\"><h1>Mandarin cream cake</h1>\
             <div class=\"recipe-ingredients\"><h2>Ingredients</h2><table><thead><tr><th><h3>For the base:</h3></th></tr></thead><tbody>{rows}</tbody></table></div>\
             <div class=\"recipe-steps\"><h2>Method</h2>{}{}{}</div></div></body></html>",
            paragraph(1, "the cake"),
            paragraph(2, "the cake"),
            paragraph(3, "the cake")
        );
        let a = extract(&html, None);
        let text = a.text();
        assert_text_has(
            &a,
            &[
                "For the base:",
                "125 g",
                "butter or margarine",
                "Paragraph 1",
            ],
        );
        assert!(!text.contains("Home"), "{:?}", a.blocks);
    }

    #[test]
    fn an_ingredients_table_whose_products_link_to_a_shop_joins_the_recipe() {
        // A maker's recipe links its own products from the ingredient rows; the rows are
        // still the recipe's, not a list of links.
        let rows: String = [
            ("125 g", "flour"),
            ("65 g", "sugar"),
            ("1 pack", "<a href=\"/shop/1\">Acme vanilla sugar</a>"),
            ("65 g", "butter or margarine"),
            ("1 pack", "<a href=\"/shop/2\">Acme baking powder</a>"),
            ("2 cans", "mandarins, drained"),
            ("500 ml", "milk"),
        ]
        .iter()
        .map(|(q, i)| format!("<tr><td>{q}</td><td>{i}</td></tr>"))
        .collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a> <a href=\"/cakes\">Cakes</a></nav><div class=\"recipe\"><h1>Mandarin cream cake</h1>\
             <div class=\"recipe-ingredients\"><h2>Ingredients</h2><h3>For the base:</h3><table><tbody>{rows}</tbody></table></div>\
             <div class=\"recipe-steps\"><h2>Method</h2>{}{}{}</div></div></body></html>",
            paragraph(1, "the cake"),
            paragraph(2, "the cake"),
            paragraph(3, "the cake")
        );
        let a = extract(&html, None);
        assert_text_has(
            &a,
            &[
                "For the base:",
                "125 g",
                "butter or margarine",
                "Paragraph 3",
            ],
        );
        assert!(!a.text().contains("Home"), "{:?}", a.blocks);
    }

    #[test]
    fn a_lead_under_a_headline_wrapped_inside_its_h1_opens_the_story() {
        // The headline's text sits in a `<div>` inside the `<h1>`; the lead and the body
        // are in separate branches of the page, several wrappers apart.
        let body: String = (1..=5).map(|n| paragraph(n, "the harbour")).collect();
        let html = format!(
            "<html><head><title>Ferries return to the old port</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><article><div class=\"top\">\
             <div class=\"head\"><h1><div>Ferries return to the old port</div></h1></div>\
             <div class=\"deck\"><div><p>After eight months of dredging, the basin opened to \
             shipping again on Monday, and the first boat docked before noon with a full deck \
             of cars, vans and cheering passengers.</p></div></div>\
             <div class=\"meta\"><span>Jane Roe</span></div><ul class=\"topics\">{}</ul></div>\
             <div class=\"row\"><div class=\"col\"><div class=\"cell\"><div class=\"inner\">\
             <div class=\"text\">{body}</div></div></div></div></div></article></body></html>",
            topic_links()
        );
        let a = extract(&html, None);
        assert!(a.text().starts_with("After eight months"), "{:?}", a.blocks);
        assert!(a.text().contains("Paragraph 5"), "{:?}", a.blocks);
    }

    #[test]
    fn a_lead_that_shares_the_headlines_words_is_no_repeat_of_it() {
        // A lead tells the headline's story at more length and so uses its words; only a
        // block about as short as the headline repeats it.
        let html = format!(
            "<html><head><title>Harbour reopens to ships</title></head><body><nav><a href=\"/\">Home</a></nav>\
             <article><header><h1>Harbour reopens to ships</h1>\
             <p>The harbour reopens to ships this week after eight months of dredging, and the \
             first ferry docked before noon with a full deck of cars, vans and passengers.</p>\
             <p class=\"byline\">By Jane Roe</p><ul class=\"topics\">{}</ul></header>\
             <div class=\"article-body\">{}{}{}</div></article></body></html>",
            topic_links(),
            paragraph(1, "the harbour"),
            paragraph(2, "the harbour"),
            paragraph(3, "the harbour")
        );
        let a = extract(&html, None);
        assert!(
            a.text()
                .starts_with("The harbour reopens to ships this week"),
            "{:?}",
            a.blocks
        );
    }

    #[test]
    fn a_story_told_in_the_slides_of_a_slideshow_keeps_every_slide() {
        // The only story text on the page is in a "slideshow" wrapper; each slide is its
        // own section, so read from inside the wrapper one slide would be the story.
        let slides: String = (1..=5)
            .map(|n| {
                format!(
                    "<section class=\"slide\"><h2>Step {n}</h2><p>Slide {n} of the phone \
                     review says, in a few plain sentences, what the new model does better \
                     than the last one and what it costs.</p></section>"
                )
            })
            .collect();
        let html = format!(
            "<html><head><title>The new phone, in five slides</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/tech\">Tech</a></nav><main>\
             <div class=\"slideshow-wrapper\">{slides}</div></main>\
             <footer><a href=\"/about\">About us</a></footer></body></html>"
        );
        let a = extract(&html, None);
        for n in 1..=5 {
            assert!(
                a.text().contains(&format!("Slide {n} of")),
                "{:?}",
                a.blocks
            );
        }
        assert!(!a.text().contains("About us"), "{:?}", a.blocks);
    }

    #[test]
    fn a_gallery_post_told_in_its_captions_is_read_again_from_them() {
        // The only text under the headline is in figure captions inside a "gallery": the
        // first reading leaves figures and galleries out and finds nothing.
        let figures: String = (1..=4)
            .map(|n| {
                format!(
                    "<figure class=\"gallery-item\"><img src=\"/p{n}.jpg\"><figcaption>\
                     Project {n} of the year is a kitchen in an old farmhouse, where the \
                     designer kept the beams and added a long oak counter for the family.\
                     </figcaption></figure>"
                )
            })
            .collect();
        let html = format!(
            "<html><head><title>Best projects of the year</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/magazine\">Magazine</a></nav><main>\
             <h1>Best projects of the year</h1><div class=\"gallery\">{figures}</div></main>\
             <footer><a href=\"/about\">About us</a></footer></body></html>"
        );
        let a = extract(&html, None);
        for n in 1..=4 {
            assert!(
                a.text().contains(&format!("Project {n} of")),
                "{:?}",
                a.blocks
            );
        }
        assert!(!a.text().contains("About us"), "{:?}", a.blocks);
    }

    #[test]
    fn a_post_of_short_lines_is_read_from_the_element_marked_as_its_body() {
        // No line of the post is a sentence long enough to score, so neither reading finds
        // a story; the footer's copyright line, the one sentence on the page, is dropped as
        // a credit. The markup still says where the post is.
        let html = "<html><head><title>Film swap, April</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/swaps\">Swaps</a></nav>\
             <article class=\"post format-gallery post_format-post-format-gallery\">\
             <h1>Film swap, April</h1><div class=\"entry-content\">\
             <h3>Film</h3><p>Fuji X-TRA 400.</p><h3>Cameras</h3><p>Ana: Widelux F7.</p>\
             <p>Ben: PENTAX Z-1p.</p><h3>Order</h3><ol><li>Ana.</li><li>Ben.</li></ol>\
             <div class=\"ngg-galleryoverview\"><a href=\"/1.jpg\"><img src=\"/t1.jpg\"></a></div>\
             </div></article><footer><p>Copyright © 2018. All Rights Reserved.</p></footer>\
             </body></html>";
        let a = extract(html, None);
        assert_text_has(&a, &["Fuji X-TRA 400.", "Ben: PENTAX Z-1p.", "Cameras"]);
        for absent in ["Home", "Copyright"] {
            assert!(!a.text().contains(absent), "{absent} in {:?}", a.blocks);
        }
    }

    #[test]
    fn a_byline_opens_with_its_phrase_or_gives_it_a_colon() {
        assert!(is_byline_line("Posted by Jane Doe on 5 May"));
        assert!(is_byline_line("PUBLIÉ PAR Marie Curie"));
        assert!(is_byline_line(
            "05/10/2018 - Published by: Jane - Category: Health"
        ));
        assert!(!is_byline_line(
            "The report was published by the city council in May."
        ));
        assert!(!is_byline_line(
            "Figures: the report was published by the city council."
        ));
    }

    #[test]
    fn a_copyright_sign_marks_a_credit_only_before_a_year_or_a_holder() {
        assert!(is_credit_line(
            "Der Hirschkäfer im lichten Wald. Foto © Jane Doe"
        ));
        assert!(is_credit_line("Harbour at dawn ©2019"));
        assert!(is_credit_line("Harbour at dawn ©"));
        assert!(is_credit_line("Keine intakten Strassen. © zvg"));
        assert!(is_credit_line("© dpa | Kay Nietfeld"));
        assert!(is_credit_line(
            "© John Doe Needle poking skin during a flu shot at a community health center in the city."
        ));
        assert!(!is_credit_line(
            "This isn't supposed to be a manifesto™© we just think it's pretty cool to share what we've learned."
        ));
    }

    #[test]
    fn a_print_layout_wrapper_or_an_ads_modifier_does_not_hide_the_story_part_it_holds() {
        // "print" and "ads" in a class list name a print layout or a BEM modifier as often
        // as a print button or an ad slot; the parts they wrap are the story's.
        let intro: String = (1..=5).map(|n| paragraph(n, "the cake")).collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a> <a href=\"/cakes\">Cakes</a></nav>\
             <article><div class=\"intro\">{intro}</div>\
             <div class=\"print-full\"><p>Beat the butter with the sugar for five minutes, then \
             fold in the flour and the eggs one by one until the batter is smooth.</p></div>\
             <div class=\"report__section--ads\"><p>Bake it for forty minutes at 180 degrees, \
             then let it cool on a rack before you cut the first slice of it.</p></div>\
             </article></body></html>"
        );
        let text = extract(&html, None).text();
        assert!(text.contains("Beat the butter"), "{text}");
        assert!(text.contains("Bake it for forty minutes"), "{text}");
        assert!(text.contains("Paragraph 5"), "{text}");
    }

    #[test]
    fn every_meta_opener_fits_in_the_opening_a_long_block_is_read_by() {
        for opener in boilerplate::META_OPENERS {
            assert!(opener.chars().count() + 8 < META_OPENER_CHARS, "{opener}");
        }
    }

    #[test]
    fn a_lead_paragraph_in_a_wrapper_before_the_body_opens_the_story() {
        // No headline element to anchor a standfirst: the lead joins as the body's
        // earlier sibling, and the furniture beside it stays out.
        let body: String = (1..=6).map(|n| paragraph(n, "the harbour")).collect();
        let html = format!(
            "<html><head><title>Harbour reopens</title></head><body>\
             <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><div class=\"wrap\">\
             <div class=\"intro\"><p>Updated Nov. 19, 2019 8:21 am ET</p>\
             <p>The harbour reopened on Monday after a month of repairs, and the first ferries \
             brought back the commuters who had driven around the bay since the storm.</p>\
             <ul><li>Order Reprints</li></ul></div>\
             <div class=\"text\">{body}</div></div></body></html>"
        );
        let a = extract(&html, None);
        let text = a.text();
        assert!(
            text.starts_with("The harbour reopened on Monday"),
            "{:?}",
            a.blocks
        );
        assert!(text.contains("Paragraph 6"), "{:?}", a.blocks);
        for absent in ["Updated Nov. 19", "Order Reprints", "Home"] {
            assert!(!text.contains(absent), "{absent} in {:?}", a.blocks);
        }
    }

    #[test]
    fn ingredients_in_one_column_join_the_steps_in_the_next() {
        // Ingredients and method sit in two columns of a row, each wrapped again: cousins
        // of each other, not siblings.
        let items: String = [
            "250 g flour",
            "2 eggs",
            "100 ml milk, warmed",
            "1 pinch of salt",
            "50 g butter",
        ]
        .iter()
        .map(|i| format!("<li>{i}</li>"))
        .collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a> <a href=\"/cakes\">Cakes</a></nav>\
             <div class=\"recipe\"><h1>Pancakes</h1><div class=\"row\">\
             <div class=\"col\"><div class=\"box\"><h2>Ingredients</h2><ul>{items}</ul></div></div>\
             <div class=\"col\"><div class=\"steps\"><h2>Method</h2>{}{}{}</div></div>\
             </div></div></body></html>",
            paragraph(1, "the batter"),
            paragraph(2, "the batter"),
            paragraph(3, "the batter")
        );
        let a = extract(&html, None);
        let text = a.text();
        assert_text_has(
            &a,
            &[
                "Ingredients",
                "250 g flour",
                "1 pinch of salt",
                "Paragraph 3",
            ],
        );
        assert!(!text.contains("Home"), "{:?}", a.blocks);
    }

    #[test]
    fn ingredients_set_as_paragraphs_in_list_items_do_not_cut_off_the_steps() {
        // A recipe card below the post: its facts are a run of short labels and figures,
        // and each ingredient is a paragraph inside a list item, as recipe plug-ins write
        // them. Those rows are the list's own, not a widget's run ending the story.
        let rows: String = [
            "2 onions, sliced",
            "1 tbsp oil",
            "Some salt",
            "A little pepper",
            "Fresh parsley",
            "Lemon juice",
        ]
        .iter()
        .map(|i| format!("<li><p>{i}</p></li>"))
        .collect();
        let html = format!(
            "<html><body><nav><a href=\"/\">Home</a> <a href=\"/soups\">Soups</a></nav>\
             <article><div class=\"entry-content\">{}{}{}\
             <div class=\"recipe-card\"><h2>Onion soup</h2>\
             <div><span>Servings</span> <p>4</p></div><div><span>Prep time</span> <p>10</p> <span>minutes</span></div>\
             <div><h3>Ingredients</h3><ul>{rows}</ul></div>\
             <div><h3>Directions</h3><ul>\
             <li>Heat the oil in a heavy pan and fry the onions slowly until they are soft and golden.</li>\
             <li>Add the water with the salt and simmer it all gently for half an hour, stirring now and then.</li>\
             </ul></div></div></div></article></body></html>",
            paragraph(1, "onion soup"),
            paragraph(2, "onion soup"),
            paragraph(3, "onion soup")
        );
        let a = extract(&html, None);
        assert_text_has(
            &a,
            &[
                "Paragraph 3",
                "1 tbsp oil",
                "Lemon juice",
                "fry the onions slowly",
                "simmer it all gently",
            ],
        );
        assert!(!a.text().contains("Home"), "{:?}", a.blocks);
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

    /// A story whose container holds `middle` between its paragraphs and `tail` after them.
    /// Where [`assert_each_dropped`] sets the blocks it tries.
    #[derive(Clone, Copy)]
    enum Place {
        /// Between the story's first and second paragraphs.
        Between,
        /// After its last paragraph.
        After,
    }

    /// Asserts that each of `parts`, set at `place` in a three-paragraph story, is dropped
    /// and leaves the three paragraphs.
    fn assert_each_dropped(parts: &[&str], place: Place) {
        for part in parts {
            let a = match place {
                Place::Between => story_with(part, ""),
                Place::After => story_with("", part),
            };
            assert_eq!(a.blocks.len(), 3, "{part}: {:?}", a.blocks);
        }
    }

    fn story_with(middle: &str, tail: &str) -> Article {
        let html = format!(
            "<html><body><div class=\"story\">{}{middle}{}{}{tail}</div></body></html>",
            paragraph(1, "the story"),
            paragraph(2, "the story"),
            paragraph(3, "the story")
        );
        extract(&html, None)
    }

    #[test]
    fn labels_and_pointers_in_german_french_and_polish_are_dropped_where_they_stand() {
        assert_each_dropped(
            &[
                "<p>Inhaltsverzeichnis</p>",
                "<p>Rezept drucken</p>",
                "<p>Auch interessant:</p>",
                "<p>Bild anzeigen Bild schließen</p>",
                "<h3>Weitere Beiträge aus der Kolumne:</h3>",
                "<p>Möchten Sie den Artikel teilen?</p>",
                "<p>Anzeige, enthält Affiliate Links</p>",
                "<p>Pour accéder en illimité aux articles :</p>",
                "<p>Zapraszamy też do subskrypcji</p>",
                "<p>Kommentieren</p>",
                "<p>Externer Inhalt</p>",
            ],
            Place::Between,
        );
    }

    #[test]
    fn date_lines_labelled_in_other_languages_are_dropped() {
        assert_each_dropped(
            &[
                "<p>Stand: 05. Februar 2020</p>",
                "<p>Aktualisiert: 12.03.2021, 10:15 Uhr</p>",
                "<p>Letzte Aktualisierung am 2.02.2022 / Affiliate Links / Bilder von der API</p>",
                "<p>opublikowano: 12 marca 2021</p>",
                "<p>Release Date: March 3, 2021</p>",
            ],
            Place::Between,
        );
    }

    #[test]
    fn captions_set_as_paragraphs_with_their_photo_credit_are_dropped() {
        assert_each_dropped(
            &[
                "<p>Rund um die Wurzeln lagert sich Eisenoxid ab, wie Proben zeigen. (Foto: Anna Muster, Institut)</p>",
                "<p>Der Hirschkäfer lebt in alten Wäldern. Foto © Jörg Muster</p>",
                "<p>Beitragsbild: Titelseite der Zeitung vom 2.4.2019, Ausriss.</p>",
                "<p>Bild: Logo des Preises | © Verlag</p>",
                "<p>Roman Muster, photo: Archives du gouvernement</p>",
            ],
            Place::Between,
        );
    }

    #[test]
    fn reader_prompts_and_app_promos_after_the_story_are_dropped() {
        assert_each_dropped(
            &[
                "<p>For the latest stories and breaking news updates download the Daily News apps for iOS and Android.</p>",
                "<p>¡Mira lo que tiene nuestro canal de YouTube!</p>",
                "<p>¿Ya sabías que tenemos canal de Telegram? Únete desde tu celular en este enlace.</p>",
                "<p>Puede escribirnos a redaccion@example.com o seguirnos en Facebook, Twitter o suscribirse aquí a nuestra newsletter.</p>",
                "<p>First-time subscribers also receive a special welcome gift! Do it for the culture.</p>",
                "<p>War der Artikel nützlich? (95 Stimmen: 4,73 von 5) Loading...</p>",
                "<p>If you enjoyed reading this post, please share it with your friends.</p>",
            ],
            Place::After,
        );
    }

    #[test]
    fn an_author_box_closing_the_post_is_dropped() {
        let a = story_with(
            "",
            "<p>Jane Roe is the Founder & Principal Consultant at Example Media, a marketing consultancy that helps brands stand out. She is also a speaker.</p>",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
        // A closing paragraph about someone in the story is the story's.
        let a = story_with(
            "",
            "<p>Jane Roe is a resident of the town and says she will vote against the plan next year.</p>",
        );
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
    }

    #[test]
    fn longer_login_prompts_and_dated_disclaimers_are_dropped() {
        assert_each_dropped(
            &[
                "<p>Sie müssen sich einloggen, um sich an einer Diskussion beteiligen zu können.</p>",
                "<p>Pour lire la suite et accéder gratuitement à 3 articles par mois, créez votre compte</p>",
                "<p>Letzte Aktualisierung am 2.02.2022 / Bei den Verlinkungen handelt es sich um Affiliate Links / Bilder von der Product API</p>",
            ],
            Place::Between,
        );
    }

    #[test]
    fn a_widget_title_over_dropped_links_is_dropped_with_them() {
        let a = story_with(
            "<div class=\"box\"><div class=\"subheadline\">Recommendations from our shop</div><ul><li><a href=\"/p/1\">Garden gloves, size M</a></li><li><a href=\"/p/2\">Seed potatoes, three pieces</a></li></ul></div>",
            "",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
        // A section's own heading shares its element with the section's paragraphs.
        let a = story_with("<h2>What changes</h2>", "");
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
    }

    #[test]
    fn a_rating_prompt_asking_how_the_reader_liked_the_article_is_dropped() {
        let a = story_with("", "<p>Wie hat Ihnen dieser Artikel gefallen?</p>");
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }

    #[test]
    fn a_long_caption_closing_on_its_photo_credit_is_dropped() {
        let caption = "<p>The plan also covers the open woods that grew from a particular way of farming them. Chestnut groves, for example, formed where the trees gave both fruit and pasture. Typical of them besides the gnarled, wide-crowned chestnuts is the carpet of herbs that grazing left behind. Foto © Jane Muster</p>";
        let a = story_with(caption, "");
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
        // A sentence about a photograph's rights is the story's own.
        let a = story_with(
            "<p>The agency sold the rights to the photo of the flooded square to three papers, and it still lists the picture today. Photo: the agency keeps the original.</p>",
            "",
        );
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
    }

    #[test]
    fn a_caption_in_an_element_classed_legend_is_dropped() {
        let a = story_with(
            "<div class=\"images\"><div class=\"legend\"><div class=\"content\">Target species of the groves include the woodland grayling and the stag beetle, both rare in the north.</div></div></div>",
            "",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }

    #[test]
    fn a_teaser_closing_on_a_read_more_link_is_dropped_with_its_headline() {
        assert_each_dropped(
            &[
                "<div class=\"box\"><h3><a href=\"/other\">Summer on the islands</a></h3><p>Summer is holiday time, and the model makes the most of it on a Greek island. See for yourselves! <a href=\"/other\">Weiterlesen</a></p></div>",
                "<div class=\"box\"><h3><a href=\"/other\">Hay, harvested right</a></h3><p>Hay is the basis of good feeding, but many bales hold dust and mould. <a href=\"/other\">Read more →</a></p></div>",
            ],
            Place::After,
        );
        // A paragraph whose last words link to a source is the story's own.
        let a = story_with(
            "",
            "<p>The figures come from the ministry, which published them on Monday in its <a href=\"/r\">yearly report</a>.</p>",
        );
        assert_eq!(a.blocks.len(), 4, "{:?}", a.blocks);
    }

    #[test]
    fn a_blog_themes_filing_line_a_consent_checkbox_and_a_rating_prompt_are_dropped() {
        assert_each_dropped(
            &[
                "<p>Der Beitrag wurde am Mittwoch, den 27. November 2019 um 15:21 Uhr veröffentlicht und wurde unter Allgemein, Termine abgelegt. Du kannst die Kommentare zu diesem Eintrag durch den RSS 2.0 Feed verfolgen.</p>",
                "<p>This entry was posted on Wednesday, November 27th, 2019 at 3:21 pm and is filed under General. You can follow any responses to this entry through the RSS 2.0 feed.</p>",
                // The whole default line runs past the forty words a sign-off may have.
                "<p>Der Beitrag wurde am Mittwoch, den 27. November 2019 um 15:21 Uhr veröffentlicht und wurde unter Allgemein, Region Halle - Leipzig, Tastings &amp; Events, Termine abgelegt. Du kannst die Kommentare zu diesem Eintrag durch den RSS 2.0 Feed verfolgen. Kommentare sind derzeit geschlossen, aber Du kannst dennoch einen Trackback auf deiner Seite einrichten.</p>",
                "<p>This entry was posted on Wednesday, November 27th, 2019 at 3:21 pm and is filed under General, Events, Tastings, Region North, Calendar. You can follow any responses to this entry through the RSS 2.0 feed. Both comments and pings are currently closed, but you can leave a trackback from your own site.</p>",
                "<p>Ich bin mit der Verarbeitung meiner Daten nach Datenschutzerklärung einverstanden. Ich kann meine Einwilligung jederzeit widerrufen.</p>",
                "<p>I agree to the processing of my personal data as described in the privacy policy.</p>",
                "<p>Wie bewerten Sie diesen Artikel? *</p>",
            ],
            Place::After,
        );
    }

    #[test]
    fn an_affiliate_disclosure_is_dropped() {
        let a = story_with(
            "<div class=\"affiliate-text\"><h3>What the star means:</h3><p>Our independent experts test products and providers regularly, and only when they recommend an offer may the provider place a link.</p></div>",
            "",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }

    #[test]
    fn a_blurb_followed_by_its_own_read_more_link_is_dropped() {
        let a = story_with(
            "",
            "<div class=\"box\"><h3><a href=\"/other\">Volunteers find a home</a></h3><p>The new foundation for volunteering was set up in June and helps clubs in the countryside.</p><p><a href=\"/other\">Mehr</a></p></div>",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }

    #[test]
    fn contact_labels_topic_pointers_and_information_prompts_are_dropped() {
        assert_each_dropped(
            &[
                "<p>Kontakt:</p>",
                "<p>Pressesprecherin Jana Muster</p>",
                "<p>Das Thema könnte dich auch interessieren:</p>",
            ],
            Place::Between,
        );
        let a = story_with(
            "",
            "<p>Do you want to be informed of our next events? Leave your address below.</p>",
        );
        assert_eq!(a.blocks.len(), 3, "{:?}", a.blocks);
    }
}

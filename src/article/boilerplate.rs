//! What boilerplate looks like, for extraction and summarizing alike: the class and id
//! words that mark an element as not the story, and the phrases that mark a line or a
//! sentence as page furniture (bylines, credits, share and sign-up prompts, "Related"
//! headings, feed footers, paywall notices).
//!
//! Each phrase is written once: a phrase that several lists need is a named constant those
//! lists share, and each list says how it is matched (at the start, anywhere, whole).

use super::blocks::Attrs;

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
pub(super) fn element_hint(a: &Attrs<'_>, tag: &str) -> i8 {
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

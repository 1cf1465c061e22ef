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
    "authorbox",
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
    // An affiliate disclosure explains the site's income, not the story.
    "affiliate",
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
    "adslot",
    "banner",
    "author",
    "credit",
    "credits",
    "tags",
    "tag",
    "meta",
    "hidden",
    // A caption's box ("legend" beside its image); a chart's legend is no story text either.
    "legend",
    "pager",
    "pagination",
    "popular",
    "trending",
    "rail",
    "search",
    "login",
    "bio",
    "more",
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
    // The post-format taxonomy's own term class ("post_format-post-format-gallery"): a
    // gallery post is a post, not a gallery beside one.
    "post_format-",
    "post-format-",
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
///
/// `class` gives what the element's class list says (the walker reads it through
/// [`ClassWords`]); it is asked only when tag, role and itemprop leave the hint open.
pub(super) fn element_hint(a: &Attrs<'_>, tag: &str, class: impl FnOnce() -> NameWords) -> i8 {
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
    let story_tag = matches!(tag, "article" | "main") || role == "main";
    name_hint(class(), a.id, story_tag)
}

/// What the words of one class list or id say about an element, before they are weighed
/// together (see [`name_hint`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct NameWords {
    strong_negative: bool,
    weak_negative: bool,
    outweighing: bool,
    positive: bool,
    body: bool,
}

impl NameWords {
    fn or(self, o: NameWords) -> NameWords {
        NameWords {
            strong_negative: self.strong_negative || o.strong_negative,
            weak_negative: self.weak_negative || o.weak_negative,
            outweighing: self.outweighing || o.outweighing,
            positive: self.positive || o.positive,
            body: self.body || o.body,
        }
    }
}

/// Class names already read on this page, with what each says: a page repeats the same
/// class names ("menu-item", "card__title") across many elements and class lists.
#[derive(Default)]
pub(super) struct ClassWords(
    std::collections::HashMap<String, NameWords, std::hash::BuildHasherDefault<ClassHasher>>,
);

impl ClassWords {
    /// What the class list `class` says, each of its names read once per page.
    pub(super) fn get(&mut self, class: &str) -> NameWords {
        class
            .split_whitespace()
            .fold(NameWords::default(), |acc, name| {
                let w = match self.0.get(name) {
                    Some(&w) => w,
                    None => {
                        let w = name_words(name);
                        self.0.insert(name.to_owned(), w);
                        w
                    }
                };
                acc.or(w)
            })
    }
}

/// Hashing for [`ClassWords`]: class lists are short ASCII strings read once per element,
/// so eight bytes at a time with one multiplication each (SipHash, the default, cost more
/// than reading the words afresh).
#[derive(Default)]
pub(super) struct ClassHasher(u64);

impl std::hash::Hasher for ClassHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl ClassHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The hint class and id words give (see [`element_hint`]); `story_tag` when the tag or
/// role already marks the element as story-like.
fn name_hint(class: NameWords, id: &str, story_tag: bool) -> i8 {
    // An id slugged from a heading ("sharing-with-a-review-server") names the section's
    // topic, not its role.
    let id = if id.split(['-', '_']).count() >= 4 {
        NameWords::default()
    } else {
        name_words(id)
    };
    let w = class.or(id);
    let positive = story_tag || w.positive;
    if w.body {
        2
    } else if w.outweighing {
        -2
    } else if w.strong_negative || (w.weak_negative && !positive) {
        // "footer-text" and "comment-body" are boilerplate whatever else they say; a weak word
        // like "meta" or "date" only counts when nothing marks the element as story.
        -1
    } else {
        i8::from(positive)
    }
}

/// What one class name or id says.
fn name_words(name: &str) -> NameWords {
    let mut w = NameWords::default();
    let name: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    };
    let opens = |p: &&str| p.as_bytes().first() == name.as_bytes().first();
    if name.is_empty()
        || TAXONOMY_PREFIXES
            .iter()
            .any(|p| opens(p) && name.starts_with(p))
    {
        return w;
    }
    let mut story_part = false;
    let mut body_part = false;
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let Some(&first) = word.as_bytes().first() else {
            continue;
        };
        // Comparing the first byte before the whole word skips nearly every string
        // comparison (this runs for every class word of every distinct class list).
        let opens = |p: &&str| p.as_bytes().first() == Some(&first);
        if NEGATIVE_PREFIXES
            .iter()
            .any(|p| opens(p) && word.starts_with(p))
        {
            w.strong_negative = true;
            w.outweighing |= OUTWEIGHING_PREFIXES.iter().any(|p| word.starts_with(p));
        } else if NEGATIVE_WORDS.iter().any(|x| opens(x) && *x == word) {
            w.weak_negative = true;
        } else if POSITIVE_WORDS.iter().any(|x| opens(x) && *x == word) {
            w.positive = true;
        }
        story_part |= matches!(
            word,
            "article" | "entry" | "post" | "story" | "blog" | "news"
        );
        body_part |= matches!(word, "body" | "content" | "text");
        w.body |= matches!(
            word,
            "articlebody" | "storybody" | "articletext" | "storytext"
        );
    }
    w.body |= story_part && body_part;
    w
}

/// Class and id words (at the start of a word) of hover cards, tooltips and popovers:
/// text a reader sees only on pointing at a name, which flattening would glue into the
/// sentence around it ("Gov. Jane RoeJane Alice RoeNorthland governor doubles down…").
const HOVER_PREFIXES: &[&str] = &["hovercard", "tooltip", "popover", "rollover"];

/// Whether an element is a hover card, tooltip or popover (`role=tooltip`, or a class or
/// id word from [`HOVER_PREFIXES`]; "hover-card" counts as one word).
pub(super) fn is_hover_card(a: &Attrs<'_>) -> bool {
    if a.role == "tooltip" {
        return true;
    }
    let starts = |w: &str, p: &str| w.len() >= p.len() && w[..p.len()].eq_ignore_ascii_case(p);
    [a.class, a.id].iter().any(|names| {
        // Cheap test first: nearly every class list names no card at all.
        if !names.bytes().any(|b| matches!(b, b'o' | b'O')) {
            return false;
        }
        let mut prev = "";
        names
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .any(|w| {
                let card = prev.eq_ignore_ascii_case("hover") && starts(w, "card");
                prev = w;
                card || HOVER_PREFIXES.iter().any(|p| starts(w, p))
            })
    })
}

// Phrases more than one list below needs, each written once. Lists match lowercased text.

/// "Read on" links closing teasers and feed excerpts.
const READ_MORE: &str = "read more";
const CONTINUE_READING: &str = "continue reading";
const KEEP_READING: &str = "keep reading";
const READ_NEXT: &str = "read next";
/// "Related" sections and their headings.
const RELATED: &str = "related";
const RELATED_COLON: &str = "related:";
const RELATED_ARTICLES: &str = "related articles";
const RELATED_STORIES: &str = "related stories";
const RELATED_POSTS: &str = "related posts";
const MOST_POPULAR: &str = "most popular";
/// Share, follow and sign-up prompts, comment counts and ad labels.
const SHARE: &str = "share";
const SHARE_THIS: &str = "share this";
const FOLLOW_US: &str = "follow us";
const CLICK_HERE: &str = "click here";
const SUBSCRIBE: &str = "subscribe";
const SUBSCRIBE_TO: &str = "subscribe to";
const SIGN_UP: &str = "sign up";
const EMAIL: &str = "email ";
const COMMENTS: &str = "comments";
const ADVERTISEMENT: &str = "advertisement";
const SPONSORED: &str = "sponsored";
/// Bylines, time stamps and filing.
const BY: &str = "by ";
const WRITTEN_BY: &str = "written by";
const POSTED_BY: &str = "posted by";
const POSTED_IN: &str = "posted in";
const FILED_UNDER: &str = "filed under";
const TAGS_COLON: &str = "tags:";
const PUBLISHED: &str = "published";
const UPDATED: &str = "updated";
const LAST_UPDATED: &str = "last updated";
const UPDATED_COLON: &str = "updated:";
/// Photo credits and rights.
const PHOTO: &str = "photo";
const IMAGE: &str = "image";
const PHOTO_COLON: &str = "photo:";
const IMAGE_COLON: &str = "image:";
const CREDIT_COLON: &str = "credit:";
const GETTY_IMAGES: &str = "getty images";
const AP_PHOTO: &str = "ap photo";
const SHUTTERSTOCK: &str = "shutterstock";
const COPYRIGHT: &str = "copyright";
const COPYRIGHT_SIGN: &str = "©";
const ALL_RIGHTS_RESERVED: &str = "all rights reserved";
/// Feed footers ("The post X appeared first on Y.").
const APPEARED_FIRST_ON: &str = "appeared first on";
const FIRST_APPEARED_ON: &str = "first appeared on";
const THIS_POST_WAS_ORIGINALLY: &str = "this post was originally";
const ORIGINALLY_PUBLISHED: &str = "originally published";
/// Notes about the article rather than its story.
const EDITORS_NOTE: &str = "editor's note";

/// Month names as dates abbreviate them ("Nov 3", "Mar. 2019").
pub(super) const MONTH_ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Month names written out, past their three-letter abbreviation (May is its own).
pub(super) const MONTH_NAMES: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "sept",
    "october",
    "november",
    "december",
];

/// Month names that follow a day written as an ordinal ("am 25. November", "1. Mai"):
/// German, Dutch and the Nordic languages put a dot after the day, which ends no sentence.
pub(super) const ORDINAL_DAY_MONTHS: &[&str] = &[
    "januar",
    "jänner",
    "februar",
    "märz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "januari",
    "februari",
    "maart",
    "mei",
    "augustus",
    "december",
    "oktober",
    "october",
    "march",
    "june",
    "july",
];

/// Labels opening a time stamp line: "PUBLISHED: 10:48, Tue, Nov 19, 2019 | UPDATED: …".
pub(super) const STAMP_LABELS: &[&str] = &["published:", UPDATED_COLON, "last updated:", "posted:"];

// Extraction: a page's blocks (see `extract`).

/// Headings that end the story when they open a short block (matched at the start).
pub(super) const STOP_MARKERS: &[&str] = &[
    RELATED_ARTICLES,
    RELATED_STORIES,
    RELATED_POSTS,
    "related content",
    "related coverage",
    "you may also like",
    "you might also like",
    "you may like",
    "recommended for you",
    "more stories",
    "more from",
    MOST_POPULAR,
    "most read",
    "trending now",
    READ_NEXT,
    "what to read next",
    "also on",
    "about the author",
    // The same headings in the other languages of the feeds we read (WordPress's own
    // translations of "Related posts" among them).
    "verwandte beiträge",
    "ähnliche beiträge",
    "ähnliche artikel",
    "über den autor",
    "über die autorin",
    "articles similaires",
    "artículos relacionados",
    "entradas relacionadas",
];

/// Credits and notes that close a story, found anywhere in a short closing line.
pub(super) const SIGN_OFF_PHRASES: &[&str] = &[
    "contributed to this report",
    "contributed to this story",
    "contributed reporting",
    "contributed to this article",
    "additional reporting by",
    ALL_RIGHTS_RESERVED,
    "this story has been updated",
    "this article has been updated",
    "if you enjoyed this article",
    // Reader prompts and promos closing a story, in the languages of the feeds we read:
    // the site's apps and channels, a rating or share prompt, a membership pitch.
    "download the",
    "want to be informed",
    "ios and android",
    "ios und android",
    "android and ios",
    "canal de youtube",
    "canal de telegram",
    "youtube channel",
    "youtube-kanal",
    "escribirnos",
    "síguenos",
    "follow us on",
    "folgen sie uns",
    "folge uns",
    "suivez-nous",
    "zapraszamy",
    "if you enjoyed",
    "if you liked",
    "hat ihnen der artikel",
    "gefällt dir unser",
    "gefällt ihnen unser",
    "war der artikel",
    "war dieser artikel",
    "artikel teilen",
    "support our journalism",
    "hazte miembro",
    "hazte socio",
    "suscríbete",
    "jetzt abonnieren",
    "first-time subscribers",
    "cancela cuando",
    "cancel anytime",
    "jederzeit kündbar",
    // The rest of a blog theme's filing line (see [`FILING_OPENERS`]) when it stands
    // alone.
    "follow any responses to this entry",
    "bookmark the permalink",
    "kommentare zu diesem eintrag",
    "lesezeichen für den permalink",
];

/// Openings of a blog theme's filing line under the post ("This entry was posted on … and
/// is filed under …. You can follow any responses …"), as WordPress themes word it in
/// English and German; the whole line may run past a sign-off's length.
pub(super) const FILING_OPENERS: &[&str] = &[
    "this entry was posted",
    "der beitrag wurde am",
    "dieser beitrag wurde am",
    "dieser eintrag wurde",
];

/// Openings of a short closing line that credits or points elsewhere.
pub(super) const SIGN_OFF_OPENERS: &[&str] = &[
    "reporting by",
    "editing by",
    "writing by",
    "follow ",
    EMAIL,
    "listen to ",
    "updated at",
    COPYRIGHT_SIGN,
    COPYRIGHT,
    "(reporting",
];

/// Openings of page furniture around a story: bylines, dates, labels, prompts.
pub(super) const META_OPENERS: &[&str] = &[
    BY,
    EMAIL,
    "contact ",
    "posted",
    WRITTEN_BY,
    PUBLISHED,
    UPDATED,
    LAST_UPDATED,
    "from ",
    "par ",
    "von ",
    "por ",
    "di ",
    "door ",
    SHARE,
    "tags",
    "filed",
    "categories",
    "category",
    "source",
    PHOTO,
    IMAGE,
    "credit",
    COMMENTS,
    "leave a",
    READ_MORE,
    RELATED,
    ADVERTISEMENT,
    SPONSORED,
    "follow",
    SUBSCRIBE,
    SIGN_UP,
    COPYRIGHT,
    COPYRIGHT_SIGN,
];

/// Agencies and stock libraries named in photo credits, found anywhere in a short line.
pub(super) const PHOTO_CREDITS: &[&str] = &[
    "associated press",
    GETTY_IMAGES,
    "reuters",
    "afp",
    AP_PHOTO,
    SHUTTERSTOCK,
    "istock",
    "staff photographer",
];

/// Word starts of time stamps besides the months: "3 min read", "5 hours ago", "10:30 ET".
pub(super) const CLOCK_WORDS: &[&str] = &[
    "am", "pm", "ago", "min", "read", "gmt", "utc", "est", "et", "pt",
];

/// Phrases of a credit line: at its start, or anywhere when a colon follows them.
pub(super) const BYLINE_MARKERS: &[&str] = &[
    POSTED_BY,
    WRITTEN_BY,
    "published by",
    "publicado por",
    "publié par",
    "veröffentlicht von",
    "pubblicato da",
];

/// Credits captions carry inline ("Protesters march (Image: GETTY)"), found anywhere.
pub(super) const INLINE_CREDITS: &[&str] = &[
    "(image:",
    "(photo:",
    "(picture:",
    "(credit:",
    "(photo by",
    "(ap photo",
    "(getty",
    "(foto:",
    "(bild:",
    "(fotos:",
    "(foto ©",
    "(crédit",
    "(photo :",
    "(quelle:",
    "(fuente:",
];

/// Words of newsletter promos; two of them in a short line make it one.
pub(super) const PROMO_WORDS: &[&str] = &[
    SIGN_UP,
    SUBSCRIBE,
    "newsletter",
    "inbox",
    "delivered to",
    "delivered weekday",
    "delivered daily",
    "free daily",
];

/// Whether a (lowercased) short line reads as a newsletter promo: two [`PROMO_WORDS`].
pub(super) fn is_promo(lower: &str) -> bool {
    PROMO_WORDS.iter().filter(|p| lower.contains(*p)).count() >= 2
}

/// What gallery counters count: "Image 3 of 5".
pub(super) const COUNTED_MEDIA: &[&str] = &[IMAGE, PHOTO, "picture", "slide"];

/// Whole short lines that are labels, not text (matched whole, punctuation trimmed).
pub(super) const LABELS: &[&str] = &[
    ADVERTISEMENT,
    "advertisment",
    "ad",
    SPONSORED,
    SHARE,
    SHARE_THIS,
    "share this article",
    "share this story",
    COMMENTS,
    READ_MORE,
    CONTINUE_READING,
    RELATED,
    RELATED_ARTICLES,
    RELATED_STORIES,
    "more",
    "tweet",
    "email",
    "print",
    "print article",
    "close",
    "menu",
    "don't miss",
    "don’t miss",
    "recommended",
    MOST_POPULAR,
    "trending",
    "more on this story",
    "scroll to continue with content",
    "advert",
    "anzeige",
    // Pointers to other pages, which stand inside a story as often as after it (so they
    // are dropped, not taken to end it), in the other languages of the feeds we read.
    "mehr zum thema",
    "lesen sie auch",
    "lies auch",
    "weitere artikel",
    "zum weiterlesen",
    "weitere informationen",
    "das könnte sie auch interessieren",
    "das könnte dich auch interessieren",
    "lire aussi",
    "à lire aussi",
    "en savoir plus",
    "te puede interesar",
    "lee también",
    "leia também",
    // Furniture labels in German, where most of our non-English feeds write: a table of
    // contents, a comment button, an embed placeholder, a print button.
    "inhaltsverzeichnis",
    "inhalt",
    "table of contents",
    "contents",
    "kommentieren",
    "kommentare",
    "externer inhalt",
    "rezept drucken",
    "auch interessant",
    "drucken",
    "teilen",
    "artikel teilen",
    "kontakt",
    "hazte miembro",
];

/// Openings of short label lines (and [`STAMP_LABELS`]).
pub(super) const LINE_OPENERS: &[&str] = &[
    PHOTO_COLON,
    IMAGE_COLON,
    "photograph:",
    CREDIT_COLON,
    "source: getty",
    SIGN_UP,
    SUBSCRIBE_TO,
    CLICK_HERE,
    FOLLOW_US,
    RELATED_COLON,
    "read more:",
    "see also:",
    "also read:",
    POSTED_IN,
    FILED_UNDER,
    TAGS_COLON,
    // The same labels in the other languages of the feeds we read: pointers ("Auch
    // interessant: …", "Mehr zu …", "Weitere Beiträge …"), a gallery's buttons, an ad label.
    "auch interessant",
    "rezept drucken",
    "bild anzeigen",
    "weitere beiträge",
    "weitere artikel",
    "mehr zu ",
    "das thema könnte",
    "könnte dich auch interessieren",
    "könnte sie auch interessieren",
    // A press release's contact block opens with its label.
    "kontakt:",
    "pressekontakt",
    "pressesprecher",
    "anzeige,",
    "anzeige -",
    "anzeige:",
    "anzeige |",
];

/// Openings of a reader prompt, a line or two long, wherever it stands: rating and share
/// prompts, a paywall's or a forum's login prompt, an invitation to subscribe.
pub(super) const PROMPT_OPENERS: &[&str] = &[
    "war der artikel",
    "war dieser artikel",
    "möchten sie den artikel",
    "hat ihnen der artikel",
    "was this article helpful",
    "did you find this article",
    "if you enjoyed",
    "sie müssen sich einloggen",
    "you must be logged in",
    "pour lire la suite",
    "pour accéder",
    "zapraszamy",
    "wie hat ihnen",
    "wie gefällt ihnen",
    "wie hat dir",
    "wie gefällt dir",
    "wie bewerten sie",
    "wie bewertest du",
    "rate this article",
    "rate this post",
];

/// Labels opening a date line in the other languages of the feeds we read ("Stand: 5.
/// Februar 2020", "opublikowano: …"), dropped like [`STAMP_LABELS`] in a short line.
/// "Veröffentlicht am" is left out: a podcast's or a report's line giving its own
/// publication is as often content as furniture.
pub(super) const DATE_LABELS: &[&str] = &[
    "stand:",
    "aktualisiert:",
    "aktualisiert am",
    "zuletzt aktualisiert",
    "letzte aktualisierung",
    "opublikowano:",
    "release date:",
    "veröffentlicht:",
    "publié le",
    "mis à jour",
    "publicado el",
    "actualizado",
];

/// What the author box closing a post calls its author ("Jane Doe is a freelance writer
/// …"), found in its first words.
pub(super) const AUTHOR_ROLES: &[&str] = &[
    "founder",
    "author",
    "writer",
    "journalist",
    "consultant",
    "editor",
    "reporter",
    "contributor",
    "columnist",
    "professor",
    "blogger",
    "coach",
    "ceo",
];

/// Openings of a caption's credit line set as a paragraph ("Foto: …", "Beitragsbild: …"),
/// German and French beside the English [`LINE_OPENERS`].
pub(super) const CREDIT_OPENERS: &[&str] = &[
    "foto:",
    "fotos:",
    "bild:",
    "beitragsbild:",
    "titelbild:",
    "bildquelle:",
    "fotoquelle:",
    "quelle:",
    "photo :",
];

/// Labels of the link that closes another story's blurb ("… Weiterlesen", "… Read more
/// →"), matched at the block's end, in the languages of the feeds we read.
pub(super) const READ_MORE_LABELS: &[&str] = &[
    READ_MORE,
    CONTINUE_READING,
    KEEP_READING,
    "weiterlesen",
    "mehr lesen",
    "zum artikel",
    "lire la suite",
    "leer más",
    "seguir leyendo",
    "leggi tutto",
    "lees meer",
    "czytaj dalej",
];

/// The one-word "more" links that follow a blurb on a line of their own ("Mehr", "More →"),
/// too common inside a sentence to be matched at a block's end like [`READ_MORE_LABELS`].
pub(super) const BARE_MORE_LABELS: &[&str] = &["mehr", "more", "plus", "más"];

/// Words that label a photo credit when a colon or a `©` follows them ("Foto © Jane Doe",
/// "Photo: Jane Doe"), matched at the start of a caption's closing sentence.
pub(super) const CREDIT_LABELS: &[&str] = &[
    PHOTO, "photos", IMAGE, "picture", "credit", "foto", "fotos", "bild", "bilder",
];

/// Phrases a paywall uses to ask for money or a login, found anywhere in a short line;
/// generic ones ("subscription required" is how Wikipedia marks a paywalled citation) are
/// left out.
const PAYWALL_NOTICES: &[&str] = &[
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

/// Whether a line holds one of [`PAYWALL_NOTICES`], in any ASCII case (the phrases are
/// ASCII), found in one pass over the line.
pub(super) fn has_paywall_notice(text: &str) -> bool {
    static SEARCH: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(PAYWALL_NOTICES)
                .expect("fixed phrases build an automaton")
        });
    SEARCH.is_match(text)
}

/// Phrases of notices about the site rather than the story: cookie and consent banners,
/// newsletter and push prompts, subscription pitches. Found anywhere in a short block
/// (see [`is_site_notice`]); English and German, the languages of most feeds we read, and
/// the French and Spanish consent banners European sites show.
const SITE_NOTICES: &[&str] = &[
    "uses cookies",
    "use cookies",
    "we use cookies",
    "cookies to improve",
    "cookies to ensure",
    "cookie policy",
    "cookie settings",
    "accept cookies",
    "accept all cookies",
    "you consent to",
    "you agree to our use",
    "we'll assume you're ok",
    "we’ll assume you’re ok",
    "assume that you are happy",
    "by continuing to browse",
    "by continuing to use",
    "wir verwenden cookies",
    "wir nutzen cookies",
    "verwendet cookies",
    "nutzt cookies",
    "cookie-einstellungen",
    "cookies zu",
    "einsatz von cookies",
    "datenschutzerklärung zu",
    // A sign-up form's consent checkbox; each names the privacy policy ("Datenschutz…"),
    // or agrees or consents in English, which the anchors below find.
    "verarbeitung meiner daten",
    "meine einwilligung",
    "agree to the processing",
    "consent to the processing",
    "utilise des cookies",
    "utilisons des cookies",
    "utiliza cookies",
    "utilizamos cookies",
    "usamos cookies",
    "send you push notifications",
    "push-benachrichtigungen",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "newsletter abonnieren",
    "unseren newsletter",
    "to view the full story",
    "for the full story",
    "already a subscriber",
    "subscribe to continue",
    "subscribe to read",
];

/// Whether a block is a notice about the site (cookies, consent, newsletter, push,
/// subscription) rather than story text: a short block with one of [`SITE_NOTICES`].
pub(super) fn is_site_notice(text: &str) -> bool {
    /// Fragments one of which every phrase of [`SITE_NOTICES`] holds in lowercase, past
    /// its first letter: most blocks hold none, and are passed without lowercasing them.
    const ANCHORS: &[&str] = &[
        "ookie",
        "OOKIE",
        "onsent",
        "agree",
        "ssume",
        "ontinuing",
        "otification",
        "enachrichtigung",
        "ewsletter",
        "ubscri",
        "ull story",
        "atenschutz",
    ];
    /// All of them in one pass over the block (a search per fragment cost more than the
    /// reading it saves).
    static ANCHOR_SEARCH: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::new(ANCHORS).expect("fixed fragments build an automaton")
        });
    if text.len() > 2000 || !ANCHOR_SEARCH.is_match(text) || text.chars().nth(500).is_some() {
        return false;
    }
    let lower = text.to_lowercase();
    SITE_NOTICES.iter().any(|p| lower.contains(p))
}

// Summarizing: a story's blocks and sentences (see `summarize`).

/// Openings of a post that greet rather than tell ("Happy Friday!", "Hi all.").
pub(super) const GREETINGS: &[&str] = &[
    "hi ",
    "hi,",
    "hello",
    "hey ",
    "happy ",
    "welcome to",
    "welcome back",
    "greetings",
    "good morning",
    "good afternoon",
    "dear ",
];

/// The opening of a byline block ("By Jane Doe").
pub(super) const BYLINE_OPENER: &str = BY;

/// Openings of a block that is not the story: filing, credits, prompts, footers.
pub(super) const BLOCK_OPENERS: &[&str] = &[
    POSTED_BY,
    POSTED_IN,
    "posted on",
    WRITTEN_BY,
    FILED_UNDER,
    TAGS_COLON,
    "tagged:",
    "tagged with",
    "categories:",
    "category:",
    PHOTO_COLON,
    "photos:",
    IMAGE_COLON,
    "images:",
    "photo credit",
    "image credit",
    CREDIT_COLON,
    "credits:",
    "caption:",
    "source:",
    "video:",
    "watch:",
    "listen:",
    SHARE_THIS,
    "share on",
    "share:",
    SUBSCRIBE,
    SIGN_UP,
    CLICK_HERE,
    READ_MORE,
    "read the full",
    READ_NEXT,
    CONTINUE_READING,
    KEEP_READING,
    RELATED_COLON,
    RELATED_ARTICLES,
    RELATED_POSTS,
    RELATED_STORIES,
    "see also",
    ADVERTISEMENT,
    SPONSORED,
    "table of contents",
    "contents",
    FOLLOW_US,
    "follow me",
    "like us on",
    "join our",
    "get our",
    "download our",
    THIS_POST_WAS_ORIGINALLY,
    "this article was originally",
    ORIGINALLY_PUBLISHED,
    "this story was originally",
    COPYRIGHT,
    ALL_RIGHTS_RESERVED,
    "email this",
    "print this",
];

/// Openings of a time stamp block ("Updated 3:45 p.m. ET, March 2, 2020").
pub(super) const STAMP_OPENERS: &[&str] = &[UPDATED, PUBLISHED, LAST_UPDATED, "last modified"];

/// Phrases that mark a short block as not the story wherever they stand: feed footers,
/// bookmarklets, photo credits.
pub(super) const BLOCK_MARKERS: &[&str] = &[
    APPEARED_FIRST_ON,
    FIRST_APPEARED_ON,
    "feedburner",
    "feeds.feedblitz",
    "add to del.icio.us",
    "digg this",
    "(photo",
    "(image",
    "photo by ",
    "photograph by",
    "photo courtesy",
    "image courtesy",
    GETTY_IMAGES,
    AP_PHOTO,
    SHUTTERSTOCK,
    "istockphoto",
    "/reuters",
    "reuters/",
    COPYRIGHT_SIGN,
];

/// Phrases that make a sentence a prompt or a footer wherever they stand.
pub(super) const SENTENCE_JUNK: &[&str] = &[
    CLICK_HERE,
    READ_MORE,
    CONTINUE_READING,
    SUBSCRIBE_TO,
    "sign up for",
    "sign up to",
    SHARE_THIS,
    FOLLOW_US,
    APPEARED_FIRST_ON,
    FIRST_APPEARED_ON,
    THIS_POST_WAS_ORIGINALLY,
    ORIGINALLY_PUBLISHED,
    PHOTO_COLON,
    IMAGE_COLON,
    RELATED_COLON,
];

/// Openings of sentences that caption a photo ("In this photo dated Tuesday, the rocket
/// is …") or annotate the article rather than tell its story.
pub(super) const CAPTION_OPENERS: &[&str] = &[
    "in this photo",
    "in this file photo",
    "in this image",
    "in this undated",
    "in this handout",
    "this undated photo",
    "this photo shows",
    "pictured:",
    "above:",
    // Notes about the article rather than its story.
    EDITORS_NOTE,
    "editor’s note",
    "editors' note",
    "update:",
    UPDATED_COLON,
    "correction:",
    "clarification:",
    "disclosure:",
    "note:",
    "sponsored:",
    "advertisement:",
];

/// Where a caption places people in its picture, found anywhere in a sentence.
pub(super) const CAPTION_POSITIONS: &[&str] = &[
    ", center,",
    ", left,",
    ", right,",
    ", centre,",
    ", foreground,",
    ", background,",
    "(center)",
    "(left)",
    "(right)",
    "from left:",
    "from left,",
    "left to right:",
    "(l-r)",
    "v.l.n.r.",
];

/// The feed footer "The post X appeared first on Y.": its opening, and the phrase after it.
pub(super) const FOOTER_OPENER: &str = "the post ";
/// See [`FOOTER_OPENER`].
pub(super) const FOOTER_PHRASE: &str = APPEARED_FIRST_ON;

/// Links glued to the end of a paragraph ("… Continue reading →"), cut in this order.
pub(super) const TRAILING_LINKS: &[&str] = &[
    CONTINUE_READING,
    READ_MORE,
    KEEP_READING,
    "read the full story",
    "read the full article",
];

/// Markers of an excerpt a feed cut short, cut from the end in this order.
pub(super) const CUT_MARKERS: &[&str] = &["[…]", "[...]", "[&hellip;]", "(…)", "(...)"];

/// Labels that look like a colon dateline ("NOTE: …", "UPDATE: …") but are not one.
pub(super) const DATELINE_LABELS: &[&str] = &[
    "note",
    "update",
    UPDATED,
    "correction",
    EDITORS_NOTE,
    "watch",
    "photos",
    "video",
    RELATED,
    "breaking",
    "exclusive",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint a class list gives an element with no id.
    fn hint(class: &str, story_tag: bool) -> i8 {
        name_hint(ClassWords::default().get(class), "", story_tag)
    }

    #[test]
    fn wordpress_taxonomy_classes_say_nothing_about_the_element() {
        // A gallery, video or quote *post* is a post: its format, tags and categories name
        // what it has, even when a term is a word that marks boilerplate elsewhere.
        for class in [
            "post-7 post type-post format-gallery post_format-post-format-gallery",
            "post type-post status-publish post-format-gallery tag-comments category-related",
            "hentry has-post-thumbnail author-share",
        ] {
            assert_eq!(hint(class, true), 1, "{class}");
        }
        // The same words as the element's own names still mark it.
        assert_eq!(hint("gallery", false), -2);
        assert_eq!(hint("entry-gallery post", true), -2);
        assert_eq!(hint("related-posts", false), -1);
    }

    #[test]
    fn an_author_box_is_boilerplate_inside_the_story_too() {
        // "author" alone is a weak word (a story's author line sits inside the story's own
        // container); a box named as one is the writer's bio, wherever it sits.
        for class in ["authorbox", "TestReport__AuthorBox", "m-authorbox__media"] {
            assert_eq!(hint(class, true), -1, "{class}");
        }
        assert_eq!(hint("author post", true), 1);
    }
}

//! Article: an article page's HTML (or a feed's HTML fragment) → its main text, its
//! metadata and a two-sentence summary for the digest.
//!
//! The stage's rooms, in data-flow order:
//! - `blocks`: HTML parsed with a depth bound (scripts and styles emptied first) and
//!   flattened into paragraph-level blocks of clean text; [`html_to_blocks`] for fragments.
//! - `extract`: the story's blocks chosen from a whole page → [`Article`].
//! - `metadata`: title, site name, canonical URL, date, description and paywall flag from
//!   `<meta>`/`<link>` tags, JSON-LD (serde_json after a repair pass) and `<time>`.
//! - `summarize`: text blocks → a blurb of two whole sentences ([`summarize`]).
//! - `boilerplate`: what boilerplate looks like, for all of them: class and id words, and
//!   the phrase lists extraction and summarizing use, each phrase written once.
//!
//! Pure: no I/O, no clock, no globals.

mod blocks;
mod boilerplate;
mod extract;
mod metadata;
mod summarize;

pub use blocks::html_to_blocks;
pub(crate) use blocks::parse_fragment;
pub use extract::{Article, SiteRule, extract, extract_with_rule};
pub use summarize::{
    MAX_SUMMARY_CHARS, loose_summary, sentence_summary, split_sentences, story_sentence_texts,
    summarize, summarize_with_title, word_count,
};

//! Filters: an entry's headline and summary → whether the brief's and its feed's
//! `include`/`exclude` lists let it through, and if not, why (which list, which word).
//!
//! Words and phrases match case-insensitively (both sides lowercased), as whole words
//! (Unicode letters and digits: "AI" is not found in "maintain" nor "naïve" in
//! "naïveté"), and a phrase's words match across any run of whitespace. Punctuation is
//! compared as written ("C++", "node.js"); a word next to punctuation is still a whole
//! word ("(AI)", "AI's"). In scripts written without spaces between words (Chinese,
//! Japanese, Thai and their neighbours) a phrase matches anywhere, as there is no boundary
//! to look for. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

/// Most words or phrases in one `include` or `exclude` list.
pub const MAX_PHRASES: usize = 100;

/// Most characters in one word or phrase.
pub const MAX_PHRASE_CHARS: usize = 100;

/// One word or phrase of a list, as written and as matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// As written in `feeds.toml` (trimmed), for the stored "why" and the reports.
    pub text: String,
    /// Lowercased, whitespace runs made one space: what is searched for.
    needle: String,
}

impl Phrase {
    /// A phrase from `text`, or `None` when it has nothing but whitespace.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        let needle = normalise(text);
        (!needle.is_empty()).then(|| Self {
            text: text.to_string(),
            needle,
        })
    }

    /// The phrase as matched (lowercased, single spaces): two phrases with the same key
    /// match the same texts.
    pub fn key(&self) -> &str {
        &self.needle
    }

    /// Whether the phrase occurs in `text` (already [`normalise`]d) as whole words.
    fn found_in(&self, text: &str) -> bool {
        let (Some(first), Some(last)) = (self.needle.chars().next(), self.needle.chars().last())
        else {
            return false;
        };
        let mut from = 0;
        // Each turn moves `from` forward by at least one character: bounded by the text.
        while let Some(i) = text[from..].find(&self.needle) {
            let start = from + i;
            let end = start + self.needle.len();
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            if !before.is_some_and(|b| joins(b, first)) && !after.is_some_and(|a| joins(last, a)) {
                return true;
            }
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
        false
    }
}

/// An `include` and an `exclude` list (the brief's, or one feed's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lists {
    /// When not empty, an entry must contain one of these.
    pub include: Vec<Phrase>,
    /// An entry containing one of these is filtered.
    pub exclude: Vec<Phrase>,
}

impl Lists {
    /// Neither list is set.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

/// Which list filtered an entry. Stored as [`FilterList::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterList {
    /// `[brief] exclude` had one of its words.
    BriefExclude,
    /// The feed's `exclude` had one of its words.
    FeedExclude,
    /// The feed's `include` is set and none of its words was found.
    FeedInclude,
    /// `[brief] include` is set and none of its words was found.
    BriefInclude,
}

impl FilterList {
    /// Every list, in the order an entry is judged by them.
    pub const ALL: [Self; 4] = [
        Self::BriefExclude,
        Self::FeedExclude,
        Self::FeedInclude,
        Self::BriefInclude,
    ];

    /// The stored name: the config key (`brief.exclude`, `feed.include`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BriefExclude => "brief.exclude",
            Self::FeedExclude => "feed.exclude",
            Self::FeedInclude => "feed.include",
            Self::BriefInclude => "brief.include",
        }
    }
}

impl fmt::Display for FilterList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BriefExclude => "[brief] exclude",
            Self::FeedExclude => "the feed's exclude",
            Self::FeedInclude => "the feed's include",
            Self::BriefInclude => "[brief] include",
        })
    }
}

/// A stored list name that is none of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown filter list {0:?}; expected brief.include, brief.exclude, feed.include or feed.exclude"
)]
pub struct UnknownFilterList(pub String);

impl FromStr for FilterList {
    type Err = UnknownFilterList;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownFilterList(s.to_string()))
    }
}

/// Why an entry is filtered: the list, and for an `exclude` the word it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// The list that filtered it.
    pub list: FilterList,
    /// The `exclude` word or phrase found, as written in `feeds.toml`; `None` for an
    /// `include` none of whose words was found.
    pub word: Option<String>,
}

impl fmt::Display for Filtered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.word {
            Some(w) => write!(f, "{} has {w:?}", self.list),
            None => write!(f, "none of {} was found", self.list),
        }
    }
}

/// Judges an entry by the brief's lists and its feed's: `None` lets it through; otherwise
/// the first reason, excludes first (they name a word), then the feed's include, then the
/// brief's. The headline and the summary are searched apart, so a phrase never spans the
/// two.
pub fn judge(brief: &Lists, feed: &Lists, title: &str, summary: Option<&str>) -> Option<Filtered> {
    if brief.is_empty() && feed.is_empty() {
        return None;
    }
    let texts = [normalise(title), summary.map(normalise).unwrap_or_default()];
    let find = |list: &[Phrase]| {
        list.iter()
            .find(|p| texts.iter().any(|t| p.found_in(t)))
            .map(|p| p.text.clone())
    };
    let checks = [
        (FilterList::BriefExclude, &brief.exclude, true),
        (FilterList::FeedExclude, &feed.exclude, true),
        (FilterList::FeedInclude, &feed.include, false),
        (FilterList::BriefInclude, &brief.include, false),
    ];
    for (list, phrases, exclude) in checks {
        if phrases.is_empty() {
            continue;
        }
        match (find(phrases), exclude) {
            (Some(word), true) => {
                return Some(Filtered {
                    list,
                    word: Some(word),
                });
            }
            (None, false) => return Some(Filtered { list, word: None }),
            _ => {}
        }
    }
    None
}

/// `s` lowercased with each run of whitespace made one space, trimmed.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Whether `a` followed by `b` is inside one word (so a match may not begin or end
/// between them): both are word characters of a script that separates words by spaces.
fn joins(a: char, b: char) -> bool {
    is_word(a) && is_word(b) && !unspaced(a) && !unspaced(b)
}

/// Letters, digits, `_`, and the combining marks that belong to the letter before them
/// (a decomposed "é" is `e` and U+0301).
fn is_word(c: char) -> bool {
    c.is_alphanumeric()
        || c == '_'
        || matches!(c,
            '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
            // Indic vowel signs and viramas are marks, not letters, to `char`.
            | '\u{0900}'..='\u{0DFF}')
}

/// Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana and
/// the CJK ideographs. A word boundary cannot be seen there without a dictionary.
fn unspaced(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}'
        | '\u{1000}'..='\u{109F}'
        | '\u{1780}'..='\u{17FF}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(include: &[&str], exclude: &[&str]) -> Lists {
        let phrases = |xs: &[&str]| xs.iter().map(|x| Phrase::new(x).expect("phrase")).collect();
        Lists {
            include: phrases(include),
            exclude: phrases(exclude),
        }
    }

    fn found(phrase: &str, text: &str) -> bool {
        Phrase::new(phrase)
            .expect("phrase")
            .found_in(&normalise(text))
    }

    #[test]
    fn a_word_matches_only_as_a_whole_word() {
        assert!(found("AI", "Cities try AI for permits"));
        assert!(!found("AI", "How to maintain a bridge"));
        assert!(!found("AI", "Aide to the mayor resigns"));
        assert!(!found("AI", "Said the clerk"));
        assert!(found("budget", "budget"));
        assert!(!found("budget", "budgeting season"));
        assert!(!found("AI", "AI2 and AI_ops")); // digits and `_` are word characters
    }

    #[test]
    fn case_does_not_matter_on_either_side() {
        assert!(found("ai", "AI arrives at city hall"));
        assert!(found("Crypto", "CRYPTO kiosks"));
        assert!(found("ÉTÉ", "un été chaud"));
        assert!(found("İstanbul", "İSTANBUL budget"));
    }

    #[test]
    fn letters_of_any_script_are_part_of_words() {
        assert!(!found("naïve", "a naïveté about budgets"));
        assert!(found("naïve", "a naïve budget"));
        // A decomposed "é" (e + U+0301) is one letter: "cafe" is not in "café".
        assert!(!found("cafe", "the cafe\u{301} reopens"));
        assert!(found("café", "the CAFÉ reopens"));
        assert!(!found("мэр", "мэрия города")); // "mayor" is not in "city hall"
        assert!(found("мэр", "Мэр города"));
        assert!(!found("नगर", "नगरपालिका का बजट")); // "city" is not in "municipality"
        assert!(found("नगर निगम", "नगर  निगम का बजट"));
        assert!(!found("बज", "नगर निगम का बजट")); // a prefix of a word is not the word
        // Without spaces between words, a phrase is found anywhere.
        assert!(found("人工智能", "市政府推出人工智能服务"));
        assert!(found("AI", "市政府のAI活用"));
    }

    #[test]
    fn punctuation_around_a_word_leaves_it_whole() {
        for text in [
            "(AI) in permits",
            "AI, again",
            "Is it AI?",
            "\"AI\" says the clerk",
            "AI's promise",
            "the AI-driven budget",
            "AI…",
            "«AI»",
        ] {
            assert!(found("AI", text), "{text}");
        }
        // Punctuation in a phrase is compared as written.
        assert!(found("C++", "Why C++ still runs the traffic lights"));
        assert!(!found("C++", "C is old"));
        assert!(found("node.js", "Rewriting it in Node.js"));
        assert!(!found("node.js", "a node in js"));
    }

    #[test]
    fn a_phrase_matches_across_any_whitespace() {
        assert!(found("city council", "The City   Council met"));
        assert!(found("city council", "the city\n\tcouncil"));
        assert!(found("city  council", "city\u{a0}council votes")); // no-break space
        assert!(!found("city council", "city-council"));
        assert!(!found("city council", "the citys councils"));
        assert!(!found("city council", "city councillor"));
    }

    #[test]
    fn an_entry_must_match_every_include_set_and_no_exclude() {
        let brief = lists(&[], &["crypto"]);
        let feed = lists(&["budget", "city council"], &[]);
        let judge = |title: &str, summary: Option<&str>| judge(&brief, &feed, title, summary);
        assert_eq!(judge("County budget gap narrows", None), None);
        assert_eq!(
            judge("Weekend reading", Some("The City\nCouncil met late.")),
            None
        );
        assert_eq!(
            judge("Library hours extended", Some("Open on Sundays.")),
            Some(Filtered {
                list: FilterList::FeedInclude,
                word: None
            })
        );
        assert_eq!(
            judge("Budget relief through Crypto bonds", None),
            Some(Filtered {
                list: FilterList::BriefExclude,
                word: Some("crypto".into())
            })
        );
        // The summary alone can filter, and excludes are searched whole-word too.
        assert_eq!(
            judge("Budget hearing", Some("Speakers: crypto lobbyists.")).map(|f| f.list),
            Some(FilterList::BriefExclude)
        );
        assert_eq!(
            judge("Budget hearing", Some("On cryptocurrency rules.")),
            None
        );
        // A phrase never spans the headline and the summary.
        assert!(judge("Inside the city", Some("council budget talks")).is_none());
        assert!(judge("Inside the city", Some("council talks")).is_some());
        // Both include lists apply.
        let brief = lists(&["roads"], &[]);
        assert_eq!(
            super::judge(&brief, &feed, "Budget for parks", None).map(|f| f.list),
            Some(FilterList::BriefInclude)
        );
        assert_eq!(super::judge(&brief, &feed, "Budget for roads", None), None);
        // No lists: everything passes.
        assert_eq!(
            super::judge(&Lists::default(), &Lists::default(), "x", None),
            None
        );
    }

    #[test]
    fn the_stored_list_name_reads_back() {
        for l in FilterList::ALL {
            assert_eq!(l.as_str().parse::<FilterList>(), Ok(l));
        }
        assert!("feed.maybe".parse::<FilterList>().is_err());
        assert_eq!(
            Filtered {
                list: FilterList::BriefExclude,
                word: Some("crypto".into())
            }
            .to_string(),
            "[brief] exclude has \"crypto\""
        );
    }

    #[test]
    fn whitespace_only_is_not_a_phrase() {
        assert_eq!(Phrase::new("  \t "), None);
        assert_eq!(
            Phrase::new(" City   Council ").expect("phrase").key(),
            "city council"
        );
    }
}

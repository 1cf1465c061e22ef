//! Two-sentence summaries for the digest: article text blocks → a short blurb.
//!
//! Input is the clean text of an article, one string per paragraph, in reading order (what
//! `extract` produces, or what a feed's `content:encoded` turns into). Output is a blurb in
//! SmartBrief's shape: two whole sentences from the story's opening (a third only when the
//! first two are short), about 35–80 words, never cut mid-sentence.
//!
//! Everything here is a pure function of its input: no model, no I/O, deterministic.
//! The work is mostly deciding what *is not* the story (bylines, captions, share prompts,
//! WordPress and FeedBurner footers) and where sentences end, which is harder than it looks
//! ("Dr.", "U.S.", "No. 3", "J. R. R. Tolkien", quotes and ellipses).

use super::boilerplate;

/// Fewest words a summary should have before we stop adding sentences.
const MIN_WORDS: usize = 35;
/// Hard ceiling for the blurb, except when a single first sentence is already longer.
const MAX_WORDS: usize = 80;
/// A sentence shorter than this is a fragment ("Wow.", "Advertisement."), not a story
/// sentence; two words ("It failed.") can be the story's punch line.
const MIN_SENTENCE_WORDS: usize = 2;
/// Longest summary kept, in characters (a first sentence of 80 words is about 500): a
/// "sentence" longer than this is not one, and is cut on a word with an ellipsis.
pub const MAX_SUMMARY_CHARS: usize = 1000;
/// How far into the article we look for the summary: the lead is where news puts the story.
const LEAD_SENTENCES: usize = 8;

/// Two-sentence summary of an article given its text blocks (paragraphs of clean text, in
/// order): [`sentence_summary`], else, for a text with no sentence at all (a calendar, a
/// results table), [`loose_summary`].
///
/// Returns `None` when no block holds a usable sentence and the text is too short for a
/// loose summary (only headings, bylines, share prompts, a "Loading…" shell).
pub fn summarize(blocks: &[String]) -> Option<String> {
    summarize_with_title(blocks, None)
}

/// Like [`summarize`], with the article's headline: a first sentence that only repeats the
/// headline (common in feeds that paste the title into the body) is skipped.
pub fn summarize_with_title(blocks: &[String], title: Option<&str>) -> Option<String> {
    sentence_summary(blocks, title).or_else(|| loose_summary(blocks))
}

/// The summary made of the story's own sentences (two, or more while under the minimum);
/// `None` when the text holds no usable sentence. Callers that have other sources (JSON-LD
/// `articleBody`, the feed's content, `og:description`) try them before a
/// [`loose_summary`] of sentence-less text.
pub fn sentence_summary(blocks: &[String], title: Option<&str>) -> Option<String> {
    let candidates = story_sentences(blocks, LEAD_SENTENCES);
    if candidates.is_empty() {
        return None;
    }
    let lead: Vec<&Candidate> = candidates.iter().take(LEAD_SENTENCES).collect();
    let first = pick_first(&lead, title);
    let mut chosen: Vec<&Candidate> = vec![lead[first]];
    let mut words = lead[first].words;
    // Sentences after the first are taken in order so the blurb reads as the article does.
    for cand in lead.iter().skip(first + 1) {
        let enough = chosen.len() >= 2 && words >= MIN_WORDS;
        // Two sentences are the shape; more come only while the blurb falls short of the
        // minimum (short punchy sentences), and never past the maximum.
        if enough || words + cand.words > MAX_WORDS {
            break;
        }
        chosen.push(cand);
        words += cand.words;
    }
    let text = chosen
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Some(crate::parse::clip(&text, MAX_SUMMARY_CHARS))
}

/// Splits clean text into sentences.
///
/// Terminal punctuation ends a sentence only when whitespace and a plausible sentence start
/// follow it, so abbreviations ("Dr.", "e.g.", "No. 3", "Inc."), initials ("J. R. R."),
/// decimals ("3.5"), dotted acronyms ("U.S.") and numbered-list markers stay inside their
/// sentence. Closing quotes and brackets after the punctuation belong to the sentence they
/// close. A blank line always ends a sentence. Returned sentences are trimmed and never empty.
pub fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c == '\n' {
            // A blank line is a paragraph break, which always ends a sentence.
            let mut k = i + 1;
            let mut newlines = 1;
            while k < n && chars[k].is_whitespace() {
                if chars[k] == '\n' {
                    newlines += 1;
                }
                k += 1;
            }
            if newlines >= 2 {
                push_sentence(&mut out, &chars[start..i]);
                start = k;
            }
            i = k;
            continue;
        }
        if !is_terminator(c) {
            i += 1;
            continue;
        }
        let term_start = i;
        let mut j = i;
        while j < n && is_terminator(chars[j]) {
            j += 1;
        }
        let term_end = j;
        while j < n && is_closer(chars[j]) {
            j += 1;
        }
        if j == n {
            break;
        }
        if ends_without_space(chars[term_end - 1]) && !chars[j].is_whitespace() {
            push_sentence(&mut out, &chars[start..j]);
            start = j;
            i = j;
            continue;
        }
        if !chars[j].is_whitespace() {
            // "3.5", "example.com", "U.S" mid-token: not a boundary.
            i = j;
            continue;
        }
        let mut k = j;
        while k < n && chars[k].is_whitespace() {
            k += 1;
        }
        if k == n {
            break;
        }
        if is_boundary(&chars, start, term_start, term_end, k) {
            push_sentence(&mut out, &chars[start..j]);
            start = k;
            i = k;
        } else {
            i = j;
        }
    }
    if start < n {
        push_sentence(&mut out, &chars[start..]);
    }
    out
}

/// The sentences of an article that may appear in a summary, in order: boilerplate blocks,
/// headings, captions and fragments removed, datelines stripped.
pub fn story_sentence_texts(blocks: &[String]) -> Vec<String> {
    story_sentences(blocks, usize::MAX)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

/// Number of whitespace-separated words in `text`: what the block and sentence shape
/// rules count (a byline's few words, a greeting's length).
fn spaced_words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// One usable sentence of the story.
#[derive(Debug)]
struct Candidate {
    /// The sentence, whitespace collapsed.
    text: String,
    /// Its length in words, counted once.
    words: usize,
}

/// The sentences of the story in order, boilerplate and fragments removed.
fn story_sentences(blocks: &[String], limit: usize) -> Vec<Candidate> {
    // Blocks are cleaned one ahead of use, so whether a block is the last kept one is known
    // without cleaning the rest of a long article once `limit` sentences are found.
    let mut kept = blocks
        .iter()
        .map(|b| strip_trailing_junk(&strip_citations(&collapse_whitespace(b))))
        .filter(|b| !b.is_empty() && !is_boilerplate_block(b))
        .peekable();
    let mut out = Vec::new();
    while let Some(block) = kept.next() {
        if out.len() >= limit {
            break;
        }
        let last_block = kept.peek().is_none();
        let sentences = split_sentences(&block);
        let count = sentences.len();
        for (si, sentence) in sentences.into_iter().enumerate() {
            let sentence = if si == 0 {
                strip_dateline(&sentence)
            } else {
                sentence
            };
            let last_in_text = last_block && si + 1 == count;
            // Pages repeat a caption or a pull quote; a blurb must not.
            let repeated = out.iter().any(|c: &Candidate| c.text == sentence);
            if !repeated && is_story_sentence(&sentence, last_in_text) {
                let words = word_count(&sentence);
                out.push(Candidate {
                    text: sentence,
                    words,
                });
            }
        }
    }
    out
}

/// Index (into `lead`) of the sentence the blurb should open with.
///
/// News puts the story first, so this is the first sentence unless it is a non-story opener
/// (a greeting, or the headline repeated as a sentence) and a real statement follows.
/// Measured against editors' descriptions, moving past the first sentence for any other
/// reason (a question, a sentence closer to the headline) lost more than it won.
fn pick_first(lead: &[&Candidate], title: Option<&str>) -> usize {
    // A blurb opens with a statement: not a greeting, not the headline again, and not a
    // two- or three-word fragment ("HAYWARD, Calif.", "Hi all.").
    let usable = |cand: &Candidate| {
        let restates_title = title.is_some_and(|t| same_words(t, &cand.text));
        cand.words >= 4 && !is_soft_opener(&cand.text) && !restates_title && !is_caption(&cand.text)
    };
    let Some(first) = lead.iter().take(3).position(|c| usable(c)) else {
        return 0;
    };
    // A "sentence" past the ceiling is usually a run-on the splitter could not break (a
    // list glued with semicolons); a normal sentence right after it is the better opening.
    // When there is none, the long sentence is still better than a cut one.
    if lead[first].words <= MAX_WORDS {
        return first;
    }
    lead.iter()
        .enumerate()
        .skip(first + 1)
        .take(2)
        .find(|(_, c)| c.words <= MAX_WORDS && usable(c))
        .map_or(first, |(i, _)| i)
}

/// Whether two texts have the same words, ignoring case and punctuation.
fn same_words(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    !a.is_empty() && a == b
}

/// Whether a sentence reads as a photo caption: it places people in the picture
/// ("a woman, center, in blue sandals, passes…", "from left: …").
fn is_caption(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    boilerplate::CAPTION_POSITIONS
        .iter()
        .any(|p| lower.contains(p))
}

/// Whether a sentence opens a post without telling its story ("Happy Friday!", "Hi all.").
fn is_soft_opener(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    boilerplate::GREETINGS.iter().any(|g| lower.starts_with(g)) && spaced_words(sentence) < 12
}

/// Whether a whole block is not part of the story (byline, stamp, caption, share prompt…).
fn is_boilerplate_block(block: &str) -> bool {
    let words = spaced_words(block);
    // A short block without terminal punctuation is a heading, a label or a dateline.
    is_furniture_block(block) || (!ends_sentence(block) && words < 15)
}

/// Whether a block is page furniture whatever its punctuation: a byline, a time stamp, a
/// notice about the site, a promo, a credit or a bare date.
fn is_furniture_block(block: &str) -> bool {
    let lower = block.to_lowercase();
    let lower = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    let words = spaced_words(block);

    if is_byline(block, lower, words) {
        return true;
    }
    // Notices about the site (cookies, consent, newsletter, subscription) and sign-up
    // promos are never the story, whatever their length in sentences.
    if boilerplate::is_site_notice(block) {
        return true;
    }
    if words <= 60 && boilerplate::is_promo(lower) {
        return true;
    }
    if words <= 30
        && boilerplate::BLOCK_OPENERS
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return true;
    }
    if boilerplate::STAMP_OPENERS
        .iter()
        .any(|p| lower.starts_with(p))
        && (words <= 12 || (words <= 20 && block.chars().any(|c| c.is_ascii_digit())))
    {
        return true;
    }
    if words <= 40 && boilerplate::BLOCK_MARKERS.iter().any(|p| lower.contains(p)) {
        return true;
    }
    is_date_only(lower, words)
}

/// The summary of a text that holds no sentence at all (a race calendar, a results list, a
/// table of fixtures): its opening lines, whole, joined with semicolons, up to the length
/// rule, stopping once past the minimum as sentences do. A line that would pass the
/// maximum is cut between two of its entries ([`cut_between_entries`]), and a summary that
/// leaves text out ends with an ellipsis. `None` when the text, furniture left out, has
/// fewer words than a summary's minimum: a script shell's "Loading…" is not a story.
pub fn loose_summary(blocks: &[String]) -> Option<String> {
    let lines: Vec<String> = blocks
        .iter()
        .map(|b| strip_trailing_junk(&collapse_whitespace(b)))
        .filter(|b| !b.is_empty() && !is_furniture_block(b))
        .collect();
    if lines.iter().map(|l| word_count(l)).sum::<usize>() < MIN_WORDS {
        return None;
    }
    let mut out = String::new();
    let mut words = 0;
    let mut cut = false;
    for (i, line) in lines.iter().enumerate() {
        let w = word_count(line);
        if words + w > MAX_WORDS {
            if words < MIN_WORDS {
                let part = cut_between_entries(line, MIN_WORDS - words, MAX_WORDS - words);
                join_line(&mut out, &part);
            }
            cut = true;
            break;
        }
        join_line(&mut out, line);
        words += w;
        if words >= MIN_WORDS {
            cut = i + 1 < lines.len();
            break;
        }
    }
    if word_count(&out) > MAX_WORDS {
        // A line without spaces (Chinese, Japanese, Thai) is one word to the cuts above:
        // cut it by the summary's own count instead, on a character.
        out = longest_prefix_within(&out, MAX_WORDS).to_string();
        cut = true;
    }
    if cut {
        out = format!("{}…", out.trim_end_matches([',', ';', ':', ' ', '–', '-']));
    }
    Some(crate::parse::clip(&out, MAX_SUMMARY_CHARS))
}

/// The longest opening of `text`, cut on a character, of at most `max` words as
/// [`word_count`] counts them (a prefix never counts more words than a longer one).
fn longest_prefix_within(text: &str, max: usize) -> &str {
    let ends: Vec<usize> = text.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    // Binary search over the character ends: bounded by log2 of the text's length.
    let (mut lo, mut hi) = (0usize, ends.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if word_count(&text[..ends[mid - 1]]) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 { "" } else { &text[..ends[lo - 1]] }
}

/// Appends a line to a loose summary: after a semicolon, unless the text so far ends on a
/// mark of its own ("Results:").
fn join_line(out: &mut String, line: &str) {
    if !out.is_empty() {
        out.push_str(if out.ends_with([':', ',', ';']) {
            " "
        } else {
            "; "
        });
    }
    out.push_str(line);
}

/// The opening of `line` up to where one entry of a run-on list ends and the next begins,
/// `min` to `max` words long: before the first word past `min` that opens an entry as the
/// line's first word does (the same word, "Round"; or a number with a suffix when the
/// first is one, "1a etapa" … "5a etapa", where "10 de março" is no entry) and follows no
/// label ("etapa:"). Else after the first comma or semicolon past `min`; else on the
/// `max`th word.
fn cut_between_entries(line: &str, min: usize, max: usize) -> String {
    let words: Vec<&str> = line.split_whitespace().take(max + 1).collect();
    let Some(&first) = words.first() else {
        return String::new();
    };
    let numbered = |w: &str| {
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        (digits > 0).then(|| w.chars().count() > digits)
    };
    let opens_entry = |w: &str| match numbered(first) {
        Some(suffixed) => numbered(w) == Some(suffixed),
        None => w == first,
    };
    let lo = min.max(1);
    let hi = words.len().min(max + 1);
    let entry_start = (lo..hi).find(|&k| {
        let prev = words[k - 1];
        opens_entry(words[k]) && !prev.ends_with([':', '–', '-', '/']) && prev != "–"
    });
    let clause_end =
        || (lo..words.len().min(max) + 1).find(|&k| words[k - 1].ends_with([',', ';']));
    let end = entry_start
        .or_else(clause_end)
        .unwrap_or(words.len().min(max));
    words[..end].join(" ")
}

/// Whether a block is a byline: "By Jane Doe", "By Jane Doe and John Roe, Reuters".
fn is_byline(block: &str, lower: &str, words: usize) -> bool {
    if !lower.starts_with(boilerplate::BYLINE_OPENER) || words > 12 {
        return false;
    }
    // A byline is a list of names: mostly capitalised words, and no sentence after them.
    let rest: Vec<&str> = block.split_whitespace().skip(1).collect();
    let capitalised = rest
        .iter()
        .filter(|w| w.chars().next().is_some_and(|c| c.is_uppercase()))
        .count();
    capitalised * 2 >= rest.len() || !ends_sentence(block)
}

/// Whether a short block is only a date ("Nov. 3, 2019", "Monday, March 2").
fn is_date_only(lower: &str, words: usize) -> bool {
    if words > 7 {
        return false;
    }
    let has_month = lower.split(|c: char| !c.is_alphabetic()).any(|w| {
        w.len() >= 3
            && boilerplate::MONTH_ABBREVIATIONS
                .iter()
                .any(|m| w.starts_with(m))
            && {
                // "mar" must not match "market": only month names and their abbreviations.
                w.len() == 3 || boilerplate::MONTH_NAMES.contains(&w)
            }
    });
    has_month && lower.chars().any(|c| c.is_ascii_digit())
}

/// A text's length in words, the unit of the summary's length rules (35–80): words
/// between spaces, and for scripts written without spaces (Chinese, Japanese, Thai) one
/// word for about every two characters. The review page counts with it too.
pub fn word_count(text: &str) -> usize {
    let dense = text
        .chars()
        .filter(|&c| super::extract::is_dense_script(c))
        .count();
    spaced_words(text) + dense / 2
}

/// Whether a sentence can go into a summary.
fn is_story_sentence(sentence: &str, last_in_text: bool) -> bool {
    if word_count(sentence) < MIN_SENTENCE_WORDS || !ends_sentence(sentence) {
        return false;
    }
    // An excerpt cut by the feed ends on an ellipsis; we would be ending on the cut.
    if last_in_text && ends_with_ellipsis(sentence) {
        return false;
    }
    // A sentence with capitals but no lowercase letter is a label or a ticker row ("THE
    // HOME DEPOT INC."); scripts without case (Arabic, Bengali, Chinese) have neither.
    if sentence.chars().any(char::is_uppercase) && !sentence.chars().any(char::is_lowercase) {
        return false;
    }
    let lower = sentence.to_lowercase();
    // Wire captions read like sentences: "In this photo dated Tuesday, the rocket is …".
    !boilerplate::SENTENCE_JUNK.iter().any(|j| lower.contains(j))
        && !boilerplate::CAPTION_OPENERS
            .iter()
            .any(|c| lower.starts_with(c))
}

/// Removes feed footers glued to the end of a paragraph ("Continue reading →", "[…]",
/// "The post X appeared first on Y.").
fn strip_trailing_junk(block: &str) -> String {
    let mut text = block.trim().to_string();
    loop {
        let before = text.len();
        let lower = text.to_ascii_lowercase();
        if let Some(pos) = lower
            .rfind(boilerplate::FOOTER_OPENER)
            .filter(|&p| lower[p..].contains(boilerplate::FOOTER_PHRASE))
        {
            text.truncate(pos);
        }
        for marker in boilerplate::TRAILING_LINKS {
            let lower = text.to_ascii_lowercase();
            if let Some(pos) = lower.rfind(marker) {
                // Only when the marker is the tail ("… Continue reading →"), not a sentence
                // that happens to say "read more".
                let tail = &lower[pos + marker.len()..];
                if tail.chars().all(|c| !c.is_alphanumeric()) {
                    text.truncate(pos);
                }
            }
        }
        for marker in boilerplate::CUT_MARKERS {
            if text.trim_end().ends_with(marker) {
                let keep = text.trim_end().len() - marker.len();
                text.truncate(keep);
            }
        }
        text = text.trim_end().to_string();
        if text.len() == before {
            return text;
        }
    }
}

/// Removes reference markers ("[1]", "[12]", "[citation needed]"): noise in a blurb, and
/// they hide the period before them from the sentence splitter.
fn strip_citations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']');
        let inner = close.map(|c| &after[..c]);
        let is_marker = inner.is_some_and(|m| {
            (!m.is_empty() && m.len() <= 4 && m.chars().all(|c| c.is_ascii_digit()))
                || m == "citation needed"
                || m == "note"
        });
        match (is_marker, close) {
            (true, Some(c)) => {
                out.push_str(&rest[..open]);
                rest = &after[c + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Drops a wire-style dateline from the front of a sentence: "WASHINGTON (AP) — The…".
fn strip_dateline(sentence: &str) -> String {
    for dash in [" — ", " – ", " -- ", " - ", "—", "–", ": "] {
        let Some(pos) = sentence.find(dash) else {
            continue;
        };
        let prefix = &sentence[..pos];
        if prefix.chars().count() > 60 || spaced_words(prefix) > 8 {
            continue;
        }
        let first = prefix.split_whitespace().next().unwrap_or("");
        let letters: Vec<char> = first.chars().filter(|c| c.is_alphabetic()).collect();
        let shouting = letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase());
        // "NEW DELHI: …" takes a colon, but so do labels ("NOTE: …", "UPDATE: …"), so a
        // colon dateline must be all capitals and not a known label.
        let colon_ok = dash != ": "
            || (prefix.chars().all(|c| !c.is_lowercase())
                && !boilerplate::DATELINE_LABELS.contains(&prefix.trim().to_lowercase().as_str()));
        // "RIVERTON, Ore." ends on a dot, but on an abbreviated state, not a sentence.
        let ends_on_abbreviation = prefix
            .trim_end()
            .strip_suffix('.')
            .and_then(|p| p.rsplit(|c: char| !c.is_alphabetic()).next())
            .is_some_and(|w| {
                (2..=5).contains(&w.chars().count())
                    && w.chars().next().is_some_and(char::is_uppercase)
            });
        // "Washington, DC, United States: …": a place in title case, its parts split by
        // commas, every word capitalised; prose before a colon has lowercase words.
        let place = prefix.contains(',')
            && spaced_words(prefix) <= 6
            && prefix
                .split_whitespace()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase));
        if (shouting && colon_ok || place) && (!ends_sentence(prefix) || ends_on_abbreviation) {
            let rest = sentence[pos + dash.len()..].trim_start();
            if rest.chars().next().is_some_and(|c| c.is_uppercase()) {
                return rest.to_string();
            }
        }
    }
    sentence.to_string()
}

/// Whether a character can end a sentence.
fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '…' | '‼' | '⁇' | '。' | '！' | '？' | '।' | '؟' | '۔'
    )
}

/// Whether a terminator ends its sentence with no space after it: Chinese and Japanese
/// write the next sentence straight after "。", "！" or "？".
fn ends_without_space(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

/// Whether a character closes a quotation or bracket, and so stays with the sentence before it.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '›')
}

/// Whether a character opens a quotation or bracket.
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '“' | '‘' | '«' | '(' | '[' | '‹' | '¿' | '¡'
    )
}

/// Whether `text` ends on terminal punctuation, allowing closing quotes after it.
fn ends_sentence(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(is_closer)
        .chars()
        .last()
        .is_some_and(is_terminator)
}

/// Whether `text` ends on an ellipsis ("…" or "...").
fn ends_with_ellipsis(text: &str) -> bool {
    let t = text.trim_end().trim_end_matches(is_closer);
    t.ends_with('…') || t.ends_with("...")
}

/// Titles and abbreviations that are followed by more of the same sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "mx", "dr", "prof", "st", "sen", "rep", "gov", "gen", "lt", "col", "capt",
    "cpt", "sgt", "cmdr", "adm", "maj", "rev", "hon", "pres", "supt", "insp", "mt", "ft", "messrs",
    "mme", "mlle", "vs", "v", "fig", "figs", "vol", "vols", "pp", "p", "art", "approx", "est",
    "dept", "univ", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "e.g", "i.e", "cf", "al", "ca", "op", "ed", "eds", "no", "nos", "ph.d", "inc", "ltd",
    "co", "corp", "llc", "plc", "jr", "sr", "etc", "bros", "ave", "rd", "blvd", "gov't", "dist",
    "div", "min", "max", "mins", "hrs", "sq", "tel", "ext", "bzw", "usw", "vgl", "evtl", "ggf",
    "ala", "ariz", "calif", "colo", "conn", "fla", "kan", "ky", "md", "mich", "minn", "mont",
    "neb", "nev", "okla", "pa", "tenn", "tex", "vt", "wis", "wyo", "inkl", "sog", "zb", "nr",
    "abs", "str",
];

/// Abbreviations that often end a sentence too ("… at Apple Inc. The company …"), and
/// US state abbreviations of AP style, which sit in datelines ("HAYWARD, Calif. (AP)");
/// those that are also English words ("Ill.", "Wash.", "Miss.") are left out.
const MAY_END: &[&str] = &[
    "art", "min", "max", "abs", "rep", "gen", "ed", "mar", "op", "str", "div", "ext", "tel", "hon",
    "col", "sen", "ala", "ariz", "calif", "colo", "conn", "fla", "kan", "ky", "md", "mich", "minn",
    "mont", "neb", "nev", "okla", "pa", "tenn", "tex", "vt", "wis", "wyo", "inc", "ltd", "co",
    "corp", "llc", "plc", "jr", "sr", "etc", "bros", "ave", "rd", "blvd", "no", "est",
];

/// Words that commonly start a sentence; after an ambiguous abbreviation they mark a boundary.
const SENTENCE_STARTERS: &[&str] = &[
    "the",
    "a",
    "an",
    "he",
    "she",
    "it",
    "they",
    "we",
    "i",
    "you",
    "this",
    "that",
    "these",
    "those",
    "there",
    "but",
    "and",
    "so",
    "yet",
    "in",
    "on",
    "at",
    "for",
    "his",
    "her",
    "their",
    "our",
    "its",
    "my",
    "according",
    "after",
    "as",
    "when",
    "while",
    "if",
    "however",
    "meanwhile",
    "now",
    "today",
    "still",
    "some",
    "many",
    "most",
    "what",
    "why",
    "how",
    "who",
    "it's",
    "officials",
    "shares",
];

/// Decides whether the terminator run `chars[term_start..term_end]` ends the sentence that
/// began at `sent_start`, given that the next visible character is at `next`.
fn is_boundary(
    chars: &[char],
    sent_start: usize,
    term_start: usize,
    term_end: usize,
    next: usize,
) -> bool {
    let next_char = chars[next];
    // A lowercase continuation ("“Why?” he asked", "e.g. the") is the same sentence, and
    // no sentence starts with a dash: "RIVERTON, Ore. — The city…" is one dateline.
    if next_char.is_lowercase() || matches!(next_char, '—' | '–') {
        return false;
    }
    let next_word: String = chars[next..]
        .iter()
        .skip_while(|c| is_opener(**c))
        .take_while(|c| c.is_alphanumeric() || **c == '\'' || **c == '’')
        .collect::<String>()
        .to_lowercase();
    let single_dot = term_end - term_start == 1 && chars[term_start] == '.';
    if !single_dot {
        // "?!", "!", "…" and "..." end the sentence when a capital or a quote follows.
        return true;
    }
    // The token the dot is glued to: "Dr", "U.S", "3", "(Inc".
    let mut tok_start = term_start;
    while tok_start > sent_start && !chars[tok_start - 1].is_whitespace() {
        tok_start -= 1;
    }
    let raw: String = chars[tok_start..term_start].iter().collect();
    let token = raw.trim_start_matches(is_opener);
    if token.is_empty() {
        return true;
    }
    let lower = token.to_lowercase();
    let letters = token.chars().filter(|c| c.is_alphabetic()).count();
    // Initials: "J. R. R. Tolkien", "George W. Bush".
    if token.chars().count() == 1 && letters == 1 && token.chars().all(char::is_uppercase) {
        return false;
    }
    // Numbered list marker at the start of a sentence: "1. Preheat the oven."
    if tok_start == sent_start && token.chars().all(|c| c.is_ascii_digit()) && token.len() <= 3 {
        return false;
    }
    // A day written as an ordinal before its month: "bis 25. November 2019".
    if token.len() <= 2
        && token.chars().all(|c| c.is_ascii_digit())
        && boilerplate::ORDINAL_DAY_MONTHS.contains(&next_word.as_str())
    {
        return false;
    }
    let starter = SENTENCE_STARTERS.contains(&next_word.as_str());
    if ABBREVIATIONS.contains(&lower.as_str()) {
        if lower == "no" {
            // "No. 3" is a number; "The answer was no. Then…" is an ending.
            return !next_char.is_ascii_digit();
        }
        return MAY_END.contains(&lower.as_str()) && starter;
    }
    // Dotted acronyms ("U.S.", "a.m.", "Ph.D.") end a sentence only before an obvious opener.
    if token.contains('.') && token.chars().all(|c| c.is_alphabetic() || c == '.') {
        return starter;
    }
    true
}

/// Appends the trimmed sentence in `chars` to `out` unless it is blank.
fn push_sentence(out: &mut Vec<String>, chars: &[char]) {
    let s: String = chars.iter().collect();
    let s = collapse_whitespace(&s);
    if !s.is_empty() {
        out.push(s);
    }
}

/// Collapses runs of whitespace to single spaces and trims the ends.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_calendar_without_sentences_is_summarized_up_to_an_entry_within_80_words() {
        let places = [
            "Lakeside Park",
            "Hillcrest / Backup circuit",
            "Northgate Speedway",
            "Old Harbour Ring",
            "Millbrook",
            "Summit Trophy",
            "To be announced",
            "Pine Valley",
            "Eastfield Raceway",
            "Greenhill",
            "To be announced",
            "Lakeside Park",
        ];
        let line = places
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let n = i + 1;
                let suffix = match n {
                    1 => "st",
                    2 => "nd",
                    3 => "rd",
                    _ => "th",
                };
                format!("{n}{suffix} round: {} May – {p}", n + 2)
            })
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            word_count(&line) > 80,
            "the fixture must be longer than a summary"
        );
        let s = summarize(&blocks(&["Season calendar 2024", &line])).expect("a summary");
        let words = word_count(&s);
        assert!((35..=80).contains(&words), "{words} words: {s}");
        assert!(
            s.starts_with("Season calendar 2024; 1st round: 3 May – Lakeside Park 2nd round"),
            "{s}"
        );
        // Cut between two entries, and marked as cut.
        assert!(s.ends_with('…'), "{s}");
        let before = s.trim_end_matches('…');
        assert!(
            places.iter().any(|p| before.ends_with(p)),
            "cut inside an entry: {s}"
        );
    }

    #[test]
    fn a_results_list_without_sentences_is_summarized_from_whole_lines() {
        let mut lines = vec!["County youth championships, 4 x 100 m relay, under-16 girls"];
        lines.extend([
            "Riverside Athletics Club I",
            "Harper, Ann 2008; Doyle, Kim 2009",
            "Westbrook Harriers",
            "Moss, Lena 2008; Quinn, Sara 2008",
            "Northfield Track Team II",
            "Baker, Ella 2009; Stone, Maya 2009",
            "Valley Striders",
            "Reed, Ivy 2008; Frost, Nora 2009",
        ]);
        let lines: Vec<String> = lines.into_iter().map(String::from).collect();
        let s = summarize(&lines).expect("a summary");
        let words = word_count(&s);
        assert!((35..=80).contains(&words), "{words} words: {s}");
        assert!(
            s.starts_with("County youth championships, 4 x 100 m relay, under-16 girls; Riverside Athletics Club I; Harper, Ann 2008"),
            "{s}"
        );
    }

    #[test]
    fn lines_without_sentences_or_spaces_keep_the_summary_within_80_words() {
        let row = "第一轮北京国家体育场第二轮上海体育场第三轮广州天河体育中心第四轮深圳湾体育中心";
        let blocks: Vec<String> = std::iter::once("二零二四赛季赛程".to_string())
            .chain(std::iter::repeat_n(row.repeat(6), 3))
            .collect();
        let s = summarize(&blocks).expect("a summary of the lines");
        assert!(word_count(&s) <= 80, "{} words: {s}", word_count(&s));
        assert!(word_count(&s) >= 35, "{} words: {s}", word_count(&s));
        assert!(s.ends_with('…'), "{s}");
    }

    #[test]
    fn a_few_words_without_sentences_still_give_no_summary() {
        assert_eq!(
            summarize(&blocks(&["Loading…", "Menu", "Home News Sport"])),
            None
        );
    }

    #[test]
    fn short_sentences_are_added_until_the_blurb_reaches_35_words() {
        let b = blocks(&[
            "The ferry is back. It docked at noon on Monday after eight months away. \
             Crowds waited on the quay in the rain for hours. Children waved flags from the old sea wall. \
             The mayor spoke briefly about the long repairs and thanked the crews. Then the band played.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(word_count(&s) >= 35, "{} words: {s}", word_count(&s));
        assert!(word_count(&s) <= 80, "{} words: {s}", word_count(&s));
    }

    #[test]
    fn a_story_in_a_script_without_capitals_gets_a_summary() {
        let arabic = "قال وزير المالية إن الحكومة ستخفض الضرائب على الشركات الصغيرة في العام المقبل. وأضاف أن القرار يهدف إلى دعم الاقتصاد المحلي وخلق فرص عمل جديدة للشباب.";
        let s = summarize(&blocks(&[arabic])).expect("an Arabic summary");
        assert!(s.starts_with("قال وزير"), "{s}");
        let bengali =
            "শহরের নতুন সেতুটি আজ সকালে খুলে দেওয়া হয়েছে। এতে নদী পার হতে এখন মাত্র দশ মিনিট লাগবে।";
        assert!(summarize(&blocks(&[bengali])).is_some());
    }

    #[test]
    fn chinese_sentences_end_without_a_space_after_them() {
        let s = split_sentences("这个城市很重要。六十年前就有人写过它！现在怎么样？");
        assert_eq!(
            s,
            vec!["这个城市很重要。", "六十年前就有人写过它！", "现在怎么样？"]
        );
    }

    #[test]
    fn a_day_written_as_an_ordinal_does_not_end_a_sentence() {
        let s = split_sentences(
            "Bis 25. November 2019 können alle abstimmen. Danach zählt die Behörde.",
        );
        assert_eq!(
            s,
            vec![
                "Bis 25. November 2019 können alle abstimmen.",
                "Danach zählt die Behörde."
            ]
        );
    }

    #[test]
    fn abbreviation_dr_does_not_end_a_sentence() {
        let s = split_sentences("Dr. Smith arrived late. He left early.");
        assert_eq!(s, vec!["Dr. Smith arrived late.", "He left early."]);
    }

    #[test]
    fn titles_mr_and_mrs_do_not_end_sentences() {
        let s = split_sentences("Mr. and Mrs. Jones met Prof. Lee. They talked.");
        assert_eq!(s, vec!["Mr. and Mrs. Jones met Prof. Lee.", "They talked."]);
    }

    #[test]
    fn dotted_acronym_us_stays_inside_a_sentence() {
        let s = split_sentences("The U.S. Senate voted on Monday. It passed.");
        assert_eq!(s, vec!["The U.S. Senate voted on Monday.", "It passed."]);
    }

    #[test]
    fn dotted_acronym_at_the_end_splits_before_a_common_opener() {
        let s = split_sentences("She moved to the U.S. The move was hard.");
        assert_eq!(s, vec!["She moved to the U.S.", "The move was hard."]);
    }

    #[test]
    fn eg_and_ie_do_not_end_sentences() {
        let s = split_sentences("Use a tool, e.g. a hammer, i.e. something heavy. Then hit.");
        assert_eq!(
            s,
            vec![
                "Use a tool, e.g. a hammer, i.e. something heavy.",
                "Then hit."
            ]
        );
    }

    #[test]
    fn number_abbreviation_no_before_a_digit_does_not_end_a_sentence() {
        let s = split_sentences("He wore No. 3 for years. Fans loved it.");
        assert_eq!(s, vec!["He wore No. 3 for years.", "Fans loved it."]);
    }

    #[test]
    fn the_word_no_at_the_end_of_a_sentence_still_ends_it() {
        let s = split_sentences("The answer was no. Then she left.");
        assert_eq!(s, vec!["The answer was no.", "Then she left."]);
    }

    #[test]
    fn street_abbreviation_st_does_not_end_a_sentence() {
        let s = split_sentences("They flew to St. Louis on Friday. It rained.");
        assert_eq!(s, vec!["They flew to St. Louis on Friday.", "It rained."]);
    }

    #[test]
    fn company_suffix_inc_ends_a_sentence_only_before_an_opener() {
        let s = split_sentences(
            "Apple Inc. Chief Tim Cook spoke. He works at Apple Inc. The firm grew.",
        );
        assert_eq!(
            s,
            vec![
                "Apple Inc. Chief Tim Cook spoke.",
                "He works at Apple Inc.",
                "The firm grew."
            ]
        );
    }

    #[test]
    fn state_abbreviations_in_datelines_do_not_end_a_sentence() {
        let s = split_sentences("HAYWARD, Calif. (AP) — A train stopped. Riders waited.");
        assert_eq!(
            s,
            vec!["HAYWARD, Calif. (AP) — A train stopped.", "Riders waited."]
        );
        let s = split_sentences("She moved to Portland, Ore. The rain never stopped.");
        assert_eq!(
            s,
            vec!["She moved to Portland, Ore.", "The rain never stopped."]
        );
    }

    #[test]
    fn initials_stay_with_the_name() {
        let s = split_sentences("J. R. R. Tolkien wrote it. George W. Bush read it.");
        assert_eq!(
            s,
            vec!["J. R. R. Tolkien wrote it.", "George W. Bush read it."]
        );
    }

    #[test]
    fn decimals_do_not_end_a_sentence() {
        let s = split_sentences("Sales rose 3.5 percent to $2.8 billion. Shares fell.");
        assert_eq!(
            s,
            vec!["Sales rose 3.5 percent to $2.8 billion.", "Shares fell."]
        );
    }

    #[test]
    fn closing_quotes_belong_to_the_sentence_they_close() {
        let s = split_sentences("He said \"Stop.\" Then he left.");
        assert_eq!(s, vec!["He said \"Stop.\"", "Then he left."]);
        let s = split_sentences("She wrote “It is over.” Nobody replied.");
        assert_eq!(s, vec!["She wrote “It is over.”", "Nobody replied."]);
    }

    #[test]
    fn question_in_quotes_followed_by_lowercase_continues_the_sentence() {
        let s = split_sentences("“Why?” he asked. Nobody knew.");
        assert_eq!(s, vec!["“Why?” he asked.", "Nobody knew."]);
    }

    #[test]
    fn interrobang_ends_a_sentence_once() {
        let s = split_sentences("Can you believe it?! We won. Really!");
        assert_eq!(s, vec!["Can you believe it?!", "We won.", "Really!"]);
    }

    #[test]
    fn ellipsis_before_lowercase_continues_and_before_capital_ends() {
        let s = split_sentences("He waited... and waited. Then… Nothing happened.");
        assert_eq!(
            s,
            vec!["He waited... and waited.", "Then…", "Nothing happened."]
        );
    }

    #[test]
    fn numbered_list_markers_do_not_make_empty_sentences() {
        let s = split_sentences("1. Preheat the oven. 2. Mix the flour.");
        assert_eq!(s, vec!["1. Preheat the oven.", "2. Mix the flour."]);
    }

    #[test]
    fn a_year_at_the_end_of_a_sentence_ends_it() {
        let s = split_sentences("The firm was founded in 1990. It grew fast.");
        assert_eq!(s, vec!["The firm was founded in 1990.", "It grew fast."]);
    }

    #[test]
    fn urls_and_domains_do_not_split() {
        let s = split_sentences("Visit example.com for details. Thanks.");
        assert_eq!(s, vec!["Visit example.com for details.", "Thanks."]);
    }

    #[test]
    fn a_blank_line_ends_a_sentence_without_punctuation() {
        let s = split_sentences("A heading\n\nThe body starts here.");
        assert_eq!(s, vec!["A heading", "The body starts here."]);
    }

    #[test]
    fn text_without_terminal_punctuation_is_one_sentence() {
        assert_eq!(
            split_sentences("  just a fragment  "),
            vec!["just a fragment"]
        );
        assert!(split_sentences("   ").is_empty());
    }

    #[test]
    fn summary_takes_the_first_two_sentences() {
        let b = blocks(&[
            "The city council approved a new budget on Tuesday that raises spending on parks and libraries by 12 percent over last year.",
            "The vote was 7 to 2 after a long debate about property taxes and the cost of public safety.",
            "Council members will revisit the plan in the spring.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The city council approved"));
        assert!(s.ends_with("public safety."));
        assert_eq!(split_sentences(&s).len(), 2);
    }

    #[test]
    fn summary_adds_sentences_while_the_first_two_are_short() {
        let b = blocks(&[
            "The mayor resigned on Friday. She cited health reasons.",
            "Her deputy will serve as acting mayor until a special election is held in the spring, officials said in a statement.",
            "Nothing else changes.",
        ]);
        let s = summarize(&b).expect("summary");
        // 29 words after three sentences: the fourth comes too, as the article allows.
        assert_eq!(split_sentences(&s).len(), 4);
        assert!(s.ends_with("Nothing else changes."));
    }

    #[test]
    fn summary_never_exceeds_eighty_words_with_a_second_sentence() {
        let long = "word ".repeat(50) + "end.";
        let b = blocks(&[&long, &("more ".repeat(40) + "done.")]);
        let s = summarize(&b).expect("summary");
        assert_eq!(s, long);
    }

    #[test]
    fn a_first_sentence_over_eighty_words_is_returned_whole() {
        let long = "word ".repeat(95) + "end.";
        let s = summarize(&blocks(&[&long])).expect("summary");
        assert_eq!(word_count(&s), 96);
        assert!(s.ends_with("end."));
    }

    #[test]
    fn a_megabyte_long_sentence_is_cut_to_the_summary_limit_on_a_word() {
        let monster = "The council met again ".repeat(50_000) + "today.";
        let s = summarize(&blocks(&[&monster])).expect("summary");
        assert!(s.chars().count() <= MAX_SUMMARY_CHARS, "{} chars", s.len());
        // Cut after a whole word of the sentence, the ellipsis marking the cut.
        let kept = s.strip_suffix('…').expect("an ellipsis");
        assert!(monster.starts_with(kept) && monster[kept.len()..].starts_with(' '));
    }

    #[test]
    fn a_run_on_first_sentence_gives_way_to_a_normal_one_after_it() {
        let long = "word, ".repeat(95) + "end.";
        let b = blocks(&[
            &long,
            "The council then voted to approve the plan for the new library on Main Street.",
            "Construction starts in the spring and should take about two years to finish.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The council then voted"), "{s}");
    }

    #[test]
    fn bylines_and_stamps_are_skipped() {
        let b = blocks(&[
            "By Jane Doe",
            "Posted by John Roe on March 3, 2024",
            "Updated 5:32 PM ET, Tue March 5, 2024",
            "March 5, 2024",
            "Scientists have found water ice near the lunar south pole in amounts large enough to supply a base.",
            "The discovery came from radar data gathered over three years of orbital passes.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Scientists have found"), "{s}");
    }

    #[test]
    fn a_real_sentence_starting_with_by_is_kept() {
        let b = blocks(&[
            "By the end of the year, the agency expects to hire two hundred new inspectors across the state.",
            "The hiring follows a report that found long delays in food safety checks.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("By the end of the year"));
    }

    #[test]
    fn captions_and_photo_credits_are_skipped() {
        let b = blocks(&[
            "Photo: The new bridge at dusk.",
            "The governor speaks in Albany on Monday. (AP Photo/Hans Pennink)",
            "The state will spend $4 billion to replace aging bridges over the next decade, the governor said.",
            "Work begins next year on the most damaged spans in the north of the state.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The state will spend"), "{s}");
    }

    #[test]
    fn wordpress_footer_and_continue_reading_are_removed() {
        let b = blocks(&[
            "Leaders who listen build teams that stay. A new survey of 2,000 workers shows why. Continue reading →",
            "The post Why Listening Matters appeared first on Thought Leaders.",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(
            s,
            "Leaders who listen build teams that stay. A new survey of 2,000 workers shows why."
        );
    }

    #[test]
    fn a_feed_excerpt_cut_with_brackets_drops_the_cut_sentence() {
        let b = blocks(&[
            "Budgets are tight this year for most towns. Managers are finding new ways to stretch every dollar. One approach that works is to [&hellip;]",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.ends_with("stretch every dollar."), "{s}");
    }

    #[test]
    fn a_trailing_ellipsis_at_the_end_of_the_text_is_not_used_as_an_ending() {
        let b = blocks(&[
            "The library will close for renovation in June. Patrons can use the branch on Elm Street while the main building is rebuilt…",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(s, "The library will close for renovation in June.");
    }

    #[test]
    fn share_prompts_and_newsletter_signups_are_skipped() {
        let b = blocks(&[
            "Share this article",
            "Subscribe to our newsletter for daily updates.",
            "Sign up for our free webinar!",
            "Click here to read the report.",
            "Water rates will rise 4 percent in July to pay for pipe replacement across older neighborhoods.",
            "The utility said the average household bill would go up by about three dollars a month.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Water rates will rise"), "{s}");
        assert!(!s.contains("Subscribe"));
    }

    #[test]
    fn headings_without_punctuation_are_skipped() {
        let b = blocks(&[
            "Key Takeaways",
            "Table of Contents",
            "Remote work is here to stay for most office jobs, according to a survey of three hundred employers.",
            "Nearly half plan to shrink their office space by 2026.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Remote work"), "{s}");
    }

    #[test]
    fn a_wire_dateline_is_removed_from_the_first_sentence() {
        let b = blocks(&[
            "WASHINGTON (AP) — The Senate passed a spending bill late Thursday that keeps the government open through March.",
            "The House is expected to vote on Friday before the deadline.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The Senate passed"), "{s}");
    }

    #[test]
    fn a_dateline_with_a_state_that_is_also_a_word_is_removed_whole() {
        let b = blocks(&[
            "RIVERTON, Ore. — The City of Riverton will process residential building permits within ten business days under a pilot that begins Jan. 4, the mayor announced Monday.",
            "The current average wait is 22 business days.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The City of Riverton will process"), "{s}");
    }

    #[test]
    fn a_colon_dateline_in_capitals_is_removed_but_labels_stay_for_the_filters() {
        let b = blocks(&[
            "NEW DELHI: Nearly 150 Indians returned home on Wednesday after being deported from the United States.",
            "As they stepped outside the airport, one after the other, they appeared sad.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Nearly 150 Indians"), "{s}");
        assert_eq!(
            strip_dateline("UPDATE: The road has reopened."),
            "UPDATE: The road has reopened."
        );
    }

    #[test]
    fn a_title_case_place_dateline_with_a_colon_is_removed() {
        let b = blocks(&[
            "Washington, DC, United States: The Senate passed a spending bill late Thursday that keeps the government open through March.",
            "The House is expected to vote on Friday before the deadline.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The Senate passed"), "{s}");
        // A sentence that merely quotes someone after a colon keeps its opening.
        assert_eq!(
            strip_dateline("The mayor said: Roads come first."),
            "The mayor said: Roads come first."
        );
    }

    #[test]
    fn a_photo_caption_does_not_open_the_summary() {
        let b = blocks(&[
            "Travelers, including a woman, center, in blue sandals, pass a Boeing 737 Max at the airport on Monday.",
            "Regulators cleared the jet to fly again on Wednesday after a review that lasted nearly two years.",
            "Airlines said the first flights would resume within a month, starting with domestic routes.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Regulators cleared"), "{s}");
    }

    #[test]
    fn a_byline_or_a_site_promo_does_not_open_the_summary() {
        let b = blocks(&[
            "By Jane Roe and John Doe, Staff Writers",
            "Get the best of our reporting delivered to your inbox every morning. Sign up for our newsletter today.",
            "The county will close two branch libraries next year to pay for longer hours at the main one.",
            "The board voted four to one for the plan on Tuesday evening.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The county will close"), "{s}");
    }

    #[test]
    fn a_cookie_or_consent_notice_is_never_a_summary() {
        let notices = [
            "This website uses cookies to improve your experience. We'll assume you're ok with this, but you can opt-out if you wish.",
            "Wir verwenden Cookies, um dir die bestmögliche Erfahrung auf unserer Website zu bieten. Du kannst sie in den Einstellungen abschalten.",
        ];
        for notice in notices {
            assert_eq!(summarize(&blocks(&[notice])), None, "{notice}");
        }
        let b = blocks(&[
            notices[0],
            "The county will close two branch libraries next year to pay for longer hours at the main one.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("The county will close"), "{s}");
    }

    #[test]
    fn a_greeting_opener_is_skipped_for_the_story() {
        let b = blocks(&[
            "Happy Friday, everyone!",
            "This week we look at how three cities cut overtime costs by scheduling smarter and cross-training staff.",
            "Each saved more than a million dollars without layoffs.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("This week we look"), "{s}");
    }

    #[test]
    fn no_usable_sentence_gives_none() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(
            summarize(&blocks(&["By Jane Doe", "Share this", "Heading only"])),
            None
        );
    }

    #[test]
    fn a_first_sentence_repeating_the_headline_is_skipped() {
        let b = blocks(&[
            "Council Approves New Budget.",
            "The city council approved a budget on Tuesday that raises spending on parks by 12 percent.",
            "The vote was 7 to 2 after a long debate about property taxes.",
        ]);
        let s = summarize_with_title(&b, Some("Council approves new budget")).expect("summary");
        assert!(s.starts_with("The city council approved"), "{s}");
    }

    #[test]
    fn all_caps_labels_are_not_sentences() {
        let b = blocks(&[
            "THE HOME DEPOT INC.",
            "Home Depot reported third-quarter earnings that topped estimates as revenue fell short.",
            "Rival Lowe's was also lower following the results.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("Home Depot reported"), "{s}");
    }

    #[test]
    fn german_abbreviation_bzw_does_not_end_a_sentence() {
        let s = split_sentences(
            "Nicht jedes Modell ist von Disruption bzw. Digital Darwinismus bedroht. Gut so.",
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn story_sentence_texts_lists_only_usable_sentences() {
        let b = blocks(&[
            "By Jane Doe",
            "Short heading",
            "The plant will close in May. Workers were told on Friday.",
        ]);
        assert_eq!(
            story_sentence_texts(&b),
            vec![
                "The plant will close in May.",
                "Workers were told on Friday."
            ]
        );
    }

    #[test]
    fn citation_markers_are_removed_so_the_sentence_ends_cleanly() {
        let b = blocks(&[
            "Mozilla is a free-software community created in 1998.[1] It builds the Firefox web browser and other tools.[2][3]",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(
            s,
            "Mozilla is a free-software community created in 1998. It builds the Firefox web browser and other tools."
        );
    }

    #[test]
    fn wire_photo_captions_and_repeated_sentences_are_skipped() {
        let b = blocks(&[
            "In this photo dated Tuesday, the rocket is installed on a launch pad in Baikonur.",
            "A Russian cargo spacecraft failed to reach orbit on Thursday and broke up over Siberia.",
            "A Russian cargo spacecraft failed to reach orbit on Thursday and broke up over Siberia.",
            "The ship was carrying food and fuel to the International Space Station.",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(
            s,
            "A Russian cargo spacecraft failed to reach orbit on Thursday and broke up over Siberia. The ship was carrying food and fuel to the International Space Station."
        );
    }

    #[test]
    fn related_lines_and_table_of_contents_entries_are_skipped() {
        let b = blocks(&[
            "Contents",
            "1. Why budgets matter",
            "2. What changed this year",
            "Related: How to read a city budget",
            "City budgets grew faster than inflation this year for the first time since 2008, a new survey of 500 cities finds.",
            "Most of the growth went to public safety and to pensions.",
        ]);
        let s = summarize(&b).expect("summary");
        assert!(s.starts_with("City budgets grew"), "{s}");
    }

    #[test]
    fn feedburner_links_and_email_prompts_are_skipped() {
        let b = blocks(&[
            "Email this • Add to del.icio.us • Digg This! • Share on Facebook",
            "The library board voted to extend weekend hours at all five branches starting in June.",
            "The change costs about $80,000 a year, paid from a state grant.",
            "Subscribe to the Feedburner feed for more updates like this one from our blog.",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(
            s,
            "The library board voted to extend weekend hours at all five branches starting in June. The change costs about $80,000 a year, paid from a state grant."
        );
    }

    #[test]
    fn text_whose_lowercase_changes_length_is_handled() {
        // 'İ' grows by a byte when lowercased; byte offsets must come from the right string.
        let b = blocks(&[
            "İSTANBUL'DA İKİ GÜN. İstanbul hosted the summit for two days this week. Continue reading İ →",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(s, "İstanbul hosted the summit for two days this week.");
        let _ = split_sentences("İ. İ? Ǆ. ß… ﬁ.");
    }

    #[test]
    fn editors_notes_and_corrections_are_not_the_story() {
        let b = blocks(&[
            "Editor's note: This story was updated on Friday with comment from the county.",
            "The county will close two polling places before the March primary, officials said on Thursday.",
            "Voters in both precincts will be sent to the library on Elm Street instead.",
            "Correction: An earlier version misstated the date of the primary.",
        ]);
        let s = summarize(&b).expect("summary");
        assert_eq!(
            s,
            "The county will close two polling places before the March primary, officials said on Thursday. Voters in both precincts will be sent to the library on Elm Street instead."
        );
    }

    #[test]
    fn summaries_are_deterministic() {
        let b = blocks(&[
            "The board hired a new superintendent. She starts in August. Parents welcomed the choice.",
        ]);
        assert_eq!(summarize(&b), summarize(&b));
    }
}

//! The editor's desk (issue #15): an edit → the draft digest changed, with what to record
//! (before and after); the stories numbered as the terminal shows them; the review
//! page's HTML. The web handlers (`crate::web`, its marked block) and `feedbrief review`
//! (`crate::cli::review`) both go through [`apply`] and the store's
//! [`crate::store::Store::save_draft`], so the two can never disagree on what an edit does.
//!
//! Pure: no I/O, no clock.

use crate::select::{Digest, SectionStories, Story};
use crate::store::Change;

/// The summary length the brief aims for, in words (as the summarizer does).
pub const SUMMARY_WORDS: (usize, usize) = (35, 80);

/// The longest headline an editor may write, in characters.
pub const MAX_HEADLINE_CHARS: usize = 300;

/// The longest summary an editor may write, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2_000;

/// One change an editor makes to a draft. Stories are named by their entry id, never by
/// position, so an edit means the same story whatever else moved.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Take a story out.
    Remove(i64),
    /// One place up within its section.
    Up(i64),
    /// One place down within its section.
    Down(i64),
    /// To the end of another section.
    Move {
        /// The story.
        entry: i64,
        /// The section, as the config names it.
        section: String,
    },
    /// Make it the lead (the lead it replaces goes to the top of its own section).
    Lead(i64),
    /// A new headline (plain text).
    Headline {
        /// The story.
        entry: i64,
        /// The text.
        text: String,
    },
    /// A new summary (plain text).
    Summary {
        /// The story.
        entry: i64,
        /// The text.
        text: String,
    },
    /// A story added by URL (already fetched and summarized), at the end of its section.
    Add(Story),
    /// An announcement's headline and text, for this issue only.
    Announcement {
        /// Its place among the digest's announcements.
        index: usize,
        /// Headline.
        title: String,
        /// Text.
        body: String,
    },
    /// Leave an announcement out of this issue.
    HideAnnouncement(usize),
}

/// Why an edit cannot be made; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No story with this entry id in the draft.
    #[error("that story is not in the draft (it may have been removed); reload the draft")]
    NoSuchStory,
    /// The section is not one of the config's.
    #[error("{0:?} is not a section of this brief; use one of: {1}")]
    NoSuchSection(String, String),
    /// Removing the only story.
    #[error("the lead is the only story left; skip this issue instead of removing it")]
    LastStory,
    /// Empty or overlong text.
    #[error("{0}")]
    BadText(String),
    /// No such announcement.
    #[error("that announcement is not in the draft; reload the draft")]
    NoSuchAnnouncement,
    /// The URL is in the draft already.
    #[error("that story is in the draft already")]
    AlreadyThere,
}

/// Where a story sits: the lead, or (section index, place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Lead,
    At(usize, usize),
}

fn find(d: &Digest, entry: i64) -> Option<Place> {
    if d.lead.entry_id == entry {
        return Some(Place::Lead);
    }
    d.sections.iter().enumerate().find_map(|(si, s)| {
        s.stories
            .iter()
            .position(|st| st.entry_id == entry)
            .map(|p| Place::At(si, p))
    })
}

/// Plain text as an editor typed it: whitespace runs folded to one space, trimmed, no
/// control characters; empty or over `max` characters is refused.
pub fn plain_text(text: &str, what: &str, max: usize) -> Result<String, EditError> {
    let folded = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    if folded.is_empty() {
        return Err(EditError::BadText(format!(
            "the {what} is empty; write one, or remove the story"
        )));
    }
    if folded.chars().count() > max {
        return Err(EditError::BadText(format!(
            "the {what} is longer than {max} characters; shorten it"
        )));
    }
    Ok(folded)
}

/// Words in `text`, as the 35–80 target counts them.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Puts `story` into its section (`story.section`), making the section in config order
/// (`sections`) when the digest has none of it yet; at the top or the end.
fn insert(d: &mut Digest, story: Story, sections: &[String], top: bool) {
    if let Some(s) = d.sections.iter_mut().find(|s| s.name == story.section) {
        if top {
            s.stories.insert(0, story);
        } else {
            s.stories.push(story);
        }
        return;
    }
    let rank = |name: &str| {
        sections
            .iter()
            .position(|n| n == name)
            .unwrap_or(usize::MAX)
    };
    let at = d
        .sections
        .iter()
        .position(|s| rank(&s.name) > rank(&story.section))
        .unwrap_or(d.sections.len());
    d.sections.insert(
        at,
        SectionStories {
            name: story.section.clone(),
            stories: vec![story],
        },
    );
}

/// Takes the story at `place` out of the sections (not the lead), dropping a section it
/// leaves empty.
fn take(d: &mut Digest, si: usize, pos: usize) -> Story {
    let story = d.sections[si].stories.remove(pos);
    if d.sections[si].stories.is_empty() {
        d.sections.remove(si);
    }
    story
}

/// A change's record with no text before or after.
fn did(action: String) -> Change {
    Change {
        action,
        before: None,
        after: None,
    }
}

/// Applies `edit` to `d`; `sections` are the config's section names, in order. Returns
/// what to record. On an error `d` is unchanged.
pub fn apply(d: &mut Digest, edit: &Edit, sections: &[String]) -> Result<Change, EditError> {
    let story_at = |d: &Digest, entry: i64| find(d, entry).ok_or(EditError::NoSuchStory);
    match edit {
        Edit::Remove(entry) => match story_at(d, *entry)? {
            Place::Lead => {
                if d.sections.is_empty() {
                    return Err(EditError::LastStory);
                }
                let next = take(d, 0, 0);
                let old = std::mem::replace(&mut d.lead, next);
                Ok(did(format!(
                    "removed the lead \"{}\"; \"{}\" leads",
                    old.title, d.lead.title
                )))
            }
            Place::At(si, pos) => {
                let old = take(d, si, pos);
                Ok(did(format!("removed \"{}\"", old.title)))
            }
        },
        Edit::Up(entry) | Edit::Down(entry) => {
            let up = matches!(edit, Edit::Up(_));
            let Place::At(si, pos) = story_at(d, *entry)? else {
                return Ok(did("the lead stays the lead".into()));
            };
            let stories = &mut d.sections[si].stories;
            let other = if up {
                pos.checked_sub(1)
            } else {
                Some(pos + 1).filter(|&p| p < stories.len())
            };
            let title = stories[pos].title.clone();
            match other {
                Some(o) => {
                    stories.swap(pos, o);
                    Ok(did(format!(
                        "moved \"{title}\" {} in {}",
                        if up { "up" } else { "down" },
                        d.sections[si].name
                    )))
                }
                None => Ok(did(format!("\"{title}\" stays where it is"))),
            }
        }
        Edit::Move { entry, section } => {
            let Some(name) = sections
                .iter()
                .find(|s| s.eq_ignore_ascii_case(section.trim()))
            else {
                return Err(EditError::NoSuchSection(
                    section.clone(),
                    sections.join(", "),
                ));
            };
            match story_at(d, *entry)? {
                Place::Lead => {
                    let before = std::mem::replace(&mut d.lead.section, name.clone());
                    Ok(Change {
                        action: format!("section of the lead \"{}\"", d.lead.title),
                        before: Some(before),
                        after: Some(name.clone()),
                    })
                }
                Place::At(si, pos) => {
                    let before = d.sections[si].name.clone();
                    let mut story = take(d, si, pos);
                    story.section = name.clone();
                    let title = story.title.clone();
                    insert(d, story, sections, false);
                    Ok(Change {
                        action: format!("moved \"{title}\" to another section"),
                        before: Some(before),
                        after: Some(name.clone()),
                    })
                }
            }
        }
        Edit::Lead(entry) => match story_at(d, *entry)? {
            Place::Lead => Ok(did(format!("\"{}\" already leads", d.lead.title))),
            Place::At(si, pos) => {
                let story = take(d, si, pos);
                let old = std::mem::replace(&mut d.lead, story);
                let (old_title, new_title) = (old.title.clone(), d.lead.title.clone());
                insert(d, old, sections, true);
                Ok(Change {
                    action: "lead".into(),
                    before: Some(old_title),
                    after: Some(new_title),
                })
            }
        },
        Edit::Headline { entry, text } => {
            let text = plain_text(text, "headline", MAX_HEADLINE_CHARS)?;
            let story = story_mut(d, *entry)?;
            let before = std::mem::replace(&mut story.title, text.clone());
            Ok(Change {
                action: format!("headline of story {entry}"),
                before: Some(before),
                after: Some(text),
            })
        }
        Edit::Summary { entry, text } => {
            let text = plain_text(text, "summary", MAX_SUMMARY_CHARS)?;
            let story = story_mut(d, *entry)?;
            let before = story.summary.replace(text.clone());
            Ok(Change {
                action: format!("summary of \"{}\"", story.title),
                before,
                after: Some(text),
            })
        }
        Edit::Add(story) => {
            if find(d, story.entry_id).is_some() || d.stories().any(|s| s.url == story.url) {
                return Err(EditError::AlreadyThere);
            }
            let mut story = story.clone();
            if !sections.contains(&story.section) {
                story.section = sections.first().cloned().unwrap_or_default();
            }
            let change = Change {
                action: format!("added a story in {}", story.section),
                before: None,
                after: Some(format!("{} <{}>", story.title, story.url)),
            };
            insert(d, story, sections, false);
            Ok(change)
        }
        Edit::Announcement { index, title, body } => {
            let title = plain_text(title, "announcement's headline", MAX_HEADLINE_CHARS)?;
            let body = plain_text(body, "announcement's text", MAX_SUMMARY_CHARS)?;
            let a = d
                .announcements
                .get_mut(*index)
                .ok_or(EditError::NoSuchAnnouncement)?;
            let before = format!("{}: {}", a.title, a.body);
            a.title = title;
            a.body = body;
            Ok(Change {
                action: "announcement for this issue".into(),
                before: Some(before),
                after: Some(format!("{}: {}", a.title, a.body)),
            })
        }
        Edit::HideAnnouncement(index) => {
            if *index >= d.announcements.len() {
                return Err(EditError::NoSuchAnnouncement);
            }
            let a = d.announcements.remove(*index);
            Ok(did(format!(
                "hid the announcement \"{}\" for this issue",
                a.title
            )))
        }
    }
}

fn story_mut(d: &mut Digest, entry: i64) -> Result<&mut Story, EditError> {
    match find(d, entry).ok_or(EditError::NoSuchStory)? {
        Place::Lead => Ok(&mut d.lead),
        Place::At(si, pos) => Ok(&mut d.sections[si].stories[pos]),
    }
}

/// The stories as the terminal numbers them: 1 is the lead, then each section's in order.
pub fn numbered(d: &Digest) -> Vec<(usize, &Story)> {
    d.stories().enumerate().map(|(i, s)| (i + 1, s)).collect()
}

/// The entry id of story number `n` (as [`numbered`] counts), if there is one.
pub fn entry_of(d: &Digest, n: usize) -> Option<i64> {
    d.stories().nth(n.checked_sub(1)?).map(|s| s.entry_id)
}

/// The draft as the terminal lists it: numbered stories per section, the lead marked,
/// word counts, the filtered count.
pub fn listing(d: &Digest, filtered: usize) -> String {
    let mut out = String::new();
    let line = |out: &mut String, n: usize, s: &Story, mark: &str| {
        let words = s.summary.as_deref().map_or(0, word_count);
        out.push_str(&format!(
            "{n:>3}. {mark}{}  ({}; {words} words)\n",
            s.title, s.source
        ));
    };
    let mut n = 1;
    out.push_str("Lead\n");
    line(&mut out, n, &d.lead, "[LEAD] ");
    for section in &d.sections {
        out.push_str(&format!("{}\n", section.name));
        for s in &section.stories {
            n += 1;
            line(&mut out, n, s, "");
        }
    }
    for a in &d.announcements {
        out.push_str(&format!(
            "announcement: {} (after {})\n",
            a.title, a.after_section
        ));
    }
    out.push_str(&format!("{filtered} filtered\n"));
    out
}

/// The word count line shown under a summary: "52 words" with the 35–80 target.
pub fn words_note(summary: Option<&str>) -> String {
    let n = summary.map_or(0, word_count);
    let (lo, hi) = SUMMARY_WORDS;
    let verdict = if n < lo {
        "short of"
    } else if n > hi {
        "over"
    } else {
        "within"
    };
    format!("{n} words ({verdict} the {lo}–{hi} target)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn story(id: i64, section: &str) -> Story {
        Story {
            entry_id: id,
            title: format!("Story {id}"),
            url: format!("https://ex.org/{id}"),
            summary: Some("One two three.".into()),
            source: "Ex".into(),
            date: DateTime::<Utc>::default(),
            section: section.into(),
            access_note: None,
            image: None,
        }
    }

    fn digest() -> Digest {
        Digest {
            created_at: DateTime::<Utc>::default(),
            lead: story(1, "A"),
            sections: vec![
                SectionStories {
                    name: "A".into(),
                    stories: vec![story(2, "A"), story(3, "A")],
                },
                SectionStories {
                    name: "C".into(),
                    stories: vec![story(4, "C")],
                },
            ],
            announcements: vec![crate::select::DigestAnnouncement {
                title: "Dues".into(),
                body: "Lower dues.".into(),
                link: "https://ex.org/join".into(),
                cta: "JOIN".into(),
                image: None,
                image_alt: None,
                after_section: "A".into(),
            }],
            sponsors: Vec::new(),
            high_water: 4,
            most_read: Vec::new(),
        }
    }

    fn sections() -> Vec<String> {
        ["A", "B", "C"].map(String::from).to_vec()
    }

    fn ids(d: &Digest) -> Vec<i64> {
        d.stories().map(|s| s.entry_id).collect()
    }

    #[test]
    fn removing_the_lead_promotes_the_next_story_and_an_emptied_section_goes() {
        let mut d = digest();
        apply(&mut d, &Edit::Remove(1), &sections()).expect("remove lead");
        assert_eq!(ids(&d), [2, 3, 4]);
        apply(&mut d, &Edit::Remove(4), &sections()).expect("remove");
        assert_eq!(d.sections.len(), 1, "section C left with no story is gone");
        apply(&mut d, &Edit::Remove(3), &sections()).expect("remove");
        assert_eq!(
            apply(&mut d, &Edit::Remove(2), &sections()),
            Err(EditError::LastStory)
        );
        assert_eq!(ids(&d), [2]);
    }

    #[test]
    fn moving_reordering_and_making_a_lead_keep_every_story_once() {
        let mut d = digest();
        apply(&mut d, &Edit::Down(2), &sections()).expect("down");
        assert_eq!(ids(&d), [1, 3, 2, 4]);
        apply(&mut d, &Edit::Up(2), &sections()).expect("up");
        assert_eq!(ids(&d), [1, 2, 3, 4]);
        let c = apply(
            &mut d,
            &Edit::Move {
                entry: 3,
                section: "b".into(),
            },
            &sections(),
        )
        .expect("move");
        assert_eq!(
            (c.before.as_deref(), c.after.as_deref()),
            (Some("A"), Some("B"))
        );
        let names: Vec<&str> = d.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["A", "B", "C"],
            "a new section takes its config place"
        );
        apply(&mut d, &Edit::Lead(4), &sections()).expect("lead");
        assert_eq!(d.lead.entry_id, 4);
        assert_eq!(
            d.sections[0].stories[0].entry_id, 1,
            "the old lead tops its section"
        );
        assert_eq!(ids(&d).len(), 4);
        assert!(matches!(
            apply(
                &mut d,
                &Edit::Move {
                    entry: 2,
                    section: "Nope".into()
                },
                &sections()
            ),
            Err(EditError::NoSuchSection(..))
        ));
        assert_eq!(
            apply(&mut d, &Edit::Lead(99), &sections()),
            Err(EditError::NoSuchStory)
        );
    }

    #[test]
    fn edited_text_is_plain_and_recorded_with_before_and_after() {
        let mut d = digest();
        let c = apply(
            &mut d,
            &Edit::Summary {
                entry: 3,
                text: "  New\n summary <b>here</b>. ".into(),
            },
            &sections(),
        )
        .expect("summary");
        assert_eq!(c.before.as_deref(), Some("One two three."));
        assert_eq!(c.after.as_deref(), Some("New summary <b>here</b>."));
        assert_eq!(
            d.sections[0].stories[1].summary.as_deref(),
            Some("New summary <b>here</b>.")
        );
        assert!(matches!(
            apply(
                &mut d,
                &Edit::Headline {
                    entry: 3,
                    text: " \n ".into()
                },
                &sections()
            ),
            Err(EditError::BadText(_))
        ));
        apply(
            &mut d,
            &Edit::Headline {
                entry: 1,
                text: "Lead headline".into(),
            },
            &sections(),
        )
        .expect("headline");
        assert_eq!(d.lead.title, "Lead headline");
        assert_eq!(
            words_note(Some("a b c")),
            "3 words (short of the 35–80 target)"
        );
    }

    #[test]
    fn an_added_story_goes_to_its_section_once_and_announcements_can_change_or_hide() {
        let mut d = digest();
        apply(&mut d, &Edit::Add(story(9, "C")), &sections()).expect("add");
        assert_eq!(ids(&d), [1, 2, 3, 4, 9]);
        assert_eq!(
            apply(&mut d, &Edit::Add(story(9, "C")), &sections()),
            Err(EditError::AlreadyThere)
        );
        apply(
            &mut d,
            &Edit::Announcement {
                index: 0,
                title: "Dues".into(),
                body: "Even lower dues.".into(),
            },
            &sections(),
        )
        .expect("announcement");
        assert_eq!(d.announcements[0].body, "Even lower dues.");
        apply(&mut d, &Edit::HideAnnouncement(0), &sections()).expect("hide");
        assert!(d.announcements.is_empty());
        assert_eq!(
            apply(&mut d, &Edit::HideAnnouncement(0), &sections()),
            Err(EditError::NoSuchAnnouncement)
        );
    }

    #[test]
    fn the_listing_numbers_the_lead_first_and_counts_filtered_entries() {
        let d = digest();
        let text = listing(&d, 12);
        assert!(text.contains("  1. [LEAD] Story 1"), "{text}");
        assert!(text.contains("  4. Story 4"), "{text}");
        assert!(text.contains("12 filtered"), "{text}");
        assert_eq!(entry_of(&d, 3), Some(3));
        assert_eq!(entry_of(&d, 0), None);
        assert_eq!(entry_of(&d, 5), None);
    }
}

//! The editor's desk (issue #15): an edit → the draft digest changed, with what to record
//! (before and after); the stories numbered as the terminal shows them; the review
//! page's and the sign-in pages' HTML (plain forms, no JavaScript, one column that holds
//! at 375 px). The web handlers (`crate::web`, its marked block) and `feedbrief review`
//! (`crate::cli::review`) both go through [`apply`] and the store's
//! [`crate::store::Store::save_draft`], so the two can never disagree on what an edit does.
//!
//! Pure: no I/O, no clock.

use crate::select::{Digest, SectionStories, Story};
use crate::store::{Change, Draft, DraftEdit, DraftState};
use crate::web::escape;

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
    /// A filtered entry let through, at the end of its section, with why the filters had
    /// held it back (recorded as the "before").
    Release {
        /// The entry as a story.
        story: Story,
        /// Why it was filtered, e.g. `[brief] exclude has "crypto"`.
        why: String,
    },
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
                Ok(Change {
                    action: format!("removed \"{}\"", old.title),
                    before: Some(format!("{} <{}>", old.title, old.url)),
                    after: None,
                })
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
            let (title, count) = (stories[pos].title.clone(), stories.len());
            match other {
                Some(o) => {
                    stories.swap(pos, o);
                    let name = &d.sections[si].name;
                    let place = |p: usize| format!("place {} of {count} in {name}", p + 1);
                    Ok(Change {
                        action: format!(
                            "moved \"{title}\" {} in {name}",
                            if up { "up" } else { "down" },
                        ),
                        before: Some(place(pos)),
                        after: Some(place(o)),
                    })
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
        Edit::Add(story) | Edit::Release { story, .. } => {
            if find(d, story.entry_id).is_some() || d.stories().any(|s| s.url == story.url) {
                return Err(EditError::AlreadyThere);
            }
            let mut story = story.clone();
            if !sections.contains(&story.section) {
                story.section = sections.first().cloned().unwrap_or_default();
            }
            let change = match edit {
                Edit::Release { why, .. } => Change {
                    action: format!("let a filtered story through into {}", story.section),
                    before: Some(format!("filtered: {why}")),
                    after: Some(format!("{} <{}>", story.title, story.url)),
                },
                _ => Change {
                    action: format!("added a story in {}", story.section),
                    before: None,
                    after: Some(format!("{} <{}>", story.title, story.url)),
                },
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
            Ok(Change {
                action: format!("hid the announcement \"{}\" for this issue", a.title),
                before: Some(format!("{}: {}", a.title, a.body)),
                after: None,
            })
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
        let words = s.summary.as_deref().map_or(0, crate::article::word_count);
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
    let n = summary.map_or(0, crate::article::word_count);
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

/// The CSS of the editor's pages, in the digest's colours: one column, inputs as wide as
/// the screen, long words wrapped, so the page holds on a 375 px phone.
pub const DESK_CSS: &str = "<style>\
body{max-width:46em;overflow-wrap:anywhere}\
header.desk{background:#0f2a44;color:#fff;padding:.8em 1em;margin:0 -1em 1em}\
header.desk a{color:#fff}\
h1{color:#0f2a44;line-height:1.25;font-size:1.5em}\
h2{color:#0f2a44;border-bottom:2px solid #0f2a44;font-size:1.1em;text-transform:uppercase;letter-spacing:.04em;margin-top:1.6em}\
.story{border-bottom:1px solid #c9d2db;padding:.6em 0 1em}\
.story h3{margin:.2em 0;font-size:1.1em}\
.lead{background:#f3f6f9;padding:.6em .8em;border-left:4px solid #0b3c5d}\
.meta,.note{color:#4a5561;font-size:.9em}\
form{margin:.4em 0}\
form.inline{display:inline-block;margin:.2em .3em .2em 0}\
label{display:block;margin:.6em 0 .2em;font-weight:600;font-size:.95em}\
input[type=text],input[type=url],input[type=email],textarea,select{font:inherit;box-sizing:border-box;width:100%;max-width:100%;padding:.4em .5em;border:1px solid #8a97a5;border-radius:4px}\
textarea{min-height:7em}\
button{font:inherit;padding:.45em 1em;border:0;border-radius:4px;background:#0b3c5d;color:#fff;cursor:pointer}\
button.quiet{background:#fff;color:#0b3c5d;border:1px solid #0b3c5d}\
button.danger{background:#a11}\
.notice{background:#e8f1f8;border-left:4px solid #0b3c5d;padding:.6em .9em}\
.error{background:#fbeaea;border-left:4px solid #a11;padding:.6em .9em}\
iframe{width:100%;height:32em;border:1px solid #c9d2db;box-sizing:border-box}\
table{border-collapse:collapse;width:100%;font-size:.9em}\
td,th{border-bottom:1px solid #c9d2db;padding:.3em;text-align:left;vertical-align:top}\
.decide{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}\
@media (prefers-color-scheme:dark){h1,h2{color:#e8eef4;border-color:#e8eef4}.lead{background:#14283a}.meta,.note{color:#b8c2cc}.notice{background:#14283a}.error{background:#3a1414}button.quiet{background:transparent;color:#9cc7ea;border-color:#9cc7ea}}\
</style>";

/// The sign-in form: an address, posted to `action`; `notice` above it.
pub fn sign_in_page(brief: &str, action: &str, notice: Option<&str>) -> String {
    let notice = notice
        .map(|n| format!("<p class=\"notice\">{}</p>", escape(n)))
        .unwrap_or_default();
    format!(
        "<header class=\"desk\"><strong>{brief}</strong> · editor's desk</header>\
         <h1>Sign in to review the next issue</h1>{notice}\
         <form method=\"post\" action=\"{action}\"><label for=\"email\">Your address</label>\
         <input type=\"email\" id=\"email\" name=\"email\" required autocomplete=\"email\">\
         <p><button type=\"submit\">Mail me a sign-in link</button></p></form>\
         <p class=\"note\">Editors of {brief} get a link that works once, for 15 minutes.</p>",
        brief = escape(brief),
        action = escape(action),
    )
}

/// The answer to every sign-in request, editor or not.
pub fn check_inbox_page(brief: &str) -> String {
    format!(
        "<header class=\"desk\"><strong>{}</strong> · editor's desk</header>\
         <h1>Check your inbox</h1><p>If this address belongs to an editor, a sign-in link is \
         on its way. It works once, for 15 minutes.</p>",
        escape(brief)
    )
}

/// The page a mailed sign-in link opens: one button (a GET signs nobody in: mail
/// scanners open links).
pub fn sign_in_button_page(brief: &str, action: &str) -> String {
    format!(
        "<header class=\"desk\"><strong>{}</strong> · editor's desk</header>\
         <h1>Sign in</h1><form method=\"post\" action=\"{}\">\
         <button type=\"submit\" id=\"sign-in\">Sign in to the editor's desk</button></form>",
        escape(brief),
        escape(action)
    )
}

/// A filtered entry as the review page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredStory {
    /// The entry.
    pub entry_id: i64,
    /// Its headline.
    pub title: String,
    /// Why it is filtered.
    pub why: String,
}

/// What the review page needs besides the draft.
#[derive(Debug, Clone)]
pub struct DeskView<'a> {
    /// The brief's name.
    pub brief: &'a str,
    /// The signed-in editor.
    pub editor: &'a str,
    /// The page's own URL (every form posts to it).
    pub action: &'a str,
    /// The CSRF token every form carries.
    pub csrf: &'a str,
    /// The config's sections, in order.
    pub sections: &'a [String],
    /// The slot, as the brief's time zone writes it.
    pub slot: String,
    /// A message from the last action, and whether it is an error.
    pub notice: Option<(String, bool)>,
    /// Filtered entries since the last digest (the list may be cut).
    pub filtered: Vec<FilteredStory>,
    /// How many are filtered in all (the list may be cut).
    pub filtered_count: usize,
    /// Clicks per story, once the digest was sent.
    pub clicks: Option<std::collections::HashMap<i64, i64>>,
}

/// Hidden fields every form of the page carries.
fn hidden(v: &DeskView<'_>, version: i64, action: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"version\" value=\"{version}\">\
         <input type=\"hidden\" name=\"action\" value=\"{action}\">",
        escape(v.csrf)
    )
}

/// A one-button form.
fn button(
    v: &DeskView<'_>,
    version: i64,
    action: &str,
    extra: &str,
    label: &str,
    class: &str,
) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}{extra}\
         <button type=\"submit\" class=\"{class}\" name=\"do\" value=\"{action}\">{}</button></form>",
        escape(v.action),
        hidden(v, version, action),
        escape(label)
    )
}

/// One story with its forms.
fn story_html(
    v: &DeskView<'_>,
    version: i64,
    n: usize,
    s: &Story,
    lead: bool,
    open: bool,
) -> String {
    let entry = format!(
        "<input type=\"hidden\" name=\"entry\" value=\"{}\">",
        s.entry_id
    );
    let summary = s.summary.as_deref().unwrap_or("");
    let date = s.date.format("%-m/%-d");
    let clicks = v
        .clicks
        .as_ref()
        .map(|c| match c.get(&s.entry_id).copied().unwrap_or(0) {
            1 => " · 1 click".to_string(),
            n => format!(" · {n} clicks"),
        })
        .unwrap_or_default();
    let mut html = format!(
        "<article class=\"story{}\" id=\"story-{id}\"><h3>{n}. {}{}</h3><p class=\"summary\">{}</p>\
         <p class=\"meta\">Full Story: <a href=\"{}\">{}</a> ({date}){clicks}</p>\
         <p class=\"note words\">{}</p>",
        if lead { " lead" } else { "" },
        if lead { "LEAD · " } else { "" },
        escape(&s.title),
        escape(summary),
        escape(&s.url),
        escape(&s.source),
        escape(&words_note(s.summary.as_deref())),
        id = s.entry_id,
    );
    if !open {
        html.push_str("</article>");
        return html;
    }
    html.push_str(&button(v, version, "remove", &entry, "Remove", "danger"));
    if !lead {
        html.push_str(&button(v, version, "up", &entry, "Up", "quiet"));
        html.push_str(&button(v, version, "down", &entry, "Down", "quiet"));
        html.push_str(&button(v, version, "lead", &entry, "Make lead", "quiet"));
    }
    let options: String = v
        .sections
        .iter()
        .map(|name| {
            format!(
                "<option{}>{}</option>",
                if *name == s.section { " selected" } else { "" },
                escape(name)
            )
        })
        .collect();
    html.push_str(&format!(
        "<form method=\"post\" action=\"{a}\">{h}{entry}<label for=\"section-{id}\">Section</label>\
         <select id=\"section-{id}\" name=\"section\">{options}</select> \
         <button type=\"submit\" class=\"quiet\">Move</button></form>\
         <form method=\"post\" action=\"{a}\">{t}{entry}\
         <label for=\"title-{id}\">Headline</label>\
         <input type=\"text\" id=\"title-{id}\" name=\"title\" value=\"{title}\">\
         <label for=\"summary-{id}\">Summary (plain text; 35–80 words)</label>\
         <textarea id=\"summary-{id}\" name=\"summary\">{summary}</textarea>\
         <p><button type=\"submit\" id=\"save-{id}\">Save headline and summary</button></p></form></article>",
        a = escape(v.action),
        h = hidden(v, version, "move"),
        t = hidden(v, version, "text"),
        id = s.entry_id,
        title = escape(&s.title),
        summary = escape(summary),
    ));
    html
}

/// The review page: the draft's state, a preview as members see it, each story with its
/// forms, add by URL, announcements, the filtered entries, the test copy, Approve and Skip,
/// and every change recorded.
pub fn desk_page(v: &DeskView<'_>, draft: &Draft, d: &Digest, edits: &[DraftEdit]) -> String {
    let open = draft.sent_digest.is_none() && draft.state != DraftState::Skipped;
    let version = draft.version;
    let state = match (draft.sent_digest, draft.state, &draft.decided) {
        (Some(id), _, _) => format!("Sent as issue #{id}; it changes no more."),
        (None, DraftState::Skipped, Some((who, _))) => {
            format!("Skipped by {who}: nothing goes out at this slot.")
        }
        (None, DraftState::Approved, Some((who, at))) => format!(
            "Approved by {who} ({}): the slot sends it exactly as it stands. A further edit takes the approval back.",
            at.format("%b %-d %H:%M UTC")
        ),
        _ => "Not approved yet.".to_string(),
    };
    let mut html = format!(
        "<header class=\"desk\"><strong>{}</strong> · editor's desk · {}\
         <form class=\"inline\" method=\"post\" action=\"{}\">{}<button class=\"quiet\" type=\"submit\">Sign out</button></form></header>\
         <h1>Next issue: {}</h1><p id=\"state\">{}</p>",
        escape(v.brief),
        escape(v.editor),
        escape(v.action),
        hidden(v, version, "sign-out"),
        escape(&v.slot),
        escape(&state),
    );
    if let Some((msg, error)) = &v.notice {
        html.push_str(&format!(
            "<p id=\"notice\" class=\"{}\">{}</p>",
            if *error { "error" } else { "notice" },
            escape(msg).replace('\n', "<br>")
        ));
    }
    if open {
        html.push_str("<div class=\"decide\">");
        html.push_str(&button(v, version, "approve", "", "Approve", ""));
        html.push_str(&button(v, version, "skip", "", "Skip this issue", "danger"));
        html.push_str(&button(
            v,
            version,
            "test",
            "",
            "Send me a test copy",
            "quiet",
        ));
        html.push_str("</div>");
    }
    html.push_str(&format!(
        "<h2>As members will see it</h2><iframe title=\"The issue as members see it\" src=\"{}/preview\"></iframe>",
        escape(v.action)
    ));
    let mut n = 1;
    html.push_str("<h2>Lead</h2>");
    html.push_str(&story_html(v, version, n, &d.lead, true, open));
    for section in &d.sections {
        html.push_str(&format!("<h2>{}</h2>", escape(&section.name)));
        for s in &section.stories {
            n += 1;
            html.push_str(&story_html(v, version, n, s, false, open));
        }
    }
    if open {
        let options: String = v
            .sections
            .iter()
            .map(|name| format!("<option>{}</option>", escape(name)))
            .collect();
        html.push_str(&format!(
            "<h2>Add a story</h2><form method=\"post\" action=\"{}\">{}\
             <label for=\"add-url\">The story's address</label>\
             <input type=\"url\" id=\"add-url\" name=\"url\" required placeholder=\"https://\">\
             <label for=\"add-section\">Section</label><select id=\"add-section\" name=\"section\">{options}</select>\
             <p><button type=\"submit\" id=\"add\">Fetch and add</button></p></form>",
            escape(v.action),
            hidden(v, version, "add"),
        ));
    }
    if !d.announcements.is_empty() {
        html.push_str("<h2>Announcements in this issue</h2>");
    }
    for (i, a) in d.announcements.iter().enumerate() {
        if !open {
            html.push_str(&format!(
                "<p><strong>{}</strong> {}</p>",
                escape(&a.title),
                escape(&a.body)
            ));
            continue;
        }
        let index = format!("<input type=\"hidden\" name=\"index\" value=\"{i}\">");
        html.push_str(&format!(
            "<form method=\"post\" action=\"{}\">{}{index}\
             <label for=\"ann-title-{i}\">Headline</label><input type=\"text\" id=\"ann-title-{i}\" name=\"title\" value=\"{}\">\
             <label for=\"ann-body-{i}\">Text</label><textarea id=\"ann-body-{i}\" name=\"body\">{}</textarea>\
             <p><button type=\"submit\">Save for this issue</button></p></form>",
            escape(v.action),
            hidden(v, version, "announcement"),
            escape(&a.title),
            escape(&a.body)
        ));
        html.push_str(&button(
            v,
            version,
            "hide",
            &index,
            "Hide in this issue",
            "quiet",
        ));
    }
    html.push_str(&format!(
        "<h2>Filtered</h2><p id=\"filtered\">{} filtered since the last issue.</p>",
        v.filtered_count
    ));
    for FilteredStory {
        entry_id,
        title,
        why,
    } in &v.filtered
    {
        let entry = format!("<input type=\"hidden\" name=\"entry\" value=\"{entry_id}\">");
        html.push_str(&format!(
            "<p>{} <span class=\"note\">({})</span> ",
            escape(title),
            escape(why)
        ));
        if open {
            html.push_str(&button(
                v,
                version,
                "release",
                &entry,
                "Let it through",
                "quiet",
            ));
        }
        html.push_str("</p>");
    }
    html.push_str("<h2>Changes</h2>");
    if edits.is_empty() {
        html.push_str("<p class=\"note\">No change yet: this is the issue as it was built.</p>");
    } else {
        html.push_str("<table id=\"changes\"><tr><th>When</th><th>Who</th><th>What</th><th>Before</th><th>After</th></tr>");
        for e in edits {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.at.format("%b %-d %H:%M UTC"),
                escape(&e.editor),
                escape(&e.action),
                escape(e.before.as_deref().unwrap_or("")),
                escape(e.after.as_deref().unwrap_or(""))
            ));
        }
        html.push_str("</table>");
    }
    html
}

/// What changed since the version an editor saw, for a refused (stale) save.
pub fn stale_notice(changes: &[DraftEdit]) -> String {
    let mut msg = String::from(
        "Not saved: another editor changed this issue since you loaded the page. Their changes:",
    );
    for c in changes {
        msg.push_str(&format!("\n{} — {}", c.editor, c.action));
        if let Some(after) = &c.after {
            msg.push_str(&format!(": {after}"));
        }
    }
    msg.push_str("\nThe page below shows the issue as it is now; make your change again.");
    msg
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
    fn reorders_removals_hidden_announcements_and_releases_record_what_stood_before() {
        let mut d = digest();
        let places = |c: Change| (c.before, c.after);
        let c = apply(&mut d, &Edit::Down(2), &sections()).expect("down");
        assert_eq!(
            places(c),
            (
                Some("place 1 of 2 in A".into()),
                Some("place 2 of 2 in A".into())
            )
        );
        let c = apply(&mut d, &Edit::Up(2), &sections()).expect("up");
        assert_eq!(
            places(c),
            (
                Some("place 2 of 2 in A".into()),
                Some("place 1 of 2 in A".into())
            )
        );
        let c = apply(&mut d, &Edit::Remove(3), &sections()).expect("remove");
        assert_eq!(places(c), (Some("Story 3 <https://ex.org/3>".into()), None));
        let c = apply(&mut d, &Edit::HideAnnouncement(0), &sections()).expect("hide");
        assert_eq!(places(c), (Some("Dues: Lower dues.".into()), None));
        let c = apply(
            &mut d,
            &Edit::Release {
                story: story(9, "C"),
                why: "[brief] exclude has \"crypto\"".into(),
            },
            &sections(),
        )
        .expect("release");
        assert_eq!(c.action, "let a filtered story through into C");
        assert_eq!(
            places(c),
            (
                Some("filtered: [brief] exclude has \"crypto\"".into()),
                Some("Story 9 <https://ex.org/9>".into())
            )
        );
        assert_eq!(ids(&d), [1, 2, 4, 9]);
    }

    #[test]
    fn a_chinese_summary_is_counted_as_the_summarizer_counts_it_not_as_one_word() {
        // 81 characters, 75 of them ideographs, no spaces: 37 words by the summarizer's
        // rule (one per two ideographs), within the target; whitespace alone says one.
        let zh = "市议会周二批准了新的停车计划，将在市中心增加三百个停车位并延长收费时间。官员表示，这项计划将在明年春季开始实施，预计每年为城市带来额外收入，并缓解周末的交通拥堵。";
        assert_eq!(crate::article::word_count(zh), 1 + 75 / 2);
        assert_eq!(words_note(Some(zh)), "38 words (within the 35–80 target)");
        assert_eq!(
            crate::article::word_count("Two words"),
            2,
            "spaced scripts as before"
        );
        assert_eq!(
            crate::article::word_count("東京都 議会"),
            2 + 2,
            "spaced words plus dense halves"
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

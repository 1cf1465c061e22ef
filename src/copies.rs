//! Copies: one digest + many members → each member's rendered copy, rendering the
//! templates and inlining the CSS once per *kind* of member rather than once per member.
//!
//! Rendering a copy (minijinja, then css-inline over ~27 KB of HTML) costs milliseconds;
//! at 10,000 members that dominated delivery. A member's copy differs from another's only
//! in the member's own values (address, name, unsubscribe link) and section choice, so a
//! copy is rendered once with placeholders in place of those values and the values are
//! filled in per member, escaped exactly as the HTML serializer would have written them.
//!
//! The plain-text part is wrapped at 76 columns, and where a line breaks depends on how
//! long the values are. So a placeholder is the value's *shape*: the same whitespace in the
//! same places, every other character replaced by a marker. A copy then wraps exactly as
//! the member's own would, and one rendering serves every member with the same sections and
//! the same value lengths (a handful of renders for thousands of members). The name's shape
//! only counts once a template shows the name (the built-in ones do not).
//!
//! The first copy made is compared with a direct rendering; a template that transforms a
//! member value (`|upper`, `|length`, a test on its content) makes them differ, and then
//! every copy is rendered directly, as before. Pure: no I/O.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono_tz::Tz;

use crate::render::{BriefInfo, Recipient, Rendered, Templates};
use crate::select::Digest;

/// Noncharacters (Unicode reserves U+FDD0–U+FDEF for a program's internal use), one per
/// member value, so they cannot be confused with text from a feed.
const EMAIL_MARK: char = '\u{FDD0}';
const NAME_MARK: char = '\u{FDD1}';
const UNSUBSCRIBE_MARK: char = '\u{FDD2}';

/// Renders the copies of one digest for any number of members.
pub struct Copies {
    digest: Digest,
    brief: BriefInfo,
    tz: Tz,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    shared: HashMap<Key, Rendered>,
    /// A template shows the member's name, so its shape is part of the key.
    name_shown: bool,
    /// `Some(false)`: a filled copy differed from a direct rendering; render directly.
    verified: Option<bool>,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    sections: Vec<String>,
    name: Option<String>,
    email: String,
    unsubscribe: String,
}

/// The placeholder for `value`: its whitespace kept, every other character `mark`.
fn shape(value: &str, mark: char) -> String {
    value
        .chars()
        .map(|c| if c.is_whitespace() { c } else { mark })
        .collect()
}

/// Values the HTML parser would alter (control characters: CR, NUL …) or that hold a
/// marker are rendered directly.
fn fillable(value: &str) -> bool {
    !value
        .chars()
        .any(|c| c.is_control() || ('\u{FDD0}'..='\u{FDEF}').contains(&c))
}

impl Copies {
    /// Copies of `digest` with the brief facts `brief`, dates in `tz`.
    pub fn new(digest: Digest, brief: BriefInfo, tz: Tz) -> Self {
        Self {
            digest,
            brief,
            tz,
            state: Mutex::new(State::default()),
        }
    }

    /// The digest these copies carry.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The brief facts these copies show.
    pub fn brief(&self) -> &BriefInfo {
        &self.brief
    }

    /// `member`'s copy, identical to `templates.render` for the same arguments.
    pub fn render(
        &self,
        templates: &Templates,
        member: &Recipient,
        unsubscribe_url: &str,
    ) -> anyhow::Result<Rendered> {
        let direct =
            || templates.render(&self.digest, &self.brief, member, unsubscribe_url, self.tz);
        let name = member.name.as_deref();
        if !fillable(&member.email) || !fillable(unsubscribe_url) || !name.is_none_or(fillable) {
            return direct();
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.verified == Some(false) {
            drop(state);
            return direct();
        }
        let key = |name_shown: bool| Key {
            sections: member.sections.clone(),
            name: name.map(|n| {
                if name_shown {
                    shape(n, NAME_MARK)
                } else {
                    String::new()
                }
            }),
            email: shape(&member.email, EMAIL_MARK),
            unsubscribe: shape(unsubscribe_url, UNSUBSCRIBE_MARK),
        };
        let mut k = key(state.name_shown);
        if !state.shared.contains_key(&k) {
            let placeholders = Recipient {
                name: name.map(|n| shape(n, NAME_MARK)),
                email: k.email.clone(),
                sections: member.sections.clone(),
            };
            let shared = templates.render(
                &self.digest,
                &self.brief,
                &placeholders,
                &k.unsubscribe,
                self.tz,
            )?;
            if [&shared.subject, &shared.html, &shared.text]
                .iter()
                .any(|s| s.contains(NAME_MARK))
                && !state.name_shown
            {
                state.name_shown = true;
                k = key(true);
            }
            let name_shown = state.name_shown;
            state.shared.insert(key(name_shown), shared);
        }
        let filled = fill(&state.shared[&k], &k, member, unsubscribe_url);
        if state.verified.is_none() {
            let expected = direct()?;
            let same = expected == filled;
            state.verified = Some(same);
            if !same {
                tracing::warn!(
                    "the templates transform a member's values; rendering each copy in full (slower)"
                );
                return Ok(expected);
            }
        }
        Ok(filled)
    }
}

/// The shared copy with `member`'s values in place of the placeholders in `key`.
fn fill(shared: &Rendered, key: &Key, member: &Recipient, unsubscribe_url: &str) -> Rendered {
    let chars = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<Vec<_>>();
    // Indexed by mark: U+FDD0 email, U+FDD1 name, U+FDD2 unsubscribe URL.
    let name = match (&key.name, &member.name) {
        (Some(placeholder), Some(name)) if !placeholder.is_empty() => chars(name),
        _ => Vec::new(),
    };
    let values = [chars(&member.email), name, chars(unsubscribe_url)];
    Rendered {
        subject: fill_marks(&shared.subject, &values, false),
        html: fill_marks(&shared.html, &values, true),
        text: fill_marks(&shared.text, &values, false),
    }
}

/// Replaces each mark with the next non-whitespace character of its value, starting over
/// at each occurrence. The whitespace between stays as rendered, which is what wrapping and
/// whitespace collapsing made of the value's own whitespace. In `html`, a character is
/// escaped as css-inline's serializer escapes it where it stands: `& < >` in text, `& "`
/// in a (double-quoted) attribute value; a no-break space is whitespace, so never a mark.
fn fill_marks(s: &str, values: &[Vec<char>; 3], html: bool) -> String {
    const LEAD: [u8; 2] = [0xEF, 0xB7]; // UTF-8 of U+FDD0..U+FDD2 is EF B7 90..92
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let mut next = [0usize; 3];
    let (mut in_tag, mut in_quote) = (false, false);
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'<' if html && !in_tag => in_tag = true,
            b'"' if html && in_tag => in_quote = !in_quote,
            b'>' if html && in_tag && !in_quote => in_tag = false,
            0xEF if bytes[i + 1..].starts_with(&LEAD[1..])
                && matches!(bytes.get(i + 2), Some(0x90..=0x92)) =>
            {
                let which = usize::from(bytes[i + 2] - 0x90);
                let value = &values[which];
                if !value.is_empty() {
                    out.push_str(&s[copied..i]);
                    let v = value[next[which] % value.len()];
                    next[which] += 1;
                    match v {
                        '&' if html => out.push_str("&amp;"),
                        '"' if html && in_tag => out.push_str("&quot;"),
                        '<' if html && !in_tag => out.push_str("&lt;"),
                        '>' if html && !in_tag => out.push_str("&gt;"),
                        v => out.push(v),
                    }
                    i += 3;
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::{DigestAnnouncement, SectionStories, Story};

    fn story(id: i64, section: &str) -> Story {
        Story {
            entry_id: id,
            title: format!("Headline {id} & <friends> \"quoted\""),
            url: format!("https://example.org/story/{id}?a=1&b=2"),
            summary: Some("A first sentence of a summary. A second one that ends it.".into()),
            source: "Example Blog".into(),
            date: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            section: section.into(),
            access_note: None,
        }
    }

    fn digest() -> Digest {
        Digest {
            created_at: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            lead: story(1, "One"),
            sections: vec![
                SectionStories {
                    name: "One".into(),
                    stories: vec![story(2, "One"), story(3, "One")],
                },
                SectionStories {
                    name: "Two".into(),
                    stories: vec![story(4, "Two")],
                },
            ],
            announcements: vec![DigestAnnouncement {
                title: "Announcement".into(),
                body: "Body.".into(),
                link: "https://example.org/a".into(),
                cta: "LEARN MORE".into(),
                image: None,
                image_alt: None,
                after_section: "Two".into(),
            }],
            sponsors: Vec::new(),
        }
    }

    fn brief() -> BriefInfo {
        crate::render::sample_brief()
    }

    fn member(name: Option<&str>, email: &str, sections: &[&str]) -> Recipient {
        Recipient {
            name: name.map(str::to_string),
            email: email.into(),
            sections: sections.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn members() -> Vec<(Recipient, String)> {
        vec![
            (
                member(Some("Ann Lee"), "ann@example.org", &[]),
                "https://example.org/unsubscribe/1.ab&c".into(),
            ),
            (
                member(None, "bo.o'brien+x@example.org", &["Two"]),
                "https://example.org/unsubscribe/22.\"q\"".into(),
            ),
            (
                member(
                    Some("Zoë  \u{a0}& <Co>"),
                    "a-much-longer-address-than-the-others@sub.example.org",
                    &["One"],
                ),
                "https://example.org/unsubscribe/333.x".into(),
            ),
            (
                member(Some("Ann Lee"), "ann@example.org", &[]),
                "mailto:brief@example.org?subject=unsubscribe".into(),
            ),
            (
                member(Some("Cr\rlf"), "c@example.org", &[]),
                "https://example.org/u/4".into(),
            ),
        ]
    }

    fn templates_with(dir: &std::path::Path, html_extra: &str) -> Templates {
        let builtin = include_str!("../templates/digest.html");
        let html = builtin.replace("</body>", &format!("{html_extra}</body>"));
        std::fs::write(dir.join("digest.html"), html).expect("write template");
        Templates::load(dir).expect("templates load")
    }

    /// Every member's filled copy is exactly what rendering for that member gives.
    fn assert_copies_equal_direct_renderings(templates: &Templates) {
        let copies = Copies::new(digest(), brief(), Tz::UTC);
        for (m, unsub) in members() {
            let direct = templates
                .render(&digest(), &brief(), &m, &unsub, Tz::UTC)
                .expect("direct");
            assert_eq!(
                copies.render(templates, &m, &unsub).expect("copy"),
                direct,
                "{m:?}"
            );
        }
    }

    #[test]
    fn filled_copies_equal_direct_renderings() {
        let templates = Templates::load(std::path::Path::new("/nonexistent")).expect("builtin");
        assert_copies_equal_direct_renderings(&templates);
    }

    #[test]
    fn a_template_showing_the_name_in_text_and_attributes_still_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = templates_with(
            dir.path(),
            r#"<p title="{{ member.name }}">Hello {{ member.name or "reader" }}, {{ member.email }}</p>"#,
        );
        assert_copies_equal_direct_renderings(&templates);
    }

    #[test]
    fn a_template_transforming_a_value_falls_back_to_direct_rendering() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = templates_with(dir.path(), "<p>{{ member.email|upper }}</p>");
        assert_copies_equal_direct_renderings(&templates);
    }

    #[test]
    fn members_with_the_same_shape_share_one_rendering() {
        let templates = Templates::load(std::path::Path::new("/nonexistent")).expect("builtin");
        let copies = Copies::new(digest(), brief(), Tz::UTC);
        for i in 0..50 {
            let m = member(Some("X"), &format!("m{:02}@example.org", i), &[]);
            copies
                .render(&templates, &m, &format!("https://example.org/u/{:02}", i))
                .expect("copy");
        }
        let state = copies.state.lock().expect("lock");
        assert_eq!(state.shared.len(), 1);
        assert_eq!(state.verified, Some(true));
    }
}

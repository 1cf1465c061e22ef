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
//! The first copy of each kind is compared with a direct rendering; a template that
//! transforms a member value (`|upper`, `|length`, a test on its content) makes them
//! differ, and then every copy is rendered directly, as before.
//!
//! For delivery ([`Copies::copy`]) the shared copy's MIME body is encoded once too, with a
//! hole where each mark stood ([`crate::mail::mime::BodyTemplate`]); a member's copy is that
//! body with the member's characters, escaped as above, encoded into the holes. Pure: no I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono_tz::Tz;

use crate::mail::mime::{BodyTemplate, MimeBody, Piece};

use crate::mail::render::{BriefInfo, Recipient, Rendered, Templates};
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
    shared: HashMap<Key, Arc<Shared>>,
    /// A template shows the member's name, so its shape is part of the key.
    name_shown: bool,
    /// `Some(false)`: a filled copy differed from a direct rendering; render directly.
    verified: Option<bool>,
}

/// The copy of one kind of member, with placeholders.
struct Shared {
    rendered: Rendered,
    /// Each value's length in characters (its non-whitespace ones), the same for every
    /// member of this kind: email, name (0 when no template shows it), unsubscribe URL.
    lens: [usize; 3],
    /// The MIME body with holes for the values, built at first use; `None` inside when
    /// the parts need base64.
    body: OnceLock<Option<Encoded>>,
}

/// A shared copy's MIME body and what fills each of its holes.
struct Encoded {
    template: BodyTemplate,
    holes: Vec<Hole>,
}

/// The character of a member value that replaces one mark, and how it is escaped there.
struct Hole {
    /// 0 email, 1 name, 2 unsubscribe URL.
    which: usize,
    /// Which character of the value.
    index: usize,
    html: bool,
    in_tag: bool,
}

/// A member's copy, ready to be composed into a message.
#[derive(Debug)]
pub enum MemberCopy {
    /// The subject, and the MIME body members of this kind share with this member's values.
    Encoded {
        /// The subject line.
        subject: String,
        /// The multipart/alternative body.
        body: MimeBody,
    },
    /// The copy rendered for this member alone: a template transforms member values, or
    /// the parts need base64.
    Rendered(Rendered),
}

/// Where a member's copy comes from.
enum Lookup {
    Direct(Rendered),
    Shared {
        shared: Arc<Shared>,
        values: [Vec<char>; 3],
    },
}

#[derive(Clone, Hash, PartialEq, Eq)]
struct Key {
    sections: Vec<String>,
    name: Option<String>,
    email: String,
    unsubscribe: String,
}

/// The unsubscribe URL's place-holder: what precedes its last `/` (the base URL and
/// `unsubscribe/`, the same for every member) kept as it is, the member's token shaped.
/// Keeping the path lets a template (and [`Templates::render`]'s preferences link) build
/// other URLs from it that a fill completes with the same token.
fn shape_link(url: &str) -> String {
    let (path, token) = split_link(url);
    format!("{path}{}", shape(token, UNSUBSCRIBE_MARK))
}

/// An unsubscribe URL as (everything up to and including its last `/`, the token).
fn split_link(url: &str) -> (&str, &str) {
    url.split_at(url.rfind('/').map_or(0, |i| i + 1))
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
        Ok(match self.lookup(templates, member, unsubscribe_url)? {
            Lookup::Direct(rendered) => rendered,
            Lookup::Shared { shared, values } => fill(&shared.rendered, &values),
        })
    }

    /// `member`'s copy for delivery: the same content as [`Copies::render`], with the MIME
    /// body encoded once per kind of member and only the member's values encoded per copy.
    pub fn copy(
        &self,
        templates: &Templates,
        member: &Recipient,
        unsubscribe_url: &str,
    ) -> anyhow::Result<MemberCopy> {
        let (shared, values) = match self.lookup(templates, member, unsubscribe_url)? {
            Lookup::Direct(rendered) => return Ok(MemberCopy::Rendered(rendered)),
            Lookup::Shared { shared, values } => (shared, values),
        };
        let Some(encoded) = shared
            .body
            .get_or_init(|| encode(&shared.rendered, shared.lens))
        else {
            return Ok(MemberCopy::Rendered(fill(&shared.rendered, &values)));
        };
        let body = encoded.template.fill(|hole, out| {
            let h = &encoded.holes[hole];
            // Members of one kind have values of the same length (the key holds their shape).
            debug_assert!(
                h.index < values[h.which].len(),
                "a value shorter than its kind's"
            );
            if let Some(&c) = values[h.which].get(h.index) {
                push_escaped(out, c, h.html, h.in_tag);
            }
        });
        Ok(MemberCopy::Encoded {
            subject: fill_marks(&shared.rendered.subject, &values, false),
            body,
        })
    }

    fn lookup(
        &self,
        templates: &Templates,
        member: &Recipient,
        unsubscribe_url: &str,
    ) -> anyhow::Result<Lookup> {
        let direct =
            || templates.render(&self.digest, &self.brief, member, unsubscribe_url, self.tz);
        // Links that name the member (`track = "member"`) differ in every copy.
        if self.brief.clicks.as_ref().is_some_and(|c| c.per_member) {
            return direct().map(Lookup::Direct);
        }
        let name = member.name.as_deref();
        if !fillable(&member.email) || !fillable(unsubscribe_url) || !name.is_none_or(fillable) {
            return direct().map(Lookup::Direct);
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.verified == Some(false) {
            drop(state);
            return direct().map(Lookup::Direct);
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
            unsubscribe: shape_link(unsubscribe_url),
        };
        let name_shown = state.name_shown;
        let k = key(name_shown);
        if let Some(shared) = state.shared.get(&k) {
            let shared = Arc::clone(shared);
            drop(state);
            let values = values(&k, member, unsubscribe_url);
            return Ok(Lookup::Shared { shared, values });
        }
        // A new kind of member: rendered and checked outside the lock (milliseconds of
        // templates and CSS inlining), so the other copies go on meanwhile.
        drop(state);
        let placeholders = Recipient {
            name: name.map(|n| shape(n, NAME_MARK)),
            email: k.email.clone(),
            sections: member.sections.clone(),
            id: member.id,
        };
        let rendered = templates.render(
            &self.digest,
            &self.brief,
            &placeholders,
            &k.unsubscribe,
            self.tz,
        )?;
        let shows_name = [&rendered.subject, &rendered.html, &rendered.text]
            .iter()
            .any(|s| s.contains(NAME_MARK));
        let k = key(name_shown || shows_name);
        let count = |v: &str| v.chars().filter(|c| !c.is_whitespace()).count();
        let lens = [
            count(&k.email),
            k.name.as_deref().map_or(0, count),
            k.unsubscribe
                .chars()
                .filter(|&c| c == UNSUBSCRIBE_MARK)
                .count(),
        ];
        let shared = Shared {
            rendered,
            lens,
            body: OnceLock::new(),
        };
        // Each kind's first copy is compared with a direct rendering: a template may
        // branch on a member's values (their sections, the length of their name), so one
        // kind rendering right says nothing of the next.
        let values = values(&k, member, unsubscribe_url);
        let expected = direct()?;
        let same = expected == fill(&shared.rendered, &values);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.name_shown |= shows_name;
        if !same || state.verified == Some(false) {
            if !same {
                state.verified = Some(false);
                tracing::warn!(
                    "the templates transform a member's values; rendering each copy in full (slower)"
                );
            }
            return Ok(Lookup::Direct(expected));
        }
        state.verified = Some(true);
        // Another thread may have made the same kind meanwhile: one copy is kept.
        let shared = Arc::clone(state.shared.entry(k).or_insert_with(|| Arc::new(shared)));
        drop(state);
        Ok(Lookup::Shared { shared, values })
    }
}

/// `member`'s values, as the characters that replace the marks (whitespace is kept as
/// rendered), indexed by mark: U+FDD0 email, U+FDD1 name, U+FDD2 unsubscribe URL.
fn values(key: &Key, member: &Recipient, unsubscribe_url: &str) -> [Vec<char>; 3] {
    let chars = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<Vec<_>>();
    let name = match (&key.name, &member.name) {
        (Some(placeholder), Some(name)) if !placeholder.is_empty() => chars(name),
        _ => Vec::new(),
    };
    [
        chars(&member.email),
        name,
        chars(split_link(unsubscribe_url).1),
    ]
}

/// The shared copy with a member's `values` in place of the placeholders.
fn fill(shared: &Rendered, values: &[Vec<char>; 3]) -> Rendered {
    Rendered {
        subject: fill_marks(&shared.subject, values, false),
        html: fill_marks(&shared.html, values, true),
        text: fill_marks(&shared.text, values, false),
    }
}

/// Replaces each mark with the next non-whitespace character of its value, starting over
/// at each occurrence. The whitespace between stays as rendered, which is what wrapping and
/// whitespace collapsing made of the value's own whitespace. In `html`, a character is
/// escaped as css-inline's serializer escapes it where it stands ([`push_escaped`]).
fn fill_marks(s: &str, values: &[Vec<char>; 3], html: bool) -> String {
    let lens = values.each_ref().map(Vec::len);
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for piece in marks(s, html, lens) {
        match piece {
            Marked::Text(t) => out.push_str(t),
            Marked::Mark {
                which,
                index,
                in_tag,
            } => push_escaped(&mut out, values[which][index], html, in_tag),
        }
    }
    out
}

/// The shared copy's MIME body, with a hole per mark; `None` when the parts need base64.
fn encode(shared: &Rendered, lens: [usize; 3]) -> Option<Encoded> {
    let mut holes = Vec::new();
    let text = pieces(&shared.text, false, lens, &mut holes);
    let html = pieces(&shared.html, true, lens, &mut holes);
    let template = BodyTemplate::new(&text, &html)?;
    Some(Encoded { template, holes })
}

/// `s` as pieces of a MIME part, a hole for each mark (described in `holes`).
fn pieces<'a>(s: &'a str, html: bool, lens: [usize; 3], holes: &mut Vec<Hole>) -> Vec<Piece<'a>> {
    marks(s, html, lens)
        .map(|m| match m {
            Marked::Text(t) => Piece::Text(t),
            Marked::Mark {
                which,
                index,
                in_tag,
            } => {
                holes.push(Hole {
                    which,
                    index,
                    html,
                    in_tag,
                });
                Piece::Hole(holes.len() - 1)
            }
        })
        .collect()
}

/// `value` as css-inline's serializer writes it where it stands: `& < >` escaped in
/// text, `& "` in a (double-quoted) attribute value; unchanged outside HTML.
fn push_escaped(out: &mut String, value: char, html: bool, in_tag: bool) {
    match value {
        '&' if html => out.push_str("&amp;"),
        '"' if html && in_tag => out.push_str("&quot;"),
        '<' if html && !in_tag => out.push_str("&lt;"),
        '>' if html && !in_tag => out.push_str("&gt;"),
        v => out.push(v),
    }
}

/// A run of rendered text, or a mark and the value character that replaces it.
enum Marked<'a> {
    Text(&'a str),
    Mark {
        which: usize,
        index: usize,
        in_tag: bool,
    },
}

/// Splits `s` at its marks. A mark whose value is empty (`lens` 0) stays text. The `n`th
/// mark of a value takes character `n % len`: each occurrence of the value starts over.
/// In `html`, tags and double-quoted attribute values are tracked to tell where a mark
/// stands (a no-break space is whitespace, so never a mark).
fn marks(s: &str, html: bool, lens: [usize; 3]) -> impl Iterator<Item = Marked<'_>> {
    const LEAD: [u8; 2] = [0xEF, 0xB7]; // UTF-8 of U+FDD0..U+FDD2 is EF B7 90..92
    let bytes = s.as_bytes();
    let mut next = [0usize; 3];
    let (mut in_tag, mut in_quote) = (false, false);
    let (mut i, mut copied) = (0, 0);
    let mut pending = None;
    std::iter::from_fn(move || {
        if let Some(mark) = pending.take() {
            return Some(mark);
        }
        while i < bytes.len() {
            match bytes[i] {
                b'<' if html && !in_tag => in_tag = true,
                b'"' if html && in_tag => in_quote = !in_quote,
                b'>' if html && in_tag && !in_quote => in_tag = false,
                0xEF if bytes[i + 1..].starts_with(&LEAD[1..])
                    && matches!(bytes.get(i + 2), Some(0x90..=0x92)) =>
                {
                    let which = usize::from(bytes[i + 2] - 0x90);
                    if lens[which] > 0 {
                        let mark = Marked::Mark {
                            which,
                            index: next[which] % lens[which],
                            in_tag,
                        };
                        next[which] += 1;
                        let text = &s[copied..i];
                        i += 3;
                        copied = i;
                        if text.is_empty() {
                            return Some(mark);
                        }
                        pending = Some(mark);
                        return Some(Marked::Text(text));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if copied < bytes.len() {
            let text = &s[copied..];
            copied = bytes.len();
            return Some(Marked::Text(text));
        }
        None
    })
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
            image: None,
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
            high_water: 0,
            most_read: Vec::new(),
        }
    }

    fn brief() -> BriefInfo {
        crate::mail::render::sample_brief()
    }

    fn member(name: Option<&str>, email: &str, sections: &[&str]) -> Recipient {
        Recipient {
            name: name.map(str::to_string),
            email: email.into(),
            sections: sections.iter().map(|s| s.to_string()).collect(),
            id: None,
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
        let builtin = include_str!("../../templates/digest.html");
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

    /// Every member's delivery copy decodes to exactly what rendering for that member gives.
    fn assert_encoded_copies_decode_to_direct_renderings(
        templates: &Templates,
        members: &[(Recipient, String)],
    ) -> usize {
        let copies = Copies::new(digest(), brief(), Tz::UTC);
        let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
        let mut encoded = 0;
        for (m, unsub) in members {
            let direct = templates
                .render(&digest(), &brief(), m, unsub, Tz::UTC)
                .expect("direct");
            match copies.copy(templates, m, unsub).expect("copy") {
                MemberCopy::Encoded { subject, body } => {
                    encoded += 1;
                    assert_eq!(subject, direct.subject, "{m:?}");
                    let parts = crate::mail::mime::tests::decode_body(&body);
                    assert_eq!(parts.len(), 2);
                    assert_eq!(parts[0].1, crlf(&direct.text), "{m:?}");
                    assert_eq!(parts[1].1, crlf(&direct.html), "{m:?}");
                }
                MemberCopy::Rendered(rendered) => assert_eq!(rendered, direct, "{m:?}"),
            }
        }
        encoded
    }

    #[test]
    fn encoded_copies_decode_to_direct_renderings() {
        let templates = Templates::load(std::path::Path::new("/nonexistent")).expect("builtin");
        // "Cr\rlf" is rendered directly; every other member's copy is encoded.
        assert_eq!(
            assert_encoded_copies_decode_to_direct_renderings(&templates, &members()),
            members().len() - 1
        );
    }

    #[test]
    fn members_of_one_kind_each_get_their_own_values_in_the_encoded_body() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = templates_with(
            dir.path(),
            r#"<p title="{{ member.name }}">Hello {{ member.name or "reader" }}, {{ member.email }}</p>"#,
        );
        // Same shapes (one kind), values that differ in every character, and ones that
        // encode to different lengths (`=`, `&`, `.` at a line start, non-ASCII).
        let members: Vec<(Recipient, String)> = [
            ("Ann Lee", "ann@example.org", "https://example.org/u/aaaa"),
            ("Bob Kay", "bob@example.net", "https://example.org/u/bbbb"),
            ("Zoë Ro&", "z=o@example.com", "https://example.org/u/==.&"),
            ("Cy. D.<", "...@example.edu", "https://example.org/u/.é\"<"),
        ]
        .iter()
        .cycle()
        .take(12)
        .map(|(n, e, u)| (member(Some(n), e, &[]), u.to_string()))
        .collect();
        assert_eq!(
            assert_encoded_copies_decode_to_direct_renderings(&templates, &members),
            members.len()
        );
    }

    #[test]
    fn a_template_transforming_a_value_is_delivered_as_rendered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = templates_with(dir.path(), "<p>{{ member.email|upper }}</p>");
        assert_eq!(
            assert_encoded_copies_decode_to_direct_renderings(&templates, &members()),
            0
        );
    }

    #[test]
    fn a_template_transforming_the_values_of_one_kind_only_is_caught_on_that_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The first member (no sections) renders the same either way; the second, of
        // another kind (sections chosen), does not.
        let templates = templates_with(
            dir.path(),
            "{% if member.sections %}<p>{{ member.email|upper }}</p>{% endif %}",
        );
        assert_copies_equal_direct_renderings(&templates);
        assert_eq!(
            assert_encoded_copies_decode_to_direct_renderings(&templates, &members()),
            1,
            "only the first kind's copy is shared"
        );
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
    fn each_copy_links_the_preference_centre_with_its_members_own_token() {
        let templates = Templates::load(std::path::Path::new("/nonexistent")).expect("builtin");
        let copies = Copies::new(digest(), brief(), Tz::UTC);
        for token in ["1.aaaa", "2.bbbb", "3.c&d<"] {
            let m = member(None, "ann@example.org", &[]);
            let unsub = format!("https://example.org/unsubscribe/{token}");
            let r = copies.render(&templates, &m, &unsub).expect("copy");
            let prefs = format!("https://example.org/preferences/{token}");
            assert!(r.text.contains(&prefs), "{}", r.text);
            assert!(r.html.contains(&prefs.replace('&', "&amp;")), "{token}");
        }
        // One shared rendering served all three: the links did not force direct renders.
        let state = copies.state.lock().expect("lock");
        assert_eq!(state.shared.len(), 1);
        assert_eq!(state.verified, Some(true));
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

//! Render: a [`Digest`] plus one member → subject, HTML (CSS inlined) and plain text.
//!
//! Templates are minijinja files (`subject.txt`, `digest.html`, `digest.txt`); the
//! built-in ones are compiled into the binary and any file of the same name in
//! `[brief] templates` overrides them. They are loaded and test-rendered at startup so a
//! broken template stops the program before anything is fetched. HTML autoescapes all feed
//! text. Pure: the caller supplies the member, links and time zone.

use std::path::Path;

use anyhow::Context;
use chrono_tz::Tz;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::select::{Digest, Story};

/// Template names and their built-in text.
const BUILTIN: &[(&str, &str)] = &[
    ("subject.txt", include_str!("../../templates/subject.txt")),
    ("digest.html", include_str!("../../templates/digest.html")),
    ("digest.txt", include_str!("../../templates/digest.txt")),
];

/// Width of the plain-text part (RFC 3676 suggests under 78).
pub const TEXT_WIDTH: usize = 76;

/// The loaded, checked templates.
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from, for `check`.
    pub sources: Vec<(String, String)>,
}

/// One rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// HTML part, CSS inlined.
    pub html: String,
    /// Plain-text part, wrapped.
    pub text: String,
}

/// Per-brief facts the templates show.
#[derive(Debug, Clone, Serialize)]
pub struct BriefInfo {
    /// Brief name.
    pub name: String,
    /// Tagline.
    pub tagline: Option<String>,
    /// "Friday, November 27, 2026".
    pub date_long: String,
    /// "11/27/2026".
    pub date_short: String,
    /// This issue in the web archive.
    pub web_url: Option<String>,
    /// The web archive.
    pub archive_url: Option<String>,
    /// The public base URL.
    pub base_url: Option<String>,
    /// Footer postal address.
    pub postal_address: Option<String>,
    /// `lang` attribute.
    pub lang: String,
    /// Sender address.
    pub from_address: String,
    /// Share links under each story (`[brief] share`).
    pub share: bool,
    /// Which stories show their picture (`[brief] images`).
    #[serde(skip)]
    pub images: crate::config::Images,
    /// Where story links go when clicks are counted (`[brief] track`); `None`: straight
    /// to the article.
    #[serde(skip)]
    pub clicks: Option<ClickLinks>,
}

/// Tracked story links: `{prefix}{story}/{signature}`, through the counting redirect.
#[derive(Debug, Clone)]
pub struct ClickLinks {
    /// `base_url/r/{digest}/`.
    pub prefix: String,
    /// The digest the links belong to.
    pub digest_id: i64,
    /// The secret that signs them.
    pub secret: crate::token::Secret,
    /// Each member's links name the member (`track = "member"`).
    pub per_member: bool,
}

impl ClickLinks {
    /// The tracked link to `story` for `member` (named only when `per_member`).
    pub fn url(&self, story: i64, member: Option<i64>) -> String {
        let member = member.filter(|_| self.per_member);
        format!(
            "{}{story}/{}",
            self.prefix,
            self.secret.click_sig(self.digest_id, story, member)
        )
    }
}

/// The member a copy is rendered for.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    /// Display name.
    pub name: Option<String>,
    /// Address.
    pub email: String,
    /// Sections chosen (empty: all).
    pub sections: Vec<String>,
    /// The member's id, which tracked links name with `[brief] track = "member"`.
    #[serde(skip)]
    pub id: Option<i64>,
}

#[derive(Serialize)]
struct StoryCtx<'a> {
    title: &'a str,
    url: &'a str,
    /// Where the headline and "Full Story" link: the article.
    link: String,
    /// The share links, when `[brief] share` is on.
    share: Option<ShareCtx>,
    summary: Option<&'a str>,
    source: &'a str,
    date_md: String,
    access_note: Option<&'a str>,
    section: &'a str,
    /// The picture, when `[brief] images` shows this story's.
    image: Option<ImageCtx<'a>>,
}

/// Widest lead picture: the 600 px message less its 24 px padding each side.
pub const LEAD_IMAGE_MAX: (u32, u32) = (552, 414);
/// Largest picture beside another story (`images = "all"`), floated right.
pub const STORY_IMAGE_MAX: (u32, u32) = (150, 150);

/// A picture as the template writes it: the source's URL (never fetched or proxied by
/// us), the size it is shown at, and the headline as alt text.
#[derive(Serialize)]
struct ImageCtx<'a> {
    src: &'a str,
    width: u32,
    /// Known only when the source gave both sides; else the client keeps the ratio.
    height: Option<u32>,
    alt: std::borrow::Cow<'a, str>,
}

impl<'a> ImageCtx<'a> {
    /// `image` fitted inside `max` (width, height), never enlarged.
    fn new(image: &'a crate::parse::Image, alt: &'a str, max: (u32, u32)) -> Self {
        // The CSS inliner writes attribute values back escaping only `&` and `"`: angle
        // brackets in a headline would reach the mail raw inside `alt`, harmless to a
        // browser but not to every mail filter; they are shown as single guillemets.
        let alt = if alt.contains(['<', '>']) {
            std::borrow::Cow::Owned(alt.replace('<', "\u{2039}").replace('>', "\u{203a}"))
        } else {
            std::borrow::Cow::Borrowed(alt)
        };
        let (width, height) = match (image.width, image.height) {
            (Some(w), Some(h)) => {
                let scale = (f64::from(max.0) / f64::from(w))
                    .min(f64::from(max.1) / f64::from(h))
                    .min(1.0);
                let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
                (side(w), Some(side(h)))
            }
            (Some(w), None) => (w.min(max.0), None),
            _ => (max.0, None),
        };
        Self {
            src: &image.url,
            width,
            height,
            alt,
        }
    }
}

/// A story's share links: each service's share page for the article, and a `mailto:`.
#[derive(Serialize)]
struct ShareCtx {
    linkedin: String,
    x: String,
    facebook: String,
    email: String,
}

impl ShareCtx {
    fn new(title: &str, url: &str) -> Self {
        // Percent-encoded, a space as %20 (a `+` in a mailto: stays a plus sign, RFC 6068).
        let enc = |v: &str| {
            url::form_urlencoded::byte_serialize(v.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        let (u, t) = (enc(url), enc(title));
        Self {
            linkedin: format!("https://www.linkedin.com/sharing/share-offsite/?url={u}"),
            x: format!("https://x.com/intent/tweet?url={u}&text={t}"),
            facebook: format!("https://www.facebook.com/sharer/sharer.php?u={u}"),
            email: format!("mailto:?subject={t}&body={t}%0A{u}"),
        }
    }
}

#[derive(Serialize)]
struct AnnouncementCtx<'a> {
    title: &'a str,
    body: &'a str,
    link: &'a str,
    cta: &'a str,
    image: Option<&'a str>,
    image_alt: Option<&'a str>,
}

#[derive(Serialize)]
struct SectionCtx<'a> {
    name: &'a str,
    stories: Vec<StoryCtx<'a>>,
    announcements: Vec<AnnouncementCtx<'a>>,
}

#[derive(Serialize)]
struct DigestCtx<'a> {
    brief: &'a BriefInfo,
    preheader: String,
    lead: StoryCtx<'a>,
    sections: Vec<SectionCtx<'a>>,
    sponsors: Vec<AnnouncementCtx<'a>>,
    member: &'a Recipient,
    unsubscribe_url: &'a str,
    /// The member's preference centre: the unsubscribe URL's `/unsubscribe/{token}` as
    /// `/preferences/{token}` (the same token); none for a `mailto:` or the web edition.
    preferences_url: Option<String>,
    story_count: usize,
    /// "Most read last week", most clicked first (empty: no block).
    most_read: &'a [crate::select::MostRead],
}

/// The preference centre beside an unsubscribe URL: `…/unsubscribe/{token}` →
/// `…/preferences/{token}`; `None` when the URL is not one (a `mailto:`, the archive).
pub fn preferences_url(unsubscribe_url: &str) -> Option<String> {
    let at = unsubscribe_url.rfind("/unsubscribe/")?;
    let token = &unsubscribe_url[at + "/unsubscribe/".len()..];
    (!token.is_empty() && !token.contains('/'))
        .then(|| format!("{}/preferences/{token}", &unsubscribe_url[..at]))
}

impl Templates {
    /// Loads the built-in templates, overridden by files in `dir` when it exists, and
    /// test-renders them with a sample digest.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let mut sources = Vec::new();
        for (name, builtin) in BUILTIN {
            let path = dir.join(name);
            let (text, source) = match std::fs::read_to_string(&path) {
                Ok(t) => (t, path.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    ((*builtin).to_string(), "built-in".to_string())
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot read template {}: {e}",
                        path.display()
                    ));
                }
            };
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| template_error(&source, name, &e))?;
            sources.push((name.to_string(), source));
        }
        let templates = Self { env, sources };
        templates
            .render(
                &sample_digest(),
                &sample_brief(),
                &sample_recipient(),
                "https://example.org/unsubscribe/sample",
                Tz::UTC,
            )
            .context("rendering a sample digest to check the templates")?;
        Ok(templates)
    }

    /// Renders one member's copy of `digest`.
    pub fn render(
        &self,
        digest: &Digest,
        brief: &BriefInfo,
        member: &Recipient,
        unsubscribe_url: &str,
        tz: Tz,
    ) -> anyhow::Result<Rendered> {
        let story = |s| story_ctx(s, tz, brief, member.id, false);
        // A member who chose sections sees those (the lead always); announcements placed
        // after a hidden section move to the last shown one so none is lost.
        let shown: Vec<&crate::select::SectionStories> = digest
            .sections
            .iter()
            .filter(|s| member.sections.is_empty() || member.sections.contains(&s.name))
            .collect();
        let mut sections: Vec<SectionCtx<'_>> = shown
            .iter()
            .map(|s| SectionCtx {
                name: &s.name,
                stories: s.stories.iter().map(story).collect(),
                announcements: Vec::new(),
            })
            .collect();
        let mut orphans = Vec::new();
        for a in &digest.announcements {
            match sections.iter_mut().find(|s| s.name == a.after_section) {
                Some(s) => s.announcements.push(announcement_ctx(a)),
                None => orphans.push(announcement_ctx(a)),
            }
        }
        let preheader = digest
            .stories()
            .filter(|s| {
                s.entry_id == digest.lead.entry_id
                    || member.sections.is_empty()
                    || member.sections.contains(&s.section)
            })
            .take(3)
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        let story_count = 1 + sections.iter().map(|s| s.stories.len()).sum::<usize>();
        match sections.last_mut() {
            Some(last) => last.announcements.extend(orphans),
            None => {
                sections.push(SectionCtx {
                    name: "",
                    stories: Vec::new(),
                    announcements: orphans,
                });
            }
        }
        sections.retain(|s| !s.stories.is_empty() || !s.announcements.is_empty());
        let ctx = DigestCtx {
            brief,
            preheader,
            lead: story_ctx(&digest.lead, tz, brief, member.id, true),
            sections,
            sponsors: digest.sponsors.iter().map(announcement_ctx).collect(),
            member,
            unsubscribe_url,
            preferences_url: preferences_url(unsubscribe_url),
            story_count,
            most_read: &digest.most_read,
        };
        let ctx = minijinja::Value::from(minijinja::value::Serde(&ctx));
        let render = |name: &str| -> anyhow::Result<String> {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .with_context(|| format!("template {name}"))
        };
        let subject = render("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let html = inline_css(&render("digest.html")?)?;
        let text = wrap_text(&render("digest.txt")?, TEXT_WIDTH);
        Ok(Rendered {
            subject,
            html,
            text,
        })
    }
}

/// A story as the templates see it; its link tracked per `brief.clicks`, naming
/// `member` when the links are per member; its picture per `brief.images`.
fn story_ctx<'a>(
    s: &'a Story,
    tz: Tz,
    brief: &BriefInfo,
    member: Option<i64>,
    lead: bool,
) -> StoryCtx<'a> {
    let link = brief.clicks.as_ref().map(|c| c.url(s.entry_id, member));
    let share = brief.share;
    let image = match (brief.images, lead) {
        (crate::config::Images::None, _) | (crate::config::Images::Lead, false) => None,
        (_, true) => s
            .image
            .as_ref()
            .map(|i| ImageCtx::new(i, &s.title, LEAD_IMAGE_MAX)),
        (crate::config::Images::All, false) => s
            .image
            .as_ref()
            .map(|i| ImageCtx::new(i, &s.title, STORY_IMAGE_MAX)),
    };
    StoryCtx {
        title: &s.title,
        url: &s.url,
        link: link.unwrap_or_else(|| s.url.clone()),
        share: share.then(|| ShareCtx::new(&s.title, &s.url)),
        summary: s.summary.as_deref(),
        source: &s.source,
        date_md: s.date.with_timezone(&tz).format("%-m/%-d").to_string(),
        access_note: s.access_note.as_deref(),
        section: &s.section,
        image,
    }
}

fn announcement_ctx(a: &crate::select::DigestAnnouncement) -> AnnouncementCtx<'_> {
    AnnouncementCtx {
        title: &a.title,
        body: &a.body,
        link: &a.link,
        cta: &a.cta,
        image: a.image.as_deref(),
        image_alt: a.image_alt.as_deref(),
    }
}

fn template_error(source: &str, name: &str, e: &minijinja::Error) -> anyhow::Error {
    let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
    anyhow::anyhow!(
        "template {name} ({source}{line}): {}",
        e.detail().unwrap_or(&e.to_string())
    )
}

/// Moves the `<style>` rules onto the elements (Gmail and Outlook drop `<style>`).
/// A block marked `data-css-inline="keep"` stays in the output: it holds the phone-width
/// and dark-mode media queries, which cannot be inlined.
pub fn inline_css(html: &str) -> anyhow::Result<String> {
    let inliner = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_style_tags(false)
        .build();
    inliner.inline(html).context("inlining the digest's CSS")
}

/// Wraps lines longer than `width` at spaces; a word longer than the width (a URL) gets
/// its own line and is never broken. Runs of blank lines collapse to one.
pub fn wrap_text(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run <= 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank_run = 0;
        if line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut current = String::new();
        for word in line.split_whitespace() {
            let needed = if current.is_empty() {
                indent.len() + word.chars().count()
            } else {
                current.chars().count() + 1 + word.chars().count()
            };
            if !current.is_empty() && needed > width {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            }
            if current.is_empty() {
                current.push_str(&indent);
            } else {
                current.push(' ');
            }
            current.push_str(word);
        }
        if !current.is_empty() {
            out.push_str(&current);
            out.push('\n');
        }
    }
    out.trim_end().to_string() + "\n"
}

fn sample_story(id: i64, section: &str) -> Story {
    Story {
        entry_id: id,
        title: format!("Sample headline {id} & <friends>"),
        url: format!("https://example.org/story/{id}"),
        summary: Some("A first sentence of a sample summary. A second one that ends it.".into()),
        source: "Example Blog".into(),
        date: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        section: section.into(),
        access_note: Some("subscription required".into()),
        image: Some(crate::parse::Image {
            url: format!("https://example.org/img/{id}.jpg"),
            width: Some(1200),
            height: Some(800),
        }),
    }
}

fn sample_digest() -> Digest {
    Digest {
        created_at: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        lead: sample_story(1, "One"),
        sections: vec![crate::select::SectionStories {
            name: "One".into(),
            stories: vec![sample_story(2, "One"), sample_story(3, "One")],
        }],
        announcements: vec![crate::select::DigestAnnouncement {
            title: "Announcement".into(),
            body: "Body.".into(),
            link: "https://example.org/a".into(),
            cta: "LEARN MORE".into(),
            image: None,
            image_alt: None,
            after_section: "One".into(),
        }],
        sponsors: Vec::new(),
        high_water: 0,
        most_read: vec![crate::select::MostRead {
            entry_id: 7,
            title: "Sample most read headline & <friends>".into(),
            url: "https://example.org/story/7".into(),
            source: "Example Blog".into(),
            clicks: 3,
        }],
    }
}

/// The brief of the sample digest that checks templates at startup (tests reuse it).
pub(crate) fn sample_brief() -> BriefInfo {
    BriefInfo {
        name: "Sample Brief".into(),
        tagline: Some("Tagline".into()),
        date_long: "Friday, November 27, 2026".into(),
        date_short: "11/27/2026".into(),
        web_url: Some("https://example.org/archive/1".into()),
        archive_url: Some("https://example.org/archive".into()),
        base_url: Some("https://example.org/".into()),
        postal_address: Some("1 Main St".into()),
        lang: "en".into(),
        from_address: "brief@example.org".into(),
        share: true,
        images: crate::config::Images::Lead,
        clicks: None,
    }
}

fn sample_recipient() -> Recipient {
    Recipient {
        name: Some("Sample Member".into()),
        email: "member@example.org".into(),
        sections: Vec::new(),
        id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_load_and_escape_feed_text() {
        let t = Templates::load(Path::new("/nonexistent")).expect("built-in templates");
        let mut d = sample_digest();
        d.lead.title = "<script>alert(1)</script> & more".into();
        let r = t
            .render(
                &d,
                &sample_brief(),
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render");
        assert!(!r.html.contains("<script>alert(1)"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert_eq!(r.subject, "<script>alert(1)</script> & more");
        assert!(r.text.contains("https://example.org/u/x"));
        assert!(r.html.contains("LEARN MORE"));
    }

    #[test]
    fn broken_override_template_names_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("digest.txt"), "line one\n{% for x in %}\n").expect("write");
        let err = Templates::load(dir.path()).err().expect("broken template");
        let msg = format!("{err:#}");
        assert!(msg.contains("digest.txt"), "{msg}");
        assert!(msg.contains(":2"), "{msg}");
    }

    #[test]
    fn override_template_replaces_only_its_builtin() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("subject.txt"),
            "{{ brief.name }}: {{ lead.title }}",
        )
        .expect("write");
        let t = Templates::load(dir.path()).expect("templates");
        assert!(
            t.sources
                .iter()
                .any(|(n, s)| n == "subject.txt" && s != "built-in")
        );
        assert!(
            t.sources
                .iter()
                .any(|(n, s)| n == "digest.html" && s == "built-in")
        );
        let r = t
            .render(
                &sample_digest(),
                &sample_brief(),
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render");
        assert_eq!(r.subject, "Sample Brief: Sample headline 1 & <friends>");
        assert!(
            r.html.contains("LEARN MORE"),
            "the built-in HTML is still used"
        );
    }

    #[test]
    fn share_links_carry_the_encoded_article_and_go_when_share_is_off() {
        let t = Templates::load(Path::new("/nonexistent")).expect("built-in templates");
        let mut d = sample_digest();
        d.lead.url = "https://example.org/a?x=1&y=2".into();
        d.lead.title = "Rates & \"Roads\"".into();
        let mut brief = sample_brief();
        let render = |brief: &BriefInfo| {
            t.render(
                &d,
                brief,
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render")
        };
        let r = render(&brief);
        let enc = "https%3A%2F%2Fexample.org%2Fa%3Fx%3D1%26y%3D2";
        for href in [
            format!("https://www.linkedin.com/sharing/share-offsite/?url={enc}"),
            format!("https://x.com/intent/tweet?url={enc}&amp;text=Rates%20%26%20%22Roads%22"),
            format!("https://www.facebook.com/sharer/sharer.php?u={enc}"),
            format!(
                "mailto:?subject=Rates%20%26%20%22Roads%22&amp;body=Rates%20%26%20%22Roads%22%0A{enc}"
            ),
        ] {
            assert!(r.html.contains(&format!("href=\"{href}\"")), "{href}");
        }
        // One share row per story, text links only: no script, no remote icon.
        assert_eq!(r.html.matches(">LinkedIn</a>").count(), d.stories().count());
        assert!(!r.html.contains("<script"));
        brief.share = false;
        let r = render(&brief);
        assert!(!r.html.contains("linkedin.com"));
        assert!(!r.html.contains("Share:"));
    }

    #[test]
    fn tracked_links_replace_the_article_in_headline_full_story_and_text_but_not_share() {
        let t = Templates::load(Path::new("/nonexistent")).expect("built-in templates");
        let d = sample_digest();
        let mut brief = sample_brief();
        let secret = crate::token::Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        brief.clicks = Some(ClickLinks {
            prefix: "https://example.org/r/9/".into(),
            digest_id: 9,
            secret: secret.clone(),
            per_member: false,
        });
        let mut member = sample_recipient();
        member.id = Some(4);
        let r = t
            .render(&d, &brief, &member, "https://example.org/u/x", Tz::UTC)
            .expect("render");
        for s in d.stories() {
            let tracked = format!(
                "https://example.org/r/9/{}/{}",
                s.entry_id,
                secret.click_sig(9, s.entry_id, None)
            );
            assert_eq!(r.html.matches(&format!("href=\"{tracked}\"")).count(), 2);
            assert!(r.text.contains(&format!("<{tracked}>")), "{tracked}");
            assert!(!r.html.contains(&format!("href=\"{}\"", s.url)));
            // Sharing passes the article on, not our redirect.
            let shared: String = url::form_urlencoded::byte_serialize(s.url.as_bytes()).collect();
            assert!(r.html.contains(&shared));
        }
        // Per member: the member's id is in the signature.
        if let Some(c) = brief.clicks.as_mut() {
            c.per_member = true;
        }
        let r = t
            .render(&d, &brief, &member, "https://example.org/u/x", Tz::UTC)
            .expect("render");
        let sig = secret.click_sig(9, 1, Some(4));
        assert!(sig.starts_with("4."));
        assert!(r.html.contains(&format!("https://example.org/r/9/1/{sig}")));
    }

    #[test]
    fn most_read_block_lists_the_weeks_stories_in_order_linked_straight_and_is_absent_when_empty() {
        let t = Templates::load(Path::new("/nonexistent")).expect("built-in templates");
        let mut d = sample_digest();
        d.most_read = [
            (21, "Third <b>", 2),
            (20, "First & best", 9),
            (22, "Second", 5),
        ]
        .map(|(id, title, clicks)| crate::select::MostRead {
            entry_id: id,
            title: title.into(),
            url: format!("https://example.org/read/{id}"),
            source: format!("Source {id}"),
            clicks,
        })
        .into();
        // The template shows them in the digest's order (the store's ranking).
        d.most_read.sort_by_key(|m| std::cmp::Reverse(m.clicks));
        let mut brief = sample_brief();
        brief.clicks = Some(ClickLinks {
            prefix: "https://example.org/r/9/".into(),
            digest_id: 9,
            secret: crate::token::Secret::from_bytes(b"0123456789abcdef0123456789abcdef"),
            per_member: false,
        });
        let r = t
            .render(
                &d,
                &brief,
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render");
        let block = r
            .html
            .split("Most read last week")
            .nth(1)
            .expect("the block is in the HTML");
        let at = |needle: &str| block.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("First &amp; best") < at("Second") && at("Second") < at("Third &lt;b&gt;"));
        for id in [20, 22, 21] {
            // Straight to the article: a click on the block is not a click on a story.
            assert!(block.contains(&format!("href=\"https://example.org/read/{id}\"")));
            assert!(block.contains(&format!("Source {id}")));
        }
        assert!(block.find("Most read").is_none(), "one block");
        assert!(block.contains(">1.</td>") && block.contains(">3.</td>"));
        let text = r
            .text
            .split("MOST READ LAST WEEK")
            .nth(1)
            .expect("the block is in the text part");
        let t1 = text.find("1. First & best").expect("first");
        let t2 = text.find("2. Second").expect("second");
        let t3 = text.find("3. Third <b>").expect("third");
        assert!(t1 < t2 && t2 < t3, "{text}");
        assert!(
            text.contains("   Source 20\n   <https://example.org/read/20>"),
            "{text}"
        );

        d.most_read.clear();
        let r = t
            .render(
                &d,
                &brief,
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render");
        assert!(!r.html.to_lowercase().contains("most read"));
        assert!(!r.text.to_lowercase().contains("most read"));
    }

    #[test]
    fn images_show_the_lead_or_all_pictures_sized_with_the_headline_as_alt_text_or_none() {
        let t = Templates::load(Path::new("/nonexistent")).expect("built-in templates");
        let mut d = sample_digest();
        // The lead's picture 1200x800; the second story's size unknown; the third small.
        d.sections[0].stories[0].image = Some(crate::parse::Image {
            url: "https://example.org/img/2.jpg".into(),
            width: None,
            height: None,
        });
        d.sections[0].stories[1].image = Some(crate::parse::Image {
            url: "https://example.org/img/3.jpg".into(),
            width: Some(90),
            height: Some(300),
        });
        let mut brief = sample_brief();
        let render = |brief: &BriefInfo| {
            t.render(
                &d,
                brief,
                &sample_recipient(),
                "https://example.org/u/x",
                Tz::UTC,
            )
            .expect("render")
        };
        let imgs = |html: &str| -> Vec<String> {
            html.match_indices("<img ")
                .map(|(i, _)| html[i..].split('>').next().unwrap_or("").to_string())
                .collect()
        };
        // (name, value) of one attribute of an <img> tag, whatever the inliner's order.
        let attr = |img: &str, name: &str| -> Option<String> {
            let start = img.find(&format!(" {name}=\""))? + name.len() + 3;
            img[start..].split('"').next().map(str::to_string)
        };
        let is = |img: &str, want: &[(&str, Option<&str>)]| {
            for (name, value) in want {
                assert_eq!(attr(img, name).as_deref(), *value, "{name} in {img}");
            }
        };
        let lead = [
            ("src", Some("https://example.org/img/1.jpg")),
            ("width", Some("552")),
            ("height", Some("368")),
            (
                "alt",
                Some("Sample headline 1 &amp; \u{2039}friends\u{203a}"),
            ),
        ];
        brief.images = crate::config::Images::Lead;
        let r = render(&brief);
        let shown = imgs(&r.html);
        assert_eq!(shown.len(), 1, "{shown:?}");
        is(&shown[0], &lead);
        // Fluid: the column's width, up to its own (a phone shrinks it).
        assert!(shown[0].contains("max-width: 552px"), "{shown:?}");
        assert!(shown[0].contains("width: 100%"), "{shown:?}");
        // The text part names no picture.
        assert!(!r.text.contains("img/1.jpg"));

        brief.images = crate::config::Images::All;
        let shown = imgs(&render(&brief).html);
        assert_eq!(shown.len(), 3, "{shown:?}");
        is(&shown[0], &lead);
        // Beside the other stories: at most 150 px, floated right; an unknown height is
        // left to the client (the ratio kept), a small picture never enlarged.
        is(
            &shown[1],
            &[
                ("align", Some("right")),
                ("src", Some("https://example.org/img/2.jpg")),
                ("width", Some("150")),
                ("height", None),
            ],
        );
        is(
            &shown[2],
            &[
                ("width", Some("45")),
                ("height", Some("150")),
                (
                    "alt",
                    Some("Sample headline 3 &amp; \u{2039}friends\u{203a}"),
                ),
            ],
        );

        brief.images = crate::config::Images::None;
        assert!(imgs(&render(&brief).html).is_empty());
    }

    #[test]
    fn long_lines_wrap_at_76_and_urls_stay_whole() {
        let url = format!("https://example.org/{}", "a".repeat(90));
        let text = format!("{} {url} end\n\n\n\nnext", "word ".repeat(30));
        let out = wrap_text(&text, 76);
        for line in out.lines() {
            assert!(line.len() <= 76 || line == url, "{line:?}");
        }
        assert!(out.contains(&url));
        assert!(!out.contains("\n\n\n"));
    }
}

//! Atom: recorded digests → an Atom feed of the brief (`/archive.xml`), for members who
//! read by feed reader.
//!
//! One entry per digest: its subject as the title, its archive page as the link and id,
//! its date, and as content the stories it carried (linked headline, source, summary).
//! Pure: the caller reads the digests and supplies the base URL; nothing here touches the
//! database or the clock. RFC 4287.

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use crate::select::Digest;

/// Most digests the feed carries (a feed reader keeps what it has already seen).
pub const FEED_ISSUES: usize = 30;

/// One recorded digest, as the feed shows it.
#[derive(Debug, Clone)]
pub struct Issue {
    /// The digest's row id (its archive page is `archive/{id}`).
    pub id: i64,
    /// Subject line (the lead headline).
    pub subject: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// What it carried.
    pub digest: Digest,
}

/// The Atom document for `issues` (newest first) of the brief `name`, whose web endpoints
/// live under `base` (`base/archive/{id}`, `base/archive.xml`).
pub fn archive_feed(name: &str, base: &Url, issues: &[Issue]) -> String {
    let join = |path: &str| {
        base.join(path)
            .map_or_else(|_| path.to_string(), String::from)
    };
    let archive = join("archive");
    let updated = issues
        .iter()
        .map(|i| i.created_at)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let mut out = String::with_capacity(2048 + issues.len() * 8192);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    push_el(&mut out, "title", name);
    push_el(&mut out, "id", &archive);
    push_el(&mut out, "updated", &rfc3339(updated));
    out.push_str(&format!(
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(&join("archive.xml"))
    ));
    out.push_str(&format!(
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape(&archive)
    ));
    // RFC 4287 4.1.1: a feed whose entries have no author needs one of its own.
    out.push_str(&format!(
        "<author><name>{}</name></author>\n<generator>feedbrief</generator>\n",
        escape(name)
    ));
    for issue in issues {
        let page = join(&format!("archive/{}", issue.id));
        out.push_str("<entry>\n");
        push_el(&mut out, "title", &issue.subject);
        push_el(&mut out, "id", &page);
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(&page)
        ));
        push_el(&mut out, "published", &rfc3339(issue.created_at));
        push_el(&mut out, "updated", &rfc3339(issue.created_at));
        let count = issue.digest.stories().count();
        push_el(
            &mut out,
            "summary",
            &format!(
                "{count} {}: {}",
                if count == 1 { "story" } else { "stories" },
                issue
                    .digest
                    .stories()
                    .map(|s| s.title.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        );
        // The content is HTML carried as escaped text (type="html").
        out.push_str("<content type=\"html\">");
        out.push_str(&escape(&stories_html(&issue.digest)));
        out.push_str("</content>\n</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// The stories of a digest as a small HTML list: linked headline, source and date, summary.
fn stories_html(digest: &Digest) -> String {
    let mut html = String::from("<ul>");
    for s in digest.stories() {
        html.push_str(&format!(
            "<li><p><a href=\"{}\">{}</a> ({})</p>",
            escape(&s.url),
            escape(&s.title),
            escape(&s.source)
        ));
        if let Some(summary) = &s.summary {
            html.push_str(&format!("<p>{}</p>", escape(summary)));
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    html
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn push_el(out: &mut String, tag: &str, text: &str) {
    out.push_str(&format!("<{tag}>{}</{tag}>\n", escape(text)));
}

/// Escapes text for XML content and attribute values; characters XML 1.0 cannot carry at
/// all (most C0 controls) are dropped, so a stray byte from a feed never breaks the
/// document.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() && c < '\u{80}' => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::{SectionStories, Story};

    fn story(id: i64, title: &str) -> Story {
        Story {
            entry_id: id,
            title: title.into(),
            url: format!("https://news.example.org/{id}?a=1&b=2"),
            summary: Some(format!("Summary of {title}.")),
            source: "News".into(),
            date: DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            section: "One".into(),
            access_note: None,
            image: None,
        }
    }

    #[test]
    fn feed_text_with_markup_and_control_characters_stays_well_formed() {
        let digest = Digest {
            created_at: DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            lead: story(1, "Budgets <b>& \"bonds\"\u{1}"),
            sections: vec![SectionStories {
                name: "One".into(),
                stories: vec![story(2, "Second")],
            }],
            announcements: Vec::new(),
            sponsors: Vec::new(),
            high_water: 2,
            most_read: Vec::new(),
        };
        let base = Url::parse("https://brief.example.org/lgb/").expect("url");
        let xml = archive_feed(
            "Brief & Co",
            &base,
            &[Issue {
                id: 7,
                subject: "Budgets <b>".into(),
                created_at: digest.created_at,
                digest,
            }],
        );
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("<id>https://brief.example.org/lgb/archive/7</id>"));
        assert!(xml.contains("<title>Brief &amp; Co</title>"));
        let url = Url::parse("https://brief.example.org/lgb/archive.xml").expect("url");
        let parsed = crate::parse::parse_feed(xml.as_bytes(), &url).expect("our parser reads it");
        assert!(parsed.repaired.is_empty(), "{:?}", parsed.repaired);
        assert_eq!(parsed.entries.len(), 1);
        let content = parsed.entries[0]
            .content_html
            .as_deref()
            .unwrap_or_default();
        assert!(
            content.contains("href=\"https://news.example.org/1?a=1&amp;b=2\""),
            "{content}"
        );
    }
}

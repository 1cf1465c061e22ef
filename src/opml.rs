//! OPML: feed lists in and out of other readers (Feedly, Inoreader, Miniflux, NetNewsWire).
//!
//! [`parse`] reads an OPML document into [`OpmlFeed`]s (each `<outline xmlUrl=…>`, with the
//! enclosing outline's title as its category); [`add_to_config`] appends the new ones to
//! `feeds.toml` as `[[feed]]` tables with toml_edit, so existing feeds, comments and
//! formatting stay as they were; [`export`] writes the configured feeds as OPML 2.0 with
//! sections as categories. Pure: the caller reads and writes the files.

use quick_xml::events::Event;

use crate::config::Config;

/// One feed found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `title` (else `text`) of the outline.
    pub title: String,
    /// The feed URL (`xmlUrl`).
    pub xml_url: String,
    /// Title of the enclosing outline (a folder or category), if any.
    pub category: Option<String>,
}

/// What [`add_to_config`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Feeds appended.
    pub added: Vec<String>,
    /// Feeds skipped because `feeds.toml` already has their URL.
    pub already_present: Vec<String>,
    /// Categories that are no `[[section]]`; their feeds go to the first section.
    pub unmatched_categories: Vec<String>,
}

/// Reads the feeds of an OPML document.
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut feeds = Vec::new();
    // Titles of the open outlines that are folders (have no xmlUrl).
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut seen_opml = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not valid OPML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name();
                let name = name.as_ref().to_ascii_lowercase();
                if name == "opml" {
                    seen_opml = true;
                }
                if name != "outline" {
                    continue;
                }
                let mut title = None;
                let mut text_attr = None;
                let mut xml_url = None;
                for attr in e.attributes().flatten() {
                    let key = attr.key.local_name().as_ref().to_ascii_lowercase();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    match key.as_str() {
                        "title" => title = Some(value),
                        "text" => text_attr = Some(value),
                        "xmlurl" => xml_url = Some(value),
                        _ => {}
                    }
                }
                let label = title
                    .filter(|t| !t.is_empty())
                    .or(text_attr.filter(|t| !t.is_empty()));
                let url = xml_url.filter(|u| !u.is_empty());
                let is_feed = url.is_some();
                if let Some(url) = url {
                    feeds.push(OpmlFeed {
                        title: label.clone().unwrap_or_else(|| url.clone()),
                        xml_url: url,
                        category: folders.iter().rev().flatten().next().cloned(),
                    });
                }
                // Every open outline is pushed so its End pops it; only folders name a
                // category.
                if matches!(event, Event::Start(_)) {
                    folders.push(if is_feed { None } else { label });
                }
            }
            Event::End(ref e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if name == "outline" {
                    folders.pop();
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_opml {
        return Err("no <opml> element: is this an OPML file?".into());
    }
    Ok(feeds)
}

/// Appends `feeds` to the `feeds.toml` text as `[[feed]]` tables, skipping URLs already
/// present. Categories that name a configured section become `section`. Returns the new
/// text; comments and formatting of the rest are kept.
pub fn add_to_config(
    toml_text: &str,
    config: &Config,
    feeds: &[OpmlFeed],
) -> Result<(String, ImportSummary), String> {
    let mut doc: toml_edit::DocumentMut = toml_text
        .parse()
        .map_err(|e| format!("feeds.toml does not parse: {e}"))?;
    let mut summary = ImportSummary::default();
    let mut present: Vec<String> = config.feeds.iter().map(|f| f.url.to_string()).collect();
    if !doc.contains_key("feed") {
        doc.insert(
            "feed",
            toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
        );
    }
    let Some(array) = doc["feed"].as_array_of_tables_mut() else {
        return Err("`feed` in feeds.toml is not a list of [[feed]] tables".into());
    };
    for f in feeds {
        let Ok(url) = url::Url::parse(&f.xml_url) else {
            summary
                .already_present
                .push(format!("{} (not a URL: {:?})", f.title, f.xml_url));
            continue;
        };
        if present.iter().any(|p| p == url.as_str()) {
            summary.already_present.push(f.title.clone());
            continue;
        }
        let mut table = toml_edit::Table::new();
        table.insert("name", toml_edit::value(f.title.clone()));
        table.insert("url", toml_edit::value(url.to_string()));
        if let Some(cat) = &f.category {
            match config
                .sections
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(cat))
            {
                Some(s) => {
                    table.insert("section", toml_edit::value(s.name.clone()));
                }
                None => {
                    if !summary.unmatched_categories.contains(cat) {
                        summary.unmatched_categories.push(cat.clone());
                    }
                }
            }
        }
        array.push(table);
        present.push(url.to_string());
        summary.added.push(f.title.clone());
    }
    Ok((doc.to_string(), summary))
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The configured feeds as OPML 2.0, one folder per section.
pub fn export(config: &Config) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape_attr(&config.brief.name)
    ));
    let first = config
        .sections
        .first()
        .map(|s| s.name.as_str())
        .unwrap_or("");
    for section in &config.sections {
        let feeds: Vec<_> = config
            .feeds
            .iter()
            .filter(|f| f.section.as_deref().unwrap_or(first) == section.name)
            .collect();
        if feeds.is_empty() {
            continue;
        }
        let name = escape_attr(&section.name);
        out.push_str(&format!("    <outline text=\"{name}\" title=\"{name}\">\n"));
        for f in feeds {
            let title = escape_attr(&f.name);
            out.push_str(&format!(
                "      <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\"/>\n",
                escape_attr(f.url.as_str())
            ));
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Feedly export</title></head><body>
  <outline text="Leading Edge" title="Leading Edge">
    <outline type="rss" text="Seth's Blog" title="Seth's Blog" xmlUrl="https://seths.blog/feed/" htmlUrl="https://seths.blog"/>
    <outline type="rss" text="Known" xmlUrl="https://known.example.org/feed"/>
  </outline>
  <outline text="Tech &amp; Cities">
    <outline type="rss" text="Route Fifty" xmlUrl="https://www.route-fifty.com/rss/all/"/>
  </outline>
  <outline type="rss" text="Loose Feed" xmlUrl="https://loose.example.org/rss"/>
</body></opml>"#;

    const TOML: &str = r#"# The example brief. This comment must survive an import.
[brief]
name = "B"
from = "b@example.org"

[[section]]
name = "Leading Edge"

[[feed]]
name = "Known"  # and this one
url = "https://known.example.org/feed"
"#;

    fn config(text: &str) -> Config {
        crate::config::parse(text, Path::new("feeds.toml"), |_| None).expect("valid")
    }

    #[test]
    fn outlines_are_read_with_their_folder_as_category() {
        let feeds = parse(OPML).expect("opml");
        assert_eq!(feeds.len(), 4);
        assert_eq!(feeds[0].title, "Seth's Blog");
        assert_eq!(feeds[0].category.as_deref(), Some("Leading Edge"));
        assert_eq!(feeds[2].category.as_deref(), Some("Tech & Cities"));
        assert_eq!(feeds[3].category, None);
    }

    #[test]
    fn import_appends_new_feeds_and_keeps_comments_and_existing_ones() {
        let feeds = parse(OPML).expect("opml");
        let (text, summary) = add_to_config(TOML, &config(TOML), &feeds).expect("import");
        assert_eq!(
            summary.added,
            vec!["Seth's Blog", "Route Fifty", "Loose Feed"]
        );
        assert_eq!(summary.already_present, vec!["Known"]);
        assert_eq!(summary.unmatched_categories, vec!["Tech & Cities"]);
        assert!(text.starts_with("# The example brief. This comment must survive an import."));
        assert!(text.contains("name = \"Known\"  # and this one"));
        let c = config(&text);
        assert_eq!(c.feeds.len(), 4);
        assert_eq!(c.feeds[1].section.as_deref(), Some("Leading Edge"));
        // Importing again adds nothing.
        let (_, again) = add_to_config(&text, &c, &feeds).expect("import");
        assert!(again.added.is_empty());
    }

    #[test]
    fn export_round_trips_through_import() {
        let feeds = parse(OPML).expect("opml");
        let (text, _) = add_to_config(TOML, &config(TOML), &feeds).expect("import");
        let exported = export(&config(&text));
        let back = parse(&exported).expect("our own OPML parses");
        assert_eq!(back.len(), 4);
        assert!(
            back.iter()
                .all(|f| f.category.as_deref() == Some("Leading Edge"))
        );
    }

    #[test]
    fn not_opml_is_refused_with_a_reason() {
        assert!(parse("<rss><channel/></rss>").is_err());
        assert!(parse("<opml><body><outline").is_err());
    }
}

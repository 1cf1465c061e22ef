//! Story pages: reading the article pages of the stories a digest would carry, and what a
//! feed entry or an article page gives a stored entry (summary, site name, canonical URL,
//! date, paywall). Wanted pages → fetched HTML → page updates in the store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::article;
use crate::config::Articles;
use crate::cycle::digest::next_digest;
use crate::cycle::report::PagesReport;
use crate::parse::{self, ParsedEntry};
use crate::store::{NewEntry, PageUpdate, WantedPage};

/// Most pages one call reads for the chosen stories, per story a digest carries. A page
/// can move a story to its canonical URL (merging it with another feed's copy) or leave it
/// without a summary; the selection then takes another story, whose page is read in turn.
/// Real feeds settle in one or two rounds; this bounds a feed whose pages all merge or fail.
pub(crate) const PAGE_BUDGET_PER_STORY: usize = 4;

/// Reads the article pages of the stories the next digest would carry, where not read yet.
///
/// Selection ranks by recency, feed weight and whether there is a summary, none of which
/// needs the page, so the pages are read only for the chosen stories (a page still wanted
/// counts as giving a summary, so an entry is never passed over for lacking one it would
/// get). Then the selection runs again when a page changed what it ranks on, until the
/// chosen stories' pages are all read or [`PAGE_BUDGET_PER_STORY`] pages a story are spent.
/// Each page is read once: an entry whose page failed keeps its feed's text. A new feed's
/// fifty-post backlog costs no page at all unless its posts make the digest.
pub async fn fetch_story_pages(
    app: &Arc<App>,
    now: DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<PagesReport> {
    let mut report = PagesReport::default();
    match app.config.fetch.articles {
        Articles::Off => return Ok(report),
        Articles::Chosen => {}
        Articles::All => {
            let wanted = app
                .blocking("listing the wanted pages", |app| {
                    app.store().all_wanted_pages()
                })
                .await?;
            read_pages(app, by_turns_of_host(wanted), &mut report).await?;
        }
    }
    let budget = PAGE_BUDGET_PER_STORY * app.config.brief.max_stories.max(1);
    let mut spent = 0;
    // Each turn either stops or reads at least one page of the budget: bounded.
    while !cancel.is_cancelled() {
        // Selection is CPU and database work: on a blocking thread.
        let chosen = app
            .blocking("choosing the stories whose pages to read", move |app| {
                let Some(digest) = next_digest(app, now)? else {
                    return Ok(None);
                };
                let ids: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
                app.store().wanted_pages(&ids).map(Some)
            })
            .await?;
        let Some(mut wanted) = chosen else {
            break;
        };
        if wanted.is_empty() {
            break;
        }
        if spent >= budget {
            report.unread = wanted.len();
            tracing::warn!(
                stories = wanted.len(),
                budget,
                "page budget spent; these stories keep their feed's text"
            );
            break;
        }
        let truncated = wanted.len() > budget - spent;
        wanted.truncate(budget - spent);
        spent += wanted.len();
        let changed = read_pages(app, wanted, &mut report).await?;
        if !changed && !truncated {
            break;
        }
    }
    Ok(report)
}

/// `wanted` reordered so consecutive pages are on different hosts where possible: in
/// entry order one feed's pages come together, and `per_host` would let only two of the
/// reads under way proceed (35,000 pages took 253 s instead of about 50).
fn by_turns_of_host(wanted: Vec<WantedPage>) -> Vec<WantedPage> {
    let mut hosts: Vec<(String, std::collections::VecDeque<WantedPage>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for w in wanted {
        let host = url::Url::parse(&w.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let i = *index.entry(host.clone()).or_insert_with(|| {
            hosts.push((host, std::collections::VecDeque::new()));
            hosts.len() - 1
        });
        hosts[i].1.push_back(w);
    }
    let total = hosts.iter().map(|(_, q)| q.len()).sum();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for (_, queue) in &mut hosts {
            out.extend(queue.pop_front());
        }
    }
    out
}

/// Reads `wanted` pages concurrently (within the fetcher's limits), storing each as it
/// comes; returns whether one changed what selection ranks on.
async fn read_pages(
    app: &Arc<App>,
    wanted: Vec<WantedPage>,
    report: &mut PagesReport,
) -> anyhow::Result<bool> {
    let futures = wanted.into_iter().map(|w| {
        let app = Arc::clone(app);
        async move {
            let update = read_page(&app, &w).await;
            (w, update)
        }
    });
    let mut updates =
        futures::stream::iter(futures).buffer_unordered(app.config.fetch.concurrency.max(1));
    let mut reselect = false;
    while let Some((w, update)) = updates.next().await {
        let update = update.unwrap_or_else(|e| {
            tracing::info!(page = %w.url, feed = %w.feed_url, error = %e, "article page unavailable; feed text used");
            report.errors.push(e.to_string());
            PageUpdate::default()
        });
        report.read += usize::from(update.from_page);
        reselect |= changes_selection(&w, &update);
        app.blocking("storing what a page told", move |app| {
            app.store().set_page(w.id, &update)
        })
        .await?;
    }
    Ok(reselect)
}

/// Whether what a page told us can change the selection that chose its entry: a new URL
/// (two stories may now be one), no summary after all (a lower score), or a date where the
/// feed gave none (another age). Its site name or paywall cannot.
fn changes_selection(w: &WantedPage, update: &PageUpdate) -> bool {
    update.url.as_deref().is_some_and(|u| u != w.url)
        || !(w.has_summary || update.summary.is_some() || update.description.is_some())
        || (!w.has_date && update.published_at.is_some())
}

/// Why an article page could not be had (the entry keeps its feed's text).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The feed's link is not a URL.
    #[error("{url}: not a URL ({source})")]
    BadUrl {
        /// The link as the feed gave it.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// Fetching it failed.
    #[error("{url}: {source}")]
    Fetch {
        /// The page.
        url: String,
        /// What went wrong.
        #[source]
        source: crate::fetch::FetchError,
    },
    /// It is not HTML (a PDF, an image).
    #[error("{url}: not an HTML page ({content_type})")]
    NotHtml {
        /// The page.
        url: String,
        /// What the server said it is.
        content_type: String,
    },
    /// Reading it failed (the database, or a panic while extracting).
    #[error("{url}: {source:#}")]
    Reading {
        /// The page.
        url: String,
        /// What went wrong.
        #[source]
        source: anyhow::Error,
    },
}

/// Fetches and reads one wanted page.
async fn read_page(app: &Arc<App>, w: &WantedPage) -> Result<PageUpdate, PageError> {
    // Another feed's entry may have read this article since.
    let known_url = w.url.clone();
    let known = app
        .blocking("looking for the page's facts", move |app| {
            app.store().page_facts(&known_url)
        })
        .await;
    if let Ok(Some(facts)) = known {
        return Ok(page_known(facts));
    }
    let url = url::Url::parse(&w.url).map_err(|source| PageError::BadUrl {
        url: w.url.clone(),
        source,
    })?;
    let fetched = app
        .fetcher
        .get_page(&url)
        .await
        .map_err(|source| PageError::Fetch {
            url: url.to_string(),
            source,
        })?;
    if !fetched.is_html() {
        return Err(PageError::NotHtml {
            url: url.to_string(),
            content_type: fetched
                .content_type
                .clone()
                .unwrap_or_else(|| "no content type".into()),
        });
    }
    let (html, final_url) = (fetched.text(), fetched.final_url);
    let title = w.title.clone();
    // Extraction is CPU work (and scraper's DOM is not Send): off the async threads.
    app.blocking("reading the page", move |app| {
        let rule = site_rule(&app.config, &final_url);
        Ok(page_update(&title, &html, &final_url, rule.as_ref()))
    })
    .await
    .map_err(|source| PageError::Reading {
        url: url.to_string(),
        source,
    })
}

/// The `[[site]]` rule for a page at `url` (after redirects), as extraction takes it.
pub(crate) fn site_rule(
    config: &crate::config::Config,
    url: &url::Url,
) -> Option<article::SiteRule> {
    let site = config.site_for(url.host_str()?)?;
    Some(article::SiteRule {
        article: site.article.clone(),
        remove: site.remove.clone(),
    })
}

/// What another entry's reading of the same page told us.
pub(crate) fn page_known(facts: crate::store::PageFacts) -> PageUpdate {
    PageUpdate {
        url: None,
        summary: facts.summary,
        description: None,
        loose_summary: None,
        source: facts.source,
        paywalled: facts.paywalled,
        published_at: None,
        from_page: true,
        image: facts.image,
    }
}

/// The stored form of an entry from its feed alone: the summary from the sentences of the
/// feed's full content, else of its description, else the opening lines of either when
/// neither has a sentence. `want_page` marks its article page as worth reading
/// should the entry contend for a digest (only when it has a link).
pub fn entry_from_feed(e: ParsedEntry, want_page: bool) -> NewEntry {
    // Fault injection for the test that a panic here is the feed's failure.
    #[cfg(test)]
    assert_ne!(e.title, tests::PANIC_TITLE, "injected panic");
    let blocks = |html: &Option<String>| html.as_deref().map(article::html_to_blocks);
    let (content, description) = (blocks(&e.content_html), blocks(&e.summary_html));
    let sentences = |b: &Option<Vec<String>>| {
        b.as_deref()
            .and_then(|b| article::sentence_summary(b, None))
    };
    let loose = |b: &Option<Vec<String>>| b.as_deref().and_then(article::loose_summary);
    let summary = sentences(&content)
        .or_else(|| sentences(&description))
        .or_else(|| loose(&content))
        .or_else(|| loose(&description));
    NewEntry {
        page_wanted: want_page && e.url.is_some(),
        key: e.key,
        url: e.url,
        title: e.title,
        author: e.author,
        published_at: e.published,
        summary,
        source: None,
        paywalled: false,
        from_page: false,
        image: e.image,
    }
}

/// What an article page (`html`, at `final_url` after redirects) adds to the entry titled
/// `title`: the summary of its main text, its site name, paywall, date, and its own URL
/// (FeedBurner and tracking redirectors resolve here) or its canonical link on the same
/// host (any page can claim any canonical). `rule` is the page's `[[site]]` rule, if any.
///
/// The summary's sources, in order: the page's main text; its JSON-LD `articleBody` when
/// the main text holds no story sentence (see [`article::extract`]); then, where this
/// update meets the entry, the feed's own content, the page's `og:description`, and last
/// the opening lines of a main text that has no sentence at all, a calendar or a results
/// table ([`PageUpdate::apply`]). A notice about the site (cookies, consent, newsletter,
/// subscription) is never taken from any of them.
pub fn page_update(
    title: &str,
    html: &str,
    final_url: &url::Url,
    rule: Option<&article::SiteRule>,
) -> PageUpdate {
    let a = article::extract_with_rule(html, Some(final_url), rule);
    let canonical = a
        .canonical_url
        .as_ref()
        .filter(|c| c.host_str() == final_url.host_str())
        .unwrap_or(final_url);
    let summary = article::sentence_summary(&a.blocks, Some(title));
    // Lines without sentences matter only when the text has no sentence.
    let loose_summary = summary
        .is_none()
        .then(|| article::loose_summary(&a.blocks))
        .flatten();
    PageUpdate {
        url: Some(parse::canonical_url(canonical).to_string()),
        summary,
        description: a
            .description
            .and_then(|d| article::sentence_summary(&[d], None)),
        loose_summary,
        source: a.site_name,
        paywalled: a.paywalled,
        published_at: a.published,
        from_page: true,
        image: page_image(html, final_url),
    }
}

/// The picture a page names for link previews: `og:image:secure_url`, `og:image` (with
/// `og:image:width` and `og:image:height`), else `twitter:image`; the first that is
/// `https`. Only the page's `<head>` is parsed again (the tags live there); the picture
/// itself is never fetched.
pub fn page_image(html: &str, page_url: &url::Url) -> Option<parse::Image> {
    let head = match html.to_ascii_lowercase().find("</head") {
        Some(end) => html.get(..end).unwrap_or(html),
        None => html,
    };
    let doc = scraper::Html::parse_document(head);
    let meta = scraper::Selector::parse("meta[content]").ok()?;
    let (mut secure, mut og, mut twitter) = (None, None, None);
    let (mut width, mut height) = (None, None);
    for el in doc.select(&meta) {
        let v = el.value();
        let key = v
            .attr("property")
            .or_else(|| v.attr("name"))
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let content = v.attr("content").unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let px = || content.parse::<u32>().ok();
        match key.as_str() {
            "og:image:secure_url" => secure = secure.or(Some(content)),
            "og:image" | "og:image:url" => og = og.or(Some(content)),
            "og:image:width" => width = width.or_else(px),
            "og:image:height" => height = height.or_else(px),
            "twitter:image" | "twitter:image:src" => twitter = twitter.or(Some(content)),
            _ => {}
        }
    }
    let sized = |src: &str| parse::Image::resolve(src, page_url, Some(true), width, height);
    secure
        .and_then(sized)
        .or_else(|| og.and_then(sized))
        .or_else(|| {
            twitter.and_then(|src| parse::Image::resolve(src, page_url, Some(true), None, None))
        })
        .or_else(|| json_ld_image(&doc, page_url))
}

/// The picture a page's JSON-LD names (in its `<head>`, read when it has no `og:image` or
/// `twitter:image`): the first `image` (a URL, an `ImageObject`, or a list of either), else
/// the first `ImageObject` of an `@graph`. Scripts that are not valid JSON are passed over;
/// every walk is bounded.
fn json_ld_image(doc: &scraper::Html, page_url: &url::Url) -> Option<parse::Image> {
    let scripts = scraper::Selector::parse(r#"script[type="application/ld+json"]"#).ok()?;
    doc.select(&scripts).take(8).find_map(|script| {
        let text: String = script.text().collect();
        let value: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
        json_ld_find_image(&value, page_url, 0)
    })
}

fn json_ld_find_image(
    v: &serde_json::Value,
    base: &url::Url,
    depth: usize,
) -> Option<parse::Image> {
    use serde_json::Value;
    if depth > 4 {
        return None;
    }
    match v {
        Value::Array(items) => items
            .iter()
            .take(32)
            .find_map(|i| json_ld_find_image(i, base, depth + 1)),
        Value::Object(o) => {
            let is_image_object = o.get("@type").and_then(Value::as_str) == Some("ImageObject");
            o.get("image")
                .and_then(|i| json_ld_image_value(i, base, 0))
                .or_else(|| {
                    is_image_object
                        .then(|| json_ld_image_value(v, base, 0))
                        .flatten()
                })
                .or_else(|| {
                    o.get("@graph")
                        .and_then(|g| json_ld_find_image(g, base, depth + 1))
                })
        }
        _ => None,
    }
}

fn json_ld_image_value(
    v: &serde_json::Value,
    base: &url::Url,
    depth: usize,
) -> Option<parse::Image> {
    use serde_json::Value;
    match v {
        Value::String(src) => parse::Image::resolve(src, base, Some(true), None, None),
        Value::Object(o) => {
            let src = o.get("url").or_else(|| o.get("contentUrl"))?.as_str()?;
            let px = |key: &str| {
                o.get(key)
                    .and_then(|n| n.as_u64().or_else(|| n.as_str()?.trim().parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
            };
            parse::Image::resolve(src, base, Some(true), px("width"), px("height"))
        }
        Value::Array(items) if depth == 0 => items
            .iter()
            .take(8)
            .find_map(|i| json_ld_image_value(i, base, 1)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn parsed(url: &str) -> ParsedEntry {
        ParsedEntry {
            key: "id:1".into(),
            title: "Snow Plans That Residents Actually Read".into(),
            url: Some(url.into()),
            published: None,
            author: None,
            content_html: None,
            summary_html: Some("<p>A teaser from the feed that is far too short.</p>".into()),
            image: None,
        }
    }

    #[test]
    fn without_og_or_twitter_image_the_json_ld_image_is_taken_in_any_of_its_shapes() {
        let page = url::Url::parse("https://news.example.org/a/story").expect("url");
        let head = |json: &str| {
            format!(
                r#"<html><head><script type="application/ld+json">{json}</script></head><body><p>x</p></body></html>"#
            )
        };
        let image = |url: &str, w: Option<u32>, h: Option<u32>| parse::Image {
            url: url.into(),
            width: w,
            height: h,
        };
        // A plain URL, relative to the page.
        assert_eq!(
            page_image(
                &head(r#"{"@type":"NewsArticle","image":"/img/a.jpg"}"#),
                &page
            ),
            Some(image("https://news.example.org/img/a.jpg", None, None))
        );
        // An ImageObject with its size, in a list.
        assert_eq!(
            page_image(
                &head(
                    r#"{"@type":"BlogPosting","image":[{"@type":"ImageObject","url":"https://cdn.example.org/b.png","width":800,"height":"450"}]}"#
                ),
                &page
            ),
            Some(image("https://cdn.example.org/b.png", Some(800), Some(450)))
        );
        // A graph whose article names its picture by @id only: the graph's ImageObject.
        assert_eq!(
            page_image(
                &head(
                    r##"{"@context":"https://schema.org","@graph":[{"@type":"Article","image":{"@id":"#primary"}},{"@type":"ImageObject","@id":"#primary","contentUrl":"https://cdn.example.org/c.webp"}]}"##
                ),
                &page
            ),
            Some(image("https://cdn.example.org/c.webp", None, None))
        );
        // http only, broken JSON, or no image at all: none.
        assert_eq!(
            page_image(&head(r#"{"image":"http://cdn.example.org/d.jpg"}"#), &page),
            None
        );
        assert_eq!(page_image(&head(r#"{"image": "#), &page), None);
        assert_eq!(page_image(&head(r#"{"@type":"Article"}"#), &page), None);
        // og:image still comes first.
        let both = r#"<html><head><meta property="og:image" content="https://cdn.example.org/og.jpg"><script type="application/ld+json">{"image":"https://cdn.example.org/ld.jpg"}</script></head></html>"#;
        assert_eq!(
            page_image(both, &page),
            Some(image("https://cdn.example.org/og.jpg", None, None))
        );
    }

    #[test]
    fn page_image_is_the_https_og_image_with_its_size_else_twitter_image() {
        let page = url::Url::parse("https://news.example.org/a/story").expect("url");
        let head = |tags: &str| format!("<html><head>{tags}</head><body><p>x</p></body></html>");
        let og = head(
            r#"<meta property="og:image" content="/img/lead.jpg">
               <meta property="og:image:width" content="1200">
               <meta property="og:image:height" content="630">
               <meta name="twitter:image" content="https://cdn.example.org/tw.jpg">"#,
        );
        assert_eq!(
            page_image(&og, &page),
            Some(parse::Image {
                url: "https://news.example.org/img/lead.jpg".into(),
                width: Some(1200),
                height: Some(630),
            })
        );
        // An http og:image is passed over for the https twitter:image (no size given).
        let http = head(
            r#"<META PROPERTY="og:image" CONTENT="http://news.example.org/plain.jpg">
               <meta name="twitter:image" content="https://cdn.example.org/tw.jpg">"#,
        );
        assert_eq!(
            page_image(&http, &page),
            Some(parse::Image {
                url: "https://cdn.example.org/tw.jpg".into(),
                width: None,
                height: None,
            })
        );
        // secure_url first; a tag in the body is not read; none at all: no picture.
        let secure = head(
            r#"<meta property="og:image" content="http://news.example.org/plain.jpg">
               <meta property="og:image:secure_url" content="https://news.example.org/s.jpg">"#,
        );
        assert_eq!(
            page_image(&secure, &page).map(|i| i.url),
            Some("https://news.example.org/s.jpg".into())
        );
        let in_body = r#"<html><head></head><body><meta property="og:image" content="https://x.example.org/b.jpg"></body></html>"#;
        assert_eq!(page_image(in_body, &page), None);
        assert_eq!(page_image("<p>no head at all</p>", &page), None);
    }

    #[test]
    fn article_page_gives_summary_site_name_date_and_paywall() {
        let html = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/articles/snow-plans.html"),
        )
        .expect("fixture");
        let final_url =
            url::Url::parse("https://pwj.example.org/snow-plans?utm_source=x").expect("url");
        let entry = parsed("https://feeds.example.org/~r/pwj/123");
        let update = page_update(&entry.title, &html, &final_url, None);
        let mut e = entry_from_feed(entry, true);
        e.apply_page(&update);
        assert_eq!(e.source.as_deref(), Some("Public Works Journal"));
        assert!(e.paywalled);
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/snow-plans"));
        assert!(e.published_at.is_some());
        assert!(
            e.summary
                .is_some_and(|s| s.starts_with("Most winter operations plans"))
        );
    }

    /// A feed entry with this title makes [`entry_from_feed`] panic (tests only).
    pub(crate) const PANIC_TITLE: &str = "feedbrief test: a panic while reading this entry";

    fn article_fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/articles")
                .join(name),
        )
        .expect("fixture")
    }

    #[test]
    fn a_page_without_story_text_falls_back_to_json_ld_then_the_feed_then_og_description() {
        let url = url::Url::parse("https://courier.example.org/story").expect("url");
        let summary_after = |title: &str, page: &str, entry: ParsedEntry| {
            let update = page_update(title, &article_fixture(page), &url, None);
            let mut e = entry_from_feed(entry, true);
            e.apply_page(&update);
            e.summary.unwrap_or_default()
        };
        // The page renders its story with script and shows only a cookie banner: the
        // JSON-LD articleBody is the story.
        let s = summary_after(
            "Crews finish the river bridge early",
            "script-rendered.html",
            parsed(url.as_str()),
        );
        assert!(
            s.starts_with("Crews finished the new river bridge three weeks ahead"),
            "{s}"
        );
        // Nothing but consent notices and no JSON-LD: the feed's own content.
        let mut from_feed = parsed(url.as_str());
        from_feed.content_html = Some("<p>The county moved its budget hearing to June, giving residents two more months to read the draft plan and comment in person.</p>".into());
        let s = summary_after(
            "Budget hearing moved to June",
            "notice-only.html",
            from_feed,
        );
        assert!(
            s.starts_with("The county moved its budget hearing to June, giving"),
            "{s}"
        );
        // No feed text either: og:description, never the notice.
        let mut bare = parsed(url.as_str());
        bare.summary_html = None;
        let s = summary_after("Budget hearing moved to June", "notice-only.html", bare);
        assert_eq!(
            s,
            "The county moved its budget hearing to June so that residents can comment on the draft plan in person."
        );
    }

    #[test]
    fn a_page_of_lines_without_sentences_gives_way_to_the_feed_and_og_description_first() {
        let url = url::Url::parse("https://league.example.org/calendar").expect("url");
        let rows: String = (1..=12)
            .map(|i| format!("<li>Stage {i} | Saturday {i} May | Riverside park to the old harbour, 42 km</li>"))
            .collect();
        let page = |head: &str| {
            format!(
                "<html><head><title>Spring calendar</title>{head}</head><body><main><h1>Spring calendar</h1><ul>{rows}</ul></main></body></html>"
            )
        };
        let summary_after = |html: &str, entry: ParsedEntry| {
            let update = page_update("Spring calendar", html, &url, None);
            let mut e = entry_from_feed(entry, true);
            e.apply_page(&update);
            e.summary.unwrap_or_default()
        };
        let described = page(
            r#"<meta property="og:description" content="The league's spring season opens on the first Saturday of May with twelve stages between the park and the harbour.">"#,
        );
        // The feed's own sentences come before the page's sentence-less lines.
        let mut with_text = parsed(url.as_str());
        with_text.content_html = Some("<p>The spring calendar is out, with twelve stages from May to July. Riders can register online until the end of April.</p>".into());
        let s = summary_after(&described, with_text);
        assert!(s.starts_with("The spring calendar is out"), "{s}");
        // No feed text: og:description.
        let mut bare = parsed(url.as_str());
        bare.summary_html = None;
        let s = summary_after(&described, bare.clone());
        assert!(s.starts_with("The league's spring season opens"), "{s}");
        // Nothing else at all: the calendar's opening lines, never nothing.
        let s = summary_after(&page(""), bare.clone());
        assert!(s.starts_with("Stage 1 | Saturday 1 May"), "{s}");
        // A feed of lines without sentences too: the page's description, then the page's
        // lines, before the feed's lines.
        let feed_rows: String = (1..=12)
            .map(|i| format!("<li>Feed row {i} | Sunday {i} June | Harbour loop, 30 km</li>"))
            .collect();
        let mut lines_only = bare;
        lines_only.content_html = Some(format!("<ul>{feed_rows}</ul>"));
        let s = summary_after(&described, lines_only.clone());
        assert!(s.starts_with("The league's spring season opens"), "{s}");
        let s = summary_after(&page(""), lines_only.clone());
        assert!(s.starts_with("Stage 1 | Saturday 1 May"), "{s}");
        let mut e = entry_from_feed(lines_only, true);
        e.apply_page(&PageUpdate::default());
        assert!(
            e.summary
                .is_some_and(|s| s.starts_with("Feed row 1 | Sunday 1 June"))
        );
    }

    #[test]
    fn a_site_rule_names_the_story_of_its_host_and_subdomains_only() {
        let config = crate::config::parse(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\n[[site]]\nhost = \"courier.example.org\"\narticle = \"div.story-text\"\nremove = [\".inline-promo\"]\n",
            std::path::Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let html = article_fixture("site-rule.html");
        let title = "Ferry fares rise in May";
        let read = |page: &str| {
            let url = url::Url::parse(page).expect("url");
            let rule = site_rule(&config, &url);
            page_update(title, &html, &url, rule.as_ref())
                .summary
                .unwrap_or_default()
        };
        for page in [
            "https://courier.example.org/ferry",
            "https://www.courier.example.org/ferry",
        ] {
            let s = read(page);
            assert!(
                s.starts_with("Ferry fares will rise by ten percent in May"),
                "{page}: {s}"
            );
            assert!(!s.contains("Win a weekend"), "{page}: {s}");
            assert!(!s.contains("Our editors"), "{page}: {s}");
        }
        // Another host is read by the generic extractor, which this page fools into
        // taking the sidebar guide as the story's continuation.
        let s = read("https://other.example.org/ferry");
        assert!(s.contains("Our editors"), "{s}");
    }

    #[test]
    fn without_a_page_the_feed_text_is_summarized() {
        let e = entry_from_feed(parsed("https://pwj.example.org/x"), true);
        assert!(e.page_wanted, "its page is read should it contend");
        assert_eq!(e.url.as_deref(), Some("https://pwj.example.org/x"));
        assert!(e.source.is_none());
        assert!(!e.paywalled);
    }
}

//! The email as a member sees it (issue #6): a fixed, realistic 12-story digest
//! (`tests/fixtures/look/digest.json`) rendered by the built-in templates and checked four
//! ways: snapshots of the HTML and text parts and of the message's headers
//! (`tests/snapshots/`, refreshed with `UPDATE_SNAPSHOTS=1 cargo test`), its size and
//! structure, headless Chromium at 600 and 375 px (screenshots under
//! `$CARGO_TARGET_TMPDIR/look/`), and SpamAssassin with local rules only.
//!
//! Chromium and SpamAssassin are optional on a developer's machine: without them the tests
//! say "skipped" and pass. `.ci/run` installs both, and sets `FEEDBRIEF_REQUIRE_TOOLS=1` so
//! that a missing tool fails there instead of skipping.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use feedbrief::mail::render::{BriefInfo, Recipient, Rendered, Templates};
use feedbrief::select::Digest;

/// Gmail clips an HTML part larger than this (102 KB, counted in bytes).
const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// The highest SpamAssassin score (local rules only) a digest may get.
const MAX_SPAM_SCORE: f64 = 1.0;

const UNSUBSCRIBE: &str = "https://brief.example.org/unsubscribe/7.3b0c9a51e2d4f6a8";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/look")
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Where screenshots, probe pages and `.new` snapshots go.
pub(super) fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("look");
    std::fs::create_dir_all(&dir).expect("create the look output dir");
    dir
}

/// The fixed digest: a lead, 11 stories in four sections, two announcements (one with an
/// image) and a sponsor.
fn digest() -> Digest {
    let text = std::fs::read_to_string(fixture_dir().join("digest.json")).expect("read digest");
    serde_json::from_str(&text).expect("digest.json is a Digest")
}

fn brief() -> BriefInfo {
    BriefInfo {
        name: "Local Government Leadership Brief".into(),
        tagline: Some("What leaders in local government are reading".into()),
        date_long: "Friday, November 27, 2026".into(),
        date_short: "11/27/2026".into(),
        web_url: Some("https://brief.example.org/archive/42".into()),
        archive_url: Some("https://brief.example.org/archive".into()),
        base_url: Some("https://brief.example.org/".into()),
        postal_address: Some("777 N Capitol St NE, Washington, DC 20002".into()),
        lang: "en".into(),
        from_address: "brief@example.org".into(),
        share: true,
        images: feedbrief::config::Images::Lead,
        clicks: None,
    }
}

fn member() -> Recipient {
    Recipient {
        name: Some("Ann Lee".into()),
        email: "ann.lee@example.org".into(),
        sections: Vec::new(),
        id: None,
    }
}

/// The built-in templates (an empty override directory).
fn templates() -> Templates {
    let empty = tempfile::tempdir().expect("tempdir");
    Templates::load(empty.path()).expect("built-in templates load")
}

fn render_with(digest: &Digest, brief: &BriefInfo) -> Rendered {
    templates()
        .render(
            digest,
            brief,
            &member(),
            UNSUBSCRIBE,
            "America/New_York".parse().expect("tz"),
        )
        .expect("digest renders")
}

fn render() -> Rendered {
    render_with(&digest(), &brief())
}

/// Compares `actual` with `tests/snapshots/{name}`, or rewrites it under
/// `UPDATE_SNAPSHOTS=1`. A mismatch writes the new text beside the test output and names
/// the first differing line.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(name);
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot_dir()).expect("create tests/snapshots");
        std::fs::write(&path, actual).expect("write snapshot");
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_SNAPSHOTS=1 cargo test",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let new = out_dir().join(format!("{name}.new"));
    std::fs::write(&new, actual).expect("write .new snapshot");
    let (line, want, got) = first_difference(&expected, actual);
    panic!(
        "{name} differs from its snapshot at line {line}:\n  snapshot: {want}\n  now:      {got}\n\
         the whole new text is in {}; if the change is intended, run\n  \
         UPDATE_SNAPSHOTS=1 cargo test look:: \nand commit tests/snapshots/{name}",
        new.display()
    );
}

/// The first line where `a` and `b` differ, and each side's text around the first
/// differing character (HTML lines are long).
fn first_difference(a: &str, b: &str) -> (usize, String, String) {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                let (x, y) = (x.unwrap_or("(end)"), y.unwrap_or("(end)"));
                let col = x
                    .char_indices()
                    .zip(y.chars())
                    .find(|((_, cx), cy)| cx != cy)
                    .map_or(x.len().min(y.len()), |((i, _), _)| i);
                let around = |s: &str| {
                    let start = s.floor_char_boundary(col.saturating_sub(60).min(s.len()));
                    let end = s.ceil_char_boundary((col + 60).min(s.len()));
                    format!("…{}…", &s[start..end])
                };
                return (n, around(x), around(y));
            }
        }
    }
}

#[test]
fn html_part_matches_its_snapshot() {
    assert_snapshot("digest.html", &render().html);
}

#[test]
fn text_part_matches_its_snapshot() {
    assert_snapshot("digest.txt", &render().text);
}

#[test]
fn subject_is_the_lead_headline() {
    assert_eq!(render().subject, digest().lead.title);
}

/// The complete message, as the outbox would write it, for one member.
fn message() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = r#"
[brief]
name = "Local Government Leadership Brief"
tagline = "What leaders in local government are reading"
from = "Leadership Brief <brief@example.org>"
timezone = "America/New_York"
base_url = "https://brief.example.org/"
postal_address = "777 N Capitol St NE, Washington, DC 20002"

[[section]]
name = "Leading Edge"

[[feed]]
name = "Thought Leaders"
url = "https://www.thoughtleadersllc.com/feed/"
"#;
    std::fs::write(dir.path().join("feeds.toml"), config).expect("write config");
    // A fixed secret, so unsubscribe links are the same in every run. It goes in after the
    // database is made: a secret beside no database is an earlier run's trace.
    drop(feedbrief::store::Store::open(&dir.path().join("data/feedbrief.sqlite")).expect("db"));
    std::fs::write(dir.path().join("data/secret"), "9".repeat(64)).expect("write secret");
    let config = feedbrief::config::load(&dir.path().join("feeds.toml")).expect("config");
    let app = feedbrief::app::App::open(config).expect("app opens");
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_777_200);
    let message = feedbrief::mail::message_for(&app, Some(42), &digest(), 7, &member(), date)
        .expect("message composes");
    message.formatted()
}

/// The message's headers and each part's headers, with the Date, Message-ID, MIME
/// boundaries and unsubscribe token redacted, and the bodies (snapshotted on their own)
/// left out.
fn message_outline(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let boundary = raw
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a multipart boundary")
        .to_string();
    let raw = raw.replace(&boundary, "BOUNDARY");
    // The token depends on the secret, which `FEEDBRIEF_SECRET` may override.
    let raw = match raw.split_once("/unsubscribe/") {
        Some((head, rest)) => {
            let end = rest.find('>').unwrap_or(rest.len());
            format!("{head}/unsubscribe/TOKEN{}", &rest[end..])
        }
        None => raw,
    };
    let mut out = String::new();
    let mut in_headers = true;
    let mut skipping_body = false;
    let mut continuing_redacted = false;
    for line in raw.lines() {
        if line.starts_with("--BOUNDARY") {
            out.push_str(line);
            out.push('\n');
            in_headers = true;
            skipping_body = false;
            continue;
        }
        if skipping_body {
            continue;
        }
        if in_headers && line.is_empty() {
            out.push('\n');
            in_headers = false;
            // The top-level body is only the parts; a part's body is left out.
            if out.contains("--BOUNDARY") {
                out.push_str("[body]\n");
                skipping_body = true;
            }
            continue;
        }
        if in_headers {
            let folded = line.starts_with(' ') || line.starts_with('\t');
            if folded && continuing_redacted {
                continue;
            }
            continuing_redacted = false;
            for name in ["Date:", "Message-ID:"] {
                if line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name) {
                    out.push_str(name);
                    out.push_str(" [redacted]\n");
                    continuing_redacted = true;
                }
            }
            if continuing_redacted {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn message_headers_match_their_snapshot() {
    let raw = String::from_utf8(message()).expect("the message is 7-bit or UTF-8");
    assert_snapshot("digest.eml.headers", &message_outline(&raw));
}

#[test]
fn twelve_story_html_stays_under_gmails_clipping_size() {
    let d = digest();
    assert_eq!(d.stories().count(), 12);
    let html = render().html;
    eprintln!(
        "12-story HTML: {} bytes (limit {GMAIL_CLIP_BYTES})",
        html.len()
    );
    assert!(html.len() <= GMAIL_CLIP_BYTES, "{} bytes", html.len());

    // The worst case: every summary at the 80-word ceiling.
    let mut long = d.clone();
    let filler =
        "Managers who read this far will find one more sentence of plain, useful detail here.";
    for s in long
        .sections
        .iter_mut()
        .flat_map(|s| s.stories.iter_mut())
        .chain(std::iter::once(&mut long.lead))
    {
        let mut summary = s.summary.clone().unwrap_or_default();
        while summary.split_whitespace().count() < 80 {
            summary.push(' ');
            summary.push_str(filler);
        }
        s.summary = Some(summary);
    }
    let html = render_with(&long, &brief()).html;
    eprintln!("12 stories with 80-word summaries: {} bytes", html.len());
    assert!(html.len() <= GMAIL_CLIP_BYTES, "{} bytes", html.len());
}

/// `d` with a picture on every story at `url(i)`, 1200x800 as a feed would declare it.
fn with_pictures(d: &Digest, url: impl Fn(usize) -> String) -> Digest {
    let mut d = d.clone();
    let stories = std::iter::once(&mut d.lead)
        .chain(d.sections.iter_mut().flat_map(|s| s.stories.iter_mut()));
    for (i, s) in stories.enumerate() {
        s.image = Some(feedbrief::parse::Image {
            url: url(i),
            width: Some(1200),
            height: Some(800),
        });
    }
    d
}

fn brief_with_all_pictures() -> BriefInfo {
    BriefInfo {
        images: feedbrief::config::Images::All,
        ..brief()
    }
}

#[test]
fn twelve_stories_each_with_a_picture_stay_under_gmails_clipping_size() {
    // Long URLs, as image CDNs write them.
    let d = with_pictures(&digest(), |i| {
        format!(
            "https://images.example-cdn.com/uploads/2026/11/27/story-{i}-council-budget-hearing-photo.jpg?w=1200&h=800&fit=crop&auto=format"
        )
    });
    let html = render_with(&d, &brief_with_all_pictures()).html;
    eprintln!(
        "12-story HTML with every picture: {} bytes (limit {GMAIL_CLIP_BYTES})",
        html.len()
    );
    // Twelve story pictures and the announcement's.
    assert_eq!(html.matches("<img ").count(), 13);
    assert!(html.len() <= GMAIL_CLIP_BYTES, "{} bytes", html.len());
}

/// Every value of `attr` on the elements `selector` matches; `None` where it is absent.
fn attr_values(html: &str, selector: &str, attr: &str) -> Vec<Option<String>> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

#[test]
fn html_is_built_for_mail_clients() {
    let html = render().html;
    let d = digest();
    assert!(html.starts_with("<!DOCTYPE html>"), "doctype first");
    assert_eq!(attr_values(&html, "html", "lang"), vec![Some("en".into())]);
    let doc = scraper::Html::parse_document(&html);
    let text_of = |selector: &str| -> Vec<String> {
        let sel = scraper::Selector::parse(selector).expect("selector");
        doc.select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    let title = text_of("head title");
    assert_eq!(title.len(), 1, "one <title>");
    assert!(
        title[0].contains("Local Government Leadership Brief"),
        "the <title> names the brief: {title:?}"
    );

    let tables = attr_values(&html, "table", "role");
    assert!(tables.len() >= 3, "layout tables: {}", tables.len());
    assert!(
        tables.iter().all(|r| r.as_deref() == Some("presentation")),
        "every layout table has role=\"presentation\": {tables:?}"
    );
    let alts = attr_values(&html, "img", "alt");
    assert_eq!(alts.len(), 1, "the announcement's image");
    assert!(
        alts.iter()
            .all(|a| a.as_deref().is_some_and(|a| !a.is_empty()))
    );
    for src in attr_values(&html, "img", "src") {
        assert!(
            src.is_some_and(|s| s.starts_with("https://")),
            "image sources are absolute"
        );
    }

    let hrefs = attr_values(&html, "a", "href");
    assert!(hrefs.len() >= 30, "{} links", hrefs.len());
    for href in &hrefs {
        let href = href.as_deref().expect("every <a> has an href");
        assert!(
            href.starts_with("https://")
                || href.starts_with("http://")
                || href.starts_with("mailto:"),
            "links must be absolute: {href}"
        );
    }
    assert!(
        attr_values(&html, "script", "src").is_empty(),
        "no script in mail"
    );
    assert!(
        html.contains("name=\"color-scheme\" content=\"light dark\""),
        "dark mode is declared"
    );
    assert!(
        html.contains("prefers-color-scheme:dark"),
        "dark-mode rules are kept"
    );
    assert!(html.contains("max-width:599px"), "the phone rules are kept");
    // Inlining worked: the content carries its styles, and only the media queries remain
    // in a <style> block.
    let headline_styles = attr_values(&html, "h2 a, h3 a", "style");
    assert!(
        headline_styles.iter().all(Option::is_some),
        "headline styles are inlined"
    );
    assert_eq!(
        attr_values(&html, "style", "data-x").len(),
        1,
        "one <style> block left"
    );

    let links = text_of("a");
    for s in d.stories() {
        assert!(links.contains(&s.title), "headline {:?} is a link", s.title);
        assert!(hrefs.contains(&Some(s.url.clone())), "{}", s.url);
    }
    let headings = text_of("h3");
    for a in d.announcements.iter().chain(&d.sponsors) {
        assert!(headings.contains(&a.title), "{}", a.title);
        assert!(links.contains(&a.cta), "button {}", a.cta);
    }
    let body = text_of("body").join(" ");
    for must in [
        "ADVERTISEMENT",
        "Unsubscribe",
        "Friday, November 27, 2026",
        "777 N Capitol St NE, Washington, DC 20002",
        "ann.lee@example.org",
        "View in browser",
        "Full Story: Harvard Business Review (11/25) (subscription required)",
    ] {
        assert!(body.contains(must), "{must}");
    }
    for url in [
        UNSUBSCRIBE,
        "https://brief.example.org/archive",
        "https://brief.example.org/archive/42",
    ] {
        assert!(hrefs.contains(&Some(url.to_string())), "{url}");
    }
    // The preheader, hidden, starts the body: the top three headlines.
    let preheader = d
        .stories()
        .take(3)
        .map(|s| s.title.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        body.starts_with(&preheader),
        "preheader: {}",
        &body[..200.min(body.len())]
    );
}

#[test]
fn hostile_feed_text_is_escaped_in_html_and_plain_in_text() {
    let mut d = digest();
    d.sections[1].stories[0].title =
        "<script>alert('x')</script><img src=x onerror=alert(1)> & Co".into();
    d.sections[1].stories[0].summary = Some("\"><a href=\"javascript:alert(1)\">click</a>".into());
    d.sections[1].stories[0].url = "https://example.org/a?b=1&c=\"><script>".into();
    let r = render_with(&d, &brief());
    assert!(
        attr_values(&r.html, "script", "src").is_empty(),
        "script survived"
    );
    assert!(
        attr_values(&r.html, "img[onerror]", "src").is_empty(),
        "img injection survived"
    );
    let hrefs = attr_values(&r.html, "a", "href");
    assert!(
        hrefs
            .iter()
            .flatten()
            .all(|h| !h.starts_with("javascript:")),
        "javascript link survived"
    );
    assert!(hrefs.contains(&Some("https://example.org/a?b=1&c=\"><script>".into())));
    assert!(
        r.html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "shown as text"
    );
    assert!(
        r.text.contains("<script>alert('x')</script>"),
        "plain text is left as it is"
    );
}

#[test]
fn without_base_url_the_header_has_no_view_in_browser_link() {
    let mut b = brief();
    b.web_url = None;
    b.archive_url = None;
    b.base_url = None;
    let r = render_with(&digest(), &b);
    assert!(!r.html.contains("View in browser"));
    assert!(!r.text.contains("View in browser"));
    assert!(!r.html.contains("/archive"));
    assert!(r.html.contains("Unsubscribe"));
}

#[test]
fn text_part_has_the_same_content_wrapped_at_76_with_whole_links() {
    let r = render();
    for line in r.text.lines() {
        let url_only = line.trim_start_matches('<').starts_with("http") && !line.contains(' ');
        assert!(
            line.chars().count() <= 76 || url_only,
            "line over 76 columns: {line:?}"
        );
    }
    let d = digest();
    let flat = r.text.split_whitespace().collect::<Vec<_>>().join(" ");
    for s in d.stories() {
        assert!(flat.contains(&s.title), "{}", s.title);
        assert!(r.text.contains(&s.url), "{}", s.url);
        let summary = s.summary.as_deref().unwrap_or_default();
        assert!(flat.contains(summary), "{summary}");
        assert!(flat.contains(&format!("Full Story: {}", s.source)));
    }
    for a in d.announcements.iter().chain(&d.sponsors) {
        assert!(flat.contains(&a.body), "{}", a.body);
        assert!(r.text.contains(&a.link), "{}", a.link);
    }
    for must in [
        "ADVERTISEMENT",
        UNSUBSCRIBE,
        "https://brief.example.org/archive/42",
        "777 N Capitol St NE",
        "(subscription required)",
    ] {
        assert!(flat.contains(must), "{must}");
    }
}

// ---------------------------------------------------------------------------------------
// External tools: Chromium and SpamAssassin.

/// True when CI asked for every tool to be present (a missing one then fails the test).
fn tools_required() -> bool {
    std::env::var("FEEDBRIEF_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Says why a test is skipped, or fails it when CI requires the tool.
pub(super) fn skip(test: &str, why: &str) {
    assert!(
        !tools_required(),
        "{test}: {why} (FEEDBRIEF_REQUIRE_TOOLS=1)"
    );
    eprintln!("{test}: skipped: {why}");
}

/// What a bounded external process did.
struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with stdin from `input` (if any), killing it after `limit`. Output goes to
/// files, so a chatty process never blocks on a full pipe.
fn run_bounded(cmd: &mut Command, input: Option<&Path>, limit: Duration) -> Ran {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    cmd.stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .stdin(match input {
            Some(p) => Stdio::from(File::open(p).expect("open input")),
            None => Stdio::null(),
        });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ran {
        success: status.success(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The script injected into the test copy only (mail carries no script): after load it
/// measures the page and writes what it saw, as JSON, into `<pre id="look-probe">`.
pub(super) const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  function visible(el) {
    var r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0'
      && r.left >= 0 && r.right <= window.innerWidth + 0.5;
  }
  var maxRight = 0;
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) maxRight = Math.max(maxRight, r.right);
  });
  var items = [];
  document.querySelectorAll('a, h1, h2, h3, p, img, body > div').forEach(function (el) {
    items.push({
      tag: el.tagName.toLowerCase(),
      text: (el.tagName === 'IMG' ? el.alt : el.textContent).replace(/\s+/g, ' ').trim(),
      href: el.getAttribute('href') || '',
      visible: visible(el),
      color: getComputedStyle(el).color,
      size: parseFloat(getComputedStyle(el).fontSize)
    });
  });
  var out = {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    scrollHeight: document.documentElement.scrollHeight,
    maxRight: maxRight,
    dark: window.matchMedia('(prefers-color-scheme: dark)').matches,
    items: items
  };
  var json = JSON.stringify(out).replace(/[\u007f-\uffff]/g, function (c) {
    return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
  });
  // The page runs in the harness's srcdoc iframe (same origin): report to the parent.
  var target = window.parent.document;
  var pre = target.createElement('pre');
  pre.id = 'look-probe';
  pre.textContent = json;
  target.body.appendChild(pre);
});
</script>"#;

/// What the probe reported.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Probe {
    pub(super) inner_width: f64,
    pub(super) scroll_width: f64,
    pub(super) scroll_height: f64,
    pub(super) max_right: f64,
    dark: bool,
    pub(super) items: Vec<ProbeItem>,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ProbeItem {
    pub(super) tag: String,
    pub(super) text: String,
    href: String,
    pub(super) visible: bool,
    /// Computed text colour, `rgb(r, g, b)`.
    color: String,
    /// Computed font size in px.
    size: f64,
}

impl ProbeItem {
    /// Relative luminance of the text colour, 0 (black) to 1 (white).
    fn luminance(&self) -> f64 {
        let channels: Vec<f64> = self
            .color
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|c| c.trim().parse::<f64>().unwrap_or(0.0) / 255.0)
            .collect();
        assert_eq!(channels.len(), 3, "colour {:?}", self.color);
        0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    }
}

impl Probe {
    fn visible(&self, tag: &str, text: &str) -> Option<&ProbeItem> {
        self.items
            .iter()
            .find(|i| i.tag == tag && i.visible && i.text == text)
    }
}

/// How the page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    Light,
    Dark,
    NoImages,
}

impl Look {
    fn name(self) -> &'static str {
        match self {
            Look::Light => "light",
            Look::Dark => "dark",
            Look::NoImages => "noimages",
        }
    }
}

pub(super) struct Chromium {
    exe: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    pub(super) fn find() -> Option<Self> {
        let exe = find_on_path(&["chromium", "chromium-browser"])?;
        let profile = tempfile::tempdir().expect("profile dir");
        Some(Self { exe, profile })
    }

    fn command(&self, width: u32, height: u32, look: Look) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            // Containers often give /dev/shm 64 MB, too little for a tall page.
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()))
        .arg(format!("--window-size={width},{height}"));
        match look {
            Look::Light => {}
            // prefers-color-scheme: dark, as a phone in dark mode reports it.
            Look::Dark => {
                cmd.arg("--force-dark-mode");
            }
            // A mail client that blocks remote images until asked.
            Look::NoImages => {
                cmd.arg("--blink-settings=imagesEnabled=false");
            }
        }
        cmd
    }

    /// Loads `page` (with the probe) in a `width`-px iframe and returns what the probe saw.
    ///
    /// Headless Chromium's window is never narrower than 500 px, so the page is measured
    /// inside an iframe of the width under test, as a phone's viewport would be.
    pub(super) fn probe(&self, page: &Path, width: u32, look: Look) -> Probe {
        let html = std::fs::read_to_string(page).expect("read probe page");
        let srcdoc = html.replace('&', "&amp;").replace('"', "&quot;");
        let harness = page.with_extension(format!("{width}.harness.html"));
        std::fs::write(
            &harness,
            format!(
                "<!DOCTYPE html><html><body style=\"margin:0\"><iframe srcdoc=\"{srcdoc}\" \
                 style=\"border:0;display:block;width:{width}px;height:2000px\"></iframe></body></html>"
            ),
        )
        .expect("write harness");
        let ran = run_bounded(
            self.command(width.max(600), 900, look)
                .arg("--dump-dom")
                .arg(file_url(&harness)),
            None,
            Duration::from_secs(90),
        );
        let json = ran
            .stdout
            .split("<pre id=\"look-probe\">")
            .nth(1)
            .and_then(|rest| rest.split("</pre>").next())
            .unwrap_or_else(|| {
                panic!(
                    "chromium printed no probe result for {} (success {}):\n{}",
                    page.display(),
                    ran.success,
                    ran.stderr
                )
            });
        let json = json
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe JSON: {e}: {json}"))
    }

    /// Screenshots `page` at `width` × `height` into `png`.
    fn screenshot(&self, page: &Path, width: u32, height: u32, look: Look, png: &Path) {
        let _ = std::fs::remove_file(png);
        let ran = run_bounded(
            self.command(width, height, look)
                .arg(format!("--screenshot={}", png.display()))
                .arg(file_url(page)),
            None,
            Duration::from_secs(90),
        );
        assert!(
            png.is_file(),
            "chromium wrote no screenshot {}: {}",
            png.display(),
            ran.stderr
        );
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The test copy of a rendered page: remote images pointed at local fixture files so the
/// screenshots show them without a network, and with `probe` the probe script before
/// `</body>`.
fn test_copy(html: &str, name: &str, probe: bool) -> PathBuf {
    assert!(
        !html.contains("<script"),
        "production HTML carries no script"
    );
    let local = fixture_dir().join("conference-2027.jpg");
    let html = html
        .replace(
            "https://example.org/img/conference-2027.jpg",
            &file_url(&local),
        )
        .replace(
            "</body>",
            &format!("{}</body>", if probe { PROBE } else { "" }),
        );
    let path = out_dir().join(name);
    std::fs::write(&path, html).expect("write probe page");
    path
}

/// Every story headline, announcement and sponsor of `d` is a visible element in `probe`.
fn assert_all_visible(probe: &Probe, d: &Digest, what: &str) {
    for s in d.stories() {
        let link = probe
            .visible("a", &s.title)
            .unwrap_or_else(|| panic!("{what}: headline {:?} is not visible", s.title));
        assert_eq!(link.href, s.url, "{what}: {}", s.title);
        assert!(
            probe.items.iter().any(|i| i.visible
                && i.tag == "p"
                && i.text.starts_with("Full Story:")
                && i.text.contains(&s.source)),
            "{what}: Full Story line of {:?}",
            s.title
        );
    }
    // A share row under every story: four visible text links to the services' share
    // pages (no icon, no script), each carrying the article.
    for (service, prefix) in [
        (
            "LinkedIn",
            "https://www.linkedin.com/sharing/share-offsite/?url=",
        ),
        ("X", "https://x.com/intent/tweet?url="),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?u="),
        ("Email", "mailto:?subject="),
    ] {
        let links: Vec<&ProbeItem> = probe
            .items
            .iter()
            .filter(|i| i.tag == "a" && i.visible && i.text == service)
            .collect();
        assert_eq!(
            links.len(),
            d.stories().count(),
            "{what}: visible {service} share links"
        );
        for (link, s) in links.iter().zip(d.stories()) {
            assert!(link.href.starts_with(prefix), "{what}: {}", link.href);
            let encoded: String = url::form_urlencoded::byte_serialize(s.url.as_bytes()).collect();
            assert!(
                link.href.contains(&encoded),
                "{what}: {} for {}",
                link.href,
                s.url
            );
        }
    }
    for a in d.announcements.iter().chain(&d.sponsors) {
        assert!(
            probe.visible("h3", &a.title).is_some(),
            "{what}: announcement {:?} is not visible",
            a.title
        );
        let cta = probe
            .visible("a", &a.cta)
            .unwrap_or_else(|| panic!("{what}: button {:?} is not visible", a.cta));
        assert_eq!(cta.href, a.link);
    }
    // "Most read last week": each headline visible, linking its article, in order.
    // (The probe lists elements in document order.)
    let mut last = None;
    for m in &d.most_read {
        let at = probe
            .items
            .iter()
            .position(|i| i.visible && i.tag == "a" && i.text == m.title)
            .unwrap_or_else(|| panic!("{what}: most read {:?} is not visible", m.title));
        assert_eq!(probe.items[at].href, m.url, "{what}: {}", m.title);
        assert!(last < Some(at), "{what}: most read out of order");
        last = Some(at);
    }
    // The lead is set larger than the other stories.
    let lead = probe.visible("a", &d.lead.title).map_or(0.0, |i| i.size);
    for s in d.sections.iter().flat_map(|s| &s.stories) {
        let size = probe.visible("a", &s.title).map_or(f64::MAX, |i| i.size);
        assert!(lead > size, "{what}: lead {lead}px, {:?} {size}px", s.title);
    }
    assert!(
        probe.visible("a", "View in browser").is_some(),
        "{what}: View in browser"
    );
    assert!(
        probe.visible("p", "ADVERTISEMENT").is_some(),
        "{what}: ADVERTISEMENT label"
    );
    assert!(
        probe.visible("a", "Unsubscribe").is_some(),
        "{what}: Unsubscribe"
    );
    // The preheader is in the DOM but hidden.
    let preheader = d
        .stories()
        .take(2)
        .map(|s| s.title.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        !probe
            .items
            .iter()
            .any(|i| i.visible && i.text.contains(&preheader)),
        "{what}: the preheader shows"
    );
}

#[test]
fn chromium_shows_every_story_at_600_and_375_px_without_overflow() {
    let test = "chromium_shows_every_story_at_600_and_375_px_without_overflow";
    let Some(chromium) = Chromium::find() else {
        return skip(test, "chromium not installed (apt-get install chromium)");
    };
    let d = digest();
    let page = test_copy(&render().html, "digest.probe.html", true);
    let shown = test_copy(&render().html, "digest.html", false);
    let out = out_dir();
    let looks = [
        (600, Look::Light),
        (375, Look::Light),
        (600, Look::Dark),
        (375, Look::Dark),
        (375, Look::NoImages),
    ];
    for (width, look) in looks {
        let dark = look == Look::Dark;
        let mode = look.name();
        let what = format!("{width} px {mode}");
        let probe = chromium.probe(&page, width, look);
        assert_eq!(probe.inner_width, f64::from(width), "{what}: window width");
        assert_eq!(probe.dark, dark, "{what}: prefers-color-scheme");
        assert!(
            probe.scroll_width <= f64::from(width) && probe.max_right <= f64::from(width) + 0.5,
            "{what}: horizontal overflow (scrollWidth {}, rightmost element {})",
            probe.scroll_width,
            probe.max_right
        );
        assert_all_visible(&probe, &d, &what);
        let image = probe
            .items
            .iter()
            .find(|i| i.tag == "img")
            .expect("the image");
        assert!(
            image.visible,
            "{what}: the image (or its alt text) takes room"
        );
        // Dark mode really applies: headlines and summaries turn light on dark.
        let lead = probe.visible("a", &d.lead.title).expect("lead headline");
        let summary = d.lead.summary.as_deref().expect("lead summary");
        let summary = probe.visible("p", summary).expect("lead summary");
        for item in [lead, summary] {
            let l = item.luminance();
            assert!(
                if dark { l > 0.6 } else { l < 0.3 },
                "{what}: {:?} is {} (luminance {l:.2})",
                item.text,
                item.color
            );
        }
        let png = out.join(format!("digest-{width}-{mode}.png"));
        // Whole page: the window as tall as the document.
        let height = probe.scroll_height.ceil() as u32;
        chromium.screenshot(&shown, width, height, look, &png);
        let bytes = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "{what}: {} ({width}x{height} px, {bytes} bytes); scrollWidth {}",
            png.display(),
            probe.scroll_width
        );
    }
}

/// Writes `feeds.toml` reading this module's fixture feeds from disk, so `fetch` and
/// `preview` run with no network and no server.
#[test]
fn chromium_shows_every_picture_or_its_headline_at_600_and_375_px_without_overflow() {
    let test = "chromium_shows_every_picture_or_its_headline_at_600_and_375_px_without_overflow";
    let Some(chromium) = Chromium::find() else {
        return skip(test, "chromium not installed (apt-get install chromium)");
    };
    // The announcement's fixture picture stands in for every story's (a local file).
    let d = with_pictures(&digest(), |_| {
        "https://example.org/img/conference-2027.jpg".to_string()
    });
    let html = render_with(&d, &brief_with_all_pictures()).html;
    let page = test_copy(&html, "pictures.probe.html", true);
    let shown = test_copy(&html, "pictures.html", false);
    for (width, look) in [
        (600, Look::Light),
        (375, Look::Light),
        (375, Look::NoImages),
    ] {
        let what = format!("pictures, {width} px {}", look.name());
        let probe = chromium.probe(&page, width, look);
        assert!(
            probe.scroll_width <= f64::from(width) && probe.max_right <= f64::from(width) + 0.5,
            "{what}: horizontal overflow (scrollWidth {}, rightmost element {})",
            probe.scroll_width,
            probe.max_right
        );
        assert_all_visible(&probe, &d, &what);
        // Each story's picture takes room, shown or (images blocked) as its headline.
        for s in d.stories() {
            assert!(
                probe
                    .items
                    .iter()
                    .any(|i| i.tag == "img" && i.visible && i.text == s.title),
                "{what}: the picture of {:?}",
                s.title
            );
        }
        let png = out_dir().join(format!("pictures-{width}-{}.png", look.name()));
        let height = probe.scroll_height.ceil() as u32;
        chromium.screenshot(&shown, width, height, look, &png);
        eprintln!("{what}: {}", png.display());
    }
}

fn preview_config(dir: &Path) -> PathBuf {
    let url = |name: &str| file_url(&fixture_dir().join(name));
    let config = format!(
        r#"
[brief]
name = "Local Government Leadership Brief"
tagline = "What leaders in local government are reading"
from = "Leadership Brief <brief@example.org>"
base_url = "https://brief.example.org/"
postal_address = "777 N Capitol St NE, Washington, DC 20002"
# The fixture posts are from November 2026; this keeps them new whenever the test runs.
first_window = "36500days"

[fetch]
articles = false

[[section]]
name = "Leading Edge"

[[section]]
name = "People and Places"

[[feed]]
name = "Leading Edge Digest"
url = "{}"

[[feed]]
name = "People and Places"
url = "{}"
section = "People and Places"

[[announcement]]
title = "New, Reduced Membership Dues"
body = "A new, reduced dues rate is available for CAOs/ACAOs, with additional discounts for smaller communities."
link = "https://example.org/join"

[[sponsor]]
title = "Budgeting Software Built for Cities Under 50,000"
body = "Build next year's budget with your department heads in one shared workbook."
link = "https://sponsor.example.com/budget"
cta = "SEE A DEMO"
"#,
        url("leading.xml"),
        url("people.xml"),
    );
    let path = dir.join("feeds.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

#[test]
fn chromium_shows_feedbrief_preview_on_a_phone_without_overflow() {
    let test = "chromium_shows_feedbrief_preview_on_a_phone_without_overflow";
    let Some(chromium) = Chromium::find() else {
        return skip(test, "chromium not installed (apt-get install chromium)");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = preview_config(dir.path());
    let feedbrief = |args: &[&str]| {
        let ran = run_bounded(
            Command::new(env!("CARGO_BIN_EXE_feedbrief"))
                .arg("--config")
                .arg(&config)
                .args(args),
            None,
            Duration::from_secs(60),
        );
        assert!(
            ran.success,
            "feedbrief {args:?}: {}{}",
            ran.stdout, ran.stderr
        );
    };
    feedbrief(&["fetch"]);
    let html_path = dir.path().join("preview.html");
    feedbrief(&["preview", "--out", html_path.to_str().expect("utf-8 path")]);
    let html = std::fs::read_to_string(&html_path).expect("preview wrote the HTML");
    let page = test_copy(&html, "preview.probe.html", true);
    let shown = test_copy(&html, "preview.html", false);
    let probe = chromium.probe(&page, 375, Look::Light);
    assert!(
        probe.scroll_width <= 375.0 && probe.max_right <= 375.5,
        "horizontal overflow at 375 px: scrollWidth {}, rightmost {}",
        probe.scroll_width,
        probe.max_right
    );
    let headlines = probe
        .items
        .iter()
        .filter(|i| {
            i.tag == "a"
                && i.visible
                && (i.href.starts_with("https://") || i.href.starts_with("http://"))
                && !i.text.is_empty()
        })
        .count();
    assert!(headlines >= 4, "visible links: {headlines}");
    assert!(
        probe
            .visible("h3", "New, Reduced Membership Dues")
            .is_some()
    );
    assert!(probe.visible("a", "LEARN MORE").is_some());
    let png = out_dir().join("preview-375-light.png");
    chromium.screenshot(
        &shown,
        375,
        probe.scroll_height.ceil() as u32,
        Look::Light,
        &png,
    );
    eprintln!("preview at 375 px: {}", png.display());
}

#[test]
fn spamassassin_scores_a_whole_digest_at_most_one_point() {
    let test = "spamassassin_scores_a_whole_digest_at_most_one_point";
    let Some(spamassassin) = find_on_path(&["spamassassin"]) else {
        return skip(
            test,
            "spamassassin not installed (apt-get install spamassassin)",
        );
    };
    let eml = out_dir().join("digest.eml");
    std::fs::write(&eml, message()).expect("write eml");
    let home = tempfile::tempdir().expect("home");
    // -L: local tests only (no DNS blocklists, no Razor/Pyzor); -t: append the report.
    let ran = run_bounded(
        Command::new(spamassassin)
            .args(["-L", "-t", "-x", "--cf=use_bayes 0"])
            .env("HOME", home.path()),
        Some(&eml),
        Duration::from_secs(180),
    );
    let status = ran
        .stdout
        .replace("\r\n", "\n")
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace("\n\t", " ")
        .replace("\n ", " ")
        .lines()
        .find(|l| l.starts_with("X-Spam-Status:"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no X-Spam-Status from spamassassin:\n{}", ran.stderr));
    let score: f64 = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status}"));
    let report = ran
        .stdout
        .split("Content analysis details:")
        .nth(1)
        .map(|r| r.split("\n\n").take(2).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    eprintln!("SpamAssassin (local rules): {status}\n{report}");
    assert!(
        score <= MAX_SPAM_SCORE,
        "SpamAssassin scores the digest {score} (limit {MAX_SPAM_SCORE}): {status}\n{report}"
    );
}

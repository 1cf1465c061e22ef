//! Article extraction and summaries on pages shaped like the ones feeds link to
//! (WordPress, Medium, Substack, a government news release), and a conformance run over
//! Mozilla Readability's test pages when `../shared` is present.

use std::collections::HashMap;
use std::path::PathBuf;

use feedbrief::article::extract;
use feedbrief::article::summarize;

fn page(name: &str) -> String {
    std::fs::read_to_string(super::fixtures().join("pages").join(name)).expect("fixture page")
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// The summary rules every digest blurb must follow.
fn assert_blurb(summary: &str, starts_with: &str) {
    let n = words(summary);
    assert!((35..=80).contains(&n), "{n} words: {summary}");
    assert!(summary.starts_with(starts_with), "{summary}");
    assert!(
        summary.ends_with(['.', '!', '?', '"', '”']),
        "ends mid-sentence: {summary}"
    );
    for junk in [
        "Share",
        "Subscribe",
        "Photo",
        "Updated",
        "Posted",
        "min read",
        "By ",
        "FOR IMMEDIATE",
    ] {
        assert!(!summary.contains(junk), "{junk:?} in {summary}");
    }
}

#[test]
fn wordpress_post_keeps_the_story_and_drops_comments_share_and_sidebar() {
    let a = extract(&page("wordpress.html"), None);
    let text = a.text();
    assert!(text.contains("Most leadership failures are not failures of vision"));
    assert!(text.contains("Close every loop, including the ones that failed."));
    assert!(text.contains("bringing problems to them earlier"));
    for junk in [
        "Skip to content",
        "Share this",
        "Leave a Reply",
        "Recent Posts",
        "Proudly powered",
        "exactly what our department needed",
    ] {
        assert!(!text.contains(junk), "{junk:?} leaked into:\n{text}");
    }
    assert_eq!(a.site_name.as_deref(), Some("Leadership Notes"));
    assert!(a.published.is_some());
    assert!(!a.paywalled);
    let s = summarize(&a.blocks).expect("summary");
    assert_blurb(&s, "Most leadership failures are not failures of vision");
}

#[test]
fn medium_story_skips_read_time_claps_and_recommendations() {
    let a = extract(&page("medium.html"), None);
    let text = a.text();
    assert!(text.contains("we cut our standing meetings by half"));
    assert!(text.contains("the occasional celebration"));
    for junk in [
        "6 min read",
        "Sign up to discover",
        "Recommended from Medium",
        "Zoning for Humans",
    ] {
        assert!(!text.contains(junk), "{junk:?} leaked into:\n{text}");
    }
    let s = summarize(&a.blocks).expect("summary");
    assert_blurb(
        &s,
        "When our city moved its planning staff to a hybrid schedule",
    );
}

#[test]
fn substack_post_drops_subscribe_widgets_and_discussion() {
    let a = extract(&page("substack.html"), None);
    let text = a.text();
    assert!(text.contains("Council packets keep growing"));
    assert!(text.contains("leads with the decision the council needs to make"));
    for junk in [
        "reader-supported publication",
        "Subscribe now",
        "Discussion about this post",
        "612 pages",
    ] {
        assert!(!text.contains(junk), "{junk:?} leaked into:\n{text}");
    }
    assert_eq!(a.site_name.as_deref(), Some("The Local Ledger"));
    let s = summarize(&a.blocks).expect("summary");
    assert_blurb(
        &s,
        "Council packets keep growing because nobody is responsible for cutting them.",
    );
}

#[test]
fn government_release_summary_skips_dateline_and_release_boilerplate() {
    let a = extract(&page("gov-release.html"), None);
    let text = a.text();
    assert!(text.contains("six-month pilot that begins Jan. 4"));
    for junk in ["An official website", "Related News", "Accessibility"] {
        assert!(!text.contains(junk), "{junk:?} leaked into:\n{text}");
    }
    let s = summarize(&a.blocks).expect("summary");
    // "Jan. 4" and "Ore." must not end a sentence; the dateline is not the story.
    assert_blurb(
        &s,
        "The City of Riverton will process residential building permits",
    );
    assert!(s.contains("Jan. 4"), "{s}");
}

#[test]
fn same_page_same_summary() {
    let html = page("wordpress.html");
    let a = summarize(&extract(&html, None).blocks);
    let b = summarize(&extract(&html, None).blocks);
    assert_eq!(a, b);
}

fn shared() -> Option<PathBuf> {
    super::shared_data("data/pages/readability")
}

fn tokens(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *m.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// Bag-of-words F1 between our text and the expected text.
fn f1(ours: &str, expected: &str) -> f64 {
    let (a, b) = (tokens(ours), tokens(expected));
    let common: usize = a
        .iter()
        .map(|(w, n)| (*n).min(*b.get(w).unwrap_or(&0)))
        .sum();
    let (na, nb): (usize, usize) = (a.values().sum(), b.values().sum());
    if common == 0 || na == 0 || nb == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / na as f64, common as f64 / nb as f64);
    2.0 * p * r / (p + r)
}

#[test]
fn readability_test_pages_extract_close_to_the_expected_content() {
    let Some(dir) = shared() else {
        eprintln!(
            "skipped: ../shared/data/pages/readability is absent (it exists only in the development checkout)"
        );
        return;
    };
    let mut scores = Vec::new();
    let mut summaries = 0;
    let mut summaries_from_story = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for case in entries.iter().filter(|p| p.join("source.html").is_file()) {
        let source = std::fs::read_to_string(case.join("source.html")).unwrap_or_default();
        let expected_html = std::fs::read_to_string(case.join("expected.html")).unwrap_or_default();
        let expected = scraper::Html::parse_document(&expected_html)
            .root_element()
            .text()
            .collect::<Vec<_>>()
            .join(" ");
        let a = extract(&source, None);
        scores.push(f1(&a.text(), &expected));
        if let Some(s) = summarize(&a.blocks) {
            summaries += 1;
            // The summary's opening words are the story's, not boilerplate.
            let head: String = s.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
            let flat = expected.split_whitespace().collect::<Vec<_>>().join(" ");
            if flat.contains(&head) {
                summaries_from_story += 1;
            }
        }
    }
    assert!(scores.len() >= 100, "only {} cases found", scores.len());
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let mut sorted = scores.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted[sorted.len() / 2];
    let story_share = summaries_from_story as f64 / summaries.max(1) as f64;
    eprintln!(
        "readability pages: {} cases, token F1 mean {mean:.3}, median {median:.3}; {summaries} summaries, {:.0}% open with story text",
        scores.len(),
        story_share * 100.0
    );
    // Thresholds sit below what we measure, so a regression fails the test.
    assert!(mean >= 0.85, "mean token F1 {mean:.3}");
    assert!(median >= 0.93, "median token F1 {median:.3}");
    assert!(
        story_share >= 0.85,
        "only {:.0}% of summaries open with story text",
        story_share * 100.0
    );
}

/// A page whose story is one sentence naming it, so each output can be told apart.
fn named_page(name: &str) -> String {
    format!(
        "<html><body><article><p>This is the page called {name}, and its story is long enough to be read as a paragraph of text.</p></article></body></html>"
    )
}

#[test]
fn extract_out_dir_names_outputs_after_the_whole_file_name_and_never_overwrites_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    // Two pages that share everything before their first dot, and a third with the same
    // file name as the first in another folder.
    let inputs = [
        dir.path().join("fouryears.eu.interning.html"),
        dir.path().join("fouryears.eu.other.html"),
        other.join("fouryears.eu.interning.html"),
    ];
    for (i, p) in inputs.iter().enumerate() {
        std::fs::write(p, named_page(&format!("input-{i}"))).expect("page");
    }
    let out = dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("extract")
        .arg("--out-dir")
        .arg(&out)
        .args(&inputs)
        .output()
        .expect("run feedbrief");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert!(read("fouryears.eu.interning.txt").contains("input-0"));
    assert!(read("fouryears.eu.other.txt").contains("input-1"));
    // The clash gets a distinct name, and the run says so.
    assert!(read("fouryears.eu.interning-2.txt").contains("input-2"));
    assert!(
        stderr.contains("fouryears.eu.interning-2.txt"),
        "the clash is not reported: {stderr}"
    );
    assert_eq!(std::fs::read_dir(&out).expect("out").count(), 3);
}

#[test]
fn a_cookie_notice_is_never_taken_for_the_article_or_its_summary() {
    let a = extract(&page("cookie-notice.html"), None);
    let text = a.text();
    assert!(text.contains("Now it takes twenty-five"), "{text}");
    assert!(text.contains("Send the agenda a day early."), "{text}");
    assert!(
        !text.to_lowercase().contains("cookies"),
        "notice kept: {text}"
    );
    let s = summarize(&a.blocks).unwrap_or_default();
    assert!(!s.to_lowercase().contains("cookies"), "notice summary: {s}");
}

#[test]
fn a_recipe_card_after_the_story_keeps_its_lists_and_headings() {
    let a = extract(&page("recipe-card.html"), None);
    let text = a.text();
    assert!(text.contains("the lentils do the rest"), "{text}");
    for part in [
        "Ingredients",
        "250 g red lentils",
        "Method",
        "Season with salt and lemon juice before serving.",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
    assert!(!text.contains("Privacy"), "{text}");
}

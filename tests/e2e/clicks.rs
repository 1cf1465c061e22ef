//! What members read (issue #16): the Atom feed of the brief, share links, tracked
//! "Full Story" links counted through the real web endpoint, and the counts shown.

use std::sync::Arc;

use feedbrief::app::App;
use feedbrief::cycle;
use tokio_util::sync::CancellationToken;

use super::{config_text, now, open, spawn_http};

/// Starts the web endpoints on 127.0.0.1:0; returns the base URL.
async fn spawn_web(app: &Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(feedbrief::web::serve(
        Arc::clone(app),
        listener,
        CancellationToken::new(),
    ));
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    feedbrief::fetch::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_feed_is_atom_that_our_parser_and_feed_rs_read_back_with_every_story_link() {
    let (http, _) = spawn_http().await;
    let env = open(
        &config_text(&http, "transport = \"outbox\"", ""),
        "ann@example.org,Ann\n",
    );
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let digest = env.app.store().digest(1).expect("read").expect("digest 1");
    let digest: feedbrief::select::Digest = serde_json::from_str(&digest.content).expect("content");
    let web = spawn_web(&env.app).await;
    let c = client();

    // The archive page names the feed, for feed readers and for people.
    let index = c.get(format!("{web}/archive")).send().await.expect("get");
    let index = index.text().await.expect("body");
    assert!(
        index.contains("<link rel=\"alternate\" type=\"application/atom+xml\""),
        "{index}"
    );
    assert!(index.contains("<a href=\"archive.xml\">"), "{index}");

    let resp = c
        .get(format!("{web}/archive.xml"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/atom+xml")
    );
    let body = resp.bytes().await.expect("body");

    // Our own parser: one entry, linking the archive page, carrying every story.
    let feed_url = url::Url::parse("https://brief.example.org/archive.xml").expect("url");
    let ours = feedbrief::parse::parse_feed(&body, &feed_url).expect("our parser reads it");
    assert!(
        ours.repaired.is_empty(),
        "needed repairs: {:?}",
        ours.repaired
    );
    assert_eq!(
        ours.title.as_deref(),
        Some("Local Government Leadership Brief")
    );
    assert_eq!(ours.entries.len(), 1);
    let entry = &ours.entries[0];
    assert_eq!(entry.title, digest.lead.title);
    assert_eq!(
        entry.url.as_deref(),
        Some("https://brief.example.org/archive/1")
    );
    let content = entry.content_html.as_deref().expect("content");
    for s in digest.stories() {
        let href = format!("href=\"{}\"", s.url.replace('&', "&amp;"));
        assert!(content.contains(&href), "{href} missing in {content}");
        if let Some(summary) = &s.summary {
            let first_words: String = summary.chars().take(30).collect();
            assert!(
                content.contains(&first_words.replace('&', "&amp;")),
                "summary of {:?}",
                s.title
            );
        }
    }

    // feed-rs, independently: the same entry, link and date.
    let theirs = feed_rs::parser::parse(&body[..]).expect("feed-rs reads it");
    assert_eq!(theirs.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(theirs.entries.len(), 1);
    let e = &theirs.entries[0];
    assert_eq!(e.id, "https://brief.example.org/archive/1");
    assert_eq!(
        e.links.first().map(|l| l.href.as_str()),
        Some("https://brief.example.org/archive/1")
    );
    assert!(e.published.is_some());
    let html = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .expect("content body");
    for s in digest.stories() {
        assert!(
            html.contains(&s.url.replace('&', "&amp;")),
            "{} missing",
            s.url
        );
    }
    assert!(
        theirs.links.iter().any(|l| l.rel.as_deref() == Some("self")
            && l.href == "https://brief.example.org/archive.xml")
    );
}

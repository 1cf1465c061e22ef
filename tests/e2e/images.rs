//! Story pictures (issue #16): a feed's `media:content`, `media:thumbnail` and image
//! enclosures, else the article page's `og:image`, through the whole `once` cycle into the
//! member's mail, per `[brief] images`; `https` only, sized, the headline as alt text, and
//! never fetched by us (the picture host is a listener that counts connections).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use super::{decoded, now};

/// A host for the pictures' URLs that only counts who connects: nothing of ours may.
async fn picture_host() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind picture host");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, connections)
}

/// The feed (generated here, with the picture host's port) and its article pages: the
/// library story's page names an `og:image`; the others answer 404.
async fn news_site(pictures: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind site");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let img = format!("https://127.0.0.1:{pictures}");
    let at = |hours: i64| (now() - chrono::Duration::hours(hours)).to_rfc2822();
    let feed = format!(
        r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Town News</title><link>{base}/</link>
<item><title>Council approves the new transit plan</title><link>{base}/story/transit</link><guid>transit</guid>
  <pubDate>{}</pubDate><description>The council approved the transit plan after a long debate about routes and fares.</description>
  <media:content url="{img}/transit.jpg" type="image/jpeg" width="1200" height="800"/></item>
<item><title>Library hours grow on weekends</title><link>{base}/story/library</link><guid>library</guid>
  <pubDate>{}</pubDate><description>The library will open on Sundays from January, the board said on Tuesday.</description></item>
<item><title>Parks budget rises for the spring</title><link>{base}/story/parks</link><guid>parks</guid>
  <pubDate>{}</pubDate><description>The parks department gets more money for planting and repairs this spring.</description>
  <enclosure url="{img}/parks.png" type="image/png" length="12345"/></item>
<item><title>Water rates hold steady next year</title><link>{base}/story/water</link><guid>water</guid>
  <pubDate>{}</pubDate><description>Water rates will not rise next year, the utility board decided on Monday.</description>
  <media:content url="http://127.0.0.1:{pictures}/water.jpg" type="image/jpeg"/></item>
</channel></rss>"#,
        at(1),
        at(2),
        at(3),
        at(4),
    );
    let library = format!(
        r#"<!DOCTYPE html><html><head><title>Library hours grow on weekends</title>
<meta property="og:image" content="{img}/library-og.jpg">
<meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">
</head><body><article><h1>Library hours grow on weekends</h1>
<p>The library will open on Sundays from January, the board said on Tuesday, after a year in which weekend visits doubled.</p>
<p>Staff hours move to cover the new day without new hiring, the director said.</p></article></body></html>"#
    );
    let app = axum::Router::new()
        .route(
            "/feed.xml",
            axum::routing::get(
                move || async move { ([("content-type", "application/rss+xml")], feed) },
            ),
        )
        .route(
            "/story/library",
            axum::routing::get(move || async move {
                ([("content-type", "text/html; charset=utf-8")], library)
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// One cycle to the outbox with `images` (a `[brief]` line, or nothing for the default);
/// returns the member's message, decoded, and the stored digest.
async fn mail_with(images: &str, site: &str) -> (String, feedbrief::select::Digest) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[brief]
name = "Picture Brief"
from = "Brief <brief@example.org>"
data_dir = "data"
{images}

[fetch]
timeout = "5s"
allow_private_addresses = true

[delivery]
transport = "outbox"

[[feed]]
name = "Town News"
url = "{site}/feed.xml"
"#
    );
    std::fs::write(dir.path().join("feeds.toml"), config).expect("config");
    std::fs::write(dir.path().join("members.csv"), "ann@example.org,Ann\n").expect("members");
    let config = feedbrief::config::load(&dir.path().join("feeds.toml")).expect("valid");
    let app = feedbrief::app::App::open(config).expect("app");
    feedbrief::cycle::once(&app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let row = app.store().digest(1).expect("read").expect("a digest");
    let digest = serde_json::from_str(&row.content).expect("content");
    let outbox: Vec<_> = std::fs::read_dir(dir.path().join("data/outbox"))
        .expect("outbox")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(outbox.len(), 1);
    let data = std::fs::read_to_string(&outbox[0]).expect("eml");
    (decoded(&data), digest)
}

/// Each `<img …>` tag of the message's HTML.
fn img_tags(mail: &str) -> Vec<String> {
    mail.match_indices("<img ")
        .map(|(i, _)| mail[i..].split('>').next().unwrap_or("").to_string())
        .collect()
}

/// One attribute's value in a tag (the CSS inliner may reorder them).
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next().map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_and_page_pictures_reach_the_mail_sized_with_alt_text_and_are_never_fetched() {
    let (port, connections) = picture_host().await;
    let site = news_site(port).await;
    let img = format!("https://127.0.0.1:{port}");

    let (mail, digest) = mail_with("images = \"all\"", &site).await;
    assert_eq!(digest.lead.title, "Council approves the new transit plan");
    // The page's og:image was stored with the entry, and carried by the digest.
    let library = digest
        .stories()
        .find(|s| s.title.starts_with("Library"))
        .expect("the library story");
    assert_eq!(
        library.image.as_ref().map(|i| i.url.clone()),
        Some(format!("{img}/library-og.jpg"))
    );
    let tags = img_tags(&mail);
    let find = |src: &str| {
        tags.iter()
            .find(|t| attr(t, "src").as_deref() == Some(src))
            .unwrap_or_else(|| panic!("no <img> of {src} in {tags:?}"))
            .clone()
    };
    let want = [
        // The lead: the feed's media:content, 1200x800 fitted into 552 px.
        (
            "transit.jpg",
            "Council approves the new transit plan",
            Some("552"),
            Some("368"),
        ),
        // The page's og:image with its declared size, beside its story at 150 px.
        (
            "library-og.jpg",
            "Library hours grow on weekends",
            Some("150"),
            Some("79"),
        ),
        // An enclosure without a size: the width only, the client keeps the ratio.
        (
            "parks.png",
            "Parks budget rises for the spring",
            Some("150"),
            None,
        ),
    ];
    for (file, title, width, height) in want {
        let tag = find(&format!("{img}/{file}"));
        assert_eq!(attr(&tag, "alt").as_deref(), Some(title), "{tag}");
        assert_eq!(attr(&tag, "width").as_deref(), width, "{tag}");
        assert_eq!(attr(&tag, "height").as_deref(), height, "{tag}");
    }
    // A plain-http picture is never used; that story shows none.
    assert_eq!(tags.len(), 3, "{tags:?}");
    assert!(!mail.contains("water.jpg"));

    // The default ("lead"): the lead's picture alone.
    let (mail, _) = mail_with("", &site).await;
    let tags = img_tags(&mail);
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert_eq!(
        attr(&tags[0], "src"),
        Some(format!("{img}/transit.jpg")),
        "{tags:?}"
    );
    // "none": text only.
    let (mail, _) = mail_with("images = \"none\"", &site).await;
    assert!(img_tags(&mail).is_empty());

    // Three cycles, three messages: the picture host never heard from us.
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

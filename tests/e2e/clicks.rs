//! What members read (issue #16): the Atom feed of the brief, share links, tracked
//! "Full Story" links counted through the real web endpoint, and the counts shown.

use std::sync::Arc;

use feedbrief::cycle;
use tokio_util::sync::CancellationToken;

use super::{Env, client, config_text, decoded, header, now, open, spawn_http, spawn_web};

/// A browser's `User-Agent`: requests without one are taken for a scanner's.
const BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// Where the test config's `base_url` puts tracked links.
const TRACKED: &str = "https://brief.example.org/r/";

/// The outbox messages, decoded, with their recipient.
fn outbox(env: &Env) -> Vec<(String, String)> {
    let dir = env.dir.path().join("data/outbox");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("outbox exists")
        .map(|e| {
            let data = std::fs::read_to_string(e.expect("entry").path()).expect("read eml");
            (header(&data, "To").unwrap_or_default(), decoded(&data))
        })
        .collect();
    out.sort();
    out
}

/// The distinct tracked links in a message, in order of appearance.
fn tracked_links(message: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for (i, _) in message.match_indices(TRACKED) {
        let link: String = message[i..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '>' | '<' | ' ' | '\n' | '\r'))
            .collect();
        if !links.contains(&link) {
            links.push(link);
        }
    }
    links
}

/// A tracked link as served by the test's web server.
fn on(web: &str, link: &str) -> String {
    format!(
        "{web}/r/{}",
        link.strip_prefix(TRACKED).expect("a tracked link")
    )
}

/// Puts every delivery `seconds` further in the past, as if the mail had been read later.
fn age_deliveries(env: &Env, seconds: i64) {
    let db = rusqlite::Connection::open(env.dir.path().join("data/feedbrief.sqlite"))
        .expect("open the database");
    db.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    db.execute(
        "UPDATE deliveries SET sent_at = sent_at - ?1 WHERE sent_at IS NOT NULL",
        [seconds * 1_000_000],
    )
    .expect("age deliveries");
}

/// Clicks counted per (entry, clicks, distinct members), most clicked first.
fn counted(env: &Env) -> Vec<(i64, i64, i64)> {
    env.app
        .store()
        .story_clicks(chrono::DateTime::UNIX_EPOCH)
        .expect("clicks")
        .into_iter()
        .map(|c| (c.entry_id, c.clicks, c.members))
        .collect()
}

fn stored_digest(env: &Env, id: i64) -> feedbrief::select::Digest {
    let row = env.app.store().digest(id).expect("read").expect("digest");
    serde_json::from_str(&row.content).expect("content")
}

/// One cycle to the outbox with `members`, under `[brief]` additions `brief_keys`.
async fn sent(brief_keys: &str, members: &str) -> Env {
    let (http, _) = spawn_http().await;
    let config = config_text(&http, "transport = \"outbox\"", "").replace(
        "max_stories = 12",
        &format!("max_stories = 12\n{brief_keys}"),
    );
    let env = open(&config, members);
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    env
}

async fn get(c: &reqwest::Client, url: &str, user_agent: Option<&str>) -> reqwest::Response {
    let mut req = c.get(url);
    if let Some(ua) = user_agent {
        req = req.header("user-agent", ua);
    }
    req.send().await.expect("get")
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_story_links_count_a_readers_click_and_redirect_to_the_stored_article() {
    let env = sent("", "ann@example.org,Ann\n").await;
    let digest = stored_digest(&env, 1);
    let mail = outbox(&env);
    assert_eq!(mail.len(), 1);
    let links = tracked_links(&mail[0].1);
    // One tracked link per story (headline and Full Story share it), in both parts; the
    // articles themselves are linked only from the share row.
    assert_eq!(links.len(), digest.stories().count(), "{links:?}");
    for s in digest.stories() {
        assert!(
            !mail[0].1.contains(&format!("href=\"{}\"", s.url)),
            "{} is linked untracked",
            s.url
        );
    }
    let web = spawn_web(&env.app).await;
    let c = client();
    let lead = on(&web, &links[0]);

    // Seconds after delivery: redirected, but a mail scanner's doing, not counted.
    let resp = get(&c, &lead, Some(BROWSER)).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), digest.lead.url);
    assert_eq!(counted(&env), vec![]);

    age_deliveries(&env, 120);
    // HEAD, a scanner's agent and no agent at all: redirected, not counted.
    let head = c
        .head(&lead)
        .header("user-agent", BROWSER)
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 302);
    assert_eq!(location(&head), digest.lead.url);
    for ua in [
        Some("Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"),
        None,
    ] {
        let resp = get(&c, &lead, ua).await;
        assert_eq!(resp.status(), 302, "{ua:?}");
    }
    assert_eq!(counted(&env), vec![]);

    // A reader: counted, each time, per story.
    for _ in 0..2 {
        let resp = get(&c, &lead, Some(BROWSER)).await;
        assert_eq!(resp.status(), 302);
        assert_eq!(location(&resp), digest.lead.url);
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
    let second = digest.stories().nth(1).expect("a second story");
    let resp = get(&c, &on(&web, &links[1]), Some(BROWSER)).await;
    assert_eq!(location(&resp), second.url);
    assert_eq!(
        counted(&env),
        vec![(digest.lead.entry_id, 2, 0), (second.entry_id, 1, 0)],
        "no member is recorded with track = \"story\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_from_a_listed_scanner_network_are_redirected_but_never_counted() {
    // The test's client is on 127.0.0.1: listed, its clicks are a gateway's; when only
    // another network is listed, the same clicks count.
    for (networks, counts) in [
        ("[\"127.0.0.0/8\"]", false),
        ("[\"10.0.0.0/8\", \"::1\"]", true),
    ] {
        let (http, _) = spawn_http().await;
        let config = format!(
            "{}\n[web]\nscanner_networks = {networks}\n",
            config_text(&http, "transport = \"outbox\"", "")
        );
        let env = open(&config, "ann@example.org,Ann\n");
        cycle::once(&env.app, now(), true, &CancellationToken::new())
            .await
            .expect("cycle");
        age_deliveries(&env, 3600);
        let digest = stored_digest(&env, 1);
        let links = tracked_links(&outbox(&env)[0].1);
        let web = spawn_web(&env.app).await;
        let resp = get(&client(), &on(&web, &links[0]), Some(BROWSER)).await;
        assert_eq!(resp.status(), 302, "{networks}");
        assert_eq!(location(&resp), digest.lead.url, "{networks}");
        let expected = if counts {
            vec![(digest.lead.entry_id, 1, 0)]
        } else {
            vec![]
        };
        assert_eq!(counted(&env), expected, "{networks}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_truncated_and_foreign_signatures_get_404_and_count_nothing() {
    let env = sent("", "ann@example.org,Ann\n").await;
    age_deliveries(&env, 120);
    let digest = stored_digest(&env, 1);
    let links = tracked_links(&outbox(&env)[0].1);
    let web = spawn_web(&env.app).await;
    let c = client();
    let lead = digest.lead.entry_id;
    let second = digest.stories().nth(1).expect("a second story").entry_id;
    let sig = env.app.secret.click_sig(1, lead, None);
    assert_eq!(links[0], format!("{TRACKED}1/{lead}/{sig}"));
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (0, '0') => '1',
            (0, _) => '0',
            (_, c) => c,
        })
        .collect();
    let other_secret = feedbrief::token::Secret::from_bytes(b"another secret of thirty-two b!!");
    let refused = [
        ("forged", format!("1/{lead}/{flipped}")),
        ("truncated", format!("1/{lead}/{}", &sig[..sig.len() - 1])),
        ("cut to nothing", format!("1/{lead}/")),
        ("extended", format!("1/{lead}/{sig}0")),
        ("another story's signature", format!("1/{second}/{sig}")),
        ("another digest's path", format!("2/{lead}/{sig}")),
        (
            "another secret's signature",
            format!("1/{lead}/{}", other_secret.click_sig(1, lead, None)),
        ),
        ("a leading zero", format!("01/{lead}/{sig}")),
        (
            "a digest that does not exist",
            format!("99/{lead}/{}", env.app.secret.click_sig(99, lead, None)),
        ),
        (
            "a story the digest does not carry",
            format!("1/999999/{}", env.app.secret.click_sig(1, 999_999, None)),
        ),
    ];
    for (what, path) in &refused {
        let resp = get(&c, &format!("{web}/r/{path}"), Some(BROWSER)).await;
        assert_eq!(resp.status(), 404, "{what}: /r/{path}");
        assert!(resp.headers().get("location").is_none(), "{what}");
    }
    assert_eq!(counted(&env), vec![], "nothing counted");
    // The genuine link still works and counts.
    let resp = get(&c, &on(&web, &links[0]), Some(BROWSER)).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(counted(&env), vec![(lead, 1, 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_off_links_straight_to_articles_and_track_member_counts_each_member() {
    let off = sent("track = \"off\"", "ann@example.org,Ann\n").await;
    let digest = stored_digest(&off, 1);
    let mail = outbox(&off);
    assert!(tracked_links(&mail[0].1).is_empty(), "no tracked link");
    for s in digest.stories() {
        assert!(
            mail[0].1.contains(&format!("href=\"{}\"", s.url)),
            "{}",
            s.url
        );
    }

    let member = sent(
        "track = \"member\"",
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    )
    .await;
    age_deliveries(&member, 120);
    let digest = stored_digest(&member, 1);
    let mail = outbox(&member);
    assert_eq!(mail.len(), 2);
    let ann = tracked_links(&mail[0].1);
    let bo = tracked_links(&mail[1].1);
    assert_ne!(ann[0], bo[0], "each member's links name the member");
    let web = spawn_web(&member.app).await;
    let c = client();
    for link in [&ann[0], &bo[0], &bo[0]] {
        let resp = get(&c, &on(&web, link), Some(BROWSER)).await;
        assert_eq!(resp.status(), 302);
        assert_eq!(location(&resp), digest.lead.url);
    }
    assert_eq!(counted(&member), vec![(digest.lead.entry_id, 3, 2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_clicks_show_in_the_archive_metrics_and_feedbrief_stats() {
    let env = sent("", "ann@example.org,Ann\nbo@example.org,Bo\n").await;
    age_deliveries(&env, 120);
    let digest = stored_digest(&env, 1);
    let links = tracked_links(&outbox(&env)[0].1);
    let web = spawn_web(&env.app).await;
    let c = client();
    // Three clicks on the lead, one on the second story, and a scanner's and a HEAD.
    for link in [&links[0], &links[0], &links[0], &links[1]] {
        assert_eq!(get(&c, &on(&web, link), Some(BROWSER)).await.status(), 302);
    }
    assert_eq!(
        get(&c, &on(&web, &links[2]), Some("curl/8.5.0"))
            .await
            .status(),
        302
    );
    let head = c.head(on(&web, &links[2])).header("user-agent", BROWSER);
    assert_eq!(head.send().await.expect("head").status(), 302);

    let index = get(&c, &format!("{web}/archive"), None).await;
    let index = index.text().await.expect("body");
    assert!(index.contains("4 clicks"), "{index}");

    let metrics = get(&c, &format!("{web}/metrics"), None).await;
    let metrics = metrics.text().await.expect("body");
    for line in [
        "# TYPE feedbrief_clicks_total counter",
        "feedbrief_clicks_total 4\n",
        "feedbrief_clicks_ignored_total{reason=\"scanner_agent\"} 1\n",
        "feedbrief_clicks_ignored_total{reason=\"head\"} 1\n",
        "feedbrief_clicks_ignored_total{reason=\"too_soon_after_delivery\"} 0\n",
    ] {
        assert!(metrics.contains(line), "{line} missing in:\n{metrics}");
    }

    // The command reads the same database and draws the bars.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(env.dir.path().join("feeds.toml"))
        .arg("stats")
        .output()
        .expect("run feedbrief stats");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "clicks in the digests of the last 30 days (track = \"story\"): 4 clicks on 2 stories in 1 digests"
        ),
        "{stdout}"
    );
    let second = digest.stories().nth(1).expect("a second story");
    let bar_line = |title: &str| {
        stdout
            .lines()
            .find(|l| l.contains(title))
            .unwrap_or_else(|| panic!("{title:?} missing in:\n{stdout}"))
            .to_string()
    };
    let lead_line = bar_line(&digest.lead.title[..30]);
    let second_line = bar_line(&second.title[..30]);
    assert!(lead_line.trim_start().starts_with("3 "), "{lead_line}");
    assert!(second_line.trim_start().starts_with("1 "), "{second_line}");
    // Bars scale: the most clicked is the widest (24), the single click a third of it.
    assert_eq!(lead_line.matches('█').count(), 24, "{lead_line}");
    assert_eq!(second_line.matches('█').count(), 8, "{second_line}");
    let sources = stdout.split("\nsources\n").nth(1).expect("sources section");
    assert!(sources.contains("Thought Leaders") || sources.contains("Public Works Notes"));
    let digests = stdout.split("\ndigests\n").nth(1).expect("digests section");
    assert!(digests.contains("#1 2026-11-27"), "{digests}");
    assert!(digests.trim_start().starts_with("4 "), "{digests}");

    // Ranking learned from the clicks, and `feeds status` says by how much, per feed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(env.dir.path().join("feeds.toml"))
        .args(["feeds", "status"])
        .output()
        .expect("run feedbrief feeds status");
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{status}");
    let factors: Vec<f64> = status
        .lines()
        .filter_map(|l| l.trim().strip_prefix("weight \u{d7}"))
        .map(|rest| {
            assert!(rest.contains(" from clicks: "), "{rest}");
            rest[..4].parse().expect("a factor")
        })
        .collect();
    assert!(factors.len() >= 2, "{status}");
    assert!(factors.iter().all(|f| (0.8..=1.25).contains(f)), "{status}");
    assert!(factors.iter().any(|f| *f > 1.0), "{status}");
    assert!(factors.iter().any(|f| *f < 1.0), "{status}");
}

/// A feed whose items the test changes between cycles, served on 127.0.0.1:0 (its
/// article links answer 404: the feed's own text is used).
#[derive(Clone, Default)]
struct NewsFeed(Arc<std::sync::Mutex<String>>);

impl NewsFeed {
    /// Serves the feed; returns its URL.
    async fn spawn(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind feed");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let body = Arc::clone(&self.0);
        let app = axum::Router::new().route(
            "/news.xml",
            axum::routing::get(move || {
                let body = body.lock().expect("lock").clone();
                async move { ([("content-type", "application/rss+xml")], body) }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("{base}/news.xml")
    }

    /// From now on the feed carries these (slug, headline, published) items.
    fn set(&self, base: &str, items: &[(&str, &str, chrono::DateTime<chrono::Utc>)]) {
        let items: String = items
            .iter()
            .map(|(slug, title, at)| {
                format!(
                    "<item><title>{title}</title><link>{base}/story/{slug}</link>\
                     <guid>news-{slug}</guid><pubDate>{}</pubDate>\
                     <description>{title}: what the council decided and why it \
                     matters to residents this winter.</description></item>",
                    at.to_rfc2822()
                )
            })
            .collect();
        *self.0.lock().expect("lock") = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>News</title>\
             <link>{base}/</link>{items}</channel></rss>"
        );
    }
}

/// The outbox files, by name.
fn outbox_names(env: &Env) -> std::collections::BTreeSet<std::path::PathBuf> {
    std::fs::read_dir(env.dir.path().join("data/outbox"))
        .expect("outbox exists")
        .map(|e| e.expect("entry").path())
        .collect()
}

/// Two days of digests with `brief_keys` added to `[brief]`: the first sent, four of its
/// stories clicked through the real web endpoint (4, 3, 2 and 1 times, in the order of
/// `clicked`), then the next day's digest. Returns the env, the first digest's clicked
/// stories in click order, and the second day's message, decoded.
async fn next_day_after_clicks(brief_keys: &str) -> (Env, Vec<feedbrief::select::Story>, String) {
    let (http, _) = spawn_http().await;
    let news = NewsFeed::default();
    let news_url = news.spawn().await;
    let news_base = news_url.trim_end_matches("/news.xml").to_string();
    let day = chrono::Duration::days(1);
    news.set(
        &news_base,
        &[(
            "budget",
            "Council passes the winter budget",
            now() - chrono::Duration::hours(3),
        )],
    );
    let extra = format!(
        "\n[[feed]]\nname = \"Town News\"\nurl = \"{news_url}\"\nsection = \"Workforce\"\n"
    );
    let config = config_text(&http, "transport = \"outbox\"", &extra).replace(
        "max_stories = 12",
        &format!("max_stories = 12\n{brief_keys}"),
    );
    let env = open(&config, "ann@example.org,Ann\n");
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("first cycle");
    let first = stored_digest(&env, 1);
    assert!(first.most_read.is_empty(), "nothing clicked yet");
    let links = tracked_links(&outbox(&env)[0].1);
    assert!(links.len() >= 5, "{links:?}");
    age_deliveries(&env, 120);
    let web = spawn_web(&env.app).await;
    let c = client();
    // Story 3 most, then the lead, then story 4, then story 2 once (left out: fourth).
    let clicked = [2usize, 0, 3, 1];
    for (times, &i) in (1..=4).rev().zip(&clicked) {
        for _ in 0..times {
            let resp = get(&c, &on(&web, &links[i]), Some(BROWSER)).await;
            assert_eq!(resp.status(), 302);
        }
    }
    let stories: Vec<_> = first.stories().cloned().collect();
    let clicked: Vec<_> = clicked.iter().map(|&i| stories[i].clone()).collect();

    // The next day: new stories in the feed, and the next digest.
    news.set(
        &news_base,
        &[
            (
                "plows",
                "New snow plows arrive early",
                now() + day - chrono::Duration::hours(2),
            ),
            (
                "library",
                "Library opens on Sundays",
                now() + day - chrono::Duration::hours(1),
            ),
        ],
    );
    let before = outbox_names(&env);
    cycle::once(&env.app, now() + day, true, &CancellationToken::new())
        .await
        .expect("second cycle");
    let new: Vec<_> = outbox_names(&env).difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "one more message: {new:?}");
    let data = std::fs::read_to_string(&new[0]).expect("read eml");
    let second = stored_digest(&env, 2);
    assert!(
        second
            .stories()
            .any(|s| s.title == "New snow plows arrive early"),
        "the second digest carries the new stories"
    );
    (env, clicked, super::decoded(&data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_digest_carries_the_weeks_three_most_clicked_stories_in_order() {
    let (env, clicked, mail) = next_day_after_clicks("").await;
    let second = stored_digest(&env, 2);
    assert_eq!(
        second
            .most_read
            .iter()
            .map(|m| (m.entry_id, m.clicks))
            .collect::<Vec<_>>(),
        vec![
            (clicked[0].entry_id, 4),
            (clicked[1].entry_id, 3),
            (clicked[2].entry_id, 2)
        ]
    );
    // HTML: the block, its three headlines in click order, each linking its article.
    let html = mail
        .split("Most read last week")
        .nth(1)
        .unwrap_or_else(|| panic!("no block in:\n{mail}"));
    let html = html.split("</table>").next().expect("the block's table");
    let at = |s: &feedbrief::select::Story| {
        let title = s.title.replace('&', "&amp;");
        html.find(&title)
            .unwrap_or_else(|| panic!("{title:?} missing in the block:\n{html}"))
    };
    assert!(at(&clicked[0]) < at(&clicked[1]) && at(&clicked[1]) < at(&clicked[2]));
    assert!(!html.contains(&clicked[3].title), "only three");
    for s in &clicked[..3] {
        assert!(html.contains(&format!("href=\"{}\"", s.url)), "{}", s.url);
    }
    // The text part: the same three, numbered.
    let text = mail
        .split("MOST READ LAST WEEK")
        .nth(1)
        .unwrap_or_else(|| panic!("no text block in:\n{mail}"));
    let line = |n: usize, s: &feedbrief::select::Story| {
        let start: String = s.title.chars().take(40).collect();
        text.find(&format!("{n}. {start}"))
            .unwrap_or_else(|| panic!("{n}. {start} missing in:\n{text}"))
    };
    assert!(line(1, &clicked[0]) < line(2, &clicked[1]));
    assert!(line(2, &clicked[1]) < line(3, &clicked[2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_read_false_leaves_the_block_out_whatever_was_clicked() {
    let (env, _, mail) = next_day_after_clicks("most_read = false").await;
    assert!(stored_digest(&env, 2).most_read.is_empty());
    assert!(!mail.to_lowercase().contains("most read"), "{mail}");
    assert_eq!(
        counted(&env).len(),
        4,
        "the clicks were counted all the same"
    );
}

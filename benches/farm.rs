//! Benchmark feed farm: N generated WordPress-like RSS feeds and their article pages,
//! served over plain HTTP/1.1 on many loopback addresses, each answer after a latency.
//!
//! Feed `i` lives on `127.0.0.(1 + i % hosts)`, so the per-host limit of the client under
//! test sees many hosts; every address gets its own listener (never `0.0.0.0`). Feeds carry
//! an `ETag` and a `Last-Modified` and answer 304 to either. The farm counts the bytes it
//! writes and the requests it answers, by kind, and reports them at `GET /_stats` (no
//! latency); `GET /_urls` lists every feed and page URL, `GET /_page_log` every page URL
//! requested so far, in order (the bare-client floor fetches the feeds and the same pages).
//!
//! `farm --feeds N --hosts H --latency-ms L --page-latency-ms P [--port PORT]` prints
//! `READY <port>` once every listener is bound, then serves until killed (or `--lifetime`
//! seconds, so a forgotten farm never outlives the benchmark).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy)]
struct Args {
    feeds: usize,
    hosts: usize,
    latency: Duration,
    page_latency: Duration,
    port: u16,
    lifetime: Duration,
}

#[derive(Default)]
struct Stats {
    bytes: AtomicU64,
    feeds: AtomicU64,
    feeds_304: AtomicU64,
    pages: AtomicU64,
    other: AtomicU64,
    /// Every article page requested, in order (for the floor: the same URLs as ours).
    page_log: std::sync::Mutex<Vec<String>>,
}

fn parse_args() -> Args {
    let mut a = Args {
        feeds: 1000,
        hosts: 64,
        latency: Duration::from_millis(100),
        page_latency: Duration::from_millis(20),
        port: 0,
        lifetime: Duration::from_secs(3600),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(k) = it.next() {
        let v = it.next().map(String::as_str).unwrap_or("");
        let n: u64 = v.parse().unwrap_or_else(|_| {
            eprintln!("farm: {k} needs a number, got {v:?}");
            std::process::exit(2)
        });
        match k.as_str() {
            "--feeds" => a.feeds = n as usize,
            "--hosts" => a.hosts = (n as usize).clamp(1, 250),
            "--latency-ms" => a.latency = Duration::from_millis(n),
            "--page-latency-ms" => a.page_latency = Duration::from_millis(n),
            "--port" => a.port = n as u16,
            "--lifetime" => a.lifetime = Duration::from_secs(n),
            _ => {
                eprintln!("farm: unknown argument {k}");
                std::process::exit(2)
            }
        }
    }
    a
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = parse_args();
    let stats = Arc::new(Stats::default());
    // The first listener picks the port; the others must get the same one on their address.
    let first = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for h in 2..=args.hosts {
        listeners.push(TcpListener::bind((format!("127.0.0.{h}").as_str(), port)).await?);
    }
    // Stamps are relative to start, so a fresh farm's posts are always within the last days.
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ctx = Arc::new(Ctx {
        args: Args { port, ..args },
        stats,
        epoch,
    });
    for l in listeners {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let _ = sock.set_nodelay(true);
                tokio::spawn(serve(sock, Arc::clone(&ctx)));
            }
        });
    }
    println!("READY {port}");
    tokio::time::sleep(args.lifetime).await;
    Ok(())
}

struct Ctx {
    args: Args,
    stats: Arc<Stats>,
    epoch: u64,
}

async fn serve(mut sock: TcpStream, ctx: Arc<Ctx>) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Read one request head (no request bodies: GET only).
        let end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 64 * 1024 {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let (status, headers, body, close) = respond(&head, &ctx).await;
        let mut out = format!(
            "HTTP/1.1 {status}\r\nServer: farm\r\nContent-Length: {}\r\n{headers}{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        out.extend_from_slice(&body);
        ctx.stats
            .bytes
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        if sock.write_all(&out).await.is_err() || close {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

async fn respond(head: &str, ctx: &Ctx) -> (&'static str, String, Vec<u8>, bool) {
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let close = header(head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let a = &ctx.args;
    let s = &ctx.stats;
    if path == "/_stats" {
        let body = format!(
            "{{\"bytes\":{},\"feeds\":{},\"feeds_304\":{},\"pages\":{},\"other\":{}}}",
            s.bytes.load(Ordering::Relaxed),
            s.feeds.load(Ordering::Relaxed),
            s.feeds_304.load(Ordering::Relaxed),
            s.pages.load(Ordering::Relaxed),
            s.other.load(Ordering::Relaxed),
        );
        return ("200 OK", json(), body.into_bytes(), close);
    }
    if path == "/_urls" {
        let mut out = String::new();
        for i in 0..a.feeds {
            out.push_str(&feed_url(a, i));
            out.push('\n');
            for j in 0..entries_of(i) {
                out.push_str(&page_url(a, i, j));
                out.push('\n');
            }
        }
        return ("200 OK", String::new(), out.into_bytes(), close);
    }
    if path == "/_page_log" {
        let log = s.page_log.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = log.join("\n");
        out.push('\n');
        return ("200 OK", String::new(), out.into_bytes(), close);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["feed", f] => {
            let Some(i) = f.strip_suffix(".xml").and_then(|n| n.parse::<usize>().ok()) else {
                return not_found(s, close);
            };
            if i >= a.feeds {
                return not_found(s, close);
            }
            tokio::time::sleep(a.latency).await;
            s.feeds.fetch_add(1, Ordering::Relaxed);
            let etag = format!("\"feed-{i}-v1\"");
            let modified = http_date(ctx.epoch - 3600);
            let validators = format!(
                "ETag: {etag}\r\nLast-Modified: {modified}\r\nCache-Control: max-age=60\r\n"
            );
            if header(head, "if-none-match") == Some(etag.as_str())
                || header(head, "if-modified-since") == Some(modified.as_str())
            {
                s.feeds_304.fetch_add(1, Ordering::Relaxed);
                return ("304 Not Modified", validators, Vec::new(), close);
            }
            let body = feed_xml(a, ctx.epoch, i);
            (
                "200 OK",
                format!("Content-Type: application/rss+xml; charset=UTF-8\r\n{validators}"),
                body.into_bytes(),
                close,
            )
        }
        ["post", f, e] => {
            let (Ok(i), Ok(j)) = (f.parse::<usize>(), e.parse::<usize>()) else {
                return not_found(s, close);
            };
            if i >= a.feeds || j >= entries_of(i) {
                return not_found(s, close);
            }
            tokio::time::sleep(a.page_latency).await;
            s.pages.fetch_add(1, Ordering::Relaxed);
            s.page_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(page_url(a, i, j));
            (
                "200 OK",
                "Content-Type: text/html; charset=UTF-8\r\n".to_string(),
                page_html(a, ctx.epoch, i, j).into_bytes(),
                close,
            )
        }
        _ => not_found(s, close),
    }
}

fn json() -> String {
    "Content-Type: application/json\r\n".to_string()
}

fn not_found(s: &Stats, close: bool) -> (&'static str, String, Vec<u8>, bool) {
    s.other.fetch_add(1, Ordering::Relaxed);
    ("404 Not Found", String::new(), b"not found".to_vec(), close)
}

fn host(a: &Args, i: usize) -> String {
    format!("127.0.0.{}:{}", 1 + i % a.hosts, a.port)
}

fn feed_url(a: &Args, i: usize) -> String {
    format!("http://{}/feed/{i}.xml", host(a, i))
}

fn page_url(a: &Args, i: usize, j: usize) -> String {
    format!("http://{}/post/{i}/{j}/", host(a, i))
}

/// 20–50 entries, fixed per feed.
fn entries_of(i: usize) -> usize {
    20 + (mix(i as u64 * 7919) % 31) as usize
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: cheap, deterministic, good enough to vary lengths and words.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const WORDS: &[&str] = &[
    "leaders",
    "team",
    "trust",
    "budget",
    "council",
    "city",
    "county",
    "manager",
    "staff",
    "community",
    "residents",
    "plan",
    "strategy",
    "culture",
    "meeting",
    "decision",
    "data",
    "public",
    "service",
    "people",
    "change",
    "growth",
    "feedback",
    "goals",
    "results",
    "employees",
    "training",
    "policy",
    "housing",
    "transit",
    "water",
    "safety",
    "police",
    "library",
    "parks",
    "workforce",
    "hiring",
    "retention",
    "morale",
    "coaching",
    "mentor",
    "listening",
    "clarity",
    "purpose",
    "vision",
    "values",
    "accountability",
    "priorities",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "for",
    "with",
    "on",
    "that",
    "is",
    "are",
    "was",
    "their",
    "our",
    "every",
    "most",
    "new",
    "better",
    "local",
    "small",
    "large",
    "first",
    "annual",
    "quarterly",
    "difficult",
    "simple",
    "honest",
    "practical",
    "effective",
    "builds",
    "makes",
    "helps",
    "shows",
    "needs",
    "keeps",
    "starts",
    "learns",
    "asks",
];

fn sentence(seed: u64, min: usize, max: usize) -> String {
    let n = min + (mix(seed) % (max - min + 1) as u64) as usize;
    let mut s = String::new();
    for k in 0..n {
        let w = WORDS
            [(mix(seed.wrapping_mul(31).wrapping_add(k as u64)) % WORDS.len() as u64) as usize];
        if k == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

fn paragraph(seed: u64) -> String {
    let n = 3 + (mix(seed ^ 0xabc) % 4) as usize;
    (0..n)
        .map(|k| sentence(seed.wrapping_mul(131).wrapping_add(k as u64), 8, 22))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Headlines mix common words with rarer ones from a vocabulary of ~2,000 made-up terms,
/// as real headlines draw on a large vocabulary.
fn title(i: usize, j: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ner", "sta", "vo", "tri", "pel", "dor", "qua", "ben", "sil", "mar",
        "tu", "gra", "fen", "lix", "ro", "zan", "cho", "vel", "pri", "dru", "sen", "tal", "mor",
        "gev", "hal", "ister", "ux", "wen", "yor", "cal", "dex", "fo", "lum", "ova", "ric", "sto",
        "tem", "bri", "nox", "pha", "rel", "sad",
    ];
    let seed = (i * 1000 + j) as u64 ^ 0x7171;
    let n = 5 + (mix(seed) % 6) as usize;
    let words: Vec<String> = (0..n)
        .map(|k| {
            let r = mix(seed.wrapping_mul(37).wrapping_add(k as u64));
            if r.is_multiple_of(3) {
                WORDS[(r >> 8) as usize % WORDS.len()].to_string()
            } else {
                let a = SYLLABLES[(r >> 8) as usize % SYLLABLES.len()];
                let b = SYLLABLES[(r >> 20) as usize % SYLLABLES.len()];
                format!("{a}{b}")
            }
        })
        .collect();
    let mut t = words.join(" ");
    if let Some(f) = t.get(..1) {
        t = f.to_uppercase() + &t[1..];
    }
    format!("{t} ({i}-{j})")
}

/// Posts are an hour apart, newest first, the newest an hour old.
fn published(epoch: u64, i: usize, j: usize) -> u64 {
    epoch - 3600 * (1 + j as u64) - (i as u64 % 60) * 60
}

fn http_date(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn article_body(i: usize, j: usize, paragraphs: usize) -> String {
    let mut s = String::new();
    for k in 0..paragraphs {
        let seed = (i * 100_000 + j * 100 + k) as u64;
        if k == 2 {
            s.push_str(&format!("<h2>{}</h2>\n", sentence(seed ^ 0x55, 3, 6)));
        }
        s.push_str("<p>");
        s.push_str(&paragraph(seed));
        if k % 3 == 1 {
            s.push_str(" See <a href=\"https://example.com/resource\">this resource</a>.");
        }
        s.push_str("</p>\n");
    }
    s
}

fn feed_xml(a: &Args, epoch: u64, i: usize) -> String {
    let site = format!("http://{}/", host(a, i));
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
	<title>Leadership Blog {i}</title>
	<atom:link href="{feed}" rel="self" type="application/rss+xml" />
	<link>{site}</link>
	<description>Notes on leading people, number {i}</description>
	<lastBuildDate>{date}</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<sy:updateFrequency>1</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.4.2</generator>
"#,
        feed = feed_url(a, i),
        date = http_date(epoch - 3600),
    );
    for j in 0..entries_of(i) {
        let link = page_url(a, i, j);
        let body = article_body(i, j, 4 + (mix((i * 77 + j) as u64) % 5) as usize);
        s.push_str(&format!(
            r#"	<item>
		<title>{title}</title>
		<link>{link}</link>
		<comments>{link}#respond</comments>
		<dc:creator><![CDATA[Author {a}]]></dc:creator>
		<pubDate>{date}</pubDate>
		<category><![CDATA[Leadership]]></category>
		<category><![CDATA[Management]]></category>
		<guid isPermaLink="false">{site}?p={guid}</guid>
		<description><![CDATA[{desc} [&#8230;]</p>
<p>The post <a href="{link}">{title}</a> appeared first on <a href="{site}">Leadership Blog {i}</a>.</p>
]]></description>
		<content:encoded><![CDATA[{body}<p>The post <a href="{link}">{title}</a> appeared first on <a href="{site}">Leadership Blog {i}</a>.</p>
]]></content:encoded>
		<wfw:commentRss>{link}feed/</wfw:commentRss>
		<slash:comments>{comments}</slash:comments>
	</item>
"#,
            title = title(i, j),
            a = i % 17,
            date = http_date(published(epoch, i, j)),
            guid = i * 1000 + j,
            desc = paragraph((i * 100_000 + j * 100) as u64),
            comments = j % 7,
        ));
    }
    s.push_str("</channel>\n</rss>\n");
    s
}

fn page_html(a: &Args, epoch: u64, i: usize, j: usize) -> String {
    let url = page_url(a, i, j);
    let title = title(i, j);
    let date = chrono::DateTime::from_timestamp(published(epoch, i, j) as i64, 0)
        .unwrap_or_default()
        .to_rfc3339();
    let nav: String = (0..25)
        .map(|k| {
            format!(
                "<li class=\"menu-item menu-item-{k}\"><a href=\"/category/{k}/\">{}</a></li>",
                WORDS[k % WORDS.len()]
            )
        })
        .collect();
    let sidebar: String = (0..12)
        .map(|k| {
            format!(
                "<li><a href=\"/post/{i}/{k}/\">{}</a></li>",
                title_short(i, k)
            )
        })
        .collect();
    // WordPress pages carry a lot of inline CSS and script besides the article.
    let filler = "/* theme */ .wp-block-button__link{color:#fff;background-color:#32373c;border-radius:9999px;box-shadow:none;text-decoration:none;padding:calc(.667em + 2px) calc(1.333em + 2px);font-size:1.125em}\n".repeat(40);
    format!(
        r##"<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} &#8211; Leadership Blog {i}</title>
<link rel="canonical" href="{url}">
<meta property="og:site_name" content="Leadership Blog {i}">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{desc}">
<meta property="article:published_time" content="{date}">
<style id="global-styles-inline-css">{filler}</style>
<script>window._wpemojiSettings = {{"baseUrl":"https:\/\/s.w.org\/images\/core\/emoji\/14.0.0\/72x72\/","ext":".png"}};</script>
</head>
<body class="post-template-default single single-post postid-{j} single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title"><a href="/">Leadership Blog {i}</a></p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{nav}</ul></nav></header>
<div id="content" class="site-content"><main id="main" class="site-main">
<article id="post-{j}" class="post-{j} post type-post status-publish format-standard hentry category-leadership">
<header class="entry-header"><h1 class="entry-title">{title}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time class="entry-date published" datetime="{date}">{date}</time></span><span class="byline"> by <span class="author vcard">Author {au}</span></span></div></header>
<div class="entry-content">
{body}
<div class="sharedaddy"><h3>Share this:</h3><ul><li>Twitter</li><li>Facebook</li><li>LinkedIn</li></ul></div>
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="/category/leadership/">Leadership</a></span></footer>
</article>
<div id="comments" class="comments-area"><h2 class="comments-title">{c} thoughts</h2><ol class="comment-list">{comments}</ol></div>
</main>
<aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">Recent Posts</h2><ul>{sidebar}</ul></section></aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info">Proudly powered by WordPress | Theme: Twenty Twenty-One</div></footer>
</div>
<script src="/wp-includes/js/wp-embed.min.js?ver=6.4.2" id="wp-embed-js"></script>
</body>
</html>
"##,
        desc = sentence((i * 100_000 + j * 100) as u64, 15, 25),
        au = i % 17,
        body = article_body(i, j, 6 + (mix((i * 77 + j) as u64) % 8) as usize),
        c = j % 7,
        comments = (0..j % 7)
            .map(|k| format!(
                "<li class=\"comment\"><p>{}</p></li>",
                sentence((i + j + k) as u64, 6, 20)
            ))
            .collect::<String>(),
    )
}

fn title_short(i: usize, k: usize) -> String {
    sentence((i * 31 + k) as u64, 4, 7)
}

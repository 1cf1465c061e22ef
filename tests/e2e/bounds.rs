//! Input bounds (issue #11): a feed whose every field is megabytes long, served by a real
//! HTTP server on loopback and read by the real binary, leaves a small message and a small
//! database.

use std::time::Duration;

use axum::http::header;
use axum::routing::get;

/// `n` bytes of words.
fn words(n: usize) -> String {
    "monster ".repeat(n / 8)
}

/// A feed with a 1 MB title of its own and four entries each carrying one field of about
/// 4.5 MB: the title, the description (one run-on sentence), the author, the link.
fn monster_feed() -> String {
    let big = 4_500_000;
    let date = chrono::Utc::now().to_rfc2822();
    let item = |title: &str, link: &str, author: &str, description: &str| {
        format!(
            "<item><title>{title}</title><link>{link}</link><author>{author}</author>\
             <pubDate>{date}</pubDate><description>{description}</description></item>"
        )
    };
    let normal = "A council approved its budget on Tuesday. The vote was seven to two.";
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
         <title>{}</title><link>https://monster.example.org/</link>{}{}{}{}</channel></rss>",
        words(1_000_000),
        item(&words(big), "https://monster.example.org/1", "Ann", normal),
        item(
            "Long Summary",
            "https://monster.example.org/2",
            "Bo",
            &words(big)
        ),
        item(
            "Long Author",
            "https://monster.example.org/3",
            &words(big),
            normal
        ),
        item(
            "Long Link",
            &format!("https://monster.example.org/{}", "a".repeat(big)),
            "Cy",
            normal
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_with_megabyte_fields_gives_a_small_message_and_a_small_database() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let body = monster_feed();
    assert!(body.len() > 18_000_000);
    let app = axum::Router::new().route(
        "/monster.xml",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            "[brief]\nname = \"Bounds Brief\"\nfrom = \"brief@example.org\"\n\
             base_url = \"https://brief.example.org/\"\n\n\
             [fetch]\nmax_body = \"40MB\"\ntimeout = \"60s\"\n\n\
             [delivery]\ntransport = \"outbox\"\n\n\
             [[feed]]\nname = \"Monster\"\nurl = \"{base}/monster.xml\"\n"
        ),
    )
    .expect("config");
    std::fs::write(
        dir.path().join("members.csv"),
        "email,name\nann@example.org,Ann\n",
    )
    .expect("members");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(&config)
        .arg("once")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("once finishes within five minutes")
        .expect("run feedbrief");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("4 new of 4"), "{report}");

    let outbox = dir.path().join("data/outbox");
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(mails.len(), 1, "{report}");
    let eml = std::fs::read(&mails[0]).expect("eml");
    assert!(eml.len() < 100_000, "message of {} bytes", eml.len());
    let text = String::from_utf8_lossy(&eml);
    // The Subject is the lead headline: short, with its header lines folded.
    let subject: String = text
        .lines()
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' '))
        .collect();
    assert!(
        !subject.is_empty() && subject.len() < 1_500,
        "Subject of {} bytes",
        subject.len()
    );

    let db: u64 = std::fs::read_dir(dir.path().join("data"))
        .expect("data dir")
        .map(|e| e.expect("entry"))
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("feedbrief.sqlite")
        })
        .map(|e| e.metadata().expect("metadata").len())
        .sum();
    assert!(db < 1_000_000, "database of {db} bytes");
}

//! Command-line behaviour that only the binary shows: OPML import rewriting feeds.toml,
//! export, and `feeds status`.

use std::process::Command;

fn feedbrief(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run feedbrief")
}

#[test]
fn opml_import_adds_feeds_keeps_comments_and_export_lists_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        "# Our brief; keep this comment.\n[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\n\
         [[section]]\nname = \"Leading Edge\"\n\n[[feed]]\nname = \"Old\"\nurl = \"https://old.example.org/feed\"\n",
    )
    .expect("config");
    let opml = dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
           <outline text="Leading Edge"><outline type="rss" text="New One" xmlUrl="https://new.example.org/rss"/></outline>
           <outline type="rss" text="Old" xmlUrl="https://old.example.org/feed"/></body></opml>"#,
    )
    .expect("opml");
    let out = feedbrief(
        &config,
        &["feeds", "import-opml", opml.to_str().expect("utf8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 feeds added, 1 already present"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(
        text.starts_with("# Our brief; keep this comment."),
        "{text}"
    );
    assert!(
        text.contains("url = \"https://new.example.org/rss\""),
        "{text}"
    );
    assert!(text.contains("section = \"Leading Edge\""), "{text}");

    let out = feedbrief(&config, &["feeds", "export-opml"]);
    assert!(out.status.success());
    let exported = String::from_utf8_lossy(&out.stdout);
    assert!(
        exported.contains("xmlUrl=\"https://new.example.org/rss\""),
        "{exported}"
    );
    assert!(
        exported.contains("xmlUrl=\"https://old.example.org/feed\""),
        "{exported}"
    );

    // A file that is not OPML changes nothing and says why (exit 2).
    std::fs::write(&opml, "<rss/>").expect("write");
    let out = feedbrief(
        &config,
        &["feeds", "import-opml", opml.to_str().expect("utf8")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OPML"));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), text);
}

#[test]
fn run_stops_cleanly_on_sigterm_and_serves_health_meanwhile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    // A port picked by the OS, freed again for the daemon to take.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    std::fs::write(
        &config,
        format!(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[fetch]\ninterval = \"1h\"\n[web]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait (bounded) for the health endpoint to answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let healthy = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if body.contains("\"status\":\"ok\"") {
                break true;
            }
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(healthy, "healthz never answered: {stderr}");
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn feeds_status_shows_state_next_fetch_and_what_needs_attention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    let good = dir.path().join("good.xml");
    std::fs::write(
        &good,
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>G</title>\
         <item><title>One</title><link>https://g.example.org/1</link></item></channel></rss>",
    )
    .expect("feed");
    let good_url = url::Url::from_file_path(&good).expect("url");
    let missing_url = url::Url::from_file_path(dir.path().join("missing.xml")).expect("url");
    std::fs::write(
        &config,
        format!(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[fetch]\narticles = false\nattention_after = \"1ms\"\n\
             [[feed]]\nname = \"Good\"\nurl = \"{good_url}\"\n[[feed]]\nname = \"Missing\"\nurl = \"{missing_url}\"\n"
        ),
    )
    .expect("config");
    let out = feedbrief(&config, &["fetch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = feedbrief(&config, &["feeds", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok             Good"), "{text}");
    assert!(text.contains("next fetch"), "{text}");
    assert!(text.contains("FAILING (1x)  Missing"), "{text}");
    assert!(text.contains("feeds needing attention: 1"), "{text}");
    assert!(text.contains("Missing: failing since"), "{text}");
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[fetch]\ntimeout = \"1s\"\n\
         [[feed]]\nname = \"F\"\nurl = \"http://127.0.0.1:9/feed.xml\"\n",
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(&config)
        .args(["fetch"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run feedbrief");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INFO") || stderr.contains("WARN"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in a piped log: {stderr:?}"
    );
}

//! Members files as people really write them, through the real binary: line breaks and
//! huge values in names, stray quotes. One bad row costs that row (or that member) only,
//! and no header line of a digest exceeds RFC 5322's 998 characters.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use super::{config_text, header, smtp_transport, spawn_http, spawn_smtp};

/// `feedbrief --config <dir>/feeds.toml <args>`, run to the end.
fn feedbrief(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .args(args)
        .output()
        .expect("run feedbrief")
}

/// A brief delivering to the SMTP sink on `smtp_port`, on the real clock (the binary's):
/// the fixture stories count as new however old they are.
fn brief_dir(http: &str, smtp_port: u16, members: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_text(http, &smtp_transport(smtp_port), "").replace(
        "data_dir = \"data\"",
        "data_dir = \"data\"\nfirst_window = \"3650d\"",
    );
    std::fs::write(dir.path().join("feeds.toml"), config).expect("write config");
    std::fs::write(dir.path().join("members.csv"), members).expect("write members");
    dir
}

/// Messages received per recipient address.
fn per_recipient(mails: &[super::Mail]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for m in mails {
        for to in &m.to {
            out.entry(to.clone()).or_default().push(m.data.clone());
        }
    }
    out
}

/// Every line of the message's header block is within RFC 5322's 998 characters.
fn assert_header_lines_fit(to: &str, data: &str) {
    let head = data.split("\r\n\r\n").next().unwrap_or(data);
    for line in head.split("\r\n") {
        assert!(
            line.len() <= 998,
            "{to}: a header line of {} characters: {}…",
            line.len(),
            &line[..80]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_line_breaks_or_thousands_of_characters_still_get_one_digest_each() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let spaced = "Word ".repeat(400);
    let solid = "x".repeat(2000);
    let wide = "é".repeat(2000);
    let members = format!(
        "email,name\n\
         ann@example.org,Ann Lee\n\
         lf@example.org,\"Bad\nName\"\n\
         cr@example.org,\"Bad\rName\"\n\
         crlf@example.org,\"Bad\r\nName\"\n\
         spaced@example.org,{spaced}\n\
         solid@example.org,{solid}\n\
         wide@example.org,{wide}\n\
         old@example.org,Old Name\n"
    );
    let dir = brief_dir(&http, smtp.port, &members);

    // Import only, then give one member a name an older version could have stored.
    let file = dir.path().join("members.csv");
    let out = feedbrief(
        dir.path(),
        &["members", "import", file.to_str().expect("utf8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = rusqlite::Connection::open(dir.path().join("data/feedbrief.sqlite")).expect("db");
    db.execute(
        "UPDATE members SET name = ?1 WHERE email = 'old@example.org'",
        ["Old\r\nStored\rName\n"],
    )
    .expect("update");
    drop(db);
    // The members file now matches the store except for that name: no import rewrites it.
    std::fs::remove_file(&file).expect("remove members.csv");

    let out = feedbrief(dir.path(), &["once"]);
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{report}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let got = per_recipient(&smtp.mails());
    let everyone = [
        "ann@example.org",
        "lf@example.org",
        "cr@example.org",
        "crlf@example.org",
        "spaced@example.org",
        "solid@example.org",
        "wide@example.org",
        "old@example.org",
    ];
    for to in everyone {
        let mails = got.get(to).map_or(&[][..], Vec::as_slice);
        assert_eq!(mails.len(), 1, "{to}: {} messages\n{report}", mails.len());
        assert_header_lines_fit(to, &mails[0]);
    }
    assert_eq!(got.len(), everyone.len(), "{:?}", got.keys());
    for (to, name) in [
        ("lf@example.org", "\"Bad Name\" <lf@example.org>"),
        ("cr@example.org", "\"Bad Name\" <cr@example.org>"),
        ("crlf@example.org", "\"Bad Name\" <crlf@example.org>"),
        ("old@example.org", "\"Old Stored Name\" <old@example.org>"),
    ] {
        assert_eq!(header(&got[to][0], "To").as_deref(), Some(name));
    }
    assert!(report.contains("8 sent, 0 deferred, 0 failed"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_quotes_in_a_large_members_file_cost_only_their_own_rows() {
    const ROWS: usize = 100_000;
    let stray = |i: usize| i % 1000 == 500;
    let unknown_section = |i: usize| i % 1000 == 250;
    let mut members = String::from("email,name,sections\r\n");
    for i in 0..ROWS {
        let name = if stray(i) {
            format!("\"Member {i}")
        } else if i % 1000 == 750 {
            // A properly quoted field may hold a comma and a line break.
            format!("\"Member, {i}\r\nJr.\"")
        } else {
            format!("Member {i}")
        };
        let section = if unknown_section(i) {
            "Nope"
        } else {
            "Workforce"
        };
        members.push_str(&format!("m{i}@example.org,{name},{section}\r\n"));
    }
    // Row i sits on line i + 2, plus one for each quoted line break before it.
    let line_of = |i: usize| i + 2 + (i + 249) / 1000;
    let bad: Vec<usize> = (0..ROWS).filter(|&i| stray(i)).collect();
    // An unknown section, or a line break in the name, is a warning on an imported row.
    let warned = (0..ROWS)
        .filter(|&i| unknown_section(i) || i % 1000 == 750)
        .count();

    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    let dir = brief_dir(&http, smtp.port, &members);
    let file = dir.path().join("members.csv");
    let out = feedbrief(
        dir.path(),
        &["members", "import", file.to_str().expect("utf8")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "{} added, 0 updated, 0 unchanged, {} rows skipped",
            ROWS - bad.len(),
            bad.len()
        )),
        "{stdout}"
    );
    let reported: Vec<usize> = stderr
        .lines()
        .filter_map(|l| {
            l.split_once(": skipped line ")?
                .1
                .split(':')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let expected: Vec<usize> = bad.iter().map(|&i| line_of(i)).collect();
    assert_eq!(reported, expected, "{stderr}");

    // A cycle reports the same file: nothing new, the same rows skipped, and the rows with
    // a warning counted as imported, not as skipped.
    let out = feedbrief(dir.path(), &["once", "--no-send"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains(&format!(
            "{} active ({}: 0 added, 0 updated, {} unchanged, {} rows skipped, {warned} imported with warnings)",
            ROWS - bad.len(),
            file.display(),
            ROWS - bad.len(),
            bad.len()
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "  skipped row line {}: a quote (\") opened on this line is never closed",
            line_of(500)
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "  warning line {}: m250@example.org imported, but unknown section \"Nope\" ignored",
            line_of(250)
        )),
        "{report}"
    );
    assert!(smtp.mails().is_empty());
}

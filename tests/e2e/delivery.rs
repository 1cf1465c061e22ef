//! Members, one-click unsubscribe, the archive, DKIM, and delivery that neither loses nor
//! doubles a digest — against the real web endpoints and a real SMTP server.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use feedbrief::cycle;
use feedbrief::mail;
use feedbrief::store::MemberStatus;
use tokio_util::sync::CancellationToken;

use super::{
    Env, client, config_text, fetch, header, now, open, smtp_transport, spawn_http, spawn_smtp,
    spawn_web,
};

/// The RFC 8058 one-click POST a mail client sends to the List-Unsubscribe URL.
async fn one_click(c: &reqwest::Client, url: &str) -> reqwest::Response {
    c.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post")
}

fn status_of(env: &Env, email: &str) -> MemberStatus {
    env.app
        .store()
        .members()
        .expect("members")
        .into_iter()
        .find(|m| m.email == email)
        .map(|m| m.status)
        .expect("member exists")
}

fn token_of(env: &Env, email: &str) -> String {
    let m = env
        .app
        .store()
        .members()
        .expect("members")
        .into_iter()
        .find(|m| m.email == email)
        .expect("member exists");
    env.app.secret.token(m.id, &m.email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_post_unsubscribes_get_does_not_and_reimport_does_not_resubscribe() {
    let (http, _) = spawn_http().await;
    let members = "ann@example.org,Ann\nbo@example.org,Bo\ncy@example.org,Cy\n";
    let env = open(&config_text(&http, "transport = \"outbox\"", ""), members);
    cycle::import_members(&env.app, now()).expect("import");
    let web = spawn_web(&env.app).await;
    let c = client();
    let url = format!("{web}/unsubscribe/{}", token_of(&env, "ann@example.org"));

    // GET shows one button and changes nothing (link scanners prefetch GETs).
    let page = c.get(&url).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("<form method=\"post\">"), "{html}");
    assert!(html.contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
    assert_eq!(status_of(&env, "ann@example.org"), MemberStatus::Active);

    // RFC 8058 one-click POST: 200, no redirect, no cookie; repeating it is harmless.
    for _ in 0..2 {
        let r = one_click(&c, &url).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("location").is_none());
        assert!(r.headers().get("set-cookie").is_none());
    }
    assert_eq!(
        status_of(&env, "ann@example.org"),
        MemberStatus::Unsubscribed
    );

    // Multipart bodies work too (some providers send those).
    let bo = format!("{web}/unsubscribe/{}", token_of(&env, "bo@example.org"));
    let r = c
        .post(&bo)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(
        status_of(&env, "bo@example.org"),
        MemberStatus::Unsubscribed
    );

    // A re-import of the same file does not resubscribe anyone.
    cycle::import_members(&env.app, now()).expect("import");
    assert_eq!(
        status_of(&env, "ann@example.org"),
        MemberStatus::Unsubscribed
    );
    assert_eq!(
        status_of(&env, "bo@example.org"),
        MemberStatus::Unsubscribed
    );

    // The next digest goes to the one member left.
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    assert_eq!(report.delivery.sent, 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_foreign_token_gets_404_and_changes_nothing() {
    let (http, _) = spawn_http().await;
    let env = open(
        &config_text(&http, "transport = \"outbox\"", ""),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    );
    cycle::import_members(&env.app, now()).expect("import");
    let web = spawn_web(&env.app).await;
    let c = client();
    let real = token_of(&env, "ann@example.org");
    let (id, mac) = real.split_once('.').expect("token shape");
    let bo_id = env
        .app
        .store()
        .members()
        .expect("m")
        .into_iter()
        .find(|m| m.email == "bo@example.org")
        .expect("bo")
        .id;
    let mut flipped = mac.to_string();
    flipped.replace_range(0..1, if mac.starts_with('0') { "1" } else { "0" });
    for bad in [
        format!("{id}.{flipped}"),
        format!("{bo_id}.{mac}"),
        "nonsense".to_string(),
        id.to_string(),
    ] {
        let r = one_click(&c, &format!("{web}/unsubscribe/{bad}")).await;
        assert_eq!(r.status(), 404, "token {bad}");
        assert_eq!(
            c.get(format!("{web}/unsubscribe/{bad}"))
                .send()
                .await
                .expect("get")
                .status(),
            404
        );
    }
    assert_eq!(status_of(&env, "ann@example.org"), MemberStatus::Active);
    assert_eq!(status_of(&env, "bo@example.org"), MemberStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_takes_effect_for_the_next_message_of_a_digest_in_progress() {
    let (http, _) = spawn_http().await;
    let env = open(
        &config_text(&http, "transport = \"outbox\"", ""),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    );
    cycle::import_members(&env.app, now()).expect("import");
    fetch(&env, now()).await;
    let digest = cycle::next_digest(&env.app, now())
        .expect("select")
        .expect("a digest");
    cycle::record_digest(&env.app, &digest, now()).expect("record");
    // Deliveries are owed to both; Bo unsubscribes before his message goes out.
    let web = spawn_web(&env.app).await;
    let url = format!("{web}/unsubscribe/{}", token_of(&env, "bo@example.org"));
    let r = one_click(&client(), &url).await;
    assert_eq!(r.status(), 200);
    let sender = Arc::new(
        feedbrief::mail::transport::Sender::new(
            &env.app.config.delivery.transport,
            1,
            Duration::from_secs(5),
        )
        .expect("sender"),
    );
    let report = mail::deliver_pending(&env.app, &sender, &CancellationToken::new())
        .await
        .expect("deliver");
    assert_eq!(report.sent, 1);
    let files = std::fs::read_dir(env.dir.path().join("data/outbox"))
        .expect("outbox")
        .count();
    assert_eq!(files, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_shows_sent_digests_without_any_member_token() {
    let (http, _) = spawn_http().await;
    let env = open(
        &config_text(&http, "transport = \"outbox\"", ""),
        "ann@example.org,Ann\n",
    );
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let web = spawn_web(&env.app).await;
    let c = client();
    let index = c.get(format!("{web}/archive")).send().await.expect("get");
    assert_eq!(index.status(), 200);
    let index = index.text().await.expect("body");
    assert!(index.contains("href=\"archive/1\""), "{index}");
    let issue = c.get(format!("{web}/archive/1")).send().await.expect("get");
    assert_eq!(issue.status(), 200);
    let issue = issue.text().await.expect("body");
    assert!(issue.contains("Snow Plans That Residents Actually Read"));
    assert!(
        !issue.contains("/unsubscribe/"),
        "the web copy identifies no one"
    );
    assert!(!issue.contains("ann@example.org"));
    assert_eq!(
        c.get(format!("{web}/archive/99"))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    let health = c.get(format!("{web}/healthz")).send().await.expect("get");
    assert_eq!(health.status(), 200);
    assert!(
        health
            .text()
            .await
            .expect("body")
            .contains("\"status\":\"ok\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_421_after_data_is_retried_and_delivered_once() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(
        &config_text(&http, &smtp_transport(smtp.port), ""),
        "once421@example.org,Once\nann@example.org,Ann\n",
    );
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    assert_eq!(report.delivery.sent, 2, "{report}");
    assert_eq!(report.delivery.deferred, 0, "{report}");
    let to: Vec<String> = smtp.mails().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(
        to.iter()
            .filter(|t| t.as_str() == "once421@example.org")
            .count(),
        1,
        "{to:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_550_suppresses_the_member_for_good() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    let env = open(
        &config_text(&http, &smtp_transport(smtp.port), ""),
        "ann@example.org,Ann\nbounce@example.org,Gone\n",
    );
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    assert_eq!(report.delivery.failed, 1, "{report}");
    assert_eq!(status_of(&env, "bounce@example.org"), MemberStatus::Bounced);
    let reason = env
        .app
        .store()
        .members()
        .expect("m")
        .into_iter()
        .find(|m| m.email == "bounce@example.org")
        .and_then(|m| m.reason);
    assert!(reason.is_some_and(|r| r.contains("550")));
    cycle::import_members(&env.app, now()).expect("re-import");
    assert_eq!(
        status_of(&env, "bounce@example.org"),
        MemberStatus::Bounced,
        "re-import does not undo a bounce"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_signature_verifies_over_the_listed_headers() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let key = super::fixtures().join("dkim/test-key.pem");
    let transport = format!(
        "{}\ndkim_selector = \"brief2026\"\ndkim_domain = \"example.org\"\ndkim_key = \"{}\"",
        smtp_transport(smtp.port),
        key.display()
    );
    let env = open(&config_text(&http, &transport, ""), "ann@example.org,Ann\n");
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let raw = &mails[0].data;
    let sig = header(raw, "DKIM-Signature").expect("signed");
    let tags: std::collections::HashMap<String, String> = sig
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.split_whitespace().collect::<String>(),
            )
        })
        .collect();
    assert_eq!(tags["d"], "example.org");
    assert_eq!(tags["s"], "brief2026");
    assert_eq!(tags["a"], "rsa-sha256");
    let signed: Vec<String> = tags["h"]
        .split(':')
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for required in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            signed.contains(&required.to_string()),
            "h= lacks {required}: {}",
            tags["h"]
        );
    }
    assert!(verify_dkim(raw, &tags), "signature does not verify");
    // Tampering with a signed header breaks it: the check is real.
    let tampered = raw.replacen(
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "List-Unsubscribe-Post: List-Unsubscribe=Two-Click",
        1,
    );
    assert_ne!(&tampered, raw);
    assert!(!verify_dkim(&tampered, &tags));
}

/// RFC 6376 verification with relaxed/relaxed canonicalization, against the public key
/// in the fixtures (what DNS would publish).
fn verify_dkim(raw: &str, tags: &std::collections::HashMap<String, String>) -> bool {
    use rsa::pkcs8::DecodePublicKey;
    use sha2_010::{Digest, Sha256};
    assert_eq!(tags["c"], "relaxed/relaxed");
    let (head, body) = raw.split_once("\r\n\r\n").expect("header/body split");
    // Body: strip trailing whitespace on lines, collapse runs of WSP, drop trailing empty lines.
    let mut lines: Vec<String> = body
        .split("\r\n")
        .map(|l| {
            // Runs of WSP become one SP (a leading run too); trailing WSP goes.
            let mut out = String::new();
            let mut in_ws = false;
            for c in l.trim_end_matches([' ', '\t']).chars() {
                if c == ' ' || c == '\t' {
                    if !in_ws {
                        out.push(' ');
                    }
                    in_ws = true;
                } else {
                    out.push(c);
                    in_ws = false;
                }
            }
            out
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let canon_body = if lines.is_empty() {
        String::new()
    } else {
        lines.join("\r\n") + "\r\n"
    };
    let bh = Sha256::digest(canon_body.as_bytes());
    if super::base64_decode(&tags["bh"]) != bh.as_slice() {
        return false;
    }
    // Headers: unfold, lowercase names, collapse whitespace, in h= order.
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((n, v)) = line.split_once(':') {
            fields.push((n.to_string(), v.to_string()));
        }
    }
    let relax = |n: &str, v: &str| {
        format!(
            "{}:{}",
            n.trim().to_ascii_lowercase(),
            v.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let mut input = String::new();
    for h in tags["h"].split(':') {
        if let Some((n, v)) = fields
            .iter()
            .rev()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(h.trim()))
        {
            input.push_str(&relax(n, v));
            input.push_str("\r\n");
        }
    }
    let (n, v) = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("DKIM-Signature"))
        .expect("sig");
    // The signature's own header enters the hash with an empty b= value.
    let sig_value = v
        .split(';')
        .map(|part| {
            let lead = part.len() - part.trim_start().len();
            if part.trim_start().starts_with("b=") {
                format!("{}b=", &part[..lead])
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(";");
    input.push_str(&relax(n, &sig_value));
    let hash = Sha256::digest(input.as_bytes());
    let pem =
        std::fs::read_to_string(super::fixtures().join("dkim/test-key.pub.pem")).expect("pub key");
    let key = rsa::RsaPublicKey::from_public_key_pem(&pem).expect("parse pub key");
    let signature = super::base64_decode(&tags["b"]);
    key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &hash, &signature)
        .is_ok()
}

/// `kill -9` in the middle of a send, then `once` again: every member gets the digest,
/// and only messages in flight at the crash (at most `connections`) arrive twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_send_then_once_again_loses_no_member_and_doubles_at_most_connections() {
    const MEMBERS: usize = 200;
    const CONNECTIONS: usize = 4;
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    smtp.delay_ms.store(15, Ordering::SeqCst);
    let members: String = (0..MEMBERS)
        .map(|i| format!("m{i:03}@example.org,Member {i}\n"))
        .collect();
    let config = config_text(&http, &smtp_transport(smtp.port), "")
        .replace("connections = 2", &format!("connections = {CONNECTIONS}"))
        // The binary runs on the real clock; the fixture stories must still count as new.
        .replace(
            "data_dir = \"data\"",
            "data_dir = \"data\"\nfirst_window = \"3650d\"",
        );
    let env = open(&config, &members);
    let config_path = env.dir.path().join("feeds.toml");
    let run_once = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
            .args(["--config", config_path.to_str().expect("utf8"), "once"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn feedbrief")
    };
    let mut child = run_once();
    // Wait until a good part, but not all, of the members have been sent to.
    let started = Instant::now();
    while smtp.mails().len() < MEMBERS / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sending never got going"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9"); // SIGKILL on Unix: no cleanup runs.
    child.wait().expect("reap");
    let at_kill = smtp.mails().len();
    assert!(
        at_kill < MEMBERS,
        "killed too late to prove anything ({at_kill})"
    );

    let second = run_once().wait_with_output().expect("second once");
    let report = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let mut counts = std::collections::HashMap::new();
    for m in smtp.mails() {
        for to in m.to {
            *counts.entry(to).or_insert(0usize) += 1;
        }
    }
    let missing: Vec<String> = (0..MEMBERS)
        .map(|i| format!("m{i:03}@example.org"))
        .filter(|a| !counts.contains_key(a))
        .collect();
    assert!(
        missing.is_empty(),
        "members without the digest: {missing:?}"
    );
    let doubled: usize = counts.values().map(|&c| c - 1).sum();
    assert!(
        doubled <= CONNECTIONS,
        "{doubled} duplicates, more than the {CONNECTIONS} in flight"
    );
    eprintln!(
        "kill -9 after {at_kill} of {MEMBERS} messages; {doubled} duplicate(s) after the restart"
    );
    // No new stories on the second run: it only finished the interrupted digest.
    assert!(report.contains("no new stories"), "{report}");
}

/// One digest row that cannot be read (damaged JSON) used to fail every delivery run, and
/// the cycle stopped before building anything new. It is set aside and reported; the new
/// digest is built and sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_digest_is_set_aside_and_the_next_one_still_goes_out() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(
        &config_text(&http, &smtp_transport(smtp.port), ""),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    );
    let now = now();
    cycle::import_members(&env.app, now).expect("members");
    fetch(&env, now).await;
    let digest = cycle::next_digest(&env.app, now)
        .expect("select")
        .expect("a digest");
    let damaged = cycle::record_digest(&env.app, &digest, now).expect("record");
    let db = rusqlite::Connection::open(env.dir.path().join("data/feedbrief.sqlite")).expect("db");
    db.execute(
        "UPDATE digests SET content = '{\"created_at\": ' WHERE id = ?1",
        [damaged],
    )
    .expect("damage the row");
    // A new story for the next digest.
    {
        let store = env.app.store();
        let feed = store
            .sync_feeds(&[(format!("{http}/atom.xml"), "Public Works Notes".into())])
            .expect("feeds")
            .remove(0);
        let entry = feedbrief::store::NewEntry {
            key: "fresh-1".into(),
            url: Some("https://fresh.example.org/roads".into()),
            title: "Road Crews Try Four-Day Weeks".into(),
            author: None,
            published_at: Some(now + chrono::Duration::hours(1)),
            summary: Some("A city moved its road crews to four ten-hour days.".into()),
            source: None,
            paywalled: false,
            from_page: false,
            page_wanted: false,
            image: None,
        };
        store
            .insert_entries(feed.id, &[entry], now)
            .expect("insert");
    }
    let report = cycle::once(
        &env.app,
        now + chrono::Duration::hours(2),
        true,
        &CancellationToken::new(),
    )
    .await
    .expect("the cycle goes on");
    let text = report.to_string();
    assert!(
        text.contains(&format!("digest #{damaged}")) && text.contains("set aside"),
        "{text}"
    );
    assert!(
        matches!(report.digest, cycle::DigestOutcome::Built { id: Some(id), .. } if id != damaged),
        "{text}"
    );
    assert_eq!(report.delivery.sent, 2, "{text}");
    assert_eq!(report.delivery.failed, 2, "{text}");
    let subjects: Vec<String> = smtp
        .mails()
        .iter()
        .filter_map(|m| header(&m.data, "Subject"))
        .collect();
    assert!(
        subjects.iter().all(|s| s.contains("Four-Day")),
        "{subjects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_feeds_entries_digests_deliveries_and_members_by_status() {
    let (http, _) = spawn_http().await;
    let env = open(
        &config_text(&http, "transport = \"outbox\"", ""),
        "ann@example.org,Ann\nbo@example.org,Bo\n",
    );
    cycle::import_members(&env.app, now()).expect("import");
    let web = spawn_web(&env.app).await;
    let c = client();
    let bo = format!("{web}/unsubscribe/{}", token_of(&env, "bo@example.org"));
    assert_eq!(one_click(&c, &bo).await.status(), 200);
    cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let r = c.get(format!("{web}/metrics")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    for line in [
        "feedbrief_feeds{state=\"failing\"} 1",
        "feedbrief_feeds{state=\"ok\"} 4",
        "feedbrief_digests 1",
        "feedbrief_deliveries{status=\"sent\"} 1",
        "feedbrief_members{status=\"active\"} 1",
        "feedbrief_members{status=\"unsubscribed\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    let entries: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("feedbrief_entries "))
        .and_then(|n| n.parse().ok())
        .expect("an entries count");
    assert!(entries > 0.0, "{text}");
    // Only statuses some row has are listed, each once.
    assert!(!text.contains("status=\"bounced\""), "{text}");
    assert_eq!(text.matches("feedbrief_members{").count(), 2, "{text}");
}

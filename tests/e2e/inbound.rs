//! Inbound mail over real SMTP on loopback: a digest goes out with VERP envelope senders
//! (seen by the mailin sink), then bounces, complaints and mailed unsubscribes reach our
//! own listener from a plain TCP SMTP client, and the members' statuses follow. Hostile
//! mail (forged macs, other domains, oversized, endless lines) changes nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use feedbrief::app::App;
use feedbrief::store::{MemberEventKind, MemberStatus};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

use super::*;

const DOMAIN: &str = "bounces.example.org";

/// The e2e config with a bounce domain and `inbound` lines of its own.
fn inbound_config(http: &str, transport: &str, inbound: &str) -> String {
    format!(
        "{}\n[inbound]\nbounce_domain = \"{DOMAIN}\"\n{inbound}\n",
        config_text(http, transport, "")
    )
}

/// Our listener on 127.0.0.1:0, serving `app` until the token is cancelled.
async fn listen(app: &Arc<App>) -> (u16, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let cancel = CancellationToken::new();
    tokio::spawn(feedbrief::inbound::serve(
        Arc::clone(app),
        listener,
        cancel.clone(),
    ));
    (port, cancel)
}

/// A plain SMTP client: one command, one (possibly multi-line) reply, each read bounded.
struct Client {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Client {
    /// Connects and returns the client with the server's greeting.
    async fn connect(port: u16) -> (Self, String) {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (read, write) = stream.into_split();
        let mut c = Self {
            read: BufReader::new(read),
            write,
        };
        let greeting = c.reply().await;
        (c, greeting)
    }

    /// The next reply, its lines joined; empty when the server closed the connection.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        for _ in 0..20 {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(20), self.read.read_line(&mut line))
                .await
                .expect("a reply within 20 s")
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        all
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

/// Delivers `mail` to `rcpts` in one transaction; returns every reply from MAIL on (the
/// last is the answer to the message, or to DATA when it was refused).
async fn deliver(port: u16, rcpts: &[&str], mail: &[u8]) -> Vec<String> {
    let (mut c, greeting) = Client::connect(port).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    let ehlo = c.cmd("EHLO relay.test").await;
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    let mut replies = vec![c.cmd("MAIL FROM:<>").await];
    for r in rcpts {
        replies.push(c.cmd(&format!("RCPT TO:<{r}>")).await);
    }
    let data = c.cmd("DATA").await;
    if !data.starts_with("354") {
        replies.push(data);
        return replies;
    }
    // CRLF line ends and dot-stuffing, as a relay sends them.
    let text = String::from_utf8_lossy(mail).replace("\r\n", "\n");
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with('.') {
            body.push('.');
        }
        body.push_str(line);
        body.push_str("\r\n");
    }
    body.push_str(".\r\n");
    c.send(body.as_bytes()).await;
    replies.push(c.reply().await);
    let _ = c.cmd("QUIT").await;
    replies
}

fn bounce(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("bounces").join(name)).expect("fixture")
}

fn member(env: &Env, email: &str) -> feedbrief::store::Member {
    env.app
        .store()
        .member_by_email(email)
        .expect("query")
        .expect("member")
}

fn statuses(env: &Env) -> Vec<(String, MemberStatus)> {
    env.app
        .store()
        .members()
        .expect("members")
        .into_iter()
        .map(|m| (m.email, m.status))
        .collect()
}

/// The member's VERP address for `purpose`, as delivery writes it.
fn verp(env: &Env, email: &str, unsubscribe: bool) -> String {
    let m = member(env, email);
    let v =
        feedbrief::mail::delivery::verp_addresses(&env.app.config, &env.app.secret, m.id, email)
            .expect("a bounce domain is set");
    if unsubscribe {
        v.unsubscribe.to_string()
    } else {
        v.bounces.to_string()
    }
}

/// An env with the three members of `MEMBERS` imported and no feed fetched.
async fn members_env(inbound: &str) -> Env {
    let env = open(
        &inbound_config("http://127.0.0.1:9", "transport = \"outbox\"", inbound),
        MEMBERS,
    );
    let app = Arc::clone(&env.app);
    app.blocking("import", |app| cycle::import_members(app, now()).map(drop))
        .await
        .expect("import");
    assert_eq!(statuses(&env).len(), 3);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_goes_out_from_each_members_verp_address_and_a_dsn_to_it_bounces_that_member() {
    let (http, _) = spawn_http().await;
    let smtp = spawn_smtp();
    smtp.flaky.store(false, Ordering::SeqCst);
    let env = open(
        &inbound_config(&http, &smtp_transport(smtp.port), ""),
        MEMBERS,
    );
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "{report}");
    for mail in &mails {
        let to = &mail.to[0];
        let id = member(&env, to).id;
        // The envelope names the member; the From header stays the brief's.
        let prefix = format!("bounces+{id}-");
        assert!(
            mail.from.starts_with(&prefix) && mail.from.ends_with(&format!("@{DOMAIN}")),
            "MAIL FROM {:?} for {to}",
            mail.from
        );
        assert_eq!(mail.from, verp(&env, to, false));
        assert!(
            header(&mail.data, "From").is_some_and(|f| f.contains("<brief@example.org>")),
            "{}",
            mail.data
        );
        let unsubscribe = header(&mail.data, "List-Unsubscribe").expect("List-Unsubscribe");
        assert!(
            unsubscribe.contains(&format!(
                "<mailto:{}?subject=unsubscribe>",
                verp(&env, to, true)
            )),
            "{unsubscribe}"
        );
        assert!(unsubscribe.contains("https://brief.example.org/unsubscribe/"));
    }

    // The relay's DSN comes back to Ann's envelope sender. It reports the address the
    // relay forwarded to (ada@members.example.com): the VERP address names Ann anyway.
    let (port, _stop) = listen(&env.app).await;
    let ann = mails
        .iter()
        .find(|m| m.to == ["ann@example.org"])
        .expect("ann's digest");
    let replies = deliver(port, &[&ann.from], &bounce("dsn-user-unknown.eml")).await;
    assert!(replies.iter().all(|r| r.starts_with('2')), "{replies:?}");
    assert_eq!(
        statuses(&env),
        vec![
            ("ann@example.org".to_string(), MemberStatus::Bounced),
            ("bo@example.org".to_string(), MemberStatus::Active),
            ("cy@example.org".to_string(), MemberStatus::Active),
        ]
    );
    let reason = member(&env, "ann@example.org").reason.expect("reason");
    assert!(
        reason.contains("hard bounce") && reason.contains("5.1.1"),
        "{reason}"
    );
    let activity = env
        .app
        .store()
        .member_activity(now() - chrono::Duration::days(30))
        .expect("activity");
    let event = &activity[&member(&env, "ann@example.org").id].last;
    assert_eq!(event.kind, MemberEventKind::HardBounce);
    assert_eq!(event.status.as_deref(), Some("5.1.1"));
    assert!(
        event.evidence.contains("User unknown"),
        "{}",
        event.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_soft_bounces_suppress_a_member_two_do_not_and_members_list_shows_the_count() {
    let env = members_env("").await;
    let (port, _stop) = listen(&env.app).await;
    let full = bounce("exim-full-mailbox.eml");
    let ann = verp(&env, "ann@example.org", false);
    let bo = verp(&env, "bo@example.org", false);
    for _ in 0..3 {
        let r = deliver(port, &[&ann], &full).await;
        assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    }
    for _ in 0..2 {
        let r = deliver(port, &[&bo], &full).await;
        assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    }
    assert_eq!(
        statuses(&env),
        vec![
            ("ann@example.org".to_string(), MemberStatus::Bounced),
            ("bo@example.org".to_string(), MemberStatus::Active),
            ("cy@example.org".to_string(), MemberStatus::Active),
        ]
    );
    let reason = member(&env, "ann@example.org").reason.expect("reason");
    assert!(reason.starts_with("3 soft bounces within"), "{reason}");

    // The real binary lists the count and the last event with its evidence.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(env.dir.path().join("feeds.toml"))
        .args(["members", "list"])
        .output()
        .expect("run feedbrief");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let after = |email: &str| {
        let i = lines
            .iter()
            .position(|l| l.contains(email))
            .unwrap_or_else(|| panic!("{email} listed: {stdout}"));
        lines[i + 1]
    };
    assert!(
        after("ann@example.org").contains("soft bounces: 3 in 15days"),
        "{stdout}"
    );
    assert!(
        after("bo@example.org").contains("soft bounces: 2 in 15days"),
        "{stdout}"
    );
    assert!(after("bo@example.org").contains("soft bounce"), "{stdout}");
    assert!(after("bo@example.org").contains("mailbox full"), "{stdout}");
    // Cy had no inbound mail: no event line under him.
    assert!(
        !after("cy@example.org").contains("soft bounces"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feedback_loop_complaint_unsubscribes_at_once() {
    let env = members_env("").await;
    let (port, _stop) = listen(&env.app).await;
    let cy = verp(&env, "cy@example.org", false);
    let r = deliver(port, &[&cy], &bounce("arf-abuse.eml")).await;
    assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    let cy = member(&env, "cy@example.org");
    assert_eq!(cy.status, MemberStatus::Unsubscribed);
    assert!(
        cy.reason
            .as_deref()
            .is_some_and(|r| r.contains("complaint")),
        "{:?}",
        cy.reason
    );
    assert_eq!(member(&env, "ann@example.org").status, MemberStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_mail_to_a_members_unsubscribe_address_unsubscribes_them() {
    let env = members_env("").await;
    let (port, _stop) = listen(&env.app).await;
    let bo = verp(&env, "bo@example.org", true);
    let mail = b"From: Bo <bo@example.org>\r\nTo: <unsub>\r\nSubject: unsubscribe\r\n\r\n.\r\n..leading dots survive\r\n";
    let r = deliver(port, &[&bo], mail).await;
    assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    let bo = member(&env, "bo@example.org");
    assert_eq!(bo.status, MemberStatus::Unsubscribed);
    assert!(
        bo.reason.as_deref().is_some_and(|r| r.contains("by mail")),
        "{:?}",
        bo.reason
    );
    let activity = env
        .app
        .store()
        .member_activity(now() - chrono::Duration::days(30))
        .expect("activity");
    assert_eq!(
        activity[&bo.id].last.kind,
        MemberEventKind::MailedUnsubscribe
    );
    assert!(activity[&bo.id].last.evidence.contains("bo@example.org"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_cut_or_foreign_addresses_are_refused_and_change_nothing() {
    let env = members_env("").await;
    let (port, _stop) = listen(&env.app).await;
    let dsn = bounce("dsn-user-unknown.eml");
    let ann = verp(&env, "ann@example.org", false);
    let bo_id = member(&env, "bo@example.org").id;
    let (head, mac) = ann
        .split_once('@')
        .expect("@")
        .0
        .rsplit_once('-')
        .expect("mac");
    let forged = [
        // Ann's mac cut short, or with its last digit changed.
        format!("{head}-{}@{DOMAIN}", &mac[..mac.len() - 2]),
        format!(
            "{head}-{}{}@{DOMAIN}",
            &mac[..mac.len() - 1],
            if mac.ends_with('0') { '1' } else { '0' }
        ),
        // Ann's mac moved to Bo, or to the unsubscribe address.
        format!("bounces+{bo_id}-{mac}@{DOMAIN}"),
        format!(
            "unsubscribe+{}-{mac}@{DOMAIN}",
            member(&env, "ann@example.org").id
        ),
    ];
    for rcpt in &forged {
        let r = deliver(port, &[rcpt], &dsn).await;
        assert!(r[1].starts_with("550 5.1.1"), "{rcpt}: {r:?}");
        assert!(
            r[2].starts_with("503"),
            "no DATA without a recipient: {r:?}"
        );
    }
    // Another domain: refused at RCPT, never relayed.
    for rcpt in ["ann@example.org", &ann.replace(DOMAIN, "example.org")] {
        let r = deliver(port, &[rcpt], &dsn).await;
        assert!(r[1].starts_with("550 5.7.1"), "{rcpt}: {r:?}");
    }
    assert!(
        statuses(&env)
            .iter()
            .all(|(_, s)| *s == MemberStatus::Active),
        "{:?}",
        statuses(&env)
    );
    assert!(
        env.app
            .store()
            .member_activity(now() - chrono::Duration::days(30))
            .expect("activity")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mail_gets_552_and_changes_nothing() {
    let env = members_env("max_message_size = \"16KB\"").await;
    let (port, _stop) = listen(&env.app).await;
    let ann = verp(&env, "ann@example.org", false);
    // A hard bounce padded past the limit.
    let mut big = bounce("dsn-user-unknown.eml");
    big.extend(std::iter::repeat_n(b"padding padding padding\r\n".to_vec(), 1000).flatten());
    let r = deliver(port, &[&ann], &big).await;
    assert!(r.last().is_some_and(|r| r.starts_with("552")), "{r:?}");
    // Announced sizes over the limit are refused at MAIL already.
    let (mut c, _) = Client::connect(port).await;
    c.cmd("EHLO relay.test").await;
    let mail = c.cmd("MAIL FROM:<> SIZE=999999999").await;
    assert!(mail.starts_with("552"), "{mail}");
    assert!(
        statuses(&env)
            .iter()
            .all(|(_, s)| *s == MemberStatus::Active),
        "{:?}",
        statuses(&env)
    );
    // The same bounce within the limit is acted on: the refusal was the size alone.
    let r = deliver(port, &[&ann], &bounce("dsn-user-unknown.eml")).await;
    assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    assert_eq!(
        member(&env, "ann@example.org").status,
        MemberStatus::Bounced
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_bounds_lines_connections_and_their_time_and_survives_garbage() {
    let env = members_env("max_connections = 2\nconnection_timeout = \"2s\"").await;
    let (port, _stop) = listen(&env.app).await;
    // An endless command line: refused once the line passes 512 bytes, then closed.
    let (mut c, _) = Client::connect(port).await;
    c.send(&[b'A'; 1000]).await;
    let r = c.reply().await;
    assert!(r.starts_with("500 5.5.2"), "{r}");
    assert_eq!(c.reply().await, "", "closed after an overlong line");
    // Commands out of order, unknown ones and AUTH get errors, not a crash.
    let (mut c, _) = Client::connect(port).await;
    assert!(c.cmd("MAIL FROM:<>").await.starts_with("503"));
    assert!(c.cmd("AUTH PLAIN AGFhAGI=").await.starts_with("502"));
    assert!(c.cmd("\u{1b}[31m\u{0}").await.starts_with("500"));
    assert!(c.cmd("EHLO x").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<x@bounces.example.org>")
            .await
            .starts_with("503")
    );
    assert!(c.cmd("MAIL FROM:<>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:no-brackets").await.starts_with("501"));
    assert!(c.cmd("RCPT TO:<no-domain>").await.starts_with("550"));
    assert!(c.cmd("QUIT").await.starts_with("221"));
    // Let the sessions that ended give back their slots.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Two idle connections take both slots: a third is told to come back later.
    let (_a, ga) = Client::connect(port).await;
    let (_b, gb) = Client::connect(port).await;
    assert!(ga.starts_with("220") && gb.starts_with("220"), "{ga} {gb}");
    let (mut third, g) = Client::connect(port).await;
    assert!(g.starts_with("421"), "{g}");
    assert_eq!(third.reply().await, "");
    // The idle ones are closed at connection_timeout, freeing their slots.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (mut c, g) = Client::connect(port).await;
    assert!(g.starts_with("220"), "{g}");
    // A mail that is no bounce at all, to a plain address: accepted, nothing changes.
    drop(c.cmd("QUIT").await);
    let r = deliver(
        port,
        &[&format!("bounces@{DOMAIN}")],
        &bounce("not-a-bounce.eml"),
    )
    .await;
    assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    // Random bytes as a message: accepted and ignored, the listener still answers.
    let noise: Vec<u8> = (0u32..20_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = deliver(port, &[&verp(&env, "cy@example.org", false)], &noise).await;
    assert!(r.last().is_some_and(|r| r.starts_with("250")), "{r:?}");
    assert!(
        statuses(&env)
            .iter()
            .all(|(_, s)| *s == MemberStatus::Active),
        "{:?}",
        statuses(&env)
    );
    let (_c, g) = Client::connect(port).await;
    assert!(g.starts_with("220"), "{g}");
}

#[test]
fn run_starts_the_inbound_listener_beside_the_web_endpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("feeds.toml");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    };
    let (web, smtp) = (free(), free());
    std::fs::write(
        &config,
        format!(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n[fetch]\ninterval = \"1h\"\n\
             [web]\nlisten = \"127.0.0.1:{web}\"\n\
             [inbound]\nbounce_domain = \"{DOMAIN}\"\nlisten = \"127.0.0.1:{smtp}\"\n"
        ),
    )
    .expect("config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_feedbrief"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let greeting = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", smtp)) {
            use std::io::{BufRead, Write};
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut read = std::io::BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = read.read_line(&mut line);
            let _ = (&s).write_all(b"QUIT\r\n");
            break line;
        }
        if std::time::Instant::now() > deadline {
            break String::new();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        assert!(std::time::Instant::now() < deadline, "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        greeting.starts_with(&format!("220 {DOMAIN} ")),
        "{greeting:?}"
    );
}

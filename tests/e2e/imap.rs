//! IMAP polling against a real Dovecot (Debian's dovecot-imapd), started here on a free
//! loopback port with everything under a temp dir: passwd-file auth, a maildir, its own
//! base and state dirs and log. Bounces are delivered into the maildir as an MTA would
//! (a file in `new/`), then a poll suppresses their members and flags, moves or deletes
//! each mail per `after`.
//!
//! Dovecot is optional on a developer's machine (the tests say "skipped" and pass);
//! `.ci/run` installs it and sets `FEEDBRIEF_REQUIRE_TOOLS=1`, which turns a skip into a
//! failure.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedbrief::app::App;
use feedbrief::imap::{PollReport, poll_once};
use feedbrief::store::MemberStatus;
use tokio_util::sync::CancellationToken;

use super::*;

const DOVECOT: &str = "/usr/sbin/dovecot";
const DOMAIN: &str = "bounces.example.org";
const USER: &str = "bounces";
const PASSWORD: &str = "s3cret \"quoted\"";

/// A Dovecot of our own; stopped (with all its processes) when dropped.
struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// The owner of the mail files (Dovecot's mail processes run as them).
    owner: (u32, u32),
}

impl Dovecot {
    /// Starts one, or `None` (after saying why) when Dovecot is not installed.
    fn start(test: &str) -> Option<Self> {
        if !Path::new(DOVECOT).is_file() {
            super::look::skip(
                test,
                "Dovecot is not installed (apt-get install dovecot-imapd)",
            );
            return None;
        }
        // A few tries: the free port we pick can be taken before Dovecot binds it.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(None) {
                Ok(d) => return Some(d),
                Err(e) => last = e,
            }
        }
        panic!("Dovecot would not start: {last}");
    }

    /// Starts one on `port` (where one was just stopped); a few tries while the port is
    /// still being released.
    fn start_on(port: u16) -> Self {
        let mut last = String::new();
        for _ in 0..20 {
            match Self::try_start(Some(port)) {
                Ok(d) => return d,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("Dovecot would not start again on port {port}: {last}");
    }

    fn try_start(port: Option<u16>) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let root = dir.path();
        // As root, Dovecot's login and mail processes must run as someone else (it
        // refuses uid 0): `nobody`, who must be able to reach the temp dir. Otherwise
        // everything runs as the current user.
        let user = if id(&["-u"]) == "0" {
            "nobody".to_string()
        } else {
            id(&["-un"])
        };
        let group = id(&["-gn", &user]);
        let owner: (u32, u32) = (
            id(&["-u", &user])
                .parse()
                .map_err(|e| format!("uid: {e}"))?,
            id(&["-g", &user])
                .parse()
                .map_err(|e| format!("gid: {e}"))?,
        );
        set_mode(root, 0o755);
        let mail = root.join("mail");
        for sub in [
            "",
            "new",
            "cur",
            "tmp",
            ".Done",
            ".Done/new",
            ".Done/cur",
            ".Done/tmp",
        ] {
            let d = mail.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            own(&d, owner);
        }
        std::fs::write(mail.join("subscriptions"), "Done\n").map_err(|e| e.to_string())?;
        own(&mail.join("subscriptions"), owner);
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))
            .map_err(|e| e.to_string())?;
        set_mode(&root.join("passwd"), 0o644);
        let port = match port {
            Some(p) => p,
            None => std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port(),
        };
        let r = root.display();
        let conf = format!(
            "protocols = imap\n\
             listen = 127.0.0.1\n\
             base_dir = {r}/run\n\
             state_dir = {r}/state\n\
             log_path = {r}/dovecot.log\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             default_internal_user = {user}\n\
             default_internal_group = {group}\n\
             default_login_user = {user}\n\
             mail_location = maildir:{r}/mail\n\
             passdb {{\n  driver = passwd-file\n  args = {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={} gid={} home={r}/mail\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            owner.0, owner.1
        );
        let conf_path = root.join("dovecot.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {DOVECOT}: {e}"))?;
        let mut d = Self {
            child,
            dir,
            port,
            owner,
        };
        // Up when it greets; bounded wait.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = d.child.try_wait() {
                return Err(format!("dovecot exited ({status}): {}", d.log()));
            }
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let mut greeting = [0u8; 4];
                use std::io::Read;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                if (&s).read_exact(&mut greeting).is_ok() && &greeting == b"* OK" {
                    return Ok(d);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("dovecot did not greet within 20s: {}", d.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers `raw` into the maildir's `new/` (folder `""` is INBOX), as an MTA does:
    /// written in `tmp/`, then renamed.
    fn deliver(&self, folder: &str, name: &str, raw: &[u8]) {
        let base = self.dir.path().join("mail").join(folder);
        let tmp = base.join("tmp").join(name);
        std::fs::write(&tmp, raw).expect("write mail");
        own(&tmp, self.owner);
        std::fs::rename(&tmp, base.join("new").join(name)).expect("deliver mail");
    }

    /// The mail files of a folder (`new/` and `cur/`), with their maildir flags.
    fn files(&self, folder: &str) -> Vec<String> {
        let base = self.dir.path().join("mail").join(folder);
        let mut out: Vec<String> = ["new", "cur"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(base.join(sub)).expect("maildir"))
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        out
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // `dovecot stop` ends the master and every process it started.
        let conf = self.dir.path().join("dovecot.conf");
        let _ = Command::new(DOVECOT)
            .arg("-c")
            .arg(&conf)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `id ARGS`, trimmed.
fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Hands `path` to the mail files' owner (a no-op unless we run as root).
fn own(path: &Path, (uid, gid): (u32, u32)) {
    if id(&["-u"]) == "0" {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

/// An app whose `[inbound] imap` polls `dovecot`, with the three members of `MEMBERS`.
async fn app_for(port: u16, imap_extra: &str) -> (tempfile::TempDir, Arc<App>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{}\n[inbound]\nbounce_domain = \"{DOMAIN}\"\nmax_message_size = \"8KB\"\nimap = {{ url = \"imap://127.0.0.1:{}\", user = \"{USER}\", password_env = \"TEST_IMAP_PASSWORD\"{imap_extra} }}\n",
        config_text("http://127.0.0.1:9", "transport = \"outbox\"", ""),
        port
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, &config).expect("config");
    std::fs::write(dir.path().join("members.csv"), MEMBERS).expect("members");
    let config = feedbrief::config::parse(&config, &path, |name| {
        (name == "TEST_IMAP_PASSWORD").then(|| PASSWORD.to_string())
    })
    .expect("config is valid");
    let app = App::open(config).expect("app opens");
    app.blocking("import", |app| cycle::import_members(app, now()).map(drop))
        .await
        .expect("import");
    (dir, app)
}

fn status(app: &App, email: &str) -> MemberStatus {
    app.store()
        .member_by_email(email)
        .expect("query")
        .expect("member")
        .status
}

/// The bounce fixture as delivered to `to` (a `Delivered-To` line on top, as Postfix
/// and Dovecot's LDA write it), optionally reporting `reported` instead of its own
/// recipient.
fn delivered(to: &str, reported: Option<&str>) -> Vec<u8> {
    let raw = String::from_utf8(
        std::fs::read(fixtures().join("bounces/dsn-user-unknown.eml")).expect("fixture"),
    )
    .expect("utf8");
    let raw = match reported {
        Some(r) => raw.replace("ada@members.example.com", r),
        None => raw,
    };
    format!("Delivered-To: {to}\n{raw}").into_bytes()
}

fn verp_of(app: &App, email: &str) -> String {
    let m = app
        .store()
        .member_by_email(email)
        .expect("query")
        .expect("member");
    feedbrief::mail::delivery::verp_addresses(&app.config, &app.secret, m.id, email)
        .expect("a bounce domain is set")
        .bounces
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_bounces_suppress_their_members_and_handled_mail_is_moved_the_huge_one_left_seen() {
    let Some(dovecot) = Dovecot::start("imap polling") else {
        return;
    };
    let (_dir, app) = app_for(dovecot.port, ", after = \"move:Done\"").await;
    // Ann's bounce came back to her VERP address; Bo's to the domain's plain address,
    // naming him in the report; a 20 KB mail is over the 8 KB limit.
    let ann_verp = verp_of(&app, "ann@example.org");
    dovecot.deliver("", "1.M1.test", &delivered(&ann_verp, None));
    dovecot.deliver(
        "",
        "2.M2.test",
        &delivered(&format!("bounces@{DOMAIN}"), Some("bo@example.org")),
    );
    let mut huge = delivered(&format!("bounces@{DOMAIN}"), Some("cy@example.org"));
    huge.extend(std::iter::repeat_n(b'x', 20 * 1024));
    dovecot.deliver("", "3.M3.test", &huge);

    let report = poll_once(&app).await.expect("poll");
    assert_eq!(
        report,
        PollReport {
            unseen: 3,
            handled: 2,
            skipped: 1,
            failed: 0
        },
        "{}",
        dovecot.log()
    );
    assert_eq!(status(&app, "ann@example.org"), MemberStatus::Bounced);
    assert_eq!(status(&app, "bo@example.org"), MemberStatus::Bounced);
    assert_eq!(status(&app, "cy@example.org"), MemberStatus::Active);
    // The two handled mails are in Done, seen; the huge one stays in INBOX, seen.
    let inbox = dovecot.files("");
    assert!(
        matches!(&inbox[..], [one] if one.starts_with("3.M3.test") && one.ends_with(":2,S")),
        "{inbox:?}"
    );
    let done = dovecot.files(".Done");
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done.iter().all(|f| f.ends_with(":2,S")), "{done:?}");

    // The next poll finds nothing unseen: nothing is counted twice.
    let again = poll_once(&app).await.expect("poll");
    assert_eq!(again, PollReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_poller_deletes_handled_mail_and_outlives_a_server_that_was_down() {
    let Some(dovecot) = Dovecot::start("imap polling") else {
        return;
    };
    let port = dovecot.port;
    let (_dir, app) = app_for(port, ", after = \"delete\", every = \"1s\"").await;
    // The server is down when the poller starts: it must log, wait and try again.
    drop(dovecot);
    let shared = feedbrief::app::SharedApp::new(Arc::clone(&app));
    let cancel = CancellationToken::new();
    let poller = tokio::spawn(feedbrief::imap::run(shared, cancel.clone()));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !poller.is_finished(),
        "the poller gave up on a server that is down"
    );
    // The server comes back on its port; a bounce and a person's mail arrive.
    let dovecot = Dovecot::start_on(port);
    dovecot.deliver(
        "",
        "1.M1.test",
        &delivered(&verp_of(&app, "ann@example.org"), None),
    );
    dovecot.deliver(
        "",
        "2.M2.test",
        b"From: someone@example.net\nTo: bounces@bounces.example.org\nSubject: hello\n\nJust saying hello.\n",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && (status(&app, "ann@example.org") != MemberStatus::Bounced
            || !dovecot.files("").is_empty())
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&app, "ann@example.org"), MemberStatus::Bounced);
    // Both handled (the hello ignored), both deleted.
    assert_eq!(dovecot.files(""), Vec::<String>::new(), "{}", dovecot.log());
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), poller)
        .await
        .expect("the poller stops when cancelled")
        .expect("no panic");
}

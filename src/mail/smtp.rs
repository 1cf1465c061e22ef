//! SMTP: our own connection pool over one or more relays. lettre's pool never sets
//! `TCP_NODELAY`, which costs ~40 ms per message on a reused connection (lettre PR #1159),
//! and caps idle rather than concurrent connections. A transaction pipelines its commands
//! when the relay offers it (RFC 2920), and a refused recipient leaves the session usable
//! (`RSET`) instead of closing it. Each answer becomes a [`SendError`]: transient or
//! permanent.
//!
//! With several relays, each message goes to the relay with the fewest connections in use
//! (ties taken in turn). A relay that fails (refuses the connection, does not answer in
//! time, answers 421 or drops the session) is skipped for a backoff that doubles with each
//! failure in a row (2 s up to 5 min) while the others carry its share; once the backoff
//! ends it gets traffic again, and a success clears it. A message the failing relay
//! certainly did not take (no connection, or a 421) goes to another relay at once; one it
//! may have taken (a session dropped mid-message) is returned as a transient failure, as
//! with one relay, and its retry goes elsewhere. With every relay failing, the one whose
//! backoff ends first is tried anyway, so nothing waits on a timer.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::address::{Address, Envelope as SmtpEnvelope};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Semaphore;

use crate::config::{SmtpSettings, SmtpTls};
use crate::mail::transport::SendError;

/// The first backoff of a relay that failed; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest a failing relay is skipped before it is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// At most `connections` SMTP connections over all relays, each with `TCP_NODELAY`,
/// reused while healthy.
pub struct SmtpPool {
    pub(crate) relays: Vec<Relay>,
    permits: Semaphore,
    timeout: Duration,
    hello: ClientId,
    /// Which relay a tie goes to next.
    turn: AtomicUsize,
    /// First and longest backoff of a failing relay.
    backoff: (Duration, Duration),
}

/// One relay: its settings, idle sessions, connections in use and health.
pub(crate) struct Relay {
    pub(crate) settings: SmtpSettings,
    pub(crate) idle: Mutex<Vec<Connection>>,
    /// Connections in use by a send right now.
    busy: AtomicUsize,
    health: Mutex<Health>,
}

/// A relay's failures in a row and until when it is skipped.
#[derive(Default)]
struct Health {
    failures: u32,
    down_until: Option<Instant>,
}

impl Relay {
    fn new(settings: SmtpSettings) -> Self {
        Self {
            settings,
            idle: Mutex::new(Vec::new()),
            busy: AtomicUsize::new(0),
            health: Mutex::new(Health::default()),
        }
    }

    fn name(&self) -> String {
        format!("{}:{}", self.settings.host, self.settings.port)
    }

    /// When its backoff ends, if it is failing.
    fn down_until(&self) -> Option<Instant> {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .down_until
    }

    fn failed(&self, backoff: (Duration, Duration), why: &SendError) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        h.failures = h.failures.saturating_add(1);
        let wait = backoff
            .0
            .saturating_mul(1 << (h.failures - 1).min(16))
            .min(backoff.1);
        h.down_until = Some(Instant::now() + wait);
        tracing::warn!(
            relay = %self.name(),
            failures = h.failures,
            retry_in = ?wait,
            error = %why,
            "relay failing: skipped until its backoff ends, the other relays carry its share"
        );
    }

    fn succeeded(&self) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if h.failures > 0 {
            tracing::info!(relay = %self.name(), "relay recovered");
            *h = Health::default();
        }
    }

    fn idle_connection(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn keep(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }
}

/// Counts a connection in use on a relay for as long as it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How one relay's attempt at a message ended, when it did not take it.
struct Attempt {
    error: SendError,
    /// The relay itself failed (count it, back off).
    relay_failed: bool,
    /// The relay certainly did not take the message: another relay may be tried at once.
    unsent: bool,
}

impl SmtpPool {
    pub(crate) fn new(relays: Vec<SmtpSettings>, connections: usize, timeout: Duration) -> Self {
        Self {
            relays: relays.into_iter().map(Relay::new).collect(),
            permits: Semaphore::new(connections),
            timeout,
            hello: ClientId::default(),
            turn: AtomicUsize::new(0),
            backoff: (FIRST_BACKOFF, MAX_BACKOFF),
        }
    }

    /// The same pool with another backoff for failing relays (tests use short ones).
    #[cfg(test)]
    pub(crate) fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max);
        self
    }

    /// The relay for the next message, other than those `tried`: among those not backing
    /// off, the one with the fewest connections in use (ties in turn); with all of them
    /// backing off, the one whose backoff ends first.
    fn choose(&self, tried: &[usize]) -> Option<usize> {
        let n = self.relays.len();
        if n == 0 {
            return None;
        }
        let now = Instant::now();
        let first = self.turn.fetch_add(1, Ordering::Relaxed) % n;
        let order = (0..n)
            .map(|i| (first + i) % n)
            .filter(|i| !tried.contains(i));
        let up = order
            .clone()
            .filter(|&i| self.relays[i].down_until().is_none_or(|t| t <= now))
            .min_by_key(|&i| self.relays[i].busy.load(Ordering::SeqCst));
        up.or_else(|| order.min_by_key(|&i| self.relays[i].down_until()))
    }

    pub(crate) async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::Transient("delivery is shutting down".into()))?;
        let bytes = message.formatted();
        let mut tried = Vec::with_capacity(self.relays.len());
        let mut last = None;
        // Each relay at most once per message.
        for _ in 0..self.relays.len() {
            let Some(i) = self.choose(&tried) else { break };
            tried.push(i);
            let relay = &self.relays[i];
            let attempt = {
                let _busy = Busy::new(&relay.busy);
                self.send_via(relay, message, &bytes).await
            };
            match attempt {
                Ok(()) => {
                    relay.succeeded();
                    return Ok(());
                }
                Err(a) => {
                    if a.relay_failed {
                        relay.failed(self.backoff, &a.error);
                    }
                    if !a.unsent {
                        return Err(a.error);
                    }
                    last = Some(a.error);
                }
            }
        }
        Err(last.unwrap_or_else(|| SendError::Transient("no SMTP relay is configured".into())))
    }

    /// One attempt at `message` on `relay`, on an idle session or a new one.
    async fn send_via(
        &self,
        relay: &Relay,
        message: &Message,
        bytes: &[u8],
    ) -> Result<(), Attempt> {
        let (mut conn, reused) = match relay.idle_connection() {
            Some(c) if !c.smtp.has_broken() => (c, true),
            _ => (
                self.connect_to(&relay.settings)
                    .await
                    .map_err(|error| Attempt {
                        error,
                        relay_failed: true,
                        unsent: true,
                    })?,
                false,
            ),
        };
        let result =
            tokio::time::timeout(self.timeout, conn.transmit(message.envelope(), bytes)).await;
        match result {
            Ok(Ok(_)) => {
                relay.keep(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                let error = classify(&e);
                // 421: the relay is closing the session and took nothing (RFC 5321 3.8).
                if e.status().is_some_and(|c| c.to_string() == "421") {
                    abort(conn).await;
                    return Err(Attempt {
                        error,
                        relay_failed: true,
                        unsent: true,
                    });
                }
                // After a refused recipient the session is still usable; reset it.
                if e.is_permanent() || e.is_transient() {
                    if tokio::time::timeout(self.timeout, conn.smtp.command(Rset))
                        .await
                        .is_ok_and(|r| r.is_ok())
                    {
                        relay.keep(conn);
                    }
                    return Err(Attempt {
                        error,
                        relay_failed: false,
                        unsent: false,
                    });
                }
                abort(conn).await;
                // A reused session the relay had closed while idle says nothing of the
                // relay; a new one that breaks does.
                Err(Attempt {
                    error,
                    relay_failed: !reused,
                    unsent: false,
                })
            }
            Err(_) => {
                abort(conn).await;
                Err(Attempt {
                    error: SendError::Transient(format!(
                        "no answer from {} within {:?} ([delivery] timeout)",
                        relay.name(),
                        self.timeout
                    )),
                    relay_failed: true,
                    unsent: false,
                })
            }
        }
    }

    /// A new session with the relay of `s`: TCP (or TLS), greeting, STARTTLS, EHLO, AUTH.
    pub(crate) async fn connect_to(&self, s: &SmtpSettings) -> Result<Connection, SendError> {
        let addr = (s.host.as_str(), s.port);
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Transient(format!("{what} {}:{}: {e}", s.host, s.port))
        };
        let tls = || TlsParameters::new(s.host.clone()).map_err(|e| fail("preparing TLS for", &e));
        let mut conn = if s.tls == SmtpTls::Wrapper {
            // Implicit TLS (port 465): lettre opens this socket itself.
            tokio::time::timeout(
                self.timeout,
                AsyncSmtpConnection::connect_tokio1(
                    addr,
                    Some(self.timeout),
                    &self.hello,
                    Some(tls()?),
                    None,
                ),
            )
            .await
            .map_err(|_| fail("timed out connecting to", &"no answer"))?
            .map_err(|e| fail("connecting to", &e))?
        } else {
            let tcp = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
                .await
                .map_err(|_| fail("timed out connecting to", &"no answer"))?
                .map_err(|e| fail("connecting to", &e))?;
            // Without this, every message on a reused connection waits for a delayed ACK.
            tcp.set_nodelay(true)
                .map_err(|e| fail("configuring the socket to", &e))?;
            let mut conn = tokio::time::timeout(
                self.timeout,
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello),
            )
            .await
            .map_err(|_| fail("no greeting from", &"timed out"))?
            .map_err(|e| fail("greeting from", &e))?;
            match s.tls {
                SmtpTls::Required => conn
                    .starttls(tls()?, &self.hello)
                    .await
                    .map_err(|e| fail("STARTTLS with", &e))?,
                SmtpTls::Opportunistic if conn.can_starttls() => conn
                    .starttls(tls()?, &self.hello)
                    .await
                    .map_err(|e| fail("STARTTLS with", &e))?,
                _ => {}
            }
            conn
        };
        // lettre keeps only the EHLO keywords it uses, and PIPELINING is not one of them:
        // ask again (RFC 5321 4.1.4 allows a second EHLO; it only resets the session).
        let pipelining =
            match tokio::time::timeout(self.timeout, conn.command(Ehlo::new(self.hello.clone())))
                .await
                .map_err(|_| fail("no EHLO answer from", &"timed out"))?
            {
                Ok(answer) => answer
                    .message()
                    .any(|line| line.eq_ignore_ascii_case("PIPELINING")),
                Err(e) if e.is_permanent() || e.is_transient() => false,
                Err(e) => return Err(fail("EHLO with", &e)),
            };
        if let (Some(user), Some(password)) = (&s.user, &s.password) {
            let creds = Credentials::new(user.clone(), password.clone());
            let mechanisms = [
                lettre::transport::smtp::authentication::Mechanism::Plain,
                lettre::transport::smtp::authentication::Mechanism::Login,
            ];
            conn.auth(&mechanisms, &creds).await.map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent {
                        message: format!(
                            "authentication as {user} refused by {}:{}: {e}; check FEEDBRIEF_SMTP_PASSWORD",
                            s.host, s.port
                        ),
                        bounce: false,
                    }
                } else {
                    fail("authenticating with", &e)
                }
            })?;
        } else if s.user.is_some() {
            return Err(SendError::Permanent {
                message: format!(
                    "smtp_url names user {:?} but {} is not set",
                    s.user.as_deref().unwrap_or(""),
                    crate::config::SMTP_PASSWORD_ENV
                ),
                bounce: false,
            });
        }
        Ok(Connection {
            smtp: conn,
            pipelining,
        })
    }
}

/// Drops a broken or silent session. lettre's abort says QUIT and waits for the answer,
/// which a relay that stopped answering never gives: the wait is bounded.
async fn abort(mut conn: Connection) {
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.smtp.abort()).await;
}

/// A pooled SMTP session and what its server announced.
pub(crate) struct Connection {
    pub(crate) smtp: AsyncSmtpConnection,
    /// The server takes pipelined commands (RFC 2920).
    pipelining: bool,
}

impl Connection {
    /// One mail transaction: the bytes lettre's `send` would write, but with PIPELINING the
    /// MAIL, RCPT and DATA commands share one write and the content its end-of-data mark,
    /// so a message costs two round trips instead of four, and the content is dot-stuffed
    /// only where a line starts with a dot (our quoted-printable leaves none). Every
    /// answer is read, so after a refusal the session is in step for `RSET`.
    async fn transmit(&mut self, envelope: &SmtpEnvelope, message: &[u8]) -> Result<(), SmtpError> {
        let ascii = |a: Option<&Address>| a.is_none_or(|a| AsRef::<str>::as_ref(a).is_ascii());
        let content = match std::str::from_utf8(message) {
            Ok(content)
                if content.is_ascii()
                    && ascii(envelope.from())
                    && envelope.to().iter().all(|a| ascii(Some(a))) =>
            {
                content
            }
            // SMTPUTF8 and 8BITMIME need the parameters lettre's own transaction adds.
            _ => return self.smtp.send(envelope, message).await.map(drop),
        };
        let mail = Mail::new(envelope.from().cloned(), Vec::new());
        let rcpts = envelope
            .to()
            .iter()
            .map(|to| Rcpt::new(to.clone(), Vec::new()));
        if self.pipelining {
            let mut commands = mail.to_string();
            for rcpt in rcpts {
                commands.push_str(&rcpt.to_string());
            }
            commands.push_str(&Data.to_string());
            let answers = envelope.to().len() + 2;
            let mut refused = None;
            let mut data_accepted = false;
            for i in 0..answers {
                let answer = if i == 0 {
                    self.smtp.command(Raw(&commands)).await
                } else {
                    self.smtp.read_response().await
                };
                match answer {
                    Ok(_) => data_accepted = i + 1 == answers,
                    Err(e) if e.is_permanent() || e.is_transient() => {
                        refused.get_or_insert(e);
                    }
                    // A relay may refuse and then hang up: its answer says more than the
                    // closed connection (a 550 stays a bounce rather than a retry).
                    Err(e) => return Err(refused.unwrap_or(e)),
                }
            }
            if let Some(e) = refused {
                if data_accepted {
                    // RFC 2920 3.1: DATA accepted without a valid recipient; end it empty.
                    let _ = self.smtp.command(Raw(".\r\n")).await;
                }
                return Err(e);
            }
        } else {
            self.smtp.command(mail).await?;
            for rcpt in rcpts {
                self.smtp.command(rcpt).await?;
            }
            self.smtp.command(Data).await?;
        }
        // RFC 5321 4.5.2: a line starting with a dot gets another.
        if content.starts_with('.') || content.contains("\n.") {
            let lead = if content.starts_with('.') { "." } else { "" };
            let stuffed = format!("{lead}{}", content.replace("\n.", "\n.."));
            return self.smtp.command(Content(&stuffed)).await.map(drop);
        }
        self.smtp.command(Content(content)).await.map(drop)
    }
}

/// Commands already formatted, written as they are.
struct Raw<'a>(&'a str);

impl std::fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Dot-stuffed message content and the end-of-data mark, in one write (as lettre ends it).
struct Content<'a>(&'a str);

impl std::fmt::Display for Content<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)?;
        f.write_str("\r\n.\r\n")
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        SendError::Permanent {
            message: text,
            // 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed.
            bounce: matches!(code.as_str(), "550" | "551" | "553"),
        }
    } else {
        SendError::Transient(text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Transport;
    use crate::mail::transport::Sender;

    /// What the scripted relay saw.
    #[derive(Default)]
    struct Seen {
        connections: usize,
        /// Messages accepted, as received (dot-stuffing undone).
        messages: Vec<String>,
        /// Reads that held MAIL, RCPT and DATA together.
        pipelined: usize,
    }

    /// A relay on 127.0.0.1 that announces PIPELINING (when `pipelining`) and answers by
    /// recipient: `bounce@` 550, `later@` 451, `closing@` 550 and then closes the
    /// connection, `drop@` closes it after DATA's content; anyone else is accepted. DATA without a valid recipient gets 554.
    async fn relay(pipelining: bool) -> (u16, Arc<std::sync::Mutex<Seen>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = relay_on(listener, pipelining, Arc::default());
        (port, seen)
    }

    /// [`relay`] on `listener`; while `closing` is set, every new connection is greeted
    /// with 421 and closed (a relay shutting down).
    fn relay_on(
        listener: tokio::net::TcpListener,
        pipelining: bool,
        closing: Arc<std::sync::atomic::AtomicBool>,
    ) -> Arc<std::sync::Mutex<Seen>> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
        let state = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                state.lock().expect("lock").connections += 1;
                let state = Arc::clone(&state);
                let closing = Arc::clone(&closing);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
                    if closing.load(Ordering::SeqCst) {
                        let _ = write.write_all(b"421 4.3.2 shutting down\r\n").await;
                        return;
                    }
                    let _ = write.write_all(b"220 relay ready\r\n").await;
                    let (mut valid, mut drop_after) = (false, false);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let buffered = String::from_utf8_lossy(read.buffer()).into_owned();
                        let command = line.to_ascii_uppercase();
                        let answer = if command.starts_with("EHLO") {
                            if pipelining {
                                "250-relay\r\n250-PIPELINING\r\n250 8BITMIME\r\n".to_string()
                            } else {
                                "250-relay\r\n250 8BITMIME\r\n".to_string()
                            }
                        } else if command.starts_with("MAIL") {
                            if buffered.contains("RCPT") && buffered.contains("DATA") {
                                state.lock().expect("lock").pipelined += 1;
                            }
                            "250 ok\r\n".into()
                        } else if command.starts_with("RCPT") {
                            if line.contains("closing@") {
                                let _ = write.write_all(b"550 5.1.1 no such user\r\n").await;
                                return;
                            }
                            if line.contains("bounce@") {
                                "550 5.1.1 no such user\r\n".into()
                            } else if line.contains("later@") {
                                "451 4.7.1 try again later\r\n".into()
                            } else {
                                valid = true;
                                drop_after = line.contains("drop@");
                                "250 ok\r\n".into()
                            }
                        } else if command.starts_with("DATA") {
                            if !valid {
                                "554 5.5.1 no valid recipients\r\n".into()
                            } else {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let mut message = String::new();
                                loop {
                                    line.clear();
                                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                    if line == ".\r\n" {
                                        break;
                                    }
                                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                                }
                                if drop_after {
                                    return;
                                }
                                state.lock().expect("lock").messages.push(message);
                                valid = false;
                                "250 queued\r\n".into()
                            }
                        } else if command.starts_with("RSET") {
                            valid = false;
                            "250 reset\r\n".into()
                        } else if command.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            "502 unknown\r\n".into()
                        };
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        seen
    }

    pub(crate) fn message_to(to: &str, body: &str) -> Message {
        Message::builder()
            .from("Brief <brief@example.org>".parse().expect("from"))
            .to(to.parse().expect("to"))
            .subject("s")
            .body(body.to_string())
            .expect("message")
    }

    async fn send_through_relay(pipelining: bool) {
        let (port, seen) = relay(pipelining).await;
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            user: None,
            password: None,
        };
        let sender = Sender::new(&Transport::Smtp(vec![settings]), 1, Duration::from_secs(5))
            .expect("sender");
        let body = ".a line starting with a dot\n..and two\nplain\n.";
        sender
            .send(&message_to("ann@example.org", body), "m")
            .await
            .expect("accepted");
        match sender
            .send(&message_to("bounce@example.org", "x"), "m")
            .await
        {
            Err(SendError::Permanent {
                bounce: true,
                message,
            }) => {
                assert!(message.contains("550"), "{message}");
            }
            other => panic!("550 is a hard bounce: {other:?}"),
        }
        match sender
            .send(&message_to("later@example.org", "x"), "m")
            .await
        {
            Err(SendError::Transient(message)) => assert!(message.contains("451"), "{message}"),
            other => panic!("451 is transient: {other:?}"),
        }
        sender
            .send(&message_to("bo@example.org", "after the refusals"), "m")
            .await
            .expect("accepted after RSET on the same connection");
        assert!(
            sender
                .send(&message_to("drop@example.org", "x"), "m")
                .await
                .is_err_and(|e| e.is_transient()),
            "a dropped connection is transient"
        );
        sender
            .send(&message_to("cy@example.org", "on a new connection"), "m")
            .await
            .expect("accepted on a new connection");
        match sender
            .send(&message_to("closing@example.org", "x"), "m")
            .await
        {
            Err(SendError::Permanent { bounce: true, .. }) => {}
            other => panic!("a 550 before the relay hangs up is a hard bounce: {other:?}"),
        }
        sender.close().await;
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.connections, 2, "refusals keep the connection");
        assert_eq!(seen.messages.len(), 3);
        assert!(
            seen.messages[0]
                .ends_with("\r\n.a line starting with a dot\r\n..and two\r\nplain\r\n.\r\n"),
            "{:?}",
            seen.messages[0]
        );
        assert!(seen.messages[1].contains("after the refusals"));
        assert_eq!(seen.pipelined > 0, pipelining);
    }

    #[tokio::test]
    async fn pipelined_transactions_classify_refusals_and_keep_the_connection() {
        send_through_relay(true).await;
    }

    #[tokio::test]
    async fn without_pipelining_commands_go_one_at_a_time_with_the_same_outcomes() {
        send_through_relay(false).await;
    }

    fn on_port(port: u16) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            user: None,
            password: None,
        }
    }

    /// A loopback port nobody listens on (bound, then let go).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port()
    }

    fn bodies(seen: &std::sync::Mutex<Seen>) -> Vec<String> {
        let seen = seen.lock().expect("lock");
        seen.messages
            .iter()
            .map(|m| m.lines().last().unwrap_or_default().to_string())
            .collect()
    }

    #[tokio::test]
    async fn a_refused_relay_is_skipped_and_gets_traffic_again_once_it_recovers() {
        let down = free_port();
        let (up, up_seen) = relay(true).await;
        let pool = SmtpPool::new(vec![on_port(down), on_port(up)], 2, Duration::from_secs(5))
            .with_backoff(Duration::from_millis(100), Duration::from_millis(400));
        for i in 0..4 {
            pool.send(&message_to("ann@example.org", &format!("first {i}")))
                .await
                .expect("the other relay takes it");
        }
        assert_eq!(
            bodies(&up_seen).len(),
            4,
            "every message went to the live relay"
        );
        assert!(
            pool.relays[0].down_until().is_some(),
            "the refused relay backs off"
        );

        // The relay comes back on its port; once its backoff ends it gets traffic again.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", down))
            .await
            .expect("bind the recovered relay");
        let back_seen = relay_on(listener, true, Arc::default());
        tokio::time::sleep(Duration::from_millis(500)).await;
        for i in 0..4 {
            pool.send(&message_to("ann@example.org", &format!("then {i}")))
                .await
                .expect("accepted");
        }
        let back = bodies(&back_seen);
        assert!(!back.is_empty(), "the recovered relay got no traffic");
        assert!(pool.relays[0].down_until().is_none(), "a success clears it");
        let mut all = [bodies(&up_seen), back].concat();
        all.sort();
        let want: Vec<String> = (0..4)
            .map(|i| format!("first {i}"))
            .chain((0..4).map(|i| format!("then {i}")))
            .collect();
        let mut want = want;
        want.sort();
        assert_eq!(all, want, "each message once");
    }

    #[tokio::test]
    async fn a_relay_answering_421_hands_its_message_to_another_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let closing_port = listener.local_addr().expect("addr").port();
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closing_seen = relay_on(listener, true, Arc::clone(&closing));
        let (open_port, open_seen) = relay(true).await;
        let pool = SmtpPool::new(
            vec![on_port(closing_port), on_port(open_port)],
            1,
            Duration::from_secs(5),
        );
        // Both take turns while both are well.
        for i in 0..2 {
            pool.send(&message_to("ann@example.org", &format!("before {i}")))
                .await
                .expect("accepted");
        }
        assert_eq!(bodies(&closing_seen).len(), 1);
        assert_eq!(bodies(&open_seen).len(), 1);
        // The first relay starts shutting down: its idle session is dropped, new ones get
        // 421; nothing fails, the other relay takes every message.
        closing.store(true, Ordering::SeqCst);
        pool.relays[0].idle.lock().expect("lock").clear();
        for i in 0..4 {
            pool.send(&message_to("ann@example.org", &format!("after {i}")))
                .await
                .expect("the other relay takes it at once");
        }
        assert_eq!(bodies(&closing_seen).len(), 1);
        assert_eq!(bodies(&open_seen).len(), 5);
    }

    #[tokio::test]
    async fn messages_spread_over_the_relays_by_their_connections_in_use() {
        let (a, a_seen) = relay(true).await;
        let (b, b_seen) = relay(true).await;
        let pool = Arc::new(SmtpPool::new(
            vec![on_port(a), on_port(b)],
            4,
            Duration::from_secs(5),
        ));
        let sends = (0..12).map(|i| {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.send(&message_to("ann@example.org", &format!("m{i}")))
                    .await
            })
        });
        for s in futures::future::join_all(sends).await {
            s.expect("joined").expect("accepted");
        }
        let (a_n, b_n) = (bodies(&a_seen).len(), bodies(&b_seen).len());
        assert_eq!(a_n + b_n, 12);
        assert!(a_n >= 3 && b_n >= 3, "spread {a_n} / {b_n}");
    }
}

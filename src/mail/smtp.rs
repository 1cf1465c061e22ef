//! SMTP: our own connection pool to the relay. lettre's pool never sets `TCP_NODELAY`,
//! which costs ~40 ms per message on a reused connection (lettre PR #1159), and caps idle
//! rather than concurrent connections. A transaction pipelines its commands when the relay
//! offers it (RFC 2920), and a refused recipient leaves the session usable (`RSET`)
//! instead of closing it. Each answer becomes a [`SendError`]: transient or permanent.

use std::sync::Mutex;
use std::time::Duration;

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

/// At most `connections` SMTP connections, each with `TCP_NODELAY`, reused while healthy.
pub struct SmtpPool {
    pub(crate) settings: SmtpSettings,
    permits: Semaphore,
    pub(crate) idle: Mutex<Vec<Connection>>,
    timeout: Duration,
    hello: ClientId,
}

impl SmtpPool {
    pub(crate) fn new(settings: SmtpSettings, connections: usize, timeout: Duration) -> Self {
        Self {
            settings,
            permits: Semaphore::new(connections),
            idle: Mutex::new(Vec::new()),
            timeout,
            hello: ClientId::default(),
        }
    }

    pub(crate) async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::Transient("delivery is shutting down".into()))?;
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match reused {
            Some(c) if !c.smtp.has_broken() => c,
            _ => self.connect().await?,
        };
        let bytes = message.formatted();
        let result =
            tokio::time::timeout(self.timeout, conn.transmit(message.envelope(), &bytes)).await;
        match result {
            Ok(Ok(_)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                let err = classify(&e);
                // After a refused recipient the session is still usable; reset it.
                if e.is_permanent() || e.is_transient() {
                    if tokio::time::timeout(self.timeout, conn.smtp.command(Rset))
                        .await
                        .is_ok_and(|r| r.is_ok())
                    {
                        self.idle
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(conn);
                    }
                } else {
                    abort(conn).await;
                }
                Err(err)
            }
            Err(_) => {
                abort(conn).await;
                Err(SendError::Transient(format!(
                    "no answer from {}:{} within {:?} ([delivery] timeout)",
                    self.settings.host, self.settings.port, self.timeout
                )))
            }
        }
    }

    pub(crate) async fn connect(&self) -> Result<Connection, SendError> {
        let s = &self.settings;
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
    struct Relay {
        connections: usize,
        /// Messages accepted, as received (dot-stuffing undone).
        messages: Vec<String>,
        /// Reads that held MAIL, RCPT and DATA together.
        pipelined: usize,
    }

    /// A relay on 127.0.0.1 that announces PIPELINING (when `pipelining`) and answers by
    /// recipient: `bounce@` 550, `later@` 451, `closing@` 550 and then closes the
    /// connection, `drop@` closes it after DATA's content; anyone else is accepted. DATA without a valid recipient gets 554.
    async fn relay(pipelining: bool) -> (u16, Arc<std::sync::Mutex<Relay>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(std::sync::Mutex::new(Relay::default()));
        let state = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                state.lock().expect("lock").connections += 1;
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
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
        (port, seen)
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
        let sender =
            Sender::new(&Transport::Smtp(settings), 1, Duration::from_secs(5)).expect("sender");
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
}

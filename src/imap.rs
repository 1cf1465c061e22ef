//! IMAP polling, for those who cannot receive mail themselves: a mailbox where bounces,
//! complaints and mailed unsubscribes wait → each unseen mail through the same handling
//! as the inbound SMTP listener ([`inbound::handle`]) → flagged, moved or deleted.
//!
//! ```text
//! every `[inbound] imap.every`:  LOGIN · SELECT mailbox · UID SEARCH UNSEEN
//!   each UID (at most MAX_PER_POLL):  UID FETCH (RFC822.SIZE BODY.PEEK[]<0.max+1>)
//!     over max_message_size → logged, skipped, flagged \Seen (left in place)
//!     else inbound::handle → \Seen, then `after`: stays / moved / \Deleted + EXPUNGE
//!     a database failure → left unseen, tried again next poll
//! ```
//!
//! A small client of our own on tokio and rustls (both already in the tree) speaking
//! only the commands above (RFC 9051 / 3501, UIDPLUS, MOVE): a crate for this would
//! add a larger tree for little. Every read has a time limit, every line and literal a
//! size limit, every loop a count limit; a server that is down or misbehaves is an
//! [`ImapError`] the poller logs before it tries again at the next tick, never a crash.
//!
//! Which member a mail is about: a VERP address at the bounce domain in the envelope
//! recipient the delivering MTA recorded (`Delivered-To`, `X-Original-To`,
//! `Envelope-To`; `To` and `Cc` only when there is none) names them; failing that, the
//! addresses the classifier finds in the report, as for mail to the listener's plain
//! addresses. A VERP address that does not verify skips the mail, as the listener
//! refuses it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::app::{App, SharedApp};
use crate::config::{Imap, ImapAfter};
use crate::inbound::{self, Recipient};

/// Unseen mails handled per poll at most; the rest wait for the next poll.
pub const MAX_PER_POLL: usize = 200;

/// Longest wait for connecting or for any answer of the server.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest response line (without its literals), CRLF included.
const MAX_LINE: usize = 1024 * 1024;

/// Untagged responses accepted for one command.
const MAX_UNTAGGED: usize = 10_000;

/// What went wrong talking to the IMAP server. Every variant is retried at the next poll.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The TCP connection could not be made (server down, wrong port, DNS).
    #[error("cannot connect to {addr}: {source}; is the server up and [inbound] imap.url right?")]
    Connect {
        /// `host:port`.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with {host} failed: {source}")]
    Tls {
        /// The server's name.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server refused the login.
    #[error(
        "the server refused the login of {user:?}: {text}; check [inbound] imap.user and the password in {env}"
    )]
    Login {
        /// The user name.
        user: String,
        /// The variable the password came from.
        env: String,
        /// The server's answer.
        text: String,
    },
    /// The server answered NO or BAD to a command.
    #[error("the server refused {command}: {text}")]
    Refused {
        /// The command (never LOGIN's arguments).
        command: String,
        /// The server's answer.
        text: String,
    },
    /// The server took longer than [`COMMAND_TIMEOUT`].
    #[error("the server did not answer {command} within {}s", COMMAND_TIMEOUT.as_secs())]
    Timeout {
        /// What we waited for.
        command: String,
    },
    /// The server closed the connection or said BYE.
    #[error("the server closed the connection during {command}: {text}")]
    Closed {
        /// What we waited for.
        command: String,
        /// The BYE text, if any.
        text: String,
    },
    /// The answer broke the protocol or a limit.
    #[error("the server's answer to {command} is unreadable: {why}")]
    Protocol {
        /// The command.
        command: String,
        /// What was wrong.
        why: String,
    },
    /// A read or write failed.
    #[error("the connection failed during {command}: {source}")]
    Io {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Unseen mails in the mailbox (before the [`MAX_PER_POLL`] cut).
    pub unseen: usize,
    /// Mails handled (recorded or ignored) and then dealt with per `after`.
    pub handled: usize,
    /// Mails skipped (over the size limit, unreadable, a forged VERP address) and
    /// flagged `\Seen`.
    pub skipped: usize,
    /// Mails whose handling failed (the database); left unseen for the next poll.
    pub failed: usize,
}

impl std::fmt::Display for PollReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} unseen, {} handled, {} skipped, {} failed",
            self.unseen, self.handled, self.skipped, self.failed
        )
    }
}

/// Polls `[inbound] imap` every `every` until `cancel` fires, the first poll at once.
/// A failed poll is logged and tried again at the next tick; nothing here ends the
/// daemon. The settings are read from the current app at each tick (SIGHUP reloads).
pub async fn run(shared: SharedApp, cancel: CancellationToken) {
    loop {
        let app = shared.get();
        let Some(every) = app.config.inbound.imap.as_ref().map(|i| i.every) else {
            return;
        };
        let poll = tokio::select! {
            () = cancel.cancelled() => return,
            r = poll_once(&app) => r,
        };
        match poll {
            Ok(r) if r.unseen > 0 => tracing::info!(report = %r, "IMAP poll done"),
            Ok(_) => tracing::debug!("IMAP poll: nothing unseen"),
            Err(e) => tracing::warn!(
                "IMAP poll failed: {e:#}; trying again in {}",
                humantime::format_duration(every)
            ),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One poll of the configured mailbox (nothing when none is configured).
pub async fn poll_once(app: &Arc<App>) -> Result<PollReport, ImapError> {
    let Some(settings) = app.config.inbound.imap.clone() else {
        return Ok(PollReport::default());
    };
    let mut session = Session::connect(&settings).await?;
    let report = session.poll(app, &settings).await?;
    // A polite goodbye after a poll that went well (after an error the connection is
    // only dropped: the server may be the problem); the report stands whatever LOGOUT
    // says.
    let _ = session.command("LOGOUT").await;
    Ok(report)
}

/// A stream the client can use, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A logged-in connection.
struct Session {
    io: BufReader<Box<dyn Stream>>,
    tag: u32,
    /// The server offers MOVE (RFC 6851).
    can_move: bool,
    /// The server offers UIDPLUS (RFC 4315): `UID EXPUNGE` touches only our messages.
    uidplus: bool,
}

/// The server's answer to one command.
#[derive(Debug, Default)]
struct Answer {
    /// The untagged responses (`* …`), each with the literals it carried.
    untagged: Vec<Untagged>,
    /// The text after `<tag> OK`.
    text: String,
}

/// One untagged response: its text (literals left out) and its literals, in order.
#[derive(Debug, Default)]
struct Untagged {
    text: String,
    literals: Vec<Vec<u8>>,
}

impl Session {
    /// Connects (TLS for `imaps://`), reads the greeting, logs in and learns the
    /// capabilities.
    async fn connect(s: &Imap) -> Result<Self, ImapError> {
        let addr = format!("{}:{}", s.host, s.port);
        let tcp = match tokio::time::timeout(COMMAND_TIMEOUT, TcpStream::connect(&addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(source)) => return Err(ImapError::Connect { addr, source }),
            Err(_) => {
                return Err(ImapError::Timeout {
                    command: format!("the connection to {addr}"),
                });
            }
        };
        let stream: Box<dyn Stream> = if s.tls {
            Box::new(tls(tcp, &s.host).await?)
        } else {
            Box::new(tcp)
        };
        let mut session = Self {
            io: BufReader::new(stream),
            tag: 0,
            can_move: false,
            uidplus: false,
        };
        let greeting = session.response_line("the greeting").await?;
        let greeting = String::from_utf8_lossy(&greeting);
        if !greeting.starts_with("* OK") && !greeting.starts_with("* PREAUTH") {
            return Err(ImapError::Closed {
                command: "the greeting".into(),
                text: greeting.trim().to_string(),
            });
        }
        if !greeting.starts_with("* PREAUTH") {
            let login = format!("LOGIN {} {}", quoted(&s.user), quoted(&s.password));
            match session.command_named(&login, "LOGIN").await {
                Ok(_) => {}
                Err(ImapError::Refused { text, .. }) => {
                    return Err(ImapError::Login {
                        user: s.user.clone(),
                        env: s.password_env.clone(),
                        text,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        let caps = session.command("CAPABILITY").await?;
        let caps: Vec<String> = caps
            .untagged
            .iter()
            .filter_map(|u| u.text.strip_prefix("CAPABILITY "))
            .flat_map(|c| c.split_whitespace().map(str::to_ascii_uppercase))
            .collect();
        session.can_move = caps.iter().any(|c| c == "MOVE");
        session.uidplus = caps.iter().any(|c| c == "UIDPLUS");
        Ok(session)
    }

    /// SELECT, SEARCH, then each unseen mail: fetch, handle, flag and move or delete.
    async fn poll(&mut self, app: &Arc<App>, s: &Imap) -> Result<PollReport, ImapError> {
        self.command(&format!("SELECT {}", quoted(&s.mailbox)))
            .await?;
        let found = self.command("UID SEARCH UNSEEN").await?;
        let mut uids: Vec<u32> = found
            .untagged
            .iter()
            .filter_map(|u| u.text.strip_prefix("SEARCH"))
            .flat_map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect();
        uids.sort_unstable();
        uids.dedup();
        let mut report = PollReport {
            unseen: uids.len(),
            ..PollReport::default()
        };
        let max = app.config.inbound.max_message_size;
        let source = format!("imap {}:{}/{}", s.host, s.port, s.mailbox);
        let mut to_expunge = Vec::new();
        for uid in uids.into_iter().take(MAX_PER_POLL) {
            let (size, raw) = self.fetch(uid, max).await?;
            let verdict = match raw {
                _ if size > max => Err(format!(
                    "{size} bytes, over {max} ([inbound] max_message_size)"
                )),
                None => Err("the server sent no body for it".to_string()),
                Some(raw) => deliver(app, &source, raw).await,
            };
            match verdict {
                Ok(true) => {
                    report.handled += 1;
                    match &s.after {
                        ImapAfter::Seen => self.flag(uid, "\\Seen").await?,
                        ImapAfter::Delete => {
                            self.flag(uid, "\\Seen \\Deleted").await?;
                            to_expunge.push(uid);
                        }
                        ImapAfter::Move(target) => {
                            self.flag(uid, "\\Seen").await?;
                            if self.can_move {
                                self.command(&format!("UID MOVE {uid} {}", quoted(target)))
                                    .await?;
                            } else {
                                self.command(&format!("UID COPY {uid} {}", quoted(target)))
                                    .await?;
                                self.flag(uid, "\\Deleted").await?;
                                to_expunge.push(uid);
                            }
                        }
                    }
                }
                Ok(false) => report.failed += 1,
                Err(why) => {
                    tracing::warn!(%source, uid, "inbound mail skipped: {why}; flagged \\Seen and left in the mailbox");
                    report.skipped += 1;
                    self.flag(uid, "\\Seen").await?;
                }
            }
        }
        if !to_expunge.is_empty() {
            if self.uidplus {
                let set: Vec<String> = to_expunge.iter().map(u32::to_string).collect();
                self.command(&format!("UID EXPUNGE {}", set.join(",")))
                    .await?;
            } else {
                // Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted
                // here; the README says to give feedbrief a mailbox of its own.
                self.command("EXPUNGE").await?;
            }
        }
        Ok(report)
    }

    /// The size of message `uid` and, when at most `max` bytes, its content (fetched
    /// with PEEK, so it stays unseen until we flag it).
    async fn fetch(&mut self, uid: u32, max: usize) -> Result<(usize, Option<Vec<u8>>), ImapError> {
        let answer = self
            .command(&format!(
                "UID FETCH {uid} (UID RFC822.SIZE BODY.PEEK[]<0.{}>)",
                max + 1
            ))
            .await?;
        // Unsolicited FETCH responses (flag changes) may come too: take the one with
        // our size item.
        let Some(mine) = answer
            .untagged
            .into_iter()
            .find(|u| u.text.contains("FETCH") && u.text.contains("RFC822.SIZE"))
        else {
            return Ok((0, None));
        };
        let size = number_after(&mine.text, "RFC822.SIZE ").unwrap_or(0);
        let raw = mine.literals.into_iter().next();
        let size = size.max(raw.as_ref().map_or(0, Vec::len));
        Ok((size, raw))
    }

    /// `UID STORE uid +FLAGS.SILENT (flags)`.
    async fn flag(&mut self, uid: u32, flags: &str) -> Result<(), ImapError> {
        self.command(&format!("UID STORE {uid} +FLAGS.SILENT ({flags})"))
            .await
            .map(drop)
    }

    /// Sends one command and reads its answer; NO and BAD are [`ImapError::Refused`].
    async fn command(&mut self, command: &str) -> Result<Answer, ImapError> {
        let name = command.to_string();
        self.command_named(command, &name).await
    }

    /// [`Self::command`], named `name` in errors (LOGIN's arguments never appear).
    async fn command_named(&mut self, command: &str, name: &str) -> Result<Answer, ImapError> {
        self.tag += 1;
        let tag = format!("f{}", self.tag);
        let line = format!("{tag} {command}\r\n");
        let io_err = |source| ImapError::Io {
            command: name.to_string(),
            source,
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, async {
            self.io.get_mut().write_all(line.as_bytes()).await?;
            self.io.get_mut().flush().await
        })
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(io_err(e)),
            Err(_) => {
                return Err(ImapError::Timeout {
                    command: name.to_string(),
                });
            }
        }
        let mut answer = Answer::default();
        for _ in 0..MAX_UNTAGGED {
            let (text, literals) = self.response(name).await?;
            if let Some(rest) = text.strip_prefix("* ") {
                if let Some(bye) = rest.strip_prefix("BYE") {
                    return Err(ImapError::Closed {
                        command: name.to_string(),
                        text: bye.trim().to_string(),
                    });
                }
                answer.untagged.push(Untagged {
                    text: rest.to_string(),
                    literals,
                });
                continue;
            }
            let Some(rest) = text.strip_prefix(&tag).map(str::trim_start) else {
                // A continuation request (`+`) or another tag: we never send literals.
                return Err(ImapError::Protocol {
                    command: name.to_string(),
                    why: format!("unexpected line {:?}", clip(&text)),
                });
            };
            let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return match status.to_ascii_uppercase().as_str() {
                "OK" => {
                    answer.text = text.to_string();
                    Ok(answer)
                }
                _ => Err(ImapError::Refused {
                    command: name.to_string(),
                    text: clip(rest),
                }),
            };
        }
        Err(ImapError::Protocol {
            command: name.to_string(),
            why: format!("more than {MAX_UNTAGGED} untagged responses"),
        })
    }

    /// One response: its lines joined (each literal replaced by its `{n}` marker) and
    /// its literals. A literal may be at most `max_message_size`-ish: the limit is the
    /// largest we ask for plus a margin.
    async fn response(&mut self, command: &str) -> Result<(String, Vec<Vec<u8>>), ImapError> {
        let mut text = String::new();
        let mut literals = Vec::new();
        // A response carries at most a few literals: ours carry one.
        for _ in 0..16 {
            let line = self.response_line(command).await?;
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            text.push_str(line);
            let Some(n) = literal_size(line) else {
                return Ok((text, literals));
            };
            if n > MAX_LITERAL {
                return Err(ImapError::Protocol {
                    command: command.to_string(),
                    why: format!("a literal of {n} bytes, over {MAX_LITERAL}"),
                });
            }
            let mut literal = vec![0; n];
            match tokio::time::timeout(COMMAND_TIMEOUT, self.io.read_exact(&mut literal)).await {
                Ok(Ok(_)) => literals.push(literal),
                Ok(Err(source)) => {
                    return Err(ImapError::Io {
                        command: command.to_string(),
                        source,
                    });
                }
                Err(_) => {
                    return Err(ImapError::Timeout {
                        command: command.to_string(),
                    });
                }
            }
        }
        Err(ImapError::Protocol {
            command: command.to_string(),
            why: "more than 16 literals in one response".into(),
        })
    }

    /// One line (up to LF), at most [`MAX_LINE`] bytes, within [`COMMAND_TIMEOUT`].
    async fn response_line(&mut self, command: &str) -> Result<Vec<u8>, ImapError> {
        let mut line = Vec::new();
        let read = tokio::time::timeout(
            COMMAND_TIMEOUT,
            read_line(&mut self.io, &mut line, MAX_LINE),
        )
        .await;
        match read {
            Ok(Ok(true)) => Ok(line),
            Ok(Ok(false)) if line.len() >= MAX_LINE => Err(ImapError::Protocol {
                command: command.to_string(),
                why: format!("a line over {MAX_LINE} bytes"),
            }),
            Ok(Ok(false)) => Err(ImapError::Closed {
                command: command.to_string(),
                text: String::from_utf8_lossy(&line).trim().to_string(),
            }),
            Ok(Err(source)) => Err(ImapError::Io {
                command: command.to_string(),
                source,
            }),
            Err(_) => Err(ImapError::Timeout {
                command: command.to_string(),
            }),
        }
    }
}

/// Hands one mail to [`inbound::handle`]: `Ok(true)` when handled, `Ok(false)` when
/// handling failed (the database: try again next poll), `Err(why)` to skip it.
async fn deliver(app: &Arc<App>, source: &str, raw: Vec<u8>) -> Result<bool, String> {
    let source = source.to_string();
    let acted = app
        .blocking("acting on a mail from IMAP", move |app| {
            let recipients = match recipients(app, &raw) {
                Ok(r) => r,
                Err(why) => return Ok(Err(why)),
            };
            let from = inbound::outer_headers(&raw, "from")
                .into_iter()
                .next()
                .unwrap_or_default();
            inbound::handle(app, &source, &from, &recipients, &raw, Utc::now()).map(|_| Ok(()))
        })
        .await;
    match acted {
        Ok(Ok(())) => Ok(true),
        Ok(Err(why)) => Err(why),
        Err(e) => {
            tracing::error!(
                "IMAP: acting on a mail failed: {e:#}; it stays unseen and is tried again next poll"
            );
            Ok(false)
        }
    }
}

/// The largest literal accepted: the inbound size cap's upper bound (64 MB) plus one.
const MAX_LITERAL: usize = 64 * 1024 * 1024 + 1;

/// Appends to `out` up to and including the next LF; `Ok(false)` when the stream ended
/// first or `limit` bytes came without one.
async fn read_line<R: AsyncBufRead + Unpin>(
    read: &mut R,
    out: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<bool> {
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let room = limit - out.len();
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (available.len().min(room), false),
        };
        out.extend_from_slice(&available[..take]);
        read.consume(take);
        if done {
            return Ok(true);
        }
        if out.len() >= limit {
            return Ok(false);
        }
    }
}

/// The size of the literal a line announces at its end (`{123}` or `{123+}`).
fn literal_size(line: &str) -> Option<usize> {
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..].trim_end_matches('+').parse().ok()
}

/// The number after `key` in `text`.
fn number_after(text: &str, key: &str) -> Option<usize> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `s` as an IMAP quoted string (config validation keeps it to printable ASCII).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A server's text for an error message: one line, at most 200 characters.
fn clip(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    one.chars().take(200).collect()
}

/// The members (or plain address) a mail from the mailbox is about: verified VERP
/// addresses at the bounce domain in its delivery headers, else one plain recipient so
/// the classifier's reported addresses are used. A VERP-shaped address that does not
/// verify (forged, cut, its member gone) skips the mail, as the listener refuses it.
fn recipients(app: &App, raw: &[u8]) -> Result<Vec<Recipient>, String> {
    let domain = app.config.inbound.bounce_domain.as_deref();
    let addresses = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .flat_map(|n| inbound::outer_headers(raw, n))
            .flat_map(|v| v.split(',').filter_map(bare_address).collect::<Vec<_>>())
            .collect()
    };
    // The envelope recipient, as the delivering MTA recorded it; the header recipients
    // only when it did not (they may name anyone).
    let mut candidates = addresses(&["delivered-to", "x-original-to", "envelope-to"]);
    if candidates.is_empty() {
        candidates = addresses(&["to", "cc"]);
    }
    let mut found: Vec<Recipient> = Vec::new();
    let mut forged = None;
    for address in candidates
        .into_iter()
        .take(app.config.inbound.max_recipients)
    {
        let Some((local, host)) = address.rsplit_once('@') else {
            continue;
        };
        let ours = domain.is_some_and(|d| host.trim_end_matches('.').eq_ignore_ascii_case(d));
        if !ours || !inbound::is_verp_shaped(local) {
            continue;
        }
        match inbound::verp_member(app, local) {
            Some((purpose, member_id)) => {
                let r = Recipient::Verp { purpose, member_id };
                if !found.contains(&r) {
                    found.push(r);
                }
            }
            None => forged = Some(address),
        }
    }
    if found.is_empty() {
        if let Some(address) = forged {
            return Err(format!(
                "the VERP address {address} does not verify (forged, cut, or its member gone)"
            ));
        }
        found.push(Recipient::Plain("imap".into()));
    }
    Ok(found)
}

/// The bare address in a header value item (`Name <a@b>`, `<a@b>`, `a@b`).
fn bare_address(s: &str) -> Option<String> {
    let s = s.trim();
    let s = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let s = s.trim().trim_matches('"');
    (s.contains('@') && !s.contains(char::is_whitespace) && s.len() <= 320).then(|| s.to_string())
}

/// A TLS client stream to `host`, verified against the system's trust store.
async fn tls(
    tcp: TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    crate::fetch::install_crypto_provider();
    let fail = |source: std::io::Error| ImapError::Tls {
        host: host.to_string(),
        source,
    };
    let config = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| fail(std::io::Error::other(e)))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(COMMAND_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(fail(e)),
        Err(_) => Err(ImapError::Timeout {
            command: format!("the TLS handshake with {host}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app polling `127.0.0.1:port` (plain IMAP) with a bounce domain.
    fn app(dir: &std::path::Path, port: u16) -> Arc<App> {
        let text = format!(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\n[inbound]\nbounce_domain = \"bounces.example.org\"\nimap = {{ url = \"imap://127.0.0.1:{port}\", user = \"u\", password_env = \"PW\" }}\n"
        );
        let config = crate::config::parse(&text, &dir.join("feeds.toml"), |n| {
            (n == "PW").then(|| "p".to_string())
        })
        .expect("config");
        App::open(config).expect("open")
    }

    /// A one-connection server on 127.0.0.1:0 that answers each line the client sends
    /// with the next script entry (the first entry is the greeting), then closes.
    async fn hostile(script: Vec<Vec<u8>>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut script = script.into_iter();
            if let Some(greeting) = script.next() {
                let _ = write.write_all(&greeting).await;
            }
            for answer in script {
                let mut line = Vec::new();
                if !read_line(&mut read, &mut line, 4096).await.unwrap_or(false) {
                    return;
                }
                if write.write_all(&answer).await.is_err() {
                    return;
                }
            }
            // Then silence until the client gives up.
            let mut sink = Vec::new();
            let _ = read.read_to_end(&mut sink).await;
        });
        port
    }

    #[tokio::test]
    async fn a_server_that_is_down_is_a_connect_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A port that was free a moment ago: nothing listens there now.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = poll_once(&app(dir.path(), port)).await.expect_err("down");
        assert!(matches!(err, ImapError::Connect { .. }), "{err}");
        assert!(err.to_string().contains("is the server up"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_login_names_the_user_and_the_password_variable_but_not_the_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = hostile(vec![
            b"* OK ready\r\n".to_vec(),
            b"f1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".to_vec(),
        ])
        .await;
        let err = poll_once(&app(dir.path(), port))
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(matches!(err, ImapError::Login { .. }), "{text}");
        assert!(text.contains("\"u\"") && text.contains("PW"), "{text}");
        assert!(
            !text.contains("LOGIN u p") && !text.contains("\"p\""),
            "{text}"
        );
    }

    #[tokio::test]
    async fn hostile_answers_are_errors_within_their_limits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let login = || b"f1 OK logged in\r\n".to_vec();
        let caps = || b"* CAPABILITY IMAP4rev1\r\nf2 OK done\r\n".to_vec();
        let select = || b"f3 OK selected\r\n".to_vec();
        // A BYE greeting; a literal announced at a terabyte; a line with no end; a search
        // answered by another tag.
        let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
            (vec![b"* BYE go away\r\n".to_vec()], "greeting"),
            (
                vec![
                    b"* OK\r\n".to_vec(),
                    login(),
                    caps(),
                    select(),
                    b"* SEARCH 1\r\nf4 OK\r\n".to_vec(),
                    b"* 1 FETCH (UID 1 RFC822.SIZE 9 BODY[]<0> {1000000000000}\r\n".to_vec(),
                ],
                "literal of 1000000000000 bytes",
            ),
            (
                vec![
                    b"* OK\r\n".to_vec(),
                    login(),
                    caps(),
                    vec![b'x'; MAX_LINE + 10],
                ],
                "a line over",
            ),
            (
                vec![
                    b"* OK\r\n".to_vec(),
                    login(),
                    caps(),
                    select(),
                    b"zz OK\r\n".to_vec(),
                ],
                "unexpected line",
            ),
        ];
        for (script, says) in cases {
            let port = hostile(script).await;
            let err = poll_once(&app(dir.path(), port)).await.expect_err(says);
            assert!(err.to_string().contains(says), "{says}: {err}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_stops_answering_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = hostile(vec![b"* OK\r\n".to_vec()]).await;
        let err = poll_once(&app(dir.path(), port)).await.expect_err("silent");
        assert!(matches!(err, ImapError::Timeout { .. }), "{err}");
    }

    #[test]
    fn literals_quoting_and_numbers_are_read_as_imap_writes_them() {
        assert_eq!(literal_size("* 1 FETCH (BODY[] {42}"), Some(42));
        assert_eq!(literal_size("* 1 FETCH (BODY[] {42+}"), Some(42));
        assert_eq!(literal_size("* 1 FETCH (FLAGS (\\Seen))"), None);
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            number_after("1 FETCH (RFC822.SIZE 1234 UID", "RFC822.SIZE "),
            Some(1234)
        );
    }

    #[test]
    fn a_verp_address_in_the_delivery_headers_names_the_member_and_a_forged_one_skips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path(), 1);
        crate::cycle::import_members_text(&app, "email\nann@example.org\n", Utc::now())
            .expect("import");
        let ann = app
            .store()
            .member_by_email("ann@example.org")
            .expect("query")
            .expect("ann");
        let verp =
            crate::mail::delivery::verp_addresses(&app.config, &app.secret, ann.id, &ann.email)
                .expect("verp");
        let raw = format!(
            "Delivered-To: {}\r\nTo: x@example.net\r\n\r\nbody",
            verp.bounces
        );
        assert_eq!(
            recipients(&app, raw.as_bytes()),
            Ok(vec![Recipient::Verp {
                purpose: crate::token::VerpPurpose::Bounces,
                member_id: ann.id
            }])
        );
        let forged = raw.replace(&verp.bounces.to_string()[..20], "bounces+1-0000000000");
        assert!(recipients(&app, forged.as_bytes()).is_err(), "{forged}");
        assert_eq!(
            recipients(&app, b"To: postmaster@bounces.example.org\r\n\r\nbody"),
            Ok(vec![Recipient::Plain("imap".into())])
        );
    }
}

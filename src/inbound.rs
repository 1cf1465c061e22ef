//! Inbound mail: bounces, complaints and mailed unsubscribes arriving over SMTP → what
//! happens to the member, recorded with its evidence.
//!
//! ```text
//! relay ─SMTP─▶ listener (EHLO, MAIL, RCPT for the bounce domain only, DATA) ─▶ act
//!                 RCPT: bounces+<id>-<mac>@ / unsubscribe+<id>-<mac>@ (VERP, verified)
//!                       or any other address there (the classifier's recipients are used)
//! act: bounce::classify → hard: bounced · soft: counted, bounced at the limit
//!      · complaint or unsubscribe+: unsubscribed · ignore: logged
//! ```
//!
//! The listener is our own small SMTP server on tokio: no AUTH, no STARTTLS, no relay
//! (a recipient outside the bounce domain gets 550), and every resource is bounded:
//! message size (552 beyond), command line length, recipients per message, connections
//! at once (421 beyond), the whole connection's time and its number of commands. Hostile
//! input is refused or ignored with a log line; nothing in a mail can stop the listener.
//! A mail is answered 250 only once what it did is in the database; a database failure
//! answers 451, so the sending relay tries again later.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::app::{App, SharedApp};
use crate::bounce::{self, Action};
use crate::store::{MemberEvent, MemberEventKind, MemberStatus};
use crate::token::VerpPurpose;

/// Longest command line, CRLF included (RFC 5321 4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// Most commands one connection may send; then it is closed (421).
pub const MAX_COMMANDS: usize = 1000;

/// Most refused commands (syntax, sequence, refused recipients) before the connection is
/// closed (421).
pub const MAX_ERRORS: usize = 20;

/// Longest excerpt of a mail kept as an event's evidence, in characters.
const EVIDENCE_CHARS: usize = 200;

/// Binds `[inbound] listen`, when it is set.
pub async fn bind(app: &App) -> anyhow::Result<Option<TcpListener>> {
    let Some(addr) = app.config.inbound.listen else {
        return Ok(None);
    };
    TcpListener::bind(addr).await.map(Some).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr} ([inbound] listen): {e}; is another feedbrief or mail server using it? (ports below 1024 need privileges: see the README)"
        )
    })
}

/// Serves SMTP on `listener` until `cancel` fires. Each connection gets a session of its
/// own, bounded by `[inbound] connection_timeout`; beyond `max_connections` a client is
/// answered 421 (try later) and closed.
pub async fn serve(
    app: impl Into<SharedApp>,
    listener: TcpListener,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let shared: SharedApp = app.into();
    let slots = Arc::new(Semaphore::new(shared.get().config.inbound.max_connections));
    loop {
        let (mut stream, peer) = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or a reset before accept: not fatal; pause
                    // so that a persistent error does not spin.
                    tracing::warn!("inbound SMTP: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "inbound SMTP: too many connections, refused");
            tokio::spawn(async move {
                let busy = b"421 4.7.0 too many connections, try again later\r\n";
                let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(busy)).await;
            });
            continue;
        };
        let app = shared.get();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let limit = app.config.inbound.connection_timeout;
            let session = Session::new(app, peer.to_string());
            tokio::select! {
                () = cancel.cancelled() => {}
                result = tokio::time::timeout(limit, session.run(stream)) => match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::info!(%peer, "inbound SMTP: connection ended: {e}"),
                    Err(_) => tracing::warn!(
                        %peer,
                        "inbound SMTP: connection closed after {} ([inbound] connection_timeout)",
                        humantime::format_duration(limit)
                    ),
                },
            }
            drop(slot);
        });
    }
    Ok(())
}

/// A recipient the listener accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A VERP address whose mac verified: it names the member.
    Verp {
        /// `bounces+` or `unsubscribe+`.
        purpose: VerpPurpose,
        /// The member it names.
        member_id: i64,
    },
    /// Another address at the bounce domain (`bounces@`, `postmaster@`, a relay's
    /// forward): the member is looked up from the addresses the mail reports.
    Plain(String),
}

/// What one mail did, for one member or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An event was recorded for the member.
    Recorded {
        /// The member.
        member_id: i64,
        /// What happened.
        kind: MemberEventKind,
        /// The member's new status, when this event changed it.
        suppressed: Option<MemberStatus>,
        /// Soft bounces within the window, this one included (soft bounces only).
        soft_bounces: Option<usize>,
    },
    /// Nothing to act on: an auto-reply, mail that is not a bounce, an ARF report of a
    /// kind that is no complaint.
    Ignored {
        /// Why, for the log.
        why: String,
    },
    /// The mail reports an address that is no member's.
    NoMember {
        /// The address.
        address: String,
    },
}

/// Classifies one received mail and acts on it for each of its recipients, in one
/// database transaction (blocking: call through [`App::blocking`]).
pub fn act(
    app: &App,
    recipients: &[Recipient],
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Outcome>> {
    let report = bounce::classify(raw);
    app.store().in_transaction(|store| {
        let mut outcomes = Vec::new();
        for rcpt in recipients {
            match rcpt {
                Recipient::Verp {
                    purpose: VerpPurpose::Unsubscribe,
                    member_id,
                } => {
                    let evidence = format!(
                        "mail to the unsubscribe address from {} subject {:?}",
                        outer_header(raw, "from").unwrap_or_else(|| "(no From)".into()),
                        outer_header(raw, "subject").unwrap_or_default()
                    );
                    let event = Evidence {
                        kind: MemberEventKind::MailedUnsubscribe,
                        status: None,
                        text: evidence,
                    };
                    outcomes.push(record(app, store, *member_id, event, now)?);
                }
                Recipient::Verp {
                    purpose: VerpPurpose::Bounces,
                    member_id,
                } => {
                    // With VERP the message went to this member alone: whatever address
                    // the report names (a forward of theirs, say), it is about them. The
                    // strongest action it reports holds.
                    let strongest = report.recipients.iter().max_by_key(|r| severity(r.action));
                    match strongest.and_then(Evidence::of) {
                        Some(event) => outcomes.push(record(app, store, *member_id, event, now)?),
                        None => outcomes.push(Outcome::Ignored {
                            why: ignored_why(&report),
                        }),
                    }
                }
                Recipient::Plain(_) => {
                    let mut any = false;
                    for r in &report.recipients {
                        let Some(event) = Evidence::of(r) else {
                            continue;
                        };
                        any = true;
                        let member = crate::members::normalise_address(&r.address)
                            .ok()
                            .map(|email| store.member_by_email(&email))
                            .transpose()?
                            .flatten();
                        match member {
                            Some(m) => outcomes.push(record(app, store, m.id, event, now)?),
                            None => outcomes.push(Outcome::NoMember {
                                address: r.address.clone(),
                            }),
                        }
                    }
                    if !any {
                        outcomes.push(Outcome::Ignored {
                            why: ignored_why(&report),
                        });
                    }
                }
            }
        }
        Ok(outcomes)
    })
}

/// Handles one received mail wherever it came from (the SMTP listener, IMAP polling):
/// [`act`] on it, then one log line per outcome naming `source` (the peer, or the IMAP
/// mailbox) and `from` (the envelope sender, or the mail's `From`). Blocking: call
/// through [`App::blocking`].
pub fn handle(
    app: &App,
    source: &str,
    from: &str,
    recipients: &[Recipient],
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Outcome>> {
    let outcomes = act(app, recipients, raw, now)?;
    for o in &outcomes {
        log_outcome(source, from, raw.len(), o);
    }
    Ok(outcomes)
}

/// A local part shaped like our VERP addresses (`bounces+…`, `unsubscribe+…`).
pub fn is_verp_shaped(local: &str) -> bool {
    local
        .split_once('+')
        .is_some_and(|(p, _)| ["bounces", "unsubscribe"].contains(&p.to_ascii_lowercase().as_str()))
}

/// The purpose and member a VERP local part names, when its mac verifies against that
/// member's address; `None` for a forged or cut one, or a member gone. Blocking.
pub fn verp_member(app: &App, local: &str) -> Option<(VerpPurpose, i64)> {
    let store = app.store();
    app.secret.verp_verify(local, |id| {
        store.member_by_id(id).ok().flatten().map(|m| m.email)
    })
}

/// Every `name` header of the mail itself (not of a quoted one), unfolded, in order;
/// only the header block's first 64 KB are read.
pub fn outer_headers(raw: &[u8], name: &str) -> Vec<String> {
    let head = &raw[..raw.len().min(64 * 1024)];
    let head = String::from_utf8_lossy(head);
    let head = head
        .split("\r\n\r\n")
        .next()
        .and_then(|h| h.split("\n\n").next())
        .unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if open && let Some(v) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        open = match line.split_once(':') {
            Some((n, v)) if n.trim().eq_ignore_ascii_case(name) => {
                out.push(v.trim().to_string());
                true
            }
            _ => false,
        };
    }
    out
}

/// How strongly an action weighs when one mail reports several.
fn severity(action: Action) -> u8 {
    match action {
        Action::Ignore => 0,
        Action::Soft => 1,
        Action::Hard => 2,
        Action::Complaint => 3,
    }
}

fn ignored_why(report: &bounce::Report) -> String {
    match report.recipients.first() {
        Some(r) => format!("{:?} mail, {} ({})", report.kind, r.action, r.reason),
        None => format!("{:?} mail: nothing to act on", report.kind),
    }
}

/// An event to record, before it has a member and a time.
struct Evidence {
    kind: MemberEventKind,
    status: Option<String>,
    text: String,
}

impl Evidence {
    /// The event a reported recipient calls for; `None` for `ignore`.
    fn of(r: &bounce::Recipient) -> Option<Self> {
        let kind = match r.action {
            Action::Hard => MemberEventKind::HardBounce,
            Action::Soft => MemberEventKind::SoftBounce,
            Action::Complaint => MemberEventKind::Complaint,
            Action::Ignore => return None,
        };
        let code = r.reply_code.map(|c| format!("{c} ")).unwrap_or_default();
        Some(Self {
            kind,
            status: (!r.status.is_empty()).then(|| r.status.clone()),
            text: format!("{code}{}: {}", r.reason, r.diagnostic),
        })
    }
}

/// Records `event` for the member and applies its rule: hard bounce → bounced; soft
/// bounce → bounced once `soft_bounce_limit` are within `soft_bounce_window`; complaint
/// or mailed unsubscribe → unsubscribed. A member already suppressed keeps their status
/// and first reason; the event is recorded all the same.
fn record(
    app: &App,
    store: &crate::store::Store,
    member_id: i64,
    event: Evidence,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    if store.member_by_id(member_id)?.is_none() {
        return Ok(Outcome::NoMember {
            address: format!("member #{member_id}"),
        });
    }
    let text = clip(&event.text, EVIDENCE_CHARS);
    let status_text = event
        .status
        .as_deref()
        .map(|s| format!("{s} "))
        .unwrap_or_default();
    store.add_member_event(&MemberEvent {
        member_id,
        at: now,
        kind: event.kind,
        status: event.status.clone(),
        evidence: text.clone(),
    })?;
    let inbound = &app.config.inbound;
    let day = now.format("%Y-%m-%d %H:%M UTC");
    let mut soft_bounces = None;
    let change = match event.kind {
        MemberEventKind::HardBounce => Some((
            MemberStatus::Bounced,
            format!("hard bounce on {day}: {status_text}{text}"),
        )),
        MemberEventKind::SoftBounce => {
            let window = chrono::Duration::from_std(inbound.soft_bounce_window)
                .unwrap_or(chrono::Duration::days(15));
            let n = store.soft_bounces_since(member_id, now - window)?;
            soft_bounces = Some(n);
            (n >= inbound.soft_bounce_limit).then(|| {
                (
                    MemberStatus::Bounced,
                    format!(
                        "{n} soft bounces within {}, the last on {day}: {status_text}{text}",
                        humantime::format_duration(inbound.soft_bounce_window)
                    ),
                )
            })
        }
        MemberEventKind::Complaint => Some((
            MemberStatus::Unsubscribed,
            format!("spam complaint on {day}: {text}"),
        )),
        MemberEventKind::MailedUnsubscribe => Some((
            MemberStatus::Unsubscribed,
            format!("unsubscribed by mail on {day}"),
        )),
    };
    let suppressed = match change {
        Some((status, reason)) => store
            .suppress_member(member_id, status, &reason, now)?
            .then_some(status),
        None => None,
    };
    Ok(Outcome::Recorded {
        member_id,
        kind: event.kind,
        suppressed,
        soft_bounces,
    })
}

/// The first `name` header of the mail itself (not of a quoted one), unfolded and
/// clipped.
fn outer_header(raw: &[u8], name: &str) -> Option<String> {
    outer_headers(raw, name)
        .into_iter()
        .next()
        .map(|v| clip(&v, 100))
}

/// `s` on one line, cut to at most `max` characters.
fn clip(s: &str, max: usize) -> String {
    let one: String = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match one.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

/// One SMTP connection.
struct Session {
    app: Arc<App>,
    peer: String,
    /// The bounce domain, lower-case (the listener only runs with one).
    domain: String,
    greeted: bool,
    /// `MAIL FROM` was given (the reverse path, for the log).
    from: Option<String>,
    recipients: Vec<Recipient>,
    errors: usize,
}

/// How a session goes on after a command.
enum Next {
    Continue,
    /// DATA was accepted: answer 354 and read the message.
    Data,
    Close,
}

impl Session {
    fn new(app: Arc<App>, peer: String) -> Self {
        let domain = app.config.inbound.bounce_domain.clone().unwrap_or_default();
        Self {
            app,
            peer,
            domain,
            greeted: false,
            from: None,
            recipients: Vec::new(),
            errors: 0,
        }
    }

    async fn run(mut self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        write
            .write_all(format!("220 {} feedbrief ESMTP (bounces only)\r\n", self.domain).as_bytes())
            .await?;
        let mut line = Vec::new();
        for _ in 0..MAX_COMMANDS {
            line.clear();
            match read_line(&mut read, &mut line, MAX_COMMAND_LINE).await? {
                Line::End => return Ok(()),
                Line::TooLong => {
                    tracing::warn!(peer = %self.peer, "inbound SMTP: command line over {MAX_COMMAND_LINE} bytes, closed");
                    write
                        .write_all(b"500 5.5.2 line too long; closing\r\n")
                        .await?;
                    return Ok(());
                }
                Line::Complete => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (mut reply, mut next) = self.command(text).await;
            if matches!(next, Next::Data) {
                write
                    .write_all(b"354 end the message with <CRLF>.<CRLF>\r\n")
                    .await?;
                let max = self.app.config.inbound.max_message_size;
                reply = self.read_message(&mut read, max).await?;
                next = Next::Continue;
            }
            write.write_all(reply.as_bytes()).await?;
            if reply.starts_with('5') || reply.starts_with("4") {
                self.errors += 1;
            }
            if matches!(next, Next::Close) {
                return Ok(());
            }
            if self.errors >= MAX_ERRORS {
                write
                    .write_all(b"421 4.7.0 too many errors; closing\r\n")
                    .await?;
                return Ok(());
            }
        }
        write
            .write_all(b"421 4.7.0 too many commands; closing\r\n")
            .await?;
        Ok(())
    }

    /// The answer to one command (DATA's, when accepted, is [`Next::Data`]).
    async fn command(&mut self, text: &str) -> (String, Next) {
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let arg = text.get(verb.len()..).unwrap_or_default().trim();
        let max = self.app.config.inbound.max_message_size;
        let reply = match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => "501 5.5.4 say who you are\r\n".to_string(),
            "EHLO" => {
                self.greeted = true;
                self.reset();
                format!(
                    "250-{} hello\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                    self.domain
                )
            }
            "HELO" => {
                self.greeted = true;
                self.reset();
                format!("250 {} hello\r\n", self.domain)
            }
            "MAIL" => self.mail(arg, max),
            "RCPT" => self.rcpt(arg).await,
            "DATA" if self.recipients.is_empty() => "503 5.5.1 RCPT first\r\n".to_string(),
            "DATA" => return (String::new(), Next::Data),
            "RSET" => {
                self.reset();
                "250 2.0.0 reset\r\n".to_string()
            }
            "NOOP" => "250 2.0.0 ok\r\n".to_string(),
            "QUIT" => return ("221 2.0.0 bye\r\n".to_string(), Next::Close),
            "VRFY" => "252 2.5.0 not verified\r\n".to_string(),
            "AUTH" | "STARTTLS" | "ETRN" | "EXPN" | "TURN" | "BDAT" => {
                format!("502 5.5.1 {verb} is not offered here\r\n")
            }
            _ => "500 5.5.2 command not recognized\r\n".to_string(),
        };
        (reply, Next::Continue)
    }

    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }

    fn mail(&mut self, arg: &str, max: usize) -> String {
        if !self.greeted {
            return "503 5.5.1 say EHLO first\r\n".into();
        }
        if self.from.is_some() {
            return "503 5.5.1 MAIL already given; RSET first\r\n".into();
        }
        let Some((path, params)) = path_after(arg, "FROM:") else {
            return "501 5.5.4 expected MAIL FROM:<address>\r\n".into();
        };
        for p in params.split_whitespace() {
            if let Some((k, v)) = p.split_once('=')
                && k.eq_ignore_ascii_case("SIZE")
                && v.parse::<u64>().is_ok_and(|n| n > max as u64)
            {
                return format!("552 5.3.4 message size exceeds the limit of {max} bytes\r\n");
            }
        }
        self.from = Some(path.to_string());
        "250 2.1.0 sender ok\r\n".into()
    }

    async fn rcpt(&mut self, arg: &str) -> String {
        if self.from.is_none() {
            return "503 5.5.1 MAIL first\r\n".into();
        }
        let Some((path, _)) = path_after(arg, "TO:") else {
            return "501 5.5.4 expected RCPT TO:<address>\r\n".into();
        };
        let Some((local, domain)) = path.rsplit_once('@') else {
            return "550 5.1.1 no such mailbox here\r\n".into();
        };
        if !domain
            .trim_end_matches('.')
            .eq_ignore_ascii_case(&self.domain)
        {
            tracing::warn!(peer = %self.peer, rcpt = %clip(path, 100), "inbound SMTP: relaying refused");
            return format!(
                "550 5.7.1 relaying denied: this server takes mail for {} only\r\n",
                self.domain
            );
        }
        if self.recipients.len() >= self.app.config.inbound.max_recipients {
            return "452 4.5.3 too many recipients\r\n".into();
        }
        let local = local.to_string();
        if !is_verp_shaped(&local) {
            self.recipients.push(Recipient::Plain(path.to_string()));
            return "250 2.1.5 recipient ok\r\n".into();
        }
        let verified = self
            .app
            .blocking("checking a VERP address", move |app| {
                Ok(verp_member(app, &local))
            })
            .await;
        match verified {
            Ok(Some((purpose, member_id))) => {
                self.recipients.push(Recipient::Verp { purpose, member_id });
                "250 2.1.5 recipient ok\r\n".into()
            }
            Ok(None) => {
                tracing::warn!(peer = %self.peer, rcpt = %clip(path, 100), "inbound SMTP: a VERP address that does not verify (forged, cut, or its member gone), refused");
                "550 5.1.1 no such mailbox here\r\n".into()
            }
            Err(e) => {
                tracing::error!(peer = %self.peer, "inbound SMTP: {e:#}");
                "451 4.3.0 temporary failure, try again later\r\n".into()
            }
        }
    }

    /// Reads the message after DATA (already answered 354), undoing dot-stuffing, then
    /// acts on it; returns the answer to the message.
    async fn read_message<R: AsyncBufRead + Unpin>(
        &mut self,
        read: &mut R,
        max: usize,
    ) -> std::io::Result<String> {
        let mut message = Vec::new();
        let mut too_big = false;
        let mut segment = Vec::new();
        let mut line_start = true;
        loop {
            segment.clear();
            let ended = match read_line(read, &mut segment, 64 * 1024).await? {
                Line::End => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the client left in the middle of DATA",
                    ));
                }
                Line::Complete => true,
                Line::TooLong => false,
            };
            if line_start && ended && (segment == b".\r\n" || segment == b".\n") {
                break;
            }
            // RFC 5321 4.5.2: a line starting with a dot had another put before it.
            let piece = match segment.strip_prefix(b".") {
                Some(rest) if line_start => rest,
                _ => &segment[..],
            };
            if !too_big {
                if message.len() + piece.len() > max {
                    // Read to the end all the same (bounded by the connection's time), so
                    // the refusal reaches a client that does not read while it sends.
                    too_big = true;
                    message = Vec::new();
                } else {
                    message.extend_from_slice(piece);
                }
            }
            line_start = ended;
        }
        let recipients = std::mem::take(&mut self.recipients);
        let from = self.from.take().unwrap_or_default();
        if too_big {
            tracing::warn!(peer = %self.peer, %from, "inbound SMTP: a message over {max} bytes ([inbound] max_message_size), refused");
            return Ok(format!(
                "552 5.3.4 message larger than {max} bytes, refused\r\n"
            ));
        }
        let now = Utc::now();
        let rcpts = recipients.clone();
        let peer = self.peer.clone();
        let sender = from.clone();
        let acted = self
            .app
            .blocking("acting on an inbound mail", move |app| {
                handle(app, &peer, &sender, &rcpts, &message, now)
            })
            .await;
        match acted {
            Ok(_) => Ok("250 2.0.0 received\r\n".into()),
            Err(e) => {
                tracing::error!(peer = %self.peer, %from, "inbound SMTP: acting on a mail failed: {e:#}; answered 451 so the relay sends it again");
                Ok("451 4.3.0 temporary failure, try again later\r\n".into())
            }
        }
    }
}

fn log_outcome(peer: &str, from: &str, size: usize, o: &Outcome) {
    match o {
        Outcome::Recorded {
            member_id,
            kind,
            suppressed,
            soft_bounces,
        } => tracing::info!(
            %peer, %from, size, member = member_id, %kind,
            suppressed = ?suppressed.map(|s| s.as_str()),
            soft_bounces = ?soft_bounces,
            "inbound mail recorded"
        ),
        Outcome::Ignored { why } => {
            tracing::info!(%peer, %from, size, %why, "inbound mail ignored")
        }
        Outcome::NoMember { address } => tracing::info!(
            %peer, %from, size, address = %clip(address, 100),
            "inbound mail names no member; ignored"
        ),
    }
}

/// The `<path>` after `FROM:` or `TO:` (case-insensitive, spaces allowed after the
/// colon) and the parameters after it.
fn path_after<'a>(arg: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let (path, params) = rest.split_once('>')?;
    // A source route (`<@a,@b:user@c>`, RFC 5321 4.1.2) names the mailbox after its colon.
    let path = path.rsplit_once(':').map_or(path, |(_, p)| p);
    Some((path.trim(), params.trim()))
}

/// How a [`read_line`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line ending in LF is in the buffer.
    Complete,
    /// `limit` bytes were read without an LF; the rest of the line is still to come.
    TooLong,
    /// The connection closed (nothing, or an unfinished line, was read).
    End,
}

/// Appends to `out` up to and including the next LF, or `limit` bytes of the line;
/// never holds more than `limit` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    read: &mut R,
    out: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Line> {
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::End);
        }
        let room = limit - out.len();
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (available.len().min(room), false),
        };
        out.extend_from_slice(&available[..take]);
        read.consume(take);
        if done {
            return Ok(Line::Complete);
        }
        if out.len() >= limit {
            return Ok(Line::TooLong);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An app on a temporary data dir with `bounces.example.org` as its bounce domain and
    /// the members `ann@`, `bo@` (example.org).
    fn app(dir: &std::path::Path) -> Arc<App> {
        let config = crate::config::parse(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n\n[inbound]\nbounce_domain = \"bounces.example.org\"\n",
            &dir.join("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let app = App::open(config).expect("open");
        crate::cycle::import_members_text(&app, "email\nann@example.org\nbo@example.org\n", at(0))
            .expect("import");
        app
    }

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T08:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
            + chrono::Duration::days(day)
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bounces")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn member(app: &App, email: &str) -> crate::store::Member {
        app.store()
            .member_by_email(email)
            .expect("query")
            .expect("member")
    }

    fn verp(app: &App, email: &str) -> Recipient {
        Recipient::Verp {
            purpose: VerpPurpose::Bounces,
            member_id: member(app, email).id,
        }
    }

    #[test]
    fn soft_bounces_suppress_at_the_limit_only_within_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        let full = fixture("exim-full-mailbox.eml");
        let ann = verp(&app, "ann@example.org");
        // Ann: three soft bounces, but ten days apart: never three within 15 days.
        for day in [0, 10, 20] {
            act(&app, std::slice::from_ref(&ann), &full, at(day)).expect("act");
        }
        assert_eq!(member(&app, "ann@example.org").status, MemberStatus::Active);
        // A fourth, two days after the third: three within the window now (days 10, 20, 22).
        let outcomes = act(&app, &[ann], &full, at(22)).expect("act");
        assert_eq!(
            outcomes,
            vec![Outcome::Recorded {
                member_id: member(&app, "ann@example.org").id,
                kind: MemberEventKind::SoftBounce,
                suppressed: Some(MemberStatus::Bounced),
                soft_bounces: Some(3),
            }]
        );
        let ann = member(&app, "ann@example.org");
        assert_eq!(ann.status, MemberStatus::Bounced);
        let reason = ann.reason.expect("reason");
        assert!(
            reason.starts_with("3 soft bounces within 15days"),
            "{reason}"
        );
        assert!(reason.contains("mailbox_full"), "{reason}");
        // Bo was never mentioned.
        assert_eq!(member(&app, "bo@example.org").status, MemberStatus::Active);
    }

    #[test]
    fn without_verp_the_reported_address_finds_the_member_and_unknown_ones_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(dir.path());
        let dsn = String::from_utf8(fixture("dsn-user-unknown.eml"))
            .expect("utf8")
            .replace("ada@members.example.com", "BO@example.org");
        let plain = [Recipient::Plain("bounces@bounces.example.org".into())];
        let outcomes = act(&app, &plain, dsn.as_bytes(), at(0)).expect("act");
        let bo = member(&app, "bo@example.org");
        assert_eq!(
            outcomes,
            vec![Outcome::Recorded {
                member_id: bo.id,
                kind: MemberEventKind::HardBounce,
                suppressed: Some(MemberStatus::Bounced),
                soft_bounces: None,
            }]
        );
        assert!(
            bo.reason
                .as_deref()
                .is_some_and(|r| r.contains("hard bounce") && r.contains("5.1.1")),
            "{:?}",
            bo.reason
        );
        let stranger = act(&app, &plain, &fixture("dsn-user-unknown.eml"), at(0)).expect("act");
        assert_eq!(
            stranger,
            vec![Outcome::NoMember {
                address: "ada@members.example.com".into()
            }]
        );
        // An auto-reply is logged only: nothing recorded, nobody changed.
        let auto = act(
            &app,
            &[verp(&app, "ann@example.org")],
            &fixture("autoreply-vacation.eml"),
            at(0),
        )
        .expect("act");
        assert!(matches!(auto[..], [Outcome::Ignored { .. }]), "{auto:?}");
        let activity = app.store().member_activity(at(-1)).expect("activity");
        assert!(!activity.contains_key(&member(&app, "ann@example.org").id));
        assert_eq!(activity[&bo.id].last.kind, MemberEventKind::HardBounce);
        assert_eq!(activity[&bo.id].last.status.as_deref(), Some("5.1.1"));
    }

    #[tokio::test]
    async fn read_line_never_holds_more_than_its_limit() {
        let mut input: &[u8] = b"EHLO a\r\nxxxxxxxxxx\r\n";
        let mut out = Vec::new();
        assert_eq!(
            read_line(&mut input, &mut out, 16).await.expect("read"),
            Line::Complete
        );
        assert_eq!(out, b"EHLO a\r\n");
        out.clear();
        assert_eq!(
            read_line(&mut input, &mut out, 4).await.expect("read"),
            Line::TooLong
        );
        assert_eq!(out, b"xxxx");
        out.clear();
        assert_eq!(
            read_line(&mut input, &mut out, 64).await.expect("read"),
            Line::Complete
        );
        assert_eq!(out, b"xxxxxx\r\n");
        out.clear();
        assert_eq!(
            read_line(&mut input, &mut out, 64).await.expect("read"),
            Line::End
        );
    }

    #[test]
    fn paths_are_read_with_or_without_a_space_and_source_routes() {
        assert_eq!(path_after("FROM:<>", "FROM:"), Some(("", "")));
        assert_eq!(
            path_after("from: <a@b.org> SIZE=10", "FROM:"),
            Some(("a@b.org", "SIZE=10"))
        );
        assert_eq!(
            path_after("TO:<@relay.org:x@b.org>", "TO:"),
            Some(("x@b.org", ""))
        );
        assert_eq!(path_after("TO:x@b.org", "TO:"), None);
        assert_eq!(path_after("T", "TO:"), None);
        assert_eq!(path_after("TÖ:<x@b.org>", "TO:"), None);
    }

    #[test]
    fn outer_headers_are_the_mails_own_unfolded() {
        let raw = b"From: Ann <ann@example.org>\r\nSubject: please\r\n  unsubscribe me\r\n\r\nSubject: body";
        assert_eq!(
            outer_header(raw, "subject").as_deref(),
            Some("please unsubscribe me")
        );
        assert_eq!(
            outer_header(raw, "from").as_deref(),
            Some("Ann <ann@example.org>")
        );
        assert_eq!(outer_header(b"\xff\xfe", "from"), None);
    }
}

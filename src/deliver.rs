//! Deliver: a rendered copy for one member → a MIME message → the outbox or an SMTP relay.
//!
//! [`compose`] builds the message (multipart/alternative, text then HTML; our own stable
//! `Message-ID`; `List-Unsubscribe`, `List-Unsubscribe-Post` per RFC 8058; `List-Id`).
//! [`Sender`] hands it to the transport and answers with a [`SendError`] the caller acts
//! on: transient (try again later) or permanent (record and stop). SMTP connections are
//! our own pool: lettre's pool never sets `TCP_NODELAY`, which costs ~40 ms per message on
//! a reused connection (lettre PR #1159), and caps idle rather than concurrent connections.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Semaphore;

use crate::config::{Brief, SmtpSettings, SmtpTls, Transport};
use crate::render::Rendered;

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx, timeouts, dropped connections.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will not succeed as it is: 5xx (the address is refused, the message rejected).
    #[error("permanent failure: {message}")]
    Permanent {
        /// The server's answer.
        message: String,
        /// The mailbox itself is refused (550/551/553): a hard bounce, suppress the member.
        bounce: bool,
    },
}

impl SendError {
    /// True for failures worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// Headers the DKIM signature covers; RFC 8058 requires the two List-Unsubscribe ones.
pub const DKIM_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The signing configuration for `[delivery]` DKIM settings.
pub fn dkim_config(d: &crate::config::Dkim) -> anyhow::Result<lettre::message::dkim::DkimConfig> {
    use lettre::message::dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    };
    let key = DkimSigningKey::new(&d.key_pem, DkimSigningAlgorithm::Rsa)
        .map_err(|e| anyhow::anyhow!("DKIM key: {e}"))?;
    Ok(DkimConfig::new(
        d.selector.clone(),
        d.domain.clone(),
        key,
        DKIM_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        // relaxed/relaxed survives the header refolding relays do.
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// Per-message facts `compose` needs besides the rendered parts.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The recipient.
    pub to: Mailbox,
    /// The stable `Message-ID` (without angle brackets).
    pub message_id: String,
    /// One-click unsubscribe URL (https), when `base_url` is set.
    pub unsubscribe_https: Option<&'a str>,
    /// `Date` of the message.
    pub date: SystemTime,
}

/// Builds the MIME message for one member.
pub fn compose(brief: &Brief, rendered: &Rendered, env: &Envelope<'_>) -> anyhow::Result<Message> {
    let mut builder = Message::builder()
        .from(brief.from.clone())
        .to(env.to.clone())
        .subject(rendered.subject.clone())
        .date(env.date)
        .message_id(Some(format!("<{}>", env.message_id)));
    if let Some(r) = &brief.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let from = &brief.from.email;
    let mailto = format!("mailto:{from}?subject=unsubscribe");
    let list_unsubscribe = match env.unsubscribe_https {
        Some(url) => format!("<{url}>, <{mailto}>"),
        None => format!("<{mailto}>"),
    };
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("List-Unsubscribe"),
        list_unsubscribe,
    ));
    // RFC 8058: one-click needs an HTTPS URI in List-Unsubscribe.
    if env
        .unsubscribe_https
        .is_some_and(|u| u.starts_with("https://"))
    {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_string(),
        ));
    }
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("List-Id"),
        list_id(&brief.name, from.domain()),
    ));
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(rendered.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(rendered.html.clone()),
                ),
        )
        .context("building the MIME message")
}

/// `List-Id` per RFC 2919: the brief's name as phrase, a slug under the sender's domain.
pub fn list_id(name: &str, domain: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let phrase: String = name
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    format!(
        "\"{phrase}\" <{}.{domain}>",
        if slug.is_empty() { "brief" } else { &slug }
    )
}

/// Where messages go.
pub enum Sender {
    /// `.eml` files in a directory.
    Outbox(PathBuf),
    /// An SMTP relay through our own connection pool.
    Smtp(SmtpPool),
}

impl Sender {
    /// The sender for `[delivery] transport`.
    pub fn new(
        transport: &Transport,
        connections: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(match transport {
            Transport::Outbox(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the outbox {}", dir.display()))?;
                Self::Outbox(dir.clone())
            }
            Transport::Smtp(s) => Self::Smtp(SmtpPool::new(s.clone(), connections, timeout)),
        })
    }

    /// Delivers one message; `name` names the outbox file (stable per digest and member,
    /// so a retry overwrites rather than duplicates).
    pub async fn send(&self, message: &Message, name: &str) -> Result<(), SendError> {
        match self {
            Self::Outbox(dir) => {
                let path = dir.join(format!("{name}.eml"));
                let tmp = dir.join(format!(".{name}.eml.tmp"));
                let bytes = message.formatted();
                // Write then rename, so a crash never leaves half a message in the outbox.
                tokio::fs::write(&tmp, &bytes)
                    .await
                    .and(tokio::fs::rename(&tmp, &path).await)
                    .map_err(|e| SendError::Transient(format!("writing {}: {e}", path.display())))
            }
            Self::Smtp(pool) => pool.send(message).await,
        }
    }

    /// Opens and closes one connection to prove the relay answers (for `check`).
    pub async fn test(&self) -> anyhow::Result<String> {
        match self {
            Self::Outbox(dir) => Ok(format!("outbox {} is writable", dir.display())),
            Self::Smtp(pool) => {
                let mut conn = pool.connect().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let _ = conn.quit().await;
                Ok(format!(
                    "SMTP relay {}:{} accepted a connection",
                    pool.settings.host, pool.settings.port
                ))
            }
        }
    }

    /// Closes idle connections politely.
    pub async fn close(&self) {
        if let Self::Smtp(pool) = self {
            let idle: Vec<AsyncSmtpConnection> = {
                let mut guard = pool.idle.lock().unwrap_or_else(|e| e.into_inner());
                guard.drain(..).collect()
            };
            for mut c in idle {
                let _ = tokio::time::timeout(Duration::from_secs(2), c.quit()).await;
            }
        }
    }
}

/// At most `connections` SMTP connections, each with `TCP_NODELAY`, reused while healthy.
pub struct SmtpPool {
    settings: SmtpSettings,
    permits: Semaphore,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    timeout: Duration,
    hello: ClientId,
}

impl SmtpPool {
    fn new(settings: SmtpSettings, connections: usize, timeout: Duration) -> Self {
        Self {
            settings,
            permits: Semaphore::new(connections),
            idle: Mutex::new(Vec::new()),
            timeout,
            hello: ClientId::default(),
        }
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::Transient("delivery is shutting down".into()))?;
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match reused {
            Some(c) if !c.has_broken() => c,
            _ => self.connect().await?,
        };
        let bytes = message.formatted();
        let result =
            tokio::time::timeout(self.timeout, conn.send(message.envelope(), &bytes)).await;
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
                    if tokio::time::timeout(
                        self.timeout,
                        conn.command(lettre::transport::smtp::commands::Rset),
                    )
                    .await
                    .is_ok_and(|r| r.is_ok())
                    {
                        self.idle
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(conn);
                    }
                } else {
                    conn.abort().await;
                }
                Err(err)
            }
            Err(_) => {
                conn.abort().await;
                Err(SendError::Transient(format!(
                    "no answer from {}:{} within {:?} ([delivery] timeout)",
                    self.settings.host, self.settings.port, self.timeout
                )))
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
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
        Ok(conn)
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
mod tests {
    use super::*;

    #[test]
    fn list_id_is_a_slug_under_the_sender_domain() {
        assert_eq!(
            list_id("Local Government Leadership Brief", "example.org"),
            "\"Local Government Leadership Brief\" <local-government-leadership-brief.example.org>"
        );
    }
}

//! Transport: where a composed message goes, the outbox (`.eml` files, written whole or
//! not at all) or an SMTP relay ([`crate::mail::smtp`]), and the [`SendError`] the caller
//! acts on: transient (try again later) or permanent (record and stop).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::Message;

use crate::config::Transport;
use crate::mail::smtp::{Connection, SmtpPool};

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

/// Where messages go.
pub enum Sender {
    /// `.eml` files in a directory.
    Outbox(PathBuf),
    /// SMTP relays (one or more) through our own connection pool.
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
                // Write then rename, so a crash never leaves half a message in the outbox;
                // the rename only after a whole write (a full disk once left 0 bytes there).
                let written = match tokio::fs::write(&tmp, &bytes).await {
                    Ok(()) => tokio::fs::rename(&tmp, &path).await,
                    Err(e) => Err(e),
                };
                written.map_err(|e| {
                    // Best effort: what is left of the temporary file is no message.
                    let _ = std::fs::remove_file(&tmp);
                    SendError::Transient(format!(
                        "writing {}: {e} (is the disk full or the outbox not writable?); \
                         the message is written again next cycle",
                        path.display()
                    ))
                })
            }
            Self::Smtp(pool) => pool.send(message).await,
        }
    }

    /// Opens and closes one connection to each relay to prove it answers (for `check`);
    /// any relay that does not is an error naming it.
    pub async fn test(&self) -> anyhow::Result<String> {
        match self {
            Self::Outbox(dir) => Ok(format!("outbox {} is writable", dir.display())),
            Self::Smtp(pool) => {
                let mut said = Vec::with_capacity(pool.relays.len());
                for relay in &pool.relays {
                    let s = &relay.settings;
                    let mut conn = pool.connect_to(s).await.with_context(|| {
                        format!("connecting to the relay {}:{}", s.host, s.port)
                    })?;
                    let _ = conn.smtp.quit().await;
                    said.push(format!(
                        "SMTP relay {}:{} accepted a connection",
                        s.host, s.port
                    ));
                }
                Ok(said.join("; "))
            }
        }
    }

    /// Closes idle connections politely.
    pub async fn close(&self) {
        if let Self::Smtp(pool) = self {
            for relay in &pool.relays {
                let idle: Vec<Connection> = {
                    let mut guard = relay.idle.lock().unwrap_or_else(|e| e.into_inner());
                    guard.drain(..).collect()
                };
                for mut c in idle {
                    let _ = tokio::time::timeout(Duration::from_secs(2), c.smtp.quit()).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::smtp::tests::message_to;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_write_that_fails_for_want_of_space_leaves_nothing_in_the_outbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sender = Sender::new(
            &Transport::Outbox(dir.path().to_path_buf()),
            1,
            Duration::from_secs(5),
        )
        .expect("outbox");
        // The temporary file leads to /dev/full: every write fails with ENOSPC, as on a
        // full disk.
        std::os::unix::fs::symlink("/dev/full", dir.path().join(".m.eml.tmp")).expect("symlink");
        let err = sender
            .send(&message_to("ann@example.org", "x"), "m")
            .await
            .expect_err("a full disk is an error");
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("m.eml"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read outbox")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "left in the outbox: {left:?}");
        // With room again the same message is written whole.
        sender
            .send(&message_to("ann@example.org", "x"), "m")
            .await
            .expect("written");
        let bytes = std::fs::read(dir.path().join("m.eml")).expect("m.eml");
        assert!(bytes.ends_with(b"x"), "{}", String::from_utf8_lossy(&bytes));
    }
}

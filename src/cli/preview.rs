//! `preview` (the next digest rendered, nothing recorded) and `send --to` (a test copy to
//! one address, nothing marked).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use super::{Failure, Outcome, open_app};
use crate::cycle;
use crate::mail;
use crate::mail::render::Recipient;
use crate::select::Digest;

/// `feedbrief preview [--out FILE] [--text]`.
pub fn preview(config_path: &Path, out: Option<&Path>, text: bool) -> Outcome {
    let app = open_app(config_path)?;
    let Some(digest) = cycle::next_digest(&app, Utc::now())? else {
        eprintln!(
            "no new stories since the last digest; nothing to preview (run `feedbrief fetch` first?)"
        );
        return Ok(ExitCode::SUCCESS);
    };
    let recipient = Recipient {
        name: Some("Preview".into()),
        email: "preview@example.org".into(),
        sections: Vec::new(),
        id: None,
    };
    let brief = mail::brief_info(&app.config, None, digest.created_at);
    let (unsub, _) = mail::unsubscribe_url(&app.config, &app.secret, 0, &recipient.email);
    let rendered = app.templates.render(
        &digest,
        &brief,
        &recipient,
        &unsub,
        app.config.brief.timezone,
    )?;
    let body = if text { rendered.text } else { rendered.html };
    match out {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} (subject: {})", path.display(), rendered.subject);
        }
        None => {
            std::io::stdout()
                .write_all(body.as_bytes())
                .context("writing to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief send --to ADDRESS`: the next digest, or the last one when nothing is new.
pub async fn send(config_path: &Path, to: &str) -> Outcome {
    let app = open_app(config_path)?;
    let email =
        crate::members::normalise_address(to).map_err(|m| Failure::Usage(anyhow::anyhow!(m)))?;
    let digest: Digest = match cycle::next_digest(&app, Utc::now())? {
        Some(d) => d,
        None => {
            let store = app.store();
            let last = store
                .last_digest()?
                .context("no new stories and no earlier digest to send")?;
            let row = store.digest(last.id)?.context("the last digest vanished")?;
            serde_json::from_str(&row.content).context("reading the last digest")?
        }
    };
    let recipient = Recipient {
        name: None,
        email,
        sections: Vec::new(),
        id: None,
    };
    let message = mail::message_for(
        &app,
        None,
        &digest,
        0,
        &recipient,
        std::time::SystemTime::now(),
    )?;
    let sender = crate::mail::transport::Sender::new(
        &app.config.delivery.transport,
        1,
        app.config.delivery.timeout,
    )?;
    sender
        .send(
            &message,
            &format!("test-{}", Utc::now().format("%Y%m%dT%H%M%S")),
        )
        .await
        .with_context(|| format!("sending the test copy to {to}"))?;
    sender.close().await;
    println!("sent a test copy of \"{}\" to {to}", digest.lead.title);
    Ok(ExitCode::SUCCESS)
}

//! Delivery benchmark: the real delivery path (`mail::deliver_pending`: render, compose,
//! send through our SMTP pool, record each acceptance) for one recorded digest and every
//! member of the members file.
//!
//! `deliver --config feeds.toml [--message-out FILE]` imports the members file, builds and
//! records the next digest from the stored entries, writes one member's formatted message
//! to FILE (so `smtp-source` can send a message of the same size), then times
//! `deliver_pending` and prints `seconds=S sent=N failed=F deferred=D message_bytes=B`.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use chrono::Utc;
use feedbrief::app::App;
use feedbrief::cycle;
use feedbrief::mail;
use feedbrief::mail::render::Recipient;
use feedbrief::mail::transport::Sender;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let config_path = arg("--config").context("usage: deliver --config FILE")?;
    let config = feedbrief::config::load(std::path::Path::new(&config_path))?;
    let app = App::open(config)?;
    let now = Utc::now();
    let members = cycle::import_members(&app, now)?;
    let digest = cycle::next_digest(&app, now)?
        .context("no digest to send: the database holds no new stories")?;
    let id = cycle::record_digest(&app, &digest, now)?;
    let first = app
        .store()
        .members()?
        .into_iter()
        .next()
        .context("no members")?;
    let sample = mail::message_for(
        &app,
        Some(id),
        &digest,
        first.id,
        &Recipient {
            name: first.name.clone(),
            email: first.email.clone(),
            sections: first.sections.clone(),
            id: Some(first.id),
        },
        SystemTime::now(),
    )?
    .formatted();
    if let Some(path) = arg("--message-out") {
        std::fs::write(&path, &sample).with_context(|| format!("writing {path}"))?;
    }
    let sender = Arc::new(Sender::new(
        &app.config.delivery.transport,
        app.config.delivery.connections,
        app.config.delivery.timeout,
    )?);
    let started = Instant::now();
    let report = mail::deliver_pending(&app, &sender, &CancellationToken::new()).await?;
    let seconds = started.elapsed().as_secs_f64();
    sender.close().await;
    println!(
        "seconds={seconds:.3} sent={} failed={} deferred={} members={} message_bytes={}",
        report.sent,
        report.failed,
        report.deferred,
        members.active,
        sample.len()
    );
    for e in report.errors.iter().take(3) {
        eprintln!("deliver: {e}");
    }
    Ok(())
}

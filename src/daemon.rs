//! Daemon: the `run` loop — fetch every `[fetch] interval`, send a digest at each cron
//! slot in the brief's time zone, stop cleanly when the cancellation token fires.
//!
//! Time and shutdown are injected: the loop takes a clock function and a
//! [`CancellationToken`], so tests can drive it without real signals.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::pipeline::{self, App};

/// The next send slot strictly after `after`, in UTC.
pub fn next_slot(app: &App, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = app.config.brief.timezone;
    let local = after.with_timezone(&tz);
    app.config
        .brief
        .schedule
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Runs until `cancel` fires: fetches on the interval, sends at each schedule slot.
pub async fn run(app: Arc<App>, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval = app.config.fetch.interval;
    let mut next_fetch = tokio::time::Instant::now();
    let mut slot = next_slot(&app, Utc::now());
    tracing::info!(
        next_send = ?slot.map(|s| s.to_rfc3339()),
        interval = %humantime::format_duration(interval),
        "daemon started"
    );
    loop {
        let until_slot = slot
            .map(|s| (s - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(86_400));
        let slot_at = tokio::time::Instant::now() + until_slot;
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep_until(next_fetch), if next_fetch <= slot_at => {
                let now = Utc::now();
                match pipeline::import_members(&app, now) {
                    Ok(r) if !r.errors.is_empty() => tracing::warn!(skipped = r.errors.len(), "members file has bad rows"),
                    Ok(_) => {}
                    Err(e) => tracing::error!("importing members: {e:#}"),
                }
                match pipeline::fetch_all(&app, now).await {
                    Ok(report) => tracing::info!(new_entries = report.new_entries(), "fetch done\n{report}"),
                    Err(e) => tracing::error!("fetch cycle failed: {e:#}"),
                }
                next_fetch = tokio::time::Instant::now() + interval;
            }
            () = tokio::time::sleep_until(slot_at) => {
                let now = Utc::now();
                match pipeline::once(&app, now, true, &cancel).await {
                    Ok(report) => tracing::info!("digest cycle done\n{report}"),
                    Err(e) => tracing::error!("digest cycle failed: {e:#}"),
                }
                // The next slot is strictly after this one, so no slot is sent twice.
                slot = next_slot(&app, now.max(slot.unwrap_or(now)));
                next_fetch = tokio::time::Instant::now() + interval;
            }
        }
    }
    tracing::info!("shutting down");
    Ok(())
}

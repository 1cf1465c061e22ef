//! Daemon: the `run` loop — feeds fetched on their own schedules, a digest at each cron
//! slot in the brief's time zone, SIGHUP reloads, a clean stop on cancellation.
//!
//! Time and shutdown are injected: the loop takes a [`Clock`] and a
//! [`CancellationToken`], so tests drive it with `tokio::time::pause()` instead of sleeping.
//! A slot is handled once: the last handled slot is stored, and the database refuses a
//! second digest for the same slot. With `[brief] weekly`, that day's first slot also
//! sends the weekly edition, after the daily digest, under the same rules.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::{App, SharedApp};
use crate::cycle;

/// Where "now" comes from.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that starts at `start` and advances with tokio's clock, so a paused
    /// runtime (`tokio::time::pause`, `advance`) moves it.
    pub fn tokio_from(start: DateTime<Utc>) -> Self {
        let origin = tokio::time::Instant::now();
        Self(Arc::new(move || {
            let elapsed = tokio::time::Instant::now() - origin;
            start + chrono::Duration::from_std(elapsed).unwrap_or_default()
        }))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

/// The next send slot strictly after `after`, in UTC.
pub fn next_slot(app: &App, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&app.config.brief.timezone);
    app.config
        .brief
        .schedule
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The latest slot at or before `now`, in UTC.
pub fn previous_slot(app: &App, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&app.config.brief.timezone);
    app.config
        .brief
        .schedule
        .find_previous_occurrence(&local, true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The slot to send now, if any: the latest slot at or before `now`, not handled yet and
/// no more than `[brief] catch_up` ago (a daemon that was down longer skips it).
pub fn due_slot(app: &App, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let Some(slot) = previous_slot(app, now) else {
        return Ok(None);
    };
    let catch_up =
        chrono::Duration::from_std(app.config.brief.catch_up).unwrap_or(chrono::Duration::hours(6));
    if now - slot > catch_up {
        return Ok(None);
    }
    let handled = app
        .store()
        .meta(LAST_SLOT)?
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|d| d.with_timezone(&Utc));
    Ok((handled.is_none_or(|h| h < slot)).then_some(slot))
}

const LAST_SLOT: &str = "last_slot";

/// Records `slot` as handled: [`due_slot`] never returns it again.
pub fn mark_slot_handled(app: &App, slot: DateTime<Utc>) -> anyhow::Result<()> {
    app.store().set_meta(LAST_SLOT, &slot.to_rfc3339())
}

/// How the daemon is started.
pub struct Options {
    /// Where "now" comes from.
    pub clock: Clock,
    /// Notified on SIGHUP: reload the config from `config_path`.
    pub reload: Arc<Notify>,
    /// The config file to reload.
    pub config_path: Option<PathBuf>,
}

/// Runs until `cancel` fires.
pub async fn run(
    shared: SharedApp,
    cancel: CancellationToken,
    opts: Options,
) -> anyhow::Result<()> {
    let app = shared.get();
    // Feeds keep their own next-fetch times; the loop only wakes often enough to see them.
    let tick = app
        .config
        .fetch
        .interval
        .clamp(Duration::from_secs(10), Duration::from_secs(300));
    tracing::info!(
        next_send = ?next_slot(&app, opts.clock.now()).map(|s| s.to_rfc3339()),
        interval = %humantime::format_duration(app.config.fetch.interval),
        "daemon started"
    );
    drop(app);
    let mut next_fetch = tokio::time::Instant::now();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let app = shared.get();
        let now = opts.clock.now();
        match app
            .blocking("finding the due slot", move |app| due_slot(app, now))
            .await
        {
            Ok(Some(slot)) => {
                tracing::info!(slot = %slot.to_rfc3339(), "sending the digest for this slot");
                match cycle::cycle(&app, now, true, Some(slot), &cancel).await {
                    Ok(report) => tracing::info!("digest cycle done\n{report}"),
                    Err(e) => tracing::error!("digest cycle failed: {e:#}"),
                }
                if cycle::weekly::is_weekly_slot(&app, slot) {
                    weekly_edition(&app, now, slot, &cancel).await;
                }
                // Handled even when it failed part-way: owed deliveries are retried by the
                // next cycle, and the slot is never sent twice.
                let stored = app
                    .blocking("recording the slot", move |app| {
                        mark_slot_handled(app, slot)
                    })
                    .await;
                if let Err(e) = stored {
                    tracing::error!("recording the slot: {e:#}");
                }
                next_fetch = tokio::time::Instant::now() + tick;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!("checking the schedule: {e:#}"),
        }
        if tokio::time::Instant::now() >= next_fetch {
            let started = std::time::Instant::now();
            match app
                .blocking("importing members", move |app| {
                    cycle::import_members(app, now)
                })
                .await
            {
                Ok(r) if !r.errors.is_empty() => {
                    tracing::warn!(skipped = r.errors.len(), "members file has bad rows")
                }
                Ok(_) => {}
                Err(e) => tracing::error!("importing members: {e:#}"),
            }
            match cycle::fetch_all(&app, now, false, &cancel).await {
                Ok(report) => {
                    app.metrics.fetch_done(now, started.elapsed());
                    if report.new_entries() > 0 || report.attention().next().is_some() {
                        tracing::info!(new_entries = report.new_entries(), "fetch done\n{report}");
                    }
                }
                Err(e) => tracing::error!("fetch failed: {e:#}"),
            }
            next_fetch = tokio::time::Instant::now() + tick;
        }
        // Review before sending: the next slot's draft, once within review_lead of it.
        if cycle::drafts::draft_slot(&app, now).is_some()
            && let Err(e) = cycle::drafts::prepare_draft(&app, now, &cancel).await
        {
            tracing::error!("building the draft: {e:#}");
        }
        // Sleep until the next fetch tick or the next slot, whichever is first.
        let now = opts.clock.now();
        let until_slot = next_slot(&app, now)
            .map(|s| (s - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(86_400));
        // With review on, also when the next draft is due (review_lead before the slot).
        let until_draft = cycle::drafts::next_draft_at(&app, now)
            .map(|d| (d - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(until_slot);
        let wake = next_fetch.min(tokio::time::Instant::now() + until_slot.min(until_draft));
        drop(app);
        tokio::select! {
            () = cancel.cancelled() => break,
            () = opts.reload.notified() => reload(&shared, opts.config_path.as_deref()),
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    tracing::info!("shutting down");
    Ok(())
}

/// The weekly edition of `slot`, after its daily digest (whose stories it may carry):
/// recorded once per slot, sent like the daily digest; the outcome is logged.
async fn weekly_edition(
    app: &Arc<App>,
    now: DateTime<Utc>,
    slot: DateTime<Utc>,
    cancel: &CancellationToken,
) {
    use cycle::weekly::WeeklyOutcome;
    match cycle::weekly::send_weekly(app, now, slot, cancel).await {
        Ok((WeeklyOutcome::NoStories, _)) => {
            tracing::info!("no daily digest in the past week: no weekly edition")
        }
        Ok((outcome, report)) => tracing::info!(
            ?outcome,
            sent = report.sent,
            deferred = report.deferred,
            failed = report.failed,
            "weekly edition done"
        ),
        Err(e) => tracing::error!("weekly edition failed: {e:#}"),
    }
}

/// Loads the config again; a bad one is reported and the running one kept.
fn reload(shared: &SharedApp, path: Option<&std::path::Path>) {
    let Some(path) = path else { return };
    let current = shared.get();
    let result = crate::config::load(path)
        .map_err(anyhow::Error::from)
        .and_then(|config| {
            // The running daemon holds the lock of the data dir it started on.
            if config.brief.data_dir != current.config.brief.data_dir {
                anyhow::bail!(
                    "[brief] data_dir changed ({} -> {}); restart the daemon to move it",
                    current.config.brief.data_dir.display(),
                    config.brief.data_dir.display()
                );
            }
            Ok(App::open(config)?)
        });
    match result {
        Ok(app) => {
            tracing::info!(config = %path.display(), "configuration reloaded");
            shared.replace(app);
        }
        Err(e) => tracing::error!("reload failed, keeping the running configuration: {e:#}"),
    }
}

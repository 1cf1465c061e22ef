//! `run` (the daemon: fetch interval, digest schedule, web endpoints, the inbound SMTP
//! listener when `[inbound] listen` is set, IMAP polling when `[inbound] imap` is, SIGHUP
//! reload, graceful stop) and `serve` (the web endpoints alone, beside a cron'd `once`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Outcome, open_app, open_app_locked, spawn_signal_handler};
use crate::app::SharedApp;
use crate::daemon::{Clock, Options};

/// `feedbrief run`.
pub async fn run(config_path: &Path) -> Outcome {
    let (app, _lock) = open_app_locked(config_path, "run")?;
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let listener = crate::web::bind(&app).await?;
    tracing::info!(listen = %app.config.web.listen, "web endpoints up");
    let inbound = crate::inbound::bind(&app).await?;
    if inbound.is_some() {
        tracing::info!(
            listen = ?app.config.inbound.listen,
            domain = ?app.config.inbound.bounce_domain,
            "inbound SMTP listener up"
        );
    }
    let shared = SharedApp::new(app);
    let web = tokio::spawn(crate::web::serve(shared.clone(), listener, cancel.clone()));
    let inbound = inbound.map(|listener| {
        tokio::spawn(crate::inbound::serve(
            shared.clone(),
            listener,
            cancel.clone(),
        ))
    });
    let imap = shared.get().config.inbound.imap.clone().map(|i| {
        tracing::info!(
            server = %format!("{}:{}", i.host, i.port),
            mailbox = %i.mailbox,
            every = %humantime::format_duration(i.every),
            "polling an IMAP mailbox for bounces"
        );
        tokio::spawn(crate::imap::run(shared.clone(), cancel.clone()))
    });
    let reload = Arc::new(tokio::sync::Notify::new());
    spawn_reload_handler(Arc::clone(&reload));
    let opts = Options {
        clock: Clock::system(),
        reload,
        config_path: Some(config_path.to_path_buf()),
    };
    let result = crate::daemon::run(shared, cancel.clone(), opts).await;
    cancel.cancel();
    if let Ok(Err(e)) = web.await {
        tracing::error!("{e:#}");
    }
    if let Some(inbound) = inbound
        && let Ok(Err(e)) = inbound.await
    {
        tracing::error!("{e:#}");
    }
    if let Some(imap) = imap {
        let _ = imap.await;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief serve`.
pub async fn serve(config_path: &Path) -> Outcome {
    let app = open_app(config_path)?;
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let listener = crate::web::bind(&app).await?;
    tracing::info!(listen = %app.config.web.listen, "web endpoints up");
    crate::web::serve(app, listener, cancel).await?;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP asks the daemon to reload feeds.toml.
fn spawn_reload_handler(reload: Arc<tokio::sync::Notify>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::error!("cannot listen for SIGHUP; reload by restarting");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            reload.notify_one();
        }
    });
    #[cfg(not(unix))]
    drop(reload);
}

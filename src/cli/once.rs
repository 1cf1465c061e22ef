//! `once` (one whole cycle now, with its report) and `fetch` (feeds only, with a progress
//! bar on a terminal).

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{Outcome, open_app_locked, spawn_signal_handler};
use crate::cycle;

/// `feedbrief once [--no-send]`: exit 1 when a member's delivery failed or was deferred.
pub async fn once(config_path: &Path, no_send: bool) -> Outcome {
    let (app, _lock) = open_app_locked(config_path, "once")?;
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let report = cycle::once(&app, Utc::now(), !no_send, &cancel).await?;
    print!("{report}");
    let d = &report.delivery;
    Ok(if d.failed > 0 || d.deferred > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `feedbrief fetch`.
pub async fn fetch(config_path: &Path) -> Outcome {
    let (app, _lock) = open_app_locked(config_path, "fetch")?;
    let now = Utc::now();
    let members = cycle::import_members(&app, now)?;
    for e in &members.errors {
        eprintln!("members: skipped {e}");
    }
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    // A progress bar on a terminal; plain report lines otherwise.
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(app.config.feeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} feeds {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let on_feed = |r: &cycle::FeedResult| {
        if let Some(bar) = &bar {
            bar.set_message(r.name.clone());
            bar.inc(1);
        }
    };
    let report = cycle::fetch_all_with_progress(&app, now, true, &cancel, &on_feed).await?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

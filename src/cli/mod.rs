//! The command line's subcommands, one module each: what `feedbrief COMMAND` does between
//! the parsed arguments and the exit code. `main.rs` parses the arguments, sets up
//! logging and maps a [`Failure`] to its exit code; everything else is here.
//!
//! | module | commands |
//! | --- | --- |
//! | [`daemon`] | `run`, `serve` |
//! | [`once`] | `once`, `fetch` |
//! | [`preview`] | `preview`, `send --to` |
//! | [`check`] | `check` |
//! | [`inspect`] | `inspect`, `extract` |
//! | [`feeds`] | `feeds status`, `feeds import-opml`, `feeds export-opml` |
//! | [`members`] | `members import`, `members list`, `members remove` |
//! | [`bounces`] | `bounces classify` |
//! | [`stats`] | `stats` |
//! | [`review`] | `review` (list, remove, move, lead, approve, skip) |

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{self, Config};
use crate::lock::DataDirLock;

pub mod bounces;
pub mod check;
pub mod daemon;
pub mod feeds;
pub mod inspect;
pub mod members;
pub mod once;
pub mod preview;
pub mod review;
pub mod stats;

/// A failure with the exit code it deserves.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage, config or templates: exit code 2.
    Usage(anyhow::Error),
    /// Anything that went wrong at run time: exit code 1.
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Runtime(e)
    }
}

impl Failure {
    /// The exit code: 2 for usage, 1 for the rest.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Runtime(_) => ExitCode::from(1),
        }
    }

    /// The error, for printing with its whole chain.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Self::Usage(e) | Self::Runtime(e) => e,
        }
    }
}

/// What a subcommand returns.
pub type Outcome = Result<ExitCode, Failure>;

/// Loads and validates the config; a problem is a usage failure.
pub fn load_config(path: &Path) -> Result<Config, Failure> {
    config::load(path).map_err(|e| Failure::Usage(e.into()))
}

/// Loads the config and opens the app (no data-dir lock: for commands that only read or
/// make single small writes).
pub fn open_app(path: &Path) -> Result<Arc<App>, Failure> {
    open_config(load_config(path)?)
}

fn open_config(config: Config) -> Result<Arc<App>, Failure> {
    // A broken template is a config problem: the operator must fix a file. A database or
    // data dir that cannot be opened is the machine's: a runtime failure.
    App::open(config).map_err(|e| match e {
        crate::app::OpenError::Config(e) => Failure::Usage(e),
        crate::app::OpenError::Runtime(e) => Failure::Runtime(e),
    })
}

/// [`open_app`] for the commands that fetch and send (`run`, `once`, `fetch`): the data
/// dir's lock is taken first and held while the returned guard lives, so two of them
/// never work on one data dir at once.
pub fn open_app_locked(path: &Path, command: &str) -> Result<(Arc<App>, DataDirLock), Failure> {
    let config = load_config(path)?;
    let lock = DataDirLock::acquire(&config.brief.data_dir, command)
        .map_err(|e| Failure::Runtime(e.into()))?;
    Ok((open_config(config)?, lock))
}

/// SIGTERM or Ctrl-C cancels `cancel`: no new work starts, the work in flight finishes.
pub fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!("cannot listen for SIGTERM: {e}");
                        let _ = ctrl_c.await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("stop requested; finishing the work in flight");
        cancel.cancel();
    });
}

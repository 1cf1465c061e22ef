//! The app: everything a cycle, the daemon and the web endpoints share (config, database,
//! templates, HTTP client, secret, DKIM key, metrics), opened and checked at startup so a
//! bad config, template or database stops the program before any work.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::mail::{mime, render::Templates};
use crate::store::Store;
use crate::token::Secret;

/// Everything a cycle needs, opened and checked.
pub struct App {
    /// The validated config.
    pub config: Config,
    store: Mutex<Store>,
    /// The checked templates.
    pub templates: Templates,
    /// The shared HTTP client.
    pub fetcher: Fetcher,
    /// The unsubscribe-token secret.
    pub secret: Secret,
    /// DKIM signing, when configured.
    pub(crate) dkim: Option<lettre::message::dkim::DkimConfig>,
    /// Timings of the last cycles, for `/metrics` and `/healthz`.
    pub metrics: Metrics,
}

/// What the last cycles did, for `/metrics` and `/healthz`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<MetricsState>,
}

/// A snapshot of [`Metrics`].
#[derive(Debug, Clone, Default)]
pub struct MetricsState {
    /// Cycles (fetch or fetch-and-send) completed since start.
    pub cycles: u64,
    /// When the last cycle finished.
    pub last_cycle_at: Option<DateTime<Utc>>,
    /// Wall time of the last cycle.
    pub last_cycle: Duration,
    /// Wall time of the last fetch stage.
    pub last_fetch: Duration,
    /// Sum of fetch-stage wall times.
    pub fetch_total: Duration,
    /// Fetch runs (interval fetches and cycles) since start.
    pub fetches: u64,
    /// When the last fetch finished.
    pub last_fetch_at: Option<DateTime<Utc>>,
    /// Requests to tracked links since start that were not counted, by
    /// [`crate::clicks::Verdict`] label.
    pub clicks_ignored: std::collections::BTreeMap<&'static str, u64>,
}

impl Metrics {
    /// Records a finished cycle.
    pub fn cycle_done(&self, at: DateTime<Utc>, cycle: Duration, fetch: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.cycles += 1;
        m.last_cycle_at = Some(at);
        m.last_cycle = cycle;
        m.last_fetch = fetch;
        m.fetch_total += fetch;
        m.fetches += 1;
        m.last_fetch_at = Some(at);
    }

    /// Records a fetch-only run (the daemon's interval fetches).
    pub fn fetch_done(&self, at: DateTime<Utc>, fetch: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.last_fetch = fetch;
        m.fetch_total += fetch;
        m.fetches += 1;
        m.last_fetch_at = Some(at);
    }

    /// Records a request to a tracked link that was not counted, and why.
    pub fn click_ignored(&self, why: crate::clicks::Verdict) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.clicks_ignored.entry(why.as_str()).or_default() += 1;
    }

    /// A copy of the current figures.
    pub fn snapshot(&self) -> MetricsState {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl App {
    /// Opens the database and loads the templates; any failure here is fatal.
    pub fn open(config: Config) -> Result<Arc<Self>, OpenError> {
        let templates = Templates::load(&config.brief.templates)
            .with_context(|| {
                format!(
                    "loading templates from {}",
                    config.brief.templates.display()
                )
            })
            .map_err(OpenError::Config)?;
        let dkim = config
            .delivery
            .dkim
            .as_ref()
            .map(mime::dkim_config)
            .transpose()
            .map_err(OpenError::Config)?;
        let store = Store::open(&config.brief.data_dir.join("feedbrief.sqlite"))
            .map_err(|e| OpenError::Runtime(e.into()))?;
        let fetcher = Fetcher::new(&config.fetch).map_err(OpenError::Runtime)?;
        let secret = Secret::load_or_create(&config.brief.data_dir).map_err(OpenError::Runtime)?;
        Ok(Arc::new(Self {
            metrics: Metrics::default(),
            dkim,
            config,
            store: Mutex::new(store),
            templates,
            fetcher,
            secret,
        }))
    }

    /// Runs `work` with this app on a blocking thread and waits for it: the database
    /// (SQLite, its lock, the disk), template rendering, CSS inlining, DKIM signing and
    /// HTML parsing never run on the async workers, so a slow disk or a large render never
    /// stalls the web endpoints or the SMTP sessions. A panic in `work` comes back as an
    /// error naming `stage`.
    pub async fn blocking<T, F>(self: &Arc<Self>, stage: &str, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> anyhow::Result<T> + Send + 'static,
    {
        let app = Arc::clone(self);
        off_async(stage, move || work(&app))
            .await
            .map_err(anyhow::Error::msg)?
    }

    /// The database, locked for a short, synchronous use (never held across `.await`).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why [`App::open`] failed: a file the operator must fix (templates, DKIM key: exit 2),
/// or the machine (the database, the data dir, the secret: exit 1).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Templates or DKIM settings are unusable.
    #[error("{0:#}")]
    Config(anyhow::Error),
    /// The database, data dir or secret could not be opened.
    #[error("{0:#}")]
    Runtime(anyhow::Error),
}

/// Hands memory freed inside the allocator's heaps back to the system. Choosing a digest
/// reads every candidate (35,000 at 1,000 feeds) and frees them a moment later; glibc keeps
/// those pages, scattered among live ones, so each choice left resident memory a few MB
/// higher (peak RSS of a `once` at 1,000 feeds: 55.6-60.8 MB before, 50.7-51.4 MB after,
/// with the list sized once and pictures loaded for the chosen stories only).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs CPU or blocking work off the async threads. A panic in it comes back as an error
/// naming the stage and the panic's message, for the caller to report as that item's
/// failure.
pub fn off_async<T: Send + 'static>(
    stage: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Result<T, String>> + Send + 'static {
    // Spawned now, not when first polled: a caller may start work ahead and await it later.
    let handle = tokio::task::spawn_blocking(work);
    let stage = stage.to_string();
    async move {
        handle.await.map_err(|e| {
            if !e.is_panic() {
                return format!("{stage} was cancelled");
            }
            let panic = e.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            let message = message.lines().next().unwrap_or_default();
            format!("{stage} failed: feedbrief panicked ({message}); please report it")
        })
    }
}

/// Logs a database error that should not stop the cycle.
pub(crate) fn record(result: anyhow::Result<()>) {
    if let Err(e) = result {
        tracing::error!("database: {e:#}");
    }
}

/// The app the daemon and the web endpoints share; replaced whole on reload.
#[derive(Clone)]
pub struct SharedApp(Arc<RwLock<Arc<App>>>);

impl SharedApp {
    /// Wraps an opened app.
    pub fn new(app: Arc<App>) -> Self {
        Self(Arc::new(RwLock::new(app)))
    }

    /// The current app.
    pub fn get(&self) -> Arc<App> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts a reloaded app in place; requests under way keep the one they had.
    pub fn replace(&self, app: Arc<App>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = app;
    }
}

impl From<Arc<App>> for SharedApp {
    fn from(app: Arc<App>) -> Self {
        Self::new(app)
    }
}

//! The `feedbrief` binary: parses arguments, sets up logging, calls the library and prints
//! the whole error chain once. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};
use feedbrief::config::{self, Config};
use feedbrief::lock::DataDirLock;
use feedbrief::pipeline::{self, App};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "feedbrief",
    version,
    about = "Turns the blogs a profession reads into a daily SmartBrief-style email digest"
)]
struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        env = "FEEDBRIEF_CONFIG",
        default_value = "feeds.toml"
    )]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: fetch on the interval, send on the schedule, stop on SIGTERM/Ctrl-C.
    Run,
    /// One whole cycle now: fetch, build today's digest, deliver it, print a report.
    Once {
        /// Fetch and build, but record and send nothing.
        #[arg(long)]
        no_send: bool,
    },
    /// Refresh feeds only and print a per-feed report.
    Fetch,
    /// Render the next digest from stored entries without sending or marking anything.
    Preview {
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The plain-text part instead of the HTML.
        #[arg(long)]
        text: bool,
    },
    /// Send a test copy of the next digest (or the last one) to one address; marks nothing.
    Send {
        /// The address to send to.
        #[arg(long)]
        to: String,
    },
    /// Validate config, templates and members file; try the mail transport.
    Check,
    /// Parse one feed (URL or file) and print what feedbrief sees.
    Inspect {
        /// A feed URL or a local file.
        source: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Only the web endpoints (unsubscribe, archive, health), beside a cron'd `once`.
    Serve,
    /// Main text (or summary) of article pages, as the digest would use them.
    Extract {
        /// HTML files (optionally .gz) or URLs.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Write `<stem>.txt` per input into this directory.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Print the two-sentence summary instead of the text.
        #[arg(long)]
        summary: bool,
    },
    /// Feed state.
    Feeds {
        #[command(subcommand)]
        command: FeedsCommand,
    },
    /// Manage the member list.
    Members {
        #[command(subcommand)]
        command: MembersCommand,
    },
}

#[derive(Subcommand)]
enum FeedsCommand {
    /// Each feed's state: last success, errors, why it needs attention.
    Status,
    /// Add the feeds of an OPML file (Feedly, Inoreader, Miniflux) to feeds.toml.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
    /// Print the configured feeds as OPML.
    ExportOpml,
}

#[derive(Subcommand)]
enum MembersCommand {
    /// Add and update members from a CSV file (`email,name[,sections]`).
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// List members with their status.
    List,
    /// Stop sending to an address (kept as `removed`; a re-import does not bring it back).
    Remove {
        /// The address.
        address: String,
    },
}

/// A failure with the exit code it deserves.
enum Failure {
    Usage(anyhow::Error),
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Runtime(e)
    }
}

/// glibc gives every thread that meets a busy arena a new one, up to eight per core, and
/// memory freed in one arena is not reused by another: parsing on the blocking threads while
/// the async threads store and send left a `once` at 1,000 feeds with ~40 MB of live heap
/// in ~80 MB of resident memory. Two arenas keep it near the live heap (~62 MB) at no
/// measurable cost in speed. `MALLOC_ARENA_MAX` in the environment still wins.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    bound_malloc_arenas();
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Run | Command::Serve => "info",
        // The other commands print a report of every problem; logs would repeat it.
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: a log file or a pipe would get escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn load_config(path: &Path) -> Result<Config, Failure> {
    config::load(path).map_err(|e| Failure::Usage(e.into()))
}

fn open_app(path: &Path) -> Result<Arc<App>, Failure> {
    let config = load_config(path)?;
    open_config(config)
}

fn open_config(config: Config) -> Result<Arc<App>, Failure> {
    // A broken template is a config problem: the operator must fix a file. A database or
    // data dir that cannot be opened is the machine's: a runtime failure.
    App::open(config).map_err(|e| match e {
        pipeline::OpenError::Config(e) => Failure::Usage(e),
        pipeline::OpenError::Runtime(e) => Failure::Runtime(e),
    })
}

/// [`open_app`] for the commands that fetch and send (`run`, `once`, `fetch`): the data
/// dir's lock is taken first and held while the returned guard lives, so two of them
/// never work on one data dir at once.
fn open_app_locked(path: &Path, command: &str) -> Result<(Arc<App>, DataDirLock), Failure> {
    let config = load_config(path)?;
    let lock = DataDirLock::acquire(&config.brief.data_dir, command)
        .map_err(|e| Failure::Runtime(e.into()))?;
    Ok((open_config(config)?, lock))
}

async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run => {
            let (app, _lock) = open_app_locked(&cli.config, "run")?;
            let cancel = CancellationToken::new();
            spawn_signal_handler(cancel.clone());
            let listener = feedbrief::web::bind(&app).await?;
            tracing::info!(listen = %app.config.web.listen, "web endpoints up");
            let shared = feedbrief::daemon::SharedApp::new(app);
            let web = tokio::spawn(feedbrief::web::serve(
                shared.clone(),
                listener,
                cancel.clone(),
            ));
            let reload = Arc::new(tokio::sync::Notify::new());
            spawn_reload_handler(Arc::clone(&reload));
            let opts = feedbrief::daemon::Options {
                clock: feedbrief::daemon::Clock::system(),
                reload,
                config_path: Some(cli.config.clone()),
            };
            let result = feedbrief::daemon::run(shared, cancel.clone(), opts).await;
            cancel.cancel();
            if let Ok(Err(e)) = web.await {
                tracing::error!("{e:#}");
            }
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let app = open_app(&cli.config)?;
            let cancel = CancellationToken::new();
            spawn_signal_handler(cancel.clone());
            let listener = feedbrief::web::bind(&app).await?;
            tracing::info!(listen = %app.config.web.listen, "web endpoints up");
            feedbrief::web::serve(app, listener, cancel).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Once { no_send } => {
            let (app, _lock) = open_app_locked(&cli.config, "once")?;
            let cancel = CancellationToken::new();
            spawn_signal_handler(cancel.clone());
            let report = pipeline::once(&app, Utc::now(), !no_send, &cancel).await?;
            print!("{report}");
            let d = &report.delivery;
            Ok(if d.failed > 0 || d.deferred > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Fetch => {
            let (app, _lock) = open_app_locked(&cli.config, "fetch")?;
            let now = Utc::now();
            let members = pipeline::import_members(&app, now)?;
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
            let on_feed = |r: &pipeline::FeedResult| {
                if let Some(bar) = &bar {
                    bar.set_message(r.name.clone());
                    bar.inc(1);
                }
            };
            let report =
                pipeline::fetch_all_with_progress(&app, now, true, &cancel, &on_feed).await?;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview { out, text } => {
            let app = open_app(&cli.config)?;
            let Some(digest) = pipeline::next_digest(&app, Utc::now())? else {
                eprintln!(
                    "no new stories since the last digest; nothing to preview (run `feedbrief fetch` first?)"
                );
                return Ok(ExitCode::SUCCESS);
            };
            let recipient = feedbrief::render::Recipient {
                name: Some("Preview".into()),
                email: "preview@example.org".into(),
                sections: Vec::new(),
            };
            let brief = pipeline::brief_info(&app.config, None, digest.created_at);
            let (unsub, _) =
                pipeline::unsubscribe_url(&app.config, &app.secret, 0, &recipient.email);
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
                    std::fs::write(&path, body)
                        .with_context(|| format!("writing {}", path.display()))?;
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
        Command::Send { to } => {
            let app = open_app(&cli.config)?;
            let email = feedbrief::members::normalise_address(&to)
                .map_err(|m| Failure::Usage(anyhow::anyhow!(m)))?;
            let digest = match pipeline::next_digest(&app, Utc::now())? {
                Some(d) => d,
                None => {
                    let store = app.store();
                    let last = store
                        .last_digest()?
                        .context("no new stories and no earlier digest to send")?;
                    let row = store.digest(last.0)?.context("the last digest vanished")?;
                    serde_json::from_str(&row.content).context("reading the last digest")?
                }
            };
            let recipient = feedbrief::render::Recipient {
                name: None,
                email,
                sections: Vec::new(),
            };
            let message = pipeline::message_for(
                &app,
                None,
                &digest,
                0,
                &recipient,
                std::time::SystemTime::now(),
            )?;
            let sender = feedbrief::deliver::Sender::new(
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
                .map_err(|e| anyhow::anyhow!("sending the test copy to {to}: {e}"))?;
            sender.close().await;
            println!("sent a test copy of \"{}\" to {to}", digest.lead.title);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => check(&cli.config).await,
        Command::Inspect { source, json } => inspect(&source, json).await,
        Command::Extract {
            inputs,
            out_dir,
            summary,
        } => extract(&inputs, out_dir.as_deref(), summary).await,
        Command::Feeds {
            command: FeedsCommand::Status,
        } => {
            let app = open_app(&cli.config)?;
            let store = app.store();
            let now = Utc::now();
            let attention_after = chrono::Duration::from_std(app.config.fetch.attention_after)
                .unwrap_or(chrono::Duration::days(1));
            let when = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            let mut needing = Vec::new();
            for f in &app.config.feeds {
                let Some(s) = store.feed_state(f.url.as_str())? else {
                    println!("never fetched  {} <{}>", f.name, f.url);
                    continue;
                };
                let last = s.last_success_at.map_or("never".to_string(), when);
                let next = s
                    .not_before
                    .max(s.next_fetch_at)
                    .map_or("at the next cycle".to_string(), when);
                match (&s.disabled, &s.last_error) {
                    (Some(why), _) => {
                        println!("DISABLED       {} <{}>: {why}", f.name, f.url);
                        needing.push(format!(
                            "{}: disabled ({why}); remove or replace it in feeds.toml",
                            f.name
                        ));
                    }
                    (None, None) => println!(
                        "ok             {} <{}>: last success {last}; next fetch {next}",
                        f.name, f.url
                    ),
                    (None, Some(e)) => {
                        println!(
                            "FAILING ({}x)  {} <{}>: last success {last}; next try {next}; last error: {e}",
                            s.error_count, f.name, f.url
                        );
                        if s.failing_since.is_some_and(|t| now - t >= attention_after) {
                            needing.push(format!(
                                "{}: failing since {} ({e})",
                                f.name,
                                s.failing_since.map(when).unwrap_or_default()
                            ));
                        }
                    }
                }
                if let Some(moved) = &s.fetch_url {
                    println!("               moved permanently to {moved}; update feeds.toml");
                }
            }
            if !needing.is_empty() {
                println!("feeds needing attention: {}", needing.len());
                for n in needing {
                    println!("  {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Feeds {
            command: FeedsCommand::ImportOpml { file },
        } => import_opml(&cli.config, &file),
        Command::Feeds {
            command: FeedsCommand::ExportOpml,
        } => {
            let config = load_config(&cli.config)?;
            print!("{}", feedbrief::opml::export(&config));
            Ok(ExitCode::SUCCESS)
        }
        Command::Members { command } => members(&cli.config, command),
    }
}

fn import_opml(config_path: &Path, file: &Path) -> Result<ExitCode, Failure> {
    let config = load_config(config_path)?;
    let opml =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let feeds = feedbrief::opml::parse(&opml)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("{}: {e}", file.display())))?;
    let toml_text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let (new_text, summary) = feedbrief::opml::add_to_config(&toml_text, &config, &feeds)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("{}: {e}", config_path.display())))?;
    // Never write a config that would not load.
    config::parse(&new_text, config_path, |name| std::env::var(name).ok())
        .map_err(|e| anyhow::anyhow!("the imported feeds would make feeds.toml invalid: {e}"))?;
    if !summary.added.is_empty() {
        let tmp = config_path.with_extension("toml.tmp");
        std::fs::write(&tmp, &new_text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, config_path)
            .with_context(|| format!("replacing {}", config_path.display()))?;
    }
    println!(
        "{}: {} feeds added, {} already present",
        config_path.display(),
        summary.added.len(),
        summary.already_present.len()
    );
    for name in &summary.added {
        println!("  added {name}");
    }
    for cat in &summary.unmatched_categories {
        println!(
            "  note: category {cat:?} is not a [[section]]; its feeds go to the first section (add the section and set `section` to move them)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn members(config_path: &Path, command: MembersCommand) -> Result<ExitCode, Failure> {
    let app = open_app(config_path)?;
    let now = Utc::now();
    match command {
        MembersCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let r = pipeline::import_members_text(&app, &text, now)?;
            for e in &r.errors {
                eprintln!("{}: skipped {e}", file.display());
            }
            println!(
                "{}: {} added, {} updated, {} unchanged, {} rows skipped",
                file.display(),
                r.counts.added,
                r.counts.updated,
                r.counts.unchanged,
                r.errors.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        MembersCommand::List => {
            let members = app.store().members()?;
            for m in &members {
                let sections = if m.sections.is_empty() {
                    "all sections".to_string()
                } else {
                    m.sections.join("; ")
                };
                let reason = m
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                println!(
                    "{:<12} {:<40} {:<24} {sections}",
                    format!("{}{reason}", m.status),
                    m.email,
                    m.name.as_deref().unwrap_or("-")
                );
            }
            let active = members.iter().filter(|m| m.status == "active").count();
            println!("{} members, {active} active", members.len());
            Ok(ExitCode::SUCCESS)
        }
        MembersCommand::Remove { address } => {
            let email = feedbrief::members::normalise_address(&address)
                .map_err(|m| Failure::Usage(anyhow::anyhow!(m)))?;
            if app
                .store()
                .set_member_status(&email, "removed", "removed by an operator", now)?
            {
                println!("{email} removed; no further digests will be sent to it");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: no member has the address {email}");
                Ok(ExitCode::from(1))
            }
        }
    }
}

async fn check(config_path: &Path) -> Result<ExitCode, Failure> {
    let config = load_config(config_path)?;
    println!(
        "ok   config {} ({} feeds, {} sections)",
        config_path.display(),
        config.feeds.len(),
        config.sections.len()
    );
    let mut problems = 0;
    match feedbrief::render::Templates::load(&config.brief.templates) {
        Ok(t) => {
            for (name, source) in &t.sources {
                println!("ok   template {name} ({source})");
            }
        }
        Err(e) => {
            problems += 1;
            println!("FAIL templates: {e:#}");
        }
    }
    // Each story costs about 1.5 KB of HTML; Gmail clips messages over 102 KB.
    if config.brief.max_stories > 40 {
        println!(
            "warn [brief] max_stories = {}: digests that long approach Gmail's 102 KB clipping limit; 12 to 20 is typical",
            config.brief.max_stories
        );
    }
    if config.brief.base_url.is_none() {
        println!(
            "warn [brief] base_url is not set: unsubscribe falls back to mailto and there is no one-click (RFC 8058) link"
        );
    }
    if let Some(path) = &config.members.file {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let names: Vec<String> = config.sections.iter().map(|s| s.name.clone()).collect();
                let (rows, errors) = feedbrief::members::parse_csv(&text, &names);
                println!("ok   members {}: {} valid rows", path.display(), rows.len());
                for e in &errors {
                    problems += 1;
                    println!("FAIL members {}: {e}", path.display());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!(
                    "warn members file {} does not exist (no members will be imported)",
                    path.display()
                );
            }
            Err(e) => {
                problems += 1;
                println!("FAIL members {}: {e}", path.display());
            }
        }
    }
    match feedbrief::store::Store::open(&config.brief.data_dir.join("feedbrief.sqlite")) {
        Ok(_) => println!(
            "ok   database {}",
            config.brief.data_dir.join("feedbrief.sqlite").display()
        ),
        Err(e) => {
            problems += 1;
            println!("FAIL database: {e:#}");
        }
    }
    feedbrief::fetch::install_crypto_provider();
    match feedbrief::deliver::Sender::new(&config.delivery.transport, 1, config.delivery.timeout) {
        Ok(sender) => match sender.test().await {
            Ok(msg) => println!("ok   delivery: {msg}"),
            Err(e) => {
                problems += 1;
                println!("FAIL delivery: {e:#}");
            }
        },
        Err(e) => {
            problems += 1;
            println!("FAIL delivery: {e:#}");
        }
    }
    if problems > 0 {
        println!("{problems} problem(s) found");
        Ok(ExitCode::from(1))
    } else {
        println!("all checks passed");
        Ok(ExitCode::SUCCESS)
    }
}

/// Reads a URL (fetched with default settings) or a local file, gunzipping `.gz` files.
async fn read_source(source: &str) -> anyhow::Result<(Vec<u8>, url::Url)> {
    if let Ok(url) = url::Url::parse(source)
        && matches!(url.scheme(), "http" | "https")
    {
        let settings = config::parse(
            "[brief]\nname = \"inspect\"\nfrom = \"inspect@example.org\"\n",
            Path::new("feeds.toml"),
            |_| None,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .fetch;
        let fetcher = feedbrief::fetch::Fetcher::new(&settings)?;
        return match fetcher.get(&url, &Default::default()).await {
            Ok(feedbrief::fetch::Outcome::Fetched(f)) => Ok((f.body, f.final_url)),
            Ok(feedbrief::fetch::Outcome::NotModified) => anyhow::bail!("{url}: unexpected 304"),
            Err(e) => Err(anyhow::anyhow!("fetching {url}: {e}")),
        };
    }
    // A file:// URL names a local file too.
    let from_url = url::Url::parse(source)
        .ok()
        .filter(|u| u.scheme() == "file")
        .and_then(|u| u.to_file_path().ok());
    let path = from_url.as_deref().unwrap_or(Path::new(source));
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .with_context(|| format!("gunzipping {}", path.display()))?;
        out
    } else {
        bytes
    };
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let url = url::Url::from_file_path(&abs)
        .map_err(|()| anyhow::anyhow!("{} is not a usable path", abs.display()))?;
    Ok((bytes, url))
}

async fn inspect(source: &str, json: bool) -> Result<ExitCode, Failure> {
    let (body, url) = read_source(source).await?;
    let feed =
        feedbrief::parse::parse_feed(&body, &url).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let entries: Vec<_> = feed
        .entries
        .iter()
        .map(|e| {
            let summary = pipeline::entry_from_feed(e.clone(), false).summary;
            (e, summary)
        })
        .collect();
    if json {
        let v = serde_json::json!({
            "title": feed.title,
            "site_url": feed.site_url,
            "repaired": feed.repaired,
            "entries": entries.iter().map(|(e, s)| serde_json::json!({
                "key": e.key,
                "title": e.title,
                "link": e.url,
                "published": e.published.map(|d| d.to_rfc3339()),
                "author": e.author,
                "summary": s,
            })).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising")?
        );
    } else {
        println!("feed: {}", feed.title.as_deref().unwrap_or("(untitled)"));
        if let Some(site) = &feed.site_url {
            println!("site: {site}");
        }
        if !feed.repaired.is_empty() {
            println!("repaired: {}", feed.repaired.join("; "));
        }
        println!("{} entries", entries.len());
        for (e, s) in &entries {
            println!();
            println!("  title:     {}", e.title);
            println!("  key:       {}", e.key);
            println!("  link:      {}", e.url.as_deref().unwrap_or("-"));
            println!(
                "  published: {}",
                e.published.map_or("-".to_string(), |d| d.to_rfc3339())
            );
            println!("  summary:   {}", s.as_deref().unwrap_or("-"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn extract(
    inputs: &[String],
    out_dir: Option<&Path>,
    summary: bool,
) -> Result<ExitCode, Failure> {
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut failures = 0;
    for input in inputs {
        let (bytes, url) = match read_source(input).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e:#}");
                failures += 1;
                continue;
            }
        };
        let html = String::from_utf8_lossy(&bytes);
        let page_url = matches!(url.scheme(), "http" | "https").then_some(&url);
        let article = feedbrief::extract::extract(&html, page_url);
        let text = if summary {
            feedbrief::summarize::summarize(&article.blocks).unwrap_or_default()
        } else {
            article.text()
        };
        match out_dir {
            Some(dir) => {
                let name = Path::new(input)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("page");
                let stem = name
                    .split('.')
                    .next()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("page");
                let path = dir.join(format!("{stem}.txt"));
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                if inputs.len() > 1 {
                    println!("==> {input} <==");
                }
                println!("{text}");
            }
        }
    }
    Ok(if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

fn spawn_signal_handler(cancel: CancellationToken) {
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

//! The `feedbrief` binary: parses arguments, sets up logging, calls the subcommand in
//! [`feedbrief::cli`] and prints the whole error chain once. Exit codes: 0 ok, 1 runtime
//! failure, 2 bad usage or config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use feedbrief::cli::{self, Outcome};

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
        /// Write `<name>.txt` per input into this directory (`<name>`: the whole file name
        /// less `.gz`/`.html`/`.htm`; a name already written in this run gets `-2`, `-3`…).
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
    /// Read bounce, complaint and auto-reply mail.
    Bounces {
        #[command(subcommand)]
        command: BouncesCommand,
    },
    /// The draft waiting for review (`[brief] review = "required"`): list it, or change it.
    Review {
        #[command(subcommand)]
        command: Option<ReviewCommand>,
    },
    /// Stories, sources and digests by clicks, with a small bar chart.
    Stats {
        /// Digests of the last this many days.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

#[derive(Subcommand)]
enum ReviewCommand {
    /// Numbered stories per section, the lead marked, and the filtered count (the default).
    List,
    /// Take story N out of the draft.
    Remove {
        /// The story's number in the list.
        n: usize,
    },
    /// Move story N to another section.
    Move {
        /// The story's number in the list.
        n: usize,
        /// The section, as feeds.toml names it.
        section: String,
    },
    /// Make story N the lead.
    Lead {
        /// The story's number in the list.
        n: usize,
    },
    /// Approve the draft as it stands: the slot sends exactly this.
    Approve,
    /// Send nothing at this slot; its stories stay for the next.
    Skip,
}

#[derive(Subcommand)]
enum BouncesCommand {
    /// Classify mail files: each failed recipient with its status and action (hard, soft,
    /// complaint, ignore).
    Classify {
        /// Raw mail files (.eml, as received).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line: {"file", "recipients": [{"address", "status", "action"}]}.
        #[arg(long)]
        json: bool,
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
    /// List members with their state (pending, active, paused, bounced, complained,
    /// unsubscribed, removed), frequency (daily, weekly) and soft bounces.
    List {
        /// Only members in this state, or (daily, weekly) active or paused members with
        /// this frequency.
        #[arg(long)]
        status: Option<String>,
    },
    /// Stop sending to an address (kept as `removed`; a re-import does not bring it back).
    Remove {
        /// The address.
        address: String,
    },
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

/// How many threads may run blocking work (parsing, extraction, rendering, the database) at
/// once. Tokio's default is 512, and a cycle spawns a blocking task per feed, per page and
/// per message: at 1,000 feeds a `fetch` grew to ~35 threads, each keeping the stack and
/// allocator caches its deepest parse touched (~11 MB more resident memory than 26 threads).
/// The work is CPU-bound or waits on one SQLite file, so more threads than a few per core
/// buy no speed; queued tasks wait their turn in order.
/// `FEEDBRIEF_BLOCKING_THREADS` in the environment overrides it.
fn blocking_threads() -> usize {
    if let Some(n) = std::env::var("FEEDBRIEF_BLOCKING_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).max(8)
}

fn main() -> ExitCode {
    bound_malloc_arenas();
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads())
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
        Err(failure) => {
            eprintln!("error: {:#}", failure.error());
            failure.exit_code()
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

async fn dispatch(cli: Cli) -> Outcome {
    let config = cli.config.as_path();
    match cli.command {
        Command::Run => cli::daemon::run(config).await,
        Command::Serve => cli::daemon::serve(config).await,
        Command::Once { no_send } => cli::once::once(config, no_send).await,
        Command::Fetch => cli::once::fetch(config).await,
        Command::Preview { out, text } => cli::preview::preview(config, out.as_deref(), text),
        Command::Send { to } => cli::preview::send(config, &to).await,
        Command::Check => cli::check::check(config).await,
        Command::Inspect { source, json } => cli::inspect::inspect(&source, json).await,
        Command::Extract {
            inputs,
            out_dir,
            summary,
        } => cli::inspect::extract(&inputs, out_dir.as_deref(), summary).await,
        Command::Feeds { command } => match command {
            FeedsCommand::Status => cli::feeds::status(config),
            FeedsCommand::ImportOpml { file } => cli::feeds::import_opml(config, &file),
            FeedsCommand::ExportOpml => cli::feeds::export_opml(config),
        },
        Command::Review { command } => {
            use feedbrief::cli::review::Action;
            let action = match command.unwrap_or(ReviewCommand::List) {
                ReviewCommand::List => Action::List,
                ReviewCommand::Remove { n } => Action::Remove(n),
                ReviewCommand::Move { n, section } => Action::Move(n, section),
                ReviewCommand::Lead { n } => Action::Lead(n),
                ReviewCommand::Approve => Action::Approve,
                ReviewCommand::Skip => Action::Skip,
            };
            cli::review::review(config, &action)
        }
        Command::Stats { days } => cli::stats::stats(config, days),
        Command::Members { command } => match command {
            MembersCommand::Import { file } => cli::members::import(config, &file),
            MembersCommand::List { status } => cli::members::list(config, status.as_deref()),
            MembersCommand::Remove { address } => cli::members::remove(config, &address),
        },
        Command::Bounces { command } => match command {
            BouncesCommand::Classify { files, json } => cli::bounces::classify(&files, json),
        },
    }
}

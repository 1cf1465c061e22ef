//! `check`: the config, templates, members file, database and mail transport, each
//! reported ok or FAIL; nothing is changed.

use std::path::Path;
use std::process::ExitCode;

use super::{Outcome, load_config};

/// `feedbrief check`: exit 1 when a check fails.
pub async fn check(config_path: &Path) -> Outcome {
    let config = load_config(config_path)?;
    println!(
        "ok   config {} ({} feeds, {} sections)",
        config_path.display(),
        config.feeds.len(),
        config.sections.len()
    );
    let mut problems = 0;
    match crate::mail::render::Templates::load(&config.brief.templates) {
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
                let (rows, errors) = crate::members::parse_csv(&text, &names);
                println!("ok   members {}: {} valid rows", path.display(), rows.len());
                for e in &errors {
                    if e.fate == crate::members::RowFate::Imported {
                        println!("warn members {}: {e} (imported)", path.display());
                    } else {
                        problems += 1;
                        println!("FAIL members {}: {e}", path.display());
                    }
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
    // Looked at, not changed: `check` runs no migration and creates nothing.
    let db = config.brief.data_dir.join("feedbrief.sqlite");
    match crate::store::inspect(&db) {
        Ok(state) => println!("ok   database {}: {state}", db.display()),
        Err(e) => {
            problems += 1;
            println!("FAIL database: {e:#}");
        }
    }
    crate::fetch::install_crypto_provider();
    match crate::mail::transport::Sender::new(
        &config.delivery.transport,
        1,
        config.delivery.timeout,
    ) {
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

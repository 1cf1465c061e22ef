//! `feeds status` (each feed's state, filtered entries and what ranking learned from
//! clicks), `feeds import-opml`,
//! `feeds export-opml`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use super::{Failure, Outcome, load_config, open_app};

/// `feedbrief feeds status`: each feed's state, the entries its filters leave out and the
/// factor its members' clicks give its weight, then the feeds needing attention.
pub fn status(config_path: &Path) -> Outcome {
    let app = open_app(config_path)?;
    let now = Utc::now();
    // As the last selection judged them (a cycle, `preview`): the filters of that time.
    // Read before the store is held below (its lock is not reentrant).
    let filtered = crate::cycle::filtered_counts(&app, now)?;
    let store = app.store();
    let learned = crate::cycle::learned_weights(&store, now)?;
    let attention_after = crate::cycle::attention_after(&app.config);
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
            (Some(why), _) => println!("DISABLED       {} <{}>: {why}", f.name, f.url),
            (None, None) => println!(
                "ok             {} <{}>: last success {last}; next fetch {next}",
                f.name, f.url
            ),
            (None, Some(e)) => println!(
                "FAILING ({}x)  {} <{}>: last success {last}; next try {next}; last error: {e}",
                s.error_count, f.name, f.url
            ),
        }
        let mine = |pending: bool| -> Vec<crate::store::FilteredCount> {
            filtered
                .iter()
                .filter(|c| c.feed_url == f.url.as_str() && c.since_last_digest == pending)
                .cloned()
                .collect()
        };
        let pending = crate::cycle::FilteredReport::new(&app.config, &mine(true));
        let earlier: i64 = mine(false).iter().map(|c| c.count).sum();
        if let Some(feed) = pending.feeds.first() {
            println!("               {feed} since the last digest");
        }
        if earlier > 0 {
            println!("               {earlier} filtered and passed over by earlier digests");
        }
        if let Some(w) = learned.get(&s.id) {
            println!("               {w}");
        }
        if let Some(moved) = &s.fetch_url {
            println!("               moved permanently to {moved}; update feeds.toml");
        }
        // The same policy as the cycle report and the editor's mail.
        if let Some(why) = s.attention(now, attention_after) {
            needing.push(format!("{}: {why}", f.name));
        }
    }
    if !needing.is_empty() {
        println!("feeds needing attention: {}", needing.len());
        for n in needing {
            println!("  {n}");
        }
        println!("fix or remove them in feeds.toml");
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief feeds export-opml`.
pub fn export_opml(config_path: &Path) -> Outcome {
    let config = load_config(config_path)?;
    print!("{}", crate::opml::export(&config));
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief feeds import-opml FILE`: the feeds added to feeds.toml, which is only
/// rewritten when the result is a valid config.
pub fn import_opml(config_path: &Path, file: &Path) -> Outcome {
    let config = load_config(config_path)?;
    let opml =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let feeds = crate::opml::parse(&opml)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("{}: {e}", file.display())))?;
    let toml_text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let (new_text, summary) = crate::opml::add_to_config(&toml_text, &config, &feeds)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("{}: {e}", config_path.display())))?;
    // Never write a config that would not load.
    crate::config::parse(&new_text, config_path, |name| std::env::var(name).ok())
        .context("the imported feeds would make feeds.toml invalid")?;
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

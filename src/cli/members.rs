//! `members import`, `members list`, `members remove`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use super::{Failure, Outcome, open_app};
use crate::cycle;
use crate::store::MemberStatus;

/// `feedbrief members import FILE.csv`.
pub fn import(config_path: &Path, file: &Path) -> Outcome {
    let app = open_app(config_path)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let r = cycle::import_members_text(&app, &text, Utc::now())?;
    for e in &r.errors {
        eprintln!("{}: skipped {e}", file.display());
    }
    for w in &r.warnings {
        eprintln!("{}: imported with a warning: {w}", file.display());
    }
    println!(
        "{}: {} added, {} updated, {} unchanged, {} rows skipped, {} imported with warnings",
        file.display(),
        r.counts.added,
        r.counts.updated,
        r.counts.unchanged,
        r.errors.len(),
        r.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief members list`: each member's status and sections, and for those inbound
/// mail concerned, the soft bounces within `[inbound] soft_bounce_window` and the latest
/// event with its evidence.
pub fn list(config_path: &Path) -> Outcome {
    let app = open_app(config_path)?;
    let members = app.store().members()?;
    let window = app.config.inbound.soft_bounce_window;
    let since =
        Utc::now() - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(15));
    let activity = app.store().member_activity(since)?;
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
        if let Some(a) = activity.get(&m.id) {
            let e = &a.last;
            let status = e
                .status
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            println!(
                "{:<12} soft bounces: {} in {}; last: {} {}{status} ({})",
                "",
                a.soft_bounces,
                humantime::format_duration(window),
                e.at.format("%Y-%m-%d %H:%M UTC"),
                e.kind,
                e.evidence
            );
        }
    }
    let active = members
        .iter()
        .filter(|m| m.status == MemberStatus::Active)
        .count();
    println!("{} members, {active} active", members.len());
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief members remove ADDRESS`: exit 1 when no member has it.
pub fn remove(config_path: &Path, address: &str) -> Outcome {
    let app = open_app(config_path)?;
    let email = crate::members::normalise_address(address)
        .map_err(|m| Failure::Usage(anyhow::anyhow!(m)))?;
    if app.store().set_member_status(
        &email,
        MemberStatus::Removed,
        "removed by an operator",
        Utc::now(),
    )? {
        println!("{email} removed; no further digests will be sent to it");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: no member has the address {email}");
        Ok(ExitCode::from(1))
    }
}

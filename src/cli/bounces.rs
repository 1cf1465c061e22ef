//! `bounces classify FILE... [--json]`: each mail file through [`crate::bounce::classify`],
//! one line per mail, in the order given. A file that cannot be read is reported on
//! stderr and skipped; the others are still classified (exit 1 at the end).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::Outcome;
use crate::bounce;

/// `feedbrief bounces classify FILE... [--json]`.
pub fn classify(files: &[PathBuf], json: bool) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for file in files {
        let raw = match read_capped(file) {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!("error: {e:#}; skipped");
                failed += 1;
                continue;
            }
        };
        let report = bounce::classify(&raw);
        let line = if json {
            let recipients: Vec<_> = report
                .recipients
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "address": r.address,
                        "status": r.status,
                        "action": r.action,
                        "reason": r.reason,
                    })
                })
                .collect();
            serde_json::json!({"file": file.display().to_string(), "recipients": recipients})
                .to_string()
        } else {
            let list: Vec<String> = report
                .recipients
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {} ({}): {}",
                        r.action, r.address, r.status, r.reason, r.diagnostic
                    )
                })
                .collect();
            let kind = serde_json::to_value(report.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{} ({kind}):\n  {}", file.display(), list.join("\n  "))
        };
        writeln!(out, "{line}").context("writing to stdout")?;
    }
    if failed > 0 {
        eprintln!("{failed} of {} files could not be read", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The first [`bounce::MAX_INPUT`] bytes of a file (plus one, so the classifier knows
/// it was cut), without reading a huge file whole.
fn read_capped(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .with_context(|| format!("opening {}: check the path", path.display()))?;
    let mut raw = Vec::new();
    f.take(bounce::MAX_INPUT as u64 + 1)
        .read_to_end(&mut raw)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(raw)
}

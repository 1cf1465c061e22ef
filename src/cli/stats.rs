//! `stats`: the stored click counts → stories, sources and digests by clicks over the last
//! days, each with a small text bar chart for the terminal.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::{Outcome, open_app};
use crate::config::Track;
use crate::store::StoryClicks;

/// Widest bar, in characters.
const BAR_WIDTH: usize = 24;

/// Longest headline shown, in characters.
const TITLE_CHARS: usize = 60;

/// `feedbrief stats [--days N]`.
pub fn stats(config_path: &Path, days: u32) -> Outcome {
    let app = open_app(config_path)?;
    let since = Utc::now() - chrono::Duration::days(i64::from(days));
    let rows = app.store().story_clicks(since)?;
    print!(
        "{}",
        report(
            &rows,
            days,
            app.config.brief.reading.track,
            &app.config.brief.timezone
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The report on `rows` (the clicked stories of the digests of the last `days` days).
pub fn report(rows: &[StoryClicks], days: u32, track: Track, tz: &chrono_tz::Tz) -> String {
    let total: i64 = rows.iter().map(|r| r.clicks).sum();
    let mut digests: BTreeMap<i64, (DateTime<Utc>, i64)> = BTreeMap::new();
    let mut sources: BTreeMap<&str, i64> = BTreeMap::new();
    for r in rows {
        digests.entry(r.digest_id).or_insert((r.digest_at, 0)).1 += r.clicks;
        *sources.entry(r.source.as_str()).or_default() += r.clicks;
    }
    let mut out = format!(
        "clicks in the digests of the last {days} days (track = \"{track}\"): {total} clicks on {} stories in {} digests\n",
        rows.len(),
        digests.len()
    );
    if track == Track::Off {
        out.push_str("tracking is off ([brief] track = \"off\"): new digests count nothing\n");
    }
    if rows.is_empty() {
        out.push_str("no clicks counted yet (see \"How to read the counts\" in the README)\n");
        return out;
    }
    let max = rows.iter().map(|r| r.clicks).max().unwrap_or(1);
    out.push_str("\nstories\n");
    for r in rows {
        let members = if r.members > 0 {
            format!(", {} members", r.members)
        } else {
            String::new()
        };
        out.push_str(&line(
            r.clicks,
            max,
            &format!(
                "{} ({}, #{}{members})",
                clip(&r.title),
                r.source,
                r.digest_id
            ),
        ));
    }
    let mut by_source: Vec<(&str, i64)> = sources.into_iter().collect();
    by_source.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let max = by_source.first().map_or(1, |s| s.1);
    out.push_str("\nsources\n");
    for (source, clicks) in &by_source {
        out.push_str(&line(*clicks, max, source));
    }
    let max = digests.values().map(|d| d.1).max().unwrap_or(1);
    out.push_str("\ndigests\n");
    for (id, (at, clicks)) in digests.iter().rev() {
        let date = at.with_timezone(tz).format("%Y-%m-%d");
        out.push_str(&line(*clicks, max, &format!("#{id} {date}")));
    }
    out
}

/// `   7 ████████      label`: the count, a bar scaled to `max`, the label.
fn line(count: i64, max: i64, label: &str) -> String {
    let width = if max > 0 {
        usize::try_from(count * BAR_WIDTH as i64 / max)
            .unwrap_or(0)
            .max(usize::from(count > 0))
    } else {
        0
    };
    format!(
        "{count:>6} {}{}  {label}\n",
        "█".repeat(width),
        " ".repeat(BAR_WIDTH - width.min(BAR_WIDTH))
    )
}

fn clip(title: &str) -> String {
    if title.chars().count() <= TITLE_CHARS {
        return title.to_string();
    }
    let cut: String = title.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_most_clicked_and_a_single_click_still_shows() {
        assert_eq!(line(10, 10, "a").matches('█').count(), BAR_WIDTH);
        assert_eq!(line(5, 10, "a").matches('█').count(), BAR_WIDTH / 2);
        assert_eq!(line(1, 1000, "a").matches('█').count(), 1);
        assert_eq!(line(0, 10, "a").matches('█').count(), 0);
    }
}

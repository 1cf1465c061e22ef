//! `members import`, `members list` (each member's state, frequency and inbound-mail
//! history, with a `--status` filter), `members remove`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Failure, Outcome, open_app};
use crate::cycle;
use crate::members::Frequency;
use crate::store::{MemberEventKind, MemberStatus};

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

/// A member's state as `members list` shows it and `--status` filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Signed up (or asked to move to this address), the link not yet confirmed.
    Pending,
    /// Receives the brief.
    Active,
    /// Active, but owed no digest recorded before the pause ends.
    Paused,
    /// Suppressed after a hard bounce or too many soft ones.
    Bounced,
    /// Unsubscribed by a spam complaint (feedback loop).
    Complained,
    /// Left (one-click link, preference centre, mailed unsubscribe).
    Unsubscribed,
    /// Removed by an operator.
    Removed,
}

impl State {
    /// Every state.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Active,
        Self::Paused,
        Self::Bounced,
        Self::Complained,
        Self::Unsubscribed,
        Self::Removed,
    ];

    /// The word shown and given to `--status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
            Self::Unsubscribed => "unsubscribed",
            Self::Removed => "removed",
        }
    }

    /// A stored member's state at `now`: a pause that has not ended makes an active member
    /// paused; an unsubscribe whose latest inbound event is a complaint is a complaint.
    pub fn of(
        status: MemberStatus,
        paused_until: Option<DateTime<Utc>>,
        last_event: Option<MemberEventKind>,
        now: DateTime<Utc>,
    ) -> Self {
        match status {
            MemberStatus::Active if paused_until.is_some_and(|p| p > now) => Self::Paused,
            MemberStatus::Active => Self::Active,
            MemberStatus::Unsubscribed if last_event == Some(MemberEventKind::Complaint) => {
                Self::Complained
            }
            MemberStatus::Unsubscribed => Self::Unsubscribed,
            MemberStatus::Bounced => Self::Bounced,
            MemberStatus::Removed => Self::Removed,
        }
    }
}

/// What `members list --status` keeps: one state, or the members (active or paused) who
/// receive every digest or the weekly edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Members in this state.
    State(State),
    /// Active or paused members with this frequency.
    Frequency(Frequency),
}

impl std::str::FromStr for StatusFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(state) = State::ALL.into_iter().find(|s| s.as_str() == text) {
            return Ok(Self::State(state));
        }
        text.parse::<Frequency>().map(Self::Frequency).map_err(|_| {
            format!(
                "--status {text:?} is not a status; use one of {}, daily, weekly",
                State::ALL.map(State::as_str).join(", ")
            )
        })
    }
}

impl StatusFilter {
    fn keeps(self, state: State, frequency: Option<Frequency>) -> bool {
        match self {
            Self::State(s) => s == state,
            Self::Frequency(f) => {
                matches!(state, State::Active | State::Paused) && frequency == Some(f)
            }
        }
    }
}

/// `feedbrief members list [--status S]`: each member's state (pending, active, paused
/// until a date, bounced, complained, unsubscribed, removed) with its reason, how often
/// they receive the brief (daily or weekly), their sections, and for those inbound mail
/// concerned, the soft bounces within `[inbound] soft_bounce_window` and the latest event
/// with its evidence. Sign-ups whose link is not yet confirmed are listed as pending.
pub fn list(config_path: &Path, status: Option<&str>) -> Outcome {
    let filter = status
        .map(str::parse::<StatusFilter>)
        .transpose()
        .map_err(|m| Failure::Usage(anyhow::anyhow!(m)))?;
    let app = open_app(config_path)?;
    let now = Utc::now();
    let store = app.store();
    let members = store.members()?;
    let preferences = store.all_preferences()?;
    let pending = store.pending_signups(now)?;
    let window = app.config.inbound.soft_bounce_window;
    let since = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(15));
    let activity = store.member_activity(since)?;
    let weekly_offered = app.config.brief.weekly.is_some();
    let sections_of = |chosen: &[String]| {
        if chosen.is_empty() {
            "all sections".to_string()
        } else {
            chosen.join("; ")
        }
    };
    let (mut shown, mut by_state) = (0, std::collections::BTreeMap::<&str, usize>::new());
    for p in &pending {
        *by_state.entry(State::Pending.as_str()).or_default() += 1;
        if filter.is_some_and(|f| !f.keeps(State::Pending, None)) {
            continue;
        }
        shown += 1;
        let what = match p
            .member_id
            .and_then(|id| members.iter().find(|m| m.id == id))
        {
            Some(m) => format!("new address of {}", m.email),
            None => "signed up".to_string(),
        };
        println!(
            "{:<12} {:<40} {:<24} {:<6} {}",
            format!(
                "{} ({what}; the link expires {})",
                State::Pending.as_str(),
                p.expires_at.format("%Y-%m-%d %H:%M UTC")
            ),
            p.email,
            p.name.as_deref().unwrap_or("-"),
            "-",
            sections_of(&p.sections)
        );
    }
    for m in &members {
        let prefs = preferences.get(&m.id);
        let a = activity.get(&m.id);
        let paused_until = prefs.and_then(|p| p.paused_until);
        let state = State::of(m.status, paused_until, a.map(|a| a.last.kind), now);
        *by_state.entry(state.as_str()).or_default() += 1;
        let frequency = prefs.map(|p| p.frequency).unwrap_or_default();
        if filter.is_some_and(|f| !f.keeps(state, Some(frequency))) {
            continue;
        }
        shown += 1;
        let detail = match (state, paused_until, m.reason.as_deref()) {
            (State::Paused, Some(until), _) => format!(
                " until {}",
                until
                    .with_timezone(&app.config.brief.timezone)
                    .format("%Y-%m-%d")
            ),
            (_, _, Some(r)) => format!(" ({r})"),
            _ => String::new(),
        };
        // Without a weekly edition everyone receives every digest, whatever they chose.
        let how_often = match (weekly_offered, frequency) {
            (false, Frequency::Weekly) => "daily (chose weekly; no weekly edition)".to_string(),
            (_, f) => f.to_string(),
        };
        println!(
            "{:<12} {:<40} {:<24} {:<6} {}",
            format!("{}{detail}", state.as_str()),
            m.email,
            m.name.as_deref().unwrap_or("-"),
            how_often,
            sections_of(&m.sections)
        );
        if let Some(a) = a {
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
    let counts: Vec<String> = by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let active = members
        .iter()
        .filter(|m| m.status == MemberStatus::Active)
        .count();
    println!(
        "{} members, {active} active ({}){}",
        members.len(),
        counts.join(", "),
        match (filter, status) {
            (Some(_), Some(s)) => format!("; {shown} shown with status {s}"),
            _ => String::new(),
        }
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_state_reads_its_pause_and_a_complaint_and_the_filter_names_its_choices() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(100);
        let day = chrono::Duration::days(1);
        let of = |status, paused, last| State::of(status, paused, last, now);
        assert_eq!(of(MemberStatus::Active, None, None), State::Active);
        assert_eq!(
            of(MemberStatus::Active, Some(now + day), None),
            State::Paused
        );
        assert_eq!(
            of(MemberStatus::Active, Some(now - day), None),
            State::Active
        );
        assert_eq!(
            of(
                MemberStatus::Unsubscribed,
                None,
                Some(MemberEventKind::Complaint)
            ),
            State::Complained
        );
        assert_eq!(
            of(
                MemberStatus::Unsubscribed,
                None,
                Some(MemberEventKind::SoftBounce)
            ),
            State::Unsubscribed
        );
        assert_eq!(
            of(
                MemberStatus::Bounced,
                None,
                Some(MemberEventKind::HardBounce)
            ),
            State::Bounced
        );
        let weekly: StatusFilter = "Weekly".parse().expect("weekly");
        assert!(weekly.keeps(State::Paused, Some(Frequency::Weekly)));
        assert!(!weekly.keeps(State::Unsubscribed, Some(Frequency::Weekly)));
        assert!(!weekly.keeps(State::Active, Some(Frequency::Daily)));
        assert_eq!(
            "pending".parse::<StatusFilter>(),
            Ok(StatusFilter::State(State::Pending))
        );
        let err = "gone".parse::<StatusFilter>().expect_err("not a status");
        assert!(
            err.contains("complained") && err.contains("weekly"),
            "{err}"
        );
    }
}

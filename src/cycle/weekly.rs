//! The weekly edition (`[brief] weekly`): the past seven days' daily digests → their best
//! stories (ranked by clicks when the week has any, else by each digest's own order, leads
//! first; de-duplicated; at most `max_stories`) → one digest of the `weekly` edition,
//! recorded for its schedule slot with a delivery owed to each member who chose it, and
//! sent through the same delivery as the daily digest (claims, exactly once, kill -9).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::cycle::digest::record_weekly_for_slot;
use crate::cycle::report::DeliveryReport;
use crate::mail::delivery::deliver_pending;
use crate::mail::transport::Sender;
use crate::members::Frequency;
use crate::select::{Digest, SectionStories, Story};

/// How far back the weekly edition looks: daily digests built in the seven days up to it.
pub const WEEK: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// What handling a weekly slot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeeklyOutcome {
    /// The edition was recorded now.
    Recorded {
        /// Its digest id.
        id: i64,
        /// Its subject.
        subject: String,
        /// How many stories it carries.
        stories: usize,
    },
    /// The slot's edition was recorded before (a restart): only what it still owes is sent.
    AlreadyRecorded(i64),
    /// The week had no daily digest, so there is nothing to send.
    NoStories,
}

/// The best stories of `week` (daily digests, any order) as one digest built at `now`:
/// each story ranked by its clicks over the week (`clicks`, by entry id; a story
/// without clicks counts 0), then by its place in its own digest (leads first), then the
/// newer digest first; a story carried twice (same entry or same link) counted once, at
/// most `max_stories`. The lead is the best; the rest are grouped in `sections` order
/// (sections not listed last). The newest digest's announcements and sponsored blocks
/// come along; there is no "most read" block (the edition is the week's most read).
/// `None` when the week carried no story.
pub fn best_of_week(
    week: &[Digest],
    clicks: &HashMap<i64, i64>,
    max_stories: usize,
    sections: &[String],
    now: DateTime<Utc>,
) -> Option<Digest> {
    let newest = week.iter().max_by_key(|d| d.created_at)?;
    // (clicks, place in its digest, digest time, story)
    let mut ranked: Vec<(i64, usize, DateTime<Utc>, &Story)> = week
        .iter()
        .flat_map(|d| {
            d.stories().enumerate().map(|(place, s)| {
                let n = clicks.get(&s.entry_id).copied().unwrap_or(0);
                (n, place, d.created_at, s)
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.entry_id.cmp(&b.3.entry_id))
    });
    let (mut ids, mut urls) = (HashSet::new(), HashSet::new());
    let mut best: Vec<Story> = Vec::new();
    for (_, _, _, story) in ranked {
        if best.len() >= max_stories.max(1) {
            break;
        }
        if !ids.insert(story.entry_id) || !urls.insert(story.url.as_str()) {
            continue;
        }
        best.push(story.clone());
    }
    let mut rest = best.into_iter();
    let lead = rest.next()?;
    let mut grouped: Vec<SectionStories> = Vec::new();
    for story in rest {
        match grouped.iter_mut().find(|s| s.name == story.section) {
            Some(section) => section.stories.push(story),
            None => grouped.push(SectionStories {
                name: story.section.clone(),
                stories: vec![story],
            }),
        }
    }
    let order = |name: &str| {
        sections
            .iter()
            .position(|s| s == name)
            .unwrap_or(usize::MAX)
    };
    // Stable: sections not in the list keep the order their best story gave them.
    grouped.sort_by_key(|s| order(&s.name));
    Some(Digest {
        created_at: now,
        lead,
        sections: grouped,
        announcements: newest.announcements.clone(),
        sponsors: newest.sponsors.clone(),
        high_water: newest.high_water,
        most_read: Vec::new(),
    })
}

/// The weekly edition due at `now`: the best of the daily digests built in the [`WEEK`]
/// before it, by their clicks.
pub fn weekly_digest(app: &App, now: DateTime<Utc>) -> anyhow::Result<Option<Digest>> {
    let store = app.store();
    let rows = store.digests_between(now - WEEK, now, Frequency::Daily)?;
    let mut week = Vec::with_capacity(rows.len());
    for row in &rows {
        // One unreadable digest must not cost the week: it is left out, with a log line.
        match serde_json::from_str::<Digest>(&row.content) {
            Ok(d) => week.push(d),
            Err(e) => tracing::warn!(
                digest = row.id,
                error = %e,
                "left out of the weekly edition: its stored content is unreadable"
            ),
        }
    }
    let in_week: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let mut clicks: HashMap<i64, i64> = HashMap::new();
    for c in store.story_clicks(now - WEEK)? {
        if in_week.contains(&c.digest_id) {
            *clicks.entry(c.entry_id).or_default() += c.clicks;
        }
    }
    let sections: Vec<String> = app.config.sections.iter().map(|s| s.name.clone()).collect();
    Ok(best_of_week(
        &week,
        &clicks,
        app.config.brief.max_stories,
        &sections,
        now,
    ))
}

/// Whether schedule slot `slot` carries the weekly edition: `[brief] weekly` is set and
/// `slot` is the first slot of that day in the brief's time zone.
pub fn is_weekly_slot(app: &App, slot: DateTime<Utc>) -> bool {
    let Some(day) = app.config.brief.weekly else {
        return false;
    };
    let tz = app.config.brief.timezone;
    let local = slot.with_timezone(&tz);
    if local.weekday() != day {
        return false;
    }
    // The slot before this one (strictly earlier) must fall on an earlier day.
    let earlier = crate::daemon::previous_slot(app, slot - chrono::Duration::seconds(1));
    earlier.is_none_or(|e| e.with_timezone(&tz).date_naive() < local.date_naive())
}

/// Handles the weekly edition of `slot`: records it (once: a restart finds it recorded)
/// and sends what it owes, through the same claims and ledger as the daily digest.
pub async fn send_weekly(
    app: &Arc<App>,
    now: DateTime<Utc>,
    slot: DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<(WeeklyOutcome, DeliveryReport)> {
    let outcome = app
        .blocking("recording the weekly edition", move |app| {
            if let Some(id) = app.store().digest_for_slot(slot, Frequency::Weekly)? {
                return Ok(WeeklyOutcome::AlreadyRecorded(id));
            }
            let Some(digest) = weekly_digest(app, now)? else {
                return Ok(WeeklyOutcome::NoStories);
            };
            let id = record_weekly_for_slot(app, &digest, now, slot)?;
            let subject = app
                .store()
                .digest(id)?
                .map(|d| d.subject)
                .unwrap_or_default();
            Ok(WeeklyOutcome::Recorded {
                id,
                subject,
                stories: digest.stories().count(),
            })
        })
        .await?;
    if outcome == WeeklyOutcome::NoStories || cancel.is_cancelled() {
        return Ok((outcome, DeliveryReport::default()));
    }
    let sender = Arc::new(Sender::new(
        &app.config.delivery.transport,
        app.config.delivery.connections,
        app.config.delivery.timeout,
    )?);
    let report = deliver_pending(app, &sender, cancel).await;
    sender.close().await;
    Ok((outcome, report?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(id: i64, section: &str) -> Story {
        Story {
            entry_id: id,
            title: format!("Story {id}"),
            url: format!("https://news.example.org/{id}"),
            summary: None,
            source: "Feed".into(),
            date: DateTime::UNIX_EPOCH,
            section: section.into(),
            access_note: None,
            image: None,
        }
    }

    fn digest(day: i64, lead: Story, rest: Vec<Story>) -> Digest {
        let mut sections: Vec<SectionStories> = Vec::new();
        for s in rest {
            match sections.iter_mut().find(|x| x.name == s.section) {
                Some(x) => x.stories.push(s),
                None => sections.push(SectionStories {
                    name: s.section.clone(),
                    stories: vec![s],
                }),
            }
        }
        Digest {
            created_at: DateTime::UNIX_EPOCH + chrono::Duration::days(day),
            lead,
            sections,
            announcements: Vec::new(),
            sponsors: Vec::new(),
            high_water: day,
            most_read: Vec::new(),
        }
    }

    fn ids(d: &Digest) -> Vec<i64> {
        d.stories().map(|s| s.entry_id).collect()
    }

    fn week() -> Vec<Digest> {
        vec![
            digest(1, story(1, "A"), vec![story(2, "A"), story(3, "B")]),
            // Story 2 again (as another digest's lead) and a copy of story 3's link.
            digest(
                2,
                story(2, "A"),
                vec![story(4, "B"), {
                    let mut copy = story(5, "B");
                    copy.url = story(3, "B").url;
                    copy
                }],
            ),
            digest(3, story(6, "B"), vec![story(7, "A")]),
        ]
    }

    #[test]
    fn without_clicks_the_leads_come_first_newest_first_then_each_digests_order() {
        let sections = ["A".to_string(), "B".to_string()];
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(4);
        let w = best_of_week(&week(), &HashMap::new(), 12, &sections, now).expect("stories");
        // Leads 6 (newest), 2, 1; then second places 7, 4, (2 again); then third places
        // 5 (the newer digest), and 3, whose link is 5's. Grouped by section after the
        // lead: A before B.
        assert_eq!(w.lead.entry_id, 6);
        assert_eq!(ids(&w), [6, 2, 1, 7, 4, 5]);
        assert_eq!(w.sections[0].name, "A");
        assert_eq!(w.created_at, now);
        assert_eq!(w.high_water, 3);
    }

    #[test]
    fn clicks_rank_first_and_the_edition_stops_at_max_stories() {
        let clicks = HashMap::from([(3, 9), (7, 4), (4, 4)]);
        let w = best_of_week(&week(), &clicks, 4, &[], DateTime::UNIX_EPOCH).expect("stories");
        assert_eq!(w.lead.entry_id, 3);
        let mut got = ids(&w);
        assert_eq!(got.len(), 4);
        got.sort_unstable();
        // 3 (9 clicks), 7 and 4 (4 each), then the newest lead without clicks.
        assert_eq!(got, [3, 4, 6, 7]);
    }

    #[test]
    fn a_week_without_digests_has_no_edition() {
        assert!(best_of_week(&[], &HashMap::new(), 12, &[], DateTime::UNIX_EPOCH).is_none());
    }
}

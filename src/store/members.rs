//! Members: who receives the digest and their status. Imported CSV rows → members (never
//! resubscribing one who left); one-click unsubscribes, bounces and removals → status.
//! What inbound mail did to a member (bounces, complaints, mailed unsubscribes) → rows of
//! `member_events`, each with its evidence.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ImportCounts, Member, MemberStatus, Store, UnknownStatus, from_ts, ts};
use crate::members::MemberRow;

impl Store {
    /// Adds new members and updates names and sections of known ones. Never reactivates
    /// a member who unsubscribed, bounced or was removed.
    pub fn import_members(
        &self,
        rows: &[MemberRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<ImportCounts> {
        let tx = self.conn.unchecked_transaction()?;
        let mut counts = ImportCounts::default();
        for row in rows {
            let sections = (!row.sections.is_empty()).then(|| row.sections.join(";"));
            let attributes = (!row.attributes.is_empty()).then(|| {
                serde_json::Value::Object(
                    row.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect(),
                )
                .to_string()
            });
            // Cached statements: preparing three per row cost more than running them.
            let existing: Option<(Option<String>, Option<String>, Option<String>)> = tx
                .prepare_cached("SELECT name, sections, attributes FROM members WHERE email = ?1")?
                .query_row([&row.email], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            match existing {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO members (email, name, sections, attributes, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )?
                    .execute(params![row.email, row.name, sections, attributes, ts(now)])?;
                    counts.added += 1;
                }
                Some((name, secs, attrs))
                    if name == row.name && secs == sections && attrs == attributes =>
                {
                    counts.unchanged += 1
                }
                Some(_) => {
                    // Status is never touched here: a suppressed member stays suppressed.
                    tx.prepare_cached(
                        "UPDATE members SET name = ?2, sections = ?3, attributes = ?4, updated_at = ?5
                         WHERE email = ?1",
                    )?
                    .execute(params![row.email, row.name, sections, attributes, ts(now)])?;
                    counts.updated += 1;
                }
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Every member, by address.
    pub fn members(&self) -> anyhow::Result<Vec<Member>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members ORDER BY email"
        ))?;
        let rows = stmt.query_map([], member_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A member by id.
    pub fn member_by_id(&self, id: i64) -> anyhow::Result<Option<Member>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?1"),
                [id],
                member_row,
            )
            .optional()?)
    }

    /// Unsubscribes an active member; returns false when they were not active (so a
    /// repeated click changes nothing and a bounce reason is kept).
    pub fn unsubscribe(&self, member_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET status = 'unsubscribed', reason = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'active'",
            params![
                member_id,
                format!(
                    "one-click unsubscribe on {}",
                    now.format("%Y-%m-%d %H:%M UTC")
                ),
                ts(now)
            ],
        )?;
        Ok(n > 0)
    }

    /// Sets a member's status (removed, unsubscribed, bounced) with a reason.
    /// Returns false when no member has that address.
    pub fn set_member_status(
        &self,
        email: &str,
        status: MemberStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET status = ?2, reason = ?3, updated_at = ?4 WHERE email = ?1",
            params![email, status, reason, ts(now)],
        )?;
        Ok(n > 0)
    }
}

/// What inbound mail did to a member: one row of `member_events`, stored as the text
/// [`MemberEventKind::as_str`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberEventKind {
    /// A permanent failure: the member was suppressed (status `bounced`).
    HardBounce,
    /// A failure that may pass: counted; enough within the window suppress.
    SoftBounce,
    /// A spam complaint (feedback loop): the member was unsubscribed.
    Complaint,
    /// Mail to the member's `unsubscribe+` address: the member was unsubscribed.
    MailedUnsubscribe,
}

impl MemberEventKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::HardBounce,
        Self::SoftBounce,
        Self::Complaint,
        Self::MailedUnsubscribe,
    ];

    /// The stored (and shown) text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HardBounce => "hard bounce",
            Self::SoftBounce => "soft bounce",
            Self::Complaint => "complaint",
            Self::MailedUnsubscribe => "mailed unsubscribe",
        }
    }
}

impl std::fmt::Display for MemberEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::ToSql for MemberEventKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for MemberEventKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                rusqlite::types::FromSqlError::Other(Box::new(UnknownStatus {
                    kind: "member event",
                    text: text.to_string(),
                    known: Self::ALL.map(Self::as_str).join(", "),
                }))
            })
    }
}

/// One recorded [`MemberEventKind`] with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    /// The member.
    pub member_id: i64,
    /// When the mail arrived.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: MemberEventKind,
    /// The enhanced status code the mail gave (`5.1.1`), if any.
    pub status: Option<String>,
    /// A short excerpt of the mail's evidence (diagnostic, feedback type, subject).
    pub evidence: String,
}

/// A member's inbound-mail history as `members list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberActivity {
    /// Soft bounces since the time asked for (the soft-bounce window's start).
    pub soft_bounces: usize,
    /// The latest event.
    pub last: MemberEvent,
}

impl Store {
    /// A member by address (as stored: normalised).
    pub fn member_by_email(&self, email: &str) -> anyhow::Result<Option<Member>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE email = ?1"),
                [email],
                member_row,
            )
            .optional()?)
    }

    /// Records what inbound mail did to a member.
    pub fn add_member_event(&self, event: &MemberEvent) -> anyhow::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO member_events (member_id, at, kind, status, evidence)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                event.member_id,
                ts(event.at),
                event.kind,
                event.status,
                event.evidence
            ])?;
        Ok(())
    }

    /// The member's soft bounces recorded at or after `since`.
    pub fn soft_bounces_since(
        &self,
        member_id: i64,
        since: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM member_events WHERE member_id = ?1 AND kind = ?2 AND at >= ?3",
            params![member_id, MemberEventKind::SoftBounce, ts(since)],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Gives an active member `status` (unsubscribed, bounced) with a reason; returns
    /// false when they were not active (a suppressed member keeps their first reason).
    pub fn suppress_member(
        &self,
        member_id: i64,
        status: MemberStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET status = ?2, reason = ?3, updated_at = ?4
             WHERE id = ?1 AND status = 'active'",
            params![member_id, status, reason, ts(now)],
        )?;
        Ok(n > 0)
    }

    /// Every member with recorded events: soft bounces since `soft_since` and the latest
    /// event, by member id.
    pub fn member_activity(
        &self,
        soft_since: DateTime<Utc>,
    ) -> anyhow::Result<std::collections::HashMap<i64, MemberActivity>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.member_id, e.at, e.kind, e.status, e.evidence,
                    (SELECT COUNT(*) FROM member_events s
                     WHERE s.member_id = e.member_id AND s.kind = ?1 AND s.at >= ?2)
             FROM member_events e
             WHERE e.id = (SELECT id FROM member_events l WHERE l.member_id = e.member_id
                           ORDER BY l.at DESC, l.id DESC LIMIT 1)",
        )?;
        let rows = stmt.query_map(params![MemberEventKind::SoftBounce, ts(soft_since)], |r| {
            Ok(MemberActivity {
                last: MemberEvent {
                    member_id: r.get(0)?,
                    at: from_ts(r.get(1)?),
                    kind: r.get(2)?,
                    status: r.get(3)?,
                    evidence: r.get(4)?,
                },
                soft_bounces: usize::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            })
        })?;
        rows.map(|r| r.map(|a| (a.last.member_id, a)).map_err(Into::into))
            .collect()
    }
}

/// The stored `;`-separated sections as a list.
pub(super) fn split_sections(s: Option<String>) -> Vec<String> {
    s.map(|s| {
        s.split(';')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}
/// The columns [`member_row`] reads, in its order.
const MEMBER_COLUMNS: &str = "id, email, name, sections, status, reason";

/// A [`Member`] from a row selecting [`MEMBER_COLUMNS`].
fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        sections: split_sections(r.get::<_, Option<String>>(3)?),
        status: r.get(4)?,
        reason: r.get(5)?,
    })
}

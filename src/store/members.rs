//! Members: who receives the digest and their status. Imported CSV rows → members (never
//! resubscribing one who left); one-click unsubscribes, bounces and removals → status.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ImportCounts, Member, MemberStatus, Store, ts};
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
        let mut stmt = self.conn.prepare(
            "SELECT id, email, name, sections, status, reason FROM members ORDER BY email",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Member {
                id: r.get(0)?,
                email: r.get(1)?,
                name: r.get(2)?,
                sections: split_sections(r.get::<_, Option<String>>(3)?),
                status: r.get(4)?,
                reason: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A member by id.
    pub fn member_by_id(&self, id: i64) -> anyhow::Result<Option<Member>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, name, sections, status, reason FROM members WHERE id = ?1",
                [id],
                |r| {
                    Ok(Member {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        name: r.get(2)?,
                        sections: split_sections(r.get::<_, Option<String>>(3)?),
                        status: r.get(4)?,
                        reason: r.get(5)?,
                    })
                },
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

//! Members: who receives the digest and their status. Imported CSV rows → members (never
//! resubscribing one who left); one-click unsubscribes, bounces and removals → status.
//! What inbound mail did to a member (bounces, complaints, mailed unsubscribes) → rows of
//! `member_events`, each with its evidence.
//! Sign-ups and address changes waiting for their link → confirmed members; a member's
//! own choices (sections, a pause) → their row.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ImportCounts, Member, MemberStatus, Store, from_ts, ts};
use crate::members::{Frequency, MemberRow};

impl Store {
    /// Adds new members and updates names, sections and frequencies of known ones. Never
    /// reactivates a member who unsubscribed, bounced or was removed, and never overwrites
    /// sections or a frequency a member chose themselves. A row without a frequency means
    /// every digest (`daily`).
    pub fn import_members(
        &self,
        rows: &[MemberRow],
        now: DateTime<Utc>,
    ) -> anyhow::Result<ImportCounts> {
        let tx = self.conn.unchecked_transaction()?;
        let mut counts = ImportCounts::default();
        for row in rows {
            let sections = (!row.sections.is_empty()).then(|| row.sections.join(";"));
            let frequency = row.frequency.unwrap_or_default();
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
            // Name, sections, attributes and frequency as the file is compared with them.
            type Stored = (Option<String>, Option<String>, Option<String>, Frequency);
            let existing: Option<Stored> = tx
                .prepare_cached(
                    "SELECT name, sections, attributes, chosen_at IS NOT NULL, frequency,
                            frequency_chosen_at IS NOT NULL
                     FROM members WHERE email = ?1",
                )?
                .query_row([&row.email], |r| {
                    // Sections (and a frequency) the member chose themselves (preference
                    // centre, sign-up) stay theirs: the file's are compared as if they
                    // were the same.
                    let own: bool = r.get(3)?;
                    let stored: Option<String> = r.get(1)?;
                    let own_frequency: bool = r.get(5)?;
                    let stored_frequency: Frequency = r.get(4)?;
                    Ok((
                        r.get(0)?,
                        if own { sections.clone() } else { stored },
                        r.get(2)?,
                        if own_frequency {
                            frequency
                        } else {
                            stored_frequency
                        },
                    ))
                })
                .optional()?;
            match existing {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO members (email, name, sections, attributes, created_at, updated_at,
                                              frequency)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                    )?
                    .execute(params![
                        row.email,
                        row.name,
                        sections,
                        attributes,
                        ts(now),
                        frequency
                    ])?;
                    counts.added += 1;
                }
                Some((name, secs, attrs, freq))
                    if name == row.name
                        && secs == sections
                        && attrs == attributes
                        && freq == frequency =>
                {
                    counts.unchanged += 1
                }
                Some(_) => {
                    // Status is never touched here: a suppressed member stays suppressed.
                    tx.prepare_cached(
                        "UPDATE members SET name = ?2,
                                sections = CASE WHEN chosen_at IS NULL THEN ?3 ELSE sections END,
                                attributes = ?4, updated_at = ?5,
                                frequency = CASE WHEN frequency_chosen_at IS NULL THEN ?6
                                                 ELSE frequency END
                         WHERE email = ?1",
                    )?
                    .execute(params![
                        row.email,
                        row.name,
                        sections,
                        attributes,
                        ts(now),
                        frequency
                    ])?;
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

/// A sign-up or an address change waiting for its confirmation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup {
    /// Row id (the link names it).
    pub id: i64,
    /// The address to confirm (lowercased).
    pub email: String,
    /// The name given on the form.
    pub name: Option<String>,
    /// The sections chosen on the form (empty: all).
    pub sections: Vec<String>,
    /// For an address change: the member whose address changes.
    pub member_id: Option<i64>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was confirmed, if it was.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// What confirming a [`Signup`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// A new member, active from the next digest.
    Added(i64),
    /// A known member (active or suppressed) is active with the chosen sections.
    Reactivated(i64),
    /// The member's address is now the confirmed one.
    AddressChanged(i64),
    /// The link was confirmed before; nothing changed.
    AlreadyDone,
    /// The link expired; nothing changed.
    Expired,
    /// The new address already belongs to another member; nothing changed.
    AddressTaken,
    /// The member whose address was to change is gone or no longer active.
    MemberGone,
}

/// A member's own choices, as the preference centre shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// No digest recorded before this time is owed to them.
    pub paused_until: Option<DateTime<Utc>>,
    /// When they last chose their sections themselves (`None`: from members.csv).
    pub chosen_at: Option<DateTime<Utc>>,
    /// Every digest or the weekly edition (what they receive only while `[brief] weekly`
    /// is set; otherwise every member receives every digest).
    pub frequency: Frequency,
}

impl Store {
    /// Records a sign-up (or, with `member_id`, an address change) waiting for its link,
    /// valid until `expires_at`; returns its id. Links that expired before `now` are
    /// deleted on the way, so abandoned sign-ups do not pile up.
    pub fn record_signup(
        &self,
        email: &str,
        name: Option<&str>,
        sections: &[String],
        member_id: Option<i64>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "DELETE FROM signups WHERE expires_at < ?1 AND confirmed_at IS NULL",
            [ts(now)],
        )?;
        let sections = (!sections.is_empty()).then(|| sections.join(";"));
        tx.execute(
            "INSERT INTO signups (email, name, sections, member_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![email, name, sections, member_id, ts(now), ts(expires_at)],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// A sign-up by id.
    pub fn signup(&self, id: i64) -> anyhow::Result<Option<Signup>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, email, name, sections, member_id, expires_at, confirmed_at
                 FROM signups WHERE id = ?1",
                [id],
                signup_row,
            )
            .optional()?)
    }

    /// Confirms sign-up `id` at `now`, in one transaction: a new address becomes an active
    /// member; a known one (whatever its status: the person asked again themselves) becomes
    /// active with the chosen sections; an address change moves the member to the new
    /// address and leaves the old one behind as unsubscribed (so members.csv does not add
    /// it back). An expired or already used link changes nothing.
    pub fn confirm_signup(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<Confirmed> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let Some(s) = self.signup(id)? else {
            return Ok(Confirmed::Expired);
        };
        if s.confirmed_at.is_some() {
            return Ok(Confirmed::AlreadyDone);
        }
        if s.expires_at <= now {
            return Ok(Confirmed::Expired);
        }
        let when = now.format("%Y-%m-%d %H:%M UTC");
        let sections = (!s.sections.is_empty()).then(|| s.sections.join(";"));
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM members WHERE email = ?1", [&s.email], |r| {
                r.get(0)
            })
            .optional()?;
        let outcome = match (s.member_id, existing) {
            (Some(member), Some(other)) if other != member => Confirmed::AddressTaken,
            (Some(member), _) => {
                let old: Option<String> = tx
                    .query_row(
                        "SELECT email FROM members WHERE id = ?1 AND status = 'active'",
                        [member],
                        |r| r.get(0),
                    )
                    .optional()?;
                match old {
                    Some(old) => {
                        tx.execute(
                            "UPDATE members SET email = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1",
                            params![
                                member,
                                s.email,
                                format!("address changed from {old}, confirmed on {when}"),
                                ts(now)
                            ],
                        )?;
                        // The old address stays behind as unsubscribed, so an import of a
                        // members.csv that still lists it does not add it back.
                        tx.execute(
                            "INSERT OR IGNORE INTO members (email, status, reason, created_at, updated_at)
                             VALUES (?1, 'unsubscribed', ?2, ?3, ?3)",
                            params![
                                old,
                                format!("the member moved to {} on {when}", s.email),
                                ts(now)
                            ],
                        )?;
                        Confirmed::AddressChanged(member)
                    }
                    None => Confirmed::MemberGone,
                }
            }
            (None, Some(member)) => {
                tx.execute(
                    "UPDATE members SET status = 'active', name = COALESCE(?2, name),
                            sections = ?3, chosen_at = ?4, paused_until = NULL, reason = ?5,
                            updated_at = ?4
                     WHERE id = ?1",
                    params![
                        member,
                        s.name,
                        sections,
                        ts(now),
                        format!("signed up again and confirmed on {when}")
                    ],
                )?;
                Confirmed::Reactivated(member)
            }
            (None, None) => {
                tx.execute(
                    "INSERT INTO members (email, name, sections, status, reason, created_at,
                                          updated_at, chosen_at)
                     VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?5, ?5)",
                    params![
                        s.email,
                        s.name,
                        sections,
                        format!("signed up and confirmed on {when}"),
                        ts(now)
                    ],
                )?;
                Confirmed::Added(tx.last_insert_rowid())
            }
        };
        if matches!(
            outcome,
            Confirmed::Added(_) | Confirmed::Reactivated(_) | Confirmed::AddressChanged(_)
        ) {
            tx.execute(
                "UPDATE signups SET confirmed_at = ?2 WHERE id = ?1",
                params![id, ts(now)],
            )?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// A member's own choices.
    pub fn preferences(&self, member_id: i64) -> anyhow::Result<Option<Preferences>> {
        Ok(self
            .conn
            .query_row(
                "SELECT paused_until, chosen_at, frequency FROM members WHERE id = ?1",
                [member_id],
                preferences_row,
            )
            .optional()?)
    }

    /// Every member's own choices, by member id (for `members list`).
    pub fn all_preferences(&self) -> anyhow::Result<std::collections::HashMap<i64, Preferences>> {
        let mut stmt = self
            .conn
            .prepare("SELECT paused_until, chosen_at, frequency, id FROM members")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(3)?, preferences_row(r)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets how often an active member receives the brief, as they chose it themselves
    /// (an import of members.csv keeps it); it holds from the next digest. False when the
    /// member is not active.
    pub fn choose_frequency(
        &self,
        member_id: i64,
        frequency: Frequency,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET frequency = ?2, frequency_chosen_at = ?3, updated_at = ?3
             WHERE id = ?1 AND status = 'active'",
            params![member_id, frequency, ts(now)],
        )?;
        Ok(n == 1)
    }

    /// Addresses signed up (or asked to move to) whose link is not confirmed and has not
    /// expired at `now`, with when each expires, oldest first (for `members list`).
    pub fn pending_signups(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Signup>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, email, name, sections, member_id, expires_at, confirmed_at
             FROM signups WHERE confirmed_at IS NULL AND expires_at > ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([ts(now)], signup_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets the sections an active member chose themselves (empty: all); they hold from
    /// the next digest and an import of members.csv keeps them. False when the member is
    /// not active.
    pub fn choose_sections(
        &self,
        member_id: i64,
        sections: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let sections = (!sections.is_empty()).then(|| sections.join(";"));
        let n = self.conn.execute(
            "UPDATE members SET sections = ?2, chosen_at = ?3, updated_at = ?3
             WHERE id = ?1 AND status = 'active'",
            params![member_id, sections, ts(now)],
        )?;
        Ok(n == 1)
    }

    /// Pauses an active member until `until` (`None` resumes): digests recorded before
    /// then owe them nothing. False when the member is not active.
    pub fn pause(
        &self,
        member_id: i64,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "UPDATE members SET paused_until = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'active'",
            params![member_id, until.map(ts), ts(now)],
        )?;
        Ok(n == 1)
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
/// A [`Signup`] from a row selecting its fields in their order.
fn signup_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Signup> {
    Ok(Signup {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        sections: split_sections(r.get(3)?),
        member_id: r.get(4)?,
        expires_at: from_ts(r.get(5)?),
        confirmed_at: r.get::<_, Option<i64>>(6)?.map(from_ts),
    })
}

/// [`Preferences`] from a row selecting `paused_until, chosen_at, frequency` first.
fn preferences_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Preferences> {
    Ok(Preferences {
        paused_until: r.get::<_, Option<i64>>(0)?.map(from_ts),
        chosen_at: r.get::<_, Option<i64>>(1)?.map(from_ts),
        frequency: r.get(2)?,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::now;

    fn row(email: &str, sections: &[&str]) -> MemberRow {
        MemberRow {
            line: 1,
            email: email.into(),
            name: None,
            sections: sections.iter().map(|s| s.to_string()).collect(),
            attributes: Vec::new(),
            frequency: None,
        }
    }

    fn owed(s: &Store, digest: i64) -> Vec<String> {
        let mut stmt = s
            .conn
            .prepare(
                "SELECT m.email FROM deliveries d JOIN members m ON m.id = d.member_id
                 WHERE d.digest_id = ?1 ORDER BY m.email",
            )
            .expect("prepare");
        stmt.query_map([digest], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn id_of(s: &Store, email: &str) -> i64 {
        s.conn
            .query_row("SELECT id FROM members WHERE email = ?1", [email], |r| {
                r.get(0)
            })
            .expect("member")
    }

    #[test]
    fn a_paused_member_is_owed_no_digest_recorded_during_the_pause_and_every_one_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("db.sqlite")).expect("open");
        s.import_members(
            &[row("a@example.org", &[]), row("b@example.org", &[])],
            now(),
        )
        .expect("import");
        let a = id_of(&s, "a@example.org");
        let day = chrono::Duration::days(1);
        assert!(s.pause(a, Some(now() + day * 2), now()).expect("pause"));
        let during = s
            .create_digest(now() + day, 0, "During", "{}", &[], None)
            .expect("digest");
        assert_eq!(owed(&s, during), ["b@example.org"]);
        let after = s
            .create_digest(now() + day * 2, 0, "After", "{}", &[], None)
            .expect("digest");
        assert_eq!(owed(&s, after), ["a@example.org", "b@example.org"]);
        // Nothing was queued for the paused member: the digest during the pause owes them
        // nothing even now.
        assert_eq!(owed(&s, during), ["b@example.org"]);
        // Resuming early holds from the next digest.
        assert!(s.pause(a, Some(now() + day * 30), now()).expect("pause"));
        assert!(s.pause(a, None, now()).expect("resume"));
        let resumed = s
            .create_digest(now() + day * 3, 0, "Resumed", "{}", &[], None)
            .expect("digest");
        assert_eq!(owed(&s, resumed), ["a@example.org", "b@example.org"]);
    }

    #[test]
    fn with_a_weekly_edition_each_member_is_owed_only_the_edition_they_chose() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("db.sqlite")).expect("open");
        let mut weekly = row("w@example.org", &[]);
        weekly.frequency = Some(Frequency::Weekly);
        s.import_members(&[row("d@example.org", &[]), weekly], now())
            .expect("import");
        let day = chrono::Duration::days(1);
        // No weekly edition offered: everyone receives the daily digest.
        let plain = s
            .create_digest(now(), 0, "Plain", "{}", &[], None)
            .expect("digest");
        assert_eq!(owed(&s, plain), ["d@example.org", "w@example.org"]);
        // Offered: the daily digest goes to daily members, the weekly to weekly ones.
        let daily = s
            .create_edition(
                now() + day,
                0,
                "Daily",
                "{}",
                &[],
                None,
                Frequency::Daily,
                true,
            )
            .expect("digest");
        assert_eq!(owed(&s, daily), ["d@example.org"]);
        let slot = now() + day;
        let weekly = s
            .create_edition(
                now() + day,
                0,
                "Weekly",
                "{}",
                &[],
                Some(slot),
                Frequency::Weekly,
                true,
            )
            .expect("digest");
        assert_eq!(owed(&s, weekly), ["w@example.org"]);
        assert_eq!(
            s.digest_edition(weekly).expect("read"),
            Some(Frequency::Weekly)
        );
        assert_eq!(
            s.digest_for_slot(slot, Frequency::Weekly).expect("read"),
            Some(weekly)
        );
        // One weekly edition per slot; the daily digest of the same slot is another row.
        assert!(
            s.create_edition(
                now() + day,
                0,
                "Again",
                "{}",
                &[],
                Some(slot),
                Frequency::Weekly,
                true
            )
            .is_err()
        );
        s.create_edition(
            now() + day,
            0,
            "Daily",
            "{}",
            &[],
            Some(slot),
            Frequency::Daily,
            true,
        )
        .expect("the slot's daily digest");
        // The weekly edition never moves the daily window.
        assert_eq!(s.last_digest().expect("last").expect("one").id, weekly + 1);
        // A member who chose daily in the preference centre keeps it over the file.
        let w = id_of(&s, "w@example.org");
        assert!(
            s.choose_frequency(w, Frequency::Daily, now())
                .expect("choose")
        );
        let mut again = row("w@example.org", &[]);
        again.frequency = Some(Frequency::Weekly);
        assert_eq!(
            s.import_members(&[again], now()).expect("import").unchanged,
            1
        );
        assert_eq!(
            s.preferences(w).expect("read").expect("member").frequency,
            Frequency::Daily
        );
    }

    #[test]
    fn sections_a_member_chose_survive_an_import_of_the_file_and_its_names_still_update() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("db.sqlite")).expect("open");
        s.import_members(&[row("a@example.org", &["One"])], now())
            .expect("import");
        let a = id_of(&s, "a@example.org");
        assert!(
            s.choose_sections(a, &["Two".to_string()], now())
                .expect("choose")
        );
        let mut again = row("a@example.org", &["One"]);
        again.name = Some("Ann".into());
        let counts = s.import_members(&[again], now()).expect("import");
        assert_eq!(counts.updated, 1);
        let m = s.member_by_id(a).expect("read").expect("member");
        assert_eq!(m.sections, ["Two"]);
        assert_eq!(m.name.as_deref(), Some("Ann"));
        // A file row with the same name is unchanged: the chosen sections are not a change.
        let mut same = row("a@example.org", &["One"]);
        same.name = Some("Ann".into());
        assert_eq!(
            s.import_members(&[same], now()).expect("import").unchanged,
            1
        );
    }

    #[test]
    fn a_signup_adds_its_member_once_confirmed_and_an_expired_one_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("db.sqlite")).expect("open");
        let hour = chrono::Duration::hours(1);
        let id = s
            .record_signup(
                "new@example.org",
                Some("New"),
                &["Two".into()],
                None,
                now(),
                now() + hour,
            )
            .expect("record");
        assert!(
            s.members().expect("members").is_empty(),
            "nothing before confirming"
        );
        let Confirmed::Added(member) = s.confirm_signup(id, now()).expect("confirm") else {
            panic!("added")
        };
        let m = s.member_by_id(member).expect("read").expect("member");
        assert_eq!(
            (m.status, m.sections),
            (MemberStatus::Active, vec!["Two".to_string()])
        );
        assert_eq!(
            s.confirm_signup(id, now()).expect("again"),
            Confirmed::AlreadyDone
        );
        // A suppressed member who signs up again is active once they confirm.
        s.set_member_status("new@example.org", MemberStatus::Bounced, "550", now())
            .expect("bounce");
        let again = s
            .record_signup("new@example.org", None, &[], None, now(), now() + hour)
            .expect("record");
        assert_eq!(
            s.confirm_signup(again, now()).expect("confirm"),
            Confirmed::Reactivated(member)
        );
        let m = s.member_by_id(member).expect("read").expect("member");
        assert_eq!(m.status, MemberStatus::Active);
        assert_eq!(
            m.name.as_deref(),
            Some("New"),
            "no name given keeps the old one"
        );
        // An expired link adds no one; recording another sign-up deletes it.
        let late = s
            .record_signup("late@example.org", None, &[], None, now(), now() + hour)
            .expect("record");
        assert_eq!(
            s.confirm_signup(late, now() + hour).expect("confirm"),
            Confirmed::Expired
        );
        assert_eq!(s.members().expect("members").len(), 1);
        s.record_signup(
            "x@example.org",
            None,
            &[],
            None,
            now() + hour * 2,
            now() + hour * 3,
        )
        .expect("record");
        assert!(
            s.signup(late).expect("read").is_none(),
            "expired rows are pruned"
        );
        // An address change to an address another member has changes nothing.
        s.import_members(&[row("other@example.org", &[])], now())
            .expect("import");
        let change = s
            .record_signup(
                "other@example.org",
                None,
                &[],
                Some(member),
                now(),
                now() + hour,
            )
            .expect("record");
        assert_eq!(
            s.confirm_signup(change, now()).expect("confirm"),
            Confirmed::AddressTaken
        );
        let change = s
            .record_signup(
                "moved@example.org",
                None,
                &[],
                Some(member),
                now(),
                now() + hour,
            )
            .expect("record");
        assert_eq!(
            s.confirm_signup(change, now()).expect("confirm"),
            Confirmed::AddressChanged(member)
        );
        let m = s.member_by_id(member).expect("read").expect("member");
        assert_eq!(m.email, "moved@example.org");
        // A members.csv still listing the old address does not bring it back.
        s.import_members(&[row("new@example.org", &[])], now())
            .expect("import");
        let old = s
            .members()
            .expect("members")
            .into_iter()
            .find(|m| m.email == "new@example.org")
            .expect("the old address's row");
        assert_eq!(old.status, MemberStatus::Unsubscribed);
    }
}

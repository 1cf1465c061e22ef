//! Deliveries: a row per (digest, member), claimed by one process before it is sent and
//! marked sent or failed in the transaction that learns the outcome. Owed rows → claims →
//! checks right before sending → sent, retry or failed.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::members::split_sections;
use super::{ClaimCheck, DeliveryStatus, Member, PendingDelivery, StatusCount, Store, ts};

impl Store {
    /// Claims every delivery still owed (pending or transiently failed, to members still
    /// active, or claimed by a process that died or whose lease ran out) for this store,
    /// until `lease_until`, and returns them, oldest digest first.
    ///
    /// The claim is one transaction: two processes claiming at once split the rows, never
    /// share one. Each claimed row is checked again right before its message goes out
    /// ([`Store::claim_check`]), and what is left unsent is given back with
    /// [`Store::release_claims`].
    pub fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<PendingDelivery>> {
        // IMMEDIATE: the write lock is taken before the first read, so a second claimer
        // waits (busy_timeout) instead of failing to upgrade its read.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        // Take back the claims of processes that died mid-send on this host, and of any
        // process whose lease ran out.
        let owners: Vec<String> = tx
            .prepare("SELECT DISTINCT claimed_by FROM deliveries WHERE status = 'sending'")?
            .query_map([], |r| r.get::<_, Option<String>>(0))?
            .filter_map(|r| r.ok().flatten())
            .collect();
        for owner in owners.iter().filter(|o| owner_is_dead(o)) {
            tracing::info!(
                owner,
                "taking back the deliveries of a process that stopped mid-send"
            );
            tx.execute(RELEASE_SQL_BY_OWNER, [owner])?;
        }
        tx.execute(
            "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retry' ELSE 'pending' END,
                    claimed_by = NULL, claimed_until = NULL
             WHERE status = 'sending' AND claimed_until < ?1",
            [ts(now)],
        )?;
        tx.execute(
            "UPDATE deliveries SET status = 'sending', claimed_by = ?1, claimed_until = ?2
             WHERE status IN ('pending', 'retry')
               AND member_id IN (SELECT id FROM members WHERE status = 'active')",
            params![self.owner, ts(lease_until)],
        )?;
        let claimed = {
            let mut stmt = tx.prepare(
                "SELECT d.digest_id, d.attempts, m.id, m.email, m.name, m.sections, m.status, m.reason
                 FROM deliveries d JOIN members m ON m.id = d.member_id
                 WHERE d.status = 'sending' AND d.claimed_by = ?1
                 ORDER BY d.digest_id, m.id",
            )?;
            let rows = stmt.query_map([&self.owner], |r| {
                Ok(PendingDelivery {
                    digest_id: r.get(0)?,
                    attempts: r.get(1)?,
                    member: Member {
                        id: r.get(2)?,
                        email: r.get(3)?,
                        name: r.get(4)?,
                        sections: split_sections(r.get::<_, Option<String>>(5)?),
                        status: r.get(6)?,
                        reason: r.get(7)?,
                    },
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        Ok(claimed)
    }

    /// Right before a claimed delivery is sent: whether it is still this store's and its
    /// member still active. A delivery still ours has its lease renewed to `lease_until`,
    /// so the message may take that long.
    pub fn claim_check(
        &self,
        digest_id: i64,
        member_id: i64,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<ClaimCheck> {
        // Once per member sent: cached statements save SQLite parsing them each time.
        let renewed = self
            .conn
            .prepare_cached(
                "UPDATE deliveries SET claimed_until = ?4
                 WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?3
                   AND EXISTS (SELECT 1 FROM members WHERE id = ?2 AND status = 'active')",
            )?
            .execute(params![digest_id, member_id, self.owner, ts(lease_until)])?;
        if renewed == 1 {
            return Ok(ClaimCheck::Send);
        }
        let active: bool = self
            .conn
            .prepare_cached("SELECT status = 'active' FROM members WHERE id = ?1")?
            .query_row([member_id], |r| r.get(0))
            .optional()?
            .unwrap_or(false);
        Ok(if active {
            ClaimCheck::Lost
        } else {
            ClaimCheck::MemberLeft
        })
    }

    /// Gives back this store's claims that were not sent (a stop mid-send, members who
    /// left): they are owed again, to whichever process claims next.
    pub fn release_claims(&self) -> anyhow::Result<usize> {
        Ok(self.conn.execute(RELEASE_SQL_BY_OWNER, [&self.owner])?)
    }

    /// Marks a delivery this store claimed as sent; a row is never "sent" twice, and a
    /// delivery another process took over is left to it (returns false).
    pub fn delivery_sent(
        &self,
        digest_id: i64,
        member_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?3,
                        updated_at = ?3, last_error = NULL, claimed_by = NULL, claimed_until = NULL
                 WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?4",
            )?
            .execute(params![digest_id, member_id, ts(now), self.owner])?;
        Ok(changed == 1)
    }

    /// Records a failed attempt of a delivery this store claimed: `retry` (transient;
    /// tried again next cycle) or `failed`.
    pub fn delivery_failed(
        &self,
        digest_id: i64,
        member_id: i64,
        now: DateTime<Utc>,
        error: &str,
        permanent: bool,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET status = ?3, attempts = attempts + 1, last_error = ?4,
                    updated_at = ?5, claimed_by = NULL, claimed_until = NULL
             WHERE digest_id = ?1 AND member_id = ?2 AND status = 'sending' AND claimed_by = ?6",
            params![
                digest_id,
                member_id,
                if permanent {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Retry
                },
                error,
                ts(now),
                self.owner
            ],
        )?;
        Ok(())
    }

    /// Sets a digest that cannot be read aside: its owed deliveries (whoever claimed them)
    /// become `failed` with `why`. Returns how many.
    pub fn set_digest_aside(
        &self,
        digest_id: i64,
        why: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        Ok(self.conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ?2, updated_at = ?3,
                    claimed_by = NULL, claimed_until = NULL
             WHERE digest_id = ?1 AND status IN ('pending', 'retry', 'sending')",
            params![digest_id, format!("digest set aside: {why}"), ts(now)],
        )?)
    }

    /// Delivery counts of one digest by status.
    pub fn delivery_counts(
        &self,
        digest_id: i64,
    ) -> anyhow::Result<Vec<StatusCount<DeliveryStatus>>> {
        let mut stmt = self.conn.prepare(
            "SELECT status, COUNT(*) FROM deliveries WHERE digest_id = ?1 GROUP BY status ORDER BY status",
        )?;
        let rows = stmt.query_map([digest_id], |r| {
            Ok(StatusCount {
                status: r.get(0)?,
                count: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Gives a process's unsent claims back: owed again, as `retry` once tried.
const RELEASE_SQL_BY_OWNER: &str =
    "UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN 'retry' ELSE 'pending' END,
            claimed_by = NULL, claimed_until = NULL
     WHERE status = 'sending' AND claimed_by = ?1";

/// This store's claim owner: host, pid and a per-open nonce (two stores in one process
/// are two owners).
pub(super) fn claim_owner() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static OPENED: AtomicU64 = AtomicU64::new(0);
    let nonce = OPENED.fetch_add(1, Ordering::Relaxed);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}/{}/{started:x}-{nonce}", host_name(), std::process::id())
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether a claim owner is a process on this host that no longer runs (killed or
/// crashed mid-send): its claims are taken back at once instead of after their lease.
/// Elsewhere, or where `/proc` is missing, only the lease tells.
fn owner_is_dead(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != host_name() || !Path::new("/proc/self").exists() {
        return false;
    }
    if pid == std::process::id().to_string() {
        // Another store in this very process: alive.
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie (killed, not yet reaped) sends nothing more.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::MemberRow;
    use crate::store::MemberStatus;
    use crate::store::testing::{entry, now};

    #[test]
    fn digest_excludes_carried_entries_and_creates_deliveries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("f.sqlite")).expect("open");
        let feeds = s
            .sync_feeds(&[("https://ex.org/feed".into(), "Ex".into())])
            .expect("sync");
        s.insert_entries(feeds[0].id, &[entry("a"), entry("b")], now())
            .expect("insert");
        let rows = vec![
            MemberRow {
                line: 2,
                email: "a@example.org".into(),
                name: Some("A".into()),
                sections: vec![],
                attributes: vec![("city".into(), "Dayton".into())],
                frequency: None,
            },
            MemberRow {
                line: 3,
                email: "b@example.org".into(),
                name: None,
                sections: vec![],
                attributes: vec![],
                frequency: None,
            },
        ];
        s.import_members(&rows, now()).expect("import");
        s.set_member_status("b@example.org", MemberStatus::Unsubscribed, "test", now())
            .expect("status");
        let c = s
            .candidates(None, now() - chrono::Duration::hours(1))
            .expect("cands");
        assert_eq!(c.len(), 2);
        let id = s
            .create_digest(
                now(),
                s.max_entry_id().expect("max"),
                "S",
                "{}",
                &[c[0].id],
                None,
            )
            .expect("digest");
        let lease = now() + chrono::Duration::minutes(5);
        let pending = s.claim_deliveries(now(), lease).expect("claim");
        assert_eq!(
            pending.len(),
            1,
            "only the active member is owed the digest"
        );
        let c2 = s
            .candidates(None, now() - chrono::Duration::hours(1))
            .expect("cands");
        assert_eq!(c2.len(), 1, "the carried entry is not a candidate again");
        assert!(
            s.delivery_sent(id, pending[0].member.id, now())
                .expect("sent")
        );
        assert!(
            !s.delivery_sent(id, pending[0].member.id, now())
                .expect("sent twice is a no-op")
        );
        assert_eq!(
            s.delivery_counts(id).expect("counts"),
            vec![StatusCount {
                status: DeliveryStatus::Sent,
                count: 1
            }]
        );
        assert!(s.claim_deliveries(now(), lease).expect("claim").is_empty());
        // Re-import does not resubscribe.
        s.import_members(&rows, now()).expect("import");
        assert_eq!(
            s.claim_check(id, 2, lease).expect("check"),
            ClaimCheck::MemberLeft
        );
    }

    /// A database with one digest owed to `members` active members.
    fn owed_digest(path: &Path, members: usize) -> (Store, i64) {
        let s = Store::open(path).expect("open");
        let feeds = s
            .sync_feeds(&[("https://a.example/feed".into(), "A".into())])
            .expect("feeds");
        s.insert_entries(feeds[0].id, &[entry("1")], now())
            .expect("insert");
        let rows: Vec<MemberRow> = (0..members)
            .map(|i| MemberRow {
                line: i + 2,
                email: format!("m{i}@example.org"),
                name: None,
                sections: Vec::new(),
                attributes: Default::default(),
                frequency: None,
            })
            .collect();
        s.import_members(&rows, now()).expect("import");
        let id = s
            .create_digest(now(), s.max_entry_id().expect("max"), "S", "{}", &[1], None)
            .expect("digest");
        (s, id)
    }

    #[test]
    fn two_stores_claiming_at_once_never_share_a_delivery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (first, _) = owed_digest(&path, 300);
        let second = Store::open(&path).expect("second store");
        let lease = now() + chrono::Duration::minutes(5);
        let claim = move |s: Store| {
            std::thread::spawn(move || {
                let claimed = s.claim_deliveries(now(), lease).expect("claim");
                (s, claimed)
            })
        };
        let (a, b) = (claim(first), claim(second));
        let ((first, a), (second, b)) = (a.join().expect("a"), b.join().expect("b"));
        assert_eq!(a.len() + b.len(), 300, "every delivery is claimed once");
        let mut members: Vec<i64> = a.iter().chain(&b).map(|p| p.member.id).collect();
        members.sort_unstable();
        members.dedup();
        assert_eq!(members.len(), 300, "no member is claimed by both");
        // The loser of the race cannot send what the winner holds.
        let held = a.first().or(b.first()).expect("a claim");
        let other = if a.is_empty() { &first } else { &second };
        assert_eq!(
            other
                .claim_check(held.digest_id, held.member.id, lease)
                .expect("check"),
            ClaimCheck::Lost
        );
    }

    #[test]
    fn claims_return_to_the_queue_when_released_or_when_their_lease_runs_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (first, id) = owed_digest(&path, 3);
        let second = Store::open(&path).expect("second store");
        let lease = now() + chrono::Duration::minutes(5);
        assert_eq!(
            first.claim_deliveries(now(), lease).expect("claim").len(),
            3
        );
        assert!(
            second
                .claim_deliveries(now(), lease)
                .expect("claim")
                .is_empty(),
            "a live claim is not taken"
        );
        // The first process stalls past its lease: the second takes over, and the first's
        // late check tells it not to send.
        let later = lease + chrono::Duration::seconds(1);
        let taken = second
            .claim_deliveries(later, later + chrono::Duration::minutes(5))
            .expect("claim after the lease");
        assert_eq!(taken.len(), 3);
        assert_eq!(
            first
                .claim_check(id, taken[0].member.id, later)
                .expect("check"),
            ClaimCheck::Lost
        );
        assert!(
            !first
                .delivery_sent(id, taken[0].member.id, later)
                .expect("sent")
        );
        assert_eq!(second.release_claims().expect("release"), 3);
        assert_eq!(
            first.claim_deliveries(later, lease).expect("claim").len(),
            3
        );
    }

    #[test]
    fn a_dead_processs_claims_are_taken_back_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedbrief.sqlite");
        let (s, _) = owed_digest(&path, 2);
        // A process on this host that has exited (its pid reaped) claimed both.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        child.wait().expect("wait");
        let dead = format!("{}/{}/0-0", host_name(), child.id());
        s.conn
            .execute(
                "UPDATE deliveries SET status = 'sending', claimed_by = ?1, claimed_until = ?2",
                params![dead, ts(now() + chrono::Duration::hours(1))],
            )
            .expect("claim as the dead process");
        let lease = now() + chrono::Duration::minutes(5);
        assert_eq!(s.claim_deliveries(now(), lease).expect("claim").len(), 2);
        // A live process elsewhere keeps its claim until the lease runs out.
        s.release_claims().expect("release");
        s.conn
            .execute(
                "UPDATE deliveries SET status = 'sending', claimed_by = 'other-host/1/x', claimed_until = ?1",
                params![ts(now() + chrono::Duration::hours(1))],
            )
            .expect("claim as another host");
        assert!(s.claim_deliveries(now(), lease).expect("claim").is_empty());
    }
}

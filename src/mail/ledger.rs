//! The delivery ledger: every database step of a delivery run (a message's outcome, the
//! next member's claim check) goes through here, and the steps that arrive together are
//! made in one blocking hop and one commit.
//!
//! Each worker still waits for its own step before it sends again, so the guarantee is
//! that of one commit per message (at most one accepted message per connection is
//! unrecorded at any moment, what a kill -9 can double); only the hops off the async
//! threads and the commits are shared. With sixteen connections, most steps find another
//! waiting and ride along with it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::app::{App, record};
use crate::store::{ClaimCheck, MemberStatus, PendingDelivery, Store};

/// What a send attempt ended in, to record.
pub(super) enum Outcome {
    Sent,
    Refused { message: String, bounce: bool },
    Deferred(String),
}

/// One worker's step: the previous message's outcome to record, and the next delivery
/// whose claim to check and renew (until `lease_until`) before its message is sent.
pub(super) struct Step {
    pub(super) record: Option<(PendingDelivery, Outcome)>,
    pub(super) check: Option<(i64, i64, DateTime<Utc>)>,
}

type Answer = Option<anyhow::Result<ClaimCheck>>;

/// The steps waiting for a hop, and whether a hop is under way to take them.
#[derive(Default)]
struct Queue {
    steps: Vec<(Step, oneshot::Sender<Answer>)>,
    running: bool,
}

/// See the module doc.
pub(super) struct Ledger {
    app: Arc<App>,
    queue: Mutex<Queue>,
    /// Batches made (each one hop and one commit), for the tests.
    #[cfg(test)]
    batches: std::sync::atomic::AtomicUsize,
    /// Steps that arrived, for the tests.
    #[cfg(test)]
    arrived: std::sync::atomic::AtomicUsize,
    /// Makes a hop linger after it ends, for the tests: steps then arrive meanwhile.
    #[cfg(test)]
    linger: std::sync::atomic::AtomicBool,
}

impl Ledger {
    pub(super) fn new(app: Arc<App>) -> Arc<Self> {
        Arc::new(Self {
            app,
            queue: Mutex::new(Queue::default()),
            #[cfg(test)]
            batches: std::sync::atomic::AtomicUsize::new(0),
            #[cfg(test)]
            arrived: std::sync::atomic::AtomicUsize::new(0),
            #[cfg(test)]
            linger: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Makes one step and answers its claim check (None when it had none to make). An
    /// error (the database, a panic in the hop) is the check's error: the delivery is
    /// deferred, never sent unchecked.
    pub(super) async fn step(self: &Arc<Self>, step: Step) -> anyhow::Result<Option<ClaimCheck>> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.steps.push((step, tx));
            #[cfg(test)]
            self.arrived
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            let ledger = Arc::clone(self);
            tokio::task::spawn_blocking(move || ledger.drain());
        }
        match rx.await {
            Ok(Some(checked)) => checked.map(Some),
            Ok(None) => Ok(None),
            Err(_) => anyhow::bail!(
                "the delivery's database step was dropped (feedbrief panicked; please report it)"
            ),
        }
    }

    /// Takes the waiting steps, batch after batch, until none is left. Should a batch
    /// panic, the guard answers every step still waiting (their senders dropped: an error)
    /// and lets the next step start a new hop.
    fn drain(&self) {
        struct OnPanic<'a>(&'a Mutex<Queue>);
        impl Drop for OnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
                    q.steps.clear();
                    q.running = false;
                }
            }
        }
        let _on_panic = OnPanic(&self.queue);
        loop {
            let batch = {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                // When empty, a new step starts a new hop: this one touches the queue no more.
                q.running = !q.steps.is_empty();
                std::mem::take(&mut q.steps)
            };
            if batch.is_empty() {
                #[cfg(test)]
                if self.linger.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                return;
            }
            self.apply(batch);
        }
    }

    /// One batch in one commit. Should the commit fail, nothing of it was kept: each step
    /// is made again on its own, so one bad step costs only itself.
    fn apply(&self, batch: Vec<(Step, oneshot::Sender<Answer>)>) {
        #[cfg(test)]
        self.batches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let store = self.app.store();
        let together = store.in_transaction(|store| {
            Ok(batch
                .iter()
                .map(|(step, _)| make(store, step))
                .collect::<Vec<_>>())
        });
        match together {
            Ok(answers) => {
                for ((_, tx), answer) in batch.into_iter().zip(answers) {
                    let _ = tx.send(answer);
                }
            }
            Err(e) => {
                tracing::warn!("recording a batch of deliveries: {e:#}; recording each on its own");
                for (step, tx) in batch {
                    let _ = tx.send(make(&store, &step));
                }
            }
        }
    }
}

fn make(store: &Store, step: &Step) -> Answer {
    if let Some((done, outcome)) = &step.record {
        record_outcome(store, done, outcome);
    }
    step.check.map(|(digest_id, member_id, lease_until)| {
        store.claim_check(digest_id, member_id, lease_until)
    })
}

/// Records a delivery's outcome: sent, refused (a hard bounce suppresses the member), or
/// deferred to the next cycle.
fn record_outcome(store: &Store, p: &PendingDelivery, outcome: &Outcome) {
    let member = &p.member;
    match outcome {
        Outcome::Sent => match store.delivery_sent(p.digest_id, member.id, Utc::now()) {
            Ok(true) => {}
            Ok(false) => tracing::error!(
                member = %member.email,
                digest = p.digest_id,
                "sent, but the delivery's claim had passed to another process; it may send it too"
            ),
            Err(e) => tracing::error!("database: {e:#}"),
        },
        Outcome::Refused { message, bounce } => {
            record(store.delivery_failed(p.digest_id, member.id, Utc::now(), message, true));
            if *bounce {
                // A hard bounce suppresses the member; no re-import brings them back.
                let reason = format!("hard bounce: {message}");
                record(
                    store
                        .set_member_status(
                            &member.email,
                            MemberStatus::Bounced,
                            &reason,
                            Utc::now(),
                        )
                        .map(|_| ()),
                );
            }
        }
        Outcome::Deferred(e) => {
            record(store.delivery_failed(p.digest_id, member.id, Utc::now(), e, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DeliveryStatus, StatusCount};

    /// An app on a temporary data dir with `members` members owed one digest, every
    /// delivery claimed by this app's store.
    fn claimed(dir: &std::path::Path, members: usize) -> (Arc<App>, Vec<PendingDelivery>) {
        let config = crate::config::parse(
            "[brief]\nname = \"B\"\nfrom = \"b@example.org\"\n",
            &dir.join("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let app = App::open(config).expect("open");
        let now = Utc::now();
        let csv: String = std::iter::once("email\n".to_string())
            .chain((0..members).map(|i| format!("m{i}@example.org\n")))
            .collect();
        crate::cycle::import_members_text(&app, &csv, now).expect("import");
        let store = app.store();
        store
            .create_digest(now, 0, "S", "{}", &[], None)
            .expect("digest");
        let pending = store
            .claim_deliveries(now, now + chrono::Duration::minutes(5))
            .expect("claim");
        assert_eq!(pending.len(), members);
        drop(store);
        (app, pending)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn steps_made_together_share_one_commit_and_each_gets_its_own_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, pending) = claimed(dir.path(), 40);
        // Every tenth member leaves after the claim: their check must say so.
        for p in pending.iter().step_by(10) {
            app.store()
                .set_member_status(
                    &p.member.email,
                    MemberStatus::Unsubscribed,
                    "test",
                    Utc::now(),
                )
                .expect("unsubscribe");
        }
        let ledger = Ledger::new(Arc::clone(&app));
        let lease = Utc::now() + chrono::Duration::minutes(5);
        // The database held (by another thread) while all forty steps arrive: they queue
        // behind one hop.
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn({
            let app = Arc::clone(&app);
            move || {
                let _held = app.store();
                held_tx.send(()).expect("held");
                let _ = release_rx.recv_timeout(std::time::Duration::from_secs(30));
            }
        });
        held_rx.recv().expect("the database is held");
        let steps = pending.iter().map(|p| {
            let ledger = Arc::clone(&ledger);
            let check = (p.digest_id, p.member.id, lease);
            tokio::spawn(async move {
                ledger
                    .step(Step {
                        record: None,
                        check: Some(check),
                    })
                    .await
            })
        });
        let steps: Vec<_> = steps.collect();
        for _ in 0..2000 {
            if ledger.arrived.load(std::sync::atomic::Ordering::SeqCst) == 40 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        release_tx.send(()).expect("release");
        holder.join().expect("holder");
        for (i, step) in steps.into_iter().enumerate() {
            let answer = step.await.expect("task").expect("step");
            let expected = if i % 10 == 0 {
                ClaimCheck::MemberLeft
            } else {
                ClaimCheck::Send
            };
            assert_eq!(answer, Some(expected), "member {i}");
        }
        let batches = ledger.batches.load(std::sync::atomic::Ordering::SeqCst);
        assert!(batches <= 2, "40 waiting steps took {batches} commits");

        // Outcomes recorded by steps are in the database once their steps return.
        let records = pending.into_iter().enumerate().map(|(i, p)| {
            let ledger = Arc::clone(&ledger);
            let outcome = if i % 10 == 0 {
                Outcome::Deferred("test".into())
            } else {
                Outcome::Sent
            };
            tokio::spawn(async move {
                ledger
                    .step(Step {
                        record: Some((p, outcome)),
                        check: None,
                    })
                    .await
            })
        });
        for r in records.collect::<Vec<_>>() {
            assert_eq!(r.await.expect("task").expect("step"), None);
        }
        let digest = app
            .store()
            .last_digest()
            .expect("last")
            .expect("a digest")
            .id;
        let counts = app.store().delivery_counts(digest).expect("counts");
        assert_eq!(
            counts,
            vec![
                StatusCount {
                    status: DeliveryStatus::Retry,
                    count: 4
                },
                StatusCount {
                    status: DeliveryStatus::Sent,
                    count: 36
                },
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn steps_arriving_as_a_hop_ends_are_never_dropped() {
        // Sixteen workers stepping as fast as they can, each hop lingering after it found
        // the queue empty: many steps arrive as a hop ends. Each must still be made and
        // answered.
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, pending) = claimed(dir.path(), 16);
        let ledger = Ledger::new(Arc::clone(&app));
        ledger
            .linger
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let lease = Utc::now() + chrono::Duration::minutes(5);
        let workers: Vec<_> = pending
            .iter()
            .map(|p| {
                let ledger = Arc::clone(&ledger);
                let check = (p.digest_id, p.member.id, lease);
                tokio::spawn(async move {
                    let mut failures = Vec::new();
                    for _ in 0..100 {
                        let step = Step {
                            record: None,
                            check: Some(check),
                        };
                        match ledger.step(step).await {
                            Ok(Some(ClaimCheck::Send)) => {}
                            Ok(other) => failures.push(format!("{other:?}")),
                            Err(e) => failures.push(format!("{e:#}")),
                        }
                    }
                    failures
                })
            })
            .collect();
        for w in workers {
            let failures = w.await.expect("worker");
            assert!(
                failures.is_empty(),
                "{} steps failed: {:?}",
                failures.len(),
                failures.first()
            );
        }
    }
}

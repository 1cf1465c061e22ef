//! Delivery: the owed deliveries of recorded digests → one message per member, sent with
//! retries and recorded. Claims each delivery first (so no two processes send it),
//! checks the member right before their message, paces to `rate_per_second`, and builds
//! each member's message from the digest's [`Copies`] (unsubscribe URL, Message-ID,
//! DKIM). Also the archive's web copy and the editor's "feeds needing attention" mail.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;

use crate::app::{App, record};
use crate::config::{Config, Track};
use crate::cycle::report::{DeliveryReport, FeedResult, FetchReport};
use crate::mail::copies::{Copies, MemberCopy};
use crate::mail::ledger::{Ledger, Outcome, Step};
use crate::mail::mime;
use crate::mail::render::{BriefInfo, ClickLinks, Recipient};
use crate::mail::transport::{SendError, Sender};
use crate::members::Frequency;
use crate::select::Digest;
use crate::store::{ClaimCheck, PendingDelivery};
use crate::token::{Secret, VerpPurpose};

/// The facts about the brief the templates show, for a digest built at `created_at`.
pub fn brief_info(config: &Config, digest_id: Option<i64>, created_at: DateTime<Utc>) -> BriefInfo {
    let local = created_at.with_timezone(&config.brief.timezone);
    let base = config.brief.base_url.as_ref();
    BriefInfo {
        name: config.brief.name.clone(),
        tagline: config.brief.tagline.clone(),
        date_long: local.format("%A, %B %-d, %Y").to_string(),
        date_short: local.format("%-m/%-d/%Y").to_string(),
        web_url: base
            .zip(digest_id)
            .and_then(|(b, id)| b.join(&format!("archive/{id}")).ok())
            .map(|u| u.to_string()),
        archive_url: base
            .and_then(|b| b.join("archive").ok())
            .map(|u| u.to_string()),
        base_url: base.map(|u| u.to_string()),
        postal_address: config.brief.postal_address.clone(),
        lang: config.brief.lang.clone(),
        from_address: config.brief.from.email.to_string(),
        share: config.brief.reading.share,
        images: config.brief.reading.images,
        clicks: None,
    }
}

/// Where a recorded digest's story links go when clicks are counted: through
/// `base_url/r/{digest}/…` unless `[brief] track = "off"`; `None` (straight to the article)
/// also without `base_url` (there is no public address to count at) or a recorded digest.
pub fn click_links(config: &Config, secret: &Secret, digest_id: Option<i64>) -> Option<ClickLinks> {
    let track = config.brief.reading.track;
    if track == Track::Off {
        return None;
    }
    let digest_id = digest_id?;
    let prefix = config
        .brief
        .base_url
        .as_ref()?
        .join(&format!("r/{digest_id}/"))
        .ok()?;
    Some(ClickLinks {
        prefix: prefix.to_string(),
        digest_id,
        secret: secret.clone(),
        per_member: track == Track::Member,
    })
}

/// The member's VERP addresses when `[inbound] bounce_domain` is set: the envelope
/// sender `bounces+<id>-<mac>@domain` and the unsubscribe `unsubscribe+<id>-<mac>@domain`.
pub fn verp_addresses(
    config: &Config,
    secret: &Secret,
    member_id: i64,
    email: &str,
) -> Option<mime::Verp> {
    let domain = config.inbound.bounce_domain.as_deref()?;
    let address = |purpose| {
        let local = secret.verp_local(purpose, member_id, email);
        lettre::Address::new(local, domain).ok()
    };
    Some(mime::Verp {
        bounces: address(VerpPurpose::Bounces)?,
        unsubscribe: address(VerpPurpose::Unsubscribe)?,
    })
}

/// The member's one-click unsubscribe URL (https when `base_url` is set, else mailto: to
/// their VERP unsubscribe address with a bounce domain, else to `[brief] from`).
pub fn unsubscribe_url(
    config: &Config,
    secret: &Secret,
    member_id: i64,
    email: &str,
) -> (String, Option<String>) {
    let token = secret.token(member_id, email);
    match config
        .brief
        .base_url
        .as_ref()
        .and_then(|b| b.join(&format!("unsubscribe/{token}")).ok())
    {
        Some(u) => (u.to_string(), Some(u.to_string())),
        None => {
            let to = verp_addresses(config, secret, member_id, email).map_or_else(
                || config.brief.from.email.to_string(),
                |v| v.unsubscribe.to_string(),
            );
            (format!("mailto:{to}?subject=unsubscribe"), None)
        }
    }
}

/// Renders and composes one member's message for a recorded digest.
pub fn message_for(
    app: &App,
    digest_id: Option<i64>,
    digest: &Digest,
    member_id: i64,
    member: &Recipient,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let config = &app.config;
    let mut brief = brief_info(config, digest_id, digest.created_at);
    brief.clicks = click_links(config, &app.secret, digest_id);
    let (unsub, https) = unsubscribe_url(config, &app.secret, member_id, &member.email);
    let rendered = app
        .templates
        .render(digest, &brief, member, &unsub, config.brief.timezone)?;
    compose_for(
        app,
        digest_id,
        member_id,
        member,
        MemberCopy::Rendered(rendered),
        https,
        date,
    )
}

/// [`message_for`] from a digest's [`Copies`]: the same message without rendering the
/// templates or encoding the MIME body for every member. A weekly edition's subject is
/// the template's behind "<brief name> weekly: ".
fn message_from_copies(
    app: &App,
    digest_id: i64,
    edition: &EditionCopies,
    member_id: i64,
    member: &Recipient,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let (unsub, https) = unsubscribe_url(&app.config, &app.secret, member_id, &member.email);
    let copy = edition.copies.copy(&app.templates, member, &unsub)?;
    let copy = match (copy, edition.subject_prefix.as_deref()) {
        (MemberCopy::Encoded { subject, body }, Some(prefix)) => MemberCopy::Encoded {
            subject: format!("{prefix}{subject}"),
            body,
        },
        (MemberCopy::Rendered(mut rendered), Some(prefix)) => {
            rendered.subject = format!("{prefix}{}", rendered.subject);
            MemberCopy::Rendered(rendered)
        }
        (copy, None) => copy,
    };
    compose_for(app, Some(digest_id), member_id, member, copy, https, date)
}

/// A recorded digest's shared copies and what its edition adds to each subject.
struct EditionCopies {
    copies: Copies,
    /// `"<brief name> weekly: "` for a weekly edition; nothing for the daily digest.
    subject_prefix: Option<String>,
}

/// The subject prefix of a weekly edition of the brief called `name`.
pub fn weekly_subject_prefix(name: &str) -> String {
    format!("{name} weekly: ")
}

fn compose_for(
    app: &App,
    digest_id: Option<i64>,
    member_id: i64,
    member: &Recipient,
    copy: MemberCopy,
    https: Option<String>,
    date: SystemTime,
) -> anyhow::Result<lettre::Message> {
    let config = &app.config;
    let to = Mailbox::new(
        member.name.clone(),
        member
            .email
            .parse()
            .with_context(|| format!("member address {:?}", member.email))?,
    );
    let domain = config.brief.from.email.domain().to_string();
    let label = format!(
        "{}.{member_id}",
        digest_id.map_or("test".to_string(), |d| d.to_string())
    );
    let message_id = format!("{label}.{}@{domain}", app.secret.tag(&label));
    let envelope = mime::Envelope {
        to,
        message_id,
        unsubscribe_https: https.as_deref(),
        date,
        verp: verp_addresses(config, &app.secret, member_id, &member.email),
    };
    let mut message = match copy {
        MemberCopy::Encoded { subject, body } => {
            mime::compose_mime(&config.brief, &subject, body, &envelope)?
        }
        MemberCopy::Rendered(rendered) => mime::compose(&config.brief, &rendered, &envelope)?,
    };
    if let Some(dkim) = &app.dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// A recorded digest, read back from its row.
fn read_digest(app: &App, digest_id: i64) -> anyhow::Result<Digest> {
    let row = app
        .store()
        .digest(digest_id)?
        .with_context(|| format!("digest {digest_id} is missing"))?;
    serde_json::from_str(&row.content).context("its stored content is unreadable")
}

/// The web version of a recorded digest (for the archive): no member, no token.
pub fn web_version(app: &App, digest_id: i64) -> anyhow::Result<Option<String>> {
    let Some(row) = app.store().digest(digest_id)? else {
        return Ok(None);
    };
    let digest: Digest = serde_json::from_str(&row.content)
        .with_context(|| format!("digest {digest_id} content is unreadable"))?;
    let config = &app.config;
    let brief = brief_info(config, Some(digest_id), digest.created_at);
    let reader = Recipient {
        name: None,
        email: String::new(),
        sections: Vec::new(),
        id: None,
    };
    // The archive copy's unsubscribe link leads to the archive: it must identify no one.
    let unsubscribe = brief
        .archive_url
        .clone()
        .unwrap_or_else(|| format!("mailto:{}?subject=unsubscribe", config.brief.from.email));
    let rendered = app.templates.render(
        &digest,
        &brief,
        &reader,
        &unsubscribe,
        config.brief.timezone,
    )?;
    Ok(Some(rendered.html))
}

/// How long a claim on a delivery holds without being renewed: long enough for one
/// message's every attempt, so a claim only runs out for a process that stopped or stalled.
fn claim_lease(config: &Config) -> chrono::Duration {
    let attempts = config.delivery.attempts.max(1);
    let per_message = (config.delivery.timeout + Duration::from_secs(1))
        .saturating_mul(attempts)
        .saturating_mul(4);
    chrono::Duration::from_std(per_message.max(Duration::from_secs(300)))
        .unwrap_or(chrono::Duration::hours(1))
}

/// Sends every delivery still owed (this digest's and earlier cycles' leftovers).
///
/// The owed deliveries are first claimed in the database, so another process on the same
/// database (a second `once`, a daemon on another machine) never sends the same one; a
/// claim whose process died is taken back. Each member is checked right before their
/// message (an unsubscribe mid-send holds, and so does a claim another process took over),
/// each acceptance is recorded at once, transient failures are retried with backoff up to
/// `[delivery] attempts` and then left for the next cycle, permanent ones recorded. What a
/// stop leaves unsent is given back, owed again.
pub async fn deliver_pending(
    app: &Arc<App>,
    sender: &Arc<Sender>,
    cancel: &CancellationToken,
) -> anyhow::Result<DeliveryReport> {
    let result = deliver_claimed(app, sender, cancel).await;
    let released = app
        .blocking("giving back unsent deliveries", |app| {
            app.store().release_claims()
        })
        .await;
    if let Err(e) = released {
        tracing::error!(
            "giving back unsent deliveries: {e:#}; they are owed again once their claim runs out"
        );
    }
    result
}

/// The claimed deliveries, with the copies of each digest they are for. A digest that
/// cannot be read is set aside (its deliveries failed, with why), and the others go on:
/// one damaged row must not stop every later digest.
type Claimed = (
    Vec<PendingDelivery>,
    std::collections::HashMap<i64, Arc<EditionCopies>>,
    DeliveryReport,
);

fn claim_and_read(app: &App, lease: chrono::Duration) -> anyhow::Result<Claimed> {
    let now = Utc::now();
    let mut pending = app.store().claim_deliveries(now, now + lease)?;
    let mut report = DeliveryReport::default();
    // One set of copies per digest: its templates render once per kind of member.
    let mut digests: std::collections::HashMap<i64, Arc<EditionCopies>> =
        std::collections::HashMap::new();
    let mut unreadable = std::collections::HashSet::new();
    for p in &pending {
        if digests.contains_key(&p.digest_id) || unreadable.contains(&p.digest_id) {
            continue;
        }
        match read_digest(app, p.digest_id) {
            Ok(digest) => {
                let mut brief = brief_info(&app.config, Some(p.digest_id), digest.created_at);
                brief.clicks = click_links(&app.config, &app.secret, Some(p.digest_id));
                let copies = Copies::new(digest, brief, app.config.brief.timezone);
                let weekly = app.store().digest_edition(p.digest_id)? == Some(Frequency::Weekly);
                let subject_prefix = weekly.then(|| weekly_subject_prefix(&app.config.brief.name));
                digests.insert(
                    p.digest_id,
                    Arc::new(EditionCopies {
                        copies,
                        subject_prefix,
                    }),
                );
            }
            Err(e) => {
                let why = format!("{e:#}");
                tracing::error!(digest = p.digest_id, error = %why, "digest set aside");
                let set_aside = app
                    .store()
                    .set_digest_aside(p.digest_id, &why, Utc::now())?;
                report.failed += set_aside;
                report.errors.push(format!(
                    "digest #{}: {why}; its {set_aside} owed deliveries were set aside (restore the row from a backup to send it)",
                    p.digest_id
                ));
                unreadable.insert(p.digest_id);
            }
        }
    }
    pending.retain(|p| !unreadable.contains(&p.digest_id));
    Ok((pending, digests, report))
}

async fn deliver_claimed(
    app: &Arc<App>,
    sender: &Arc<Sender>,
    cancel: &CancellationToken,
) -> anyhow::Result<DeliveryReport> {
    let lease = claim_lease(&app.config);
    let (pending, digests, report) = app
        .blocking("claiming the owed deliveries", move |app| {
            claim_and_read(app, lease)
        })
        .await?;
    let report = Arc::new(Mutex::new(report));
    let pace = app
        .config
        .delivery
        .rate_per_second
        .map(|r| Arc::new(Pace::new(r)));
    // One worker per connection, each taking the next owed delivery from the queue. A
    // worker's ledger step records its previous message's outcome and checks the next
    // one's claim in one commit (shared with the other workers' steps of the moment); so
    // at most one accepted message per connection is unrecorded at any moment (what a
    // kill -9 can double), as when each was recorded on its own. Each message is built
    // off the async threads while the one before it is sent.
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(pending)));
    let digests = Arc::new(digests);
    let ledger = Ledger::new(Arc::clone(app));
    let workers = (0..app.config.delivery.connections.max(1)).map(|_| Worker {
        app: Arc::clone(app),
        sender: Arc::clone(sender),
        ledger: Arc::clone(&ledger),
        digests: Arc::clone(&digests),
        queue: Arc::clone(&queue),
        report: Arc::clone(&report),
        pace: pace.clone(),
        cancel: cancel.clone(),
    });
    futures::future::join_all(workers.map(Worker::run)).await;
    let report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(report)
}

/// Holds messages to `[delivery] rate_per_second`: one per period, and after a stall (a
/// slow relay, a retry) no burst to catch up, so the rate is never exceeded.
struct Pace(tokio::sync::Mutex<tokio::time::Interval>);

impl Pace {
    fn new(rate_per_second: f64) -> Self {
        // The config caps the rate; the floor keeps a period tokio accepts whatever it says.
        let period = Duration::from_secs_f64(1.0 / rate_per_second).max(Duration::from_micros(1));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self(tokio::sync::Mutex::new(interval))
    }

    async fn wait(&self) {
        self.0.lock().await.tick().await;
    }
}

enum Delivered {
    Sent,
    Skipped,
    /// Another process claimed it after our lease ran out: it sends it, not us.
    TakenOver,
    Deferred(String),
    Failed(String),
}

/// A delivery taken from the queue, its message being built on a blocking thread (copy,
/// MIME, DKIM's RSA) while the worker is still busy with the one before.
struct Building {
    delivery: PendingDelivery,
    message: std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<anyhow::Result<lettre::Message>, String>>
                + Send,
        >,
    >,
}

/// One connection's share of a delivery run.
struct Worker {
    app: Arc<App>,
    sender: Arc<Sender>,
    ledger: Arc<Ledger>,
    digests: Arc<std::collections::HashMap<i64, Arc<EditionCopies>>>,
    queue: Arc<Mutex<std::collections::VecDeque<PendingDelivery>>>,
    report: Arc<Mutex<DeliveryReport>>,
    pace: Option<Arc<Pace>>,
    cancel: CancellationToken,
}

impl Worker {
    /// Sends the queue's deliveries one after another until it is empty or the run is
    /// cancelled; the last outcome is recorded before returning.
    ///
    /// For each: one ledger step records the previous message's outcome and checks (and
    /// renews) this one's claim, then the message, built while the previous one was sent,
    /// goes out. A message is never sent before its check; what is built for a delivery
    /// that is then not sent is dropped.
    async fn run(self) {
        let mut done: Option<(PendingDelivery, Outcome)> = None;
        let mut ahead: Option<Building> = None;
        loop {
            let current = if self.cancel.is_cancelled() {
                None
            } else {
                ahead.take().or_else(|| self.take())
            };
            let Some(Building {
                delivery: p,
                message,
            }) = current
            else {
                break;
            };
            if let Some(pace) = &self.pace {
                pace.wait().await;
            }
            let lease_until = Utc::now() + claim_lease(&self.app.config);
            let step = Step {
                record: done.take(),
                check: Some((p.digest_id, p.member.id, lease_until)),
            };
            let delivered = match self.ledger.step(step).await {
                Ok(Some(ClaimCheck::Send)) => {
                    ahead = self.take();
                    match message.await.map_err(anyhow::Error::msg).and_then(|m| m) {
                        Ok(message) => {
                            let (outcome, delivered) = self.send(&p, &message).await;
                            done = Some((p.clone(), outcome));
                            delivered
                        }
                        Err(e) => {
                            let why = format!("{e:#}");
                            let outcome = Outcome::Refused {
                                message: why.clone(),
                                bounce: false,
                            };
                            done = Some((p.clone(), outcome));
                            Delivered::Failed(why)
                        }
                    }
                }
                Ok(Some(ClaimCheck::MemberLeft)) => Delivered::Skipped,
                Ok(Some(ClaimCheck::Lost)) => {
                    tracing::warn!(member = %p.member.email, digest = p.digest_id, "another process took this delivery over; not sending it");
                    Delivered::TakenOver
                }
                Ok(None) => Delivered::Deferred("database: the claim was not checked".into()),
                Err(e) => Delivered::Deferred(format!("database: {e:#}")),
            };
            self.count(&p, delivered);
        }
        if done.is_some() {
            let step = Step {
                record: done,
                check: None,
            };
            if let Err(e) = self.ledger.step(step).await {
                tracing::error!("recording a delivery: {e:#}");
            }
        }
    }

    /// The queue's next delivery, its message's building started.
    fn take(&self) -> Option<Building> {
        let p = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()?;
        let copies = Arc::clone(&self.digests[&p.digest_id]);
        let (app, for_build) = (Arc::clone(&self.app), p.clone());
        let message = crate::app::off_async("building a message", move || {
            let member = &for_build.member;
            let recipient = Recipient {
                name: member.name.clone(),
                email: member.email.clone(),
                sections: member.sections.clone(),
                id: Some(member.id),
            };
            message_from_copies(
                &app,
                for_build.digest_id,
                &copies,
                member.id,
                &recipient,
                SystemTime::now(),
            )
        });
        Some(Building {
            delivery: p,
            message: Box::pin(message),
        })
    }

    /// Sends one message, retrying transient failures with backoff up to
    /// `[delivery] attempts`; returns what to record and what to report.
    async fn send(&self, p: &PendingDelivery, message: &lettre::Message) -> (Outcome, Delivered) {
        let member = &p.member;
        let name = format!("digest-{}-member-{}", p.digest_id, member.id);
        let attempts = self.app.config.delivery.attempts;
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > attempts {
                let why = "no attempt made ([delivery] attempts is 0)".to_string();
                return (Outcome::Deferred(why.clone()), Delivered::Deferred(why));
            }
            match self.sender.send(message, &name).await {
                Ok(()) => return (Outcome::Sent, Delivered::Sent),
                Err(SendError::Permanent { message, bounce }) => {
                    tracing::warn!(member = %member.email, error = %message, bounce, "delivery refused");
                    let delivered = Delivered::Failed(message.clone());
                    return (Outcome::Refused { message, bounce }, delivered);
                }
                Err(SendError::Transient(e)) if attempt == attempts => {
                    tracing::warn!(member = %member.email, error = %e, "delivery deferred to next cycle");
                    return (Outcome::Deferred(e.clone()), Delivered::Deferred(e));
                }
                Err(SendError::Transient(e)) => {
                    tracing::info!(member = %member.email, error = %e, attempt, "retrying delivery");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
    }

    /// Counts one delivery's end in the run's report.
    fn count(&self, p: &PendingDelivery, delivered: Delivered) {
        let mut r = self.report.lock().unwrap_or_else(|e| e.into_inner());
        match delivered {
            Delivered::Sent => r.sent += 1,
            Delivered::Skipped => r.skipped += 1,
            Delivered::TakenOver => r.taken_over += 1,
            Delivered::Deferred(e) => {
                r.deferred += 1;
                if r.errors.len() < 10 {
                    r.errors
                        .push(format!("{}: {e} (will retry next cycle)", p.member.email));
                }
            }
            Delivered::Failed(e) => {
                r.failed += 1;
                if r.errors.len() < 10 {
                    r.errors.push(format!("{}: {e}", p.member.email));
                }
            }
        }
    }
}

/// Mails the "feeds needing attention" list to `[brief] editors`, at most once a day.
/// Returns whether a mail went out; a failure is logged, never fatal.
pub(crate) async fn mail_attention(
    app: &Arc<App>,
    sender: &Sender,
    fetch: &FetchReport,
    now: DateTime<Utc>,
) -> bool {
    let editors = &app.config.brief.editors;
    if editors.is_empty() {
        return false;
    }
    let feeds: Vec<&FeedResult> = fetch.attention().collect();
    if feeds.is_empty() {
        return false;
    }
    let last = app
        .blocking("reading when the editor was last mailed", |app| {
            app.store().meta("attention_mailed_at")
        })
        .await
        .ok()
        .flatten()
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|d| d.with_timezone(&Utc));
    if last.is_some_and(|l| now - l < chrono::Duration::hours(24)) {
        return false;
    }
    let mut body = format!(
        "{} feed(s) of {} need attention:\n\n",
        feeds.len(),
        app.config.brief.name
    );
    for f in &feeds {
        body.push_str(&format!(
            "- {} <{}>\n  {}\n",
            f.name,
            f.url,
            f.attention.as_deref().unwrap_or("")
        ));
    }
    body.push_str(
        "\nFix or remove them in feeds.toml; `feedbrief feeds status` shows every feed.\n",
    );
    let mut message = lettre::Message::builder().from(app.config.brief.from.clone());
    for editor in editors {
        message = message.to(editor.clone());
    }
    let message = message
        .subject(format!(
            "{}: {} feed(s) need attention",
            app.config.brief.name,
            feeds.len()
        ))
        .date(SystemTime::now())
        .body(body);
    let message = match message {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("building the attention mail: {e}");
            return false;
        }
    };
    let name = format!("attention-{}", now.format("%Y%m%dT%H%M%S"));
    match sender.send(&message, &name).await {
        Ok(()) => {
            let stored = app
                .blocking("recording the editor's mail", move |app| {
                    app.store()
                        .set_meta("attention_mailed_at", &now.to_rfc3339())
                })
                .await;
            record(stored);
            true
        }
        Err(e) => {
            tracing::warn!(editors = editors.len(), "mailing the attention report: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_delivery_pace_never_bursts_after_a_stall() {
        let pace = Pace::new(10.0);
        pace.wait().await;
        // A stall of ten seconds (a slow relay), then as many messages as it lets through
        // in the next second: tokio's default would fire the hundred missed ticks at once.
        tokio::time::advance(Duration::from_secs(10)).await;
        let start = tokio::time::Instant::now();
        let mut sent = 0;
        while tokio::time::Instant::now() - start < Duration::from_secs(1) {
            pace.wait().await;
            sent += 1;
        }
        assert!(sent <= 11, "{sent} messages in one second at 10 a second");
        // The largest rate the config accepts gives a period tokio takes.
        Pace::new(crate::config::MAX_RATE_PER_SECOND).wait().await;
    }
}

//! More than one relay (`smtp_url` as a list, issue #14): a whole `once` cycle over two
//! real SMTP sinks on loopback, one of which refuses connections or starts answering 421
//! midway; every member gets exactly one message across the two, and the database records
//! every delivery sent.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use feedbrief::cycle;
use tokio_util::sync::CancellationToken;

use super::{Mail, config_text, now, open, spawn_http, spawn_smtp};

/// `count` members, `m0@example.org` and on.
fn members(count: usize) -> String {
    (0..count)
        .map(|i| format!("m{i}@example.org,Member {i}\n"))
        .collect()
}

/// `[delivery]` lines sending through these loopback relays, in this order.
fn relays(ports: &[u16]) -> String {
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("\"smtp://127.0.0.1:{p}?tls=none\""))
        .collect();
    format!("transport = \"smtp\"\nsmtp_url = [{}]", urls.join(", "))
}

/// How many messages each recipient got over all `sinks`.
fn per_recipient(sinks: &[Vec<Mail>]) -> HashMap<String, usize> {
    let mut got = HashMap::new();
    for mail in sinks.iter().flatten() {
        for to in &mail.to {
            *got.entry(to.clone()).or_default() += 1;
        }
    }
    got
}

fn assert_each_member_once(got: &HashMap<String, usize>, count: usize) {
    assert_eq!(got.len(), count, "every member reached: {got:?}");
    for i in 0..count {
        assert_eq!(
            got.get(&format!("m{i}@example.org")),
            Some(&1),
            "m{i} exactly once: {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_relay_refusing_connections_the_other_carries_every_message_once() {
    let (http, _) = spawn_http().await;
    let live = spawn_smtp();
    live.flaky.store(false, Ordering::SeqCst);
    // A loopback port nobody listens on: connections are refused.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let count = 12;
    let env = open(
        &config_text(&http, &relays(&[refused, live.port]), ""),
        &members(count),
    );
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle runs");
    let text = report.to_string();
    assert_eq!(report.delivery.sent, count, "{text}");
    assert_eq!(
        report.delivery.deferred + report.delivery.failed,
        0,
        "{text}"
    );
    assert_each_member_once(&per_recipient(&[live.mails()]), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_closing_midway_leaves_its_share_to_the_other_and_nothing_is_lost_or_doubled() {
    let (http, _) = spawn_http().await;
    let (a, b) = (spawn_smtp(), spawn_smtp());
    for sink in [&a, &b] {
        sink.flaky.store(false, Ordering::SeqCst);
        // Slow enough that the run is still going when the first relay closes.
        sink.delay_ms.store(20, Ordering::SeqCst);
    }
    let count = 40;
    let env = open(
        &config_text(&http, &relays(&[a.port, b.port]), "")
            .replace("connections = 2", "connections = 4"),
        &members(count),
    );
    // The first relay starts answering 421 once it has taken five messages (checked every
    // 5 ms, for at most 30 s).
    let (a_mails, a_closing) = (
        std::sync::Arc::clone(&a.mails),
        std::sync::Arc::clone(&a.closing),
    );
    let closer = std::thread::spawn(move || {
        for _ in 0..6000 {
            if a_mails.lock().expect("lock").len() >= 5 {
                a_closing.store(true, Ordering::SeqCst);
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    });
    let report = cycle::once(&env.app, now(), true, &CancellationToken::new())
        .await
        .expect("cycle runs");
    let text = report.to_string();
    assert!(
        closer.join().expect("closer"),
        "the first relay never took five"
    );
    let (from_a, from_b) = (a.mails(), b.mails());
    assert!(
        from_a.len() >= 5,
        "the first relay took its share before closing"
    );
    assert!(
        from_a.len() < count / 2,
        "the first relay took {} after closing",
        from_a.len()
    );
    assert_each_member_once(&per_recipient(&[from_a, from_b]), count);
    assert_eq!(report.delivery.sent, count, "{text}");
    let digest = env
        .app
        .store()
        .last_digest()
        .expect("read")
        .expect("a digest");
    let counts = env.app.store().delivery_counts(digest.id).expect("counts");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0].status, feedbrief::store::DeliveryStatus::Sent);
    assert_eq!(counts[0].count, count as i64);
}

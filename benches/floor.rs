//! The fetch floor: a bare concurrent HTTP client over a list of URLs, with the same global
//! and per-host limits as `[fetch]`, reading every body and doing nothing else.
//!
//! `floor --concurrency C --per-host H < urls.txt` prints `seconds=S bytes=B ok=N failed=F`.
//! What feedbrief's fetch cycle takes beyond this is parsing, extraction, the database and
//! scheduling.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str, default: usize| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let concurrency = arg("--concurrency", 16);
    let per_host = arg("--per-host", 2);
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let urls: Vec<url::Url> = input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(url::Url::parse)
        .collect::<Result<_, _>>()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(per_host)
        .build()?;
    let global = Arc::new(Semaphore::new(concurrency));
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let started = Instant::now();
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let host = hosts
                .entry(url.host_str().unwrap_or("").to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
                .clone();
            let global = Arc::clone(&global);
            let client = client.clone();
            tokio::spawn(async move {
                let _h = host.acquire_owned().await;
                let _g = global.acquire_owned().await;
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.map(|b| b.len()).ok(),
                    _ => None,
                }
            })
        })
        .collect();
    let (mut bytes, mut ok, mut failed) = (0usize, 0usize, 0usize);
    for t in tasks {
        match t.await.ok().flatten() {
            Some(n) => {
                bytes += n;
                ok += 1;
            }
            None => failed += 1,
        }
    }
    println!(
        "seconds={:.3} bytes={bytes} ok={ok} failed={failed}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

//! Extraction benchmark (`bench-extract`, run by `benches/extraction.sh` and figure 5 of
//! `benches/run.py`): dev-set pages → `<id>.txt` main text, plus timing.
//!
//! Usage: `bench-extract (--dev DIR | --segments DIR) --out DIR [--summaries N]
//! [--summary-out FILE]`. The dev
//! `DIR` holds `ground-truth.json` (`{id: {articleBody, url}}`) and `html/<id>.html.gz`; a
//! segments `DIR` (trafilatura's evaluation pages) holds `html/<id>.html[.gz]` and is scored
//! with `score_segments.py OUT_DIR`. Pages are decoded as fetched ones are (their `<meta>`
//! charset, else UTF-8, else Windows-1252). Prints the median
//! and mean milliseconds per page for extraction alone (HTML parsing included, reading and
//! gunzipping excluded) beside the same figures for html5ever parsing the page and nothing
//! else, measured in the same run as the floor to compare with, and both medians again in
//! thread CPU time (which a loaded machine's waiting for a core does not inflate). With
//! `--summaries N`, also
//! prints the summary of the first N pages. With `--summary-out FILE`, writes one JSON
//! line per page (`id`, `summary`, `description`, `text_chars`) for `benches/summaries.py`:
//! the summary the digest would show without a feed (the page's text, else its
//! `og:description`). Score the text output with `score_extraction.py OUT_DIR`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use std::io::Write;

use feedbrief::article::{extract, summarize, summarize_with_title, word_count};

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut dev: Option<PathBuf> = None;
    let mut segments: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut summaries = 0usize;
    let mut summary_out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dev" => dev = args.next().map(PathBuf::from),
            "--segments" => segments = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--summary-out" => summary_out = args.next().map(PathBuf::from),
            "--summaries" => {
                summaries = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--summaries needs a number")?
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: (--dev DIR | --segments DIR) --out DIR"
                ));
            }
        }
    }
    let out = out.ok_or("missing --out DIR")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let pages = match (dev, segments) {
        (Some(dev), None) => dev_pages(&dev)?,
        (None, Some(dir)) => segment_pages(&dir)?,
        _ => return Err("give one of --dev DIR and --segments DIR".into()),
    };
    let mut summary_file = match &summary_out {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?,
        )),
        None => None,
    };
    let mut times = Vec::with_capacity(pages.len());
    let mut parse_times = Vec::with_capacity(pages.len());
    let (mut cpu_times, mut cpu_parse_times) = (Vec::new(), Vec::new());
    for (n, page) in pages.iter().enumerate() {
        let (id, path, page_url) = (&page.id, &page.path, page.url.clone());
        let mut raw = Vec::new();
        let file =
            std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        if path.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut raw)
                .map_err(|e| format!("gunzipping {}: {e}", path.display()))?;
        } else {
            std::io::BufReader::new(file)
                .read_to_end(&mut raw)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
        }
        let html = decode(raw);
        let (start, cpu) = (Instant::now(), thread_cpu_ms());
        let parsed = scraper::Html::parse_document(&html);
        parse_times.push(start.elapsed().as_secs_f64() * 1000.0);
        cpu_parse_times.push(thread_cpu_ms() - cpu);
        drop(parsed);
        let (start, cpu) = (Instant::now(), thread_cpu_ms());
        let article = extract(&html, page_url.as_ref());
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        cpu_times.push(thread_cpu_ms() - cpu);
        let text = article.text();
        let target = out.join(format!("{id}.txt"));
        std::fs::write(&target, &text).map_err(|e| format!("writing {}: {e}", target.display()))?;
        if let Some(file) = summary_file.as_mut() {
            // What the digest shows when the feed gives nothing: the page's text, else its
            // `og:description` (see `cycle::pages`).
            let summary =
                summarize_with_title(&article.blocks, article.title.as_deref()).or_else(|| {
                    article
                        .description
                        .as_ref()
                        .and_then(|d| summarize(std::slice::from_ref(d)))
                });
            let line = serde_json::json!({
                "id": id,
                "summary": summary,
                "description": article.description,
                "text_chars": text.chars().count(),
            });
            writeln!(file, "{line}").map_err(|e| format!("writing the summaries: {e}"))?;
        }
        if n < summaries {
            let summary =
                summarize_with_title(&article.blocks, article.title.as_deref()).unwrap_or_default();
            println!(
                "{id:.12} [{}w] {}\n    title: {:?}\n    {summary}\n",
                word_count(&summary),
                page_url.map(|u| u.to_string()).unwrap_or_default(),
                article.title,
            );
        }
    }
    if let Some(mut file) = summary_file {
        file.flush()
            .map_err(|e| format!("writing the summaries: {e}"))?;
    }
    let (median, mean, max) = stats(&times);
    let (p_median, p_mean, p_max) = stats(&parse_times);
    println!(
        "pages {}  extract: median {median:.3} ms  mean {mean:.3} ms  max {max:.3} ms",
        times.len()
    );
    println!(
        "pages {}  parse only (reference): median {p_median:.3} ms  mean {p_mean:.3} ms  max {p_max:.3} ms",
        parse_times.len()
    );
    // The same, counting only the time this thread ran: on a loaded machine the wall-clock
    // medians include time spent waiting for a core, and these do not.
    let (c_median, _, _) = stats(&cpu_times);
    let (cp_median, _, _) = stats(&cpu_parse_times);
    println!(
        "pages {}  thread CPU time: extract median {c_median:.3} ms  parse only median {cp_median:.3} ms  ({:.2}x)",
        cpu_times.len(),
        c_median / cp_median.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

/// CPU time this thread has used so far, in milliseconds (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn thread_cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return 0.0;
    }
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

/// Elsewhere `libc` is not a dependency: no CPU-time figures (they print as 0).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn thread_cpu_ms() -> f64 {
    0.0
}

/// One page to extract: its id (the output's name), file and URL when known.
struct Page {
    id: String,
    path: PathBuf,
    url: Option<url::Url>,
}

/// The Zyte dev pages, by the ids of `ground-truth.json`.
fn dev_pages(dev: &std::path::Path) -> Result<Vec<Page>, String> {
    let gt_path = dev.join("ground-truth.json");
    let gt_text = std::fs::read_to_string(&gt_path)
        .map_err(|e| format!("reading {}: {e}", gt_path.display()))?;
    let gt: serde_json::Value = serde_json::from_str(&gt_text)
        .map_err(|e| format!("parsing {}: {e}", gt_path.display()))?;
    let gt = gt.as_object().ok_or("ground truth is not an object")?;
    let mut pages: Vec<Page> = gt
        .iter()
        .map(|(id, v)| Page {
            id: id.clone(),
            path: dev.join("html").join(format!("{id}.html.gz")),
            url: v["url"].as_str().and_then(|u| url::Url::parse(u).ok()),
        })
        .collect();
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pages)
}

/// The segment benchmark's pages: every file of `DIR/html`, its id the file name less
/// `.gz` and `.html`.
fn segment_pages(dir: &std::path::Path) -> Result<Vec<Page>, String> {
    let html = dir.join("html");
    let mut pages: Vec<Page> = std::fs::read_dir(&html)
        .map_err(|e| format!("listing {}: {e}", html.display()))?
        .flatten()
        .map(|e| e.path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let id = name.strip_suffix(".gz").unwrap_or(name);
            let id = id.strip_suffix(".html").unwrap_or(id).to_string();
            Some(Page {
                id,
                path,
                url: None,
            })
        })
        .collect();
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pages)
}

/// Bytes as text, decoded as a fetched page is.
fn decode(body: Vec<u8>) -> String {
    let url = url::Url::parse("file:///page.html").expect("static URL");
    feedbrief::fetch::Fetched::local_text(body, &url)
}

/// Median, mean and maximum of a list of timings.
fn stats(times: &[f64]) -> (f64, f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let max = sorted.last().copied().unwrap_or(0.0);
    (median, mean, max)
}

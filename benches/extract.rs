//! Extraction benchmark (`bench-extract`, run by `benches/extraction.sh`): dev-set pages → `<id>.txt` main text, plus timing.
//!
//! Usage: `extract_bench --dev DIR --out DIR [--summaries N]`. The dev `DIR` holds
//! `ground-truth.json` (`{id: {articleBody, url}}`) and `html/<id>.html.gz`. Prints the median
//! and mean milliseconds per page for extraction alone (HTML parsing included, reading and
//! gunzipping excluded) beside the same figures for html5ever parsing the page and nothing
//! else, measured in the same run as the floor to compare with. With `--summaries N`, also
//! prints the summary of the first N pages. Score the output with
//! `score_extraction.py OUT_DIR`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use feedbrief::article::{extract, summarize_with_title, word_count};

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut dev: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut summaries = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dev" => dev = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--summaries" => {
                summaries = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--summaries needs a number")?
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: --dev DIR --out DIR"
                ));
            }
        }
    }
    let dev = dev.ok_or("missing --dev DIR")?;
    let out = out.ok_or("missing --out DIR")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let gt_path = dev.join("ground-truth.json");
    let gt_text = std::fs::read_to_string(&gt_path)
        .map_err(|e| format!("reading {}: {e}", gt_path.display()))?;
    let gt: serde_json::Value = serde_json::from_str(&gt_text)
        .map_err(|e| format!("parsing {}: {e}", gt_path.display()))?;
    let gt = gt.as_object().ok_or("ground truth is not an object")?;
    let mut ids: Vec<&String> = gt.keys().collect();
    ids.sort();

    let mut times = Vec::with_capacity(ids.len());
    let mut parse_times = Vec::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        let path = dev.join("html").join(format!("{id}.html.gz"));
        let file =
            std::fs::File::open(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut raw)
            .map_err(|e| format!("gunzipping {}: {e}", path.display()))?;
        let html = String::from_utf8_lossy(&raw);
        let page_url = gt[id.as_str()]["url"]
            .as_str()
            .and_then(|u| url::Url::parse(u).ok());
        let start = Instant::now();
        let parsed = scraper::Html::parse_document(&html);
        parse_times.push(start.elapsed().as_secs_f64() * 1000.0);
        drop(parsed);
        let start = Instant::now();
        let article = extract(&html, page_url.as_ref());
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        let text = article.text();
        let target = out.join(format!("{id}.txt"));
        std::fs::write(&target, &text).map_err(|e| format!("writing {}: {e}", target.display()))?;
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
    Ok(())
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

//! `inspect` (one feed as feedbrief reads it) and `extract` (article pages' main text or
//! summary, as the digest would use them).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::Outcome;
use crate::cycle;

/// Reads a URL (fetched with default settings) or a local file, gunzipping `.gz` files.
pub async fn read_source(source: &str) -> anyhow::Result<(Vec<u8>, url::Url)> {
    if let Ok(url) = url::Url::parse(source)
        && matches!(url.scheme(), "http" | "https")
    {
        let settings = crate::config::FetchSettings::default();
        let fetcher = crate::fetch::Fetcher::new(&settings)?;
        return match fetcher.get(&url, &Default::default()).await {
            Ok(crate::fetch::Outcome::Fetched(f)) => Ok((f.body, f.final_url)),
            Ok(crate::fetch::Outcome::NotModified) => anyhow::bail!("{url}: unexpected 304"),
            Err(e) => Err(anyhow::Error::new(e).context(format!("fetching {url}"))),
        };
    }
    // A file:// URL names a local file too.
    let from_url = url::Url::parse(source)
        .ok()
        .filter(|u| u.scheme() == "file")
        .and_then(|u| u.to_file_path().ok());
    let path = from_url.as_deref().unwrap_or(Path::new(source));
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .with_context(|| format!("gunzipping {}", path.display()))?;
        out
    } else {
        bytes
    };
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let url = url::Url::from_file_path(&abs)
        .map_err(|()| anyhow::anyhow!("{} is not a usable path", abs.display()))?;
    Ok((bytes, url))
}

/// `feedbrief inspect URL_OR_FILE [--json]`.
pub async fn inspect(source: &str, json: bool) -> Outcome {
    let (body, url) = read_source(source).await?;
    let feed = crate::parse::parse_feed(&body, &url).with_context(|| source.to_string())?;
    let entries: Vec<_> = feed
        .entries
        .iter()
        .map(|e| {
            let summary = cycle::entry_from_feed(e.clone(), false).summary;
            (e, summary)
        })
        .collect();
    if json {
        let v = serde_json::json!({
            "title": feed.title,
            "site_url": feed.site_url,
            "repaired": feed.repaired,
            "entries": entries.iter().map(|(e, s)| serde_json::json!({
                "key": e.key,
                "title": e.title,
                "link": e.url,
                "published": e.published.map(|d| d.to_rfc3339()),
                "author": e.author,
                "summary": s,
            })).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).context("serialising")?
        );
    } else {
        println!("feed: {}", feed.title.as_deref().unwrap_or("(untitled)"));
        if let Some(site) = &feed.site_url {
            println!("site: {site}");
        }
        if !feed.repaired.is_empty() {
            println!("repaired: {}", feed.repaired.join("; "));
        }
        println!("{} entries", entries.len());
        for (e, s) in &entries {
            println!();
            println!("  title:     {}", e.title);
            println!("  key:       {}", e.key);
            println!("  link:      {}", e.url.as_deref().unwrap_or("-"));
            println!(
                "  published: {}",
                e.published.map_or("-".to_string(), |d| d.to_rfc3339())
            );
            println!("  summary:   {}", s.as_deref().unwrap_or("-"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedbrief extract FILE_OR_URL... [--out-dir DIR] [--summary]`: exit 1 when an input
/// could not be read.
///
/// With `--out-dir`, each input's text goes to `<name>.txt`, `<name>` being the input's
/// whole file name less `.gz`, `.html` and `.htm` (so `a.eu.x.html` and `a.eu.y.html`
/// stay apart). One run never overwrites its own output: an input whose name is already
/// taken in this run gets `<name>-2.txt` (then `-3`, …), and the run says so on stderr.
pub async fn extract(inputs: &[String], out_dir: Option<&Path>, summary: bool) -> Outcome {
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut failures = 0;
    // Output names taken so far in this run, and by which input.
    let mut taken: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for input in inputs {
        let (bytes, url) = match read_source(input).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e:#}");
                failures += 1;
                continue;
            }
        };
        let html = page_text(bytes, &url);
        let page_url = matches!(url.scheme(), "http" | "https").then_some(&url);
        let article = crate::article::extract(&html, page_url);
        let text = if summary {
            crate::article::summarize(&article.blocks).unwrap_or_default()
        } else {
            article.text()
        };
        match out_dir {
            Some(dir) => {
                let stem = output_stem(input);
                let mut name = format!("{stem}.txt");
                let mut n = 1;
                // Bounded: each turn tries a name no earlier input can hold.
                while let Some(first) = taken.get(&name) {
                    n += 1;
                    let next = format!("{stem}-{n}.txt");
                    if !taken.contains_key(&next) {
                        eprintln!(
                            "note: {input} written to {next}: {name} is already {first}'s output"
                        );
                    }
                    name = next;
                }
                taken.insert(name.clone(), input);
                let path = dir.join(&name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                if inputs.len() > 1 {
                    println!("==> {input} <==");
                }
                println!("{text}");
            }
        }
    }
    Ok(if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A page's bytes as text, decoded as a fetched page is: the `<meta>` charset, else
/// UTF-8, else Windows-1252 (a local Latin-1 page must not turn into U+FFFD).
fn page_text(body: Vec<u8>, url: &url::Url) -> String {
    crate::fetch::Fetched::local_text(body, url)
}

/// The output name of an input: its whole file name (the last path or URL segment) less
/// `.gz`, `.html` and `.htm`, with characters a file name should not carry made `_`.
fn output_stem(input: &str) -> String {
    let name = input
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let mut stem = name;
    // Bounded: each turn removes a suffix.
    loop {
        let lower = stem.to_ascii_lowercase();
        let Some(cut) = [".gz", ".html", ".htm"]
            .iter()
            .find(|s| lower.ends_with(*s))
            .map(|s| stem.len() - s.len())
        else {
            break;
        };
        stem = &stem[..cut];
    }
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim_matches('.').is_empty() {
        "page".to_string()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_keep_every_dot_but_the_html_and_gz_suffixes() {
        assert_eq!(
            output_stem("x/fouryears.eu.interning.html"),
            "fouryears.eu.interning"
        );
        assert_eq!(output_stem("00358e7b04dad0fd.html.gz"), "00358e7b04dad0fd");
        assert_eq!(output_stem("page.HTM"), "page");
        assert_eq!(output_stem("notes.v2.txt"), "notes.v2.txt");
        assert_eq!(output_stem("https://example.org/news/a?id=3"), "a_id_3");
        assert_eq!(output_stem("https://example.org/"), "example.org");
        assert_eq!(output_stem(".html"), "page");
    }

    #[test]
    fn a_latin_1_page_is_decoded_by_its_meta_charset() {
        let url = url::Url::parse("file:///p.html").expect("url");
        let body = b"<meta charset=\"iso-8859-1\"><p>W\xfcrzburg</p>".to_vec();
        assert!(page_text(body, &url).contains("Würzburg"));
    }
}

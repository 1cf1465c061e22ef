//! Fetch: a URL plus its stored HTTP validators → the body, "not modified", or a typed error.
//!
//! One shared reqwest client (rustls, gzip/brotli) with connect and total timeouts, a
//! global concurrency limit and a per-host limit, conditional GET, a cap on the decompressed
//! body, and 429/503 `Retry-After` surfaced so the caller can wait. `file://` URLs read
//! from disk so `inspect` and tests can use local files. Nothing here parses feeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, RETRY_AFTER,
};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::FetchSettings;

/// Validators from the previous successful fetch, sent back for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` the server gave.
    pub etag: Option<String>,
    /// The `Last-Modified` the server gave.
    pub last_modified: Option<String>,
}

/// A body the server sent.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: Url,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Validators to store for the next conditional GET.
    pub validators: Validators,
}

/// What a fetch produced when it did not fail.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// New content.
    Fetched(Fetched),
    /// 304: the stored copy is current; nothing to parse.
    NotModified,
}

/// Why a fetch failed; the caller decides whether and when to try again.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 429 or 503 with a `Retry-After`: wait at least that long before the next request.
    #[error("rate limited (HTTP {status}); retry after {}", retry_after.map_or("an hour (no Retry-After given)".to_string(), |d| humantime::format_duration(d).to_string()))]
    RateLimited {
        /// The status code (429 or 503).
        status: u16,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// 410: the resource is gone for good.
    #[error("HTTP 410 Gone: the server says this URL is gone for good; remove it from feeds.toml")]
    Gone,
    /// Any other non-success status.
    #[error("HTTP {code}{hint}", code = .0, hint = status_hint(*.0))]
    Status(u16),
    /// The body exceeded `[fetch] max_body`.
    #[error("body larger than the {limit}-byte limit ([fetch] max_body)")]
    TooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The request timed out.
    #[error("timed out after {0:?} ([fetch] timeout)")]
    Timeout(Duration),
    /// Connection or protocol failure.
    #[error("{0}")]
    Network(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The URL scheme is not http, https or file.
    #[error("unsupported URL scheme {0:?}")]
    Scheme(String),
}

impl FetchError {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout(_) | Self::Network(_) => true,
            Self::Status(s) => *s >= 500 || *s == 408,
            Self::Gone | Self::TooLarge { .. } | Self::File { .. } | Self::Scheme(_) => false,
        }
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (the server refuses us; check the URL or whether the site blocks bots)",
        404 => " (not found; check the feed URL)",
        500..=599 => " (server error; will retry next cycle)",
        _ => "",
    }
}

/// The shared HTTP client with its concurrency limits.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    global: Arc<Semaphore>,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    per_host: usize,
    max_body: u64,
    timeout: Duration,
}

impl Fetcher {
    /// Builds the client from `[fetch]` settings.
    pub fn new(settings: &FetchSettings) -> anyhow::Result<Self> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .pool_max_idle_per_host(settings.per_host)
            .build()
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        Ok(Self {
            client,
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Arc::default(),
            per_host: settings.per_host,
            max_body: settings.max_body,
            timeout: settings.timeout,
        })
    }

    /// Fetches `url`, sending `validators` for a conditional GET.
    pub async fn get(&self, url: &Url, validators: &Validators) -> Result<Outcome, FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            "file" => return self.read_file(url).await,
            other => return Err(FetchError::Scheme(other.to_string())),
        }
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let host_limit = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        // Per-host first, so a slow host's queue does not hold global permits.
        let _host_permit = host_limit.acquire_owned().await;
        let _permit = self.global.acquire().await;

        let mut req = self.client.get(url.clone()).header(
            ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
        );
        if let Some(etag) = &validators.etag {
            req = req.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Outcome::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE
                && resp.headers().contains_key(RETRY_AFTER))
        {
            return Err(FetchError::RateLimited {
                status: status.as_u16(),
                retry_after: retry_after(resp.headers(), Utc::now()),
            });
        }
        if status == StatusCode::GONE {
            return Err(FetchError::Gone);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let final_url = resp.url().clone();
        let headers = resp.headers().clone();
        // A declared length over the cap is refused before reading a byte.
        if let Some(len) = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && len > self.max_body
            && headers.get(reqwest::header::CONTENT_ENCODING).is_none()
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        // Count decompressed bytes as they arrive, so a gzip bomb stops at the cap.
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.classify(e))?;
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Outcome::Fetched(Fetched {
            final_url,
            body,
            content_type: header(CONTENT_TYPE),
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            },
        }))
    }

    async fn read_file(&self, url: &Url) -> Result<Outcome, FetchError> {
        let path = url
            .to_file_path()
            .map_err(|()| FetchError::Scheme("file (not a local path)".into()))?;
        let body = tokio::fs::read(&path).await.map_err(|e| FetchError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if body.len() as u64 > self.max_body {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        Ok(Outcome::Fetched(Fetched {
            final_url: url.clone(),
            body,
            content_type: None,
            validators: Validators::default(),
        }))
    }

    fn classify(&self, err: reqwest::Error) -> FetchError {
        if err.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        if err.is_redirect() {
            return FetchError::Network("too many redirects (a redirect loop?)".into());
        }
        // reqwest's own message repeats the URL; the innermost source says what happened
        // ("Name or service not known", "Connection refused").
        let mut inner = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            inner = s.to_string();
            source = s.source();
        }
        let host = err
            .url()
            .and_then(|u| u.host_str())
            .unwrap_or("the server")
            .to_string();
        let msg = if err.is_connect() {
            if format!("{err:?}").contains("dns error") {
                format!("cannot resolve {host} ({inner}); check the URL and this machine's DNS")
            } else {
                format!("cannot connect to {host} ({inner})")
            }
        } else {
            format!("{host}: {inner}")
        };
        FetchError::Network(msg)
    }
}

/// Parses `Retry-After` as seconds or an HTTP date, relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// Installs rustls' ring provider once per process (reqwest and lettre share it).
pub fn install_crypto_provider() {
    // Err means another caller installed one first, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Fri, 27 Nov 2026 12:05:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(300)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}

//! Fetch: a URL plus its stored HTTP validators → the body, "not modified", or a typed error.
//!
//! One shared reqwest client (rustls, gzip/brotli) with connect and total timeouts, a
//! global concurrency limit and a per-host limit, conditional GET, a cap on the decompressed
//! body, and 429/503 `Retry-After` surfaced so the caller can wait. `file://` URLs read
//! from disk so `inspect` and tests can use local files. Nothing here parses feeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
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
    /// `Cache-Control: max-age`: how long the server says the body stays fresh.
    pub max_age: Option<Duration>,
    /// Where the feed now lives, when every redirect on the way was permanent (301/308).
    pub moved_to: Option<Url>,
}

impl Fetched {
    /// True when the server says this is HTML (or says nothing and it looks like HTML).
    pub fn is_html(&self) -> bool {
        match &self.content_type {
            Some(ct) => {
                let ct = ct.to_ascii_lowercase();
                ct.contains("html") || ct.contains("xml") && self.body.starts_with(b"<!")
            }
            None => {
                let head = String::from_utf8_lossy(&self.body[..self.body.len().min(512)])
                    .to_ascii_lowercase();
                head.contains("<html") || head.contains("<!doctype html")
            }
        }
    }

    /// A page read from a file (no response headers), decoded as [`Fetched::text`] decodes
    /// a fetched one.
    pub fn local_text(body: Vec<u8>, url: &url::Url) -> String {
        Fetched {
            final_url: url.clone(),
            body,
            content_type: None,
            validators: Default::default(),
            max_age: None,
            moved_to: None,
        }
        .text()
    }

    /// The body as text: the charset from `Content-Type`, else from a `<meta>` in the
    /// page's head ([`meta_charset`]); a declared encoding is used when the bytes decode
    /// in it without errors. Otherwise UTF-8, with any stray bytes that are not UTF-8 read
    /// as Windows-1252 one by one when the page is mostly UTF-8 ([`mixed_utf8`]), else the
    /// declared encoding with replacement characters, else Windows-1252.
    pub fn text(&self) -> String {
        let from_header = self.content_type.as_deref().and_then(charset_param);
        // As browsers do: a declared UTF-16 on a page that reached here as bytes is UTF-8,
        // and the `replacement` encoding (ISO-2022-KR and the like) is no charset at all.
        let declared = from_header
            .or_else(|| meta_charset(&self.body))
            .map(encoding_rs::Encoding::output_encoding)
            .filter(|&enc| enc != encoding_rs::REPLACEMENT);
        if let Some(enc) = declared
            && enc != encoding_rs::UTF_8
        {
            let (text, _, had_errors) = enc.decode(&self.body);
            if !had_errors {
                return text.into_owned();
            }
        }
        if let Ok(s) = std::str::from_utf8(&self.body) {
            return s.to_string();
        }
        if let Some(text) = mixed_utf8(&self.body) {
            return text;
        }
        match declared {
            Some(enc) if enc != encoding_rs::UTF_8 => enc.decode(&self.body).0.into_owned(),
            _ => encoding_rs::WINDOWS_1252.decode(&self.body).0.into_owned(),
        }
    }
}

/// How far into a page [`meta_charset`] looks for the head's `<meta>` tags. The HTML
/// standard's prescan stops at 1,024 bytes, then browsers re-decode when the parser meets
/// a later `<meta charset>`; pages whose heads open with long scripts or injected tags
/// (web archives) declare their charset well past the first kilobyte.
const META_SCAN_BYTES: usize = 64 * 1024;

/// The charset a page declares in a `<meta charset=…>` or `<meta http-equiv
/// content="…; charset=…">` of its head: only `<meta>` tags count (a `charset` attribute
/// on a `<script>` names the script's encoding, not the page's), and only before
/// `</head>` or `<body`, within [`META_SCAN_BYTES`].
pub fn meta_charset(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &body[..body.len().min(META_SCAN_BYTES)];
    let lower = head.to_ascii_lowercase();
    let end = [find(&lower, b"</head"), find(&lower, b"<body")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(lower.len());
    let lower = &lower[..end];
    let mut at = 0;
    // Bounded: each turn moves past one `<meta`.
    while let Some(i) = find(&lower[at..], b"<meta") {
        let tag_start = at + i + 5;
        let tag_end = find(&lower[tag_start..], b">").map_or(lower.len(), |e| tag_start + e);
        let tag = &lower[tag_start..tag_end];
        if let Some(c) = find(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = rest.trim_ascii_start();
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = rest.trim_ascii_start();
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let label: Vec<u8> = rest
                    .iter()
                    .copied()
                    .take_while(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')
                    })
                    .collect();
                if let Some(enc) = encoding_rs::Encoding::for_label(&label) {
                    return Some(enc);
                }
            }
        }
        at = tag_end;
    }
    None
}

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A page that is UTF-8 but for a few stray bytes (a Latin-1 word pasted into a UTF-8
/// template): the UTF-8 text kept, each byte that is not UTF-8 read as Windows-1252.
/// `None` when the invalid bytes are as many as the characters UTF-8 found beyond ASCII:
/// then the page is not UTF-8 at all and decoding it so would garble every accent.
fn mixed_utf8(body: &[u8]) -> Option<String> {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in body.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += chunk.invalid().len();
    }
    if invalid >= multibyte {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    for chunk in body.utf8_chunks() {
        out.push_str(chunk.valid());
        out.push_str(
            &encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(chunk.invalid())
                .0,
        );
    }
    Some(out)
}

fn charset_param(content_type: &str) -> Option<&'static encoding_rs::Encoding> {
    content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| encoding_rs::Encoding::for_label(v.trim().trim_matches('"').as_bytes()))
            .flatten()
    })
}

/// What a fetch produced when it did not fail.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// New content.
    Fetched(Box<Fetched>),
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
    /// Connection or protocol failure: its kind, one line for the operator, and the error
    /// underneath as the source.
    #[error(transparent)]
    Network(NetworkError),
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
    /// The URL points into a loopback, private, link-local or multicast network.
    #[error("refused: {0} is a private or local address ([fetch] allow_private_addresses = false)")]
    Private(String),
    /// A feed on a public address redirected into a loopback, private, link-local or
    /// metadata address.
    #[error(
        "refused the redirect to {to}: {addr} is a private or local address; a feed may only \
         redirect there when its configured URL is on such a network, or with \
         [fetch] allow_private_addresses = true"
    )]
    PrivateRedirect {
        /// Where the feed sent us.
        to: Url,
        /// The address (and name) refused.
        addr: String,
    },
}

impl FetchError {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout(_) | Self::Network(_) => true,
            Self::Status(s) => *s >= 500 || *s == 408,
            Self::Gone
            | Self::TooLarge { .. }
            | Self::File { .. }
            | Self::Scheme(_)
            | Self::Private(_)
            | Self::PrivateRedirect { .. } => false,
        }
    }
}

/// What kind of connection or protocol failure a [`FetchError::Network`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The host name did not resolve.
    Resolve,
    /// Nothing accepted the connection: the port is closed.
    Refused,
    /// Any other failure to connect (unreachable network or host).
    Connect,
    /// The server reset or closed the connection before its answer was complete.
    Reset,
    /// The TLS handshake failed: not TLS on that port, or a certificate we do not accept.
    Tls,
    /// Too many redirects, or a redirect that cannot be followed.
    Redirect,
    /// The server broke HTTP: a malformed response, or a body that does not decode.
    Protocol,
    /// Anything else.
    Other,
}

/// A connection or protocol failure: one line saying what failed and what to do, with the
/// error that caused it kept as its source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NetworkError {
    kind: NetworkFailure,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl NetworkError {
    /// A failure we detected ourselves, with no error underneath.
    fn new(kind: NetworkFailure, message: String) -> Self {
        Self {
            kind,
            message,
            source: None,
        }
    }

    /// What kind of failure this was.
    pub fn kind(&self) -> NetworkFailure {
        self.kind
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

/// The shared HTTP clients with their concurrency limits.
///
/// Feeds come from the operator's config and may live on an intranet; article pages come
/// from whatever links a feed carries, so the page client refuses private addresses
/// (unless `allow_private_addresses`): a feed must not make us read the internal network.
/// The operator trusts the feed URL they configured, not where it redirects: a feed on a
/// public address is followed only to public addresses, through the guarded feed client.
/// Guarded requests bypass any `HTTP(S)_PROXY`: a proxy would resolve the name itself, out
/// of our resolver's sight.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For the redirect hops of a feed whose configured URL is public; `None` when
    /// `allow_private_addresses` is set.
    feeds_guarded: Option<reqwest::Client>,
    pages: reqwest::Client,
    allow_private: bool,
    global: Arc<Semaphore>,
    hosts: HostLimits,
    per_host: usize,
    max_body: u64,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Fetcher {
    /// Builds the client from `[fetch]` settings.
    pub fn new(settings: &FetchSettings) -> anyhow::Result<Self> {
        install_crypto_provider();
        let builder = || {
            let mut b = reqwest::Client::builder()
                .user_agent(settings.user_agent.clone())
                .connect_timeout(settings.connect_timeout)
                .timeout(settings.timeout)
                .pool_max_idle_per_host(settings.per_host)
                // Ours, so a name that does not resolve fails with an error we can name;
                // the guarded clients replace it with the public-only one.
                .dns_resolver(Arc::new(SystemResolver { public_only: false }));
            // Overrides are answered before any resolver, ours included.
            for (host, addr) in &settings.resolve {
                b = b.resolve(host, *addr);
            }
            b
        };
        // No idle feed connections: a cycle asks most hosts for one feed, and an idle
        // connection keeps a read buffer as large as the last body (at 300 feeds on 64
        // hosts, 16 MB of an 81 MB peak). Pages keep theirs: a feed's pages follow it.
        let client = builder()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        let feeds_guarded = if settings.allow_private_addresses {
            None
        } else {
            Some(
                builder()
                    .pool_max_idle_per_host(0)
                    .redirect(reqwest::redirect::Policy::none())
                    .dns_resolver(Arc::new(SystemResolver { public_only: true }))
                    .no_proxy()
                    .build()
                    .context("building the HTTP client")?,
            )
        };
        let mut pages = builder();
        if !settings.allow_private_addresses {
            // Direct connections only: through `HTTP(S)_PROXY` the proxy would resolve the
            // page's host, and our resolver would never see where it leads.
            pages = pages.no_proxy();
            pages = pages
                .dns_resolver(Arc::new(SystemResolver { public_only: true }))
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    // An IP literal skips the resolver, so redirects are checked here too.
                    if attempt.previous().len() >= 10 {
                        attempt.error("too many redirects")
                    } else if let Some(ip) = literal_ip(attempt.url())
                        && !is_public(ip)
                    {
                        attempt.error(PrivateAddress(ip.to_string()))
                    } else {
                        attempt.follow()
                    }
                }));
        } else {
            pages = pages.redirect(reqwest::redirect::Policy::limited(10));
        }
        let pages = pages.build().context("building the HTTP client")?;
        Ok(Self {
            client,
            feeds_guarded,
            pages,
            allow_private: settings.allow_private_addresses,
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Arc::default(),
            per_host: settings.per_host,
            max_body: settings.max_body,
            timeout: settings.timeout,
            connect_timeout: settings.connect_timeout,
        })
    }

    /// Fetches a feed at `url`, sending `validators` for a conditional GET.
    pub async fn get(&self, url: &Url, validators: &Validators) -> Result<Outcome, FetchError> {
        match url.scheme() {
            "http" | "https" => {}
            "file" => return self.read_file(url).await,
            other => return Err(FetchError::Scheme(other.to_string())),
        }
        self.request(&self.client, url, validators).await
    }

    /// Fetches an article page found in a feed: http(s) only, private addresses refused
    /// unless allowed.
    pub async fn get_page(&self, url: &Url) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme(url.scheme().to_string()));
        }
        if !self.allow_private
            && let Some(ip) = literal_ip(url)
            && !is_public(ip)
        {
            return Err(FetchError::Private(ip.to_string()));
        }
        match self
            .request(&self.pages, url, &Validators::default())
            .await?
        {
            Outcome::Fetched(f) => Ok(*f),
            // We sent no validators, so a 304 is the server's mistake.
            Outcome::NotModified => Err(FetchError::Status(304)),
        }
    }

    async fn request(
        &self,
        client: &reqwest::Client,
        url: &Url,
        validators: &Validators,
    ) -> Result<Outcome, FetchError> {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let host_limit = HostLimit::claim(&self.hosts, host, self.per_host);
        // Per-host first, so a slow host's queue does not hold global permits. The permit
        // borrows `host_limit`, so it is released before the limit's entry is pruned.
        let _host_permit = host_limit.limit.acquire().await;
        let _permit = self.global.acquire().await;

        // Redirects are followed here rather than by reqwest, to learn whether every hop
        // was permanent (301/308: the feed has moved) and to refuse non-HTTP targets.
        let mut current = url.clone();
        let mut permanent = true;
        let mut hops = 0;
        let mut client = client;
        // Decided at the first redirect: the guarded client when hops must stay public.
        let mut guard: Option<Option<&reqwest::Client>> = None;
        let resp = loop {
            let mut req = client.get(current.clone()).header(
                ACCEPT,
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            );
            if let Some(etag) = &validators.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| match self.classify(e) {
                // Our resolver refused the name a redirect led to.
                FetchError::Private(addr) if hops > 0 => FetchError::PrivateRedirect {
                    to: current.clone(),
                    addr,
                },
                other => other,
            })?;
            if !resp.status().is_redirection() || resp.status() == StatusCode::NOT_MODIFIED {
                break resp;
            }
            // Pages use reqwest's own policy (with the private-address check); this path
            // only sees redirects for feeds.
            let Some(location) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(FetchError::Status(resp.status().as_u16()));
            };
            let next = current.join(location).map_err(|e| {
                FetchError::Network(NetworkError {
                    kind: NetworkFailure::Redirect,
                    message: format!("redirect to an unparsable location {location:?}"),
                    source: Some(Box::new(e)),
                })
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Network(NetworkError::new(
                    NetworkFailure::Redirect,
                    format!(
                        "redirect to a non-HTTP URL ({next}); only http and https are followed"
                    ),
                )));
            }
            if guard.is_none() {
                guard = Some(match &self.feeds_guarded {
                    Some(guarded) if !origin_is_private(url, self.connect_timeout).await => {
                        Some(guarded)
                    }
                    _ => None,
                });
            }
            if let Some(Some(guarded)) = guard {
                // An IP literal skips the resolver, so it is judged here.
                if let Some(ip) = literal_ip(&next)
                    && !is_public(ip)
                {
                    return Err(FetchError::PrivateRedirect {
                        to: next,
                        addr: ip.to_string(),
                    });
                }
                client = guarded;
            }
            hops += 1;
            if hops > MAX_REDIRECTS || next == current {
                return Err(FetchError::Network(NetworkError::new(
                    NetworkFailure::Redirect,
                    format!("too many redirects (a redirect loop?) ending at {next}"),
                )));
            }
            permanent &= matches!(
                resp.status(),
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            current = next;
        };
        let moved_to = (hops > 0 && permanent).then(|| current.clone());
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
        Ok(Outcome::Fetched(Box::new(Fetched {
            final_url,
            body,
            content_type: header(CONTENT_TYPE),
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            },
            max_age: header(CACHE_CONTROL).and_then(|v| max_age(&v)),
            moved_to,
        })))
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
        Ok(Outcome::Fetched(Box::new(Fetched {
            final_url: url.clone(),
            body,
            content_type: None,
            validators: Validators::default(),
            max_age: None,
            moved_to: None,
        })))
    }

    /// Names a failed request by what happened, from reqwest's flags and the types in
    /// its source chain (never its message text), keeping the error as the source.
    fn classify(&self, err: reqwest::Error) -> FetchError {
        use NetworkFailure as K;
        let causes = causes(&err);
        if let Some(p) = causes
            .iter()
            .find_map(|e| e.downcast_ref::<PrivateAddress>())
        {
            return FetchError::Private(p.0.clone());
        }
        let io_kind = |kinds: &[std::io::ErrorKind]| {
            causes.iter().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| kinds.contains(&io.kind()))
            })
        };
        let hyper = causes.iter().find_map(|e| e.downcast_ref::<hyper::Error>());
        if err.is_timeout()
            || io_kind(&[std::io::ErrorKind::TimedOut])
            || hyper.is_some_and(hyper::Error::is_timeout)
        {
            return FetchError::Timeout(self.timeout);
        }
        let place = err.url().map_or("the server".to_string(), |u| {
            let host = u.host_str().unwrap_or("the server");
            match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        });
        // reqwest's own message repeats the URL; the innermost cause says what happened
        // ("Connection refused", "received corrupt message").
        let inner = causes.last().map_or(err.to_string(), |e| e.to_string());
        use std::io::ErrorKind as Io;
        let (kind, message) = if let Some(u) =
            causes.iter().find_map(|e| e.downcast_ref::<Unresolved>())
        {
            (
                K::Resolve,
                format!(
                    "cannot resolve {} ({}); check the URL and this machine's DNS",
                    u.host, u.source
                ),
            )
        } else if let Some(tls) = causes
            .iter()
            .find_map(|e| e.downcast_ref::<rustls::Error>())
        {
            (
                K::Tls,
                format!(
                    "TLS with {place} failed ({tls}); check that the URL's scheme fits its port \
                     (https to a plain-HTTP port fails so) and the server's certificate"
                ),
            )
        } else if io_kind(&[Io::ConnectionRefused]) {
            (
                K::Refused,
                format!(
                    "cannot connect to {place}: connection refused (nothing listens there); \
                     check the URL and that the server is up"
                ),
            )
        } else if io_kind(&[
            Io::ConnectionReset,
            Io::ConnectionAborted,
            Io::BrokenPipe,
            Io::UnexpectedEof,
        ]) || hyper.is_some_and(|h| h.is_incomplete_message() || h.is_closed())
        {
            let when = if err.is_body() {
                "in the middle of the body"
            } else {
                "before answering"
            };
            (
                K::Reset,
                format!("{place} closed the connection {when} ({inner}); will retry next cycle"),
            )
        } else if err.is_redirect() {
            (K::Redirect, "too many redirects (a redirect loop?)".into())
        } else if hyper.is_some_and(hyper::Error::is_parse) {
            (
                K::Protocol,
                format!("{place} sent a malformed HTTP response ({inner})"),
            )
        } else if err.is_decode() {
            (
                K::Protocol,
                format!(
                    "{place} sent a body that does not decode ({inner}); its compression is \
                     broken, will retry next cycle"
                ),
            )
        } else if err.is_connect() {
            (
                K::Connect,
                format!(
                    "cannot connect to {place} ({inner}); check the URL and this machine's network"
                ),
            )
        } else if err.is_body() {
            (K::Protocol, format!("{place} sent a broken body ({inner})"))
        } else {
            (K::Other, format!("{place}: {inner}"))
        };
        FetchError::Network(NetworkError {
            kind,
            message,
            source: Some(Box::new(err)),
        })
    }
}

/// The per-host limits of the hosts with requests in flight or waiting, by host name.
type HostLimits = Arc<Mutex<HashMap<String, Arc<Semaphore>>>>;

/// One request's hold on its host's limit. While any request holds one, the host's entry
/// stays in the map and every request to the host shares its semaphore; the last to let go
/// removes the entry, so a daemon that meets a new page host every few minutes for months
/// keeps only the hosts it is talking to now.
struct HostLimit {
    hosts: HostLimits,
    host: String,
    limit: Arc<Semaphore>,
}

impl HostLimit {
    /// Takes a hold on `host`'s limit, creating it with `per_host` permits if none is held.
    fn claim(hosts: &HostLimits, host: String, per_host: usize) -> Self {
        let limit = {
            // Held for a map lookup only, never across an await.
            let mut map = hosts.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(host.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
                .clone()
        };
        Self {
            hosts: hosts.clone(),
            host,
            limit,
        }
    }
}

impl Drop for HostLimit {
    fn drop(&mut self) {
        let mut map = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        // Two references (the map's and ours) mean no other request holds or awaits this
        // limit; any other request takes its clone under this same lock, so none can be
        // claiming it now. A cancelled request prunes here too.
        if map
            .get(&self.host)
            .is_some_and(|l| Arc::ptr_eq(l, &self.limit) && Arc::strong_count(l) == 2)
        {
            map.remove(&self.host);
        }
    }
}

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// `max-age` (or `s-maxage`) of a `Cache-Control` value; `no-cache`/`no-store` mean zero.
pub fn max_age(cache_control: &str) -> Option<Duration> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-cache" || d == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = d
            .strip_prefix("max-age=")
            .or_else(|| d.strip_prefix("s-maxage="))
        {
            age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .or(age);
        }
    }
    age
}

/// Every error in `err`'s source chain, outermost first, including the error an
/// `io::Error` wraps (its `source()` skips straight past it, and tokio-rustls puts the
/// TLS error there).
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    // Bounded: real chains are a handful deep.
    while let Some(e) = next
        && out.len() < 32
    {
        out.push(e);
        // An io::Error's source is its wrapped error's source: step into the wrapped
        // error itself instead (it may be another io::Error wrapping a rustls::Error).
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    out
}

/// Refusal of a name (by our resolver) or a redirect (by the page policy) that leads to a
/// private or local address; `classify` finds it by type in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0} is a private or local address")]
struct PrivateAddress(String);

/// The system resolver had no address for a name.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}")]
struct Unresolved {
    host: String,
    #[source]
    source: std::io::Error,
}

/// The system resolver (getaddrinfo, off the async threads), failing with errors
/// `classify` can recognise; with `public_only`, it drops loopback, private, link-local
/// and multicast answers and refuses a name that has nothing else.
struct SystemResolver {
    public_only: bool,
}

impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let public_only = self.public_only;
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|source| Unresolved {
                    host: host.clone(),
                    source,
                })?
                .collect();
            if !public_only {
                return Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs);
            }
            let public: Vec<std::net::SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                let first = addrs
                    .first()
                    .map_or(host.clone(), |a| format!("{host} ({})", a.ip()));
                return Err(PrivateAddress(first).into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// True when the configured feed URL itself is on a loopback or private network: an IP
/// literal that is not public, `localhost`, or a name the system resolver answers with
/// private addresses only (an intranet feed). Redirects from such a feed stay unchecked,
/// as the operator chose that network. A name that does not resolve counts as public,
/// so the guard stays on.
async fn origin_is_private(url: &Url, timeout: Duration) -> bool {
    if let Some(ip) = literal_ip(url) {
        return !is_public(ip);
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let port = url.port_or_known_default().unwrap_or(80);
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| !is_public(a.ip()))
        }
        _ => false,
    }
}

/// Whether `url` names a private or local address itself: a non-public IP literal, or
/// `localhost` (no DNS is asked).
pub fn names_private_address(url: &Url) -> bool {
    if let Some(ip) = literal_ip(url) {
        return !is_public(ip);
    }
    url.host_str().is_some_and(|h| {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        h == "localhost" || h.ends_with(".localhost")
    })
}

/// The IP address a URL names literally, if it does.
fn literal_ip(url: &Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(ip.into()),
        url::Host::Ipv6(ip) => Some(ip.into()),
        url::Host::Domain(_) => None,
    }
}

/// True for addresses on the public internet.
///
/// IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, the deprecated
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo) are judged
/// by the IPv4 address they lead to: `64:ff9b::7f00:1` reaches 127.0.0.1 through a NAT64
/// gateway as surely as the literal does.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                // 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24: documentation.
                || matches!(o, [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _])
                // 0.0.0.0/8: "this network"; Linux connects 0.x to the local host.
                || o[0] == 0
                // 100.64.0.0/10: carrier-grade NAT, often internal.
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                // 192.0.0.0/24: IETF protocol assignments.
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                // 198.18.0.0/15: benchmarking networks (RFC 2544), used inside labs.
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                // 240.0.0.0/4: reserved (and 255.255.255.255).
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let low32 = |a: u16, b: u16| Ipv4Addr::from((u32::from(a) << 16) | u32::from(b));
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // ::/96: ::, ::1 and the IPv4-compatible ::a.b.c.d (deprecated by RFC 4291
            // 2.5.5.1; a SIT tunnel still delivers ::7f00:1 to 127.0.0.1). No public server
            // has one, so none of it is public, whatever the embedded address.
            if seg[..6] == [0; 6] {
                return false;
            }
            // 64:ff9b::/96 (NAT64, RFC 6052): the last 32 bits.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(IpAddr::V4(low32(seg[6], seg[7])));
            }
            // 2002::/16 (6to4, RFC 3056): bits 16..48.
            if seg[0] == 0x2002 {
                return is_public(IpAddr::V4(low32(seg[1], seg[2])));
            }
            // 2001:0::/32 (Teredo, RFC 4380): the client's address, inverted, in the last 32.
            if seg[0] == 0x2001 && seg[1] == 0 {
                return is_public(IpAddr::V4(low32(!seg[6], !seg[7])));
            }
            !(v6.is_multicast()
                // 64:ff9b:1::/48: local-use NAT64 (RFC 8215), translated inside a site.
                || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1)
                // 100::/64: discard-only (RFC 6666).
                || (seg[0] == 0x100 && seg[1..4] == [0, 0, 0])
                // 2001:db8::/32: documentation.
                || (seg[0] == 0x2001 && seg[1] == 0xdb8)
                // fc00::/7 unique local; fe80::/10 link-local; fec0::/10 old site-local.
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0)
        }
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

    fn page(body: &[u8]) -> String {
        let url = url::Url::parse("file:///page.html").expect("static URL");
        Fetched::local_text(body.to_vec(), &url)
    }

    #[test]
    fn a_charset_on_a_script_tag_is_not_the_pages_charset() {
        // An archive's injected script says UTF-8; the page's own meta says GBK.
        let mut body = b"<html><head><script src=\"/a.js\" charset=\"utf-8\"></script>\n\
            <meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\n\
            <title>"
            .to_vec();
        body.extend_from_slice(&encoding_rs::GBK.encode("\u{65b0}\u{95fb}").0);
        body.extend_from_slice(b"</title></head><body></body></html>");
        assert!(page(&body).contains("\u{65b0}\u{95fb}"), "{}", page(&body));
    }

    #[test]
    fn a_meta_charset_after_the_first_kilobyte_of_the_head_is_read() {
        let mut body = b"<html><head><script>".to_vec();
        body.extend(std::iter::repeat_n(b'x', 5000));
        body.extend_from_slice(
            b"</script><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body>",
        );
        assert!(
            page(&body).contains("\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}"),
            "{}",
            page(&body)
        );
    }

    #[test]
    fn a_meta_charset_in_the_body_is_not_the_pages_charset() {
        let body =
            b"<html><head></head><body><p>caf\xc3\xa9</p><meta charset=\"shift_jis\"></body>";
        assert_eq!(meta_charset(body), None);
        assert!(page(body).contains("caf\u{e9}"));
    }

    #[test]
    fn a_utf_8_page_with_one_stray_latin_1_byte_keeps_its_utf_8_text() {
        let body = "<html><head><meta charset=\"utf-8\"></head><body><p>K\u{fc}che \u{2013} Gr\u{fc}\u{df}e</p><img alt=\"K"
            .as_bytes()
            .iter()
            .copied()
            .chain(b"\xfcchenblogs\"></body>".iter().copied())
            .collect::<Vec<u8>>();
        let text = page(&body);
        assert!(
            text.contains("K\u{fc}che \u{2013} Gr\u{fc}\u{df}e"),
            "{text}"
        );
        assert!(text.contains("alt=\"K\u{fc}chenblogs"), "{text}");
    }

    #[test]
    fn a_declared_utf_16_or_replacement_charset_never_garbles_a_page() {
        for label in ["utf-16", "iso-2022-kr"] {
            let body = format!("<html><head><meta charset=\"{label}\"></head><body><p>Gr");
            let mut body = body.into_bytes();
            body.extend_from_slice(b"\xfc\xdfe aus M\xfcnchen</p></body></html>");
            let text = page(&body);
            assert!(
                text.contains("Gr\u{fc}\u{df}e aus M\u{fc}nchen"),
                "{label}: {text}"
            );
        }
    }

    #[test]
    fn a_latin_1_page_without_a_declaration_is_read_as_windows_1252() {
        let text =
            page(b"<html><body><p>Gr\xfc\xdfe aus M\xfcnchen \x96 sch\xf6n</p></body></html>");
        assert!(
            text.contains("Gr\u{fc}\u{df}e aus M\u{fc}nchen \u{2013} sch\u{f6}n"),
            "{text}"
        );
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_and_special_ipv4_ranges_are_judged_by_where_they_lead() {
        for ip in [
            // IPv4-compatible (::a.b.c.d), NAT64 and 6to4 carrying loopback or private.
            "::7f00:1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.0.1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:a9fe:a9fe::1",
            // Local-use NAT64 (RFC 8215), site-local, discard-only, documentation.
            "64:ff9b:1::1",
            "fec0::1",
            "100::1",
            "2001:db8::1",
            // Teredo whose client (inverted last 32 bits) is 127.0.0.1.
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            // Benchmarking, documentation, 0/8, shared address space, reserved, broadcast.
            "198.18.0.1",
            "198.19.255.254",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "0.1.2.3",
            "100.127.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "fc00::1",
            "febf::1",
            "ff0e::1",
            "239.255.255.250",
        ] {
            assert!(
                !is_public(ip.parse().expect("ip")),
                "{ip} must not count as public"
            );
        }
        for ip in [
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "198.20.0.1",
            "198.17.255.255",
            "100.128.0.1",
            "::ffff:93.184.216.34",
            "2a00:1450:4001::1",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn page_on_loopback_is_refused_unless_allowed() {
        let mut settings = crate::config::parse(
            "[brief]\nname = \"x\"\nfrom = \"x@example.org\"\n",
            std::path::Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config")
        .fetch;
        let f = Fetcher::new(&settings).expect("fetcher");
        let url = Url::parse("http://127.0.0.1:9/page").expect("url");
        assert!(matches!(
            f.get_page(&url).await,
            Err(FetchError::Private(_))
        ));
        let url = Url::parse("http://localhost:9/page").expect("url");
        let err = f.get_page(&url).await.expect_err("refused");
        assert!(matches!(err, FetchError::Private(_)), "{err:?}");
        settings.allow_private_addresses = true;
        let f = Fetcher::new(&settings).expect("fetcher");
        // Allowed now: the request goes out and fails only because nothing listens there.
        let err = f
            .get_page(&Url::parse("http://127.0.0.1:9/page").expect("url"))
            .await
            .expect_err("closed port");
        assert!(matches!(err, FetchError::Network(_)), "{err:?}");
    }

    /// `[fetch]` settings from an otherwise empty config.
    fn settings() -> FetchSettings {
        crate::config::parse(
            "[brief]\nname = \"x\"\nfrom = \"x@example.org\"\n",
            std::path::Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config")
        .fetch
    }

    /// Requests in flight at a test server, per `Host` header, and the most seen at once.
    #[derive(Default)]
    struct InFlight {
        now: HashMap<String, usize>,
        most: HashMap<String, usize>,
    }

    /// An HTML server on loopback that holds every request until `release` turns true,
    /// counting the requests in flight per host. Returns its address.
    async fn spawn_holding_server(
        in_flight: Arc<Mutex<InFlight>>,
        release: tokio::sync::watch::Receiver<bool>,
    ) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = axum::Router::new().route(
            "/page",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let in_flight = in_flight.clone();
                let mut release = release.clone();
                async move {
                    let host = headers
                        .get(axum::http::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    {
                        let mut f = in_flight.lock().expect("lock");
                        let now = f.now.entry(host.clone()).or_default();
                        *now += 1;
                        let now = *now;
                        let most = f.most.entry(host.clone()).or_default();
                        *most = (*most).max(now);
                    }
                    // Bounded: a test that forgets to release fails on its own timeout.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        release.wait_for(|released| *released),
                    )
                    .await;
                    *in_flight.lock().expect("lock").now.entry(host).or_default() -= 1;
                    (
                        [(axum::http::header::CONTENT_TYPE, "text/html")],
                        "<!DOCTYPE html><html><body>ok</body></html>",
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_from_many_hosts_leave_no_per_host_limits_behind() {
        let (_open, release) = tokio::sync::watch::channel(true);
        let addr = spawn_holding_server(Arc::default(), release).await;
        let mut settings = settings();
        let names: Vec<String> = (0..50).map(|i| format!("host{i}.example.org")).collect();
        settings.resolve = names.iter().map(|n| (n.clone(), addr)).collect();
        let f = Fetcher::new(&settings).expect("fetcher");
        for name in &names {
            let url = Url::parse(&format!("http://{name}:{}/page", addr.port())).expect("url");
            f.get_page(&url).await.expect("page");
        }
        let left = f.hosts.lock().expect("lock").len();
        assert_eq!(left, 0, "a limit stays behind for each idle host");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn per_host_limit_holds_while_requests_are_in_flight_and_is_dropped_after() {
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let (release_tx, release) = tokio::sync::watch::channel(false);
        let addr = spawn_holding_server(in_flight.clone(), release).await;
        let mut settings = settings();
        settings.per_host = 2;
        settings.concurrency = 16;
        let names = ["a.example.org", "b.example.org", "c.example.org"];
        settings.resolve = names.iter().map(|n| (n.to_string(), addr)).collect();
        let f = Fetcher::new(&settings).expect("fetcher");
        let mut tasks = Vec::new();
        for name in names {
            for _ in 0..4 {
                let f = f.clone();
                let url = Url::parse(&format!("http://{name}:{}/page", addr.port())).expect("url");
                tasks.push(tokio::spawn(async move { f.get_page(&url).await }));
            }
        }
        // Wait (bounded) until each host has its two requests at the server.
        let total = || in_flight.lock().expect("lock").now.values().sum::<usize>();
        for _ in 0..500 {
            if total() == 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(total(), 6, "two requests per host reach the server");
        // A host with requests in flight (or waiting) keeps its one limit.
        assert_eq!(f.hosts.lock().expect("lock").len(), 3);
        release_tx.send(true).expect("release");
        for t in tasks {
            t.await.expect("task").expect("page");
        }
        let most = in_flight.lock().expect("lock").most.clone();
        assert_eq!(most.len(), 3, "{most:?}");
        for (host, n) in &most {
            assert_eq!(*n, 2, "{host}: at most per_host = 2 in flight");
        }
        assert_eq!(f.hosts.lock().expect("lock").len(), 0);
    }

    /// What a raw test server does with each connection it accepts.
    #[derive(Clone, Copy)]
    enum Misbehaviour {
        /// Reads the first bytes of the request and closes with the rest unread, which
        /// makes the kernel answer with a reset.
        Reset,
        /// Reads the whole request head and closes without a word.
        Hangup,
        /// Reads the request and never answers (for ten seconds, then closes).
        Stall,
    }

    /// A TCP server on loopback that misbehaves with every connection. Returns its address.
    async fn spawn_raw(how: Misbehaviour) -> std::net::SocketAddr {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    // Bounded: a request head is far shorter than 64 reads.
                    for _ in 0..64 {
                        let want = if matches!(how, Misbehaviour::Reset) {
                            8
                        } else {
                            1024
                        };
                        match conn.read(&mut buf[..want]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                        if matches!(how, Misbehaviour::Reset)
                            || head.windows(4).any(|w| w == b"\r\n\r\n")
                        {
                            break;
                        }
                    }
                    if matches!(how, Misbehaviour::Stall) {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                    drop(conn);
                });
            }
        });
        addr
    }

    /// An HTTP server on loopback with a redirect loop (`/loop-a` ↔ `/loop-b`) and a page
    /// (`/page`). Returns its address.
    async fn spawn_loops() -> std::net::SocketAddr {
        use axum::http::{StatusCode, header};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = axum::Router::new()
            .route(
                "/loop-a",
                axum::routing::get(|| async {
                    (StatusCode::FOUND, [(header::LOCATION, "/loop-b")])
                }),
            )
            .route(
                "/loop-b",
                axum::routing::get(|| async {
                    (StatusCode::FOUND, [(header::LOCATION, "/loop-a")])
                }),
            )
            .route("/page", axum::routing::get(|| async { "a page" }));
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    }

    /// The network failure inside `result`, checking what every one must have: a single
    /// line, and (when reqwest failed) the error underneath kept as the source.
    fn network_failure<T: std::fmt::Debug>(result: Result<T, FetchError>) -> NetworkError {
        let err = result.expect_err("the fetch fails");
        let line = err.to_string();
        assert!(!line.contains('\n'), "one line: {line:?}");
        match err {
            FetchError::Network(e) => e,
            other => panic!("expected a network failure, got {other:?}: {other}"),
        }
    }

    fn assert_has_source(e: &NetworkError) {
        assert!(
            std::error::Error::source(e).is_some(),
            "the cause is kept as the source: {e:?}"
        );
    }

    fn feed_url(addr: std::net::SocketAddr, scheme: &str) -> Url {
        Url::parse(&format!("{scheme}://{addr}/feed.xml")).expect("url")
    }

    #[tokio::test]
    async fn a_closed_port_is_a_refused_connection() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let f = Fetcher::new(&settings()).expect("fetcher");
        let e = network_failure(f.get(&feed_url(addr, "http"), &Validators::default()).await);
        assert_eq!(e.kind(), NetworkFailure::Refused, "{e}");
        assert!(e.to_string().contains("connection refused"), "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        assert_has_source(&e);
    }

    #[tokio::test]
    async fn a_server_that_resets_or_hangs_up_before_answering_is_a_reset() {
        let f = Fetcher::new(&settings()).expect("fetcher");
        for how in [Misbehaviour::Reset, Misbehaviour::Hangup] {
            let addr = spawn_raw(how).await;
            let e = network_failure(f.get(&feed_url(addr, "http"), &Validators::default()).await);
            assert_eq!(e.kind(), NetworkFailure::Reset, "{e}");
            assert!(e.to_string().contains("closed the connection"), "{e}");
            assert_has_source(&e);
        }
    }

    #[tokio::test]
    async fn a_server_that_stalls_past_the_timeout_is_a_timeout() {
        let addr = spawn_raw(Misbehaviour::Stall).await;
        let mut settings = settings();
        settings.timeout = Duration::from_millis(300);
        let f = Fetcher::new(&settings).expect("fetcher");
        let err = f
            .get(&feed_url(addr, "http"), &Validators::default())
            .await
            .expect_err("stalls");
        assert!(
            matches!(err, FetchError::Timeout(d) if d == settings.timeout),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_redirect_loop_is_a_redirect_failure_for_feeds_and_pages() {
        let addr = spawn_loops().await;
        let loop_url =
            |host: &str| Url::parse(&format!("http://{host}:{}/loop-a", addr.port())).expect("url");
        // Feeds follow redirects themselves.
        let f = Fetcher::new(&settings()).expect("fetcher");
        let e = network_failure(f.get(&loop_url("127.0.0.1"), &Validators::default()).await);
        assert_eq!(e.kind(), NetworkFailure::Redirect, "{e}");
        assert!(e.to_string().contains("too many redirects"), "{e}");
        // Pages through reqwest's policies: the guarded one (a public-looking name) and,
        // with private addresses allowed, the plain limit.
        let mut guarded = settings();
        guarded.resolve = vec![("loop.example.org".into(), addr)];
        let mut open = settings();
        open.allow_private_addresses = true;
        for (settings, host) in [(guarded, "loop.example.org"), (open, "127.0.0.1")] {
            let f = Fetcher::new(&settings).expect("fetcher");
            let e = network_failure(f.get_page(&loop_url(host)).await);
            assert_eq!(e.kind(), NetworkFailure::Redirect, "{host}: {e}");
            assert!(e.to_string().contains("too many redirects"), "{e}");
            assert_has_source(&e);
        }
    }

    #[tokio::test]
    async fn a_tls_handshake_with_a_plain_http_port_is_a_tls_failure() {
        let addr = spawn_loops().await;
        let f = Fetcher::new(&settings()).expect("fetcher");
        let e = network_failure(
            f.get(&feed_url(addr, "https"), &Validators::default())
                .await,
        );
        assert_eq!(e.kind(), NetworkFailure::Tls, "{e}");
        assert!(e.to_string().contains("TLS"), "{e}");
        assert_has_source(&e);
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_resolve_failure_for_feeds_and_pages() {
        // A label over 63 bytes: the system resolver refuses it without sending a query,
        // so the test stays on this machine.
        let host = format!("{}.example.org", "a".repeat(70));
        let url = Url::parse(&format!("http://{host}/feed.xml")).expect("url");
        let f = Fetcher::new(&settings()).expect("fetcher");
        let from_feed = network_failure(f.get(&url, &Validators::default()).await);
        // Pages go through the public-only resolver.
        let from_page = network_failure(f.get_page(&url).await);
        for e in [from_feed, from_page] {
            assert_eq!(e.kind(), NetworkFailure::Resolve, "{e}");
            assert!(e.to_string().contains("cannot resolve"), "{e}");
            assert!(e.to_string().contains("DNS"), "{e}");
            assert_has_source(&e);
        }
    }

    #[tokio::test]
    async fn a_page_redirected_to_a_private_address_is_refused_as_private() {
        let addr = spawn_loops().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let target = format!("http://127.0.0.1:{}/page", addr.port());
        let router = axum::Router::new().route(
            "/away",
            axum::routing::get(move || {
                let target = target.clone();
                async move {
                    (
                        axum::http::StatusCode::FOUND,
                        [(axum::http::header::LOCATION, target)],
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        let mut settings = settings();
        settings.resolve = vec![(
            "away.example.org".into(),
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )];
        let f = Fetcher::new(&settings).expect("fetcher");
        let url = Url::parse(&format!("http://away.example.org:{port}/away")).expect("url");
        let err = f.get_page(&url).await.expect_err("refused");
        assert!(
            matches!(&err, FetchError::Private(what) if what == "127.0.0.1"),
            "{err:?}"
        );
    }

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

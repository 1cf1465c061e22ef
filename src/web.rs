//! Web: HTTP requests → one-click unsubscribe, the digest archive and health.
//!
//! - `GET /unsubscribe/{token}`: a page with one button. Link scanners prefetch GETs, so a
//!   GET never unsubscribes.
//! - `POST /unsubscribe/{token}` with `List-Unsubscribe=One-Click` (form-urlencoded or
//!   multipart, RFC 8058): unsubscribes at once; 200, no redirect, no cookie, idempotent.
//!   The button posts the same body to the same URL.
//! - `GET /archive`, `GET /archive/{id}`: sent digests as web pages, with no member's token.
//! - `GET /archive.xml`: the same digests as an Atom feed ([`crate::atom`]).
//! - `GET /healthz`: `ok` and the last digest, as JSON.
//! - `GET /r/{digest}/{story}/{sig}`: a tracked "Full Story" link: counts the click (see
//!   [`crate::clicks`] for what is not counted) and redirects (302) to the story's URL as
//!   the stored digest has it, never to a URL from the request.
//!
//! - `GET /subscribe`, `POST /subscribe` (with `[signup] enabled`): the sign-up form, and
//!   a confirmation link mailed to the address; the answer is the same whatever the
//!   address (see [`crate::signup`]).
//! - `GET /confirm/{token}`: one button; `POST` confirms the sign-up or address change.
//! - `GET /preferences/{token}`: the member's preference centre (the unsubscribe token);
//!   each change is a `POST` to the same URL.
//!
//! - `/editor/…` (issue #15): the editor's desk — sign-in by mailed link, sessions, the
//!   review page of a draft and its forms (the marked block at the end; pages in
//!   [`crate::review`], the slot logic in [`crate::cycle::drafts`]).
//!
//! A bad token or link signature gets a 404 page and changes nothing.
//!
//! The server sheds clients that would hold it: a request's headers must arrive within
//! `[web] header_timeout`, a connection idle for `[web] idle_timeout` is closed, at most
//! `[web] max_connections` are served at once (the rest wait in the listen queue), and a
//! body over `[web] max_body` gets 413.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use std::collections::HashMap;

use crate::app::App;
use crate::app::SharedApp;
use crate::mail::{Sender, confirm};
use crate::store::{MemberStatus, StatusCount};

/// The router for all web endpoints.
pub fn router(app: SharedApp) -> Router {
    editor_routes(Router::new())
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route("/archive", get(archive_index))
        .route("/archive/", get(archive_index))
        .route("/archive/{id}", get(archive_issue))
        .route("/archive.xml", get(archive_feed))
        .route("/r/{digest}/{story}/{sig}", get(click))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/subscribe", get(subscribe_form).post(subscribe))
        .route("/confirm/{token}", get(confirm_page).post(confirm))
        .route(
            "/preferences/{token}",
            get(preferences_page).post(preferences),
        )
        .with_state(app)
        .layer(Extension(Arc::new(crate::signup::Limiter::default())))
        .layer(Extension(Arc::new(EditorLimiter::default())))
}

/// How long a shutdown waits for connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves the endpoints on `listener` until `cancel` fires, within the `[web]` limits.
pub async fn serve(
    app: impl Into<SharedApp>,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let shared: SharedApp = app.into();
    let limits = shared.get().config.web.clone();
    let router = router(shared).layer(DefaultBodyLimit::max(limits.max_body));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // A slot first: at the cap, clients wait in the kernel's listen queue, costing us
        // no file descriptor, and are accepted as slots free up.
        let slot = tokio::select! {
            () = cancel.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => slot?,
        };
        let stream = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: not
                    // fatal; pause so a persistent error does not spin.
                    tracing::warn!("web server: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        // The client's address, for the sign-up form's per-IP limit.
        let router = router.clone().layer(Extension(Peer(peer)));
        let cancel = cancel.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, &limits, &cancel).await;
            drop(slot);
        });
    }
    // Every slot back means every connection finished; a stuck one is not waited for.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
    Ok(())
}

/// One client connection: HTTP/1.1 with keep-alive, until the client leaves, a timeout
/// closes it, or shutdown (which lets the request in progress finish).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: &crate::config::Web,
    cancel: &CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let stream = Watched::new(stream);
    let last_io = stream.last_io();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = http.serve_connection(
        hyper_util::rt::TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(router),
    );
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    // Timeouts, resets and malformed requests: the client's problem.
                    tracing::debug!("web connection closed: {e}");
                }
                return;
            }
            () = cancel.cancelled(), if !shutting_down => {
                conn.as_mut().graceful_shutdown();
                shutting_down = true;
            }
            () = last_io.idle_for(limits.idle_timeout) => {
                tracing::debug!("web connection idle for {:?}; closed", limits.idle_timeout);
                return;
            }
        }
    }
}

/// When a connection last moved a byte, shared between its stream and its watchdog.
#[derive(Clone)]
struct LastIo {
    start: tokio::time::Instant,
    /// Milliseconds after `start`.
    at: Arc<AtomicU64>,
}

impl LastIo {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.at.store(ms, Ordering::Relaxed);
    }

    /// Completes once no byte has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline =
                self.start + Duration::from_millis(self.at.load(Ordering::Relaxed)) + idle;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A TCP stream that records when bytes last moved in either direction.
struct Watched {
    inner: tokio::net::TcpStream,
    last: LastIo,
}

impl Watched {
    fn new(inner: tokio::net::TcpStream) -> Self {
        Self {
            inner,
            last: LastIo {
                start: tokio::time::Instant::now(),
                at: Arc::default(),
            },
        }
    }

    fn last_io(&self) -> LastIo {
        self.last.clone()
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.last.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.last.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.last.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Binds `[web] listen` with a clear message when the address is taken.
pub async fn bind(app: &App) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = app.config.web.listen;
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr} ([web] listen): {e}; is another feedbrief running?"
        )
    })
}

/// `s` safe in HTML text and double- or single-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small self-contained page (no external assets, no cookies).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, "", body)
}

/// [`page`] with `head` (trusted markup, e.g. a `<link>`) added to its `<head>`.
fn page_with_head(status: StatusCode, title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{head}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{}</title>\
         <style>body{{font:17px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}}\
         button{{font:inherit;padding:.6em 1.4em;border:0;border-radius:4px;background:#0b3c5d;color:#fff;cursor:pointer}}</style>\
         </head><body>{body}</body></html>",
        escape(title)
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(html),
    )
        .into_response()
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not recognised",
        "<h1>This link is not recognised</h1><p>The unsubscribe link may be incomplete. \
         Copy the whole link from the email, or reply to the email and ask to be removed.</p>",
    )
}

/// The member a token names, when it is genuine (the lookup on a blocking thread).
async fn member_for(app: &Arc<App>, token: &str) -> Option<crate::store::Member> {
    let token = token.to_string();
    app.blocking("looking up a token's member", move |app| {
        let store = app.store();
        let id = app.secret.verify(&token, |id| {
            store.member_by_id(id).ok().flatten().map(|m| m.email)
        });
        Ok(id.and_then(|id| store.member_by_id(id).ok().flatten()))
    })
    .await
    .ok()
    .flatten()
}

async fn unsubscribe_page(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(member) = member_for(&app, &token).await else {
        return not_found();
    };
    let brief = escape(&app.config.brief.name);
    if member.status != MemberStatus::Active {
        return page(
            StatusCode::OK,
            "Unsubscribed",
            &format!(
                "<h1>You are unsubscribed</h1><p>{} no longer receives {brief}.</p>",
                escape(&member.email)
            ),
        );
    }
    page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<h1>Unsubscribe from {brief}?</h1><p>{} will receive no further issues.</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            escape(&member.email)
        ),
    )
}

/// True when the body has the field `List-Unsubscribe` with the value `One-Click`, exactly
/// (RFC 8058 section 3.1), in a `multipart/form-data` or form-urlencoded body.
fn is_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (mime, params) = ctype.split_once(';').unwrap_or((ctype, ""));
    if mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return param(params, "boundary").is_some_and(|boundary| {
            multipart_fields(body, boundary.as_bytes())
                .any(|(name, value)| name == "List-Unsubscribe" && value == b"One-Click")
        });
    }
    // Anything else is read as form-urlencoded; whitespace around the whole body (a
    // trailing newline some clients add) is not part of the value.
    url::form_urlencoded::parse(body.trim_ascii())
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

/// The value of parameter `name` in `; a=b; c="d"` (a quoted value unescaped).
fn param(params: &str, name: &str) -> Option<String> {
    let mut rest = params;
    loop {
        rest = rest
            .trim_start()
            .strip_prefix(';')
            .unwrap_or(rest)
            .trim_start();
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            // A quoted string: `\x` stands for x, up to the closing quote.
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end?..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value);
        }
        rest = next;
    }
}

/// The (name, value) of each `form-data` part of a multipart body with `boundary`
/// (RFC 7578): a part's headers end at the first blank line, and its value runs up to the
/// CRLF before the next delimiter line.
fn multipart_fields<'a>(
    body: &'a [u8],
    boundary: &[u8],
) -> impl Iterator<Item = (String, &'a [u8])> + 'a {
    let delimiter = [b"\r\n--".as_slice(), boundary].concat();
    // The first delimiter may open the body without the CRLF before it.
    let mut rest: Option<&[u8]> = if body.starts_with(&delimiter[2..]) {
        Some(&body[delimiter.len() - 2..])
    } else {
        find(body, &delimiter).map(|i| &body[i + delimiter.len()..])
    };
    std::iter::from_fn(move || {
        loop {
            let after = rest.take()?;
            // "--" after a delimiter closes the body.
            if after.starts_with(b"--") {
                return None;
            }
            let end = find(after, &delimiter)?;
            rest = Some(&after[end + delimiter.len()..]);
            // The delimiter line's own end (transport padding allowed), then the part.
            let part = &after[find(after, b"\r\n")? + 2..end];
            let Some(split) = find(part, b"\r\n\r\n") else {
                continue;
            };
            let (head, value) = (&part[..split], &part[split + 4..]);
            let head = String::from_utf8_lossy(head);
            let name = head.split("\r\n").find_map(|line| {
                let (field, disposition) = line.split_once(':')?;
                if !field.trim().eq_ignore_ascii_case("content-disposition") {
                    return None;
                }
                let (kind, params) = disposition.split_once(';')?;
                if !kind.trim().eq_ignore_ascii_case("form-data") {
                    return None;
                }
                param(params, "name")
            });
            if let Some(name) = name {
                return Some((name, value));
            }
        }
    })
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn unsubscribe(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = shared.get();
    let Some(member) = member_for(&app, &token).await else {
        return not_found();
    };
    if !is_one_click(&headers, &body) {
        return page(
            StatusCode::BAD_REQUEST,
            "Unsubscribe",
            "<h1>Nothing changed</h1><p>This request did not say <code>List-Unsubscribe=One-Click</code>.</p>",
        );
    }
    let id = member.id;
    let changed = app
        .blocking("unsubscribing", move |app| {
            app.store().unsubscribe(id, Utc::now())
        })
        .await;
    match changed {
        Ok(changed) => {
            if changed {
                tracing::info!(member = %member.email, "unsubscribed (one-click)");
            }
            page(
                StatusCode::OK,
                "Unsubscribed",
                &format!(
                    "<h1>You are unsubscribed</h1><p>{} will receive no further issues of {}.</p>",
                    escape(&member.email),
                    escape(&app.config.brief.name)
                ),
            )
        }
        Err(e) => {
            tracing::error!("unsubscribing {}: {e:#}", member.email);
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<h1>Please try again</h1><p>We could not record your request just now.</p>",
            )
        }
    }
}

/// A decimal id as [`Secret::click_sig`](crate::token::Secret::click_sig) links write it
/// (`7`, not `07` or `+7`): one story has one link.
fn canonical_id(text: &str) -> Option<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| id.to_string() == text && *id > 0)
}

fn link_not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not recognised",
        "<h1>This link is not recognised</h1><p>The link may be incomplete. Copy the whole \
         link from the email, or find the story in the <a href=\"/archive\">archive</a>.</p>",
    )
}

/// What a genuine tracked link leads to: the story's URL and whether the click counted.
struct Followed {
    url: String,
    verdict: crate::clicks::Verdict,
}

/// `GET /r/{digest}/{story}/{sig}` (and `HEAD`): a forged, cut or foreign signature, an
/// id not written as links write it, or a story its digest does not carry gets 404 and
/// counts nothing. Otherwise the story's URL, read from the stored digest, gets a 302,
/// and the click is counted (one upsert) unless [`crate::clicks::judge`] says a person
/// did not make it.
async fn click(
    State(shared): State<SharedApp>,
    Path((digest, story, sig)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
) -> Response {
    let app = shared.get();
    let client = client_ip(&app, &headers, peer);
    let (Some(digest), Some(story)) = (canonical_id(&digest), canonical_id(&story)) else {
        return link_not_found();
    };
    // The signature is checked before the database is touched: a forged link costs an
    // HMAC, nothing more.
    let Some(member) = app.secret.verify_click(digest, story, &sig) else {
        return link_not_found();
    };
    let head = method == Method::HEAD;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let followed = app
        .blocking("following a tracked link", move |app| {
            let track = app.config.brief.reading.track;
            // A link that names a member counts per member only while track = "member".
            let member = member.filter(|_| track == crate::config::Track::Member);
            let store = app.store();
            let Some(target) = store.click_target(digest, member)? else {
                return Ok(None);
            };
            let stored: crate::select::Digest = serde_json::from_str(&target.content)
                .with_context(|| format!("digest {digest}'s stored content is unreadable"))?;
            let Some(url) = stored
                .stories()
                .find(|s| s.entry_id == story)
                .map(|s| s.url.clone())
            else {
                return Ok(None);
            };
            let now = Utc::now();
            let request = crate::clicks::Request {
                head,
                user_agent: user_agent.as_deref(),
                client,
                at: now,
            };
            let verdict = crate::clicks::judge(
                track != crate::config::Track::Off,
                &request,
                target.delivered_at,
                &app.config.web.scanner_networks,
            );
            if verdict == crate::clicks::Verdict::Count {
                store.record_click(digest, story, member, now)?;
            }
            Ok(Some(Followed { url, verdict }))
        })
        .await;
    match followed {
        Ok(Some(Followed { url, verdict })) => {
            if verdict != crate::clicks::Verdict::Count {
                app.metrics.click_ignored(verdict);
            }
            (
                StatusCode::FOUND,
                [
                    (header::LOCATION, url.as_str()),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
            )
                .into_response()
        }
        Ok(None) => link_not_found(),
        Err(e) => {
            tracing::error!("tracked link /r/{digest}/{story}: {e:#}");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<h1>Please try again</h1><p>This link cannot be followed just now.</p>",
            )
        }
    }
}

// ─── Sign-up and preference centre (issue #14) ─────────────────────────────────────────
//
// `GET/POST /subscribe`, `GET/POST /confirm/{token}` and `GET/POST /preferences/{token}`.
// The forms, limits and pages are `crate::signup`'s; these handlers read the request, call
// the store on a blocking thread and send confirmation mail off the request.

/// The address of the client a request came from, as the TCP connection saw it.
#[derive(Debug, Clone, Copy)]
struct Peer(std::net::SocketAddr);

/// The client's address (for the per-IP limits and `[web] scanner_networks`): the last
/// `X-Forwarded-For` entry with `[signup] forwarded_for` (what the proxy in front
/// appended), else the peer's.
fn client_ip(
    app: &App,
    headers: &HeaderMap,
    peer: Option<Extension<Peer>>,
) -> Option<std::net::IpAddr> {
    if app.config.signup.forwarded_for {
        return headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|ip| ip.trim().parse().ok());
    }
    peer.map(|Extension(Peer(addr))| addr.ip())
}

/// The section names, in the config's order.
fn section_names(app: &App) -> Vec<String> {
    app.config.sections.iter().map(|s| s.name.clone()).collect()
}

/// A sign-up page: the web page with the forms' CSS.
fn form_page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, crate::signup::FORM_CSS, body)
}

fn link_not_recognised() -> Response {
    form_page(
        StatusCode::NOT_FOUND,
        "Link not recognised",
        "<h1>This link is not recognised</h1><p>It may be incomplete: copy the whole link \
         from the email into the browser's address bar.</p>",
    )
}

fn try_again() -> Response {
    form_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "<h1>Please try again</h1><p>This page cannot be shown just now.</p>",
    )
}

/// A sign-up to confirm: records it and mails the link to `email`, off the request, so
/// the answer neither waits for nor shows what the database or the relay did.
fn send_confirmation(
    app: Arc<App>,
    email: String,
    name: Option<String>,
    sections: Vec<String>,
    member_id: Option<i64>,
) {
    tokio::spawn(async move {
        let who = email.clone();
        let result = async {
            let (id, message) = app
                .blocking("recording a sign-up", move |app| {
                    let base = app.config.brief.base_url.as_ref().context(
                        "confirmation links need [brief] base_url, the public address of these pages",
                    )?;
                    let now = Utc::now();
                    let expires = now + chrono::Duration::from_std(app.config.signup.confirm_within)?;
                    let id = app.store().record_signup(
                        &email,
                        name.as_deref(),
                        &sections,
                        member_id,
                        now,
                        expires,
                    )?;
                    let link = base.join(&format!("confirm/{}", app.secret.signup_token(id, &email)))?;
                    let purpose = match member_id {
                        Some(_) => confirm::Purpose::ChangeAddress,
                        None => confirm::Purpose::Subscribe,
                    };
                    let rendered = confirm::render(&app.config, purpose, link.as_str(), expires);
                    let label = format!("signup.{id}");
                    let to = lettre::message::Mailbox::new(name, email.parse()?);
                    let mut message = confirm::message(
                        &app.config,
                        &rendered,
                        to,
                        &label,
                        &app.secret.tag(&label),
                        std::time::SystemTime::now(),
                    )?;
                    if let Some(dkim) = &app.dkim {
                        message.sign(dkim);
                    }
                    Ok((id, message))
                })
                .await?;
            let delivery = &app.config.delivery;
            let sender = Sender::new(&delivery.transport, 1, delivery.timeout)?;
            let sent = sender.send(&message, &format!("signup-{id}")).await;
            sender.close().await;
            sent.map_err(anyhow::Error::from)
        }
        .await;
        match result {
            Ok(()) => tracing::info!(address = %who, "confirmation link sent"),
            Err(e) => tracing::warn!(address = %who, "confirmation link not sent: {e:#}"),
        }
    });
}

/// `GET /subscribe`: the form.
async fn subscribe_form(State(shared): State<SharedApp>) -> Response {
    let app = shared.get();
    if !app.config.signup.enabled {
        return page(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>");
    }
    signup_form_response(&app, StatusCode::OK, None, "", "")
}

fn signup_form_response(
    app: &App,
    status: StatusCode,
    error: Option<&str>,
    email: &str,
    name: &str,
) -> Response {
    let action = app
        .config
        .brief
        .base_url
        .as_ref()
        .and_then(|b| b.join("subscribe").ok())
        .map_or_else(|| "subscribe".to_string(), |u| u.to_string());
    let title = format!("Subscribe to {}", app.config.brief.name);
    let body = crate::signup::subscribe_page(
        &app.config.brief.name,
        &section_names(app),
        &action,
        error,
        email,
        name,
    );
    form_page(status, &title, &body)
}

/// `POST /subscribe`: one answer for every valid address (member, stranger, suppressed,
/// over a limit, or a robot's); only a malformed address is told apart.
async fn subscribe(
    State(shared): State<SharedApp>,
    Extension(limiter): Extension<Arc<crate::signup::Limiter>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = shared.get();
    if !app.config.signup.enabled {
        return page(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>");
    }
    let form = match crate::signup::parse_signup(&body, &section_names(&app)) {
        Ok(form) => form,
        Err(why) => {
            let typed: HashMap<String, String> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let field = |k: &str| typed.get(k).map_or("", String::as_str);
            return signup_form_response(
                &app,
                StatusCode::BAD_REQUEST,
                Some(&format!(
                    "{why}. Check the address and send the form again."
                )),
                field("email"),
                field("name"),
            );
        }
    };
    let client = client_ip(&app, &headers, peer);
    let limits = &app.config.signup;
    if form.robot {
        tracing::info!(client = ?client, "sign-up with the honeypot filled: nothing sent");
    } else if let Err(why) = limiter.allow(
        &form.email,
        client,
        limits.per_address,
        limits.per_ip,
        std::time::Instant::now(),
    ) {
        tracing::warn!(address = %form.email, client = ?client, "sign-up over the {why}: nothing sent");
    } else {
        send_confirmation(Arc::clone(&app), form.email, form.name, form.sections, None);
    }
    form_page(
        StatusCode::OK,
        "Check your inbox",
        &crate::signup::check_inbox_page(&app.config.brief.name),
    )
}

/// The sign-up a confirmation token names, when genuine (and, with sign-up off, only an
/// address change's).
async fn signup_for(app: &Arc<App>, token: &str) -> Option<crate::store::Signup> {
    let token = token.to_string();
    let found = app
        .blocking("looking up a sign-up", move |app| {
            let store = app.store();
            let id = app.secret.verify_signup(&token, |id| {
                store.signup(id).ok().flatten().map(|s| s.email)
            });
            Ok(id.and_then(|id| store.signup(id).ok().flatten()))
        })
        .await
        .ok()
        .flatten()?;
    (app.config.signup.enabled || found.member_id.is_some()).then_some(found)
}

fn link_expired(app: &App) -> Response {
    let again = if app.config.signup.enabled {
        "<p><a href=\"../subscribe\">Sign up again</a> to get a new link.</p>"
    } else {
        "<p>Ask again from the preference centre to get a new link.</p>"
    };
    form_page(
        StatusCode::GONE,
        "Link expired",
        &format!("<h1>This link has expired</h1><p>Nothing was changed.</p>{again}"),
    )
}

/// `GET /confirm/{token}`: a page with one button; a GET changes nothing (mail scanners
/// open links).
async fn confirm_page(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(signup) = signup_for(&app, &token).await else {
        return link_not_recognised();
    };
    if signup.confirmed_at.is_some() {
        return form_page(
            StatusCode::OK,
            "Confirmed",
            "<h1>Already confirmed</h1><p>This link was used before; nothing more to do.</p>",
        );
    }
    if signup.expires_at <= Utc::now() {
        return link_expired(&app);
    }
    form_page(
        StatusCode::OK,
        "Confirm",
        &crate::signup::confirm_page(
            &app.config.brief.name,
            &signup.email,
            signup.member_id.is_some(),
        ),
    )
}

/// `POST /confirm/{token}`: confirms the sign-up or the address change.
async fn confirm(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(signup) = signup_for(&app, &token).await else {
        return link_not_recognised();
    };
    let id = signup.id;
    let done = app
        .blocking("confirming a sign-up", move |app| {
            app.store().confirm_signup(id, Utc::now())
        })
        .await;
    let brief = escape(&app.config.brief.name);
    let email = escape(&signup.email);
    use crate::store::Confirmed;
    match done {
        Ok(Confirmed::Added(_) | Confirmed::Reactivated(_)) => {
            tracing::info!(address = %signup.email, "sign-up confirmed");
            form_page(
                StatusCode::OK,
                "Subscribed",
                &format!(
                    "<h1>You are subscribed</h1><p>{email} receives {brief} from the next issue.</p>"
                ),
            )
        }
        Ok(Confirmed::AddressChanged(_)) => {
            tracing::info!(address = %signup.email, "address change confirmed");
            form_page(
                StatusCode::OK,
                "Address changed",
                &format!(
                    "<h1>Address changed</h1><p>{brief} goes to {email} from the next issue.</p>"
                ),
            )
        }
        Ok(Confirmed::AlreadyDone) => form_page(
            StatusCode::OK,
            "Confirmed",
            "<h1>Already confirmed</h1><p>This link was used before; nothing more to do.</p>",
        ),
        Ok(Confirmed::Expired) => link_expired(&app),
        Ok(Confirmed::AddressTaken) => form_page(
            StatusCode::CONFLICT,
            "Address in use",
            &format!(
                "<h1>Nothing changed</h1><p>{email} already receives {brief} as another member. \
                 Unsubscribe one of the two from its own preference page.</p>"
            ),
        ),
        Ok(Confirmed::MemberGone) => form_page(
            StatusCode::CONFLICT,
            "Nothing changed",
            "<h1>Nothing changed</h1><p>The membership this address was for has ended.</p>",
        ),
        Err(e) => {
            tracing::error!("confirming sign-up {id}: {e:#}");
            try_again()
        }
    }
}

/// The brief's date now, in its time zone.
fn brief_today(app: &App) -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&app.config.brief.timezone)
        .date_naive()
}

/// The preference centre for `member`, with `notice` from the last change.
async fn preferences_response(
    app: &Arc<App>,
    member: crate::store::Member,
    notice: Option<(&str, bool)>,
    status: StatusCode,
) -> Response {
    let brief = &app.config.brief.name;
    if member.status != MemberStatus::Active {
        let again = if app.config.signup.enabled {
            " <a href=\"../subscribe\">Sign up again</a> to receive it."
        } else {
            ""
        };
        let (text, _) = notice.unwrap_or(("", false));
        let text = if text.is_empty() {
            String::new()
        } else {
            format!("<p class=\"notice\" role=\"status\">{}</p>", escape(text))
        };
        return form_page(
            status,
            "Preferences",
            &format!(
                "<h1>{}: your preferences</h1>{text}<p>{} no longer receives {}.{again}</p>",
                escape(brief),
                escape(&member.email),
                escape(brief),
            ),
        );
    }
    let id = member.id;
    let prefs = app
        .blocking("reading a member's preferences", move |app| {
            app.store().preferences(id)
        })
        .await;
    let Ok(Some(prefs)) = prefs else {
        return try_again();
    };
    let tz = app.config.brief.timezone;
    let body = crate::signup::preferences_page(
        brief,
        &member.email,
        &section_names(app),
        &member.sections,
        // With no weekly edition everyone receives every digest: nothing to choose.
        app.config.brief.weekly.map(|_| prefs.frequency),
        prefs
            .paused_until
            .map(|t| t.with_timezone(&tz).date_naive()),
        brief_today(app),
        notice.map(|(n, _)| n),
        notice.is_some_and(|(_, error)| error),
    );
    form_page(status, &format!("{brief}: preferences"), &body)
}

/// `GET /preferences/{token}`: the member's choices; a GET never changes anything.
async fn preferences_page(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(member) = member_for(&app, &token).await else {
        return link_not_recognised();
    };
    preferences_response(&app, member, None, StatusCode::OK).await
}

/// `POST /preferences/{token}`: the one change its button names; the token in the URL is
/// the credential, and the page comes back showing what changed.
async fn preferences(
    State(shared): State<SharedApp>,
    Extension(limiter): Extension<Arc<crate::signup::Limiter>>,
    peer: Option<Extension<Peer>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use crate::signup::Change;
    let app = shared.get();
    let Some(member) = member_for(&app, &token).await else {
        return link_not_recognised();
    };
    if member.status != MemberStatus::Active {
        return preferences_response(&app, member, None, StatusCode::OK).await;
    }
    let change = crate::signup::parse_preferences(
        &body,
        &section_names(&app),
        app.config.brief.timezone,
        brief_today(&app),
    );
    let change = match change {
        Ok(c) => c,
        Err(why) => {
            return preferences_response(&app, member, Some((&why, true)), StatusCode::BAD_REQUEST)
                .await;
        }
    };
    if matches!(change, Change::Frequency(_)) && app.config.brief.weekly.is_none() {
        return preferences_response(
            &app,
            member,
            Some((
                "This brief has no weekly edition; every issue goes to every member.",
                true,
            )),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    if let Change::Address(new) = &change {
        if *new == member.email {
            return preferences_response(
                &app,
                member,
                Some(("That is already your address.", true)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        if app.config.brief.base_url.is_none() {
            return preferences_response(
                &app,
                member,
                Some(("Address changes need the brief's public address ([brief] base_url); ask the editor.", true)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
        let client = client_ip(&app, &headers, peer);
        let limits = &app.config.signup;
        let allowed = limiter.allow(
            new,
            client,
            limits.per_address,
            limits.per_ip,
            std::time::Instant::now(),
        );
        let notice = match allowed {
            Ok(()) => {
                send_confirmation(
                    Arc::clone(&app),
                    new.clone(),
                    member.name.clone(),
                    Vec::new(),
                    Some(member.id),
                );
                format!(
                    "We sent a link to {new}. Your address changes once you follow it; until then the brief goes to {}.",
                    member.email
                )
            }
            Err(why) => {
                tracing::warn!(
                    member = member.id,
                    "address change over the {why}: nothing sent"
                );
                "Too many confirmation messages were asked for; try again tomorrow.".to_string()
            }
        };
        return preferences_response(&app, member, Some((&notice, false)), StatusCode::OK).await;
    }
    let id = member.id;
    let applied = app
        .blocking("changing a member's preferences", move |app| {
            let store = app.store();
            let now = Utc::now();
            Ok(match &change {
                Change::Sections(s) => (
                    store.choose_sections(id, s, now)?,
                    "Sections saved; they hold from the next issue.",
                ),
                Change::Pause(until) => (
                    store.pause(id, Some(*until), now)?,
                    "Paused; issues start again on the day you chose.",
                ),
                Change::Resume => (
                    store.pause(id, None, now)?,
                    "Resumed; you receive the next issue.",
                ),
                Change::Unsubscribe => (store.unsubscribe(id, now)?, "You are unsubscribed."),
                Change::Frequency(f) => (
                    store.choose_frequency(id, *f, now)?,
                    match f {
                        crate::members::Frequency::Daily => {
                            "Saved: you receive every issue, from the next one."
                        }
                        crate::members::Frequency::Weekly => {
                            "Saved: you receive the weekly edition only, from the next one."
                        }
                    },
                ),
                Change::Address(_) => (false, ""),
            })
        })
        .await;
    let Ok((_, said)) = applied else {
        return try_again();
    };
    let Some(member) = member_for(&app, &token).await else {
        return link_not_recognised();
    };
    preferences_response(&app, member, Some((said, false)), StatusCode::OK).await
}

// ─── End of sign-up and preference centre ──────────────────────────────────────────────

// ─── Editor's desk (issue #15) ─────────────────────────────────────────────────────────
//
// `GET/POST /editor/sign-in` (mails a single-use link to an address in `[brief] editors`;
// the same answer for any address; rate limited per address and per client),
// `GET/POST /editor/sign-in/{token}` (one button; the POST makes the session cookie),
// `GET/POST /editor/draft/{key}` (the review page and its forms, every POST with the
// session's CSRF token) and `GET /editor/draft/{key}/preview` (the issue as a member sees
// it). Without a valid session every `/editor/…` URL answers the sign-in page, never data.
// Form actions and redirects are relative, so the pages work under any prefix a proxy
// puts them at.

/// The session cookie's name.
const SESSION_COOKIE: &str = "feedbrief_editor";
/// How long a mailed sign-in link works.
const SIGN_IN_LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// How long a session lasts.
const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// Sign-in links one address may be mailed a day.
const SIGN_IN_PER_ADDRESS: usize = 5;
/// Sign-in requests one client address may make an hour.
const SIGN_IN_PER_CLIENT: usize = 20;

/// The sign-in form's own limiter (apart from the sign-up form's).
#[derive(Debug, Default)]
struct EditorLimiter(crate::signup::Limiter);

fn editor_routes(router: Router<SharedApp>) -> Router<SharedApp> {
    router
        .route("/editor", get(editor_home))
        .route("/editor/", get(editor_home))
        .route("/editor/sign-in", get(sign_in_form).post(sign_in_request))
        .route(
            "/editor/sign-in/{token}",
            get(sign_in_link_page).post(sign_in_link),
        )
        .route("/editor/draft/{key}", get(draft_page).post(draft_action))
        .route("/editor/draft/{key}/preview", get(draft_preview))
        .route(
            "/editor/{*rest}",
            get(editor_elsewhere).post(editor_elsewhere),
        )
}

/// A page of the editor's desk.
fn desk_page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, crate::review::DESK_CSS, body)
}

/// The sign-in page, answered to any request without a valid session. `to_root` is the
/// relative way from the request's URL to `/editor/`.
fn sign_in_response(
    app: &App,
    status: StatusCode,
    to_root: &str,
    notice: Option<&str>,
) -> Response {
    desk_page(
        status,
        "Sign in",
        &crate::review::sign_in_page(&app.config.brief.name, &format!("{to_root}sign-in"), notice),
    )
}

/// The signed-in editor of a request.
struct EditorSession {
    email: String,
    hash: String,
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether `email` is one of `[brief] editors` now (one removed from the config loses
/// its session at once).
fn is_editor(app: &App, email: &str) -> bool {
    app.config
        .brief
        .editors
        .iter()
        .any(|m| m.email.to_string().eq_ignore_ascii_case(email))
}

/// The editor whose session cookie the request carries, when it is genuine and current.
async fn editor_session(app: &Arc<App>, headers: &HeaderMap) -> Option<EditorSession> {
    let value = cookie(headers, SESSION_COOKIE)?;
    // Only the form new_session_value writes: 64 hex digits.
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hash = crate::token::session_hash(&value);
    let lookup = hash.clone();
    let email = app
        .blocking("looking up an editor's session", move |app| {
            app.store().editor_session(&lookup, Utc::now())
        })
        .await
        .ok()
        .flatten()?;
    is_editor(app, &email).then_some(EditorSession { email, hash })
}

/// `GET /editor`: the newest draft's page, or the sign-in page.
async fn editor_home(
    State(shared): State<SharedApp>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let app = shared.get();
    // `/editor` and `/editor/` reach their children by different relative paths.
    let to_root = if uri.path().ends_with('/') {
        ""
    } else {
        "editor/"
    };
    if editor_session(&app, &headers).await.is_none() {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, to_root, None);
    }
    let latest = app
        .blocking("finding the newest draft", |app| app.store().latest_draft())
        .await;
    match latest {
        Ok(Some(d)) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("{to_root}draft/{}", app.secret.draft_key(d.id)),
            )],
        )
            .into_response(),
        Ok(None) => desk_page(
            StatusCode::OK,
            "No draft yet",
            &format!(
                "<h1>No draft yet</h1><p>The next issue is built as a draft {} before its slot, and every editor is mailed its link.</p>",
                escape(&humantime::format_duration(app.config.brief.review.lead).to_string())
            ),
        ),
        Err(e) => {
            tracing::error!("finding the newest draft: {e:#}");
            try_again()
        }
    }
}

/// Any other `/editor/…` URL: the sign-in page without a session, else 404.
async fn editor_elsewhere(State(shared): State<SharedApp>, headers: HeaderMap) -> Response {
    let app = shared.get();
    if editor_session(&app, &headers).await.is_none() {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, "/editor/", None);
    }
    desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>")
}

/// `GET /editor/sign-in`.
async fn sign_in_form(State(shared): State<SharedApp>) -> Response {
    sign_in_response(&shared.get(), StatusCode::OK, "", None)
}

/// `POST /editor/sign-in`: one answer for every valid address (editor or not, over a
/// limit or not); only a malformed address is told apart.
async fn sign_in_request(
    State(shared): State<SharedApp>,
    Extension(limiter): Extension<Arc<EditorLimiter>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = shared.get();
    let typed: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let email =
        match crate::members::normalise_address(typed.get("email").map_or("", String::as_str)) {
            Ok(e) => e,
            Err(why) => {
                return sign_in_response(
                    &app,
                    StatusCode::BAD_REQUEST,
                    "",
                    Some(&format!(
                        "{why}. Check the address and send the form again."
                    )),
                );
            }
        };
    let client = client_ip(&app, &headers, peer);
    if let Err(why) = limiter.0.allow(
        &email,
        client,
        SIGN_IN_PER_ADDRESS,
        SIGN_IN_PER_CLIENT,
        std::time::Instant::now(),
    ) {
        tracing::warn!(address = %email, client = ?client, "editor sign-in over the {why}: nothing sent");
    } else if is_editor(&app, &email) {
        send_sign_in_link(Arc::clone(&app), email);
    } else {
        tracing::info!(address = %email, client = ?client, "sign-in asked for an address that is not an editor's: nothing sent");
    }
    desk_page(
        StatusCode::OK,
        "Check your inbox",
        &crate::review::check_inbox_page(&app.config.brief.name),
    )
}

/// Records a sign-in link for `email` and mails it, off the request.
fn send_sign_in_link(app: Arc<App>, email: String) {
    tokio::spawn(async move {
        let who = email.clone();
        let result = async {
            let (id, message) = app
                .blocking("recording a sign-in link", move |app| {
                    let base = app.config.brief.base_url.as_ref().context(
                        "sign-in links need [brief] base_url, the public address of these pages",
                    )?;
                    let now = Utc::now();
                    let expires = now + SIGN_IN_LINK_LIFETIME;
                    let id = app.store().create_signin_link(&email, now, expires)?;
                    let link = base.join(&format!(
                        "editor/sign-in/{}",
                        app.secret.signin_token(id, &email)
                    ))?;
                    let body = format!(
                        "To sign in to the editor's desk of {brief}, open this link and press the \
                         button on the page:\n\n{link}\n\nIt works once, for 15 minutes. If you did \
                         not ask to sign in, ignore this message.\n",
                        brief = app.config.brief.name
                    );
                    let subject = format!("Sign in to review {}", app.config.brief.name);
                    let message = crate::cycle::drafts::editor_mail(app, email.parse()?, &subject, body)?;
                    Ok((id, message))
                })
                .await?;
            let delivery = &app.config.delivery;
            let sender = Sender::new(&delivery.transport, 1, delivery.timeout)?;
            let sent = sender.send(&message, &format!("sign-in-{id}")).await;
            sender.close().await;
            sent.map_err(anyhow::Error::from)
        }
        .await;
        match result {
            Ok(()) => tracing::info!(address = %who, "sign-in link sent"),
            Err(e) => tracing::warn!(address = %who, "sign-in link not sent: {e:#}"),
        }
    });
}

/// The sign-in link a token names, when genuine.
async fn sign_in_link_for(app: &Arc<App>, token: &str) -> Option<crate::store::SigninLink> {
    let token = token.to_string();
    app.blocking("looking up a sign-in link", move |app| {
        let store = app.store();
        let id = app.secret.verify_signin(&token, |id| {
            store.signin_link(id).ok().flatten().map(|l| l.email)
        });
        Ok(id.and_then(|id| store.signin_link(id).ok().flatten()))
    })
    .await
    .ok()
    .flatten()
}

fn sign_in_link_spent(app: &App, used: bool) -> Response {
    let why = if used {
        "This sign-in link was used already: each works once."
    } else {
        "This sign-in link has expired: each works for 15 minutes."
    };
    sign_in_response(
        app,
        StatusCode::GONE,
        "../",
        Some(&format!("{why} Ask for a new one below.")),
    )
}

/// `GET /editor/sign-in/{token}`: one button; a GET signs nobody in.
async fn sign_in_link_page(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(link) = sign_in_link_for(&app, &token).await else {
        return link_not_recognised();
    };
    if link.used_at.is_some() || link.expires_at <= Utc::now() {
        return sign_in_link_spent(&app, link.used_at.is_some());
    }
    desk_page(
        StatusCode::OK,
        "Sign in",
        &crate::review::sign_in_button_page(&app.config.brief.name, &token),
    )
}

/// `POST /editor/sign-in/{token}`: uses the link once and starts a session.
async fn sign_in_link(State(shared): State<SharedApp>, Path(token): Path<String>) -> Response {
    let app = shared.get();
    let Some(link) = sign_in_link_for(&app, &token).await else {
        return link_not_recognised();
    };
    if !is_editor(&app, &link.email) {
        return link_not_recognised();
    }
    let Ok(value) = crate::token::new_session_value() else {
        return try_again();
    };
    let hash = crate::token::session_hash(&value);
    let id = link.id;
    let used = app
        .blocking("signing an editor in", move |app| {
            let now = Utc::now();
            app.store()
                .use_signin_link(id, now, &hash, now + SESSION_LIFETIME)
        })
        .await;
    use crate::store::SignIn;
    match used {
        Ok(SignIn::Session(email)) => {
            tracing::info!(editor = %email, "editor signed in");
            let secure = app
                .config
                .brief
                .base_url
                .as_ref()
                .is_some_and(|u| u.scheme() == "https");
            let cookie = format!(
                "{SESSION_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
                SESSION_LIFETIME.num_seconds(),
                if secure { "; Secure" } else { "" }
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "../".to_string()),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response()
        }
        Ok(SignIn::Used) => sign_in_link_spent(&app, true),
        Ok(SignIn::Expired) => sign_in_link_spent(&app, false),
        Ok(SignIn::Unknown) => link_not_recognised(),
        Err(e) => {
            tracing::error!("signing an editor in: {e:#}");
            try_again()
        }
    }
}

/// The draft a review URL's key names, when genuine and stored.
async fn draft_for_key(app: &Arc<App>, key: &str) -> Option<crate::store::Draft> {
    let id = app.secret.verify_draft_key(key)?;
    app.blocking("reading a draft", move |app| app.store().draft(id))
        .await
        .ok()
        .flatten()
}

/// The review page of `draft` for `editor`, with `notice`.
async fn desk_response(
    app: &Arc<App>,
    key: &str,
    draft_id: i64,
    editor: &EditorSession,
    status: StatusCode,
    notice: Option<(String, bool)>,
) -> Response {
    let (email, csrf) = (editor.email.clone(), app.secret.csrf_token(&editor.hash));
    let action = key.to_string();
    let built = app
        .blocking("showing a draft", move |app| {
            let Some(draft) = app.store().draft(draft_id)? else {
                return Ok(None);
            };
            let digest = crate::cycle::drafts::draft_digest(&draft)?;
            let edits = app.store().draft_edits(draft_id, None)?;
            let (filtered, filtered_count) =
                crate::cycle::drafts::filtered_for_review(app, Utc::now())?;
            let clicks = match draft.sent_digest {
                Some(id) => Some(app.store().digest_story_clicks(id)?),
                None => None,
            };
            let sections = crate::cycle::drafts::section_names(app);
            let view = crate::review::DeskView {
                brief: &app.config.brief.name,
                editor: &email,
                action: &action,
                csrf: &csrf,
                sections: &sections,
                slot: draft
                    .slot
                    .with_timezone(&app.config.brief.timezone)
                    .format("%A %B %-d, %-I:%M %p %Z")
                    .to_string(),
                notice,
                filtered,
                filtered_count,
                clicks,
            };
            Ok(Some(crate::review::desk_page(
                &view, &draft, &digest, &edits,
            )))
        })
        .await;
    match built {
        Ok(Some(body)) => desk_page(status, "Review the next issue", &body),
        Ok(None) => desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>No such draft</h1>"),
        Err(e) => {
            tracing::error!("showing draft {draft_id}: {e:#}");
            try_again()
        }
    }
}

/// `GET /editor/draft/{key}`: the review page.
async fn draft_page(
    State(shared): State<SharedApp>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let app = shared.get();
    let Some(editor) = editor_session(&app, &headers).await else {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, "../", None);
    };
    let Some(draft) = draft_for_key(&app, &key).await else {
        return desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>No such draft</h1>");
    };
    desk_response(&app, &key, draft.id, &editor, StatusCode::OK, None).await
}

/// `GET /editor/draft/{key}/preview`: the issue as a member with every section sees it.
async fn draft_preview(
    State(shared): State<SharedApp>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let app = shared.get();
    if editor_session(&app, &headers).await.is_none() {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, "../../", None);
    }
    let Some(draft) = draft_for_key(&app, &key).await else {
        return desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>No such draft</h1>");
    };
    let rendered = app
        .blocking("rendering a draft", move |app| {
            let digest = crate::cycle::drafts::draft_digest(&draft)?;
            let member = crate::mail::render::Recipient {
                name: None,
                email: "member@example.org".into(),
                sections: Vec::new(),
                id: None,
            };
            let brief = crate::mail::brief_info(&app.config, None, digest.created_at);
            let (unsub, _) =
                crate::mail::unsubscribe_url(&app.config, &app.secret, 0, &member.email);
            app.templates
                .render(&digest, &brief, &member, &unsub, app.config.brief.timezone)
        })
        .await;
    match rendered {
        Ok(r) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            ],
            Html(r.html),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("rendering a draft: {e:#}");
            try_again()
        }
    }
}

/// What one posted form asks of a draft.
async fn draft_change(
    app: &Arc<App>,
    draft_id: i64,
    editor: &EditorSession,
    form: HashMap<String, String>,
) -> anyhow::Result<(StatusCode, String, bool)> {
    use crate::cycle::drafts::{self, Decision, Edited};
    use crate::review::Edit;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let num = |k: &str| form.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let version = num("version").unwrap_or(0);
    let entry = num("entry").unwrap_or(0);
    let index = num("index")
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(usize::MAX);
    let email = editor.email.clone();
    let now = Utc::now();
    let action = field("action");
    let edit = match action.as_str() {
        "remove" => Some(Edit::Remove(entry)),
        "up" => Some(Edit::Up(entry)),
        "down" => Some(Edit::Down(entry)),
        "lead" => Some(Edit::Lead(entry)),
        "move" => Some(Edit::Move {
            entry,
            section: field("section"),
        }),
        "announcement" => Some(Edit::Announcement {
            index,
            title: field("title"),
            body: field("body"),
        }),
        "hide" => Some(Edit::HideAnnouncement(index)),
        _ => None,
    };
    let edited = if let Some(edit) = edit {
        app.blocking("editing a draft", move |app| {
            drafts::edit_draft(app, draft_id, version, &email, now, &edit)
        })
        .await?
    } else {
        match action.as_str() {
            "text" => {
                let (title, summary) = (field("title"), field("summary"));
                app.blocking("editing a draft", move |app| {
                    let draft = app.store().draft(draft_id)?.context("the draft vanished")?;
                    let digest = drafts::draft_digest(&draft)?;
                    let story = digest.stories().find(|s| s.entry_id == entry).cloned();
                    let Some(story) = story else {
                        return Ok(Edited::Refused(crate::review::EditError::NoSuchStory));
                    };
                    let mut result = Edited::Saved(version);
                    let mut at = version;
                    if title.split_whitespace().collect::<Vec<_>>().join(" ") != story.title {
                        result = drafts::edit_draft(
                            app,
                            draft_id,
                            at,
                            &email,
                            now,
                            &Edit::Headline { entry, text: title },
                        )?;
                        match result {
                            Edited::Saved(v) => at = v,
                            _ => return Ok(result),
                        }
                    }
                    let same = summary.split_whitespace().collect::<Vec<_>>().join(" ")
                        == story.summary.as_deref().unwrap_or("");
                    if !same {
                        result = drafts::edit_draft(
                            app,
                            draft_id,
                            at,
                            &email,
                            now,
                            &Edit::Summary {
                                entry,
                                text: summary,
                            },
                        )?;
                    }
                    Ok(result)
                })
                .await?
            }
            "add" => {
                let section = field("section");
                match drafts::story_from_url(app, &field("url"), now).await {
                    Ok(mut story) => {
                        if !section.is_empty() {
                            story.section = section;
                        }
                        app.blocking("editing a draft", move |app| {
                            drafts::edit_draft(
                                app,
                                draft_id,
                                version,
                                &email,
                                now,
                                &Edit::Add(story),
                            )
                        })
                        .await?
                    }
                    Err(e) => {
                        return Ok((
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!("Not added: {e}."),
                            true,
                        ));
                    }
                }
            }
            "release" => {
                app.blocking("letting a filtered story through", move |app| {
                    drafts::release_into_draft(app, draft_id, version, &email, now, entry)
                })
                .await?
            }
            "approve" | "skip" => {
                let decision = if action == "approve" {
                    Decision::Approve
                } else {
                    Decision::Skip
                };
                app.blocking("deciding on a draft", move |app| {
                    drafts::decide(app, draft_id, version, &email, now, decision)
                })
                .await?
            }
            "test" => {
                let to = email.clone();
                let message = app
                    .blocking("composing a test copy", move |app| {
                        let draft = app.store().draft(draft_id)?.context("the draft vanished")?;
                        let digest = drafts::draft_digest(&draft)?;
                        let recipient = crate::mail::render::Recipient {
                            name: None,
                            email: to,
                            sections: Vec::new(),
                            id: None,
                        };
                        crate::mail::message_for(
                            app,
                            None,
                            &digest,
                            0,
                            &recipient,
                            std::time::SystemTime::now(),
                        )
                    })
                    .await?;
                let delivery = &app.config.delivery;
                let sender = Sender::new(&delivery.transport, 1, delivery.timeout)?;
                let sent = sender
                    .send(
                        &message,
                        &format!("test-draft-{draft_id}-{}", now.format("%Y%m%dT%H%M%S")),
                    )
                    .await;
                sender.close().await;
                return Ok(match sent {
                    Ok(()) => (
                        StatusCode::OK,
                        format!("A test copy went to {}.", editor.email),
                        false,
                    ),
                    Err(e) => (
                        StatusCode::BAD_GATEWAY,
                        format!("The test copy was not sent: {e}."),
                        true,
                    ),
                });
            }
            other => {
                return Ok((
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Nothing changed: {other:?} is not something this page does; reload it."
                    ),
                    true,
                ));
            }
        }
    };
    Ok(match edited {
        Edited::Saved(_) => {
            let msg = match action.as_str() {
                "approve" => "Approved: the slot sends this issue exactly as it stands.",
                "skip" => "Skipped: nothing goes out at this slot; its stories stay for the next.",
                _ => "Saved.",
            };
            (StatusCode::OK, msg.to_string(), false)
        }
        Edited::Stale(changes) => (
            StatusCode::CONFLICT,
            crate::review::stale_notice(&changes),
            true,
        ),
        Edited::Refused(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Not saved: {e}."),
            true,
        ),
        Edited::Closed => (
            StatusCode::CONFLICT,
            "Not saved: this issue was sent or skipped, and changes no more.".to_string(),
            true,
        ),
        Edited::Unknown => (StatusCode::NOT_FOUND, "No such draft.".to_string(), true),
    })
}

/// `POST /editor/draft/{key}`: one form's change, with the session's CSRF token; the
/// page comes back with what happened.
async fn draft_action(
    State(shared): State<SharedApp>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = shared.get();
    let Some(editor) = editor_session(&app, &headers).await else {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, "../", None);
    };
    let Some(draft) = draft_for_key(&app, &key).await else {
        return desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>No such draft</h1>");
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let csrf = form.get("csrf").map_or("", String::as_str);
    if !app.secret.verify_csrf(&editor.hash, csrf) {
        tracing::warn!(editor = %editor.email, "a draft form without its session's CSRF token: refused");
        return desk_page(
            StatusCode::FORBIDDEN,
            "Nothing changed",
            "<h1>Nothing changed</h1><p>This form did not come from your review page (its security token is missing or stale). Reload the page and try again.</p>",
        );
    }
    if form.get("action").map(String::as_str) == Some("sign-out") {
        let hash = editor.hash.clone();
        let _ = app
            .blocking("signing an editor out", move |app| {
                app.store().end_editor_session(&hash)
            })
            .await;
        let mut response =
            sign_in_response(&app, StatusCode::OK, "../", Some("You are signed out."));
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        )) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    let (status, notice, error) = match draft_change(&app, draft.id, &editor, form).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(draft = draft.id, "changing a draft: {e:#}");
            return try_again();
        }
    };
    if !error {
        tracing::info!(draft = draft.id, editor = %editor.email, "{notice}");
    }
    desk_response(&app, &key, draft.id, &editor, status, Some((notice, error))).await
}

// ─── End of the editor's desk ──────────────────────────────────────────────────────────

async fn archive_index(State(shared): State<SharedApp>) -> Response {
    let app = shared.get();
    let listed = app
        .blocking("listing the archive", |app| {
            let store = app.store();
            Ok((store.digests()?, store.clicks_by_digest()?))
        })
        .await;
    let (digests, clicks) = match listed {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("archive: {e:#}");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Archive",
                "<h1>Archive unavailable</h1>",
            );
        }
    };
    let tz = app.config.brief.timezone;
    let items: String = digests
        .iter()
        .map(|d| {
            let read = match clicks.get(&d.id) {
                Some(1) => " &middot; 1 click".to_string(),
                Some(n) => format!(" &middot; {n} clicks"),
                None => String::new(),
            };
            format!(
                "<li><a href=\"archive/{}\">{}</a> &mdash; {}{read}</li>",
                d.id,
                escape(&d.subject),
                d.created_at.with_timezone(&tz).format("%B %-d, %Y")
            )
        })
        .collect();
    let name = escape(&app.config.brief.name);
    // Relative links resolve under base_url whatever path prefix a proxy adds.
    page_with_head(
        StatusCode::OK,
        &format!("{} archive", app.config.brief.name),
        &format!(
            "<base href=\"./\"><link rel=\"alternate\" type=\"application/atom+xml\" \
             title=\"{name}\" href=\"archive.xml\">"
        ),
        &format!(
            "<h1>{name}</h1><p>Past issues</p><ul>{items}</ul>\
             <p><a href=\"archive.xml\">Follow in a feed reader (Atom)</a></p>"
        ),
    )
}

/// The public base of the web endpoints: `[brief] base_url`, else this request's host
/// (checked to be a plain host name or address), else `http://localhost/`.
fn public_base(app: &App, headers: &HeaderMap) -> url::Url {
    if let Some(base) = &app.config.brief.base_url {
        return base.clone();
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .and_then(|h| url::Url::parse(&format!("http://{h}/")).ok())
        .unwrap_or_else(|| url::Url::parse("http://localhost/").expect("a valid literal URL"))
}

/// `GET /archive.xml`: the last [`crate::atom::FEED_ISSUES`] digests as an Atom feed. A
/// digest whose stored content cannot be read is left out (and logged), not the feed.
async fn archive_feed(State(shared): State<SharedApp>, headers: HeaderMap) -> Response {
    let app = shared.get();
    let base = public_base(&app, &headers);
    let rows = app
        .blocking("reading the archive feed", |app| {
            app.store().recent_digests(crate::atom::FEED_ISSUES)
        })
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!("archive feed: {e:#}");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Archive",
                "<h1>Archive unavailable</h1>",
            );
        }
    };
    let issues: Vec<crate::atom::Issue> = rows
        .into_iter()
        .filter_map(|row| match serde_json::from_str(&row.content) {
            Ok(digest) => Some(crate::atom::Issue {
                id: row.id,
                subject: row.subject,
                created_at: row.created_at,
                digest,
            }),
            Err(e) => {
                tracing::warn!(
                    digest = row.id,
                    "archive feed: stored content unreadable, left out: {e}"
                );
                None
            }
        })
        .collect();
    let xml = crate::atom::archive_feed(&app.config.brief.name, &base, &issues);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        xml,
    )
        .into_response()
}

async fn archive_issue(State(shared): State<SharedApp>, Path(id): Path<String>) -> Response {
    let app = shared.get();
    let Ok(id) = id.trim_end_matches(".html").parse::<i64>() else {
        return page(StatusCode::NOT_FOUND, "Not found", "<h1>No such issue</h1>");
    };
    // Rendering the templates and inlining the CSS: a blocking thread's work.
    let html = app
        .blocking("rendering an archived issue", move |app| {
            crate::mail::web_version(app, id)
        })
        .await;
    match html {
        Ok(Some(html)) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "public, max-age=300")],
            Html(html),
        )
            .into_response(),
        Ok(None) => page(StatusCode::NOT_FOUND, "Not found", "<h1>No such issue</h1>"),
        Err(e) => {
            tracing::error!("archive {id}: {e:#}");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Archive",
                "<h1>Archive unavailable</h1>",
            )
        }
    }
}

async fn healthz(State(shared): State<SharedApp>) -> Response {
    let app = shared.get();
    let last = app
        .blocking("reading the last digest", |app| app.store().last_digest())
        .await
        .ok()
        .flatten();
    let m = app.metrics.snapshot();
    let body = serde_json::json!({
        "status": "ok",
        "cycles": m.cycles,
        "last_cycle_at": m.last_cycle_at.map(|t| t.to_rfc3339()),
        "last_fetch_at": m.last_fetch_at.map(|t| t.to_rfc3339()),
        "last_digest": last.map(|d| serde_json::json!({"id": d.id, "created_at": d.created_at.to_rfc3339()})),
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Samples labelled by status, in the order the database lists them.
fn by_status<S: std::fmt::Display>(counts: &[StatusCount<S>]) -> Vec<(String, f64)> {
    counts
        .iter()
        .map(|c| (format!("{{status=\"{}\"}}", c.status), c.count as f64))
        .collect()
}

/// Prometheus text format (version 0.0.4).
async fn metrics(State(shared): State<SharedApp>) -> Response {
    let app = shared.get();
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, v) in samples {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    let store_counts = app
        .blocking("counting for the metrics", |app| {
            let store = app.store();
            // Every filtered entry not released, wherever the window is: the window only
            // splits the counts, and they are summed below.
            let filtered = store.filtered_counts(None, Utc::now())?;
            let clicks = store.clicks_total()?;
            Ok((store.feeds_by_state()?, store.counts()?, filtered, clicks))
        })
        .await;
    match store_counts {
        Ok((feeds, counts, filtered, clicks)) => {
            family(
                "feedbrief_clicks_total",
                "counter",
                "Clicks on tracked story links counted (HEAD, scanners and clicks right after delivery left out).",
                &[(String::new(), clicks as f64)],
            );
            let samples: Vec<(String, f64)> = feeds
                .iter()
                .map(|c| (format!("{{state=\"{}\"}}", c.status), c.count as f64))
                .collect();
            family(
                "feedbrief_feeds",
                "gauge",
                "Feeds by state (ok, failing, disabled, never_fetched).",
                &samples,
            );
            family(
                "feedbrief_entries",
                "gauge",
                "Entries stored.",
                &[(String::new(), counts.entries as f64)],
            );
            let by_list: Vec<(String, f64)> = crate::filter::FilterList::ALL
                .into_iter()
                .map(|list| {
                    let n: i64 = filtered
                        .iter()
                        .filter(|c| c.list == list)
                        .map(|c| c.count)
                        .sum();
                    (format!("{{list=\"{}\"}}", list.as_str()), n as f64)
                })
                .collect();
            family(
                "feedbrief_entries_filtered",
                "gauge",
                "Entries left out by a filter and not released, by list (brief.exclude, feed.exclude, feed.include, brief.include).",
                &by_list,
            );
            family(
                "feedbrief_digests",
                "gauge",
                "Digests recorded.",
                &[(String::new(), counts.digests as f64)],
            );
            family(
                "feedbrief_deliveries",
                "gauge",
                "Deliveries by outcome (pending, retry, sent, failed).",
                &by_status(&counts.deliveries),
            );
            family(
                "feedbrief_members",
                "gauge",
                "Members by status (active, unsubscribed, bounced, removed).",
                &by_status(&counts.members),
            );
        }
        Err(e) => {
            tracing::error!("metrics: {e:#}");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    }
    let m = app.metrics.snapshot();
    let ignored: Vec<(String, f64)> = crate::clicks::Verdict::IGNORED
        .into_iter()
        .map(|v| {
            let n = m.clicks_ignored.get(v.as_str()).copied().unwrap_or(0);
            (format!("{{reason=\"{}\"}}", v.as_str()), n as f64)
        })
        .collect();
    family(
        "feedbrief_clicks_ignored_total",
        "counter",
        "Requests to tracked links since start that were redirected but not counted, by reason.",
        &ignored,
    );
    family(
        "feedbrief_cycles_total",
        "counter",
        "Digest cycles completed since start.",
        &[(String::new(), m.cycles as f64)],
    );
    family(
        "feedbrief_fetches_total",
        "counter",
        "Fetch runs completed since start.",
        &[(String::new(), m.fetches as f64)],
    );
    family(
        "feedbrief_fetch_seconds_total",
        "counter",
        "Wall time spent fetching since start.",
        &[(String::new(), m.fetch_total.as_secs_f64())],
    );
    family(
        "feedbrief_last_fetch_seconds",
        "gauge",
        "Wall time of the last fetch run.",
        &[(String::new(), m.last_fetch.as_secs_f64())],
    );
    family(
        "feedbrief_last_cycle_seconds",
        "gauge",
        "Wall time of the last digest cycle.",
        &[(String::new(), m.last_cycle.as_secs_f64())],
    );
    family(
        "feedbrief_last_cycle_timestamp_seconds",
        "gauge",
        "When the last digest cycle finished (Unix time; 0 before the first).",
        &[(
            String::new(),
            m.last_cycle_at.map_or(0.0, |t| t.timestamp() as f64),
        )],
    );
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn one_click_is_read_from_urlencoded_and_multipart_bodies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(is_one_click(&h, b"List-Unsubscribe=One-Click"));
        assert!(!is_one_click(&h, b"List-Unsubscribe=No"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=xyz"),
        );
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--xyz--\r\n";
        assert!(is_one_click(&h, body));
    }

    #[test]
    fn one_click_needs_the_exact_field_and_value_not_a_substring() {
        let form = |ctype: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            h
        };
        let urlencoded = form("application/x-www-form-urlencoded");
        for body in [
            "List-Unsubscribe=One-Click",
            "other=1&List-Unsubscribe=One-Click",
            "List-Unsubscribe=One%2DClick\r\n",
        ] {
            assert!(is_one_click(&urlencoded, body.as_bytes()), "{body:?}");
        }
        for body in [
            "List-Unsubscribe=One-Clicky",
            "List-Unsubscribe=one-click",
            "List-Unsubscribe-Post=One-Click",
            "X-List-Unsubscribe=One-Click",
            "List-Unsubscribe=One-Click-Not",
            "",
        ] {
            assert!(!is_one_click(&urlencoded, body.as_bytes()), "{body:?}");
        }
        let multipart = form("multipart/form-data; boundary=\"b 1\"");
        let part = |headers: &str, value: &str| {
            format!("--b 1\r\n{headers}\r\n\r\n{value}\r\n--b 1--\r\n")
        };
        let ok = part(
            "Content-Disposition: form-data; name=\"List-Unsubscribe\"",
            "One-Click",
        );
        assert!(is_one_click(&multipart, ok.as_bytes()), "{ok}");
        let refused = [
            // A value that only starts with One-Click.
            part(
                "Content-Disposition: form-data; name=\"List-Unsubscribe\"",
                "One-Clickety",
            ),
            part(
                "Content-Disposition: form-data; name=\"List-Unsubscribe\"",
                "One-Click\r\nmore",
            ),
            // The name only inside another part's value.
            part(
                "Content-Disposition: form-data; name=\"note\"",
                "name=\"List-Unsubscribe\"\r\n\r\nOne-Click",
            ),
            // Another field whose filename mentions it.
            part(
                "Content-Disposition: form-data; name=\"f\"; filename=\"name=\\\"List-Unsubscribe\\\"\"",
                "One-Click",
            ),
            // A part of another boundary.
            "--other\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--other--\r\n".to_string(),
        ];
        for body in refused {
            assert!(!is_one_click(&multipart, body.as_bytes()), "{body:?}");
        }
    }
}

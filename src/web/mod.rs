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

mod editor;
mod signup;

use editor::*;
use signup::*;

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
        crate::fetch::find(body, &delimiter).map(|i| &body[i + delimiter.len()..])
    };
    std::iter::from_fn(move || {
        loop {
            let after = rest.take()?;
            // "--" after a delimiter closes the body.
            if after.starts_with(b"--") {
                return None;
            }
            let end = crate::fetch::find(after, &delimiter)?;
            rest = Some(&after[end + delimiter.len()..]);
            // The delimiter line's own end (transport padding allowed), then the part.
            let part = &after[crate::fetch::find(after, b"\r\n")? + 2..end];
            let Some(split) = crate::fetch::find(part, b"\r\n\r\n") else {
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
                "Deliveries by outcome (pending, sending, retry, sent, failed).",
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

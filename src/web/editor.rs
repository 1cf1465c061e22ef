//! The editor's desk (issue #15): sign-in by mailed link, sessions, and the review page
//! of a draft with its forms; pages in [`crate::review`], the slot logic in
//! [`crate::cycle::drafts`].

use super::*;

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
pub(super) const SESSION_COOKIE: &str = "feedbrief_editor";
/// How long a mailed sign-in link works.
pub(super) const SIGN_IN_LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// How long a session lasts.
pub(super) const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// Sign-in links one address may be mailed a day.
pub(super) const SIGN_IN_PER_ADDRESS: usize = 5;
/// Sign-in requests one client address may make an hour.
pub(super) const SIGN_IN_PER_CLIENT: usize = 20;

/// The sign-in form's own limiter (apart from the sign-up form's).
#[derive(Debug, Default)]
pub(super) struct EditorLimiter(crate::signup::Limiter);

pub(super) fn editor_routes(router: Router<SharedApp>) -> Router<SharedApp> {
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
pub(super) fn desk_page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, crate::review::DESK_CSS, body)
}

/// The sign-in page, answered to any request without a valid session. `to_root` is the
/// relative way from the request's URL to `/editor/`.
pub(super) fn sign_in_response(
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
pub(super) struct EditorSession {
    email: String,
    hash: String,
}

/// The value of cookie `name` in the request.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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
pub(super) fn is_editor(app: &App, email: &str) -> bool {
    app.config
        .brief
        .editors
        .iter()
        .any(|m| m.email.to_string().eq_ignore_ascii_case(email))
}

/// The editor whose session cookie the request carries, when it is genuine and current.
pub(super) async fn editor_session(app: &Arc<App>, headers: &HeaderMap) -> Option<EditorSession> {
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
pub(super) async fn editor_home(
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
pub(super) async fn editor_elsewhere(
    State(shared): State<SharedApp>,
    headers: HeaderMap,
) -> Response {
    let app = shared.get();
    if editor_session(&app, &headers).await.is_none() {
        return sign_in_response(&app, StatusCode::UNAUTHORIZED, "/editor/", None);
    }
    desk_page(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>")
}

/// `GET /editor/sign-in`.
pub(super) async fn sign_in_form(State(shared): State<SharedApp>) -> Response {
    sign_in_response(&shared.get(), StatusCode::OK, "", None)
}

/// `POST /editor/sign-in`: one answer for every valid address (editor or not, over a
/// limit or not); only a malformed address is told apart.
pub(super) async fn sign_in_request(
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
pub(super) fn send_sign_in_link(app: Arc<App>, email: String) {
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
pub(super) async fn sign_in_link_for(
    app: &Arc<App>,
    token: &str,
) -> Option<crate::store::SigninLink> {
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

pub(super) fn sign_in_link_spent(app: &App, used: bool) -> Response {
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
pub(super) async fn sign_in_link_page(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
) -> Response {
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
pub(super) async fn sign_in_link(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
) -> Response {
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
pub(super) async fn draft_for_key(app: &Arc<App>, key: &str) -> Option<crate::store::Draft> {
    let id = app.secret.verify_draft_key(key)?;
    app.blocking("reading a draft", move |app| app.store().draft(id))
        .await
        .ok()
        .flatten()
}

/// The review page of `draft` for `editor`, with `notice`.
pub(super) async fn desk_response(
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
                crate::cycle::drafts::filtered_for_review(app, draft.created_at)?;
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
pub(super) async fn draft_page(
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
pub(super) async fn draft_preview(
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
pub(super) async fn draft_change(
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
pub(super) async fn draft_action(
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

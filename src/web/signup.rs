//! The sign-up form, its confirmation and the preference centre (issue #14): these
//! handlers read the request, call [`crate::signup`] and answer its pages.

use super::*;

// ─── Sign-up and preference centre (issue #14) ─────────────────────────────────────────
//
// `GET/POST /subscribe`, `GET/POST /confirm/{token}` and `GET/POST /preferences/{token}`.
// The forms, limits and pages are `crate::signup`'s; these handlers read the request, call
// the store on a blocking thread and send confirmation mail off the request.

/// The address of the client a request came from, as the TCP connection saw it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub(super) std::net::SocketAddr);

/// The client's address (for the per-IP limits and `[web] scanner_networks`): the last
/// `X-Forwarded-For` entry with `[signup] forwarded_for` (what the proxy in front
/// appended), else the peer's.
pub(super) fn client_ip(
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
pub(super) fn section_names(app: &App) -> Vec<String> {
    app.config.sections.iter().map(|s| s.name.clone()).collect()
}

/// A sign-up page: the web page with the forms' CSS.
pub(super) fn form_page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, crate::signup::FORM_CSS, body)
}

pub(super) fn link_not_recognised() -> Response {
    form_page(
        StatusCode::NOT_FOUND,
        "Link not recognised",
        "<h1>This link is not recognised</h1><p>It may be incomplete: copy the whole link \
         from the email into the browser's address bar.</p>",
    )
}

pub(super) fn try_again() -> Response {
    form_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "<h1>Please try again</h1><p>This page cannot be shown just now.</p>",
    )
}

/// A sign-up to confirm: records it and mails the link to `email`, off the request, so
/// the answer neither waits for nor shows what the database or the relay did.
pub(super) fn send_confirmation(
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
pub(super) async fn subscribe_form(State(shared): State<SharedApp>) -> Response {
    let app = shared.get();
    if !app.config.signup.enabled {
        return page(StatusCode::NOT_FOUND, "Not found", "<h1>Not found</h1>");
    }
    signup_form_response(&app, StatusCode::OK, None, "", "")
}

pub(super) fn signup_form_response(
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
pub(super) async fn subscribe(
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
pub(super) async fn signup_for(app: &Arc<App>, token: &str) -> Option<crate::store::Signup> {
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

pub(super) fn link_expired(app: &App) -> Response {
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
pub(super) async fn confirm_page(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
) -> Response {
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
pub(super) async fn confirm(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
) -> Response {
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
pub(super) fn brief_today(app: &App) -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&app.config.brief.timezone)
        .date_naive()
}

/// The preference centre for `member`, with `notice` from the last change.
pub(super) async fn preferences_response(
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
pub(super) async fn preferences_page(
    State(shared): State<SharedApp>,
    Path(token): Path<String>,
) -> Response {
    let app = shared.get();
    let Some(member) = member_for(&app, &token).await else {
        return link_not_recognised();
    };
    preferences_response(&app, member, None, StatusCode::OK).await
}

/// `POST /preferences/{token}`: the one change its button names; the token in the URL is
/// the credential, and the page comes back showing what changed.
pub(super) async fn preferences(
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

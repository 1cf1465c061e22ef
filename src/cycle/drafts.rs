//! Review before sending (issue #15, `[brief] review = "required"`): the slot's digest
//! built as a draft at `slot - review_lead` and the editors mailed a link; at the slot,
//! the draft → what goes out (approved: exactly as approved; unapproved: as it stands or
//! held, per `review_missing`; skipped: nothing). Also the edits the review page and
//! `feedbrief review` make, through one path: load the draft, [`crate::review::apply`],
//! [`crate::store::Store::save_draft`] with the version the editor saw.
//!
//! A draft records no digest: the window of candidates moves only when a digest is
//! recorded for the slot (once, by the digests' unique slot index), so the stories of a
//! skipped or held slot stay candidates.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;

use super::{fetch_story_pages, next_digest};
use crate::app::App;
use crate::config::ReviewMissing;
use crate::mail::transport::Sender;
use crate::review::{self, Edit, EditError};
use crate::select::{Digest, Story};
use crate::store::{Change, Draft, DraftState, Saved};

/// The next schedule slot strictly after `now`, in UTC.
fn next_slot(app: &App, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&app.config.brief.timezone);
    app.config
        .brief
        .schedule
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// With review on, the slot whose draft should exist by `now`: the next slot, once `now`
/// is within `review_lead` of it.
pub fn draft_slot(app: &App, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !app.config.brief.review.required {
        return None;
    }
    let slot = next_slot(app, now)?;
    let lead = chrono::Duration::from_std(app.config.brief.review.lead).ok()?;
    (now >= slot - lead).then_some(slot)
}

/// When the next draft is due to be built (`slot - review_lead`), if review is on and
/// that is after `now`: the daemon wakes for it.
pub fn next_draft_at(app: &App, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !app.config.brief.review.required {
        return None;
    }
    let lead = chrono::Duration::from_std(app.config.brief.review.lead).ok()?;
    let at = next_slot(app, now)? - lead;
    (at > now).then_some(at)
}

/// A draft just built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftBuilt {
    /// Its id.
    pub id: i64,
    /// Its slot.
    pub slot: DateTime<Utc>,
    /// Stories it carries.
    pub stories: usize,
    /// Editors the link was mailed to.
    pub mailed: usize,
}

/// Builds the draft for the slot within `review_lead` of `now`, unless it exists or there
/// is nothing to put in it, and mails each editor the link. Nothing when review is off.
pub async fn prepare_draft(
    app: &Arc<App>,
    now: DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<DraftBuilt>> {
    let Some(slot) = draft_slot(app, now) else {
        return Ok(None);
    };
    let exists = app
        .blocking("looking for the slot's draft", move |app| {
            Ok(app.store().draft_for_slot(slot)?.is_some())
        })
        .await?;
    if exists {
        return Ok(None);
    }
    // The chosen stories' pages first, as a cycle reads them before building a digest.
    fetch_story_pages(app, now, cancel).await?;
    let built = app
        .blocking("building the draft", move |app| {
            let Some(digest) = next_digest(app, now)? else {
                return Ok(None);
            };
            let content = serde_json::to_string(&digest).context("serialising the draft")?;
            let stories = digest.stories().count();
            Ok(app
                .store()
                .create_draft(slot, now, &content)?
                .map(|id| (id, stories)))
        })
        .await?;
    let Some((id, stories)) = built else {
        return Ok(None);
    };
    let mailed = mail_draft_ready(app, id, slot, stories).await;
    tracing::info!(draft = id, slot = %slot.to_rfc3339(), stories, mailed, "draft built for review");
    Ok(Some(DraftBuilt {
        id,
        slot,
        stories,
        mailed,
    }))
}

/// What a slot sends, with review on.
#[derive(Debug, Clone, PartialEq)]
pub enum AtSlot {
    /// This digest goes out.
    Send(Box<Digest>, SendReason),
    /// Nothing goes out: the draft is unapproved and `review_missing = "hold"`.
    Held,
    /// Nothing goes out: an editor skipped the slot.
    Skipped,
    /// Nothing to send (no draft and no story, or the slot was sent already).
    Nothing,
}

/// Why a digest goes out at its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendReason {
    /// An editor approved it.
    Approved,
    /// Nobody decided; `review_missing = "send"`.
    Unapproved,
}

/// What `slot` sends with review on: the draft's content (approved, or unapproved with
/// `review_missing = "send"`), or nothing. A slot with no draft (the daemon was down at
/// `slot - review_lead`, or nothing was new then) counts as unapproved: with "send" the
/// digest is built now, as without review.
pub fn at_slot(app: &App, now: DateTime<Utc>, slot: DateTime<Utc>) -> anyhow::Result<AtSlot> {
    let draft = app.store().draft_for_slot(slot)?;
    let missing = app.config.brief.review.missing;
    let Some(draft) = draft else {
        return Ok(match missing {
            ReviewMissing::Hold => AtSlot::Held,
            ReviewMissing::Send => match next_digest(app, now)? {
                Some(d) => AtSlot::Send(Box::new(d), SendReason::Unapproved),
                None => AtSlot::Nothing,
            },
        });
    };
    if draft.sent_digest.is_some() {
        return Ok(AtSlot::Nothing);
    }
    let digest = || -> anyhow::Result<Box<Digest>> {
        serde_json::from_str(&draft.content).with_context(|| format!("reading draft {}", draft.id))
    };
    Ok(match (draft.state, missing) {
        (DraftState::Approved, _) => AtSlot::Send(digest()?, SendReason::Approved),
        (DraftState::Skipped, _) => AtSlot::Skipped,
        (DraftState::Open, ReviewMissing::Send) => AtSlot::Send(digest()?, SendReason::Unapproved),
        (DraftState::Open, ReviewMissing::Hold) => AtSlot::Held,
    })
}

/// The review page of draft `id` under `[brief] base_url`.
pub fn draft_url(app: &App, id: i64) -> Option<url::Url> {
    let base = app.config.brief.base_url.as_ref()?;
    base.join(&format!("editor/draft/{}", app.secret.draft_key(id)))
        .ok()
}

/// A plain-text mail from the brief to `to`.
pub(crate) fn editor_mail(
    app: &App,
    to: Mailbox,
    subject: &str,
    body: String,
) -> anyhow::Result<lettre::Message> {
    let mut message = lettre::Message::builder()
        .from(app.config.brief.from.clone())
        .to(to)
        .subject(subject)
        .date(std::time::SystemTime::now())
        .body(body)
        .context("building a mail to an editor")?;
    if let Some(dkim) = &app.dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// Mails each editor the link to draft `id`; returns how many were mailed (a failure is
/// logged: the draft is still there for whoever signs in).
async fn mail_draft_ready(app: &Arc<App>, id: i64, slot: DateTime<Utc>, stories: usize) -> usize {
    let Some(link) = draft_url(app, id) else {
        return 0;
    };
    let when = slot
        .with_timezone(&app.config.brief.timezone)
        .format("%A %B %-d at %-I:%M %p %Z")
        .to_string();
    let missing = match app.config.brief.review.missing {
        ReviewMissing::Send => "If nobody approves or skips it, it goes out as it stands.",
        ReviewMissing::Hold => "If nobody approves it, nothing goes out.",
    };
    let sender = match Sender::new(
        &app.config.delivery.transport,
        1,
        app.config.delivery.timeout,
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("mailing the draft's link: {e:#}");
            return 0;
        }
    };
    let mut mailed = 0;
    for editor in &app.config.brief.editors {
        let body = format!(
            "The next issue of {brief} ({stories} stories) is ready for review; it goes out \
             {when}.\n\n{link}\n\n{missing}\n\nThe page asks you to sign in: enter this \
             address and follow the link mailed to you.\n",
            brief = app.config.brief.name,
        );
        let subject = format!("Review the next {}", app.config.brief.name);
        let sent = match editor_mail(app, editor.clone(), &subject, body) {
            Ok(m) => sender
                .send(&m, &format!("draft-{id}-{}", editor.email))
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => mailed += 1,
            Err(e) => tracing::warn!(editor = %editor.email, "mailing the draft's link: {e:#}"),
        }
    }
    sender.close().await;
    mailed
}

/// What an editor's change did.
#[derive(Debug, Clone, PartialEq)]
pub enum Edited {
    /// Saved; the draft is at this version.
    Saved(i64),
    /// Refused: the draft changed since the version the editor saw; these changes.
    Stale(Vec<crate::store::DraftEdit>),
    /// Refused: the edit cannot be made (the message says why).
    Refused(EditError),
    /// Refused: the draft was sent or skipped.
    Closed,
    /// No such draft.
    Unknown,
}

/// A decision on a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send this version at the slot.
    Approve,
    /// Send nothing at the slot.
    Skip,
}

fn saved(s: Saved) -> Edited {
    match s {
        Saved::Saved(v) => Edited::Saved(v),
        Saved::Stale(e) => Edited::Stale(e),
        Saved::Closed => Edited::Closed,
        Saved::Unknown => Edited::Unknown,
    }
}

/// Applies `edit` to draft `id` as `editor` saw it at `version`, and records it. The one
/// path for the review page and `feedbrief review`.
pub fn edit_draft(
    app: &App,
    id: i64,
    version: i64,
    editor: &str,
    now: DateTime<Utc>,
    edit: &Edit,
) -> anyhow::Result<Edited> {
    let store = app.store();
    let Some(draft) = store.draft(id)? else {
        return Ok(Edited::Unknown);
    };
    if draft.version != version {
        // Told apart before the edit is tried: the story it names may have moved or gone.
        return Ok(saved(store.save_draft(
            id,
            version,
            editor,
            now,
            &Change {
                action: String::new(),
                before: None,
                after: None,
            },
            None,
            DraftState::Open,
        )?));
    }
    let mut digest: Digest =
        serde_json::from_str(&draft.content).with_context(|| format!("reading draft {id}"))?;
    let change = match review::apply(&mut digest, edit, &section_names(app)) {
        Ok(c) => c,
        Err(e) => return Ok(Edited::Refused(e)),
    };
    let content = serde_json::to_string(&digest).context("serialising the draft")?;
    Ok(saved(store.save_draft(
        id,
        version,
        editor,
        now,
        &change,
        Some(&content),
        DraftState::Open,
    )?))
}

/// Approves or skips draft `id` as `editor` saw it at `version`.
pub fn decide(
    app: &App,
    id: i64,
    version: i64,
    editor: &str,
    now: DateTime<Utc>,
    decision: Decision,
) -> anyhow::Result<Edited> {
    let (action, state) = match decision {
        Decision::Approve => ("approved", DraftState::Approved),
        Decision::Skip => ("skipped this slot", DraftState::Skipped),
    };
    let change = Change {
        action: action.into(),
        before: None,
        after: None,
    };
    Ok(saved(app.store().save_draft(
        id, version, editor, now, &change, None, state,
    )?))
}

/// The section names, in the config's order.
pub fn section_names(app: &App) -> Vec<String> {
    app.config.sections.iter().map(|s| s.name.clone()).collect()
}

/// Why a story could not be added by its URL.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Not an http(s) URL.
    #[error("{0:?} is not a web address; paste the whole https:// address of the story")]
    BadUrl(String),
    /// The fetch failed (the SSRF guard, a timeout, an HTTP error …).
    #[error("cannot fetch {url}: {source}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: crate::fetch::FetchError,
    },
    /// Not a web page.
    #[error("{0} is not a web page (HTML); link to the story's page")]
    NotHtml(String),
    /// Storing or reading failed.
    #[error("adding the story: {0:#}")]
    Other(anyhow::Error),
}

/// Fetches the page at `url` (the feeds' fetcher: its private-address guard, timeouts and
/// size limit), reads and summarizes it, and stores it as an entry: the story to add, in
/// the first section.
pub async fn story_from_url(
    app: &Arc<App>,
    url: &str,
    now: DateTime<Utc>,
) -> Result<Story, AddError> {
    let parsed = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| AddError::BadUrl(url.to_string()))?;
    let fetched = app
        .fetcher
        .get_page(&parsed)
        .await
        .map_err(|source| AddError::Fetch {
            url: parsed.to_string(),
            source,
        })?;
    if !fetched.is_html() {
        return Err(AddError::NotHtml(parsed.to_string()));
    }
    let (html, final_url) = (fetched.text(), fetched.final_url);
    app.blocking("reading an added story", move |app| {
        let rule = super::pages::site_rule(&app.config, &final_url);
        let article = crate::article::extract_with_rule(&html, Some(&final_url), rule.as_ref());
        let title = article
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| final_url.to_string());
        let page = super::page_update(&title, &html, &final_url, rule.as_ref());
        let link = page.url.clone().unwrap_or_else(|| final_url.to_string());
        let summary = page.summary.or(page.description);
        let source = page
            .source
            .or_else(|| {
                final_url
                    .host_str()
                    .map(|h| h.trim_start_matches("www.").to_string())
            })
            .unwrap_or_default();
        let id =
            app.store()
                .add_editor_entry(&link, &title, summary.as_deref(), Some(&source), now)?;
        Ok(Story {
            entry_id: id,
            title,
            url: link,
            summary,
            source,
            date: page.published_at.unwrap_or(now),
            section: section_names(app).into_iter().next().unwrap_or_default(),
            access_note: page.paywalled.then(|| "subscription required".to_string()),
            image: page.image,
        })
    })
    .await
    .map_err(AddError::Other)
}

/// Opens a stored draft's digest.
pub fn draft_digest(draft: &Draft) -> anyhow::Result<Digest> {
    serde_json::from_str(&draft.content).with_context(|| format!("reading draft {}", draft.id))
}

/// Why the filters held an entry back, as the review page and the record of a release
/// say it: `[brief] exclude has "crypto"`.
fn filtered_why(filtered: Option<(String, Option<String>)>) -> String {
    match filtered {
        Some((list, Some(word))) => format!("{list} has \"{word}\""),
        Some((list, None)) => format!("none of {list} was found"),
        None => String::new(),
    }
}

/// Filtered entries since the last digest as the review page lists them (entry id,
/// headline, why), at most 20, and how many in all. `built` is when the draft was built:
/// before any digest, "since the last digest" is the `first_window` before it (not
/// before the wall clock, which would let the list empty itself while the page is open).
pub fn filtered_for_review(
    app: &App,
    built: DateTime<Utc>,
) -> anyhow::Result<(Vec<crate::review::FilteredStory>, usize)> {
    let store = app.store();
    let (after, since) = match store.last_digest()? {
        Some(last) => (Some(last.max_entry_id), last.created_at),
        None => (
            None,
            built
                - chrono::Duration::from_std(app.config.brief.first_window)
                    .unwrap_or(chrono::Duration::hours(24)),
        ),
    };
    let (entries, count) = store.filtered_entries(after, since, 20)?;
    let list = entries
        .into_iter()
        .map(|e| crate::review::FilteredStory {
            entry_id: e.id,
            title: e.title,
            why: filtered_why(e.filtered),
        })
        .collect();
    Ok((list, count))
}

/// Lets filtered entry `entry` through into draft `id` (seen at `version`): the story is
/// added at the end of its feed's section (recorded with why it was filtered) and the
/// entry released, so the filters pass it from now on.
pub fn release_into_draft(
    app: &App,
    id: i64,
    version: i64,
    editor: &str,
    now: DateTime<Utc>,
    entry: i64,
) -> anyhow::Result<Edited> {
    let Some(facts) = app.store().entry_facts(entry)? else {
        return Ok(Edited::Refused(EditError::NoSuchStory));
    };
    let section = app
        .config
        .feeds
        .iter()
        .find(|f| f.url.as_str() == facts.feed_url)
        .and_then(|f| f.section.clone())
        .or_else(|| section_names(app).into_iter().next())
        .unwrap_or_default();
    let why = filtered_why(facts.filtered.clone());
    let story = Story {
        entry_id: facts.id,
        url: facts.url.clone().unwrap_or_default(),
        title: facts.title,
        summary: facts.summary,
        source: facts.source.unwrap_or(facts.feed_name),
        date: facts.date,
        section,
        access_note: None,
        image: None,
    };
    let edited = edit_draft(app, id, version, editor, now, &Edit::Release { story, why })?;
    if matches!(edited, Edited::Saved(_)) {
        app.store().release_filtered(entry)?;
    }
    Ok(edited)
}

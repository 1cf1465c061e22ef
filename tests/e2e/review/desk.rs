//! Each action of the review page over real HTTP with a signed-in session (issue #15),
//! each checked where it matters: in the issue members receive after Approve and the
//! slot, and in the page's Changes table (editor, before, after). Also the test copy,
//! the per-client sign-in limit, and (issue #16) the click counts the page shows once
//! the issue is sent.

use feedbrief::cycle::drafts;
use feedbrief::select::Digest;
use feedbrief::store::{Draft, DraftState};

use super::super::{Env, Smtp, client, decoded};
use super::{
    at, build_draft, feedbrief_escape, form_fields, get_with, member_mails, once_at, post_form,
    review_config, review_env_with, sign_in, sign_in_links, wait_for,
};

/// An editor signed in (through the mailed link) on one draft's review page.
struct Desk {
    c: reqwest::Client,
    /// The review page's URL on the test's web server.
    url: String,
    cookie: String,
}

impl Desk {
    /// Signs `editor` in and opens `draft`'s page.
    async fn open(env: &Env, smtp: &Smtp, web: &str, draft: &Draft, editor: &str) -> Self {
        let c = client();
        let cookie = sign_in(&c, web, smtp, editor).await;
        let url = format!("{web}editor/draft/{}", env.app.secret.draft_key(draft.id));
        Self { c, url, cookie }
    }

    /// The review page as it is now.
    async fn page(&self) -> String {
        let (status, page) = get_with(&self.c, &self.url, Some(&self.cookie)).await;
        assert_eq!(status, 200, "{page}");
        page
    }

    /// Posts one of the page's forms: `fields`, with the CSRF token and version the page
    /// carries now (as the browser would).
    async fn post(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let (csrf, version) = form_fields(&self.page().await);
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        form.append_pair("csrf", &csrf)
            .append_pair("version", &version);
        let r = post_form(&self.c, &self.url, Some(&self.cookie), &form.finish()).await;
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// [`Desk::post`], which must be saved.
    async fn saved(&self, fields: &[(&str, &str)]) -> String {
        let (status, page) = self.post(fields).await;
        assert_eq!(status, 200, "{fields:?}: {page}");
        assert!(
            page.contains("<p id=\"notice\" class=\"notice\">"),
            "{page}"
        );
        page
    }
}

/// The brief with review on (`missing` for `review_missing`, `more` added to its config),
/// the slot's draft built, its web endpoints, and `ed@example.org` signed in on it.
async fn signed_in(missing: &str, more: impl FnOnce(String) -> String) -> (Env, Smtp, Draft, Desk) {
    let (env, smtp) = review_env_with(|http, port| more(review_config(http, port, missing))).await;
    let draft = build_draft(&env).await;
    let web = format!("{}/", super::super::spawn_web(&env.app).await);
    let desk = Desk::open(&env, &smtp, &web, &draft, "ed@example.org").await;
    (env, smtp, draft, desk)
}

/// `s` as written in HTML, back to text.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// One row of the page's Changes table.
#[derive(Debug, Clone)]
struct Row {
    who: String,
    what: String,
    before: String,
    after: String,
}

/// The page's Changes table, oldest first.
fn changes(page: &str) -> Vec<Row> {
    let Some(start) = page.find("<table id=\"changes\">") else {
        return Vec::new();
    };
    let table = &page[start..];
    let table = &table[..table.find("</table>").expect("the table ends")];
    // The first piece is the table's opening, the second its header row.
    table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td>")
                .skip(1)
                .map(|c| unescape(c.split("</td>").next().unwrap_or("")))
                .collect();
            assert_eq!(cells.len(), 5, "{row}");
            Row {
                who: cells[1].clone(),
                what: cells[2].clone(),
                before: cells[3].clone(),
                after: cells[4].clone(),
            }
        })
        .collect()
}

/// The one row of `rows` whose "what" contains every one of `words`.
fn row<'a>(rows: &'a [Row], words: &[&str]) -> &'a Row {
    let found: Vec<&Row> = rows
        .iter()
        .filter(|r| words.iter().all(|w| r.what.contains(w)))
        .collect();
    assert_eq!(found.len(), 1, "one change with {words:?} in {rows:#?}");
    found[0]
}

/// Whitespace folded to single spaces (the text part wraps long lines).
fn folded(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A member's issue as its plain-text part lays it out: (heading, headline) for each of
/// `titles` found, in order; the lead's heading is "TOP STORY", a section's its name.
fn outline(body: &str, titles: &[String], sections: &[String]) -> Vec<(String, String)> {
    let text = folded(body);
    let start = text.find("TOP STORY").expect("the text part's top story");
    let end = start
        + text[start..]
            .find(&"=".repeat(60))
            .expect("the text part's end");
    let text = &text[start..end];
    let mut headings: Vec<(usize, String)> = vec![(0, "TOP STORY".to_string())];
    for name in sections {
        let heading = format!("{} {}", name.to_uppercase(), "-".repeat(name.len()));
        if let Some(at) = text.find(&heading) {
            headings.push((at, name.clone()));
        }
    }
    let mut found: Vec<(usize, String, String)> = titles
        .iter()
        .filter_map(|t| {
            let at = text.find(&folded(t))?;
            let heading = headings
                .iter()
                .filter(|(h, _)| *h <= at)
                .max_by_key(|(h, _)| *h)
                .map(|(_, name)| name.clone())
                .unwrap_or_default();
            Some((at, heading, t.clone()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, h, t)| (h, t)).collect()
}

/// The outline a digest gives a member who reads every section.
fn expected(lead: &str, sections: &[(String, Vec<String>)]) -> Vec<(String, String)> {
    let mut out = vec![("TOP STORY".to_string(), lead.to_string())];
    for (name, titles) in sections {
        out.extend(titles.iter().map(|t| (name.clone(), t.clone())));
    }
    out
}

/// The sections of `d`: (name, headlines).
fn layout(d: &Digest) -> Vec<(String, Vec<String>)> {
    d.sections
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.stories.iter().map(|st| st.title.clone()).collect(),
            )
        })
        .collect()
}

/// The decoded issue that reached `who`.
fn issue_of(smtp: &Smtp, who: &str) -> String {
    let mails: Vec<String> = member_mails(smtp)
        .iter()
        .filter(|m| m.to == [who])
        .map(|m| decoded(&m.data))
        .collect();
    assert_eq!(mails.len(), 1, "one issue to {who}");
    mails[0].clone()
}

/// Approves on the page and runs the 19:00 slot, which must send the approved issue to the
/// three members.
async fn approve_and_send(env: &Env, smtp: &Smtp, desk: &Desk) {
    let page = desk.saved(&[("action", "approve")]).await;
    assert!(page.contains("Approved by ed@example.org"), "{page}");
    let sent = once_at(&env.app, at("2026-11-27T19:05:00Z")).await;
    assert!(
        sent.to_string().contains("sent as an editor approved it"),
        "{sent}"
    );
    assert_eq!(member_mails(smtp).len(), 3, "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_down_move_and_make_lead_on_the_page_reach_members_in_that_order_and_are_recorded() {
    let (env, smtp, draft, desk) = signed_in("hold", |c| c).await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    let names: Vec<String> = drafts::section_names(&env.app);
    let mut sections = layout(&digest);
    let (si, _) = sections
        .iter()
        .enumerate()
        .find(|(_, (_, t))| t.len() == 3)
        .expect("a section with three stories");
    let other = names
        .iter()
        .find(|n| **n != sections[si].0)
        .expect("another section")
        .clone();
    let id = |title: &str| {
        digest
            .stories()
            .find(|s| s.title == title)
            .expect("a story")
            .entry_id
            .to_string()
    };
    let (a, c) = (sections[si].1[0].clone(), sections[si].1[2].clone());

    // Down on the first story, Up on the third: [a, b, c] becomes [b, c, a].
    desk.saved(&[("action", "down"), ("entry", &id(&a))]).await;
    desk.saved(&[("action", "up"), ("entry", &id(&c))]).await;
    let first = sections[si].1.remove(0);
    sections[si].1.push(first);
    // a moves to the end of the other section.
    desk.saved(&[("action", "move"), ("entry", &id(&a)), ("section", &other)])
        .await;
    sections[si].1.retain(|t| *t != a);
    match sections.iter_mut().find(|(n, _)| *n == other) {
        Some((_, titles)) => titles.push(a.clone()),
        None => sections.push((other.clone(), vec![a.clone()])),
    }
    sections.sort_by_key(|(n, _)| names.iter().position(|x| x == n));
    // The last story of the first section leads; the old lead tops its own section.
    let new_lead = sections[0].1.last().expect("a story").clone();
    let page = desk
        .saved(&[("action", "lead"), ("entry", &id(&new_lead))])
        .await;
    sections[0].1.retain(|t| *t != new_lead);
    let old_lead = digest.lead.clone();
    match sections.iter_mut().find(|(n, _)| *n == old_lead.section) {
        Some((_, titles)) => titles.insert(0, old_lead.title.clone()),
        None => sections.push((old_lead.section.clone(), vec![old_lead.title.clone()])),
    }
    sections.retain(|(_, t)| !t.is_empty());
    sections.sort_by_key(|(n, _)| names.iter().position(|x| x == n));

    // Every change is listed with who made it, and what stood before and after.
    let rows = changes(&page);
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert!(rows.iter().all(|r| r.who == "ed@example.org"), "{rows:#?}");
    for words in [["moved", "down", a.as_str()], ["moved", "up", c.as_str()]] {
        let r = row(&rows, &words);
        assert!(
            !r.before.is_empty() && !r.after.is_empty() && r.before != r.after,
            "a reorder shows the place before and after: {r:?}"
        );
    }
    let moved = row(&rows, &["moved", "another section"]);
    assert_eq!(
        (moved.before.as_str(), moved.after.as_str()),
        (sections_of(&digest, &a), other.as_str())
    );
    let lead = rows
        .iter()
        .find(|r| r.what == "lead")
        .expect("the lead's change");
    assert_eq!(
        (lead.before.as_str(), lead.after.as_str()),
        (old_lead.title.as_str(), new_lead.as_str())
    );

    approve_and_send(&env, &smtp, &desk).await;
    let titles: Vec<String> = digest.stories().map(|s| s.title.clone()).collect();
    let ann = issue_of(&smtp, "ann@example.org");
    assert_eq!(
        outline(&ann, &titles, &names),
        expected(&new_lead, &sections),
        "{ann}"
    );
    let rows = changes(&desk.page().await);
    assert_eq!(rows.len(), 5, "{rows:#?}");
    assert_eq!(rows[4].what, "approved");
}

/// The section story `title` sits in, in `d`.
fn sections_of<'a>(d: &'a Digest, title: &str) -> &'a str {
    d.sections
        .iter()
        .find(|s| s.stories.iter().any(|st| st.title == title))
        .map(|s| s.name.as_str())
        .expect("in a section")
}

/// A second announcement in the test brief, for this issue to hide.
const SECOND_ANNOUNCEMENT: &str = "\n[[announcement]]\ntitle = \"Conference Registration Opens\"\n\
    body = \"Registration for the spring conference opens on Monday, with early rates for members.\"\n\
    link = \"https://example.org/conference\"\ncta = \"REGISTER\"\nuntil = 2026-12-31\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headline_and_an_announcement_edited_and_one_hidden_on_the_page_reach_members_so() {
    let (env, smtp, draft, desk) = signed_in("hold", |c| format!("{c}{SECOND_ANNOUNCEMENT}")).await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    assert_eq!(digest.announcements.len(), 2, "{:?}", digest.announcements);
    let story = digest.sections[0].stories[0].clone();
    let headline = "Trust Is Built Early, Say Three City Managers";
    let summary = story.summary.clone().unwrap_or_default();
    // The headline and summary form: only the headline changed.
    desk.saved(&[
        ("action", "text"),
        ("entry", &story.entry_id.to_string()),
        ("title", headline),
        ("summary", &summary),
    ])
    .await;
    let (old, hidden) = (
        digest.announcements[0].clone(),
        digest.announcements[1].clone(),
    );
    let (title, body) = (
        "Dues Cut for Small Towns",
        "Members in towns under 10,000 people now pay half dues, from January.",
    );
    desk.saved(&[
        ("action", "announcement"),
        ("index", "0"),
        ("title", title),
        ("body", body),
    ])
    .await;
    let page = desk.saved(&[("action", "hide"), ("index", "1")]).await;

    let rows = changes(&page);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r.who == "ed@example.org"), "{rows:#?}");
    let r = row(&rows, &["headline"]);
    assert_eq!(
        (r.before.as_str(), r.after.as_str()),
        (story.title.as_str(), headline)
    );
    let r = row(&rows, &["announcement for this issue"]);
    assert_eq!(r.before, format!("{}: {}", old.title, old.body));
    assert_eq!(r.after, format!("{title}: {body}"));
    let r = row(&rows, &["hid"]);
    assert!(r.what.contains(&hidden.title), "{r:?}");
    assert!(
        r.before.contains(&hidden.body),
        "a hidden announcement shows what was hidden: {r:?}"
    );

    approve_and_send(&env, &smtp, &desk).await;
    for m in member_mails(&smtp) {
        let issue = decoded(&m.data);
        let lower = folded(&issue).to_lowercase();
        assert!(
            !lower.contains(&hidden.title.to_lowercase()),
            "hidden: {issue}"
        );
        assert!(
            !lower.contains(&old.body.to_lowercase()),
            "the old text: {issue}"
        );
        assert!(folded(&issue).contains(body), "the new text: {issue}");
        assert!(issue.contains(title), "the new headline: {issue}");
    }
    let ann = issue_of(&smtp, "ann@example.org");
    assert!(folded(&ann).contains(headline), "{ann}");
    assert!(
        !folded(&ann).contains(&folded(&story.title)),
        "the old headline: {ann}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letting_a_filtered_entry_through_adds_it_to_its_feeds_section_and_members_get_it() {
    // "engineers" holds back two stories (one says it only in its summary).
    let filtered = "Counties Test Four-Day Weeks to Keep Engineers";
    let (env, smtp, draft, desk) = signed_in("hold", |c| {
        c.replace(
            "max_stories = 12",
            "max_stories = 12\nexclude = [\"engineers\"]",
        )
    })
    .await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    assert!(
        digest.stories().all(|s| s.title != filtered),
        "filtered out"
    );
    let page = desk.page().await;
    assert!(
        page.contains("<p id=\"filtered\">2 filtered since the last issue.</p>"),
        "{page}"
    );
    assert!(
        page.contains(filtered),
        "the filtered entry is listed: {page}"
    );
    assert!(
        page.contains("has &quot;engineers&quot;"),
        "and why: {page}"
    );
    let entry = env
        .app
        .store()
        .filtered_entries(None, chrono::DateTime::UNIX_EPOCH, 10)
        .expect("filtered")
        .0
        .into_iter()
        .find(|e| e.title == filtered)
        .expect("stored as filtered")
        .id;

    let page = desk
        .saved(&[("action", "release"), ("entry", &entry.to_string())])
        .await;
    assert!(
        page.contains("<p id=\"filtered\">1 filtered since the last issue.</p>"),
        "{page}"
    );
    let rows = changes(&page);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(r.who, "ed@example.org");
    assert!(r.what.contains("Workforce"), "{r:?}");
    assert!(
        r.before.contains("engineers"),
        "why it was held back: {r:?}"
    );
    assert!(r.after.contains(filtered), "{r:?}");
    let stored = drafts::draft_digest(
        &env.app
            .store()
            .draft(draft.id)
            .expect("read")
            .expect("there"),
    )
    .expect("digest");
    assert_eq!(
        stored
            .sections
            .iter()
            .find(|s| s.name == "Workforce")
            .map(|s| s.stories.last().map(|s| s.title.clone())),
        Some(Some(filtered.to_string())),
        "at the end of its feed's section"
    );

    approve_and_send(&env, &smtp, &desk).await;
    let names = drafts::section_names(&env.app);
    for who in ["ann@example.org", "bo@example.org"] {
        let issue = issue_of(&smtp, who);
        let found = outline(&issue, &[filtered.to_string()], &names);
        assert_eq!(
            found,
            [("Workforce".to_string(), filtered.to_string())],
            "{who}: {issue}"
        );
    }
    // Released: the filters pass it from now on (the other filtered story stays held).
    let (left, count) = env
        .app
        .store()
        .filtered_entries(None, chrono::DateTime::UNIX_EPOCH, 10)
        .expect("filtered");
    assert_eq!(count, 1, "{left:?}");
    assert!(left.iter().all(|e| e.title != filtered), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_copy_reaches_only_the_signed_in_editor_and_leaves_the_draft_unapproved() {
    let (env, smtp, draft, desk) = signed_in("hold", |c| c).await;
    let digest = drafts::draft_digest(&draft).expect("digest");
    let removed = digest.sections[0].stories[0].clone();
    desk.saved(&[
        ("action", "remove"),
        ("entry", &removed.entry_id.to_string()),
    ])
    .await;
    let before = smtp.mails().len();
    let (status, page) = desk.post(&[("action", "test")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("A test copy went to ed@example.org."),
        "{page}"
    );
    let copy = wait_for("the test copy", || smtp.mails().get(before).cloned()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.mails().len(), before + 1, "one message, no more");
    assert_eq!(copy.to, ["ed@example.org"]);
    let body = decoded(&copy.data);
    assert!(body.contains(&digest.lead.title), "the issue: {body}");
    assert!(
        !body.contains(&removed.title),
        "the draft as it stands: {body}"
    );
    // Nothing recorded, nothing decided: the draft stays as it was, unapproved.
    let stored = env
        .app
        .store()
        .draft(draft.id)
        .expect("read")
        .expect("there");
    assert_eq!((stored.version, stored.state), (2, DraftState::Open));
    let page = desk.page().await;
    assert!(page.contains("Not approved yet."), "{page}");
    assert_eq!(changes(&page).len(), 1, "only the removal is recorded");
    // At the slot an unapproved draft is held (review_missing = "hold"): members get
    // nothing, the test copy or otherwise.
    let held = once_at(&env.app, at("2026-11-27T19:05:00Z")).await;
    assert!(
        matches!(held.digest, feedbrief::cycle::DigestOutcome::Held { .. }),
        "{held}"
    );
    assert!(member_mails(&smtp).is_empty(), "{held}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_requests_are_limited_per_client_with_the_same_answer_and_no_more_mail() {
    let (env, smtp) = review_env_with(|http, port| review_config(http, port, "hold")).await;
    let _draft = build_draft(&env).await;
    let web = format!("{}/", super::super::spawn_web(&env.app).await);
    let c = client();
    let ask = |email: String| {
        let c = c.clone();
        let url = format!("{web}editor/sign-in");
        async move {
            let r = post_form(&c, &url, None, &format!("email={email}")).await;
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    // 20 requests an hour from one client: 18 strangers and the two editors, once each.
    let mut answers = Vec::new();
    for i in 0..18 {
        answers.push(ask(format!("stranger{i}%40example.org")).await);
    }
    answers.push(ask("ed%40example.org".into()).await);
    answers.push(ask("ann.editor%40example.org".into()).await);
    for editor in ["ed@example.org", "ann.editor@example.org"] {
        wait_for("a sign-in link", || {
            (!sign_in_links(&smtp, editor, &web).is_empty()).then_some(())
        })
        .await;
    }
    // The 21st, for an editor well under the per-address limit: the same answer, no mail.
    answers.push(ask("ed%40example.org".into()).await);
    answers.push(ask("stranger99%40example.org".into()).await);
    let first = answers[0].clone();
    assert_eq!(first.0, 200);
    for a in &answers {
        assert_eq!(a, &first, "every answer is the same page");
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sign_in_links(&smtp, "ed@example.org", &web).len(), 1);
    assert_eq!(
        sign_in_links(&smtp, "ann.editor@example.org", &web).len(),
        1
    );
    assert!(
        smtp.mails()
            .iter()
            .all(|m| !m.to[0].starts_with("stranger")),
        "no mail to a stranger"
    );
}

/// Puts every delivery `seconds` further in the past (a click seconds after delivery is
/// taken for a mail scanner's).
fn age_deliveries(env: &Env, seconds: i64) {
    let db = rusqlite::Connection::open(env.dir.path().join("data/feedbrief.sqlite"))
        .expect("open the database");
    db.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    db.execute(
        "UPDATE deliveries SET sent_at = sent_at - ?1 WHERE sent_at IS NOT NULL",
        [seconds * 1_000_000],
    )
    .expect("age deliveries");
}

/// The tracked links of a message (under the test config's base_url), in order, each
/// once, as served by the test's web server `web`.
fn tracked_links(message: &str, web: &str) -> Vec<String> {
    let tracked = format!("{}r/", super::PUBLIC);
    let mut links: Vec<String> = Vec::new();
    for (i, _) in message.match_indices(&tracked) {
        let link: String = message[i..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '>' | '<' | ' ' | '\n' | '\r'))
            .collect();
        let link = format!("{web}{}", &link[super::PUBLIC.len()..]);
        if !links.contains(&link) {
            links.push(link);
        }
    }
    links
}

/// The click count the review page shows for story `entry`.
fn clicks_shown(page: &str, entry: i64) -> String {
    let at = page
        .find(&format!("id=\"story-{entry}\""))
        .unwrap_or_else(|| panic!("story {entry} on the page: {page}"));
    let story = &page[at..];
    let story = &story[..story.find("</article>").expect("its end")];
    let meta = story
        .split("<p class=\"meta\">")
        .nth(1)
        .expect("the Full Story line");
    let meta = &meta[..meta.find("</p>").expect("end")];
    meta.rsplit(" · ").next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_issue_is_sent_the_review_page_shows_each_storys_counted_clicks() {
    let (env, smtp, draft, desk) = signed_in("hold", |c| c).await;
    approve_and_send(&env, &smtp, &desk).await;
    age_deliveries(&env, 120);
    let stored = env
        .app
        .store()
        .draft(draft.id)
        .expect("read")
        .expect("there");
    let sent = stored.sent_digest.expect("sent");
    let digest: Digest = serde_json::from_str(
        &env.app
            .store()
            .digest(sent)
            .expect("read")
            .expect("digest")
            .content,
    )
    .expect("content");
    let web = desk.url[..desk.url.find("editor/").expect("desk")].to_string();
    let links = tracked_links(&issue_of(&smtp, "ann@example.org"), &web);
    assert_eq!(links.len(), digest.stories().count(), "{links:?}");
    let browser =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let click = |link: String| {
        let c = client();
        async move {
            let r = c
                .get(&link)
                .header("user-agent", browser)
                .send()
                .await
                .expect("click");
            assert_eq!(r.status().as_u16(), 302, "{link}");
        }
    };
    // A reader clicks the lead's Full Story twice and the second story's once; a HEAD
    // (a scanner) counts nothing.
    click(links[0].clone()).await;
    click(links[0].clone()).await;
    click(links[1].clone()).await;
    let head = client()
        .head(&links[1])
        .header("user-agent", browser)
        .send()
        .await
        .expect("head");
    assert_eq!(head.status().as_u16(), 302);

    let page = desk.page().await;
    assert!(page.contains(&format!("Sent as issue #{sent}")), "{page}");
    let stories: Vec<i64> = digest.stories().map(|s| s.entry_id).collect();
    assert_eq!(clicks_shown(&page, stories[0]), "2 clicks", "{page}");
    assert_eq!(clicks_shown(&page, stories[1]), "1 click", "{page}");
    for s in &stories[2..] {
        assert_eq!(clicks_shown(&page, *s), "0 clicks", "{page}");
    }
    let lead = feedbrief_escape(&digest.lead.title);
    assert!(page.contains(&lead), "{page}");
}

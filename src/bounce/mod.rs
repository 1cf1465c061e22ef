//! The bounce classifier: one inbound mail's raw bytes → which recipients failed, why, and
//! what to do about each (`hard`, `soft`, `complaint`, `ignore`), plus the headers of the
//! original message when the mail quotes it. Pure functions: no database, no network.
//!
//! The readers, tried in this order, each in its own file:
//!
//! - [`arf`]: feedback-loop complaints (RFC 5965 `message/feedback-report`);
//! - [`dsn`]: delivery status notifications (RFC 3464 `message/delivery-status`);
//! - [`ses`]: Amazon SES notifications forwarded by SNS as JSON;
//! - [`text`]: the many non-standard bounces (qmail, Exim, Exchange, webmail providers):
//!   failed addresses and their error lines found in the human-readable text;
//! - [`autoreply`]: auto-replies (RFC 3834 `Auto-Submitted`, vacation notices).
//!
//! [`reason`] turns each recipient's evidence into a [`Reason`] and [`Action`]; [`mime`] is
//! the bounded MIME walker underneath. Input is capped at [`MAX_INPUT`] bytes, nesting
//! and part counts are bounded, and no input makes any of this panic.

use serde::Serialize;

mod arf;
mod autoreply;
mod dsn;
mod mime;
mod reason;
mod ses;
mod text;

/// Bytes of a mail that are read; the rest (attachments of the bounced message, mostly)
/// is ignored.
pub const MAX_INPUT: usize = 2 * 1024 * 1024;

/// Recipients reported per mail at most; a bounce listing more is cut there.
pub const MAX_RECIPIENTS: usize = 100;

/// What to do about a recipient a mail reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A permanent addressing failure: the address will never take mail. Suppress.
    Hard,
    /// A failure that may pass (full mailbox, spam filter, policy, timeout): count it.
    Soft,
    /// The recipient reported the message as spam (a feedback loop): unsubscribe now.
    Complaint,
    /// Nothing to act on (an auto-reply, an authentication-failure report).
    Ignore,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
            Self::Complaint => "complaint",
            Self::Ignore => "ignore",
        })
    }
}

/// Why a recipient is reported: the class of its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The mailbox does not exist.
    UserUnknown,
    /// The domain does not exist or has no mail host.
    HostUnknown,
    /// The person moved and left no forwarding (5.1.6).
    HasMoved,
    /// The domain takes no mail at all (null MX, 5.7.27).
    NotAccept,
    /// The mailbox is over its quota.
    MailboxFull,
    /// The account exists but is disabled or suspended.
    Disabled,
    /// The receiver refused this message or sender (spam, policy, authentication, relay,
    /// rate limits, size).
    Refused,
    /// A temporary failure (4.x.x, delayed, expired in the queue).
    Temporary,
    /// Failed, for a reason the mail does not make clear.
    Other,
    /// A feedback-loop report (its type is in the recipient's diagnostic).
    Feedback,
    /// An automatic reply such as a vacation notice.
    AutoReply,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// One recipient a mail reports, with the evidence for its action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The address as the mail gives it (may be empty when a report names none).
    pub address: String,
    /// The enhanced status code (`5.1.1`), empty when the mail gives none.
    pub status: String,
    /// The SMTP reply code (`550`), when the mail gives one.
    pub reply_code: Option<u16>,
    /// What to do.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// The text the decision was made from (diagnostic code, error lines, feedback type),
    /// at most a few hundred characters.
    pub diagnostic: String,
}

/// Headers of the original message, when the mail quotes it (attached or inline): what a
/// caller needs to find which send and which member it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Original {
    /// `Message-ID`, as written (with angle brackets).
    pub message_id: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `From`.
    pub from: Option<String>,
    /// `Subject`, encoded words decoded.
    pub subject: Option<String>,
    /// The envelope sender (`Return-Path`), where a VERP address shows.
    pub return_path: Option<String>,
    /// Every `X-Feedbrief-*` header, name and value, in order.
    pub feedbrief: Vec<(String, String)>,
}

/// What kind of mail it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A standard delivery status notification (RFC 3464).
    Dsn,
    /// A bounce in some MTA's or provider's own format.
    NonStandard,
    /// A feedback-loop report (RFC 5965).
    Feedback,
    /// An automatic reply (RFC 3834).
    AutoReply,
    /// None of these: a person's mail, a newsletter, noise.
    NotBounce,
}

/// The classification of one mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What kind of mail it was.
    pub kind: Kind,
    /// One entry per recipient the mail reports as failed (or complaining, or
    /// auto-replying), in the mail's order; empty for mail that is none of these.
    pub recipients: Vec<Recipient>,
    /// The original message's headers, when quoted.
    pub original: Option<Original>,
    /// The mail was longer than [`MAX_INPUT`] and only its start was read.
    pub truncated: bool,
}

/// Classifies one mail from its raw bytes (headers and body as received).
pub fn classify(raw: &[u8]) -> Report {
    let truncated = raw.len() > MAX_INPUT;
    let raw = &raw[..raw.len().min(MAX_INPUT)];
    let mail = mime::parse(raw);
    let original = original_headers(&mail);
    let found = arf::read(&mail)
        .map(|r| (Kind::Feedback, r))
        .or_else(|| dsn::read(&mail).map(|r| (Kind::Dsn, r)))
        .or_else(|| ses::read(&mail).map(|r| (Kind::NonStandard, r)))
        .or_else(|| text::read(&mail, original.as_ref()).map(|r| (Kind::NonStandard, r)))
        .or_else(|| autoreply::read(&mail).map(|r| (Kind::AutoReply, r)));
    let (kind, mut recipients) = found.unwrap_or((Kind::NotBounce, Vec::new()));
    recipients.truncate(MAX_RECIPIENTS);
    for r in &mut recipients {
        r.diagnostic = clip(&r.diagnostic, 300);
    }
    Report {
        kind,
        recipients,
        original,
        truncated,
    }
}

/// The attached original message's headers, else a header block quoted inline after the
/// bounce's text.
fn original_headers(mail: &mime::Part) -> Option<Original> {
    let attached = mail.walk().into_iter().skip(1).find_map(|p| match &p.body {
        mime::Body::Message(m) if m.headers.len() > 0 => Some(m.headers.clone()),
        _ => None,
    });
    let headers = attached.or_else(|| text::quoted_headers(mail))?;
    let get = |n: &str| headers.get(n).map(mime::decode_words);
    let original = Original {
        message_id: get("message-id"),
        to: get("to"),
        from: get("from"),
        subject: get("subject"),
        return_path: get("return-path"),
        feedbrief: headers
            .iter()
            .filter(|(n, _)| n.len() > 11 && n[..11].eq_ignore_ascii_case("x-feedbrief"))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    (original != Original::default()).then_some(original)
}

/// `s` cut to at most `max` characters, whitespace collapsed.
fn clip(s: &str, max: usize) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((i, _)) => collapsed[..i].to_string(),
        None => collapsed,
    }
}

/// The bare address in `s` (`Name <a@b>`, `rfc822; a@b`, `<a@b>`), lower-cased domain
/// kept as written; `None` when there is no `@`.
fn bare_address(s: &str) -> Option<String> {
    let s = s.trim();
    let s = match s.split_once(';') {
        Some((kind, rest)) if !kind.contains('@') => rest,
        _ => s,
    };
    let s = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let s = s
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '<' | '>' | ',' | '.'));
    (s.contains('@') && !s.contains(char::is_whitespace) && s.len() <= 320).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bounces")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// (address, status, action) of each recipient.
    fn summary(r: &Report) -> Vec<(String, String, Action)> {
        r.recipients
            .iter()
            .map(|r| (r.address.clone(), r.status.clone(), r.action))
            .collect()
    }

    fn row(a: &str, s: &str, action: Action) -> (String, String, Action) {
        (a.to_string(), s.to_string(), action)
    }

    #[test]
    fn dsn_for_an_unknown_user_is_hard_and_quotes_the_original_headers() {
        let r = classify(&fixture("dsn-user-unknown.eml"));
        assert_eq!(r.kind, Kind::Dsn);
        assert_eq!(
            summary(&r),
            vec![row("ada@members.example.com", "5.1.1", Action::Hard)]
        );
        assert_eq!(r.recipients[0].reason, Reason::UserUnknown);
        assert_eq!(r.recipients[0].reply_code, Some(550));
        let o = r.original.expect("original headers");
        assert_eq!(
            o.message_id.as_deref(),
            Some("<digest-2026-11-30.ada@example.org>")
        );
        assert_eq!(o.to.as_deref(), Some("Ada <ada@members.example.com>"));
        assert_eq!(o.subject.as_deref(), Some("Today’s brief"));
        assert_eq!(
            o.return_path.as_deref(),
            Some("<bounces+ada-3f2a@bounces.example.org>")
        );
        assert_eq!(
            o.feedbrief,
            vec![
                ("X-Feedbrief-Digest".to_string(), "2026-11-30".to_string()),
                ("X-Feedbrief-Member".to_string(), "17".to_string()),
            ]
        );
    }

    #[test]
    fn dsn_with_three_recipients_keeps_their_order_and_their_own_reasons() {
        let r = classify(&fixture("dsn-three-recipients.eml"));
        assert_eq!(
            summary(&r),
            vec![
                row("bob@one.example.com", "5.1.1", Action::Hard),
                row("cy@two.example.com", "5.2.2", Action::Soft),
                row("dee@three.example.com", "4.4.1", Action::Soft),
            ]
        );
        assert_eq!(r.recipients[1].reason, Reason::MailboxFull);
        assert_eq!(r.recipients[2].reason, Reason::Temporary);
        let o = r.original.expect("headers part");
        assert_eq!(
            o.message_id.as_deref(),
            Some("<digest-2026-12-01@example.org>")
        );
    }

    #[test]
    fn qmail_bounce_without_mime_gives_each_recipient_its_own_error() {
        let r = classify(&fixture("qmail-two-recipients.eml"));
        assert_eq!(r.kind, Kind::NonStandard);
        assert_eq!(
            summary(&r),
            vec![
                row("eve@four.example.com", "5.1.1", Action::Hard),
                row("fay@five.example.com", "5.7.1", Action::Soft),
            ]
        );
        let o = r.original.expect("inline headers");
        assert_eq!(
            o.message_id.as_deref(),
            Some("<digest-2026-12-02@example.org>")
        );
        assert_eq!(
            o.feedbrief,
            vec![("X-Feedbrief-Digest".to_string(), "2026-12-02".to_string())]
        );
    }

    #[test]
    fn exim_bounce_for_a_full_mailbox_is_soft_even_when_refused_at_rcpt() {
        let r = classify(&fixture("exim-full-mailbox.eml"));
        assert_eq!(
            summary(&r),
            vec![row("gus@six.example.com", "5.0.0", Action::Soft)]
        );
        assert_eq!(r.recipients[0].reason, Reason::MailboxFull);
    }

    #[test]
    fn arf_abuse_report_is_a_complaint_for_the_reported_recipient() {
        let r = classify(&fixture("arf-abuse.eml"));
        assert_eq!(r.kind, Kind::Feedback);
        assert_eq!(
            summary(&r),
            vec![row("hal@isp.example.net", "", Action::Complaint)]
        );
        assert_eq!(
            r.original.and_then(|o| o.feedbrief.first().cloned()),
            Some(("X-Feedbrief-Member".to_string(), "23".to_string()))
        );
    }

    #[test]
    fn auth_failure_report_is_ignored() {
        let raw = String::from_utf8(fixture("arf-abuse.eml"))
            .expect("utf8")
            .replace("Feedback-Type: abuse", "Feedback-Type: auth-failure");
        let r = classify(raw.as_bytes());
        assert_eq!(r.recipients[0].action, Action::Ignore);
    }

    #[test]
    fn vacation_auto_reply_is_one_ignored_entry() {
        let r = classify(&fixture("autoreply-vacation.eml"));
        assert_eq!(r.kind, Kind::AutoReply);
        assert_eq!(
            summary(&r),
            vec![row("ida@seven.example.com", "", Action::Ignore)]
        );
    }

    #[test]
    fn a_report_saved_from_an_mbox_with_its_boundaries_lost_is_still_read() {
        let raw = String::from_utf8(fixture("dsn-three-recipients.eml")).expect("utf8");
        let flattened: String = raw
            .lines()
            .filter(|l| !l.starts_with("--0B15"))
            .map(|l| format!("{l}\n"))
            .collect();
        let mbox = format!("From MAILER-DAEMON  Tue Dec  1 06:00:00 2026\n{flattened}");
        let r = classify(mbox.as_bytes());
        assert_eq!(
            summary(&r)
                .into_iter()
                .map(|(_, _, a)| a)
                .collect::<Vec<_>>(),
            vec![Action::Hard, Action::Soft, Action::Soft]
        );
    }

    #[test]
    fn a_bounce_listing_its_recipients_twice_in_two_languages_keeps_each_error_apart() {
        let raw = "From: Mail Delivery System <mailer-daemon@mx.example.net>\n\
Subject: Mail delivery failed\n\n\
Votre message n'a pas pu être remis :\n\
  jo@one.example.com\n    550 5.2.2 <jo@one.example.com>... Mailbox full\n\
  kim@two.example.com\n    550 5.2.1 <kim@two.example.com>... User unknown (in reply to RCPT TO command)\n\n\
The following address(es) failed:\n\
  jo@one.example.com\n    550 5.2.2 <jo@one.example.com>... Mailbox full\n\
  kim@two.example.com\n    550 5.2.1 <kim@two.example.com>... User unknown (in reply to RCPT TO command)\n";
        let r = classify(raw.as_bytes());
        assert_eq!(
            summary(&r),
            vec![
                row("jo@one.example.com", "5.2.2", Action::Soft),
                row("kim@two.example.com", "5.2.1", Action::Hard),
            ]
        );
    }

    #[test]
    fn a_persons_reply_is_not_a_bounce() {
        let r = classify(&fixture("not-a-bounce.eml"));
        assert_eq!(r.kind, Kind::NotBounce);
        assert!(r.recipients.is_empty());
    }

    #[test]
    fn a_local_delivery_programs_error_is_soft_even_with_status_5_1_1() {
        // RFC 3464 §2.3.6: an X-Unix diagnostic is a local program's output (procmail,
        // maildrop), about its own setup, not the receiving server refusing the address.
        let r = classify(&fixture("dsn-local-program.eml"));
        assert_eq!(
            summary(&r),
            vec![row("bo@home.example.net", "5.1.1", Action::Soft)]
        );
    }

    #[test]
    fn a_report_inside_the_returned_message_is_not_the_bounces_own() {
        let r = classify(&fixture("dsn-returning-a-forwarded-report.eml"));
        assert_eq!(
            summary(&r),
            vec![row("cal@members.example.com", "5.2.2", Action::Soft)]
        );
    }

    #[test]
    fn a_specific_code_in_the_servers_reply_refines_a_generic_status_field() {
        // RFC 3463 x.0.0 is "other or undefined": the receiving server's own 5.1.1 says
        // more than the reporting MTA's summary.
        let r = classify(&fixture("dsn-generic-status.eml"));
        assert_eq!(
            summary(&r),
            vec![row("dot@members.example.com", "5.1.1", Action::Hard)]
        );
    }

    #[test]
    fn a_diagnostic_without_its_type_makes_nobody_hard_on_words_alone() {
        // RFC 3464 §2.3.6: `Diagnostic-Code: smtp; …`. Without the type it is a gateway's
        // own sentence, not the receiving server's reply; only an addressing code counts.
        let report = |status: &str| {
            format!(
                "From: postmaster@gw.example.net\nSubject: Delivery failure\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; 10.0.0.7\n\nFinal-Recipient: rfc822; eda@members.example.com\nAction: failed\nStatus: {status}\nDiagnostic-Code: The email account that you tried to reach does not exist.\n\n--b--\n"
            )
        };
        let r = classify(report("5.0.0").as_bytes());
        assert_eq!(
            summary(&r),
            vec![row("eda@members.example.com", "5.0.0", Action::Soft)]
        );
        let r = classify(report("5.1.1").as_bytes());
        assert_eq!(r.recipients[0].action, Action::Hard);
    }

    #[test]
    fn a_mail_returning_the_original_and_saying_it_could_not_be_delivered_is_a_bounce() {
        // Some providers send bounces from an ordinary no-reply address under a bland
        // subject; the returned message and the sentence give them away.
        let raw = "From: no-reply@provider.example.net\nTo: bounces+fin-0a1b@bounces.example.org\nSubject: Mail\nContent-Type: multipart/mixed; boundary=\"m\"\n\n--m\nContent-Type: text/plain\n\nYour mail sent on: Fri, 04 Dec 2026 06:00:00 +0000\n     Could not be delivered to: <fin@members.example.com>\n     As their mailbox is full.\n\n--m\nContent-Type: message/rfc822\n\nFrom: The Weekly Brief <brief@example.org>\nTo: <fin@members.example.com>\nSubject: Today\n\nStories.\n--m--\n";
        let r = classify(raw.as_bytes());
        assert_eq!(r.kind, Kind::NonStandard);
        assert_eq!(
            summary(&r),
            vec![row("fin@members.example.com", "", Action::Soft)]
        );
        assert_eq!(r.recipients[0].reason, Reason::MailboxFull);
        // The same words in a person's mail without the returned message are no bounce.
        let chat = "From: ann@example.com\nTo: brief@example.org\nSubject: Mail\n\nMy letter could not be delivered to: <fin@members.example.com>, is that you?\n";
        assert_eq!(classify(chat.as_bytes()).kind, Kind::NotBounce);
    }

    /// Every prefix of every fixture, garbage, deep nesting and oversized input: no panic,
    /// bounded output.
    #[test]
    fn truncated_garbage_nested_and_huge_mail_never_panics() {
        let names = [
            "dsn-user-unknown.eml",
            "dsn-three-recipients.eml",
            "qmail-two-recipients.eml",
            "exim-full-mailbox.eml",
            "arf-abuse.eml",
            "autoreply-vacation.eml",
            "not-a-bounce.eml",
            "dsn-local-program.eml",
            "dsn-returning-a-forwarded-report.eml",
            "dsn-generic-status.eml",
        ];
        for name in names {
            let raw = fixture(name);
            for cut in (0..raw.len()).step_by(7) {
                let r = classify(&raw[..cut]);
                assert!(r.recipients.len() <= MAX_RECIPIENTS);
            }
            // Bytes flipped into invalid UTF-8 and stray boundaries.
            let mut mangled = raw.clone();
            for i in (0..mangled.len()).step_by(13) {
                mangled[i] = [0xff, b'-', b'\n', b'=', 0xc3][i % 5];
            }
            classify(&mangled);
        }
        // Pseudo-random garbage from a fixed linear congruential sequence.
        let mut x: u32 = 12345;
        let garbage: Vec<u8> = (0..200_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        classify(&garbage);
        // Multiparts nested far deeper than the limit.
        let mut nested = String::from("Content-Type: text/plain\n\n550 5.1.1 x@y.example\n");
        for i in 0..500 {
            nested = format!(
                "Content-Type: multipart/report; boundary=\"b{i}\"\n\n--b{i}\n{nested}\n--b{i}--\n"
            );
        }
        classify(nested.as_bytes());
        // Thousands of parts and recipients; more than MAX_INPUT bytes.
        let mut wide = String::from(
            "From: MAILER-DAEMON@x.example\nSubject: Undelivered\nContent-Type: multipart/mixed; boundary=\"w\"\n\n",
        );
        for i in 0..20_000 {
            wide.push_str(&format!(
                "--w\n\n<user{i}@example.com>: 550 5.1.1 user unknown\n"
            ));
        }
        while wide.len() <= MAX_INPUT {
            wide.push_str("padding padding padding padding\n");
        }
        let r = classify(wide.as_bytes());
        assert!(r.truncated);
        assert!(r.recipients.len() <= MAX_RECIPIENTS);
    }
}

//! Feedback-loop reports (ARF, RFC 5965): a `message/feedback-report` part (or a mail
//! whose `report-type` is `feedback-report`) → one [`Recipient`] per reported recipient.
//!
//! Who complained: each `Original-Rcpt-To`, else the attached original message's `To`,
//! else `Removed-Recipient`. What it means, by `Feedback-Type` (RFC 5965 §7.3, RFC 6591,
//! RFC 6650): `abuse`, `fraud`, `virus`, `other` and the opt-out types are complaints;
//! `auth-failure` and `not-spam` are reports about the sender's setup or a mistake, so
//! ignored.

use super::mime::{Body, Part};
use super::{Action, Reason, Recipient, bare_address};

/// The reported recipients, or `None` when the mail is no feedback report.
pub(super) fn read(mail: &Part) -> Option<Vec<Recipient>> {
    let parts = mail.walk();
    let report = parts
        .iter()
        .find(|p| p.content_type.mime == "message/feedback-report")
        .and_then(|p| p.text())
        .map(super::mime::headers_from_text)
        .or_else(|| {
            // A report part some providers label text/plain inside a feedback report.
            let is_feedback = mail
                .content_type
                .param("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("feedback-report"));
            is_feedback.then(|| {
                parts
                    .iter()
                    .filter_map(|p| p.text())
                    .map(super::mime::headers_from_text)
                    .find(|h| h.get("feedback-type").is_some())
                    .unwrap_or_default()
            })
        })?;
    let feedback_type = report
        .get("feedback-type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let action = match feedback_type.as_str() {
        "auth-failure" | "not-spam" | "dkim" | "spf" => Action::Ignore,
        _ => Action::Complaint,
    };
    let mut addresses: Vec<String> = report
        .all("original-rcpt-to")
        .filter_map(bare_address)
        .collect();
    if addresses.is_empty() {
        let attached_to = parts.iter().find_map(|p| match &p.body {
            Body::Message(m) => m.headers.get("to").and_then(bare_address),
            _ => None,
        });
        addresses.extend(attached_to);
    }
    if addresses.is_empty() {
        addresses.extend(report.all("removed-recipient").filter_map(bare_address));
    }
    if addresses.is_empty() {
        // A report that names nobody still is one complaint.
        addresses.push(String::new());
    }
    Some(
        addresses
            .into_iter()
            .map(|address| Recipient {
                address,
                status: String::new(),
                reply_code: None,
                action,
                reason: Reason::Feedback,
                diagnostic: format!("feedback-type: {feedback_type}"),
            })
            .collect(),
    )
}

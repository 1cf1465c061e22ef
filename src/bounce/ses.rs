//! Amazon SES notifications delivered by mail through SNS: a text body holding one JSON
//! object (`notificationType` `Bounce`, `Complaint` or `Delivery`) → its recipients.
//!
//! A `Permanent` bounce is classified from each recipient's status and diagnostic like any
//! other (SES's `NoEmail` subtype means the address does not exist); a `Transient` or
//! `Undetermined` one is soft; a complaint is a complaint unless its feedback type says
//! `not-spam`; a delivery report names no failure.

use serde_json::Value;

use super::mime::Part;
use super::{Action, Reason, Recipient, bare_address, reason};

/// The notification's recipients, or `None` when no part holds an SES notification.
pub(super) fn read(mail: &Part) -> Option<Vec<Recipient>> {
    let note = mail
        .walk()
        .into_iter()
        .filter_map(Part::text)
        .find_map(notification)?;
    // Raw SNS delivery wraps the notification as a JSON string in "Message".
    let note = match note.get("Message").and_then(Value::as_str) {
        Some(inner) => serde_json::from_str(inner).ok()?,
        None => note,
    };
    let kind = note.get("notificationType")?.as_str()?.to_ascii_lowercase();
    let list = |obj: &str, key: &str| -> Vec<Value> {
        note.get(obj)
            .and_then(|o| o.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match kind.as_str() {
        "bounce" => {
            let bounce = note.get("bounce")?;
            let bounce_type = field(bounce, "bounceType").to_ascii_lowercase();
            let sub_type = field(bounce, "bounceSubType").to_ascii_lowercase();
            Some(
                list("bounce", "bouncedRecipients")
                    .iter()
                    .map(|r| {
                        let diagnostic = field(r, "diagnosticCode");
                        let status = reason::find_status(&field(r, "status"))
                            .or_else(|| reason::find_status(&diagnostic))
                            .unwrap_or_default();
                        let reply_code = reason::find_reply_code(&diagnostic);
                        let (reason, action) = if bounce_type != "permanent" {
                            (Reason::Temporary, Action::Soft)
                        } else if sub_type == "noemail" {
                            (Reason::UserUnknown, Action::Hard)
                        } else {
                            reason::classify(&diagnostic, &status, reply_code)
                        };
                        Recipient {
                            address: bare_address(&field(r, "emailAddress")).unwrap_or_default(),
                            status,
                            reply_code,
                            action,
                            reason,
                            diagnostic: format!("ses {bounce_type}/{sub_type}: {diagnostic}"),
                        }
                    })
                    .collect(),
            )
        }
        "complaint" => {
            let feedback = note
                .get("complaint")
                .map(|c| field(c, "complaintFeedbackType"))
                .unwrap_or_default();
            let action = if feedback.eq_ignore_ascii_case("not-spam") {
                Action::Ignore
            } else {
                Action::Complaint
            };
            Some(
                list("complaint", "complainedRecipients")
                    .iter()
                    .map(|r| Recipient {
                        address: bare_address(&field(r, "emailAddress")).unwrap_or_default(),
                        status: String::new(),
                        reply_code: None,
                        action,
                        reason: Reason::Feedback,
                        diagnostic: format!("ses complaint: {feedback}"),
                    })
                    .collect(),
            )
        }
        _ => Some(Vec::new()),
    }
}

/// The JSON object a text starts with, when it is an SES notification.
fn notification(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    // Only a body that is the notification, not a mail that quotes JSON somewhere.
    if !text[..start].trim().is_empty() || !text.contains("notificationType") {
        return None;
    }
    let first = |t: &str| {
        let mut stream = serde_json::Deserializer::from_str(t).into_iter::<Value>();
        stream.next()?.ok().filter(Value::is_object)
    };
    // Sendmail splits lines over its limit with "!" and a folded line; undo that once.
    first(&text[start..]).or_else(|| {
        let joined = text[start..]
            .replace("!\r\n ", "")
            .replace("!\n ", "")
            .replace(['\r', '\n'], "");
        first(&joined)
    })
}

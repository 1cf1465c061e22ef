//! Automatic replies (RFC 3834): vacation and out-of-office notices → one `ignore`
//! [`Recipient`] (the replying address), so a caller can tell them from mail it should
//! read. Tried last: bounces from Exim and Google also say `Auto-Submitted: auto-replied`.
//!
//! Signals: `Auto-Submitted: auto-replied`, the vendor headers vacation programs add
//! (`X-Autoreply`, `X-Autorespond`, `X-Vacation`, `Precedence: auto_reply`), or a subject
//! that starts like an auto-reply in the common languages.

use super::mime::{Part, decode_words};
use super::{Action, Reason, Recipient, bare_address};

/// Subject beginnings of auto-replies (lower case; Outlook, Exchange, Gmail, Apple Mail,
/// Thunderbird and common vacation scripts, in English, German, French, Spanish, Italian,
/// Portuguese, Dutch and Japanese).
const SUBJECTS: &[&str] = &[
    "auto:",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "automatic reply",
    "automatische antwort",
    "out of office",
    "out of the office",
    "away until",
    "away from",
    "on vacation",
    "vacation reply",
    "i am away",
    "abwesenheit",
    "abwesend",
    "réponse automatique",
    "reponse automatique",
    "absence",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "risposta automatica",
    "fuori ufficio",
    "resposta automática",
    "ausente",
    "automatisch antwoord",
    "afwezig",
    "自動応答",
    "自動返信",
    "不在",
];

/// The replying address, or `None` when the mail is no auto-reply.
pub(super) fn read(mail: &Part) -> Option<Vec<Recipient>> {
    let h = &mail.headers;
    let auto_submitted = h
        .get("auto-submitted")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("auto-replied"));
    let vendor = [
        "x-autoreply",
        "x-autorespond",
        "x-vacation",
        "x-autoresponder",
    ]
    .iter()
    .any(|n| h.get(n).is_some())
        || h.get("precedence")
            .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));
    let subject = h.get("subject").map(decode_words).unwrap_or_default();
    let subject = subject.trim().to_lowercase();
    let by_subject = SUBJECTS.iter().any(|s| subject.starts_with(s));
    if !(auto_submitted || vendor || by_subject) {
        return None;
    }
    let address = h
        .get("from")
        .and_then(bare_address)
        .or_else(|| h.get("sender").and_then(bare_address))
        .unwrap_or_default();
    Some(vec![Recipient {
        address,
        status: String::new(),
        reply_code: None,
        action: Action::Ignore,
        reason: Reason::AutoReply,
        diagnostic: format!("auto-reply: {subject}"),
    }])
}

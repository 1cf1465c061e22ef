//! Delivery status notifications (RFC 3464): the `message/delivery-status` part of a
//! `multipart/report` → one [`Recipient`] per failed or delayed recipient block, in order.
//!
//! Each block's `Diagnostic-Code` is the first evidence; when it says nothing telling (or
//! is missing, as with many MTAs), the lines of the human-readable part that mention the
//! recipient are added, and for a single recipient the whole human-readable text.

use super::mime::{self, Part};
use super::{Reason, Recipient, bare_address, reason, text};

/// One per-recipient block of a delivery-status part.
#[derive(Debug, Default)]
struct Block {
    final_recipient: Option<String>,
    original_recipient: Option<String>,
    action: Option<String>,
    status: Option<String>,
    diagnostic: Option<String>,
}

/// The failed recipients of a DSN, or `None` when the mail holds no delivery-status part
/// naming any recipient.
pub(super) fn read(mail: &Part) -> Option<Vec<Recipient>> {
    let reports = |parts: Vec<&Part>| -> Vec<Block> {
        parts
            .iter()
            .filter(|p| {
                matches!(
                    p.content_type.mime.as_str(),
                    "message/delivery-status" | "message/global-delivery-status"
                )
            })
            .filter_map(|p| p.text())
            .flat_map(blocks)
            .collect()
    };
    // The mail's own report first: a report inside the returned message (a member who
    // forwarded a bounce to us, then bounced) is about someone else. Only a mail with
    // no report of its own, a relay that wrapped the real bounce, is read deeper.
    let mut found = reports(mail.walk_own());
    let parts = mail.walk();
    if found.is_empty() {
        found = reports(parts.clone());
    }
    if found.is_empty() {
        // A report whose MIME boundaries were lost (forwarded, flattened by a gateway)
        // still carries its fields inline after the human-readable text.
        found = parts
            .iter()
            .filter(|p| {
                let m = &p.content_type.mime;
                m.starts_with("text/") || m.starts_with("multipart/")
            })
            .filter_map(|p| p.text())
            .filter_map(inline_report)
            .flat_map(blocks)
            .collect();
    }
    if found.is_empty() {
        return None;
    }
    let failed: Vec<&Block> = found.iter().filter(|b| is_failure(b)).collect();
    let human = text::human_text(mail);
    let single = failed.len() == 1;
    let addresses: Vec<String> = failed.iter().map(|b| address(b)).collect();
    let out = failed
        .into_iter()
        .map(|b| recipient(b, &human, single, &addresses))
        .collect();
    Some(out)
}

/// A block reports a failure when its action says so, or (no action given) its status
/// is 4.x.x or 5.x.x. Delivered, relayed and expanded recipients are not failures.
fn is_failure(b: &Block) -> bool {
    match b.action.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some(a) if a.starts_with("delivered") || a.starts_with("relayed") => false,
        Some(a) if a.starts_with("expanded") => false,
        // "failed", "delayed", and what some MTAs write instead ("expired").
        Some(a) if !a.is_empty() => true,
        _ => b
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with('4') || s.starts_with('5')),
    }
}

fn address(b: &Block) -> String {
    b.final_recipient
        .as_deref()
        .and_then(bare_address)
        .or_else(|| b.original_recipient.as_deref().and_then(bare_address))
        .unwrap_or_default()
}

fn recipient(b: &Block, human: &str, single: bool, all: &[String]) -> Recipient {
    let address = address(b);
    let diagnostic = b
        .diagnostic
        .as_deref()
        .map(strip_type)
        .unwrap_or_default()
        .to_string();
    // The status field may carry a comment ("5.2.1 (mailbox disabled)").
    let mut evidence = format!("{diagnostic}\n{}", b.status.as_deref().unwrap_or(""));
    // The human-readable lines about this recipient: they often say more than the
    // report (and say when the receiver answered, after DATA or at RCPT).
    if !address.is_empty() {
        evidence.push('\n');
        evidence.push_str(&text::lines_about(human, &address, all));
    }
    if single {
        evidence.push('\n');
        evidence.push_str(human);
    }
    let status = b
        .status
        .as_deref()
        .and_then(reason::find_status)
        .or_else(|| reason::find_status(&evidence))
        .unwrap_or_default();
    let status = refined(status, &diagnostic);
    let reply_code =
        reason::find_reply_code(&diagnostic).or_else(|| reason::find_reply_code(&evidence));
    let delayed = b.action.as_deref().is_some_and(|a| {
        let a = a.to_ascii_lowercase();
        a.starts_with("delayed") || a.starts_with("expired")
    });
    let (reason, action) = if delayed {
        (Reason::Temporary, super::Action::Soft)
    } else {
        match reason::classify(&evidence, &status, reply_code) {
            // RFC 3464 §2.3.6: an X-Unix diagnostic is a local delivery program's own
            // output (procmail, maildrop, a sieve script) about its setup; its "no such
            // user" is no word from the recipient's mail server.
            (_, super::Action::Hard) if is_local_program(b) => (Reason::Other, super::Action::Soft),
            // RFC 3464 §2.3.6 again: a diagnostic without its type (`smtp;`) is no
            // relayed reply but a gateway's own sentence; words alone are not enough
            // then, only an addressing status (5.1.x).
            (_, super::Action::Hard) if is_untyped(b) && !status.starts_with("5.1.") => {
                (Reason::Other, super::Action::Soft)
            }
            found => found,
        }
    };
    Recipient {
        address,
        status,
        reply_code,
        action,
        reason,
        diagnostic: if diagnostic.is_empty() {
            evidence
        } else {
            diagnostic
        },
    }
}

/// A generic `X.0.0` status (RFC 3463 "other or undefined") replaced by the more
/// specific code of the same class the receiving server gave in its own reply: the
/// reporting MTA's summary says less than the server's answer.
fn refined(status: String, diagnostic: &str) -> String {
    let Some(class) = status.strip_suffix(".0.0") else {
        return status;
    };
    match reason::find_status(diagnostic) {
        Some(own) if own.split('.').next() == Some(class) && !own.ends_with(".0.0") => own,
        _ => status,
    }
}

/// The block has a diagnostic, but not in the `type; text` form.
fn is_untyped(b: &Block) -> bool {
    b.diagnostic
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty() && diagnostic_type(d).is_none())
}

/// The diagnostic's type (`smtp`, `x-unix`) when it is written `type; text`.
fn diagnostic_type(s: &str) -> Option<&str> {
    match s.split_once(';') {
        Some((kind, _)) if kind.trim().len() < 32 && !kind.trim().contains(' ') => {
            Some(kind.trim())
        }
        _ => None,
    }
}

/// The block's diagnostic comes from a local delivery program (`X-Unix; …`).
fn is_local_program(b: &Block) -> bool {
    b.diagnostic
        .as_deref()
        .and_then(diagnostic_type)
        .is_some_and(|kind| kind.eq_ignore_ascii_case("x-unix"))
}

/// The text from the first line that starts a DSN's fields, when a text holds some.
fn inline_report(text: &str) -> Option<&str> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let l = line.to_ascii_lowercase();
        if l.starts_with("reporting-mta:")
            || l.starts_with("final-recipient:")
            || l.starts_with("original-recipient:")
        {
            return Some(&text[pos..]);
        }
        pos += line.len();
    }
    None
}

/// `smtp; 550 …` → `550 …`.
fn strip_type(s: &str) -> &str {
    match s.split_once(';') {
        Some((kind, rest)) if kind.len() < 12 && !kind.contains(' ') => rest.trim(),
        _ => s.trim(),
    }
}

/// The per-recipient blocks of a delivery-status body. Blocks are separated by empty
/// lines, but some MTAs leave those out, so a second recipient field also starts a block.
fn blocks(body: &str) -> Vec<Block> {
    let body = body.replace("\r\n", "\n");
    let mut out: Vec<Block> = Vec::new();
    for group in body.split("\n\n") {
        let mut cur: Option<Block> = None;
        for (name, value) in mime::headers_from_text(group).iter() {
            let name = name.to_ascii_lowercase();
            let starts = match name.as_str() {
                "final-recipient" => cur.as_ref().is_some_and(|b| b.final_recipient.is_some()),
                "original-recipient" => {
                    cur.as_ref().is_some_and(|b| b.original_recipient.is_some())
                }
                _ => false,
            };
            if starts {
                out.extend(cur.take());
            }
            let b = cur.get_or_insert_with(Block::default);
            let v = Some(value.to_string());
            match name.as_str() {
                "final-recipient" => b.final_recipient = v,
                "x-actual-recipient" if b.final_recipient.is_none() => b.final_recipient = v,
                "original-recipient" => b.original_recipient = v,
                "action" => b.action = v,
                "status" => b.status = v,
                "diagnostic-code" => b.diagnostic = v,
                _ => {}
            }
        }
        // The per-message block (Reporting-MTA, Arrival-Date) names no recipient.
        out.extend(cur.filter(|b| b.final_recipient.is_some() || b.original_recipient.is_some()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_without_empty_lines_between_them_are_still_split() {
        let b = blocks(
            "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; b@example.org\nAction: delayed\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 4.2.2\n  mailbox full\n",
        );
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[1].diagnostic.as_deref(),
            Some("smtp; 452 4.2.2 mailbox full")
        );
    }
}

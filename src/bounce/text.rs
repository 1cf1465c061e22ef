//! Non-standard bounces: the human-readable text of a mail from a mailer daemon → the
//! failed addresses it names and the error lines about each.
//!
//! Most MTAs and providers (qmail, Exim, Courier, Exchange, Gmail, Yahoo, many appliances)
//! write their own text instead of, or before, an RFC 3464 report. Their shapes differ but
//! share a pattern this reader relies on, never a particular sender: a bounce comes from a
//! daemon address or has a delivery-failure subject (or an `X-Failed-Recipients` header);
//! the failed addresses appear in the text before the copy of the original message; the
//! error for each follows its address.

use super::mime::{self, Body, Headers, Part, decode_words};
use super::{Original, Recipient, bare_address, reason};

/// Subject fragments of delivery-failure notices (lower case), in the languages MTAs
/// localise them to.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "not delivered",
    "delivery fail",
    "delivery status notification",
    "delivery notification",
    "delivery problem",
    "delivery report",
    "delivery error",
    "failure notice",
    "failed delivery",
    "returned mail",
    "returned to sender",
    "return mail",
    "mail delivery",
    "non-delivery",
    "nondeliver",
    "non delivery",
    "could not be delivered",
    "couldn't be delivered",
    "mail system error",
    "error sending",
    "message delivery has failed",
    "rejected",
    "bounce",
    "unzustellbar",
    "nicht zustellbar",
    "fehlgeschlagen",
    "non remis",
    "échec de la remise",
    "echec de distribution",
    "no entregado",
    "no se pudo entregar",
    "non recapitabile",
    "não entregue",
    "niet afgeleverd",
    "配信不能",
    "不達",
    "エラー",
];

/// Sentences of a delivery failure (lower case), for bounces sent from an ordinary
/// address under a bland subject.
const FAILURE_SENTENCES: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "was not delivered",
    "wasn't delivered",
    "undeliverable",
    "unable to deliver",
    "delivery failed",
    "delivery has failed",
    "failed to deliver",
];

/// The mail carries a returned message (attached or its headers) and its own text says
/// delivery failed: a bounce whatever its sender and subject.
fn returns_original(mail: &Part, text: &str) -> bool {
    let attached = mail
        .walk_own()
        .iter()
        .any(|p| matches!(p.body, Body::Message(_)));
    let lower = text.to_lowercase();
    attached && FAILURE_SENTENCES.iter().any(|s| lower.contains(s))
}

/// Local parts of the addresses bounces come from.
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "postmaster",
    "poostmaster",
    "mail-daemon",
    "maildaemon",
    "mdaemon",
    "bounce",
    "bounces",
    "nobody",
    "root",
    "mail",
];

/// Display names of the same.
const DAEMON_NAMES: &[&str] = &[
    "mail delivery",
    "mailer-daemon",
    "mail administrator",
    "postmaster",
    "mail system",
    "mail delivery subsystem",
    "delivery status",
    "microsoft outlook",
    "returned mail",
];

/// Lines (lower case, trimmed) that begin the copy of the original message.
const SEPARATORS: &[&str] = &[
    "original message",
    "original mail",
    "copy of the message",
    "copy of your message",
    "copy of the original message",
    "message headers follow",
    "headers of the original message",
    "header of the original message",
    "original message headers",
    "undelivered message",
    "returned message",
    "message text follows",
    "the headers of your message",
    "your message reads",
    "content-type: message/rfc822",
    "message follows",
    "below this line",
    "header of your message",
    "message d'origine",
    "ursprüngliche nachricht",
    "originalnachricht",
    "mensaje original",
    "messaggio originale",
    "mensagem original",
    "oorspronkelijk bericht",
];

/// The failed recipients of a non-standard bounce, or `None` when the mail is no bounce.
pub(super) fn read(mail: &Part, original: Option<&Original>) -> Option<Vec<Recipient>> {
    let h = &mail.headers;
    let failed_header: Vec<String> = h
        .all("x-failed-recipients")
        .flat_map(|v| v.split(','))
        .filter_map(bare_address)
        .collect();
    let subject = h
        .get("subject")
        .map(decode_words)
        .unwrap_or_default()
        .to_lowercase();
    let from = h
        .get("from")
        .map(decode_words)
        .unwrap_or_default()
        .to_lowercase();
    let from_daemon = bare_address(&from).is_some_and(|a| is_daemon(&a))
        || DAEMON_NAMES.iter().any(|n| from.contains(n));
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s));
    let text = human_text(mail);
    if failed_header.is_empty() && !from_daemon && !bounce_subject && !returns_original(mail, &text)
    {
        return None;
    }
    let mut addresses = failed_header;
    if addresses.is_empty() {
        addresses = failed_addresses(&text, h, original);
    }
    if addresses.is_empty()
        && let Some(to) = original
            .and_then(|o| o.to.as_deref())
            .and_then(bare_address)
    {
        addresses.push(to);
    }
    if addresses.is_empty() {
        return None;
    }
    let lower = text.to_lowercase();
    let starts: Vec<Option<usize>> = addresses
        .iter()
        .map(|a| lower.find(&a.to_lowercase()))
        .collect();
    let single = addresses.len() == 1;
    let out = addresses
        .iter()
        .enumerate()
        .map(|(i, address)| {
            let evidence = if single {
                text.clone()
            } else {
                let others: Vec<String> = addresses
                    .iter()
                    .filter(|a| *a != address)
                    .map(|a| a.to_lowercase())
                    .collect();
                let own = |l: &&str| {
                    let l = l.to_lowercase();
                    l.contains(&address.to_lowercase()) && !others.iter().any(|o| l.contains(o))
                };
                let mine: Vec<&str> = text.lines().filter(own).collect();
                segment(&text, &addresses, &starts, i) + "\n" + &mine.join("\n")
            };
            let status = reason::find_status(&evidence).unwrap_or_default();
            let reply_code = reason::find_reply_code(&evidence);
            let status = if status.is_empty() {
                match reply_code {
                    Some(c) if c >= 500 => "5.0.0".to_string(),
                    Some(_) => "4.0.0".to_string(),
                    None => String::new(),
                }
            } else {
                status
            };
            let (reason, action) = reason::classify(&evidence, &status, reply_code);
            Recipient {
                address: address.clone(),
                status,
                reply_code,
                action,
                reason,
                diagnostic: error_lines(&evidence),
            }
        })
        .collect();
    Some(out)
}

/// The text from recipient `i`'s first mention to the next mention of another recipient
/// (bounces that repeat their list in a second language mention everyone twice).
fn segment(text: &str, addresses: &[String], starts: &[Option<usize>], i: usize) -> String {
    let Some(start) = starts.get(i).copied().flatten() else {
        return String::new();
    };
    let lower = text.to_lowercase();
    let mine = addresses
        .get(i)
        .map(|a| a.to_lowercase())
        .unwrap_or_default();
    let after = start + mine.len();
    let end = addresses
        .iter()
        .map(|a| a.to_lowercase())
        .filter(|a| *a != mine)
        .filter_map(|a| lower.get(after..)?.find(&a).map(|p| p + after))
        .min()
        .unwrap_or(lower.len());
    // Lower-casing can change byte lengths; fall back to the rest of the text.
    lower.get(start..end).unwrap_or("").to_string()
}

/// The lines of `evidence` that carry an SMTP code or an error word, for the report.
fn error_lines(evidence: &str) -> String {
    let lines: Vec<&str> = evidence
        .lines()
        .map(str::trim)
        .filter(|l| {
            reason::find_reply_code(l).is_some()
                || reason::find_status(l).is_some()
                || reason::is_telling(l)
        })
        .take(4)
        .collect();
    if lines.is_empty() {
        evidence.trim().to_string()
    } else {
        lines.join(" | ")
    }
}

fn is_daemon(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("").to_ascii_lowercase();
    DAEMONS.contains(&local.as_str())
}

/// The addresses the text names as failed, in order: every address before the copy of
/// the original message, except the bounce's own sender and recipient, daemon addresses
/// and addresses inside quoted header lines.
fn failed_addresses(text: &str, h: &Headers, original: Option<&Original>) -> Vec<String> {
    let mut skip: Vec<String> = ["from", "to", "reply-to", "return-path", "sender", "cc"]
        .iter()
        .flat_map(|n| h.all(n).collect::<Vec<_>>())
        .flat_map(|v| v.split(','))
        .filter_map(bare_address)
        .collect();
    if let Some(o) = original {
        skip.extend(o.from.as_deref().and_then(bare_address));
        skip.extend(o.return_path.as_deref().and_then(bare_address));
        skip.extend(o.message_id.as_deref().and_then(bare_address));
    }
    skip.extend(h.get("message-id").and_then(bare_address));
    let skip: Vec<String> = skip.into_iter().map(|s| s.to_lowercase()).collect();
    // Candidates, and whether each opens its line (`<a@b>:`, `  a@b`, `a@b on …`): the
    // shape every MTA uses for its list of failed recipients, unlike addresses that
    // appear in sentences (a help desk, the sender, a quoted To line).
    let mut found: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        let t = line
            .trim_start_matches(|c: char| c == '>' || c.is_whitespace())
            .to_ascii_lowercase();
        let header_line = [
            "date:",
            "subject:",
            "received:",
            "from:",
            "reply-to:",
            "return-path:",
            "sender:",
            "message-id:",
            "in-reply-to:",
            "references:",
            "by ",
            "id ",
            "(envelope-from",
            "envelope-from",
            "mail from",
            "helo",
        ]
        .iter()
        .any(|p| t.starts_with(p));
        if header_line {
            continue;
        }
        let opening = line
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '<' | '"' | '\''))
            .to_ascii_lowercase();
        for a in addresses_in(line) {
            let l = a.to_lowercase();
            let leads = opening.starts_with(&l);
            let full = found.len() >= super::MAX_RECIPIENTS;
            match found.iter_mut().find(|(o, _)| o.eq_ignore_ascii_case(&a)) {
                Some(f) => f.1 |= leads,
                None if !is_daemon(&l) && !full => found.push((a, leads)),
                None => {}
            }
        }
    }
    let pick = |strong_only: bool, allow_skipped: bool| -> Vec<String> {
        found
            .iter()
            .filter(|(a, leads)| {
                (!strong_only || *leads) && (allow_skipped || !skip.contains(&a.to_lowercase()))
            })
            .map(|(a, _)| a.clone())
            .collect()
    };
    let strong = pick(true, false);
    if !strong.is_empty() {
        return strong;
    }
    let any = pick(false, false);
    if !any.is_empty() {
        return any;
    }
    // Mail a member sent to themselves bounces to the same address it failed for.
    pick(true, true)
}

/// Every address-shaped token in a line.
fn addresses_in(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let local_char = |c: u8| c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c);
    let domain_char = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'@' {
            i += 1;
            continue;
        }
        let mut s = i;
        while s > 0 && local_char(b[s - 1]) {
            s -= 1;
        }
        let mut e = i + 1;
        while e < b.len() && domain_char(b[e]) {
            e += 1;
        }
        let local = line
            .get(s..i)
            .unwrap_or("")
            .trim_start_matches(['.', '\'', '=']);
        let domain = line
            .get(i + 1..e)
            .unwrap_or("")
            .trim_end_matches(['.', '-']);
        if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') {
            out.push(format!("{local}@{domain}"));
        }
        i = e.max(i + 1);
    }
    out
}

/// The readable text of a bounce: its text parts outside attached messages and reports
/// (HTML only when there is no plain text), up to the copy of the original message.
pub(super) fn human_text(mail: &Part) -> String {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    collect_text(mail, &mut plain, &mut html);
    let text = if plain.iter().any(|t| !t.trim().is_empty()) {
        plain.join("\n")
    } else {
        html.iter()
            .map(|h| strip_html(h))
            .collect::<Vec<_>>()
            .join("\n")
    };
    split_at_separator(&text).0.to_string()
}

fn collect_text(part: &Part, plain: &mut Vec<String>, html: &mut Vec<String>) {
    match &part.body {
        Body::Multipart(parts) => {
            for p in parts {
                collect_text(p, plain, html);
            }
        }
        Body::Message(_) => {}
        Body::Text(t) => match part.content_type.mime.as_str() {
            // A multipart read as text lost its boundaries; its text is still readable.
            m if m == "text/plain" || m.starts_with("multipart/") => plain.push(t.clone()),
            "text/html" => html.push(t.clone()),
            _ => {}
        },
    }
}

/// The text before and after the line that begins the copy of the original message.
fn split_at_separator(text: &str) -> (&str, &str) {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim().to_lowercase();
        let decorated =
            t.starts_with(['-', '=', '*', '_', '[', '>', '#']) || t.ends_with(['-', ':']);
        // A phrase inside a sentence ("delete your text from the attached returned
        // message") is no separator; a decorated or leading one is.
        let separator = SEPARATORS
            .iter()
            .any(|s| t.contains(s) && (decorated || t.starts_with(s) || *s == "below this line"));
        // A quoted header block with no line announcing it.
        let quoted_headers =
            line.starts_with("Received: from ") || line.starts_with("Return-Path: <");
        if separator || quoted_headers {
            return (&text[..pos], &text[pos..]);
        }
        pos += line.len();
    }
    (text, "")
}

/// The original message's headers when a bounce quotes them inline after its text.
pub(super) fn quoted_headers(mail: &Part) -> Option<Headers> {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    collect_text(mail, &mut plain, &mut html);
    let text = plain.join("\n");
    let (_, after) = split_at_separator(&text);
    let lines: Vec<&str> = after.lines().skip(1).collect();
    let is_field = |l: &str| {
        l.split_once(':').is_some_and(|(n, _)| {
            !n.is_empty()
                && n.len() < 40
                && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
    };
    let start = lines
        .iter()
        .take(20)
        .position(|l| is_field(l.trim_start()))?;
    let block: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            // Some MTAs indent the quoted headers; keep folding (tab) but drop the indent.
            if l.starts_with("  ") && is_field(l.trim_start()) {
                l.trim_start()
            } else {
                *l
            }
        })
        .collect();
    let headers = mime::headers_from_text(&block.join("\n"));
    (headers.len() > 0).then_some(headers)
}

/// The paragraphs of `text` that mention `address` and none of `others`; lines when a
/// paragraph lists several recipients.
pub(super) fn lines_about(text: &str, address: &str, others: &[String]) -> String {
    let needle = address.to_lowercase();
    let others: Vec<String> = others
        .iter()
        .map(|o| o.to_lowercase())
        .filter(|o| *o != needle)
        .collect();
    let mut out = Vec::new();
    for p in text.split("\n\n") {
        let lower = p.to_lowercase();
        if !lower.contains(&needle) {
            continue;
        }
        if !others.iter().any(|o| lower.contains(o)) {
            out.push(p.to_string());
            continue;
        }
        out.extend(
            p.lines()
                .filter(|l| {
                    let l = l.to_lowercase();
                    l.contains(&needle) && !others.iter().any(|o| l.contains(o))
                })
                .map(str::to_string),
        );
    }
    out.join("\n")
}

/// Tags removed, block ends as line breaks, the common entities decoded.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let t = tag.to_ascii_lowercase();
                if ["br", "/p", "p", "/div", "/tr", "/li", "/h", "/table"]
                    .iter()
                    .any(|b| t.starts_with(b))
                {
                    out.push('\n');
                }
            }
            _ if in_tag => {
                if tag.len() < 8 {
                    tag.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_inside_brackets_and_quotes() {
        assert_eq!(
            addresses_in("<a.b@example.org>: said 'c@example.net'. x@y"),
            vec!["a.b@example.org", "c@example.net"]
        );
    }

    #[test]
    fn text_is_cut_at_the_copy_of_the_original_message() {
        let (before, after) = split_at_separator(
            "failed:\n  a@example.org\n\n------ This is a copy of the message, including all the headers. ------\nTo: a@example.org\n",
        );
        assert!(before.contains("a@example.org"));
        assert!(after.starts_with("------"));
    }
}

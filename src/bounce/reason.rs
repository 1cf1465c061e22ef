//! Why a recipient failed, from the evidence a bounce gives: diagnostic text, enhanced
//! status code (RFC 3463) and SMTP reply code (RFC 5321) → a [`Reason`] and its
//! [`Action`].
//!
//! The rule is "hard only when sure": a recipient is hard only when the text names a
//! permanent addressing failure (unknown user, unknown domain, moved, domain accepts no
//! mail) or the status code does (5.1.1, 5.1.2, 5.1.6, 5.1.10, 5.7.27), and nothing in
//! the text says the failure is about the mailbox's state (full, disabled), the message or
//! the sender (spam, policy, reputation, authentication) or time (try later). A 4.x.x
//! status is never hard. Everything else that failed is soft.

use super::{Action, Reason};

/// Phrase classes, lower case, matched as substrings of the collapsed evidence. The
/// override classes come first: a mailbox that is full, a sender that is blocked, any
/// mention of a temporary condition makes an "unknown user" line untrustworthy (mail
/// systems answer 550 5.1.1 for all of these).
const MAILBOX_FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "mailbox was full",
    "mail box full",
    "mailbox has exceeded",
    "mailbox size limit",
    "mailfolder is full",
    "full mailbox",
    "quota",
    "insufficient storage",
    "storage space",
    "storage allocation",
    "not enough space",
    "not enough disk space",
    "disk full",
    "out of storage",
    "exceeded storage",
    "is over the limit",
    "too many messages",
    "boîte aux lettres pleine",
    "boite aux lettres pleine",
    "boîte pleine",
    "postfach voll",
    "speicherplatz",
    "buzón lleno",
    "buzon lleno",
    "casella piena",
    "caixa postal cheia",
    "caixa de correio cheia",
];

const DISABLED: &[&str] = &[
    "disabled",
    "suspended",
    "deactivated",
    "inactive",
    "not active",
    "account expired",
    "has expired",
    "frozen",
    "locked",
    "blocked account",
    "temporarily unavailable",
    "désactivé",
    "gesperrt",
    "deaktiviert",
];

const REFUSED: &[&str] = &[
    "spam",
    "blocked",
    "block list",
    "blocklist",
    "blacklist",
    "black list",
    "dnsbl",
    " rbl",
    "reputation",
    "policy",
    "policies",
    "not permitted",
    "not allowed",
    "prohibited",
    "banned",
    "refused due to",
    "dmarc",
    "spf",
    "dkim",
    "authenticat",
    "reverse dns",
    "ptr record",
    "virus",
    "malware",
    "content rejected",
    "relaying",
    "relay access",
    "relay denied",
    "relay not",
    "unable to relay",
    "to relay",
    "rate limit",
    "too many connections",
    "too many concurrent",
    "too many recipients",
    "too many mails",
    "too many emails",
    "sending too",
    "try again later",
    "please try again",
    "retry later",
    "temporar",
    "greylist",
    "graylist",
    "filtered",
    "content filter",
    "spam filter",
    "refused to accept",
    "only accepts mail from",
    "message size",
    "too large",
    "too big",
    "timed out",
    "timeout",
];

const USER_UNKNOWN: &[&str] = &[
    "user unknown",
    "unknown user",
    "user is unknown",
    "unknown recipient",
    "recipient unknown",
    "unknown local part",
    "unknown address",
    "address unknown",
    "addressee unknown",
    "no such user",
    "no such mailbox",
    "no such recipient",
    "no such account",
    "no such address",
    "no such local user",
    "no such person",
    "user not found",
    "recipient not found",
    "mailbox not found",
    "address not found",
    "account not found",
    "user doesn't exist",
    "user does not exist",
    "mailbox does not exist",
    "mailbox doesn't exist",
    "account does not exist",
    "account doesn't exist",
    "address does not exist",
    "address doesn't exist",
    "recipient does not exist",
    "recipient doesn't exist",
    "does not exist here",
    "does not have an account",
    "not a valid mailbox",
    "invalid mailbox",
    "invalid recipient",
    "invalid address",
    "recipient address rejected: user",
    "unrouteable address",
    "no mailbox here",
    "mailbox unavailable or not local",
    "not our customer",
    "recipnotfound",
    "name is not recognized",
    // RFC 5321's text for 550, which covers policy too: hard only with an addressing
    // status or at RCPT, like every phrase here.
    "mailbox unavailable",
    "recipient address rejected: access denied",
    "adresse de messagerie que vous avez entrée est introuvable",
    "couldn't be found",
    "could not be found",
    "unknown or illegal alias",
    "destinataire inconnu",
    "destinataire invalide",
    "utilisateur inconnu",
    "adresse inconnue",
    "unbekannt",
    "existiert nicht",
    "usuario desconocido",
    "no existe",
    "utente sconosciuto",
    "non esiste",
    "usuário desconhecido",
    "não existe",
];

/// Unknown-recipient answers that come from a directory lookup (Exchange, Gmail), never
/// from a content filter: enough on their own.
const DIRECTORY_ANSWERS: &[&str] = &[
    "recipient name is not recognized",
    "recipnotfound",
    "address couldn't be found",
    "the email account that you tried to reach does not exist",
];

const HOST_UNKNOWN: &[&str] = &[
    "host unknown",
    "unknown host",
    "host not found",
    "domain not found",
    "unknown domain",
    "no such domain",
    "domain does not exist",
    "domain doesn't exist",
    "name or service not known",
    "unrouteable mail domain",
    "non-existent hosts",
    "nxdomain",
    "illegal host/domain name",
    "no route to domain",
    "dns lookup failure",
    "find a mail exchanger",
    "no mx record",
    "no mx found",
    "mx lookup failed",
];

const HAS_MOVED: &[&str] = &["has moved", "no longer at this address", "address changed"];

const NOT_ACCEPT: &[&str] = &[
    "does not accept mail",
    "doesn't accept mail",
    "accepts no mail",
    "null mx",
    "indicated no smtp service",
];

/// Where the receiver answered after the message was sent: it accepted the recipient at
/// `RCPT TO`, so an "unknown user" at this point usually is a content filter speaking.
const AFTER_DATA: &[&str] = &[
    "end of data",
    "after data",
    ">>> data",
    "final data",
    "reply to data",
    "after end of data",
    "smtp command data",
    "command: data",
];

/// The reason and action for one failed recipient. `evidence` is the diagnostic text,
/// `status` the enhanced status code if any (`5.1.1`), `reply_code` the SMTP code.
pub(crate) fn classify(evidence: &str, status: &str, reply_code: Option<u16>) -> (Reason, Action) {
    let permanent = status.starts_with('5')
        || (status.is_empty() && reply_code.is_some_and(|c| (500..600).contains(&c)));
    // A recipient that failed for good is judged by its permanent answers: a transcript's
    // 4xx lines are earlier attempts (a deferral, another host), and their "timed out"
    // or "try later" says nothing about why the last one failed.
    let evidence = if permanent {
        without_transient_replies(evidence)
    } else {
        evidence.to_string()
    };
    let text = collapse(&without_addresses(&evidence));
    let has = |list: &[&str]| list.iter().any(|p| text.contains(p));
    let temporary = status.starts_with('4')
        || (status.is_empty() && reply_code.is_some_and(|c| (400..500).contains(&c)));
    if has(MAILBOX_FULL) || status.starts_with("5.2.2") || status.starts_with("4.2.2") {
        return (Reason::MailboxFull, Action::Soft);
    }
    if has(DISABLED) {
        return (Reason::Disabled, Action::Soft);
    }
    if has(REFUSED) {
        return (Reason::Refused, Action::Soft);
    }
    if temporary {
        return (Reason::Temporary, Action::Soft);
    }
    // RFC 7504's "host does not accept mail" for the recipient's host, which sendmail
    // reports with 5.7.27 (RFC 7505 keeps that code for the sender's null MX, so a
    // mention of the sender or "from …" keeps it soft).
    if status == "5.7.27" && takes_no_mail_at_all(&text) {
        return (Reason::NotAccept, Action::Hard);
    }
    // 5.1.7, 5.1.8 and 5.7.27 are about the sender's address, not the recipient's;
    // x.7.x is security or policy (RFC 3463).
    if status.starts_with("5.1.7") || status.starts_with("5.1.8") || status.starts_with("5.7.") {
        return (Reason::Refused, Action::Soft);
    }
    // A pipelining client sends DATA before it reads the RCPT replies; a later "need
    // RCPT" or "no valid recipients" shows the refusal was the recipient's after all.
    let pipelined = text.contains("need rcpt") || text.contains("no valid recipients");
    if has(AFTER_DATA) && !pipelined && !at_rcpt(&text) {
        return (Reason::Refused, Action::Soft);
    }
    let sure = if has(HAS_MOVED) || status == "5.1.6" {
        Some(Reason::HasMoved)
    } else if has(HOST_UNKNOWN) || status == "5.1.2" {
        Some(Reason::HostUnknown)
    } else if has(NOT_ACCEPT) || status == "5.1.10" {
        Some(Reason::NotAccept)
    } else if status == "5.1.1" || status == "5.1.3" {
        Some(Reason::UserUnknown)
    } else if (has(DIRECTORY_ANSWERS) && !relays_remote(&text))
        || (has(USER_UNKNOWN) && (addressing_status(status) || at_rcpt(&text)))
    {
        // An "unknown user" line alone is not enough: filtering appliances and some
        // providers answer it after DATA for mail they refuse for other reasons (even
        // naming the address: `550 <a@b>: User unknown` comes from both). It counts when
        // the code names an addressing failure or the answer came at RCPT.
        Some(Reason::UserUnknown)
    } else {
        None
    };
    match sure {
        Some(reason) => (reason, Action::Hard),
        None => (Reason::Other, Action::Soft),
    }
}

/// Statuses of the addressing class that say the mailbox is not there (RFC 3463 x.1.x,
/// and 5.5.0 and 5.4.1 as mail systems use them for unknown recipients). Not 5.2.1:
/// "mailbox disabled" names a mailbox that exists, and the sendmail and appliance
/// answers "5.2.1 … User Unknown" come as often from filters as from directories.
fn addressing_status(status: &str) -> bool {
    status.starts_with("5.1.") || matches!(status, "5.5.0" | "5.4.1" | "5.4.4")
}

/// A provider's notice quoting another server's answer: that answer is the evidence, not
/// the provider's wording around it.
fn relays_remote(text: &str) -> bool {
    ["the response was", "remote server", "remote host said"]
        .iter()
        .any(|p| text.contains(p))
}

/// The text says a host or domain takes no mail at all, not "from" someone or "for"
/// some domain, and names no sender.
fn takes_no_mail_at_all(text: &str) -> bool {
    !text.contains("sender")
        && ["host does not accept mail", "domain does not accept mail"]
            .iter()
            .any(|p| {
                text.match_indices(p).any(|(i, _)| {
                    let after = text[i + p.len()..].trim_start();
                    !(after.starts_with("from") || after.starts_with("for"))
                })
            })
}

/// `evidence` without the lines that open with a 4xx reply (after a transcript's `<<<`).
fn without_transient_replies(evidence: &str) -> String {
    evidence
        .lines()
        .filter(|l| {
            let t = l
                .trim_start()
                .trim_start_matches('<')
                .trim_start()
                .as_bytes();
            let transient = t.len() >= 3
                && t[0] == b'4'
                && t[1].is_ascii_digit()
                && t[2].is_ascii_digit()
                && t.get(3).is_none_or(|c| matches!(c, b' ' | b'-' | b'\t'));
            !transient
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The receiver refused the recipient itself, at `RCPT TO`.
fn at_rcpt(text: &str) -> bool {
    [
        "rcpt to",
        "rcpt_to",
        "recipient address rejected",
        "rcpt command",
        // qmail-remote's line before an RCPT refusal.
        "does not like recipient",
        // Oracle Communications Messaging Server's reason for an RCPT refusal.
        "has rejected address",
    ]
    .iter()
    .any(|p| text.contains(p))
}

/// Whether `text` names any class of failure this module knows (used to decide whether
/// a short diagnostic needs more context).
pub(crate) fn is_telling(text: &str) -> bool {
    let text = collapse(&without_addresses(text));
    [
        MAILBOX_FULL,
        DISABLED,
        REFUSED,
        USER_UNKNOWN,
        HOST_UNKNOWN,
        HAS_MOVED,
        NOT_ACCEPT,
    ]
    .iter()
    .any(|list| list.iter().any(|p| text.contains(p)))
}

/// What a mail address becomes in the evidence: a mark with no words in it.
const ADDRESS: &str = "@";

/// `text` with each mail address replaced by [`ADDRESS`] and URLs cut before their
/// anchor: their words (a local part called `filtered`, a help page about spam) are no
/// evidence, but what is glued around an address (`RCPT TO:<a@b>`, `<a@b>:`) is.
fn without_addresses(text: &str) -> String {
    text.split_whitespace()
        .map(|w| match w.find("://").and_then(|_| w.find(['#', '?'])) {
            // A help link's host says something ("spamhaus"), its anchor may not.
            Some(i) => w[..i].to_string(),
            None if w.contains('@') => mask_addresses(w),
            None => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` with every `local@domain` in it replaced by [`ADDRESS`].
fn mask_addresses(word: &str) -> String {
    let local = |c: char| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c);
    let domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-' || c == '[' || c == ']';
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local(c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = rest[at + 1..]
            .char_indices()
            .find(|&(_, c)| !domain(c))
            .map_or(rest.len(), |(i, _)| at + 1 + i);
        // A domain's trailing dot ends the sentence, not the address.
        let end = end - rest[at + 1..end].len() + rest[at + 1..end].trim_end_matches('.').len();
        out.push_str(&rest[..start]);
        out.push_str(ADDRESS);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Lower case, whitespace runs as one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w.to_lowercase());
    }
    out
}

/// The first enhanced status code (`class.subject.detail`, RFC 3463) in `text`, not part
/// of a longer dotted number such as an IP address.
pub(crate) fn find_status(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let boundary_before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        if boundary_before && matches!(b[i], b'2' | b'4' | b'5') && b.get(i + 1) == Some(&b'.') {
            let (n1, j) = digits(b, i + 2);
            if (1..=3).contains(&n1) && b.get(j) == Some(&b'.') {
                let (n2, k) = digits(b, j + 1);
                let after_ok = b.get(k).is_none_or(|c| {
                    !(c.is_ascii_alphanumeric()
                        || (*c == b'.' && b.get(k + 1).is_some_and(u8::is_ascii_digit)))
                });
                if (1..=3).contains(&n2) && after_ok {
                    return Some(text[i..k].to_string());
                }
            }
        }
        i += 1;
    }
    None
}

/// The first SMTP reply code (4xx or 5xx standing alone, as in `550 ` or `550-`).
pub(crate) fn find_reply_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        let boundary_before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        let three = &b[i..i + 3];
        let boundary_after = b
            .get(i + 3)
            .is_none_or(|c| matches!(c, b' ' | b'-' | b'\t' | b'\r' | b'\n'));
        if boundary_before
            && boundary_after
            && matches!(three[0], b'4' | b'5')
            && three[1].is_ascii_digit()
            && three[2].is_ascii_digit()
            && three[1] <= b'5'
        {
            return std::str::from_utf8(three).ok()?.parse().ok();
        }
    }
    None
}

fn digits(b: &[u8], from: usize) -> (usize, usize) {
    let mut j = from;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    (j - from, j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_user_with_5_1_1_is_hard() {
        let (r, a) = classify(
            "550 5.1.1 <x@example.org>: User unknown",
            "5.1.1",
            Some(550),
        );
        assert_eq!((r, a), (Reason::UserUnknown, Action::Hard));
    }

    #[test]
    fn a_full_mailbox_answered_with_5_1_1_is_soft() {
        let (r, a) = classify("550 5.1.1 mailbox full", "5.1.1", Some(550));
        assert_eq!((r, a), (Reason::MailboxFull, Action::Soft));
    }

    #[test]
    fn temporary_unknown_user_is_soft_and_bare_550_is_soft() {
        assert_eq!(
            classify("450 4.1.1 user unknown", "4.1.1", None).1,
            Action::Soft
        );
        assert_eq!(classify("550 rejected", "", Some(550)).1, Action::Soft);
    }

    #[test]
    fn multilingual_phrases_are_read() {
        assert_eq!(
            classify(
                "550 5.5.0 Adresse destinataire invalide",
                "5.5.0",
                Some(550)
            )
            .1,
            Action::Hard
        );
        assert_eq!(
            classify("Postfach voll", "5.0.0", None).0,
            Reason::MailboxFull
        );
    }

    #[test]
    fn an_unknown_user_answered_after_data_or_without_any_code_is_soft() {
        let after_data =
            ">>> DATA\n<<< 550 Unknown user x@example.org\n554 5.0.0 Service unavailable";
        assert_eq!(classify(after_data, "5.0.0", Some(550)).1, Action::Soft);
        assert_eq!(classify("No such user here", "", None).1, Action::Soft);
        let at_rcpt = "550 unknown user (in reply to RCPT TO command)";
        assert_eq!(classify(at_rcpt, "5.0.0", Some(550)).1, Action::Hard);
    }

    #[test]
    fn words_in_addresses_and_link_anchors_are_no_evidence() {
        let text =
            "550 5.1.1 <filtered@example.org>: User unknown. See https://example.org/reason/#spam";
        assert_eq!(classify(text, "5.1.1", Some(550)).1, Action::Hard);
    }

    #[test]
    fn policy_statuses_and_sender_address_statuses_are_never_hard() {
        assert_eq!(
            classify("550 5.7.1 user unknown", "5.7.1", Some(550)).1,
            Action::Soft
        );
        assert_eq!(
            classify("553 5.1.8 domain of sender does not exist", "5.1.8", None).1,
            Action::Soft
        );
    }

    #[test]
    fn an_unknown_user_with_5_2_1_is_soft_unless_refused_at_rcpt() {
        // RFC 3463: X.2.1 is "mailbox disabled", a mailbox that exists; only a refusal of
        // the recipient itself makes its "user unknown" believable.
        let text = "550 5.2.1 <ann@example.org>... User Unknown";
        assert_eq!(classify(text, "5.2.1", Some(550)).1, Action::Soft);
        let at_rcpt = format!("{text} (in reply to RCPT TO command)");
        assert_eq!(classify(&at_rcpt, "5.2.1", Some(550)).1, Action::Hard);
    }

    #[test]
    fn a_transcript_refusing_rcpt_to_with_the_address_attached_is_hard() {
        let text = ">>> RCPT TO:<ann@example.org>\n<<< 550 No such user here";
        assert_eq!(
            classify(text, "5.0.0", Some(550)),
            (Reason::UserUnknown, Action::Hard)
        );
    }

    #[test]
    fn a_reply_naming_the_address_it_does_not_know_is_still_no_proof() {
        // Filtering appliances answer after DATA in exactly the shape a directory does.
        assert_eq!(
            classify("550 <ann@example.org>: User unknown", "5.0.0", Some(550)).1,
            Action::Soft
        );
    }

    #[test]
    fn qmail_and_messaging_server_rcpt_refusals_count_as_refused_at_rcpt() {
        // qmail-remote: "<ip> does not like recipient." then the reply; Oracle Messaging
        // Server: "Remote SMTP server has rejected address".
        let qmail = "192.0.2.9 does not like recipient.\nRemote host said: 550 5.2.1 <a@example.org>... User Unknown\nGiving up on 192.0.2.9.";
        assert_eq!(classify(qmail, "5.2.1", Some(550)).1, Action::Hard);
        let oracle = "Reason: Remote SMTP server has rejected address\nDiagnostic code: smtp;550 <a@example.org>: User unknown";
        assert_eq!(classify(oracle, "5.0.0", Some(550)).1, Action::Hard);
    }

    #[test]
    fn mailbox_unavailable_is_hard_only_with_an_addressing_status() {
        // RFC 5321 gives 550 "mailbox unavailable" for not found, no access and policy
        // alike; the enhanced code says which.
        let text = "550 Requested action not taken: mailbox unavailable";
        assert_eq!(
            classify(text, "5.5.0", Some(550)),
            (Reason::UserUnknown, Action::Hard)
        );
        assert_eq!(classify(text, "5.7.1", Some(550)).1, Action::Soft);
        assert_eq!(classify(text, "5.0.0", Some(550)).1, Action::Soft);
    }

    #[test]
    fn a_deferral_line_in_a_transcript_does_not_veto_the_permanent_refusal() {
        // The 4xx line is an earlier attempt elsewhere; the recipient failed for good.
        let text = ">>> RCPT To:<a@example.org>\n<<< 550 <a@example.org>, User Unknown\n421 mx.example.org (smtp)... Deferred: Connection timed out during user open";
        assert_eq!(
            classify(text, "5.0.0", Some(550)),
            (Reason::UserUnknown, Action::Hard)
        );
        // A temporary status keeps every line.
        assert_eq!(classify(text, "4.0.0", Some(421)).1, Action::Soft);
    }

    #[test]
    fn a_host_taking_no_mail_is_hard_under_sendmails_5_7_27_but_a_sender_refusal_is_not() {
        // RFC 7504's 521 text; sendmail reports a recipient domain's null MX with 5.7.27.
        assert_eq!(
            classify("550 Host does not accept mail", "5.7.27", Some(550)),
            (Reason::NotAccept, Action::Hard)
        );
        for text in [
            "550 5.7.27 This host does not accept mail from domains whose servers reject the postmaster address",
            "550 5.7.27 Sender address has null MX",
        ] {
            assert_eq!(
                classify(text, "5.7.27", Some(550)).1,
                Action::Soft,
                "{text}"
            );
        }
    }

    #[test]
    fn status_codes_are_found_but_ip_addresses_are_not() {
        assert_eq!(
            find_status("host 192.0.2.153 said 550 5.1.1 x"),
            Some("5.1.1".into())
        );
        assert_eq!(find_status("from 5.6.7.8 only"), None);
        assert_eq!(
            find_status("#5.7.509 Access denied"),
            Some("5.7.509".into())
        );
        assert_eq!(find_reply_code("said: 550-5.1.1 The"), Some(550));
        assert_eq!(find_reply_code("port 5500 and 1550"), None);
    }
}

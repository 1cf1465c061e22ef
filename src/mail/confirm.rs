//! Confirmation mail: a sign-up (or an address change) and its signed link → the message
//! that asks the address's owner to confirm, composed like the digest ([`mime::compose`]:
//! text then HTML, our own `Message-ID`, DKIM by the caller). Pure: no I/O.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::Mailbox;

use crate::config::Config;
use crate::mail::mime;
use crate::mail::render::{Rendered, TEXT_WIDTH, wrap_text};
use crate::web::escape;

/// What a confirmation link confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new subscription from the public form.
    Subscribe,
    /// A member's new address, from the preference centre.
    ChangeAddress,
}

/// The confirmation message's subject, text and HTML (inline styles, the digest's colours).
pub fn render(
    config: &Config,
    purpose: Purpose,
    link: &str,
    expires_at: DateTime<Utc>,
) -> Rendered {
    let brief = &config.brief.name;
    let until = expires_at
        .with_timezone(&config.brief.timezone)
        .format("%B %-d, %Y at %-I:%M %p %Z")
        .to_string();
    let (subject, ask, button, ignore) = match purpose {
        Purpose::Subscribe => (
            format!("Confirm your subscription to {brief}"),
            format!("Someone, probably you, asked to receive {brief} at this address."),
            "Confirm my subscription",
            "If it was not you, ignore this message: nothing is sent to this address unless the link is followed.",
        ),
        Purpose::ChangeAddress => (
            format!("Confirm your new address for {brief}"),
            format!("A member of {brief} asked to receive it at this address from now on."),
            "Confirm this address",
            "If it was not you, ignore this message: the address stays unused unless the link is followed.",
        ),
    };
    let text = wrap_text(
        &format!(
            "{ask}\n\nTo confirm, open this link and press the button on the page:\n\n{link}\n\n\
             The link works until {until}.\n\n{ignore}\n"
        ),
        TEXT_WIDTH,
    );
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{subject_h}</title></head>\
         <body style=\"margin:0;padding:0;background:#eef2f5\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"background:#eef2f5\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"max-width:600px;background:#ffffff;font:16px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2733\">\
         <tr><td style=\"background:#0f2a44;color:#ffffff;padding:16px 24px;font-size:20px;font-weight:bold\">{brief_h}</td></tr>\
         <tr><td style=\"padding:24px\"><p style=\"margin:0 0 16px\">{ask_h}</p>\
         <p style=\"margin:0 0 24px\"><a href=\"{link_h}\" style=\"display:inline-block;background:#0b3c5d;color:#ffffff;text-decoration:none;padding:12px 24px;border-radius:4px;font-weight:bold\">{button}</a></p>\
         <p style=\"margin:0 0 16px;font-size:14px;color:#4a5561\">The link works until {until_h}. \
         If the button does not work, copy this address into your browser:<br>\
         <span style=\"word-break:break-all\">{link_h}</span></p>\
         <p style=\"margin:0;font-size:14px;color:#4a5561\">{ignore}</p></td></tr>\
         </table></td></tr></table></body></html>",
        lang = escape(&config.brief.lang),
        subject_h = escape(&subject),
        brief_h = escape(brief),
        ask_h = escape(&ask),
        link_h = escape(link),
        until_h = escape(&until),
    );
    Rendered {
        subject,
        html,
        text,
    }
}

/// The confirmation message to `to`, with a stable `Message-ID` made of `label` (the
/// sign-up's id) and `tag` (an HMAC of it), sent at `date`.
pub fn message(
    config: &Config,
    rendered: &Rendered,
    to: Mailbox,
    label: &str,
    tag: &str,
    date: SystemTime,
) -> anyhow::Result<Message> {
    let domain = config.brief.from.email.domain();
    let envelope = mime::Envelope {
        to,
        message_id: format!("{label}.{tag}@{domain}"),
        unsubscribe_https: None,
        date,
        // Not a member yet: its bounces name nobody to act on.
        verp: None,
    };
    mime::compose(&config.brief, rendered, &envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_carries_its_link_in_both_parts_and_says_when_it_expires() {
        let config = crate::config::parse(
            "[brief]\nname = \"B & Co\"\nfrom = \"b@example.org\"\ntimezone = \"America/New_York\"\n",
            std::path::Path::new("feeds.toml"),
            |_| None,
        )
        .expect("config");
        let link = "https://brief.example.org/confirm/7.abc";
        let at = DateTime::parse_from_rfc3339("2026-11-29T17:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let r = render(&config, Purpose::Subscribe, link, at);
        assert_eq!(r.subject, "Confirm your subscription to B & Co");
        assert!(r.text.contains(link) && r.html.contains(link));
        assert!(
            r.text.contains("November 29, 2026 at 12:00 PM EST"),
            "{}",
            r.text
        );
        assert!(r.html.contains("B &amp; Co"));
        let m = message(
            &config,
            &r,
            "ann@example.org".parse().expect("mailbox"),
            "signup.7",
            "ff",
            SystemTime::UNIX_EPOCH,
        )
        .expect("message");
        let raw = String::from_utf8(m.formatted()).expect("utf8");
        assert!(
            raw.contains("Message-ID: <signup.7.ff@example.org>"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"));
        let change = render(&config, Purpose::ChangeAddress, link, at);
        assert!(change.subject.contains("new address"));
    }
}

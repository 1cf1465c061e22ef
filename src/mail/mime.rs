//! MIME: a rendered copy for one member → a message. [`compose`] builds it
//! (multipart/alternative, text then HTML; our own stable `Message-ID`; `List-Unsubscribe`
//! and `List-Unsubscribe-Post` per RFC 8058; `List-Id`; with a bounce domain, the VERP
//! envelope sender and unsubscribe `mailto:`), with every header line within
//! RFC 5322's 998 characters. The parts are quoted-printable, encoded by [`BodyTemplate`]
//! once per kind of member with holes for the member's values, so a copy costs only its
//! values' encoding. Also the DKIM signing settings. Pure: no I/O.

use std::time::SystemTime;

use anyhow::Context;
use lettre::Message;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox, MessageBuilder, MultiPart, SinglePart};

use crate::config::Brief;
use crate::mail::render::Rendered;

/// Headers the DKIM signature covers; RFC 8058 requires the two List-Unsubscribe ones.
pub const DKIM_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The signing configuration for `[delivery]` DKIM settings.
pub fn dkim_config(d: &crate::config::Dkim) -> anyhow::Result<lettre::message::dkim::DkimConfig> {
    use lettre::message::dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    };
    let key = DkimSigningKey::new(&d.key_pem, DkimSigningAlgorithm::Rsa).context("DKIM key")?;
    Ok(DkimConfig::new(
        d.selector.clone(),
        d.domain.clone(),
        key,
        DKIM_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        // relaxed/relaxed survives the header refolding relays do.
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// Per-message facts `compose` needs besides the rendered parts.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The recipient.
    pub to: Mailbox,
    /// The stable `Message-ID` (without angle brackets).
    pub message_id: String,
    /// One-click unsubscribe URL (https), when `base_url` is set.
    pub unsubscribe_https: Option<&'a str>,
    /// `Date` of the message.
    pub date: SystemTime,
    /// The member's VERP addresses, when `[inbound] bounce_domain` is set.
    pub verp: Option<Verp>,
}

/// A member's VERP addresses ([`crate::token::Secret::verp_local`]).
#[derive(Debug, Clone)]
pub struct Verp {
    /// The envelope sender (`MAIL FROM`, later the `Return-Path`): `bounces+…@domain`.
    pub bounces: lettre::Address,
    /// The `mailto:` of `List-Unsubscribe`: `unsubscribe+…@domain`.
    pub unsubscribe: lettre::Address,
}

/// Builds the MIME message for one member.
pub fn compose(brief: &Brief, rendered: &Rendered, env: &Envelope<'_>) -> anyhow::Result<Message> {
    let text = [Piece::Text(&rendered.text)];
    let html = [Piece::Text(&rendered.html)];
    if let Some(body) = BodyTemplate::new(&text, &html) {
        return compose_mime(brief, &rendered.subject, body.fill(|_, _| {}), env);
    }
    // Mostly non-ASCII parts: lettre picks base64 for them.
    headers(brief, &rendered.subject, env)
        .multipart(lettre_alternative(rendered))
        .context("building the MIME message")
}

/// The text and HTML parts as lettre's own multipart/alternative, encoded by lettre.
fn lettre_alternative(rendered: &Rendered) -> MultiPart {
    MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(rendered.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(rendered.html.clone()),
        )
}

/// Builds the message for one member from a body already encoded ([`BodyTemplate::fill`]).
pub fn compose_mime(
    brief: &Brief,
    subject: &str,
    body: MimeBody,
    env: &Envelope<'_>,
) -> anyhow::Result<Message> {
    let mut message = headers(brief, subject, env)
        .header(MIME_VERSION_1_0)
        .header(body.content_type)
        .body(Body::dangerous_pre_encoded(
            body.bytes,
            ContentTransferEncoding::SevenBit,
        ))
        .context("building the MIME message")?;
    // A multipart entity's encoding is its parts' (RFC 2045 6.4); lettre's own multipart
    // messages carry no top-level Content-Transfer-Encoding either.
    message.headers_mut().remove::<ContentTransferEncoding>();
    Ok(message)
}

/// The message headers every copy carries, in the order lettre writes them.
///
/// Every line stays within RFC 5322's 998 characters whatever the values: the member's
/// name is cleaned and capped ([`crate::members::clean_name`]: a CR or LF in it made
/// lettre panic), and Subject and List-Id are encoded and folded here ([`subject_header`],
/// [`list_id_header`]).
fn headers(brief: &Brief, subject: &str, env: &Envelope<'_>) -> MessageBuilder {
    let to = Mailbox::new(
        env.to.name.as_deref().and_then(crate::members::clean_name),
        env.to.email.clone(),
    );
    let mut builder = Message::builder()
        .from(brief.from.clone())
        .to(to.clone())
        .raw_header(subject_header(subject))
        .date(env.date)
        .message_id(Some(format!("<{}>", env.message_id)));
    if let Some(r) = &brief.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let from = &brief.from.email;
    let mailto = match &env.verp {
        // The address itself names the member: any mail to it unsubscribes them.
        Some(verp) => format!("mailto:{}?subject=unsubscribe", verp.unsubscribe),
        None => format!("mailto:{from}?subject=unsubscribe"),
    };
    if let Some(verp) = &env.verp {
        // The envelope sender is where bounces go; the headers' From stays the brief's.
        // `Envelope::new` only fails without recipients, and there is one.
        if let Ok(envelope) =
            lettre::address::Envelope::new(Some(verp.bounces.clone()), vec![to.email.clone()])
        {
            builder = builder.envelope(envelope);
        }
    }
    let list_unsubscribe = match env.unsubscribe_https {
        Some(url) => format!("<{url}>, <{mailto}>"),
        None => format!("<{mailto}>"),
    };
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("List-Unsubscribe"),
        list_unsubscribe,
    ));
    // RFC 8058: one-click needs an HTTPS URI in List-Unsubscribe.
    if env
        .unsubscribe_https
        .is_some_and(|u| u.starts_with("https://"))
    {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_string(),
        ));
    }
    builder.raw_header(list_id_header(&brief.name, from.domain()))
}

/// The longest subject sent, in characters; a longer one is cut after a word and ends
/// with "…" (the stored feed fields are capped too; this bounds what composing emits).
pub const MAX_SUBJECT_CHARS: usize = 250;

/// Where header lines are folded, as lettre folds them (RFC 5322 2.1.1 recommends 78).
const FOLD_AT: usize = 76;

/// A word written as it is in a header; a longer one is encoded, so that it can be split
/// over lines (RFC 2047 encoded words may be, an atom may not).
const MAX_PLAIN_WORD: usize = 60;

/// The `Subject` header: `subject` on one line (control characters become spaces), cut
/// at [`MAX_SUBJECT_CHARS`], folded between words. A word that is not printable ASCII, is
/// longer than a line, or contains `=?` is sent as RFC 2047 encoded words, so a title
/// that spells an encoded word literally (`=?utf-8?b?…?=`) reaches the reader as that text
/// rather than decoded.
pub fn subject_header(subject: &str) -> HeaderValue {
    let text = cap_on_word(&one_line(subject), MAX_SUBJECT_CHARS);
    let mut w = HeaderWriter::new("Subject");
    // Consecutive words to encode go in one run: the space between two encoded words is
    // not displayed (RFC 2047 6.2), so the spaces inside a run are encoded with it.
    let mut run: Vec<&str> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if plain_word(word) {
            if !run.is_empty() {
                w.encoded(&run.join(" "));
                run.clear();
            }
            w.token(word);
        } else {
            run.push(word);
        }
    }
    if !run.is_empty() {
        w.encoded(&run.join(" "));
    }
    w.finish(text)
}

/// `List-Id` per RFC 2919: the brief's name as the phrase, a slug under the sender's
/// domain as the id (at most 255 characters). The phrase is a quoted string when it is
/// plain ASCII, otherwise RFC 2047 encoded words; either way folded, and never with a
/// quote inside an encoded word.
pub fn list_id_header(name: &str, domain: &str) -> HeaderValue {
    let name = one_line(name);
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    // RFC 2919 2: a list-id is at most 255 characters; cut the slug at a hyphen.
    let room = 255usize.saturating_sub(domain.len() + 1).max(1);
    if slug.len() > room {
        let cut = slug[..room].rfind('-').unwrap_or(room);
        slug.truncate(cut);
    }
    if slug.is_empty() {
        slug.push_str("brief");
    }
    let id = format!("<{slug}.{domain}>");
    let mut w = HeaderWriter::new("List-Id");
    let words: Vec<&str> = name.split(' ').filter(|w| !w.is_empty()).collect();
    if words
        .iter()
        .all(|w| plain_word(w) && !w.contains(['"', '\\']))
    {
        for (i, word) in words.iter().enumerate() {
            let open = if i == 0 { "\"" } else { "" };
            let close = if i + 1 == words.len() { "\"" } else { "" };
            w.token(&format!("{open}{word}{close}"));
        }
    } else {
        w.encoded(&name);
    }
    w.token(&id);
    let raw = if name.is_empty() {
        id
    } else {
        format!("\"{}\" {id}", name.replace(['"', '\\'], ""))
    };
    w.finish(raw)
}

/// `text` on one line: control characters (CR, LF, tab, …) and runs of whitespace become
/// one space; trimmed.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` cut to at most `max` characters, after its last whole word when it has one in
/// the second half, ending with "…".
fn cap_on_word(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match head.rfind(' ') {
        Some(space) if head[..space].chars().count() >= max / 2 => &head[..space],
        _ => &head,
    };
    format!("{}…", cut.trim_end())
}

/// A word written as it is: printable ASCII, short enough to fold around, and not
/// something a reader could take for an encoded word.
fn plain_word(word: &str) -> bool {
    word.len() <= MAX_PLAIN_WORD
        && word.bytes().all(|b| b.is_ascii_graphic())
        && !word.contains("=?")
}

/// Builds a header's encoded value token by token, folding before a token that would pass
/// [`FOLD_AT`]; no token is longer than 77 characters except List-Id's id (at most 257),
/// so no line passes 998.
struct HeaderWriter {
    name: HeaderName,
    out: String,
    /// The column the current line ends at (the first line starts after `Name: `).
    col: usize,
    /// Whether a token was written (the next one is preceded by a space or a fold).
    started: bool,
}

impl HeaderWriter {
    fn new(name: &'static str) -> Self {
        Self {
            name: HeaderName::new_from_ascii_str(name),
            out: String::new(),
            col: name.len() + 2,
            started: false,
        }
    }

    /// Writes `token` (no whitespace in it), after a space or a fold.
    fn token(&mut self, token: &str) {
        if self.started {
            if self.col + 1 + token.len() > FOLD_AT {
                self.out.push_str("\r\n ");
                self.col = 1;
            } else {
                self.out.push(' ');
                self.col += 1;
            }
        }
        self.out.push_str(token);
        self.col += token.len();
        self.started = true;
    }

    /// Writes `text` as RFC 2047 encoded words: UTF-8, Q encoding with only the
    /// characters RFC 2047 5(3) allows in a phrase left as they are, each word at most 75
    /// characters and holding whole characters (6.3), a space as `_`.
    fn encoded(&mut self, text: &str) {
        const PREFIX: &str = "=?utf-8?q?";
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut word = String::from(PREFIX);
        let mut piece = String::new();
        for c in text.chars() {
            piece.clear();
            match c {
                ' ' => piece.push('_'),
                c if c.is_ascii_alphanumeric() || matches!(c, '!' | '*' | '+' | '-' | '/') => {
                    piece.push(c)
                }
                c => {
                    let mut utf8 = [0u8; 4];
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        piece.push('=');
                        piece.push(char::from(HEX[usize::from(b >> 4)]));
                        piece.push(char::from(HEX[usize::from(b & 15)]));
                    }
                }
            }
            if word.len() + piece.len() + 2 > 75 {
                word.push_str("?=");
                self.token(&word);
                word.truncate(0);
                word.push_str(PREFIX);
            }
            word.push_str(&piece);
        }
        word.push_str("?=");
        self.token(&word);
    }

    fn finish(self, raw: String) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(self.name, raw, self.out)
    }
}

/// A piece of a part's text: text every copy shares, or a hole for a member's own value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text as rendered.
    Text(&'a str),
    /// A member value; the number is the caller's, handed back to [`BodyTemplate::fill`].
    Hole(usize),
}

/// The multipart/alternative body (text, then HTML, both quoted-printable) of one kind of
/// member's copy, encoded once, with holes where each member's own values go.
///
/// Encoding 27 KB of HTML for every member was most of delivery's CPU. Quoted-printable
/// line breaks depend on what came before on the line, so a value is never spliced into
/// encoded text blindly: the text after a hole always starts on a fresh encoded line (a
/// soft line break, `=` CRLF, ends the value's line), so every shared run of text is encoded
/// exactly once and only the values are encoded per member.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    content_type: ContentType,
    /// Encoded text and MIME framing: `chunks[0]`, hole `holes[0]`, `chunks[1]`, …
    chunks: Vec<Chunk>,
    holes: Vec<usize>,
    len: usize,
}

#[derive(Debug, Clone, Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// The column the chunk's last encoded line ends at (it always starts at 0).
    end_col: usize,
}

/// One member's encoded multipart/alternative body, for [`compose_mime`].
#[derive(Debug, Clone)]
pub struct MimeBody {
    content_type: ContentType,
    bytes: Vec<u8>,
}

impl BodyTemplate {
    /// The body for a text part and an HTML part; `None` when quoted-printable is the wrong
    /// encoding for one of them (mostly non-ASCII text, where base64 is shorter), by the
    /// rule lettre applies.
    pub fn new(text: &[Piece<'_>], html: &[Piece<'_>]) -> Option<Self> {
        if !quoted_printable_fits(text) || !quoted_printable_fits(html) {
            return None;
        }
        let boundary = boundary();
        let content_type =
            ContentType::parse(&format!("multipart/alternative; boundary=\"{boundary}\"")).ok()?;
        let mut chunks = Vec::new();
        let mut holes = Vec::new();
        let mut current = Chunk::default();
        for (part, pieces) in [("text/plain", text), ("text/html", html)] {
            // The layout of lettre's MultiPart: each part behind its delimiter, CRLF after it.
            current.bytes.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Type: {part}; charset=utf-8\r\n\
                     Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                )
                .as_bytes(),
            );
            current.end_col = 0;
            for (i, piece) in pieces.iter().enumerate() {
                match *piece {
                    Piece::Text(t) => {
                        let last = i + 1 == pieces.len();
                        encode_qp(t.as_bytes(), last, &mut current.end_col, &mut current.bytes);
                    }
                    Piece::Hole(h) => {
                        chunks.push(std::mem::take(&mut current));
                        holes.push(h);
                    }
                }
            }
            current.bytes.extend_from_slice(b"\r\n");
        }
        current
            .bytes
            .extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        chunks.push(current);
        let len = chunks.iter().map(|c| c.bytes.len()).sum();
        Some(Self {
            content_type,
            chunks,
            holes,
            len,
        })
    }

    /// The body with each hole's value, which `value(hole, out)` appends to `out`.
    pub fn fill(&self, mut value: impl FnMut(usize, &mut String)) -> MimeBody {
        let mut bytes = Vec::with_capacity(self.len + 16 * self.holes.len());
        let mut scratch = String::new();
        let mut col = 0;
        for (i, &hole) in self.holes.iter().enumerate() {
            let chunk = &self.chunks[i];
            if !chunk.bytes.is_empty() {
                bytes.extend_from_slice(&chunk.bytes);
                col = chunk.end_col;
            }
            scratch.clear();
            value(hole, &mut scratch);
            encode_qp(scratch.as_bytes(), false, &mut col, &mut bytes);
            // Shared text was encoded from column 0: end the value's line first.
            if col > 0 && self.chunks.get(i + 1).is_some_and(|c| !c.bytes.is_empty()) {
                bytes.extend_from_slice(b"=\r\n");
                col = 0;
            }
        }
        if let Some(last) = self.chunks.last() {
            bytes.extend_from_slice(&last.bytes);
        }
        MimeBody {
            content_type: self.content_type.clone(),
            bytes,
        }
    }
}

/// lettre's rule (email-encoding's chooser): quoted-printable unless more than a third of
/// the bytes would need escaping.
fn quoted_printable_fits(pieces: &[Piece<'_>]) -> bool {
    let (mut len, mut escaped) = (0, 0);
    for piece in pieces {
        if let Piece::Text(t) = piece {
            len += t.len();
            escaped += t
                .bytes()
                .filter(|b| !matches!(b, b'\t' | b' '..=b'~'))
                .count();
        }
    }
    escaped <= len / 3
}

/// A boundary no quoted-printable text can contain: `=_` never occurs in it (RFC 2045
/// 6.7 allows `=` only before two hex digits or a line break).
fn boundary() -> String {
    use std::fmt::Write;
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new();
    let mut out = String::from("=_");
    for i in 0..2u64 {
        let mut h = random.build_hasher();
        h.write_u64(i);
        let _ = write!(out, "{:016x}", h.finish());
    }
    out
}

/// Appends `text` quoted-printable encoded (RFC 2045 6.7) from column `*col`: lines of at
/// most 76 characters with soft breaks, line breaks as CRLF, `=` and bytes outside
/// printable ASCII as `=XX`, whitespace before a line break (or at the end, when `last`)
/// encoded. A `.` starting a line is encoded too, so no line needs SMTP dot-stuffing.
fn encode_qp(text: &[u8], last: bool, col: &mut usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        let crlf = b == b'\r' && text.get(i + 1) == Some(&b'\n');
        if b == b'\n' || crlf {
            out.extend_from_slice(b"\r\n");
            *col = 0;
            i += if crlf { 2 } else { 1 };
            continue;
        }
        let literal = |col: usize| match b {
            b'=' => false,
            b'.' => col > 0,
            b'!'..=b'~' => true,
            b' ' | b'\t' => match text.get(i + 1) {
                None => !last,
                Some(b'\n') => false,
                Some(b'\r') => text.get(i + 2) != Some(&b'\n'),
                Some(_) => true,
            },
            _ => false,
        };
        let mut plain = literal(*col);
        if *col + if plain { 1 } else { 3 } > 75 {
            out.extend_from_slice(b"=\r\n");
            *col = 0;
            plain = literal(0);
        }
        if plain {
            out.push(b);
            *col += 1;
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            *col += 3;
        }
        i += 1;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    /// Each part of a multipart message, as (content type, decoded text), decoded with an
    /// independent strict quoted-printable decoder; every line checked for length.
    pub(crate) fn decode_parts(raw: &[u8]) -> Vec<(String, String)> {
        decode_parts_of(raw, true)
    }

    /// The parts of a body made by [`BodyTemplate::fill`], decoded as [`decode_parts`] does.
    pub(crate) fn decode_body(body: &MimeBody) -> Vec<(String, String)> {
        let mut headers = lettre::message::header::Headers::new();
        headers.set(body.content_type.clone());
        let mut raw = format!("{headers}\r\n").into_bytes();
        raw.extend_from_slice(&body.bytes);
        decode_parts(&raw)
    }

    /// [`decode_parts`]; `ours` also checks that no line starts with a dot.
    fn decode_parts_of(raw: &[u8], ours: bool) -> Vec<(String, String)> {
        let raw = std::str::from_utf8(raw).expect("the message is ASCII");
        assert!(raw.is_ascii(), "the message is ASCII");
        for line in raw.split("\r\n") {
            assert!(line.len() <= 998, "a line over RFC 5322's limit");
            assert!(
                !line.contains('\n') && !line.contains('\r'),
                "bare CR or LF: {line:?}"
            );
        }
        let boundary = raw
            .split("boundary=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a boundary");
        let (_, body) = raw.split_once("\r\n\r\n").expect("headers end");
        let delimiter = format!("--{boundary}");
        let mut parts = body.split(&delimiter);
        assert_eq!(
            parts.next(),
            Some(""),
            "the body starts with the first delimiter"
        );
        let mut out = Vec::new();
        for part in parts {
            if part == "--\r\n" {
                return out;
            }
            let part = part.strip_prefix("\r\n").expect("CRLF after the delimiter");
            // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
            let part = part
                .strip_suffix("\r\n")
                .expect("CRLF before the delimiter");
            let (headers, encoded) = part.split_once("\r\n\r\n").expect("part headers end");
            assert!(
                headers.contains("Content-Transfer-Encoding: quoted-printable"),
                "{headers}"
            );
            for line in encoded.split("\r\n") {
                assert!(
                    line.len() <= 76,
                    "a quoted-printable line over 76: {line:?}"
                );
                assert!(
                    !ours || !line.starts_with('.'),
                    "a line needing dot-stuffing: {line:?}"
                );
            }
            let decoded = quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict)
                .expect("strict quoted-printable");
            let content_type = headers
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .expect("a part content type")
                .to_string();
            out.push((
                content_type,
                String::from_utf8(decoded).expect("UTF-8 text"),
            ));
        }
        panic!("no closing delimiter");
    }

    const TRICKY: &[&str] = &[
        "",
        "plain",
        "trailing space \nand tab\t\nend ",
        ".starts with a dot\n.\n..\nx",
        "= equals =3D and == at 75 chars: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
        "CRLF\r\nalready, a bare\rCR, a bare LF\nand ümlauts — “quotes” 日本語",
    ];

    fn long_line(c: &str) -> String {
        (0..200).map(|i| if i % 7 == 0 { c } else { "a" }).collect()
    }

    #[test]
    fn quoted_printable_decodes_strictly_to_the_text_with_crlf_lines() {
        let mut inputs: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
        for c in [" ", "=", ".", "é", "\t", "&amp;"] {
            inputs.push(long_line(c));
            inputs.push(format!("{}\n{}", long_line(c), long_line(c)));
        }
        for text in inputs {
            let mut out = Vec::new();
            encode_qp(text.as_bytes(), true, &mut 0, &mut out);
            let encoded = String::from_utf8(out).expect("ASCII");
            for line in encoded.split("\r\n") {
                assert!(line.len() <= 76, "{line:?}");
                assert!(!line.starts_with('.'), "{line:?}");
            }
            let decoded = quoted_printable::decode(&encoded, quoted_printable::ParseMode::Strict)
                .expect("strict");
            let want = text.replace("\r\n", "\n").replace('\n', "\r\n");
            assert_eq!(String::from_utf8_lossy(&decoded), want, "{encoded}");
        }
    }

    #[test]
    fn a_filled_template_decodes_to_its_text_with_each_value_in_place() {
        let (text, html) = ("Hello ", "<a href=\"https://x.org/u/");
        let template = BodyTemplate::new(
            &[Piece::Text(text), Piece::Hole(0), Piece::Text(" end \n")],
            &[
                Piece::Text(html),
                Piece::Hole(1),
                Piece::Hole(2),
                Piece::Text(&long_line(" ")),
                Piece::Hole(0),
            ],
        )
        .expect("quoted-printable fits");
        let values = [
            String::new(),
            "x".into(),
            "=.= ü".into(),
            long_line("="),
            "..".repeat(60),
        ];
        for a in &values {
            for b in &values {
                let body = template.fill(|hole, out| match hole {
                    0 => out.push_str(a),
                    1 => out.push_str(b),
                    _ => out.push('"'),
                });
                let parts = decode_body(&body);
                assert_eq!(parts.len(), 2);
                assert_eq!(parts[0].0, "text/plain; charset=utf-8");
                assert_eq!(parts[0].1, format!("Hello {a} end \r\n"));
                assert_eq!(parts[1].0, "text/html; charset=utf-8");
                assert_eq!(parts[1].1, format!("{html}{b}\"{}{a}", long_line(" ")));
            }
        }
    }

    #[test]
    fn mostly_non_ascii_parts_are_left_to_lettre_and_base64() {
        let japanese = "日本語のテキスト".repeat(50);
        assert!(BodyTemplate::new(&[Piece::Text(&japanese)], &[Piece::Text("x")]).is_none());
        let mixed = "The city’s budget, approved on Tuesday — funds new café permits. ".repeat(10);
        assert!(BodyTemplate::new(&[Piece::Text("x")], &[Piece::Text(&mixed)]).is_some());
    }

    fn sample() -> (Brief, Rendered) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feeds.toml");
        std::fs::write(
            &path,
            "[brief]\nname = \"A Brief\"\nfrom = \"A Brief <brief@example.org>\"\n\
             [[feed]]\nname = \"F\"\nurl = \"https://example.org/feed\"\n",
        )
        .expect("write config");
        let brief = crate::config::load(&path).expect("config").brief;
        let rendered = Rendered {
            subject: "Zoë’s headline & more".into(),
            text: TRICKY.join("\n"),
            html: format!("<p>{}</p>\n{}", TRICKY.join("<br>"), long_line("=")),
        };
        (brief, rendered)
    }

    #[test]
    fn composed_message_means_what_lettres_own_multipart_means() {
        let (brief, rendered) = sample();
        let env = Envelope {
            to: "Ann <ann@example.org>".parse().expect("mailbox"),
            message_id: "1.2.x@example.org".into(),
            unsubscribe_https: Some("https://example.org/unsubscribe/t"),
            date: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_777_200),
            verp: None,
        };
        let ours = compose(&brief, &rendered, &env)
            .expect("compose")
            .formatted();
        let lettres = headers(&brief, &rendered.subject, &env)
            .multipart(lettre_alternative(&rendered))
            .expect("lettre builds")
            .formatted();
        let head = |raw: &[u8]| {
            let raw = String::from_utf8_lossy(raw).into_owned();
            let (head, _) = raw.split_once("boundary=").expect("boundary");
            head.to_string()
        };
        assert_eq!(head(&ours), head(&lettres));
        let parts = decode_parts(&ours);
        let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
        assert_eq!(parts[0].1, crlf(&rendered.text));
        assert_eq!(parts[1].1, crlf(&rendered.html));
        // lettre's own encoding of the same parts decodes to the same text.
        let theirs = decode_parts_of(&lettres, false);
        assert_eq!(parts, theirs);
    }

    /// A header as written in a message: `Name: value` lines ending in CRLF.
    fn written(value: HeaderValue) -> String {
        let mut headers = lettre::message::header::Headers::new();
        headers.insert_raw(value);
        headers.to_string()
    }

    /// What a reader's mail program shows for a header value written by [`written`]:
    /// unfolded, RFC 2047 encoded words (Q and B) decoded, the space between two encoded
    /// words dropped (RFC 2047 6.2).
    fn displayed(header: &str) -> String {
        let (_, value) = header.split_once(": ").expect("a header");
        let value = value.trim_end_matches("\r\n").replace("\r\n ", " ");
        let mut out = String::new();
        let mut last_encoded = false;
        for (i, token) in value.split(' ').enumerate() {
            let decoded = token
                .strip_prefix("=?")
                .and_then(|t| t.strip_suffix("?="))
                .and_then(|t| {
                    let mut parts = t.splitn(3, '?');
                    let (charset, kind, text) = (parts.next()?, parts.next()?, parts.next()?);
                    (charset.eq_ignore_ascii_case("utf-8")).then_some(())?;
                    let bytes = match kind {
                        "q" | "Q" => {
                            // "=20", not " ": a decoder drops a line's trailing blanks.
                            let t = text.replace('_', "=20");
                            quoted_printable::decode(t, quoted_printable::ParseMode::Strict).ok()?
                        }
                        "b" | "B" => base64(text),
                        _ => return None,
                    };
                    String::from_utf8(bytes).ok()
                });
            if i > 0 && !(last_encoded && decoded.is_some()) {
                out.push(' ');
            }
            last_encoded = decoded.is_some();
            out.push_str(decoded.as_deref().unwrap_or(token));
        }
        out
    }

    fn base64(text: &str) -> Vec<u8> {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0);
        for c in text.bytes().filter(|&c| c != b'=') {
            let v = T.iter().position(|&t| t == c).expect("base64") as u32;
            buf = (buf << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buf >> bits) as u8);
            }
        }
        out
    }

    /// Every line of a header block: within 998 characters, printable ASCII.
    fn assert_lines_fit(head: &str) {
        for line in head.trim_end_matches("\r\n").split("\r\n") {
            assert!(line.len() <= 998, "{} characters: {line}", line.len());
            assert!(
                line.bytes()
                    .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()),
                "{line:?}"
            );
        }
    }

    #[test]
    fn list_id_is_a_slug_under_the_sender_domain() {
        assert_eq!(
            written(list_id_header(
                "Local Government Leadership Brief",
                "example.org"
            )),
            "List-Id: \"Local Government Leadership Brief\"\r\n <local-government-leadership-brief.example.org>\r\n"
        );
    }

    #[test]
    fn list_id_phrases_with_non_ascii_words_at_either_end_decode_to_the_name() {
        for name in [
            "Café Brief",
            "Brief Café",
            "Ünïcode",
            "Le \"Petit\" Café",
            "日本語のブリーフ ".repeat(20).trim_end(),
            &"Long ".repeat(100),
        ] {
            let header = written(list_id_header(name, "example.org"));
            assert_lines_fit(&header);
            // No quote hides inside an encoded word, where it is no longer a delimiter.
            for word in header.split([' ', '\r', '\n']) {
                if word.starts_with("=?") {
                    assert!(!word.contains('"'), "{header}");
                    assert!(word.len() <= 75, "{header}");
                }
            }
            let shown = displayed(&header);
            let (phrase, id) = shown.rsplit_once(' ').expect("phrase and id");
            let phrase = phrase
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .unwrap_or(phrase);
            assert_eq!(
                phrase,
                name.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            assert!(id.starts_with('<') && id.ends_with(".example.org>"), "{id}");
            assert!(id.len() <= 257, "{id}");
        }
    }

    #[test]
    fn a_subject_spelling_an_encoded_word_reaches_the_reader_as_that_text() {
        for subject in [
            "Why =?utf-8?b?SGVsbG8=?= matters",
            "=?utf-8?q?Caf=C3=A9?= =?utf-8?q?_Brief?=",
            "Zoë’s headline & more",
            "plain words only",
        ] {
            let header = written(subject_header(subject));
            assert_lines_fit(&header);
            assert_eq!(displayed(&header), subject, "{header}");
        }
    }

    #[test]
    fn huge_subjects_are_folded_and_cut_after_a_word() {
        let solid = "x".repeat(5000);
        let spaced = "Budget ".repeat(1000);
        let wide = "日本語".repeat(1000);
        let line = "a\r\nsubject\rwith\nbreaks";
        for subject in [solid.as_str(), spaced.trim_end(), &wide, line] {
            let header = written(subject_header(subject));
            assert_lines_fit(&header);
            let shown = displayed(&header);
            assert!(shown.chars().count() <= MAX_SUBJECT_CHARS, "{shown}");
            if subject.len() > MAX_SUBJECT_CHARS {
                assert!(shown.ends_with('…'), "{shown}");
            }
            let kept = shown.trim_end_matches('…');
            assert!(one_line(subject).starts_with(kept), "{shown}");
        }
        let shown = displayed(&written(subject_header(spaced.trim_end())));
        assert!(shown.ends_with("Budget…"), "cut after a word: {shown}");
        assert_eq!(
            displayed(&written(subject_header(line))),
            "a subject with breaks"
        );
    }

    #[test]
    fn no_header_line_passes_998_and_line_breaks_in_names_do_not_panic() {
        let (mut brief, rendered) = sample();
        for (name, brief_name, subject) in [
            ("Bad\r\nName", "Café Brief", "ok"),
            ("Bad\rName", "A Brief", "ok"),
            ("Bad\nName", "A Brief", "ok"),
            (
                &*"x".repeat(2000),
                &*"Brief ".repeat(200),
                &*"y".repeat(3000),
            ),
            (
                &*"Word ".repeat(400),
                &*"é".repeat(500),
                &*"日本語 ".repeat(900),
            ),
        ] {
            brief.name = brief_name.to_string();
            let env = Envelope {
                to: Mailbox::new(
                    Some(name.to_string()),
                    "ann@example.org".parse().expect("address"),
                ),
                message_id: "1.2.x@example.org".into(),
                unsubscribe_https: Some("https://example.org/unsubscribe/t"),
                date: SystemTime::UNIX_EPOCH,
                verp: None,
            };
            let rendered = Rendered {
                subject: subject.to_string(),
                ..rendered.clone()
            };
            let raw = compose(&brief, &rendered, &env)
                .expect("compose")
                .formatted();
            let raw = String::from_utf8(raw).expect("ASCII");
            let (head, _) = raw.split_once("\r\n\r\n").expect("headers end");
            assert_lines_fit(head);
            let to = head
                .split("\r\n")
                .find(|l| l.starts_with("To: "))
                .expect("To");
            if name.starts_with("Bad") {
                assert_eq!(to, "To: \"Bad Name\" <ann@example.org>");
            }
        }
    }
}

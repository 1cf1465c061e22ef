//! A small, bounded MIME walker for inbound mail: raw bytes → a tree of [`Part`]s whose
//! leaves are decoded text (transfer encoding undone, charset converted to UTF-8).
//!
//! It reads only what a bounce classifier needs and is built for hostile input: the caller
//! caps the input size, nesting stops at [`MAX_DEPTH`], a mail holds at most [`MAX_PARTS`]
//! parts, a header block at most [`MAX_HEADERS`] fields, and nothing here can panic on any
//! byte sequence (no indexing past what was checked, no unwrap).

use std::borrow::Cow;

/// How deep multiparts and attached messages may nest before the rest is read as text.
pub(crate) const MAX_DEPTH: usize = 8;
/// Parts read per mail; the rest are dropped.
pub(crate) const MAX_PARTS: usize = 64;
/// Header fields read per header block; the rest are dropped.
pub(crate) const MAX_HEADERS: usize = 500;

/// One header block: fields in order, names as written, values unfolded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Headers(Vec<(String, String)>);

impl Headers {
    /// The first field called `name` (case-insensitive), trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Every field called `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Every field, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.trim()))
    }

    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// A parsed `Content-Type`: lower-case `type/subtype` and its parameters.
#[derive(Debug, Clone)]
pub(crate) struct ContentType {
    /// `text/plain`, `multipart/report`, … (lower case).
    pub(crate) mime: String,
    params: Vec<(String, String)>,
}

impl ContentType {
    /// A parameter's value (name case-insensitive, quotes removed).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn parse(value: Option<&str>) -> Self {
        let value = value.unwrap_or("text/plain");
        let mut pieces = split_params(value).into_iter();
        // Only the first word: a missing ";" must not glue a parameter onto the type.
        let mime = pieces
            .next()
            .and_then(|m| m.split_whitespace().next())
            .map(str::to_ascii_lowercase)
            .filter(|m| m.contains('/'))
            .unwrap_or_else(|| "text/plain".to_string());
        let params = pieces
            .filter_map(|p| {
                let (n, v) = p.split_once('=')?;
                let v = v.trim().trim_matches('"').to_string();
                Some((n.trim().to_string(), v))
            })
            .collect();
        Self { mime, params }
    }
}

/// `;`-separated pieces of a header value, ignoring `;` inside quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// One MIME entity: its headers, content type and body.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// The entity's own header block.
    pub(crate) headers: Headers,
    /// Its parsed `Content-Type` (`text/plain` when absent or unreadable).
    pub(crate) content_type: ContentType,
    /// What it holds.
    pub(crate) body: Body,
}

/// The body of a [`Part`].
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A leaf, decoded to text.
    Text(String),
    /// The parts of a multipart, in order.
    Multipart(Vec<Part>),
    /// An attached message (`message/rfc822`, `message/global`) or a header block
    /// (`text/rfc822-headers`), parsed.
    Message(Box<Part>),
}

impl Part {
    /// Every part of the tree in document order, this one first.
    pub(crate) fn walk(&self) -> Vec<&Part> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            out.push(p);
            match &p.body {
                Body::Multipart(parts) => stack.extend(parts.iter().rev()),
                Body::Message(m) => stack.push(m),
                Body::Text(_) => {}
            }
        }
        out
    }

    /// Every part of the tree in document order, this one first, without entering
    /// attached messages: the parts that are this mail's own.
    pub(crate) fn walk_own(&self) -> Vec<&Part> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            out.push(p);
            if let Body::Multipart(parts) = &p.body {
                stack.extend(parts.iter().rev());
            }
        }
        out
    }

    /// The text of a leaf, `None` for containers.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.body {
            Body::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Parses a whole mail. Never fails: what cannot be read becomes text.
pub(crate) fn parse(raw: &[u8]) -> Part {
    // A mail saved from an mbox starts with its "From sender date" separator line.
    let raw = match raw.strip_prefix(b"From ") {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&b""[..], |i| &rest[i + 1..]),
        None => raw,
    };
    let mut budget = MAX_PARTS;
    parse_entity(raw, 0, &mut budget)
}

fn parse_entity(raw: &[u8], depth: usize, budget: &mut usize) -> Part {
    *budget = budget.saturating_sub(1);
    let (head, body) = split_head(raw);
    let headers = parse_headers(head);
    let content_type = ContentType::parse(headers.get("content-type"));
    let cte = headers
        .get("content-transfer-encoding")
        .unwrap_or("")
        .to_ascii_lowercase();
    let can_nest = depth < MAX_DEPTH && *budget > 0;
    let body = if content_type.mime.starts_with("multipart/") && can_nest {
        match content_type.param("boundary").filter(|b| !b.is_empty()) {
            Some(boundary) => {
                let pieces = split_multipart(body, boundary.as_bytes());
                if pieces.is_empty() {
                    // The boundary never appears (lost in forwarding): read it as text.
                    Body::Text(decode_text(body, &cte, content_type.param("charset")))
                } else {
                    let mut parts = Vec::new();
                    for piece in pieces {
                        if *budget == 0 {
                            break;
                        }
                        parts.push(parse_entity(piece, depth + 1, budget));
                    }
                    Body::Multipart(parts)
                }
            }
            None => Body::Text(decode_text(body, &cte, content_type.param("charset"))),
        }
    } else if matches!(
        content_type.mime.as_str(),
        "message/rfc822" | "message/global" | "text/rfc822-headers" | "message/rfc822-headers"
    ) && can_nest
    {
        // Some MTAs base64 the attached message; undo that first.
        let inner = decode_transfer(body, &cte);
        Body::Message(Box::new(parse_entity(&inner, depth + 1, budget)))
    } else {
        Body::Text(decode_text(body, &cte, content_type.param("charset")))
    };
    Part {
        headers,
        content_type,
        body,
    }
}

/// Splits at the first empty line. A block with no header-looking first line is all body.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let first_line = raw.split(|&b| b == b'\n').next().unwrap_or(b"");
    let looks_like_header = first_line.iter().position(|&b| b == b':').is_some_and(|i| {
        i > 0
            && first_line[..i]
                .iter()
                .all(|b| b.is_ascii_graphic() && *b != b':')
    });
    // An entity may start with its empty line (no headers at all).
    if first_line == b"" || first_line == b"\r" {
        return (b"", raw.get(first_line.len() + 1..).unwrap_or(b""));
    }
    if !looks_like_header {
        return (b"", raw);
    }
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| i + p);
        let line = &raw[i..end];
        if line.is_empty() || line == b"\r" {
            return (&raw[..i], raw.get(end + 1..).unwrap_or(b""));
        }
        i = end + 1;
    }
    (raw, b"")
}

/// Unfolds a header block into fields; lines that are no field are skipped.
fn parse_headers(head: &[u8]) -> Headers {
    let text = String::from_utf8_lossy(head);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if fields.len() >= MAX_HEADERS {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && !n.is_empty()
            && !n.contains(char::is_whitespace)
        {
            fields.push((n.to_string(), v.trim().to_string()));
        }
    }
    Headers(fields)
}

/// Parses a header block given as text (the quoted headers of a non-MIME bounce).
pub(crate) fn headers_from_text(text: &str) -> Headers {
    parse_headers(text.as_bytes())
}

/// The pieces between `--boundary` lines, without preamble and epilogue.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < body.len() {
        let end = body[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |p| i + p);
        let line = &body[i..end];
        if let Some(rest) = line.strip_prefix(b"--")
            && let Some(after) = rest.strip_prefix(boundary)
        {
            let closing = after.starts_with(b"--");
            if after.iter().all(|b| b.is_ascii_whitespace()) || closing {
                if let Some(s) = start {
                    // The line break before a boundary belongs to the boundary.
                    let mut e = i.saturating_sub(1);
                    if e > s && body.get(e - 1) == Some(&b'\r') {
                        e -= 1;
                    }
                    pieces.push(body.get(s..e.max(s)).unwrap_or(b""));
                }
                if closing {
                    return pieces;
                }
                start = Some(end + 1);
            }
        }
        i = end + 1;
    }
    // No closing boundary (a truncated mail): keep what was read.
    if let Some(s) = start
        && s < body.len()
    {
        pieces.push(&body[s..]);
    }
    pieces
}

/// Undoes base64 or quoted-printable; other encodings are taken as they are.
fn decode_transfer<'a>(body: &'a [u8], cte: &str) -> Cow<'a, [u8]> {
    match cte {
        "base64" => Cow::Owned(base64(body)),
        "quoted-printable" => Cow::Owned(quoted_printable(body)),
        _ => Cow::Borrowed(body),
    }
}

fn decode_text(body: &[u8], cte: &str, charset: Option<&str>) -> String {
    let bytes = decode_transfer(body, cte);
    to_utf8(&bytes, charset)
}

/// Bytes in `charset` (any label encoding_rs knows) → text; unknown or absent charsets
/// are read as UTF-8 with replacement characters.
pub(crate) fn to_utf8(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    // Bounces often declare us-ascii and carry 8-bit UTF-8; windows-1252 (what encoding_rs
    // maps us-ascii to) would turn it into mojibake.
    if encoding == encoding_rs::WINDOWS_1252 && std::str::from_utf8(bytes).is_ok() {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    encoding.decode(bytes).0.into_owned()
}

/// Lenient base64: characters outside the alphabet are skipped, a short tail dropped.
pub(crate) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Lenient quoted-printable: a malformed escape is kept as written.
pub(crate) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        match (input.get(i + 1), input.get(i + 2)) {
            // A soft line break.
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(hex(h).unwrap_or(0) << 4 | hex(l).unwrap_or(0));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?…?=`) in a header value.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let Some(word) = encoded_word(from) else {
            out.push_str(before);
            out.push_str("=?");
            rest = &from[2..];
            last_was_word = false;
            continue;
        };
        // Whitespace between two encoded words is not part of the text.
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&word.1);
        rest = &from[word.0..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its length and decoded text.
fn encoded_word(s: &str) -> Option<(usize, String)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let data = &inner[..end];
    if data.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64(data.as_bytes()),
        "Q" | "q" => quoted_printable(data.replace('_', " ").as_bytes()),
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    // RFC 2231 allows a language after `*`.
    let charset = charset.split('*').next().unwrap_or(charset);
    Some((len, to_utf8(&bytes, Some(charset))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_report_splits_into_its_parts_and_decodes_base64() {
        let raw = b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n\
preamble\n--b1\nContent-Type: text/plain\n\nhello\n--b1\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\nU3RhdHVzOiA1LjEuMQ==\n--b1--\nepilogue\n";
        let part = parse(raw);
        let texts: Vec<_> = part.walk().into_iter().filter_map(Part::text).collect();
        assert_eq!(texts, vec!["hello", "Status: 5.1.1"]);
    }

    #[test]
    fn an_mbox_separator_line_does_not_hide_the_headers() {
        let part = parse(
            b"From MAILER-DAEMON  Fri Feb 13 02:45:46 2015\nSubject: failure notice\n\nbody\n",
        );
        assert_eq!(part.headers.get("subject"), Some("failure notice"));
        assert_eq!(part.text(), Some("body\n"));
    }

    #[test]
    fn encoded_words_are_decoded_and_joined() {
        assert_eq!(
            decode_words(
                "=?UTF-8?B?QXV0b21hdGljIHJlcGx5?= =?ISO-8859-1?Q?:_Abwesenheit_=FCber?= x"
            ),
            "Automatic reply: Abwesenheit über x"
        );
        assert_eq!(decode_words("plain =?broken"), "plain =?broken");
    }

    #[test]
    fn quoted_printable_keeps_malformed_escapes() {
        assert_eq!(quoted_printable(b"a=3Db=\nc=ZZ="), b"a=bc=ZZ=");
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_read_as_text() {
        let mut raw = String::from("body");
        for i in 0..(MAX_DEPTH + 5) {
            raw = format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n{raw}\n--b{i}--\n"
            );
        }
        let part = parse(raw.as_bytes());
        assert!(part.walk().len() <= MAX_DEPTH + 2);
    }
}

//! Feed bytes → UTF-8 text feed-rs can read without switching encodings: BOM, XML 1.0
//! appendix F autodetection (UTF-16/32), a declared encoding that fits, else UTF-8, else
//! Windows-1252; every XML declaration rewritten to say UTF-8; control characters XML
//! forbids removed. What was done that a reader of the report should know is noted.

/// Decodes `body` to UTF-8 text that feed-rs can read without switching encodings: no BOM,
/// every XML declaration saying UTF-8 (quick-xml panics when a declaration names another
/// encoding once its look-ahead buffer is spent), no control characters XML forbids.
/// Returns the text and what was done that a reader of the report should know.
pub(super) fn normalize(body: &[u8]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let (text, note) = decode(body);
    notes.extend(note);
    let mut text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let before = text.len();
    text.retain(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
    if text.len() != before {
        notes.push("removed control characters".into());
    }
    (utf8_declarations(&text), notes)
}

/// Every `<?xml …?>` declaration rewritten to name UTF-8: the first as the document's
/// declaration, any later one (junk, concatenated documents) made an inert processing
/// instruction. Replaced, not deleted: deleting `<?xml version…?>` out of
/// `<?xml<?xml version…?> encoding="utf-16"?>` would join a new declaration.
fn utf8_declarations(text: &str) -> String {
    const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    const INERT: &str = "<?removed-declaration?>";
    let mut out = String::with_capacity(text.len() + DECL.len());
    let mut rest = text;
    while let Some(pos) = rest.find("<?xml") {
        let after = &rest[pos + 5..];
        // `<?xml-stylesheet …?>` is a processing instruction, not a declaration.
        let is_decl = after.starts_with(|c: char| c.is_ascii_whitespace() || c == '?');
        match after.find("?>") {
            Some(end) if is_decl => {
                out.push_str(&rest[..pos]);
                if out.trim().is_empty() {
                    out.clear();
                    out.push_str(DECL);
                } else {
                    out.push_str(INERT);
                }
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..pos + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes bytes to text: BOM first, then the byte pattern of `<?` (XML 1.0 appendix F),
/// then a declared encoding that actually fits, then UTF-8, then Windows-1252 (what
/// "ISO-8859-1" and unlabelled Western pages really are).
fn decode(body: &[u8]) -> (String, Option<String>) {
    // UTF-32 first: its little-endian BOM starts like UTF-16's.
    if let Some(rest) = body.strip_prefix(&[0, 0, 0xfe, 0xff]) {
        return (utf32(rest, u32::from_be_bytes), None);
    }
    if let Some(rest) = body.strip_prefix(&[0xff, 0xfe, 0, 0]) {
        return (utf32(rest, u32::from_le_bytes), None);
    }
    if body.starts_with(&[0, 0, 0, b'<']) {
        return (utf32(body, u32::from_be_bytes), None);
    }
    if body.starts_with(&[b'<', 0, 0, 0]) {
        return (utf32(body, u32::from_le_bytes), None);
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
        return (text.into_owned(), None);
    }
    match body {
        [0, b'<', 0, _, ..] => {
            let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(body);
            return (text.into_owned(), None);
        }
        [b'<', 0, _, 0, ..] => {
            let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(body);
            return (text.into_owned(), None);
        }
        _ => {}
    }
    let declared = declared_encoding(body);
    if let Some(enc) = declared
        && enc != encoding_rs::UTF_8
    {
        let (text, had_errors) = enc.decode_without_bom_handling(body);
        if !had_errors {
            return (text.into_owned(), None);
        }
    }
    match std::str::from_utf8(body) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(body);
            let label = declared.map_or("no encoding", |e| e.name());
            (
                text.into_owned(),
                Some(format!(
                    "decoded as Windows-1252 (declared {label}, but the bytes are not valid)"
                )),
            )
        }
    }
}

/// UTF-32 in either byte order (encoding_rs has no decoder for it); bad code points and a
/// ragged end become U+FFFD.
fn utf32(bytes: &[u8], word: fn([u8; 4]) -> u32) -> String {
    let mut out: String = bytes
        .chunks_exact(4)
        .map(|c| {
            let w = word([c[0], c[1], c[2], c[3]]);
            char::from_u32(w).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    if !bytes.len().is_multiple_of(4) {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

/// The encoding the XML declaration names, if it is one we can read a declaration in:
/// a declaration readable as ASCII cannot be in UTF-16, whatever it says.
fn declared_encoding(body: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &body[..body.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let decl_end = head.find("?>")?;
    let decl = &head[..decl_end];
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let label = rest[1..].split(quote).next()?;
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).filter(|e| e.is_ascii_compatible())
}

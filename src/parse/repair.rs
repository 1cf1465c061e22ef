//! Repairs of the usual breakage of real-world XML feeds, tried when feed-rs refuses a
//! document or misses entries: junk before the root element, bare `&`, and HTML-only
//! named entities (`&nbsp;`, `&mdash;` …) rewritten as numeric references XML accepts.

/// Repairs the usual breakage of real-world feeds in normalized text; returns the repaired
/// text and what was done.
pub(super) fn repair(text: &str) -> (String, Vec<String>) {
    let mut repairs = Vec::new();
    // JSON has its own escaping; these repairs are for XML.
    if text.trim_start().starts_with('{') {
        return (text.to_string(), repairs);
    }
    let mut text = text;
    // Junk before the root element (a PHP warning, blank lines).
    if let Some(start) = text.find('<')
        && !text[..start].trim().is_empty()
    {
        text = &text[start..];
        repairs.push("removed text before the root element".into());
    }
    let (fixed, amps, entities) = fix_ampersands(text);
    if amps > 0 {
        repairs.push(format!("escaped {amps} bare '&'"));
    }
    if entities > 0 {
        repairs.push(format!(
            "replaced {entities} HTML entities XML does not know"
        ));
    }
    (fixed, repairs)
}

/// Escapes `&` that do not start a reference, and rewrites HTML-only named entities
/// (`&nbsp;`, `&mdash;` …) as numeric references XML accepts.
fn fix_ampersands(text: &str) -> (String, usize, usize) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut bare = 0;
    let mut entities = 0;
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(after.len());
        let terminated = after[name_len..].starts_with(';');
        let name = &after[..name_len];
        if terminated && !name.is_empty() {
            if let Some(num) = name.strip_prefix('#') {
                let valid = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).is_ok(),
                    None => num.parse::<u32>().is_ok(),
                };
                if valid {
                    out.push('&');
                } else {
                    out.push_str("&amp;");
                    bare += 1;
                }
            } else if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
                out.push('&');
            } else if let Some(cp) = html_entity(name) {
                out.push_str(&format!("&#{cp};"));
                rest = &after[name_len + 1..];
                entities += 1;
                continue;
            } else {
                out.push_str("&amp;");
                bare += 1;
            }
        } else {
            out.push_str("&amp;");
            bare += 1;
        }
        rest = after;
    }
    out.push_str(rest);
    (out, bare, entities)
}

/// Code points of the HTML entities real feeds use where XML has none.
pub(super) fn html_entity(name: &str) -> Option<u32> {
    Some(match name {
        "nbsp" => 160,
        "iexcl" => 161,
        "cent" => 162,
        "pound" => 163,
        "yen" => 165,
        "sect" => 167,
        "copy" => 169,
        "laquo" => 171,
        "reg" => 174,
        "deg" => 176,
        "plusmn" => 177,
        "para" => 182,
        "middot" => 183,
        "raquo" => 187,
        "frac12" => 189,
        "iquest" => 191,
        "Agrave" => 192,
        "Aacute" => 193,
        "Auml" => 196,
        "Ccedil" => 199,
        "Eacute" => 201,
        "Ntilde" => 209,
        "Ouml" => 214,
        "times" => 215,
        "Uuml" => 220,
        "szlig" => 223,
        "agrave" => 224,
        "aacute" => 225,
        "acirc" => 226,
        "auml" => 228,
        "ccedil" => 231,
        "egrave" => 232,
        "eacute" => 233,
        "ecirc" => 234,
        "euml" => 235,
        "iacute" => 237,
        "ntilde" => 241,
        "oacute" => 243,
        "ouml" => 246,
        "divide" => 247,
        "uacute" => 250,
        "uuml" => 252,
        "ndash" => 8211,
        "mdash" => 8212,
        "lsquo" => 8216,
        "rsquo" => 8217,
        "sbquo" => 8218,
        "ldquo" => 8220,
        "rdquo" => 8221,
        "bdquo" => 8222,
        "dagger" => 8224,
        "bull" => 8226,
        "hellip" => 8230,
        "prime" => 8242,
        "lsaquo" => 8249,
        "rsaquo" => 8250,
        "euro" => 8364,
        "trade" => 8482,
        "larr" => 8592,
        "rarr" => 8594,
        "ensp" => 8194,
        "emsp" => 8195,
        "thinsp" => 8201,
        "zwnj" => 8204,
        "zwj" => 8205,
        _ => return None,
    })
}

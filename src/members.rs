//! Members: `members.csv` text → validated [`MemberRow`]s plus one note per row that was
//! skipped or imported with a warning.
//!
//! Columns are `email,name[,sections]` (a header row is recognised and optional);
//! sections are separated by `;` or `|`. A header row may name a `frequency` column
//! (`daily` or `weekly`, [`Frequency`]); other extra columns are kept as attributes. Addresses are validated and lowercased; names are
//! made fit for a `To:` header ([`clean_name`]). A bad row is reported by line number and
//! skipped; the rest are imported. A quote left open costs its own row only: it never
//! swallows the rows after it. Pure: the caller reads the file and stores the rows.

use lettre::Address;

/// The longest display name kept, in characters: a `To:` line stays far below RFC 5322's
/// 998 characters with the longest address beside it.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest address accepted (RFC 5321 4.5.3.1.3 allows 256 characters for the path,
/// angle brackets included).
pub const MAX_ADDRESS_CHARS: usize = 254;

/// A valid member row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// 1-based line in the file.
    pub line: usize,
    /// Lowercased address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Sections the member chose; empty means all.
    pub sections: Vec<String>,
    /// Extra columns, named by the header row, kept as attributes.
    pub attributes: Vec<(String, String)>,
    /// The `frequency` column, when the header names one and the row fills it.
    pub frequency: Option<Frequency>,
}

/// How often a member receives the brief, and which edition a digest is: every digest
/// (`daily`, the default) or the weekly edition (`weekly`, when `[brief] weekly` is set).
/// Stored and written as the text [`Frequency::as_str`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    /// Every digest.
    #[default]
    Daily,
    /// The weekly edition only.
    Weekly,
}

impl Frequency {
    /// Every frequency.
    pub const ALL: [Self; 2] = [Self::Daily, Self::Weekly];

    /// The stored (and written) word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }
}

impl std::fmt::Display for Frequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Frequency {
    type Err = String;

    /// `daily` or `weekly`, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("frequency {text:?} is not \"daily\" or \"weekly\""))
    }
}

/// What became of a row a [`RowError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFate {
    /// The row was not imported.
    Skipped,
    /// The row was imported, with part of it ignored or cleaned (an unknown section, a
    /// line break in the name).
    Imported,
}

/// A row that was skipped, or imported with a warning, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// Whether the row was skipped or imported anyway.
    pub fate: RowFate,
}

impl RowError {
    fn skipped(line: usize, message: String) -> Self {
        Self {
            line,
            message,
            fate: RowFate::Skipped,
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a members CSV. `known_sections` are the config's section names; a row naming
/// another section is imported without it and reported ([`RowFate::Imported`]). Each
/// row gets at most one [`RowError`].
pub fn parse_csv(text: &str, known_sections: &[String]) -> (Vec<MemberRow>, Vec<RowError>) {
    let mut rows: Vec<MemberRow> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    // Each address's line, for the duplicate check (a linear scan made 10,000 rows slow).
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, record) in records(text).into_iter().enumerate() {
        let Record { line, fields } = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let email_field = fields.first().map_or("", String::as_str);
        if email_field.is_empty() && fields.iter().all(String::is_empty) {
            continue;
        }
        if i == 0 && email_field.eq_ignore_ascii_case("email") {
            header = fields;
            continue;
        }
        let email = match normalise_address(email_field) {
            Ok(e) => e,
            Err(message) => {
                errors.push(RowError::skipped(line, message));
                continue;
            }
        };
        if let Some(first) = seen.get(&email) {
            errors.push(RowError::skipped(
                line,
                format!("{email} is already listed on line {first}; this row is skipped"),
            ));
            continue;
        }
        seen.insert(email.clone(), line);
        // Everything ignored or changed in this row, reported as one warning.
        let mut notes = Vec::new();
        let raw_name = fields.get(1).map_or("", String::as_str);
        let (name, cut) = clean(raw_name);
        if raw_name.chars().any(char::is_control) {
            notes.push("line breaks and control characters in the name became spaces".to_string());
        }
        if cut {
            notes.push(format!("the name was cut to {MAX_NAME_CHARS} characters"));
        }
        let mut sections = Vec::new();
        let mut unknown = Vec::new();
        for s in fields
            .get(2)
            .map_or("", String::as_str)
            .split([';', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match known_sections.iter().find(|k| k.eq_ignore_ascii_case(s)) {
                Some(k) => sections.push(k.clone()),
                None => unknown.push(format!("{s:?}")),
            }
        }
        if !unknown.is_empty() {
            notes.push(format!(
                "unknown section {} ignored (known: {})",
                unknown.join(", "),
                known_sections.join(", ")
            ));
        }
        let frequency_column = header
            .iter()
            .position(|h| h.eq_ignore_ascii_case("frequency"))
            .filter(|&i| i >= 3);
        let frequency = match frequency_column
            .and_then(|i| fields.get(i))
            .filter(|v| !v.is_empty())
        {
            Some(v) => match v.parse::<Frequency>() {
                Ok(f) => Some(f),
                Err(why) => {
                    notes.push(format!("{why}, so it was ignored (use daily or weekly)"));
                    None
                }
            },
            None => None,
        };
        if !notes.is_empty() {
            errors.push(RowError {
                line,
                message: format!("{email} imported, but {}", notes.join("; ")),
                fate: RowFate::Imported,
            });
        }
        let attributes = fields
            .iter()
            .enumerate()
            .skip(3)
            .filter(|(i, v)| !v.is_empty() && Some(*i) != frequency_column)
            .map(|(i, v)| {
                let key = header
                    .get(i)
                    .filter(|h| !h.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("column{}", i + 1));
                (key, v.clone())
            })
            .collect();
        rows.push(MemberRow {
            line,
            email,
            name,
            sections,
            attributes,
            frequency,
        });
    }
    (rows, errors)
}

/// A member's display name fit for a `To:` header, whatever the file or an older version
/// stored: control characters (CR, LF, tab, …) become spaces, runs of whitespace one
/// space, and a name over [`MAX_NAME_CHARS`] characters is cut after its last whole word
/// that fits (or mid-word when a single word is longer). `None` when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let (name, _) = clean(raw);
    name
}

/// [`clean_name`], and whether the name was cut.
fn clean(raw: &str) -> (Option<String>, bool) {
    let mut out = String::new();
    let mut chars = 0;
    for word in raw.split(|c: char| c.is_control() || c.is_whitespace()) {
        if word.is_empty() {
            continue;
        }
        let len = word.chars().count();
        let space = usize::from(!out.is_empty());
        if chars + space + len > MAX_NAME_CHARS {
            if out.is_empty() {
                out.extend(word.chars().take(MAX_NAME_CHARS));
            }
            return (Some(out), true);
        }
        if space == 1 {
            out.push(' ');
        }
        out.push_str(word);
        chars += space + len;
    }
    ((!out.is_empty()).then_some(out), false)
}

/// One record of the file: its first line and its fields, trimmed.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits `text` into records: fields separated by commas, a field in double quotes may
/// hold commas, line breaks and doubled quotes (RFC 4180); CRLF, LF or a lone CR ends a
/// record. Blank lines and lines starting with `#` are skipped; a UTF-8 byte order mark
/// (Excel's "CSV UTF-8") is ignored.
///
/// A quote left open must not swallow the rows after it (one stray `"` once cost every row
/// up to the next quote): when a line inside a quoted field would itself start a member
/// row (an address, then a comma or the line's end), the quote was stray. The record it
/// opened is reported and skipped, and reading resumes at that line.
fn records(text: &str) -> Vec<Result<Record, RowError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut at, mut line) = (0, 1);
    // Each pass reads one record or skips one line, so `at` always moves forward.
    while at < bytes.len() {
        let end = line_end(bytes, at);
        let content = &text[at..end];
        if content.trim().is_empty() || content.starts_with('#') {
            at = after_break(bytes, end);
            line += 1;
            continue;
        }
        let first_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        // Bytes from `seg` to `i` belong to the current field and are not yet copied.
        let (mut i, mut seg) = (at, at);
        let (mut quoted, mut field_start) = (false, true);
        let mut stray = false;
        while i < bytes.len() {
            let b = bytes[i];
            if quoted {
                match b {
                    b'"' if bytes.get(i + 1) == Some(&b'"') => {
                        field.push_str(&text[seg..=i]);
                        i += 2;
                        seg = i;
                    }
                    b'"' => {
                        field.push_str(&text[seg..i]);
                        quoted = false;
                        i += 1;
                        seg = i;
                    }
                    b'\r' | b'\n' => {
                        let next = after_break(bytes, i);
                        if starts_row(text, next) {
                            stray = true;
                            break;
                        }
                        // A line break inside a quoted field belongs to the field.
                        line += 1;
                        i = next;
                    }
                    _ => i += 1,
                }
            } else {
                match b {
                    b'"' if field_start => {
                        quoted = true;
                        i += 1;
                        seg = i;
                    }
                    b' ' | b'\t' if field_start => {
                        // Still the field's start: a quote after blanks opens it.
                        i += 1;
                        continue;
                    }
                    b',' => {
                        field.push_str(&text[seg..i]);
                        fields.push(std::mem::take(&mut field).trim().to_string());
                        i += 1;
                        seg = i;
                        field_start = true;
                        continue;
                    }
                    b'\r' | b'\n' => break,
                    _ => i += 1,
                }
                field_start = false;
            }
        }
        at = after_break(bytes, i);
        if stray || quoted {
            let lines = if line == first_line {
                format!("line {first_line} is")
            } else {
                format!("lines {first_line}-{line} are")
            };
            out.push(Err(RowError::skipped(
                first_line,
                format!(
                    "a quote (\") opened on this line is never closed, so {lines} skipped; \
                     close the quote or remove it"
                ),
            )));
        } else {
            field.push_str(&text[seg..i]);
            fields.push(field.trim().to_string());
            out.push(Ok(Record {
                line: first_line,
                fields,
            }));
        }
        line += 1;
    }
    out
}

/// The offset of the line break (CR or LF) at or after `at`, or the end.
fn line_end(bytes: &[u8], at: usize) -> usize {
    bytes[at..]
        .iter()
        .position(|&b| matches!(b, b'\r' | b'\n'))
        .map_or(bytes.len(), |p| at + p)
}

/// The offset after the line break at `at` (CRLF, LF or a lone CR), or the end.
fn after_break(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => at + 2,
        Some(_) => at + 1,
        None => at,
    }
}

/// Whether the line at `at` starts a member row: a valid address, then a comma or the
/// line's end.
fn starts_row(text: &str, at: usize) -> bool {
    let line = &text[at..line_end(text.as_bytes(), at)];
    let first = line.split(',').next().unwrap_or("").trim();
    !first.is_empty() && !first.contains('"') && normalise_address(first).is_ok()
}

/// Validates an address and returns it lowercased.
pub fn normalise_address(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_start_matches("mailto:");
    if trimmed.is_empty() {
        return Err("no email address in the first column".into());
    }
    if trimmed.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!(
            "the address has {} characters, more than the {MAX_ADDRESS_CHARS} an address may have",
            trimmed.chars().count()
        ));
    }
    let lower = trimmed.to_lowercase();
    match lower.parse::<Address>() {
        Ok(addr) if addr.domain().contains('.') || addr.domain() == "localhost" => Ok(lower),
        Ok(_) => Err(format!(
            "{trimmed:?} has no dot in its domain; expected an address like name@example.org"
        )),
        Err(e) => Err(format!("{trimmed:?} is not an email address ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_by_line_and_the_rest_kept() {
        let csv = "email,name,sections\n\
                   Ann@Example.org,Ann Lee,Leading Edge\n\
                   not-an-address,Bob\n\
                   \n\
                   cy@example.org,\"Cy, Jr.\",Nope;leading edge\n\
                   ann@example.org,Ann again\n";
        let sections = vec!["Leading Edge".to_string()];
        let (rows, errors) = parse_csv(csv, &sections);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].email, "ann@example.org");
        assert_eq!(rows[0].sections, vec!["Leading Edge"]);
        assert_eq!(rows[1].name.as_deref(), Some("Cy, Jr."));
        assert_eq!(rows[1].sections, vec!["Leading Edge"]);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5, 6], "{errors:?}");
    }

    #[test]
    fn a_frequency_column_sets_weekly_or_daily_and_a_bad_value_is_reported_and_ignored() {
        let (rows, errors) = parse_csv(
            "email,name,sections,frequency,city\n\
             a@example.org,A,,Weekly,Dayton\n\
             b@example.org,B,,daily,\n\
             c@example.org,C,,,\n\
             d@example.org,D,,fortnightly,\n",
            &[],
        );
        let got: Vec<_> = rows.iter().map(|r| r.frequency).collect();
        assert_eq!(
            got,
            [Some(Frequency::Weekly), Some(Frequency::Daily), None, None]
        );
        // The column is the member's frequency, not an attribute.
        assert_eq!(
            rows[0].attributes,
            [("city".to_string(), "Dayton".to_string())]
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 5);
        assert_eq!(errors[0].fate, RowFate::Imported);
        assert!(errors[0].message.contains("fortnightly"), "{errors:?}");
    }

    #[test]
    fn extra_columns_are_kept_as_named_attributes() {
        let (rows, errors) = parse_csv(
            "email,name,sections,city,role\na@example.org,A,,Dayton,CAO\n",
            &[],
        );
        assert!(errors.is_empty());
        assert_eq!(
            rows[0].attributes,
            vec![
                ("city".to_string(), "Dayton".to_string()),
                ("role".to_string(), "CAO".to_string())
            ]
        );
    }

    #[test]
    fn duplicates_name_both_lines_past_quoted_line_breaks_and_blank_lines() {
        let (rows, errors) = parse_csv(
            "email,name\na@example.org,\"Ann\nLee\"\n\nb@example.org,B\n# note\nA@example.org,Again\n",
            &[],
        );
        assert_eq!(rows.len(), 2);
        let skipped: Vec<&RowError> = errors
            .iter()
            .filter(|e| e.fate == RowFate::Skipped)
            .collect();
        assert_eq!(skipped.len(), 1, "{errors:?}");
        assert_eq!(skipped[0].line, 7);
        assert!(
            skipped[0].message.contains("already listed on line 2"),
            "{errors:?}"
        );
    }

    /// `n` rows `m{i}@example.org,Member {i}`, row `i` opening a quote it never closes
    /// when `stray(i)`; the line of each row is `i + 2` (after the header).
    fn rows_with_stray_quotes(n: usize, stray: impl Fn(usize) -> bool) -> String {
        let mut text = String::from("email,name,sections\n");
        for i in 0..n {
            let quote = if stray(i) { "\"" } else { "" };
            text.push_str(&format!("m{i}@example.org,{quote}Member {i},\n"));
        }
        text
    }

    #[test]
    fn a_stray_quote_costs_its_own_row_and_no_other() {
        let stray = |i: usize| i % 100 == 37;
        let text = rows_with_stray_quotes(10_000, stray);
        let (rows, errors) = parse_csv(&text, &[]);
        let bad: Vec<usize> = (0..10_000).filter(|&i| stray(i)).collect();
        assert_eq!(rows.len(), 10_000 - bad.len());
        assert!(rows.iter().all(|r| !stray(r.line - 2)));
        assert!(
            rows.iter()
                .all(|r| r.name.as_deref() == Some(&*format!("Member {}", r.line - 2)))
        );
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, bad.iter().map(|i| i + 2).collect::<Vec<_>>());
        assert!(errors.iter().all(|e| e.fate == RowFate::Skipped));
        assert!(
            errors[0]
                .message
                .contains("never closed, so line 39 is skipped"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks_next_to_stray_quotes() {
        let text = "email,name,sections\n\
                    a@example.org,\"Lee, Ann \"\"Annie\"\"\",Workforce\n\
                    b@example.org,\"Bo\n\nDiaz\"\n\
                    c@example.org,\"Cy\n\
                    d@example.org, \"Di, Jr.\" ,\n\
                    e@example.org,Ed \"The Boss\" Lee\n\
                    f@example.org,\"Fay\n\
                    not an address,still inside the quote\n\
                    g@example.org,Gus\n\
                    h@example.org,\"Hal";
        let (rows, errors) = parse_csv(text, &["Workforce".to_string()]);
        let names: Vec<(&str, Option<&str>, usize)> = rows
            .iter()
            .map(|r| (r.email.as_str(), r.name.as_deref(), r.line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("a@example.org", Some("Lee, Ann \"Annie\""), 2),
                ("b@example.org", Some("Bo Diaz"), 3),
                ("d@example.org", Some("Di, Jr."), 7),
                ("e@example.org", Some("Ed \"The Boss\" Lee"), 8),
                ("g@example.org", Some("Gus"), 11),
            ]
        );
        assert_eq!(rows[0].sections, vec!["Workforce"]);
        let skipped: Vec<(usize, &str)> = errors
            .iter()
            .filter(|e| e.fate == RowFate::Skipped)
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(skipped.len(), 3, "{errors:?}");
        assert_eq!(skipped[0].0, 6);
        assert_eq!(skipped[1].0, 9);
        assert!(
            skipped[1].1.contains("lines 9-10 are skipped"),
            "{errors:?}"
        );
        assert_eq!(skipped[2].0, 12);
    }

    #[test]
    fn unknown_sections_warn_once_on_a_row_that_is_imported() {
        let (rows, errors) = parse_csv(
            "a@example.org,Ann,Nope;Workforce;Nah\nb@example.org,Bo,Workforce\n",
            &["Workforce".to_string()],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].sections, vec!["Workforce"]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].fate, RowFate::Imported);
        assert_eq!(errors[0].line, 1);
        assert!(
            errors[0].message.contains("\"Nope\", \"Nah\" ignored"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn names_lose_line_breaks_and_are_cut_after_a_word_with_a_warning() {
        let long = "Word ".repeat(400);
        let text = format!(
            "lf@example.org,\"Bad\nName\"\ncr@example.org,\"Bad\rName\"\n\
             crlf@example.org,\"Bad\r\nName\"\nlong@example.org,{long}\n\
             solid@example.org,{}\nok@example.org,Ann  Lee\n",
            "é".repeat(2000)
        );
        let (rows, errors) = parse_csv(&text, &[]);
        let names: Vec<&str> = rows.iter().filter_map(|r| r.name.as_deref()).collect();
        assert_eq!(names[..3], ["Bad Name"; 3]);
        assert_eq!(names[3], "Word ".repeat(20).trim_end());
        assert_eq!(names[4], "é".repeat(MAX_NAME_CHARS));
        assert_eq!(names[5], "Ann Lee");
        let warned: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(warned, vec![1, 3, 5, 7, 8], "{errors:?}");
        assert!(errors.iter().all(|e| e.fate == RowFate::Imported));
        assert!(errors[0].message.contains("line breaks"), "{}", errors[0]);
        assert!(errors[3].message.contains("cut to 100"), "{}", errors[3]);
    }

    #[test]
    fn clean_name_leaves_no_control_character_and_at_most_the_cap() {
        for raw in ["\r\n", "\u{7}", "A\u{85}B\u{2028}C\tD", &"x".repeat(5000)] {
            let cleaned = clean_name(raw).unwrap_or_default();
            assert!(!cleaned.chars().any(char::is_control), "{cleaned:?}");
            assert!(cleaned.chars().count() <= MAX_NAME_CHARS);
        }
        assert_eq!(clean_name(" \r\n "), None);
        assert_eq!(
            clean_name("A\u{85}B\u{2028}C\tD").as_deref(),
            Some("A B C D")
        );
    }

    #[test]
    fn over_long_addresses_are_refused() {
        let long = format!("{}@example.org", "a".repeat(300));
        assert!(normalise_address(&long).is_err_and(|e| e.contains("254")));
    }

    #[test]
    fn file_without_header_is_accepted() {
        let (rows, errors) = parse_csv("a@example.org,A\nb@example.org\n", &[]);
        assert_eq!(rows.len(), 2);
        assert!(errors.is_empty());
    }
}

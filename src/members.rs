//! Members: `members.csv` text → validated [`MemberRow`]s plus one error per bad row.
//!
//! Columns are `email,name[,sections]` (a header row is recognised and optional);
//! sections are separated by `;` or `|`. Addresses are validated and lowercased. A bad row
//! is reported by line number and skipped; the rest are imported. Pure: the caller reads
//! the file and stores the rows.

use lettre::Address;

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
}

/// A row that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a members CSV. `known_sections` are the config's section names; a row naming
/// another section is reported (the rest of the row is kept).
pub fn parse_csv(text: &str, known_sections: &[String]) -> (Vec<MemberRow>, Vec<RowError>) {
    let mut rows: Vec<MemberRow> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    // Each address's line, for the duplicate check (a linear scan made 10,000 rows slow).
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut lines = LineCounter::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(i + 1, |p| p.line() as usize);
                errors.push(RowError {
                    line,
                    message: format!("not a CSV row ({e})"),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map_or(i + 1, |p| lines.line_at(p.byte() as usize));
        let email_field = record.get(0).unwrap_or("");
        if email_field.is_empty() && record.iter().all(str::is_empty) {
            continue;
        }
        if i == 0 && email_field.eq_ignore_ascii_case("email") {
            header = record.iter().map(str::to_string).collect();
            continue;
        }
        let email = match normalise_address(email_field) {
            Ok(e) => e,
            Err(message) => {
                errors.push(RowError { line, message });
                continue;
            }
        };
        if let Some(first) = seen.get(&email) {
            errors.push(RowError {
                line,
                message: format!("{email} is already listed on line {first}; this row is skipped"),
            });
            continue;
        }
        seen.insert(email.clone(), line);
        let name = record
            .get(1)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let mut sections = Vec::new();
        for s in record
            .get(2)
            .unwrap_or("")
            .split([';', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match known_sections.iter().find(|k| k.eq_ignore_ascii_case(s)) {
                Some(k) => sections.push(k.clone()),
                None => errors.push(RowError {
                    line,
                    message: format!(
                        "unknown section {s:?} for {email} (ignored; known: {})",
                        known_sections.join(", ")
                    ),
                }),
            }
        }
        let attributes = record
            .iter()
            .enumerate()
            .skip(3)
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| {
                let key = header
                    .get(i)
                    .filter(|h| !h.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("column{}", i + 1));
                (key, v.to_string())
            })
            .collect();
        rows.push(MemberRow {
            line,
            email,
            name,
            sections,
            attributes,
        });
    }
    (rows, errors)
}

/// The 1-based line of the first non-blank byte at or after `byte` (the csv crate reports a
/// record's position before the blank lines it skipped).
/// Line numbers of byte offsets met in increasing order, counting each byte once.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Bytes before this offset are counted…
    counted_to: usize,
    /// …and hold this many newlines.
    newlines: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            counted_to: 0,
            newlines: 0,
        }
    }

    /// The 1-based line of the record starting at `byte`: the reader's position can lie
    /// before blank and `#` comment lines, which are skipped.
    fn line_at(&mut self, byte: usize) -> usize {
        let bytes = self.bytes;
        let mut at = byte.min(bytes.len());
        loop {
            while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
                at += 1;
            }
            if bytes.get(at) != Some(&b'#') {
                break;
            }
            at += bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len() - at);
        }
        if at < self.counted_to {
            // Out of order (never from the csv reader): count from the start.
            return bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        }
        self.newlines += bytes[self.counted_to..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.counted_to = at;
        self.newlines + 1
    }
}

/// Validates an address and returns it lowercased.
pub fn normalise_address(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_start_matches("mailto:");
    if trimmed.is_empty() {
        return Err("no email address in the first column".into());
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
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 7);
        assert!(
            errors[0].message.contains("already listed on line 2"),
            "{errors:?}"
        );
    }

    #[test]
    fn file_without_header_is_accepted() {
        let (rows, errors) = parse_csv("a@example.org,A\nb@example.org\n", &[]);
        assert_eq!(rows.len(), 2);
        assert!(errors.is_empty());
    }
}

//! CSV (RFC 4180), one row per location, for spreadsheets and ad-hoc triage. A header row is
//! always written, so an empty report is a valid, empty table.
//!
//! Fields holding `,`, `"`, CR or LF are quoted with `"` doubled. Text fields that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`
//! (OWASP's advice against CSV injection): a scanned file's content must not execute.

use std::io::{self, Write};

use super::{context_line, shown_secret, ContextView, Report, ReportOptions};

const HEADER: [&str; 19] = [
    "rule_id",
    "description",
    "confidence",
    "severity",
    "secret",
    "fingerprint",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "context",
    "commit",
    "commit_author",
    "commit_email",
    "commit_date",
    "present_at_head",
    "tags",
    "found_in",
];

/// Writes the header and one row per location.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let contexts = ContextView::new(report, opts);
    write_row(w, HEADER.iter().map(|h| h.to_string()))?;
    for f in &report.findings {
        for loc in &f.locations {
            let p = loc.position;
            let c = loc.commit.as_deref();
            let text = |s: &str| defuse(s);
            let row = [
                text(&f.rule_id),
                text(&f.description),
                f.confidence.as_str().to_string(),
                f.severity.as_str().to_string(),
                text(&shown_secret(f, opts)),
                f.fingerprint.clone(),
                text(&loc.path),
                p.line.to_string(),
                p.column.to_string(),
                p.end_line.to_string(),
                p.end_column.to_string(),
                text(&context_line(&contexts, loc)),
                c.map_or(String::new(), |c| c.sha.clone()),
                c.map_or(String::new(), |c| text(&c.author)),
                c.map_or(String::new(), |c| text(&c.email)),
                c.map_or(String::new(), |c| c.date.clone()),
                f.history
                    .as_ref()
                    .map_or(String::new(), |h| h.present_at_head.to_string()),
                text(&f.tags.join(";")),
                loc.via.as_ref().map_or(String::new(), |v| text(&v.label())),
            ];
            write_row(w, row.into_iter())?;
        }
    }
    Ok(())
}

fn write_row(w: &mut dyn Write, fields: impl Iterator<Item = String>) -> io::Result<()> {
    let line: Vec<String> = fields.map(|f| quote(&f)).collect();
    writeln!(w, "{}", line.join(","))
}

/// Quotes a field if it needs it (RFC 4180).
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Prefixes `'` to text a spreadsheet would evaluate as a formula.
pub fn defuse(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{defuse, quote};

    #[test]
    fn rfc4180_quoting() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote(""), "");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("token=abc"), "token=abc");
    }
}

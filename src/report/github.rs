//! GitHub Actions workflow commands: one `::error` (or `::warning` for low/info severity)
//! annotation per location, which GitHub shows on the pull request's diff, and one per item
//! that could not be scanned.
//!
//! Escaping follows the Actions toolkit (`@actions/core` `command.ts`): in the message `%`,
//! `\r` and `\n` are percent-encoded; in properties `:` and `,` as well. Nothing else is written,
//! so the stream can go straight to a step's stdout.

use std::io::{self, Write};

use super::{provenance, shown_secret, Report, ReportOptions};
use crate::rules::Severity;

/// Writes one workflow command per location. An empty report writes nothing. Context lines are
/// not repeated: the annotation sits on the line itself.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        let command = if f.severity <= Severity::Low {
            "warning"
        } else {
            "error"
        };
        let title = format!("leakseal: {} ({})", f.description, f.rule_id);
        for loc in &f.locations {
            let p = loc.position;
            let mut props = format!(
                "file={},line={},endLine={}",
                escape_property(&loc.path),
                p.line,
                p.end_line
            );
            // Columns only mean something on a single line.
            if p.line == p.end_line {
                props.push_str(&format!(",col={},endColumn={}", p.column, p.end_column));
            }
            props.push_str(&format!(",title={}", escape_property(&title)));
            let mut message = format!(
                "{} found: secret {} ({} confidence, fingerprint {}).",
                f.description,
                shown_secret(f, opts),
                f.confidence.as_str(),
                &f.fingerprint[..f.fingerprint.len().min(12)]
            );
            if let Some(v) = &loc.via {
                message.push_str(&format!(" Found in {}.", v.label()));
            }
            if let Some(note) = provenance(f, loc) {
                message.push_str(&format!("\n{note}."));
            }
            message.push_str("\nRotate it, then remove it; if it is not a secret, mark the line with leakseal:allow.");
            writeln!(w, "::{command} {props}::{}", escape_data(&message))?;
        }
    }
    for e in &report.errors {
        writeln!(
            w,
            "::error title={}::{}",
            escape_property("leakseal: could not scan"),
            escape_data(&format!("{}: {}", e.path, e.message))
        )?;
    }
    Ok(())
}

/// Escapes a workflow command's message: `%`, `\r`, `\n`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as `escape_data`, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escaping() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        // `%` first, so an escape sequence in the input is not mistaken for one.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn property_escaping() {
        assert_eq!(escape_property("dir/a,b:c%.txt"), "dir/a%2Cb%3Ac%25.txt");
        assert_eq!(escape_property("line\nbreak"), "line%0Abreak");
        assert_eq!(escape_property("::error::"), "%3A%3Aerror%3A%3A");
    }
}

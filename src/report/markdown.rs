//! A Markdown summary for `$GITHUB_STEP_SUMMARY` (or a merge-request comment): a headline, a
//! table of locations, what to do, and any items that could not be scanned.
//!
//! Cells are HTML-escaped inside `<code>` and `|` is encoded, so file content cannot break the
//! table or inject markup. The table is capped (GitHub limits a step summary to 1 MiB); the
//! full list is in the other reports.

use std::io::{self, Write};

use super::{human_bytes, provenance, shown_secret, Report, ReportOptions};

/// Rows shown before the table is cut.
pub const MAX_ROWS: usize = 500;

/// Writes the summary.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let s = &report.stats;
    writeln!(w, "## leakseal")?;
    writeln!(w)?;
    let scanned = format!(
        "{} file{} ({}) scanned{}",
        s.files_scanned,
        if s.files_scanned == 1 { "" } else { "s" },
        human_bytes(s.bytes_scanned),
        report.git.as_ref().map_or(String::new(), |g| format!(
            " in {} commit{}",
            g.commits,
            if g.commits == 1 { "" } else { "s" }
        ))
    );
    let n = report.findings.len();
    if n == 0 {
        writeln!(w, ":white_check_mark: **No secrets found** — {scanned}.")?;
    } else {
        writeln!(
            w,
            ":x: **{n} secret{} found** at {} location{} — {scanned}.",
            if n == 1 { "" } else { "s" },
            report.locations(),
            if report.locations() == 1 { "" } else { "s" }
        )?;
        writeln!(w)?;
        // A commit column only for git scans.
        let git = report
            .findings
            .iter()
            .any(|f| f.locations.iter().any(|l| provenance(f, l).is_some()));
        if git {
            writeln!(w, "| Rule | Confidence | Location | Secret | Fingerprint | Commit |")?;
            writeln!(w, "|---|---|---|---|---|---|")?;
        } else {
            writeln!(w, "| Rule | Confidence | Location | Secret | Fingerprint |")?;
            writeln!(w, "|---|---|---|---|---|")?;
        }
        let mut rows = 0;
        'all: for f in &report.findings {
            for loc in &f.locations {
                if rows == MAX_ROWS {
                    break 'all;
                }
                rows += 1;
                let p = loc.position;
                write!(
                    w,
                    "| {} {} | {} | {} | {} | {} |",
                    code(&f.rule_id),
                    cell(&f.description),
                    f.confidence.as_str(),
                    code(&format!("{}:{}:{}", loc.path, p.line, p.column)),
                    code(&shown_secret(f, opts)),
                    code(&f.fingerprint[..f.fingerprint.len().min(12)]),
                )?;
                if git {
                    write!(w, " {} |", provenance(f, loc).map_or(String::new(), |note| cell(&note)))?;
                }
                writeln!(w)?;
            }
        }
        if rows < report.locations() {
            writeln!(w)?;
            writeln!(
                w,
                "… and {} more location{} (see the SARIF or JSON report).",
                report.locations() - rows,
                if report.locations() - rows == 1 { "" } else { "s" }
            )?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "**What to do:** rotate each secret first (once pushed, deleting it does not make it secret again), \
             then remove it from the code. A value that is not a secret can be marked with `leakseal:allow` on its \
             line or allowlisted in `.leakseal.toml`."
        )?;
    }
    if !report.errors.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            ":warning: **{} item{} could not be scanned:**",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        )?;
        writeln!(w)?;
        for e in &report.errors {
            writeln!(w, "- {}: {}", code(&e.path), cell(&e.message))?;
        }
    }
    Ok(())
}

/// Text in a table cell: HTML-escaped, `|` encoded, one line.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Code-formatted text in a table cell. `<code>` rather than backticks, so that any content
/// (backticks, pipes) is shown literally.
fn code(s: &str) -> String {
    format!("<code>{}</code>", cell(s))
}

#[cfg(test)]
mod tests {
    use super::{cell, code};

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(code("a|b<c>`d`"), "<code>a&#124;b&lt;c&gt;&#96;d&#96;</code>");
        assert_eq!(cell("x | *y*\nz"), "x &#124; \\*y\\* z");
    }
}

//! JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure Pipelines): one
//! failing test case per location, one erroring test case per item that could not be scanned,
//! and a single passing case when nothing was found, so that the report is never empty.
//!
//! Text is XML-escaped and characters XML 1.0 forbids are replaced; nothing here decides
//! redaction.

use std::io::{self, Write};

use super::{context_line, provenance, shown_secret, ContextView, Report, ReportOptions};

/// Writes the JUnit report.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let contexts = ContextView::new(report, opts);
    let failures = report.locations();
    let errors = report.errors.len();
    let tests = (failures + errors).max(1);
    let time = format!("{:.3}", report.duration.as_secs_f64());
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="leakseal" tests="{tests}" failures="{failures}" errors="{errors}" time="{time}">"#
    )?;
    writeln!(
        w,
        r#"  <testsuite name="leakseal" tests="{tests}" failures="{failures}" errors="{errors}" skipped="0" time="{time}">"#
    )?;
    for f in &report.findings {
        for loc in &f.locations {
            let p = loc.position;
            let name = format!("{} in {}:{}", f.rule_id, loc.path, p.line);
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}" file="{}" line="{}">"#,
                escape(&name),
                escape(&format!("leakseal.{}", f.rule_id)),
                escape(&loc.path),
                p.line
            )?;
            let message = format!("{}: secret {}", f.description, shown_secret(f, opts));
            let mut body = format!(
                "{}:{}:{}: {} ({}, {} confidence)\nsecret: {}\nfingerprint: {}\n",
                loc.path,
                p.line,
                p.column,
                f.description,
                f.rule_id,
                f.confidence.as_str(),
                shown_secret(f, opts),
                f.fingerprint
            );
            let context = context_line(&contexts, loc);
            if !context.is_empty() {
                body.push_str(&format!("context: {context}\n"));
            }
            if let Some(note) = provenance(f, loc) {
                body.push_str(&format!("{note}\n"));
            }
            writeln!(
                w,
                r#"      <failure message="{}" type="{}">{}</failure>"#,
                escape(&message),
                escape(&f.rule_id),
                escape(&body)
            )?;
            writeln!(w, "    </testcase>")?;
        }
    }
    for e in &report.errors {
        writeln!(
            w,
            r#"    <testcase name="{}" classname="leakseal.scan-error">"#,
            escape(&format!("could not scan {}", e.path))
        )?;
        writeln!(w, r#"      <error message="{}"/>"#, escape(&e.message))?;
        writeln!(w, "    </testcase>")?;
    }
    if failures + errors == 0 {
        writeln!(
            w,
            r#"    <testcase name="no secrets found" classname="leakseal" time="{time}"/>"#
        )?;
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")
}

/// Escapes text for XML attributes and content; characters XML 1.0 does not allow (most
/// control characters) become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn xml_escaping() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
        assert_eq!(escape("bell\u{7}tab\t"), "bell\u{FFFD}tab\t");
    }
}

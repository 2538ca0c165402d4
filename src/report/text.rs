//! The human report: findings grouped by rule and secret, each location with a trimmed,
//! redacted line of context. Colour only when decided at start-up.

use std::io::{self, Write};

use colored::Colorize;

use super::{shown_secret, ContextView, Report, ReportOptions};

/// Writes the text report. An empty report writes nothing (the summary line says it all).
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    colored::control::set_override(opts.color);
    let contexts = ContextView::new(report, opts);
    for f in &report.findings {
        writeln!(
            w,
            "{}  {}  [{} severity, {} confidence]  secret {}  fingerprint {}",
            f.rule_id.red().bold(),
            f.description,
            f.severity.as_str(),
            f.confidence.as_str(),
            shown_secret(f, opts).yellow(),
            &f.fingerprint[..12]
        )?;
        if let Some(k) = &f.kms {
            writeln!(w, "  {}", k.summary())?;
        }
        if let Some(h) = &f.history {
            let state = if h.present_at_head {
                "still present at HEAD".to_string()
            } else {
                "removed from HEAD but still in history: rotate it".to_string()
            };
            writeln!(
                w,
                "  {state}; added in {} commit{}",
                h.commits,
                if h.commits == 1 { "" } else { "s" }
            )?;
        }
        for loc in &f.locations {
            let p = loc.position;
            write!(w, "  {}", format!("{}:{}:{}", loc.path, p.line, p.column).cyan())?;
            if let Some(v) = &loc.via {
                write!(w, " ({})", v.label())?;
            }
            if let Some(c) = &loc.commit {
                write!(
                    w,
                    "  commit {} {} {} <{}>: {}",
                    &c.sha[..c.sha.len().min(12)],
                    c.date,
                    c.author,
                    c.email,
                    c.summary
                )?;
            }
            writeln!(w)?;
            let (before, secret, after) = contexts.parts(loc);
            if !(before.is_empty() && secret.is_empty() && after.is_empty()) {
                writeln!(w, "    {}{}{}", before, secret.yellow(), after)?;
            }
        }
        writeln!(w)?;
    }
    colored::control::unset_override();
    Ok(())
}

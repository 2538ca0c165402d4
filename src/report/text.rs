//! The human report: findings grouped by rule and secret, each location with a trimmed,
//! redacted line of context. Colour only when decided at start-up.

use std::io::{self, Write};

use colored::Colorize;

use super::{shown_part, shown_secret, Report, ReportOptions};

/// Writes the text report. An empty report writes nothing (the summary line says it all).
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    colored::control::set_override(opts.color);
    for f in &report.findings {
        writeln!(
            w,
            "{}  {}  [{}]  secret {}  fingerprint {}",
            f.rule_id.red().bold(),
            f.description,
            f.confidence.as_str(),
            shown_secret(f, opts).yellow(),
            &f.fingerprint[..12]
        )?;
        for loc in &f.locations {
            let p = loc.position;
            writeln!(w, "  {}", format!("{}:{}:{}", loc.path, p.line, p.column).cyan())?;
            let c = &loc.context.0;
            if !(c.before.is_empty() && c.secret.is_empty() && c.after.is_empty()) {
                writeln!(w, "    {}{}{}", c.before, shown_part(&c.secret, opts).yellow(), c.after)?;
            }
        }
        writeln!(w)?;
    }
    colored::control::unset_override();
    Ok(())
}

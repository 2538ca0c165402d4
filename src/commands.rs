//! The commands behind the CLI. Each takes validated configuration and returns an
//! `ExitStatus`; printing errors and exiting is `main`'s job.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use crate::config::ScanConfig;
use crate::exit::ExitStatus;
use crate::finding::group;
use crate::messages::{io_reason, UserError};
use crate::report::{self, Report, ReportOptions};
use crate::rules::check::{check, Strictness};
use crate::rules::Ruleset;
use crate::source::{self, ItemError};

/// Runs a file/stdin scan and returns the report (no output is written).
pub fn scan(cfg: &ScanConfig) -> Report {
    let started = Instant::now();
    let out = if cfg.threads > 0 {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .thread_name(|i| format!("leakseal-scan-{i}"))
            .build()
        {
            Ok(pool) => pool.install(|| source::files::scan(cfg)),
            Err(_) => source::files::scan(cfg),
        }
    } else {
        source::files::scan(cfg)
    };
    let mut errors = out.errors;
    errors.extend(out.problems.into_iter().map(|p| ItemError {
        path: cfg.rules.origin.clone(),
        message: p.0,
    }));
    Report {
        findings: group(out.matches, &cfg.rules, &cfg.salt),
        stats: out.stats,
        errors,
        duration: started.elapsed(),
    }
}

/// `leakseal scan`: scan, write the report, print errors and the summary.
pub fn scan_command(cfg: &ScanConfig) -> Result<ExitStatus, UserError> {
    let report = scan(cfg);
    let opts = ReportOptions::from(&cfg.output);
    let written = match &cfg.output.path {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| UserError::new(format!("{}: cannot write report: {}", path.display(), io_reason(&e))))?;
            let mut w = BufWriter::new(file);
            report::write(&report, cfg.output.format, opts, &mut w)
                .and_then(|_| w.flush())
                .map_err(|e| UserError::new(format!("{}: cannot write report: {}", path.display(), io_reason(&e))))?;
            true
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            match report::write(&report, cfg.output.format, opts, &mut w).and_then(|_| w.flush()) {
                Ok(()) => true,
                // The reader went away (`| head`): stop quietly.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
                Err(e) => {
                    return Err(UserError::new(format!(
                        "stdout: cannot write report: {}",
                        io_reason(&e)
                    )))
                }
            }
        }
    };
    let mut err = io::stderr().lock();
    for e in &report.errors {
        let _ = writeln!(err, "error: {}: {}", e.path, e.message);
    }
    if written && !cfg.output.quiet {
        let _ = writeln!(err, "{}", report::summary_line(&report));
    }
    Ok(if !report.errors.is_empty() {
        ExitStatus::Error
    } else if report.findings.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}

/// `leakseal rules check`: prints problems; `Findings` when there are any.
pub fn rules_check(rules: &Ruleset, strictness: Strictness) -> ExitStatus {
    let problems = check(rules, strictness);
    let mut out = io::stdout().lock();
    for p in &problems {
        let _ = writeln!(out, "{p}");
    }
    let _ = writeln!(
        io::stderr().lock(),
        "leakseal: checked {} rule{} from {}: {} problem{}",
        rules.rules.len(),
        if rules.rules.len() == 1 { "" } else { "s" },
        rules.origin,
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    if problems.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    }
}

/// `leakseal rules list`.
pub fn rules_list(rules: &Ruleset) -> ExitStatus {
    let mut out = io::stdout().lock();
    for r in &rules.rules {
        let kw = if r.keywords.is_empty() {
            "-".to_string()
        } else {
            r.keywords.join(",")
        };
        if writeln!(out, "{}\t{}\t{}\t{}", r.id, r.confidence.as_str(), kw, r.description).is_err() {
            break;
        }
    }
    ExitStatus::Clean
}

//! The commands behind the CLI. Each takes validated configuration and returns an
//! `ExitStatus`; printing errors and exiting is `main`'s job.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use crate::config::ScanConfig;
use crate::exit::ExitStatus;
use crate::finding::{group, HistoryInfo};
use crate::messages::{io_reason, UserError};
use crate::report::{self, Report, ReportOptions};
use crate::rules::check::{check, Strictness};
use crate::rules::Ruleset;
use crate::source::git::{self, GitMode, GitStats, HistoryMap};
use crate::source::{self, ItemError};

/// What a source gives: its matches and counts, git's figures, history per secret.
type Scanned = (source::SourceOutput, Option<GitStats>, Option<HistoryMap>);

/// Runs a scan (files, stdin or git, as configured) and returns the report; writes nothing.
/// Errors are what stops a scan from starting (a missing repository, a bad range); problems
/// with single items are in the report.
pub fn scan(cfg: &ScanConfig) -> Result<Report, UserError> {
    let started = Instant::now();
    // A staged change, stdin or a few named files: build the keyword automaton for start-up.
    let small = match &cfg.git {
        Some(GitMode::Staged) => true,
        Some(_) => false,
        None => {
            cfg.paths.len() <= 16
                && cfg.paths.iter().all(|p| {
                    p.as_os_str() == "-" || std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 1 << 20)
                })
        }
    };
    if small {
        cfg.rules.expect_small_input();
    }
    let scan_source = || -> Result<Scanned, UserError> {
        match &cfg.git {
            None => Ok((source::files::scan(cfg), None, None)),
            Some(mode) => {
                let out = git::scan(&git::GitScan {
                    repo: &cfg.paths[0],
                    mode,
                    rules: &cfg.rules,
                    max_file_size: cfg.max_file_size,
                    decode_depth: cfg.decode_depth,
                    progress: cfg.output.progress && !matches!(mode, GitMode::Staged),
                })?;
                Ok((out.output, Some(out.stats), out.history))
            }
        }
    };
    // Grouping runs in the scan's thread pool too: its sorts are parallel.
    let run = || -> Result<(Scanned, Vec<crate::finding::Finding>), UserError> {
        let (mut out, stats, history) = scan_source()?;
        let findings = group(std::mem::take(&mut out.matches), &cfg.rules, &cfg.salt);
        Ok(((out, stats, history), findings))
    };
    let ((out, git_stats, history), mut findings) = if cfg.threads > 0 {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .thread_name(|i| format!("leakseal-scan-{i}"))
            .build()
        {
            Ok(pool) => pool.install(run)?,
            Err(_) => run()?,
        }
    } else {
        run()?
    };
    let mut errors = out.errors;
    errors.extend(out.problems.into_iter().map(|p| ItemError {
        path: cfg.rules.origin.clone(),
        message: p.0,
    }));
    // What is not reported stays known, so that its secrets are redacted in the context lines
    // of what is (a baselined secret beside a reported one on the same line).
    let mut withheld = Vec::new();
    if findings.iter().any(|f| f.confidence < cfg.min_confidence) {
        (findings, withheld) = findings.into_iter().partition(|f| f.confidence >= cfg.min_confidence);
    }
    if let Some(history) = history {
        annotate_history(&mut findings, &history, &cfg.rules);
    }
    if cfg.suppress.is_active() {
        withheld.extend(findings.iter().cloned());
    }
    let suppression = crate::baseline::apply(cfg, &mut findings);
    Ok(Report {
        findings,
        stats: out.stats,
        errors,
        duration: started.elapsed(),
        git: git_stats,
        staged: matches!(cfg.git, Some(GitMode::Staged)),
        suppression,
        withheld,
        rules: Some(cfg.rules.clone()),
    })
}

/// History findings: one location per path (its earliest, introducing occurrence), how many
/// commits carried the secret in, and whether HEAD still has it.
fn annotate_history(findings: &mut [crate::finding::Finding], history: &HistoryMap, rules: &Ruleset) {
    for f in findings.iter_mut() {
        let Some(idx) = rules.rules.iter().position(|r| *r.id == *f.rule_id) else {
            continue;
        };
        let (at_head, commits) = history
            .get(&(idx as u32, f.secret.expose().to_vec()))
            .copied()
            .unwrap_or_default();
        f.history = Some(HistoryInfo {
            commits,
            present_at_head: at_head,
        });
        // Earliest commit first, then keep the first location per path.
        f.locations.sort_by_key(|l| {
            (
                l.commit.as_ref().map_or(u64::MAX, |c| c.order),
                l.path.clone(),
                l.position,
            )
        });
        let mut seen = std::collections::HashSet::new();
        f.locations.retain(|l| seen.insert(l.path.clone()));
    }
}

/// `leakseal scan`: scan, write the report, print errors and the summary.
pub fn scan_command(cfg: &ScanConfig) -> Result<ExitStatus, UserError> {
    let report = scan(cfg)?;
    let opts = ReportOptions::from(&cfg.output);
    let written = write_main_report(&report, cfg.output.format, opts, cfg.output.path.as_deref())?;
    // Additional reports (`--report`, `--output-sarif`, ...) are files, never coloured.
    let file_opts = ReportOptions { color: false, ..opts };
    for (format, path) in &cfg.output.reports {
        write_report_file(&report, *format, file_opts, path)?;
    }
    let mut err = io::stderr().lock();
    let mut formats = vec![cfg.output.format];
    for (f, _) in &cfg.output.reports {
        if !formats.contains(f) {
            formats.push(*f);
        }
    }
    for format in formats {
        for warning in report::warnings(&report, format) {
            let _ = writeln!(err, "warning: {warning}");
        }
    }
    for e in &report.errors {
        let _ = writeln!(err, "error: {}: {}", e.path, e.message);
    }
    if written && !cfg.output.quiet {
        let _ = writeln!(err, "{}", report::summary_line(&report));
    }
    if cfg.stats {
        let _ = writeln!(err, "{}", report::stats_line(&report));
    }
    if report.staged && !report.findings.is_empty() && !cfg.exit.zero_on_findings {
        let _ = write!(
            err,
            "{}",
            report::blocked_commit_message(&report, cfg.output.show_secrets)
        );
    }
    drop(err);
    let unused_fail = crate::baseline::finish(cfg, &report)?;
    let status = if !report.errors.is_empty() {
        ExitStatus::Error
    } else if report.findings.is_empty() && !unused_fail {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    };
    // The process ends next: freeing thousands of findings one by one would only delay it.
    std::mem::forget(report);
    Ok(status)
}

/// Writes `report` in `format` to the file `path`.
/// Writes the main report to `path` or stdout. `Ok(false)`: stdout's reader went away
/// (`| head`), so the caller stops quietly.
pub(crate) fn write_main_report(
    report: &Report,
    format: crate::cli::Format,
    opts: ReportOptions,
    path: Option<&std::path::Path>,
) -> Result<bool, UserError> {
    if let Some(path) = path {
        write_report_file(report, format, opts, path)?;
        return Ok(true);
    }
    let mut w = BufWriter::new(io::stdout().lock());
    match report::write(report, format, opts, &mut w).and_then(|_| w.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(UserError::new(format!(
            "stdout: cannot write report: {}",
            io_reason(&e)
        ))),
    }
}

fn write_report_file(
    report: &Report,
    format: crate::cli::Format,
    opts: ReportOptions,
    path: &std::path::Path,
) -> Result<(), UserError> {
    let cannot = |e: io::Error| UserError::new(format!("{}: cannot write report: {}", path.display(), io_reason(&e)));
    let file = File::create(path).map_err(cannot)?;
    let mut w = BufWriter::new(file);
    report::write(report, format, opts, &mut w)
        .and_then(|_| w.flush())
        .map_err(cannot)
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

/// `leakseal rules explain ID`.
pub fn rules_explain(rules: &Ruleset, id: &str) -> Result<ExitStatus, UserError> {
    let Some(r) = rules.rule(id) else {
        return Err(UserError::new(format!("no rule with id '{id}' in {}", rules.origin))
            .hint("`leakseal rules list` shows the ids"));
    };
    let mut t = String::new();
    t.push_str(&format!("{}\n  {}\n", r.id, r.description));
    t.push_str(&format!("  confidence: {}\n", r.confidence.as_str()));
    t.push_str(&format!("  severity: {}\n", r.severity.as_str()));
    if !r.tags.is_empty() {
        t.push_str(&format!("  tags: {}\n", r.tags.join(", ")));
    }
    t.push_str(&format!("  defined in: {}:{}\n", r.source.file, r.source.line));
    t.push_str(&format!(
        "  keywords: {}\n",
        if r.keywords.is_empty() {
            "(none: runs on every file)".into()
        } else {
            r.keywords.join(", ")
        }
    ));
    if let Some(re) = &r.regex {
        t.push_str(&format!("  regex: {}\n", re.source));
        let idx = rules.rules.iter().position(|x| x.id == r.id).unwrap_or(0);
        match rules.window_lines(idx) {
            Some(n) => t.push_str(&format!(
                "  searched: the line of each keyword hit and {n} lines around it\n"
            )),
            None => t.push_str("  searched: whole files containing a keyword (matches may span many lines)\n"),
        }
    }
    if let Some(p) = &r.path {
        t.push_str(&format!("  path: {}\n", p.source));
    }
    if let Some(e) = r.entropy {
        t.push_str(&format!("  minimum entropy: {e}\n"));
    }
    if let Some(v) = r.validate {
        t.push_str(&format!("  structure check: {}\n", v.name()));
    }
    for q in &r.required {
        t.push_str(&format!(
            "  requires: {} (within {} lines)\n",
            rules.rules[q.rule].id,
            q.within_lines.map_or("any".into(), |n| n.to_string())
        ));
    }
    for reference in &r.references {
        t.push_str(&format!("  reference: {reference}\n"));
    }
    // Examples are synthetic, but show them redacted like any secret-shaped text.
    for ex in &r.examples {
        t.push_str(&format!("  example: {}\n", crate::finding::redact_line(ex.parts().1)));
    }
    for ex in &r.negative_examples {
        t.push_str(&format!(
            "  not reported: {}\n",
            crate::finding::redact_line(ex.parts().1)
        ));
    }
    let _ = io::stdout().lock().write_all(t.as_bytes());
    Ok(ExitStatus::Clean)
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

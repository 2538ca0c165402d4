//! `leakseal explain <fingerprint|path:line>`: why a finding is reported or suppressed.
//!
//! The scanner's stages come from `Scanner::explain` on the file; the suppression stages
//! (ignore file, baseline) are checked here. The output ends with the exact lines that would
//! suppress the finding: an ignore-file entry, a baseline line and the inline marker.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{fingerprints, PathMapper, Suppression};
use crate::cli::{BaselineScope, ExplainArgs};
use crate::config::ScanConfig;
use crate::exit::{ExitPolicy, ExitStatus};
use crate::finding::{fingerprint, redact, Finding, Secret};
use crate::messages::{io_reason, UserError};
use crate::scan::{inline_marker, Blob, RuleTrace, Scanner};

/// `leakseal explain`.
pub fn explain_command(args: &ExplainArgs) -> (Result<ExitStatus, UserError>, ExitPolicy) {
    let r = ScanConfig::from_args(&args.scan).and_then(|cfg| explain(&cfg, &args.target));
    (r, ExitPolicy::default())
}

fn is_fingerprint(s: &str) -> bool {
    s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Explains `target` and prints the trace on stdout.
pub fn explain(cfg: &ScanConfig, target: &str) -> Result<ExitStatus, UserError> {
    let text = if is_fingerprint(target) {
        explain_fingerprint(cfg, &target.to_ascii_lowercase())?
    } else {
        let Some((path, line)) = target
            .rsplit_once(':')
            .and_then(|(p, l)| l.parse::<usize>().ok().filter(|&n| n > 0).map(|n| (p, n)))
        else {
            return Err(
                UserError::new(format!("explain: '{target}' is neither a fingerprint nor PATH:LINE"))
                    .hint("e.g. `leakseal explain src/config.py:12` or a fingerprint from a report"),
            );
        };
        explain_line(cfg, path, line)?
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitStatus::Clean)
}

/// A config that reports everything the engine finds (no baseline or ignore filtering).
fn unfiltered(cfg: &ScanConfig) -> ScanConfig {
    let mut c = cfg.clone();
    c.suppress = Suppression::default();
    c.output.progress = false;
    c
}

fn explain_fingerprint(cfg: &ScanConfig, fp: &str) -> Result<String, UserError> {
    let report = crate::commands::scan(&unfiltered(cfg))?;
    let baseline_salt = cfg.suppress.baseline.as_ref().map(|(_, b)| b.salt.clone());
    let found = report.findings.iter().find(|f| {
        fingerprints(f).iter().any(|x| x.starts_with(fp))
            || baseline_salt
                .as_ref()
                .is_some_and(|s| fingerprint(s, &f.rule_id, f.secret.expose()).starts_with(fp))
    });
    let Some(f) = found else {
        return Err(
            UserError::new(format!("explain: no finding with fingerprint {fp} in this scan"))
                .hint("give explain the same paths, git mode and --baseline as the scan that reported it"),
        );
    };
    let loc = &f.locations[0];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fingerprint {} = rule {} + secret {} ({} location{})",
        f.fingerprint,
        f.rule_id,
        shown(f.secret.expose(), cfg.output.show_secrets),
        f.locations.len(),
        if f.locations.len() == 1 { "" } else { "s" }
    );
    let file = disk_path(cfg, &loc.path);
    match file {
        Some(p) => out.push_str(&explain_line(cfg, &p.to_string_lossy(), loc.position.line)?),
        None => {
            // The location is in history only: no file to trace, but suppression still applies.
            let _ = writeln!(
                out,
                "{}:{}: not in the work tree; scanner stages not traced",
                loc.path, loc.position.line
            );
            suppression_trace(cfg, &mut out, &f.rule_id, f.secret.expose(), &loc.path);
        }
    }
    Ok(out)
}

/// The file behind a report path: as given (relative to the current directory), or relative to
/// the project root (git paths).
fn disk_path(cfg: &ScanConfig, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if cfg.git.is_none() && p.is_file() {
        return Some(p.to_path_buf());
    }
    let r = cfg.root.join(p);
    r.is_file().then_some(r)
}

fn shown(secret: &[u8], show: bool) -> String {
    if show {
        String::from_utf8_lossy(secret).into_owned()
    } else {
        Secret::new(secret.to_vec()).redacted()
    }
}

fn explain_line(cfg: &ScanConfig, path: &str, line: usize) -> Result<String, UserError> {
    let fs_path = disk_path(cfg, path).unwrap_or_else(|| PathBuf::from(path));
    let bytes = std::fs::read(&fs_path)
        .map_err(|e| UserError::new(format!("{}: cannot read: {}", fs_path.display(), io_reason(&e))))?;
    let paths = PathMapper {
        git: false,
        ..PathMapper::new(cfg)
    };
    let stored = paths.stored(&fs_path.to_string_lossy());
    let blob = Blob {
        path: &stored,
        bytes: &bytes,
        commit: None,
    };
    let mut scanner = Scanner::new(&cfg.rules);
    let traces = scanner.explain(&blob, line);
    let mut out = String::new();
    let line_text = String::from_utf8_lossy(&bytes)
        .lines()
        .nth(line - 1)
        .map(str::to_string);
    let Some(mut line_text) = line_text else {
        return Err(UserError::new(format!("explain: {stored} has no line {line}")));
    };
    if !cfg.output.show_secrets {
        for c in traces.iter().flat_map(|t| &t.candidates) {
            let s = String::from_utf8_lossy(&c.secret);
            for part in s.split('\n').map(str::trim).filter(|p| !p.is_empty()) {
                line_text = line_text.replace(part, &redact(part));
            }
        }
    }
    let _ = writeln!(out, "{stored}:{line}: {}", line_text.trim());
    if traces.is_empty() {
        let _ = writeln!(
            out,
            "  no rule keyword on this line and no keyword-less rule matches it: nothing to report"
        );
        return Ok(out);
    }
    for t in &traces {
        rule_trace(cfg, &mut out, t, &stored);
    }
    Ok(out)
}

fn rule_trace(cfg: &ScanConfig, out: &mut String, t: &RuleTrace, stored: &str) {
    let rule = &cfg.rules.rules[t.rule as usize];
    let _ = writeln!(out, "\nrule {} — {}", rule.id, rule.description);
    if t.keywords.is_empty() {
        let _ = writeln!(out, "  keyword: none needed (the rule has no keywords)");
    } else {
        let kws: Vec<String> = t.keywords.iter().map(|(k, c)| format!("'{k}' at column {c}")).collect();
        let _ = writeln!(out, "  keyword: {}", kws.join(", "));
    }
    match t.path_ok {
        Some(false) => {
            let _ = writeln!(
                out,
                "  path: the rule's path pattern does not match {stored}: the rule does not run"
            );
            return;
        }
        Some(true) => {
            let _ = writeln!(out, "  path: the rule's path pattern matches");
        }
        None => {}
    }
    if t.candidates.is_empty() {
        let _ = writeln!(out, "  regex: no match whose secret is on this line => not reported");
        return;
    }
    for c in &t.candidates {
        let _ = writeln!(
            out,
            "  regex: match at {}:{}-{}:{}, secret at {}:{}-{}:{}: {}",
            c.match_position.line,
            c.match_position.column,
            c.match_position.end_line,
            c.match_position.end_column,
            c.position.line,
            c.position.column,
            c.position.end_line,
            c.position.end_column,
            shown(&c.secret, cfg.output.show_secrets)
        );
        match c.threshold {
            Some(th) => {
                let _ = writeln!(
                    out,
                    "  entropy: {:.2} bits/byte vs threshold {th}: {}",
                    c.entropy,
                    if c.entropy > th { "passes" } else { "too low => dropped" }
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  entropy: {:.2} bits/byte (the rule sets no threshold)",
                    c.entropy
                );
            }
        }
        if let Some((name, ok)) = c.validate {
            let _ = writeln!(
                out,
                "  structure check {name}: {}",
                if ok { "passes" } else { "fails => dropped" }
            );
        }
        match &c.allowlist {
            Some(a) => {
                let _ = writeln!(out, "  allowlist: allowed by {a} => dropped");
            }
            None => {
                let _ = writeln!(out, "  allowlist: none matches");
            }
        }
        let _ = writeln!(
            out,
            "  inline marker: {}",
            if c.inline { "present => dropped" } else { "none" }
        );
        if !rule.required.is_empty() {
            let req: Vec<&str> = rule
                .required
                .iter()
                .map(|q| cfg.rules.rules[q.rule].id.as_str())
                .collect();
            let _ = writeln!(out, "  composite: also needs {} nearby (not traced)", req.join(", "));
        }
        if !c.reported() {
            let _ = writeln!(out, "  => the scanner drops it: not reported");
            continue;
        }
        suppression_trace(cfg, out, &rule.id, &c.secret, stored);
    }
}

/// Ignore-file and baseline stages for one (rule, secret, path), and how to suppress it.
fn suppression_trace(cfg: &ScanConfig, out: &mut String, rule: &str, secret: &[u8], stored: &str) {
    let s = &cfg.suppress;
    let fp = fingerprint(&cfg.salt, rule, secret);
    let probe = Finding {
        rule_id: rule.into(),
        description: "".into(),
        confidence: crate::rules::Confidence::Low,
        severity: crate::rules::Severity::Low,
        tags: Vec::new().into(),
        secret: Secret::new(secret.to_vec()),
        fingerprint: fp.clone(),
        entropy: 0.0,
        locations: Vec::new(),
        history: None,
        kms: None,
    };
    let fps = fingerprints(&probe);
    let _ = writeln!(out, "  fingerprint: {fp}");
    let mut suppressed_by: Option<String> = None;
    match &s.ignore {
        None => {
            let _ = writeln!(out, "  ignore file: none");
        }
        Some(ign) => {
            let hits: Vec<_> = ign.entries.iter().filter(|e| e.matches(rule, stored, &fps)).collect();
            if hits.is_empty() {
                let _ = writeln!(out, "  ignore file: no entry of {} matches", ign.name);
            }
            for e in hits {
                if e.expired(&s.today) {
                    let _ = writeln!(
                        out,
                        "  ignore file: {}:{} would match ({}) but expired on {}",
                        ign.name,
                        e.line,
                        e.describe(),
                        e.expires.as_deref().unwrap_or("")
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "  ignore file: {}:{} matches ({}; reason: {})",
                        ign.name,
                        e.line,
                        e.describe(),
                        e.reason
                    );
                    suppressed_by.get_or_insert_with(|| format!("{}:{}", ign.name, e.line));
                }
            }
        }
    }
    let mut baseline_line = None;
    match &s.baseline {
        None => {
            let _ = writeln!(out, "  baseline: none given (--baseline FILE)");
        }
        Some((p, b)) => {
            let bfp = b.fingerprint(rule, secret);
            let same_secret: Vec<&super::Entry> = b
                .entries
                .iter()
                .filter(|e| e.rule == rule && e.fingerprint == bfp)
                .collect();
            let at_path = same_secret.iter().any(|e| e.path == stored);
            if at_path || (s.scope == BaselineScope::Secret && !same_secret.is_empty()) {
                let _ = writeln!(
                    out,
                    "  baseline: {} has this secret at {}",
                    p.display(),
                    same_secret[0].path
                );
                suppressed_by.get_or_insert_with(|| p.display().to_string());
            } else if !same_secret.is_empty() {
                let _ = writeln!(
                    out,
                    "  baseline: {} has this secret only at {} (scope path: a new file is reported unless that file is gone)",
                    p.display(),
                    same_secret.iter().map(|e| e.path.as_str()).collect::<Vec<_>>().join(", ")
                );
            } else {
                let _ = writeln!(out, "  baseline: not in {}", p.display());
            }
            let entry = super::Entry {
                path: stored.to_string(),
                rule: rule.to_string(),
                fingerprint: bfp,
            };
            baseline_line = Some((p.clone(), serde_json::to_string(&entry).expect("entry serializes")));
        }
    }
    match &suppressed_by {
        Some(by) => {
            let _ = writeln!(out, "  => suppressed by {by}");
        }
        None => {
            let _ = writeln!(out, "  => reported");
        }
    }
    let _ = writeln!(out, "  to suppress it, add to {}:", super::ignore::FILE_NAME);
    let _ = writeln!(out, "    [[ignore]]");
    let _ = writeln!(out, "    fingerprint = \"{fp}\"");
    let _ = writeln!(out, "    reason = \"<why this is safe>\"");
    if let Some((p, l)) = baseline_line {
        let _ = writeln!(out, "  or add this line to {}:", p.display());
        let _ = writeln!(out, "    {l}");
    } else {
        let _ = writeln!(out, "  or record it in a baseline: leakseal baseline update");
    }
    let _ = writeln!(out, "  or append the inline marker `{}` to the line", inline_marker());
}

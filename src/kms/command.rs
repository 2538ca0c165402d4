//! `leakseal kms check`: arguments -> `KmsConfig` -> check -> the shared reporters and exit codes.

use std::io::{self, IsTerminal, Write};

use crate::cli::{ColorChoice, KmsCheckArgs};
use crate::exit::{ExitPolicy, ExitStatus};
use crate::finding::DEFAULT_SALT;
use crate::messages::UserError;
use crate::report::{self, ReportOptions};

use super::{check, resolve_policy, KmsConfig};

/// Runs `kms check`; returns the status and the exit policy to map it with.
pub fn check_command(args: &KmsCheckArgs) -> (Result<ExitStatus, UserError>, ExitPolicy) {
    let policy = ExitPolicy {
        findings_code: args.exit_code as i32,
        zero_on_findings: args.exit_zero,
    };
    (run(args), policy)
}

fn run(args: &KmsCheckArgs) -> Result<ExitStatus, UserError> {
    let start = args
        .paths
        .first()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(|d| d.to_path_buf()).unwrap_or_default()
            }
        })
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| ".".into());
    let (policy, root) = resolve_policy(args.policy.as_deref(), args.rules.config.as_deref(), &start)?;
    let max_file_size = crate::config::parse_size(&args.max_file_size).ok_or_else(|| {
        UserError::new(format!("--max-file-size: '{}' is not a size", args.max_file_size))
            .hint("use bytes or a K, M or G suffix, e.g. 10M")
    })?;
    let cfg = KmsConfig {
        paths: args.paths.clone(),
        root,
        policy,
        no_ignore: args.no_ignore,
        max_file_size,
        salt: DEFAULT_SALT.to_string(),
    };
    let out = check(&cfg);
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    // Values are never shown in full: a plaintext secret must not reach a CI log.
    let opts = ReportOptions {
        show_secrets: false,
        color,
    };
    let written = crate::commands::write_main_report(&out.report, args.format, opts, args.output.as_deref())?;
    let mut err = io::stderr().lock();
    for w in &out.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    for e in &out.report.errors {
        let _ = writeln!(err, "error: {}: {}", e.path, e.message);
    }
    if written && !args.quiet {
        let errors = out
            .report
            .findings
            .iter()
            .filter(|f| f.kms.as_ref().is_some_and(|k| k.severity == "error"))
            .count();
        let _ = writeln!(
            err,
            "{} ({} error-severity; policy: {})",
            report::summary_line(&out.report),
            errors,
            cfg.policy.origin
        );
    }
    Ok(if !out.report.errors.is_empty() {
        ExitStatus::Error
    } else if out.failed {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

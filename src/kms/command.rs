//! `leakseal kms check` and `leakseal kms learn`: arguments -> `KmsConfig` (+ the KMS client
//! in online mode) -> check -> the shared reporters and exit codes, or the lockfile.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::{ColorChoice, KmsCheckArgs, KmsLearnArgs, KmsSourceArgs};
use crate::exit::{ExitPolicy, ExitStatus};
use crate::finding::DEFAULT_SALT;
use crate::messages::UserError;
use crate::report::{self, ReportOptions};

use super::lockfile::{self, Lockfile};
use super::online;
use super::{check_with, resolve_policy, KmsConfig};

/// Runs `kms check`; returns the status and the exit policy to map it with.
pub fn check_command(args: &KmsCheckArgs) -> (Result<ExitStatus, UserError>, ExitPolicy) {
    let policy = ExitPolicy {
        findings_code: args.exit_code as i32,
        zero_on_findings: args.exit_zero,
    };
    (run(args), policy)
}

/// Runs `kms learn`.
pub fn learn_command(args: &KmsLearnArgs) -> (Result<ExitStatus, UserError>, ExitPolicy) {
    (learn(args), ExitPolicy::default())
}

/// The validated configuration, the lockfile path, and whether to go online.
fn configure(src: &KmsSourceArgs) -> Result<(KmsConfig, PathBuf, bool), UserError> {
    let start = src
        .paths
        .first()
        .filter(|_| !src.staged)
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(|d| d.to_path_buf()).unwrap_or_default()
            }
        })
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| ".".into());
    let (mut policy, root) = resolve_policy(src.policy.as_deref(), src.rules.config.as_deref(), &start)?;
    let max_file_size = crate::config::parse_size(&src.max_file_size).ok_or_else(|| {
        UserError::new(format!("--max-file-size: '{}' is not a size", src.max_file_size))
            .hint("use bytes or a K, M or G suffix, e.g. 10M")
    })?;
    let lock_path = src
        .lockfile
        .clone()
        .unwrap_or_else(|| root.join(lockfile::DEFAULT_NAME));
    if src.lockfile.is_some() && !lock_path.is_file() {
        return Err(UserError::new(format!("{}: lockfile not found", lock_path.display()))
            .hint("learn one with `leakseal kms learn --online`, or drop --lockfile"));
    }
    policy.add_learned(&Lockfile::read(&lock_path).map_err(UserError::new)?);
    let online = src.online || policy.online;
    let cfg = KmsConfig {
        paths: src.paths.clone(),
        root,
        policy,
        no_ignore: src.no_ignore,
        max_file_size,
        salt: DEFAULT_SALT.to_string(),
        staged: src.staged,
    };
    Ok((cfg, lock_path, online))
}

fn run(args: &KmsCheckArgs) -> Result<ExitStatus, UserError> {
    let (cfg, _, online) = configure(&args.source)?;
    let client = online.then(online::verifier_from_env).transpose()?;
    let out = check_with(&cfg, client.as_deref());
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
        let online_note = client
            .as_ref()
            .map(|c| format!("; {} blob(s) checked online at {}", out.online_checked, c.endpoint()))
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "{} ({} error-severity; policy: {}{online_note})",
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

fn learn(args: &KmsLearnArgs) -> Result<ExitStatus, UserError> {
    if !args.source.online {
        return Err(UserError::new("kms learn: pins are learned from KMS answers")
            .hint("run `leakseal kms learn --online` with AWS credentials in the environment"));
    }
    let (cfg, lock_path, _) = configure(&args.source)?;
    let client = online::verifier_from_env()?;
    let out = check_with(&cfg, Some(client.as_ref()));
    let mut err = io::stderr().lock();
    for w in &out.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    for e in &out.report.errors {
        let _ = writeln!(err, "error: {}: {}", e.path, e.message);
    }
    for f in &out.report.findings {
        let rejected = f
            .kms
            .as_ref()
            .is_some_and(|k| k.kind.starts_with("online-") && k.kind != "online-verified");
        if !rejected {
            continue;
        }
        for l in &f.locations {
            let _ = writeln!(
                err,
                "warning: {}:{}: not learned: {}",
                l.path, l.position.line, f.description
            );
        }
    }
    let mut lock = Lockfile::read(&lock_path).map_err(UserError::new)?;
    let before = lock.clone();
    for p in &out.learned {
        let _ = writeln!(
            err,
            "learned: {}: key ref {} -> {}",
            p.location,
            &p.key_ref[..12],
            p.key_arn
        );
        lock.pins.insert(p.key_ref.clone(), Some(p.key_arn.clone()));
    }
    if lock != before {
        std::fs::write(&lock_path, lock.render()).map_err(|e| {
            UserError::new(format!(
                "{}: cannot write lockfile: {}",
                lock_path.display(),
                crate::messages::io_reason(&e)
            ))
        })?;
    }
    let _ = writeln!(
        err,
        "{} pin(s) from {} blob(s) checked online at {}; {} now holds {} pin(s)",
        out.learned.len(),
        out.online_checked,
        client.endpoint(),
        lock_path.display(),
        lock.pins.len()
    );
    Ok(if out.report.errors.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    })
}

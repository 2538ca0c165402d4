//! Command-line definitions for baselines, the ignore file and `explain` (declarations only).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::ScanArgs;

/// Baseline and ignore-file options of every scan.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Baseline")]
pub struct SuppressArgs {
    /// Report only findings that are not in this baseline file (with `leakseal baseline`: the
    /// file to create, update or prune; default .leakseal-baseline.jsonl).
    #[arg(long, value_name = "FILE", env = "LEAKSEAL_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Identity of a baseline entry: `path` = (rule, secret, path), so a known secret copied
    /// into another file is reported; `secret` = (rule, secret) anywhere.
    #[arg(long, value_enum, default_value_t = BaselineScope::Path, value_name = "SCOPE")]
    pub baseline_scope: BaselineScope,
    /// Also write every finding of this scan (before --baseline filtering) as a baseline to
    /// FILE, keeping FILE's salt if it is already a baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Ignore file (default: .leakseal-ignore.toml at the project root, if present).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// List ignore-file entries that matched nothing (on stderr).
    #[arg(long)]
    pub report_unused: bool,
    /// Like --report-unused, and unused entries count as findings for the exit code.
    #[arg(long)]
    pub fail_on_unused: bool,
}

/// `--baseline-scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BaselineScope {
    /// (rule, secret, path): a known secret in a new file is reported (a file that was renamed
    /// or deleted hands its entries on to the new path).
    #[default]
    Path,
    /// (rule, secret): a known secret is suppressed in any file.
    Secret,
}

/// `leakseal baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan and write a new baseline (fresh salt) with every finding.
    Create {
        /// Replace an existing baseline (and its salt: other branches' copies stop merging).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Scan and add new findings to the baseline, keeping every existing entry.
    Update {
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Scan and drop entries that are no longer found (prints how many).
    Prune {
        #[command(flatten)]
        scan: ScanArgs,
    },
    /// Convert a .gitleaksignore, a gitleaks JSON report or a detect-secrets .secrets.baseline
    /// into entries of our baseline (scans to find the secrets they name).
    Import {
        /// The foreign file.
        #[arg(value_name = "FILE")]
        foreign: PathBuf,
        /// Its format (default: detected from the content).
        #[arg(long, value_enum, value_name = "FORMAT")]
        from: Option<ForeignFormat>,
        #[command(flatten)]
        scan: ScanArgs,
    },
}

/// Formats `baseline import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForeignFormat {
    /// `.gitleaksignore`: `[commit:]file:rule:line` per line.
    Gitleaksignore,
    /// A gitleaks JSON report (`gitleaks detect -f json`).
    GitleaksJson,
    /// A detect-secrets `.secrets.baseline`.
    DetectSecrets,
}

/// `leakseal explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A finding's fingerprint, or `path:line`.
    #[arg(value_name = "FINGERPRINT|PATH:LINE")]
    pub target: String,
    #[command(flatten)]
    pub scan: ScanArgs,
}

//! Command-line definitions (clap). Declarations only: resolving them into a `ScanConfig`
//! happens in `config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod baseline;
pub use baseline::{BaselineCommand, BaselineScope, ExplainArgs, ForeignFormat, SuppressArgs};

/// leakseal: find secrets in files, staged changes and git history.
#[derive(Debug, Parser)]
#[command(name = "leakseal", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the scan variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (default: the current directory), or `-` for stdin.
    Scan(ScanArgs),
    /// Inspect and lint rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Install leakseal as the repository's git pre-commit (or pre-push) hook, for users
    /// without the pre-commit framework.
    InstallHook(InstallHookArgs),
    /// The encryption checker: values that must be encrypted are genuine ciphertexts (AWS KMS
    /// blobs, SOPS, …), not plaintext, truncated copies, look-alikes or placeholders.
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Create, update, prune or import a baseline of known findings.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Why a finding is (or is not) reported, and the line that would suppress it.
    Explain(ExplainArgs),
}

#[derive(Debug, Subcommand)]
pub enum KmsCommand {
    /// Check config files against the encryption policy ([kms] in .leakseal.toml, or the
    /// built-in default policy). Offline unless --online: nothing is sent anywhere.
    Check(KmsCheckArgs),
    /// Learn key reference pins from KMS (--online) and write them to the lockfile, for later
    /// offline wrong-key checks.
    Learn(KmsLearnArgs),
}

/// Where `kms check` / `kms learn` look, and how online mode reaches KMS.
#[derive(Debug, Args)]
pub struct KmsSourceArgs {
    /// Files or directories to check (with --staged: limit the staged files to these).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Policy file (the [kms] schema at top level), instead of the config's [kms] section.
    #[arg(long, value_name = "FILE", help_heading = "Policy")]
    pub policy: Option<PathBuf>,
    /// Key reference lockfile written by `kms learn` [default: .leakseal-kms.lock at the
    /// project root].
    #[arg(long, value_name = "FILE", help_heading = "Policy")]
    pub lockfile: Option<PathBuf>,
    /// Check the staged files (git index against HEAD) instead of the work tree: the
    /// pre-commit hook.
    #[arg(long, help_heading = "Files")]
    pub staged: bool,
    /// Check files that .gitignore and .ignore files would skip.
    #[arg(long, help_heading = "Files")]
    pub no_ignore: bool,
    /// Skip files larger than this (bytes; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "10M", help_heading = "Files")]
    pub max_file_size: String,
    /// Confirm each AWS KMS blob with KMS ReEncrypt to its keyset's key (no plaintext leaves
    /// KMS). Needs a build with the `online` feature and AWS credentials, region (and
    /// optionally endpoint) in the standard AWS_* environment variables.
    #[arg(long, help_heading = "Online")]
    pub online: bool,
}

#[derive(Debug, Args)]
pub struct KmsLearnArgs {
    #[command(flatten)]
    pub source: KmsSourceArgs,
}

#[derive(Debug, Args)]
pub struct KmsCheckArgs {
    #[command(flatten)]
    pub source: KmsSourceArgs,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,
    /// No summary line on stderr.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,
    /// Exit code when error-severity findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Exit")]
    pub exit_code: u8,
    /// Exit 0 even when findings are reported (errors still exit 2).
    #[arg(long, help_heading = "Exit")]
    pub exit_zero: bool,
}

#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// Repository to install into.
    #[arg(value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// Install the pre-push hook (scans the pushed commits) instead of pre-commit.
    #[arg(long)]
    pub pre_push: bool,
    /// Replace an existing hook that leakseal did not write (it is kept as <hook>.bak).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Lint a rule file (or the built-in rules): ids, regexes, keywords, and every example run
    /// through the full scanner.
    Check {
        /// Rule or config file to check; the embedded default rules when omitted.
        file: Option<PathBuf>,
        /// Hold FILE to the built-in rules' standard: two positive and two negative examples,
        /// a description and references for every rule.
        #[arg(long)]
        strict: bool,
    },
    /// List the rules in effect: id, confidence, keywords, description.
    List {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Show one rule: description, confidence, references, keywords, pattern and examples.
    Explain {
        /// The rule id.
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
}

/// Where rules come from.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Rules")]
pub struct RuleArgs {
    /// Config or rule file (gitleaks v8 TOML). Default: .leakseal.toml, then .gitleaks.toml at
    /// the scan root or above it in the repository, then the embedded rules.
    #[arg(long, short = 'c', env = "LEAKSEAL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Scan files that .gitignore and .ignore files would skip.
    #[arg(long, help_heading = "Files")]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(long, short = 'L', help_heading = "Files")]
    pub follow: bool,
    /// Skip paths matching this glob (gitignore syntax; repeatable).
    #[arg(long, value_name = "GLOB", help_heading = "Files")]
    pub exclude: Vec<String>,
    /// Skip files larger than this (bytes; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "10M", help_heading = "Files")]
    pub max_file_size: String,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", help_heading = "Files")]
    pub threads: Option<usize>,
    /// Levels of nested base64 / hex / percent encoding to decode and scan (0: none).
    #[arg(long, value_name = "N", default_value_t = crate::scan::DEFAULT_DECODE_DEPTH, help_heading = "Files")]
    pub decode_depth: usize,

    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Also write a report in FORMAT to FILE, besides the main one (repeatable), e.g.
    /// `--report sarif=results.sarif --report markdown=summary.md`.
    #[arg(long, value_name = "FORMAT=FILE", help_heading = "Output")]
    pub report: Vec<String>,
    /// Also write a SARIF report to FILE (same as `--report sarif=FILE`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub output_sarif: Option<PathBuf>,
    /// Also write a JSON report to FILE (same as `--report json=FILE`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub output_json: Option<PathBuf>,
    /// Also write a JUnit XML report to FILE (same as `--report junit=FILE`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub output_junit: Option<PathBuf>,
    /// Print secrets in full instead of redacted.
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,
    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value_t = MinConfidence::Low, value_name = "LEVEL", help_heading = "Output")]
    pub min_confidence: MinConfidence,
    /// No summary line on stderr.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    /// Exit code when findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Exit")]
    pub exit_code: u8,
    /// Exit 0 even when findings are reported (errors still exit 2).
    #[arg(long, help_heading = "Exit")]
    pub exit_zero: bool,

    /// Scan the staged change (index vs HEAD): the pre-commit hook. Reports only findings on
    /// added lines.
    #[arg(long, group = "git", help_heading = "Git")]
    pub staged: bool,
    /// Scan the commits in BASE..HEAD (e.g. a pull request), reporting what each commit added.
    #[arg(long, value_name = "BASE..HEAD", group = "git", help_heading = "Git")]
    pub range: Option<String>,
    /// Scan the commits after REV up to HEAD (same as --range REV..HEAD).
    #[arg(long, value_name = "REV", group = "git", help_heading = "Git")]
    pub since_commit: Option<String>,
    /// Scan the range being pushed, from PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF (the
    /// pre-commit framework's pre-push stage).
    #[arg(long, group = "git", help_heading = "Git")]
    pub pre_push: bool,
    /// Scan every blob reachable from any ref (branches, tags, remotes, notes, stash), each
    /// unique blob once.
    #[arg(long, group = "git", help_heading = "Git")]
    pub history: bool,
    /// With --history: also scan blobs that no ref reaches (dangling, unreachable).
    #[arg(long, requires = "history", help_heading = "Git")]
    pub all_objects: bool,
    /// With --history: read every blob whole through libgit2 instead of leakseal's pack reader
    /// (which inflates each object once and searches deltas only in their new bytes). Same
    /// findings, slower; for comparison and troubleshooting.
    #[arg(long, requires = "history", help_heading = "Git")]
    pub no_pack_reader: bool,
    /// Print scan statistics (commits walked, unique blobs read, duplicates skipped) on stderr.
    #[arg(long, help_heading = "Output")]
    pub stats: bool,

    #[command(flatten)]
    pub suppress: SuppressArgs,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, coloured on a terminal.
    Text,
    /// One JSON document with findings and a summary.
    Json,
    /// One JSON object per finding per line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: one failing test case per location.
    Junit,
    /// Comma-separated values, one row per location.
    Csv,
    /// GitHub Actions workflow commands: an annotation per location.
    Github,
    /// A Markdown summary (for $GITHUB_STEP_SUMMARY or a merge-request comment).
    Markdown,
}

/// `--min-confidence` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

/// `--color` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

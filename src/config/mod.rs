//! CLI arguments + config files -> one validated `ScanConfig`.
//!
//! All fallible resolution happens here, once: finding and loading the config, compiling
//! globs, parsing sizes, deciding colour. Commands then take `&ScanConfig` and cannot fail on
//! configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{ColorChoice, Format, RuleArgs, ScanArgs};
use crate::exit::ExitPolicy;
use crate::finding::DEFAULT_SALT;
use crate::messages::UserError;
use crate::rules::{load, Ruleset};

/// Default `--max-file-size`: large enough for real source and config, small enough to skip
/// dumps and artefacts.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// How the report is written.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub format: Format,
    /// `None` = stdout.
    pub path: Option<PathBuf>,
    pub show_secrets: bool,
    pub color: bool,
    pub quiet: bool,
    /// A progress bar on stderr for long git scans (a terminal, and not `--quiet`).
    pub progress: bool,
    /// Additional reports written besides the main one (`--report`, `--output-sarif`, ...).
    pub reports: Vec<(Format, PathBuf)>,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: Format::Text,
            path: None,
            show_secrets: false,
            color: false,
            quiet: false,
            progress: false,
            reports: Vec::new(),
        }
    }
}

/// Everything a scan needs, validated.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Targets; `-` is stdin.
    pub paths: Vec<PathBuf>,
    /// The project root: allowlist and rule paths are relative to it.
    pub root: PathBuf,
    pub rules: Arc<Ruleset>,
    pub no_ignore: bool,
    pub follow_links: bool,
    /// Globs (gitignore syntax) of paths to skip.
    pub excludes: Vec<String>,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    pub max_file_size: u64,
    /// Levels of nested encodings decoded and scanned (0: none).
    pub decode_depth: usize,
    pub output: OutputConfig,
    pub exit: ExitPolicy,
    /// Salt for fingerprints.
    pub salt: String,
    /// Scan git content instead of files (`paths[0]` names the repository).
    pub git: Option<crate::source::git::GitMode>,
    /// Print statistics on stderr.
    pub stats: bool,
    /// Findings of rules below this confidence are not reported.
    pub min_confidence: crate::rules::Confidence,
    /// Baseline and ignore file (see `baseline`).
    pub suppress: crate::baseline::Suppression,
}

impl ScanConfig {
    /// A config scanning `paths` with the embedded rules and default settings.
    pub fn new(paths: Vec<PathBuf>) -> Result<ScanConfig, UserError> {
        let rules = load::load_default().map_err(|e| UserError::new(e.to_string()))?;
        let root = paths
            .first()
            .map(|p| scan_root(p))
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(ScanConfig {
            paths,
            root,
            rules: Arc::new(rules),
            no_ignore: false,
            follow_links: false,
            excludes: Vec::new(),
            threads: 0,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            decode_depth: crate::scan::DEFAULT_DECODE_DEPTH,
            output: OutputConfig::default(),
            exit: ExitPolicy::default(),
            salt: DEFAULT_SALT.to_string(),
            git: None,
            stats: false,
            min_confidence: crate::rules::Confidence::Low,
            suppress: crate::baseline::Suppression::default(),
        })
    }

    /// Resolves `leakseal scan` arguments.
    pub fn from_args(args: &ScanArgs) -> Result<ScanConfig, UserError> {
        let paths = args.paths.clone();
        let git = git_mode(args)?;
        let start = match &git {
            // Git modes: config and paths are relative to the repository's root, wherever in
            // it the command runs.
            Some(_) => {
                if paths.len() > 1 {
                    return Err(UserError::new("git scans take at most one PATH: the repository"));
                }
                let repo = crate::source::git::open(&paths[0])?;
                crate::source::git::root_of(&repo)
            }
            None => paths
                .first()
                .map(|p| scan_root(p))
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let (rules, root) = resolve_rules(&args.rules, &start)?;
        let max_file_size = parse_size(&args.max_file_size).ok_or_else(|| {
            UserError::new(format!("--max-file-size: '{}' is not a size", args.max_file_size))
                .hint("use bytes or a K, M or G suffix, e.g. 10M")
        })?;
        for g in &args.exclude {
            globset::Glob::new(g).map_err(|e| UserError::new(format!("--exclude: '{g}': {}", e.kind())))?;
        }
        if args.threads == Some(0) {
            return Err(UserError::new("--threads: must be at least 1"));
        }
        let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
        let mut cfg = ScanConfig {
            paths,
            root,
            rules: Arc::new(rules),
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            excludes: args.exclude.clone(),
            threads: args.threads.unwrap_or(0),
            max_file_size,
            decode_depth: args.decode_depth,
            output: OutputConfig {
                format: args.format,
                path: args.output.clone(),
                show_secrets: args.show_secrets,
                color: use_color(args.color, to_terminal),
                quiet: args.quiet,
                progress: !args.quiet && std::io::stderr().is_terminal(),
                reports: extra_reports(args)?,
            },
            exit: ExitPolicy {
                findings_code: args.exit_code as i32,
                zero_on_findings: args.exit_zero,
            },
            salt: DEFAULT_SALT.to_string(),
            git,
            stats: args.stats,
            min_confidence: match args.min_confidence {
                crate::cli::MinConfidence::Low => crate::rules::Confidence::Low,
                crate::cli::MinConfidence::Medium => crate::rules::Confidence::Medium,
                crate::cli::MinConfidence::High => crate::rules::Confidence::High,
            },
            suppress: crate::baseline::Suppression::default(),
        };
        crate::baseline::configure(&mut cfg, &args.suppress)?;
        Ok(cfg)
    }
}

/// The additional reports asked for, in command-line order: `--output-sarif`, `--output-json`,
/// `--output-junit`, then each `--report FORMAT=FILE`. Two reports into one file are an error.
fn extra_reports(args: &ScanArgs) -> Result<Vec<(Format, PathBuf)>, UserError> {
    use clap::ValueEnum;
    let mut out: Vec<(Format, PathBuf)> = Vec::new();
    for (format, path) in [
        (Format::Sarif, &args.output_sarif),
        (Format::Json, &args.output_json),
        (Format::Junit, &args.output_junit),
    ] {
        if let Some(p) = path {
            out.push((format, p.clone()));
        }
    }
    for r in &args.report {
        let bad = || {
            let names: Vec<String> = Format::value_variants()
                .iter()
                .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
                .collect();
            UserError::new(format!("--report: '{r}' is not FORMAT=FILE")).hint(format!(
                "FORMAT is one of {}, e.g. --report sarif=results.sarif",
                names.join(", ")
            ))
        };
        let (name, file) = r.split_once('=').ok_or_else(bad)?;
        let format = Format::from_str(name.trim(), true).map_err(|_| bad())?;
        if file.is_empty() {
            return Err(bad());
        }
        out.push((format, PathBuf::from(file)));
    }
    for (i, (_, p)) in out.iter().enumerate() {
        if out[..i].iter().any(|(_, q)| q == p) || args.output.as_ref() == Some(p) {
            return Err(UserError::new(format!(
                "{}: more than one report would be written to it",
                p.display()
            )));
        }
    }
    Ok(out)
}

/// Colour is decided once: `--color`, then `NO_COLOR`, then whether stdout is a terminal.
fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The directory a target is scanned from: itself, its parent for a file, `.` for stdin.
fn scan_root(p: &Path) -> PathBuf {
    if p.as_os_str() == "-" || p.as_os_str().is_empty() {
        return PathBuf::from(".");
    }
    if p.is_dir() {
        p.to_path_buf()
    } else {
        match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// The config file names looked for, in order.
pub const CONFIG_NAMES: [&str; 2] = [".leakseal.toml", ".gitleaks.toml"];

/// Finds the config: `--config` / `LEAKSEAL_CONFIG`, else `.leakseal.toml` then `.gitleaks.toml`
/// in the scan root or a parent up to the repository root (outside a repository: the scan root
/// only). Returns the rules and the project
/// root that allowlist paths are relative to.
pub fn resolve_rules(args: &RuleArgs, start: &Path) -> Result<(Ruleset, PathBuf), UserError> {
    let start_abs = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    if let Some(cfg) = &args.config {
        if !cfg.is_file() {
            return Err(UserError::new(format!("{}: config file not found", cfg.display()))
                .hint("check --config or LEAKSEAL_CONFIG"));
        }
        let rules = load::load_file(cfg).map_err(|e| UserError::new(e.to_string()))?;
        return Ok((rules, repo_root(&start_abs).unwrap_or(start_abs)));
    }
    // Inside a repository, look from the scan root up to the repository root; outside one,
    // only in the scan root (a stray config in /tmp or $HOME must not apply).
    let top = repo_root(&start_abs);
    let mut dir = Some(start_abs.as_path());
    while let Some(d) = dir {
        for name in CONFIG_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                let rules = load::load_file(&candidate).map_err(|e| UserError::new(e.to_string()))?;
                return Ok((rules, d.to_path_buf()));
            }
        }
        if top.as_deref().is_none_or(|t| t == d) {
            break;
        }
        dir = d.parent();
    }
    let rules = load::load_default().map_err(|e| UserError::new(e.to_string()))?;
    Ok((rules, top.unwrap_or(start_abs)))
}

/// The nearest ancestor (or self) holding `.git`.
fn repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Parses `123`, `64K`, `10M`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// The git mode the arguments ask for, if any.
fn git_mode(args: &ScanArgs) -> Result<Option<crate::source::git::GitMode>, UserError> {
    use crate::source::git::GitMode;
    if args.staged {
        return Ok(Some(GitMode::Staged));
    }
    if args.history {
        return Ok(Some(GitMode::History {
            all_objects: args.all_objects,
            pack_reader: !args.no_pack_reader,
        }));
    }
    if let Some(rev) = &args.since_commit {
        return Ok(Some(GitMode::Range {
            base: Some(rev.clone()),
            head: "HEAD".into(),
        }));
    }
    if let Some(r) = &args.range {
        return parse_range(r).map(Some);
    }
    if args.pre_push {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(from), Some(to)) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) else {
            return Err(
                UserError::new("--pre-push: PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF are not set")
                    .hint("run it from the pre-commit framework's pre-push stage, or use --range BASE..HEAD"),
            );
        };
        // An all-zero "from" is a new branch with no remote counterpart: scan from the root.
        let base = (!from.bytes().all(|b| b == b'0')).then_some(from);
        return Ok(Some(GitMode::Range { base, head: to }));
    }
    Ok(None)
}

/// `BASE..HEAD` (or `BASE..` for HEAD) into a range mode.
fn parse_range(r: &str) -> Result<crate::source::git::GitMode, UserError> {
    let Some((base, head)) = r.split_once("..") else {
        return Err(UserError::new(format!("--range: '{r}' is not BASE..HEAD")).hint("e.g. --range origin/main..HEAD"));
    };
    if base.is_empty() || head.starts_with('.') {
        return Err(UserError::new(format!("--range: '{r}' is not BASE..HEAD")).hint("e.g. --range origin/main..HEAD"));
    }
    let head = if head.is_empty() { "HEAD" } else { head };
    Ok(crate::source::git::GitMode::Range {
        base: Some(base.to_string()),
        head: head.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10M"), Some(10 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }
}

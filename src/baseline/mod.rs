//! Baselines and suppressions: what a scan reports after the engine found it.
//!
//! Two mechanisms, applied in `commands::scan` after findings are grouped (so file, staged,
//! range and history scans behave the same):
//! - the **ignore file** (`ignore`): reviewed entries by fingerprint or path glob, each with a
//!   reason, optional owner and expiry. Applied first; expired entries stop suppressing and say so.
//! - the **baseline** (`file`): every finding known when it was made, identified by a salted hash
//!   of (rule, secret) plus the path. Applied second.
//!
//! Identity never includes a line number: a known secret that moves within its file, or whose
//! surroundings are reformatted, stays suppressed; a new secret on a known line is new. With
//! `--baseline-scope path` (the default) a known secret found in a file the baseline does not
//! list is reported, unless a file the baseline lists for it no longer exists (a rename or
//! move): a copy of a secret is a new exposure, a move is not. `--baseline-scope secret` ignores
//! paths.
//!
//! This module also holds the `baseline` and `explain` commands. It does not scan or report;
//! it filters findings and reads and writes its files.

pub mod explain;
pub mod file;
pub mod ignore;
pub mod import;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{BaselineCommand, BaselineScope, ScanArgs, SuppressArgs};
use crate::config::ScanConfig;
use crate::exit::{ExitPolicy, ExitStatus};
use crate::finding::{fingerprint, Finding, DEFAULT_SALT};
use crate::messages::UserError;
use crate::report::Report;
use crate::source::git::GitMode;

pub use file::{Baseline, Entry};
pub use ignore::{IgnoreEntry, IgnoreFile};

/// Resolved baseline and ignore-file settings of a scan.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    /// `--baseline`: its path and contents.
    pub baseline: Option<(PathBuf, Arc<Baseline>)>,
    pub scope: BaselineScope,
    /// `--write-baseline`: where, and the salt to write with (the file's own if it exists).
    pub write: Option<(PathBuf, String)>,
    pub ignore: Option<Arc<IgnoreFile>>,
    pub report_unused: bool,
    pub fail_on_unused: bool,
    /// `YYYY-MM-DD` (UTC) that expiry dates are compared with.
    pub today: String,
}

impl Suppression {
    pub fn is_active(&self) -> bool {
        self.baseline.is_some() || self.write.is_some() || self.ignore.is_some()
    }
}

/// What suppression did in one scan, for the summary, warnings and the exit code.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Locations dropped by the baseline / by the ignore file.
    pub by_baseline: usize,
    pub by_ignore: usize,
    /// Warnings for stderr (expired entries).
    pub warnings: Vec<String>,
    /// Ignore entries that matched nothing (only with --report-unused / --fail-on-unused).
    pub unused: Vec<String>,
    /// A baseline to write (`--write-baseline`).
    pub write: Option<(PathBuf, Baseline)>,
}

/// Resolves `SuppressArgs` into `cfg.suppress` (and the fingerprint salt). Part of building a
/// `ScanConfig`: every file is read and checked here.
pub fn configure(cfg: &mut ScanConfig, args: &SuppressArgs) -> Result<(), UserError> {
    let mut s = Suppression {
        scope: args.baseline_scope,
        report_unused: args.report_unused || args.fail_on_unused,
        fail_on_unused: args.fail_on_unused,
        today: ignore::today_utc(),
        ..Suppression::default()
    };
    s.ignore = IgnoreFile::discover(args.ignore_file.as_deref(), &cfg.root)?.map(Arc::new);
    if let Some(p) = &args.baseline {
        if !p.is_file() {
            return Err(UserError::new(format!("{}: baseline not found", p.display()))
                .hint("create it with `leakseal baseline create --baseline FILE`"));
        }
        let b = Baseline::read(p)?;
        // Reports then show the fingerprints the baseline and the ignore file use.
        cfg.salt = b.salt.clone();
        s.baseline = Some((p.clone(), Arc::new(b)));
    }
    if let Some(p) = &args.write_baseline {
        let salt = match &s.baseline {
            Some((bp, b)) if bp == p => b.salt.clone(),
            _ if p.is_file() => {
                Baseline::read(p)
                    .map_err(|e| {
                        UserError::new(format!("--write-baseline: {}", e.message))
                            .hint("it exists and is not a baseline; remove it or choose another FILE")
                    })?
                    .salt
            }
            _ => file::random_salt(),
        };
        s.write = Some((p.clone(), salt));
    }
    cfg.suppress = s;
    Ok(())
}

/// Turns location paths into stored paths: repository- (project-) relative, `/`-separated.
pub struct PathMapper {
    git: bool,
    root: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

impl PathMapper {
    pub fn new(cfg: &ScanConfig) -> PathMapper {
        PathMapper {
            git: cfg.git.is_some(),
            root: cfg.root.canonicalize().ok(),
            cwd: std::env::current_dir().ok(),
        }
    }

    /// The stored form of a report path. Git paths already are; file paths are made relative
    /// to the project root when they lie under it.
    pub fn stored(&self, path: &str) -> String {
        if self.git || path == "-" {
            return path.replace('\\', "/");
        }
        let p = Path::new(path);
        let abs = match (&self.cwd, p.is_absolute()) {
            (Some(cwd), false) => cwd.join(p),
            _ => p.to_path_buf(),
        };
        let canon = abs.canonicalize().unwrap_or(abs);
        if let Some(rel) = self.root.as_ref().and_then(|r| canon.strip_prefix(r).ok()) {
            let s = rel.to_string_lossy().replace('\\', "/");
            return if s.is_empty() { ".".into() } else { s };
        }
        path.replace('\\', "/")
    }

    /// Whether a stored path still exists in the work tree (for rename detection).
    fn exists(&self, stored: &str) -> bool {
        self.root.as_ref().is_some_and(|r| r.join(stored).exists())
    }
}

/// Baseline entries for `findings`, under `salt`.
pub fn entries_for(findings: &[Finding], salt: &str, paths: &PathMapper) -> BTreeSet<Entry> {
    let mut out = BTreeSet::new();
    for f in findings {
        let fp = fingerprint(salt, &f.rule_id, f.secret.expose());
        for loc in &f.locations {
            out.insert(Entry {
                path: paths.stored(&loc.path),
                rule: f.rule_id.to_string(),
                fingerprint: fp.clone(),
            });
        }
    }
    out
}

/// Fingerprints of a finding under every salt an ignore entry may have been written with: the
/// scan's (the baseline's, when there is one) and the default.
fn fingerprints(f: &Finding) -> Vec<String> {
    let mut v = vec![f.fingerprint.clone()];
    let d = fingerprint(DEFAULT_SALT, &f.rule_id, f.secret.expose());
    if d != f.fingerprint {
        v.push(d);
    }
    v
}

/// Applies the ignore file, then the baseline, to grouped findings; notes what a
/// `--write-baseline` should contain. Findings whose every location is suppressed disappear.
pub fn apply(cfg: &ScanConfig, findings: &mut Vec<Finding>) -> Outcome {
    let s = &cfg.suppress;
    let mut out = Outcome::default();
    if !s.is_active() {
        return out;
    }
    let paths = PathMapper::new(cfg);
    if let Some(ign) = &s.ignore {
        apply_ignore(ign, &s.today, s.report_unused, findings, &paths, &mut out);
    }
    if let Some((p, salt)) = &s.write {
        let b = Baseline {
            salt: salt.clone(),
            entries: entries_for(findings, salt, &paths),
        };
        out.write = Some((p.clone(), b));
    }
    if let Some((_, b)) = &s.baseline {
        out.by_baseline = apply_baseline(b, s.scope, findings, &paths);
    }
    findings.retain(|f| !f.locations.is_empty());
    findings.sort_by(|a, b| {
        a.locations[0]
            .cmp(&b.locations[0])
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    out
}

fn apply_ignore(
    ign: &IgnoreFile,
    today: &str,
    report_unused: bool,
    findings: &mut [Finding],
    paths: &PathMapper,
    out: &mut Outcome,
) {
    let mut used = vec![0usize; ign.entries.len()];
    for f in findings.iter_mut() {
        let fps = fingerprints(f);
        let rule = f.rule_id.clone();
        f.locations.retain(|loc| {
            let stored = paths.stored(&loc.path);
            let mut suppressed = false;
            for (i, e) in ign.entries.iter().enumerate() {
                if e.matches(&rule, &stored, &fps) {
                    used[i] += 1;
                    suppressed |= !e.expired(today);
                }
            }
            if suppressed {
                out.by_ignore += 1;
            }
            !suppressed
        });
    }
    for (i, e) in ign.entries.iter().enumerate() {
        if e.expired(today) {
            out.warnings.push(format!(
                "warning: {}:{}: ignore entry {} expired on {}: it no longer suppresses{} (reason was: {})",
                ign.name,
                e.line,
                e.describe(),
                e.expires.as_deref().unwrap_or(""),
                match used[i] {
                    0 => String::new(),
                    n => format!(
                        " and {n} location{} it covers {} reported",
                        plural(n),
                        if n == 1 { "is" } else { "are" }
                    ),
                },
                e.reason
            ));
        } else if used[i] == 0 && report_unused {
            out.unused.push(format!(
                "unused: {}:{}: ignore entry {} matched nothing (reason: {})",
                ign.name,
                e.line,
                e.describe(),
                e.reason
            ));
        }
    }
}

/// Drops baseline-covered locations; returns how many.
fn apply_baseline(b: &Baseline, scope: BaselineScope, findings: &mut [Finding], paths: &PathMapper) -> usize {
    // (rule, fingerprint) -> paths the baseline knows the secret at.
    let mut known: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for e in &b.entries {
        known
            .entry((e.rule.as_str(), e.fingerprint.as_str()))
            .or_default()
            .insert(e.path.as_str());
    }
    let mut dropped = 0;
    for f in findings.iter_mut() {
        let fp = b.fingerprint(&f.rule_id, f.secret.expose());
        let Some(known_paths) = known.get(&(&*f.rule_id, fp.as_str())) else {
            continue;
        };
        if scope == BaselineScope::Secret {
            dropped += f.locations.len();
            f.locations.clear();
            continue;
        }
        let stored: Vec<String> = f.locations.iter().map(|l| paths.stored(&l.path)).collect();
        let current: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
        let new_paths: BTreeSet<&str> = current.iter().copied().filter(|p| !known_paths.contains(p)).collect();
        // Known paths whose file is gone from the work tree: renamed or moved. Each can account
        // for one new path. (Not "absent from this scan": a staged scan sees few files, and a
        // history scan still sees the old path in old commits.)
        let vanished = known_paths.iter().filter(|p| !paths.exists(p)).count();
        let moved = !new_paths.is_empty() && new_paths.len() <= vanished;
        let mut i = 0;
        f.locations.retain(|_| {
            let p = stored[i].as_str();
            i += 1;
            let keep = new_paths.contains(p) && !moved;
            if !keep {
                dropped += 1;
            }
            keep
        });
    }
    dropped
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// After the report is written: prints warnings, unused entries and the suppression summary,
/// writes `--write-baseline`. Returns true when unused entries must fail the run.
pub fn finish(cfg: &ScanConfig, report: &Report) -> Result<bool, UserError> {
    let o = &report.suppression;
    let mut err = std::io::stderr().lock();
    for w in &o.warnings {
        let _ = writeln!(err, "{w}");
    }
    for u in &o.unused {
        let _ = writeln!(err, "{u}");
    }
    if !cfg.output.quiet && (o.by_baseline > 0 || o.by_ignore > 0) {
        let _ = writeln!(
            err,
            "leakseal: suppressed {} location{} ({} by the baseline, {} by the ignore file)",
            o.by_baseline + o.by_ignore,
            plural(o.by_baseline + o.by_ignore),
            o.by_baseline,
            o.by_ignore
        );
    }
    if let Some((p, b)) = &o.write {
        b.write(p)?;
        if !cfg.output.quiet {
            let _ = writeln!(
                err,
                "leakseal: wrote {} baseline entr{} to {}",
                b.entries.len(),
                if b.entries.len() == 1 { "y" } else { "ies" },
                p.display()
            );
        }
    }
    Ok(cfg.suppress.fail_on_unused && !o.unused.is_empty())
}

/// The baseline file a `leakseal baseline` command works on, and a config that scans without
/// filtering by it.
fn subcommand_config(args: &ScanArgs) -> Result<(PathBuf, ScanConfig), UserError> {
    let target = args
        .suppress
        .baseline
        .clone()
        .unwrap_or_else(|| PathBuf::from(file::DEFAULT_NAME));
    let mut a = args.clone();
    a.suppress.baseline = None;
    a.suppress.write_baseline = None;
    a.suppress.report_unused = false;
    a.suppress.fail_on_unused = false;
    let cfg = ScanConfig::from_args(&a)?;
    Ok((target, cfg))
}

/// Scans for a baseline command; prints item errors. Returns the findings and whether the scan
/// was complete.
fn scan_for_baseline(cfg: &ScanConfig) -> Result<(Vec<Finding>, bool), UserError> {
    let report = crate::commands::scan(cfg)?;
    let mut err = std::io::stderr().lock();
    for e in &report.errors {
        let _ = writeln!(err, "error: {}: {}", e.path, e.message);
    }
    for w in &report.suppression.warnings {
        let _ = writeln!(err, "{w}");
    }
    Ok((report.findings, report.errors.is_empty()))
}

/// `leakseal baseline create|update|prune|import`.
pub fn baseline_command(cmd: &BaselineCommand) -> (Result<ExitStatus, UserError>, ExitPolicy) {
    let args = match cmd {
        BaselineCommand::Create { scan, .. }
        | BaselineCommand::Update { scan }
        | BaselineCommand::Prune { scan }
        | BaselineCommand::Import { scan, .. } => scan,
    };
    let (target, cfg) = match subcommand_config(args) {
        Ok(x) => x,
        Err(e) => return (Err(e), ExitPolicy::default()),
    };
    let policy = ExitPolicy::default();
    let r = match cmd {
        BaselineCommand::Create { force, .. } => create(&cfg, &target, *force),
        BaselineCommand::Update { .. } => update(&cfg, &target),
        BaselineCommand::Prune { .. } => prune(&cfg, &target),
        BaselineCommand::Import { foreign, from, .. } => import::import(&cfg, &target, foreign, *from),
    };
    (r, policy)
}

fn say(cfg: &ScanConfig, msg: &str) {
    if !cfg.output.quiet {
        let _ = writeln!(std::io::stderr().lock(), "leakseal: {msg}");
    }
}

fn status(complete: bool) -> ExitStatus {
    if complete {
        ExitStatus::Clean
    } else {
        ExitStatus::Error
    }
}

fn create(cfg: &ScanConfig, target: &Path, force: bool) -> Result<ExitStatus, UserError> {
    if target.exists() && !force {
        return Err(UserError::new(format!("{}: baseline already exists", target.display()))
            .hint("use `leakseal baseline update` to add findings; --force replaces it and its salt"));
    }
    let (findings, complete) = scan_for_baseline(cfg)?;
    let mut b = Baseline::new();
    b.entries = entries_for(&findings, &b.salt, &PathMapper::new(cfg));
    b.write(target)?;
    say(
        cfg,
        &format!(
            "created {} with {} entr{}",
            target.display(),
            b.entries.len(),
            ies(b.entries.len())
        ),
    );
    Ok(status(complete))
}

fn ies(n: usize) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

fn update(cfg: &ScanConfig, target: &Path) -> Result<ExitStatus, UserError> {
    let mut b = if target.exists() {
        Baseline::read(target)?
    } else {
        Baseline::new()
    };
    let (findings, complete) = scan_for_baseline(cfg)?;
    let before = b.entries.len();
    b.entries.extend(entries_for(&findings, &b.salt, &PathMapper::new(cfg)));
    b.write(target)?;
    say(
        cfg,
        &format!(
            "updated {}: {} new entr{}, {} kept",
            target.display(),
            b.entries.len() - before,
            ies(b.entries.len() - before),
            before
        ),
    );
    Ok(status(complete))
}

fn prune(cfg: &ScanConfig, target: &Path) -> Result<ExitStatus, UserError> {
    if matches!(cfg.git, Some(GitMode::Staged) | Some(GitMode::Range { .. })) {
        return Err(
            UserError::new("baseline prune: needs a scan of the whole tree or history")
                .hint("run it without --staged, --range, --since-commit or --pre-push"),
        );
    }
    let mut b = Baseline::read(target)?;
    let (findings, complete) = scan_for_baseline(cfg)?;
    if !complete {
        return Err(UserError::new(format!(
            "{}: not pruned: the scan was incomplete, entries of unread files would be lost",
            target.display()
        )));
    }
    let paths = PathMapper::new(cfg);
    let found = entries_for(&findings, &b.salt, &paths);
    // Only entries under the scanned targets can be judged (a scan of src/ says nothing about
    // docs/); a git scan covers the whole repository.
    let scopes: Vec<String> = if cfg.git.is_some() {
        vec![String::new()]
    } else {
        cfg.paths
            .iter()
            .map(|p| {
                let s = paths.stored(&p.to_string_lossy());
                if s == "." {
                    String::new()
                } else {
                    s
                }
            })
            .collect()
    };
    let covered = |path: &str| {
        scopes
            .iter()
            .any(|s| s.is_empty() || path == s || path.strip_prefix(s.as_str()).is_some_and(|r| r.starts_with('/')))
    };
    let before = b.entries.len();
    b.entries.retain(|e| !covered(&e.path) || found.contains(e));
    let pruned = before - b.entries.len();
    b.write(target)?;
    say(
        cfg,
        &format!(
            "pruned {pruned} entr{} from {}, {} remain",
            ies(pruned),
            target.display(),
            b.entries.len()
        ),
    );
    Ok(ExitStatus::Clean)
}

//! Reporters: a finished `Report` -> bytes in one format. One file per format; all share the
//! redaction rule (secrets hidden unless `--show-secrets`) and see findings already sorted.

pub mod csv;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::collections::HashSet;
use std::io::{self, Write};
use std::time::Duration;

use crate::cli::Format;
use crate::config::OutputConfig;
use crate::finding::{redact, Finding, Location};
use crate::source::{ItemError, Stats};

/// The result of a scan, as reporters see it.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub errors: Vec<ItemError>,
    pub duration: Duration,
    /// Git scans: commits walked and blob deduplication.
    pub git: Option<crate::source::git::GitStats>,
    /// A `--staged` (pre-commit) scan: findings block a commit.
    pub staged: bool,
    /// What the baseline and ignore file suppressed.
    pub suppression: crate::baseline::Outcome,
    /// Findings not reported (under `--min-confidence`, or suppressed by the baseline or the
    /// ignore file; possibly reported ones too): kept so that their secrets are redacted in the
    /// context lines of the findings that are.
    pub withheld: Vec<Finding>,
    /// The rules the scan ran with: reporters that describe rules (SARIF) look up references
    /// and confidence here. `None` when a report is built by hand.
    pub rules: Option<std::sync::Arc<crate::rules::Ruleset>>,
}

impl Report {
    /// Total locations over all findings.
    pub fn locations(&self) -> usize {
        self.findings.iter().map(|f| f.locations.len()).sum()
    }
}

/// Options every reporter honours.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    pub show_secrets: bool,
    pub color: bool,
}

impl From<&OutputConfig> for ReportOptions {
    fn from(o: &OutputConfig) -> Self {
        ReportOptions {
            show_secrets: o.show_secrets,
            color: o.color,
        }
    }
}

/// The secret as shown: redacted unless the user opted in.
pub fn shown_secret(f: &Finding, opts: ReportOptions) -> String {
    if opts.show_secrets {
        crate::finding::lossy(f.secret.expose()).into_owned()
    } else {
        f.secret.redacted()
    }
}

/// A part of a secret in a context line, as shown.
pub fn shown_part(part: &str, opts: ReportOptions) -> String {
    if opts.show_secrets || part.is_empty() {
        part.to_string()
    } else {
        redact(part)
    }
}

/// A location's context line as shown: `(before, secret part, after)`.
///
/// A line can hold more than its own secret (an AWS key id beside its secret key, the same
/// token twice), so unless secrets are shown, every secret the report found on that line is
/// redacted in `before` and `after` too, not only the location's own part.
pub struct ContextView<'a> {
    opts: ReportOptions,
    report: &'a Report,
    /// (path, line, finding, piece index) of every secret piece standing on a line, sorted.
    /// Line i of a multi-line secret can only be on line `start + i`, so a PEM block costs its
    /// line count. A sorted vector, not a map of vectors: one allocation for the whole report.
    on_line: Vec<(&'a str, usize, u32, u32)>,
    /// Lines on which a secret was found inside encoded content: the encoded form is as
    /// revealing as the secret, so long encoded-looking tokens are redacted there too.
    encoded_lines: HashSet<(&'a str, usize)>,
}

impl<'a> ContextView<'a> {
    /// Indexes the secrets of `report` by the lines they occur on.
    pub fn new(report: &'a Report, opts: ReportOptions) -> ContextView<'a> {
        let mut on_line: Vec<(&'a str, usize, u32, u32)> = Vec::new();
        let mut encoded_lines = HashSet::new();
        if !opts.show_secrets {
            // Withheld findings' secrets too: numbered after the reported ones (see `secret`).
            for (fi, f) in report.findings.iter().chain(&report.withheld).enumerate() {
                let lines = f.secret.expose().iter().filter(|&&b| b == b'\n').count() + 1;
                for loc in &f.locations {
                    if loc.via.as_ref().is_some_and(|v| !v.encoding.is_empty()) {
                        encoded_lines.insert((loc.path.as_str(), loc.position.line));
                    }
                    for i in 0..lines {
                        on_line.push((loc.path.as_str(), loc.position.line + i, fi as u32, i as u32));
                    }
                }
            }
            rayon::slice::ParallelSliceMut::par_sort_unstable(&mut on_line[..]);
            on_line.dedup();
        }
        ContextView {
            opts,
            report,
            on_line,
            encoded_lines,
        }
    }

    /// The secret of finding `fi` as `new` numbered them: the reported findings, then the
    /// withheld ones.
    fn secret(&self, fi: u32) -> &'a [u8] {
        let fi = fi as usize;
        let n = self.report.findings.len();
        match fi < n {
            true => self.report.findings[fi].secret.expose(),
            false => self.report.withheld[fi - n].secret.expose(),
        }
    }

    /// The context of `loc`, split so that reporters can colour the secret part.
    pub fn parts(&self, loc: &Location) -> (String, String, String) {
        let c = &loc.context.0;
        let mut before = c.before().to_string();
        let mut after = c.after().to_string();
        let key = (loc.path.as_str(), loc.position.line);
        let first = self.on_line.partition_point(|&(p, l, _, _)| (p, l) < key);
        let entries = &self.on_line[first..];
        let entries = &entries[..entries.iter().take_while(|&&(p, l, _, _)| (p, l) == key).count()];
        if !entries.is_empty() {
            // Borrowed from the secrets unless they are not UTF-8.
            let mut pieces: Vec<std::borrow::Cow<'_, str>> = entries
                .iter()
                .filter_map(|&(_, _, fi, i)| match crate::finding::lossy(self.secret(fi)) {
                    std::borrow::Cow::Borrowed(t) => line_piece(t, i).map(std::borrow::Cow::Borrowed),
                    std::borrow::Cow::Owned(t) => line_piece(&t, i).map(|p| std::borrow::Cow::Owned(p.to_string())),
                })
                .filter(|p| !p.is_empty())
                .collect();
            // Longest first, so a secret containing another is hidden whole.
            pieces.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            pieces.dedup();
            for s in &pieces {
                if before.contains(s.as_ref()) {
                    before = before.replace(s.as_ref(), &redact(s));
                }
                if after.contains(s.as_ref()) {
                    after = after.replace(s.as_ref(), &redact(s));
                }
            }
        }
        if self.encoded_lines.contains(&(loc.path.as_str(), loc.position.line)) {
            before = redact_encoded(&before);
            after = redact_encoded(&after);
        }
        (before, shown_part(c.secret(), self.opts), after)
    }
}

/// Line `i` of a secret, trimmed.
fn line_piece(secret: &str, i: u32) -> Option<&str> {
    secret.split('\n').nth(i as usize).map(str::trim)
}

/// `s` with every run of 24 or more base64, hex or percent-encoding characters redacted.
fn redact_encoded(s: &str) -> String {
    let is_enc = |c: char| c.is_ascii_alphanumeric() || "+/=_-%".contains(c);
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once('\0')) {
        if is_enc(c) {
            run.push(c);
            continue;
        }
        if run.len() >= 24 {
            out.push_str(&redact(&run));
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// A location's context line as shown, in one piece (see `ContextView::parts`).
pub fn context_line(contexts: &ContextView<'_>, loc: &Location) -> String {
    let (before, secret, after) = contexts.parts(loc);
    [before, secret, after].concat()
}

/// For CI reporters: where a git location came from and what history knows about its secret,
/// in one sentence, e.g. `introduced in commit 0123456789ab (2024-05-01, Ann): Add config;
/// removed from HEAD but still in history: rotate it`. `None` for plain file scans.
pub fn provenance(f: &Finding, loc: &Location) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(c) = &loc.commit {
        parts.push(format!(
            "introduced in commit {} ({}, {}): {}",
            &c.sha[..c.sha.len().min(12)],
            c.date.get(..10).unwrap_or(&c.date),
            c.author,
            c.summary
        ));
    }
    if let Some(h) = &f.history {
        if !h.present_at_head {
            parts.push("removed from HEAD but still in history: rotate it".to_string());
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Writes `report` in `format`.
pub fn write(report: &Report, format: Format, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, opts, w),
        Format::Json => json::write(report, opts, w),
        Format::Jsonl => json::write_lines(report, opts, w),
        Format::Sarif => sarif::write(report, opts, w),
        Format::Junit => junit::write(report, opts, w),
        Format::Csv => csv::write(report, opts, w),
        Format::Github => github::write(report, opts, w),
        Format::Markdown => markdown::write(report, opts, w),
    }
}

/// What writing `report` in `format` leaves out, as warnings for stderr (e.g. SARIF's limit on
/// results per run).
pub fn warnings(report: &Report, format: Format) -> Vec<String> {
    match format {
        Format::Sarif => sarif::warnings(report),
        _ => Vec::new(),
    }
}

/// The closing summary line (printed on stderr).
pub fn summary_line(report: &Report) -> String {
    let s = &report.stats;
    let mut line = format!(
        "leakseal: {} finding{} ({} location{}) in {} file{} ({}) scanned in {:.2}s",
        report.findings.len(),
        plural(report.findings.len() as u64),
        report.locations(),
        plural(report.locations() as u64),
        s.files_scanned,
        plural(s.files_scanned),
        human_bytes(s.bytes_scanned),
        report.duration.as_secs_f64()
    );
    if s.skipped() > 0 {
        line.push_str(&format!(
            "; skipped {} ({} binary, {} over size limit)",
            s.skipped(),
            s.skipped_binary,
            s.skipped_too_large
        ));
    }
    if !report.errors.is_empty() {
        line.push_str(&format!(
            "; {} error{}",
            report.errors.len(),
            plural(report.errors.len() as u64)
        ));
    }
    line
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// `--stats`: what was walked and read.
pub fn stats_line(report: &Report) -> String {
    let s = &report.stats;
    let mut line = format!(
        "leakseal: stats: {} files/blobs scanned, {} bytes, {} binary skipped, {} over size limit",
        s.files_scanned, s.bytes_scanned, s.skipped_binary, s.skipped_too_large
    );
    if let Some(g) = &report.git {
        line.push_str(&format!(
            "; {} commits, {} blob occurrences, {} unique blobs read, {} duplicates not re-read",
            g.commits, g.occurrences, g.unique_blobs, g.blobs_deduplicated
        ));
    }
    line
}

/// What the pre-commit hook tells the person whose commit it blocked.
pub fn blocked_commit_message(report: &Report, shown_in_full: bool) -> String {
    let n = report.findings.len();
    let mut m = format!(
        "\nleakseal blocked this commit: {n} secret{} in the staged changes (listed above{}).\n",
        if n == 1 { "" } else { "s" },
        if shown_in_full { "" } else { ", redacted" }
    );
    m.push_str("Ways out:\n");
    m.push_str("  1. Remove the secret from the file, `git add` it again, and commit. If it was ever pushed or\n     shared, rotate it: deleting it does not make it secret again.\n");
    m.push_str(
        "  2. If it is not a secret (a test value, an example), add `leakseal:allow` in a comment on its line.\n",
    );
    m.push_str("  3. To accept it for now, allowlist it in .leakseal.toml ([[allowlists]] with paths or regexes).\n");
    m
}

#[cfg(test)]
mod tests {
    use super::redact_encoded;

    #[test]
    fn long_encoded_tokens_are_redacted_and_the_rest_kept() {
        let line = "auth: dG9rZW46IGdocF9hYmNkZWZnaGlqa2xtbm9w, id=short, hex 746f6b656e3a2067687066616b65";
        let out = redact_encoded(line);
        assert!(out.starts_with("auth: dG9r*****, id=short, hex 746f*****"), "{out}");
        assert_eq!(redact_encoded("plain words only"), "plain words only");
    }
}

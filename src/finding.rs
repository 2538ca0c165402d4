//! Findings: one per (rule, secret) with every place it occurs; the redacting `Secret` newtype
//! and the salted fingerprint that identifies a finding without revealing it.
//!
//! Grouping and ordering happen here so that every reporter sees the same, deterministic list.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{Confidence, Ruleset, Severity};
use crate::scan::{BlobMatch, Context, Position, Via};

/// Salt used for fingerprints when no baseline provides one. Public, so it only stops
/// precomputed tables; a baseline's own random salt is what makes its fingerprints private.
pub const DEFAULT_SALT: &str = "leakseal-fingerprint-v1";

/// The raw bytes of a secret. `Debug` and `Display` redact; only `expose` gives the bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The secret itself. Call only where the user asked to see secrets.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret with all but a short prefix hidden: at most 4 characters and never more
    /// than a fifth of the secret are shown.
    pub fn redacted(&self) -> String {
        redact(&lossy(&self.0))
    }
}

/// `bytes` as text, invalid UTF-8 replaced: `String::from_utf8_lossy`, with the standard
/// library's faster check first (most text is valid; the lossy path validates byte by byte).
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Redacts `s`, keeping a short prefix (see `Secret::redacted`).
pub fn redact(s: &str) -> String {
    let n = s.chars().count();
    let keep = (n / 5).min(4);
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    let mut out = String::with_capacity(end + 5);
    out.push_str(&s[..end]);
    out.push_str("*****");
    out
}

/// The first line of `text`, at most 60 characters, with every long token redacted: for
/// showing rule examples without printing anything secret-shaped whole.
pub fn redact_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let shown: Vec<String> = line
        .split(' ')
        .map(|w| {
            if w.chars().count() >= 12 {
                redact(w)
            } else {
                w.to_string()
            }
        })
        .collect();
    let mut out = shown.join(" ");
    if out.chars().count() > 60 {
        out = out.chars().take(57).collect::<String>() + "...";
    }
    out
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Salted SHA-256 of (rule id, secret), 32 hex digits: the identity of a finding.
pub fn fingerprint(salt: &str, rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(secret);
    crate::kms::verdict::hex(&h.finalize()[..16])
}

/// The commit a git location was found in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CommitInfo {
    /// Position in the walk, oldest first: orders commits without comparing dates.
    #[serde(skip)]
    pub order: u64,
    pub sha: String,
    pub author: String,
    pub email: String,
    /// Author date, RFC 3339 (UTC).
    pub date: String,
    pub summary: String,
}

/// What history mode knows about a finding beyond its locations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryInfo {
    /// Commits that added a blob containing the secret (its introduction and any
    /// re-introduction, e.g. on another branch).
    pub commits: usize,
    /// Whether the secret is still in a file at HEAD. A secret deleted from HEAD but alive in
    /// history still needs rotating.
    pub present_at_head: bool,
}

/// One place a secret occurs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The path as the user named it (stdin is `-`); repository-relative for git sources.
    pub path: String,
    pub position: Position,
    /// The notebook cell or the encodings the secret was found under, if any.
    pub via: Option<Box<Via>>,
    /// The commit that introduced this occurrence (git sources only).
    pub commit: Option<Arc<CommitInfo>>,
    pub context: ContextKey,
}

/// A located match, ready to be grouped.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Shared by every hit in the same file (and with the file list while scanning).
    pub path: Arc<str>,
    pub m: BlobMatch,
    pub commit: Option<Arc<CommitInfo>>,
}

/// The context line, kept beside a location but not part of its ordering.
#[derive(Debug, Clone, Default)]
pub struct ContextKey(pub Context);

impl PartialEq for ContextKey {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for ContextKey {}
impl PartialOrd for ContextKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ContextKey {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// A rule plus a secret, with every location it was found at (sorted).
#[derive(Debug, Clone)]
pub struct Finding {
    /// Shared by every finding of the rule.
    pub rule_id: Arc<str>,
    /// Shared by every finding of the rule.
    pub description: Arc<str>,
    pub confidence: Confidence,
    pub severity: Severity,
    pub tags: Arc<[String]>,
    pub secret: Secret,
    pub fingerprint: String,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
    pub locations: Vec<Location>,
    /// History scans only.
    pub history: Option<HistoryInfo>,
    /// `kms check` findings only: format, key reference, plaintext length, policy rule.
    pub kms: Option<Box<crate::kms::KmsInfo>>,
}

/// A rule's id, description and tags as findings share them.
type RuleText = (Arc<str>, Arc<str>, Arc<[String]>);

/// Groups per-blob matches (with their display paths) into sorted findings.
///
/// Hits are sorted by (rule, secret) so that each finding's hits are adjacent: no map, no
/// copies of keys, and each hit's strings move into its location. The sorts, fingerprints and
/// entropies run on the worker threads: with thousands of findings they were a serial tail
/// after the scan. A few findings (a commit hook's) are grouped on the calling thread: no pool
/// is started for them.
pub fn group(mut hits: Vec<Hit>, rules: &Ruleset, salt: &str) -> Vec<Finding> {
    use rayon::prelude::*;
    let parallel = hits.len() >= PARALLEL_FROM;
    let by_rule_and_secret = |a: &Hit, b: &Hit| a.m.rule.cmp(&b.m.rule).then_with(|| a.m.secret.cmp(&b.m.secret));
    if parallel {
        hits.par_sort_unstable_by(by_rule_and_secret);
    } else {
        hits.sort_unstable_by(by_rule_and_secret);
    }
    // Sized exactly: with tens of thousands of findings, doubling would leave megabytes unused.
    let distinct = 1 + hits
        .windows(2)
        .filter(|w| w[0].m.rule != w[1].m.rule || w[0].m.secret != w[1].m.secret)
        .count();
    let mut findings: Vec<Finding> = Vec::with_capacity(if hits.is_empty() { 0 } else { distinct });
    // Each rule's description and tags, allocated once and shared by its findings.
    let mut shared: Vec<Option<RuleText>> = vec![None; rules.rules.len()];
    for Hit { path, m, commit } in hits {
        let rule = &rules.rules[m.rule as usize];
        let loc = Location {
            path: path.to_string(),
            position: m.position,
            via: m.via,
            commit,
            context: ContextKey(m.context),
        };
        match findings.last_mut() {
            Some(f) if *f.rule_id == *rule.id && f.secret.expose() == m.secret.as_slice() => f.locations.push(loc),
            _ => findings.push({
                let (rule_id, description, tags) = shared[m.rule as usize]
                    .get_or_insert_with(|| {
                        (
                            rule.id.as_str().into(),
                            rule.description.as_str().into(),
                            rule.tags.as_slice().into(),
                        )
                    })
                    .clone();
                Finding {
                    rule_id,
                    description,
                    confidence: rule.confidence,
                    severity: rule.severity,
                    tags,
                    fingerprint: String::new(),
                    // NaN: computed in `finish`.
                    entropy: m.entropy.unwrap_or(f64::NAN),
                    secret: Secret::new(m.secret),
                    // Most findings have one location; `Vec::new` + push would reserve four.
                    locations: vec![loc],
                    history: None,
                    kms: None,
                }
            }),
        }
    }
    let finish = |f: &mut Finding| {
        f.fingerprint = fingerprint(salt, &f.rule_id, f.secret.expose());
        if f.entropy.is_nan() {
            f.entropy = crate::scan::shannon(f.secret.expose());
        }
        f.locations.sort();
        f.locations.dedup();
        // Most findings have one location; don't keep the growth slack of thousands of them.
        f.locations.shrink_to_fit();
    };
    let by_place = |a: &Finding, b: &Finding| {
        a.locations[0]
            .cmp(&b.locations[0])
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    };
    if parallel {
        findings.par_iter_mut().for_each(finish);
        findings.par_sort_by(by_place);
    } else {
        findings.iter_mut().for_each(finish);
        findings.sort_by(by_place);
    }
    findings
}

/// Hits from which `group` works on the thread pool.
const PARALLEL_FROM: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_text_is_the_standard_librarys() {
        for bytes in [&b"plain"[..], "é名".as_bytes(), b"a\xffb\xc3", b"", b"\xe5\x90"] {
            assert_eq!(lossy(bytes), String::from_utf8_lossy(bytes));
        }
        assert!(matches!(lossy(b"plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn redaction_never_shows_much() {
        assert_eq!(redact("AKIAIOSFODNN7EXAMPLE"), "AKIA*****");
        assert_eq!(redact("hunter2"), "h*****");
        assert_eq!(redact("abc"), "*****");
        assert_eq!(redact(""), "*****");
        // Characters, not bytes.
        assert_eq!(redact("ééééééééééé"), "éé*****");
        assert_eq!(redact("名名名名名名名名名名名名名名名名名名名名名名"), "名名名名*****");
        assert_eq!(
            format!("{:?}", Secret::new(b"supersecretvalue".to_vec())),
            "Secret(sup*****)"
        );
    }

    #[test]
    fn fingerprint_depends_on_rule_secret_and_salt() {
        let a = fingerprint("s", "r1", b"x");
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("s", "r2", b"x"));
        assert_ne!(a, fingerprint("s", "r1", b"y"));
        assert_ne!(a, fingerprint("t", "r1", b"x"));
        assert_eq!(a, fingerprint("s", "r1", b"x"));
    }
}

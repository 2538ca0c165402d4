//! `Scanner::explain`: the scanner's decisions on one line, step by step, for `leakseal explain`.
//!
//! A separate, slow path on purpose: it re-runs the candidate rules over one blob and records
//! every stage (keyword, path filter, regex span, secret group, entropy, structure check,
//! allowlists, inline markers) instead of stopping at the first that drops a match. `scan`
//! itself carries no tracing. Composite rules are traced as single rules; their requirements
//! are listed, not evaluated.

use super::lines::{LineCounter, Position};
use super::{line_bounds, shannon, Blob, Scanner, SAME_LINE_MARKERS};
use crate::rules::Candidate;

/// One rule's decisions on the traced line.
#[derive(Debug, Clone)]
pub struct RuleTrace {
    pub rule: u32,
    /// Keywords of the rule found on the line, with 1-based byte columns.
    pub keywords: Vec<(String, usize)>,
    /// `Some(false)`: the rule's `path` does not match the file, so it never runs.
    pub path_ok: Option<bool>,
    /// Regex matches whose secret touches the line.
    pub candidates: Vec<CandidateTrace>,
}

/// One regex match and what each stage said about it.
#[derive(Debug, Clone)]
pub struct CandidateTrace {
    pub secret: Vec<u8>,
    /// Where the secret is.
    pub position: Position,
    /// Where the whole regex match is.
    pub match_position: Position,
    pub entropy: f64,
    pub threshold: Option<f64>,
    /// Structure check name and result.
    pub validate: Option<(&'static str, bool)>,
    /// The first allowlist that allows it, described.
    pub allowlist: Option<String>,
    /// An inline allow marker on the line (or a next-line marker above it).
    pub inline: bool,
}

impl CandidateTrace {
    /// Whether the scanner reports this match (composite requirements aside).
    pub fn reported(&self) -> bool {
        self.threshold.is_none_or(|t| self.entropy > t)
            && self.validate.is_none_or(|(_, ok)| ok)
            && self.allowlist.is_none()
            && !self.inline
    }
}

impl Scanner<'_> {
    /// Traces every rule that has a keyword on `line` (1-based) of `blob`, or no keywords and a
    /// match there.
    pub fn explain(&mut self, blob: &Blob<'_>, line: usize) -> Vec<RuleTrace> {
        let rules = self.rules;
        let bytes = blob.bytes;
        let Some((ls, le)) = nth_line(bytes, line) else {
            return Vec::new();
        };
        let mut traces: Vec<RuleTrace> = Vec::new();
        let mut keyword_hits: Vec<(u32, String, usize)> = Vec::new();
        if let Some(ac) = rules.keyword_automaton() {
            ac.for_each_hit(&bytes[ls..le], |pattern, start, end| {
                let kw = String::from_utf8_lossy(&bytes[ls + start..ls + end]).to_ascii_lowercase();
                for &r in rules.rules_for_keyword(pattern) {
                    keyword_hits.push((r, kw.clone(), start + 1));
                }
            });
        }
        let mut candidates_rules: Vec<u32> = keyword_hits.iter().map(|h| h.0).collect();
        candidates_rules.extend(rules.always_rules.iter().copied());
        candidates_rules.sort_unstable();
        candidates_rules.dedup();
        for r in candidates_rules {
            let rule = &rules.rules[r as usize];
            let mut t = RuleTrace {
                rule: r,
                keywords: keyword_hits
                    .iter()
                    .filter(|h| h.0 == r)
                    .map(|h| (h.1.clone(), h.2))
                    .collect(),
                path_ok: None,
                candidates: Vec::new(),
            };
            if let Some(p) = &rule.path {
                let ok = p.is_match(blob.path.as_bytes()).unwrap_or(false);
                t.path_ok = Some(ok);
            }
            if t.path_ok != Some(false) {
                self.trace_regex(r, blob, ls, le, &mut t.candidates);
            }
            if !t.keywords.is_empty() || !t.candidates.is_empty() {
                traces.push(t);
            }
        }
        traces
    }

    fn trace_regex(&self, r: u32, blob: &Blob<'_>, ls: usize, le: usize, out: &mut Vec<CandidateTrace>) {
        let rule = &self.rules.rules[r as usize];
        let Some(lazy) = &rule.regex else { return };
        let bytes = blob.bytes;
        let mut spans = Vec::new();
        let _ = lazy.each_captures(bytes, |caps| {
            let m = caps[0].expect("group 0 always matches");
            let Some(s) = rule.secret(caps) else { return };
            // The secret must touch the traced line.
            if s.start > le || s.end < ls || s.is_empty() {
                return;
            }
            spans.push((m.start, m.end, s.start, s.end));
        });
        let mut counter = LineCounter::new(bytes);
        for (ms, me, ss, se) in spans {
            let secret = &bytes[ss..se];
            let (lb, lend) = line_bounds(bytes, ms, me);
            let cand = Candidate {
                commit: blob.commit,
                path: blob.path,
                secret,
                matched: &bytes[ms..me],
                line: &bytes[lb..lend],
            };
            let allowlist = rule
                .allowlists
                .iter()
                .enumerate()
                .find(|(_, a)| a.allows(&cand))
                .map(|(i, a)| {
                    describe(
                        a.description.as_deref(),
                        &format!("allowlist {} of rule {}", i + 1, rule.id),
                    )
                })
                .or_else(|| {
                    self.rules
                        .global_allowlists
                        .iter()
                        .enumerate()
                        .find(|(_, a)| a.applies_to(&rule.id) && a.allows(&cand))
                        .map(|(i, a)| describe(a.description.as_deref(), &format!("global allowlist {}", i + 1)))
                });
            let match_position = counter.position(ms, me);
            let position = counter.position(ss, se);
            out.push(CandidateTrace {
                secret: secret.to_vec(),
                position,
                match_position,
                entropy: shannon(secret),
                threshold: rule.entropy,
                validate: rule.validate.map(|v| (v.name(), v.check(secret))),
                allowlist,
                inline: self.inline_allowed(bytes, lb, lend),
            });
        }
    }
}

fn describe(description: Option<&str>, fallback: &str) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{fallback} ({d})"),
        _ => fallback.to_string(),
    }
}

/// Byte range of 1-based line `n` (without its newline).
fn nth_line(bytes: &[u8], n: usize) -> Option<(usize, usize)> {
    if n == 0 {
        return None;
    }
    let mut start = 0;
    for _ in 1..n {
        start += memchr::memchr(b'\n', &bytes[start..])? + 1;
    }
    let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
    Some((start, end))
}

/// The inline markers the scanner honours, for explain's advice.
pub fn inline_marker() -> &'static str {
    SAME_LINE_MARKERS[0]
}

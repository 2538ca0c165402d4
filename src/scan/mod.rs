//! Bytes -> matches: the keyword prefilter, windowed regex search, secret group, entropy,
//! allowlists, inline allow markers and composite rules.
//!
//! A `Scanner` is owned by one worker thread and reused for every blob it scans (its buffers
//! are scratch space). It knows nothing about where bytes came from or how findings are
//! grouped and reported; see `source` and `finding`.

pub mod decode;
mod entropy;
mod lines;
pub mod lockfile;
pub mod notebook;
mod trace;
mod validate;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use memchr::{memchr, memrchr};

pub use decode::Encoding;
pub use entropy::shannon;
pub use lines::{Context, Position};
pub use trace::{inline_marker, CandidateTrace, RuleTrace};
pub use validate::Validator;

use regex_automata::Span;

use crate::rules::pattern::Starts;
use crate::rules::{Candidate, RuleStarts, Ruleset};

/// Markers that allow every match on their line, for leakseal and tools users migrate from.
const SAME_LINE_MARKERS: [&str; 3] = ["leakseal:allow", "gitleaks:allow", "pragma: allowlist secret"];
/// detect-secrets' marker that allows the *next* line.
const NEXT_LINE_MARKER: &str = "pragma: allowlist nextline secret";
/// A window is searched from the places its matches can start while there is at most one
/// per this many bytes of it, else by one unanchored search (an anchored search costs about
/// what an unanchored one spends on this many bytes). Measured with callgrind in session 13:
/// 16 -> 6 took 1 % off the 5,000- and 30,000-file trees and the 3-secret file, the 40 MB tree
/// +0.2 %; 3 and 1 were no better. The bound limits how many anchored searches a window gets,
/// not how far each reads.
const ANCHORED_SEARCH_BYTES: usize = 6;

/// One blob of content to scan.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    /// Path relative to the project root with `/` separators: what allowlist paths and rule
    /// paths are matched against.
    pub path: &'a str,
    pub bytes: &'a [u8],
    /// The commit the blob was found in, for commit allowlists (git sources).
    pub commit: Option<&'a str>,
}

/// A rule's match in one blob, located and ready to be grouped into a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobMatch {
    pub rule: u32,
    pub secret: Vec<u8>,
    /// Where the secret is: lines and 1-based columns.
    pub position: Position,
    /// The secret's byte range in the blob.
    pub start: usize,
    pub end: usize,
    pub context: Context,
    /// Set when the match is inside a notebook cell or encoded content.
    pub via: Option<Box<Via>>,
    /// The secret's Shannon entropy, when the rule's threshold needed it (grouping computes it
    /// otherwise).
    pub entropy: Option<f64>,
}

/// Where inside a structured or encoded blob a match was found.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Via {
    /// The notebook cell (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<u32>,
    /// The encodings the secret was found under, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encoding: Vec<Encoding>,
}

impl Via {
    /// `cell 3`, `base64`, `cell 3, base64>hex`: for one-line reports.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.cell {
            parts.push(format!("cell {c}"));
        }
        if !self.encoding.is_empty() {
            let e: Vec<&str> = self.encoding.iter().map(|e| e.as_str()).collect();
            parts.push(e.join(">"));
        }
        parts.join(", ")
    }
}

/// Default depth of nested encodings decoded (base64 inside base64 is depth 2).
pub const DEFAULT_DECODE_DEPTH: usize = 2;

/// A problem met while scanning that does not stop the scan (e.g. a rule whose regex failed to
/// compile at first use).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScanProblem(pub String);

/// Per-rule search plan for one blob.
#[derive(Clone, Default, Debug, PartialEq)]
enum Plan {
    #[default]
    Skip,
    Windows(Vec<(usize, usize)>),
    Whole,
}

/// A raw match before positions are computed.
struct Raw {
    rule: u32,
    start: usize,
    end: usize,
    /// The secret's entropy, when the rule's threshold needed it.
    entropy: Option<f64>,
}

/// Every keyword occurrence in a blob as (end, start, keyword index), sorted: what the keyword
/// pass plans rules from.
pub type KeywordHits = Vec<(usize, usize, usize)>;

/// A span of a blob copied unchanged from another blob (its delta base): `len` bytes at `dst`
/// are the base's bytes at `src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub src: usize,
    pub dst: usize,
    pub len: usize,
}

/// Scans blobs against a ruleset. One per worker thread.
pub struct Scanner<'r> {
    rules: &'r Ruleset,
    plans: Vec<Plan>,
    touched: Vec<u32>,
    /// The blob being scanned, ASCII-lowercased, when `lowered` (made by a keyword-by-keyword
    /// search, see `Ruleset::search_one_by_one`).
    lower: Vec<u8>,
    lowered: bool,
    /// A window lowercased, to look for a rule's required literals (`LazyRegex::required`).
    folded: Vec<u8>,
    hits: Vec<(usize, usize, usize)>,
    /// Per rule: where its matches can start in the blob being scanned, when its matches
    /// start at keyword hits (see `RuleStarts`).
    starts: Vec<Vec<usize>>,
    /// A window's places to search from.
    from: Vec<usize>,
    /// Emptied window lists of searched plans, kept for the next plans (a list per rule per
    /// file was most of a scan's allocations on trees of small files).
    spare_windows: Vec<Vec<(usize, usize)>>,
    markers: AhoCorasick,
    /// How many nested encodings to decode (0: none).
    pub decode_depth: usize,
    /// Problems met so far (deduplicated), collected by the caller at the end.
    pub problems: BTreeSet<ScanProblem>,
    /// Keyword hits given by the caller for the bytes at (address, length) (see
    /// `scan_with_keyword_hits`).
    preset: Option<((usize, usize), KeywordHits)>,
}

impl<'r> Scanner<'r> {
    /// A scanner with empty scratch space.
    pub fn new(rules: &'r Ruleset) -> Scanner<'r> {
        let mut pats: Vec<&str> = SAME_LINE_MARKERS.to_vec();
        pats.push(NEXT_LINE_MARKER);
        Scanner {
            rules,
            plans: vec![Plan::Skip; rules.rules.len()],
            touched: Vec::new(),
            lower: Vec::new(),
            lowered: false,
            folded: Vec::new(),
            hits: Vec::new(),
            starts: vec![Vec::new(); rules.rules.len()],
            from: Vec::new(),
            spare_windows: Vec::new(),
            // A contiguous NFA: a fifth of a DFA's build time at every scan's start, and
            // searched only over the lines of candidates.
            markers: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(pats)
                .expect("marker automaton from plain strings"),
            decode_depth: DEFAULT_DECODE_DEPTH,
            problems: BTreeSet::new(),
            preset: None,
        }
    }

    /// A scanner decoding `depth` levels of nested encodings.
    pub fn with_decode_depth(rules: &'r Ruleset, depth: usize) -> Scanner<'r> {
        Scanner {
            decode_depth: depth,
            ..Scanner::new(rules)
        }
    }

    /// Scans one blob. Matches come back sorted by position.
    ///
    /// Notebooks are scanned as their cells' text, lockfiles with their hashes blanked, and
    /// encoded content (base64, hex, percent) is decoded up to `decode_depth` levels; every
    /// match is located in the blob as given.
    pub fn scan(&mut self, blob: &Blob<'_>) -> Vec<BlobMatch> {
        let rules = self.rules;
        // A global allowlist that allows by path alone (OR) for every rule: skip the blob.
        if rules.global_allowlists.iter().any(|a| {
            a.target_rules.is_empty()
                && (a.condition == crate::rules::Condition::Or || a.is_path_only())
                && !a.paths.is_empty()
                && a.path_matches(blob.path)
        }) {
            return Vec::new();
        }
        let mut out = self.scan_structured(blob);
        self.path_only(blob, &mut out);
        out
    }

    /// `scan`, with the keyword hits of `blob.bytes` already known (from `keyword_hits` or
    /// `keyword_hits_delta`): the keyword pass over the raw bytes is skipped and the rules are
    /// planned from `hits`, so the matches are the same as `scan`'s. Notebooks, lockfiles and
    /// decoded content are still searched, as their bytes are not the blob's.
    pub fn scan_with_keyword_hits(&mut self, blob: &Blob<'_>, hits: KeywordHits) -> (Vec<BlobMatch>, KeywordHits) {
        self.preset = Some(((blob.bytes.as_ptr() as usize, blob.bytes.len()), hits));
        let out = self.scan(blob);
        let (_, hits) = self.preset.take().expect("set above; only scan_plain reads it");
        (out, hits)
    }

    /// Every keyword occurrence in `bytes` (see `KeywordHits`).
    pub fn keyword_hits(&self, bytes: &[u8]) -> KeywordHits {
        let mut hits = Vec::new();
        if let Some(ac) = self.rules.keyword_automaton() {
            ac.for_each_hit(bytes, |p, s, e| hits.push((e, s, p)));
        }
        hits.sort_unstable();
        hits
    }

    /// The keyword hits of a blob made from a base blob by a delta, from the base's hits:
    /// an occurrence inside one copied span is the base's, moved; every other occurrence
    /// touches a new byte or a seam between spans, and is searched for in the new bytes and
    /// around the seams only (a keyword's length either side). Equal to `keyword_hits(bytes)`
    /// when `base_hits` are the base's hits and `copies` (in target order) say truly which
    /// bytes came from where.
    pub fn keyword_hits_delta(
        &self,
        bytes: &[u8],
        base_hits: &[(usize, usize, usize)],
        copies: &[Copied],
    ) -> KeywordHits {
        let Some(ac) = self.rules.keyword_automaton() else {
            return Vec::new();
        };
        let reach = self.rules.max_keyword_len().saturating_sub(1);
        let mut hits: KeywordHits = Vec::new();
        // Base hits by start, to find those inside each copied span.
        let mut by_start: Vec<(usize, usize, usize)> = base_hits.iter().map(|&(e, s, p)| (s, e, p)).collect();
        by_start.sort_unstable();
        for c in copies {
            let from = by_start.partition_point(|h| h.0 < c.src);
            for &(s, e, p) in &by_start[from..] {
                if s >= c.src + c.len {
                    break;
                }
                if e <= c.src + c.len {
                    hits.push((e - c.src + c.dst, s - c.src + c.dst, p));
                }
            }
        }
        // Regions to search: new bytes and seams, widened by a keyword's reach, merged.
        let mut regions: Vec<(usize, usize)> = Vec::new();
        let mut at = 0;
        let mut push = |a: usize, b: usize| regions.push((a.saturating_sub(reach), (b + reach).min(bytes.len())));
        for c in copies {
            if c.dst > at {
                push(at, c.dst);
            }
            push(c.dst, c.dst);
            at = c.dst + c.len;
            push(at, at);
        }
        if at < bytes.len() {
            push(at, bytes.len());
        }
        regions.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(regions.len());
        for r in regions {
            match merged.last_mut() {
                Some(last) if r.0 <= last.1 => last.1 = last.1.max(r.1),
                _ => merged.push(r),
            }
        }
        let inside_one_copy = |s: usize, e: usize| {
            let i = copies.partition_point(|c| c.dst <= s);
            i > 0 && e <= copies[i - 1].dst + copies[i - 1].len
        };
        for (a, b) in merged {
            ac.for_each_hit(&bytes[a..b], |p, s, e| {
                if !inside_one_copy(a + s, a + e) {
                    hits.push((a + e, a + s, p));
                }
            });
        }
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    fn scan_structured(&mut self, blob: &Blob<'_>) -> Vec<BlobMatch> {
        if blob.path.ends_with(".ipynb") {
            if let Some(nb) = notebook::extract(blob.bytes) {
                let view = Blob {
                    bytes: &nb.text,
                    ..*blob
                };
                let mut out = self.scan_decoding(&view, 0);
                let mut counter = lines::LineCounter::new(blob.bytes);
                for m in &mut out {
                    let cell = nb.cell_at(m.start);
                    let s = nb.map[m.start] as usize;
                    let e = if m.end > m.start {
                        nb.map[m.end - 1] as usize + 1
                    } else {
                        s
                    };
                    m.position = counter.position(s, e);
                    (m.start, m.end) = (s, e);
                    m.via.get_or_insert_with(Default::default).cell = Some(cell);
                }
                out.sort_by_key(|m| (m.start, m.end, m.rule));
                return out;
            }
        }
        if lockfile::is_lockfile(blob.path) {
            let blanked = lockfile::blank_hashes(blob.bytes);
            return self.scan_decoding(
                &Blob {
                    bytes: &blanked,
                    ..*blob
                },
                0,
            );
        }
        self.scan_decoding(blob, 0)
    }

    /// Scans `blob` and the text decoded from encoded runs in it, `depth` levels down already.
    fn scan_decoding(&mut self, blob: &Blob<'_>, depth: usize) -> Vec<BlobMatch> {
        let mut out = self.scan_plain(blob);
        if depth >= self.decode_depth {
            return out;
        }
        let decoded = decode::find(blob.bytes);
        if decoded.is_empty() {
            return out;
        }
        let plain = out.len();
        let mut counter = lines::LineCounter::new(blob.bytes);
        for d in decoded {
            let inner = Blob {
                bytes: &d.text,
                ..*blob
            };
            for mut m in self.scan_decoding(&inner, depth + 1) {
                let (s, e) = d.source_range(m.start, m.end);
                // The plain scan already found this rule here (e.g. a URL with one escape).
                if out[..plain]
                    .iter()
                    .any(|o| o.rule == m.rule && o.start < e.max(s + 1) && s < o.end.max(o.start + 1))
                {
                    continue;
                }
                m.position = counter.position(s, e);
                (m.start, m.end) = (s, e);
                m.via
                    .get_or_insert_with(Default::default)
                    .encoding
                    .insert(0, d.encoding);
                out.push(m);
            }
        }
        out.sort_by_key(|m| (m.start, m.end, m.rule));
        out
    }

    /// Scans the bytes of `blob` as they are.
    fn scan_plain(&mut self, blob: &Blob<'_>) -> Vec<BlobMatch> {
        let rules = self.rules;
        self.lowered = false;
        self.plan(blob.bytes);
        let mut raws = Vec::new();
        let touched = std::mem::take(&mut self.touched);
        for &r in &touched {
            let plan = std::mem::take(&mut self.plans[r as usize]);
            let mut starts = std::mem::take(&mut self.starts[r as usize]);
            self.run_rule(r, &plan, &mut starts, blob, &mut raws);
            starts.clear();
            self.starts[r as usize] = starts;
            if let Plan::Windows(mut w) = plan {
                w.clear();
                self.spare_windows.push(w);
            }
        }
        // Components that are never reported alone run only once a composite rule matched.
        let mut components: Vec<usize> = raws
            .iter()
            .flat_map(|m| rules.rules[m.rule as usize].required.iter().map(|q| q.rule))
            .filter(|&q| rules.rules[q].skip_report)
            .collect();
        components.sort_unstable();
        components.dedup();
        for q in components {
            self.run_rule(q as u32, &Plan::Whole, &mut Vec::new(), blob, &mut raws);
        }
        self.touched = touched;
        self.touched.clear();
        raws.sort_by_key(|r| (r.start, r.end, r.rule));
        raws.dedup_by_key(|r| (r.start, r.end, r.rule));
        let mut out = self.locate(blob, raws);
        self.apply_composites(&mut out);
        out.retain(|m| !rules.rules[m.rule as usize].skip_report);
        out
    }

    /// Keyword pass: decide for each rule whether, and where, its regex must run.
    fn plan(&mut self, bytes: &[u8]) {
        if let Some((at, hits)) = self.preset.take() {
            if at == (bytes.as_ptr() as usize, bytes.len()) {
                for &r in &self.rules.always_rules {
                    self.set_whole(r);
                }
                for &(end, start, pattern) in &hits {
                    self.keyword_hit(bytes, start, end, pattern);
                }
                self.preset = Some((at, hits));
                return;
            }
            self.preset = Some((at, hits));
        }
        self.plan_with(bytes, self.rules.search_one_by_one(bytes.len()));
    }

    /// `plan`, with the keywords searched one by one or with the automaton: the plans are the
    /// same (a test checks it).
    fn plan_with(&mut self, bytes: &[u8], one_by_one: bool) {
        let rules = self.rules;
        for &r in &rules.always_rules {
            self.set_whole(r);
        }
        if one_by_one {
            let mut hits = std::mem::take(&mut self.hits);
            rules.keyword_hits_one_by_one(bytes, &mut self.lower, &mut hits);
            self.lowered = true;
            for &(end, start, pattern) in &hits {
                self.keyword_hit(bytes, start, end, pattern);
            }
            self.hits = hits;
            return;
        }
        let Some(ac) = rules.keyword_automaton() else { return };
        ac.for_each_hit(bytes, |pattern, start, end| {
            self.keyword_hit(bytes, start, end, pattern)
        });
    }

    /// Plans the rules of keyword `pattern`, found at [start, end).
    #[inline]
    fn keyword_hit(&mut self, bytes: &[u8], start: usize, end: usize, pattern: usize) {
        let rules = self.rules;
        for &r in rules.rules_for_keyword(pattern) {
            let ri = r as usize;
            if let Some(ds) = rules.keyword_starts(ri, pattern) {
                let starts = &mut self.starts[ri];
                starts.extend(ds.iter().filter_map(|&d| start.checked_sub(d as usize)));
            }
            match &mut self.plans[ri] {
                Plan::Whole => continue,
                Plan::Windows(w) => {
                    if let Some(last) = w.last() {
                        if start >= last.0 && end <= last.1 {
                            continue;
                        }
                    }
                }
                Plan::Skip => {}
            }
            let Some(n) = rules.window_lines(ri) else {
                self.set_whole(r);
                continue;
            };
            let win = window(bytes, start, end, n);
            match &mut self.plans[ri] {
                Plan::Windows(w) => match w.last_mut() {
                    Some(last) if win.0 <= last.1 => {
                        last.0 = last.0.min(win.0);
                        last.1 = last.1.max(win.1);
                    }
                    _ => w.push(win),
                },
                plan => {
                    let mut w = self.spare_windows.pop().unwrap_or_default();
                    w.push(win);
                    *plan = Plan::Windows(w);
                    self.touched.push(r);
                }
            }
        }
    }

    fn set_whole(&mut self, r: u32) {
        let plan = &mut self.plans[r as usize];
        if matches!(plan, Plan::Skip) {
            self.touched.push(r);
        }
        *plan = Plan::Whole;
    }

    /// Searches rule `r` as `plan` says; `starts` are where its matches can start, when the
    /// keyword hits tell (`RuleStarts::Keywords`).
    fn run_rule(&mut self, r: u32, plan: &Plan, starts: &mut Vec<usize>, blob: &Blob<'_>, raws: &mut Vec<Raw>) {
        let rule = &self.rules.rules[r as usize];
        if let Some(p) = &rule.path {
            match p.is_match(blob.path.as_bytes()) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.problems
                        .insert(ScanProblem(format!("rule '{}': field 'path': {e}", rule.id)));
                    return;
                }
            }
        }
        let Some(lazy) = &rule.regex else { return };
        let bytes = blob.bytes;
        let whole = [(0, bytes.len())];
        let listed = match plan {
            Plan::Skip => return,
            Plan::Whole => None,
            Plan::Windows(w) => Some(w),
        };
        let windows: &[(usize, usize)] = match listed {
            None => &whole,
            // Searching many small windows costs more than one pass once they cover most of
            // the blob.
            Some(w) if w.iter().map(|(s, e)| e - s).sum::<usize>() > bytes.len() / 2 => &whole,
            Some(w) => w,
        };
        // Text lacking every literal one of which each match holds is not searched (nor is the
        // regex compiled until some text has one).
        let required = lazy.required();
        let known_starts = self.rules.starts(r as usize);
        if let Some(RuleStarts::Keywords(_)) = known_starts {
            starts.sort_unstable();
            starts.dedup();
        }
        for &(ws, we) in windows {
            if let Some(finders) = required {
                // The blob lowercased by the keyword search, else the window lowercased here.
                let lower = if self.lowered {
                    &self.lower[ws..we]
                } else {
                    self.folded.clear();
                    self.folded.extend(bytes[ws..we].iter().map(u8::to_ascii_lowercase));
                    &self.folded[..]
                };
                if !finders.iter().any(|f| f.find(lower).is_some()) {
                    continue;
                }
            }
            let hay = &bytes[ws..we];
            // Where matches can start, when known: anchored searches there, unless there are
            // so many that one search of the window costs less.
            self.from.clear();
            match known_starts {
                Some(RuleStarts::Keywords(_)) => {
                    let lo = starts.partition_point(|&s| s < ws);
                    let hi = starts.partition_point(|&s| s < we);
                    self.from.extend(starts[lo..hi].iter().map(|&s| s - ws));
                }
                Some(RuleStarts::Lines) => Starts::line_starts(hay, &mut self.from),
                None => {}
            }
            let anchored = known_starts.is_some() && self.from.len() * ANCHORED_SEARCH_BYTES <= hay.len();
            let mut report = |caps: &[Option<Span>]| {
                let m = caps[0].expect("group 0 always matches");
                let Some(s) = rule.secret(caps) else { return };
                self.consider(r, blob, ws + m.start, ws + m.end, ws + s.start, ws + s.end, raws);
            };
            let searched = match anchored {
                true => lazy.each_captures_from(hay, &self.from, &mut report),
                false => lazy.each_captures(hay, &mut report),
            };
            if let Err(e) = searched {
                self.problems
                    .insert(ScanProblem(format!("rule '{}': field 'regex': {e}", rule.id)));
                return;
            }
        }
    }

    /// Entropy, allowlists and inline markers for one candidate.
    #[allow(clippy::too_many_arguments)]
    fn consider(&self, r: u32, blob: &Blob<'_>, ms: usize, me: usize, ss: usize, se: usize, raws: &mut Vec<Raw>) {
        let rule = &self.rules.rules[r as usize];
        let bytes = blob.bytes;
        let secret = &bytes[ss..se];
        if secret.is_empty() {
            return;
        }
        let entropy = rule.entropy.map(|_| shannon(secret));
        if let (Some(min), Some(e)) = (rule.entropy, entropy) {
            if e <= min {
                return;
            }
        }
        if rule.validate.is_some_and(|v| !v.check(secret)) {
            return;
        }
        let (ls, le) = line_bounds(bytes, ms, me);
        // Recognised ciphertexts (KMS blobs, SOPS values, …) are encrypted, not leaked secrets.
        if crate::kms::is_recognised_ciphertext(secret)
            || crate::kms::within_recognised_ciphertext(&bytes[ls..le], ss - ls, se - ls)
        {
            return;
        }
        let cand = Candidate {
            commit: blob.commit,
            path: blob.path,
            secret,
            matched: &bytes[ms..me],
            line: &bytes[ls..le],
        };
        if rule.allowlists.iter().any(|a| a.allows(&cand)) {
            return;
        }
        // A global allowlist of paths alone for every rule allows nothing here: it would have
        // skipped the blob (see `scan`).
        if self
            .rules
            .global_allowlists
            .iter()
            .filter(|a| !(a.target_rules.is_empty() && a.is_path_only()))
            .any(|a| a.applies_to(&rule.id) && a.allows(&cand))
        {
            return;
        }
        if self.inline_allowed(bytes, ls, le) {
            return;
        }
        raws.push(Raw {
            rule: r,
            start: ss,
            end: se,
            entropy,
        });
    }

    fn inline_allowed(&self, bytes: &[u8], ls: usize, le: usize) -> bool {
        // Every marker says "allow": most lines do not, and one substring search tells.
        static ALLOW: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new("allow"));
        let same_line = ALLOW.find(&bytes[ls..le]).is_some()
            && self
                .markers
                .find_iter(&bytes[ls..le])
                .any(|m| m.pattern().as_usize() < SAME_LINE_MARKERS.len());
        if same_line {
            return true;
        }
        if ls == 0 {
            return false;
        }
        let prev_start = memrchr(b'\n', &bytes[..ls - 1]).map_or(0, |p| p + 1);
        let prev = &bytes[prev_start..ls - 1];
        ALLOW.find(prev).is_some()
            && self
                .markers
                .find_iter(prev)
                .any(|m| m.pattern().as_usize() == SAME_LINE_MARKERS.len())
    }

    fn locate(&self, blob: &Blob<'_>, raws: Vec<Raw>) -> Vec<BlobMatch> {
        let mut counter = lines::LineCounter::new(blob.bytes);
        raws.into_iter()
            .map(|r| {
                let position = counter.position(r.start, r.end);
                BlobMatch {
                    rule: r.rule,
                    secret: blob.bytes[r.start..r.end].to_vec(),
                    position,
                    start: r.start,
                    end: r.end,
                    context: Context::around(blob.bytes, r.start, r.end),
                    via: None,
                    entropy: r.entropy,
                }
            })
            .collect()
    }

    /// Keeps a composite rule's match only when each required rule matched close enough.
    fn apply_composites(&self, out: &mut Vec<BlobMatch>) {
        let rules = &self.rules.rules;
        if !out.iter().any(|m| !rules[m.rule as usize].required.is_empty()) {
            return;
        }
        let snapshot = out.clone();
        out.retain(|m| {
            rules[m.rule as usize].required.iter().all(|req| {
                snapshot.iter().any(|o| {
                    o.rule as usize == req.rule
                        && req
                            .within_lines
                            .is_none_or(|n| o.position.line.abs_diff(m.position.line) <= n)
                        && req
                            .within_columns
                            .is_none_or(|n| o.position.column.abs_diff(m.position.column) <= n)
                })
            })
        });
    }

    /// Rules with only a path: the file itself is the finding.
    fn path_only(&mut self, blob: &Blob<'_>, out: &mut Vec<BlobMatch>) {
        for &r in &self.rules.path_only_rules {
            let rule = &self.rules.rules[r as usize];
            let Some(p) = &rule.path else { continue };
            match p.is_match(blob.path.as_bytes()) {
                Ok(true) => out.push(BlobMatch {
                    rule: r,
                    secret: blob.path.as_bytes().to_vec(),
                    position: Position {
                        line: 1,
                        column: 1,
                        end_line: 1,
                        end_column: 1,
                    },
                    start: 0,
                    end: 0,
                    context: Context::default(),
                    via: None,
                    entropy: None,
                }),
                Ok(false) => {}
                Err(e) => {
                    self.problems
                        .insert(ScanProblem(format!("rule '{}': field 'path': {e}", rule.id)));
                }
            }
        }
    }
}

/// Byte range of the lines around [start, end), `extra` more lines on each side.
fn window(bytes: &[u8], start: usize, end: usize, extra: usize) -> (usize, usize) {
    let mut s = start;
    for i in 0..=extra {
        match memrchr(b'\n', &bytes[..s]) {
            Some(p) => s = if i == extra { p + 1 } else { p },
            None => {
                s = 0;
                break;
            }
        }
    }
    let mut e = end.max(start);
    for i in 0..=extra {
        match memchr(b'\n', &bytes[e..]) {
            Some(p) => e = if i == extra { e + p } else { e + p + 1 },
            None => {
                e = bytes.len();
                break;
            }
        }
    }
    (s, e)
}

/// The lines containing [start, end), without the final newline.
fn line_bounds(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let s = memrchr(b'\n', &bytes[..start]).map_or(0, |p| p + 1);
    let e = memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |p| end + p);
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule's regex runs only on text holding, in some ASCII case, one of the literals every
    /// match holds: found in upper case, in blobs planned keyword by keyword and (once the
    /// budget for that is spent) by the automaton, and each blob is looked at as it is, not as
    /// the blob before it of the same length.
    #[test]
    fn required_literals_are_looked_for_in_the_blob_in_any_case() {
        let rs = crate::rules::load::load_str(
            "[[rules]]\nid = 'xml-token'\nregex = '''(?i)(?:token|secret)=([a-z0-9]{8,});end'''\nkeywords = ['token', 'secret']\n",
            "t.toml",
        )
        .unwrap();
        let finders = rs.rules[0].regex.as_ref().unwrap().required().unwrap();
        assert_eq!(finders.iter().map(|f| f.needle()).collect::<Vec<_>>(), [b";end"]);
        let mut scanner = Scanner::new(&rs);
        let found = |scanner: &mut Scanner<'_>, text: &[u8]| -> Vec<Vec<u8>> {
            let blob = Blob {
                path: "a.xml",
                bytes: text,
                commit: None,
            };
            scanner.scan(&blob).into_iter().map(|m| m.secret).collect()
        };
        let first: &[u8] = b"TOKEN=abcd1234;END\nsecret\n";
        let second: &[u8] = b"secret\nTOKEN=wxyz6789;End\n";
        assert_eq!(first.len(), second.len());
        let filler = b"filler line\n".repeat(4 << 10);
        // The first round spends the keyword-by-keyword budget.
        for _ in 0..2 {
            assert_eq!(found(&mut scanner, first), [b"abcd1234"]);
            assert_eq!(found(&mut scanner, second), [b"wxyz6789"]);
            assert_eq!(found(&mut scanner, b"token=abcd1234;en\n"), Vec::<Vec<u8>>::new());
            assert_eq!(found(&mut scanner, &[&filler[..], second].concat()), [b"wxyz6789"]);
        }
        assert!(!rs.search_one_by_one(1), "the automaton plans the last blobs");
    }

    #[test]
    fn every_inline_marker_says_allow() {
        // `inline_allowed` looks for the markers only on lines holding "allow".
        for m in SAME_LINE_MARKERS.iter().chain([&NEXT_LINE_MARKER]) {
            assert!(m.contains("allow"), "{m}");
        }
    }

    /// The keyword-by-keyword search small inputs use finds what the automaton finds, and
    /// plans every rule the same, on every example of the embedded rules (and upper-cased).
    #[test]
    fn keywords_one_by_one_plan_as_the_automaton() {
        let rules = crate::rules::load::load_embedded(crate::rules::embedded::FILES).expect("embedded rules");
        let ac = rules.keyword_automaton().expect("keywords");
        let mut texts: Vec<String> = Vec::new();
        for r in &rules.rules {
            for ex in r.examples.iter().chain(&r.negative_examples) {
                texts.push(ex.parts().1.to_string());
            }
        }
        let all = texts.join("\n");
        texts.push(all.to_ascii_uppercase());
        texts.push(all);
        texts.push("keykeykey\napi_key=ey\nEYEY".into());
        let (mut lower, mut hits) = (Vec::new(), Vec::new());
        let mut a = Scanner::new(&rules);
        let mut b = Scanner::new(&rules);
        for t in &texts {
            let bytes = t.as_bytes();
            let mut expected: Vec<(usize, usize, usize)> = Vec::new();
            ac.for_each_hit(bytes, |p, s, e| expected.push((e, s, p)));
            expected.sort_unstable();
            rules.keyword_hits_one_by_one(bytes, &mut lower, &mut hits);
            assert_eq!(hits, expected, "{t}");
            a.plan_with(bytes, false);
            b.plan_with(bytes, true);
            assert_eq!(a.plans, b.plans, "{t}");
            // The order rules run in does not matter: matches are sorted afterwards.
            let sorted = |v: &[u32]| {
                let mut v = v.to_vec();
                v.sort_unstable();
                v
            };
            assert_eq!(sorted(&a.touched), sorted(&b.touched), "{t}");
            for s in [&mut a, &mut b] {
                s.plans.iter_mut().for_each(|p| *p = Plan::Skip);
                s.touched.clear();
            }
        }
    }

    /// A delta's keyword hits derived from its base's equal a full search of the delta, for
    /// random edits of text dense with keywords: inserts that complete a keyword across a
    /// seam, deletions that join two halves, moved and repeated blocks, edits at both ends.
    #[test]
    fn delta_keyword_hits_equal_a_full_search() {
        let rules = crate::rules::load::load_embedded(crate::rules::embedded::FILES).expect("embedded rules");
        let scanner = Scanner::new(&rules);
        let mut text = String::new();
        for r in &rules.rules {
            for ex in r.examples.iter().chain(&r.negative_examples) {
                text.push_str(ex.parts().1);
                text.push('\n');
            }
            // Every keyword once in upper case, so the longest are in the text.
            for k in &r.keywords {
                text.push_str(&k.to_ascii_uppercase());
                text.push('\n');
            }
        }
        let base = text.into_bytes();
        let base_hits = scanner.keyword_hits(&base);
        assert!(base_hits.len() > 100, "the test text must be dense with keywords");
        // Deterministic pseudo-random numbers (no dependency needed for a test).
        let mut rng = crate::testrand::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
        let pieces: [&[u8]; 6] = [b"pass", b"word", b"PASSWORD=", b"api_key", b"tok", b"\nsecret: "];
        for _ in 0..300 {
            let mut target = Vec::new();
            let mut copies = Vec::new();
            for _ in 0..1 + next(8) {
                if next(3) == 0 {
                    target.extend_from_slice(pieces[next(pieces.len())]);
                } else {
                    let src = next(base.len());
                    let len = next(base.len() - src).min(4000);
                    copies.push(Copied {
                        src,
                        dst: target.len(),
                        len,
                    });
                    target.extend_from_slice(&base[src..src + len]);
                }
            }
            copies.retain(|c| c.len > 0);
            let derived = scanner.keyword_hits_delta(&target, &base_hits, &copies);
            assert_eq!(derived, scanner.keyword_hits(&target), "copies {copies:?}");
        }
        // A keyword split between two copies at each of its inner positions (the longest
        // keywords are the ones a too-short search around the seam would miss).
        let mut longest: Vec<(usize, usize, usize)> = base_hits.clone();
        longest.sort_by_key(|&(e, s, _)| std::cmp::Reverse(e - s));
        for &(e, s, _) in longest.iter().take(20) {
            for m in s + 1..e {
                let (a, b) = (s.saturating_sub(next(50)), (e + next(50)).min(base.len()));
                let copies = [
                    Copied {
                        src: a,
                        dst: 0,
                        len: m - a,
                    },
                    Copied {
                        src: m,
                        dst: m - a,
                        len: b - m,
                    },
                ];
                let target = &base[a..b];
                let derived = scanner.keyword_hits_delta(target, &base_hits, &copies);
                assert_eq!(derived, scanner.keyword_hits(target), "split at {m} of {s}..{e}");
            }
        }
        // No copies at all, and a blob that is its base.
        assert_eq!(scanner.keyword_hits_delta(&base, &base_hits, &[]), base_hits);
        let whole = [Copied {
            src: 0,
            dst: 0,
            len: base.len(),
        }];
        assert_eq!(scanner.keyword_hits_delta(&base, &base_hits, &whole), base_hits);
    }

    #[test]
    fn window_covers_extra_lines() {
        let b = b"a\nbb\ncc key dd\nee\nff";
        let k = 8;
        assert_eq!(&b[window(b, k, k + 3, 0).0..window(b, k, k + 3, 0).1], b"cc key dd");
        let (s, e) = window(b, k, k + 3, 1);
        assert_eq!(&b[s..e], b"bb\ncc key dd\nee");
        let (s, e) = window(b, k, k + 3, 5);
        assert_eq!(&b[s..e], &b[..]);
    }
}

//! A validated pattern whose regex is compiled the first time it is needed.
//!
//! Loading a user's ruleset parses every pattern (it catches syntax errors, missing groups and
//! unsupported Go syntax up front) but compiles none; the embedded rules are not even parsed
//! until needed. The pre-commit hook compiles only the rules whose keywords occur in the staged
//! change.

use std::sync::{Mutex, OnceLock, PoisonError};

use regex_automata::{meta, MatchKind, Span};
use regex_syntax::hir::{Capture, Class, Hir, HirKind, Look, Repetition};

use super::shared::Shared;

/// Lines a match may span beyond the line of a keyword hit before a rule scans whole files.
pub const MAX_WINDOW_LINES: usize = 8;

/// `size_limit` of every compiled pattern.
const SIZE_LIMIT: usize = 64 << 20;
/// `dfa_size_limit` of every compiled pattern.
const DFA_SIZE_LIMIT: usize = 2 << 20;
/// `dfa_size_limit` of patterns with a long bounded repetition (`{8,128}`): each count is a
/// state, their lazy DFAs fill up to ~1.4 MB per thread, and on the short windows a rule
/// searches a smaller cache costs nothing measurable.
const DFA_SIZE_LIMIT_COUNTED: usize = 1 << 20;
/// Anchored searches with the written pattern per haystack before an unanchored one (see
/// `each_captures`).
const MAX_ANCHORED_TRIES: usize = 8;
/// A bounded repetition with more than this many counts gets the smaller cache.
const LONG_COUNT: u32 = 64;

/// What parsing a pattern tells before it is compiled.
#[derive(Debug, Clone)]
struct Info {
    groups: usize,
    max_newlines: Option<usize>,
    long_count: bool,
    /// `long_count` of the source pattern, when it is not the one searched with.
    strict_long_count: bool,
    /// The pattern searched with, when it differs from the source (see `relax`).
    relaxed: Option<Relaxed>,
    /// Where the one capture group is in a match, when the pattern's shape fixes it.
    locator: Option<Locator>,
    /// Literals one of which every match holds, worth looking for before a search (see
    /// `LazyRegex::with_keywords`).
    required: Option<Vec<Vec<u8>>>,
    /// Where every match starts, when the keyword search or the line breaks tell.
    starts: Option<Starts>,
}

/// Where every match of a pattern starts, known before it is searched: the search can then be
/// anchored searches at those places instead of one unanchored search of the text. An anchored
/// search reads from its start until it can no longer match, and finds the match's start
/// without reading backwards; its lazy DFA builds no states for "a match could also start
/// here" (on the 5,000-file tree the unanchored generic rules built most of their states that
/// way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Starts {
    /// Every match starts `d` bytes before an occurrence of one of the rule's keywords (ASCII
    /// case aside): the keywords (lowercased) with their distances `d`. Every match begins
    /// with one of a few strings (`(?i)(?:password|auth[_.-]?token|...)`: `password`,
    /// `auth_token`, `authtoken`, ...), each of which holds a keyword at a fixed place in it
    /// (`token` 5 and 4 bytes in).
    Keywords(Vec<(Vec<u8>, Vec<u32>)>),
    /// Every match starts where a line does (`^` in multi-line mode): at the start of the text,
    /// after `\n`, or after a `\r` not followed by `\n` (the CRLF mode rules are parsed in).
    Lines,
}

impl Starts {
    /// Where a match may start in `hay` (ascending), for `Starts::Lines`.
    pub fn line_starts(hay: &[u8], out: &mut Vec<usize>) {
        if hay.is_empty() {
            return;
        }
        out.push(0);
        for p in memchr::memchr2_iter(b'\n', b'\r', hay) {
            let next = p + 1;
            if next < hay.len() && (hay[p] == b'\n' || hay[next] != b'\n') {
                out.push(next);
            }
        }
    }
}

/// Where a pattern's one capture group lies in a match, found without a capture engine.
#[derive(Debug, Clone)]
enum Locator {
    /// The pattern is `... B (P C{n,}) S...` at the top level, where B (or P's last element,
    /// when the group starts with a fixed-length P) ends with a byte outside class C (B may
    /// end with optional items that consume only such bytes: `=\s*["']?(C{n})`) and S
    /// consumes only bytes outside C. The group's run of C then ends at the last byte of C in
    /// the match and starts after the byte outside C before it.
    Run {
        set: Box<[bool; 256]>,
        /// Bytes of the group before its run (P).
        prefix: usize,
    },
    /// The pattern is `B (G) A` at the top level, where each side is assertions and either
    /// literal bytes and one-byte classes (a fixed count of bytes), or one optional byte of a
    /// set G never starts (for B) or ends (for A) with, or anything that consumes no byte G
    /// can start (end) with: `\b(AKIA[A-Z2-7]{16})\b`, `(?:^|[\s=])([A-Za-z0-9/+]{40})(?:[\s,]|$)`,
    /// `"k"\s*:\s*"(-----BEGIN[^"]+)"`. The group is the match without those bytes.
    Trim { start: Edge, end: Edge },
    /// The pattern is `B D W (P C{n,}) S...` at the top level, where B never consumes a byte of
    /// the one-byte item D (or of the last byte of a literal, the rest of which is then B), W is empty or a repetition of a class the group never starts with,
    /// P has a fixed length and S cannot start with a byte of C: `name = value # note`, whose
    /// group follows the first `=` or `:` and its blanks, and is P then the run of C there.
    /// The pattern is `B (P C{n,} Q) A` at the top level, where A is as for `Trim`'s end, P has
    /// a fixed length, the byte before the run is outside C (as for `Run`) and Q consumes only
    /// bytes outside C: `Key=([A-Za-z0-9+/]{86}==)`. The run ends at the last byte of C before
    /// the group's end.
    Back {
        end: Edge,
        set: Box<[bool; 256]>,
        prefix: usize,
    },
    After {
        delim: Box<[bool; 256]>,
        skip: Box<[bool; 256]>,
        prefix: usize,
        set: Box<[bool; 256]>,
    },
}

impl Edge {
    /// The end of a group that ends on this edge, in a match that ends at `m_end`; the group
    /// starts at `from` or later.
    fn end(&self, hay: &[u8], from: usize, m_end: usize) -> usize {
        match self {
            Edge::Fixed(n) => m_end - n,
            Edge::Optional(set) => m_end - usize::from(set[usize::from(hay[m_end - 1])]),
            Edge::Scan(set) => hay[from.min(m_end)..m_end]
                .iter()
                .rposition(|&b| set[usize::from(b)])
                .map_or(m_end, |p| from + p + 1),
        }
    }
}

/// What one side of a `Locator::Trim` group consumes.
#[derive(Debug, Clone)]
enum Edge {
    Fixed(usize),
    /// One byte of the set, or none.
    Optional(Box<[bool; 256]>),
    /// Any bytes outside the set, which holds every byte the group can start (end) with.
    Scan(Box<[bool; 256]>),
}

impl Locator {
    fn of(hir: &Hir) -> Option<Locator> {
        let HirKind::Concat(items) = hir.kind() else {
            return match hir.kind() {
                HirKind::Capture(_) => Some(Locator::Trim {
                    start: Edge::Fixed(0),
                    end: Edge::Fixed(0),
                }),
                _ => None,
            };
        };
        let k = items.iter().position(|h| matches!(h.kind(), HirKind::Capture(_)))?;
        let HirKind::Capture(c) = items[k].kind() else {
            return None;
        };
        // Fixed or optional edges cost nothing to apply; a run or a scan reads the match.
        let trim = Locator::trim(items, k, c);
        if let Some(Locator::Trim {
            start: Edge::Fixed(_) | Edge::Optional(_),
            end: Edge::Fixed(_) | Edge::Optional(_),
        }) = trim
        {
            return trim;
        }
        Locator::run(items, k, c)
            .or(trim)
            .or_else(|| Locator::back(items, k, c))
            .or_else(|| Locator::after(items, k, c))
    }

    fn after(items: &[Hir], k: usize, c: &Capture) -> Option<Locator> {
        let g = RunGroup::of(c)?;
        let rest: Vec<&Hir> = items[k + 1..].iter().collect();
        if !stops(&rest, &g.set) {
            return None;
        }
        let group_first = first_bytes(&c.sub)?;
        // D, then maybe W, right before the group.
        let (d, skip) = match &items[..k] {
            [] => return None,
            [.., w] => match w.kind() {
                HirKind::Repetition(r) if k >= 2 => (k - 2, byte_set(&r.sub)?),
                _ => (k - 1, [false; 256]),
            },
        };
        // D may end a literal (`token=`) whose other bytes are not D.
        let delim = match items[d].kind() {
            HirKind::Literal(l) if l.0.len() > 1 => {
                let (&last, head) = l.0.split_last()?;
                let mut set = [false; 256];
                set[usize::from(last)] = true;
                (!head.contains(&last)).then_some(set)?
            }
            _ => one_byte(&items[d])?,
        };
        if !disjoint(&skip, &group_first) || !items[..d].iter().all(|h| consumes_outside(h, &delim)) {
            return None;
        }
        Some(Locator::After {
            delim: Box::new(delim),
            skip: Box::new(skip),
            prefix: g.prefix_len,
            set: Box::new(g.set),
        })
    }

    fn run(items: &[Hir], k: usize, c: &Capture) -> Option<Locator> {
        let g = RunGroup::of(c)?;
        // The byte before the run is outside C: P's last, or the last one the items before the
        // group consume (`["']?\s{0,3}(?:=|:)` ends with `=` or `:` whichever of it is there).
        let before_ok = match g.prefix.last() {
            Some(p) => ends_outside(p, &g.set),
            None => seq_ends_outside(&items[..k], &g.set, true),
        };
        if !before_ok || !items[k + 1..].iter().all(|h| consumes_outside(h, &g.set)) {
            return None;
        }
        Some(Locator::Run {
            set: Box::new(g.set),
            prefix: g.prefix_len,
        })
    }

    fn trim(items: &[Hir], k: usize, c: &Capture) -> Option<Locator> {
        if c.sub.properties().minimum_len()? == 0 {
            return None;
        }
        Some(Locator::Trim {
            start: side_edge(&items[..k], first_bytes(&c.sub))?,
            end: side_edge(&items[k + 1..], last_bytes(&c.sub))?,
        })
    }

    fn back(items: &[Hir], k: usize, c: &Capture) -> Option<Locator> {
        let HirKind::Concat(parts) = c.sub.kind() else {
            return None;
        };
        // P, the run, Q: the first repetition of a class that P's fixed length reaches.
        let r = parts.iter().position(|h| matches!(h.kind(), HirKind::Repetition(_)))?;
        let HirKind::Repetition(rep) = parts[r].kind() else {
            return None;
        };
        let set = byte_set(&rep.sub)?;
        let prefix = fixed_len(&parts[..r])?;
        let before_ok = match parts[..r].last() {
            Some(p) => ends_outside(p, &set),
            None => seq_ends_outside(&items[..k], &set, true),
        };
        if rep.min == 0 || !before_ok || !parts[r + 1..].iter().all(|h| consumes_outside(h, &set)) {
            return None;
        }
        Some(Locator::Back {
            end: side_edge(&items[k + 1..], last_bytes(&c.sub))?,
            set: Box::new(set),
            prefix,
        })
    }

    /// The group of match `m` in `hay`.
    fn group(&self, hay: &[u8], m: Span) -> Span {
        match self {
            Locator::Run { set, prefix } => {
                let (start, end) = last_run(hay, set, m.start, m.end);
                Span {
                    start: start.saturating_sub(*prefix).max(m.start),
                    end,
                }
            }
            Locator::Trim { start, end } => {
                // The group is not empty, so neither is the match: both end bytes exist.
                let s = match start {
                    Edge::Fixed(n) => m.start + n,
                    Edge::Optional(set) => m.start + usize::from(set[usize::from(hay[m.start])]),
                    Edge::Scan(set) => hay[m.start..m.end]
                        .iter()
                        .position(|&b| set[usize::from(b)])
                        .map_or(m.start, |p| m.start + p),
                };
                let e = end.end(hay, s, m.end);
                Span {
                    start: s,
                    end: e.max(s),
                }
            }
            Locator::Back { end, set, prefix } => {
                let e = end.end(hay, m.start, m.end);
                let (start, _) = last_run(hay, set, m.start, e);
                Span {
                    start: start.saturating_sub(*prefix).max(m.start),
                    end: e,
                }
            }
            Locator::After {
                delim,
                skip,
                prefix,
                set,
            } => {
                let at = |from: usize, stop: &dyn Fn(u8) -> bool| {
                    hay[from..m.end]
                        .iter()
                        .position(|&b| stop(b))
                        .map_or(m.end, |p| from + p)
                };
                let d = at(m.start, &|b| delim[usize::from(b)]);
                let start = at((d + 1).min(m.end), &|b| !skip[usize::from(b)]);
                let end = at((start + prefix).min(m.end), &|b| !set[usize::from(b)]);
                Span { start, end }
            }
        }
    }
}

/// How many bytes `items` consume when that is the same in every match.
fn fixed_len(items: &[Hir]) -> Option<usize> {
    items.iter().try_fold(0, |n, h| {
        let p = h.properties();
        match (p.minimum_len(), p.maximum_len()) {
            (Some(a), Some(b)) if a == b => Some(n + a),
            _ => None,
        }
    })
}

/// The last run of `set` bytes in `hay[lo..end]`, as (start, end).
fn last_run(hay: &[u8], set: &[bool; 256], lo: usize, end: usize) -> (usize, usize) {
    let inside = |i: usize| set[usize::from(hay[i])];
    let mut e = end;
    while e > lo && !inside(e - 1) {
        e -= 1;
    }
    let mut s = e;
    while s > lo && inside(s - 1) {
        s -= 1;
    }
    (s, e)
}

/// How the group's edge is found from what is on that side of it (see `Locator::Trim`);
/// `group` holds the bytes the group can start (end) with on that side.
fn side_edge(side: &[Hir], group: Option<[bool; 256]>) -> Option<Edge> {
    match edge(side) {
        Some((fixed, None)) => return Some(Edge::Fixed(fixed)),
        Some((0, Some(set))) if group.is_some_and(|g| disjoint(&set, &g)) => {
            return Some(Edge::Optional(Box::new(set)))
        }
        _ => {}
    }
    // Bytes the group starts (ends) with that this side never consumes: the first (last) of
    // them in the match is the group's.
    let group = group?;
    side.iter()
        .all(|h| consumes_outside(h, &group))
        .then(|| Edge::Scan(Box::new(group)))
}

/// The bytes `h` consumes when it always consumes exactly one: a class or a one-byte literal.
fn one_byte(h: &Hir) -> Option<[bool; 256]> {
    let p = h.properties();
    (p.minimum_len() == Some(1) && p.maximum_len() == Some(1) && p.look_set().is_empty())
        .then(|| one_byte_set(h))
        .flatten()
}

/// What the items on one side of a group consume: a fixed count of bytes (literals and one-byte
/// classes), or one optional byte of a set; assertions aside. `None` for anything else.
fn edge(items: &[Hir]) -> Option<(usize, Option<[bool; 256]>)> {
    let mut fixed = 0;
    let mut optional = None;
    for h in items {
        match h.kind() {
            HirKind::Look(_) => {}
            HirKind::Literal(l) => fixed += l.0.len(),
            HirKind::Class(_) => {
                byte_set(h)?;
                fixed += 1;
            }
            _ if optional.is_none() && h.properties().maximum_len() == Some(1) => optional = Some(one_byte_set(h)?),
            _ => return None,
        }
    }
    Some((fixed, optional))
}

/// The bytes `h` consumes when it consumes at most one: classes, one-byte literals, assertions
/// and empty branches (none).
fn one_byte_set(h: &Hir) -> Option<[bool; 256]> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Some([false; 256]),
        HirKind::Literal(l) if l.0.len() == 1 => {
            let mut set = [false; 256];
            set[usize::from(l.0[0])] = true;
            Some(set)
        }
        HirKind::Class(_) => byte_set(h),
        HirKind::Repetition(r) if r.max.is_some_and(|m| m <= 1) => one_byte_set(&r.sub),
        HirKind::Alternation(v) => {
            let mut set = [false; 256];
            for b in v {
                let one = one_byte_set(b)?;
                union_into(&mut set, &one);
            }
            Some(set)
        }
        _ => None,
    }
}

/// The bytes a match of `h` can start with (`first`) or end with (`!first`); `None` when not
/// known (assertions, empty matches, captures inside).
fn edge_bytes(h: &Hir, first: bool) -> Option<[bool; 256]> {
    match h.kind() {
        HirKind::Literal(l) => {
            let mut set = [false; 256];
            set[usize::from(if first { *l.0.first()? } else { *l.0.last()? })] = true;
            Some(set)
        }
        HirKind::Class(_) => byte_set(h),
        HirKind::Repetition(r) if r.max != Some(0) => edge_bytes(&r.sub, first),
        HirKind::Alternation(v) => {
            let mut set = [false; 256];
            for b in v {
                let one = edge_bytes(b, first)?;
                union_into(&mut set, &one);
            }
            Some(set)
        }
        HirKind::Concat(v) => {
            // From that end, the items until one that cannot be empty.
            let mut set = [false; 256];
            let ordered: Box<dyn Iterator<Item = &Hir>> = if first {
                Box::new(v.iter())
            } else {
                Box::new(v.iter().rev())
            };
            for item in ordered {
                if matches!(item.kind(), HirKind::Look(_)) {
                    continue;
                }
                let one = edge_bytes(item, first)?;
                union_into(&mut set, &one);
                if item.properties().minimum_len()? > 0 {
                    return Some(set);
                }
            }
            None
        }
        _ => None,
    }
}

/// Whether no byte is in both sets.
fn disjoint(a: &[bool; 256], b: &[bool; 256]) -> bool {
    a.iter().zip(b).all(|(x, y)| !(x & y))
}

/// Adds the bytes of `other` to `set`.
fn union_into(set: &mut [bool; 256], other: &[bool; 256]) {
    set.iter_mut().zip(other).for_each(|(x, y)| *x |= y);
}

fn first_bytes(h: &Hir) -> Option<[bool; 256]> {
    edge_bytes(h, true)
}

fn last_bytes(h: &Hir) -> Option<[bool; 256]> {
    edge_bytes(h, false)
}

/// Whether every match of `h` ends with a byte outside `set` (and is not empty).
fn ends_outside(h: &Hir, set: &[bool; 256]) -> bool {
    match h.kind() {
        HirKind::Literal(l) => l.0.last().is_some_and(|&b| !set[usize::from(b)]),
        HirKind::Class(_) => byte_set(h).is_some_and(|c| disjoint(&c, set)),
        HirKind::Alternation(v) => v.iter().all(|h| ends_outside(h, set)),
        HirKind::Concat(v) => seq_ends_outside(v, set, false),
        HirKind::Repetition(r) => r.min > 0 && ends_outside(&r.sub, set),
        _ => false,
    }
}

/// Whether every match of the sequence `items` ends with a byte outside `set`: the last item
/// that consumes a byte always does, and the items after it consume no byte of `set` when they
/// consume any. At the start of a pattern (`at_start`) the whole sequence may match nothing as
/// well: what follows it then starts the match.
fn seq_ends_outside(items: &[Hir], set: &[bool; 256], at_start: bool) -> bool {
    for h in items.iter().rev() {
        if ends_outside(h, set) {
            return true;
        }
        if h.properties().minimum_len() != Some(0) || !consumes_outside(h, set) {
            return false;
        }
    }
    at_start
}

/// Whether `h` can only consume bytes outside `set` (and holds no capture group).
fn consumes_outside(h: &Hir, set: &[bool; 256]) -> bool {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => l.0.iter().all(|&b| !set[usize::from(b)]),
        HirKind::Class(_) => byte_set(h).is_some_and(|c| disjoint(&c, set)),
        HirKind::Repetition(r) => consumes_outside(&r.sub, set),
        HirKind::Capture(_) => false,
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().all(|h| consumes_outside(h, set)),
    }
}

/// A pattern with the bounds of its long repetitions removed, and what must then be checked of
/// each match: the capture groups' lengths (group index, fewest and most bytes the group may
/// hold) and the runs of a class (no run of the class's bytes in the match may be longer).
#[derive(Debug, Clone)]
struct Relaxed {
    bounds: Vec<(usize, usize, usize)>,
    runs: Vec<RunBound>,
}

impl Relaxed {
    /// Whether a relaxed match in `hay` (its groups' `spans`, the match first) keeps every
    /// relaxed group and run within its bound: then it is the written pattern's match.
    fn within(&self, hay: &[u8], spans: &[Option<Span>]) -> bool {
        let m = spans[0].expect("group 0 always matches");
        self.bounds
            .iter()
            .all(|&(g, min, max)| spans[g].is_none_or(|c| min <= c.len() && c.len() <= max))
            && self.runs.iter().all(|r| r.holds(&hay[m.range()]))
    }
}

impl Info {
    /// Appends match `m` in `hay` and, when the locator finds it, its group: what a search
    /// gives when the groups need no capture engine.
    fn push_groups(&self, hay: &[u8], m: Span, spans: &mut Vec<Option<Span>>) {
        spans.push(Some(m));
        if let Some(loc) = &self.locator {
            spans.push(Some(loc.group(hay, m)));
        }
    }
}

/// A relaxed repetition of a class outside a group that ends with it: no run of `set` bytes in
/// a match may be longer than `max` (see `relax_run`).
#[derive(Debug, Clone)]
struct RunBound {
    set: Box<[bool; 256]>,
    max: usize,
}

impl RunBound {
    /// Whether no run of the class's bytes in `hay` is longer than the bound.
    fn holds(&self, hay: &[u8]) -> bool {
        let mut run = 0;
        for &b in hay {
            if self.set[usize::from(b)] {
                run += 1;
                if run > self.max {
                    return false;
                }
            } else {
                run = 0;
            }
        }
        true
    }
}

/// A pattern compiled on first use. User patterns are parsed (validated) when loaded; the
/// embedded rules, which the test suite validates, are parsed on first use too, so start-up
/// costs only what the scanned content needs.
#[derive(Debug)]
pub struct LazyRegex {
    /// The pattern in Rust syntax (after Go translation).
    pub source: String,
    info: OnceLock<Result<Info, String>>,
    cell: OnceLock<Result<Shared, String>>,
    /// The source pattern compiled as written, when the relaxed one is searched with: built
    /// only if a relaxed match breaks a bound (see `each_captures`).
    strict: OnceLock<Result<Shared, String>>,
    /// For `is_match`: the same pattern without literal prefilters (`None` if it failed to
    /// build; `get` then gives the error).
    matcher: OnceLock<Option<Shared>>,
    /// Searched over whole files even when its matches fit in a few lines (a rule without
    /// keywords): see `prefilter`.
    pub whole_files: bool,
    /// The rule's keywords (lowercased), one of which the text searched holds.
    keywords: Vec<Vec<u8>>,
    /// Finders of the required literals of `Info` (lowercased); `None` without any.
    filter: OnceLock<Option<Vec<memchr::memmem::Finder<'static>>>>,
    /// What `get` compiles (the relaxed pattern when there is one), kept from the parse that
    /// gave `info`: a pattern a scan needs is parsed once, not again to be compiled.
    pending: Mutex<Option<Hir>>,
}

impl LazyRegex {
    /// Translates and parses `pattern`; errors are one line, fit to follow "regex: ".
    pub fn new(pattern: &str) -> Result<LazyRegex, String> {
        let lazy = LazyRegex::deferred(pattern)?;
        lazy.check()?;
        // Checked when loaded, maybe never compiled: not worth keeping parsed meanwhile.
        lazy.take_pending();
        Ok(lazy)
    }

    /// Parses the pattern now (if not yet): its errors, one line each.
    pub fn check(&self) -> Result<(), String> {
        self.info().map(|_| ())
    }

    /// Translates `pattern` now and parses it on first use (for trusted, tested patterns).
    pub fn deferred(pattern: &str) -> Result<LazyRegex, String> {
        let source = super::re2::translate(pattern)?;
        Ok(LazyRegex {
            source,
            info: OnceLock::new(),
            cell: OnceLock::new(),
            strict: OnceLock::new(),
            whole_files: false,
            matcher: OnceLock::new(),
            keywords: Vec::new(),
            filter: OnceLock::new(),
            pending: Mutex::new(None),
        })
    }

    /// The pattern of a rule with `keywords`, whose searches are given text that holds one of
    /// them (the lines around a keyword hit): `required` then gives literals chosen to tell
    /// something such a text may lack (`</` or `value="` of the generic XML rule, whose
    /// keywords are `password`, `token`, ...). Call before the pattern is first used.
    pub fn with_keywords(mut self, keywords: &[String]) -> LazyRegex {
        self.keywords = keywords.iter().map(|k| k.to_ascii_lowercase().into_bytes()).collect();
        self
    }

    fn info(&self) -> Result<&Info, String> {
        self.info
            .get_or_init(|| {
                let (hir, _) = parse_either(&self.source)?;
                let (info, relaxed) = Info::of(&hir, &self.keywords);
                *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(relaxed.unwrap_or(hir));
                Ok(info)
            })
            .as_ref()
            .map_err(String::clone)
    }

    fn take_pending(&self) -> Option<Hir> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Number of explicit capture groups (0 if the pattern does not parse).
    pub fn groups(&self) -> usize {
        self.info().map_or(0, |i| i.groups)
    }

    /// Most newlines a match can contain; `None` when unbounded (or unparseable).
    pub fn max_newlines(&self) -> Option<usize> {
        self.info().ok().and_then(|i| i.max_newlines)
    }

    /// The compiled regex, compiling it now if this is the first use. For a pattern with long
    /// bounded repetitions this is the relaxed pattern (see `relax`): search it with
    /// `each_captures`, which checks the bounds, not with `captures_iter`.
    pub fn get(&self) -> Result<&Shared, &str> {
        self.cell
            .get_or_init(|| {
                let info = self.info()?;
                let hir = match self.take_pending() {
                    Some(hir) => hir,
                    None => {
                        let (hir, _) = parse_either(&self.source)?;
                        match info.relaxed {
                            Some(_) => relax(&hir).map_or(hir, |(h, _, _)| h),
                            None => hir,
                        }
                    }
                };
                compile(&hir, info.long_count, self.prefilter(info))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Calls `f` with the captures of every match in `hay`, left to right without overlaps:
    /// what `captures_iter` of the pattern as written gives.
    ///
    /// A relaxed pattern is searched, and its match is the written pattern's whenever its
    /// bounded groups and runs are within their bounds (see `relax`). When one is not, the written
    /// pattern is searched from the relaxed match's start: no match of the written pattern can
    /// start earlier, as every one of them is a relaxed match too; and one that starts later
    /// starts where a later relaxed match does.
    pub fn each_captures(&self, hay: &[u8], mut f: impl FnMut(&[Option<Span>])) -> Result<(), String> {
        let re = self.get().map_err(str::to_string)?;
        let info = self.info()?;
        let per_match = re.groups() + 1;
        let mut spans = Vec::new();
        // Without groups, or with one the locator finds, a match is all a search must give.
        let direct = per_match == 1 || info.locator.is_some();
        let Some(relaxed) = &info.relaxed else {
            if direct {
                let mut found = Vec::new();
                re.find_all(hay, &mut found);
                for m in found {
                    spans.clear();
                    info.push_groups(hay, m, &mut spans);
                    f(&spans);
                }
                return Ok(());
            }
            re.captures_all(hay, &mut spans);
            spans.chunks(per_match).for_each(f);
            return Ok(());
        };
        // Relaxed patterns never match empty (`relax` checks), so every match moves on.
        let mut at = 0;
        let mut anchored_tries = 0;
        while at < hay.len() {
            spans.clear();
            if direct {
                let Some(m) = re.find_at(hay, at) else { break };
                info.push_groups(hay, m, &mut spans);
            } else if !re.captures_at(hay, at, &mut spans) {
                break;
            }
            let m = spans[0].expect("group 0 always matches");
            if !relaxed.within(hay, &spans) {
                spans.clear();
                let strict = self.strict()?;
                // No written match starts before `m`. One that starts where `m` does is found
                // by an anchored search, which reads little more than the match; if there is
                // none, the next candidate start is the relaxed pattern's next match. A few
                // such tries per haystack, then one unanchored search (tries could otherwise
                // cost a search per byte of a long run).
                if anchored_tries < MAX_ANCHORED_TRIES {
                    anchored_tries += 1;
                    if !strict.captures_anchored(hay, m.start, &mut spans) {
                        at = m.start + 1;
                        continue;
                    }
                } else if !strict.captures_at(hay, m.start, &mut spans) {
                    break;
                }
            }
            f(&spans);
            at = spans[0].expect("group 0 always matches").end;
        }
        Ok(())
    }

    /// Where every match starts, when that is known before searching (see `Starts`).
    pub fn starts(&self) -> Option<&Starts> {
        self.info().ok()?.starts.as_ref()
    }

    /// `each_captures` for a text in which every match starts at one of `starts` (ascending;
    /// see `Starts`): an anchored search at each, skipping those inside the last match. The
    /// first place with a match is where the leftmost match starts, and an anchored search
    /// there prefers what the unanchored one does, so the matches are the same.
    pub fn each_captures_from(
        &self,
        hay: &[u8],
        starts: &[usize],
        mut f: impl FnMut(&[Option<Span>]),
    ) -> Result<(), String> {
        let re = self.get().map_err(str::to_string)?;
        let info = self.info()?;
        let direct = re.groups() == 0 || info.locator.is_some();
        let mut spans = Vec::new();
        let mut next = 0;
        for &at in starts {
            if at < next || at >= hay.len() {
                continue;
            }
            spans.clear();
            if direct {
                let Some(m) = re.find_anchored(hay, at) else { continue };
                info.push_groups(hay, m, &mut spans);
            } else if !re.captures_anchored(hay, at, &mut spans) {
                continue;
            }
            // A relaxed match at `at` that breaks a bound: the written pattern's match there,
            // if any (see `each_captures`).
            if info.relaxed.as_ref().is_some_and(|r| !r.within(hay, &spans)) {
                spans.clear();
                if !self.strict()?.captures_anchored(hay, at, &mut spans) {
                    continue;
                }
            }
            f(&spans);
            // Patterns with known starts never match empty (`match_starts`).
            next = spans[0].expect("group 0 always matches").end.max(at + 1);
        }
        Ok(())
    }

    /// Finders of literals, ASCII-lowercased, one of which every match holds in some ASCII
    /// case: text whose lowercased form holds none of them has no match. `None` when no such
    /// literals are known or worth looking for (see `with_keywords`).
    pub fn required(&self) -> Option<&[memchr::memmem::Finder<'static>]> {
        self.filter
            .get_or_init(|| {
                let set = self.info().ok()?.required.as_ref()?;
                Some(
                    set.iter()
                        .map(|l| memchr::memmem::Finder::new(l).into_owned())
                        .collect(),
                )
            })
            .as_deref()
    }

    /// The pattern as written, compiled: `get` when nothing is relaxed.
    fn strict(&self) -> Result<&Shared, String> {
        let info = self.info()?;
        if info.relaxed.is_none() {
            return self.get().map_err(str::to_string);
        }
        self.strict
            .get_or_init(|| {
                let (hir, _) = parse_either(&self.source)?;
                compile(&hir, info.strict_long_count, self.prefilter(info))
            })
            .as_ref()
            .map_err(String::clone)
    }

    /// Whether to compile with literal prefilters. Extracting literals is much of the cost of
    /// compiling a pattern (the one-file scan: 49 -> 43 M instructions without), and a search
    /// of the few lines around a keyword hit gains nothing from skipping ahead; a pattern
    /// searched over whole files does.
    fn prefilter(&self, info: &Info) -> bool {
        self.whole_files || info.max_newlines.is_none_or(|n| n > MAX_WINDOW_LINES)
    }

    /// Whether the pattern matches anywhere in `hay` (allowlists, paths): the same answer as
    /// `get()?.is_match(hay)`, from a regex built without literal prefilters. Extracting and
    /// optimising literals is most of the cost of compiling these patterns, and they are
    /// matched against short haystacks (a secret, a line, a path) where a prefilter gains
    /// nothing; the first finding of a scan would otherwise compile every global allowlist
    /// pattern with it.
    pub fn is_match(&self, hay: &[u8]) -> Result<bool, &str> {
        match self.matcher.get_or_init(|| self.build_matcher()) {
            Some(m) => Ok(m.is_match(hay)),
            None => self
                .strict()
                .map(|r| r.is_match(hay))
                .map_err(|_| "pattern does not compile"),
        }
    }

    /// Matchers for an allowlist's patterns, answering together whether any of them matches.
    ///
    /// With `multi_line` off, `^` and `$` are the ends of the text, as in Go and gitleaks
    /// (allowlists are asked about a secret or a match, not a file). Patterns anchored at the
    /// start of the text are built as one matcher and the rest as another: an anchored search
    /// reads a short secret once and stops, where an unanchored union of dozens of patterns
    /// builds a large lazy DFA that every worker pays for on first use (the generic rules'
    /// allowlist cost 40 ms per thread on the 5,000-file tree). A matcher's regex is compiled
    /// when a text first reaches it (past its literals, if it has any); a group that does not
    /// build as one falls back to a regex per pattern; a pattern that does not parse (user
    /// patterns are validated when loaded) never matches.
    ///
    /// The unanchored patterns each of whose matches holds one of a few literals (`token` of
    /// `(?i)(?:next|page)[_.-]?token\s*=`, see `required_any`) are another matcher, searched
    /// only when the text holds one of them in some ASCII case: most lines and secrets an
    /// allowlist is asked about have none, and a literal search is much cheaper than a lazy
    /// DFA's (which also builds states for them). The remaining patterns are a third.
    /// For trees, unanchored patterns that are nothing but literals in either ASCII case
    /// (`(?i)example`, `(?i)x{5,}`, see `exact_literals`) are answered by a literal automaton
    /// alone, no regex (a few small inputs leave them with the others: one automaton less to
    /// build).
    ///
    /// For trees, anchored patterns whose every match starts with a literal (`(?i)^(?:true|false)$`)
    /// stay one matcher, as a random secret ends all of them within a byte or two; each of the
    /// others (`^[0-9a-f]{8,31}$`, `^[a-z]+(?:[A-Z][a-z]+)+$`) is a matcher of its own. Together,
    /// their lazy DFA's states are every combination of the counts and runs each pattern is in,
    /// and a scan of random secrets builds new ones to the end (the generic allowlist's 26
    /// anchored patterns in one regex: 6.1 ms for the 2,670 secrets of the 5,000-file tree the
    /// first time, 2.5 ms again; one regex each: 2.3 ms in all, the first time as later). A few
    /// small inputs keep them together: there compiling is what costs.
    /// With `small_input`, literal automata are built to be quick to build rather than to search.
    pub fn any_matchers(patterns: &[LazyRegex], multi_line: bool, small_input: bool) -> Vec<AnyMatcher> {
        let hirs: Vec<Hir> = patterns
            .iter()
            .filter_map(|p| parse_either_with(&p.source, multi_line).ok().map(|(hir, _)| hir))
            .collect();
        let (anchored, rest): (Vec<Hir>, Vec<Hir>) = hirs
            .into_iter()
            .partition(|h| h.properties().look_set_prefix().contains(Look::Start));
        // Unanchored patterns holding one of a few literals in every match are searched only
        // when the text holds one; the others always.
        let (mut literals, mut with_literals, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        let mut exact = Vec::new();
        for h in rest {
            if let Some(set) = (!small_input).then(|| exact_literals(&h)).flatten() {
                exact.extend(set);
                continue;
            }
            match required_any(&h, &[]).filter(|set| shortest(set) >= 2) {
                Some(set) => {
                    literals.extend(set);
                    with_literals.push(h);
                }
                None => plain.push(h),
            }
        }
        let automaton = |literals: Vec<Vec<u8>>| {
            (!literals.is_empty())
                .then(|| {
                    // A few dozen literals build as a DFA in ~0.6 M instructions, as a contiguous
                    // NFA in a fifth of that: the DFA's faster search pays only over many texts.
                    aho_corasick::AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .kind(small_input.then_some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                        .build(literals)
                        .ok()
                })
                .flatten()
        };
        let pre = automaton(literals);
        let mut out = Vec::new();
        if let Some(pre) = automaton(exact) {
            out.push(AnyMatcher {
                hirs: Vec::new(),
                re: OnceLock::new(),
                pre: Some(pre),
                small_input,
            });
        }
        let (anchored, alone): (Vec<Hir>, Vec<Hir>) = match small_input {
            true => (anchored, Vec::new()),
            false => anchored.into_iter().partition(starts_with_literal),
        };
        let groups = std::iter::once((anchored, None))
            .chain(alone.into_iter().map(|h| (vec![h], None)))
            .chain([(with_literals, pre), (plain, None)]);
        for (group, pre) in groups {
            if !group.is_empty() {
                out.push(AnyMatcher {
                    hirs: group,
                    re: OnceLock::new(),
                    pre,
                    // A line may be a megabyte of minified code; a secret is short.
                    small_input: small_input && !multi_line,
                });
            }
        }
        out
    }

    /// The meta regex `get` builds (the configuration the regex crate's `RegexBuilder` gives
    /// it, see its `builders.rs`) with `auto_prefilter` off. A pattern only asked whether it
    /// matches (a path, an allowlist's) needs none of `Info`'s facts.
    fn build_matcher(&self) -> Option<Shared> {
        let (hir, _) = parse_either(&self.source).ok()?;
        meta::Builder::new()
            .configure(matcher_config())
            .build_from_hir(&hir)
            .ok()
            .map(Shared::new)
    }

    /// Whether a match near a keyword hit fits in a window of a few lines around it.
    pub fn window_lines(&self) -> Option<usize> {
        self.max_newlines().filter(|&n| n <= MAX_WINDOW_LINES)
    }
}

impl Info {
    /// The facts about `hir`, and its relaxed form when it has one (see `relax`).
    fn of(hir: &Hir, keywords: &[Vec<u8>]) -> (Info, Option<Hir>) {
        let keywords: Vec<&[u8]> = keywords.iter().map(Vec::as_slice).collect();
        let (relaxed_hir, relaxed) = match relax(hir) {
            Some((h, bounds, runs)) => (Some(h), Some(Relaxed { bounds, runs })),
            None => (None, None),
        };
        let info = Info {
            groups: hir.properties().explicit_captures_len(),
            max_newlines: max_newlines(hir),
            long_count: has_long_count(relaxed_hir.as_ref().unwrap_or(hir)),
            strict_long_count: has_long_count(hir),
            relaxed,
            locator: match hir.properties().explicit_captures_len() {
                1 => Locator::of(hir),
                _ => None,
            },
            // One-byte literals (`:`, `.`) are in most text; a set every keyword holds a
            // literal of is in all of it.
            required: required_any(hir, &keywords).filter(|set| shortest(set) >= 2 && tells(set, &keywords)),
            starts: match_starts(hir, &keywords),
        };
        (info, relaxed_hir)
    }
}

/// One of an allowlist's matchers (see `LazyRegex::any_matchers`).
#[derive(Debug)]
pub struct AnyMatcher {
    hirs: Vec<Hir>,
    /// The patterns compiled as one regex when first needed, or one regex per pattern when
    /// they do not build as one; a pattern that does not build never matches.
    re: OnceLock<Vec<Shared>>,
    /// Literals one of which every match holds (ASCII case aside), when known.
    pre: Option<aho_corasick::AhoCorasick>,
    /// Built for a few searches of short texts: without lazy DFAs (their reverse automaton
    /// costs as much to build as the pattern's own) or a one-pass DFA; the backtracker reads a
    /// secret about as fast.
    small_input: bool,
}

impl AnyMatcher {
    /// Whether one of the matcher's patterns matches in `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        if self.hirs.is_empty() {
            // Patterns that are their literals: the literal search is the answer.
            return self.pre.as_ref().is_some_and(|pre| pre.is_match(hay));
        }
        self.pre.as_ref().is_none_or(|pre| pre.is_match(hay))
            && self
                .re
                .get_or_init(|| {
                    let config = match self.small_input {
                        true => matcher_config().hybrid(false).onepass(false),
                        false => matcher_config(),
                    };
                    let build = |hirs: &[Hir]| {
                        meta::Builder::new()
                            .configure(config.clone())
                            .build_many_from_hir(hirs)
                            .ok()
                            .map(Shared::new)
                    };
                    match build(&self.hirs) {
                        Some(re) => vec![re],
                        None => self
                            .hirs
                            .iter()
                            .filter_map(|h| build(std::slice::from_ref(h)))
                            .collect(),
                    }
                })
                .iter()
                .any(|re| re.is_match(hay))
    }
}

/// Most literals `required_any` gives for one pattern.
const MAX_REQUIRED: usize = 64;

/// Literals, ASCII-lowercased (to be looked for case-insensitively), one of which every match
/// of `hir` holds: for a sequence the best of its items' sets and of its runs of literal bytes
/// and one-byte (or one letter in either case) classes, for an alternation the union of its
/// branches' sets. `None` when no such set is known, e.g. a branch without a literal.
///
/// "Best": one that tells something about a text holding one of `keywords` (lowercased; see
/// `tells`), then the longest shortest literal (up to 4 bytes), then the fewest literals, then
/// the longest shortest literal.
pub fn required_any(hir: &Hir, keywords: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(c) => required_any(&c.sub, keywords),
        HirKind::Repetition(r) if r.min >= 1 => required_any(&r.sub, keywords),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(required_any(a, keywords)?);
                if all.len() > MAX_REQUIRED {
                    return None;
                }
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
        HirKind::Concat(items) => {
            let mut best = None;
            // The strings a run of adjacent literals and small classes can be (`aq[ei]` is
            // `aqe` or `aqi`), while there are few.
            let mut run: Vec<Vec<u8>> = Vec::new();
            for h in items {
                if matches!(h.kind(), HirKind::Look(_)) {
                    // Zero-width: the bytes on either side are adjacent in the text.
                    continue;
                }
                if let Some(choices) = folded_choices(h) {
                    if run.is_empty() {
                        run = choices;
                    } else if run.len() * choices.len() <= MAX_REQUIRED {
                        run = run
                            .iter()
                            .flat_map(|r| choices.iter().map(move |c| [r.as_slice(), c].concat()))
                            .collect();
                    } else {
                        keep_better(&mut best, std::mem::replace(&mut run, choices), keywords);
                    }
                    continue;
                }
                if !run.is_empty() {
                    keep_better(&mut best, std::mem::take(&mut run), keywords);
                }
                if let Some(set) = required_any(h, keywords) {
                    keep_better(&mut best, set, keywords);
                }
            }
            if !run.is_empty() {
                keep_better(&mut best, run, keywords);
            }
            best.map(|(_, set)| set)
        }
        _ => folded_choices(hir),
    }
}

/// How good a set of required literals is (greater is better, see `required_any`).
type Score = (bool, usize, std::cmp::Reverse<usize>, usize);

/// Replaces `best` with `cand` when `cand` is the better set of required literals.
fn keep_better(best: &mut Option<(Score, Vec<Vec<u8>>)>, cand: Vec<Vec<u8>>, keywords: &[&[u8]]) {
    let short = shortest(&cand);
    let score = (
        tells(&cand, keywords),
        short.min(4),
        std::cmp::Reverse(cand.len()),
        short,
    );
    if best.as_ref().is_none_or(|(b, _)| score > *b) {
        *best = Some((score, cand));
    }
}

/// Whether a text known to hold one of `keywords` may lack every literal of `set`: false when
/// each keyword holds one of them (a rule's window always holds a keyword, so looking for the
/// set there tells nothing). True when there are no keywords.
pub fn tells(set: &[Vec<u8>], keywords: &[&[u8]]) -> bool {
    keywords.is_empty()
        || keywords
            .iter()
            .any(|k| !set.iter().any(|l| k.windows(l.len()).any(|w| w == l.as_slice())))
}

/// Length of the shortest literal of `set` (0 when empty).
pub fn shortest(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

/// The literals, ASCII-lowercased, such that a text holds a match of `hir` (unanchored) exactly
/// when it holds one of them in some ASCII case: `hir` is literals, alternations and fixed counts
/// of them, every letter in both cases (`(?i)example`, `\.{3}`, `(?i)abc|xyz`), or a repetition
/// of such at the top (`x{5,}` occurs where `xxxxx` does). `None` otherwise: a letter in one
/// case only (the automaton ignores case), a class, a look-around, or more than `MAX_REQUIRED`
/// literals.
fn exact_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = match hir.kind() {
        HirKind::Capture(c) => return exact_literals(&c.sub),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(exact_literals(a)?);
            }
            all
        }
        // At least `min` times somewhere is `min` times somewhere.
        HirKind::Repetition(r) if r.min >= 1 => exact_repeat(&r.sub, r.min)?,
        _ => exact_sequence(hir)?,
    };
    (!set.is_empty() && set.len() <= MAX_REQUIRED && shortest(&set) >= 1).then_some(set)
}

/// The strings `hir` matches, ASCII-lowercased, when it matches nothing but them in either ASCII
/// case (see `exact_literals`).
fn exact_sequence(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(l) => (!l.0.iter().any(u8::is_ascii_alphabetic)).then(|| vec![l.0.to_vec()]),
        HirKind::Class(class) => {
            let bytes: Vec<u8> = match class {
                Class::Bytes(c) => c.ranges().iter().flat_map(|r| r.start()..=r.end()).collect(),
                Class::Unicode(c) if c.is_ascii() => c
                    .ranges()
                    .iter()
                    .flat_map(|r| r.start() as u8..=r.end() as u8)
                    .collect(),
                Class::Unicode(_) => return None,
            };
            // A letter in both cases, or one byte that is not a letter.
            match bytes[..] {
                [b] if !b.is_ascii_alphabetic() => Some(vec![vec![b]]),
                [u, l] if u.is_ascii_uppercase() && l == u.to_ascii_lowercase() => Some(vec![vec![l]]),
                _ => None,
            }
        }
        HirKind::Capture(c) => exact_sequence(&c.sub),
        HirKind::Concat(items) => items
            .iter()
            .try_fold(vec![Vec::new()], |set, h| product(&set, &exact_sequence(h)?)),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(exact_sequence(a)?);
            }
            (all.len() <= MAX_REQUIRED).then_some(all)
        }
        HirKind::Repetition(r) if r.max == Some(r.min) => exact_repeat(&r.sub, r.min),
        _ => None,
    }
}

/// `exact_sequence(hir)` `n` times over.
fn exact_repeat(hir: &Hir, n: u32) -> Option<Vec<Vec<u8>>> {
    let one = exact_sequence(hir)?;
    (0..n).try_fold(vec![Vec::new()], |set, _| product(&set, &one))
}

/// Every string of `a` followed by every string of `b`; `None` past `MAX_REQUIRED` of them.
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    (a.len() * b.len() <= MAX_REQUIRED).then(|| {
        a.iter()
            .flat_map(|x| b.iter().map(move |y| [&x[..], &y[..]].concat()))
            .collect()
    })
}

/// Whether every match of `hir` starts with a literal byte (a letter in either case counts):
/// a text that does not start with one ends the pattern's search at once.
fn starts_with_literal(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Capture(c) => starts_with_literal(&c.sub),
        HirKind::Concat(items) => items
            .iter()
            .find(|h| !matches!(h.kind(), HirKind::Look(_)))
            .is_some_and(starts_with_literal),
        HirKind::Alternation(alts) => alts.iter().all(starts_with_literal),
        HirKind::Repetition(r) => r.min >= 1 && starts_with_literal(&r.sub),
        HirKind::Literal(_) => true,
        HirKind::Class(_) => folded_choices(hir).is_some_and(|c| c.len() == 1),
        _ => false,
    }
}

/// Most bytes (ASCII case aside) of a class `folded_choices` spells out.
const MAX_CLASS_CHOICES: usize = 8;

/// The strings `h` can match, ASCII-lowercased, when it is a literal or a class of a few bytes
/// (letters in either case counting once).
fn folded_choices(h: &Hir) -> Option<Vec<Vec<u8>>> {
    match h.kind() {
        HirKind::Literal(l) => Some(vec![l.0.to_ascii_lowercase()]),
        HirKind::Capture(c) => folded_choices(&c.sub),
        HirKind::Class(class) => {
            // A letter in both cases is two bytes: at most twice as many bytes to look at.
            let ranges: Vec<(u8, u8)> = match class {
                Class::Bytes(c) => c.ranges().iter().map(|r| (r.start(), r.end())).collect(),
                Class::Unicode(c) if c.is_ascii() => {
                    c.ranges().iter().map(|r| (r.start() as u8, r.end() as u8)).collect()
                }
                Class::Unicode(_) => return None,
            };
            if ranges.iter().map(|&(a, b)| usize::from(b - a) + 1).sum::<usize>() > 2 * MAX_CLASS_CHOICES {
                return None;
            }
            let mut bytes: Vec<u8> = ranges
                .iter()
                .flat_map(|&(a, b)| a..=b)
                .map(|b| b.to_ascii_lowercase())
                .collect();
            bytes.sort_unstable();
            bytes.dedup();
            (bytes.len() <= MAX_CLASS_CHOICES).then(|| bytes.into_iter().map(|b| vec![b]).collect())
        }
        _ => None,
    }
}

/// Most strings `prefixes` spells out.
const MAX_PREFIXES: usize = 64;

/// Where every match of `hir` starts (see `Starts`): at a keyword hit less a fixed distance,
/// when every string a match can begin with holds one of `keywords` (lowercased), or at a line
/// start when the pattern begins with `^`. `None` when neither is known, or the pattern can
/// match empty.
fn match_starts(hir: &Hir, keywords: &[&[u8]]) -> Option<Starts> {
    if hir.properties().minimum_len().is_none_or(|n| n == 0) {
        return None;
    }
    if starts_at_line(hir) {
        return Some(Starts::Lines);
    }
    // Allowlist patterns have no keywords, and no use for starts.
    if keywords.iter().all(|k| k.is_empty()) {
        return None;
    }
    let strings = prefixes(hir)?;
    let mut out: Vec<(Vec<u8>, Vec<u32>)> = Vec::new();
    for (s, _) in &strings {
        // The keyword that starts first in the string: the keyword search reports every
        // occurrence, so it reports this one. A byte the string leaves open matches none.
        let (k, d) = (0..s.len()).find_map(|d| {
            keywords
                .iter()
                .find(|k| {
                    !k.is_empty() && s.len() - d >= k.len() && k.iter().zip(&s[d..]).all(|(&b, &c)| c == u16::from(b))
                })
                .map(|k| (*k, d))
        })?;
        let d = u32::try_from(d).ok()?;
        match out.iter_mut().find(|(kw, _)| kw == k) {
            Some((_, ds)) => ds.push(d),
            None => out.push((k.to_vec(), vec![d])),
        }
    }
    for (_, ds) in &mut out {
        ds.sort_unstable();
        ds.dedup();
    }
    out.sort_unstable();
    (!out.is_empty()).then_some(Starts::Keywords(out))
}

/// Whether every match of `hir` starts where a line does: it begins with `^` (any mode) or
/// `\A`, possibly inside groups, or each of its alternatives does.
fn starts_at_line(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(look) => matches!(look, Look::Start | Look::StartLF | Look::StartCRLF),
        HirKind::Capture(c) => starts_at_line(&c.sub),
        HirKind::Concat(items) => items.first().is_some_and(starts_at_line),
        HirKind::Alternation(alts) => alts.iter().all(starts_at_line),
        HirKind::Repetition(r) => r.min >= 1 && starts_at_line(&r.sub),
        _ => false,
    }
}

/// A place in a string `prefixes` spells out that any one byte may fill.
const ANY_BYTE: u16 = 256;

/// Most times a repetition of exactly `n` is spelled out (`[A-Za-z0-9]{76}AZDO`).
const MAX_SPELLED_REPEAT: u32 = 128;

/// Strings (ASCII-lowercased bytes, `ANY_BYTE` where any one byte may stand) one of which every
/// match of `hir` begins with, ASCII case aside, each with whether it is all of the match
/// (what follows `hir` can then be appended to it). Literals and classes of a few bytes are
/// spelled out, other classes of one byte (ASCII or byte classes) as `ANY_BYTE`, alternations
/// give their branches' strings, optional items both ways, repetitions of exactly `n` their
/// item `n` times; anything else ends a string. `None` when there would be more than
/// `MAX_PREFIXES`.
fn prefixes(hir: &Hir) -> Option<Vec<(Vec<u16>, bool)>> {
    let unknown = || Some(vec![(Vec::new(), false)]);
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![(Vec::new(), true)]),
        HirKind::Literal(_) | HirKind::Class(_) => match folded_choices(hir) {
            Some(choices) => Some(
                choices
                    .into_iter()
                    .map(|c| (c.into_iter().map(u16::from).collect(), true))
                    .collect(),
            ),
            None if one_byte_class(hir) => Some(vec![(vec![ANY_BYTE], true)]),
            None => unknown(),
        },
        HirKind::Capture(c) => prefixes(&c.sub),
        HirKind::Repetition(r) => match (r.min, r.max) {
            (1, Some(1)) => prefixes(&r.sub),
            (0, Some(1)) => {
                let mut strings = prefixes(&r.sub)?;
                strings.push((Vec::new(), true));
                strings.sort_unstable();
                strings.dedup();
                Some(strings)
            }
            // Skipped, or repeated some number of times: only the first time is known.
            (0, _) => unknown(),
            (n, Some(m)) if n == m && n <= MAX_SPELLED_REPEAT => match prefixes(&r.sub)?.as_slice() {
                // One string (a class of one byte, a literal): repeated at once.
                [(one, true)] => Some(vec![(one.repeat(n as usize), true)]),
                once => spell_concat((0..n).map(|_| Some(once.to_vec()))),
            },
            _ => prefixes(&r.sub).map(|strings| strings.into_iter().map(|(s, _)| (s, false)).collect()),
        },
        HirKind::Concat(items) => spell_concat(items.iter().map(prefixes)),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(prefixes(a)?);
                if all.len() > MAX_PREFIXES {
                    return None;
                }
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}

/// `prefixes` of a sequence, given each item's: each complete string followed by each string of
/// the next item, while there are complete strings and no more than `MAX_PREFIXES`.
fn spell_concat(items: impl Iterator<Item = Option<Vec<(Vec<u16>, bool)>>>) -> Option<Vec<(Vec<u16>, bool)>> {
    let ended = |acc: Vec<(Vec<u16>, bool)>| Some(acc.into_iter().map(|(s, _)| (s, false)).collect());
    let mut acc: Vec<(Vec<u16>, bool)> = vec![(Vec::new(), true)];
    for item in items {
        if !acc.iter().any(|&(_, complete)| complete) {
            break;
        }
        let Some(next) = item else {
            return ended(acc);
        };
        // One string (a literal byte, a letter in either case): appended where strings go on.
        if let [(one, one_complete)] = next.as_slice() {
            for (a, complete) in acc.iter_mut().filter(|(_, complete)| *complete) {
                a.extend_from_slice(one);
                *complete = *one_complete;
            }
            continue;
        }
        let open = acc.iter().filter(|&&(_, complete)| complete).count();
        if acc.len() - open + open * next.len() > MAX_PREFIXES {
            return ended(acc);
        }
        let mut grown = Vec::new();
        for (a, complete) in acc {
            match complete {
                true => grown.extend(next.iter().map(|(n, c)| ([a.as_slice(), n].concat(), *c))),
                false => grown.push((a, false)),
            }
        }
        grown.sort_unstable();
        grown.dedup();
        acc = grown;
    }
    Some(acc)
}

/// Whether `h` is a class whose every match is one byte: a byte class, or a class of ASCII
/// characters (a Unicode class beyond ASCII matches 1 to 4 bytes).
fn one_byte_class(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Class(Class::Bytes(_)) => true,
        HirKind::Class(Class::Unicode(c)) => c.is_ascii(),
        _ => false,
    }
}

/// Compiles a rule pattern, parsed by `parse_either` (and maybe relaxed).
fn compile(hir: &Hir, long_count: bool, prefilter: bool) -> Result<Shared, String> {
    let dfa_limit = if long_count {
        DFA_SIZE_LIMIT_COUNTED
    } else {
        DFA_SIZE_LIMIT
    };
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(false)
                .nfa_size_limit(Some(SIZE_LIMIT))
                .hybrid_cache_capacity(dfa_limit)
                .auto_prefilter(prefilter),
        )
        .build_from_hir(hir)
        .map(Shared::new)
        .map_err(|e| match e.size_limit() {
            Some(limit) => format!("compiled regex exceeds size limit of {limit} bytes"),
            None => one_line(&e.to_string()),
        })
}

/// The pattern with the bounds of each long repetition that ends a capture group removed, and
/// the group lengths to check afterwards: `"([^"\s]{8,128})"` becomes `"([^"\s]+)"` and group
/// 1 must hold 8 to 128 bytes.
///
/// Each count of a bounded repetition is a state of its automaton, multiplied by every state
/// the rest of the pattern can be in meanwhile: the lazy DFA of the generic assignment rule
/// built 4x more states with `{8,128}` than with `{8,}` (its first search of the 5,000-file
/// tree took 31 ms per thread instead of 8), and `{8,}` still counts to 8 beside every state
/// of the keywords that could start again inside the value.
///
/// Why the relaxed pattern finds the same matches (see `each_captures`): every way to match
/// the written pattern is a way to match the relaxed one, and two such ways are preferred in
/// the same order by both (they first differ at a choice both patterns have; the relaxed
/// pattern only adds "repeat once more" where the written one must stop, and "stop" where it
/// must repeat). So when the relaxed
/// pattern's preferred match keeps each relaxed repetition within its bound, it is the written
/// pattern's preferred match too; the group's length tells the count because the group holds
/// only elements of fixed length before the repetition, and is not repeated itself.
///
/// A relaxed match that breaks a bound costs a search with the written pattern, so only
/// repetitions that cannot stop inside a run of their class are relaxed: what follows the
/// group must start with a byte outside the class, or be a line end or word boundary that
/// cannot hold inside the run.
///
/// A long repetition of a class that does not end a group (`(?:[ \t]*[A-Za-z0-9+/=]{4,100}\n)+`)
/// is relaxed too, under the same condition on what follows it, and checked on the whole match:
/// no run of the class's bytes in it may be longer than the bound. That is stricter than
/// needed (the run the repetition took is one of those runs), so a match that passes keeps
/// every count within its bound, and one that fails costs a search with the written pattern.
/// `None` when nothing is relaxed or the pattern could match empty.
fn relax(hir: &Hir) -> Option<Relaxation> {
    if hir.properties().minimum_len().is_none_or(|n| n == 0) {
        return None;
    }
    let mut bounds = Vec::new();
    let mut runs = Vec::new();
    let relaxed = relax_in(hir, false, Next::END, &mut bounds, &mut runs)?;
    debug_assert!(!bounds.is_empty() || !runs.is_empty());
    Some((relaxed, bounds, runs))
}

/// A relaxed pattern, the groups whose lengths must be checked and the runs (see `relax`).
type Relaxation = (Hir, Vec<(usize, usize, usize)>, Vec<RunBound>);

/// What follows a sub-pattern: the rest of its concatenation, then what follows that. Listed
/// (`seq`) only for the few repetitions `relax` can relax.
#[derive(Clone, Copy)]
struct Next<'a> {
    items: &'a [Hir],
    then: Option<&'a Next<'a>>,
}

impl<'a> Next<'a> {
    const END: Next<'static> = Next { items: &[], then: None };

    fn seq(&self) -> Vec<&'a Hir> {
        let mut out: Vec<&Hir> = self.items.iter().collect();
        let mut then = self.then;
        while let Some(n) = then {
            out.extend(n.items.iter());
            then = n.then;
        }
        out
    }
}

/// `hir`, relaxed where `relax` allows (`None`: nothing is); `after` is what follows it in the
/// pattern.
fn relax_in(
    hir: &Hir,
    repeated: bool,
    after: Next<'_>,
    bounds: &mut Vec<(usize, usize, usize)>,
    runs: &mut Vec<RunBound>,
) -> Option<Hir> {
    match hir.kind() {
        HirKind::Concat(items) => {
            let mut out: Option<Vec<Hir>> = None;
            for (i, item) in items.iter().enumerate() {
                let next = Next {
                    items: &items[i + 1..],
                    then: Some(&after),
                };
                match (relax_in(item, repeated, next, bounds, runs), &mut out) {
                    (Some(h), Some(v)) => v.push(h),
                    (Some(h), None) => {
                        let mut v = items[..i].to_vec();
                        v.push(h);
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(item.clone()),
                    (None, None) => {}
                }
            }
            out.map(Hir::concat)
        }
        HirKind::Alternation(items) => {
            let relaxed: Vec<Option<Hir>> = items
                .iter()
                .map(|h| relax_in(h, repeated, after, bounds, runs))
                .collect();
            relaxed.iter().any(Option::is_some).then(|| {
                Hir::alternation(
                    relaxed
                        .into_iter()
                        .zip(items)
                        .map(|(r, h)| r.unwrap_or_else(|| h.clone()))
                        .collect(),
                )
            })
        }
        HirKind::Capture(c) => {
            if !repeated {
                if let Some(h) = relax_group(c, after, bounds) {
                    return Some(h);
                }
            }
            relax_in(&c.sub, repeated, after, bounds, runs).map(|sub| {
                Hir::capture(Capture {
                    index: c.index,
                    name: c.name.clone(),
                    sub: Box::new(sub),
                })
            })
        }
        HirKind::Repetition(r) => {
            if let Some(h) = relax_run(r, after, runs) {
                return Some(h);
            }
            let once = r.min == 1 && r.max == Some(1);
            relax_in(&r.sub, repeated || !once, Next::END, bounds, runs).map(|sub| {
                Hir::repetition(Repetition {
                    sub: Box::new(sub),
                    ..r.clone()
                })
            })
        }
        _ => None,
    }
}

/// The capture group `c`, followed by `after`, with its last element relaxed (see `relax`).
fn relax_group(c: &Capture, after: Next<'_>, bounds: &mut Vec<(usize, usize, usize)>) -> Option<Hir> {
    let g = RunGroup::of(c)?;
    let max = g.rep.max.filter(|&m| m > LONG_COUNT)? as usize;
    if !stops(&after.seq(), &g.set) {
        return None;
    }
    bounds.push((c.index as usize, g.prefix_len + g.rep.min as usize, g.prefix_len + max));
    let mut items = g.prefix.to_vec();
    items.push(Hir::repetition(Repetition {
        min: 1,
        max: None,
        ..g.rep.clone()
    }));
    Some(Hir::capture(Capture {
        index: c.index,
        name: c.name.clone(),
        sub: Box::new(Hir::concat(items)),
    }))
}

/// A capture group that is elements of a fixed total length followed by a repetition (at least
/// once) of a class: what `relax_group` and `Locator` know how to handle.
struct RunGroup<'h> {
    prefix: &'h [Hir],
    prefix_len: usize,
    rep: &'h Repetition,
    set: [bool; 256],
}

impl RunGroup<'_> {
    fn of(c: &Capture) -> Option<RunGroup<'_>> {
        let (prefix, last): (&[Hir], &Hir) = match c.sub.kind() {
            HirKind::Concat(items) => {
                let (last, prefix) = items.split_last()?;
                (prefix, last)
            }
            _ => (&[], &c.sub),
        };
        let HirKind::Repetition(rep) = last.kind() else {
            return None;
        };
        let set = byte_set(&rep.sub)?;
        let prefix_len = fixed_len(prefix)?;
        (rep.min > 0).then_some(RunGroup {
            prefix,
            prefix_len,
            rep,
            set,
        })
    }
}

/// The long repetition `rep` of a class, followed by `after`, without its upper bound, when
/// what follows ends its runs; the bound goes to `runs` (see `relax`).
fn relax_run(rep: &Repetition, after: Next<'_>, runs: &mut Vec<RunBound>) -> Option<Hir> {
    let max = rep.max.filter(|&m| m > LONG_COUNT)? as usize;
    let set = byte_set(&rep.sub)?;
    if !stops(&after.seq(), &set) {
        return None;
    }
    runs.push(RunBound {
        set: Box::new(set),
        max,
    });
    Some(Hir::repetition(Repetition {
        max: None,
        ..rep.clone()
    }))
}

/// Whether no match of the sequence `seq` can start at a byte of `run` (after at least one
/// byte of it): what makes a repetition of `run` followed by `seq` end only where its run
/// ends. `false` when unsure.
fn stops(seq: &[&Hir], run: &[bool; 256]) -> bool {
    let Some((first, rest)) = seq.split_first() else {
        return false;
    };
    let with_rest = |h: &Hir| {
        let mut v = vec![h];
        v.extend_from_slice(rest);
        stops(&v, run)
    };
    match first.kind() {
        HirKind::Empty => stops(rest, run),
        HirKind::Literal(l) => l.0.first().is_some_and(|&b| !run[usize::from(b)]),
        HirKind::Class(_) => byte_set(first).is_some_and(|set| disjoint(&set, run)),
        HirKind::Look(look) => match look {
            // A line end needs CR, LF or the end of the text next; the run is none of these.
            Look::End | Look::EndLF | Look::EndCRLF => !run[usize::from(b'\n')] && !run[usize::from(b'\r')],
            // Inside a run of word bytes both sides are word bytes.
            Look::WordAscii => (0..256).all(|b| !run[b] || (b as u8).is_ascii_alphanumeric() || b == usize::from(b'_')),
            _ => false,
        },
        // A repetition starts with its element, or is skipped when it may repeat 0 times.
        HirKind::Repetition(r) => stops(&[&r.sub], run) && (r.min > 0 || stops(rest, run)),
        HirKind::Capture(c) => with_rest(&c.sub),
        HirKind::Concat(items) => {
            let mut v: Vec<&Hir> = items.iter().collect();
            v.extend_from_slice(rest);
            stops(&v, run)
        }
        HirKind::Alternation(items) => items.iter().all(with_rest),
    }
}

/// The bytes a class matches (`None` for anything but a class of bytes or ASCII characters).
fn byte_set(h: &Hir) -> Option<[bool; 256]> {
    let mut set = [false; 256];
    match h.kind() {
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                set[usize::from(r.start())..=usize::from(r.end())].fill(true);
            }
        }
        HirKind::Class(Class::Unicode(c)) if c.is_ascii() => {
            for r in c.ranges() {
                set[r.start() as usize..=r.end() as usize].fill(true);
            }
        }
        _ => return None,
    }
    Some(set)
}

/// Whether `hir` holds a bounded repetition of more than `LONG_COUNT` (`x{8,128}`).
fn has_long_count(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(r) => r.max.is_some_and(|m| m > LONG_COUNT) || has_long_count(&r.sub),
        HirKind::Capture(c) => has_long_count(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(has_long_count),
        _ => false,
    }
}

/// The configuration of `is_match` matchers: the regex crate's defaults as `get` uses them,
/// without literal prefilters.
fn matcher_config() -> meta::Config {
    meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(false)
        .nfa_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(DFA_SIZE_LIMIT)
        .auto_prefilter(false)
}

/// Parses `source` with ASCII classes, which are what Go means and several times faster, or
/// else with Unicode classes (a pattern that needs `\p{L}` still works); the error is the ASCII
/// parse's. `true` with the HIR: Unicode classes are on.
fn parse_either(source: &str) -> Result<(Hir, bool), String> {
    parse_either_with(source, true)
}

/// `parse_either`, with `^` and `$` matching at line breaks or only at the ends of the text.
fn parse_either_with(source: &str, multi_line: bool) -> Result<(Hir, bool), String> {
    // An embedded rule's pattern was parsed when the binary was built.
    if let Some(parsed) = super::embedded::parsed_pattern(source, multi_line) {
        return Ok(parsed);
    }
    match parse(source, false, multi_line) {
        Ok(h) => Ok((h, false)),
        Err(ascii_err) => match parse(source, true, multi_line) {
            Ok(h) => Ok((h, true)),
            Err(_) => Err(ascii_err),
        },
    }
}

/// The syntax `get` compiles with (the regex crate's defaults otherwise), as `Hir`.
fn parse(source: &str, unicode: bool, multi_line: bool) -> Result<Hir, String> {
    super::hircode::parser(unicode, multi_line)
        .parse(source)
        .map_err(|e| one_line(&e.to_string()))
}

/// regex-syntax errors are multi-line with a caret diagram; keep the last line, the message.
fn one_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim_start().trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| msg.lines().last().unwrap_or(msg).trim().to_string())
}

/// Line breaks a run of whitespace is allowed to span in a windowed search.
const WHITESPACE_RUN_LINES: usize = 2;

/// A class of whitespace characters only (such as `\s`).
fn is_whitespace_class(h: &Hir) -> bool {
    let ws = |c: u32| matches!(c, 0x09..=0x0D | 0x20);
    match h.kind() {
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .all(|r| (r.start() as u32..=r.end() as u32).all(ws) && (r.end() as u32) < 0x80),
        HirKind::Class(Class::Bytes(c)) => c.ranges().iter().all(|r| (r.start() as u32..=r.end() as u32).all(ws)),
        _ => false,
    }
}

fn max_newlines(h: &Hir) -> Option<usize> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(l) => Some(l.0.iter().filter(|&&b| b == b'\n').count()),
        HirKind::Class(Class::Unicode(c)) => {
            Some(c.ranges().iter().any(|r| r.start() <= '\n' && '\n' <= r.end()) as usize)
        }
        HirKind::Class(Class::Bytes(c)) => {
            Some(c.ranges().iter().any(|r| r.start() <= b'\n' && b'\n' <= r.end()) as usize)
        }
        HirKind::Repetition(r) => match max_newlines(&r.sub)? {
            0 => Some(0),
            // `\s*` between a key and its value: a match is not worth finding across more than
            // one blank line, so whitespace runs count as two line breaks at most. Only classes
            // that match anything (`[\s\S]`, as in PEM bodies) make a rule multi-line.
            _ if is_whitespace_class(&r.sub) => Some(
                r.max
                    .map_or(WHITESPACE_RUN_LINES, |m| (m as usize).min(WHITESPACE_RUN_LINES)),
            ),
            n => r.max.map(|m| (m as usize).saturating_mul(n)),
        },
        HirKind::Capture(c) => max_newlines(&c.sub),
        HirKind::Concat(v) => v
            .iter()
            .try_fold(0usize, |acc, h| Some(acc.saturating_add(max_newlines(h)?))),
        HirKind::Alternation(v) => v.iter().try_fold(0usize, |acc, h| Some(acc.max(max_newlines(h)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::{exact_literals, parse, required_any, tells, Edge, LazyRegex, Locator, Starts};

    #[test]
    fn newline_span_is_computed() {
        assert_eq!(LazyRegex::new(r"AKIA[A-Z0-9]{16}").unwrap().max_newlines(), Some(0));
        assert_eq!(LazyRegex::new(r"key\s{0,3}=").unwrap().max_newlines(), Some(2));
        assert_eq!(LazyRegex::new(r"BEGIN[\s\S]*?END").unwrap().max_newlines(), None);
        assert_eq!(LazyRegex::new(r"key\s*=\s*(\w+)").unwrap().max_newlines(), Some(4));
        assert_eq!(LazyRegex::new(r"a.*b").unwrap().max_newlines(), Some(0));
    }

    #[test]
    fn groups_are_counted_and_errors_are_one_line() {
        assert_eq!(LazyRegex::new(r"(a)(?:b)(c)").unwrap().groups(), 2);
        let err = LazyRegex::new(r"(unclosed").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }

    /// Literal prefilters only for patterns searched over whole files.
    #[test]
    fn prefilters_where_whole_files_are_searched() {
        let prefilter = |p: &str, whole_files: bool| {
            let mut r = LazyRegex::new(p).unwrap();
            r.whole_files = whole_files;
            r.prefilter(r.info().unwrap())
        };
        assert!(!prefilter(r"AKIA[A-Z0-9]{16}", false));
        assert!(prefilter(r"AKIA[A-Z0-9]{16}", true));
        assert!(prefilter(r"-----BEGIN[\s\S]*?-----END", false));
        assert!(prefilter(r"(?:x\n){9}", false));
        assert!(!prefilter(r"(?:x\n){8}", false));
    }

    #[test]
    fn unicode_classes_fall_back() {
        let r = LazyRegex::new(r"\p{Greek}+").unwrap();
        assert!(r.get().unwrap().is_match("αβγ".as_bytes()));
    }

    /// (group index, shortest, longest) bounds `relax` finds in `pattern`.
    fn relaxed_bounds(pattern: &str) -> Vec<(usize, usize, usize)> {
        let r = LazyRegex::new(pattern).unwrap();
        r.info()
            .unwrap()
            .relaxed
            .as_ref()
            .map_or(Vec::new(), |x| x.bounds.clone())
    }

    /// The run bounds `relax` finds in `pattern`.
    fn relaxed_runs(pattern: &str) -> Vec<usize> {
        let r = LazyRegex::new(pattern).unwrap();
        r.info()
            .unwrap()
            .relaxed
            .as_ref()
            .map_or(Vec::new(), |x| x.runs.iter().map(|r| r.max).collect())
    }

    #[test]
    fn long_counts_outside_groups_are_relaxed_where_the_run_must_end() {
        // Inside a repeated group, before what ends the run.
        assert_eq!(
            relaxed_runs(r"-----BEGIN KEY-----\n(?:[ \t]*[A-Za-z0-9+/=]{4,100}[ \t]*\r?\n){2,}-----END"),
            [100]
        );
        assert_eq!(relaxed_runs(r"x[a-z]{8,128}0"), [128]);
        // A group whose length does not tell the count: its last repetition is bounded as a run.
        assert_eq!(relaxed_runs(r"(t_[a-zT]{3,100}T[a-zT]{20,200})(?:[^a-zT]|$)"), [200]);
        assert_eq!(relaxed_bounds(r"(t_[a-zT]{3,100}T[a-zT]{20,200})(?:[^a-zT]|$)"), []);
        // What follows may continue the run, the count is short, or nothing follows.
        assert_eq!(relaxed_runs(r"x[a-z]{8,128}[a-z0-9]"), Vec::<usize>::new());
        assert_eq!(relaxed_runs(r"x[a-z]{8,64}0"), Vec::<usize>::new());
        assert_eq!(relaxed_runs(r"x[a-z]{8,128}"), Vec::<usize>::new());
        // Not a class.
        assert_eq!(relaxed_runs(r"x(?:ab){8,128}0"), Vec::<usize>::new());
    }

    #[test]
    fn long_counts_are_relaxed_only_where_the_run_must_end() {
        assert_eq!(relaxed_bounds(r#"(?i)key\s*=\s*"([^"\s]{8,128})""#), [(1, 8, 128)]);
        assert_eq!(relaxed_bounds(r#"tok=(tk_[a-z0-9]{20,100})&"#), [(1, 23, 103)]);
        assert_eq!(relaxed_bounds(r#"(vc_[A-Za-z0-9]{24,100})\b"#), [(1, 27, 103)]);
        assert_eq!(
            relaxed_bounds(r#"a="([^"]{8,128})"|b='([^']{3,200})'"#),
            [(1, 8, 128), (2, 3, 200)]
        );
        // What follows the group may be optional, a line end, or after an alternation.
        assert_eq!(
            relaxed_bounds(r#"(?m)key: ([a-z]{8,128})[ \t]*(?:[ \t]#.*)?$"#),
            [(1, 8, 128)]
        );
        assert_eq!(
            relaxed_bounds(r#"(?:a=([a-z]{8,128})|b=([0-9]{8,100}))(?:[^a-z0-9]|$)"#),
            [(1, 8, 128), (2, 8, 100)]
        );
        assert_eq!(relaxed_bounds(r#"key=([a-z]{8,128})[ \t]*"#), []);
        // Digits may follow group 2.
        assert_eq!(
            relaxed_bounds(r#"(?:a=([a-z]{8,128})|b=([0-9]{8,100}))(?:[^a-z]|$)"#),
            [(1, 8, 128)]
        );
        // Short counts stay as written.
        assert_eq!(relaxed_bounds(r#"key="([a-z]{8,64})""#), []);
        // Nothing after the group ends a run (every long run would break the bound and need a
        // search with the written pattern).
        assert_eq!(relaxed_bounds(r#"key=([a-z]{8,128})"#), []);
        // The next byte may continue the run, the group is repeated, or its length does not
        // tell the repetition's.
        assert_eq!(relaxed_bounds(r#"key=([a-z]{8,128})[a-z0-9]"#), []);
        assert_eq!(relaxed_bounds(r#"(?:"([a-z]{8,128})"){2}"#), []);
        assert_eq!(relaxed_bounds(r#"(x+[a-z]{8,128})""#), []);
        assert_eq!(relaxed_bounds(r#"([a-z]{8,128}x)""#), []);
        assert_eq!(relaxed_bounds(r#"([a-z.]{8,128})\b"#), []);
    }

    /// Every (group start, group end) of every match, in order.
    fn spans(caps: &regex::bytes::Captures<'_>) -> Vec<Option<(usize, usize)>> {
        caps.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()
    }

    /// Random haystacks (xorshift from a fixed seed): pieces, and now and then a run of `a`s
    /// long enough to cross a bound.
    struct Hays(crate::testrand::XorShift);

    impl Hays {
        fn next(&mut self) -> u64 {
            self.0.next_u64()
        }

        /// Under `max` bytes; one element in `run_every` is a run of 1 to `run_max` `a`s.
        fn hay(&mut self, pieces: &[&[u8]], max: u64, run_every: u64, run_max: u64) -> Vec<u8> {
            let len = (self.next() % max) as usize;
            let mut hay = Vec::with_capacity(len);
            while hay.len() < len {
                if self.next() % run_every == 0 {
                    let run = 1 + (self.next() % run_max) as usize;
                    hay.extend(std::iter::repeat_n(b'a', run));
                } else {
                    hay.extend_from_slice(pieces[(self.next() % pieces.len() as u64) as usize]);
                }
            }
            hay
        }
    }

    /// `pattern` compiled as written, with the options rule patterns are compiled with.
    fn written(pattern: &str) -> regex::bytes::Regex {
        regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .multi_line(true)
            .crlf(true)
            .build()
            .unwrap()
    }

    /// Asserts that `each_captures` gives the written pattern's `captures_iter`; returns it.
    fn same_captures(lazy: &LazyRegex, written: &regex::bytes::Regex, hay: &[u8]) -> Vec<Vec<Option<(usize, usize)>>> {
        let want: Vec<_> = written.captures_iter(hay).map(|c| spans(&c)).collect();
        let mut got = Vec::new();
        lazy.each_captures(hay, |c| got.push(group_spans(c))).unwrap();
        assert_eq!(got, want, "{} on {:?}", lazy.source, String::from_utf8_lossy(hay));
        want
    }

    /// `spans`, of the groups `each_captures` gives.
    fn group_spans(caps: &[Option<regex_automata::Span>]) -> Vec<Option<(usize, usize)>> {
        caps.iter().map(|m| m.map(|m| (m.start, m.end))).collect()
    }

    #[test]
    fn relaxed_search_finds_exactly_what_the_written_pattern_finds() {
        let patterns = [
            r#"(?i)(?:password|token)[ \t]{0,3}[=:][ \t]{0,3}["']([^"'\s]{4,70})["']"#,
            r#"(?:k|key)=([a-z]{2,66})(?:"|;)|(?:x|y)=([a-z"=]{1,70})'"#,
            r#"\b(tk_[a-z0-9]{8,66})\b"#,
            r#"(?:=|:)("?)([a-z]{3,65})["';]"#,
            r#"(?m)(?:k=([a-z]{3,66})|x=(tk_[a-z0]{1,70}))[ ]*(?:;.*)?$"#,
            // Run bounds: in a repeated group, after a repetition that stays as written, and
            // in a pattern without groups.
            r#"(?:[ ]*[a-z]{2,70}[ ]*\n){2,}tk_"#,
            r#"(tk_[a-z0]{3,66}0[a-z0]{2,70})(?:[^a-z0]|$)"#,
            r#"=[a-z]{3,65};"#,
        ];
        // Pieces that build keys, operators, quotes and runs long and short.
        let pieces: [&[u8]; 16] = [
            b"k=",
            b"key=",
            b"x=",
            b"y=",
            b"password=",
            b"token: ",
            b"\"",
            b"'",
            b";",
            b" ",
            b"\n",
            b"tk_",
            b"=",
            b":",
            b"ab0",
            b"a",
        ];
        let mut hays = Hays(crate::testrand::XorShift(0x2545_f491_4f6c_dd1d));
        let mut relaxed_matches = 0;
        let mut fallbacks = 0usize;
        let mut run_fallbacks = 0usize;
        for pattern in patterns {
            let lazy = LazyRegex::new(pattern).unwrap();
            assert!(lazy.info().unwrap().relaxed.is_some(), "{pattern}");
            let written = written(pattern);
            for _ in 0..3000 {
                let hay = hays.hay(&pieces, 300, 8, 90);
                let want = same_captures(&lazy, &written, &hay);
                relaxed_matches += want.len();
                // Where the relaxed pattern alone would have been wrong.
                let relaxed = lazy.get().unwrap();
                let mut all = Vec::new();
                relaxed.captures_all(&hay, &mut all);
                let naive: Vec<_> = all.chunks(relaxed.groups() + 1).map(group_spans).collect();
                fallbacks += usize::from(naive != want);
                let runs = !lazy.info().unwrap().relaxed.as_ref().unwrap().runs.is_empty();
                run_fallbacks += usize::from(runs && naive != want);
            }
        }
        // The haystacks did exercise both paths.
        assert!(relaxed_matches > 500, "{relaxed_matches}");
        assert!(fallbacks > 50, "{fallbacks}");
        assert!(run_fallbacks > 20, "{run_fallbacks}");
    }

    #[test]
    fn groups_are_located_only_where_the_shape_fixes_them() {
        let located = |p: &str| {
            LazyRegex::new(p)
                .unwrap()
                .info()
                .unwrap()
                .locator
                .as_ref()
                .map(|l| match l {
                    Locator::Run { prefix, .. } => format!("run {prefix}"),
                    Locator::After { prefix, .. } => format!("after {prefix}"),
                    Locator::Back { prefix, end, .. } => match end {
                        Edge::Fixed(n) => format!("back {prefix} {n}"),
                        Edge::Optional(_) => format!("back {prefix} ?"),
                        Edge::Scan(_) => format!("back {prefix} scan"),
                    },
                    Locator::Trim { start, end } => {
                        let side = |e: &Edge| match e {
                            Edge::Fixed(n) => n.to_string(),
                            Edge::Optional(_) => "?".to_string(),
                            Edge::Scan(_) => "scan".to_string(),
                        };
                        format!("trim {} {}", side(start), side(end))
                    }
                })
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            located(r#"(?i)(?:key|token)\s*=\s*["']([^"'\s]{8,128})["']"#),
            some("run 0")
        );
        assert_eq!(located(r"\b(tk_[a-z0-9]{20,40})\b"), some("trim 0 0"));
        assert_eq!(located(r"\b(tk_[a-z0-9]{20,40})(?:[^a-z0-9]|;;)"), some("run 3"));
        assert_eq!(located(r"=([a-z0-9]{4,})(?:[;\s]|$)"), some("trim 1 ?"));
        assert_eq!(located(r"=\s*([a-z0-9]{4,})(?:[;\s]|$)"), some("run 0"));
        // A group between assertions, fixed bytes, or an optional byte of a set the group never
        // starts or ends with.
        assert_eq!(located(r"\b(tka[a-z0-9]{20,40})\b"), some("trim 0 0"));
        assert_eq!(located(r"\b((?:AKIA|ASIA)[A-Z2-7]{16})\b"), some("trim 0 0"));
        assert_eq!(located(r"(ab[0-9]+)"), some("trim 0 0"));
        assert_eq!(located(r#"x="(tk[a-z0-9]{4,}z)""#), some("trim 3 1"));
        assert_eq!(
            located(r"\b(sk-[a-z0-9_-]{20}AA)(?:[^A-Za-z0-9_-]|$)"),
            some("trim 0 ?")
        );
        assert_eq!(located(r"\b(sk-[a-z0-9_-]{20}AA)(?:[^a-z0-9_-]|$)"), None);
        assert_eq!(located(r"(?:^|[\s=])([A-Za-z0-9/+]{40})(?:[\s,]|$)"), some("trim ? ?"));
        assert_eq!(located(r"(?m)(?:^|[^0-9])(1[0-9]{4})\b"), some("trim ? 0"));
        // After the first `=` or `:` and its blanks, whatever ends the line.
        let config =
            r"(?im)^[ \t]*[a-z_.]{0,20}?(?:key|token)[ \t]*(?:=|:)[ \t]*([^\s#][^\s;]{3,40})[ \t]*(?:[ \t]#.*)?$";
        assert_eq!(located(config), some("after 1"));
        assert_eq!(
            located(
                r#"(?m)^[ \t]*[a-z_]{0,9}?(?:key|token)[ \t]*(?:=|:)[ \t]*([^\s#;][^\s;]{1,20})[ \t]*(?:[ \t]#.*)?$"#
            ),
            some("after 1")
        );
        assert_eq!(located(r"(?m)token=([a-z][^\s]{3,})$"), some("trim 6 0"));
        // Optional items between the last byte outside the run and the group; a group whose
        // first (last) bytes the text before (after) it never holds.
        assert_eq!(located(r#"key=["']?([a-z0-9]{8,})["']?"#), some("run 0"));
        assert_eq!(
            located(r#"(?i)acme[a-z0-9_.-]{0,20}key["']?\s{0,3}(?:=|:|=>|:=)\s{0,3}["']?([a-f0-9]{32})\b"#),
            some("run 0")
        );
        assert_eq!(
            located(r#"(?i)acme_?key\s{0,3}(?:=|:=|a)\s{0,3}([a-f0-9]{32})\b"#),
            None
        );
        assert_eq!(
            located(r#""k"\s{0,3}:\s{0,3}"(-----BEGIN KEY-----\\n[A-Za-z0-9+/=\\]{20,}-----END KEY-----(?:\\n)?)""#),
            some("trim scan 1")
        );
        assert_eq!(located(r#""k-"\s*:\s*"(-[a-z]+-?)""#), some("back 1 1"));
        assert_eq!(located(r#""k-"\s*:\s*"(-[a-z]+q?)""#), None);
        assert_eq!(
            located(r#"(?i)name=[a-z0-9]{3,24};\s{0,2}key=([A-Za-z0-9+/]{86}==)"#),
            some("back 0 0")
        );
        assert_eq!(
            located(r#"(?i)key=["']?([A-Za-z0-9+/]{86}==)(?:[^A-Za-z0-9+/=]|$)"#),
            some("back 0 ?")
        );
        assert_eq!(
            located(r#"(?i)key=["']?([A-Za-z0-9+/]{86}==)(?:[^A-Za-z0-9+/]|$)"#),
            None
        );
        assert_eq!(located(r#"=([a-z][0-9]+[a-z])\s*,\s*!"#), some("trim 1 scan"));
        assert_eq!(located(r#"=([a-z][0-9]+[a-z])\s*,\s*q"#), None);
        assert_eq!(located(r"(?m)^[a-z]*token=([a-z][^\s]{3,})$"), some("after 1"));
        // The delimiter may come earlier, the blanks may start the group, the group's run may
        // go on into what follows.
        assert_eq!(located(r"(?m)^[a-z=]*(?:=|:)[ \t]*([^\s#][^\s;]{3,})$"), None);
        assert_eq!(located(r"(?m)^key(?:=|:)[ a]*([a-z][^\s;]{3,})$"), None);
        assert_eq!(located(r"(?m)^key(?:=|:)[ \t]*([^\s#][^\s;]{3,})[ \t]*(?:#.*)?$"), None);
        // What precedes the run may end inside the class, the run may be empty, what follows
        // may hold bytes of the class, the group is not at the top level, or there are two; an
        // optional byte the group may start or end with, or one beside fixed bytes.
        assert_eq!(located(r#"=k[a-z]?["']?([a-z0-9]{8,})["']?"#), None);
        assert_eq!(located(r#"="([a-z]*)""#), None);
        assert_eq!(located(r#"="([a-z]{4,})"x"#), some("trim 2 2"));
        assert_eq!(located(r#"=(?:"|)([a-z]{4,})"x"#), some("trim scan 2"));
        assert_eq!(located(r#"=(?:"|ab)([a-z]{4,})"x"#), None);
        assert_eq!(located(r#"(?:a|="([a-z]{4,})")"#), None);
        assert_eq!(located(r#"(\w+)="([a-z]{4,})""#), None);
        assert_eq!(located(r"(?:^|[\s=])([A-Za-z0-9/+=]{40})(?:[\s,]|$)"), None);
        assert_eq!(located(r"(?:^|[\s=])([A-Za-z0-9/+]{40}[,x]?)(?:[\s,]|$)"), None);
        assert_eq!(located(r"(?:^|[\s])x([a-z]{4})"), None);
        assert_eq!(located(r"x{2,3}([a-z]{4})"), None);
    }

    /// The located group is the one the capture engine finds, on random text.
    #[test]
    fn located_groups_are_the_captured_groups() {
        let patterns = [
            r#"(?i)(?:key|token)[ ]?=[ ]?["']([^"'\s]{2,70})["']"#,
            r#"\b(tk_[a-z0-9]{3,20})\b"#,
            r#"=([a-z0-9]{4,})(?:[;\s"]|$)"#,
            r#"\b(tka[a-z0-9]{2,20})\b"#,
            r#"(?m)(?:^|[\s=;])(ab0[a-z0-9]{1,10})(?:[\s"]|$)"#,
            r#"(?:^|[ =])(tk_a(?:b0|a)?)(?:[;"]|$)"#,
            r#"="(a[a-z0-9]{0,90})'"#,
            r#"(?m)^[ \t]*[a-z_]{0,9}?(?:key|token)[ \t]*(?:=|:)[ \t]*([^\s#;][^\s;]{1,20})[ \t]*(?:[ \t]#.*)?$"#,
            r#"(?i)tk[a-z_]{0,9}(?:key|token)["']?[ \t]{0,3}(?:=|:|=>|:=)[ \t]{0,3}["']?([a-z0-9]{4})\b"#,
            r#"(?i)(?:key|token)[ \t]{0,3}[:=]?[ \t]{0,3}["']?(ab0[ ;a-z0-9]{1,9})"#,
            r#""(?:key|name)"[ \t]{0,3}:[ \t]{0,3}"(tk_[a-z0-9 #]{2,30}(?:;a)?)""#,
            r#"[=:]([a-z][0-9a-z]{0,8})[ \t]*[#;]+[ \t]*!"#,
            r#"(?:key|token)[=:]\s?["']?([a-z0-9]{2,12}(?:==|#)?)["']?"#,
        ];
        // Single bytes, and pieces of the patterns' shapes so that each one matches often.
        let pieces: [&[u8]; 25] = [
            b"key",
            b"token",
            b"=",
            b" ",
            b"\"",
            b"'",
            b";",
            b"tk_",
            b"ab0",
            b"a",
            b"\n",
            b"x y",
            b":",
            b"#",
            b"\t",
            b"!",
            b"1",
            b"tka",
            b"token=\"",
            b"=\"a",
            b"tk_key=",
            b"\"name\": \"tk_",
            b"=b1 #",
            b"\"tk_a",
            b" tk_ab0;",
        ];
        let mut hays = Hays(crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15));
        let mut located = 0;
        for pattern in patterns {
            let lazy = LazyRegex::new(pattern).unwrap();
            assert!(lazy.info().unwrap().locator.is_some(), "{pattern}");
            let written = written(pattern);
            let mut here = 0;
            for _ in 0..2000 {
                let hay = hays.hay(&pieces, 200, 10, 80);
                here += same_captures(&lazy, &written, &hay).len();
            }
            assert!(here >= 20, "{pattern}: {here} matches");
            located += here;
        }
        assert!(located > 500, "{located}");
    }

    /// On every built-in rule with a located group, in its examples (alone, amid other text,
    /// and twice on a line), the located group is the capture engine's.
    #[test]
    fn built_in_located_groups_are_the_captured_groups() {
        crate::rules::embedded::want_examples();
        let rs = crate::rules::load::load_embedded(crate::rules::embedded::FILES).unwrap();
        let (mut rules, mut found) = (0, 0);
        for rule in &rs.rules {
            let Some(re) = &rule.regex else { continue };
            let info = re.info().unwrap();
            if info.locator.is_none() || super::parse_either(&re.source).unwrap().1 {
                continue;
            }
            rules += 1;
            let written = written(&re.source);
            for ex in rule.examples.iter().chain(&rule.negative_examples) {
                let text = ex.parts().1.as_bytes();
                for hay in [
                    text.to_vec(),
                    [b"x = ", text, b";\n"].concat(),
                    [text, b" ", text].concat(),
                ] {
                    found += same_captures(re, &written, &hay).len();
                }
            }
        }
        assert!(rules > 100 && found > 300, "{rules} rules, {found} matches");
    }

    /// More matches breaking a bound than anchored tries in one haystack: the rest are found by
    /// an unanchored search with the written pattern.
    #[test]
    fn many_broken_bounds_in_one_haystack() {
        let pattern = r#"\b(tk_[a-z0-9]{8,66})\b"#;
        let long = format!("tk_{} ", "a".repeat(80));
        for fits_at in [0, 5, 9, 10, 29] {
            let mut hay = String::new();
            for i in 0..30 {
                hay += if i == fits_at { "tk_abcdefgh0 " } else { &long };
            }
            hay += "tk_zzzzzzzz1";
            let written = regex::bytes::RegexBuilder::new(pattern).unicode(false).build().unwrap();
            let want: Vec<_> = written.captures_iter(hay.as_bytes()).map(|c| spans(&c)).collect();
            let lazy = LazyRegex::new(pattern).unwrap();
            let mut got = Vec::new();
            lazy.each_captures(hay.as_bytes(), |c| got.push(group_spans(c)))
                .unwrap();
            assert_eq!(want.len(), 2, "{want:?}");
            assert_eq!(got, want, "fits at {fits_at}");
        }
        // The written pattern's match starts inside the relaxed match that broke a bound.
        let pattern = r#"x=([a-z"=]{1,70})'"#;
        let broken = format!("x={}' ", "a".repeat(80)).repeat(super::MAX_ANCHORED_TRIES);
        let hay = format!("{broken}x={}x=abc'", "a".repeat(80));
        let written = regex::bytes::Regex::new(pattern).unwrap();
        let want: Vec<_> = written.captures_iter(hay.as_bytes()).map(|c| spans(&c)).collect();
        assert_eq!(want.len(), 1);
        let mut got = Vec::new();
        LazyRegex::new(pattern)
            .unwrap()
            .each_captures(hay.as_bytes(), |c| got.push(group_spans(c)))
            .unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn allowlist_matchers_answer_as_each_pattern_would() {
        let sources = [
            r"^\$\{",
            r"(?i)^(?:true|false)$",
            r"example",
            r"x{5,}|\*{3,}",
            r"^[0-9a-f]{8,31}$",
            r"\.pem$",
        ];
        let patterns: Vec<LazyRegex> = sources.iter().map(|p| LazyRegex::new(p).unwrap()).collect();
        let hays = [
            "${X}",
            "a${X}",
            "TRUE",
            "true1",
            "my-example-key",
            "xxxxx",
            "ab**",
            "ab***",
            "deadbeef",
            "deadbeefz",
            "key.pem",
            "key.pem.bak",
            "x\n${X}",
            "deadbeef\nx",
            "",
        ];
        // Either way of building them (a tree's, a few small inputs').
        for (multi_line, small_input) in [(false, false), (true, false), (false, true), (true, true)] {
            let matchers = LazyRegex::any_matchers(&patterns, multi_line, small_input);
            // Three patterns anchored at the start of the text, of which a tree's matchers put
            // the hex run apart (it does not start with a literal); of the others, two hold a
            // literal (`example`, `.pem`) and one does not. A multi-line `^` anchors nothing:
            // `${` and `true`/`false` hold literals, the hex run does not.
            let want = match (multi_line, small_input) {
                (false, false) => 4,
                (false, true) => 3,
                (true, _) => 2,
            };
            let sizes: Vec<usize> = matchers.iter().map(|m| m.hirs.len()).collect();
            assert_eq!(
                matchers.len(),
                want,
                "multi_line={multi_line} small_input={small_input} {sizes:?}"
            );
            for hay in hays {
                let want = sources.iter().any(|p| {
                    regex::bytes::RegexBuilder::new(p)
                        .unicode(false)
                        .multi_line(multi_line)
                        .crlf(multi_line)
                        .build()
                        .unwrap()
                        .is_match(hay.as_bytes())
                });
                let got = matchers.iter().any(|m| m.is_match(hay.as_bytes()));
                assert_eq!(got, want, "{hay:?} multi_line={multi_line} small_input={small_input}");
            }
        }
    }

    /// Patterns answered by their literals alone, and some that must not be: a letter in one
    /// case, classes, counts, anchors. Random texts over letters of both cases and the
    /// patterns' other bytes.
    #[test]
    fn exact_literal_patterns_answer_as_the_patterns() {
        let exact = [
            r"(?i)example",
            r"(?i)x{3,}|\*{2,}|#{2}",
            r"(?i)ab|cd",
            r"(?i)a(?:bc|de)f{2}",
            r"12|…",
        ];
        let not_exact = [
            r"EXAMPLE",
            r"[ab]c",
            r"(?i)a[bc]",
            r"xy{2,}",
            r"\bab",
            r"a(?i)b",
            r"(?i)a.c",
            r"x*",
        ];
        for p in exact {
            assert!(exact_literals(&parse(p, false, false).unwrap()).is_some(), "{p}");
        }
        for p in not_exact {
            assert!(exact_literals(&parse(p, false, false).unwrap()).is_none(), "{p}");
        }
        let sources: Vec<&str> = exact.iter().chain(&not_exact[..4]).copied().collect();
        let alphabet = [
            "a", "A", "b", "B", "c", "C", "d", "D", "x", "X", "y", "*", "#", "1", "2", "…", " ", "example", "EXAMPLE",
            "ExAmPlE", "exampl", "xx", "yy", "aBC", "ade", "fF",
        ];
        let mut rng = crate::testrand::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
        for small_input in [false, true] {
            for (i, p) in sources.iter().enumerate() {
                let patterns = [LazyRegex::new(p).unwrap()];
                let matchers = LazyRegex::any_matchers(&patterns, false, small_input);
                let literal_only = matchers.iter().all(|m| m.hirs.is_empty());
                assert_eq!(literal_only, i < exact.len() && !small_input, "{p}");
                let re = written(p);
                let mut hits = 0;
                for _ in 0..3000 {
                    let len = next(10);
                    let hay: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
                    let want = re.is_match(hay.as_bytes());
                    hits += usize::from(want);
                    let got = matchers.iter().any(|m| m.is_match(hay.as_bytes()));
                    assert_eq!(got, want, "{p} on {hay:?}");
                }
                assert!(hits >= 20, "{p}: only {hits} matching texts");
            }
        }
    }

    /// A tree's matchers keep anchored patterns that start with a literal together and give
    /// each other one its own; what they answer is what the patterns do.
    #[test]
    fn anchored_patterns_without_a_leading_literal_stand_alone() {
        let sources = [
            r"^\$\{",
            r"(?i)^(?:true|false)$",
            r"^(?:-)?x",
            r"^[0-9a-f]{4,6}$",
            r"^[a-z]+(?:[A-Z][a-z]+)+$",
        ];
        let patterns: Vec<LazyRegex> = sources.iter().map(|p| LazyRegex::new(p).unwrap()).collect();
        let tree = LazyRegex::any_matchers(&patterns, false, false);
        assert_eq!(tree.iter().map(|m| m.hirs.len()).collect::<Vec<_>>(), [2, 1, 1, 1]);
        let small = LazyRegex::any_matchers(&patterns, false, true);
        assert_eq!(small.iter().map(|m| m.hirs.len()).collect::<Vec<_>>(), [5]);
        for hay in [
            "${a", "TRUE", "true!", "-x", "x", "beef", "beef0", "beefy", "fooBar", "foobar", "", " true",
        ] {
            let want = sources.iter().any(|p| written(p).is_match(hay.as_bytes()));
            for m in [&tree, &small] {
                assert_eq!(m.iter().any(|m| m.is_match(hay.as_bytes())), want, "{hay:?}");
            }
        }
    }

    #[test]
    fn required_literals_are_what_every_match_holds() {
        let lits = |p: &str| {
            required_any(&parse(p, false, false).unwrap(), &[]).map(|set| {
                set.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        let one = |p: &str| lits(p).map(|set| set.join("|"));
        assert_eq!(one(r"(?i)(?:next|page)[_.-]?token\s*[:=]").as_deref(), Some("token"));
        assert_eq!(
            one(r"ENC\[AES256_GCM,data:[a-z]*").as_deref(),
            Some("enc[aes256_gcm,data:")
        );
        // Zero-width assertions join the bytes around them; the longest run is kept.
        assert_eq!(one(r"ab\bcd[0-9]+wxyz1").as_deref(), Some("wxyz1"));
        assert_eq!(one(r"\bsecret\b").as_deref(), Some("secret"));
        // A letter in either case is the letter; a run through a small class is each of its
        // spellings, one through a large class ends there.
        assert_eq!(one(r"s[eE]cret").as_deref(), Some("secret"));
        assert_eq!(one(r"se[ea]cret").as_deref(), Some("seacret|seecret"));
        assert_eq!(
            one(r"AQ[EI][BCD]AH[A-Za-z0-9]{40}").as_deref(),
            Some("aqebah|aqecah|aqedah|aqibah|aqicah|aqidah")
        );
        assert_eq!(one(r"ab[0-3]cd[a-z]+").as_deref(), Some("ab0cd|ab1cd|ab2cd|ab3cd"));
        assert_eq!(one(r"ab[0-9]cdef").as_deref(), Some("cdef"));
        assert_eq!(one(r"abcd[a-z]x").as_deref(), Some("abcd"));
        // Alternations give the union of their branches' literals, repetitions their item's.
        assert_eq!(one(r"secret|token").as_deref(), Some("secret|token"));
        assert_eq!(
            one(r"(?:<(?:ab|cd)>[0-9]+</|value=[0-9]+)x").as_deref(),
            Some("</|value=")
        );
        assert_eq!(one(r"[0-9](?:ab){2,}[0-9]").as_deref(), Some("ab"));
        assert_eq!(one(r"(?i)x{5,}").as_deref(), Some("x"));
        // A longer shortest literal wins, then fewer literals (4 bytes are long enough), then
        // the longer.
        assert_eq!(one(r"(?:ab|cd)[0-9]efgh[0-9](?:hijk|lmno)").as_deref(), Some("efgh"));
        assert_eq!(
            one(r"(?:ab|cd)[0-9]efg[0-9](?:hijk|lmno)").as_deref(),
            Some("hijk|lmno")
        );
        assert_eq!(one(r"(?:hijk|lmno)[0-9]abcdefgh").as_deref(), Some("abcdefgh"));
        assert_eq!(one(r"(?:abcd|efgh)[0-9]ijkl").as_deref(), Some("ijkl"));
        // Nothing every match holds.
        assert_eq!(lits(r"(?i)x*y?"), None);
        assert_eq!(lits(r"x*[0-9]"), None);
        assert_eq!(lits(r"s[ea]c|[0-9]"), None);
    }

    #[test]
    fn required_literals_tell_what_a_keyword_does_not() {
        let with = |p: &str, keywords: &[&str]| {
            let kw: Vec<&[u8]> = keywords.iter().map(|k| k.as_bytes()).collect();
            required_any(&parse(p, false, false).unwrap(), &kw).map(|set| {
                set.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
                    .join("|")
            })
        };
        let xml = r"(?i)<(?:password|token)>([^<\s]{8,128})</|key=(?:password|token)\s{1,5}value=([^\s]{8,})";
        // Without keywords the longest literals win; with them, the set the keywords leave open.
        assert_eq!(with(xml, &[]).as_deref(), Some("password|token|value="));
        assert_eq!(with(xml, &["password", "token"]).as_deref(), Some("</|value="));
        // A set one keyword lacks still tells something.
        assert_eq!(
            with(r"(?i)(?:secret|token)=[a-z]{8}", &["secret", "pass"]).as_deref(),
            Some("secret|token")
        );
        assert!(tells(&[b"secret".to_vec()], &[b"secret", b"pass"]));
        assert!(!tells(&[b"sec".to_vec()], &[b"secret", b"mysecret"]));
        assert!(tells(&[b"sec".to_vec()], &[]));
        // The rule-level choice drops one-byte literals and sets every keyword holds.
        let lazy = |p: &str, keywords: &[&str]| {
            let kw: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
            let l = LazyRegex::deferred(p).unwrap().with_keywords(&kw);
            l.required().map(|f| {
                f.iter()
                    .map(|f| String::from_utf8(f.needle().to_vec()).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            lazy(xml, &["password", "token"]),
            Some(vec!["</".to_string(), "value=".to_string()])
        );
        assert_eq!(
            lazy(r"(?i)token:[a-z]{8}", &["token"]),
            Some(vec!["token:".to_string()])
        );
        assert_eq!(lazy(r"(?i)token[a-z]{8}", &["token"]), None);
        assert_eq!(lazy(r"(?i)token[a-z]{8}:", &["token"]), None);
        assert_eq!(lazy(r"(?i)token[a-z]{8}::", &["token"]), Some(vec!["::".to_string()]));
    }

    /// Every match of every built-in rule, on its examples, holds one of the literals the scan
    /// looks for before searching (in some ASCII case).
    #[test]
    fn built_in_matches_hold_a_required_literal() {
        crate::rules::embedded::want_examples();
        let rs = crate::rules::load::load_embedded(crate::rules::embedded::FILES).unwrap();
        let mut checked = 0;
        for rule in &rs.rules {
            let Some(re) = &rule.regex else { continue };
            let Some(finders) = re.required() else { continue };
            for ex in &rule.examples {
                let text = ex.parts().1.as_bytes();
                let mut found = 0;
                re.each_captures(text, |caps| {
                    let m = caps[0].unwrap();
                    let lower = text[m.range()].to_ascii_lowercase();
                    assert!(
                        finders.iter().any(|f| f.find(&lower).is_some()),
                        "rule {}: match {:?} holds none of its required literals",
                        rule.id,
                        String::from_utf8_lossy(&text[m.range()])
                    );
                    found += 1;
                })
                .unwrap();
                assert!(found > 0, "rule {}: example without a match", rule.id);
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} examples checked");
    }

    #[test]
    fn matchers_with_required_literals_answer_as_the_patterns() {
        let sources = [
            r"(?i)(?:next|page)[_.-]?token\s*[:=]",
            r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,",
            r"-----BEGIN AGE",
        ];
        let patterns: Vec<LazyRegex> = sources.iter().map(|p| LazyRegex::new(p).unwrap()).collect();
        let hays = [
            "next_token = x",
            "NEXT-TOKEN: x",
            "PageToken=",
            "token = x",
            "next token = x",
            "a: ENC[AES256_GCM,data:abc=,iv:x]",
            "a: enc[aes256_gcm,data:abc=,iv:x]",
            "-----BEGIN AGE ENCRYPTED FILE-----",
            "-----begin age",
            "",
        ];
        // Either kind of literal automaton.
        for small_input in [false, true] {
            let matchers = LazyRegex::any_matchers(&patterns, true, small_input);
            assert!(matchers.iter().all(|m| m.pre.is_some()));
            for hay in hays {
                let want = sources.iter().any(|p| written(p).is_match(hay.as_bytes()));
                let got = matchers.iter().any(|m| m.is_match(hay.as_bytes()));
                assert_eq!(got, want, "{hay:?} small_input={small_input}");
            }
        }
    }

    fn starts_of(pattern: &str, keywords: &[&str]) -> Option<Starts> {
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        LazyRegex::deferred(pattern)
            .unwrap()
            .with_keywords(&keywords)
            .starts()
            .cloned()
    }

    fn by_keyword(list: &[(&str, &[u32])]) -> Option<Starts> {
        Some(Starts::Keywords(
            list.iter()
                .map(|(k, ds)| (k.as_bytes().to_vec(), ds.to_vec()))
                .collect(),
        ))
    }

    /// Where matches start: each string a match can begin with names the keyword that starts
    /// first in it and how far in; alternations, optional items, small classes and either
    /// ASCII case are spelled out, zero-width assertions skipped.
    #[test]
    fn match_starts_are_keyword_hits_less_a_fixed_distance() {
        assert_eq!(
            starts_of(
                r#"(?i)(?:password|auth[_.-]?token|client[_.-]?secret)\s*=\s*"([^"]{8,})""#,
                &["password", "token", "secret"]
            ),
            by_keyword(&[("password", &[0]), ("secret", &[6, 7]), ("token", &[4, 5])])
        );
        assert_eq!(
            starts_of(r"\b(sk-(?:proj|None)-[A-Za-z0-9]{20})\b", &["sk-proj-", "sk-none-"]),
            by_keyword(&[("sk-none-", &[0]), ("sk-proj-", &[0])])
        );
        assert_eq!(
            starts_of(
                r"https?://hooks\.slack\.com/services/T[A-Z0-9]+",
                &["hooks.slack.com/services"]
            ),
            by_keyword(&[("hooks.slack.com/services", &[7, 8])])
        );
        // The keyword that starts first wins; a keyword past the end of what is spelled out
        // does not count.
        assert_eq!(
            starts_of(r"(?:x|key)=tk_[a-z]+", &["tk_", "key="]),
            by_keyword(&[("key=", &[0]), ("tk_", &[2])])
        );
        // Either case of a letter is one string.
        assert_eq!(
            starts_of(r"[Gg][Hh][Pp]_[A-Za-z0-9]{36}", &["ghp_"]),
            by_keyword(&[("ghp_", &[0])])
        );
        // A class of one byte stands for any byte, repeated exactly n times for n bytes: the
        // keyword past them is still at a fixed place.
        assert_eq!(
            starts_of(r"\b(sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})\b", &["t3blbkfj"]),
            by_keyword(&[("t3blbkfj", &[23])])
        );
        assert_eq!(
            starts_of(
                r"(?:^|[^A-Za-z0-9./$])(\$2[ab]\$[0-3][0-9]\$[./A-Za-z0-9]{53})",
                &["$2a$", "$2b$"]
            ),
            by_keyword(&[("$2a$", &[0, 1]), ("$2b$", &[0, 1])])
        );
        assert_eq!(
            starts_of(r"(?-u:[\x00-\xff])[a-z]{2}(?:x|yy)key", &["key"]),
            by_keyword(&[("key", &[4, 5])])
        );
        // An optional item that ends a string leaves the strings that skip it going on.
        assert_eq!(
            starts_of(
                r"(?i)\b(?:postgres|redis)(?:\+[a-z0-9]+)?://[^:]*:([^@]{3,})@",
                &["postgres://", "postgres+", "redis://", "redis+"]
            ),
            by_keyword(&[
                ("postgres+", &[0]),
                ("postgres://", &[0]),
                ("redis+", &[0]),
                ("redis://", &[0])
            ])
        );
    }

    /// No known starts when some match may begin without a keyword at a fixed place in it, or
    /// the strings are too many to spell out, or the pattern can match empty.
    #[test]
    fn match_starts_are_refused_when_a_match_can_start_elsewhere() {
        // `secretkey` holds no keyword: a match of it is found only in another keyword's window.
        assert_eq!(
            starts_of(r"(?i)(?:aws_?)?secret_?key=\S+", &["secret_key", "aws_secret"]),
            None
        );
        // A run before the keyword: the distance is not fixed.
        assert_eq!(starts_of(r"[a-z_]*token=\S+", &["token"]), None);
        assert_eq!(starts_of(r"[a-z]{1,3}token=\S+", &["token"]), None);
        // 8 x 8 x 8 strings before the keyword: more than are spelled out.
        assert_eq!(starts_of(r"[a-h][a-h][a-h]token=\S+", &["token"]), None);
        // Matches empty.
        assert_eq!(starts_of(r"(?:token)?", &["token"]), None);
        // A run of a varying number of bytes, or a class of characters beyond ASCII (1 to 4
        // bytes each), before the keyword: its place is not fixed.
        assert_eq!(starts_of(r"sk-[A-Za-z0-9]{20,30}T3BlbkFJ", &["t3blbkfj"]), None);
        assert_eq!(starts_of(r"(?u)[^a-z]token=\S+", &["token"]), None);
        assert_eq!(starts_of(r"(?u)\w{3}token=\S+", &["token"]), None);
        // A string a run ended does not go on, though the other branch's does.
        assert_eq!(starts_of(r"(?:ab[a-z]*|cd)token=\S+", &["token"]), None);
        // The strings that skip an optional item go on: `redis://` holds no keyword here.
        assert_eq!(
            starts_of(r"(?i)\b(?:postgres|redis)(?:\+[a-z0-9]+)?://x", &["postgres", "redis+"]),
            None
        );
        // A keyword over a byte the string leaves open does not count.
        assert_eq!(starts_of(r"ke[a-z]=\S+", &["key="]), None);
        // No keywords.
        assert_eq!(starts_of(r"tk_[a-z]{8}", &[]), None);
    }

    /// Patterns that begin with `^` in any mode (or every alternative of which does) start
    /// where lines do; a pattern that may begin elsewhere does not.
    #[test]
    fn match_starts_at_lines_for_patterns_that_begin_with_a_line_start() {
        assert_eq!(
            starts_of(r"(?im)^[ \t]*password=(\S+)", &["password"]),
            Some(Starts::Lines)
        );
        assert_eq!(starts_of(r"^(?:a|b)x|^c", &["x"]), Some(Starts::Lines));
        assert_eq!(starts_of(r"\Atoken=\S+", &["token"]), Some(Starts::Lines));
        // `^` or a byte: a match begins with `password` or `xpassword`.
        assert_eq!(
            starts_of(r"(?:^|x)password", &["password"]),
            by_keyword(&[("password", &[0, 1])])
        );
        let mut at = Vec::new();
        Starts::line_starts(b"a\nb\r\nc\rd\r\n", &mut at);
        assert_eq!(at, [0, 2, 5, 7]);
        at.clear();
        Starts::line_starts(b"", &mut at);
        assert!(at.is_empty());
    }

    /// Where `starts` says matches can start in `hay`, found as a scan finds them: every
    /// occurrence of a keyword (ASCII case aside) less each of its distances, or every line
    /// start.
    fn candidates(hay: &[u8], starts: &Starts) -> Vec<usize> {
        let mut out = Vec::new();
        match starts {
            Starts::Lines => Starts::line_starts(hay, &mut out),
            Starts::Keywords(by_keyword) => {
                for (kw, ds) in by_keyword {
                    for at in 0..hay.len() {
                        if hay[at..].len() >= kw.len() && hay[at..at + kw.len()].eq_ignore_ascii_case(kw) {
                            out.extend(ds.iter().filter_map(|&d| at.checked_sub(d as usize)));
                        }
                    }
                }
                out.sort_unstable();
                out.dedup();
            }
        }
        out
    }

    /// Anchored searches from where matches can start find exactly what the written pattern's
    /// `captures_iter` finds: relaxed and strict patterns, groups a locator finds and groups
    /// that need a capture search, keywords some distance into a match, and line starts after
    /// `\n`, `\r\n` and a lone `\r`.
    #[test]
    fn anchored_searches_from_known_starts_find_what_the_written_pattern_finds() {
        let patterns: [(&str, &[&str]); 8] = [
            (
                r#"(?i)(?:password|auth[_.-]?token|token|client[_.-]?secret)[ \t]{0,3}[=:][ \t]{0,3}["']([^"'\s]{4,70})["']"#,
                &["password", "token", "secret"],
            ),
            (r"\b(tk_(?:live|test)_[a-z0-9]{3,66})\b", &["tk_live_", "tk_test_"]),
            (
                r#"(?m)^[ \t]*(?:export[ \t]+)?[a-z_]{0,10}?token[ \t]*=[ \t]*([^\s"']{3,})$"#,
                &["token"],
            ),
            (r"https?://(?:www\.)?hook\.io/([a-z0-9]{4,20})", &["hook.io/"]),
            (r"(?:x|key)=(tk_[a-z]{2,8})", &["tk_"]),
            (r"(?i)(token|secret)=([a-z0-9]{3,10})", &["token", "secret"]),
            (r"(?:^|[^a-z0-9_])(ab[a-z0-9]{3}tk_[a-z]{2,8})\b", &["tk_"]),
            (
                r"(?i)\b(?:tk|pk)(?:\+[a-z0-9]+)?://([a-z]{2,5})",
                &["tk://", "tk+", "pk://", "pk+"],
            ),
        ];
        let pieces: [&[u8]; 54] = [
            b"password",
            b"PASSWORD",
            b"auth_token",
            b"auth-token",
            b"AuthToken",
            b"token",
            b"Token",
            b"client_secret",
            b"clientSecret",
            b"secret",
            b"=",
            b":",
            b" ",
            b"\t",
            b"\"",
            b"'",
            b"tk_live_",
            b"tk_test_",
            b"tk_",
            b"x=",
            b"key=",
            b"export ",
            b"\n",
            b"\r\n",
            b"\r",
            b"https://",
            b"http://",
            b"www.",
            b"hook.io/",
            b"ab0",
            b"a",
            b"=\"",
            b"ab0ab\"",
            b": '",
            b"x9yz'",
            b"=ab0a",
            b"_ab0",
            b"token = 'x9yz'",
            b"auth_token: \"ab0ab\"",
            b"clientSecret='x9yz'",
            b"\ntoken=ab0",
            b"\r\nexport ab_token = x9z\r",
            b"https://www.hook.io/ab0a",
            b"hook.io/x9yza",
            b"key=tk_ab",
            b"x=tk_live_ab0",
            b"ab0x9tk_ab",
            b"_ab0x9tk_abc",
            b" abx9ztk_",
            b"\nabab0tk_xyz",
            b"tk://",
            b"TK+ab0://",
            b"pk+x://ab",
            b"+",
        ];
        let mut hays = Hays(crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15));
        for (pattern, keywords) in patterns {
            let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
            let lazy = LazyRegex::deferred(pattern).unwrap().with_keywords(&keywords);
            let starts = lazy
                .starts()
                .cloned()
                .unwrap_or_else(|| panic!("{pattern}: no known starts"));
            let written = written(pattern);
            let mut matches = 0;
            for _ in 0..2000 {
                let hay = hays.hay(&pieces, 200, 10, 80);
                let want: Vec<_> = written.captures_iter(&hay).map(|c| spans(&c)).collect();
                let mut got = Vec::new();
                lazy.each_captures_from(&hay, &candidates(&hay, &starts), |c| got.push(group_spans(c)))
                    .unwrap();
                assert_eq!(got, want, "{pattern} on {:?}", String::from_utf8_lossy(&hay));
                matches += want.len();
            }
            assert!(matches > 100, "{pattern}: only {matches} matches");
        }
    }
}

//! A validated pattern whose regex is compiled the first time it is needed.
//!
//! Loading a user's ruleset parses every pattern (it catches syntax errors, missing groups and
//! unsupported Go syntax up front) but compiles none; the embedded rules are not even parsed
//! until needed. The pre-commit hook compiles only the rules whose keywords occur in the staged
//! change.

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};
use regex_automata::{meta, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

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
/// A bounded repetition with more than this many counts gets the smaller cache.
const LONG_COUNT: u32 = 64;

/// What parsing a pattern tells before it is compiled.
#[derive(Debug, Clone, Copy)]
struct Info {
    unicode: bool,
    groups: usize,
    max_newlines: Option<usize>,
    long_count: bool,
}

/// A pattern compiled on first use. User patterns are parsed (validated) when loaded; the
/// embedded rules, which the test suite validates, are parsed on first use too, so start-up
/// costs only what the scanned content needs.
#[derive(Debug)]
pub struct LazyRegex {
    /// The pattern in Rust syntax (after Go translation).
    pub source: String,
    info: OnceLock<Result<Info, String>>,
    cell: OnceLock<Result<Regex, String>>,
    /// For `is_match`: the same pattern without literal prefilters (`None` if it failed to
    /// build; `get` then gives the error).
    matcher: OnceLock<Option<meta::Regex>>,
}

impl LazyRegex {
    /// Translates and parses `pattern`; errors are one line, fit to follow "regex: ".
    pub fn new(pattern: &str) -> Result<LazyRegex, String> {
        let lazy = LazyRegex::deferred(pattern)?;
        lazy.info()?;
        Ok(lazy)
    }

    /// Translates `pattern` now and parses it on first use (for trusted, tested patterns).
    pub fn deferred(pattern: &str) -> Result<LazyRegex, String> {
        let source = super::re2::translate(pattern)?;
        Ok(LazyRegex {
            source,
            info: OnceLock::new(),
            cell: OnceLock::new(),
            matcher: OnceLock::new(),
        })
    }

    fn info(&self) -> Result<Info, String> {
        self.info
            .get_or_init(|| parse_either(&self.source).map(|(hir, unicode)| Info::of(&hir, unicode)))
            .clone()
    }

    /// Number of explicit capture groups (0 if the pattern does not parse).
    pub fn groups(&self) -> usize {
        self.info().map_or(0, |i| i.groups)
    }

    /// Most newlines a match can contain; `None` when unbounded (or unparseable).
    pub fn max_newlines(&self) -> Option<usize> {
        self.info().ok().and_then(|i| i.max_newlines)
    }

    /// The compiled regex, compiling it now if this is the first use.
    pub fn get(&self) -> Result<&Regex, &str> {
        self.cell
            .get_or_init(|| {
                let info = self.info()?;
                RegexBuilder::new(&self.source)
                    .unicode(info.unicode)
                    .multi_line(true)
                    .crlf(true)
                    .size_limit(SIZE_LIMIT)
                    .dfa_size_limit(if info.long_count {
                        DFA_SIZE_LIMIT_COUNTED
                    } else {
                        DFA_SIZE_LIMIT
                    })
                    .build()
                    .map_err(|e| one_line(&e.to_string()))
            })
            .as_ref()
            .map_err(String::as_str)
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
            None => self.get().map(|r| r.is_match(hay)),
        }
    }

    /// One matcher for several patterns, answering whether any of them matches: what an
    /// allowlist asks. One multi-pattern build shares the fixed cost of building a regex
    /// (several engines, caches) that dozens of single builds would each pay. `None` when a
    /// pattern does not parse or the union does not build; callers then ask one by one.
    pub fn any_matcher(patterns: &[LazyRegex]) -> Option<meta::Regex> {
        let hirs = patterns
            .iter()
            .map(|p| parse_either(&p.source).ok().map(|(hir, _)| hir))
            .collect::<Option<Vec<Hir>>>()?;
        meta::Builder::new()
            .configure(matcher_config())
            .build_many_from_hir(&hirs)
            .ok()
    }

    /// The meta regex `get` builds (the configuration the regex crate's `RegexBuilder` gives
    /// it, see its `builders.rs`) with `auto_prefilter` off, built from the HIR parsed here:
    /// the pattern is parsed once, where `get` parses it twice.
    fn build_matcher(&self) -> Option<meta::Regex> {
        let (hir, unicode) = parse_either(&self.source).ok()?;
        let _ = self.info.set(Ok(Info::of(&hir, unicode)));
        meta::Builder::new()
            .configure(matcher_config())
            .build_from_hir(&hir)
            .ok()
    }

    /// Whether a match near a keyword hit fits in a window of a few lines around it.
    pub fn window_lines(&self) -> Option<usize> {
        self.max_newlines().filter(|&n| n <= MAX_WINDOW_LINES)
    }
}

impl Info {
    fn of(hir: &Hir, unicode: bool) -> Info {
        Info {
            unicode,
            groups: hir.properties().explicit_captures_len(),
            max_newlines: max_newlines(hir),
            long_count: has_long_count(hir),
        }
    }
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
    match parse(source, false) {
        Ok(h) => Ok((h, false)),
        Err(ascii_err) => match parse(source, true) {
            Ok(h) => Ok((h, true)),
            Err(_) => Err(ascii_err),
        },
    }
}

/// The syntax `get` compiles with (the regex crate's defaults otherwise), as `Hir`.
fn parse(source: &str, unicode: bool) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .multi_line(true)
        .crlf(true)
        .build()
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
    use super::LazyRegex;

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

    #[test]
    fn unicode_classes_fall_back() {
        let r = LazyRegex::new(r"\p{Greek}+").unwrap();
        assert!(r.get().unwrap().is_match("αβγ".as_bytes()));
    }
}

//! Rules: the schema, the embedded default set, loading and validation, and the compiled form
//! the scanner uses (keyword automaton, lazily compiled regexes, allowlists).
//!
//! This module decides *which* rules exist and what they say; it does not scan. Matching bytes
//! against rules lives in `scan`.

pub mod check;
pub mod embedded;
pub mod hircode;
pub mod keywords;
pub mod load;
pub mod pattern;
pub mod re2;
pub mod schema;
pub mod shared;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use memchr::memmem::Finder;

pub use keywords::KeywordAutomaton;
pub use load::{ConfigError, RuleSource};
pub use pattern::LazyRegex;
pub use schema::{Confidence, ExampleSpec, Severity};

/// What an allowlist regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    /// The extracted secret (default).
    Secret,
    /// The whole regex match.
    Match,
    /// The line(s) containing the match.
    Line,
}

/// Whether any (OR) or all (AND) of an allowlist's criteria must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Or,
    And,
}

/// A compiled allowlist, attached to a rule or global.
#[derive(Debug)]
pub struct Allowlist {
    /// Free text from the config.
    pub description: Option<String>,
    pub condition: Condition,
    pub commits: Vec<String>,
    pub paths: Vec<LazyRegex>,
    pub target: RegexTarget,
    pub regexes: Vec<LazyRegex>,
    /// Lowercased stopwords; a secret containing one is allowed.
    pub stopwords: Vec<String>,
    stopword_ac: OnceLock<Option<AhoCorasick>>,
    /// `regexes` as one or two matchers, built on first use (see `LazyRegex::any_matchers`).
    any_regex: OnceLock<Vec<pattern::AnyMatcher>>,
    /// Set by `Ruleset::expect_small_input`: literal automata are built for start-up time.
    small_input: AtomicBool,
    /// Global allowlists only: the rule ids it applies to (empty = all rules).
    pub target_rules: Vec<String>,
}

/// What an allowlist is asked about one candidate match.
pub struct Candidate<'a> {
    pub commit: Option<&'a str>,
    /// Path relative to the project root, `/`-separated.
    pub path: &'a str,
    pub secret: &'a [u8],
    pub matched: &'a [u8],
    pub line: &'a [u8],
}

impl Allowlist {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        description: Option<String>,
        condition: Condition,
        commits: Vec<String>,
        paths: Vec<LazyRegex>,
        target: RegexTarget,
        regexes: Vec<LazyRegex>,
        stopwords: Vec<String>,
        target_rules: Vec<String>,
    ) -> Allowlist {
        Allowlist {
            description,
            condition,
            commits,
            paths,
            target,
            regexes,
            stopwords: stopwords.into_iter().map(|s| s.to_ascii_lowercase()).collect(),
            stopword_ac: OnceLock::new(),
            any_regex: OnceLock::new(),
            small_input: AtomicBool::new(false),
            target_rules,
        }
    }

    /// Whether this allowlist applies to the rule `id` (global allowlists may target rules).
    pub fn applies_to(&self, id: &str) -> bool {
        self.target_rules.is_empty() || self.target_rules.iter().any(|t| t == id)
    }

    /// True when the allowlist has only path criteria, so a whole file can be skipped early.
    pub fn is_path_only(&self) -> bool {
        !self.paths.is_empty() && self.commits.is_empty() && self.regexes.is_empty() && self.stopwords.is_empty()
    }

    /// Whether `path` matches one of the path patterns.
    pub fn path_matches(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p.is_match(path.as_bytes()).unwrap_or(false))
    }

    /// Whether the candidate is allowed by this allowlist.
    pub fn allows(&self, c: &Candidate<'_>) -> bool {
        let mut checks: [Option<bool>; 4] = [None; 4];
        if !self.commits.is_empty() {
            checks[0] = Some(
                c.commit
                    .is_some_and(|sha| self.commits.iter().any(|x| sha.starts_with(x.as_str()))),
            );
        }
        if !self.paths.is_empty() {
            checks[1] = Some(self.path_matches(c.path));
        }
        if !self.regexes.is_empty() {
            let hay = match self.target {
                RegexTarget::Secret => c.secret,
                RegexTarget::Match => c.matched,
                RegexTarget::Line => c.line,
            };
            // `^` and `$` are the ends of the secret or match (as in gitleaks); a line has no
            // line breaks inside, and keeps `$` matching before a CR.
            let multi_line = self.target == RegexTarget::Line;
            let matchers = self
                .any_regex
                .get_or_init(|| LazyRegex::any_matchers(&self.regexes, multi_line, self.small()));
            checks[2] = Some(matchers.iter().any(|m| m.is_match(hay)));
        }
        if !self.stopwords.is_empty() {
            checks[3] = Some(self.has_stopword(c.secret));
        }
        let mut set = checks.iter().flatten();
        match self.condition {
            Condition::Or => set.any(|&b| b),
            Condition::And => set.all(|&b| b),
        }
    }

    fn has_stopword(&self, secret: &[u8]) -> bool {
        let ac = self.stopword_ac.get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .kind(self.small().then_some(AhoCorasickKind::ContiguousNFA))
                .build(&self.stopwords)
                .ok()
        });
        ac.as_ref().is_some_and(|ac| ac.is_match(secret))
    }

    fn small(&self) -> bool {
        self.small_input.load(Ordering::Relaxed)
    }
}

/// A composite rule's component: another rule that must match nearby.
#[derive(Debug, Clone)]
pub struct Required {
    /// Index of the required rule in the ruleset.
    pub rule: usize,
    pub within_lines: Option<usize>,
    pub within_columns: Option<usize>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub confidence: Confidence,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    /// Lowercased keywords; empty means the rule runs on every file.
    pub keywords: Vec<String>,
    pub regex: Option<LazyRegex>,
    pub secret_group: Option<usize>,
    pub entropy: Option<f64>,
    /// Boxed: most rules have none, and an inline `LazyRegex` (512 bytes) would grow every
    /// rule, so loading the rules would touch more memory (page faults are much of start-up).
    pub path: Option<Box<LazyRegex>>,
    /// Offline structure check a match must pass.
    pub validate: Option<crate::scan::Validator>,
    pub allowlists: Vec<Allowlist>,
    pub required: Vec<Required>,
    /// Only a component of composite rules: never reported on its own.
    pub skip_report: bool,
    pub examples: Vec<ExampleSpec>,
    pub negative_examples: Vec<ExampleSpec>,
    /// Where the rule was defined (file name and line), for messages.
    pub source: RuleSource,
}

impl Rule {
    /// The secret of a match with groups `caps` (group 0 first): `secretGroup`, else the first
    /// group that matched something, else the whole match. `None` when `secretGroup` did not
    /// take part in the match.
    pub fn secret(&self, caps: &[Option<regex_automata::Span>]) -> Option<regex_automata::Span> {
        match self.secret_group {
            Some(g) => caps.get(g).copied().flatten(),
            None => caps[1..].iter().flatten().find(|g| !g.is_empty()).copied().or(caps[0]),
        }
    }
}

/// A loaded, validated ruleset with its keyword index.
#[derive(Debug)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
    pub global_allowlists: Vec<Allowlist>,
    /// Human description of where the rules came from ("embedded default", a path).
    pub origin: String,
    /// The distinct keywords; pattern i of the automaton is `keywords[i]`.
    keywords: Vec<String>,
    /// Keyword automaton, built on first use (see `small_input`).
    keyword_ac: OnceLock<Option<KeywordAutomaton>>,
    /// Set while another thread builds a tree's keyword DFA (`keyword_automaton_beside`):
    /// searches meanwhile use `keyword_nfa`, quick to build, rather than wait.
    keyword_dfa_pending: AtomicBool,
    keyword_nfa: OnceLock<Option<KeywordAutomaton>>,
    /// Set before scanning a few small inputs (a staged change, one file): build an automaton
    /// that is quick to build rather than quick to run, and search the first few KiB keyword
    /// by keyword without one.
    small_input: AtomicBool,
    /// Bytes still to be searched keyword by keyword (see `keyword_hits_one_by_one`).
    one_by_one_budget: AtomicUsize,
    /// One substring finder per keyword, for `keyword_hits_one_by_one`.
    keyword_finders: OnceLock<Vec<Finder<'static>>>,
    /// For each keyword pattern, the rules it triggers.
    keyword_rules: Vec<Vec<u32>>,
    /// Rules with a regex and no keywords: they run on every file.
    pub always_rules: Vec<u32>,
    /// Rules with a path and no regex: a file whose path matches is itself the finding.
    pub path_only_rules: Vec<u32>,
    /// Per rule: lines around a keyword hit its regex must see, `None` = the whole blob;
    /// computed on first use (it needs the parsed pattern).
    window_lines: Vec<OnceLock<Option<usize>>>,
    /// Per rule: where its matches start (see `pattern::Starts`), computed on first use.
    starts: Vec<OnceLock<Option<RuleStarts>>>,
}

/// Where a rule's matches start, in the terms of a scan (see `pattern::Starts`).
#[derive(Debug, PartialEq, Eq)]
pub enum RuleStarts {
    /// At a hit of a keyword pattern less one of its distances: (keyword pattern, distances)
    /// for each keyword a match can start from.
    Keywords(Vec<(usize, Box<[u32]>)>),
    /// Where lines start.
    Lines,
}

impl Ruleset {
    pub(crate) fn new(mut rules: Vec<Rule>, global_allowlists: Vec<Allowlist>, origin: String) -> Ruleset {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut keyword_index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut always_rules = Vec::new();
        let mut path_only_rules = Vec::new();
        let window_lines = rules.iter().map(|_| OnceLock::new()).collect();
        let starts = rules.iter().map(|_| OnceLock::new()).collect();
        for rule in &mut rules {
            if let Some(re) = rule.regex.as_mut() {
                re.whole_files = rule.keywords.is_empty();
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            if rule.regex.is_none() {
                if rule.path.is_some() {
                    path_only_rules.push(i as u32);
                }
                continue;
            }
            // Composite components that are never reported alone run only when needed.
            if rule.skip_report {
                continue;
            }
            if rule.keywords.is_empty() {
                always_rules.push(i as u32);
            }
            for kw in &rule.keywords {
                match keyword_index.get(kw.as_str()) {
                    Some(&p) => keyword_rules[p].push(i as u32),
                    None => {
                        keyword_index.insert(kw, keywords.len());
                        keywords.push(kw.clone());
                        keyword_rules.push(vec![i as u32]);
                    }
                }
            }
        }
        Ruleset {
            rules,
            global_allowlists,
            origin,
            keywords,
            keyword_ac: OnceLock::new(),
            keyword_dfa_pending: AtomicBool::new(false),
            keyword_nfa: OnceLock::new(),
            small_input: AtomicBool::new(false),
            one_by_one_budget: AtomicUsize::new(0),
            keyword_finders: OnceLock::new(),
            keyword_rules,
            always_rules,
            path_only_rules,
            window_lines,
            starts,
        }
    }

    /// The keyword automaton, if any rule has keywords.
    pub fn keyword_automaton(&self) -> Option<&KeywordAutomaton> {
        if let Some(ac) = self.keyword_ac.get() {
            return ac.as_ref();
        }
        if self.keyword_dfa_pending.load(Ordering::Acquire) {
            return self
                .keyword_nfa
                .get_or_init(|| self.new_keyword_automaton(true))
                .as_ref();
        }
        self.build_keyword_automaton()
    }

    /// For a tree: the keyword automaton is built by the returned function, to be run on a
    /// thread of its own; until it is built, searches use a contiguous NFA (built in a fifth
    /// of the time, with the same hits) rather than wait the ~3 ms the DFA takes.
    /// With keywords the trigram filter suits, that is built at once (it takes microseconds).
    pub fn keyword_automaton_beside(&self) -> impl FnOnce() + Send + '_ {
        let mut pending = self.keyword_ac.get().is_none() && !self.small_input();
        if pending {
            if let Some(g) = keywords::Grams::new(&self.keywords) {
                let _ = self.keyword_ac.set(Some(KeywordAutomaton::Grams(g)));
                pending = false;
            }
        }
        if pending {
            self.keyword_dfa_pending.store(true, Ordering::Release);
        }
        move || {
            if pending {
                self.build_keyword_automaton();
                self.keyword_dfa_pending.store(false, Ordering::Release);
            }
        }
    }

    fn build_keyword_automaton(&self) -> Option<&KeywordAutomaton> {
        // For a tree, the trigram filter, else a DFA: ~2x faster to search than the automatic
        // choice for a few hundred case-insensitive keywords (PERF-NOTES.md) but ~3 ms to
        // build; for a staged change, the NFA.
        self.keyword_ac
            .get_or_init(|| self.new_keyword_automaton(self.small_input()))
            .as_ref()
    }

    /// An automaton over the keywords (`None` without any): an NFA for `small`, else a DFA.
    fn new_keyword_automaton(&self, small: bool) -> Option<KeywordAutomaton> {
        (!self.keywords.is_empty()).then(|| KeywordAutomaton::new(&self.keywords, small))
    }

    /// Marks the input as a few small blobs (before the first scan): the keyword automaton is
    /// then built for start-up time rather than throughput, and only if the blobs add up to more
    /// than a few KiB. Results are the same either way.
    pub fn expect_small_input(&self) {
        self.small_input.store(true, Ordering::Relaxed);
        let rules = self.rules.iter().flat_map(|r| &r.allowlists);
        for a in self.global_allowlists.iter().chain(rules) {
            a.small_input.store(true, Ordering::Relaxed);
        }
        self.one_by_one_budget.store(ONE_BY_ONE_BUDGET, Ordering::Relaxed);
    }

    /// Whether `expect_small_input` was called.
    pub fn small_input(&self) -> bool {
        self.small_input.load(Ordering::Relaxed)
    }

    /// Length in bytes of the longest keyword (0 without keywords).
    pub fn max_keyword_len(&self) -> usize {
        self.keywords.iter().map(|k| k.len()).max().unwrap_or(0)
    }

    /// Whether a blob of `len` bytes is to be searched keyword by keyword (and takes that much
    /// of the budget) rather than with the automaton.
    pub fn search_one_by_one(&self, len: usize) -> bool {
        let cost = len.saturating_add(ONE_BY_ONE_BLOB_COST);
        self.keyword_ac.get().is_none()
            && self
                .one_by_one_budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(cost))
                .is_ok()
    }

    /// Every keyword occurrence in `bytes` as (end, start, pattern), sorted: what the
    /// automaton's overlapping search reports, in its order (by end; hits that end together lie
    /// on one line, so their order does not change a plan). `lower` is scratch space.
    pub fn keyword_hits_one_by_one(&self, bytes: &[u8], lower: &mut Vec<u8>, hits: &mut Vec<(usize, usize, usize)>) {
        let finders = self.keyword_finders.get_or_init(|| {
            self.keywords
                .iter()
                .map(|k| Finder::new(k.as_bytes()).into_owned())
                .collect()
        });
        // Keywords are lowercase: ASCII case-insensitive search, as the automaton's.
        lower.clear();
        lower.extend(bytes.iter().map(u8::to_ascii_lowercase));
        hits.clear();
        for (p, f) in finders.iter().enumerate() {
            let n = f.needle().len();
            let mut at = 0;
            // Overlapping: the next search starts one byte after the last hit's start.
            while let Some(i) = lower.get(at..).and_then(|hay| f.find(hay)) {
                hits.push((at + i + n, at + i, p));
                at += i + 1;
            }
        }
        hits.sort_unstable();
    }

    /// The rules triggered by keyword pattern `pattern`.
    pub fn rules_for_keyword(&self, pattern: usize) -> &[u32] {
        &self.keyword_rules[pattern]
    }

    /// Lines around a keyword hit that rule `i`'s regex must see; `None` = the whole blob.
    pub fn window_lines(&self, i: usize) -> Option<usize> {
        *self.window_lines[i].get_or_init(|| rule_window(&self.rules[i]))
    }

    /// Where rule `i`'s matches start, when that is known (it needs the parsed pattern).
    pub fn starts(&self, i: usize) -> Option<&RuleStarts> {
        self.starts[i].get_or_init(|| self.rule_starts(i)).as_ref()
    }

    /// The distances before a hit of keyword `pattern` at which rule `i`'s matches can start,
    /// when its matches start at keyword hits.
    #[inline]
    pub fn keyword_starts(&self, i: usize, pattern: usize) -> Option<&[u32]> {
        match self.starts(i)? {
            RuleStarts::Keywords(by_keyword) => by_keyword.iter().find(|(p, _)| *p == pattern).map(|(_, d)| &d[..]),
            RuleStarts::Lines => None,
        }
    }

    fn rule_starts(&self, i: usize) -> Option<RuleStarts> {
        let rule = &self.rules[i];
        if rule.skip_report || rule.keywords.is_empty() {
            return None;
        }
        match rule.regex.as_ref()?.starts()? {
            pattern::Starts::Lines => Some(RuleStarts::Lines),
            pattern::Starts::Keywords(by_keyword) => {
                let mut out = Vec::new();
                for (kw, ds) in by_keyword {
                    // Every keyword of a rule is a pattern of the keyword search; if one were
                    // not, its hits would not be reported and its matches would be missed.
                    let p = (0..self.keywords.len()).find(|&p| {
                        self.keywords[p].as_bytes().eq_ignore_ascii_case(kw)
                            && self.keyword_rules[p].contains(&(i as u32))
                    })?;
                    out.push((p, ds.clone().into_boxed_slice()));
                }
                Some(RuleStarts::Keywords(out))
            }
        }
    }

    /// Finds a rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Bytes a small input may have searched keyword by keyword before the automaton is built:
/// searching ~300 keywords one by one costs about as much per KiB as building the automaton
/// (~1 ms) costs per 20 KiB.
const ONE_BY_ONE_BUDGET: usize = 16 << 10;
/// What a blob costs of that budget besides its length (a search call per keyword).
const ONE_BY_ONE_BLOB_COST: usize = 512;

/// A rule's window: what its regex can span, widened for a composite rule to the distance its
/// components may be at (the keyword may sit in a component a few lines away).
fn rule_window(rule: &Rule) -> Option<usize> {
    let mut n = rule.regex.as_ref()?.window_lines()?;
    for req in &rule.required {
        n = n.max(req.within_lines?);
    }
    (n <= pattern::MAX_WINDOW_LINES).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::keywords::KeywordAutomaton;

    /// While a tree's keyword DFA is being built, searches get the NFA; afterwards the DFA.
    /// Keywords that suit the trigram filter get it at once. All give the same hits
    /// (`keywords` tests), so a scan's results do not depend on which.
    #[test]
    fn searches_use_the_nfa_until_the_tree_automaton_is_built() {
        let rules = super::load::load_default().expect("embedded rules");
        let build = rules.keyword_automaton_beside();
        assert!(matches!(rules.keyword_automaton(), Some(KeywordAutomaton::Grams(_))));
        build();
        assert!(matches!(rules.keyword_automaton(), Some(KeywordAutomaton::Grams(_))));
        // A two-byte keyword: no trigram filter.
        let toml = "[[rules]]\nid = \"two\"\nregex = '''ab[0-9]{8}'''\nkeywords = [\"ab\"]\n";
        let rules = super::load::load_str(toml, "two.toml").expect("a valid rule");
        let build = rules.keyword_automaton_beside();
        assert!(matches!(rules.keyword_automaton(), Some(KeywordAutomaton::Nfa(_))));
        build();
        assert!(matches!(rules.keyword_automaton(), Some(KeywordAutomaton::Dfa(_))));
        // Built already, or for a few small inputs: nothing is pending.
        rules.keyword_automaton_beside()();
        assert!(matches!(rules.keyword_automaton(), Some(KeywordAutomaton::Dfa(_))));
        let small = super::load::load_default().expect("embedded rules");
        small.expect_small_input();
        small.keyword_automaton_beside()();
        assert!(matches!(small.keyword_automaton(), Some(KeywordAutomaton::Nfa(_))));
    }
}

//! The default ruleset, compiled into the binary: every file in `rules/`, listed by `build.rs`
//! (`global.toml` first, then by name). A test compares this list with the directory.
//!
//! Scans load the rules from static tables that `build.rs` parsed with the loader's own schema
//! (`PREBUILT`), so start-up parses no TOML; `rules check` and `rules explain` parse the files
//! as written (`FILES`), because they need the examples. A test checks that both give the same
//! rules.

use std::sync::atomic::{AtomicBool, Ordering};

use super::schema::{AllowlistSpec, Confidence, RequiredSpec, RuleSpec, Severity};

/// (file name, contents) of every embedded rule file, as written, in load order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// The same files without `examples` / `negative_examples`.
pub const SCAN_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules_scan.rs"));

/// (file name, contents) of every embedded rule file, parsed at build time, in load order.
pub const PREBUILT: &[(&str, Content)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules_prebuilt.rs"));

/// (pattern as translated from Go syntax, `^`/`$` at line breaks, Unicode classes, start,
/// length) of the `Hir` of every pattern of the embedded files in `HIR_CODE`, sorted by
/// pattern then line-break mode: parsed by `build.rs` (see `hircode`).
const HIRS: &[(&str, bool, bool, usize, usize)] = include!(concat!(env!("OUT_DIR"), "/embedded_hirs.rs"));

/// The embedded patterns' `Hir`s, in `hircode`'s form.
static HIR_CODE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded_hirs.bin"));

/// The `Hir` of `source` (a pattern as translated from Go syntax) with `^`/`$` at line breaks
/// or not, and whether Unicode classes are on, as parsing gives them: from the build-time
/// parse when `source` is a pattern of the embedded files, else `None`.
pub fn parsed_pattern(source: &str, multi_line: bool) -> Option<(regex_syntax::hir::Hir, bool)> {
    let i = HIRS
        .binary_search_by(|&(s, m, ..)| (s, m).cmp(&(source, multi_line)))
        .ok()?;
    let (_, _, unicode, start, len) = HIRS[i];
    Some((super::hircode::decode(HIR_CODE.get(start..start + len)?)?, unicode))
}

/// One embedded file, as a scan loads it.
#[derive(Debug)]
pub enum Content {
    /// Parsed at build time: the file's rules and global allowlists, without examples.
    Parsed {
        rules: &'static [StaticRule],
        allowlists: &'static [StaticAllowlist],
    },
    /// The file as written: the loader rejects something in it and reports it at run time.
    Toml(&'static str),
}

/// A `RuleSpec` in static data (no examples), with the line its `[[rules]]` starts on.
#[derive(Debug)]
pub struct StaticRule {
    pub line: usize,
    pub id: &'static str,
    pub description: Option<&'static str>,
    pub regex: Option<&'static str>,
    pub secret_group: Option<usize>,
    pub entropy: Option<f64>,
    pub keywords: &'static [&'static str],
    pub path: Option<&'static str>,
    pub tags: &'static [&'static str],
    pub skip_report: bool,
    /// Whether `allowlists[0]` was written as the old single `[rules.allowlist]` table.
    pub single_allowlist: bool,
    pub allowlists: &'static [StaticAllowlist],
    pub required: &'static [StaticRequired],
    pub confidence: Option<Confidence>,
    pub severity: Option<Severity>,
    pub references: &'static [&'static str],
    pub validate: Option<&'static str>,
}

/// An `AllowlistSpec` in static data; `line` is set for global allowlists only.
#[derive(Debug)]
pub struct StaticAllowlist {
    pub line: usize,
    pub description: Option<&'static str>,
    pub condition: Option<&'static str>,
    pub commits: &'static [&'static str],
    pub paths: &'static [&'static str],
    pub regex_target: Option<&'static str>,
    pub regexes: &'static [&'static str],
    pub stopwords: &'static [&'static str],
    pub target_rules: &'static [&'static str],
}

/// A `RequiredSpec` in static data.
#[derive(Debug)]
pub struct StaticRequired {
    pub id: &'static str,
    pub within_lines: Option<usize>,
    pub within_columns: Option<usize>,
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl StaticRule {
    /// The spec a TOML parse of the rule gives (without examples).
    pub fn to_spec(&self) -> RuleSpec {
        let (single, rest) = match self.allowlists.split_first() {
            Some((first, rest)) if self.single_allowlist => (Some(first.to_spec()), rest),
            _ => (None, self.allowlists),
        };
        RuleSpec {
            id: self.id.to_string(),
            description: self.description.map(str::to_string),
            regex: self.regex.map(str::to_string),
            secret_group: self.secret_group,
            entropy: self.entropy,
            keywords: owned(self.keywords),
            path: self.path.map(str::to_string),
            tags: owned(self.tags),
            skip_report: self.skip_report,
            allowlist: single,
            allowlists: rest.iter().map(StaticAllowlist::to_spec).collect(),
            required: self
                .required
                .iter()
                .map(|r| RequiredSpec {
                    id: r.id.to_string(),
                    within_lines: r.within_lines,
                    within_columns: r.within_columns,
                })
                .collect(),
            examples: Vec::new(),
            negative_examples: Vec::new(),
            confidence: self.confidence,
            severity: self.severity,
            references: owned(self.references),
            validate: self.validate.map(str::to_string),
        }
    }
}

impl StaticAllowlist {
    /// The spec a TOML parse of the allowlist gives.
    pub fn to_spec(&self) -> AllowlistSpec {
        AllowlistSpec {
            description: self.description.map(str::to_string),
            condition: self.condition.map(str::to_string),
            commits: owned(self.commits),
            paths: owned(self.paths),
            regex_target: self.regex_target.map(str::to_string),
            regexes: owned(self.regexes),
            stopwords: owned(self.stopwords),
            target_rules: owned(self.target_rules),
        }
    }
}

static WITH_EXAMPLES: AtomicBool = AtomicBool::new(false);

/// Load the embedded rules with their examples from now on (`rules check`, `rules explain`).
pub fn want_examples() {
    WITH_EXAMPLES.store(true, Ordering::Relaxed);
}

/// Whether the embedded rules are to be loaded with their examples (from `FILES`).
pub fn with_examples() -> bool {
    WITH_EXAMPLES.load(Ordering::Relaxed)
}

/// The embedded files as written, with examples only when asked for.
pub fn files() -> &'static [(&'static str, &'static str)] {
    if with_examples() {
        FILES
    } else {
        SCAN_FILES
    }
}

#[cfg(test)]
mod tests {
    use super::{StaticAllowlist, StaticRule};
    use crate::rules::schema::RuleSpec;

    const fn allowlist(regexes: &'static [&'static str]) -> StaticAllowlist {
        StaticAllowlist {
            line: 0,
            description: None,
            condition: None,
            commits: &[],
            paths: &[],
            regex_target: None,
            regexes,
            stopwords: &[],
            target_rules: &[],
        }
    }

    /// No embedded rule uses the old single `[rules.allowlist]` table; its encoding still has to
    /// give what the TOML gives.
    #[test]
    fn single_allowlist_table_is_kept_apart() {
        const ALLOWLISTS: &[StaticAllowlist] = &[allowlist(&["a"]), allowlist(&["b"])];
        let rule = StaticRule {
            line: 1,
            id: "x",
            description: None,
            regex: Some("y"),
            secret_group: None,
            entropy: Some(3.5),
            keywords: &["y"],
            path: None,
            tags: &[],
            skip_report: false,
            single_allowlist: true,
            allowlists: ALLOWLISTS,
            required: &[],
            confidence: None,
            severity: None,
            references: &[],
            validate: None,
        };
        let toml = "id = 'x'\nregex = 'y'\nentropy = 3.5\nkeywords = ['y']\n\
                    [allowlist]\nregexes = ['a']\n[[allowlists]]\nregexes = ['b']\n";
        let parsed: RuleSpec = toml::from_str(toml).expect("valid rule");
        assert_eq!(rule.to_spec(), parsed);
    }

    /// Every pattern of the embedded files decodes to what parsing it gives (the same `Hir`,
    /// the same Unicode mode), in both line-break modes; the index is sorted, so lookups find
    /// each; and every pattern the default rules hold is in it.
    #[test]
    fn embedded_patterns_decode_to_what_parsing_them_gives() {
        use super::{parsed_pattern, HIRS, HIR_CODE};
        use crate::rules::hircode;
        assert!(HIRS.len() > 400, "{} patterns", HIRS.len());
        assert!(HIRS.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        for &(source, multi_line, unicode, start, len) in HIRS {
            let (hir, u) = hircode::parse_either(source, multi_line).expect("parsed at build time");
            assert_eq!(u, unicode, "{source}");
            assert_eq!(
                hircode::decode(&HIR_CODE[start..start + len]),
                Some(hir.clone()),
                "{source}"
            );
            assert_eq!(parsed_pattern(source, multi_line), Some((hir, u)), "{source}");
        }
        assert_eq!(parsed_pattern("not an embedded (pattern", true), None);
        let rules = crate::rules::load::load_default().expect("embedded rules");
        let allowlists = rules
            .rules
            .iter()
            .flat_map(|r| &r.allowlists)
            .chain(&rules.global_allowlists);
        let mut sources: Vec<&str> = rules
            .rules
            .iter()
            .flat_map(|r| r.regex.iter().chain(r.path.as_deref()))
            .map(|p| p.source.as_str())
            .collect();
        sources.extend(
            allowlists
                .flat_map(|a| a.regexes.iter().chain(&a.paths))
                .map(|p| p.source.as_str()),
        );
        assert!(sources.len() >= 250, "{}", sources.len());
        for source in sources {
            for multi_line in [false, true] {
                assert!(
                    parsed_pattern(source, multi_line).is_some(),
                    "{source} not parsed at build time"
                );
            }
        }
    }
}

//! `leakseal rules check`: the rule linter. Every example is run through the whole scanner
//! (keywords, regex, secret group, entropy, allowlists), not the bare regex, so an example
//! proves what a user will actually see.

use std::collections::HashMap;

use super::{ExampleSpec, Rule, Ruleset};
use crate::finding::{group, Hit, DEFAULT_SALT};
use crate::scan::{Blob, Scanner};

/// How strict the linter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Built-in rules: every rule must carry two positive and two negative examples,
    /// a description, references and keywords.
    BuiltIn,
    /// User rules: examples and metadata are checked when present.
    User,
}

/// Lints `rules`; returns one line per problem (empty = clean).
pub fn check(rules: &Ruleset, strictness: Strictness) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for rule in &rules.rules {
        let at = format!("{}:{}: rule '{}'", rule.source.file, rule.source.line, rule.id);
        if let Some(prev) = seen.insert(&rule.id, rule) {
            problems.push(format!(
                "{at}: field 'id': also defined at {}:{}",
                prev.source.file, prev.source.line
            ));
        }
        if let Some(re) = &rule.regex {
            if let Err(e) = re.get() {
                problems.push(format!("{at}: field 'regex': {e}"));
                continue;
            }
            if let Some(g) = rule.secret_group {
                if g > re.groups() {
                    problems.push(format!("{at}: field 'secretGroup': group {g} does not exist"));
                }
            }
            if rule.keywords.is_empty() {
                problems.push(format!("{at}: field 'keywords': empty, so the rule runs on every file"));
            }
        }
        for al in rule.allowlists.iter().chain(&rules.global_allowlists) {
            for re in al.regexes.iter().chain(&al.paths) {
                if let Err(e) = re.get() {
                    problems.push(format!("{at}: field 'allowlists': {e}"));
                }
            }
        }
        if strictness == Strictness::BuiltIn {
            if rule.examples.len() < 2 {
                problems.push(format!("{at}: field 'examples': needs at least 2 positive examples"));
            }
            if rule.negative_examples.len() < 2 {
                problems.push(format!(
                    "{at}: field 'negative_examples': needs at least 2 negative examples"
                ));
            }
            if rule.description == rule.id {
                problems.push(format!("{at}: field 'description': missing"));
            }
            if rule.references.is_empty() {
                problems.push(format!("{at}: field 'references': missing"));
            }
        }
        for (i, ex) in rule.examples.iter().enumerate() {
            let (path, text) = ex.parts();
            if !rule.keywords.is_empty()
                && !rule
                    .keywords
                    .iter()
                    .any(|k| text.to_ascii_lowercase().contains(k.as_str()))
            {
                problems.push(format!("{at}: examples[{i}]: contains none of the rule's keywords"));
            }
            if rule.skip_report {
                continue;
            }
            let n = findings_for(rules, rule, ex);
            if n != 1 {
                problems.push(format!(
                    "{at}: examples[{i}] ({path}): {n} findings, expected 1: {}",
                    preview(text)
                ));
            }
        }
        for (i, ex) in rule.negative_examples.iter().enumerate() {
            let n = findings_for(rules, rule, ex);
            if n != 0 {
                problems.push(format!(
                    "{at}: negative_examples[{i}] ({}): {n} findings, expected 0: {}",
                    ex.parts().0,
                    preview(ex.parts().1)
                ));
            }
        }
    }
    problems
}

/// Findings of `rule` when `ex` is scanned with the whole ruleset.
pub fn findings_for(rules: &Ruleset, rule: &Rule, ex: &ExampleSpec) -> usize {
    let (path, text) = ex.parts();
    let mut scanner = Scanner::new(rules);
    let matches = scanner.scan(&Blob {
        path,
        bytes: text.as_bytes(),
        commit: None,
    });
    let findings = group(
        matches
            .into_iter()
            .map(|m| Hit {
                path: path.into(),
                m,
                commit: None,
            })
            .collect(),
        rules,
        DEFAULT_SALT,
    );
    findings.iter().filter(|f| *f.rule_id == *rule.id).count()
}

/// The first line of an example, shortened, with the middle hidden so lint output does not
/// print example secrets whole either.
fn preview(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let n = line.chars().count();
    if n <= 24 {
        return line.to_string();
    }
    let head: String = line.chars().take(16).collect();
    format!("{head}... ({n} chars)")
}

//! Turning TOML text into a validated `Ruleset`: strict parsing, `[extend]` resolution, merging
//! user rules over the defaults, Go-regex translation and every load-time check.
//!
//! Every problem becomes a one-line `ConfigError` naming the file, the line, the rule id and the
//! field, so a user can fix their config without guessing. Regexes are parsed here but compiled
//! on first use (see `pattern`).

use crate::messages::line_of;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::schema::{AllowlistSpec, RawConfig, RuleSpec};
use super::{embedded, Allowlist, Condition, Confidence, LazyRegex, RegexTarget, Required, Rule, Ruleset, Severity};

/// A problem in a rule or config file, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub rule: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(rule) = &self.rule {
            write!(f, ": rule '{rule}'")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field '{field}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where a rule was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    pub file: String,
    pub line: usize,
    /// From the embedded default rules: validated by the test suite, so patterns are parsed on
    /// first use instead of at start-up.
    pub embedded: bool,
}

/// Rules and allowlists of one file, not yet compiled.
#[derive(Default)]
struct Layer {
    rules: Vec<(RuleSpec, RuleSource)>,
    allowlists: Vec<(AllowlistSpec, RuleSource)>,
}

/// How deep `[extend] path` chains may go (a loop guard, as in gitleaks).
const MAX_EXTEND_DEPTH: usize = 3;

/// Loads the embedded default ruleset.
pub fn load_default() -> Result<Ruleset, ConfigError> {
    build(default_layer()?, "embedded default rules".into())
}

/// Loads the embedded rules from `files` (`embedded::FILES`, with examples, or
/// `embedded::SCAN_FILES`, without).
pub fn load_embedded(files: &[(&str, &str)]) -> Result<Ruleset, ConfigError> {
    let layer = default_layer_from(files)?;
    build(layer, "embedded default rules".into())
}

/// Loads a config file, resolving `[extend]`.
pub fn load_file(path: &Path) -> Result<Ruleset, ConfigError> {
    let layer = file_layer(path, 0)?;
    build(layer, path.display().to_string())
}

/// Loads config text as if read from `name` (used by tests and `rules check` on examples).
pub fn load_str(text: &str, name: &str) -> Result<Ruleset, ConfigError> {
    let layer = text_layer(text, name, Path::new("."), 0)?;
    build(layer, name.to_string())
}

/// The embedded rules: parsed from `FILES` when the examples are wanted, else from the tables
/// `build.rs` parsed (no TOML at start-up). Both give the same specs (a test checks it).
fn default_layer() -> Result<Layer, ConfigError> {
    if embedded::with_examples() {
        default_layer_from(embedded::FILES)
    } else {
        prebuilt_layer()
    }
}

/// The embedded rules from `embedded::PREBUILT`, checked as a parsed file's are.
fn prebuilt_layer() -> Result<Layer, ConfigError> {
    let mut layer = Layer::default();
    for (name, content) in embedded::PREBUILT {
        let file = format!("rules/{name}");
        match content {
            embedded::Content::Toml(text) => add_file(&mut layer, &file, text)?,
            embedded::Content::Parsed { rules, allowlists } => {
                let source = |line| RuleSource {
                    file: file.clone(),
                    line,
                    embedded: true,
                };
                let mut seen = HashSet::new();
                for r in *rules {
                    add_rule(&mut layer, &mut seen, r.to_spec(), source(r.line))?;
                }
                layer
                    .allowlists
                    .extend(allowlists.iter().map(|a| (a.to_spec(), source(a.line))));
            }
        }
    }
    Ok(layer)
}

fn default_layer_from(files: &[(&str, &str)]) -> Result<Layer, ConfigError> {
    let mut layer = Layer::default();
    for (name, text) in files {
        add_file(&mut layer, &format!("rules/{name}"), text)?;
    }
    Ok(layer)
}

/// Parses one embedded rule file into `layer`.
fn add_file(layer: &mut Layer, file: &str, text: &str) -> Result<(), ConfigError> {
    let raw = parse_raw(text, file)?;
    if raw.extend.is_some() {
        return Err(err(
            file,
            None,
            None,
            Some("extend"),
            "embedded rule files cannot extend",
        ));
    }
    add_raw(layer, raw, file, text, true)
}

fn file_layer(path: &Path, depth: usize) -> Result<Layer, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: name.clone(),
        line: None,
        rule: None,
        field: None,
        message: format!("cannot read config: {}", crate::messages::io_reason(&e)),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    text_layer(&text, &name, dir, depth)
}

fn text_layer(text: &str, name: &str, dir: &Path, depth: usize) -> Result<Layer, ConfigError> {
    let mut raw = parse_raw(text, name)?;
    let extend = raw.extend.take();
    let mut own = Layer::default();
    add_raw(&mut own, raw, name, text, false)?;
    let Some(ext) = extend else { return Ok(own) };

    if let Some(url) = &ext.url {
        return Err(err(
            name,
            None,
            None,
            Some("extend.url"),
            &format!("remote configs are not supported ({url}); download it and use extend.path"),
        ));
    }
    let mut base = Layer::default();
    if ext.use_default {
        merge(&mut base, default_layer()?);
    }
    if let Some(p) = &ext.path {
        if depth >= MAX_EXTEND_DEPTH {
            return Err(err(
                name,
                None,
                None,
                Some("extend.path"),
                "extend chain is too deep (a loop?)",
            ));
        }
        let target: PathBuf = dir.join(p);
        merge(&mut base, file_layer(&target, depth + 1)?);
    }
    if !ext.use_default && ext.path.is_none() {
        return Err(err(
            name,
            None,
            None,
            Some("extend"),
            "needs useDefault = true or a path",
        ));
    }
    let disabled: HashSet<&str> = ext.disabled_rules.iter().map(String::as_str).collect();
    base.rules.retain(|(r, _)| !disabled.contains(r.id.as_str()));
    merge(&mut base, own);
    Ok(base)
}

/// Overlays `top` on `base`: a rule with an existing id is merged into it (set fields win,
/// lists are appended), new rules and allowlists are added.
fn merge(base: &mut Layer, top: Layer) {
    for (rule, src) in top.rules {
        match base.rules.iter_mut().find(|(r, _)| r.id == rule.id) {
            Some((b, bsrc)) => {
                if rule.description.is_some() {
                    b.description = rule.description;
                }
                if rule.regex.is_some() {
                    b.regex = rule.regex;
                    b.secret_group = rule.secret_group;
                }
                if rule.secret_group.is_some() {
                    b.secret_group = rule.secret_group;
                }
                if rule.entropy.is_some() {
                    b.entropy = rule.entropy;
                }
                if rule.path.is_some() {
                    b.path = rule.path;
                }
                if rule.confidence.is_some() {
                    b.confidence = rule.confidence;
                }
                if rule.severity.is_some() {
                    b.severity = rule.severity;
                }
                if rule.validate.is_some() {
                    b.validate = rule.validate;
                }
                b.keywords.extend(rule.keywords);
                b.tags.extend(rule.tags);
                b.allowlists.extend(rule.allowlist);
                b.allowlists.extend(rule.allowlists);
                b.required.extend(rule.required);
                *bsrc = src;
            }
            None => base.rules.push((rule, src)),
        }
    }
    base.allowlists.extend(top.allowlists);
}

fn err(file: &str, line: Option<usize>, rule: Option<&str>, field: Option<&str>, msg: &str) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line,
        rule: rule.map(str::to_string),
        field: field.map(str::to_string),
        message: msg.to_string(),
    }
}

/// toml's messages may hold several lines; keep them on one.
fn flatten(msg: &str) -> String {
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_raw(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str::<RawConfig>(text).map_err(|e| ConfigError {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        rule: None,
        field: None,
        message: flatten(e.message()),
    })
}

fn add_raw(layer: &mut Layer, raw: RawConfig, file: &str, text: &str, embedded: bool) -> Result<(), ConfigError> {
    let source = |line| RuleSource {
        file: file.to_string(),
        line,
        embedded,
    };
    let mut seen = HashSet::new();
    layer.rules.reserve(raw.rules.len());
    for spanned in raw.rules {
        let line = line_of(text, spanned.span().start);
        let table = spanned.into_inner();
        let id = table.get("id").and_then(|v| v.as_str()).map(str::to_string);
        // Name the field when a value is not one of the allowed words (serde does not).
        for (field, allowed) in [
            ("confidence", &["low", "medium", "high"][..]),
            ("severity", &["info", "low", "medium", "high", "critical"][..]),
        ] {
            if let Some(v) = table.get(field) {
                if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
                    let msg = format!("must be one of {}", allowed.join(", "));
                    return Err(err(file, Some(line), id.as_deref(), Some(field), &msg));
                }
            }
        }
        let spec: RuleSpec = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err(file, Some(line), id.as_deref(), None, &flatten(e.message())))?;
        add_rule(layer, &mut seen, spec, source(line))?;
    }
    let globals = raw.allowlist.into_iter().chain(raw.allowlists);
    for spanned in globals {
        let line = line_of(text, spanned.span().start);
        let spec: AllowlistSpec = toml::Value::Table(spanned.into_inner())
            .try_into()
            .map_err(|e: toml::de::Error| err(file, Some(line), None, Some("allowlists"), &flatten(e.message())))?;
        layer.allowlists.push((spec, source(line)));
    }
    Ok(())
}

/// Adds one parsed rule to `layer`; `seen` holds the ids of the file's rules so far, which
/// must be unique.
fn add_rule(layer: &mut Layer, seen: &mut HashSet<String>, spec: RuleSpec, src: RuleSource) -> Result<(), ConfigError> {
    if !seen.insert(spec.id.clone()) {
        return Err(err(
            &src.file,
            Some(src.line),
            Some(&spec.id),
            Some("id"),
            "duplicate rule id in this file",
        ));
    }
    layer.rules.push((spec, src));
    Ok(())
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn build(layer: Layer, origin: String) -> Result<Ruleset, ConfigError> {
    let mut rules = Vec::with_capacity(layer.rules.len());
    for (spec, src) in &layer.rules {
        rules.push(build_rule(spec, src)?);
    }
    // Resolve composite components now that every id is known.
    for (i, (spec, src)) in layer.rules.iter().enumerate() {
        for req in &spec.required {
            let Some(idx) = rules.iter().position(|r| r.id == req.id) else {
                return Err(err(
                    &src.file,
                    Some(src.line),
                    Some(&spec.id),
                    Some("required.id"),
                    &format!("no rule with id '{}'", req.id),
                ));
            };
            if idx == i {
                return Err(err(
                    &src.file,
                    Some(src.line),
                    Some(&spec.id),
                    Some("required.id"),
                    "a rule cannot require itself",
                ));
            }
            rules[i].required.push(Required {
                rule: idx,
                within_lines: req.within_lines,
                within_columns: req.within_columns,
            });
        }
    }
    let mut globals = Vec::new();
    for (spec, src) in &layer.allowlists {
        let al = build_allowlist(spec, src, None, true)?;
        globals.push(al);
    }
    Ok(Ruleset::new(rules, globals, origin))
}

fn build_rule(spec: &RuleSpec, src: &RuleSource) -> Result<Rule, ConfigError> {
    let id = spec.id.as_str();
    let e = |field: &str, msg: &str| err(&src.file, Some(src.line), Some(id), Some(field), msg);
    if !valid_id(id) {
        return Err(e(
            "id",
            "ids use letters, digits, '-', '_' and '.', starting with a letter or digit",
        ));
    }
    let regex = match &spec.regex {
        Some(p) if p.is_empty() => return Err(e("regex", "is empty")),
        Some(p) => Some(pattern(p, src.embedded, &spec.keywords).map_err(|m| e("regex", &m))?),
        None => None,
    };
    let path = match &spec.path {
        Some(p) => Some(Box::new(pattern(p, src.embedded, &[]).map_err(|m| e("path", &m))?)),
        None => None,
    };
    if regex.is_none() && path.is_none() {
        return Err(e("regex", "a rule needs a regex, a path, or both"));
    }
    if let (Some(g), Some(r), false) = (spec.secret_group, &regex, src.embedded) {
        if g > r.groups() {
            return Err(e(
                "secretGroup",
                &format!("group {g} does not exist (the regex has {} capture groups)", r.groups()),
            ));
        }
    }
    if spec.secret_group.is_some() && regex.is_none() {
        return Err(e("secretGroup", "set without a regex"));
    }
    if let Some(en) = spec.entropy {
        if !(0.0..=8.0).contains(&en) {
            return Err(e("entropy", "must be between 0 and 8 (bits per byte)"));
        }
    }
    if spec.keywords.iter().any(|k| k.is_empty()) {
        return Err(e("keywords", "contains an empty keyword"));
    }
    let validate = match &spec.validate {
        Some(name) => Some(crate::scan::Validator::from_name(name).ok_or_else(|| {
            e(
                "validate",
                &format!(
                    "unknown check '{name}'; known: {}",
                    crate::scan::Validator::NAMES.join(", ")
                ),
            )
        })?),
        None => None,
    };
    let mut allowlists = Vec::new();
    for al in spec.allowlist.iter().chain(&spec.allowlists) {
        allowlists.push(build_allowlist(al, src, Some(id), false)?);
    }
    let mut keywords: Vec<String> = spec.keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
    keywords.sort();
    keywords.dedup();
    Ok(Rule {
        id: spec.id.clone(),
        description: spec.description.clone().unwrap_or_else(|| spec.id.clone()),
        confidence: spec.confidence.unwrap_or(Confidence::Medium),
        severity: spec
            .severity
            .unwrap_or_else(|| Severity::from_confidence(spec.confidence.unwrap_or(Confidence::Medium))),
        tags: spec.tags.clone(),
        references: spec.references.clone(),
        keywords,
        regex,
        secret_group: spec.secret_group,
        entropy: spec.entropy.filter(|&e| e > 0.0),
        path,
        validate,
        allowlists,
        required: Vec::new(),
        skip_report: spec.skip_report,
        examples: spec.examples.clone(),
        negative_examples: spec.negative_examples.clone(),
        source: src.clone(),
    })
}

/// A user's pattern is validated now; an embedded one when first used. `keywords`: the
/// rule's, when this is its regex (see `LazyRegex::with_keywords`).
fn pattern(p: &str, embedded: bool, keywords: &[String]) -> Result<LazyRegex, String> {
    let lazy = LazyRegex::deferred(p)?.with_keywords(keywords);
    if !embedded {
        lazy.check()?;
    }
    Ok(lazy)
}

fn build_allowlist(
    spec: &AllowlistSpec,
    src: &RuleSource,
    rule: Option<&str>,
    global: bool,
) -> Result<Allowlist, ConfigError> {
    let (file, line, embedded) = (src.file.as_str(), Some(src.line), src.embedded);
    let field = "allowlists";
    let e = |sub: &str, msg: &str| err(file, line, rule, Some(&format!("{field}.{sub}")), msg);
    if spec.commits.is_empty() && spec.paths.is_empty() && spec.regexes.is_empty() && spec.stopwords.is_empty() {
        return Err(err(
            file,
            line,
            rule,
            Some(field),
            "empty allowlist: give commits, paths, regexes or stopwords",
        ));
    }
    if !global && !spec.target_rules.is_empty() {
        return Err(e("targetRules", "only global allowlists can target rules"));
    }
    let condition = match spec.condition.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("OR") => Condition::Or,
        Some("AND") => Condition::And,
        Some(other) => return Err(e("condition", &format!("'{other}' is not OR or AND"))),
    };
    let target = match spec.regex_target.as_deref() {
        None | Some("secret") => RegexTarget::Secret,
        Some("match") => RegexTarget::Match,
        Some("line") => RegexTarget::Line,
        Some(other) => return Err(e("regexTarget", &format!("'{other}' is not secret, match or line"))),
    };
    let compile = |sub: &str, list: &[String]| -> Result<Vec<LazyRegex>, ConfigError> {
        list.iter()
            .map(|p| pattern(p, embedded, &[]).map_err(|m| e(sub, &format!("{m} in '{p}'"))))
            .collect()
    };
    Ok(Allowlist::new(
        spec.description.clone(),
        condition,
        spec.commits.clone(),
        compile("paths", &spec.paths)?,
        target,
        compile("regexes", &spec.regexes)?,
        spec.stopwords.clone(),
        spec.target_rules.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{default_layer_from, load_str, prebuilt_layer};
    use crate::rules::embedded;

    #[test]
    fn prebuilt_embedded_rules_equal_the_toml_parsed_files() {
        assert!(
            embedded::PREBUILT
                .iter()
                .all(|(_, c)| matches!(c, embedded::Content::Parsed { .. })),
            "build.rs left a rule file to be parsed at run time"
        );
        let prebuilt = prebuilt_layer().expect("prebuilt rules load");
        let parsed = default_layer_from(embedded::FILES).expect("rule files load");
        assert!(parsed.rules.len() >= 10);
        assert_eq!(prebuilt.rules.len(), parsed.rules.len());
        for ((a, a_src), (b, b_src)) in prebuilt.rules.iter().zip(&parsed.rules) {
            let mut b = b.clone();
            b.examples.clear();
            b.negative_examples.clear();
            assert_eq!(a, &b);
            assert_eq!(a_src, b_src, "{}", a.id);
        }
        assert_eq!(prebuilt.allowlists, parsed.allowlists);
    }

    fn load_err(text: &str) -> String {
        load_str(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn unknown_rule_field_names_rule_and_line() {
        let e = load_err("[[rules]]\nid = \"a\"\nregex = 'x'\nbogus = 1\n");
        assert!(e.starts_with("t.toml:1: rule 'a': unknown field `bogus`"), "{e}");
    }

    #[test]
    fn missing_secret_group_is_named() {
        let e = load_err("[[rules]]\nid = \"a\"\nregex = '(x)'\nsecretGroup = 2\n");
        assert_eq!(
            e,
            "t.toml:1: rule 'a': field 'secretGroup': group 2 does not exist (the regex has 1 capture groups)"
        );
    }

    #[test]
    fn bad_regex_and_empty_allowlist_are_named() {
        assert!(load_err("[[rules]]\nid = \"a\"\nregex = '(x'\n").contains("rule 'a': field 'regex':"));
        let e = load_err("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.allowlists]]\ndescription = 'nothing'\n");
        assert!(e.contains("rule 'a': field 'allowlists': empty allowlist"), "{e}");
    }

    #[test]
    fn toml_syntax_error_has_a_line() {
        let e = load_err("title = 'x'\n[[rules]\n");
        assert!(e.starts_with("t.toml:2: "), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn extend_default_merges_and_disables() {
        let rs = load_str("[extend]\nuseDefault = true\ndisabledRules = ['private-key']\n[[rules]]\nid = 'custom'\nregex = 'zz[0-9]{8}'\nkeywords = ['zz']\n", "t.toml").unwrap();
        assert!(rs.rule("custom").is_some());
        assert!(rs.rule("private-key").is_none());
        assert!(rs.rules.len() > 2);
    }
}

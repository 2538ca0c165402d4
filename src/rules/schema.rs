//! The on-disk rule format: gitleaks v8 TOML, plus leakseal's extensions in the same tables.
//!
//! These types only describe the file; they do no validation beyond what serde enforces
//! (unknown fields are rejected). Turning a file into a usable ruleset — extension, merging,
//! regex translation and checks — lives in `rules::load`.

use serde::Deserialize;

/// The top level of a config / rule file. Rules are kept as spanned raw tables so that an error
/// inside one rule can name the rule's id and line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "minVersion")]
    pub min_version: Option<String>,
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
    #[serde(default)]
    pub rules: Vec<toml::Spanned<toml::Table>>,
    /// Old single-table form `[allowlist]`.
    #[serde(default)]
    pub allowlist: Option<toml::Spanned<toml::Table>>,
    /// Current form `[[allowlists]]`.
    #[serde(default)]
    pub allowlists: Vec<toml::Spanned<toml::Table>>,
    /// `[kms]`: the encryption checker's policy, parsed (strictly) by `kms::policy`; the rules
    /// loader ignores it.
    #[serde(default)]
    pub kms: Option<toml::Table>,
}

/// `[extend]`: build on the embedded default rules and/or another file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendSpec {
    #[serde(default, rename = "useDefault")]
    pub use_default: bool,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "disabledRules")]
    pub disabled_rules: Vec<String>,
}

/// One `[[rules]]` entry.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default, rename = "secretGroup")]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub entropy: Option<f64>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only used as a component of composite rules; never reported alone.
    #[serde(default, rename = "skipReport")]
    pub skip_report: bool,
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
    #[serde(default)]
    pub required: Vec<RequiredSpec>,
    // leakseal extensions
    #[serde(default)]
    pub examples: Vec<ExampleSpec>,
    #[serde(default)]
    pub negative_examples: Vec<ExampleSpec>,
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// How bad a leak of this kind is; defaults from the confidence.
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub references: Vec<String>,
    /// Offline structure check (checksum, decodable header) a match must pass.
    #[serde(default)]
    pub validate: Option<String>,
}

/// An allowlist, attached to a rule or global.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default, rename = "regexTarget")]
    pub regex_target: Option<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Global allowlists only: restrict to these rule ids.
    #[serde(default, rename = "targetRules")]
    pub target_rules: Vec<String>,
}

/// `[[rules.required]]`: a composite rule's component.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredSpec {
    pub id: String,
    #[serde(default, rename = "withinLines")]
    pub within_lines: Option<usize>,
    #[serde(default, rename = "withinColumns")]
    pub within_columns: Option<usize>,
}

/// A rule example: plain text, or text with the path it should be scanned under.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ExampleSpec {
    Text(String),
    WithPath { path: String, text: String },
}

impl ExampleSpec {
    /// The virtual path and the content of the example.
    pub fn parts(&self) -> (&str, &str) {
        match self {
            ExampleSpec::Text(t) => ("example.txt", t),
            ExampleSpec::WithPath { path, text } => (path, text),
        }
    }
}

/// How sure a rule is that a match is a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// How much harm a leaked secret of a rule's kind can do, independent of how sure the rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The default for a rule that names none: as sure as it is bad.
    pub fn from_confidence(c: Confidence) -> Severity {
        match c {
            Confidence::Low => Severity::Low,
            Confidence::Medium => Severity::Medium,
            Confidence::High => Severity::High,
        }
    }
}

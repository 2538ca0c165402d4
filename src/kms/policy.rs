//! The encryption policy (spec §5): a `[kms]` section of `.leakseal.toml`, or the file its
//! `policy` field points to, parsed strictly (an unknown field is a one-line error naming the
//! file and the field), plus the built-in default policy used when none is given.
//!
//! A policy selects *slots* (file × key) with rules and says what must be there; the first rule
//! whose selectors match a slot decides it.

use crate::messages::line_of;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::verdict::{Kind, Severity};

/// Every format name a policy may list.
pub const FORMATS: [&str; 11] = [
    "aws-kms",
    "aws-esdk",
    "sops",
    "vault-transit",
    "ansible-vault",
    "age",
    "git-crypt",
    "ejson",
    "dotenvx",
    "gcp-kms",
    "sealed-secrets",
];

/// What a slot must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    Encrypted,
    EncryptedOrReference,
    Reference,
    Any,
}

impl Require {
    /// For messages: what the slot wants.
    pub fn wants(self) -> &'static str {
        match self {
            Require::Encrypted => "a ciphertext",
            Require::EncryptedOrReference => "a ciphertext or a secret-store reference",
            Require::Reference => "a secret-store reference",
            Require::Any => "anything",
        }
    }
}

// ---- the file format ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    #[serde(default)]
    version: Option<u32>,
    /// Only in `.leakseal.toml`'s `[kms]`: a policy file to load instead.
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    defaults: DefaultsSpec,
    #[serde(default)]
    environments: Vec<EnvSpec>,
    #[serde(default)]
    keysets: BTreeMap<String, KeysetSpec>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsSpec {
    mode: Option<String>,
    require: Option<Require>,
    formats: Option<Vec<String>>,
    fail_on: Option<Vec<String>>,
    warn_on: Option<Vec<String>>,
    report_plaintext_length: Option<bool>,
    placeholders_allowed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvSpec {
    name: String,
    paths: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysetSpec {
    provider: Option<String>,
    #[serde(default)]
    key_arns: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    key_refs: Vec<String>,
    key_refs_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum KeysetRefSpec {
    One(String),
    PerEnv(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    description: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    exclude_files: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    exclude_keys: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
    require: Option<Require>,
    formats: Option<Vec<String>>,
    #[serde(default)]
    environments: Vec<String>,
    keyset: Option<KeysetRefSpec>,
    encryption_context: Option<ContextSpec>,
    #[serde(default)]
    forbid_values_from: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextSpec {
    #[serde(default)]
    required_keys: Vec<String>,
    #[serde(default)]
    template: BTreeMap<String, String>,
    #[serde(default)]
    sources: Vec<String>,
}

/// Only the `[kms]` table of a project config; everything else belongs to the rules loader.
#[derive(Deserialize)]
struct ProjectConfig {
    #[serde(default)]
    kms: Option<PolicySpec>,
}

// ---- the compiled policy ----

/// An environment derived from paths.
#[derive(Debug)]
pub struct Environment {
    pub name: String,
    globs: GlobSet,
}

/// What "the right key" means.
#[derive(Debug, Default)]
pub struct Keyset {
    pub name: String,
    pub key_arns: Vec<String>,
    pub aliases: Vec<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Pinned AWS KMS key references (blob bytes 5..36): all 32 bytes, or a prefix of at
    /// least 6 bytes (the 12 hex digits reports show).
    pub key_refs: HashSet<Vec<u8>>,
}

impl Keyset {
    /// Whether a blob's key reference is pinned.
    pub fn pins(&self, keyref: &[u8; 32]) -> bool {
        self.key_refs.iter().any(|p| keyref.starts_with(p))
    }

    /// Whether the keyset says which ARNs are right (`key_arns`, or `accounts`/`regions`).
    pub fn checks_arns(&self) -> bool {
        !self.key_arns.is_empty() || !self.accounts.is_empty() || !self.regions.is_empty()
    }

    /// Whether `arn` is a key of the keyset: listed, or of a listed account and region.
    pub fn has_arn(&self, arn: &str) -> bool {
        let part = |i: usize| arn.split(':').nth(i);
        self.key_arns.iter().any(|a| a == arn)
            || (self.key_arns.is_empty()
                && (!self.accounts.is_empty() || !self.regions.is_empty())
                && part(4).is_some_and(|a| self.accounts.is_empty() || self.accounts.iter().any(|x| x == a))
                && part(3).is_some_and(|r| self.regions.is_empty() || self.regions.iter().any(|x| x == r)))
    }
}

/// Encryption-context requirements of a rule.
#[derive(Debug, Clone)]
pub struct ContextRule {
    pub required_keys: Vec<String>,
    pub template: BTreeMap<String, String>,
    pub sources: Vec<String>,
}

/// One policy rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: Option<String>,
    files: GlobSet,
    exclude_files: GlobSet,
    keys: GlobSet,
    exclude_keys: GlobSet,
    paths: Vec<Vec<String>>,
    pub kinds: Vec<String>,
    pub require: Require,
    pub formats: Vec<String>,
    pub environments: Vec<String>,
    keyset: Option<KeysetRefSpec>,
    pub context: Option<ContextRule>,
    pub forbid_values_from: Vec<String>,
}

impl Rule {
    /// Whether the rule looks at the file `rel` (project-relative, `/`-separated).
    pub fn selects_file(&self, rel: &str, env: Option<&str>) -> bool {
        self.files.is_match(rel)
            && !self.exclude_files.is_match(rel)
            && (self.environments.is_empty() || env.is_some_and(|e| self.environments.iter().any(|x| x == e)))
    }

    /// Whether the rule covers a slot: leaf key name, structural path, K8s kind.
    pub fn selects_slot(&self, key: &str, path: &[String], kind: Option<&str>) -> bool {
        if !self.kinds.is_empty() && !kind.is_some_and(|k| self.kinds.iter().any(|x| x == k)) {
            return false;
        }
        let lower = key.to_ascii_lowercase();
        if !self.keys.is_match(&lower) || self.exclude_keys.is_match(&lower) {
            return false;
        }
        self.paths.is_empty() || self.paths.iter().any(|p| path_matches(p, path))
    }

    /// The keyset name for a slot in environment `env`.
    pub fn keyset_for(&self, env: Option<&str>) -> Option<&str> {
        match &self.keyset {
            None => None,
            Some(KeysetRefSpec::One(n)) => Some(n),
            Some(KeysetRefSpec::PerEnv(m)) => env.and_then(|e| m.get(e)).map(String::as_str),
        }
    }
}

/// A compiled, validated policy.
#[derive(Debug)]
pub struct Policy {
    /// Where it came from (a file, or "default policy").
    pub origin: String,
    pub environments: Vec<Environment>,
    pub keysets: BTreeMap<String, Keyset>,
    pub rules: Vec<Rule>,
    fail_on: HashSet<Kind>,
    warn_on: HashSet<Kind>,
    pub report_plaintext_length: bool,
    pub placeholders_allowed: bool,
    /// `mode = "online"`: check online even without `--online`.
    pub online: bool,
    /// Learned pins (lockfile): a 32-byte key reference -> the key ARN KMS reported for it.
    pub learned: HashMap<Vec<u8>, String>,
}

impl Policy {
    /// Adds the pins of a lockfile learned by `kms learn --online`.
    pub fn add_learned(&mut self, lock: &super::lockfile::Lockfile) {
        self.learned.extend(lock.learned().map(|(r, a)| (r, a.to_string())));
    }

    /// The key of keyset `name` that online checks re-encrypt to: its first ARN, else alias.
    pub fn destination_key(&self, name: &str) -> Option<&str> {
        let ks = self.keysets.get(name)?;
        ks.key_arns.first().or(ks.aliases.first()).map(String::as_str)
    }

    /// The environment of a project-relative path (first match wins).
    pub fn environment(&self, rel: &str) -> Option<&str> {
        self.environments
            .iter()
            .find(|e| e.globs.is_match(rel))
            .map(|e| e.name.as_str())
    }

    /// The severity of a finding kind under this policy.
    pub fn severity(&self, kind: Kind) -> Severity {
        if kind == Kind::Placeholder && !self.placeholders_allowed && !self.warn_on.contains(&kind) {
            return Severity::Error;
        }
        if self.fail_on.contains(&kind) {
            Severity::Error
        } else if self.warn_on.contains(&kind) {
            Severity::Warning
        } else {
            kind.default_severity()
        }
    }

    /// The first rule selecting the slot, if any.
    pub fn rule_for(
        &self,
        rel: &str,
        env: Option<&str>,
        key: &str,
        path: &[String],
        kind: Option<&str>,
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.selects_file(rel, env) && r.selects_slot(key, path, kind))
    }

    /// Whether any rule looks at the file at all.
    pub fn selects_file(&self, rel: &str) -> bool {
        let env = self.environment(rel);
        self.rules.iter().any(|r| r.selects_file(rel, env))
    }
}

/// A policy problem: `file[:line]: field 'x': message`, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn toml_error(file: &str, text: &str, section: &str, e: toml::de::Error) -> PolicyError {
    let line = e
        .span()
        .map(|s| format!(":{}", line_of(text, s.start)))
        .unwrap_or_default();
    let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    let field = msg
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
        .map(|f| format!(": field '{f}'"))
        .unwrap_or_default();
    PolicyError(format!("{file}{line}: {section}{field}: {msg}"))
}

/// Loads the policy from a project config (`.leakseal.toml`): its `[kms]` section, the file that
/// section points to, or the default policy when there is no `[kms]`.
pub fn from_project_config(path: &Path) -> Result<Policy, PolicyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        PolicyError(format!(
            "{file}: cannot read config: {}",
            crate::messages::io_reason(&e)
        ))
    })?;
    let cfg: ProjectConfig = toml::from_str(&text).map_err(|e| toml_error(&file, &text, "[kms]", e))?;
    let Some(spec) = cfg.kms else {
        return Ok(default_policy());
    };
    if let Some(p) = &spec.policy {
        let others = spec.version.is_some()
            || !spec.rules.is_empty()
            || !spec.keysets.is_empty()
            || !spec.environments.is_empty();
        if others {
            return Err(PolicyError(format!(
                "{file}: [kms]: field 'policy': names a policy file, so the section may hold nothing else"
            )));
        }
        let target = path.parent().unwrap_or(Path::new(".")).join(p);
        return from_policy_file(&target);
    }
    compile(spec, &file, path.parent().unwrap_or(Path::new(".")))
}

/// Loads a stand-alone policy file (the `[kms]` schema at the top level).
pub fn from_policy_file(path: &Path) -> Result<Policy, PolicyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        PolicyError(format!(
            "{file}: cannot read policy: {}",
            crate::messages::io_reason(&e)
        ))
    })?;
    from_policy_str(&text, &file, path.parent().unwrap_or(Path::new(".")))
}

/// Parses policy text as if read from `file` (relative paths resolve against `dir`).
pub fn from_policy_str(text: &str, file: &str, dir: &Path) -> Result<Policy, PolicyError> {
    let spec: PolicySpec = toml::from_str(text).map_err(|e| toml_error(file, text, "policy", e))?;
    if spec.policy.is_some() {
        return Err(PolicyError(format!(
            "{file}: field 'policy': only a [kms] section of .leakseal.toml may point to a policy file"
        )));
    }
    compile(spec, file, dir)
}

fn glob_set(patterns: &[String], case_insensitive: bool, file: &str, field: &str) -> Result<GlobSet, PolicyError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // A pattern without '/' matches a file name anywhere.
        let pat = if field.ends_with("files") && !p.contains('/') {
            format!("**/{p}")
        } else {
            p.clone()
        };
        let g = GlobBuilder::new(&pat)
            .literal_separator(field.ends_with("files") || field.ends_with("paths"))
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| PolicyError(format!("{file}: field '{field}': '{p}': {}", e.kind())))?;
        b.add(g);
    }
    b.build()
        .map_err(|e| PolicyError(format!("{file}: field '{field}': {e}")))
}

fn kinds(list: &[String], file: &str, field: &str) -> Result<HashSet<Kind>, PolicyError> {
    let mut out = HashSet::new();
    for name in list {
        match Kind::from_name(name) {
            Some(k) => {
                out.insert(k);
            }
            None => {
                return Err(PolicyError(format!(
                    "{file}: field '{field}': unknown finding kind '{name}'"
                )))
            }
        }
    }
    Ok(out)
}

fn check_formats(list: &[String], file: &str, field: &str) -> Result<(), PolicyError> {
    for f in list {
        if !FORMATS.contains(&f.as_str()) {
            return Err(PolicyError(format!(
                "{file}: field '{field}': unknown format '{f}'; known: {}",
                FORMATS.join(", ")
            )));
        }
    }
    Ok(())
}

fn parse_keyref(s: &str) -> Option<Vec<u8>> {
    let b = super::recognise::b64::decode_hex(s.trim())?;
    (6..=32).contains(&b.len()).then_some(b)
}

fn compile(spec: PolicySpec, file: &str, dir: &Path) -> Result<Policy, PolicyError> {
    if let Some(v) = spec.version {
        if v != 1 {
            return Err(PolicyError(format!("{file}: field 'version': only version 1 is known")));
        }
    }
    let d = spec.defaults;
    let online = match d.mode.as_deref() {
        None | Some("offline") => false,
        Some("online") => true,
        Some(other) => {
            return Err(PolicyError(format!(
                "{file}: field 'defaults.mode': '{other}' is not offline or online"
            )))
        }
    };
    let default_formats = d
        .formats
        .unwrap_or_else(|| FORMATS.iter().map(|s| s.to_string()).collect());
    check_formats(&default_formats, file, "defaults.formats")?;
    let default_require = d.require.unwrap_or(Require::Encrypted);
    let fail_on = kinds(
        &d.fail_on
            .unwrap_or_else(|| DEFAULT_FAIL_ON.iter().map(|s| s.to_string()).collect()),
        file,
        "defaults.fail_on",
    )?;
    let warn_on = kinds(
        &d.warn_on
            .unwrap_or_else(|| DEFAULT_WARN_ON.iter().map(|s| s.to_string()).collect()),
        file,
        "defaults.warn_on",
    )?;
    let mut environments = Vec::new();
    for (i, e) in spec.environments.iter().enumerate() {
        environments.push(Environment {
            name: e.name.clone(),
            globs: glob_set(&e.paths, false, file, &format!("environments[{i}].paths"))?,
        });
    }
    let env_names: HashSet<&str> = environments.iter().map(|e| e.name.as_str()).collect();
    let mut keysets = BTreeMap::new();
    let mut learned = HashMap::new();
    for (name, k) in spec.keysets {
        if let Some(p) = &k.provider {
            if p != "aws-kms" {
                return Err(PolicyError(format!(
                    "{file}: field 'keysets.{name}.provider': only \"aws-kms\" is supported"
                )));
            }
        }
        let mut refs = HashSet::new();
        for r in &k.key_refs {
            refs.insert(parse_keyref(r).ok_or_else(|| {
                PolicyError(format!(
                    "{file}: field 'keysets.{name}.key_refs': '{r}' is not 12 to 64 hex digits"
                ))
            })?);
        }
        if let Some(lock) = &k.key_refs_file {
            let p = dir.join(lock);
            // A lockfile that does not exist yet means: no pins learned yet. Learned pins (with
            // an ARN) are judged by their ARN, hand-written ones pin the keyset directly.
            let l = super::lockfile::Lockfile::read(&p).map_err(PolicyError)?;
            for (r, arn) in &l.pins {
                if arn.is_none() {
                    refs.insert(parse_keyref(r).expect("the lockfile reader checked the pin"));
                }
            }
            learned.extend(l.learned().map(|(r, a)| (r, a.to_string())));
        }
        keysets.insert(
            name.clone(),
            Keyset {
                name,
                key_arns: k.key_arns,
                aliases: k.aliases,
                accounts: k.accounts,
                regions: k.regions,
                key_refs: refs,
            },
        );
    }
    let mut rules = Vec::new();
    let mut ids = HashSet::new();
    for r in spec.rules {
        let f = |field: &str| format!("rules.{}.{field}", r.id);
        if !ids.insert(r.id.clone()) {
            return Err(PolicyError(format!(
                "{file}: field 'rules.id': duplicate rule id '{}'",
                r.id
            )));
        }
        if r.files.is_empty() {
            return Err(PolicyError(format!(
                "{file}: field '{}': a rule needs files",
                f("files")
            )));
        }
        let formats = r.formats.clone().unwrap_or_else(|| default_formats.clone());
        check_formats(&formats, file, &f("formats"))?;
        for e in r.environments.iter().chain(&r.forbid_values_from) {
            if !env_names.contains(e.as_str()) {
                return Err(PolicyError(format!(
                    "{file}: field '{}': no environment named '{e}'",
                    f("environments")
                )));
            }
        }
        let keyset_names: Vec<&String> = match &r.keyset {
            None => Vec::new(),
            Some(KeysetRefSpec::One(n)) => vec![n],
            Some(KeysetRefSpec::PerEnv(m)) => m.values().collect(),
        };
        for n in keyset_names {
            if !keysets.contains_key(n) {
                return Err(PolicyError(format!(
                    "{file}: field '{}': no keyset named '{n}'",
                    f("keyset")
                )));
            }
        }
        let context = r.encryption_context.map(|c| ContextRule {
            required_keys: c.required_keys,
            template: c.template,
            sources: if c.sources.is_empty() {
                vec!["sibling:{key}_CONTEXT".into(), "sops".into(), "esdk".into()]
            } else {
                c.sources
            },
        });
        let keys = if r.keys.is_empty() {
            vec!["**".to_string()]
        } else {
            r.keys.clone()
        };
        rules.push(Rule {
            files: glob_set(&r.files, false, file, &f("files"))?,
            exclude_files: glob_set(&r.exclude_files, false, file, &f("exclude_files"))?,
            keys: glob_set(
                &keys.iter().map(|k| k.replace("**", "*")).collect::<Vec<_>>(),
                true,
                file,
                &f("keys"),
            )?,
            exclude_keys: glob_set(&r.exclude_keys, true, file, &f("exclude_keys"))?,
            paths: r
                .paths
                .iter()
                .map(|p| p.split('.').map(str::to_string).collect())
                .collect(),
            kinds: r.kinds,
            require: r.require.unwrap_or(default_require),
            formats,
            environments: r.environments,
            keyset: r.keyset,
            context,
            forbid_values_from: r.forbid_values_from,
            description: r.description,
            id: r.id,
        });
    }
    Ok(Policy {
        origin: file.to_string(),
        environments,
        keysets,
        rules,
        fail_on,
        warn_on,
        report_plaintext_length: d.report_plaintext_length.unwrap_or(true),
        placeholders_allowed: d.placeholders_allowed.unwrap_or(true),
        online,
        learned,
    })
}

/// `a.*.c` against a slot path; `*` is one segment, `**` any number.
fn path_matches(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| path_matches(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((seg, more)) => (p == "*" || p.eq_ignore_ascii_case(seg)) && path_matches(rest, more),
            None => false,
        },
    }
}

const DEFAULT_FAIL_ON: [&str; 10] = [
    "plaintext-secret",
    "not-a-valid-ciphertext",
    "truncated",
    "corrupted",
    "wrong-key",
    "missing-encryption-context",
    "emulator-ciphertext",
    "disallowed-format",
    "orphaned-sops-value",
    "encryption-context-mismatch",
];
const DEFAULT_WARN_ON: [&str; 6] = [
    "placeholder",
    "unknown-format",
    "key-unverifiable",
    "weak-algorithm",
    "cross-environment-reuse",
    "unknown-format-version",
];

/// The policy used when the project config has no `[kms]` section (see the README).
pub const DEFAULT_POLICY: &str = r#"
version = 1

[defaults]
require = "encrypted-or-reference"

[[environments]]
name = "prod"
paths = ["**/prod/**", "**/production/**", "**/*.prod.*", "**/*.production.*", "**/.env.prod", "**/.env.production", "**/prod.tfvars", "**/production.tfvars"]
[[environments]]
name = "staging"
paths = ["**/staging/**", "**/*.staging.*", "**/.env.staging", "**/staging.tfvars"]
[[environments]]
name = "dev"
paths = ["**/dev/**", "**/*.dev.*", "**/.env", "**/.env.dev", "**/.env.development", "**/.env.local", "**/*.local.*"]

[[rules]]
id = "sealed-secrets"
description = "SealedSecret encryptedData must be sealed-secrets ciphertexts"
files = ["*.yaml", "*.yml", "*.json"]
kinds = ["SealedSecret"]
paths = ["spec.encryptedData.*", "spec.data"]
require = "encrypted"
formats = ["sealed-secrets", "sops"]

[[rules]]
id = "k8s-secrets"
description = "Kubernetes Secret data is base64-encoded, not encrypted: it must hold ciphertexts or references"
files = ["*.yaml", "*.yml", "*.json"]
kinds = ["Secret"]
paths = ["data.*", "stringData.*"]

[[rules]]
id = "secret-keys"
description = "Secret-looking keys must hold a recognised ciphertext or a secret-store reference"
files = [".env", ".env.*", "*.env", "*.yaml", "*.yml", "*.json", "*.toml", "*.tfvars", "*.properties"]
exclude_files = [".env.example", ".env.sample", ".env.template", ".env.dist", "*.example.*", "*.sample.*", "package.json", "package-lock.json", "composer.json", "tsconfig*.json", "Cargo.toml", "pyproject.toml", ".leakseal.toml", ".gitleaks.toml", "**/node_modules/**", "**/testdata/**", "**/fixtures/**"]
keys = ["*_api_key", "*-api-key", "api_key", "api-key", "apikey", "*apikey", "*_secret", "*-secret", "*_secret_*", "*secret_key", "*secretkey", "client_secret", "clientsecret", "secret", "*_token", "*-token", "token", "*authtoken", "*accesstoken", "*password*", "*passwd*", "*_private_key", "*privatekey"]
exclude_keys = ["*_file", "*_path", "*_env", "*_name", "*_ref", "*_length", "*_policy", "*_url", "*_arn", "*_id", "*_type", "*_expiry", "*_expires*", "*_ttl", "*_header", "*_secret_name", "*_context", "*_enabled", "*_required"]
"#;

/// The built-in default policy.
pub fn default_policy() -> Policy {
    let mut p = from_policy_str(DEFAULT_POLICY, "default policy", Path::new("."))
        .expect("the built-in default policy is valid");
    p.origin = "default policy".into();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        from_policy_str(text, "p.toml", Path::new(".")).unwrap_err().0
    }

    #[test]
    fn default_policy_compiles_and_selects() {
        let p = default_policy();
        assert_eq!(p.environment(".env.production"), Some("prod"));
        assert_eq!(p.environment("config/app.yaml"), None);
        let r = p.rule_for(
            ".env.production",
            Some("prod"),
            "GOLD_API_KEY",
            &["GOLD_API_KEY".into()],
            None,
        );
        assert_eq!(r.map(|r| r.id.as_str()), Some("secret-keys"));
        assert!(p.rule_for(".env", None, "DB_PASSWORD", &[], None).is_some());
        assert!(p.rule_for(".env", None, "PASSWORD_FILE", &[], None).is_none());
        assert!(p.rule_for(".env", None, "LOG_LEVEL", &[], None).is_none());
        assert!(p.rule_for(".env.example", None, "GOLD_API_KEY", &[], None).is_none());
        let path = ["data".to_string(), "anything".to_string()];
        assert_eq!(
            p.rule_for("k8s/s.yaml", None, "anything", &path, Some("Secret"))
                .map(|r| r.id.as_str()),
            Some("k8s-secrets")
        );
    }

    #[test]
    fn strict_parsing_names_file_and_field() {
        let e = err("version = 1\nbogus = 2\n");
        assert!(
            e.starts_with("p.toml:2: policy: field 'bogus': unknown field `bogus`"),
            "{e}"
        );
        let e = err("[[rules]]\nid = 'a'\nfiles = ['*.env']\nrequre = 'any'\n");
        assert!(e.contains("field 'requre'"), "{e}");
        assert!(!e.contains('\n'));
        assert!(err("[[rules]]\nid = 'a'\nfiles = ['x']\nformats = ['rot13']\n").contains("unknown format 'rot13'"));
        assert!(err("[defaults]\nfail_on = ['oops']\n").contains("unknown finding kind 'oops'"));
        assert!(err("[[rules]]\nid = 'a'\nfiles = ['x']\nkeyset = 'nope'\n").contains("no keyset named 'nope'"));
        assert!(err("[keysets.k]\nkey_refs = ['abc']\n").contains("hex digits"));
        assert!(err("[defaults]\nmode = 'sometimes'\n").contains("is not offline or online"));
    }

    #[test]
    fn pins_are_full_or_prefix() {
        let p = from_policy_str(
            "[keysets.k]\nkey_refs = ['111111111111', '22222222222222222222222222222222222222222222222222222222222222ff']\n",
            "p.toml",
            Path::new("."),
        )
        .unwrap();
        let ks = &p.keysets["k"];
        assert!(ks.pins(&[0x11; 32]));
        let mut r = [0x22; 32];
        assert!(!ks.pins(&r));
        r[31] = 0xff;
        assert!(ks.pins(&r));
    }

    #[test]
    fn paths_match_with_stars() {
        let p = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert!(path_matches(
            &p("services.*.credentials.*"),
            &p("services.api.credentials.key")
        ));
        assert!(path_matches(&p("**.key"), &p("a.b.key")));
        assert!(!path_matches(&p("data.*"), &p("metadata.name")));
    }
}

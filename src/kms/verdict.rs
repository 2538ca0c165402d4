//! Classification + policy -> verdicts: the finding kinds of spec §5.3 and the decision, for
//! one slot, of which of them apply. Nothing here reads files or prints.

use std::collections::BTreeMap;

use super::policy::{Keyset, Policy, Require, Rule};
use super::recognise::{Cipher, Class};

/// A finding kind (spec §5.3). Findings carry it as `kms/<kind>` in `rule_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    PlaintextSecret,
    Placeholder,
    NotValid,
    Truncated,
    Corrupted,
    UnknownFormat,
    UnknownFormatVersion,
    DisallowedFormat,
    EmulatorCiphertext,
    WrongKey,
    KeyUnverifiable,
    MissingEncryptionContext,
    EncryptionContextMismatch,
    WeakAlgorithm,
    CrossEnvironmentReuse,
    OrphanedSopsValue,
    OnlineVerified,
    OnlineInvalidCiphertext,
    OnlineIncorrectKey,
    OnlineKeyUnusable,
    OnlineAccessDenied,
}

/// How bad a finding is; only errors make the command exit with the findings code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl Kind {
    /// Every kind, in the order of the spec's table.
    pub const ALL: [Kind; 21] = [
        Kind::PlaintextSecret,
        Kind::Placeholder,
        Kind::NotValid,
        Kind::Truncated,
        Kind::Corrupted,
        Kind::UnknownFormat,
        Kind::UnknownFormatVersion,
        Kind::DisallowedFormat,
        Kind::EmulatorCiphertext,
        Kind::WrongKey,
        Kind::KeyUnverifiable,
        Kind::MissingEncryptionContext,
        Kind::EncryptionContextMismatch,
        Kind::WeakAlgorithm,
        Kind::CrossEnvironmentReuse,
        Kind::OrphanedSopsValue,
        Kind::OnlineVerified,
        Kind::OnlineInvalidCiphertext,
        Kind::OnlineIncorrectKey,
        Kind::OnlineKeyUnusable,
        Kind::OnlineAccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PlaintextSecret => "plaintext-secret", // leakseal:allow (a kind name)
            Kind::Placeholder => "placeholder",
            Kind::NotValid => "not-a-valid-ciphertext",
            Kind::Truncated => "truncated",
            Kind::Corrupted => "corrupted",
            Kind::UnknownFormat => "unknown-format",
            Kind::UnknownFormatVersion => "unknown-format-version",
            Kind::DisallowedFormat => "disallowed-format",
            Kind::EmulatorCiphertext => "emulator-ciphertext",
            Kind::WrongKey => "wrong-key",
            Kind::KeyUnverifiable => "key-unverifiable",
            Kind::MissingEncryptionContext => "missing-encryption-context",
            Kind::EncryptionContextMismatch => "encryption-context-mismatch",
            Kind::WeakAlgorithm => "weak-algorithm",
            Kind::CrossEnvironmentReuse => "cross-environment-reuse",
            Kind::OrphanedSopsValue => "orphaned-sops-value",
            Kind::OnlineVerified => "online-verified",
            Kind::OnlineInvalidCiphertext => "online-invalid-ciphertext",
            Kind::OnlineIncorrectKey => "online-incorrect-key",
            Kind::OnlineKeyUnusable => "online-key-unusable",
            Kind::OnlineAccessDenied => "online-access-denied",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The spec's default severity, used when neither `fail_on` nor `warn_on` names the kind.
    pub fn default_severity(self) -> Severity {
        match self {
            Kind::Placeholder
            | Kind::UnknownFormat
            | Kind::UnknownFormatVersion
            | Kind::KeyUnverifiable
            | Kind::WeakAlgorithm
            | Kind::CrossEnvironmentReuse
            | Kind::OnlineAccessDenied => Severity::Warning,
            Kind::OnlineVerified => Severity::Info,
            _ => Severity::Error,
        }
    }
}

/// One problem with one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub kind: Kind,
    pub message: String,
    pub reasons: Vec<String>,
}

fn issue(kind: Kind, message: impl Into<String>) -> Issue {
    Issue {
        kind,
        message: message.into(),
        reasons: Vec::new(),
    }
}

/// What the verdict may know about a slot beyond its value.
#[derive(Debug, Default)]
pub struct SlotFacts<'a> {
    pub key: &'a str,
    pub environment: Option<&'a str>,
    /// The file's sops metadata: key ARNs and recorded encryption contexts.
    pub sops: Option<&'a super::extract::SopsMeta>,
    /// The key is excluded from encryption by the file's sops settings.
    pub sops_excluded: bool,
    /// The slot is a Kubernetes Secret `data` value (base64 is encoding, not encryption).
    pub k8s_data: bool,
    /// The file should be git-crypt encrypted but its git blob is not.
    pub git_crypt_not_applied: bool,
    /// Encryption context from a sibling slot (`sibling:{key}_CONTEXT`), when present.
    pub sibling_context: Option<BTreeMap<String, String>>,
}

/// Judges one classified slot under `rule`.
pub fn judge(class: &Class, facts: &SlotFacts<'_>, rule: &Rule, policy: &Policy) -> Vec<Issue> {
    let key = facts.key;
    match class {
        Class::Cipher(c) => cipher(c, facts, rule, policy),
        Class::Reference(what) => match rule.require {
            Require::Encrypted => vec![issue(
                Kind::DisallowedFormat,
                format!("{key} holds a secret-store reference ({what}) where the policy requires a ciphertext"),
            )],
            _ => Vec::new(),
        },
        Class::Placeholder(why) => match rule.require {
            Require::Any => Vec::new(),
            _ => vec![issue(Kind::Placeholder, format!("{key} holds a placeholder ({why})"))],
        },
        Class::Broken(b) => {
            let what = match b.kind {
                Kind::Truncated => "a truncated",
                Kind::Corrupted => "a corrupted",
                Kind::UnknownFormatVersion => "an unknown version of",
                _ => "an invalid",
            };
            vec![issue(
                b.kind,
                format!("{key} holds {what} {} ciphertext: {}", b.format, b.reason),
            )]
        }
        Class::Unknown(why) => match rule.require {
            Require::Any => Vec::new(),
            _ => vec![issue(
                Kind::UnknownFormat,
                format!("{key} holds an unrecognised high-entropy value ({why})"),
            )],
        },
        Class::Plaintext(reason) => {
            if rule.require == Require::Any {
                return Vec::new();
            }
            let mut reasons: Vec<String> = reason.iter().cloned().collect();
            if facts.k8s_data {
                reasons.push("base64-is-not-encryption".into());
            }
            if facts.sops_excluded {
                reasons.push("sops-excluded".into());
            }
            if facts.git_crypt_not_applied {
                reasons.push("git-crypt-not-applied".into());
            }
            let mut i = issue(
                Kind::PlaintextSecret,
                format!(
                    "{key} holds a plaintext value where the policy requires {}",
                    rule.require.wants()
                ),
            );
            i.reasons = reasons;
            vec![i]
        }
    }
}

fn cipher(c: &Cipher, facts: &SlotFacts<'_>, rule: &Rule, policy: &Policy) -> Vec<Issue> {
    let key = facts.key;
    let keyset = rule
        .keyset_for(facts.environment)
        .and_then(|name| policy.keysets.get(name));
    if let Some(emu) = c.emulator {
        let mut out = vec![issue(
            Kind::EmulatorCiphertext,
            format!("{key} holds a blob made by a KMS emulator ({emu}), not by AWS KMS"),
        )];
        // Pins learned against the same emulator still tell the keys apart.
        if let Some(ks) = keyset {
            out.extend(
                key_issues(c, key, ks, policy)
                    .into_iter()
                    .filter(|i| i.kind == Kind::WrongKey),
            );
        }
        return out;
    }
    let mut out = Vec::new();
    if rule.require == Require::Reference {
        out.push(issue(
            Kind::DisallowedFormat,
            format!(
                "{key} holds a {} ciphertext where the policy requires a secret-store reference",
                c.format
            ),
        ));
    } else if !rule.formats.iter().any(|f| f == c.format) {
        out.push(issue(
            Kind::DisallowedFormat,
            format!(
                "{key} holds a {} ciphertext; the policy allows {}",
                c.format,
                rule.formats.join(", ")
            ),
        ));
    }
    if let Some(w) = &c.weak {
        out.push(issue(Kind::WeakAlgorithm, format!("{key}: {w}")));
    }
    if let Some(ks) = keyset {
        let arns: Vec<&str> = if c.format == "sops" {
            facts
                .sops
                .map(|s| s.kms_arns.iter().map(String::as_str).collect())
                .unwrap_or_default()
        } else {
            c.key_ids.iter().map(String::as_str).collect()
        };
        if !arns.is_empty() && ks.checks_arns() {
            if let Some(bad) = arns.iter().find(|a| !ks.has_arn(a)) {
                out.push(issue(
                    Kind::WrongKey,
                    format!("{key} is encrypted under {bad}, not a key of keyset '{}'", ks.name),
                ));
            }
        } else {
            out.extend(key_issues(c, key, ks, policy));
        }
    }
    // Encryption context: bound by KMS (raw blobs, ESDK, sops' data key) only.
    let kms_bound = matches!(c.format, "aws-kms" | "aws-esdk" | "sops");
    if let Some(ctx_rule) = rule.context.as_ref().filter(|_| kms_bound) {
        let found = discover_context(c, facts, &ctx_rule.sources);
        match found {
            None => out.push(issue(
                Kind::MissingEncryptionContext,
                format!(
                    "{key}: no encryption context found (looked in {})",
                    ctx_rule.sources.join(", ")
                ),
            )),
            Some(ctx) => {
                let missing: Vec<&str> = ctx_rule
                    .required_keys
                    .iter()
                    .filter(|k| !ctx.contains_key(*k))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    out.push(issue(
                        Kind::MissingEncryptionContext,
                        format!("{key}: encryption context lacks {}", missing.join(", ")),
                    ));
                }
                for (k, template) in &ctx_rule.template {
                    let want = template.replace("{env}", facts.environment.unwrap_or(""));
                    if let Some(have) = ctx.get(k) {
                        if *have != want {
                            out.push(issue(
                                Kind::EncryptionContextMismatch,
                                format!("{key}: encryption context {k}={have}, the policy expects {want}"),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Key checks of a blob's key references: a learned pin (lockfile) is judged by its ARN, a
/// hand-written pin by membership; a reference neither knows is `key-unverifiable`.
fn key_issues(c: &Cipher, key: &str, ks: &Keyset, policy: &Policy) -> Vec<Issue> {
    let mut unknown = c.keyrefs.is_empty();
    for r in &c.keyrefs {
        let fp = &hex(r)[..12];
        match policy.learned.get(&r[..]).filter(|_| ks.checks_arns()) {
            Some(arn) if ks.has_arn(arn) => {}
            Some(arn) => {
                return vec![issue(
                    Kind::WrongKey,
                    format!(
                        "{key}: key reference {fp} was learned as {arn}, not a key of keyset '{}'",
                        ks.name
                    ),
                )]
            }
            None if ks.key_refs.is_empty() => unknown = true,
            None if ks.pins(r) => {}
            None => {
                return vec![issue(
                    Kind::WrongKey,
                    format!("{key}: key reference {fp} is not pinned in keyset '{}'", ks.name),
                )]
            }
        }
    }
    if unknown && matches!(c.format, "aws-kms" | "aws-esdk" | "sops") {
        return vec![issue(
            Kind::KeyUnverifiable,
            format!(
                "{key}: a valid {} ciphertext, but keyset '{}' has no key reference pins or ARNs to check it against offline",
                c.format, ks.name
            ),
        )];
    }
    Vec::new()
}

fn discover_context(c: &Cipher, facts: &SlotFacts<'_>, sources: &[String]) -> Option<BTreeMap<String, String>> {
    for s in sources {
        let found = if s.starts_with("sibling:") {
            facts.sibling_context.clone()
        } else if s == "esdk" {
            c.context.clone()
        } else if s == "sops" && c.format == "sops" {
            facts.sops.and_then(|m| m.contexts.first().cloned())
        } else {
            None
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[usize::from(x >> 4)] as char);
        s.push(DIGITS[usize::from(x & 15)] as char);
    }
    s
}

/// Parses a sibling context value: JSON object or `k=v,k=v`.
pub fn parse_context(v: &str) -> Option<BTreeMap<String, String>> {
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(v) {
        return Some(
            m.into_iter()
                .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect(),
        );
    }
    let mut m = BTreeMap::new();
    for pair in v.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, val) = pair.split_once('=')?;
        m.insert(k.trim().to_string(), val.trim().to_string());
    }
    (!m.is_empty()).then_some(m)
}

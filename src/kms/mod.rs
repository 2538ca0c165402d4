//! The encryption checker (`leakseal kms check`): verifies that the values a policy says must be
//! encrypted are genuine ciphertexts — not plaintext, truncated or elided copies, random
//! look-alikes, placeholders or emulator blobs — and, where the policy can tell offline, under
//! the right key and with the right encryption context.
//!
//! Pipeline: files selected by the policy -> value extraction (`extract`) -> recognisers
//! (`recognise`) -> verdicts (`verdict`) -> the scanner's `Finding`, so reporters, redaction and
//! exit codes are shared. The recognisers are also used by the secret scanner so that
//! recognised ciphertexts are never reported as secrets (`is_recognised_ciphertext`).
//!
//! Offline by default. With a `Verifier` (`--online`, cargo feature `online`), each recognised
//! AWS KMS blob is also confirmed with KMS `ReEncrypt` to its keyset's key (`online`), and the
//! answers give the (key reference -> ARN) pins `kms learn` writes to the lockfile
//! (`lockfile`). `--staged` reads the files from the git index instead of the work tree.

pub mod command;
pub mod extract;
pub mod lockfile;
pub mod online;
pub mod policy;
pub mod recognise;
pub mod verdict;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::finding::{fingerprint, ContextKey, Finding, Location, Secret};
use crate::messages::UserError;
use crate::report::Report;
use crate::rules::Confidence;
use crate::scan::Context;
use crate::source::{ItemError, Stats};

pub use recognise::{classify, is_recognised_ciphertext, within_recognised_ciphertext, Class, Where};

use extract::{Extracted, Slot, SopsMeta};
use policy::Policy;
use verdict::{Issue, Kind, Severity, SlotFacts};

/// What a KMS finding reports beyond the shared fields (never a plaintext value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KmsInfo {
    /// The finding kind (spec §5.3), also the suffix of `rule_id`.
    pub kind: String,
    pub severity: String,
    /// The policy rule that selected the slot.
    pub policy_rule: String,
    /// The key holding the value, and its structural path.
    pub key: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// First 12 hex digits of the AWS KMS key reference (blob bytes 5..36).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_ref: Option<String>,
    /// Key ARNs or ids known offline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
    /// Length of the encrypted plaintext, recovered from the ciphertext's structure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext_length: Option<usize>,
    /// Encryption-context keys found offline (their values are not secret, but not shown).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl KmsInfo {
    /// One line for the text report.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} ({})", self.kind, self.severity)];
        parts.push(format!("key {}", self.key));
        if let Some(e) = &self.environment {
            parts.push(format!("env {e}"));
        }
        if let Some(f) = &self.format {
            let v = self.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
            parts.push(format!("format {f}{v}"));
        }
        if let Some(k) = &self.key_ref {
            parts.push(format!("key ref {k}"));
        }
        if !self.key_ids.is_empty() {
            parts.push(format!("key {}", self.key_ids.join(", ")));
        }
        if let Some(n) = self.plaintext_length {
            parts.push(format!("plaintext ~{n} bytes"));
        }
        if !self.context_keys.is_empty() {
            parts.push(format!("context keys {}", self.context_keys.join(", ")));
        }
        if !self.reasons.is_empty() {
            parts.push(format!("reasons {}", self.reasons.join(", ")));
        }
        parts.push(format!("policy rule {}", self.policy_rule));
        parts.join("; ")
    }
}

/// Everything `kms check` needs, validated.
#[derive(Debug)]
pub struct KmsConfig {
    pub paths: Vec<PathBuf>,
    /// Project root: policy globs match paths relative to it.
    pub root: PathBuf,
    pub policy: Policy,
    pub no_ignore: bool,
    pub max_file_size: u64,
    pub salt: String,
    /// Check the staged files (index vs HEAD) instead of the work tree; `paths` then only
    /// narrow which staged files are checked.
    pub staged: bool,
}

/// Finds the policy: `--policy FILE`, else `--config`/`LEAKSEAL_CONFIG`, else `.leakseal.toml` from
/// `start` up to the repository root; the default policy when none has a `[kms]` section.
/// Returns the policy and the project root.
pub fn resolve_policy(
    policy: Option<&Path>,
    config: Option<&Path>,
    start: &Path,
) -> Result<(Policy, PathBuf), UserError> {
    let start_abs = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    let top = start_abs
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf);
    let err = |e: policy::PolicyError| UserError::new(e.0);
    if let Some(p) = policy {
        if !p.is_file() {
            return Err(UserError::new(format!("{}: policy file not found", p.display())));
        }
        let root = top.unwrap_or(start_abs);
        return Ok((policy::from_policy_file(p).map_err(err)?, root));
    }
    if let Some(c) = config {
        if !c.is_file() {
            return Err(UserError::new(format!("{}: config file not found", c.display()))
                .hint("check --config or LEAKSEAL_CONFIG"));
        }
        let root = top.unwrap_or(start_abs);
        return Ok((policy::from_project_config(c).map_err(err)?, root));
    }
    let mut dir = Some(start_abs.as_path());
    while let Some(d) = dir {
        let candidate = d.join(".leakseal.toml");
        if candidate.is_file() {
            return Ok((policy::from_project_config(&candidate).map_err(err)?, d.to_path_buf()));
        }
        if top.as_deref().is_none_or(|t| t == d) {
            break;
        }
        dir = d.parent();
    }
    Ok((policy::default_policy(), top.unwrap_or(start_abs)))
}

/// The outcome of a check: the shared report, non-fatal warnings, and whether any finding is
/// an error under the policy.
#[derive(Debug)]
pub struct CheckOutput {
    pub report: Report,
    pub warnings: Vec<String>,
    pub failed: bool,
    /// Online mode: what KMS confirmed, as pins for the lockfile.
    pub learned: Vec<LearnedPin>,
    /// Online mode: how many blobs KMS was asked about.
    pub online_checked: usize,
}

/// A key reference KMS confirmed: the blob's key reference (64 hex), the key ARN it reported,
/// and where the blob was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedPin {
    pub key_ref: String,
    pub key_arn: String,
    pub location: String,
}

/// A recognised AWS KMS blob to confirm online.
struct Candidate {
    value: String,
    location: Location,
    info: KmsInfo,
    keyset: Option<String>,
    context: BTreeMap<String, String>,
    keyref: Option<[u8; 32]>,
}

/// Where one checked file's bytes come from.
enum Source {
    Path(PathBuf),
    /// A staged blob; `git_crypt` when its path has the git-crypt filter.
    Staged {
        bytes: Vec<u8>,
        git_crypt: bool,
    },
}

/// One file to check: display path, project-relative path, content.
struct Item {
    display: String,
    rel: String,
    source: Source,
}

/// One judged slot, before grouping.
struct Judged {
    value: String,
    location: Location,
    issue: Issue,
    info: KmsInfo,
}

/// Runs the offline check over `cfg.paths` (or the staged files).
pub fn check(cfg: &KmsConfig) -> CheckOutput {
    check_with(cfg, None)
}

/// Runs the check; with `online`, recognised AWS KMS blobs are also confirmed with KMS.
pub fn check_with(cfg: &KmsConfig, online: Option<&dyn online::Verifier>) -> CheckOutput {
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut judged = Vec::new();
    let mut candidates = Vec::new();
    let mut seen_values: BTreeMap<String, Vec<(String, Location, KmsInfo)>> = BTreeMap::new();
    let repo = git2::Repository::discover(&cfg.root).ok();
    let items = if cfg.staged {
        staged_items(cfg, repo.as_ref(), &mut errors)
    } else {
        files(cfg, &mut errors)
    };
    for Item { display, rel, source } in items {
        let (bytes, git_crypt_filter) = match source {
            Source::Path(fs_path) => match read(&fs_path, cfg.max_file_size) {
                Ok(Some(b)) => match git_crypt_blob(repo.as_ref(), &cfg.root, &fs_path) {
                    GitCrypt::NotSelected => (b, false),
                    // Encrypted in git: the working tree may be an unlocked (plaintext) checkout.
                    GitCrypt::Encrypted => continue,
                    GitCrypt::Plain(blob) => (blob, true),
                },
                Ok(None) => {
                    stats.skipped_too_large += 1;
                    continue;
                }
                Err(e) => {
                    errors.push(ItemError {
                        path: display.clone(),
                        message: e,
                    });
                    continue;
                }
            },
            Source::Staged { bytes, .. } if bytes.len() as u64 > cfg.max_file_size => {
                stats.skipped_too_large += 1;
                continue;
            }
            Source::Staged { bytes, git_crypt } => {
                if git_crypt && bytes.starts_with(recognise::envelopes::GIT_CRYPT_MAGIC) {
                    continue;
                }
                (bytes, git_crypt)
            }
        };
        stats.files_scanned += 1;
        stats.bytes_scanned += bytes.len() as u64;
        let (content, git_crypt_not_applied) = (bytes, git_crypt_filter);
        if whole_file_encrypted(&content) {
            continue;
        }
        if crate::source::is_binary(&content) {
            stats.skipped_binary += 1;
            continue;
        }
        let Some(format) = extract::format_of(&rel) else {
            continue;
        };
        let text = String::from_utf8_lossy(&content);
        let extracted = match extract::extract(&text, format) {
            Ok(x) => x,
            Err(e) => {
                warnings.push(format!(
                    "{display}: not checked: cannot parse as {}: {e}",
                    format.name()
                ));
                continue;
            }
        };
        let file = FileCtx {
            display: &display,
            rel: &rel,
            text: &text,
            git_crypt_not_applied,
        };
        let out = Collect {
            judged: &mut judged,
            seen: &mut seen_values,
            candidates: online.is_some().then_some(&mut candidates),
        };
        check_file(&cfg.policy, &file, &extracted, out);
    }
    cross_environment(&cfg.policy, &seen_values, &mut judged);
    let mut learned = Vec::new();
    let online_checked = candidates.len();
    if let Some(v) = online {
        let pass = OnlinePass {
            policy: &cfg.policy,
            verifier: v,
        };
        pass.run(candidates, &mut judged, &mut learned, &mut warnings, &mut errors);
    }
    let findings = group(judged, &cfg.salt);
    let failed = findings
        .iter()
        .any(|f| f.kms.as_ref().is_some_and(|k| k.severity == "error"));
    errors.sort();
    CheckOutput {
        report: Report {
            findings,
            stats,
            errors,
            duration: started.elapsed(),
            ..Report::default()
        },
        warnings,
        failed,
        learned,
        online_checked,
    }
}

/// One KMS question: (blob text, destination key, encryption context).
type AnswerKey = (String, String, Vec<(String, String)>);

/// The online step over the collected blobs.
struct OnlinePass<'a> {
    policy: &'a Policy,
    verifier: &'a dyn online::Verifier,
}

impl OnlinePass<'_> {
    fn run(
        &self,
        candidates: Vec<Candidate>,
        judged: &mut Vec<Judged>,
        learned: &mut Vec<LearnedPin>,
        warnings: &mut Vec<String>,
        errors: &mut Vec<ItemError>,
    ) {
        let mut no_key = 0;
        let mut answers: BTreeMap<AnswerKey, online::Answer> = BTreeMap::new();
        for cand in candidates {
            let dest = cand
                .keyset
                .as_deref()
                .and_then(|k| self.policy.destination_key(k).map(|d| (k.to_string(), d)));
            let (Some((keyset, dest)), Some(blob)) = (dest, online::blob_bytes(&cand.value)) else {
                no_key += 1;
                continue;
            };
            let memo = (
                cand.value.clone(),
                dest.to_string(),
                cand.context.clone().into_iter().collect(),
            );
            let answer = match answers.get(&memo) {
                Some(a) => a.clone(),
                None => match self.verifier.re_encrypt(&blob, dest, &cand.context) {
                    Ok(a) => {
                        answers.insert(memo, a.clone());
                        a
                    }
                    Err(online::Fatal(m)) => {
                        errors.push(ItemError {
                            path: self.verifier.endpoint(),
                            message: format!("{m}; online checks stopped"),
                        });
                        return;
                    }
                },
            };
            self.judge(cand, &keyset, answer, judged, learned);
        }
        if no_key > 0 {
            warnings.push(format!(
                "{no_key} AWS KMS blob(s) not checked online: their policy rule names no keyset with key_arns or aliases to re-encrypt to"
            ));
        }
    }

    fn judge(
        &self,
        cand: Candidate,
        keyset: &str,
        answer: online::Answer,
        judged: &mut Vec<Judged>,
        learned: &mut Vec<LearnedPin>,
    ) {
        let key = &cand.info.key;
        let issue = match answer {
            online::Answer::Confirmed { source_key_id } => {
                if let Some(r) = cand.keyref {
                    learned.push(LearnedPin {
                        key_ref: verdict::hex(&r),
                        key_arn: source_key_id.clone(),
                        location: format!("{}:{}", cand.location.path, cand.location.position.line),
                    });
                }
                let ks = &self.policy.keysets[keyset];
                if ks.checks_arns() && !ks.has_arn(&source_key_id) {
                    Issue {
                        kind: Kind::WrongKey,
                        message: format!(
                            "{key}: KMS reports the blob was made with {source_key_id}, not a key of keyset '{keyset}'"
                        ),
                        reasons: Vec::new(),
                    }
                } else {
                    // Confirmed online: the offline "cannot tell the key" warning is answered.
                    judged.retain(|j| !(j.issue.kind == Kind::KeyUnverifiable && j.location == cand.location));
                    Issue {
                        kind: Kind::OnlineVerified,
                        message: format!("{key}: KMS confirmed the blob, made with {source_key_id}"),
                        reasons: Vec::new(),
                    }
                }
            }
            online::Answer::Rejected { code, message } => Issue {
                kind: online::kind_of(&code).unwrap_or(Kind::OnlineInvalidCiphertext),
                message: format!(
                    "{key}: KMS rejected the blob ({code}{}): {}",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    },
                    online::explain(&code)
                ),
                reasons: Vec::new(),
            },
        };
        judged.push(Judged {
            value: cand.value,
            location: cand.location,
            info: KmsInfo {
                kind: issue.kind.as_str().into(),
                severity: self.policy.severity(issue.kind).as_str().into(),
                reasons: Vec::new(),
                ..cand.info
            },
            issue,
        });
    }
}

/// Where `check_file` puts what it finds.
struct Collect<'a> {
    judged: &'a mut Vec<Judged>,
    seen: &'a mut BTreeMap<String, Vec<(String, Location, KmsInfo)>>,
    /// Only in online mode.
    candidates: Option<&'a mut Vec<Candidate>>,
}

struct FileCtx<'a> {
    display: &'a str,
    rel: &'a str,
    text: &'a str,
    git_crypt_not_applied: bool,
}

fn check_file(policy: &Policy, file: &FileCtx<'_>, x: &Extracted, out: Collect<'_>) {
    let Collect {
        judged,
        seen,
        mut candidates,
    } = out;
    let env = policy.environment(file.rel);
    let key_material_file = file.rel.ends_with(".env.keys");
    if let Some(meta) = &x.sops {
        check_sops_meta(policy, file, meta, env, judged);
    }
    let siblings: BTreeMap<String, &str> = x
        .slots
        .iter()
        .map(|s| (s.key.to_ascii_lowercase(), s.value.as_str()))
        .collect();
    for slot in &x.slots {
        let Some(rule) = policy.rule_for(file.rel, env, &slot.key, &slot.path, slot.kind.as_deref()) else {
            continue;
        };
        let k8s_data = slot.kind.as_deref() == Some("Secret") && slot.path.first().is_some_and(|p| p == "data");
        let at = Where {
            sealed_secret: slot.kind.as_deref() == Some("SealedSecret"),
        };
        let class = if k8s_data {
            k8s_data_class(&slot.value, at)
        } else {
            classify(&slot.value, at)
        };
        let sibling_context = siblings
            .get(&format!("{}_context", slot.key.to_ascii_lowercase()))
            .and_then(|v| verdict::parse_context(v));
        let facts = SlotFacts {
            key: &slot.key,
            environment: env,
            sops: x.sops.as_ref(),
            sops_excluded: x.sops.as_ref().is_some_and(|m| m.excludes(&slot.key)),
            k8s_data,
            git_crypt_not_applied: file.git_crypt_not_applied,
            sibling_context,
        };
        let mut issues = match &class {
            Class::Cipher(c) if c.format == "sops" && !x.sops.as_ref().is_some_and(|m| m.mac && m.key_entries > 0) => {
                vec![Issue {
                    kind: Kind::OrphanedSopsValue,
                    message: format!(
                        "{}: an ENC[…] value without sops metadata (a `sops` block with a MAC and keys): it cannot be decrypted",
                        slot.key
                    ),
                    reasons: Vec::new(),
                }]
            }
            _ => verdict::judge(&class, &facts, rule, policy),
        };
        if key_material_file {
            for i in &mut issues {
                if i.kind == Kind::PlaintextSecret {
                    i.reasons.push("committed-private-key-file".into());
                }
            }
        }
        let info = info_for(&class, slot, rule, env, policy);
        let location = location(file, slot.start, slot.end);
        if let (Some(list), Class::Cipher(c)) = (candidates.as_deref_mut(), &class) {
            if c.format == "aws-kms" {
                let context = facts.sibling_context.clone().unwrap_or_else(|| {
                    rule.context
                        .iter()
                        .flat_map(|r| &r.template)
                        .map(|(k, v)| (k.clone(), v.replace("{env}", env.unwrap_or(""))))
                        .collect()
                });
                list.push(Candidate {
                    value: slot.value.clone(),
                    location: location.clone(),
                    info: info.clone(),
                    keyset: rule.keyset_for(env).map(str::to_string),
                    context,
                    keyref: c.keyrefs.first().copied(),
                });
            }
        }
        if env.is_some() && matches!(class, Class::Cipher(_) | Class::Plaintext(_) | Class::Unknown(_)) {
            seen.entry(slot.value.trim().to_string()).or_default().push((
                file.display.to_string(),
                location.clone(),
                info.clone(),
            ));
        }
        for issue in issues {
            judged.push(Judged {
                value: slot.value.clone(),
                location: location.clone(),
                info: KmsInfo {
                    kind: issue.kind.as_str().into(),
                    severity: policy.severity(issue.kind).as_str().into(),
                    reasons: issue.reasons.clone(),
                    ..info.clone()
                },
                issue,
            });
        }
    }
}

/// Kubernetes `data:` values are base64 of the real value: decode once and classify that.
fn k8s_data_class(value: &str, at: Where) -> Class {
    let compact = recognise::b64::compact(value);
    match recognise::b64::decode(&compact) {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            Ok(s) => match classify(s, at) {
                Class::Plaintext(_) => Class::Plaintext(None),
                other => other,
            },
            Err(_) => recognise::binary(&bytes, at).unwrap_or(Class::Unknown(format!(
                "{} bytes of binary data in no known format",
                bytes.len()
            ))),
        },
        Err(_) => classify(value, at),
    }
}

/// The sops metadata's own AWS KMS blobs (`kms[].enc`) must be valid.
fn check_sops_meta(policy: &Policy, file: &FileCtx<'_>, meta: &SopsMeta, env: Option<&str>, judged: &mut Vec<Judged>) {
    for enc in &meta.kms_encs {
        let class = classify(&enc.value, Where::default());
        let issue = match &class {
            Class::Cipher(c) if c.format == "aws-kms" && c.emulator.is_none() => continue,
            Class::Cipher(c) if c.emulator.is_some() => Issue {
                kind: Kind::EmulatorCiphertext,
                message: "sops kms[].enc was made by a KMS emulator, not by AWS KMS".into(),
                reasons: Vec::new(),
            },
            Class::Broken(b) => Issue {
                kind: b.kind,
                message: format!("sops kms[].enc is not a valid AWS KMS blob: {}", b.reason),
                reasons: Vec::new(),
            },
            _ => Issue {
                kind: Kind::NotValid,
                message: "sops kms[].enc is not an AWS KMS blob".into(),
                reasons: Vec::new(),
            },
        };
        let mut info = KmsInfo {
            policy_rule: "sops-metadata".into(),
            key: "sops.kms.enc".into(),
            path: "sops.kms.enc".into(),
            environment: env.map(str::to_string),
            format: Some("aws-kms".into()),
            ..KmsInfo::default()
        };
        info.kind = issue.kind.as_str().into();
        info.severity = policy.severity(issue.kind).as_str().into();
        judged.push(Judged {
            value: enc.value.clone(),
            location: location(file, enc.start, enc.end),
            issue,
            info,
        });
    }
}

fn info_for(class: &Class, slot: &Slot, rule: &policy::Rule, env: Option<&str>, policy: &Policy) -> KmsInfo {
    let mut info = KmsInfo {
        policy_rule: rule.id.clone(),
        key: slot.key.clone(),
        path: slot.path.join("."),
        environment: env.map(str::to_string),
        ..KmsInfo::default()
    };
    match class {
        Class::Cipher(c) => {
            info.format = Some(c.format.to_string());
            info.version = Some(c.version.clone());
            info.key_ref = c.keyrefs.first().map(|k| verdict::hex(k)[..12].to_string());
            info.key_ids = c.key_ids.clone();
            if policy.report_plaintext_length {
                info.plaintext_length = c.plaintext_len;
            }
            info.context_keys = c.context.iter().flat_map(|m| m.keys().cloned()).collect();
        }
        Class::Broken(b) => info.format = Some(b.format.to_string()),
        Class::Reference(r) => info.format = Some(format!("reference: {r}")),
        _ => {}
    }
    info
}

/// The same ciphertext or plaintext in files of two environments.
fn cross_environment(
    policy: &Policy,
    seen: &BTreeMap<String, Vec<(String, Location, KmsInfo)>>,
    judged: &mut Vec<Judged>,
) {
    for (value, places) in seen {
        let envs: BTreeSet<&str> = places.iter().filter_map(|(_, _, i)| i.environment.as_deref()).collect();
        if envs.len() < 2 || value.is_empty() {
            continue;
        }
        let list = envs.iter().copied().collect::<Vec<_>>().join(", ");
        for (_, loc, info) in places {
            let kind = Kind::CrossEnvironmentReuse;
            // A rule's `forbid_values_from` makes reuse from those environments an error.
            let forbidden = policy.rules.iter().find(|r| r.id == info.policy_rule).is_some_and(|r| {
                r.forbid_values_from
                    .iter()
                    .any(|e| envs.contains(e.as_str()) && info.environment.as_deref() != Some(e.as_str()))
            });
            let severity = if forbidden {
                Severity::Error
            } else {
                policy.severity(kind)
            };
            judged.push(Judged {
                value: value.clone(),
                location: loc.clone(),
                issue: Issue {
                    kind,
                    message: format!("{}: the same value is used in environments {list}", info.key),
                    reasons: Vec::new(),
                },
                info: KmsInfo {
                    kind: kind.as_str().into(),
                    severity: severity.as_str().into(),
                    reasons: Vec::new(),
                    ..info.clone()
                },
            });
        }
    }
}

/// Groups judged slots into findings: one per (kind, value), every location.
fn group(judged: Vec<Judged>, salt: &str) -> Vec<Finding> {
    let mut by: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for j in judged {
        let rule_id = format!("kms/{}", j.issue.kind.as_str());
        let f = by.entry((rule_id.clone(), j.value.clone())).or_insert_with(|| Finding {
            rule_id: rule_id.as_str().into(),
            description: j.issue.message.as_str().into(),
            confidence: match j.info.severity.as_str() {
                "error" => Confidence::High,
                "warning" => Confidence::Medium,
                _ => Confidence::Low,
            },
            severity: match j.info.severity.as_str() {
                "error" => crate::rules::Severity::High,
                "warning" => crate::rules::Severity::Medium,
                _ => crate::rules::Severity::Info,
            },
            tags: vec!["kms".into(), j.info.severity.clone()].into(),
            fingerprint: fingerprint(salt, &rule_id, j.value.as_bytes()),
            entropy: crate::scan::shannon(j.value.as_bytes()),
            secret: Secret::new(j.value.clone().into_bytes()),
            locations: Vec::new(),
            history: None,
            kms: Some(Box::new(j.info.clone())),
        });
        f.locations.push(j.location);
    }
    let mut findings: Vec<Finding> = by.into_values().collect();
    for f in &mut findings {
        f.locations.sort();
        f.locations.dedup();
    }
    findings.sort_by(|a, b| {
        a.locations[0]
            .cmp(&b.locations[0])
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    findings
}

fn location(file: &FileCtx<'_>, start: usize, end: usize) -> Location {
    Location {
        path: file.display.to_string(),
        position: extract::position(file.text, start, end),
        via: None,
        commit: None,
        context: ContextKey(Context::around(file.text.as_bytes(), start, end)),
    }
}

/// Whole-file encryption: git-crypt (locked checkout), age binary, an ansible-vaulted file.
fn whole_file_encrypted(b: &[u8]) -> bool {
    b.starts_with(recognise::envelopes::GIT_CRYPT_MAGIC)
        || b.starts_with(b"age-encryption.org/v1\n")
        || b.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        || (b.starts_with(b"$ANSIBLE_VAULT;")
            && matches!(
                classify(&String::from_utf8_lossy(b), Where::default()),
                Class::Cipher(_)
            ))
}

enum GitCrypt {
    NotSelected,
    Encrypted,
    /// The path has the git-crypt filter but its blob was committed unencrypted.
    Plain(Vec<u8>),
}

/// For a path under `filter=git-crypt`, the git blob (index, else HEAD) decides: the working
/// tree of an unlocked checkout is plaintext by design.
fn git_crypt_blob(repo: Option<&git2::Repository>, root: &Path, fs_path: &Path) -> GitCrypt {
    let Some(repo) = repo else { return GitCrypt::NotSelected };
    let Some(workdir) = repo.workdir() else {
        return GitCrypt::NotSelected;
    };
    let abs = fs_path.canonicalize().unwrap_or_else(|_| root.join(fs_path));
    let workdir = workdir.canonicalize().unwrap_or_else(|_| workdir.to_path_buf());
    let Ok(rel) = abs.strip_prefix(&workdir) else {
        return GitCrypt::NotSelected;
    };
    let filter = repo
        .get_attr(rel, "filter", git2::AttrCheckFlags::FILE_THEN_INDEX)
        .ok()
        .flatten();
    if filter != Some("git-crypt") {
        return GitCrypt::NotSelected;
    }
    let blob = repo
        .index()
        .ok()
        .and_then(|idx| idx.get_path(rel, 0).map(|e| e.id))
        .or_else(|| {
            repo.head()
                .ok()?
                .peel_to_tree()
                .ok()?
                .get_path(rel)
                .ok()
                .map(|e| e.id())
        })
        .and_then(|id| repo.find_blob(id).ok().map(|b| b.content().to_vec()));
    match blob {
        // Not committed yet: nothing in git to judge; check the working file as usual.
        None => GitCrypt::NotSelected,
        Some(b) if b.starts_with(recognise::envelopes::GIT_CRYPT_MAGIC) => GitCrypt::Encrypted,
        Some(b) => GitCrypt::Plain(b),
    }
}

fn read(p: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    let meta = std::fs::metadata(p).map_err(|e| crate::messages::io_reason(&e))?;
    if meta.len() > max {
        return Ok(None);
    }
    std::fs::read(p).map(Some).map_err(|e| crate::messages::io_reason(&e))
}

/// The staged files some policy rule selects (under `cfg.paths`), read from the index.
fn staged_items(cfg: &KmsConfig, repo: Option<&git2::Repository>, errors: &mut Vec<ItemError>) -> Vec<Item> {
    let Some(repo) = repo else {
        errors.push(ItemError {
            path: display_path(&cfg.root),
            message: "--staged: not a git repository".into(),
        });
        return Vec::new();
    };
    let staged = match crate::source::git::staged_files(repo) {
        Ok(s) => s,
        Err(e) => {
            errors.push(ItemError {
                path: display_path(&cfg.root),
                message: e.message,
            });
            return Vec::new();
        }
    };
    let workdir = crate::source::git::root_of(repo);
    let workdir = workdir.canonicalize().unwrap_or(workdir);
    let root = cfg.root.canonicalize().unwrap_or_else(|_| cfg.root.clone());
    let wanted: Vec<PathBuf> = cfg
        .paths
        .iter()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .collect();
    let mut out = Vec::new();
    for (oid, path) in staged {
        let abs = workdir.join(&path);
        if !wanted.iter().any(|w| abs.starts_with(w)) {
            continue;
        }
        let rel = abs
            .strip_prefix(&root)
            .map(display_path)
            .unwrap_or_else(|_| path.clone());
        if !cfg.policy.selects_file(&rel) {
            continue;
        }
        let git_crypt = repo
            .get_attr(Path::new(&path), "filter", git2::AttrCheckFlags::INDEX_THEN_FILE)
            .ok()
            .flatten()
            == Some("git-crypt");
        match repo.find_blob(oid) {
            Ok(b) => out.push(Item {
                display: path,
                rel,
                source: Source::Staged {
                    bytes: b.content().to_vec(),
                    git_crypt,
                },
            }),
            Err(e) => errors.push(ItemError {
                path,
                message: format!("reading the staged blob: {}", e.message()),
            }),
        }
    }
    out
}

/// The files to check, sorted, only those some policy rule selects.
fn files(cfg: &KmsConfig, errors: &mut Vec<ItemError>) -> Vec<Item> {
    let root = cfg.root.canonicalize().unwrap_or_else(|_| cfg.root.clone());
    let mut out = Vec::new();
    for target in &cfg.paths {
        if !target.exists() {
            errors.push(ItemError {
                path: display_path(target),
                message: "no such file or directory".into(),
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(target)
            .hidden(false)
            .git_ignore(!cfg.no_ignore)
            .git_exclude(!cfg.no_ignore)
            .ignore(!cfg.no_ignore)
            .parents(!cfg.no_ignore)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    errors.push(ItemError {
                        path: display_path(target),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let p = entry.path();
            let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            let rel = abs
                .strip_prefix(&root)
                .map(display_path)
                .unwrap_or_else(|_| display_path(p));
            if cfg.policy.selects_file(&rel) {
                out.push((display_path(p), p.to_path_buf(), rel));
            }
        }
    }
    out.sort();
    out.dedup();
    out.into_iter()
        .map(|(display, p, rel)| Item {
            display,
            rel,
            source: Source::Path(p),
        })
        .collect()
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

//! `leakseal baseline import`: other tools' suppression files -> our baseline entries.
//!
//! None of the foreign formats holds the secret, so import scans (with the usual source
//! options) and keeps the current findings the foreign file identifies:
//! - `.gitleaksignore`: `[commit:]file:rule:line` -> the finding at that path and line, of that
//!   rule when our ruleset has it (gitleaks rule ids are ours for the shared rules).
//! - a gitleaks JSON report: the same by `File`/`StartLine`/`RuleID`, or by the secret itself
//!   when the report was written without `--redact`.
//! - a detect-secrets `.secrets.baseline`: by `hashed_secret` (SHA-1 of the secret) and file
//!   name; detect-secrets line numbers drift, so they are not used.
//!
//! Foreign entries that match nothing are counted and reported, never guessed at.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::{entries_for, ies, say, scan_for_baseline, Baseline, PathMapper};
use crate::cli::ForeignFormat;
use crate::config::ScanConfig;
use crate::exit::ExitStatus;
use crate::finding::Finding;
use crate::messages::{io_reason, UserError};

/// What one foreign entry identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A path and 1-based line, with the rule id if known.
    Line {
        path: String,
        line: usize,
        rule: Option<String>,
    },
    /// The secret itself (an unredacted gitleaks report), at a path.
    Secret { path: String, secret: String },
    /// SHA-1 hex of the secret at a path (detect-secrets).
    Sha1 { path: String, sha1: String },
}

/// Detects the format of a foreign file from its content.
pub fn detect(text: &str) -> ForeignFormat {
    let t = text.trim_start();
    if t.starts_with('[') {
        ForeignFormat::GitleaksJson
    } else if t.starts_with('{') {
        ForeignFormat::DetectSecrets
    } else {
        ForeignFormat::Gitleaksignore
    }
}

/// Parses a foreign file into keys.
pub fn parse(text: &str, format: ForeignFormat, name: &str) -> Result<Vec<Key>, UserError> {
    match format {
        ForeignFormat::Gitleaksignore => Ok(parse_gitleaksignore(text)),
        ForeignFormat::GitleaksJson => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| UserError::new(format!("{name}: not a gitleaks JSON report: {e}")))?;
            let items = v
                .as_array()
                .ok_or_else(|| UserError::new(format!("{name}: not a gitleaks JSON report: expected an array")))?;
            let mut keys = Vec::new();
            for it in items {
                let path = norm(it["File"].as_str().unwrap_or_default());
                let secret = it["Secret"].as_str().unwrap_or_default();
                if !secret.is_empty() && secret != "REDACTED" && !secret.contains("REDACTED") {
                    keys.push(Key::Secret {
                        path,
                        secret: secret.to_string(),
                    });
                } else if let Some(line) = it["StartLine"].as_u64() {
                    keys.push(Key::Line {
                        path,
                        line: line as usize,
                        rule: it["RuleID"].as_str().map(str::to_string),
                    });
                }
            }
            Ok(keys)
        }
        ForeignFormat::DetectSecrets => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| UserError::new(format!("{name}: not a detect-secrets baseline: {e}")))?;
            let results = v["results"].as_object().ok_or_else(|| {
                UserError::new(format!("{name}: not a detect-secrets baseline: no \"results\" object"))
            })?;
            let mut keys = Vec::new();
            for (file, list) in results {
                for it in list.as_array().into_iter().flatten() {
                    if let Some(h) = it["hashed_secret"].as_str() {
                        keys.push(Key::Sha1 {
                            path: norm(it["filename"].as_str().unwrap_or(file)),
                            sha1: h.to_ascii_lowercase(),
                        });
                    }
                }
            }
            Ok(keys)
        }
    }
}

/// `.gitleaksignore` lines: `commit:file:rule:line` or `file:rule:line`; `#` comments. The file
/// may itself contain `:`, so fields are taken from the right.
fn parse_gitleaksignore(text: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.rsplitn(3, ':');
        let (Some(n), Some(rule), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        // A leading 40- or 64-hex commit id.
        let path = match rest.split_once(':') {
            Some((c, p)) if (c.len() == 40 || c.len() == 64) && c.bytes().all(|b| b.is_ascii_hexdigit()) => p,
            _ => rest,
        };
        keys.push(Key::Line {
            path: norm(path),
            line: n,
            rule: Some(rule.to_string()),
        });
    }
    keys
}

fn norm(p: &str) -> String {
    let s = p.replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Keeps, of `findings`, the locations some key identifies; returns how many keys matched.
pub fn select(
    findings: &mut Vec<Finding>,
    keys: &[Key],
    known_rules: &dyn Fn(&str) -> bool,
    paths: &PathMapper,
) -> usize {
    let mut matched = vec![false; keys.len()];
    for f in findings.iter_mut() {
        let sha = sha1_hex(f.secret.expose());
        let rule = f.rule_id.clone();
        let secret = f.secret.expose().to_vec();
        f.locations.retain(|loc| {
            let stored = paths.stored(&loc.path);
            let mut keep = false;
            for (i, k) in keys.iter().enumerate() {
                let hit = match k {
                    Key::Line { path, line, rule: r } => {
                        *path == stored
                            && (loc.position.line..=loc.position.end_line).contains(line)
                            && r.as_deref().is_none_or(|r| r == &*rule || !known_rules(r))
                    }
                    Key::Secret { path, secret: s } => *path == stored && s.as_bytes() == secret,
                    Key::Sha1 { path, sha1 } => *path == stored && *sha1 == sha,
                };
                if hit {
                    matched[i] = true;
                    keep = true;
                }
            }
            keep
        });
    }
    findings.retain(|f| !f.locations.is_empty());
    matched.iter().filter(|&&m| m).count()
}

/// `leakseal baseline import FILE`.
pub fn import(
    cfg: &ScanConfig,
    target: &Path,
    foreign: &Path,
    from: Option<ForeignFormat>,
) -> Result<ExitStatus, UserError> {
    let text = std::fs::read_to_string(foreign)
        .map_err(|e| UserError::new(format!("{}: cannot read: {}", foreign.display(), io_reason(&e))))?;
    let format = from.unwrap_or_else(|| detect(&text));
    let keys = parse(&text, format, &foreign.display().to_string())?;
    let mut b = if target.exists() {
        Baseline::read(target)?
    } else {
        Baseline::new()
    };
    let (mut findings, complete) = scan_for_baseline(cfg)?;
    let paths = PathMapper::new(cfg);
    let rules = cfg.rules.clone();
    let matched = select(&mut findings, &keys, &|id| rules.rule(id).is_some(), &paths);
    let before = b.entries.len();
    b.entries.extend(entries_for(&findings, &b.salt, &paths));
    b.write(target)?;
    let added = b.entries.len() - before;
    say(
        cfg,
        &format!(
            "imported {} ({}): {matched} of {} entr{} matched a current finding; {added} new baseline entr{} in {}",
            foreign.display(),
            format_name(format),
            keys.len(),
            ies(keys.len()),
            ies(added),
            target.display()
        ),
    );
    if matched < keys.len() && !cfg.output.quiet {
        let _ = writeln!(
            std::io::stderr().lock(),
            "  hint: {} entr{} matched nothing: the secret is gone, the line moved since the file was written, or our rules do not report it",
            keys.len() - matched,
            ies(keys.len() - matched)
        );
    }
    Ok(super::status(complete))
}

fn format_name(f: ForeignFormat) -> &'static str {
    match f {
        ForeignFormat::Gitleaksignore => ".gitleaksignore",
        ForeignFormat::GitleaksJson => "gitleaks JSON report",
        ForeignFormat::DetectSecrets => "detect-secrets baseline",
    }
}

/// SHA-1 (FIPS 180-4) of `data` as lowercase hex: only to compare with detect-secrets'
/// `hashed_secret`, never to protect anything. Small enough not to need a dependency.
pub fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answers() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn gitleaksignore_lines() {
        let keys = parse_gitleaksignore(
            "# comment\n0123456789012345678901234567890123456789:src/a:b.txt:github-pat:3\ncfg/x.env:aws-key:12\nbad line\n",
        );
        assert_eq!(
            keys,
            vec![
                Key::Line {
                    path: "src/a:b.txt".into(),
                    line: 3,
                    rule: Some("github-pat".into())
                },
                Key::Line {
                    path: "cfg/x.env".into(),
                    line: 12,
                    rule: Some("aws-key".into())
                },
            ]
        );
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(detect("[]"), ForeignFormat::GitleaksJson);
        assert_eq!(detect("{\"results\": {}}"), ForeignFormat::DetectSecrets);
        assert_eq!(detect("a:b:1\n"), ForeignFormat::Gitleaksignore);
    }
}

//! The key-reference lockfile (`.leakseal-kms.lock`): pins learned by `leakseal kms learn
//! --online`, each the key reference read offline from a blob mapped to the key ARN that KMS
//! reported for it. Later offline checks use it for `wrong-key` and `key-unverifiable`.
//!
//! The file is TOML, sorted, and holds no secret (a key reference and an ARN are not secret):
//!
//! ```toml
//! version = 1
//!
//! [[pin]]
//! key_ref = "<64 hex digits: AWS KMS blob bytes 5..36>"
//! key_arn = "arn:aws:kms:eu-west-1:111122223333:key/…"
//! ```
//!
//! Reading also accepts the hand-written pin list a keyset's `key_refs_file` may hold (one hex
//! pin per line, `#` comments): such pins have no ARN. Writing is `learn`'s, not this module's
//! caller's business beyond `render`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The lockfile's default name, at the project root.
pub const DEFAULT_NAME: &str = ".leakseal-kms.lock";

/// Pins: key reference (lowercase hex) -> key ARN (`None` for a hand-written pin).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    pub pins: BTreeMap<String, Option<String>>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LockSpec {
    version: u32,
    #[serde(default)]
    pin: Vec<PinSpec>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PinSpec {
    key_ref: String,
    key_arn: String,
}

/// Whether `s` is a pin: 12 to 64 hex digits (6 to 32 bytes, a prefix of a key reference).
fn is_pin(s: &str) -> bool {
    (12..=64).contains(&s.len()) && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Lockfile {
    /// Parses either format; `file` names the file in errors (`file[:line]: what`).
    pub fn parse(text: &str, file: &str) -> Result<Lockfile, String> {
        let looks_toml = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with("version") || l.starts_with('['));
        if looks_toml {
            return Self::parse_toml(text, file);
        }
        let mut pins = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let token = t.split_whitespace().next().unwrap_or("");
            if !is_pin(token) {
                return Err(format!(
                    "{file}:{}: a key reference pin must be 12 to 64 hex digits",
                    n + 1
                ));
            }
            pins.insert(token.to_ascii_lowercase(), None);
        }
        Ok(Lockfile { pins })
    }

    fn parse_toml(text: &str, file: &str) -> Result<Lockfile, String> {
        let spec: LockSpec = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", crate::messages::line_of(text, s.start)))
                .unwrap_or_default();
            let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{file}{line}: {msg}")
        })?;
        if spec.version != 1 {
            return Err(format!("{file}: field 'version': only version 1 is known"));
        }
        let mut pins = BTreeMap::new();
        for p in spec.pin {
            if !is_pin(&p.key_ref) {
                return Err(format!(
                    "{file}: pin '{}': key_ref must be 12 to 64 hex digits",
                    p.key_ref
                ));
            }
            pins.insert(p.key_ref.to_ascii_lowercase(), Some(p.key_arn));
        }
        Ok(Lockfile { pins })
    }

    /// Reads `path`; a file that does not exist is an empty lockfile (nothing learned yet).
    pub fn read(path: &Path) -> Result<Lockfile, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lockfile::default()),
            Err(e) => Err(format!(
                "{}: cannot read lockfile: {}",
                path.display(),
                crate::messages::io_reason(&e)
            )),
        }
    }

    /// The TOML text `learn` writes (only pins with an ARN; sorted by key reference).
    pub fn render(&self) -> String {
        let spec = LockSpec {
            version: 1,
            pin: self
                .pins
                .iter()
                .filter_map(|(r, a)| {
                    a.as_ref().map(|a| PinSpec {
                        key_ref: r.clone(),
                        key_arn: a.clone(),
                    })
                })
                .collect(),
        };
        let body = toml::to_string(&spec).expect("a lockfile always serialises");
        format!(
            "# Key reference pins learned by `leakseal kms learn --online`: the key reference inside\n\
             # each AWS KMS blob -> the key ARN KMS reported for it. No secrets; commit this file.\n{body}"
        )
    }

    /// The learned pins as (32-byte key reference, ARN); hand-written prefixes are skipped.
    pub fn learned(&self) -> impl Iterator<Item = (Vec<u8>, &str)> {
        self.pins.iter().filter_map(|(r, a)| {
            let arn = a.as_deref()?;
            let bytes = crate::kms::recognise::b64::decode_hex(r)?;
            (bytes.len() == 32).then_some((bytes, arn))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn toml_round_trip() {
        let mut l = Lockfile::default();
        l.pins
            .insert(REF.into(), Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()));
        let text = l.render();
        assert!(text.contains("[[pin]]"), "{text}");
        assert_eq!(Lockfile::parse(&text, "x.lock").unwrap(), l);
        assert_eq!(l.learned().count(), 1);
    }

    #[test]
    fn line_format_still_reads() {
        let l = Lockfile::parse("# pins\n111111111111 prod key\n\n", "x.lock").unwrap();
        assert_eq!(l.pins.get("111111111111"), Some(&None));
        assert_eq!(l.learned().count(), 0);
        let e = Lockfile::parse("abc\n", "x.lock").unwrap_err();
        assert_eq!(e, "x.lock:1: a key reference pin must be 12 to 64 hex digits");
    }

    #[test]
    fn bad_toml_names_the_file() {
        let e = Lockfile::parse("version = 1\n[[pin]]\nkey_ref = 'zz'\nkey_arn = 'a'\n", "x.lock").unwrap_err();
        assert!(e.starts_with("x.lock: pin 'zz'"), "{e}");
        let e = Lockfile::parse("version = 2\n", "x.lock").unwrap_err();
        assert!(e.contains("only version 1"), "{e}");
        assert!(!Lockfile::parse("version = 1\nbogus = 1\n", "x.lock")
            .unwrap_err()
            .contains('\n'));
    }
}

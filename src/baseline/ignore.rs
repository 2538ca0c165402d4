//! The ignore file, `.leakseal-ignore.toml`: reviewed suppressions with a reason, an owner and
//! an expiry date.
//!
//! ```toml
//! [[ignore]]
//! fingerprint = "0123456789abcdef0123456789abcdef"  # one finding (rule + secret), anywhere
//! reason = "revoked 2024-05-02, kept in history"
//! owner = "security@example.com"
//!
//! [[ignore]]
//! path = "tests/fixtures/**"                        # a glob on the repository-relative path
//! rule = "generic-api-key"                          # optional: only this rule
//! reason = "synthetic tokens"
//! expires = "2026-01-31"                            # stops suppressing on that date
//! ```
//!
//! Each entry needs `reason` and at least one of `fingerprint` and `path` (both: both must
//! match). Globs: `*` stays within one directory, `**` crosses directories. This module parses
//! the file and matches single locations; what happens to findings is decided in the parent.

use crate::messages::line_of;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

use crate::messages::{io_reason, UserError};

/// The file name looked for at the project root.
pub const FILE_NAME: &str = ".leakseal-ignore.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    ignore: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    fingerprint: Option<String>,
    path: Option<String>,
    rule: Option<String>,
    reason: Option<String>,
    owner: Option<String>,
    expires: Option<toml::Value>,
}

/// One suppression.
#[derive(Debug, Clone)]
pub struct IgnoreEntry {
    /// 1-based line of the entry's `[[ignore]]` table, for messages.
    pub line: usize,
    pub fingerprint: Option<String>,
    pub path: Option<String>,
    glob: Option<GlobMatcher>,
    pub rule: Option<String>,
    pub reason: String,
    pub owner: Option<String>,
    /// `YYYY-MM-DD`; the entry stops suppressing on this date.
    pub expires: Option<String>,
}

impl IgnoreEntry {
    /// Whether the entry covers (rule, path) of a finding whose fingerprints (under each salt in
    /// use) are `fps`. Expiry is not considered here.
    pub fn matches(&self, rule: &str, path: &str, fps: &[String]) -> bool {
        if self.rule.as_deref().is_some_and(|r| r != rule) {
            return false;
        }
        if let Some(fp) = &self.fingerprint {
            if !fps.iter().any(|f| f.eq_ignore_ascii_case(fp)) {
                return false;
            }
        }
        match &self.glob {
            Some(g) => g.is_match(path),
            None => true,
        }
    }

    /// Whether the entry has expired on `today` (`YYYY-MM-DD`).
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|e| e <= today)
    }

    /// A short human description: `fingerprint …` / `path '…'`, rule, owner.
    pub fn describe(&self) -> String {
        let mut s = match (&self.fingerprint, &self.path) {
            (Some(f), Some(p)) => format!("fingerprint {f} at path '{p}'"),
            (Some(f), None) => format!("fingerprint {f}"),
            (None, Some(p)) => format!("path '{p}'"),
            (None, None) => String::new(),
        };
        if let Some(r) = &self.rule {
            s.push_str(&format!(" (rule {r})"));
        }
        if let Some(o) = &self.owner {
            s.push_str(&format!(", owner {o}"));
        }
        s
    }
}

/// A parsed ignore file.
#[derive(Debug, Clone)]
pub struct IgnoreFile {
    /// As shown in messages.
    pub name: String,
    pub entries: Vec<IgnoreEntry>,
}

impl IgnoreFile {
    /// Reads and validates the file.
    pub fn read(path: &Path) -> Result<IgnoreFile, UserError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UserError::new(format!(
                "{}: cannot read ignore file: {}",
                path.display(),
                io_reason(&e)
            ))
        })?;
        IgnoreFile::parse(&text, &path.display().to_string())
    }

    /// Parses ignore-file text; `name` is used in messages.
    pub fn parse(text: &str, name: &str) -> Result<IgnoreFile, UserError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().trim().to_string();
            match line {
                Some(l) => UserError::new(format!("{name}:{l}: {msg}")),
                None => UserError::new(format!("{name}: {msg}")),
            }
        })?;
        let mut entries = Vec::new();
        for spanned in raw.ignore {
            let line = line_of(text, spanned.span().start);
            let r = spanned.into_inner();
            let at = |msg: &str| UserError::new(format!("{name}:{line}: ignore entry: {msg}"));
            let reason = match r.reason {
                Some(s) if !s.trim().is_empty() => s,
                _ => {
                    return Err(at("'reason' is required").hint("say why this finding is safe to ignore"));
                }
            };
            if r.fingerprint.is_none() && r.path.is_none() {
                return Err(at("needs 'fingerprint' or 'path'"));
            }
            if let Some(f) = &r.fingerprint {
                if f.is_empty() || !f.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(at(&format!("'fingerprint' '{f}' is not a hex fingerprint"))
                        .hint("copy it from a report or from `leakseal explain`"));
                }
            }
            let glob = match &r.path {
                Some(p) => Some(
                    GlobBuilder::new(p)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| at(&format!("'path' '{p}': {}", e.kind())))?
                        .compile_matcher(),
                ),
                None => None,
            };
            let expires = match r.expires {
                None => None,
                Some(v) => {
                    let s = match v {
                        toml::Value::String(s) => s,
                        toml::Value::Datetime(d) => d.to_string(),
                        other => other.to_string(),
                    };
                    if !is_date(&s) {
                        return Err(at(&format!("'expires' '{s}' is not a date (YYYY-MM-DD)")));
                    }
                    Some(s)
                }
            };
            entries.push(IgnoreEntry {
                line,
                fingerprint: r.fingerprint.map(|f| f.to_ascii_lowercase()),
                path: r.path,
                glob,
                rule: r.rule,
                reason,
                owner: r.owner,
                expires,
            });
        }
        Ok(IgnoreFile {
            name: name.to_string(),
            entries,
        })
    }

    /// `--ignore-file`, else `.leakseal-ignore.toml` at the project root if it exists.
    pub fn discover(explicit: Option<&Path>, root: &Path) -> Result<Option<IgnoreFile>, UserError> {
        if let Some(p) = explicit {
            return IgnoreFile::read(p).map(Some);
        }
        let p: PathBuf = root.join(FILE_NAME);
        if p.is_file() {
            // Named as the user knows it, not by the absolute path.
            let text = std::fs::read_to_string(&p)
                .map_err(|e| UserError::new(format!("{FILE_NAME}: cannot read ignore file: {}", io_reason(&e))))?;
            return IgnoreFile::parse(&text, FILE_NAME).map(Some);
        }
        Ok(None)
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let m: u32 = s[5..7].parse().unwrap_or(0);
    let d: u32 = s[8..10].parse().unwrap_or(0);
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::source::git::rfc3339(secs)[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_with_lines() {
        let f = IgnoreFile::parse(
            "[[ignore]]\nfingerprint = \"ABCDEF\"\nreason = \"x\"\n\n[[ignore]]\npath = \"tests/**\"\nrule = \"r\"\nreason = \"y\"\nexpires = 2020-01-02\n",
            "i.toml",
        )
        .unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].line, 1);
        assert_eq!(f.entries[1].line, 5);
        assert_eq!(f.entries[1].expires.as_deref(), Some("2020-01-02"));
        assert!(f.entries[1].expired("2020-01-02"));
        assert!(!f.entries[1].expired("2020-01-01"));
        assert!(f.entries[1].matches("r", "tests/a/b.txt", &[]));
        assert!(!f.entries[1].matches("q", "tests/a/b.txt", &[]));
        assert!(f.entries[0].matches("any", "x", &["abcdef".into()]));
    }

    #[test]
    fn reason_is_required() {
        let e = IgnoreFile::parse("[[ignore]]\npath = \"a\"\n", "i.toml").unwrap_err();
        assert_eq!(e.message, "i.toml:1: ignore entry: 'reason' is required");
        let e = IgnoreFile::parse("[[ignore]]\nreason = \"a\"\nexpires = \"soon\"\n", "i.toml").unwrap_err();
        assert!(e.message.contains("needs 'fingerprint' or 'path'"), "{}", e.message);
    }

    #[test]
    fn star_does_not_cross_directories() {
        let f = IgnoreFile::parse("[[ignore]]\npath = \"*.pem\"\nreason = \"x\"\n", "i").unwrap();
        assert!(f.entries[0].matches("r", "k.pem", &[]));
        assert!(!f.entries[0].matches("r", "d/k.pem", &[]));
    }

    #[test]
    fn today_is_a_date() {
        assert!(is_date(&today_utc()));
    }
}

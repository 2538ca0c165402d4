//! The baseline file: a JSON Lines file of known findings, written so that it never churns.
//!
//! ```text
//! {"leakseal-baseline":1,"salt":"<64 hex digits>"}
//! {"path":"src/app.py","rule":"github-token","fingerprint":"<32 hex digits>"}
//! ```
//!
//! Why this shape:
//! - **One entry per line, sorted by (path, rule, fingerprint)**, each line independent of the
//!   others: regenerating the file gives the same bytes, a diff shows exactly the entries added
//!   or dropped, and `.gitattributes` `merge=union` can merge two branches by keeping both sides'
//!   lines. The reader therefore accepts lines in any order and duplicates.
//! - **The header is one line that never changes** after `create`: the format version and the
//!   salt. Both branches of a merge carry the identical line, so union merges keep it once.
//! - **No line numbers, dates, tool versions or counts** anywhere: nothing changes unless the set
//!   of known secrets changes.
//! - **The fingerprint is a salted SHA-256 of (rule id, secret)** with the file's own random
//!   salt (32 bytes from the OS). The file holds nothing from which a secret can be recovered
//!   without already having it; the per-file salt defeats precomputed tables.
//! - JSON Lines rather than TOML or a bespoke format: paths with spaces, quotes or non-ASCII
//!   characters need no escaping rules of our own, and `jq` reads it.
//!
//! This module only reads and writes the file; deciding what a baseline suppresses is in the
//! parent module.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::fingerprint;
use crate::messages::{io_reason, UserError};

/// Format version written in the header.
pub const VERSION: u32 = 1;

/// The default baseline file name, used by `leakseal baseline` when `--baseline` is omitted.
pub const DEFAULT_NAME: &str = ".leakseal-baseline.jsonl";

/// One known (rule, secret) at one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Repository-relative, `/`-separated.
    pub path: String,
    pub rule: String,
    /// `fingerprint(salt, rule, secret)`.
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    #[serde(rename = "leakseal-baseline")]
    version: u32,
    salt: String,
}

/// A baseline: its salt and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub salt: String,
    pub entries: BTreeSet<Entry>,
}

impl Baseline {
    /// An empty baseline with a fresh random salt.
    pub fn new() -> Baseline {
        Baseline {
            salt: random_salt(),
            entries: BTreeSet::new(),
        }
    }

    /// The fingerprint of (rule, secret) under this baseline's salt.
    pub fn fingerprint(&self, rule: &str, secret: &[u8]) -> String {
        fingerprint(&self.salt, rule, secret)
    }

    /// Parses baseline text; `name` is used in messages.
    pub fn parse(text: &str, name: &str) -> Result<Baseline, UserError> {
        let mut salt: Option<String> = None;
        let mut entries = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: String| {
                UserError::new(format!("{name}:{}: {what}", i + 1))
                    .hint("a baseline line is a JSON object; regenerate it with `leakseal baseline create --force`")
            };
            if line.contains("\"leakseal-baseline\"") {
                let h: Header = serde_json::from_str(line).map_err(|e| bad(format!("bad header: {e}")))?;
                if h.version != VERSION {
                    return Err(bad(format!("unsupported baseline version {}", h.version)));
                }
                if !is_hex(&h.salt) || h.salt.len() < 32 {
                    return Err(bad("the salt is not a hex string of at least 32 digits".into()));
                }
                match &salt {
                    Some(s) if *s != h.salt => {
                        return Err(UserError::new(format!(
                            "{name}:{}: a second, different salt: the baseline was created twice and then merged",
                            i + 1
                        ))
                        .hint("create the baseline once on the main branch; other branches only `update` it"))
                    }
                    _ => salt = Some(h.salt),
                }
                continue;
            }
            let e: Entry = serde_json::from_str(line).map_err(|e| bad(format!("bad entry: {e}")))?;
            if !is_hex(&e.fingerprint) {
                return Err(bad("the fingerprint is not hex".into()));
            }
            entries.insert(e);
        }
        let Some(salt) = salt else {
            return Err(
                UserError::new(format!("{name}: not a leakseal baseline (no header line)"))
                    .hint("create one with `leakseal baseline create`"),
            );
        };
        Ok(Baseline { salt, entries })
    }

    /// Reads a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, UserError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("{}: cannot read baseline: {}", path.display(), io_reason(&e))))?;
        Baseline::parse(&text, &path.display().to_string())
    }

    /// The file's text: the header, then the entries sorted, one per line.
    pub fn render(&self) -> String {
        let header = Header {
            version: VERSION,
            salt: self.salt.clone(),
        };
        let mut out = serde_json::to_string(&header).expect("header serializes");
        out.push('\n');
        for e in &self.entries {
            out.push_str(&serde_json::to_string(e).expect("entry serializes"));
            out.push('\n');
        }
        out
    }

    /// Writes the file (to a temporary beside it, then renamed, so a failed write never leaves
    /// half a baseline).
    pub fn write(&self, path: &Path) -> Result<(), UserError> {
        let fail =
            |e: std::io::Error| UserError::new(format!("{}: cannot write baseline: {}", path.display(), io_reason(&e)));
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, self.render()).map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)
    }
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline::new()
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 random bytes as hex: from the OS where it offers them, otherwise from a hash of the time,
/// process id and addresses (still unique per creation, which is all a salt strictly needs).
pub fn random_salt() -> String {
    let mut buf = [0u8; 32];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !from_os {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        h.update(now.as_nanos().to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update((&buf as *const _ as usize).to_le_bytes());
        h.update(format!("{:?}", std::thread::current().id()).as_bytes());
        buf.copy_from_slice(&h.finalize());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, rule: &str, fp: &str) -> Entry {
        Entry {
            path: path.into(),
            rule: rule.into(),
            fingerprint: fp.into(),
        }
    }

    #[test]
    fn round_trip_is_sorted_and_stable() {
        let mut b = Baseline::new();
        b.entries.insert(entry("z.txt", "r", "aa"));
        b.entries.insert(entry("a b/\"q\".txt", "r", "bb"));
        let text = b.render();
        let back = Baseline::parse(&text, "t").unwrap();
        assert_eq!(back, b);
        assert_eq!(back.render(), text);
        assert!(text.lines().nth(1).unwrap().contains("a b/"));
    }

    #[test]
    fn union_merged_text_reads_back() {
        let mut b = Baseline::new();
        b.entries.insert(entry("a", "r", "aa"));
        let base = b.render();
        let mut ours = b.clone();
        ours.entries.insert(entry("b", "r", "bb"));
        let mut theirs = b.clone();
        theirs.entries.insert(entry("c", "r", "cc"));
        // Union merge of a conflict hunk: both sides' lines, in either order, maybe twice.
        let merged = format!("{base}{}{}", theirs.render(), ours.render());
        let m = Baseline::parse(&merged, "m").unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.salt, b.salt);
    }

    #[test]
    fn two_salts_are_an_error() {
        let text = format!("{}{}", Baseline::new().render(), Baseline::new().render());
        assert!(Baseline::parse(&text, "t")
            .unwrap_err()
            .message
            .contains("second, different salt"));
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(random_salt(), random_salt());
        assert_eq!(random_salt().len(), 64);
    }
}

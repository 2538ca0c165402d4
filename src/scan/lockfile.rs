//! Lockfiles: scanned like any file, except that their integrity and checksum values are
//! blanked first. Those are hashes by construction (high entropy, next to words like `hash`),
//! while the rest of a lockfile can hold real leaks, e.g. a registry URL with a token in it.
//!
//! Blanking replaces the hash characters with spaces, so offsets, lines and columns of
//! everything else stay as they are.

use std::sync::OnceLock;

use regex::bytes::Regex;

/// File names of the lockfiles we know (last path component).
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "deno.lock",
    "Cargo.lock",
    "poetry.lock",
    "Pipfile.lock",
    "pdm.lock",
    "uv.lock",
    "go.sum",
    "composer.lock",
    "Gemfile.lock",
    "packages.lock.json",
    "gradle.lockfile",
    "flake.lock",
    "Podfile.lock",
    "pubspec.lock",
    "mix.lock",
    "Package.resolved",
    "conan.lock",
    "MODULE.bazel.lock",
];

/// Whether `path` (with `/` separators) names a lockfile.
pub fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    LOCKFILES.contains(&name)
}

/// Hash values as lockfiles write them: subresource-integrity strings (`sha512-<base64>`),
/// algorithm-prefixed digests (`sha256:<hex>`, `h1:<base64>`, `sha256=<hex>`), Nix's
/// `sha256-<base64>`, and bare hex digests of the usual lengths (git revisions, SHA-256/512).
fn hash_value() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?:\b(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b|blake3)[-:=]|\bh1:)
                [A-Za-z0-9+/_-]{20,}={0,2}
            | \b(?:[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\b
            | \b(?:[0-9A-F]{40}|[0-9A-F]{64}|[0-9A-F]{128})\b",
        )
        .expect("lockfile hash pattern is valid")
    })
}

/// NuGet's `"contentHash": "<base64>"`: a hash without an algorithm prefix.
fn named_hash() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#""(?:contentHash|narHash|shasum|checksum|integrity)"\s*:\s*"([A-Za-z0-9+/=_-]{20,})""#)
            .expect("lockfile named-hash pattern is valid")
    })
}

/// A copy of `bytes` with every hash value replaced by spaces.
pub fn blank_hashes(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut blank = |s: usize, e: usize| out[s..e].iter_mut().for_each(|b| *b = b' ');
    for m in hash_value().find_iter(bytes) {
        blank(m.start(), m.end());
    }
    for c in named_hash().captures_iter(bytes) {
        let g = c.get(1).expect("group 1 is not optional");
        blank(g.start(), g.end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfiles_are_known_by_name() {
        assert!(is_lockfile("package-lock.json"));
        assert!(is_lockfile("web/yarn.lock"));
        assert!(is_lockfile("a/b/Cargo.lock"));
        assert!(!is_lockfile("Cargo.lock.bak"));
        assert!(!is_lockfile("src/lock.rs"));
    }

    #[test]
    fn hashes_are_blanked_and_offsets_kept() {
        let text = concat!(
            "\"integrity\": \"sha512-QmFzZTY0IGludGVncml0eSB2YWx1ZSBmb3IgdGVzdHM=\",\n",
            "checksum = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n",
            "github.com/x/y v1.0.0 h1:QmFzZTY0IGludGVncml0eSB2YWx1ZQ12=\n",
            "\"contentHash\": \"QmFzZTY0IGludGVncml0eSB2YWx1ZSBmb3IgbnVnZXQ=\",\n",
            "resolved \"https://user:s3cr3tTokenValue@registry.example.org/x.tgz\"\n",
        );
        let out = blank_hashes(text.as_bytes());
        assert_eq!(out.len(), text.len());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 5);
        assert!(!out.contains("QmFz"), "{out}");
        assert!(!out.contains("0123456789abcdef"), "{out}");
        assert!(out.contains("\"integrity\": \""));
        // Not a hash: kept for the scan.
        assert!(out.contains("https://user:s3cr3tTokenValue@registry.example.org/x.tgz"));
    }
}

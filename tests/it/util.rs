//! Test helpers: a temp dir to build scan trees in, the built binary run with a clean
//! environment, CLI snapshots (exit code, stdout and stderr in one), and a deterministic
//! generator of fake secrets so that no test source holds a token a scanner would report.

use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

/// The crate root (where Cargo.toml, rules/ and fixtures/ are).
pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    crate_root().join("fixtures").join(rel)
}

/// The gitleaks v8 default config kept beside the project for compatibility tests.
pub fn gitleaks_config() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/compat/gitleaks.toml"))
}

/// A temporary directory to scan in. It is also the command's cwd and `HOME`.
pub struct Tree {
    dir: TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::Builder::new()
                .prefix("leakseal-it-")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("create parent dirs");
        }
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    /// Creates an (empty) directory `rel`.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(&p).expect("create dir");
        p
    }

    /// `leakseal` with a clean environment, run in this tree.
    pub fn cmd(&self) -> assert_cmd::Command {
        leakseal_in(self.path())
    }

    /// `leakseal ARGS` in this tree.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run leakseal")
    }
}

/// The built binary with only `PATH` kept from the environment, `HOME` set to `cwd` (so no
/// global gitignore or user config leaks in) and no `NO_COLOR` or `LEAKSEAL_CONFIG`.
pub fn leakseal_in(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("leakseal").expect("binary built");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .current_dir(cwd);
    cmd
}

/// The same clean environment as a `std::process::Command`, for tests that manage pipes.
pub fn std_command_in(cwd: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakseal"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .current_dir(cwd);
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

/// Exit code, stdout and stderr in one text, as CLI snapshots record them.
pub fn render(o: &Output) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}

/// Insta filters shared by every CLI snapshot: timings, the crate root, temp dirs.
pub fn snapshot_filters() -> Vec<(String, String)> {
    let root = regex_escape(&crate_root().display().to_string());
    vec![
        (r"scanned in \d+\.\d+s".into(), "scanned in [DURATION]".into()),
        (r#""duration_ms": \d+"#.into(), r#""duration_ms": "[DURATION]""#.into()),
        (root, "[CRATE]".into()),
        (r"/[^\s:'`]*leakseal-it-[A-Za-z0-9]+".into(), "[TMP]".into()),
        (r#""version": "[^"]*""#.into(), r#""version": "[VERSION]""#.into()),
    ]
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshots a command's exit code, stdout and stderr (see `render`) with the shared filters.
macro_rules! assert_cli_snapshot {
    ($name:expr, $output:expr) => {{
        let filters = $crate::util::snapshot_filters();
        let filters: Vec<(&str, &str)> = filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => filters }, {
            insta::assert_snapshot!($name, $crate::util::render(&$output));
        });
    }};
}
pub(crate) use assert_cli_snapshot;

/// Parses the JSON report on stdout.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(o)))
}

/// The findings of a JSON report (`--format json`) as `(rule_id, secret, path, line, column)`
/// per location, in report order. Secrets are whatever the report shows.
pub fn locations(o: &Output) -> Vec<(String, String, String, u64, u64)> {
    let doc = json(o);
    let mut out = Vec::new();
    for f in doc["findings"].as_array().expect("findings array") {
        for l in f["locations"].as_array().expect("locations array") {
            out.push((
                f["rule_id"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            ));
        }
    }
    out
}

/// Rule ids of the findings in a JSON report, in report order.
pub fn rule_ids(o: &Output) -> Vec<String> {
    json(o)["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

/// Fake, deterministic secrets. Tokens are assembled at run time so this source file holds
/// none; a seed always gives the same token, so snapshots are stable.
pub mod fake {
    const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// `len` characters of `alphabet` from a xorshift stream seeded with `seed`.
    pub fn from_alphabet(alphabet: &[u8], len: usize, seed: u64) -> String {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize] as char
            })
            .collect()
    }

    pub fn base62(len: usize, seed: u64) -> String {
        from_alphabet(BASE62, len, seed)
    }

    /// Lowercase letters and digits (the alphabet of the test configs' `demo_` tokens).
    pub fn lower(len: usize, seed: u64) -> String {
        from_alphabet(LOWER_ALNUM, len, seed)
    }

    /// A GitHub personal access token (`github-token`): 30 random base62 characters and the
    /// base62 CRC32 checksum GitHub appends, so it passes the rule's checksum check.
    pub fn github(seed: u64) -> String {
        let random = base62(30, seed);
        format!("{}_{random}{}", "ghp", checksum(&random))
    }

    /// The 6-character base62 CRC32 of `random`, as GitHub and npm tokens end with.
    pub fn checksum(random: &str) -> String {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut v = crc32fast::hash(random.as_bytes());
        let mut out = [b'0'; 6];
        for slot in out.iter_mut().rev() {
            *slot = DIGITS[(v % 62) as usize];
            v /= 62;
        }
        String::from_utf8(out.to_vec()).expect("ASCII digits")
    }

    /// An AWS access key id shape (`aws-access-key-id`).
    pub fn aws_key_id(seed: u64) -> String {
        format!("{}{}", "AKIA", from_alphabet(BASE32, 16, seed))
    }

    /// An AWS secret access key shape: 40 base64 characters.
    pub fn aws_secret(seed: u64) -> String {
        from_alphabet(BASE64, 40, seed)
    }

    /// A Stripe live key shape (`stripe-live-key`).
    pub fn stripe_live(seed: u64) -> String {
        format!("{}_{}_{}", "sk", "live", base62(24, seed))
    }

    /// A token for the test configs' `demo-token` rules: `demo_` and 16 lowercase alnum.
    pub fn demo(seed: u64) -> String {
        format!("demo_{}", lower(16, seed))
    }

    /// A PEM private key block with `lines` body lines of 64 base64 characters.
    pub fn private_key(seed: u64, lines: usize) -> String {
        let mut s = format!("-----BEGIN {} KEY-----\n", "RSA PRIVATE");
        for i in 0..lines {
            s.push_str(&from_alphabet(BASE64, 64, seed * 100 + i as u64));
            s.push('\n');
        }
        s.push_str(&format!("-----END {} KEY-----\n", "RSA PRIVATE"));
        s
    }
}

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

/// The fixed identity of every commit a `TestRepo` makes.
pub const AUTHOR: (&str, &str) = ("Test", "test@example.com");

/// Commit time of a `TestRepo`'s first commit (2023-11-14T22:13:20Z); each later commit is a
/// minute later, so commit ids are stable.
pub const FIRST_COMMIT_TIME: i64 = 1_700_000_000;

/// A git repository in a temp dir, built with `git2`: fixed signature, fixed and increasing
/// commit times, `main` as the initial branch. Never reads the user's git identity.
pub struct TestRepo {
    tree: Tree,
    pub repo: git2::Repository,
    commits: std::cell::Cell<i64>,
}

impl TestRepo {
    /// `git init` (work tree) in a new temp dir.
    pub fn new() -> TestRepo {
        Self::init(false)
    }

    /// `git init --bare` in a new temp dir (the dir is the git directory).
    pub fn init_bare() -> TestRepo {
        Self::init(true)
    }

    fn init(bare: bool) -> TestRepo {
        let tree = Tree::new();
        let mut opts = git2::RepositoryInitOptions::new();
        opts.bare(bare).initial_head("main");
        let repo = git2::Repository::init_opts(tree.path(), &opts).expect("git init");
        TestRepo {
            tree,
            repo,
            commits: std::cell::Cell::new(0),
        }
    }

    /// The work tree (the git directory of a bare repository).
    pub fn path(&self) -> &Path {
        self.tree.path()
    }

    /// The temp dir as a `Tree` (for `write`, `cmd` and `run`).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// `leakseal ARGS` at the top of the work tree.
    pub fn run(&self, args: &[&str]) -> Output {
        self.tree.run(args)
    }

    /// `leakseal ARGS` in the subdirectory `rel` of the work tree.
    pub fn run_in(&self, rel: &str, args: &[&str]) -> Output {
        leakseal_in(&self.path().join(rel))
            .args(args)
            .output()
            .expect("run leakseal")
    }

    /// The signature of the next commit: `AUTHOR`, a minute after the previous one.
    pub fn next_signature(&self) -> git2::Signature<'static> {
        let n = self.commits.get();
        self.commits.set(n + 1);
        let time = git2::Time::new(FIRST_COMMIT_TIME + 60 * n, 0);
        git2::Signature::new(AUTHOR.0, AUTHOR.1, &time).expect("valid signature")
    }

    /// Writes `contents` to `rel` in the work tree (not staged).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        self.tree.write(rel, contents)
    }

    /// `git add rel`: the work tree's file into the index.
    pub fn stage(&self, rel: &str) {
        let mut index = self.repo.index().expect("open index");
        index.add_path(Path::new(rel)).expect("index add");
        index.write().expect("write index");
    }

    /// Writes `contents` to `rel` and stages it.
    pub fn add(&self, rel: &str, contents: impl AsRef<[u8]>) {
        self.write(rel, contents);
        self.stage(rel);
    }

    /// Stages `contents` as `rel` without touching the work tree (like `git add -p` staging
    /// part of a change): the blob is written and the index entry points at it.
    pub fn stage_content(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let contents = contents.as_ref();
        let oid = self.repo.blob(contents).expect("write blob");
        let mut index = self.repo.index().expect("open index");
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: contents.len() as u32,
            id: oid,
            flags: 0,
            flags_extended: 0,
            path: rel.as_bytes().to_vec(),
        };
        index.add(&entry).expect("index add entry");
        index.write().expect("write index");
    }

    /// `git rm rel`: deletes the file and stages the deletion.
    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).expect("delete file");
        let mut index = self.repo.index().expect("open index");
        index.remove_path(Path::new(rel)).expect("index remove");
        index.write().expect("write index");
    }

    /// `git mv from to`.
    pub fn rename(&self, from: &str, to: &str) {
        let dest = self.path().join(to);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).expect("create parent dirs");
        }
        std::fs::rename(self.path().join(from), dest).expect("rename file");
        let mut index = self.repo.index().expect("open index");
        index.remove_path(Path::new(from)).expect("index remove");
        index.add_path(Path::new(to)).expect("index add");
        index.write().expect("write index");
    }

    /// `chmod +x rel && git add rel`.
    #[cfg(unix)]
    pub fn make_executable(&self, rel: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path().join(rel), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self.stage(rel);
    }

    /// Commits the index on HEAD (a root commit on an unborn branch) and returns its id.
    pub fn commit(&self, message: &str) -> git2::Oid {
        let mut index = self.repo.index().expect("open index");
        let tree_id = index.write_tree().expect("write tree");
        let tree = self.repo.find_tree(tree_id).expect("find tree");
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let sig = self.next_signature();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .expect("commit")
    }

    /// Commits the index as a merge of HEAD and `other` (resolve the tree in the index first).
    pub fn commit_merge(&self, message: &str, other: git2::Oid) -> git2::Oid {
        let mut index = self.repo.index().expect("open index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("write tree"))
            .expect("find tree");
        let head = self.repo.head().and_then(|h| h.peel_to_commit()).expect("HEAD commit");
        let other = self.repo.find_commit(other).expect("merged commit");
        let sig = self.next_signature();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&head, &other])
            .expect("merge commit")
    }

    /// Packs every object into one pack file (libgit2's pack builder, which stores similar
    /// blobs as deltas) and removes the loose objects: the layout `git gc` leaves.
    pub fn pack_all(&self) {
        let mut pb = self.repo.packbuilder().expect("pack builder");
        let mut walk = self.repo.revwalk().expect("revwalk");
        walk.push_glob("*").expect("refs");
        pb.insert_walk(&mut walk).expect("insert objects");
        let objects = self.repo.path().join("objects");
        pb.write(&objects.join("pack"), 0o644).expect("write pack");
        for e in std::fs::read_dir(&objects).expect("objects dir").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.len() == 2 && name.chars().all(|c| c.is_ascii_hexdigit()) {
                std::fs::remove_dir_all(e.path()).expect("remove loose objects");
            }
        }
    }

    /// Writes and stages `files`, then commits them.
    pub fn commit_files(&self, message: &str, files: &[(&str, &str)]) -> git2::Oid {
        for (rel, contents) in files {
            self.add(rel, contents);
        }
        self.commit(message)
    }

    /// `git branch name` at HEAD.
    pub fn branch(&self, name: &str) {
        let head = self.repo.head().and_then(|h| h.peel_to_commit()).expect("HEAD commit");
        self.repo.branch(name, &head, false).expect("create branch");
    }

    /// `git branch -D name`.
    pub fn delete_branch(&self, name: &str) {
        self.repo
            .find_branch(name, git2::BranchType::Local)
            .and_then(|mut b| b.delete())
            .expect("delete branch");
    }

    /// `git checkout -f name`: HEAD, index and work tree to the branch.
    pub fn checkout(&self, name: &str) {
        let refname = format!("refs/heads/{name}");
        self.repo.set_head(&refname).expect("set HEAD");
        let mut opts = git2::build::CheckoutBuilder::new();
        opts.force().remove_untracked(true);
        self.repo.checkout_head(Some(&mut opts)).expect("checkout");
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) {
        let head = self
            .repo
            .head()
            .and_then(|h| h.peel(git2::ObjectType::Commit))
            .expect("HEAD");
        self.repo.tag_lightweight(name, &head, false).expect("tag");
    }

    /// An annotated tag at HEAD.
    pub fn tag_annotated(&self, name: &str, message: &str) -> git2::Oid {
        let head = self
            .repo
            .head()
            .and_then(|h| h.peel(git2::ObjectType::Commit))
            .expect("HEAD");
        let sig = self.next_signature();
        self.repo.tag(name, &head, &sig, message, false).expect("annotated tag")
    }

    /// `git stash push -m message`; returns the stash commit.
    pub fn stash(&mut self, message: &str) -> git2::Oid {
        let sig = self.next_signature();
        self.repo.stash_save(&sig, message, None).expect("stash")
    }

    /// Sets a key in the repository's own config.
    pub fn set_config(&self, key: &str, value: &str) {
        self.repo
            .config()
            .and_then(|mut c| c.set_str(key, value))
            .expect("set config");
    }
}

/// The `git` command line, when installed, with no user or system config; `None` otherwise
/// (the tests that need it then say so and pass).
pub fn git_cli(cwd: &Path) -> Option<std::process::Command> {
    let found = std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("git is not installed: skipping the part of this test that needs it");
        return None;
    }
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(cwd)
        .env("HOME", cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", AUTHOR.0)
        .env("GIT_AUTHOR_EMAIL", AUTHOR.1)
        .env("GIT_COMMITTER_NAME", AUTHOR.0)
        .env("GIT_COMMITTER_EMAIL", AUTHOR.1);
    Some(cmd)
}

/// One location of a git report (`--show-secrets -f json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLoc {
    pub rule: String,
    pub secret: String,
    pub path: String,
    pub line: u64,
    /// The introducing commit's sha (`None` for staged and unreachable content).
    pub commit: Option<String>,
}

impl GitLoc {
    pub fn new(rule: &str, secret: &str, path: &str, line: u64, commit: Option<git2::Oid>) -> GitLoc {
        GitLoc {
            rule: rule.into(),
            secret: secret.into(),
            path: path.into(),
            line,
            commit: commit.map(|c| c.to_string()),
        }
    }
}

/// Every location of a JSON report, in report order.
pub fn git_locations(o: &Output) -> Vec<GitLoc> {
    let doc = json(o);
    let mut out = Vec::new();
    for f in doc["findings"].as_array().expect("findings array") {
        for l in f["locations"].as_array().expect("locations array") {
            out.push(GitLoc {
                rule: f["rule_id"].as_str().unwrap().to_string(),
                secret: f["secret"].as_str().unwrap().to_string(),
                path: l["path"].as_str().unwrap().to_string(),
                line: l["line"].as_u64().unwrap(),
                commit: l["commit"]["sha"].as_str().map(str::to_string),
            });
        }
    }
    out
}

/// The Python of a venv `name` under the target's temp dir with `packages` installed from
/// PyPI, created on first use (once per target dir). It is built beside and renamed into place,
/// so a concurrent or interrupted run never leaves half a venv where the next run looks. (The
/// venv's own scripts keep the staging path in their shebangs: run tools as `python -m tool`.)
#[cfg(unix)]
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    use std::process::Command;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join(name);
    let python = venv.join("bin/python");
    if python.exists() {
        return python;
    }
    let staging = tmp.join(format!("{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let run = |cmd: &mut Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&staging));
    run(Command::new(staging.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(packages));
    if std::fs::rename(&staging, &venv).is_err() {
        // Another run got there first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(python.exists(), "no venv at {}", venv.display());
    python
}

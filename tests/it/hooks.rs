//! Hooks: `leakseal install-hook` (where it writes, what it refuses to overwrite, and the hooks
//! it writes run by real `git commit` / `git push`), and `.pre-commit-hooks.yaml` run by the
//! real pre-commit framework (`pre-commit try-repo`), installed into a venv when missing.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use crate::util::{code, crate_root, fake, git_cli, stderr, stdout, TestRepo, Tree};

/// `PATH` with the directory of the built `leakseal` first, as an installed binary would be.
fn path_with_leakseal() -> OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_leakseal"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).expect("PATH entries join")
}

fn token_line(seed: u64) -> String {
    format!("GITHUB_TOKEN={}\n", fake::github(seed))
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("hook exists").permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// install-hook

#[test]
fn install_hook_writes_an_executable_pre_commit_hook() {
    let repo = TestRepo::new();
    let out = repo.run(&["install-hook"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hook = repo.path().join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert!(script.lines().any(|l| l == "exec leakseal scan --staged"), "{script}");
    assert_eq!(mode(&hook), 0o755);
    assert!(
        stderr(&out).contains(&format!("installed the pre-commit hook at {}", hook.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn install_hook_pre_push() {
    let repo = TestRepo::new();
    let out = repo.run(&["install-hook", "--pre-push"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hook = repo.path().join(".git/hooks/pre-push");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains("leakseal scan --range"), "{script}");
    assert!(script.contains("leakseal scan --pre-push"), "{script}");
    assert_eq!(mode(&hook), 0o755);
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn install_hook_from_a_subdirectory_and_with_a_path() {
    let repo = TestRepo::new();
    repo.write("sub/dir/file.txt", "x\n");
    let out = repo.run_in("sub/dir", &["install-hook"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(repo.path().join(".git/hooks/pre-commit").is_file());

    let other = TestRepo::new();
    let out = repo.run(&["install-hook", other.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(other.path().join(".git/hooks/pre-commit").is_file());
}

#[test]
fn install_hook_honours_core_hooks_path() {
    let repo = TestRepo::new();
    repo.set_config("core.hooksPath", ".githooks");
    let out = repo.run(&["install-hook"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(repo.path().join(".githooks/pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    // Relative to the work tree, wherever the command runs.
    repo.write("sub/x.txt", "x\n");
    let out = repo.run_in("sub", &["install-hook", "--pre-push"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(repo.path().join(".githooks/pre-push").is_file());
    assert!(!repo.path().join("sub/.githooks").exists());

    let elsewhere = Tree::new();
    let abs = elsewhere.path().join("hooks");
    repo.set_config("core.hooksPath", abs.to_str().unwrap());
    let out = repo.run(&["install-hook"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(abs.join("pre-commit").is_file());
}

#[test]
fn install_hook_refuses_to_overwrite_a_foreign_hook() {
    let repo = TestRepo::new();
    let foreign = "#!/bin/sh\necho my own hook\n";
    let hook = repo.write(".git/hooks/pre-commit", foreign);
    let out = repo.run(&["install-hook"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: {}: a pre-commit hook already exists and leakseal did not write it\n",
            hook.display()
        )),
        "{err}"
    );
    assert!(err.contains("  hint: ") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign, "left alone");
    assert!(!repo.path().join(".git/hooks/pre-commit.bak").exists());
}

#[test]
fn install_hook_force_keeps_the_foreign_hook_as_bak() {
    let repo = TestRepo::new();
    let foreign = "#!/bin/sh\necho my own hook\n";
    let hook = repo.write(".git/hooks/pre-commit", foreign);
    let out = repo.run(&["install-hook", "--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bak = repo.path().join(".git/hooks/pre-commit.bak");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), foreign);
    assert!(stderr(&out).contains(&format!("kept the previous hook as {}", bak.display())));
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("leakseal scan --staged"));
    assert_eq!(mode(&hook), 0o755);
}

#[test]
fn install_hook_over_its_own_hook_is_fine() {
    let repo = TestRepo::new();
    assert_eq!(code(&repo.run(&["install-hook"])), 0);
    let first = std::fs::read_to_string(repo.path().join(".git/hooks/pre-commit")).unwrap();
    let out = repo.run(&["install-hook"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".git/hooks/pre-commit")).unwrap(),
        first
    );
    assert!(!repo.path().join(".git/hooks/pre-commit.bak").exists());
    // --force over our own hook keeps no backup either.
    let out = repo.run(&["install-hook", "--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!repo.path().join(".git/hooks/pre-commit.bak").exists());
}

#[test]
fn install_hook_outside_a_repository_exits_2() {
    let tree = Tree::new();
    let out = tree.run(&["install-hook"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not a git repository"), "{}", stderr(&out));
}

/// `git ARGS` in `dir` with `leakseal` on PATH; `None` when git is not installed.
fn git(dir: &Path, args: &[&str]) -> Option<Output> {
    let mut cmd = git_cli(dir)?;
    Some(
        cmd.args(args)
            .env("PATH", path_with_leakseal())
            .output()
            .expect("run git"),
    )
}

#[test]
fn installed_pre_commit_hook_blocks_git_commit() {
    let repo = TestRepo::new();
    assert_eq!(code(&repo.run(&["install-hook"])), 0);
    repo.add("config.env", token_line(60));
    let Some(out) = git(repo.path(), &["commit", "-q", "-m", "with a token"]) else {
        return;
    };
    assert!(!out.status.success(), "the hook blocks the commit");
    assert!(
        stderr(&out).contains("leakseal blocked this commit"),
        "{}",
        stderr(&out)
    );
    assert!(repo.repo.head().is_err(), "nothing was committed");

    repo.add("config.env", "GITHUB_TOKEN=${FROM_THE_ENVIRONMENT}\n");
    let out = git(repo.path(), &["commit", "-q", "-m", "clean"]).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(repo.repo.head().is_ok());
}

#[test]
fn installed_pre_push_hook_blocks_git_push() {
    let remote = TestRepo::init_bare();
    let repo = TestRepo::new();
    assert_eq!(code(&repo.run(&["install-hook", "--pre-push"])), 0);
    repo.commit_files("root", &[("README.md", "hello\n")]);
    let url = remote.path().to_str().unwrap();
    let Some(out) = git(repo.path(), &["push", "-q", url, "main"]) else {
        return;
    };
    assert!(out.status.success(), "a clean new branch is pushed: {}", stderr(&out));

    let secret = repo.commit_files("oops", &[("config.env", &token_line(61))]);
    repo.commit_files("more", &[("README.md", "hello\nworld\n")]);
    let out = git(repo.path(), &["push", "-q", url, "main"]).unwrap();
    assert!(!out.status.success(), "the pushed range holds a token");
    assert!(stdout(&out).contains("github-token"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&secret.to_string()[..7]), "{}", stdout(&out));
    assert_ne!(
        remote.repo.refname_to_id("refs/heads/main").unwrap(),
        repo.repo.refname_to_id("refs/heads/main").unwrap(),
        "nothing was pushed"
    );

    // A new branch holding the token is blocked too (the all-zero remote sha).
    let out = git(repo.path(), &["push", "-q", url, "main:refs/heads/other"]).unwrap();
    assert!(!out.status.success(), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// The pre-commit framework

/// How to run `pre-commit`: the one on PATH, or one installed (once per target dir) into a
/// venv under the target's temp dir (`util::python_venv`) and run as
/// `<venv>/bin/python -m pre_commit`.
fn pre_commit() -> &'static [OsString] {
    static ARGV: OnceLock<Vec<OsString>> = OnceLock::new();
    ARGV.get_or_init(|| {
        if Command::new("pre-commit")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return vec!["pre-commit".into()];
        }
        let python = crate::util::python_venv("pre-commit-venv", &["pre-commit"]);
        vec![python.into(), "-m".into(), "pre_commit".into()]
    })
}

/// `pre-commit ARGS` in `dir` with leakseal on PATH and HOME / PRE_COMMIT_HOME in `home`.
/// Cargo and rustup keep their real homes (the rust hooks build with them).
fn pre_commit_cmd(dir: &Path, home: &Path) -> Command {
    let real_home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME").unwrap_or_else(|| real_home.join(".cargo").into());
    let rustup_home = std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| real_home.join(".rustup").into());
    let argv = pre_commit();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path_with_leakseal())
        .env("HOME", home)
        .env("PRE_COMMIT_HOME", home.join("pre-commit-cache"))
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("PRE_COMMIT_COLOR", "never")
        .env("TERM", "dumb");
    cmd
}

/// `pre-commit try-repo <crate root> HOOK ARGS --verbose` in `repo`.
fn try_repo(repo: &TestRepo, home: &Path, hook: &str, args: &[&str], extra_env: &[(&str, &OsStr)]) -> Output {
    let mut cmd = pre_commit_cmd(repo.path(), home);
    cmd.arg("try-repo")
        .arg(crate_root())
        .arg(hook)
        .args(args)
        .arg("--verbose");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pre-commit")
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The crate root must be a git repository for try-repo (a crates.io tarball is not).
fn crate_is_a_git_checkout() -> bool {
    let ok = crate_root().join(".git").exists();
    if !ok {
        eprintln!("the crate root is not a git checkout: pre-commit try-repo cannot use it");
    }
    ok
}

#[test]
fn pre_commit_framework_system_hook() {
    if !crate_is_a_git_checkout() {
        return;
    }
    let started = Instant::now();
    let home = Tree::new();
    let repo = TestRepo::new();
    repo.commit_files("root", &[("README.md", "hello\n")]);
    repo.add("config.env", format!("# settings\n{}", token_line(70)));
    let out = try_repo(&repo, home.path(), "leakseal-system", &[], &[]);
    let text = both(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("leakseal (secrets in staged changes, installed binary)"),
        "{text}"
    );
    assert!(text.contains("Failed"), "{text}");
    assert!(text.contains("github-token"), "{text}");
    assert!(text.contains("config.env:2"), "{text}");
    assert!(text.contains("leakseal blocked this commit"), "{text}");
    assert!(!text.contains(&fake::github(70)), "redacted: {text}");

    repo.add("config.env", "# settings\nGITHUB_TOKEN=${FROM_THE_ENVIRONMENT}\n");
    let out = try_repo(&repo, home.path(), "leakseal-system", &[], &[]);
    let text = both(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(text.contains("Passed"), "{text}");
    eprintln!("pre-commit system hook test: {:.1?}", started.elapsed());
}

/// The `language: rust` hooks: pre-commit builds leakseal with `cargo install --path .` from
/// a fresh clone of this repository for every `try-repo`. CARGO_TARGET_DIR under the target's
/// temp dir lets every build after the first reuse the compiled dependencies (only leakseal,
/// whose path changes, is rebuilt), and the release profile is overridden to an unoptimised,
/// non-LTO build: this tests the hook's wiring, not the optimised binary, and an LTO
/// release build takes minutes per `try-repo` on a two-core machine.
#[test]
fn pre_commit_framework_rust_hooks() {
    if !crate_is_a_git_checkout() {
        return;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-cargo-target");
    let env: &[(&str, &OsStr)] = &[
        ("CARGO_TARGET_DIR", target.as_os_str()),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".as_ref()),
        ("CARGO_PROFILE_RELEASE_LTO", "off".as_ref()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16".as_ref()),
        ("CARGO_PROFILE_RELEASE_DEBUG", "false".as_ref()),
    ];
    let home = Tree::new();
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("README.md", "hello\n")]);

    let started = Instant::now();
    repo.add("config.env", token_line(71));
    let out = try_repo(&repo, home.path(), "leakseal", &[], env);
    let text = both(&out);
    let first_build = started.elapsed();
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("leakseal (secrets in staged changes)"), "{text}");
    assert!(text.contains("github-token") && text.contains("config.env:1"), "{text}");

    let started = Instant::now();
    repo.add("config.env", "GITHUB_TOKEN=${FROM_THE_ENVIRONMENT}\n");
    let out = try_repo(&repo, home.path(), "leakseal", &[], env);
    let second = started.elapsed();
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(both(&out).contains("Passed"), "{}", both(&out));

    // Pre-push: a range with a token fails, a range without passes.
    let c1 = repo.commit("clean");
    let c2 = repo.commit_files("oops", &[("deploy.env", &token_line(72))]);
    let push = |from: git2::Oid, to: git2::Oid| {
        let (from, to) = (from.to_string(), to.to_string());
        try_repo(
            &repo,
            home.path(),
            "leakseal-push",
            &["--hook-stage", "pre-push", "--from-ref", &from, "--to-ref", &to],
            env,
        )
    };
    let started = Instant::now();
    let out = push(c0, c2);
    let third = started.elapsed();
    let text = both(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("leakseal (secrets in pushed commits)"), "{text}");
    assert!(text.contains("github-token") && text.contains("deploy.env:1"), "{text}");
    assert!(text.contains(&c2.to_string()[..7]), "{text}");

    let out = push(c0, c1);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(both(&out).contains("Passed"), "{}", both(&out));

    // The encryption check on the staged config: plaintext fails, a ciphertext passes.
    repo.add(".env.production", format!("GOLD_API_KEY={}\n", fake::base62(32, 73)));
    let out = try_repo(&repo, home.path(), "leakseal-kms", &[], env);
    let text = both(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("kms/plaintext-secret") && text.contains(".env.production:1"),
        "{text}"
    );
    let blob = std::fs::read_to_string(crate::util::fixture("kms/valid/aws-kms.env")).unwrap();
    let blob = blob
        .lines()
        .find(|l| l.starts_with("GOLD_API_KEY="))
        .unwrap()
        .to_string();
    repo.add(".env.production", format!("{blob}\n"));
    let out = try_repo(&repo, home.path(), "leakseal-kms", &[], env);
    assert_eq!(code(&out), 0, "{}", both(&out));
    assert!(both(&out).contains("Passed"), "{}", both(&out));
    eprintln!("pre-commit rust hooks: first build {first_build:.1?}, then {second:.1?} and {third:.1?} per try-repo");
}

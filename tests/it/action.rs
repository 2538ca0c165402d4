//! The GitHub Action's script (`scripts/leakseal-action.sh`), run as the action runs it, against
//! real repositories in temp dirs with synthetic `GITHUB_EVENT_PATH` payloads: what each event
//! scans, the step outputs, the summary, the SARIF file, and the refusal of shallow checkouts.
//!
//! Repositories are built with the `git` command line (the script itself needs it, and shallow
//! clones are its job), with a fixed identity and dates and no user or system config.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::ci_reports::assert_valid_sarif;
use crate::util::{code, crate_root, fake, stderr, stdout};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A git repository in a temp dir, driven by the `git` CLI.
pub(crate) struct GitRepo {
    dir: TempDir,
    commits: std::cell::Cell<u32>,
}

impl GitRepo {
    /// An empty repository on branch `main`.
    pub(crate) fn new() -> GitRepo {
        let dir = tempfile::Builder::new()
            .prefix("leakseal-it-repo-")
            .tempdir()
            .expect("create temp dir");
        let repo = GitRepo {
            dir,
            commits: std::cell::Cell::new(0),
        };
        repo.git(&["init", "-q", "-b", "main", "."]);
        repo
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `git` in `dir` with a fixed identity and clock, and no global or system config.
    fn git_in(dir: &Path, args: &[&str], n: u32) -> String {
        let date = format!("{} +0000", 1_700_000_000 + u64::from(n) * 60);
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        GitRepo::git_in(self.path(), args, self.commits.get())
    }

    pub(crate) fn write(&self, rel: &str, contents: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
    }

    /// Commits everything; returns the new commit's sha.
    pub(crate) fn commit(&self, message: &str) -> String {
        self.commits.set(self.commits.get() + 1);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `leakseal ARGS` in the repository.
    pub(crate) fn leakseal(&self, args: &[&str]) -> Output {
        crate::util::leakseal_in(self.path()).args(args).output().unwrap()
    }
}

/// One run of the action script.
struct ActionRun {
    out: Output,
    outputs: HashMap<String, String>,
    summary: String,
    sarif: Option<serde_json::Value>,
}

/// Runs the action script in `workspace` for `event` with `payload`, and the given inputs.
fn run_action(workspace: &Path, event: &str, payload: serde_json::Value, inputs: &[(&str, &str)]) -> ActionRun {
    let runner = tempfile::Builder::new()
        .prefix("leakseal-it-runner-")
        .tempdir()
        .unwrap();
    let event_path = runner.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).unwrap();
    let output_file = runner.path().join("output");
    let summary_file = runner.path().join("summary.md");
    std::fs::write(&summary_file, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(crate_root().join("scripts/leakseal-action.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", runner.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LEAKSEAL_BIN", assert_cmd::cargo::cargo_bin("leakseal"))
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("GITHUB_WORKSPACE", workspace)
        .env("RUNNER_TEMP", runner.path())
        .current_dir(runner.path());
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let out = cmd.output().expect("run bash");
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<HashMap<_, _>>();
    let summary = std::fs::read_to_string(&summary_file).unwrap_or_default();
    let sarif = outputs.get("sarif").filter(|p| !p.is_empty()).map(|p| {
        assert_valid_sarif(&std::fs::read_to_string(workspace.join(p)).expect("the sarif output names a file"))
    });
    ActionRun {
        out,
        outputs,
        summary,
        sarif,
    }
}

fn describe(run: &ActionRun) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}--- outputs\n{:?}",
        code(&run.out),
        stdout(&run.out),
        stderr(&run.out),
        run.outputs
    )
}

/// The files the annotations point at.
fn annotated_files(run: &ActionRun) -> Vec<String> {
    stdout(&run.out)
        .lines()
        .filter_map(|l| l.strip_prefix("::error file="))
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

/// `main` with an old secret in `old.env`, and a branch `feature` that adds one in `new.env`.
/// Returns the repo, main's tip and feature's tip.
fn pull_request_repo() -> (GitRepo, String, String) {
    let repo = GitRepo::new();
    repo.write("README.md", "# demo\n");
    repo.write("old.env", &format!("OLD_TOKEN={}\n", fake::github(31)));
    let base = repo.commit("Initial commit");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("src/app.py", "print('hello')\n");
    repo.commit("Add app");
    repo.write("new.env", &format!("NEW_TOKEN={}\n", fake::github(32)));
    let head = repo.commit("Add settings");
    (repo, base, head)
}

fn pr_payload(base: &str, head: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": { "base": { "sha": base, "ref": "main" }, "head": { "sha": head, "ref": "feature" } },
        "repository": { "default_branch": "main" }
    })
}

#[test]
fn pull_request_scans_only_the_pull_requests_commits() {
    let (repo, base, head) = pull_request_repo();
    let run = run_action(repo.path(), "pull_request", pr_payload(&base, &head), &[]);
    assert_eq!(code(&run.out), 1, "{}", describe(&run));
    assert_eq!(annotated_files(&run), ["new.env"], "{}", describe(&run));
    assert!(
        stdout(&run.out).contains("title=leakseal%3A GitHub"),
        "{}",
        describe(&run)
    );
    assert_eq!(run.outputs["findings"], "1");
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.outputs["sarif"], "leakseal.sarif");
    let sarif = run.sarif.as_ref().unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "new.env"
    );
    assert_eq!(results[0]["properties"]["commit"]["sha"], head.as_str());
    assert!(run.summary.contains("**1 secret found**"), "{}", run.summary);
    assert!(
        stderr(&run.out).contains(&format!("--range {base}..{head}")),
        "{}",
        describe(&run)
    );
    // Redacted everywhere.
    let secret = fake::github(32);
    assert!(!stdout(&run.out).contains(&secret) && !run.summary.contains(&secret));
    assert!(!sarif.to_string().contains(&secret));
}

#[test]
fn pull_request_without_failing_on_findings() {
    let (repo, base, head) = pull_request_repo();
    let run = run_action(
        repo.path(),
        "pull_request",
        pr_payload(&base, &head),
        &[("fail-on-findings", "false"), ("sarif", "reports/scan.sarif")],
    );
    assert_eq!(code(&run.out), 0, "{}", describe(&run));
    assert_eq!(run.outputs["findings"], "1");
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.outputs["sarif"], "reports/scan.sarif");
    assert!(run.sarif.is_some());
}

#[test]
fn clean_pull_request_passes() {
    let repo = GitRepo::new();
    repo.write("old.env", &format!("OLD_TOKEN={}\n", fake::github(33)));
    let base = repo.commit("Initial commit");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("src/app.py", "print('hello')\n");
    let head = repo.commit("Add app");
    let run = run_action(repo.path(), "pull_request", pr_payload(&base, &head), &[]);
    assert_eq!(code(&run.out), 0, "{}", describe(&run));
    assert_eq!(run.outputs["findings"], "0");
    assert_eq!(run.outputs["exit-code"], "0");
    assert!(stdout(&run.out).is_empty(), "{}", describe(&run));
    assert!(run.summary.contains("No secrets found"), "{}", run.summary);
    assert_eq!(run.sarif.unwrap()["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn push_scans_before_to_after() {
    let repo = GitRepo::new();
    repo.write("old.env", &format!("OLD_TOKEN={}\n", fake::github(41)));
    let before = repo.commit("Initial commit");
    // Added and removed within the push: still a leak (it is in the pushed history).
    repo.write("tmp.env", &format!("TOKEN={}\n", fake::github(42)));
    let added = repo.commit("Try settings");
    std::fs::remove_file(repo.path().join("tmp.env")).unwrap();
    let after = repo.commit("Remove settings");
    let payload = serde_json::json!({
        "ref": "refs/heads/main", "before": before, "after": after,
        "repository": { "default_branch": "main" }
    });
    let run = run_action(repo.path(), "push", payload, &[]);
    assert_eq!(code(&run.out), 1, "{}", describe(&run));
    assert_eq!(annotated_files(&run), ["tmp.env"], "{}", describe(&run));
    let sarif = run.sarif.unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["properties"]["commit"]["sha"],
        added.as_str()
    );
}

#[test]
fn push_of_a_new_branch_scans_its_commits_not_on_the_default_branch() {
    let (repo, base, head) = pull_request_repo();
    // As actions/checkout with fetch-depth: 0 leaves it: remote-tracking refs for every branch.
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    repo.git(&["update-ref", "refs/remotes/origin/feature", &head]);
    let payload = serde_json::json!({
        "ref": "refs/heads/feature", "before": ZERO, "after": head, "created": true,
        "repository": { "default_branch": "main" }
    });
    let run = run_action(repo.path(), "push", payload, &[]);
    assert_eq!(code(&run.out), 1, "{}", describe(&run));
    assert_eq!(annotated_files(&run), ["new.env"], "{}", describe(&run));
    assert!(
        stderr(&run.out).contains("new feature: scanning its commits not on main"),
        "{}",
        describe(&run)
    );
}

#[test]
fn first_push_of_the_default_branch_scans_everything() {
    let (repo, _, _) = pull_request_repo();
    repo.git(&["checkout", "-q", "main"]);
    let after = repo.git(&["rev-parse", "HEAD"]);
    let payload = serde_json::json!({
        "ref": "refs/heads/main", "before": ZERO, "after": after, "created": true,
        "repository": { "default_branch": "main" }
    });
    let run = run_action(repo.path(), "push", payload, &[]);
    assert_eq!(code(&run.out), 1, "{}", describe(&run));
    assert_eq!(annotated_files(&run), ["old.env"], "{}", describe(&run));
}

#[test]
fn push_deleting_a_branch_scans_nothing() {
    let (repo, _, head) = pull_request_repo();
    let payload = serde_json::json!({
        "ref": "refs/heads/feature", "before": head, "after": ZERO, "deleted": true,
        "repository": { "default_branch": "main" }
    });
    let run = run_action(repo.path(), "push", payload, &[]);
    assert_eq!(code(&run.out), 0, "{}", describe(&run));
    assert_eq!(run.outputs["findings"], "0");
}

#[test]
fn schedule_scans_the_whole_history() {
    let repo = GitRepo::new();
    repo.write("config.env", &format!("TOKEN={}\n", fake::github(51)));
    let added = repo.commit("Add config");
    repo.write("config.env", "TOKEN=from-the-environment\n");
    repo.commit("Use the environment");
    let run = run_action(
        repo.path(),
        "schedule",
        serde_json::json!({ "schedule": "0 3 * * *" }),
        &[],
    );
    assert_eq!(code(&run.out), 1, "{}", describe(&run));
    assert_eq!(annotated_files(&run), ["config.env"]);
    assert!(stderr(&run.out).contains("--history"), "{}", describe(&run));
    assert!(
        run.summary.contains("removed from HEAD but still in history"),
        "{}",
        run.summary
    );
    assert!(stdout(&run.out).contains(&added[..12]), "{}", describe(&run));
    let sarif = run.sarif.unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["properties"]["presentAtHead"], false);
}

/// `git clone --depth 1` of `repo`'s `branch`, as actions/checkout does by default.
fn shallow_clone(repo: &GitRepo, branch: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("leakseal-it-shallow-")
        .tempdir()
        .unwrap();
    let url = format!("file://{}", repo.path().display());
    GitRepo::git_in(
        dir.path(),
        &["clone", "-q", "--depth", "1", "--branch", branch, &url, "."],
        0,
    );
    dir
}

#[test]
fn shallow_checkout_is_refused_with_the_fix() {
    let (repo, base, head) = pull_request_repo();
    let clone = shallow_clone(&repo, "feature");
    let run = run_action(clone.path(), "pull_request", pr_payload(&base, &head), &[]);
    assert_eq!(code(&run.out), 2, "{}", describe(&run));
    assert!(stderr(&run.out).contains("fetch-depth: 0"), "{}", describe(&run));
    assert!(stderr(&run.out).contains("shallow"), "{}", describe(&run));
    assert!(
        stdout(&run.out).starts_with("::error title=leakseal::"),
        "{}",
        describe(&run)
    );
    assert_eq!(run.outputs["exit-code"], "2");

    let nightly = run_action(clone.path(), "schedule", serde_json::json!({}), &[]);
    assert_eq!(code(&nightly.out), 2, "{}", describe(&nightly));
    assert!(
        stderr(&nightly.out).contains("fetch-depth: 0"),
        "{}",
        describe(&nightly)
    );
}

#[test]
fn config_args_and_path_inputs() {
    let (repo, base, head) = pull_request_repo();
    repo.git(&["checkout", "-q", "main"]);
    let workspace = tempfile::Builder::new().prefix("leakseal-it-ws-").tempdir().unwrap();
    // The repository in a subdirectory of the workspace, and a config that knows only a demo
    // rule, so the pull request's GitHub token is not reported but its demo token is.
    let checkout: PathBuf = workspace.path().join("checkout");
    GitRepo::git_in(
        workspace.path(),
        &["clone", "-q", &format!("file://{}", repo.path().display()), "checkout"],
        0,
    );
    GitRepo::git_in(&checkout, &["checkout", "-q", &head], 0);
    std::fs::copy(
        crate_root().join("fixtures/configs/custom-rule-only.toml"),
        workspace.path().join("demo-rules.toml"),
    )
    .unwrap();
    let run = run_action(
        workspace.path(),
        "pull_request",
        pr_payload(&base, &head),
        &[
            ("path", "checkout"),
            ("config", "demo-rules.toml"),
            ("args", "--min-confidence low --quiet"),
        ],
    );
    assert_eq!(code(&run.out), 0, "{}", describe(&run));
    assert_eq!(run.outputs["findings"], "0");
    assert!(stderr(&run.out).contains("--config demo-rules.toml --min-confidence low --quiet checkout"));
}

#[test]
fn baseline_input_is_passed_only_when_supported() {
    let (repo, base, head) = pull_request_repo();
    let supported = stdout(&repo.leakseal(&["scan", "--help"])).contains("--baseline");
    let run = run_action(
        repo.path(),
        "pull_request",
        pr_payload(&base, &head),
        &[("baseline", "leakseal-baseline.json"), ("fail-on-findings", "false")],
    );
    let warned = stdout(&run.out).contains("::warning title=leakseal::this leakseal has no --baseline option");
    if supported {
        assert!(!warned, "{}", describe(&run));
        assert!(
            stderr(&run.out).contains("--baseline leakseal-baseline.json"),
            "{}",
            describe(&run)
        );
    } else {
        assert!(warned, "{}", describe(&run));
        assert_eq!(code(&run.out), 0, "{}", describe(&run));
        assert_eq!(run.outputs["findings"], "1", "the scan still runs");
    }
}

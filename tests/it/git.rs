//! Git sources on real repositories built in temp dirs: `--staged` (the pre-commit check),
//! `--range` / `--since-commit` / `--pre-push` (what commits added) and `--history` (every ref,
//! each blob read once), including bare, mirror and shallow clones and a corrupt object.

use std::process::Output;

use crate::util::{
    assert_cli_snapshot, code, fake, git_cli, git_locations, json, stderr, stdout, GitLoc, TestRepo, AUTHOR,
};

/// `leakseal scan --color never --show-secrets -f json MODE...` at the top of the work tree.
fn scan(repo: &TestRepo, mode: &[&str]) -> Output {
    let mut args = vec!["scan", "--color", "never", "--show-secrets", "-f", "json"];
    args.extend_from_slice(mode);
    repo.run(&args)
}

/// A line holding a GitHub token, as it would sit in a config file.
fn token_line(seed: u64) -> String {
    format!("GITHUB_TOKEN={}\n", fake::github(seed))
}

/// Locations sorted by secret, for comparisons that do not depend on report order.
fn sorted(locs: impl IntoIterator<Item = GitLoc>) -> Vec<GitLoc> {
    let mut v: Vec<GitLoc> = locs.into_iter().collect();
    v.sort_by(|a, b| a.secret.cmp(&b.secret));
    v
}

fn gh(rule_secret_seed: u64, path: &str, line: u64, commit: Option<git2::Oid>) -> GitLoc {
    GitLoc::new("github-token", &fake::github(rule_secret_seed), path, line, commit)
}

/// The lines of stderr that report an error.
fn error_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// --staged

#[test]
fn staged_secret_is_found_and_the_commit_is_blocked() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("README.md", "hello\n")]);
    repo.add("config.env", format!("# settings\n{}", token_line(1)));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(1, "config.env", 2, None)]);

    let out = repo.run(&["scan", "--color", "never", "--staged"]);
    assert_eq!(code(&out), 1);
    assert_cli_snapshot!("staged_blocked_text", out);
    let err = stderr(&out);
    assert!(
        err.contains("leakseal blocked this commit: 1 secret in the staged changes"),
        "{err}"
    );
    assert!(err.contains("Ways out:"), "{err}");
    assert!(
        err.contains("  1. Remove the secret from the file, `git add` it again"),
        "{err}"
    );
    assert!(
        err.contains("  2. If it is not a secret") && err.contains("leakseal:allow"),
        "{err}"
    );
    assert!(
        err.contains("  3. To accept it for now, allowlist it in .leakseal.toml"),
        "{err}"
    );
    // The text report itself is redacted.
    assert!(!stdout(&out).contains(&fake::github(1)), "{}", stdout(&out));
}

#[test]
fn staged_clean_change_passes_without_the_blocked_message() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("README.md", "hello\n")]);
    repo.add("README.md", "hello\nworld\n");
    let out = repo.run(&["scan", "--color", "never", "--staged"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("blocked"), "{}", stderr(&out));
}

#[test]
fn staged_with_exit_zero_does_not_say_blocked() {
    let repo = TestRepo::new();
    repo.add("a.txt", token_line(2));
    let out = repo.run(&["scan", "--color", "never", "--staged", "--exit-zero"]);
    assert_eq!(code(&out), 0);
    assert!(!stderr(&out).contains("blocked"), "{}", stderr(&out));
}

#[test]
fn staged_first_commit_on_unborn_head() {
    let repo = TestRepo::new();
    assert!(repo.repo.head().is_err(), "HEAD is unborn");
    repo.add("a.txt", format!("x\n{}", token_line(3)));
    repo.add("b.txt", "nothing\n");
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(3, "a.txt", 2, None)]);
}

#[test]
fn staged_empty_index_on_unborn_head_is_clean() {
    let repo = TestRepo::new();
    repo.write("untracked.txt", token_line(4));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(git_locations(&out), []);
}

#[test]
fn unstaged_edit_is_ignored() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("a.txt", "one\n")]);
    repo.write("a.txt", format!("one\n{}", token_line(5)));
    repo.write("new-untracked.txt", token_line(6));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(git_locations(&out), []);
}

#[test]
fn partial_staging_index_without_secret_work_tree_with_it_is_clean() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("a.txt", "one\n")]);
    repo.write("a.txt", format!("one\ntwo\n{}", token_line(7)));
    repo.stage_content("a.txt", "one\ntwo\n");
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn partial_staging_index_with_secret_work_tree_without_it_is_found() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("a.txt", "one\n")]);
    repo.write("a.txt", "one\ntwo\n");
    repo.stage_content("a.txt", format!("one\ntwo\n{}", token_line(8)));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(8, "a.txt", 3, None)]);
}

#[test]
fn staged_only_added_lines_count() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("a.txt", &format!("old\n{}", token_line(9)))]);
    // A committed secret on an untouched line, and a new one added below it.
    repo.add("a.txt", format!("old\n{}new\n{}", token_line(9), token_line(10)));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(10, "a.txt", 4, None)]);
}

#[test]
fn deleting_a_secret_is_not_a_finding() {
    let repo = TestRepo::new();
    repo.commit_files(
        "init",
        &[
            ("a.txt", &token_line(11)),
            ("b.txt", &format!("keep\n{}", token_line(12))),
        ],
    );
    repo.remove("a.txt");
    repo.add("b.txt", "keep\n");
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn rename_of_a_committed_secret_is_not_a_finding() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("a.txt", &format!("# config\n{}", token_line(13)))]);
    repo.rename("a.txt", "moved/b.txt");
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn rename_with_an_edit_reports_only_the_edit() {
    let repo = TestRepo::new();
    let body = "line\n".repeat(20);
    repo.commit_files("init", &[("a.txt", &format!("{body}{}", token_line(14)))]);
    repo.rename("a.txt", "b.txt");
    repo.add("b.txt", format!("{body}{}{}", token_line(14), token_line(15)));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(15, "b.txt", 22, None)]);
}

#[cfg(unix)]
#[test]
fn mode_change_of_a_committed_secret_is_not_a_finding() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("run.sh", &format!("#!/bin/sh\n{}", token_line(16)))]);
    repo.make_executable("run.sh");
    let index = repo.repo.index().unwrap();
    assert_eq!(
        index.get_path(std::path::Path::new("run.sh"), 0).unwrap().mode,
        0o100755
    );
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn staged_from_a_subdirectory_uses_the_root_config() {
    let repo = TestRepo::new();
    repo.commit_files(
        "init",
        &[(
            ".leakseal.toml",
            "[extend]\nuseDefault = true\n\n[[allowlists]]\ndescription = \"fixtures\"\npaths = ['''^sub/fixtures/''']\n",
        )],
    );
    repo.add("sub/fixtures/token.txt", token_line(17));
    repo.add("sub/app.env", token_line(18));
    repo.add("other/app.env", token_line(19));
    let out = repo.run_in(
        "sub",
        &["scan", "--color", "never", "--show-secrets", "-f", "json", "--staged"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // Paths are relative to the repository root; the whole index is checked, not only `sub/`.
    assert_eq!(
        sorted(git_locations(&out)),
        sorted([gh(18, "sub/app.env", 1, None), gh(19, "other/app.env", 1, None)])
    );
}

#[test]
fn staged_pem_key_in_a_new_file_is_found() {
    let repo = TestRepo::new();
    repo.commit_files("init", &[("README.md", "hello\n")]);
    let key = fake::private_key(20, 4);
    repo.add("keys/deploy.pem", &key);
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = git_locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].rule, "private-key");
    assert_eq!(locs[0].path, "keys/deploy.pem");
    assert_eq!(locs[0].line, 1);
    assert_eq!(locs[0].secret, key.trim_end());
}

#[test]
fn staged_pem_key_completed_by_the_staged_change_is_found() {
    let repo = TestRepo::new();
    let key = fake::private_key(21, 4);
    let lines: Vec<&str> = key.lines().collect();
    // Committed: the key without its END line (no match yet). Staged: the END line.
    let partial = format!("{}\n", lines[..lines.len() - 1].join("\n"));
    repo.commit_files("half a key", &[("id_rsa", &partial)]);
    repo.add("id_rsa", &key);
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = git_locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(
        (locs[0].rule.as_str(), locs[0].path.as_str(), locs[0].line),
        ("private-key", "id_rsa", 1)
    );
}

#[test]
fn staged_edit_beside_a_committed_pem_key_is_clean() {
    let repo = TestRepo::new();
    let key = fake::private_key(22, 4);
    repo.commit_files("key", &[("id_rsa", &key)]);
    repo.add("id_rsa", format!("{key}# comment\n"));
    let out = scan(&repo, &["--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

// ---------------------------------------------------------------------------------------------
// --range, --since-commit, --pre-push

/// Dates of the `TestRepo` commits, by the order they were made.
fn date(n: i64) -> String {
    leakseal::source::git::rfc3339(crate::util::FIRST_COMMIT_TIME + 60 * n)
}

/// c0 root; c1 adds a token to a.txt; c2 an unrelated edit; c3 adds a token to b.txt; c4
/// removes it again.
struct RangeRepo {
    repo: TestRepo,
    c: [git2::Oid; 5],
}

fn range_repo() -> RangeRepo {
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("README.md", "hello\n")]);
    let c1 = repo.commit_files("add a token", &[("a.txt", &format!("x\n{}", token_line(30)))]);
    let c2 = repo.commit_files("docs", &[("README.md", "hello\nworld\n")]);
    let c3 = repo.commit_files("oops", &[("b.txt", &format!("1\n2\n{}", token_line(31)))]);
    let c4 = repo.commit_files("remove the token", &[("b.txt", "1\n2\n")]);
    RangeRepo {
        repo,
        c: [c0, c1, c2, c3, c4],
    }
}

#[test]
fn range_reports_added_lines_with_the_introducing_commit() {
    let r = range_repo();
    let range = format!("{}..{}", r.c[0], r.c[4]);
    let out = scan(&r.repo, &["--range", &range]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // The token added and removed inside the range is still reported: it was pushed.
    assert_eq!(
        sorted(git_locations(&out)),
        sorted([gh(30, "a.txt", 2, Some(r.c[1])), gh(31, "b.txt", 3, Some(r.c[3]))])
    );
    let doc = json(&out);
    let commit_of = |secret: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["secret"] == secret)
            .map(|f| f["locations"][0]["commit"].clone())
            .unwrap()
    };
    assert_eq!(
        commit_of(&fake::github(30)),
        serde_json::json!({
            "sha": r.c[1].to_string(),
            "author": AUTHOR.0,
            "email": AUTHOR.1,
            "date": date(1),
            "summary": "add a token",
        })
    );
    assert_eq!(commit_of(&fake::github(31))["date"], date(3));
    assert_eq!(commit_of(&fake::github(31))["summary"], "oops");
    assert_eq!(doc["summary"]["git"]["commits"], 4);
}

#[test]
fn range_excludes_the_base_and_its_ancestors() {
    let r = range_repo();
    let range = format!("{}..{}", r.c[1], r.c[4]);
    let out = scan(&r.repo, &["--range", &range]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(31, "b.txt", 3, Some(r.c[3]))]);
    // Named refs and a missing HEAD side work too.
    r.repo.branch("base");
    let out = scan(&r.repo, &["--range", "base.."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = scan(&r.repo, &["--range", &format!("{}..main", r.c[2])]);
    assert_eq!(git_locations(&out), [gh(31, "b.txt", 3, Some(r.c[3]))]);
}

#[test]
fn range_of_commits_without_secrets_is_clean() {
    let r = range_repo();
    let range = format!("{}..{}", r.c[1], r.c[2]);
    let out = scan(&r.repo, &["--range", &range]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["summary"]["git"]["commits"], 1);
}

#[test]
fn since_commit_scans_after_rev_up_to_head() {
    let r = range_repo();
    let out = scan(&r.repo, &["--since-commit", &r.c[2].to_string()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(31, "b.txt", 3, Some(r.c[3]))]);
    let out = scan(&r.repo, &["--since-commit", "HEAD~1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn invalid_range_exits_2_with_one_error_line() {
    let r = range_repo();
    for range in ["nope..HEAD", "HEAD..nope", "HEAD", "..HEAD", "a...b"] {
        let out = scan(&r.repo, &["--range", range]);
        assert_eq!(code(&out), 2, "{range}: {}", stderr(&out));
        let errors = error_lines(&out);
        assert_eq!(errors.len(), 1, "{range}: {}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "{range}: no report on a bad range: {}",
            stdout(&out)
        );
    }
    let out = scan(&r.repo, &["--range", "nope..HEAD"]);
    assert!(
        error_lines(&out)[0].starts_with("error: nope: not a commit in this repository"),
        "{}",
        stderr(&out)
    );
    assert_cli_snapshot!("range_not_a_commit", out);
    let out = scan(&r.repo, &["--range", "HEAD"]);
    assert_eq!(error_lines(&out)[0], "error: --range: 'HEAD' is not BASE..HEAD");
}

#[test]
fn range_outside_a_repository_exits_2() {
    let tree = crate::util::Tree::new();
    let out = tree.run(&["scan", "--range", "a..b"]);
    assert_eq!(code(&out), 2);
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].contains("not a git repository"), "{}", stderr(&out));
}

#[test]
fn pre_push_scans_the_range_from_the_environment() {
    let r = range_repo();
    let run = |from: &str, to: &str| {
        r.repo
            .tree()
            .cmd()
            .args(["scan", "--color", "never", "--show-secrets", "-f", "json", "--pre-push"])
            .env("PRE_COMMIT_FROM_REF", from)
            .env("PRE_COMMIT_TO_REF", to)
            .output()
            .unwrap()
    };
    let out = run(&r.c[2].to_string(), &r.c[4].to_string());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(31, "b.txt", 3, Some(r.c[3]))]);

    let out = run(&r.c[3].to_string(), "main");
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // A new branch (all-zero "from"): everything up to "to".
    let out = run(&"0".repeat(40), &r.c[2].to_string());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(30, "a.txt", 2, Some(r.c[1]))]);
}

#[test]
fn pre_push_without_the_environment_exits_2() {
    let r = range_repo();
    let out = scan(&r.repo, &["--pre-push"]);
    assert_eq!(code(&out), 2);
    assert_cli_snapshot!("pre_push_without_env", out);
    assert_eq!(
        error_lines(&out),
        ["error: --pre-push: PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF are not set"]
    );
    let out = r
        .repo
        .tree()
        .cmd()
        .args(["scan", "--pre-push"])
        .env("PRE_COMMIT_FROM_REF", r.c[0].to_string())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "only one of the two is set");
}

// ---------------------------------------------------------------------------------------------
// --history

#[test]
fn history_reads_a_blob_shared_by_two_branches_once() {
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("README.md", "hello\n")]);
    repo.branch("feature");
    let config = format!("# settings\n{}", token_line(40));
    let c1 = repo.commit_files("config on main", &[("config.env", &config)]);
    repo.checkout("feature");
    let c2 = repo.commit_files("config on feature", &[("config.env", &config)]);
    repo.checkout("main");
    assert_ne!(c1, c2);
    assert_ne!(c0, c1);

    let out = scan(&repo, &["--history", "--stats"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["summary"]["git"],
        serde_json::json!({"commits": 3, "occurrences": 3, "unique_blobs": 2, "blobs_deduplicated": 1})
    );
    assert_eq!(doc["summary"]["files_scanned"], 2);
    assert!(
        stderr(&out).contains("3 commits, 3 blob occurrences, 2 unique blobs read, 1 duplicates not re-read"),
        "{}",
        stderr(&out)
    );
    // One finding, one location per path (the earliest commit), two commits carried it in.
    assert_eq!(git_locations(&out), [gh(40, "config.env", 2, Some(c1))]);
    let f = &doc["findings"][0];
    assert_eq!(f["history"], serde_json::json!({"commits": 2, "present_at_head": true}));
}

#[test]
fn history_finds_a_secret_reachable_only_from_a_tag() {
    for annotated in [false, true] {
        let repo = TestRepo::new();
        repo.commit_files("root", &[("README.md", "hello\n")]);
        repo.branch("release");
        repo.checkout("release");
        let tagged = repo.commit_files("release build", &[("build.env", &token_line(41))]);
        if annotated {
            repo.tag_annotated("v1", "version 1");
        } else {
            repo.tag("v1");
        }
        repo.checkout("main");
        repo.delete_branch("release");
        let out = scan(&repo, &["--history"]);
        assert_eq!(code(&out), 1, "annotated={annotated}: {}", stderr(&out));
        assert_eq!(
            git_locations(&out),
            [gh(41, "build.env", 1, Some(tagged))],
            "annotated={annotated}"
        );
        assert_eq!(json(&out)["findings"][0]["history"]["present_at_head"], false);
    }
}

#[test]
fn history_finds_a_stash_only_secret() {
    let mut repo = TestRepo::new();
    repo.commit_files("root", &[("a.txt", "one\n")]);
    repo.write("a.txt", format!("one\n{}", token_line(42)));
    let stash = repo.stash("wip");
    assert_eq!(std::fs::read_to_string(repo.path().join("a.txt")).unwrap(), "one\n");
    let out = scan(&repo, &["--history"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(42, "a.txt", 2, Some(stash))]);
    assert_eq!(
        json(&out)["findings"][0]["locations"][0]["commit"]["summary"],
        "On main: wip"
    );
}

#[test]
fn history_tells_whether_head_still_has_the_secret() {
    let repo = TestRepo::new();
    let c0 = repo.commit_files(
        "two tokens",
        &[("gone.txt", &token_line(43)), ("live.txt", &token_line(44))],
    );
    repo.remove("gone.txt");
    repo.commit("remove one");
    let out = scan(&repo, &["--history"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let history_of = |seed: u64| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["secret"] == fake::github(seed).as_str())
            .map(|f| f["history"].clone())
            .unwrap()
    };
    assert_eq!(
        history_of(43),
        serde_json::json!({"commits": 1, "present_at_head": false})
    );
    assert_eq!(
        history_of(44),
        serde_json::json!({"commits": 1, "present_at_head": true})
    );
    assert_eq!(
        sorted(git_locations(&out)),
        sorted([gh(43, "gone.txt", 1, Some(c0)), gh(44, "live.txt", 1, Some(c0))])
    );
}

/// A repository with one secret in history (deleted at HEAD) and one live, plus a tag.
/// The pack reader (each object inflated once; a delta searched for keywords only in its new
/// bytes and around its seams) reports exactly what reading every blob whole through libgit2
/// reports, on a packed history where files grow, lose and regain secrets one edit at a time:
/// keywords split and rejoined at edit boundaries, secrets moved between lines, a PEM block
/// inserted and removed, edits at the first and last lines.
#[test]
fn history_with_the_pack_reader_equals_reading_every_blob_whole() {
    let repo = TestRepo::new();
    let mut lines: Vec<String> = (0..120)
        .map(|i| match i % 6 {
            0 => format!("# section {i}: password and token settings follow"),
            1 => format!("timeout_{i} = {}", i * 7),
            2 => format!("api_key_name_{i} = \"see the vault\""),
            3 => format!("def handler_{i}(secret_id): return lookup(secret_id)"),
            _ => format!("value_{i} = \"{}\"", fake::lower(12, i)),
        })
        .collect();
    let mut other: Vec<String> = (0..40).map(|i| format!("line {i} of notes")).collect();
    let mut planted = 0;
    for n in 0..60u64 {
        let at = (n as usize * 37) % lines.len();
        match n % 7 {
            0 => {
                lines.insert(at, token_line(300 + n).trim_end().to_string());
                planted += 1;
            }
            1 => {
                // A keyword split by the edit: "pass" + "word" rejoined on one line.
                lines[at] = format!("pass{}word = \"{}\"", "", fake::base62(20, n));
            }
            2 => {
                lines.insert(
                    at,
                    format!(
                        "aws_access_key_id = {}\naws_secret_access_key = {}",
                        fake::aws_key_id(n),
                        fake::aws_secret(n)
                    ),
                );
                planted += 1;
            }
            3 => {
                lines.remove(at);
            }
            4 => {
                lines.insert(0, format!("STRIPE_KEY = \"{}\"", fake::stripe_live(n)));
                lines.push(token_line(400 + n).trim_end().to_string());
                planted += 2;
            }
            5 => {
                other.insert(other.len() / 2, fake::private_key(n, 8).trim_end().to_string());
                planted += 1;
            }
            _ => {
                let l = lines.remove(at);
                lines.push(l);
                other.retain(|l| !l.starts_with("-----BEGIN") && !l.contains('/'));
            }
        }
        let main = lines.join("\n") + "\n";
        let notes = other.join("\n") + "\n";
        repo.commit_files(
            &format!("edit {n}"),
            &[("settings.py", &main), ("notes/keys.txt", &notes)],
        );
    }
    repo.pack_all();

    let packed = scan(&repo, &["--history", "--stats"]);
    let whole = scan(&repo, &["--history", "--stats", "--no-pack-reader"]);
    assert_eq!(code(&packed), 1, "{}", stderr(&packed));
    assert_eq!(code(&whole), 1, "{}", stderr(&whole));
    let (p, w) = (json(&packed), json(&whole));
    assert!(
        p["findings"].as_array().map_or(0, Vec::len) >= planted,
        "{planted} secrets planted: {}",
        p["findings"]
    );
    assert_eq!(p["findings"], w["findings"]);
    assert_eq!(p["summary"]["git"], w["summary"]["git"]);
    assert_eq!(p["summary"]["bytes_scanned"], w["summary"]["bytes_scanned"]);
}

fn history_repo() -> (TestRepo, git2::Oid, git2::Oid) {
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("old.txt", &token_line(45))]);
    repo.remove("old.txt");
    repo.commit("remove");
    let c2 = repo.commit_files("live", &[("new.txt", &format!("x\n{}", token_line(46)))]);
    repo.tag("v1");
    (repo, c0, c2)
}

fn history_locations(repo_dir: &std::path::Path) -> (i32, Vec<GitLoc>, String) {
    let out = crate::util::leakseal_in(repo_dir)
        .args(["scan", "--color", "never", "--show-secrets", "-f", "json", "--history"])
        .output()
        .unwrap();
    (code(&out), sorted(git_locations(&out)), stderr(&out))
}

fn expected_history(c0: git2::Oid, c2: git2::Oid) -> Vec<GitLoc> {
    sorted([gh(45, "old.txt", 1, Some(c0)), gh(46, "new.txt", 2, Some(c2))])
}

#[test]
fn history_in_a_bare_clone() {
    let (repo, c0, c2) = history_repo();
    let dest = crate::util::Tree::new();
    let bare = dest.path().join("bare.git");
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(repo.path().to_str().unwrap(), &bare)
        .expect("bare clone");
    let (status, locs, err) = history_locations(&bare);
    assert_eq!(status, 1, "{err}");
    assert_eq!(locs, expected_history(c0, c2));
}

#[test]
fn history_in_a_mirror_clone() {
    let (repo, c0, c2) = history_repo();
    let dest = crate::util::Tree::new();
    let mirror = dest.path().join("mirror.git");
    git2::build::RepoBuilder::new()
        .bare(true)
        .remote_create(|r, name, url| r.remote_with_fetch(name, url, "+refs/*:refs/*"))
        .clone(repo.path().to_str().unwrap(), &mirror)
        .expect("mirror clone");
    let cloned = git2::Repository::open_bare(&mirror).unwrap();
    assert!(cloned.find_reference("refs/tags/v1").is_ok(), "a mirror has the tags");
    let (status, locs, err) = history_locations(&mirror);
    assert_eq!(status, 1, "{err}");
    assert_eq!(locs, expected_history(c0, c2));

    if let Some(mut git) = git_cli(dest.path()) {
        let status = git
            .args(["clone", "-q", "--mirror"])
            .arg(repo.path())
            .arg("cli-mirror.git")
            .status()
            .unwrap();
        assert!(status.success());
        let (status, locs, err) = history_locations(&dest.path().join("cli-mirror.git"));
        assert_eq!(status, 1, "{err}");
        assert_eq!(locs, expected_history(c0, c2));
    }
}

#[test]
fn history_in_a_shallow_clone() {
    let (repo, _, c2) = history_repo();
    let dest = crate::util::Tree::new();
    let Some(mut git) = git_cli(dest.path()) else { return };
    let url = format!("file://{}", repo.path().display());
    let status = git
        .args(["clone", "-q", "--depth", "1", &url, "shallow"])
        .status()
        .unwrap();
    assert!(status.success());
    let shallow = dest.path().join("shallow");
    assert!(shallow.join(".git/shallow").exists());
    let (status, locs, err) = history_locations(&shallow);
    assert_eq!(status, 1, "{err}");
    // Only HEAD is here: the live token, introduced (as far as this clone knows) by HEAD.
    assert_eq!(locs, [gh(46, "new.txt", 2, Some(c2))]);

    // A range reaching past the boundary names the missing commit and how to fetch it.
    let out = crate::util::leakseal_in(&shallow)
        .args(["scan", "--range", &format!("{}..HEAD", repo_first_commit(&repo))])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("fetch-depth: 0"), "{}", stderr(&out));
}

fn repo_first_commit(repo: &TestRepo) -> git2::Oid {
    let mut walk = repo.repo.revwalk().unwrap();
    walk.push_head().unwrap();
    walk.set_sorting(git2::Sort::REVERSE | git2::Sort::TOPOLOGICAL).unwrap();
    walk.next().unwrap().unwrap()
}

#[test]
fn corrupt_object_is_an_error_naming_the_blob_and_the_scan_goes_on() {
    let repo = TestRepo::new();
    let broken = "this blob will be corrupted\n";
    let c0 = repo.commit_files("root", &[("broken.txt", broken), ("ok.txt", &token_line(47))]);
    let blob = repo.repo.blob(broken.as_bytes()).unwrap();
    let hex = blob.to_string();
    let object = repo.path().join(".git/objects").join(&hex[..2]).join(&hex[2..]);
    assert!(object.exists(), "a loose object");
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"garbage, not zlib").unwrap();

    let out = scan(&repo, &["--history"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // The readable blob was still scanned and reported.
    assert_eq!(git_locations(&out), [gh(47, "ok.txt", 1, Some(c0))]);
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(
        errors[0].starts_with(&format!("error: broken.txt (blob {hex}): cannot read object")),
        "{}",
        stderr(&out)
    );
    let doc = json(&out);
    assert_eq!(doc["summary"]["errors"][0]["path"], format!("broken.txt (blob {hex})"));
}

#[test]
fn all_objects_finds_a_dangling_blob() {
    let repo = TestRepo::new();
    repo.commit_files("root", &[("README.md", "hello\n")]);
    let dangling = repo.repo.blob(token_line(48).as_bytes()).unwrap();
    let out = scan(&repo, &["--history"]);
    assert_eq!(code(&out), 0, "not reachable from any ref: {}", stdout(&out));
    let out = scan(&repo, &["--history", "--all-objects"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        git_locations(&out),
        [gh(48, &format!("(unreachable blob {dangling})"), 1, None)]
    );
}

#[test]
fn all_objects_requires_history() {
    let repo = TestRepo::new();
    let out = scan(&repo, &["--all-objects"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--history"), "{}", stderr(&out));
}

#[test]
fn range_does_not_blame_a_merge_for_what_its_other_parent_added() {
    // A pull request that merged main back in: the token was committed on main, not in the PR.
    let repo = TestRepo::new();
    repo.commit_files("root", &[("README.md", "hello\n")]);
    repo.branch("feature");
    let on_main = repo.commit_files("token on main", &[("main.env", &token_line(50))]);
    repo.checkout("feature");
    repo.commit_files("feature work", &[("feature.txt", "work\n")]);
    repo.add("main.env", token_line(50));
    repo.commit_merge("merge main into feature", on_main);
    let out = scan(&repo, &["--range", "main..feature"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(git_locations(&out), []);
}

#[test]
fn range_reports_a_secret_added_by_a_merge_resolution() {
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("README.md", "hello\n")]);
    repo.branch("feature");
    let on_main = repo.commit_files("main work", &[("main.txt", "main\n")]);
    repo.checkout("feature");
    repo.commit_files("feature work", &[("feature.txt", "work\n")]);
    repo.add("main.txt", "main\n");
    // Neither parent has this line: the merge itself adds it.
    repo.add("feature.txt", format!("work\n{}", token_line(51)));
    let merge = repo.commit_merge("merge main into feature", on_main);
    let out = scan(&repo, &["--range", &format!("{c0}..feature")]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(51, "feature.txt", 2, Some(merge))]);
}

#[test]
fn history_blames_the_branch_commit_not_the_merge() {
    let repo = TestRepo::new();
    repo.commit_files("root", &[("README.md", "hello\n")]);
    repo.branch("feature");
    repo.checkout("feature");
    let added = repo.commit_files("token on feature", &[("feature.env", &token_line(52))]);
    repo.checkout("main");
    repo.commit_files("main work", &[("main.txt", "main\n")]);
    repo.add("feature.env", token_line(52));
    repo.commit_merge("merge feature", added);
    let out = scan(&repo, &["--history"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(52, "feature.env", 1, Some(added))]);
    assert_eq!(json(&out)["findings"][0]["history"]["present_at_head"], true);
}

#[test]
fn range_and_history_of_a_subdirectory_report_only_paths_under_it() {
    let repo = TestRepo::new();
    let c0 = repo.commit_files("root", &[("README.md", "hello\n")]);
    let c1 = repo.commit_files(
        "two services",
        &[("svc/api/.env", &token_line(60)), ("svc/web/.env", &token_line(61))],
    );
    // A monorepo's service: only its own paths are reported.
    let out = scan(&repo, &["--history", "svc/api"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(60, "svc/api/.env", 1, Some(c1))]);
    let range = format!("{c0}..{c1}");
    let out = scan(&repo, &["--range", &range, "svc/web"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(git_locations(&out), [gh(61, "svc/web/.env", 1, Some(c1))]);
    // The whole repository still reports both.
    let out = scan(&repo, &["--history"]);
    assert_eq!(git_locations(&out).len(), 2);
}

#[test]
fn a_mistyped_range_names_the_revision_without_blaming_shallow_clones() {
    let (repo, _, _) = history_repo();
    let out = repo.run(&["scan", "--range", "mian..HEAD"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("mian: not a commit"), "{err}");
    assert!(err.contains("git rev-parse"), "{err}");
    assert!(!err.contains("fetch-depth"), "{err}");
}

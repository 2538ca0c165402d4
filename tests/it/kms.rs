//! `leakseal kms check`: the fixtures under `fixtures/kms/` (one per format, valid and broken),
//! a policy with key sets and context, strict policy errors, git-crypt blobs read from git,
//! and the secret scanner leaving recognised ciphertexts alone.

use std::path::Path;

use crate::util::{code, fixture, json, stderr, stdout, TestRepo, Tree};

/// Copies `fixtures/kms/<dir>` into a fresh tree (fixtures are excluded from the default
/// policy inside this repository, so checks run on a copy).
fn tree_from(dir: &str) -> Tree {
    let tree = Tree::new();
    copy(&fixture(&format!("kms/{dir}")), tree.path());
    tree
}

fn copy(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// (kind, path, line) per location of a JSON report, sorted.
fn kinds(o: &std::process::Output) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for f in json(o)["findings"].as_array().unwrap() {
        let kind = f["rule_id"].as_str().unwrap().trim_start_matches("kms/").to_string();
        assert_eq!(f["kms"]["kind"].as_str().unwrap(), kind);
        for l in f["locations"].as_array().unwrap() {
            out.push((
                kind.clone(),
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn k(kind: &str, path: &str, line: u64) -> (String, String, u64) {
    (kind.into(), path.into(), line)
}

#[test]
fn every_valid_format_fixture_passes_the_default_policy() {
    let tree = tree_from("valid");
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(kinds(&out), []);
    let err = stderr(&out);
    assert!(err.contains("in 14 files"), "{err}");
    assert!(err.contains("policy: default policy"), "{err}");
}

#[test]
fn broken_values_get_their_kinds() {
    let tree = tree_from("invalid");
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        kinds(&out),
        [
            k("corrupted", ".env.production", 4),
            k("cross-environment-reuse", ".env.production", 8),
            k("cross-environment-reuse", ".env.staging", 1),
            k("emulator-ciphertext", ".env.production", 7),
            k("not-a-valid-ciphertext", ".env.production", 5),
            k("orphaned-sops-value", "orphaned-sops.yaml", 2),
            k("placeholder", ".env.production", 6),
            k("plaintext-secret", ".env.production", 1),
            k("plaintext-secret", "app.tfvars", 1),
            k("plaintext-secret", "k8s-secret.yaml", 7),
            k("plaintext-secret", "k8s-secret.yaml", 9),
            k("truncated", ".env.production", 2),
            k("truncated", ".env.production", 3),
        ]
    );
    // A file that does not parse is a warning naming it, not an error.
    let err = stderr(&out);
    assert!(
        err.contains("warning: broken.yaml: not checked: cannot parse as YAML: line 2"),
        "{err}"
    );
    // Reasons and report fields.
    let doc = json(&out);
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kms"]["key"] == "password" && f["rule_id"] == "kms/plaintext-secret")
        .unwrap();
    assert_eq!(f["kms"]["reasons"][0], "base64-is-not-encryption");
    let reuse = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "kms/cross-environment-reuse")
        .unwrap();
    assert_eq!(reuse["kms"]["format"], "aws-kms");
    assert_eq!(reuse["kms"]["key_ref"], "555555555555");
    assert_eq!(reuse["kms"]["plaintext_length"], 32);
    assert_eq!(reuse["kms"]["severity"], "warning");
}

#[test]
fn default_policy_flags_plaintext_gold_key_and_accepts_a_blob() {
    let tree = tree_from("valid");
    let blob = std::fs::read_to_string(tree.path().join("aws-kms.env")).unwrap();
    let blob = blob
        .lines()
        .find(|l| l.starts_with("GOLD_API_KEY="))
        .unwrap()
        .to_string();
    let plain = format!("GOLD_API_KEY={}\n", crate::util::fake::base62(32, 7));
    let t = Tree::new();
    t.write(".env.production", &plain);
    let out = t.run(&["kms", "check", "--color", "never", "."]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("kms/plaintext-secret"), "{text}");
    assert!(text.contains(".env.production:1:14"), "{text}");
    assert!(text.contains("env prod"), "{text}");
    // Never the plaintext itself.
    assert!(!text.contains(&plain.trim()[13..]), "{text}");
    t.write(".env.production", format!("{blob}\n"));
    let out = t.run(&["kms", "check", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn policy_keysets_pins_and_context() {
    let tree = tree_from("policy");
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        kinds(&out),
        [
            k("disallowed-format", "prod/app.env", 7),
            k("encryption-context-mismatch", "prod/esdk.yaml", 1),
            k("key-unverifiable", "dev/app.env", 1),
            k("missing-encryption-context", "prod/app.env", 5),
            k("wrong-key", "prod/app.env", 5),
        ]
    );
    assert!(stderr(&out).contains(".leakseal.toml"), "{}", stderr(&out));
    // The scanner reads the same config and ignores [kms].
    let out = tree.run(&["scan", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn unknown_policy_field_is_one_line_naming_file_and_field() {
    let tree = Tree::new();
    tree.write(
        ".leakseal.toml",
        "[kms]\nversion = 1\n[[kms.rules]]\nid = 'a'\nfiles = ['*.env']\nrequre = 'any'\n",
    );
    tree.write(".env", "A_TOKEN=x\n");
    let out = tree.run(&["kms", "check", "."]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(".leakseal.toml:") && err.contains("field 'requre'"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The rules loader still accepts a config with a valid [kms] section.
    tree.write(".leakseal.toml", "[kms]\nversion = 1\n");
    assert_eq!(code(&tree.run(&["scan", "."])), 0);
}

#[test]
fn policy_file_pointed_to_by_the_config() {
    let tree = Tree::new();
    tree.write(".leakseal.toml", "[kms]\npolicy = 'ci/kms.toml'\n");
    tree.write(
        "ci/kms.toml",
        "version = 1\n[[rules]]\nid = 'only-tokens'\nfiles = ['*.env']\nkeys = ['*_TOKEN']\nrequire = 'encrypted'\n",
    );
    tree.write(".env", "A_TOKEN=plain-token-value\nB_PASSWORD=plain-password\n");
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 1);
    assert_eq!(kinds(&out), [k("plaintext-secret", ".env", 1)]);
    let out = tree.run(&["kms", "check", "--policy", "missing.toml", "."]);
    assert_eq!(code(&out), 2);
}

#[test]
fn exit_zero_and_warnings_only() {
    let tree = Tree::new();
    tree.write(".env", "A_TOKEN=changeme\n");
    let out = tree.run(&["kms", "check", "."]);
    assert_eq!(code(&out), 0, "a placeholder is a warning: {}", stdout(&out));
    assert!(stdout(&out).contains("kms/placeholder"));
    tree.write(".env", "A_TOKEN=plain-token-value\n");
    assert_eq!(code(&tree.run(&["kms", "check", "--exit-zero", "."])), 0);
    assert_eq!(code(&tree.run(&["kms", "check", "--exit-code", "9", "."])), 9);
}

fn commit_all(repo: &git2::Repository) {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new("T", "t@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents).unwrap();
}

#[test]
fn git_crypt_reads_the_blob_from_git() {
    let tree = Tree::new();
    let repo = git2::Repository::init(tree.path()).unwrap();
    tree.write(".gitattributes", "secrets/** filter=git-crypt diff=git-crypt\n");
    let mut encrypted = b"\0GITCRYPT\0".to_vec();
    encrypted.extend([7u8; 12 + 40]);
    tree.write("secrets/.env", &encrypted);
    commit_all(&repo);
    // Unlocked checkout: plaintext on disk, encrypted in git -> fine.
    tree.write("secrets/.env", "GOLD_API_KEY=plain-unlocked-value\n");
    let out = tree.run(&["kms", "check", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Committed without the filter applied: the blob is plaintext.
    let repo2 = git2::Repository::open(tree.path()).unwrap();
    commit_all(&repo2);
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["rule_id"], "kms/plaintext-secret");
    assert_eq!(doc["findings"][0]["kms"]["reasons"][0], "git-crypt-not-applied");
}

#[test]
fn scanner_does_not_report_recognised_ciphertexts() {
    // Every valid fixture holds secret-named keys with ciphertexts; the scanner must be quiet.
    let tree = tree_from("valid");
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // A short SOPS value is exactly what the generic password rule matches: dropped.
    let sops = "ENC[AES256_GCM,data:c2VjcmV0,iv:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,tag:CQkJCQkJCQkJCQkJCQkJCQ==,type:str]";
    let t = Tree::new();
    t.write("a.yaml", format!("password: \"{sops}\"\n"));
    let out = t.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // …while a plaintext in the same shape is still found.
    let t = Tree::new();
    t.write(
        "a.yaml",
        format!("password: \"{}\"\n", crate::util::fake::base62(24, 3)),
    );
    assert_eq!(code(&t.run(&["scan", "."])), 1);
}

/// The valid synthetic v2 blob line of the `valid` fixtures (`GOLD_API_KEY=AQICAH…`).
fn valid_blob_line() -> String {
    let text = std::fs::read_to_string(fixture("kms/valid/aws-kms.env")).unwrap();
    text.lines()
        .find(|l| l.starts_with("GOLD_API_KEY="))
        .unwrap()
        .to_string()
}

#[test]
fn staged_checks_the_index_not_the_work_tree() {
    let repo = TestRepo::new();
    let blob = valid_blob_line();
    let plain = format!("GOLD_API_KEY={}\n", crate::util::fake::base62(32, 11));
    repo.commit_files("init", &[("README.md", "hello\n")]);
    // Plaintext staged, the work tree already fixed: --staged judges what is committed.
    repo.write(".env.production", format!("{blob}\n"));
    repo.stage_content(".env.production", &plain);
    let out = repo.run(&["kms", "check", "--staged", "-f", "json"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(kinds(&out), [k("plaintext-secret", ".env.production", 1)]);
    assert_eq!(code(&repo.run(&["kms", "check", "."])), 0);
    // The reverse: a valid blob staged over a plaintext work tree passes.
    repo.write(".env.production", &plain);
    repo.stage_content(".env.production", format!("{blob}\n"));
    let out = repo.run(&["kms", "check", "--staged"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&repo.run(&["kms", "check", "."])), 1);
}

#[test]
fn staged_skips_files_the_commit_does_not_change() {
    let repo = TestRepo::new();
    let plain = format!("GOLD_API_KEY={}\n", crate::util::fake::base62(32, 12));
    repo.commit_files("old", &[(".env.production", plain.as_str())]);
    let out = repo.run(&["kms", "check", "--staged"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("in 0 files"), "{}", stderr(&out));
    // A path argument narrows the staged files.
    repo.add("config/.env.staging", &plain);
    let out = repo.run(&["kms", "check", "--staged", "-f", "json", "config"]);
    assert_eq!(code(&out), 1);
    assert_eq!(kinds(&out), [k("plaintext-secret", "config/.env.staging", 1)]);
    let out = repo.run(&["kms", "check", "--staged", "elsewhere"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn staged_outside_a_repository_exits_2() {
    let tree = Tree::new();
    tree.write(".env", "A_TOKEN=plain-token-value\n");
    let out = tree.run(&["kms", "check", "--staged"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--staged: not a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lockfile_pins_decide_wrong_key_offline() {
    let tree = Tree::new();
    let blob = valid_blob_line();
    tree.write(".env.production", format!("{blob}\n"));
    let policy = "[kms]\nversion = 1\n[kms.keysets.app]\nkey_arns = ['arn:aws:kms:eu-west-1:111122223333:key/a']\n\
                  [[kms.rules]]\nid = 'r'\nfiles = ['.env.production']\nkeys = ['*_API_KEY']\nkeyset = 'app'\n";
    tree.write(".leakseal.toml", policy);
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(kinds(&out), [k("key-unverifiable", ".env.production", 1)]);
    // The synthetic vector's key reference is 32 bytes of 0x11.
    let key_ref = "11".repeat(32);
    let lock = |arn: &str| format!("version = 1\n\n[[pin]]\nkey_ref = \"{key_ref}\"\nkey_arn = \"{arn}\"\n");
    tree.write(".leakseal-kms.lock", lock("arn:aws:kms:eu-west-1:111122223333:key/a"));
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(kinds(&out), []);
    tree.write(
        ".leakseal-kms.lock",
        lock("arn:aws:kms:eu-west-1:111122223333:key/other"),
    );
    let out = tree.run(&["kms", "check", "-f", "json", "."]);
    assert_eq!(code(&out), 1);
    assert_eq!(kinds(&out), [k("wrong-key", ".env.production", 1)]);
    assert!(stdout(&out).contains("key/other"), "{}", stdout(&out));
    // --lockfile names another file; a broken one is a one-line error.
    tree.write("ci/pins.lock", "version = 1\n[[pin]]\nkey_ref = 'zz'\nkey_arn = 'a'\n");
    let out = tree.run(&["kms", "check", "--lockfile", "ci/pins.lock", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = tree.run(&["kms", "check", "--lockfile", "missing.lock", "."]);
    assert_eq!(code(&out), 2);
}

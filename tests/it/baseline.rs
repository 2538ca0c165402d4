//! Baselines and suppressions: entries survive moves and reformatting, new secrets are new,
//! baselines hold no secrets and union-merge, the ignore file's expiry and unused reports,
//! migration from gitleaks and detect-secrets, and `explain`.

use std::process::Output;

use crate::util::{code, fake, fixture, json, locations, stderr, stdout, Tree};

const BASELINE: &str = ".leakseal-baseline.jsonl";

fn scan_with_baseline(tree: &Tree, extra: &[&str]) -> Output {
    let mut args = vec!["scan", "-f", "json", "--baseline", BASELINE];
    args.extend_from_slice(extra);
    args.push(".");
    tree.run(&args)
}

fn ok(o: &Output) {
    assert!(o.status.success(), "exit {}:\n{}{}", code(o), stdout(o), stderr(o));
}

fn baseline_text(tree: &Tree) -> String {
    std::fs::read_to_string(tree.path().join(BASELINE)).expect("baseline written")
}

/// (path, rule) of every entry of a baseline text.
fn entry_keys(text: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("entry is JSON");
            (
                e["path"].as_str().unwrap().to_string(),
                e["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn shifted_secret_stays_suppressed() {
    let tree = Tree::new();
    let token = fake::github(601);
    tree.write("app/config.py", format!("TOKEN = \"{token}\"\n"));
    ok(&tree.run(&["baseline", "create", "."]));
    tree.write(
        "app/config.py",
        format!(
            "{}\n# reformatted\nTOKEN   =   '{token}'  # moved\n",
            "import os\n".repeat(10)
        ),
    );
    let out = scan_with_baseline(&tree, &[]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("suppressed 1 location (1 by the baseline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rename_keeps_baseline_but_a_copy_is_reported() {
    let tree = Tree::new();
    let token = fake::github(602);
    tree.write("a.env", format!("GH={token}\n"));
    ok(&tree.run(&["baseline", "create", "."]));
    // Renamed: the baseline's file is gone, so the entry follows the secret.
    std::fs::rename(tree.path().join("a.env"), tree.path().join("b.env")).unwrap();
    assert_eq!(code(&scan_with_baseline(&tree, &[])), 0);
    // Copied while the original file still exists: a new exposure under scope `path`...
    ok(&tree.run(&["baseline", "create", "--force", "."]));
    tree.write("c.env", format!("OTHER={token}\n"));
    let out = scan_with_baseline(&tree, &[]);
    assert_eq!(code(&out), 1);
    let locs = locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].2, "c.env");
    // ...and not under scope `secret`.
    assert_eq!(code(&scan_with_baseline(&tree, &["--baseline-scope", "secret"])), 0);
}

#[test]
fn second_secret_on_a_known_line_is_one_finding() {
    let tree = Tree::new();
    let (a, b) = (fake::github(603), fake::github(604));
    tree.write("k.txt", format!("keys: {a}\n"));
    ok(&tree.run(&["baseline", "create", "."]));
    tree.write("k.txt", format!("keys: {a} {b}\n"));
    let out = scan_with_baseline(&tree, &[]);
    assert_eq!(code(&out), 1);
    let locs = locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].0, "github-token");
    assert_eq!(locs[0].3, 1);
    assert_eq!(locs[0].4, 8 + a.len() as u64);
}

#[test]
fn same_secret_under_another_rule_is_new() {
    let tree = Tree::new();
    let token = fake::github(605);
    tree.write("t.txt", format!("{token}\n"));
    ok(&tree.run(&["baseline", "create", "."]));
    // Forge an entry of the same fingerprint under another rule: it must not cover this one.
    let text = baseline_text(&tree).replace("\"github-token\"", "\"other-rule\"");
    tree.write(BASELINE, text);
    assert_eq!(code(&scan_with_baseline(&tree, &[])), 1);
}

#[test]
fn baseline_never_holds_a_secret() {
    let tree = Tree::new();
    let secrets = [
        fake::github(606),
        fake::github(607),
        fake::stripe_live(608),
        fake::aws_key_id(609),
    ];
    for (i, s) in secrets.iter().enumerate() {
        tree.write(&format!("dir {i}/f.txt"), format!("value = \"{s}\"\n"));
    }
    ok(&tree.run(&["baseline", "create", "."]));
    let text = baseline_text(&tree);
    assert!(text.lines().count() > 2, "{text}");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "secret in baseline:\n{text}");
        // Not even a redacted prefix beyond the provider's public marker.
        assert!(
            !text.contains(&s[..s.len() / 2]),
            "part of a secret in baseline:\n{text}"
        );
    }
    // No line numbers, timestamps or versions: only path, rule and fingerprint per entry.
    for line in text.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["fingerprint", "path", "rule"]);
    }
    // Paths are repository-relative with `/`.
    assert!(text.contains("\"path\":\"dir 0/f.txt\""), "{text}");
    // Regenerating gives the same bytes.
    let again = tree.run(&["baseline", "update", "."]);
    ok(&again);
    assert_eq!(baseline_text(&tree), text);
}

#[test]
fn write_baseline_on_a_scan_keeps_the_salt() {
    let tree = Tree::new();
    tree.write("x.txt", format!("{}\n", fake::github(610)));
    ok(&tree.run(&["baseline", "create", "."]));
    let first = baseline_text(&tree);
    tree.write("y.txt", format!("{}\n", fake::github(611)));
    let out = tree.run(&["scan", "--write-baseline", BASELINE, "."]);
    assert_eq!(code(&out), 1, "findings are still reported: {}", stderr(&out));
    let second = baseline_text(&tree);
    assert_eq!(first.lines().next(), second.lines().next(), "same header and salt");
    assert_eq!(second.lines().count(), 3);
    assert_eq!(code(&scan_with_baseline(&tree, &[])), 0);
}

#[test]
fn union_merge_of_two_branches_equals_a_fresh_baseline() {
    let tree = Tree::new();
    tree.write(".gitattributes", format!("{BASELINE} merge=union\n"));
    tree.write("main.txt", format!("{}\n", fake::github(620)));
    ok(&tree.run(&["baseline", "create", "."]));
    let base = baseline_text(&tree);
    // Branch one adds a secret and updates the baseline.
    tree.write("one.txt", format!("{}\n", fake::github(621)));
    ok(&tree.run(&["baseline", "update", "."]));
    let ours = baseline_text(&tree);
    // Branch two, from the same base, adds another.
    std::fs::remove_file(tree.path().join("one.txt")).unwrap();
    tree.write(BASELINE, &base);
    tree.write(
        "two.txt",
        format!("{}\n{}\n", fake::github(622), fake::stripe_live(623)),
    );
    ok(&tree.run(&["baseline", "update", "."]));
    let theirs = baseline_text(&tree);
    // git's union merge of the three versions (what `merge=union` runs on a conflict).
    let dir = tree.mkdir("merge");
    std::fs::write(dir.join("ours"), &ours).unwrap();
    std::fs::write(dir.join("base"), &base).unwrap();
    std::fs::write(dir.join("theirs"), &theirs).unwrap();
    let st = std::process::Command::new("git")
        .args(["merge-file", "--union", "ours", "base", "theirs"])
        .current_dir(&dir)
        .status()
        .expect("git runs");
    assert!(st.success());
    let merged = std::fs::read_to_string(dir.join("ours")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(merged.matches("leakseal-baseline").count(), 1, "{merged}");
    // The merged tree has every file: the merged baseline covers it all...
    tree.write("one.txt", format!("{}\n", fake::github(621)));
    tree.write(BASELINE, &merged);
    let out = scan_with_baseline(&tree, &[]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // ...updating or pruning it changes no entry...
    let out = tree.run(&["baseline", "update", "."]);
    assert!(stderr(&out).contains("0 new entries"), "{}", stderr(&out));
    let out = tree.run(&["baseline", "prune", "."]);
    assert!(stderr(&out).contains("pruned 0 entries"), "{}", stderr(&out));
    let normalized = baseline_text(&tree);
    // ...and it lists what a fresh baseline of the merged tree lists.
    ok(&tree.run(&["baseline", "create", "--force", "--baseline", "fresh.jsonl", "."]));
    let fresh = std::fs::read_to_string(tree.path().join("fresh.jsonl")).unwrap();
    assert_eq!(entry_keys(&normalized), entry_keys(&fresh));
    assert_eq!(entry_keys(&merged), entry_keys(&fresh));
    assert_eq!(entry_keys(&fresh).len(), 4);
}

#[test]
fn prune_drops_entries_no_longer_found() {
    let tree = Tree::new();
    tree.write("a.txt", format!("{}\n", fake::github(630)));
    tree.write("b.txt", format!("{}\n", fake::github(631)));
    ok(&tree.run(&["baseline", "create", "."]));
    std::fs::remove_file(tree.path().join("b.txt")).unwrap();
    let out = tree.run(&["baseline", "prune", "."]);
    ok(&out);
    assert!(stderr(&out).contains("pruned 1 entry"), "{}", stderr(&out));
    assert_eq!(
        entry_keys(&baseline_text(&tree)),
        [("a.txt".to_string(), "github-token".to_string())]
    );
}

#[test]
fn create_refuses_to_replace_a_baseline() {
    let tree = Tree::new();
    ok(&tree.run(&["baseline", "create", "."]));
    let out = tree.run(&["baseline", "create", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("baseline already exists"), "{}", stderr(&out));
}

#[test]
fn staged_scan_honours_the_baseline() {
    let tree = Tree::new();
    let git = |args: &[&str]| {
        let st = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(tree.path())
            .env("HOME", tree.path())
            .output()
            .expect("git runs");
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    };
    git(&["init", "-q", "."]);
    let token = fake::github(640);
    tree.write("cfg.txt", format!("t = {token}\n"));
    git(&["add", "cfg.txt"]);
    git(&["commit", "-q", "-m", "one"]);
    ok(&tree.run(&["baseline", "create", "."]));
    // Ten lines down and reformatted: the line is an added line of the staged change.
    tree.write("cfg.txt", format!("{}t: \"{token}\"\n", "pad\n".repeat(10)));
    git(&["add", "cfg.txt"]);
    let out = tree.run(&["scan", "--staged", "--baseline", BASELINE]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = tree.run(&["scan", "--staged"]);
    assert_eq!(code(&out), 1, "without the baseline the changed line is reported");
}

#[test]
fn ignore_file_expiry_and_unused_entries() {
    let tree = Tree::new();
    let (kept, expired) = (fake::github(650), fake::github(651));
    tree.write("tests/fixture.txt", format!("{}\n", fake::github(652)));
    tree.write("src/a.txt", format!("{kept}\n"));
    tree.write("src/b.txt", format!("{expired}\n"));
    let report = tree.run(&["scan", "-f", "json", "src/b.txt"]);
    let fp = json(&report)["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    tree.write(
        ".leakseal-ignore.toml",
        format!(
            "[[ignore]]\npath = \"tests/**\"\nreason = \"synthetic\"\nowner = \"qa\"\n\n\
             [[ignore]]\nfingerprint = \"{fp}\"\nreason = \"rotated\"\nexpires = 2000-01-01\n\n\
             [[ignore]]\npath = \"old/**\"\nrule = \"github-token\"\nreason = \"gone\"\nexpires = \"2999-12-31\"\n"
        ),
    );
    let out = tree.run(&["scan", "-f", "json", "--report-unused", "."]);
    assert_eq!(code(&out), 1);
    let paths: Vec<String> = locations(&out).into_iter().map(|l| l.2).collect();
    assert_eq!(paths, ["src/a.txt", "src/b.txt"], "expired entry no longer suppresses");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: .leakseal-ignore.toml:6: ignore entry fingerprint {fp} expired on 2000-01-01: it no longer suppresses and 1 location it covers is reported"
        )),
        "{err}"
    );
    assert!(
        err.contains("unused: .leakseal-ignore.toml:11: ignore entry path 'old/**' (rule github-token) matched nothing (reason: gone)"),
        "{err}"
    );
    assert!(!err.contains("unused: .leakseal-ignore.toml:1:"), "{err}");
    // Unused entries fail only with --fail-on-unused.
    std::fs::remove_file(tree.path().join("src/a.txt")).unwrap();
    std::fs::remove_file(tree.path().join("src/b.txt")).unwrap();
    assert_eq!(code(&tree.run(&["scan", "--report-unused", "."])), 0);
    assert_eq!(code(&tree.run(&["scan", "--fail-on-unused", "."])), 1);
}

#[test]
fn ignore_entry_needs_a_reason() {
    let tree = Tree::new();
    tree.write(".leakseal-ignore.toml", "[[ignore]]\npath = \"x/**\"\n");
    let out = tree.run(&["scan", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: .leakseal-ignore.toml:1: ignore entry: 'reason' is required\n  hint: say why this finding is safe to ignore\n"
    );
}

/// A tree for the import tests: the token the fixtures name on line 3 of config/app.env, and
/// one they do not know.
fn import_tree() -> Tree {
    let tree = Tree::new();
    tree.write(
        "config/app.env",
        format!("# app\n\nGITHUB_TOKEN={}\n", fake::github(701)),
    );
    tree.write("other.txt", format!("{}\n", fake::github(702)));
    tree
}

fn check_import(fixture_name: &str, expect: &str) {
    let tree = import_tree();
    let foreign = fixture(&format!("baseline/{fixture_name}"));
    let out = tree.run(&["baseline", "import", foreign.to_str().unwrap(), "."]);
    ok(&out);
    assert!(stderr(&out).contains(expect), "{}", stderr(&out));
    assert_eq!(
        entry_keys(&baseline_text(&tree)),
        [("config/app.env".to_string(), "github-token".to_string())]
    );
    let out = scan_with_baseline(&tree, &[]);
    let paths: Vec<String> = locations(&out).into_iter().map(|l| l.2).collect();
    assert_eq!(paths, ["other.txt"]);
}

#[test]
fn import_gitleaksignore() {
    check_import("gitleaksignore", "(.gitleaksignore): 2 of 3 entries matched");
}

#[test]
fn import_gitleaks_json_report() {
    check_import("gitleaks-report.json", "(gitleaks JSON report): 1 of 2 entries matched");
}

#[test]
fn import_detect_secrets_baseline() {
    // The fixture's hashed_secret is SHA-1 of this token.
    assert_eq!(
        leakseal::baseline::import::sha1_hex(fake::github(701).as_bytes()),
        "70b6a58597afcfd26f811ce17395bba6860da057"
    );
    check_import(
        "detect-secrets.baseline",
        "(detect-secrets baseline): 1 of 2 entries matched",
    );
}

#[test]
fn explain_traces_a_line_and_a_fingerprint() {
    let tree = Tree::new();
    let token = fake::github(660);
    tree.write("s.txt", format!("a\ntoken = \"{token}\"\n"));
    let out = tree.run(&["explain", "s.txt:2"]);
    ok(&out);
    let text = stdout(&out);
    for want in [
        "s.txt:2: token = \"ghp_*****\"",
        "rule github-token",
        "keyword: 'ghp_' at column 10",
        "regex: match at 2:10-2:49, secret at 2:10-2:49",
        "entropy: ",
        "vs threshold",
        "allowlist: none matches",
        "inline marker: none",
        "baseline: none given",
        "=> reported",
        "fingerprint = \"",
        "`leakseal:allow`",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains(&token), "explain must redact:\n{text}");

    ok(&tree.run(&["baseline", "create", "."]));
    let report = tree.run(&[
        "scan",
        "-f",
        "json",
        "--baseline",
        BASELINE,
        "--exit-zero",
        "--write-baseline",
        "x.jsonl",
        ".",
    ]);
    assert!(locations(&report).is_empty());
    let fp = {
        let text = baseline_text(&tree);
        let e: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        e["fingerprint"].as_str().unwrap().to_string()
    };
    let out = tree.run(&["explain", &fp, "--baseline", BASELINE, "."]);
    ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("fingerprint {fp} = rule github-token")),
        "{text}"
    );
    assert!(
        text.contains("baseline: .leakseal-baseline.jsonl has this secret at s.txt"),
        "{text}"
    );
    assert!(text.contains("=> suppressed by .leakseal-baseline.jsonl"), "{text}");
}

#[test]
fn explain_names_the_ignore_entry() {
    let tree = Tree::new();
    tree.write("t/s.txt", format!("{}\n", fake::github(661)));
    tree.write(
        ".leakseal-ignore.toml",
        "[[ignore]]\npath = \"t/*\"\nreason = \"demo\"\n",
    );
    let out = tree.run(&["explain", "t/s.txt:1"]);
    ok(&out);
    assert!(
        stdout(&out).contains("ignore file: .leakseal-ignore.toml:1 matches (path 't/*'; reason: demo)"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("=> suppressed by .leakseal-ignore.toml:1"));
}

#[test]
fn history_scan_keeps_a_renamed_secret_suppressed() {
    let tree = Tree::new();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(tree.path())
            .env("HOME", tree.path())
            .output()
            .expect("git runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "-q", "."]);
    tree.write("old.txt", format!("t = {}\n", fake::github(670)));
    git(&["add", "old.txt"]);
    git(&["commit", "-q", "-m", "one"]);
    ok(&tree.run(&["baseline", "create", "--history", "."]));
    assert_eq!(
        entry_keys(&baseline_text(&tree)),
        [("old.txt".to_string(), "github-token".to_string())]
    );
    git(&["mv", "old.txt", "new.txt"]);
    git(&["commit", "-q", "-m", "rename"]);
    let out = tree.run(&["scan", "--history", "--baseline", BASELINE, "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // A new secret in history is still reported.
    tree.write("more.txt", format!("t = {}\n", fake::github(671)));
    git(&["add", "more.txt"]);
    git(&["commit", "-q", "-m", "more"]);
    let out = tree.run(&["scan", "--history", "-f", "json", "--baseline", BASELINE, "."]);
    let paths: Vec<String> = locations(&out).into_iter().map(|l| l.2).collect();
    assert_eq!(paths, ["more.txt"]);
}

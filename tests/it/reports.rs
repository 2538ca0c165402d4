//! Reports: one snapshot per format of one fixture tree, the empty report, redaction and
//! `--show-secrets`, `--output`, colour, and the summary line.

use std::process::Output;

use crate::util::{assert_cli_snapshot, code, fake, stderr, stdout, Tree};

/// A small project with five findings (six locations) of different rules, plus a clean file.
/// Returns the tree and every raw secret in it.
pub(crate) fn fixture_tree() -> (Tree, Vec<String>) {
    let tree = Tree::new();
    let gh = fake::github(1);
    let aws = fake::aws_key_id(2);
    let stripe = fake::stripe_live(3);
    let generic = fake::base62(18, 4);
    let key = fake::private_key(5, 3);
    tree.write(
        "config/.env",
        format!("# service settings\nGITHUB_TOKEN={gh}\nAWS_ACCESS_KEY_ID={aws}\n"),
    );
    tree.write(
        "src/app.py",
        format!("import stripe\n\nSTRIPE_KEY = \"{stripe}\"\nDB_PASSWORD = \"{generic}\"\n"),
    );
    tree.write("docs/setup.md", format!("# Setup\n\nCI uses `{gh}` for now.\n"));
    tree.write("keys/deploy.pem", &key);
    tree.write("README.txt", "Nothing secret here.\n");
    let mut secrets = vec![gh, aws, stripe, generic];
    // A multi-line secret is checked line by line.
    secrets.extend(key.lines().filter(|l| !l.starts_with("-----")).map(str::to_string));
    (tree, secrets)
}

fn scan(tree: &Tree, args: &[&str]) -> Output {
    let mut all = vec!["scan", "--color", "never"];
    all.extend_from_slice(args);
    all.push(".");
    tree.run(&all)
}

#[test]
fn text_report() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "text"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_cli_snapshot!("text_report", out);
}

#[test]
fn json_report() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = crate::util::json(&out);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["summary"]["findings"], 5);
    assert_eq!(doc["summary"]["locations"], 6);
    assert_cli_snapshot!("json_report", out);
}

#[test]
fn jsonl_report() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "jsonl"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect();
    assert_eq!(lines.len(), 5);
    // The same finding objects as the JSON report, in the same order.
    let doc = crate::util::json(&scan(&tree, &["--format", "json"]));
    assert_eq!(&lines, doc["findings"].as_array().unwrap());
    assert_cli_snapshot!("jsonl_report", out);
}

#[test]
fn empty_report_text() {
    let tree = Tree::new();
    tree.write("README.txt", "Nothing secret here.\n");
    let out = scan(&tree, &["--format", "text"]);
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert_cli_snapshot!("empty_report_text", out);
}

#[test]
fn empty_report_json() {
    let tree = Tree::new();
    tree.write("README.txt", "Nothing secret here.\n");
    let out = scan(&tree, &["--format", "json"]);
    assert_eq!(code(&out), 0);
    let doc = crate::util::json(&out);
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(doc["summary"]["files_scanned"], 1);
    assert_cli_snapshot!("empty_report_json", out);
}

#[test]
fn empty_report_jsonl() {
    let tree = Tree::new();
    tree.write("README.txt", "Nothing secret here.\n");
    let out = scan(&tree, &["--format", "jsonl"]);
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert_cli_snapshot!("empty_report_jsonl", out);
}

#[test]
fn default_output_never_contains_a_full_secret() {
    let (tree, secrets) = fixture_tree();
    for format in ["text", "json", "jsonl"] {
        let out = scan(&tree, &["--format", format]);
        assert_eq!(code(&out), 1);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for s in &secrets {
            assert!(!all.contains(s.as_str()), "--format {format} shows a secret:\n{all}");
        }
    }
}

/// A secret that is not reported (under `--min-confidence`, or in the baseline) is still
/// redacted in the context line of a reported secret beside it.
#[test]
fn unreported_secrets_are_redacted_in_the_contexts_of_reported_ones() {
    let tree = Tree::new();
    let aws = fake::aws_key_id(7);
    let generic = fake::base62(18, 8);
    let both = format!("const k = \"{aws}\"; const db_password = \"{generic}\";\n");
    tree.write("src/app.js", &both);
    for format in ["text", "json", "jsonl", "sarif", "csv", "junit"] {
        // The generic rule's finding is low-confidence: dropped by the filter.
        let out = scan(&tree, &["--format", format, "--min-confidence", "medium"]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains("aws-access-key-id"), "--format {format}:\n{all}");
        assert!(!all.contains("generic-secret-assignment"), "--format {format}:\n{all}");
        assert!(
            !all.contains(&generic) && !all.contains(&aws),
            "--format {format} shows a secret:\n{all}"
        );
    }
    // The password is known (in the baseline); the AWS key beside it is new.
    tree.write("src/app.js", format!("const db_password = \"{generic}\";\n"));
    let baseline = tree.path().join("known.jsonl");
    let written = scan(&tree, &["--exit-zero", "--write-baseline", baseline.to_str().unwrap()]);
    assert_eq!(code(&written), 0, "{}", stderr(&written));
    tree.write("src/app.js", &both);
    let out = scan(&tree, &["--format", "text", "--baseline", baseline.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("aws-access-key-id") && !all.contains("generic-secret-assignment"),
        "{all}"
    );
    assert!(
        !all.contains(&generic) && !all.contains(&aws),
        "a baselined secret is shown:\n{all}"
    );
}

#[test]
fn show_secrets_shows_every_secret_in_full() {
    let (tree, secrets) = fixture_tree();
    for format in ["text", "json", "jsonl"] {
        let out = scan(&tree, &["--format", format, "--show-secrets"]);
        assert_eq!(code(&out), 1);
        let text = stdout(&out);
        for s in &secrets {
            assert!(text.contains(s.as_str()), "--format {format} hides {s}:\n{text}");
        }
    }
    let doc = crate::util::json(&scan(&tree, &["--format", "json", "--show-secrets"]));
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["secret_redacted"] == false));
}

#[test]
fn context_never_shows_another_secret_on_the_same_line() {
    // Regression: the context of one finding showed, in full, a second secret on its line.
    let tree = Tree::new();
    let id = fake::aws_key_id(6);
    let key = fake::aws_secret(6);
    let gh = fake::github(7);
    tree.write("creds.csv", format!("user,{id},{key}\n"));
    tree.write("twice.txt", format!("a={gh} b={gh}\n"));
    for format in ["text", "json", "jsonl"] {
        let out = scan(&tree, &["--format", format]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for s in [&id, &key, &gh] {
            assert!(!all.contains(s.as_str()), "--format {format} shows {s}:\n{all}");
        }
    }
    let doc = crate::util::json(&scan(&tree, &["--format", "json"]));
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["aws-access-key-id", "aws-secret-access-key-near-id", "github-token"]
    );
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "json", "--output", "report.json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).starts_with("leakseal: 5 findings (6 locations)"),
        "{}",
        stderr(&out)
    );
    let written = std::fs::read(tree.path().join("report.json")).expect("report written");
    let doc: serde_json::Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(doc["summary"]["findings"], 5);
}

#[test]
fn output_file_in_a_missing_directory_is_an_error() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--output", "no/such/dir/report.txt"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: no/such/dir/report.txt: cannot write report: no such file or directory\n"
    );
}

const ESC: &str = "\x1b[";

#[test]
fn color_always_emits_ansi_escapes() {
    let (tree, _) = fixture_tree();
    let out = tree.run(&["scan", "--color", "always", "."]);
    assert!(stdout(&out).contains(ESC), "{}", stdout(&out));
    let out = tree.run(&["scan", "--color", "never", "."]);
    assert!(!stdout(&out).contains(ESC));
    // JSON is never coloured.
    let out = tree.run(&["scan", "--color", "always", "-f", "json", "."]);
    assert!(!stdout(&out).contains(ESC));
    crate::util::json(&out);
}

/// Runs `leakseal scan --color auto .` on a pseudo-terminal (util-linux `script`), so that
/// `auto` has a terminal to decide on. `None` when `script` is not available.
#[cfg(unix)]
fn scan_on_a_terminal(tree: &Tree, no_color: bool) -> Option<String> {
    let bin = assert_cmd::cargo::cargo_bin("leakseal");
    let mut script = std::process::Command::new("script");
    script
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", tree.path())
        .current_dir(tree.path());
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script
        .args(["-qec", &format!("'{}' scan --color auto .", bin.display()), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    // `script -e` passes the scan's exit code on: 1 for findings.
    (out.status.code() == Some(1)).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(unix)]
#[test]
fn no_color_env_turns_auto_colour_off_on_a_terminal() {
    let (tree, _) = fixture_tree();
    let Some(coloured) = scan_on_a_terminal(&tree, false) else {
        eprintln!("skipped: `script` is not available");
        return;
    };
    assert!(coloured.contains("github-token"), "{coloured}");
    assert!(coloured.contains(ESC), "auto colours on a terminal:\n{coloured}");
    let plain = scan_on_a_terminal(&tree, true).expect("script ran before");
    assert!(plain.contains("github-token"), "{plain}");
    assert!(!plain.contains(ESC), "NO_COLOR=1 with --color auto:\n{plain}");
}

#[test]
fn no_color_env_with_auto_on_a_pipe() {
    let (tree, _) = fixture_tree();
    let out = tree
        .cmd()
        .env("NO_COLOR", "1")
        .args(["scan", "--color", "auto", "."])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(!stdout(&out).contains(ESC));
    assert!(!stderr(&out).contains(ESC));
}

/// The summary line with the duration taken out.
fn summary(out: &Output) -> String {
    let re = regex::Regex::new(r"scanned in \d+\.\d\ds").unwrap();
    let err = stderr(out);
    let last = err.lines().last().unwrap_or_default();
    re.replace(last, "scanned in [DURATION]").into_owned()
}

#[test]
fn summary_line_counts_files_findings_locations_and_skips() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &[]);
    assert_eq!(
        summary(&out),
        format!(
            "leakseal: 5 findings (6 locations) in 5 files ({} B) scanned in [DURATION]",
            total_bytes(&tree)
        )
    );
    let mut bin = vec![0u8; 16];
    bin.extend_from_slice(b"binary");
    tree.write("blob.bin", bin);
    tree.write("huge.txt", "z".repeat(5000));
    let out = scan(&tree, &["--max-file-size", "4K"]);
    assert_eq!(
        summary(&out),
        format!(
            "leakseal: 5 findings (6 locations) in 5 files ({} B) scanned in [DURATION]; \
             skipped 2 (1 binary, 1 over size limit)",
            total_bytes(&tree)
        )
    );

    let one = Tree::new();
    one.write("a.txt", format!("{}\n", fake::github(8)));
    let out = scan(&one, &[]);
    assert_eq!(
        summary(&out),
        "leakseal: 1 finding (1 location) in 1 file (41 B) scanned in [DURATION]"
    );
    let out = scan(&one, &["--quiet"]);
    assert_eq!(stderr(&out), "");
}

fn total_bytes(tree: &Tree) -> u64 {
    [
        "config/.env",
        "src/app.py",
        "docs/setup.md",
        "keys/deploy.pem",
        "README.txt",
    ]
    .iter()
    .map(|p| std::fs::metadata(tree.path().join(p)).unwrap().len())
    .sum()
}

#[test]
fn every_finding_has_a_severity_and_rules_can_set_it() {
    let tree = Tree::new();
    tree.write("keys/deploy.pem", fake::private_key(40, 4));
    tree.write("ci.env", format!("GITHUB_TOKEN={}\n", fake::github(41)));
    tree.write("demo.txt", format!("{}\n", fake::demo(42)));
    tree.write(
        "rules.toml",
        concat!(
            "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"demo-token\"\ndescription = \"Demo\"\n",
            "regex = '''demo_[a-z0-9]{16}'''\nkeywords = [\"demo_\"]\nconfidence = \"high\"\nseverity = \"info\"\n"
        ),
    );
    let out = tree.run(&["scan", "-c", "rules.toml", "-f", "json", "--exclude", "rules.toml", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = crate::util::json(&out);
    let sev: std::collections::BTreeMap<String, String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(sev["private-key"], "critical");
    assert_eq!(sev["github-token"], "high", "defaults from a high confidence");
    assert_eq!(sev["demo-token"], "info");

    let out = tree.run(&[
        "scan",
        "-c",
        "rules.toml",
        "-f",
        "sarif",
        "--exclude",
        "rules.toml",
        ".",
    ]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let score = |id: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(score("private-key"), "9.5");
    assert_eq!(score("github-token"), "9.0");
    assert_eq!(score("demo-token"), "2.0");

    tree.write(
        "rules.toml",
        "[[rules]]\nid = \"x\"\nregex = 'x'\nseverity = \"severe\"\n",
    );
    let out = tree.run(&["scan", "-c", "rules.toml", "."]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("rule 'x': field 'severity': must be one of"), "{err}");
}

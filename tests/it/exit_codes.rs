//! Exit codes: 0 clean, 1 (or `--exit-code N`) for findings, 0 with `--exit-zero`, 2 for
//! errors, which win over findings without hiding them.

use crate::util::{code, fake, stderr, Tree};

fn tree_with_finding() -> Tree {
    let tree = Tree::new();
    tree.write("a.txt", format!("{}\n", fake::github(150)));
    tree
}

#[test]
fn clean_scan_exits_0() {
    let tree = Tree::new();
    tree.write("a.txt", "hello\n");
    assert_eq!(code(&tree.run(&["scan", "."])), 0);
}

#[test]
fn empty_directory_exits_0() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn findings_exit_1() {
    assert_eq!(code(&tree_with_finding().run(&["scan", "."])), 1);
}

#[test]
fn exit_code_option_sets_the_findings_code() {
    let tree = tree_with_finding();
    assert_eq!(code(&tree.run(&["scan", "--exit-code", "7", "."])), 7);
    // Without findings it does not apply.
    let clean = Tree::new();
    clean.write("a.txt", "hello\n");
    assert_eq!(code(&clean.run(&["scan", "--exit-code", "7", "."])), 0);
}

#[test]
fn exit_zero_with_findings() {
    let tree = tree_with_finding();
    let out = tree.run(&["scan", "--exit-zero", "-f", "json", "."]);
    assert_eq!(code(&out), 0);
    assert_eq!(crate::util::rule_ids(&out), ["github-token"]);
}

#[test]
fn error_and_findings_exit_2_and_the_report_is_still_written() {
    let tree = tree_with_finding();
    let out = tree.run(&["scan", "-f", "json", "--exit-zero", "a.txt", "missing.txt"]);
    assert_eq!(code(&out), 2, "errors win over findings and --exit-zero");
    assert_eq!(crate::util::rule_ids(&out), ["github-token"]);
    let doc = crate::util::json(&out);
    assert_eq!(doc["summary"]["errors"][0]["path"], "missing.txt");
    let err = stderr(&out);
    assert!(err.contains("error: missing.txt: no such file or directory"), "{err}");
    assert!(err.contains("leakseal: 1 finding (1 location) in 1 file"), "{err}");
    assert!(err.contains("; 1 error"), "{err}");

    let out = tree.run(&["scan", "--exit-code", "7", "-o", "report.txt", "a.txt", "missing.txt"]);
    assert_eq!(code(&out), 2);
    let report = std::fs::read_to_string(tree.path().join("report.txt")).unwrap();
    assert!(report.contains("github-token"), "{report}");
}

#[test]
fn config_error_exits_2() {
    let tree = tree_with_finding();
    tree.write(".leakseal.toml", "[[rules]]\nid = 'x'\nregex = '('\n");
    let out = tree.run(&["scan", "--exit-zero", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn usage_error_exits_2() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--no-such-flag"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--no-such-flag"));
}

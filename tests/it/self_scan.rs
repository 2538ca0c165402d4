//! The repository scanned with its own configuration is clean: rule examples and fixtures are
//! allowlisted by `.leakseal.toml`, and nothing else holds a secret (tests generate theirs).

use crate::util::{code, crate_root, stderr, stdout, Tree};

#[test]
fn repository_is_clean_under_its_own_config() {
    let tree = Tree::new();
    let out = tree
        .cmd()
        .args(["scan", "--color", "never"])
        .arg(crate_root())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("0 findings"), "{}", stderr(&out));
}

#[test]
fn rule_examples_are_found_without_the_allowlist() {
    // The allowlist is what keeps the self-scan clean, not a blind scanner: the rule files'
    // (synthetic) examples are findings under the default rules alone.
    let tree = Tree::new();
    let out = tree
        .cmd()
        .args(["scan", "--color", "never", "--config"])
        .arg(crate_root().join("fixtures/configs/extend-default-only.toml"))
        .arg(crate_root().join("rules"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
}

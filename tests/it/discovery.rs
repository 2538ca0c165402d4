//! Config discovery: `.leakseal.toml`, then `.gitleaks.toml` at the scan root, then the
//! embedded default; allowlist paths are relative to the config file's directory.

use crate::util::{code, fake, locations, rule_ids, stderr, Tree};

/// A config with one rule, `id`, reporting `demo_` tokens.
fn demo_config(id: &str) -> String {
    format!("[[rules]]\nid = \"{id}\"\nregex = '''\\bdemo_[a-z0-9]{{16}}\\b'''\nkeywords = [\"demo_\"]\n")
}

fn tree_with_tokens() -> Tree {
    let tree = Tree::new();
    tree.write("app.txt", format!("a = {}\nb = {}\n", fake::demo(10), fake::github(10)));
    tree
}

#[test]
fn leakseal_toml_wins_over_gitleaks_toml() {
    let tree = tree_with_tokens();
    tree.write(".leakseal.toml", demo_config("from-leakseal-toml"));
    tree.write(".gitleaks.toml", demo_config("from-gitleaks-toml"));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(rule_ids(&out), ["from-leakseal-toml"]);
}

#[test]
fn gitleaks_toml_is_used_when_alone() {
    let tree = tree_with_tokens();
    tree.write(".gitleaks.toml", demo_config("from-gitleaks-toml"));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(rule_ids(&out), ["from-gitleaks-toml"]);
}

#[test]
fn embedded_default_rules_without_a_config() {
    let tree = tree_with_tokens();
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // The default rules know GitHub tokens, not the test configs' demo tokens.
    assert_eq!(rule_ids(&out), ["github-token"]);
}

#[test]
fn config_is_found_at_the_scan_root_not_the_cwd() {
    let tree = Tree::new();
    tree.write("proj/.leakseal.toml", demo_config("from-proj"));
    tree.write("proj/app.txt", format!("a = {}\n", fake::demo(11)));
    let out = tree.run(&["scan", "-f", "json", "proj"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(rule_ids(&out), ["from-proj"]);
}

#[test]
fn allowlist_paths_are_relative_to_the_config_directory() {
    let tree = Tree::new();
    tree.write(
        "proj/.leakseal.toml",
        "[extend]\nuseDefault = true\n\n[[allowlists]]\ndescription = \"test data\"\npaths = ['''^testdata/''']\n",
    );
    tree.write("proj/testdata/sample.txt", format!("t = {}\n", fake::github(12)));
    tree.write("proj/src/app.txt", format!("t = {}\n", fake::github(13)));
    // A repository: config discovery walks up from the scan root to the repository root.
    tree.write("proj/.git/HEAD", "ref: refs/heads/main\n");

    // Scanning the project from outside it: paths are matched as `testdata/...`, not
    // `proj/testdata/...`.
    let out = tree.run(&["scan", "-f", "json", "proj"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].2, "proj/src/app.txt");

    // Scanning only the allowlisted directory finds the config above it and still allows it.
    let out = tree.run(&["scan", "-f", "json", "proj/testdata"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(locations(&out), []);

    // And from inside the project.
    let out = crate::util::leakseal_in(&tree.path().join("proj"))
        .args(["scan", "-f", "json", "."])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].2, "src/app.txt");
}

#[test]
fn config_above_the_scan_root_outside_a_repository_is_not_used() {
    let tree = Tree::new();
    tree.write(
        ".leakseal.toml",
        "[extend]\nuseDefault = true\n\n[[allowlists]]\ndescription = \"everything\"\npaths = ['''.*''']\n",
    );
    tree.write("sub/app.txt", format!("t = {}\n", fake::github(14)));
    // No .git anywhere: only the scan root itself is searched, so the stray config above it
    // does not silence the finding.
    let out = tree.run(&["scan", "-f", "json", "sub"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(locations(&out).len(), 1);
}

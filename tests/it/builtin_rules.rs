//! The built-in rules: every example through the whole scanner (`rules check`), every file in
//! `rules/` embedded, and the linter naming a failing example.

use crate::util::{assert_cli_snapshot, code, crate_root, fixture, stderr, stdout, Tree};

#[test]
fn builtin_rules_pass_rules_check() {
    let tree = Tree::new();
    let out = tree.run(&["rules", "check"]);
    assert_eq!(code(&out), 0, "problems:\n{}{}", stdout(&out), stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("from embedded default rules: 0 problems"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_rule_file_on_disk_is_embedded() {
    let mut on_disk: Vec<String> = std::fs::read_dir(crate_root().join("rules"))
        .expect("rules/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    assert!(!on_disk.is_empty());
    let embedded: Vec<&str> = leakseal::rules::embedded::FILES.iter().map(|(n, _)| *n).collect();
    for name in &on_disk {
        assert!(
            embedded.contains(&name.as_str()),
            "rules/{name} is not in embedded::FILES"
        );
    }
    for (name, text) in leakseal::rules::embedded::FILES {
        let disk = std::fs::read_to_string(crate_root().join("rules").join(name))
            .unwrap_or_else(|_| panic!("embedded rules/{name} is not on disk"));
        assert_eq!(&disk, text, "rules/{name}");
    }
}

#[test]
fn every_builtin_rule_has_examples() {
    let rules = leakseal::rules::load::load_embedded(leakseal::rules::embedded::FILES).expect("default rules load");
    assert!(rules.rules.len() >= 10);
    for r in &rules.rules {
        assert!(r.examples.len() >= 2, "rule '{}' needs examples", r.id);
        assert!(
            r.negative_examples.len() >= 2,
            "rule '{}' needs negative examples",
            r.id
        );
    }
}

#[test]
fn failing_example_names_rule_and_index() {
    let tree = Tree::new();
    let out = tree.run(&[
        "rules",
        "check",
        fixture("configs/failing-example.toml").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let problems = stdout(&out);
    assert_eq!(problems.lines().count(), 1, "{problems}");
    assert!(problems.contains("rule 'demo-token'"), "{problems}");
    assert!(problems.contains("examples[1]"), "{problems}");
    assert!(problems.contains("0 findings, expected 1"), "{problems}");
    assert_cli_snapshot!("failing_example", out);
}

#[test]
fn rules_loaded_for_scanning_equal_the_written_ones_without_examples() {
    use leakseal::rules::{embedded, load};
    let full = load::load_embedded(embedded::FILES).expect("rules with examples");
    let scan = load::load_embedded(embedded::SCAN_FILES).expect("rules without examples");
    assert_eq!(full.rules.len(), scan.rules.len());
    assert_eq!(full.global_allowlists.len(), scan.global_allowlists.len());
    for (a, b) in full.rules.iter().zip(&scan.rules) {
        assert_eq!(a.id, b.id);
        assert_eq!(
            a.regex.as_ref().map(|r| &r.source),
            b.regex.as_ref().map(|r| &r.source),
            "{}",
            a.id
        );
        assert_eq!(
            a.path.as_ref().map(|r| &r.source),
            b.path.as_ref().map(|r| &r.source),
            "{}",
            a.id
        );
        assert_eq!(
            (a.keywords.clone(), a.entropy, a.secret_group, a.confidence),
            (b.keywords.clone(), b.entropy, b.secret_group, b.confidence),
            "{}",
            a.id
        );
        assert_eq!(a.allowlists.len(), b.allowlists.len(), "{}", a.id);
        assert_eq!(a.required.len(), b.required.len(), "{}", a.id);
        assert!(b.examples.is_empty() && b.negative_examples.is_empty());
    }
}

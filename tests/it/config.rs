//! Config loading: the gitleaks default config loads unchanged, and every config error is one
//! line naming the file, the rule and the field, with exit code 2.

use crate::util::{assert_cli_snapshot, code, fake, fixture, gitleaks_config, rule_ids, stderr, Tree};

#[test]
fn gitleaks_default_config_loads_and_every_regex_compiles() {
    let rules = leakseal::rules::load::load_file(&gitleaks_config()).expect("gitleaks.toml loads");
    assert_eq!(rules.rules.len(), 222);
    let mut compiled = 0;
    for rule in &rules.rules {
        if let Some(re) = &rule.regex {
            if let Err(e) = re.get() {
                panic!("rule '{}': regex does not compile: {e}", rule.id);
            }
            compiled += 1;
        }
    }
    assert_eq!(compiled, 221, "regex rules in gitleaks.toml");
}

#[test]
fn gitleaks_default_config_passes_rules_check() {
    let tree = Tree::new();
    let out = tree.run(&["rules", "check", gitleaks_config().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "problems: {}", crate::util::stdout(&out));
    assert!(stderr(&out).contains("checked 222 rules"), "{}", stderr(&out));
}

/// Runs `leakseal scan --config <fixture> .` in an empty tree and checks the error shape:
/// exit 2, nothing on stdout, one `error:` line naming the file, then `needles`.
fn config_error(name: &str, needles: &[&str]) -> std::process::Output {
    let tree = Tree::new();
    let path = fixture(&format!("configs/{name}"));
    let out = tree.run(&["scan", "--config", path.to_str().unwrap(), "."]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {err}");
    assert!(lines[0].starts_with(&format!("error: {}:", path.display())), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} missing in: {err}");
    }
    out
}

#[test]
fn unknown_rule_field_is_named() {
    let out = config_error("unknown-field.toml", &["rule 'demo-token'", "unknown field `keyword`"]);
    assert_cli_snapshot!("unknown_rule_field", out);
}

#[test]
fn bad_regex_is_named() {
    let out = config_error(
        "bad-regex.toml",
        &["rule 'demo-token'", "field 'regex'", "unclosed group"],
    );
    assert_cli_snapshot!("bad_regex", out);
}

#[test]
fn secret_group_beyond_groups_is_named() {
    let out = config_error(
        "secret-group-beyond-groups.toml",
        &["rule 'demo-token'", "field 'secretGroup'", "group 2 does not exist"],
    );
    assert_cli_snapshot!("secret_group_beyond_groups", out);
}

#[test]
fn empty_allowlist_is_named() {
    let out = config_error(
        "empty-allowlist.toml",
        &["rule 'demo-token'", "field 'allowlists'", "empty allowlist"],
    );
    assert_cli_snapshot!("empty_allowlist", out);
}

#[test]
fn toml_syntax_error_has_file_and_line() {
    let out = config_error("toml-syntax-error.toml", &["toml-syntax-error.toml:4:"]);
    assert_cli_snapshot!("toml_syntax_error", out);
}

#[test]
fn rules_check_reports_config_errors_too() {
    let tree = Tree::new();
    let path = fixture("configs/bad-regex.toml");
    let out = tree.run(&["rules", "check", path.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("rule 'demo-token': field 'regex'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_config_file_is_an_error() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--config", "no-such-config.toml", "."]);
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).starts_with("error: no-such-config.toml: config file not found\n"),
        "{}",
        stderr(&out)
    );
    assert_cli_snapshot!("missing_config_file", out);
}

#[test]
fn leakseal_config_env_var_selects_the_config() {
    let tree = Tree::new();
    let demo = fake::demo(1);
    tree.write("app.txt", format!("value: {demo}\nother: {}\n", fake::github(1)));
    let out = tree
        .cmd()
        .env("LEAKSEAL_CONFIG", fixture("configs/custom-rule-only.toml"))
        .args(["scan", "--format", "json", "."])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // The config replaces the defaults: only its rule reports, the GitHub token does not.
    assert_eq!(rule_ids(&out), ["demo-token"]);

    let out = tree
        .cmd()
        .env("LEAKSEAL_CONFIG", fixture("configs/custom-rule-only.toml"))
        .args(["scan", "--color", "never", "."])
        .output()
        .unwrap();
    assert_cli_snapshot!("leakseal_config_env_var", out);
}

#[test]
fn leakseal_config_env_var_pointing_nowhere_is_an_error() {
    let tree = Tree::new();
    let out = tree
        .cmd()
        .env("LEAKSEAL_CONFIG", "missing.toml")
        .args(["scan", "."])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing.toml: config file not found"));
    assert!(stderr(&out).contains("LEAKSEAL_CONFIG"), "the hint names the variable");
}

#[test]
fn command_line_config_wins_over_env_var() {
    let tree = Tree::new();
    tree.write("app.txt", format!("value: {}\n", fake::demo(2)));
    let out = tree
        .cmd()
        .env("LEAKSEAL_CONFIG", fixture("configs/bad-regex.toml"))
        .args(["scan", "--format", "json", "--config"])
        .arg(fixture("configs/custom-rule-only.toml"))
        .arg(".")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(rule_ids(&out), ["demo-token"]);
}

#[test]
fn extend_use_default_with_disabled_rules() {
    let tree = Tree::new();
    tree.write(
        "app.env",
        format!(
            "GH={}\nSTRIPE={}\nDEMO={}\n",
            fake::github(3),
            fake::stripe_live(3),
            fake::demo(3)
        ),
    );
    let cfg = fixture("configs/extend-default-disabled-rules.toml");
    let out = tree
        .cmd()
        .args(["scan", "--format", "json", "--config"])
        .arg(&cfg)
        .arg(".")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // Defaults still apply (stripe), the disabled one does not (github), ours is added.
    assert_eq!(rule_ids(&out), ["stripe-live-key", "demo-token"]);

    let out = tree
        .cmd()
        .args(["scan", "--color", "never", "--config"])
        .arg(&cfg)
        .arg(".")
        .output()
        .unwrap();
    assert_cli_snapshot!("extend_use_default_with_disabled_rules", out);
}

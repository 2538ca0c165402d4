//! Matcher features through the CLI: keywords, secret groups, entropy, allowlists (rule and
//! global, old and new forms), path rules, composite rules, inline markers, and awkward input
//! (multi-line keys, invalid UTF-8, CRLF, minified lines).

use std::process::Output;

use crate::util::{code, fake, fixture, json, stderr, stdout, Tree};

/// `leakseal scan --show-secrets -f json --config fixtures/configs/<config> .` in `tree`.
fn scan_with(tree: &Tree, config: &str) -> Output {
    let out = tree
        .cmd()
        .args(["scan", "--show-secrets", "-f", "json", "--config"])
        .arg(fixture(&format!("configs/{config}")))
        .arg(".")
        .output()
        .unwrap();
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    out
}

/// `leakseal scan --show-secrets -f json .` with the default rules.
fn scan_default(tree: &Tree) -> Output {
    let out = tree.run(&["scan", "--show-secrets", "-f", "json", "."]);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    out
}

/// (secret, path, line) of every location, sorted as reported.
fn found(out: &Output) -> Vec<(String, String, u64)> {
    crate::util::locations(out)
        .into_iter()
        .map(|(_, secret, path, line, _)| (secret, path, line))
        .collect()
}

fn secrets(out: &Output) -> Vec<String> {
    found(out).into_iter().map(|(s, _, _)| s).collect()
}

/// A `demo_` token whose 16 characters start with `prefix`.
fn demo_with(prefix: &str, seed: u64) -> String {
    format!("demo_{prefix}{}", fake::lower(16 - prefix.len(), seed))
}

#[test]
fn keywords_match_case_insensitively() {
    let tree = Tree::new();
    let lower = fake::demo(20);
    let upper = format!("DEMO_{}", fake::lower(16, 21));
    tree.write("a.txt", format!("one {lower}\ntwo {upper}\n"));
    let out = scan_with(&tree, "keyword-case.toml");
    assert_eq!(code(&out), 1);
    assert_eq!(secrets(&out), [lower, upper]);
}

#[test]
fn secret_group_selects_the_secret() {
    let tree = Tree::new();
    let id = fake::lower(8, 22);
    let key = fake::lower(16, 23);
    tree.write("a.txt", format!("x\ndemo_id={id} demo_key={key}\n"));
    let out = scan_with(&tree, "secret-group.toml");
    assert_eq!(code(&out), 1);
    let locs = crate::util::locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].1, key);
    // The column is the secret's, not the match's.
    assert_eq!((locs[0].3, locs[0].4), (2, 27));
}

#[test]
fn low_entropy_match_is_not_reported() {
    let tree = Tree::new();
    let random = fake::demo(24);
    tree.write("a.txt", format!("low demo_aaaaaaaaaaaaaaaa\nhigh {random}\n"));
    let out = scan_with(&tree, "entropy.toml");
    assert_eq!(code(&out), 1);
    assert_eq!(secrets(&out), [random]);
}

#[test]
fn allowlist_regex_target_secret() {
    let tree = Tree::new();
    let allowed = demo_with("test", 25);
    let reported = fake::demo(26);
    tree.write("a.txt", format!("key={allowed}\nkey={reported}\n"));
    let out = scan_with(&tree, "allowlist-regex-target-secret.toml");
    assert_eq!(secrets(&out), [reported]);
}

#[test]
fn allowlist_regex_target_match() {
    let tree = Tree::new();
    let allowed = demo_with("test", 27);
    let reported = fake::demo(28);
    tree.write("a.txt", format!("key={allowed}\nkey={reported}\n"));
    let out = scan_with(&tree, "allowlist-regex-target-match.toml");
    assert_eq!(secrets(&out), [reported.as_str()]);
    // `^key=demo_test` holds for the match only, so the secret target would not allow it.
    let out = scan_with(&tree, "allowlist-regex-target-secret.toml");
    assert_eq!(secrets(&out), [reported]);
    tree.write("b.txt", format!("xkey={}\n", demo_with("tesx", 29)));
    let out = scan_with(&tree, "allowlist-regex-target-match.toml");
    assert_eq!(secrets(&out).len(), 2);
}

#[test]
fn allowlist_regex_target_line() {
    let tree = Tree::new();
    let allowed = fake::demo(30);
    let reported = fake::demo(31);
    tree.write(
        "a.txt",
        format!("key={allowed} # test fixture\nkey={reported}\n# test fixture\n"),
    );
    let out = scan_with(&tree, "allowlist-regex-target-line.toml");
    assert_eq!(secrets(&out), [reported]);
}

/// Files for the condition tests: allowed path x allowed secret.
fn condition_tree() -> (Tree, [String; 4]) {
    let tree = Tree::new();
    let t = [
        demo_with("test", 32),
        fake::demo(33),
        demo_with("test", 34),
        fake::demo(35),
    ];
    tree.write("allowed/both.txt", format!("v {}\n", t[0]));
    tree.write("allowed/path-only.txt", format!("v {}\n", t[1]));
    tree.write("other/regex-only.txt", format!("v {}\n", t[2]));
    tree.write("other/neither.txt", format!("v {}\n", t[3]));
    (tree, t)
}

#[test]
fn allowlist_condition_or_allows_on_any_criterion() {
    let (tree, t) = condition_tree();
    let out = scan_with(&tree, "allowlist-condition-or.toml");
    assert_eq!(found(&out), [(t[3].clone(), "other/neither.txt".into(), 1)]);
}

#[test]
fn allowlist_condition_and_needs_every_criterion() {
    let (tree, t) = condition_tree();
    let out = scan_with(&tree, "allowlist-condition-and.toml");
    assert_eq!(
        found(&out),
        [
            (t[1].clone(), "allowed/path-only.txt".into(), 1),
            (t[3].clone(), "other/neither.txt".into(), 1),
            (t[2].clone(), "other/regex-only.txt".into(), 1),
        ]
    );
}

#[test]
fn stopwords_allow_secrets_containing_them() {
    let tree = Tree::new();
    let lower = demo_with("sample", 36);
    let upper = format!("demo_SAMPLE{}", fake::lower(10, 37));
    let middle = format!("demo_{}sample{}", fake::lower(5, 38), fake::lower(5, 39));
    let reported = fake::demo(40);
    tree.write("a.txt", format!("{lower}\n{upper}\n{middle}\n{reported}\n"));
    let out = scan_with(&tree, "allowlist-stopwords.toml");
    assert_eq!(secrets(&out), [reported]);
}

#[test]
fn global_allowlist_target_rules() {
    let tree = Tree::new();
    let demo_allowed = fake::demo(41);
    let demo_reported = fake::demo(42);
    let other = format!("other_{}", fake::lower(16, 43));
    tree.write(
        "a.txt",
        format!("{demo_allowed} # ignore-me\n{demo_reported}\n{other} # ignore-me\n"),
    );
    let out = scan_with(&tree, "global-allowlist-target-rules.toml");
    // The allowlist targets demo-token only: other-token reports despite the marker.
    assert_eq!(secrets(&out), [demo_reported, other]);
}

#[test]
fn old_global_allowlist_form() {
    let tree = Tree::new();
    let reported = fake::demo(44);
    tree.write("vendor/lib.txt", format!("{}\n", fake::demo(45)));
    tree.write("src/app.txt", format!("{reported}\n"));
    let out = scan_with(&tree, "old-global-allowlist.toml");
    assert_eq!(found(&out), [(reported, "src/app.txt".into(), 1)]);
}

#[test]
fn old_rule_allowlist_form() {
    let tree = Tree::new();
    let reported = fake::demo(46);
    tree.write("a.txt", format!("{}\n{reported}\n", demo_with("test", 47)));
    let out = scan_with(&tree, "old-rule-allowlist.toml");
    assert_eq!(secrets(&out), [reported]);
}

#[test]
fn rule_path_filter_limits_the_rule_to_matching_files() {
    let tree = Tree::new();
    let a = fake::demo(48);
    let b = fake::demo(49);
    tree.write(".env", format!("TOKEN={a}\n"));
    tree.write("config/.env", format!("TOKEN={b}\n"));
    tree.write("notes.txt", format!("TOKEN={}\n", fake::demo(50)));
    tree.write("config/.env.example", format!("TOKEN={}\n", fake::demo(51)));
    let out = scan_with(&tree, "rule-path-filter.toml");
    assert_eq!(found(&out), [(a, ".env".into(), 1), (b, "config/.env".into(), 1)]);
}

#[test]
fn path_only_rule_reports_the_file() {
    let tree = Tree::new();
    tree.write("release/app.keystore", "no secret text in here\n");
    tree.write("release/app.keystore.md", "how to make a keystore\n");
    let out = scan_with(&tree, "path-only-rule.toml");
    assert_eq!(code(&out), 1);
    let locs = crate::util::locations(&out);
    assert_eq!(locs.len(), 1, "{locs:?}");
    assert_eq!(locs[0].0, "demo-keystore-file");
    assert_eq!(locs[0].2, "release/app.keystore");
    assert_eq!((locs[0].3, locs[0].4), (1, 1));
}

#[test]
fn composite_rule_within_lines() {
    let tree = Tree::new();
    let near = fake::lower(16, 52);
    let far = fake::lower(16, 53);
    tree.write(
        "near.txt",
        format!("demo_id={}\nx\ndemo_secret={near}\n", fake::lower(8, 54)),
    );
    tree.write(
        "far.txt",
        format!("demo_id={}\n{}demo_secret={far}\n", fake::lower(8, 55), "x\n".repeat(8)),
    );
    let out = scan_with(&tree, "composite-within-lines.toml");
    let composite: Vec<(String, String, u64)> = crate::util::locations(&out)
        .into_iter()
        .filter(|l| l.0 == "demo-secret")
        .map(|(_, s, p, l, _)| (s, p, l))
        .collect();
    // Two lines apart: reported. Nine lines apart: not.
    assert_eq!(composite, [(near, "near.txt".into(), 3)]);
}

#[test]
fn inline_allow_markers() {
    let tree = Tree::new();
    let t: Vec<String> = (60..68).map(fake::github).collect();
    let text = format!(
        "a = \"{}\" # leakseal:allow\n\
         b = \"{}\" // gitleaks:allow\n\
         c = \"{}\" # pragma: allowlist secret\n\
         # pragma: allowlist nextline secret\n\
         d = \"{}\"\n\
         e = \"{}\"\n\
         # leakseal:allow\n\
         f = \"{}\"\n",
        t[0], t[1], t[2], t[3], t[4], t[5]
    );
    tree.write("a.py", text);
    let out = scan_default(&tree);
    // Same-line markers allow their line, the nextline marker the next one only, and a
    // same-line marker on its own line allows nothing below it.
    assert_eq!(
        found(&out),
        [(t[4].clone(), "a.py".into(), 6), (t[5].clone(), "a.py".into(), 8)]
    );
}

#[test]
fn multi_line_private_key_is_one_finding() {
    let tree = Tree::new();
    let key = fake::private_key(70, 4);
    let text = format!("# deploy key\n{key}");
    tree.write("deploy/id_rsa", &text);
    let out = scan_default(&tree);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{doc}");
    assert_eq!(findings[0]["rule_id"], "private-key");
    // The secret holds every line of the key body, and spans lines 2 (BEGIN) to 7 (END) at
    // most.
    let secret = findings[0]["secret"].as_str().unwrap();
    let body: Vec<&str> = key.lines().skip(1).take(4).collect();
    for line in &body {
        assert!(secret.contains(line), "{secret:?} lacks {line}");
    }
    // Its location is where the secret sits in the file.
    let start = text.find(secret).expect("secret is a substring of the file");
    let line = text[..start].matches('\n').count() as u64 + 1;
    let end_line = line + secret.trim_end_matches('\n').matches('\n').count() as u64;
    let loc = &findings[0]["locations"][0];
    assert_eq!(loc["line"].as_u64(), Some(line));
    assert_eq!(loc["end_line"].as_u64(), Some(end_line));
    assert!((2..=3).contains(&line) && (6..=7).contains(&end_line), "{loc}");
}

#[test]
fn invalid_utf8_around_a_secret() {
    let tree = Tree::new();
    let tok = fake::github(71);
    let mut bytes = b"first line\n".to_vec();
    bytes.extend_from_slice(b"\xff\xfe\xfa abc ");
    bytes.extend_from_slice(tok.as_bytes());
    bytes.extend_from_slice(b" \xc3\n");
    tree.write("mixed.bin.txt", bytes);
    let out = scan_default(&tree);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert_eq!(f["secret"], tok.as_str());
    let loc = &f["locations"][0];
    // Each invalid byte counts as one column: 3 + " abc " = 8 before the token.
    assert_eq!(loc["line"].as_u64(), Some(2));
    assert_eq!(loc["column"].as_u64(), Some(9));
    assert_eq!(loc["end_column"].as_u64(), Some(9 + 40 - 1));
}

#[test]
fn crlf_line_numbers() {
    let tree = Tree::new();
    let a = fake::github(72);
    let b = fake::github(73);
    tree.write("win.txt", format!("one\r\ntwo\r\nTOKEN={a}\r\n\r\nx = {b}\r\n"));
    let out = scan_default(&tree);
    assert_eq!(code(&out), 1);
    let locs = crate::util::locations(&out);
    let pos: Vec<(String, u64, u64)> = locs.into_iter().map(|l| (l.1, l.3, l.4)).collect();
    assert_eq!(pos, [(a, 3, 7), (b, 5, 5)]);
    // No carriage return leaks into the context.
    assert!(!stdout(&out).contains("\\r"), "{}", stdout(&out));
}

#[test]
fn secret_on_a_minified_line_is_found_and_context_is_cut() {
    let tree = Tree::new();
    let tok = fake::github(74);
    let line = format!(
        "var a=\"{}\";var t=\"{tok}\";{}\n",
        "x".repeat(50_000),
        "y".repeat(50_000)
    );
    assert!(line.len() > 100_000);
    tree.write("bundle.min.js", line);
    let out = tree.run(&["scan", "--color", "never", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("bundle.min.js:1:50017"), "{text}");
    for l in text.lines() {
        assert!(
            l.chars().count() <= 200,
            "line of {} chars in text output",
            l.chars().count()
        );
    }
    let out = scan_default(&tree);
    assert_eq!(secrets(&out), [tok]);
}

#[test]
fn github_token_with_a_bad_checksum_is_not_reported() {
    let tree = Tree::new();
    let good = fake::github(40);
    // Same random part, checksum replaced: what a hand-made fake or a doc sample looks like.
    let bad = format!(
        "{}{}",
        &good[..good.len() - 6],
        if good.ends_with("000000") { "111111" } else { "000000" }
    );
    tree.write("a.env", format!("A={good}\nB={bad}\n"));
    let out = scan_default(&tree);
    assert_eq!(code(&out), 1);
    assert_eq!(secrets(&out), [good]);
}

/// Allowlist `^` and `$` are the ends of the secret or match (as in gitleaks, whose Go regexes
/// are not multi-line), and of the line for line targets, with or without a CR before the LF.
#[test]
fn allowlist_anchors_are_the_ends_of_what_is_tested() {
    let tree = Tree::new();
    tree.write(
        "rules.toml",
        r#"
[[rules]]
id = "quoted"
description = "a quoted value"
regex = '''quoted="([^"]+)"'''
keywords = ["quoted"]

[[rules.allowlists]]
regexes = ['''^second$''', '''^whole$''', '''^sec.nd line''']

[[rules]]
id = "marked"
description = "a marked value"
regex = '''marked=([a-z]+)'''
keywords = ["marked"]

[[rules.allowlists]]
regexTarget = "line"
regexes = ['''# ok$''']
"#,
    );
    tree.write(
        "a.txt",
        "quoted=\"first\nsecond\"\nquoted=\"whole\"\nquoted=\"second line\"\nmarked=abc # ok\r\nmarked=def # ok!\n",
    );
    let out = tree.run(&[
        "scan",
        "--show-secrets",
        "-f",
        "json",
        "--config",
        "rules.toml",
        "a.txt",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut got = secrets(&out);
    got.sort();
    // A line of a multi-line secret is not its start or end; the CR before the LF is not part
    // of the line's end.
    assert_eq!(got, ["def", "first\nsecond"]);
}

//! CI reports: SARIF (validated against the 2.1.0 schema), JUnit (well-formed XML), CSV, GitHub
//! workflow commands and the Markdown summary — one snapshot per format of the `reports`
//! fixture tree, and one of the empty report — plus several reports in one run, escaping, and
//! history provenance in SARIF.

use std::process::Output;
use std::sync::OnceLock;

use crate::reports::fixture_tree;
use crate::util::{code, crate_root, fake, render, snapshot_filters, stderr, stdout, Tree};

fn scan(tree: &Tree, args: &[&str]) -> Output {
    let mut all = vec!["scan", "--color", "never"];
    all.extend_from_slice(args);
    all.push(".");
    tree.run(&all)
}

/// The shared filters plus the ones the CI formats need (JUnit times, SARIF's version).
fn snapshot(name: &str, out: &Output) {
    let mut filters = snapshot_filters();
    filters.push((r#"time="\d+\.\d+""#.into(), r#"time="[DURATION]""#.into()));
    filters.push((
        r#""semanticVersion": "[^"]*""#.into(),
        r#""semanticVersion": "[VERSION]""#.into(),
    ));
    let filters: Vec<(&str, &str)> = filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!(name, render(out));
    });
}

/// The SARIF 2.1.0 schema kept beside the project, compiled once.
fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = crate_root().join("../shared/compat/sarif-schema-2.1.0.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The published schema's two `language` patterns have a stray `]` that the validator's
        // regex check rejects (we never write `language`): compile them as intended.
        let typo = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
        assert_eq!(
            text.matches(typo).count(),
            2,
            "the schema changed: revisit this workaround"
        );
        let text = text.replace(typo, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .expect("schema compiles")
    })
}

/// Parses `text` as SARIF and fails with every schema violation.
pub(crate) fn assert_valid_sarif(text: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let problems: Vec<String> = sarif_validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "SARIF does not validate:\n{}", problems.join("\n"));
    doc
}

/// Parses `text` as XML and returns the testcase elements' (name, child element) pairs.
fn junit_cases(text: &str) -> Vec<(String, Option<String>)> {
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{text}"));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            (
                n.attribute("name").unwrap_or_default().to_string(),
                n.children()
                    .find(|c| c.is_element())
                    .map(|c| c.tag_name().name().to_string()),
            )
        })
        .collect()
}

/// A minimal RFC 4180 reader: rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(field.is_empty() && row.is_empty(), "last row not terminated");
    rows
}

fn empty_tree() -> Tree {
    let tree = Tree::new();
    tree.write("README.txt", "Nothing secret here.\n");
    tree
}

#[test]
fn sarif_report() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "sarif"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = assert_valid_sarif(&stdout(&out));
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    // Only the rules that fired, sorted.
    let mut fired: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    fired.sort();
    fired.dedup();
    assert_eq!(rules, fired);
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(rule["fullDescription"]["text"].is_string());
        assert!(rule["help"]["markdown"].is_string());
        assert!(rule["properties"]["security-severity"].is_string());
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "security"));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "one result per location");
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.starts_with('/') && !uri.starts_with("./") && !uri.contains('\\'),
            "{uri}"
        );
        let fp = r["partialFingerprints"]["leakseal/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 32);
        let rule = &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    snapshot("sarif_report", &out);
}

#[test]
fn sarif_fingerprints_match_the_json_report() {
    let (tree, _) = fixture_tree();
    let sarif = assert_valid_sarif(&stdout(&scan(&tree, &["--format", "sarif"])));
    let json = crate::util::json(&scan(&tree, &["--format", "json"]));
    let mut from_json: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let mut from_sarif: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["partialFingerprints"]["leakseal/v1"].as_str().unwrap().to_string())
        .collect();
    from_json.sort();
    from_sarif.sort();
    from_sarif.dedup();
    assert_eq!(from_json, from_sarif);
}

#[test]
fn empty_report_sarif() {
    let out = scan(&empty_tree(), &["--format", "sarif"]);
    assert_eq!(code(&out), 0);
    let doc = assert_valid_sarif(&stdout(&out));
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
    snapshot("empty_report_sarif", &out);
}

#[test]
fn junit_report() {
    let (tree, _) = fixture_tree();
    let out = scan(&tree, &["--format", "junit"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let cases = junit_cases(&stdout(&out));
    assert_eq!(cases.len(), 6);
    assert!(cases.iter().all(|(_, child)| child.as_deref() == Some("failure")));
    snapshot("junit_report", &out);
}

#[test]
fn empty_report_junit() {
    let out = scan(&empty_tree(), &["--format", "junit"]);
    assert_eq!(code(&out), 0);
    let cases = junit_cases(&stdout(&out));
    assert_eq!(cases, [("no secrets found".to_string(), None)]);
    snapshot("empty_report_junit", &out);
}

#[test]
fn junit_escapes_markup_in_paths_and_context() {
    let tree = Tree::new();
    let token = fake::demo(7);
    tree.write("a<b>&\"c'.txt", format!("<x attr=\"{token}\"> & more\n"));
    let out = scan(
        &tree,
        &[
            "--format",
            "junit",
            "--config",
            crate_root()
                .join("fixtures/configs/custom-rule-only.toml")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let cases = junit_cases(&stdout(&out));
    assert_eq!(
        cases,
        [("demo-token in a<b>&\"c'.txt:1".to_string(), Some("failure".to_string()))]
    );
}

#[test]
fn csv_report() {
    let (tree, secrets) = fixture_tree();
    let out = scan(&tree, &["--format", "csv"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows.len(), 7, "a header and one row per location");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    assert_eq!(rows[0][0], "rule_id");
    for s in &secrets {
        assert!(!stdout(&out).contains(s.as_str()));
    }
    snapshot("csv_report", &out);
}

#[test]
fn empty_report_csv() {
    let out = scan(&empty_tree(), &["--format", "csv"]);
    assert_eq!(code(&out), 0);
    assert_eq!(parse_csv(&stdout(&out)).len(), 1, "only the header");
    snapshot("empty_report_csv", &out);
}

#[test]
fn csv_escaping() {
    let tree = Tree::new();
    let token = fake::demo(8);
    tree.write("we,ird \"name\".txt", format!("=cmd|x, \"quoted\" {token}\n"));
    let out = scan(
        &tree,
        &[
            "--format",
            "csv",
            "--config",
            crate_root()
                .join("fixtures/configs/custom-rule-only.toml")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(r#""we,ird ""name"".txt""#), "{text}");
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 2);
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("path")], "we,ird \"name\".txt");
    // A formula is defused; the secret is redacted.
    let context = &rows[1][col("context")];
    assert!(context.starts_with("'=cmd|x, \"quoted\" demo"), "{context}");
    assert!(!context.contains(&token));
}

#[test]
fn github_report() {
    let (tree, secrets) = fixture_tree();
    let out = scan(&tree, &["--format", "github"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 6);
    assert!(text
        .lines()
        .all(|l| l.starts_with("::error file=") || l.starts_with("::warning file=")));
    for s in &secrets {
        assert!(!text.contains(s.as_str()));
    }
    snapshot("github_report", &out);
}

#[test]
fn empty_report_github() {
    let out = scan(&empty_tree(), &["--format", "github"]);
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    snapshot("empty_report_github", &out);
}

#[test]
fn github_commands_escape_properties_and_data() {
    let tree = Tree::new();
    let token = fake::demo(9);
    tree.write("dir/a,b:c%d.txt", format!("{token}\n"));
    tree.write(
        "rules.toml",
        "[[rules]]\nid = \"demo-token\"\ndescription = \"Demo: 100%, really\"\nregex = '''\\bdemo_[a-z0-9]{16}\\b'''\nkeywords = [\"demo_\"]\n",
    );
    let out = scan(&tree, &["--format", "github", "--config", "rules.toml"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let line = stdout(&out);
    let line = line.trim_end();
    assert!(
        line.starts_with("::error file=dir/a%2Cb%3Ac%25d.txt,line=1,endLine=1,col=1,endColumn=21,title=leakseal%3A Demo%3A 100%25%2C really (demo-token)::Demo: 100%25, really found: secret demo*****"),
        "{line}"
    );
    // Line breaks in the message are encoded, so one annotation is one line.
    assert_eq!(line.lines().count(), 1);
    assert!(line.contains("%0ARotate it"), "{line}");
}

#[test]
fn markdown_report() {
    let (tree, secrets) = fixture_tree();
    let out = scan(&tree, &["--format", "markdown"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("**5 secrets found** at 6 locations"), "{text}");
    for s in &secrets {
        assert!(!text.contains(s.as_str()));
    }
    snapshot("markdown_report", &out);
}

#[test]
fn empty_report_markdown() {
    let out = scan(&empty_tree(), &["--format", "markdown"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("No secrets found"));
    snapshot("empty_report_markdown", &out);
}

#[test]
fn several_reports_in_one_run() {
    let (tree, secrets) = fixture_tree();
    tree.mkdir("out");
    let out = scan(
        &tree,
        &[
            "--format",
            "text",
            "--output-sarif",
            "out/results.sarif",
            "--output-json",
            "out/report.json",
            "--output-junit",
            "out/junit.xml",
            "--report",
            "csv=out/report.csv",
            "--report",
            "markdown=out/summary.md",
            "--report",
            "GitHub=out/annotations.txt",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // Human output on stdout, every file written.
    assert!(stdout(&out).contains("github-token"));
    let read = |rel: &str| std::fs::read_to_string(tree.path().join(rel)).unwrap();
    let sarif = assert_valid_sarif(&read("out/results.sarif"));
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 6);
    let json: serde_json::Value = serde_json::from_str(&read("out/report.json")).unwrap();
    assert_eq!(json["summary"]["findings"], 5);
    assert_eq!(junit_cases(&read("out/junit.xml")).len(), 6);
    assert_eq!(parse_csv(&read("out/report.csv")).len(), 7);
    assert!(read("out/summary.md").starts_with("## leakseal"));
    assert_eq!(read("out/annotations.txt").lines().count(), 6);
    // Files are never coloured, and no file shows a secret.
    for rel in [
        "out/results.sarif",
        "out/report.json",
        "out/junit.xml",
        "out/report.csv",
        "out/summary.md",
        "out/annotations.txt",
    ] {
        let text = read(rel);
        assert!(!text.contains('\u{1b}'), "{rel} has colour codes");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{rel} shows a secret");
        }
    }
}

#[test]
fn show_secrets_reaches_every_format() {
    let (tree, secrets) = fixture_tree();
    for format in ["sarif", "junit", "csv", "github", "markdown"] {
        let out = scan(&tree, &["--format", format, "--show-secrets"]);
        assert_eq!(code(&out), 1);
        // Markdown escapes `_` (the secret still renders whole).
        let shown = match format {
            "markdown" => secrets[0].replace('_', "\\_"),
            _ => secrets[0].clone(),
        };
        assert!(
            stdout(&out).contains(&shown),
            "--format {format} --show-secrets:\n{}",
            stdout(&out)
        );
    }
}

#[test]
fn report_option_errors() {
    let tree = empty_tree();
    let bad_format = scan(&tree, &["--report", "xml=out.xml"]);
    assert_eq!(code(&bad_format), 2);
    crate::util::assert_cli_snapshot!("report_option_bad_format", bad_format);
    let no_file = scan(&tree, &["--report", "sarif"]);
    assert_eq!(code(&no_file), 2);
    assert!(
        stderr(&no_file).contains("'sarif' is not FORMAT=FILE"),
        "{}",
        stderr(&no_file)
    );
    let twice = scan(&tree, &["--output-sarif", "r.sarif", "--report", "sarif=r.sarif"]);
    assert_eq!(code(&twice), 2);
    assert!(
        stderr(&twice).contains("r.sarif: more than one report would be written to it"),
        "{}",
        stderr(&twice)
    );
}

/// A secret committed and then deleted: the history scan pins it to the commit that added it.
#[test]
fn sarif_pins_history_only_secrets_to_their_commit() {
    let repo = crate::action::GitRepo::new();
    let token = fake::github(21);
    repo.write("config.env", &format!("TOKEN={token}\n"));
    let added = repo.commit("Add config");
    repo.write("config.env", "TOKEN=from-the-environment\n");
    repo.commit("Remove the token");
    let out = repo.leakseal(&["scan", "--history", "--format", "sarif", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = assert_valid_sarif(&stdout(&out));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["properties"]["commit"]["sha"], added.as_str());
    assert_eq!(r["properties"]["presentAtHead"], false);
    let message = r["message"]["text"].as_str().unwrap();
    assert!(
        message.contains(&format!("introduced in commit {}", &added[..12])),
        "{message}"
    );
    assert!(
        message.contains("removed from HEAD but still in history: rotate it"),
        "{message}"
    );
    assert!(!stdout(&out).contains(&token));
}

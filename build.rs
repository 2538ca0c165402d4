//! Embeds every `rules/*.toml` file: generates the lists that `src/rules/embedded.rs` includes,
//! so a new rule file cannot be forgotten. `global.toml` loads first, the rest by name.
//!
//! Three lists: the files as written (for `rules check` and `rules explain`, which need the
//! examples); the same files without `examples` / `negative_examples`; and what a scan loads:
//! each file already parsed with the loader's own schema (`src/rules/schema.rs`) into static
//! tables, so start-up does no TOML parsing at all. Checks beyond the schema (ids, regexes,
//! allowlists) still run at load time, on the same specs a TOML parse would give.

use std::fmt::Write;
use std::path::Path;

/// The loader's schema, shared so that the build parses exactly as `rules::load` does.
#[allow(dead_code)]
#[path = "src/rules/schema.rs"]
mod schema;

/// The Go-to-Rust pattern translation and the `Hir` code, shared for the same reason.
#[allow(dead_code)]
#[path = "src/rules/re2.rs"]
mod re2;

#[allow(dead_code)]
#[path = "src/rules/hircode.rs"]
mod hircode;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=src/rules/schema.rs");
    println!("cargo:rerun-if-changed=src/rules/re2.rs");
    println!("cargo:rerun-if-changed=src/rules/hircode.rs");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let stripped_dir = out_dir.join("rules-without-examples");
    std::fs::create_dir_all(&stripped_dir).expect("create OUT_DIR/rules-without-examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("rules/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort_by_key(|n| (n != "global.toml", n.clone()));
    let mut full = String::from("&[\n");
    let mut scan = String::from("&[\n");
    let mut prebuilt = String::from("&[\n");
    let mut patterns: Vec<String> = Vec::new();
    for n in &names {
        println!("cargo:rerun-if-changed=rules/{n}");
        let path = dir.join(n);
        // Named from the manifest directory at compile time, not by this run's absolute path: a
        // target directory shared by two checkouts then never embeds the other's files.
        let include = format!("include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/rules/\", {n:?}))");
        writeln!(full, "    ({n:?}, {include}),").unwrap();
        let text = std::fs::read_to_string(&path).expect("read rule file");
        patterns.extend(patterns_of(&text));
        // A file that does not parse is embedded as written: loading it reports the error.
        let stripped = match text.parse::<toml::Table>() {
            Ok(mut table) => {
                if let Some(toml::Value::Array(rules)) = table.get_mut("rules") {
                    for rule in rules.iter_mut() {
                        if let toml::Value::Table(t) = rule {
                            t.remove("examples");
                            t.remove("negative_examples");
                        }
                    }
                }
                toml::to_string(&table).expect("serialize rule file")
            }
            Err(_) => text.clone(),
        };
        let dest = stripped_dir.join(n);
        std::fs::write(&dest, stripped).expect("write stripped rule file");
        writeln!(scan, "    ({n:?}, include_str!({:?})),", dest.display().to_string()).unwrap();
        // Anything the loader would reject is left to it: the file is embedded as TOML and
        // parsed at run time, which reports the error as it would for a user's file.
        let content = match parsed(&text) {
            Some(code) => code,
            None => format!("Content::Toml({include})"),
        };
        writeln!(prebuilt, "    ({n:?}, {content}),").unwrap();
    }
    full.push(']');
    scan.push(']');
    prebuilt.push(']');
    std::fs::write(out_dir.join("embedded_rules.rs"), full).expect("write embedded_rules.rs");
    std::fs::write(out_dir.join("embedded_rules_scan.rs"), scan).expect("write embedded_rules_scan.rs");
    std::fs::write(out_dir.join("embedded_rules_prebuilt.rs"), prebuilt).expect("write embedded_rules_prebuilt.rs");
    write_hirs(&out_dir, patterns);
}

/// Every pattern of a rule file (rules' `regex` and `path`, allowlists' `regexes` and `paths`),
/// as written; none when the file does not parse (the loader reports it).
fn patterns_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(raw) = toml::from_str::<schema::RawConfig>(text) else {
        return out;
    };
    let allowlist = |a: &schema::AllowlistSpec, out: &mut Vec<String>| {
        out.extend(a.regexes.iter().chain(&a.paths).cloned());
    };
    for spanned in raw.rules {
        let Ok(spec) = toml::Value::Table(spanned.into_inner()).try_into::<schema::RuleSpec>() else {
            continue;
        };
        out.extend(spec.regex.iter().chain(&spec.path).cloned());
        for a in spec.allowlist.iter().chain(&spec.allowlists) {
            allowlist(a, &mut out);
        }
    }
    for spanned in raw.allowlist.into_iter().chain(raw.allowlists) {
        if let Ok(a) = toml::Value::Table(spanned.into_inner()).try_into::<schema::AllowlistSpec>() {
            allowlist(&a, &mut out);
        }
    }
    out
}

/// `embedded_hirs.bin`, every pattern's `Hir` (translated from Go syntax, parsed as a scan
/// parses it, with `^`/`$` at line breaks and without) in `hircode`'s form, and
/// `embedded_hirs.rs`, its index: (pattern as translated, multi-line, Unicode classes, start,
/// length), sorted by pattern then multi-line.
fn write_hirs(out_dir: &Path, patterns: Vec<String>) {
    let mut sources: Vec<String> = patterns.iter().filter_map(|p| re2::translate(p).ok()).collect();
    sources.sort();
    sources.dedup();
    let mut code = Vec::new();
    let mut index = String::from("&[\n");
    for source in &sources {
        for multi_line in [false, true] {
            let Some((hir, unicode)) = hircode::parse_either(source, multi_line) else {
                continue;
            };
            let start = code.len();
            hircode::encode(&hir, &mut code);
            writeln!(
                index,
                "    ({}, {multi_line}, {unicode}, {start}, {}),",
                s(source),
                code.len() - start
            )
            .unwrap();
        }
    }
    index.push(']');
    std::fs::write(out_dir.join("embedded_hirs.bin"), code).expect("write embedded_hirs.bin");
    std::fs::write(out_dir.join("embedded_hirs.rs"), index).expect("write embedded_hirs.rs");
}

/// 1-based line of byte `offset` (as `messages::line_of`).
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The file as `Content::Parsed` static tables, or `None` when the loader must see the TOML
/// (a parse error, `[extend]`, an entropy with no literal form). Duplicate ids and every
/// other check are left to the loader.
fn parsed(text: &str) -> Option<String> {
    let raw: schema::RawConfig = toml::from_str(text).ok()?;
    if raw.extend.is_some() {
        return None;
    }
    let mut out = String::from("Content::Parsed {\n        rules: &[\n");
    for spanned in raw.rules {
        let line = line_of(text, spanned.span().start);
        let spec: schema::RuleSpec = toml::Value::Table(spanned.into_inner()).try_into().ok()?;
        out.push_str(&rule(&spec, line)?);
    }
    out.push_str("        ],\n        allowlists: &[\n");
    for spanned in raw.allowlist.into_iter().chain(raw.allowlists) {
        let line = line_of(text, spanned.span().start);
        let spec: schema::AllowlistSpec = toml::Value::Table(spanned.into_inner()).try_into().ok()?;
        writeln!(out, "            {},", allowlist(&spec, line)).unwrap();
    }
    out.push_str("        ],\n    }");
    Some(out)
}

fn s(v: &str) -> String {
    // `Debug` for `str` escapes exactly into Rust string-literal syntax.
    format!("{v:?}")
}

fn opt_s(v: &Option<String>) -> String {
    match v {
        Some(v) => format!("Some({})", s(v)),
        None => "None".into(),
    }
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|x| s(x)).collect();
    format!("&[{}]", items.join(", "))
}

fn rule(spec: &schema::RuleSpec, line: usize) -> Option<String> {
    // Destructured so that a new schema field fails this build until it is carried over.
    let schema::RuleSpec {
        id,
        description,
        regex,
        secret_group,
        entropy,
        keywords,
        path,
        tags,
        skip_report,
        allowlist: single,
        allowlists,
        required,
        examples: _,
        negative_examples: _,
        confidence,
        severity,
        references,
        validate,
    } = spec;
    let entropy = match entropy {
        Some(e) if e.is_finite() => format!("Some({e:?})"),
        Some(_) => return None,
        None => "None".into(),
    };
    // A rule's allowlists carry no line of their own; the old single `[rules.allowlist]`, if
    // any, comes first.
    let allowlists: Vec<String> = single.iter().chain(allowlists).map(|a| allowlist(a, 0)).collect();
    let required: Vec<String> = required
        .iter()
        .map(|r| {
            let schema::RequiredSpec {
                id,
                within_lines,
                within_columns,
            } = r;
            format!(
                "StaticRequired {{ id: {}, within_lines: {within_lines:?}, within_columns: {within_columns:?} }}",
                s(id)
            )
        })
        .collect();
    let confidence = match confidence {
        Some(c) => format!("Some(Confidence::{c:?})"),
        None => "None".into(),
    };
    let severity = match severity {
        Some(c) => format!("Some(Severity::{c:?})"),
        None => "None".into(),
    };
    let mut o = String::new();
    writeln!(o, "            StaticRule {{").unwrap();
    writeln!(o, "                line: {line},").unwrap();
    writeln!(o, "                id: {},", s(id)).unwrap();
    writeln!(o, "                description: {},", opt_s(description)).unwrap();
    writeln!(o, "                regex: {},", opt_s(regex)).unwrap();
    writeln!(o, "                secret_group: {secret_group:?},").unwrap();
    writeln!(o, "                entropy: {entropy},").unwrap();
    writeln!(o, "                keywords: {},", list(keywords)).unwrap();
    writeln!(o, "                path: {},", opt_s(path)).unwrap();
    writeln!(o, "                tags: {},", list(tags)).unwrap();
    writeln!(o, "                skip_report: {skip_report},").unwrap();
    writeln!(o, "                single_allowlist: {},", single.is_some()).unwrap();
    writeln!(o, "                allowlists: &[{}],", allowlists.join(", ")).unwrap();
    writeln!(o, "                required: &[{}],", required.join(", ")).unwrap();
    writeln!(o, "                confidence: {confidence},").unwrap();
    writeln!(o, "                severity: {severity},").unwrap();
    writeln!(o, "                references: {},", list(references)).unwrap();
    writeln!(o, "                validate: {},", opt_s(validate)).unwrap();
    writeln!(o, "            }},").unwrap();
    Some(o)
}

fn allowlist(spec: &schema::AllowlistSpec, line: usize) -> String {
    let schema::AllowlistSpec {
        description,
        condition,
        commits,
        paths,
        regex_target,
        regexes,
        stopwords,
        target_rules,
    } = spec;
    format!(
        "StaticAllowlist {{ line: {line}, description: {}, condition: {}, commits: {}, paths: {}, \
         regex_target: {}, regexes: {}, stopwords: {}, target_rules: {} }}",
        opt_s(description),
        opt_s(condition),
        list(commits),
        list(paths),
        opt_s(regex_target),
        list(regexes),
        list(stopwords),
        list(target_rules)
    )
}

//! SARIF 2.1.0, shaped for GitHub code scanning: one result per location, stable `ruleId`s
//! (the rule ids), only the rules that fired in `tool.driver.rules`, repository-relative URIs
//! under `%SRCROOT%`, our fingerprint in `partialFingerprints`, redacted snippets, and git
//! provenance (the introducing commit) in each result's message and properties.
//!
//! This file does not decide what is reported or how secrets are redacted (`report` does), and
//! it does not upload anything.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{context_line, provenance, shown_secret, ContextView, Report, ReportOptions};
use crate::finding::{Finding, Location};
use crate::rules::Severity;

/// GitHub code scanning rejects runs with more results than this; we keep the most confident.
pub const MAX_RESULTS: usize = 25_000;

/// The schema URI written into every log.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the SARIF log (one run).
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    write_limited(report, opts, MAX_RESULTS, w)
}

/// The warning for stderr when the report has more locations than one SARIF run may hold.
pub fn warnings(report: &Report) -> Vec<String> {
    let n = report.locations();
    if n > MAX_RESULTS {
        vec![truncation_message(n, MAX_RESULTS)]
    } else {
        Vec::new()
    }
}

fn truncation_message(total: usize, limit: usize) -> String {
    format!(
        "SARIF: {total} results exceed the limit of {limit} per run (GitHub code scanning); kept the {limit} most confident, {} left out — the JSON report has them all",
        total - limit
    )
}

/// `write` with the result limit as a parameter (tests use a small one).
pub fn write_limited(report: &Report, opts: ReportOptions, limit: usize, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &log(report, opts, limit))?;
    writeln!(w)
}

fn log(report: &Report, opts: ReportOptions, limit: usize) -> Value {
    let contexts = ContextView::new(report, opts);

    // Every (finding, location), the most confident first when some must be left out, then
    // back in report order.
    let mut picked: Vec<(usize, usize)> = report
        .findings
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| (0..f.locations.len()).map(move |li| (fi, li)))
        .collect();
    let total = picked.len();
    if total > limit {
        picked.sort_by_key(|&(fi, li)| (std::cmp::Reverse(report.findings[fi].confidence), fi, li));
        picked.truncate(limit);
        picked.sort_unstable();
    }

    // Only the rules that fired, sorted by id so that indices are stable.
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    for &(fi, _) in &picked {
        rule_index.insert(&report.findings[fi].rule_id, 0);
    }
    let mut rules = Vec::with_capacity(rule_index.len());
    for (i, (id, slot)) in rule_index.iter_mut().enumerate() {
        *slot = i;
        let f = report
            .findings
            .iter()
            .find(|f| *f.rule_id == **id)
            .expect("every picked rule id comes from a finding");
        rules.push(rule(report, f));
    }

    let results: Vec<Value> = picked
        .iter()
        .map(|&(fi, li)| {
            let f = &report.findings[fi];
            result(f, &f.locations[li], rule_index[&*f.rule_id], opts, &contexts)
        })
        .collect();

    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.path, e.message) },
            })
        })
        .collect();
    if total > limit {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": truncation_message(total, limit) },
        }));
    }
    let mut invocation = json!({ "executionSuccessful": report.errors.is_empty() });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }

    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "leakseal",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "findings": report.findings.len(),
                "locations": total,
                "truncated": total > limit,
            },
        }]
    })
}

/// GitHub's `security-severity` (a CVSS-like score: 9.0 and up shows as critical) and the
/// SARIF level for a finding's severity.
fn severity(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Critical => ("9.5", "error"),
        Severity::High => ("9.0", "error"),
        Severity::Medium => ("7.5", "error"),
        Severity::Low => ("5.0", "warning"),
        Severity::Info => ("2.0", "note"),
    }
}

fn rule(report: &Report, f: &Finding) -> Value {
    let meta = report.rules.as_ref().and_then(|r| r.rule(&f.rule_id));
    let references: &[String] = meta.map_or(&[], |r| r.references.as_slice());
    let (security_severity, level) = severity(f.severity);
    let mut tags = vec!["security".to_string(), "secret".to_string()];
    for t in f.tags.iter() {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    // GitHub keeps at most 20 tags per rule.
    tags.truncate(20);

    let mut help_text = format!(
        "leakseal rule '{}' ({} confidence) found a secret: {}.\n\n\
         Rotate the secret first: once committed or pushed, deleting it does not make it secret again. \
         Then remove it from the code (and from history if needed), and load it from a secret store or environment variable. \
         If it is not a secret (a test value), add `leakseal:allow` in a comment on its line or allowlist it in .leakseal.toml.",
        f.rule_id,
        f.confidence.as_str(),
        f.description
    );
    let mut help_md = format!(
        "**{}** (leakseal rule `{}`, {} confidence)\n\n\
         1. **Rotate** the secret: once committed or pushed, deleting it does not make it secret again.\n\
         2. Remove it from the code (and from history if needed); load it from a secret store or an environment variable.\n\
         3. If it is not a secret (a test value), add `leakseal:allow` in a comment on its line, or allowlist it in `.leakseal.toml`.\n",
        f.description,
        f.rule_id,
        f.confidence.as_str()
    );
    if !references.is_empty() {
        help_text.push_str("\n\nReferences:");
        help_md.push_str("\nReferences:\n\n");
        for r in references {
            help_text.push_str(&format!("\n- {r}"));
            help_md.push_str(&format!("- <{r}>\n"));
        }
    }
    let mut v = json!({
        "id": &*f.rule_id,
        "name": pascal_case(&f.rule_id),
        "shortDescription": { "text": &*f.description },
        "fullDescription": {
            "text": format!("{} (leakseal rule '{}', {} confidence).", f.description, f.rule_id, f.confidence.as_str())
        },
        "help": { "text": help_text, "markdown": help_md },
        "defaultConfiguration": { "level": level },
        "properties": {
            "tags": tags,
            "precision": f.confidence.as_str(),
            "security-severity": security_severity,
        },
    });
    if let Some(uri) = references
        .iter()
        .find(|r| r.starts_with("https://") || r.starts_with("http://"))
    {
        v["helpUri"] = json!(uri);
    }
    v
}

fn result(f: &Finding, loc: &Location, rule_index: usize, opts: ReportOptions, contexts: &ContextView<'_>) -> Value {
    let p = loc.position;
    let mut message = format!("{}: secret {}", f.description, shown_secret(f, opts));
    if let Some(v) = &loc.via {
        message.push_str(&format!(" ({})", v.label()));
    }
    if let Some(note) = provenance(f, loc) {
        message.push_str(&format!(" ({note})"));
    }
    message.push('.');

    let (uri, base) = uri(&loc.path);
    let mut artifact = json!({ "uri": uri });
    if base {
        artifact["uriBaseId"] = json!("%SRCROOT%");
    }
    let mut region = json!({
        "startLine": p.line,
        "startColumn": p.column,
        "endLine": p.end_line,
        // SARIF's end column is one past the last character.
        "endColumn": p.end_column + 1,
    });
    let snippet = context_line(contexts, loc);
    if !snippet.is_empty() {
        region["snippet"] = json!({ "text": snippet });
    }

    let mut properties = json!({
        "confidence": f.confidence.as_str(),
        "severity": f.severity.as_str(),
        "fingerprint": f.fingerprint,
        "secret": shown_secret(f, opts),
        "secretRedacted": !opts.show_secrets,
    });
    if let Some(v) = &loc.via {
        if let Some(cell) = v.cell {
            properties["cell"] = json!(cell);
        }
        if !v.encoding.is_empty() {
            properties["encoding"] = json!(v.encoding);
        }
    }
    if let Some(c) = &loc.commit {
        properties["commit"] = json!({
            "sha": c.sha,
            "author": c.author,
            "email": c.email,
            "date": c.date,
            "summary": c.summary,
        });
    }
    if let Some(h) = &f.history {
        properties["presentAtHead"] = json!(h.present_at_head);
        properties["commitsAdding"] = json!(h.commits);
    }

    json!({
        "ruleId": &*f.rule_id,
        "ruleIndex": rule_index,
        "level": severity(f.severity).1,
        "kind": "fail",
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": region,
            }
        }],
        "partialFingerprints": {
            // The finding's identity (rule + secret, no line numbers), as in the JSON report
            // and baselines.
            "leakseal/v1": f.fingerprint,
            // The same secret in another file is another alert.
            "leakseal-location/v1": location_fingerprint(&f.fingerprint, &loc.path),
        },
        "properties": properties,
    })
}

/// Hash of (finding fingerprint, path): one alert per secret per file, stable across edits.
fn location_fingerprint(fingerprint: &str, path: &str) -> String {
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A report path as a SARIF URI: relative paths `/`-separated and percent-encoded under
/// `%SRCROOT%` (the bool), absolute paths as `file://` URIs.
pub fn uri(path: &str) -> (String, bool) {
    let mut p = path.replace('\\', "/");
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_string();
    }
    let windows_drive = p.len() >= 2 && p.as_bytes()[1] == b':' && p.as_bytes()[0].is_ascii_alphabetic();
    if p.starts_with('/') || windows_drive {
        let abs = if windows_drive { format!("/{p}") } else { p };
        (format!("file://{}", percent_encode(&abs)), false)
    } else {
        (percent_encode(&p), true)
    }
}

/// Percent-encodes everything but unreserved characters and `/` (RFC 3986).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `github-token` -> `GithubToken` (SARIF's optional rule `name`).
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{ContextKey, Secret};
    use crate::rules::Confidence;
    use crate::scan::{Context, Position};

    fn report(locations: usize) -> Report {
        let mk = |rule: &str, confidence: Confidence, n: usize, secret: &[u8]| Finding {
            rule_id: rule.into(),
            description: "Test token".into(),
            confidence,
            severity: Severity::from_confidence(confidence),
            tags: Vec::new().into(),
            secret: Secret::new(secret.to_vec()),
            fingerprint: "0".repeat(32),
            entropy: 3.0,
            locations: (0..n)
                .map(|i| Location {
                    path: format!("f{i:05}.txt"),
                    position: Position {
                        line: 1,
                        column: 1,
                        end_line: 1,
                        end_column: 10,
                    },
                    via: None,
                    commit: None,
                    context: ContextKey(Context::default()),
                })
                .collect(),
            history: None,
            kms: None,
        };
        Report {
            findings: vec![
                mk("low-rule", Confidence::Low, locations, b"lowlowlowlow"),
                mk("high-rule", Confidence::High, 2, b"highhighhigh"),
            ],
            ..Report::default()
        }
    }

    #[test]
    fn results_over_the_limit_keep_the_most_confident() {
        let r = report(5);
        let v = log(&r, ReportOptions::default(), 3);
        let run = &v["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let high = results.iter().filter(|r| r["ruleId"] == "high-rule").count();
        assert_eq!(high, 2, "both high-confidence results are kept");
        assert_eq!(run["properties"]["truncated"], true);
        assert_eq!(run["properties"]["locations"], 7);
        let note = &run["invocations"][0]["toolExecutionNotifications"][0];
        assert_eq!(note["level"], "warning");
        assert!(note["message"]["text"]
            .as_str()
            .unwrap()
            .contains("7 results exceed the limit of 3"));
    }

    #[test]
    fn under_the_limit_nothing_is_dropped() {
        let r = report(5);
        let v = log(&r, ReportOptions::default(), 7);
        assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 7);
        assert_eq!(v["runs"][0]["properties"]["truncated"], false);
        assert!(warnings(&r).is_empty());
    }

    #[test]
    fn uris() {
        assert_eq!(uri("src/app.py"), ("src/app.py".into(), true));
        assert_eq!(uri("./a b/c%d.txt"), ("a%20b/c%25d.txt".into(), true));
        assert_eq!(uri("dir\\win.txt"), ("dir/win.txt".into(), true));
        assert_eq!(uri("/tmp/x y"), ("file:///tmp/x%20y".into(), false));
        assert_eq!(uri("C:\\x"), ("file:///C%3A/x".into(), false));
        assert_eq!(uri("caf\u{e9}:1"), ("caf%C3%A9%3A1".into(), true));
    }

    #[test]
    fn rule_names() {
        assert_eq!(pascal_case("aws-access-key-id"), "AwsAccessKeyId");
        assert_eq!(pascal_case("github_token"), "GithubToken");
    }
}

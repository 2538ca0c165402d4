//! Structure-aware inputs: notebooks scanned as their cells, lockfiles with hashes blanked,
//! and encoded content (base64, hex, percent) decoded and scanned.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::util::{code, fake, json, locations, stderr, stdout, TestRepo, Tree};

/// A notebook as Jupyter writes it (one-space indent, source split into lines).
fn notebook(cells: serde_json::Value) -> String {
    let nb = json!({
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5
    });
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&nb, &mut ser).unwrap();
    String::from_utf8(buf).unwrap()
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).expect("needle present") as u64 + 1
}

fn png_base64(seed: u64) -> String {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(fake::base62(600, seed).bytes().map(|b| b.wrapping_mul(7)));
    STANDARD.encode(bytes)
}

#[test]
fn notebook_cells_are_scanned_and_the_cell_is_reported() {
    let token = fake::github(500);
    let printed = fake::github(501);
    let text = notebook(json!([
        {"cell_type": "markdown", "metadata": {}, "source": ["# Loading data\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png_base64(1), "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}],
         "source": ["import requests\n", format!("TOKEN = \"{token}\"\n"), "requests.get(URL)\n"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": [format!("using {printed}\n")]}],
         "source": ["print(f'using {TOKEN}')\n"]}
    ]));
    let tree = Tree::new();
    tree.write("analysis.ipynb", &text);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{doc:#}");
    let loc = &findings[0]["locations"][0];
    assert_eq!(loc["path"], "analysis.ipynb");
    assert_eq!(loc["line"], line_of(&text, &token));
    assert_eq!(loc["cell"], 2);
    // The column is where the token stands in the file's JSON string.
    let raw_line = text.lines().nth(line_of(&text, &token) as usize - 1).unwrap();
    assert_eq!(loc["column"], raw_line.find(&token[..8]).unwrap() as u64 + 1);
    // The context is the code as written, not its JSON escaping.
    let ctx = loc["context"].as_str().unwrap();
    assert!(ctx.starts_with("TOKEN = \"ghp_"), "{ctx}");
    assert!(!ctx.contains("\\\""), "{ctx}");
    let loc = &findings[1]["locations"][0];
    assert_eq!(loc["line"], line_of(&text, &printed));
    assert_eq!(loc["cell"], 3);
    // Text reports name the cell; the secrets stay redacted.
    let out = tree.run(&["scan", "--color", "never", "."]);
    let s = stdout(&out);
    assert!(
        s.contains(&format!("analysis.ipynb:{}:", line_of(&text, &token))),
        "{s}"
    );
    assert!(s.contains("(cell 2)"), "{s}");
    assert!(!s.contains(&token) && !s.contains(&printed), "{s}");
}

#[test]
fn notebook_image_outputs_are_not_scanned_and_a_broken_notebook_is_plain_text() {
    let tree = Tree::new();
    let text = notebook(json!([
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["plot()\n"], "outputs": [
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png_base64(2), "text/plain": ["<Figure>"]}}]}
    ]));
    tree.write("plots.ipynb", &text);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let token = fake::github(502);
    let broken = format!("{{\"cells\": [ {{\"source\": \"TOKEN = '{token}'\"\n");
    tree.write("broken.ipynb", &broken);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = locations(&out);
    assert_eq!(locs.len(), 1);
    assert_eq!((locs[0].2.as_str(), locs[0].3), ("broken.ipynb", 1));
    assert!(json(&out)["findings"][0]["locations"][0].get("cell").is_none());
}

#[test]
fn lockfile_hashes_are_quiet_but_credentials_in_urls_are_not() {
    let tree = Tree::new();
    let mut lock = String::from("{\n  \"name\": \"web\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n");
    for (i, p) in ["react", "lodash", "axios", "js-tokens", "dotenv"].iter().enumerate() {
        let integrity = STANDARD.encode(fake::base62(64, 600 + i as u64));
        lock.push_str(&format!(
            "    \"node_modules/{p}\": {{\n      \"version\": \"1.{i}.0\",\n      \"resolved\": \"https://registry.npmjs.org/{p}/-/{p}-1.{i}.0.tgz\",\n      \"integrity\": \"sha512-{integrity}\"\n    }},\n"
        ));
    }
    lock.push_str("  }\n}\n");
    tree.write("package-lock.json", &lock);
    tree.write(
        "Cargo.lock",
        std::fs::read(crate::util::crate_root().join("Cargo.lock")).unwrap(),
    );
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // A private registry URL with a token in it is a leak, lockfile or not.
    let token = fake::github(503);
    let leaky = lock.replace(
        "https://registry.npmjs.org/axios",
        &format!("https://ci:{token}@npm.internal.test/axios"),
    );
    tree.write("package-lock.json", &leaky);
    let out = tree.run(&["scan", "-f", "json", "--show-secrets", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = locations(&out);
    assert!(locs.iter().all(|l| l.2 == "package-lock.json"), "{locs:?}");
    assert!(locs.iter().any(|l| l.1 == token), "{locs:?}");
    assert_eq!(locs.iter().map(|l| l.3).min(), Some(line_of(&leaky, &token)));
}

#[test]
fn base64_content_is_decoded_and_tagged() {
    let token = fake::github(504);
    let encoded = STANDARD.encode(format!("{{\"auth\": \"{token}\"}}"));
    let text = format!("apiVersion: v1\nkind: Secret\ndata:\n  config.json: {encoded}\n");
    let tree = Tree::new();
    tree.write("secret.yaml", &text);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert_eq!(f["rule_id"], "github-token", "{doc:#}");
    let loc = &f["locations"][0];
    assert_eq!(loc["line"], 4);
    assert_eq!(loc["encoding"], json!(["base64"]));
    assert!(loc["column"].as_u64().unwrap() >= 16);
    // Neither the token nor its encoding is printed.
    let out = tree.run(&["scan", "--color", "never", "."]);
    let s = stdout(&out);
    assert!(s.contains("(base64)"), "{s}");
    assert!(!s.contains(&token) && !s.contains(&encoded), "{s}");

    let out = tree.run(&["scan", "--decode-depth", "0", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn nested_encodings_are_decoded_up_to_the_depth_limit() {
    let token = fake::github(505);
    let inner = STANDARD.encode(format!("token: {token}"));
    let twice = STANDARD.encode(format!("payload={inner}"));
    let tree = Tree::new();
    tree.write("blob.txt", format!("value = \"{twice}\"\n"));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        json(&out)["findings"][0]["locations"][0]["encoding"],
        json!(["base64", "base64"])
    );
    let out = tree.run(&["scan", "--decode-depth", "1", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn hex_and_percent_encodings_are_decoded() {
    let token = fake::github(506);
    let hex: String = format!("key={token}").bytes().map(|b| format!("{b:02x}")).collect();
    let pct: String = format!("{{\"token\":\"{token}\"}}")
        .bytes()
        .map(|b| match b {
            b'{' | b'}' | b'"' | b':' => format!("%{b:02X}"),
            _ => (b as char).to_string(),
        })
        .collect();
    let tree = Tree::new();
    tree.write("hex.txt", format!("blob {hex}\n"));
    tree.write("url.txt", format!("see https://app.test/cb?state={pct} now\n"));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let mut got: Vec<(String, serde_json::Value)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap().clone())
        .map(|l| (l["path"].as_str().unwrap().to_string(), l["encoding"].clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("hex.txt".to_string(), json!(["hex"])),
            ("url.txt".to_string(), json!(["percent"]))
        ]
    );
    // Percent-decoding locates the secret exactly.
    let url_loc = locations(&out).into_iter().find(|l| l.2 == "url.txt").unwrap();
    let line = format!("see https://app.test/cb?state={pct} now");
    assert_eq!(url_loc.4, line.find(&token[..4]).unwrap() as u64 + 1);
}

#[test]
fn decoded_private_key_in_a_kubernetes_secret_is_found() {
    let pem = fake::private_key(507, 8);
    let text = format!(
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.key: {}\n",
        STANDARD.encode(&pem)
    );
    let tree = Tree::new();
    tree.write("tls.yaml", &text);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert!(f["rule_id"].as_str().unwrap().contains("private-key"), "{doc:#}");
    assert_eq!(f["locations"][0]["line"], 5);
}

#[test]
fn staged_scan_sees_encoded_secrets_and_notebook_cells_on_added_lines() {
    let repo = TestRepo::new();
    let token = fake::github(508);
    let text = notebook(json!([
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["import os\n", format!("KEY = '{token}'\n")]}
    ]));
    repo.write("nb.ipynb", &text);
    repo.stage("nb.ipynb");
    let encoded = STANDARD.encode(format!("password: {}", fake::github(509)));
    repo.write("values.yaml", format!("blob: {encoded}\n"));
    repo.stage("values.yaml");
    let out = repo.run(&["scan", "--staged", "-f", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut locs: Vec<(String, u64)> = locations(&out).into_iter().map(|l| (l.2, l.3)).collect();
    locs.sort();
    assert_eq!(
        locs,
        vec![
            ("nb.ipynb".to_string(), line_of(&text, "KEY = ")),
            ("values.yaml".to_string(), 1)
        ]
    );
}

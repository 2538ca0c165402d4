//! Extraction with positions from every supported format.

use super::*;

fn slots(text: &str, f: FileFormat) -> Vec<(String, String, usize)> {
    extract(text, f)
        .unwrap()
        .slots
        .into_iter()
        .map(|s| {
            let line = position(text, s.start, s.end).line;
            assert_eq!(
                crate::kms::recognise::b64::compact(&text[s.start..s.end]).replace(['"', '\'', '\\'], ""),
                crate::kms::recognise::b64::compact(&s.value).replace(['"', '\''], ""),
                "range of {} holds its value",
                s.key
            );
            (s.key, s.value, line)
        })
        .collect()
}

fn kv(k: &str, v: &str, l: usize) -> (String, String, usize) {
    (k.into(), v.into(), l)
}

#[test]
fn dotenv_quotes_comments_export() {
    let t = "# c\nA_KEY=plain # note\nexport B_TOKEN=\"dq\"\nC_SECRET='sq'\n\nD=\n";
    assert_eq!(
        slots(t, FileFormat::Dotenv),
        [
            kv("A_KEY", "plain", 2),
            kv("B_TOKEN", "dq", 3),
            kv("C_SECRET", "sq", 4),
            kv("D", "", 6)
        ]
    );
    assert!(extract("A=\"open\n", FileFormat::Dotenv).is_err());
}

#[test]
fn yaml_multi_document_block_scalars_and_wrapping() {
    let t = "a:\n  b_token: one\n---\nkind: Secret\ndata:\n  k: |\n    AAAA\n    BBBB\n  q: \"quoted\"\nlist:\n  - name: API_KEY\n    value: v1\nflag: true\nn: 12\nfold: >-\n  CCCC\n  DDDD\nwrapped: EEEE\n  FFFF\n";
    let got = slots(t, FileFormat::Yaml);
    assert_eq!(
        got,
        [
            kv("b_token", "one", 2),
            kv("kind", "Secret", 4),
            kv("k", "AAAA\nBBBB\n", 7),
            kv("q", "quoted", 9),
            kv("name", "API_KEY", 11),
            kv("API_KEY", "v1", 12),
            kv("fold", "CCCC DDDD", 16),
            kv("wrapped", "EEEE FFFF", 18),
        ]
    );
    let x = extract(t, FileFormat::Yaml).unwrap();
    assert_eq!(x.slots[2].kind.as_deref(), Some("Secret"));
    assert_eq!(x.slots[0].kind, None);
    let vault = "pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n";
    let x = extract(vault, FileFormat::Yaml).unwrap();
    assert_eq!(x.slots[0].tag.as_deref(), Some("!vault"));
    assert!(extract("a: [1,\n", FileFormat::Yaml).unwrap_err().starts_with("line "));
}

#[test]
fn yaml_non_ascii_offsets() {
    let t = "名前: é\nkey_token: \"vé\"\n";
    assert_eq!(
        slots(t, FileFormat::Yaml),
        [kv("名前", "é", 1), kv("key_token", "vé", 2)]
    );
}

#[test]
fn json_positions_and_escapes() {
    let t = "{\n  \"a\": {\"api_key\": \"x\\u0041\\n\"},\n  \"n\": [1, true, null, \"s\"]\n}";
    let x = extract(t, FileFormat::Json).unwrap();
    assert_eq!(x.slots[0].value, "xA\n");
    assert_eq!(position(t, x.slots[0].start, x.slots[0].end).line, 2);
    assert_eq!(x.slots[1].path, ["n", "3"]);
    assert!(extract("{\"a\": }", FileFormat::Json).is_err());
}

#[test]
fn json_strings_keep_text_between_escapes() {
    let t = "{\"k\": \"ab é \\\"q\\\" 名前\\\\ \\u00e9 end\", \"e\": \"\", \"u\": \"ü\"}";
    let Node::Map(m) = json(t).unwrap() else {
        panic!("not a map")
    };
    let strs: Vec<(&str, &str)> = m
        .iter()
        .map(|(k, v)| match v {
            Node::Str(s) => (k.as_str(), &t[s.start..s.end]),
            _ => panic!("not a string"),
        })
        .collect();
    let values: Vec<String> = m
        .iter()
        .map(|(_, v)| match v {
            Node::Str(s) => s.value.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(values, ["ab é \"q\" 名前\\ é end", "", "ü"]);
    assert_eq!(strs[0], ("k", "ab é \\\"q\\\" 名前\\\\ \\u00e9 end"));
    assert_eq!(strs[2], ("u", "ü"));
    assert!(json("{\"k\": \"abc").is_err());
    assert!(json("{\"k\": \"abc\\").is_err());
}

#[test]
fn toml_tables_and_arrays() {
    let t = "[db]\npassword = \"p1\"\n[[svc]]\ntoken = 'p2'\ninline = { api_key = \"\"\"p3\"\"\" }\nport = 5\n";
    assert_eq!(
        slots(t, FileFormat::Toml),
        [kv("password", "p1", 2), kv("token", "p2", 4), kv("api_key", "p3", 5)]
    );
    assert!(extract("a = \n", FileFormat::Toml).is_err());
}

#[test]
fn tfvars_nested_lists_heredoc() {
    let t = "# c\nregion = \"eu\"\ncount = 3\ntags = {\n  team_token = \"t\"\n}\nkeys = [\"k1\", \"k2\"]\ndoc = <<EOT\nline\nEOT\n";
    assert_eq!(
        slots(t, FileFormat::Tfvars),
        [
            kv("region", "eu", 2),
            kv("team_token", "t", 5),
            kv("keys", "k1", 7),
            kv("keys", "k2", 7),
            kv("doc", "line", 9),
        ]
    );
    assert!(extract("a = \"x\n", FileFormat::Tfvars).is_err());
}

#[test]
fn properties_separators_and_continuations() {
    let t = "# c\n! c\na.password=one\nb.token : two\nc.secret three\nd.key = AAAA\\\n    BBBB\n";
    assert_eq!(
        slots(t, FileFormat::Properties),
        [
            kv("a.password", "one", 3),
            kv("b.token", "two", 4),
            kv("c.secret", "three", 5),
            kv("d.key", "AAAABBBB", 6)
        ]
    );
}

#[test]
fn sops_metadata_yaml_and_dotenv() {
    let t = "password: ENC[x]\nsops:\n  kms:\n    - arn: arn:aws:kms:eu-west-1:1:key/a\n      enc: AQICAH\n      context:\n        service: billing\n  mac: ENC[m]\n  unencrypted_suffix: _plain\n";
    let x = extract(t, FileFormat::Yaml).unwrap();
    assert_eq!(x.slots.len(), 1, "the sops block is metadata, not slots");
    let m = x.sops.unwrap();
    assert!(m.mac);
    assert_eq!(m.key_entries, 1);
    assert_eq!(m.kms_arns, ["arn:aws:kms:eu-west-1:1:key/a"]);
    assert_eq!(m.contexts[0]["service"], "billing");
    assert!(m.excludes("db_plain") && !m.excludes("db"));
    let d = "API_KEY=ENC[x]\nsops_kms__list_0__map_arn=arn:aws:kms:r:1:key/a\nsops_kms__list_0__map_enc=AQICAH\nsops_mac=ENC[m]\nsops_version=3.9.0\n";
    let x = extract(d, FileFormat::Dotenv).unwrap();
    assert_eq!(x.slots.len(), 1);
    let m = x.sops.unwrap();
    assert!(m.mac && m.key_entries == 1 && m.kms_encs.len() == 1);
}

#[test]
fn formats_by_name() {
    assert_eq!(format_of(".env.production"), Some(FileFormat::Dotenv));
    assert_eq!(format_of("a/prod.tfvars"), Some(FileFormat::Tfvars));
    assert_eq!(format_of("k8s/s.YML"), Some(FileFormat::Yaml));
    assert_eq!(format_of("README.md"), None);
}

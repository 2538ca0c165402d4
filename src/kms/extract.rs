//! Config files -> slots: every string value with its key, structural path and byte range, from
//! `.env`, YAML (multi-document, block scalars, wrapped base64), JSON, TOML, HCL `*.tfvars` and
//! Java properties; plus what the checker needs around the values: the Kubernetes kind of each
//! document and the file's `sops` metadata.
//!
//! YAML goes through `saphyr-parser` and TOML through `toml_edit` (both give positions); JSON,
//! dotenv, properties and tfvars are small hand-written readers. A file that does not parse is
//! an `Err` with a one-line reason; the caller turns it into a warning. Nothing here judges
//! values.

use std::collections::BTreeMap;

use crate::scan::Position;

/// A string value found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The leaf key (for a list item: the enclosing key; for `{name, value}` pairs: the name).
    pub key: String,
    /// Structural path, keys and list indices.
    pub path: Vec<String>,
    /// The value, unquoted and unescaped (block scalars joined).
    pub value: String,
    /// Byte range of the value's text in the file.
    pub start: usize,
    pub end: usize,
    /// Kubernetes `kind` of the document holding it.
    pub kind: Option<String>,
    /// YAML tag (e.g. `!vault`).
    pub tag: Option<String>,
}

/// What a file's `sops` metadata says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SopsMeta {
    /// `mac` present and non-empty.
    pub mac: bool,
    /// Key entries over all backends and key groups.
    pub key_entries: usize,
    pub kms_arns: Vec<String>,
    pub contexts: Vec<BTreeMap<String, String>>,
    /// `kms[].enc` values (AWS KMS blobs of the data key), to validate.
    pub kms_encs: Vec<Slot>,
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<String>,
    pub encrypted_regex: Option<String>,
    /// Where the metadata starts (byte offset).
    pub start: usize,
}

impl SopsMeta {
    /// Whether sops leaves `key` unencrypted by design.
    pub fn excludes(&self, key: &str) -> bool {
        let re = |p: &str| regex::Regex::new(p).map(|r| r.is_match(key)).unwrap_or(false);
        if let Some(s) = &self.encrypted_suffix {
            return !key.ends_with(s.as_str());
        }
        if let Some(r) = &self.encrypted_regex {
            return !re(r);
        }
        if let Some(r) = &self.unencrypted_regex {
            return re(r);
        }
        key.ends_with(self.unencrypted_suffix.as_deref().unwrap_or("_unencrypted"))
    }
}

/// Everything extracted from one file.
#[derive(Debug, Default)]
pub struct Extracted {
    pub slots: Vec<Slot>,
    pub sops: Option<SopsMeta>,
}

/// The config formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Dotenv,
    Yaml,
    Json,
    Toml,
    Tfvars,
    Properties,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Dotenv => "dotenv",
            FileFormat::Yaml => "YAML",
            FileFormat::Json => "JSON",
            FileFormat::Toml => "TOML",
            FileFormat::Tfvars => "HCL",
            FileFormat::Properties => "properties",
        }
    }
}

/// The format of a file, from its name.
pub fn format_of(rel: &str) -> Option<FileFormat> {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    Some(if name == ".env" || name.starts_with(".env.") || ext == "env" {
        FileFormat::Dotenv
    } else if ext == "yaml" || ext == "yml" {
        FileFormat::Yaml
    } else if ext == "json" || ext == "ejson" {
        FileFormat::Json
    } else if ext == "toml" {
        FileFormat::Toml
    } else if ext == "tfvars" || ext == "hcl" {
        FileFormat::Tfvars
    } else if ext == "properties" {
        FileFormat::Properties
    } else {
        return None;
    })
}

/// A parsed value with positions.
#[derive(Debug, Clone)]
pub enum Node {
    Str(Scalar),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    /// Numbers, booleans, null, aliases: never secrets here.
    Other,
}

/// A string value and its byte range.
#[derive(Debug, Clone)]
pub struct Scalar {
    pub value: String,
    pub start: usize,
    pub end: usize,
    pub tag: Option<String>,
}

/// Parses a JSON document into nodes whose strings keep their byte ranges (also used for
/// notebooks by the scanner).
pub fn json(text: &str) -> Result<Node, String> {
    Json::new(text).document()
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self) -> Option<&Scalar> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Extracts the slots of `text` read as `format`.
pub fn extract(text: &str, format: FileFormat) -> Result<Extracted, String> {
    let docs = match format {
        FileFormat::Yaml => yaml(text)?,
        FileFormat::Json => vec![json(text)?],
        FileFormat::Toml => vec![toml_doc(text)?],
        FileFormat::Dotenv => vec![dotenv(text)?],
        FileFormat::Properties => vec![properties(text)],
        FileFormat::Tfvars => vec![Hcl::new(text).document()?],
    };
    let mut out = Extracted::default();
    let flat = matches!(format, FileFormat::Dotenv | FileFormat::Properties);
    for doc in &docs {
        let kind = doc.get("kind").and_then(Node::str).map(|s| s.value.clone());
        let mut skip_sops = false;
        if let Some(meta) = doc.get("sops").filter(|n| matches!(n, Node::Map(_))) {
            out.sops = Some(sops_meta(meta));
            skip_sops = true;
        } else if flat {
            if let Some(meta) = flat_sops_meta(doc) {
                out.sops = Some(meta);
                skip_sops = true;
            }
        }
        walk(
            doc,
            &mut Vec::new(),
            "",
            kind.as_deref(),
            skip_sops,
            flat,
            &mut out.slots,
        );
    }
    Ok(out)
}

fn walk(
    node: &Node,
    path: &mut Vec<String>,
    key: &str,
    kind: Option<&str>,
    skip_sops: bool,
    flat: bool,
    out: &mut Vec<Slot>,
) {
    match node {
        Node::Str(s) => out.push(Slot {
            key: key.to_string(),
            path: path.clone(),
            value: s.value.clone(),
            start: s.start,
            end: s.end,
            kind: kind.map(str::to_string),
            tag: s.tag.clone(),
        }),
        Node::Map(entries) => {
            // `{name: FOO, value: bar}` (container env, Helm lists): the value's key is FOO.
            let named = node.get("name").and_then(Node::str).map(|s| s.value.clone());
            for (k, v) in entries {
                if path.is_empty() && skip_sops && (k == "sops" || (flat && k.starts_with("sops_"))) {
                    continue;
                }
                let leaf = match (&named, k.as_str()) {
                    (Some(n), "value") => n.clone(),
                    _ => k.clone(),
                };
                path.push(k.clone());
                walk(v, path, &leaf, kind, skip_sops, flat, out);
                path.pop();
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(v, path, key, kind, skip_sops, flat, out);
                path.pop();
            }
        }
        Node::Other => {}
    }
}

fn scalar_slot(key: &str, s: &Scalar) -> Slot {
    Slot {
        key: key.to_string(),
        path: vec![key.to_string()],
        value: s.value.clone(),
        start: s.start,
        end: s.end,
        kind: None,
        tag: None,
    }
}

fn sops_meta(meta: &Node) -> SopsMeta {
    let mut m = SopsMeta {
        mac: meta
            .get("mac")
            .and_then(Node::str)
            .is_some_and(|s| !s.value.trim().is_empty()),
        start: first_offset(meta).unwrap_or(0),
        ..SopsMeta::default()
    };
    let s = |k: &str| meta.get(k).and_then(Node::str).map(|s| s.value.clone());
    m.unencrypted_suffix = s("unencrypted_suffix");
    m.encrypted_suffix = s("encrypted_suffix");
    m.unencrypted_regex = s("unencrypted_regex");
    m.encrypted_regex = s("encrypted_regex");
    let mut groups = vec![meta];
    if let Some(Node::Seq(g)) = meta.get("key_groups") {
        groups.extend(g.iter());
    }
    for g in groups {
        for backend in ["kms", "gcp_kms", "azure_kv", "hc_vault", "age", "pgp"] {
            let Some(Node::Seq(entries)) = g.get(backend) else {
                continue;
            };
            m.key_entries += entries.len();
            if backend != "kms" {
                continue;
            }
            for e in entries {
                if let Some(arn) = e.get("arn").and_then(Node::str) {
                    m.kms_arns.push(arn.value.clone());
                }
                if let Some(enc) = e.get("enc").and_then(Node::str) {
                    m.kms_encs.push(scalar_slot("enc", enc));
                }
                if let Some(Node::Map(ctx)) = e.get("context") {
                    m.contexts.push(
                        ctx.iter()
                            .filter_map(|(k, v)| v.str().map(|s| (k.clone(), s.value.clone())))
                            .collect(),
                    );
                }
            }
        }
    }
    m
}

/// dotenv / INI: metadata flattened into `sops_kms__list_0__map_arn`, `sops_mac`, ….
fn flat_sops_meta(doc: &Node) -> Option<SopsMeta> {
    let Node::Map(entries) = doc else { return None };
    if !entries
        .iter()
        .any(|(k, _)| k == "sops_mac" || k == "sops_version" || k == "sops_lastmodified")
    {
        return None;
    }
    let mut m = SopsMeta::default();
    let mut entries_seen = std::collections::BTreeSet::new();
    for (k, v) in entries {
        let Some(s) = v.str() else { continue };
        if m.start == 0 && k.starts_with("sops_") {
            m.start = s.start;
        }
        match k.as_str() {
            "sops_mac" => m.mac = !s.value.trim().is_empty(),
            "sops_unencrypted_suffix" => m.unencrypted_suffix = Some(s.value.clone()),
            "sops_encrypted_suffix" => m.encrypted_suffix = Some(s.value.clone()),
            "sops_unencrypted_regex" => m.unencrypted_regex = Some(s.value.clone()),
            "sops_encrypted_regex" => m.encrypted_regex = Some(s.value.clone()),
            _ => {}
        }
        if let Some(rest) = k.strip_prefix("sops_") {
            if let Some((backend_entry, field)) = rest.split_once("__map_") {
                entries_seen.insert(backend_entry.to_string());
                if backend_entry.starts_with("kms__list_") {
                    match field {
                        "arn" => m.kms_arns.push(s.value.clone()),
                        "enc" => m.kms_encs.push(scalar_slot(k, s)),
                        _ => {}
                    }
                }
            }
        }
    }
    m.key_entries = entries_seen.len();
    Some(m)
}

fn first_offset(n: &Node) -> Option<usize> {
    match n {
        Node::Str(s) => Some(s.start),
        Node::Map(m) => m.iter().filter_map(|(_, v)| first_offset(v)).min(),
        Node::Seq(s) => s.iter().filter_map(first_offset).min(),
        Node::Other => None,
    }
}

// ---- YAML ----

fn yaml(text: &str) -> Result<Vec<Node>, String> {
    use saphyr_parser::{Event, Parser, ScalarStyle};
    enum Frame {
        Map(Vec<(String, Node)>, Option<String>),
        Seq(Vec<Node>),
    }
    // saphyr's markers count characters; map them to byte offsets.
    let byte_at: Option<Vec<usize>> = (!text.is_ascii()).then(|| {
        let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        v.push(text.len());
        v
    });
    let byte = |ci: usize| byte_at.as_ref().map_or(ci.min(text.len()), |v| v[ci.min(v.len() - 1)]);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    fn push(stack: &mut [Frame], docs: &mut Vec<Node>, node: Node, key_text: Option<String>) {
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(items)) => items.push(node),
            Some(Frame::Map(entries, pending)) => match pending.take() {
                Some(k) => entries.push((k, node)),
                None => *pending = Some(key_text.unwrap_or_else(|| "?".into())),
            },
        }
    }
    let mut parser = Parser::new_from_str(text);
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| format!("line {}: {}", e.marker().line(), e.info()))?;
        match ev {
            Event::Scalar(v, style, _, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let plain_non_string = style == ScalarStyle::Plain
                    && tag.is_none()
                    && (matches!(
                        v.as_ref(),
                        "true" | "false" | "True" | "False" | "TRUE" | "FALSE" | "null" | "Null" | "NULL" | "~" | ""
                    ) || v.parse::<f64>().is_ok());
                let key_text = Some(v.to_string());
                let mut start = byte(span.start.index());
                let mut end = byte(span.end.index()).max(start);
                if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) && end >= start + 2 {
                    start += 1;
                    end -= 1;
                }
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded | ScalarStyle::Plain) {
                    // Block scalars (and wrapped plain ones) end after their last line break.
                    end = start + text[start..end].trim_end().len();
                }
                let node = if plain_non_string {
                    Node::Other
                } else {
                    Node::Str(Scalar {
                        value: v.into_owned(),
                        start,
                        end,
                        tag,
                    })
                };
                push(&mut stack, &mut docs, node, key_text);
            }
            Event::MappingStart(..) => stack.push(Frame::Map(Vec::new(), None)),
            Event::SequenceStart(..) => stack.push(Frame::Seq(Vec::new())),
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match stack.pop() {
                    Some(Frame::Map(e, _)) => Node::Map(e),
                    Some(Frame::Seq(s)) => Node::Seq(s),
                    None => return Err("unbalanced YAML structure".into()),
                };
                push(&mut stack, &mut docs, node, None);
            }
            Event::Alias(_) => push(&mut stack, &mut docs, Node::Other, None),
            Event::StreamEnd => break,
            _ => {}
        }
    }
    Ok(docs)
}

// ---- TOML ----

fn toml_doc(text: &str) -> Result<Node, String> {
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        format!(
            "line {line}: {}",
            e.message().split_whitespace().collect::<Vec<_>>().join(" ")
        )
    })?;
    fn value(text: &str, v: &toml_edit::Value) -> Node {
        match v {
            toml_edit::Value::String(s) => {
                let (start, end) = v.span().map(|r| (r.start, r.end)).unwrap_or((0, 0));
                let raw = &text[start..end];
                let q = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                    3
                } else {
                    1
                };
                let (start, end) = if end >= start + 2 * q {
                    (start + q, end - q)
                } else {
                    (start, end)
                };
                Node::Str(Scalar {
                    value: s.value().clone(),
                    start,
                    end,
                    tag: None,
                })
            }
            toml_edit::Value::Array(a) => Node::Seq(a.iter().map(|x| value(text, x)).collect()),
            toml_edit::Value::InlineTable(t) => {
                Node::Map(t.iter().map(|(k, x)| (k.to_string(), value(text, x))).collect())
            }
            _ => Node::Other,
        }
    }
    fn table(text: &str, t: &toml_edit::Table) -> Node {
        Node::Map(t.iter().map(|(k, i)| (k.to_string(), item(text, i))).collect())
    }
    fn item(text: &str, i: &toml_edit::Item) -> Node {
        match i {
            toml_edit::Item::Value(v) => value(text, v),
            toml_edit::Item::Table(t) => table(text, t),
            toml_edit::Item::ArrayOfTables(a) => Node::Seq(a.iter().map(|t| table(text, t)).collect()),
            toml_edit::Item::None => Node::Other,
        }
    }
    Ok(table(text, doc.as_table()))
}

// ---- JSON ----

struct Json<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Json<'a> {
    fn new(text: &'a str) -> Self {
        Json {
            b: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn err(&self, m: &str) -> String {
        let line = self.text[..self.pos.min(self.text.len())].matches('\n').count() + 1;
        format!("line {line}: {m}")
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn document(mut self) -> Result<Node, String> {
        self.ws();
        let n = self.value(0)?;
        self.ws();
        if self.pos != self.b.len() {
            return Err(self.err("trailing characters after the JSON value"));
        }
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        if depth > 256 {
            return Err(self.err("nesting too deep"));
        }
        self.ws();
        match self.b.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Node::Map(entries));
                }
                loop {
                    self.ws();
                    let k = self.string()?.value;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Node::Map(entries));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Node::Seq(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Node::Seq(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(c) if c.is_ascii_digit() || *c == b'-' || c.is_ascii_alphabetic() => {
                let s = self.pos;
                while self.pos < self.b.len()
                    && (self.b[self.pos].is_ascii_alphanumeric() || b"+-.".contains(&self.b[self.pos]))
                {
                    self.pos += 1;
                }
                let lit = &self.text[s..self.pos];
                if matches!(lit, "true" | "false" | "null") || lit.parse::<f64>().is_ok() {
                    Ok(Node::Other)
                } else {
                    Err(self.err(&format!("unexpected '{lit}'")))
                }
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn string(&mut self) -> Result<Scalar, String> {
        if self.b.get(self.pos) != Some(&b'"') {
            return Err(self.err("expected a string"));
        }
        self.pos += 1;
        let start = self.pos;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self
                        .b
                        .get(self.pos + 1)
                        .ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 2;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self
                                .text
                                .get(self.pos..self.pos + 4)
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            let mut cp = u32::from_str_radix(hex, 16).map_err(|_| self.err("bad \\u escape"))?;
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&cp) && self.text.get(self.pos..self.pos + 2) == Some("\\u") {
                                if let Some(lo) = self
                                    .text
                                    .get(self.pos + 2..self.pos + 6)
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff);
                                    self.pos += 6;
                                }
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(other as char),
                    }
                }
                _ => {
                    // Up to the next quote or escape, as it is (both are ASCII: a boundary).
                    let run = memchr::memchr2(b'"', b'\\', &self.b[self.pos..]).unwrap_or(self.b.len() - self.pos);
                    out.push_str(&self.text[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
        }
        let end = self.pos;
        self.pos += 1;
        Ok(Scalar {
            value: out,
            start,
            end,
            tag: None,
        })
    }
}

// ---- dotenv ----

fn dotenv(text: &str) -> Result<Node, String> {
    let b = text.as_bytes();
    let mut entries = Vec::new();
    let mut pos = 0;
    let mut line_no = 0;
    while pos < b.len() {
        line_no += 1;
        let line_end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |p| pos + p);
        let line = &text[pos..line_end];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pos = line_end + 1;
            continue;
        }
        let body = trimmed.strip_prefix("export ").map(str::trim_start).unwrap_or(trimmed);
        let body_at = pos + indent + (trimmed.len() - body.len());
        let Some(eq) = body.find('=') else {
            pos = line_end + 1;
            continue;
        };
        let key = body[..eq].trim();
        if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c)) {
            pos = line_end + 1;
            continue;
        }
        let mut vstart = body_at + eq + 1;
        while vstart < b.len() && (b[vstart] == b' ' || b[vstart] == b'\t') {
            vstart += 1;
        }
        let (scalar, next) = match b.get(vstart) {
            Some(&q @ (b'"' | b'\'' | b'`')) => {
                let s = vstart + 1;
                let mut i = s;
                let mut value = String::new();
                loop {
                    let Some(&c) = b.get(i) else {
                        return Err(format!("line {line_no}: unterminated quoted value for {key}"));
                    };
                    if c == q {
                        break;
                    }
                    if c == b'\\' && q == b'"' && i + 1 < b.len() {
                        match b[i + 1] {
                            b'n' => value.push('\n'),
                            b'r' => value.push('\r'),
                            b't' => value.push('\t'),
                            other => value.push(other as char),
                        }
                        i += 2;
                        continue;
                    }
                    let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                    value.push_str(&text[i..i + ch_len]);
                    i += ch_len;
                }
                let after = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
                (
                    Scalar {
                        value,
                        start: s,
                        end: i,
                        tag: None,
                    },
                    after + 1,
                )
            }
            _ => {
                let rest = &text[vstart..line_end];
                let cut = rest.find(" #").or_else(|| rest.find("\t#")).unwrap_or(rest.len());
                let v = rest[..cut].trim_end();
                (
                    Scalar {
                        value: v.to_string(),
                        start: vstart,
                        end: vstart + v.len(),
                        tag: None,
                    },
                    line_end + 1,
                )
            }
        };
        line_no += text[pos..next.min(text.len())].matches('\n').count().saturating_sub(1);
        entries.push((key.to_string(), Node::Str(scalar)));
        pos = next;
    }
    Ok(Node::Map(entries))
}

// ---- Java properties ----

fn properties(text: &str) -> Node {
    let b = text.as_bytes();
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let line_end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |p| pos + p);
        let line = text[pos..line_end].trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            pos = line_end + 1;
            continue;
        }
        let lstart = pos + (line.len() - trimmed.len());
        // The key ends at the first unescaped '=', ':' or whitespace.
        let tb = trimmed.as_bytes();
        let mut k = 0;
        while k < tb.len() && !matches!(tb[k], b'=' | b':' | b' ' | b'\t') {
            k += if tb[k] == b'\\' { 2 } else { 1 };
        }
        let k = k.min(tb.len());
        let key = trimmed[..k].replace('\\', "");
        let mut v = k;
        while v < tb.len() && matches!(tb[v], b' ' | b'\t') {
            v += 1;
        }
        if v < tb.len() && matches!(tb[v], b'=' | b':') {
            v += 1;
        }
        while v < tb.len() && matches!(tb[v], b' ' | b'\t') {
            v += 1;
        }
        let start = lstart + v;
        let mut value = String::new();
        let mut seg = &trimmed[v..];
        let mut end;
        let mut cur_end = line_end;
        loop {
            end = cur_end.min(text.len());
            let continued = seg.ends_with('\\') && !seg.ends_with("\\\\");
            value.push_str(seg.strip_suffix('\\').filter(|_| continued).unwrap_or(seg));
            if !continued || cur_end >= b.len() {
                if continued {
                    end = cur_end;
                }
                break;
            }
            let ns = cur_end + 1;
            cur_end = memchr::memchr(b'\n', &b[ns..]).map_or(b.len(), |p| ns + p);
            seg = text[ns..cur_end].trim_end_matches('\r').trim_start();
        }
        let raw_end = start + text[start..end].trim_end_matches(['\r', '\\']).trim_end().len();
        entries.push((
            key,
            Node::Str(Scalar {
                value,
                start,
                end: raw_end.max(start),
                tag: None,
            }),
        ));
        pos = cur_end + 1;
    }
    Node::Map(entries)
}

// ---- HCL (tfvars) ----

struct Hcl<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Hcl<'a> {
    fn new(text: &'a str) -> Self {
        Hcl {
            text,
            b: text.as_bytes(),
            pos: 0,
        }
    }

    fn err(&self, m: &str) -> String {
        let line = self.text[..self.pos.min(self.text.len())].matches('\n').count() + 1;
        format!("line {line}: {m}")
    }

    fn skip(&mut self, newlines: bool) {
        loop {
            while self.pos < self.b.len()
                && (matches!(self.b[self.pos], b' ' | b'\t' | b'\r' | b',') || (newlines && self.b[self.pos] == b'\n'))
            {
                self.pos += 1;
            }
            let rest = &self.b[self.pos..];
            if rest.starts_with(b"#") || rest.starts_with(b"//") {
                self.pos = memchr::memchr(b'\n', rest).map_or(self.b.len(), |p| self.pos + p);
            } else if rest.starts_with(b"/*") {
                self.pos = memchr::memmem::find(rest, b"*/").map_or(self.b.len(), |p| self.pos + p + 2);
            } else {
                return;
            }
        }
    }

    fn document(mut self) -> Result<Node, String> {
        let entries = self.body(None)?;
        Ok(Node::Map(entries))
    }

    /// Attributes until `close` (or the end).
    fn body(&mut self, close: Option<u8>) -> Result<Vec<(String, Node)>, String> {
        let mut entries = Vec::new();
        loop {
            self.skip(true);
            match self.b.get(self.pos) {
                None if close.is_none() => return Ok(entries),
                None => return Err(self.err("unclosed '{'")),
                Some(&c) if Some(c) == close => {
                    self.pos += 1;
                    return Ok(entries);
                }
                _ => {}
            }
            let key = if self.b[self.pos] == b'"' {
                self.string()?.value
            } else {
                let s = self.pos;
                while self.pos < self.b.len()
                    && (self.b[self.pos].is_ascii_alphanumeric() || b"_-.".contains(&self.b[self.pos]))
                {
                    self.pos += 1;
                }
                if s == self.pos {
                    return Err(self.err("expected an attribute name"));
                }
                self.text[s..self.pos].to_string()
            };
            self.skip(false);
            match self.b.get(self.pos) {
                Some(b'=') | Some(b':') => self.pos += 1,
                Some(b'{') => {}
                _ => return Err(self.err(&format!("expected '=' after {key}"))),
            }
            let v = self.value()?;
            entries.push((key, v));
        }
    }

    fn value(&mut self) -> Result<Node, String> {
        self.skip(false);
        match self.b.get(self.pos) {
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(b'{') => {
                self.pos += 1;
                Ok(Node::Map(self.body(Some(b'}'))?))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip(true);
                    match self.b.get(self.pos) {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Node::Seq(items));
                        }
                        None => return Err(self.err("unclosed '['")),
                        _ => items.push(self.value()?),
                    }
                }
            }
            Some(b'<') if self.b[self.pos..].starts_with(b"<<") => self.heredoc(),
            Some(_) => {
                // Numbers, booleans, expressions: up to the end of the line or a delimiter.
                while self.pos < self.b.len() && !matches!(self.b[self.pos], b'\n' | b',' | b'}' | b']') {
                    self.pos += 1;
                }
                Ok(Node::Other)
            }
            None => Err(self.err("expected a value")),
        }
    }

    fn heredoc(&mut self) -> Result<Node, String> {
        self.pos += 2;
        let indent = self.b.get(self.pos) == Some(&b'-');
        if indent {
            self.pos += 1;
        }
        let s = self.pos;
        while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
            self.pos += 1;
        }
        let marker = self.text[s..self.pos].trim().to_string();
        self.pos += 1;
        let start = self.pos;
        let mut lines = Vec::new();
        loop {
            if self.pos >= self.b.len() {
                return Err(self.err(&format!("heredoc without its {marker} line")));
            }
            let e = memchr::memchr(b'\n', &self.b[self.pos..]).map_or(self.b.len(), |p| self.pos + p);
            let line = &self.text[self.pos..e];
            if line.trim() == marker {
                let end = self.pos.saturating_sub(1).max(start);
                self.pos = e;
                return Ok(Node::Str(Scalar {
                    value: lines.join("\n"),
                    start,
                    end,
                    tag: None,
                }));
            }
            lines.push(if indent { line.trim_start() } else { line });
            self.pos = e + 1;
        }
    }

    fn string(&mut self) -> Result<Scalar, String> {
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        loop {
            match self.b.get(self.pos) {
                None | Some(b'\n') => return Err(self.err("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    let e = self.b.get(self.pos + 1).copied().unwrap_or(b'\\');
                    value.push(match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        other => other as char,
                    });
                    self.pos += 2;
                }
                Some(_) => {
                    let n = self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
                    value.push_str(&self.text[self.pos..self.pos + n]);
                    self.pos += n;
                }
            }
        }
        let end = self.pos;
        self.pos += 1;
        Ok(Scalar {
            value,
            start,
            end,
            tag: None,
        })
    }
}

/// Line and column (1-based, characters) of the byte range [start, end) of `text`.
pub fn position(text: &str, start: usize, end: usize) -> Position {
    let at = |p: usize| {
        let p = p.min(text.len());
        let line = text.as_bytes()[..p].iter().filter(|&&c| c == b'\n').count() + 1;
        let ls = text[..p].rfind('\n').map_or(0, |i| i + 1);
        (line, text[ls..p].chars().count() + 1)
    };
    let (line, column) = at(start);
    let mut last = if end > start { end - 1 } else { start };
    while last > 0 && !text.is_char_boundary(last.min(text.len())) {
        last -= 1;
    }
    let (end_line, end_column) = at(last);
    Position {
        line,
        column,
        end_line,
        end_column,
    }
}

#[cfg(test)]
mod tests;

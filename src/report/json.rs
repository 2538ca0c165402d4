//! JSON and JSON Lines reports. The schema is documented in the README and versioned by
//! `schema_version`; fields are only ever added.

use std::io::{self, Write};

use serde::Serialize;

use super::{shown_secret, ContextView, Report, ReportOptions};
use crate::finding::Finding;
use crate::source::{ItemError, Stats};

/// Version of the JSON schema below.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    /// A marker the findings array replaces (see `write`).
    findings: &'static str,
    summary: Summary<'a>,
}

/// The findings as one value: what `write` splices in, serialized whole (for the test that
/// compares both).
#[cfg(test)]
struct Findings<'a> {
    report: &'a Report,
    opts: ReportOptions,
    contexts: &'a ContextView<'a>,
}

#[cfg(test)]
impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.report
                .findings
                .iter()
                .map(|f| finding(f, self.opts, self.contexts)),
        )
    }
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary<'a> {
    findings: usize,
    locations: usize,
    #[serde(flatten)]
    stats: &'a Stats,
    duration_ms: u64,
    errors: &'a [ItemError],
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<&'a crate::source::git::GitStats>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    description: &'a str,
    confidence: &'a str,
    severity: &'a str,
    tags: &'a [String],
    fingerprint: &'a str,
    secret: String,
    secret_redacted: bool,
    entropy: f64,
    locations: Vec<JsonLocation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a crate::finding::HistoryInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms: Option<&'a crate::kms::KmsInfo>,
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    context: String,
    /// Notebook cell and encodings, when the secret was inside one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    via: Option<&'a crate::scan::Via>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a crate::finding::CommitInfo>,
}

fn finding<'a>(f: &'a Finding, opts: ReportOptions, contexts: &ContextView<'_>) -> JsonFinding<'a> {
    JsonFinding {
        rule_id: &f.rule_id,
        description: &f.description,
        confidence: f.confidence.as_str(),
        severity: f.severity.as_str(),
        tags: &f.tags,
        fingerprint: &f.fingerprint,
        secret: shown_secret(f, opts),
        secret_redacted: !opts.show_secrets,
        entropy: (f.entropy * 1000.0).round() / 1000.0,
        history: f.history.as_ref(),
        kms: f.kms.as_deref(),
        locations: f
            .locations
            .iter()
            .map(|l| {
                let (before, secret, after) = contexts.parts(l);
                JsonLocation {
                    path: &l.path,
                    line: l.position.line,
                    column: l.position.column,
                    end_line: l.position.end_line,
                    end_column: l.position.end_column,
                    context: [before, secret, after].concat(),
                    via: l.via.as_deref(),
                    commit: l.commit.as_deref(),
                }
            })
            .collect(),
    }
}

/// One JSON document: `{schema_version, tool, findings, summary}`, pretty-printed.
///
/// The findings are serialized in parallel, a batch at a time, and spliced into the document
/// where a marker stands for them: the bytes are those of `serde_json::to_writer_pretty` of the
/// whole document (a test compares them), and memory holds one batch, not the report twice.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let contexts = ContextView::new(report, opts);
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "leakseal",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: FINDINGS_MARKER,
        summary: Summary {
            findings: report.findings.len(),
            locations: report.locations(),
            stats: &report.stats,
            duration_ms: report.duration.as_millis() as u64,
            errors: &report.errors,
            git: report.git.as_ref(),
        },
    };
    let frame = serde_json::to_vec_pretty(&doc)?;
    let marker = serde_json::to_vec(FINDINGS_MARKER)?;
    let at = memchr::memmem::find(&frame, &marker).expect("the marker is in the frame");
    w.write_all(&frame[..at])?;
    write_findings(report, opts, &contexts, w)?;
    w.write_all(&frame[at + marker.len()..])?;
    writeln!(w)
}

/// Stands for the findings array in the document's frame (control characters are escaped, so
/// no other value can print as it).
const FINDINGS_MARKER: &str = "\u{1}leakseal findings\u{1}";

/// Findings serialized together by one worker.
const BATCH: usize = 256;

/// The `findings` array as `to_writer_pretty` prints it at the document's second level.
fn write_findings(
    report: &Report,
    opts: ReportOptions,
    contexts: &ContextView<'_>,
    w: &mut dyn Write,
) -> io::Result<()> {
    use rayon::prelude::*;
    if report.findings.is_empty() {
        return w.write_all(b"[]");
    }
    w.write_all(b"[\n")?;
    let mut first = true;
    // A few batches per worker at a time, written in order.
    for group in report.findings.chunks(BATCH * 2 * rayon::current_num_threads().max(1)) {
        let parts: Vec<io::Result<Vec<u8>>> = group
            .par_chunks(BATCH)
            .map(|batch| {
                let mut out = Vec::new();
                for f in batch {
                    if !out.is_empty() {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(b"    ");
                    let jf = finding(f, opts, contexts);
                    if !write_plain(&mut out, &jf) {
                        let mut ser = serde_json::Serializer::with_formatter(
                            &mut out,
                            Nested {
                                depth: 2,
                                has_value: false,
                            },
                        );
                        jf.serialize(&mut ser)?;
                    }
                }
                Ok(out)
            })
            .collect();
        for part in parts {
            if !first {
                w.write_all(b",\n")?;
            }
            first = false;
            w.write_all(&part?)?;
        }
    }
    w.write_all(b"\n  ]")
}

/// Writes `f` as `Nested { depth: 2 }` prints it, byte for byte, when it has the fields every
/// file finding has and no others (no history, ciphertext facts, encodings, cell or commit);
/// `false`, having written nothing, otherwise. `serde_json` escapes a string a byte at a time
/// (a third of the report's time on the 5,000-file tree); most strings here need no escape,
/// and one pass over them tells.
fn write_plain(out: &mut Vec<u8>, f: &JsonFinding<'_>) -> bool {
    if f.history.is_some() || f.kms.is_some() || f.locations.iter().any(|l| l.via.is_some() || l.commit.is_some()) {
        return false;
    }
    let field = |out: &mut Vec<u8>, indent: &str, key: &str| {
        out.extend_from_slice(indent.as_bytes());
        out.extend_from_slice(b"\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
    };
    let text = |out: &mut Vec<u8>, indent: &str, key: &str, value: &str| {
        field(out, indent, key);
        json_str(out, value);
    };
    let number = |out: &mut Vec<u8>, indent: &str, key: &str, value: usize| {
        field(out, indent, key);
        write!(out, "{value}").expect("a Vec takes every write");
    };
    const KEY: &str = "{\n      ";
    const NEXT: &str = ",\n      ";
    text(out, KEY, "rule_id", f.rule_id);
    text(out, NEXT, "description", f.description);
    text(out, NEXT, "confidence", f.confidence);
    text(out, NEXT, "severity", f.severity);
    field(out, NEXT, "tags");
    array(out, f.tags, |out, t| json_str(out, t));
    text(out, NEXT, "fingerprint", f.fingerprint);
    text(out, NEXT, "secret", &f.secret);
    field(out, NEXT, "secret_redacted");
    out.extend_from_slice(if f.secret_redacted { b"true" } else { b"false" });
    field(out, NEXT, "entropy");
    // `serde_json`'s float format (`3.0`, not `3`).
    serde_json::to_writer(&mut *out, &f.entropy).expect("a Vec takes every write");
    field(out, NEXT, "locations");
    array(out, &f.locations, |out, l| {
        const KEY: &str = "{\n          ";
        const NEXT: &str = ",\n          ";
        text(out, KEY, "path", l.path);
        number(out, NEXT, "line", l.line);
        number(out, NEXT, "column", l.column);
        number(out, NEXT, "end_line", l.end_line);
        number(out, NEXT, "end_column", l.end_column);
        text(out, NEXT, "context", &l.context);
        out.extend_from_slice(b"\n        }");
    });
    out.extend_from_slice(b"\n    }");
    true
}

/// A finding's array field's value (`items`, each written by `item`), as `write_plain` prints it.
fn array<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    if items.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    for (i, x) in items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"[\n        " } else { b",\n        " });
        item(out, x);
    }
    out.extend_from_slice(b"\n      ]");
}

/// `s` as a JSON string, escaped as `serde_json` escapes it.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // Without a branch per byte, so that it runs many bytes at a time.
    let escape = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escape {
        serde_json::to_writer(&mut *out, s).expect("a Vec takes every write");
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// `serde_json`'s pretty printing (two spaces per level) of a value that starts `depth` levels
/// deep in a document: the findings are serialized one by one at the document's second level.
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn newline(&self, w: &mut (impl Write + ?Sized)) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open(&mut self, w: &mut (impl Write + ?Sized), bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close(&mut self, w: &mut (impl Write + ?Sized), bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn item(&mut self, w: &mut (impl Write + ?Sized), first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// One finding object per line (same shape as in `findings` of the JSON report).
pub fn write_lines(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let contexts = ContextView::new(report, opts);
    for f in &report.findings {
        serde_json::to_writer(&mut *w, &finding(f, opts, &contexts))?;
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{ContextKey, Location, Secret};
    use crate::rules::{Confidence, Severity};
    use crate::scan::{Context, Position};

    /// `n` findings, some with awkward text (quotes, control characters, backslashes, non-ASCII,
    /// line breaks), some plain; with and without tags, whole and fractional entropies, and a
    /// few in a notebook cell (printed by `serde_json`, the others by `write_plain`).
    fn report(n: usize) -> Report {
        let findings = (0..n)
            .map(|i| Finding {
                rule_id: format!("rule-{}", i % 7).into(),
                description: match i % 3 {
                    0 => "A \"quoted\"\ndescription \u{1} é".into(),
                    1 => "Plain description, é and \u{7f}".into(),
                    _ => "back\\slash".into(),
                },
                confidence: Confidence::Medium,
                severity: Severity::from_confidence(Confidence::Medium),
                tags: match i % 4 {
                    0 => Vec::new().into(),
                    1 => vec!["t".to_string()].into(),
                    _ => vec!["a\"b".to_string(), "c".to_string()].into(),
                },
                secret: Secret::new(match i % 2 {
                    0 => format!("secret-{i}\n\"x\"").into_bytes(),
                    _ => format!("plain-secret-{i}").into_bytes(),
                }),
                fingerprint: format!("{i:032x}"),
                entropy: [3.25, 3.0, 0.0, 4.772, 5.5][i % 5],
                locations: (0..1 + i % 3)
                    .map(|j| Location {
                        path: format!("dir/f{i}-{j}.txt"),
                        position: Position {
                            line: j + 1,
                            column: 2,
                            end_line: j + 1,
                            end_column: 9,
                        },
                        via: (i % 11 == 3 && j == 0).then(|| {
                            Box::new(crate::scan::Via {
                                cell: Some(2),
                                encoding: Vec::new(),
                            })
                        }),
                        commit: None,
                        context: ContextKey(Context::default()),
                    })
                    .collect(),
                history: None,
                kms: None,
            })
            .collect();
        Report {
            findings,
            ..Report::default()
        }
    }

    /// The document with its findings serialized in place.
    #[derive(Serialize)]
    struct Whole<'a> {
        schema_version: u32,
        tool: Tool,
        findings: Findings<'a>,
        summary: Summary<'a>,
    }

    #[test]
    fn spliced_document_is_the_whole_document() {
        // Empty, one, a batch and a bit, more than a round of batches.
        for n in [0, 1, BATCH + 3, BATCH * 2 * rayon::current_num_threads().max(1) + 5] {
            let r = report(n);
            for show_secrets in [false, true] {
                let opts = ReportOptions {
                    show_secrets,
                    ..ReportOptions::default()
                };
                let mut got = Vec::new();
                write(&r, opts, &mut got).unwrap();
                let contexts = ContextView::new(&r, opts);
                let whole = Whole {
                    schema_version: SCHEMA_VERSION,
                    tool: Tool {
                        name: "leakseal",
                        version: env!("CARGO_PKG_VERSION"),
                    },
                    findings: Findings {
                        report: &r,
                        opts,
                        contexts: &contexts,
                    },
                    summary: Summary {
                        findings: r.findings.len(),
                        locations: r.locations(),
                        stats: &r.stats,
                        duration_ms: r.duration.as_millis() as u64,
                        errors: &r.errors,
                        git: r.git.as_ref(),
                    },
                };
                let mut want = serde_json::to_vec_pretty(&whole).unwrap();
                want.push(b'\n');
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want).unwrap(),
                    "{n} findings"
                );
            }
        }
    }
}

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
    findings: Findings<'a>,
    summary: Summary<'a>,
}

/// The findings, serialized one at a time: a large report is never held twice in memory.
struct Findings<'a> {
    report: &'a Report,
    opts: ReportOptions,
    contexts: &'a ContextView<'a>,
}

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
                    context: format!("{before}{secret}{after}"),
                    via: l.via.as_deref(),
                    commit: l.commit.as_deref(),
                }
            })
            .collect(),
    }
}

/// One JSON document: `{schema_version, tool, findings, summary}`.
pub fn write(report: &Report, opts: ReportOptions, w: &mut dyn Write) -> io::Result<()> {
    let contexts = ContextView::new(report, opts);
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "leakseal",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: Findings {
            report,
            opts,
            contexts: &contexts,
        },
        summary: Summary {
            findings: report.findings.len(),
            locations: report.locations(),
            stats: &report.stats,
            duration_ms: report.duration.as_millis() as u64,
            errors: &report.errors,
            git: report.git.as_ref(),
        },
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
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

//! Where bytes come from. This module turns the user's targets into blobs and feeds them to
//! per-thread scanners; it does not match, group or report.
//!
//! - `files`: paths and directories (parallel walk honouring .gitignore) and stdin.
//! - `git`: staged changes, commit ranges and history, through libgit2.
//! - `pack`: pack files read directly, every blob inflated once by walking the delta forest.

pub mod files;
pub mod git;
pub mod pack;

use crate::finding::Hit;
use crate::scan::ScanProblem;

/// Counters of what a scan read and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped_binary: u64,
    pub skipped_too_large: u64,
}

impl Stats {
    /// Adds another worker's counters.
    pub fn add(&mut self, o: &Stats) {
        self.files_scanned += o.files_scanned;
        self.bytes_scanned += o.bytes_scanned;
        self.skipped_binary += o.skipped_binary;
        self.skipped_too_large += o.skipped_too_large;
    }

    /// Files skipped for any reason.
    pub fn skipped(&self) -> u64 {
        self.skipped_binary + self.skipped_too_large
    }
}

/// Something that could not be scanned; the scan goes on and ends with exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ItemError {
    /// The path (or rule) the error is about.
    pub path: String,
    pub message: String,
}

/// Everything a source produced: located matches with display paths, counters, errors.
#[derive(Debug, Default)]
pub struct SourceOutput {
    pub matches: Vec<Hit>,
    pub stats: Stats,
    pub errors: Vec<ItemError>,
    pub problems: Vec<ScanProblem>,
}

/// True when the first 8 KiB hold a NUL byte: the same test git and ripgrep use.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

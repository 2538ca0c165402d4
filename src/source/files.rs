//! Files, directories and stdin: a `.gitignore`-aware walk, then a parallel scan of the files.
//!
//! A directory's files are read and scanned by the walk's threads as they are found (each with
//! its own `Scanner`); files named on the command line are listed and sorted first, then
//! scanned by rayon workers. Either way memory stays bounded by the files in flight, and the
//! output does not depend on thread count or scheduling (findings, errors and problems are
//! sorted afterwards).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;
use rayon::prelude::*;

use super::{is_binary, ItemError, SourceOutput, Stats};
use crate::config::ScanConfig;
use crate::finding::Hit;
use crate::messages::io_reason;
use crate::scan::{Blob, ScanProblem, Scanner};

/// A file to scan.
#[derive(Debug)]
struct Entry {
    /// The path shown to the user, shared with every hit in the file.
    display: Arc<str>,
    /// The path relative to the project root, for allowlists.
    rel: Rel,
    /// The path to open; `None` when `display` opens the same file (most files: a tree of
    /// tens of thousands keeps one string per file, not three).
    fs_path: Option<PathBuf>,
}

/// Where an entry's root-relative path is: most often `display` itself or its tail, so a tree of
/// tens of thousands of files keeps one string per file.
#[derive(Debug)]
enum Rel {
    Display,
    /// `display[at..]`.
    Tail(u32),
    Own(String),
}

impl Entry {
    fn new(display: String, rel: String, fs_path: &Path) -> Entry {
        let rel = if rel == display {
            Rel::Display
        } else if display.ends_with(&rel) && display.len() - rel.len() <= u32::MAX as usize {
            Rel::Tail((display.len() - rel.len()) as u32)
        } else {
            Rel::Own(rel)
        };
        let same = fs_path.to_str().is_some_and(|p| p.trim_start_matches("./") == display);
        Entry {
            display: display.into(),
            rel,
            fs_path: (!same).then(|| fs_path.to_path_buf()),
        }
    }

    fn rel(&self) -> &str {
        match &self.rel {
            Rel::Display => &self.display,
            Rel::Tail(at) => &self.display[*at as usize..],
            Rel::Own(r) => r,
        }
    }

    fn fs_path(&self) -> &Path {
        self.fs_path.as_deref().unwrap_or(Path::new(&*self.display))
    }
}

/// What scanning one item produced.
#[derive(Default)]
struct ItemResult {
    matches: Vec<Hit>,
    stats: Stats,
    error: Option<ItemError>,
    problems: Vec<ScanProblem>,
}

/// Scans every target of `cfg` (files, directories, `-` for stdin).
pub fn scan(cfg: &ScanConfig) -> SourceOutput {
    let mut out = SourceOutput::default();
    let mut entries = Vec::new();
    let mut stdin = false;
    // One directory (the usual scan): its files are scanned by the walk's threads as they are
    // found, and the walk's directory reads overlap the scanning. Several targets are listed
    // first, so that a file named twice is scanned once.
    let as_found = cfg.paths.len() == 1;
    std::thread::scope(|threads| {
        // A tree's keyword automaton takes a few ms to build: built beside the walk, which
        // meanwhile scans with a quicker one.
        if !cfg.rules.small_input() {
            threads.spawn(cfg.rules.keyword_automaton_beside());
        }
        for target in &cfg.paths {
            if target.as_os_str() == "-" {
                stdin = true;
                continue;
            }
            let scanned = walk(cfg, target, &mut entries, &mut out.errors, as_found);
            absorb(&mut out, scanned);
        }
    });
    entries.sort_by(|a, b| a.display.cmp(&b.display));
    entries.dedup_by(|a, b| a.display == b.display);

    // One file (an editor, a hook): scanned here, without starting worker threads.
    // Otherwise results are folded per worker instead of collected per file: memory grows with
    // the findings, not with the number of files. Order does not matter; findings are sorted
    // later.
    let folded = if entries.len() <= 1 {
        let mut scanner = Scanner::with_decode_depth(&cfg.rules, cfg.decode_depth);
        entries.iter().fold(SourceOutput::default(), |mut acc, e| {
            merge(&mut acc, scan_one(cfg, &mut scanner, e));
            acc
        })
    } else {
        entries
            .par_iter()
            .map_init(
                || Scanner::with_decode_depth(&cfg.rules, cfg.decode_depth),
                |scanner, e| scan_one(cfg, scanner, e),
            )
            .fold(SourceOutput::default, |mut acc, r| {
                merge(&mut acc, r);
                acc
            })
            .reduce(SourceOutput::default, |mut a, b| {
                absorb(&mut a, b);
                a
            })
    };
    absorb(&mut out, folded);
    if stdin {
        let mut scanner = Scanner::with_decode_depth(&cfg.rules, cfg.decode_depth);
        let r = scan_stdin(cfg, &mut scanner);
        merge(&mut out, r);
        out.problems.extend(scanner.problems);
    }
    out.problems.sort();
    out.problems.dedup();
    out.errors.sort();
    out
}

/// Scans the file `e` with `scanner`.
fn scan_one(cfg: &ScanConfig, scanner: &mut Scanner<'_>, e: &Entry) -> ItemResult {
    let mut r = scan_file(cfg, scanner, e);
    r.problems.extend(std::mem::take(&mut scanner.problems));
    r
}

/// Adds `b` to `a`.
fn absorb(a: &mut SourceOutput, mut b: SourceOutput) {
    // Extend the longer list: the shorter is copied, never both.
    if a.matches.len() < b.matches.len() {
        std::mem::swap(&mut a.matches, &mut b.matches);
    }
    a.matches.extend(b.matches);
    a.stats.add(&b.stats);
    a.errors.extend(b.errors);
    a.problems.extend(b.problems);
}

fn merge(out: &mut SourceOutput, r: ItemResult) {
    out.matches.extend(r.matches);
    out.stats.add(&r.stats);
    out.errors.extend(r.error);
    out.problems.extend(r.problems);
}

/// `./src/x` -> `src/x`; Windows separators -> `/`.
fn display_path(p: &Path) -> String {
    // `to_str` first: `to_string_lossy` checks byte by byte even when the path is valid.
    let s = p
        .to_str()
        .map_or_else(|| p.to_string_lossy(), std::borrow::Cow::Borrowed)
        .replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    if s.is_empty() {
        ".".to_string()
    } else {
        s.to_string()
    }
}

/// The path of `p` relative to the project root, or its display path when outside it.
fn relative_to_root(root: &Path, target: &Path, p: &Path) -> String {
    let canon_target = target.canonicalize().ok();
    if let Some(t) = canon_target {
        if let Ok(under_root) = t.strip_prefix(root) {
            let suffix = p.strip_prefix(target).unwrap_or(Path::new(""));
            return display_path(&under_root.join(suffix));
        }
    }
    display_path(p)
}

/// Lists the files of `target` into `entries`; or, a directory `as_found`, scans them as the
/// walk finds them and returns what they hold.
fn walk(
    cfg: &ScanConfig,
    target: &Path,
    entries: &mut Vec<Entry>,
    errors: &mut Vec<ItemError>,
    as_found: bool,
) -> SourceOutput {
    let meta = match std::fs::metadata(target) {
        Ok(m) => m,
        Err(e) => {
            errors.push(ItemError {
                path: display_path(target),
                message: io_reason(&e),
            });
            return SourceOutput::default();
        }
    };
    // The root's canonical form, computed once per target rather than per file.
    let root = cfg.root.canonicalize().unwrap_or_else(|_| cfg.root.clone());
    let target_canon = target.canonicalize().unwrap_or_else(|_| target.to_path_buf());
    let rel_base = target_canon.strip_prefix(&root).ok().map(Path::to_path_buf);
    let rel_slow = |p: &Path| match &rel_base {
        Some(base) => display_path(&base.join(p.strip_prefix(target).unwrap_or(Path::new("")))),
        None => relative_to_root(&root, target, p),
    };
    // What `rel_slow` gives for a path the walk found under the target, from its display path
    // (the walk's paths are the target's joined with the rest): a string prefix, not a join
    // and a component-by-component comparison per file.
    let target_display = display_path(target);
    let target_display = target_display.trim_end_matches('/');
    let base_display = rel_base.as_deref().map(display_path);
    let rel = |p: &Path, display: &str| -> String {
        if let Some(base) = &base_display {
            let rest = match target_display {
                "." => Some(display),
                t => display.strip_prefix(t).and_then(|r| r.strip_prefix('/')),
            };
            if let Some(rest) = rest.filter(|r| !r.is_empty() && !r.starts_with('/')) {
                let fast = match base.as_str() {
                    "." => rest.to_string(),
                    b => format!("{b}/{rest}"),
                };
                // Every test that scans a directory checks the two agree.
                debug_assert_eq!(fast, rel_slow(p), "{}", p.display());
                return fast;
            }
        }
        rel_slow(p)
    };
    if meta.is_file() {
        entries.push(Entry::new(display_path(target), rel_slow(target), target));
        return SourceOutput::default();
    }
    let mut builder = WalkBuilder::new(target);
    builder
        .hidden(false)
        .follow_links(cfg.follow_links)
        .git_ignore(!cfg.no_ignore)
        .git_global(!cfg.no_ignore)
        .git_exclude(!cfg.no_ignore)
        .ignore(!cfg.no_ignore)
        .parents(!cfg.no_ignore)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    if !cfg.excludes.is_empty() {
        let mut ob = OverrideBuilder::new(target);
        for g in &cfg.excludes {
            // Validated when the config was built; a failure here is impossible.
            let _ = ob.add(&format!("!{g}"));
        }
        if let Ok(ov) = ob.build() {
            builder.overrides(ov);
        }
    }
    // Walk in parallel (ignore's own threads, as many as the scan uses): on trees of many
    // small files the directory reads, not the matching, are the cost.
    builder.threads(rayon::current_num_threads());
    let found = std::sync::Mutex::new(Found::default());
    builder.build_parallel().run(|| {
        let found = &found;
        let rel = &rel;
        // Each walker thread batches locally and hands its batch over once, when it ends.
        let mut batch = Batch {
            found: Found::default(),
            scanner: as_found.then(|| Scanner::with_decode_depth(&cfg.rules, cfg.decode_depth)),
            sink: found,
        };
        Box::new(move |item| {
            match item {
                Ok(e) => {
                    if e.file_type().is_some_and(|t| t.is_file()) {
                        let p = e.path();
                        let display = display_path(p);
                        let rel = rel(p, &display);
                        let entry = Entry::new(display, rel, p);
                        match &mut batch.scanner {
                            Some(scanner) => merge(&mut batch.found.scanned, scan_one(cfg, scanner, &entry)),
                            None => batch.found.entries.push(entry),
                        }
                    }
                }
                Err(err) => batch.found.errors.push(walk_error(&err)),
            }
            ignore::WalkState::Continue
        })
    });
    let found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    entries.extend(found.entries);
    errors.extend(found.errors);
    found.scanned
}

/// What the walk found: files to scan, or what scanning them as found gave; and errors.
#[derive(Default)]
struct Found {
    entries: Vec<Entry>,
    errors: Vec<ItemError>,
    scanned: SourceOutput,
}

/// One walker thread's results; handed to the shared ones when the thread's visitor is dropped.
struct Batch<'a, 'r> {
    found: Found,
    /// Set when files are scanned as they are found.
    scanner: Option<Scanner<'r>>,
    sink: &'a std::sync::Mutex<Found>,
}

impl Drop for Batch<'_, '_> {
    fn drop(&mut self) {
        let mine = std::mem::take(&mut self.found);
        let mut guard = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        guard.entries.extend(mine.entries);
        guard.errors.extend(mine.errors);
        absorb(&mut guard.scanned, mine.scanned);
    }
}

fn walk_error(err: &ignore::Error) -> ItemError {
    fn find(err: &ignore::Error, path: Option<&Path>) -> (Option<PathBuf>, String) {
        match err {
            ignore::Error::WithPath { path, err } => find(err, Some(path)),
            ignore::Error::WithDepth { err, .. } => find(err, path),
            ignore::Error::WithLineNumber { err, .. } => find(err, path),
            ignore::Error::Io(e) => (path.map(Path::to_path_buf), io_reason(e)),
            other => (path.map(Path::to_path_buf), other.to_string()),
        }
    }
    let (path, message) = find(err, None);
    ItemError {
        path: path.map_or_else(|| "(walk)".into(), |p| display_path(&p)),
        message,
    }
}

fn scan_file(cfg: &ScanConfig, scanner: &mut Scanner<'_>, e: &Entry) -> ItemResult {
    let mut r = ItemResult::default();
    let fail = |r: &mut ItemResult, err: &std::io::Error| {
        r.error = Some(ItemError {
            path: e.display.to_string(),
            message: io_reason(err),
        });
    };
    let mut file = match File::open(e.fs_path()) {
        Ok(f) => f,
        Err(err) => {
            fail(&mut r, &err);
            return r;
        }
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(err) => {
            fail(&mut r, &err);
            return r;
        }
    };
    if size > cfg.max_file_size {
        r.stats.skipped_too_large = 1;
        return r;
    }
    let mut bytes = Vec::with_capacity(size as usize + 1);
    // A small file (most are) is read as long as its size says, with one `read` and no last
    // one to find its end; a large one head first, so binaries are skipped without reading
    // them whole, then to its end. (An empty size may not mean empty: /proc files.)
    let whole = size > 0 && size <= WHOLE_READ;
    let first = if whole { size } else { HEAD };
    if let Err(err) = (&mut file).take(first).read_to_end(&mut bytes) {
        fail(&mut r, &err);
        return r;
    }
    if is_binary(&bytes) {
        r.stats.skipped_binary = 1;
        return r;
    }
    if !whole {
        if let Err(err) = file.read_to_end(&mut bytes) {
            fail(&mut r, &err);
            return r;
        }
    }
    scan_bytes(scanner, &e.display, e.rel(), &bytes, &mut r);
    r
}

/// Files up to this size are read as long as their size says.
const WHOLE_READ: u64 = 1 << 20;
/// What is read of a larger file before deciding whether it is binary.
const HEAD: u64 = 8192;

fn scan_stdin(cfg: &ScanConfig, scanner: &mut Scanner<'_>) -> ItemResult {
    let mut r = ItemResult::default();
    let mut bytes = Vec::new();
    let limit = cfg.max_file_size;
    match std::io::stdin().lock().take(limit + 1).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > limit => r.stats.skipped_too_large = 1,
        Ok(_) if is_binary(&bytes) => r.stats.skipped_binary = 1,
        Ok(_) => scan_bytes(scanner, &Arc::from("-"), "-", &bytes, &mut r),
        Err(err) => {
            r.error = Some(ItemError {
                path: "-".into(),
                message: io_reason(&err),
            })
        }
    }
    r
}

fn scan_bytes(scanner: &mut Scanner<'_>, display: &Arc<str>, rel: &str, bytes: &[u8], r: &mut ItemResult) {
    r.stats.files_scanned = 1;
    r.stats.bytes_scanned = bytes.len() as u64;
    let blob = Blob {
        path: rel,
        bytes,
        commit: None,
    };
    r.matches = scanner
        .scan(&blob)
        .into_iter()
        .map(|m| Hit {
            path: display.clone(),
            m,
            commit: None,
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::display_path;
    use std::path::Path;

    #[test]
    fn display_paths_are_clean() {
        assert_eq!(display_path(Path::new("./src/a.rs")), "src/a.rs");
        assert_eq!(display_path(Path::new(".")), ".");
        assert_eq!(display_path(Path::new("/abs/x")), "/abs/x");
    }
}

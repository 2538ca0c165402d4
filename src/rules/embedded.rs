//! The default ruleset, compiled into the binary: every file in `rules/`, listed by `build.rs`
//! (`global.toml` first, then by name). A test compares this list with the directory.

use std::sync::atomic::{AtomicBool, Ordering};

/// (file name, contents) of every embedded rule file, as written, in load order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// The same files without `examples` / `negative_examples`: what a scan loads (faster start-up).
pub const SCAN_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules_scan.rs"));

static WITH_EXAMPLES: AtomicBool = AtomicBool::new(false);

/// Load the embedded rules with their examples from now on (`rules check`, `rules explain`).
pub fn want_examples() {
    WITH_EXAMPLES.store(true, Ordering::Relaxed);
}

/// The embedded files to load: with examples only when asked for.
pub fn files() -> &'static [(&'static str, &'static str)] {
    if WITH_EXAMPLES.load(Ordering::Relaxed) {
        FILES
    } else {
        SCAN_FILES
    }
}

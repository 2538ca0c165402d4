//! The default ruleset, compiled into the binary: every file in `rules/`, listed by `build.rs`
//! (`global.toml` first, then by name). A test compares this list with the directory.

/// (file name, contents) of every embedded rule file, in load order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

//! The integration tests: the built `leakseal` binary (and a little of the library) run on
//! trees built in temp dirs. Helpers live in `util`.

mod util;

mod action;
mod baseline;
mod builtin_rules;
mod ci_reports;
mod config;
mod discovery;
mod exit_codes;
mod files;
mod git;
mod help;
#[cfg(unix)]
mod hooks;
mod kms;
#[cfg(unix)]
mod kms_online;
mod matcher;
mod reports;
mod self_scan;
mod structure;

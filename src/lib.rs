//! leakseal: a secret-leak scanner.
//!
//! The library is the engine: load rules (`rules`), read content (`source`), match it
//! (`scan`), group matches into findings (`finding`) and report them (`report`). The binary
//! only parses arguments and maps the outcome to an exit code.
//!
//! ```no_run
//! let cfg = leakseal::ScanConfig::new(vec![".".into()]).unwrap();
//! let report = leakseal::scan(&cfg).unwrap();
//! for f in &report.findings {
//!     println!("{} {}", f.rule_id, f.secret); // the secret prints redacted
//! }
//! ```

pub mod baseline;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod finding;
pub mod hooks;
pub mod kms;
pub mod messages;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
#[cfg(test)]
pub(crate) mod testrand;

pub use commands::scan;
pub use config::ScanConfig;
pub use exit::ExitStatus;
pub use finding::{Finding, Secret};
pub use report::Report;

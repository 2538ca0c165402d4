//! The outcome of a command and the process exit code it maps to.

/// What a command ended with. Only `main` turns it into a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing found, nothing failed.
    Clean,
    /// Findings were reported (exit code configurable).
    Findings,
    /// Something could not be scanned or the input was bad. Wins over findings.
    Error,
}

/// How findings map to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitPolicy {
    /// Exit code when there are findings (`--exit-code`, default 1).
    pub findings_code: i32,
    /// `--exit-zero`: report findings but exit 0 (errors still exit 2).
    pub zero_on_findings: bool,
}

impl Default for ExitPolicy {
    fn default() -> Self {
        ExitPolicy {
            findings_code: 1,
            zero_on_findings: false,
        }
    }
}

/// Exit code for errors and incomplete scans.
pub const ERROR_CODE: i32 = 2;

impl ExitStatus {
    /// The process exit code under `policy`.
    pub fn code(self, policy: ExitPolicy) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings if policy.zero_on_findings => 0,
            ExitStatus::Findings => policy.findings_code,
            ExitStatus::Error => ERROR_CODE,
        }
    }
}

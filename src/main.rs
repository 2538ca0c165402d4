//! The `leakseal` binary: parse arguments, run a command, exit with its status.

use std::process::ExitCode;

use clap::Parser;

use leakseal::cli::{Cli, Command, KmsCommand, RulesCommand};
use leakseal::commands;
use leakseal::config::{resolve_rules, ScanConfig};
use leakseal::exit::{ExitPolicy, ERROR_CODE};
use leakseal::messages::UserError;
use leakseal::rules::check::Strictness;
use leakseal::rules::load;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let (result, policy) = match &cli.command {
        Command::Scan(args) => match ScanConfig::from_args(args) {
            Ok(cfg) => {
                let result = (commands::scan_command(&cfg), cfg.exit);
                // The process ends next: the rules' compiled patterns and caches need not be
                // freed first.
                std::mem::forget(cfg);
                result
            }
            Err(e) => (Err(e), ExitPolicy::default()),
        },
        Command::Rules(RulesCommand::Check { file, strict }) => {
            leakseal::rules::embedded::want_examples();
            let user = if *strict { Strictness::BuiltIn } else { Strictness::User };
            let loaded = match file {
                Some(f) if !f.is_file() => Err(UserError::new(format!("{}: rule file not found", f.display()))),
                Some(f) => load::load_file(f)
                    .map(|r| (r, user))
                    .map_err(|e| UserError::new(e.to_string())),
                None => load::load_default()
                    .map(|r| (r, Strictness::BuiltIn))
                    .map_err(|e| UserError::new(e.to_string())),
            };
            (loaded.map(|(r, s)| commands::rules_check(&r, s)), ExitPolicy::default())
        }
        Command::Kms(KmsCommand::Check(args)) => leakseal::kms::command::check_command(args),
        Command::Kms(KmsCommand::Learn(args)) => leakseal::kms::command::learn_command(args),
        Command::InstallHook(a) => (
            leakseal::hooks::install(&a.repo, a.pre_push, a.force),
            ExitPolicy::default(),
        ),
        Command::Rules(RulesCommand::Explain { id, rules }) => {
            leakseal::rules::embedded::want_examples();
            let r = resolve_rules(rules, std::path::Path::new(".")).and_then(|(r, _)| commands::rules_explain(&r, id));
            (r, ExitPolicy::default())
        }
        Command::Baseline(cmd) => leakseal::baseline::baseline_command(cmd),
        Command::Explain(args) => leakseal::baseline::explain::explain_command(args),
        Command::Rules(RulesCommand::List { rules }) => {
            let r = resolve_rules(rules, std::path::Path::new(".")).map(|(r, _)| commands::rules_list(&r));
            (r, ExitPolicy::default())
        }
    };
    match result {
        Ok(status) => ExitCode::from(status.code(policy) as u8),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(ERROR_CODE as u8)
        }
    }
}

/// glibc gives each thread that allocates its own malloc arena, and memory freed in one arena
/// is not reused by another: per-thread regex caches and findings built on the workers, then
/// grouped on the main thread, left ~15 MB of peak RSS in arenas no thread reused. Two arenas
/// for the whole process keep the peak down with no measurable slowdown (README, Performance).
/// A fixed trim threshold also fixes glibc's mmap threshold (otherwise raised to the largest
/// block freed so far, up to 32 MiB): growing regex caches and result vectors then live in
/// their own mappings, returned whole when freed, instead of leaving holes in the heap (-3 MB
/// peak on the 30,000-file tree). Blocks up to 1 MiB (most files' contents) come from the heap,
/// not from mappings of their own: unmapping one while another thread runs interrupts that
/// thread's CPU to flush its TLB, and a new mapping's pages fault in zeroed (the 39 MB tree:
/// ~10 % less CPU time, the same peak RSS).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

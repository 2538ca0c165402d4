//! Reads every blob of a repository's packs and prints seconds and MB/s, three ways: the pack
//! reader (`source::pack`), libgit2's `find_blob` in parallel (one repository per thread, as the
//! history scan does), and the pack reader with the want filter rejecting everything (the cost
//! of indexing alone). `verify` checks every blob the pack reader rebuilds against libgit2.
//!
//!   cargo bench --bench pack_visit -- <repo> [pack|git2|index|verify]...

use std::path::PathBuf;
use std::time::Instant;

use git2::{ObjectType, Oid, Repository};
use leakseal::source::pack::PackSet;
use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let Some(repo_path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: pack_visit <repo> [pack|git2|index]...");
        std::process::exit(2);
    };
    let mut modes: Vec<String> = args.collect();
    if modes.is_empty() {
        modes = vec!["pack".into(), "git2".into()];
    }
    let repo = Repository::open(&repo_path).expect("a git repository");
    let git_dir = repo.path().to_path_buf();
    for mode in modes {
        let t = Instant::now();
        let (count, bytes, note) = match mode.as_str() {
            "pack" | "index" => {
                let (set, errors) = PackSet::open(&git_dir);
                let opened = t.elapsed().as_secs_f64();
                let all = mode == "pack";
                let (out, errors2) = set.visit_blobs(
                    &|_| all,
                    u64::MAX,
                    || (),
                    |_, b| (b.data.map_or(0, |d| d.len() as u64), b.delta.is_some()),
                );
                let deltas = out.iter().filter(|(_, (_, d))| *d).count();
                let bytes = out.iter().map(|(_, (n, _))| n).sum::<u64>();
                let note = format!(
                    "open {opened:.3}s, {} objects, {deltas} blob deltas, {} errors",
                    set.object_count(),
                    errors.len() + errors2.len()
                );
                (out.len(), bytes, note)
            }
            "verify" => {
                let (set, mut errors) = PackSet::open(&git_dir);
                let (out, more) = set.visit_blobs(
                    &|_| true,
                    u64::MAX,
                    || Repository::open(&git_dir).expect("repository"),
                    |r, b| {
                        let same = r.find_blob(b.oid).is_ok_and(|x| Some(x.content()) == b.data);
                        (same, b.data.map_or(0, |d| d.len() as u64))
                    },
                );
                errors.extend(more);
                let bad = out.iter().filter(|(_, (same, _))| !same).count();
                let bytes = out.iter().map(|(_, (_, n))| n).sum::<u64>();
                (
                    out.len(),
                    bytes,
                    format!("{bad} differ from libgit2, {} errors", errors.len()),
                )
            }
            "git2" => {
                git2::opts::strict_hash_verification(false);
                git2::opts::enable_caching(false);
                let odb = repo.odb().expect("odb");
                let mut blobs: Vec<Oid> = Vec::new();
                odb.foreach(|oid| {
                    blobs.push(*oid);
                    true
                })
                .expect("listing objects");
                blobs.sort();
                blobs.dedup();
                blobs.retain(|o| matches!(odb.read_header(*o), Ok((_, ObjectType::Blob))));
                let listed = t.elapsed().as_secs_f64();
                let bytes: u64 = blobs
                    .par_iter()
                    .map_init(
                        || Repository::open(&git_dir).expect("repository"),
                        |r, oid| r.find_blob(*oid).map_or(0, |b| b.content().len() as u64),
                    )
                    .sum();
                (blobs.len(), bytes, format!("listing {listed:.3}s"))
            }
            other => {
                eprintln!("unknown mode {other}");
                std::process::exit(2);
            }
        };
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{mode:6} {secs:7.3}s {count:7} blobs {:8.1} MB {:7.1} MB/s  ({note})",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
    }
}

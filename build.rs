//! Embeds every `rules/*.toml` file: generates the list that `src/rules/embedded.rs` includes,
//! so a new rule file cannot be forgotten. `global.toml` loads first, the rest by name.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("rules/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort_by_key(|n| (n != "global.toml", n.clone()));
    let mut out = String::from("&[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=rules/{n}");
        let path = dir.join(n);
        writeln!(out, "    ({n:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_rules.rs");
    std::fs::write(dest, out).expect("write embedded_rules.rs");
}

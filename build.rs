//! Embeds every `rules/*.toml` file: generates the lists that `src/rules/embedded.rs` includes,
//! so a new rule file cannot be forgotten. `global.toml` loads first, the rest by name.
//!
//! Two lists: the files as written (for `rules check` and `rules explain`, which need the
//! examples), and the same files without `examples` / `negative_examples`, which is what a scan
//! loads: the examples are most of the text, and parsing them is most of the start-up.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let stripped_dir = out_dir.join("rules-without-examples");
    std::fs::create_dir_all(&stripped_dir).expect("create OUT_DIR/rules-without-examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("rules/ directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort_by_key(|n| (n != "global.toml", n.clone()));
    let mut full = String::from("&[\n");
    let mut scan = String::from("&[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=rules/{n}");
        let path = dir.join(n);
        writeln!(full, "    ({n:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        let text = std::fs::read_to_string(&path).expect("read rule file");
        // A file that does not parse is embedded as written: loading it reports the error.
        let stripped = match text.parse::<toml::Table>() {
            Ok(mut table) => {
                if let Some(toml::Value::Array(rules)) = table.get_mut("rules") {
                    for rule in rules.iter_mut() {
                        if let toml::Value::Table(t) = rule {
                            t.remove("examples");
                            t.remove("negative_examples");
                        }
                    }
                }
                toml::to_string(&table).expect("serialize rule file")
            }
            Err(_) => text,
        };
        let dest = stripped_dir.join(n);
        std::fs::write(&dest, stripped).expect("write stripped rule file");
        writeln!(scan, "    ({n:?}, include_str!({:?})),", dest.display().to_string()).unwrap();
    }
    full.push(']');
    scan.push(']');
    std::fs::write(out_dir.join("embedded_rules.rs"), full).expect("write embedded_rules.rs");
    std::fs::write(out_dir.join("embedded_rules_scan.rs"), scan).expect("write embedded_rules_scan.rs");
}

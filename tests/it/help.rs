//! `--help` output, so that flag and help-text changes are reviewed.

use crate::util::{assert_cli_snapshot, code, Tree};

#[test]
fn scan_help() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--help"]);
    assert_eq!(code(&out), 0);
    assert_cli_snapshot!("scan_help", out);
}

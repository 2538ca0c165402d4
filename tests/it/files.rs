//! The file source: ignore files, hidden files, `.git/`, symlinks, excludes, binary and large
//! files, unreadable and missing paths, stdin, and output independent of thread count.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::util::{code, fake, std_command_in, stderr, stdout, Tree};

/// Paths of the findings of a `--format json` run, in report order.
fn paths(out: &Output) -> Vec<String> {
    crate::util::locations(out).into_iter().map(|l| l.2).collect()
}

#[test]
fn gitignore_is_honoured_without_git() {
    let tree = Tree::new();
    tree.write(".gitignore", "ignored.txt\nbuild/\n");
    tree.write("ignored.txt", format!("{}\n", fake::github(100)));
    tree.write("build/out.txt", format!("{}\n", fake::github(101)));
    tree.write("kept.txt", format!("{}\n", fake::github(102)));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["kept.txt"]);

    let out = tree.run(&["scan", "-f", "json", "--no-ignore", "."]);
    assert_eq!(paths(&out), ["build/out.txt", "ignored.txt", "kept.txt"]);
}

#[test]
fn dot_ignore_file_is_honoured() {
    let tree = Tree::new();
    tree.write(".ignore", "skip.txt\n");
    tree.write("skip.txt", format!("{}\n", fake::github(103)));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = tree.run(&["scan", "-f", "json", "--no-ignore", "."]);
    assert_eq!(paths(&out), ["skip.txt"]);
}

#[test]
fn hidden_files_are_scanned() {
    let tree = Tree::new();
    tree.write(".env", format!("GITHUB_TOKEN={}\n", fake::github(104)));
    tree.write(".config/app/settings", format!("token: {}\n", fake::github(105)));
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1);
    assert_eq!(paths(&out), [".config/app/settings", ".env"]);
}

#[test]
fn dot_git_is_never_scanned() {
    let tree = Tree::new();
    tree.write(
        ".git/config",
        format!(
            "[remote \"origin\"]\n\turl = https://x:{}@github.com/a/b\n",
            fake::github(106)
        ),
    );
    tree.write("sub/.git/HEAD", format!("{}\n", fake::github(107)));
    for args in [
        &["scan", "-f", "json", "."][..],
        &["scan", "-f", "json", "--no-ignore", "."],
    ] {
        let out = tree.run(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stdout(&out));
        assert!(paths(&out).is_empty());
    }
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_only_with_follow() {
    let tree = Tree::new();
    tree.write("outside/secret.txt", format!("{}\n", fake::github(108)));
    tree.write("outside-file.txt", format!("{}\n", fake::github(109)));
    tree.mkdir("scan");
    tree.write("scan/plain.txt", "nothing here\n");
    std::os::unix::fs::symlink(tree.path().join("outside"), tree.path().join("scan/dir-link")).unwrap();
    std::os::unix::fs::symlink(
        tree.path().join("outside-file.txt"),
        tree.path().join("scan/file-link.txt"),
    )
    .unwrap();

    let out = tree.run(&["scan", "-f", "json", "scan"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let out = tree.run(&["scan", "-f", "json", "--follow", "scan"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["scan/dir-link/secret.txt", "scan/file-link.txt"]);
}

#[test]
fn exclude_globs_skip_paths() {
    let tree = Tree::new();
    tree.write("app.log", format!("{}\n", fake::github(110)));
    tree.write("vendor/lib/x.txt", format!("{}\n", fake::github(111)));
    tree.write("src/main.txt", format!("{}\n", fake::github(112)));
    let out = tree.run(&["scan", "-f", "json", "--exclude", "*.log", "--exclude", "vendor/", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["src/main.txt"]);
}

#[test]
fn invalid_exclude_glob_is_an_error() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--exclude", "a[", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).starts_with("error: --exclude: 'a['"), "{}", stderr(&out));
}

#[test]
fn binary_files_are_skipped_and_counted() {
    let tree = Tree::new();
    let mut bin = b"\x7fELF\0\0\0".to_vec();
    bin.extend_from_slice(fake::github(113).as_bytes());
    tree.write("tool.bin", bin);
    // A NUL after the first 8 KiB does not make a file binary.
    let mut late = vec![b'a'; 9000];
    late.push(0);
    late.extend_from_slice(format!("\n{}\n", fake::github(114)).as_bytes());
    tree.write("late-nul.txt", late);
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["late-nul.txt"]);
    let summary = &crate::util::json(&out)["summary"];
    assert_eq!(summary["skipped_binary"], 1);
    assert_eq!(summary["files_scanned"], 1);
    assert!(
        stderr(&out).contains("; skipped 1 (1 binary, 0 over size limit)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn files_are_read_to_their_end_small_or_large() {
    // Small files are read as long as their size says, large ones (over 1 MiB) head first
    // and then to the end: a secret on the last line is found either way.
    let tree = Tree::new();
    tree.write("small.txt", format!("x = 1\n{}\n", fake::github(117)));
    let filler = "filler line of text, nothing to see\n".repeat(45_000);
    tree.write("large.txt", format!("{filler}{}\n", fake::github(118)));
    tree.write("large.bin", format!("\0{filler}{}\n", fake::github(119)));
    tree.write("empty.txt", "");
    let out = tree.run(&["scan", "-f", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["large.txt", "small.txt"]);
    assert_eq!(crate::util::locations(&out)[0].3, 45_001);
    let summary = &crate::util::json(&out)["summary"];
    assert_eq!(summary["skipped_binary"], 1);
    assert_eq!(summary["files_scanned"], 3);
}

#[test]
fn files_over_max_file_size_are_skipped_and_counted() {
    let tree = Tree::new();
    tree.write("big.txt", format!("{}\n{}\n", "a".repeat(2000), fake::github(115)));
    tree.write("small.txt", format!("{}\n", fake::github(116)));
    let out = tree.run(&["scan", "-f", "json", "--max-file-size", "1K", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(paths(&out), ["small.txt"]);
    assert_eq!(crate::util::json(&out)["summary"]["skipped_too_large"], 1);
    assert!(
        stderr(&out).contains("; skipped 1 (0 binary, 1 over size limit)"),
        "{}",
        stderr(&out)
    );
    let out = tree.run(&["scan", "-f", "json", "--max-file-size", "3K", "."]);
    assert_eq!(paths(&out), ["big.txt", "small.txt"]);
}

#[test]
fn bad_max_file_size_is_an_error() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--max-file-size", "lots", "."]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: --max-file-size: 'lots' is not a size\n  hint: "),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_error_and_other_findings_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    let locked = tree.write("locked.txt", format!("{}\n", fake::github(117)));
    tree.write("open.txt", format!("{}\n", fake::github(118)));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = if std::fs::read(&locked).is_err() {
        tree.run(&["scan", "-f", "json", "."])
    } else {
        // Root reads mode-000 files; run the scan as `nobody` instead when `setpriv` can.
        std::fs::set_permissions(tree.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("leakseal");
        let mut cmd = std::process::Command::new("setpriv");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", tree.path())
            .current_dir(tree.path())
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["scan", "-f", "json", "."]);
        match cmd.output() {
            Ok(o) if !stderr(&o).contains("setpriv:") => o,
            _ => {
                eprintln!("skipped: this user (root) can read a mode-000 file and setpriv is unusable");
                return;
            }
        }
    };
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(paths(&out), ["open.txt"]);
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l == "error: locked.txt: permission denied"),
        "{err}"
    );
    assert_eq!(err.lines().filter(|l| l.starts_with("error:")).count(), 1, "{err}");
}

#[test]
fn missing_path_is_one_error_line() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "no/such/path"]);
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, ["error: no/such/path: no such file or directory"], "{err}");
}

#[test]
fn stdin_is_scanned_with_dash() {
    let tree = Tree::new();
    let tok = fake::github(119);
    let out = tree
        .cmd()
        .args(["scan", "--show-secrets", "-f", "json", "-"])
        .write_stdin(format!("line one\nGH={tok}\n"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locs = crate::util::locations(&out);
    assert_eq!(locs.len(), 1);
    assert_eq!(
        (locs[0].1.as_str(), locs[0].2.as_str(), locs[0].3),
        (tok.as_str(), "-", 2)
    );
}

#[test]
fn stdin_and_files_together() {
    let tree = Tree::new();
    tree.write("a.txt", format!("{}\n", fake::github(120)));
    let out = tree
        .cmd()
        .args(["scan", "-f", "json", "a.txt", "-"])
        .write_stdin(format!("{}\n", fake::github(121)))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut p = paths(&out);
    p.sort();
    assert_eq!(p, ["-", "a.txt"]);
}

/// ~50 files in nested directories, some with secrets, some sharing the same secret.
fn fifty_file_tree() -> Tree {
    let tree = Tree::new();
    for i in 0..50u64 {
        let dir = ["", "a/", "a/b/", "c/", "c/d/e/"][(i % 5) as usize];
        let text = match i % 4 {
            0 => format!("GH={}\n", fake::github(200 + i)),
            1 => format!("x\nshared={}\nkey={}\n", fake::github(999), fake::aws_key_id(300 + i)),
            2 => format!("STRIPE={}\n", fake::stripe_live(400 + i)),
            _ => "nothing to see\n".to_string(),
        };
        tree.write(&format!("{dir}file{i:02}.txt"), text);
    }
    tree
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let tree = fifty_file_tree();
    let run = |threads: &str| {
        let out = tree.run(&["scan", "-f", "json", "--threads", threads, "."]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        // Only the timing may differ.
        let text = stdout(&out);
        let mut normal = String::new();
        for l in text.lines() {
            if !l.trim_start().starts_with("\"duration_ms\"") {
                normal.push_str(l);
                normal.push('\n');
            }
        }
        normal
    };
    let one = run("1");
    assert!(one.matches("\"rule_id\"").count() >= 30, "{one}");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("8"));
}

#[test]
fn zero_threads_is_an_error() {
    let tree = Tree::new();
    let out = tree.run(&["scan", "--threads", "0", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out), "error: --threads: must be at least 1\n");
}

#[test]
fn broken_pipe_exits_quietly() {
    let tree = Tree::new();
    for f in 0..200u64 {
        let text: String = (0..20u64)
            .map(|i| format!("t{i} = {}\n", fake::github(10_000 + f * 20 + i)))
            .collect();
        tree.write(&format!("big-tree/f{f:03}.txt"), text);
    }
    let mut child = std_command_in(tree.path())
        .args(["scan", "--color", "never", "big-tree"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // `| head -c 10`: read ten bytes, then close the pipe.
    {
        let mut so = child.stdout.take().unwrap();
        let mut buf = [0u8; 10];
        std::io::Read::read_exact(&mut so, &mut buf).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.to_lowercase().contains("error"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(2), "{err}");
    assert!(out.status.code().is_some(), "killed by a signal: {:?}", out.status);
}

#[test]
fn large_stdin_is_scanned_whole() {
    let tree = Tree::new();
    let tok = fake::github(130);
    let mut child = std_command_in(tree.path())
        .args(["scan", "-f", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut si = child.stdin.take().unwrap();
        for _ in 0..1000 {
            si.write_all(b"filler line of text\n").unwrap();
        }
        si.write_all(format!("{tok}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(crate::util::locations(&out)[0].3, 1001);
}

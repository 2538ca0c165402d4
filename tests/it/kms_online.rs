//! `leakseal kms check --online` and `kms learn --online` against a real KMS-compatible
//! endpoint: the moto server from PyPI (`moto[server]`), installed into a venv under the target
//! dir, started on 127.0.0.1 on a free port and killed when the test ends (a Drop guard, so
//! also when an assertion fails). moto's blobs are in its own format (spec §1.8: key UUID ‖ IV ‖
//! tag ‖ ciphertext), which leakseal recognises as emulator blobs; the test policy makes those
//! a warning so the online verdicts stand out. Without the `online` feature the moto test is
//! skipped with a printed reason, and `--online` must fail with a one-line error.

#[cfg(feature = "online")]
use crate::util::fake;
use crate::util::{code, stderr, stdout, Tree};

#[cfg(not(feature = "online"))]
#[test]
fn online_mode_against_moto() {
    eprintln!("skipped: online_mode_against_moto needs the `online` feature (cargo test --all-features)");
}

#[cfg(not(feature = "online"))]
#[test]
fn online_without_the_feature_is_a_one_line_error() {
    let tree = Tree::new();
    tree.write(".env", "A_TOKEN=plain-token-value\n");
    for args in [
        &["kms", "check", "--online", "."][..],
        &["kms", "learn", "--online", "."],
    ] {
        let out = tree.run(args);
        assert_eq!(code(&out), 2, "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: --online: this leakseal was built without the `online` feature"),
            "{err}"
        );
        assert!(err.contains("--features online"), "{err}");
    }
}

#[test]
fn learn_needs_online() {
    let tree = Tree::new();
    let out = tree.run(&["kms", "learn", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).starts_with("error: kms learn: pins are learned from KMS answers"));
}

#[cfg(feature = "online")]
mod with_feature {
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Output, Stdio};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::util::json;

    /// The moto server process; killed and reaped on drop.
    struct Moto {
        child: Child,
        url: String,
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn python() -> PathBuf {
        crate::util::python_venv("moto-venv", &["moto[server]"])
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    fn start_moto(python: &Path) -> Moto {
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto server did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Two keys and three blobs made by moto with boto3 (which moto brings).
    struct Material {
        arn_a: String,
        arn_b: String,
        blob_a: String,
        blob_b: String,
    }

    const SETUP: &str = r#"
import base64, json, sys
import boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
a = kms.create_key()["KeyMetadata"]["Arn"]
b = kms.create_key()["KeyMetadata"]["Arn"]
ctx = {"service": "billing"}
def enc(key):
    blob = kms.encrypt(KeyId=key, Plaintext=sys.argv[2].encode(), EncryptionContext=ctx)["CiphertextBlob"]
    return base64.b64encode(blob).decode()
print(json.dumps({"a": a, "b": b, "blob_a": enc(a), "blob_b": enc(b)}))
"#;

    fn material(python: &Path, moto: &Moto) -> Material {
        // A synthetic value made here; leakseal never sees or prints it.
        let plaintext = fake::base62(32, 99);
        let out = Command::new(python)
            .args(["-c", SETUP, &moto.url, &plaintext])
            .output()
            .expect("run boto3");
        assert!(
            out.status.success(),
            "boto3 setup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("setup prints JSON");
        let s = |k: &str| v[k].as_str().expect("a string").to_string();
        Material {
            arn_a: s("a"),
            arn_b: s("b"),
            blob_a: s("blob_a"),
            blob_b: s("blob_b"),
        }
    }

    /// The blob with one byte of its ciphertext flipped (still moto-shaped: key id intact).
    fn mangle(blob: &str) -> String {
        use base64::Engine;
        let e = base64::engine::general_purpose::STANDARD;
        let mut bytes = e.decode(blob).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        e.encode(bytes)
    }

    fn policy(arn_a: &str) -> String {
        format!(
            r#"[kms]
version = 1
[kms.defaults]
formats = ["aws-kms"]
fail_on = ["plaintext-secret", "not-a-valid-ciphertext", "truncated", "corrupted", "wrong-key", "online-invalid-ciphertext"]
warn_on = ["emulator-ciphertext", "key-unverifiable", "placeholder"]
[[kms.environments]]
name = "prod"
paths = ["**/.env.production"]
[kms.keysets.app]
key_arns = ["{arn_a}"]
[[kms.rules]]
id = "api-keys"
files = ["**/.env.production"]
keys = ["*_API_KEY"]
keyset = "app"
  [kms.rules.encryption_context]
  template = {{ service = "billing" }}
"#
        )
    }

    fn run(tree: &Tree, moto: Option<&Moto>, args: &[&str]) -> Output {
        let mut cmd = tree.cmd();
        if let Some(m) = moto {
            cmd.env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ENDPOINT_URL_KMS", &m.url);
        }
        cmd.args(args).output().expect("run leakseal")
    }

    /// (key, kind) of every finding, sorted.
    fn verdicts(o: &Output) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = json(o)["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["kms"]["key"].as_str().unwrap().to_string(),
                    f["kms"]["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }

    fn v(key: &str, kind: &str) -> (String, String) {
        (key.into(), kind.into())
    }

    #[test]
    fn online_mode_against_moto() {
        let started = Instant::now();
        let python = python();
        let moto = start_moto(&python);
        let m = material(&python, &moto);
        eprintln!("moto ready with keys in {:.1} s", started.elapsed().as_secs_f64());
        let tree = Tree::new();
        tree.write(".leakseal.toml", policy(&m.arn_a));
        tree.write(
            ".env.production",
            format!(
                "GOLD_API_KEY={}\nOTHER_API_KEY={}\nBROKEN_API_KEY={}\n",
                m.blob_a,
                m.blob_b,
                mangle(&m.blob_a)
            ),
        );

        // Offline, nothing learned: moto blobs are emulator blobs, no key verdict yet.
        let out = run(&tree, None, &["kms", "check", "-f", "json", "."]);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            verdicts(&out),
            [
                v("BROKEN_API_KEY", "emulator-ciphertext"),
                v("GOLD_API_KEY", "emulator-ciphertext"),
                v("OTHER_API_KEY", "emulator-ciphertext"),
            ]
        );

        // Online: ReEncrypt to key A confirms A's blob, names B's key, rejects the mangled one.
        let out = run(&tree, Some(&moto), &["kms", "check", "--online", "-f", "json", "."]);
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            verdicts(&out),
            [
                v("BROKEN_API_KEY", "emulator-ciphertext"),
                v("BROKEN_API_KEY", "online-invalid-ciphertext"),
                v("GOLD_API_KEY", "emulator-ciphertext"),
                v("GOLD_API_KEY", "online-verified"),
                v("OTHER_API_KEY", "emulator-ciphertext"),
                v("OTHER_API_KEY", "wrong-key"),
            ]
        );
        let doc = json(&out);
        let wrong = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kms"]["kind"] == "wrong-key")
            .unwrap();
        assert!(wrong["description"].as_str().unwrap().contains(&m.arn_b), "{wrong}");
        assert!(stderr(&out).contains("3 blob(s) checked online"), "{}", stderr(&out));

        // Learn: pins for the two blobs KMS accepted, none for the rejected one.
        let out = run(&tree, Some(&moto), &["kms", "learn", "--online", "."]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("warning: .env.production:3: not learned"), "{err}");
        let lock = std::fs::read_to_string(tree.path().join(".leakseal-kms.lock")).expect("lockfile written");
        assert_eq!(lock.matches("[[pin]]").count(), 2, "{lock}");
        assert!(lock.contains(&m.arn_a) && lock.contains(&m.arn_b), "{lock}");

        // Offline again, with the lockfile: B's blob is now a wrong key without asking KMS.
        drop(moto);
        let out = run(&tree, None, &["kms", "check", "-f", "json", "."]);
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            verdicts(&out),
            [
                v("BROKEN_API_KEY", "emulator-ciphertext"),
                v("GOLD_API_KEY", "emulator-ciphertext"),
                v("OTHER_API_KEY", "emulator-ciphertext"),
                v("OTHER_API_KEY", "wrong-key"),
            ]
        );
        eprintln!("moto test took {:.1} s", started.elapsed().as_secs_f64());
    }

    #[test]
    fn unreachable_endpoint_is_one_error_line_and_exit_2() {
        let tree = Tree::new();
        tree.write(".leakseal.toml", policy("arn:aws:kms:us-east-1:111122223333:key/k"));
        let mut blob = b"7819e8c3-b24c-4f21-b1ca-0d5a2ddfc660".to_vec();
        blob.extend([1u8; 12 + 16 + 32]);
        let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &blob);
        tree.write(
            ".env.production",
            format!("GOLD_API_KEY={text}\nOTHER_API_KEY={text}\n"),
        );
        let port = free_port();
        let out = tree
            .cmd()
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_KMS", format!("http://127.0.0.1:{port}"))
            .args(["kms", "check", "--online", "."])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{}", stdout(&out));
        let err = stderr(&out);
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(
            errors[0].contains("cannot reach KMS") && errors[0].contains("online checks stopped"),
            "{err}"
        );
        // No credentials: refused before anything is read.
        let out = tree.run(&["kms", "check", "--online", "."]);
        assert_eq!(code(&out), 2);
        assert!(
            stderr(&out).starts_with("error: --online: no AWS credentials"),
            "{}",
            stderr(&out)
        );
    }
}

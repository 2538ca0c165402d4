//! Every spec vector and every row of the mutation table (§1.9), through the text-level
//! classifier; one valid and one broken value per other format.

use super::awskms::synth;
use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The spec's v2 vector, 248 characters. (The copy printed in kms-formats.md §1.9 has 246: it
/// lost two characters of the final `ERER…` run; `spec_v2_as_printed_is_truncated` checks that.)
const V2: &str = "AQICAHgREREREREREREREREREREREREREREREREREREREREREQEiIiIiIiIiIiIiIiIiIiIiAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMMzMzMzMzMzMzMzMzAgEQgDtERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERA==";
/// The v2 vector exactly as printed in the spec (two characters lost).
const V2_AS_PRINTED: &str = "AQICAHgREREREREREREREREREREREREREREREREREREREREREQEiIiIiIiIiIiIiIiIiIiIiAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMMzMzMzMzMzMzMzMzAgEQgDtERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERERA==";
const V1: &str = "AQECAHgREREREREREREREREREREREREREREREREREREREREREQAAAH4wfAYJKoZIhvcNAQcGoG8wbQIBADBoBgkqhkiG9w0BBwEwHgYJYIZIAWUDBAEuMBEEDDMzMzMzMzMzMzMzMwIBEIA7REREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREREQ=";

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn c(v: &str) -> Class {
    classify(v, Where::default())
}

/// The finding kind a value yields in an "encrypted" slot: `None` for a valid ciphertext.
fn kind(v: &str) -> Option<&'static str> {
    match c(v) {
        Class::Cipher(_) => None,
        Class::Broken(b) => Some(b.kind.as_str()),
        Class::Unknown(_) => Some("unknown-format"),
        Class::Placeholder(_) => Some("placeholder"),
        Class::Plaintext(_) => Some("plaintext-secret"),
        Class::Reference(_) => Some("reference"),
    }
}

fn mutate(f: impl Fn(&mut Vec<u8>)) -> String {
    let mut b = synth::v2(32);
    f(&mut b);
    b64(&b)
}

#[test]
fn valid_vectors() {
    for v in [V1, V2] {
        match c(v) {
            Class::Cipher(ci) => {
                assert_eq!(ci.format, "aws-kms");
                assert_eq!(ci.plaintext_len, Some(32));
                assert_eq!(ci.keyrefs, vec![[0x11; 32]]);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(is_recognised_ciphertext(V2.as_bytes()));
    assert!(is_recognised_ciphertext(format!("\"{V1}\"").as_bytes()));
    for p in [35, 36, 100, 101, 229, 4096] {
        assert_eq!(kind(&b64(&synth::v2(p))), None, "P={p}");
    }
    assert_eq!(kind(&b64(&synth::legacy(32, 0x11))), None);
    // Hex-encoded blobs occur too.
    let hex: String = synth::v2(32).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(kind(&hex), None);
}

#[test]
fn spec_v2_as_printed_is_reported_truncated() {
    assert_eq!(kind(V2_AS_PRINTED), Some("truncated"));
}

#[test]
fn mutation_table_verdicts() {
    let rows: Vec<(&str, String, &[&str])> = vec![
        ("bad magic", mutate(|b| b[0] = 0x02), &["unknown-format"]),
        ("bad alg id", mutate(|b| b[4] = 0x79), &["not-a-valid-ciphertext"]),
        (
            "unknown layout",
            mutate(|b| b[1] = 0x03),
            &["not-a-valid-ciphertext", "unknown-format-version"],
        ),
        ("flag byte", mutate(|b| b[37] = 0x00), &["not-a-valid-ciphertext"]),
        (
            "drop last byte",
            mutate(|b| {
                b.pop();
            }),
            &["truncated"],
        ),
        ("cut at 120", mutate(|b| b.truncate(120)), &["truncated"]),
        ("trailing byte", mutate(|b| b.push(0)), &["corrupted"]),
        ("N off by one", mutate(|b| b[57] = 0x7f), &["truncated", "corrupted"]),
        ("wrong OID", mutate(|b| b[58 + 12] = 0x07), &["corrupted"]),
        ("IV length 11", mutate(|b| b[58 + 49] = 0x0b), &["corrupted"]),
        ("ICV 12", mutate(|b| b[58 + 64] = 0x0c), &["corrupted"]),
        ("version 1", mutate(|b| b[58 + 19] = 0x01), &["corrupted"]),
        ("base64 '*'", V2.replacen('R', "*", 1), &["corrupted"]),
        (
            "base64 dropped char",
            {
                let mut s = V2.to_string();
                s.remove(150);
                s
            },
            &["corrupted"],
        ),
        ("ellipsis", format!("{}...{}", &V2[..60], &V2[200..]), &["truncated"]),
        ("legacy keyref mismatch", b64(&synth::legacy(32, 0x12)), &["corrupted"]),
    ];
    for (name, value, expected) in rows {
        let got = kind(&value);
        assert!(
            got.is_some_and(|k| expected.contains(&k)),
            "{name}: got {got:?}, expected one of {expected:?}"
        );
    }
    // Line-wrapped: still valid.
    let wrapped: String = V2
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(kind(&wrapped), None);
    // Random look-alikes: `AQICAHh` + 240 random base64 characters, several seeds.
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for seed in 1..20u64 {
        let mut rng = crate::testrand::XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let tail: String = (0..240).map(|_| ALPHA[rng.below(64)] as char).collect();
        let v = format!("AQICAHh{tail}");
        assert_eq!(kind(&v), Some("not-a-valid-ciphertext"), "seed {seed}");
        assert!(!is_recognised_ciphertext(v.as_bytes()));
    }
}

#[test]
fn placeholders_and_doc_elisions() {
    for v in [
        "",
        "changeme",
        "<your-api-key>",
        "xxxxxxxx",
        "TODO",
        "REPLACE_ME",
        "dummy",
        "AQICAHh...==",
        "your-key-here",
    ] {
        assert_eq!(kind(v), Some("placeholder"), "{v:?}");
    }
    assert_eq!(kind("AQEDAHj…MBEEDEFogL"), Some("placeholder"));
}

#[test]
fn references() {
    for v in [
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/key-AbCdEf",
        "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key",
        "{{resolve:secretsmanager:app/key:SecretString:api}}",
        "{{resolve:ssm-secure:/app/key:1}}",
        "${ssm:/app/key}",
        "${VAULT_TOKEN}",
        "$(API_KEY)",
        "ref+vault://secret/app#key",
        "vault:secret/data/app#api_key",
        "op://vault/item/field",
    ] {
        assert_eq!(kind(v), Some("reference"), "{v}");
    }
    // `ref+awskms://` embeds a KMS blob: it is validated.
    assert_eq!(kind(&format!("ref+awskms://{V2}")), None);
    assert_eq!(kind(&format!("ref+awskms://{}", &V2[..100])), Some("truncated"));
}

#[test]
fn plaintext_and_unknown() {
    assert_eq!(kind("sk_live_abcdefgh12345678"), Some("plaintext-secret"));
    assert_eq!(
        c(&b64(b"a plaintext api key value here")),
        Class::Plaintext(Some("base64-encoded plaintext".into()))
    );
    let random: Vec<u8> = (0..96u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    assert_eq!(kind(&b64(&random)), Some("unknown-format"));
    assert!(!is_recognised_ciphertext(b"sk_live_abcdefgh12345678"));
}

fn sops_value(data: &[u8], iv_len: usize, ty: &str) -> String {
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{ty}]",
        b64(data),
        b64(&vec![7u8; iv_len]),
        b64(&[9u8; 16])
    )
}

#[test]
fn sops_values() {
    let ok = sops_value(b"0123456789", 32, "str");
    assert!(matches!(c(&ok), Class::Cipher(ref x) if x.format == "sops" && x.plaintext_len == Some(10)));
    assert!(is_recognised_ciphertext(ok.as_bytes()));
    assert_eq!(kind(&sops_value(b"x", 12, "str")), Some("corrupted"));
    assert_eq!(kind(&sops_value(b"x", 32, "weird")), Some("corrupted"));
    assert_eq!(kind(&ok[..ok.len() - 1]), Some("truncated"));
    assert_eq!(
        kind("ENC[AES128_CBC,data:AA==,iv:AA==,tag:AA==,type:str]"),
        Some("unknown-format-version")
    );
}

#[test]
fn vault_transit() {
    let ok = format!("vault:v3:{}", b64(&[5u8; 12 + 10 + 16]));
    assert!(matches!(c(&ok), Class::Cipher(ref x) if x.version == "v3" && x.plaintext_len == Some(10)));
    assert_eq!(
        kind(&format!("vault:v0:{}", b64(&[5u8; 40]))),
        Some("not-a-valid-ciphertext")
    );
    assert_eq!(kind(&format!("vault:v1:{}", b64(&[5u8; 20]))), Some("truncated"));
    assert_eq!(kind("vault:v1:abc*def"), Some("corrupted"));
}

/// An ansible-vault envelope for `version` with a ciphertext of `blocks` AES blocks.
pub fn ansible_vault(version: &str, blocks: usize) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let inner = format!("{}\n{}\n{}", hex(&[1; 32]), hex(&[2; 32]), hex(&vec![3; 16 * blocks]));
    let outer = hex(inner.as_bytes());
    let mut s = format!("$ANSIBLE_VAULT;{version};AES256\n");
    for chunk in outer.as_bytes().chunks(80) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s
}

#[test]
fn ansible() {
    assert_eq!(kind(&ansible_vault("1.1", 2)), None);
    assert_eq!(
        kind(&ansible_vault("1.2", 1).replacen("AES256", "AES256;prod", 1)),
        None
    );
    assert!(matches!(c(&ansible_vault("1.0", 1)), Class::Cipher(ref x) if x.weak.is_some()));
    assert_eq!(kind(&ansible_vault("1.3", 1)), Some("unknown-format-version"));
    assert_eq!(kind("$ANSIBLE_VAULT;1.1;AES256\nzz\n"), Some("corrupted"));
    assert_eq!(kind("$ANSIBLE_VAULT;1.1;AES256\n"), Some("truncated"));
}

/// A syntactically valid age file with one X25519 stanza.
pub fn age_file(payload: usize) -> Vec<u8> {
    let mut v = b"age-encryption.org/v1\n-> X25519 ".to_vec();
    v.extend(STANDARD.encode([4u8; 32]).trim_end_matches('=').as_bytes());
    v.push(b'\n');
    v.extend(STANDARD.encode([6u8; 32]).trim_end_matches('=').as_bytes());
    v.extend(b"\n--- ");
    v.extend(STANDARD.encode([8u8; 32]).trim_end_matches('=').as_bytes());
    v.push(b'\n');
    v.extend(vec![0xaa; payload]);
    v
}

#[test]
fn age() {
    let file = age_file(16 + 7 + 16);
    assert_eq!(kind(&b64(&file)), None);
    let armored = format!(
        "-----BEGIN AGE ENCRYPTED FILE-----\n{}\n-----END AGE ENCRYPTED FILE-----\n",
        b64(&file)
    );
    assert_eq!(kind(&armored), None);
    assert_eq!(kind(&b64(&age_file(10))), Some("truncated"));
    assert_eq!(kind(&armored[..armored.len() - 40]), Some("truncated"));
}

#[test]
fn ejson_and_dotenvx() {
    let ej = format!("EJ[1:{}:{}:{}]", b64(&[1; 32]), b64(&[2; 24]), b64(&[3; 30]));
    assert!(matches!(c(&ej), Class::Cipher(ref x) if x.plaintext_len == Some(14)));
    assert_eq!(kind(&ej.replace("EJ[1:", "EJ[3:")), Some("unknown-format-version"));
    assert_eq!(kind(&ej[..ej.len() - 1]), Some("truncated"));
    let mut payload = vec![4u8];
    payload.extend([7u8; 64 + 16 + 16 + 40]);
    let dx = format!("encrypted:{}", b64(&payload));
    assert!(matches!(c(&dx), Class::Cipher(ref x) if x.format == "dotenvx" && x.plaintext_len == Some(40)));
    assert_eq!(kind(&format!("encrypted:{}", b64(&payload[..90]))), Some("truncated"));
    assert_eq!(
        kind(&format!("encrypted:{}", b64(&[9u8; 120]))),
        Some("not-a-valid-ciphertext")
    );
}

/// A GCP Cloud KMS ciphertext framing with `n` bytes in the second field.
pub fn gcp_blob(n: usize) -> Vec<u8> {
    let mut v = vec![0x0a, 0x24, 0x00];
    v.extend([0x12; 35]);
    v.push(0x12);
    v.push(n as u8);
    v.push(0x00);
    v.extend(vec![0x34; n - 1]);
    v
}

#[test]
fn gcp() {
    let ok = b64(&gcp_blob(60));
    assert!(ok.starts_with("CiQA"));
    assert_eq!(kind(&ok), None);
    let blob = gcp_blob(60);
    assert_eq!(kind(&b64(&blob[..blob.len() - 3])), Some("truncated"));
}

#[test]
fn sealed_secrets_only_inside_sealed_secret() {
    let mut blob = vec![0x02, 0x00];
    blob.extend(vec![0x5a; 512 + 16 + 20]);
    let text = b64(&blob);
    assert!(text.starts_with("AgB") || text.starts_with("AgA"));
    let sealed = classify(&text, Where { sealed_secret: true });
    assert!(matches!(sealed, Class::Cipher(ref x) if x.format == "sealed-secrets" && x.plaintext_len == Some(20)));
    assert!(
        !matches!(c(&text), Class::Cipher(_)),
        "AgB… outside a SealedSecret is not accepted"
    );
    let short = classify(&b64(&blob[..300]), Where { sealed_secret: true });
    assert!(matches!(short, Class::Broken(ref b) if b.kind == Kind::Truncated));
}

#[test]
fn emulator_blobs_are_reported_as_such() {
    let mut moto = b"7819e8c3-b24c-4f21-b1ca-0d5a2ddfc660".to_vec();
    moto.extend([1u8; 12 + 16 + 32]);
    let text = b64(&moto);
    assert!(text.starts_with("NzgxOWU4YzMtYjI0"));
    assert!(matches!(c(&text), Class::Cipher(ref x) if x.emulator.is_some() && x.plaintext_len == Some(32)));
    assert!(!is_recognised_ciphertext(text.as_bytes()));
    let arn = b"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut local = vec![arn.len() as u8];
    local.extend(arn);
    local.extend([0, 0, 0, 1]);
    local.extend([2u8; 40]);
    assert!(matches!(c(&b64(&local)), Class::Cipher(ref x) if x.emulator == Some("local-kms")));
}

#[test]
fn git_crypt_blob() {
    let mut b = envelopes::GIT_CRYPT_MAGIC.to_vec();
    b.extend([1u8; 12 + 20]);
    assert!(matches!(binary(&b, Where::default()), Some(Class::Cipher(ref x)) if x.format == "git-crypt"));
}

#[test]
fn esdk_messages() {
    let arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let m = esdk::synth::message(2, &[("service", "billing")], "aws-kms", arn, &synth::v2(32));
    match c(&b64(&m)) {
        Class::Cipher(x) => {
            assert_eq!(x.format, "aws-esdk");
            assert_eq!(x.key_ids, [arn]);
            assert_eq!(x.keyrefs, vec![[0x11; 32]]);
            assert_eq!(x.context.unwrap()["service"], "billing");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(kind(&b64(&m[..m.len() - 10])), Some("truncated"));
    // An ESDK message whose EDK came from moto is an emulator blob.
    let mut moto = b"7819e8c3-b24c-4f21-b1ca-0d5a2ddfc660".to_vec();
    moto.extend([1u8; 60]);
    let m = esdk::synth::message(2, &[], "aws-kms", arn, &moto);
    assert!(matches!(c(&b64(&m)), Class::Cipher(ref x) if x.emulator.is_some()));
}

#[test]
fn scanner_hook_finds_envelopes_on_a_line() {
    let sops = sops_value(b"0123456789abcdef", 32, "str");
    let line = format!("password: {sops}");
    let data_at = line.find("data:").unwrap() + 5;
    assert!(within_recognised_ciphertext(line.as_bytes(), data_at, data_at + 10));
    // A secret that starts where the envelope does (its marker ends after the secret's start).
    let at = line.find("ENC[").unwrap();
    assert!(within_recognised_ciphertext(line.as_bytes(), at, at + 10));
    assert!(within_recognised_ciphertext(line.as_bytes(), at + 3, at + 10));
    assert!(!within_recognised_ciphertext(b"password: hunter2hunter2", 10, 24));
}

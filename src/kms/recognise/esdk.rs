//! AWS Encryption SDK messages (spec §2, documented format): the header is parsed completely
//! (suite, message id, encryption context, encrypted data keys), then the body framing and the
//! footer, so that a truncated or inconsistent message is named as such. Key ARNs and the
//! encryption context come out offline.

use std::collections::BTreeMap;

/// A parsed message header (and a checked body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsdkMessage {
    /// 1 or 2.
    pub version: u8,
    pub suite: u16,
    /// The encryption context from the header AAD.
    pub context: BTreeMap<String, String>,
    /// (provider id, provider info, EDK bytes).
    pub edks: Vec<Edk>,
}

/// One encrypted data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edk {
    pub provider_id: String,
    pub provider_info: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl EsdkMessage {
    /// Suites without key derivation (deprecated).
    pub fn weak(&self) -> Option<&'static str> {
        match self.suite {
            0x0014 | 0x0046 | 0x0078 => Some("algorithm suite without key derivation (NO_KDF)"),
            _ => None,
        }
    }

    /// Provider info of every `aws-kms` EDK (a key ARN).
    pub fn kms_key_arns(&self) -> Vec<String> {
        self.edks
            .iter()
            .filter(|e| e.provider_id == "aws-kms")
            .map(|e| String::from_utf8_lossy(&e.provider_info).into_owned())
            .collect()
    }
}

/// Why bytes are not a valid ESDK message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsdkError {
    NotEsdk,
    UnknownVersion(String),
    Truncated(String),
    Corrupted(String),
}

const V1_SUITES: [u16; 9] = [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378];
const V2_SUITES: [u16; 2] = [0x0478, 0x0578];

fn signing(suite: u16) -> bool {
    matches!(suite, 0x0214 | 0x0346 | 0x0378 | 0x0578)
}

/// Whether the bytes start like an ESDK message.
pub fn has_magic(b: &[u8]) -> bool {
    (b.len() >= 4 && b[0] == 1 && b[1] == 0x80 && V1_SUITES.contains(&u16::from_be_bytes([b[2], b[3]])))
        || (b.len() >= 3 && b[0] == 2 && V2_SUITES.contains(&u16::from_be_bytes([b[1], b[2]])))
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EsdkError> {
        if self.pos + n > self.b.len() {
            return Err(EsdkError::Truncated(format!(
                "{what}: needs {n} bytes at offset {}, message has {}",
                self.pos,
                self.b.len()
            )));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, EsdkError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, EsdkError> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, EsdkError> {
        let s = self.take(4, what)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self, what: &str) -> Result<u64, EsdkError> {
        let s = self.take(8, what)?;
        Ok(u64::from_be_bytes(s.try_into().expect("8 bytes")))
    }
}

fn corrupted(m: impl Into<String>) -> EsdkError {
    EsdkError::Corrupted(m.into())
}

/// Parses and checks a whole message.
pub fn parse(b: &[u8]) -> Result<EsdkMessage, EsdkError> {
    if b.len() >= 2 && b[0] == 1 && b[1] == 0x80 && !has_magic(b) && b.len() >= 4 {
        return Err(EsdkError::UnknownVersion(format!(
            "unknown algorithm suite 0x{:02x}{:02x}",
            b[2], b[3]
        )));
    }
    if b.len() >= 3 && b[0] == 3 && b[2] == 0x78 {
        return Err(EsdkError::UnknownVersion("message format version 3".into()));
    }
    if !has_magic(b) {
        return Err(EsdkError::NotEsdk);
    }
    let mut r = Reader { b, pos: 0 };
    let version = r.u8("version")?;
    if version == 1 {
        r.u8("type")?;
    }
    let suite = r.u16("suite")?;
    r.take(if version == 1 { 16 } else { 32 }, "message id")?;
    let context = aad(&mut r)?;
    let count = r.u16("EDK count")?;
    if count == 0 {
        return Err(corrupted("no encrypted data keys"));
    }
    let mut edks = Vec::new();
    for _ in 0..count {
        let n = r.u16("provider id length")? as usize;
        let provider_id = std::str::from_utf8(r.take(n, "provider id")?)
            .map_err(|_| corrupted("provider id is not UTF-8"))?
            .to_string();
        let n = r.u16("provider info length")? as usize;
        let provider_info = r.take(n, "provider info")?.to_vec();
        let n = r.u16("EDK length")? as usize;
        let ciphertext = r.take(n, "EDK")?.to_vec();
        edks.push(Edk {
            provider_id,
            provider_info,
            ciphertext,
        });
    }
    let content_type = r.u8("content type")?;
    if !matches!(content_type, 1 | 2) {
        return Err(corrupted(format!("content type {content_type}")));
    }
    let frame_len;
    if version == 1 {
        if r.take(4, "reserved")? != [0, 0, 0, 0] {
            return Err(corrupted("reserved bytes are not zero"));
        }
        let iv_len = r.u8("iv length")?;
        if iv_len != 12 {
            return Err(corrupted(format!("iv length {iv_len}, expected 12")));
        }
        frame_len = r.u32("frame length")?;
        r.take(12, "header iv")?;
    } else {
        frame_len = r.u32("frame length")?;
        r.take(32, "suite data")?;
    }
    r.take(16, "header tag")?;
    if content_type == 1 {
        r.take(12, "body iv")?;
        let n = r.u64("content length")?;
        r.take(usize::try_from(n).map_err(|_| corrupted("content length"))?, "content")?;
        r.take(16, "body tag")?;
    } else {
        if frame_len == 0 {
            return Err(corrupted("framed content with frame length 0"));
        }
        let mut expected_seq = 1u32;
        loop {
            let seq = r.u32("frame sequence")?;
            if seq == 0xFFFF_FFFF {
                let seq = r.u32("final frame sequence")?;
                if seq != expected_seq {
                    return Err(corrupted(format!("final frame {seq}, expected {expected_seq}")));
                }
                r.take(12, "final frame iv")?;
                let n = r.u32("final frame length")?;
                if n > frame_len {
                    return Err(corrupted("final frame longer than the frame length"));
                }
                r.take(n as usize, "final frame content")?;
                r.take(16, "final frame tag")?;
                break;
            }
            if seq != expected_seq {
                return Err(corrupted(format!("frame {seq}, expected {expected_seq}")));
            }
            expected_seq += 1;
            r.take(12, "frame iv")?;
            r.take(frame_len as usize, "frame content")?;
            r.take(16, "frame tag")?;
        }
    }
    if signing(suite) {
        let n = r.u16("signature length")? as usize;
        r.take(n, "signature")?;
    }
    if r.pos != b.len() {
        return Err(corrupted(format!("{} bytes of trailing data", b.len() - r.pos)));
    }
    Ok(EsdkMessage {
        version,
        suite,
        context,
        edks,
    })
}

fn aad(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, EsdkError> {
    let len = r.u16("AAD length")? as usize;
    let mut map = BTreeMap::new();
    if len == 0 {
        return Ok(map);
    }
    let start = r.pos;
    let count = r.u16("AAD count")?;
    if count == 0 {
        return Err(corrupted("AAD with zero pairs"));
    }
    let mut last: Option<Vec<u8>> = None;
    for _ in 0..count {
        let n = r.u16("context key length")? as usize;
        let k = r.take(n, "context key")?.to_vec();
        let n = r.u16("context value length")? as usize;
        let v = r.take(n, "context value")?;
        if last.as_ref().is_some_and(|l| *l >= k) {
            return Err(corrupted("encryption context keys not sorted or duplicated"));
        }
        let ks = String::from_utf8(k.clone()).map_err(|_| corrupted("context key is not UTF-8"))?;
        let vs = std::str::from_utf8(v).map_err(|_| corrupted("context value is not UTF-8"))?;
        map.insert(ks, vs.to_string());
        last = Some(k);
    }
    if r.pos - start != len {
        return Err(corrupted("AAD length does not match its pairs"));
    }
    Ok(map)
}

/// Builds synthetic messages for tests.
#[cfg(test)]
pub mod synth {
    fn lp(v: &mut Vec<u8>, b: &[u8]) {
        v.extend((b.len() as u16).to_be_bytes());
        v.extend_from_slice(b);
    }

    /// A framed message: `version` 1 (suite 0x0378) or 2 (0x0578), one EDK.
    pub fn message(version: u8, context: &[(&str, &str)], provider: &str, info: &str, edk: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let suite: u16 = if version == 1 { 0x0378 } else { 0x0578 };
        v.push(version);
        if version == 1 {
            v.push(0x80);
        }
        v.extend(suite.to_be_bytes());
        v.extend(vec![0x55; if version == 1 { 16 } else { 32 }]);
        let mut aad = Vec::new();
        if !context.is_empty() {
            aad.extend((context.len() as u16).to_be_bytes());
            for (k, val) in context {
                lp(&mut aad, k.as_bytes());
                lp(&mut aad, val.as_bytes());
            }
        }
        lp(&mut v, &aad);
        v.extend(1u16.to_be_bytes());
        lp(&mut v, provider.as_bytes());
        lp(&mut v, info.as_bytes());
        lp(&mut v, edk);
        v.push(2);
        if version == 1 {
            v.extend([0, 0, 0, 0, 12]);
            v.extend(4096u32.to_be_bytes());
            v.extend([0x66; 12]);
        } else {
            v.extend(4096u32.to_be_bytes());
            v.extend([0x77; 32]);
        }
        v.extend([0x88; 16]);
        v.extend(0xFFFF_FFFFu32.to_be_bytes());
        v.extend(1u32.to_be_bytes());
        v.extend([0x99; 12]);
        v.extend(31u32.to_be_bytes());
        v.extend([0xaa; 31]);
        v.extend([0xbb; 16]);
        lp(&mut v, &[0x30; 103]);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::synth::message;
    use super::*;
    use base64::Engine;

    const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn v2_and_v1_messages_parse_with_arns_and_context() {
        let edk = crate::kms::recognise::awskms::synth::v2(32);
        let m = message(
            2,
            &[("environment", "prod"), ("service", "billing")],
            "aws-kms",
            ARN,
            &edk,
        );
        let text = base64::engine::general_purpose::STANDARD.encode(&m);
        assert!(text.starts_with("AgV4"), "{text}");
        let msg = parse(&m).unwrap();
        assert_eq!(msg.kms_key_arns(), [ARN]);
        assert_eq!(msg.context["service"], "billing");
        let m1 = message(1, &[], "aws-kms", ARN, &edk);
        assert!(base64::engine::general_purpose::STANDARD
            .encode(&m1)
            .starts_with("AYADe"));
        assert_eq!(parse(&m1).unwrap().version, 1);
    }

    #[test]
    fn damage_is_named() {
        let m = message(2, &[("a", "b")], "aws-kms", ARN, b"x");
        assert!(matches!(parse(&m[..m.len() - 5]), Err(EsdkError::Truncated(_))));
        let mut extra = m.clone();
        extra.push(0);
        assert!(matches!(parse(&extra), Err(EsdkError::Corrupted(_))));
        let mut unsorted = message(2, &[("b", "1"), ("a", "2")], "aws-kms", ARN, b"x");
        assert!(matches!(parse(&unsorted), Err(EsdkError::Corrupted(_))));
        unsorted[0] = 3;
        assert!(matches!(parse(&unsorted), Err(EsdkError::UnknownVersion(_))));
        assert_eq!(parse(b"hello"), Err(EsdkError::NotEsdk));
    }
}

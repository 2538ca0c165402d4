//! Encoded content: base64 (standard and URL-safe, also wrapped over several lines), hex and
//! percent-encoding, decoded so that a secret hidden in it is scanned too.
//!
//! Only decodings that give text are kept: random bytes, images, ciphertexts and digests decode
//! to binary and are dropped after a short probe, so the cost stays near one table lookup per
//! byte of input.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use memchr::memchr_iter;
use serde::Serialize;

/// How a piece of content was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Base64,
    Hex,
    Percent,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
        }
    }
}

/// One encoded run and the text it decodes to.
#[derive(Debug)]
pub struct Decoded {
    /// The encoded run in the input.
    pub start: usize,
    pub end: usize,
    pub encoding: Encoding,
    pub text: Vec<u8>,
    /// For percent-encoding, each decoded byte's offset in the input; other encodings map
    /// proportionally.
    map: Vec<u32>,
}

impl Decoded {
    /// Where the decoded range [s, e) lies in the input (approximately for base64 and hex:
    /// a proportional position inside the run).
    pub fn source_range(&self, s: usize, e: usize) -> (usize, usize) {
        if !self.map.is_empty() {
            let last = e.saturating_sub(1).max(s);
            return (self.map[s] as usize, self.map[last] as usize + 1);
        }
        let (n, d) = match self.encoding {
            Encoding::Hex => (2, 1),
            _ => (4, 3),
        };
        let span = self.end - self.start;
        let a = (self.start + s * n / d).min(self.end);
        let b = (self.start + (e * n).div_ceil(d)).clamp(a, self.start + span);
        (a, b)
    }
}

/// Shortest base64 run worth decoding (18 bytes of text).
const MIN_BASE64: usize = 24;
/// Shortest hex run worth decoding (16 bytes of text).
const MIN_HEX: usize = 32;
/// A line of base64 at least this long may continue on the next line (wrapped output).
const MIN_WRAPPED_LINE: usize = 60;
/// Bytes decoded before deciding whether a run is text.
const PROBE: usize = 48;

const B64: u8 = 1;
const HEX: u8 = 2;
const STD: u8 = 4;
const URL: u8 = 8;
const UPPER: u8 = 16;

/// Character classes: base64 alphabet (with which variant), hex digits.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_alphanumeric() {
            k |= B64;
        }
        if b.is_ascii_hexdigit() {
            k |= HEX;
        }
        if b.is_ascii_uppercase() {
            k |= UPPER;
        }
        if b == b'+' || b == b'/' {
            k |= B64 | STD;
        }
        if b == b'-' || b == b'_' {
            k |= B64 | URL;
        }
        t[c] = k;
        c += 1;
    }
    t
};

fn engine(url: bool) -> GeneralPurpose {
    let cfg = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    GeneralPurpose::new(if url { &alphabet::URL_SAFE } else { &alphabet::STANDARD }, cfg)
}

/// Text: valid UTF-8 without control characters other than tab, CR and LF.
fn is_text(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(s) => !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
        // A probe may cut a multi-byte character at its end.
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > b.len() && is_text(&b[..e.valid_up_to()]),
    }
}

/// Bit k set when `block[k]` is a base64 character (either alphabet). Written so that the
/// compiler vectorises the comparisons; eight 0/1 bytes are packed into bits by one multiply.
fn base64_mask(block: &[u8; 64]) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &b) in flags.iter_mut().zip(block) {
        let lower = b | 0x20;
        let alpha = lower.wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        *f = (alpha | digit | (b == b'+') | (b == b'/') | (b == b'-') | (b == b'_')) as u8;
    }
    let mut m = 0u64;
    for (j, eight) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // Byte k of x (0 or 1) lands on bit 56 + k; no two partial products overlap.
        m |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
    }
    m
}

/// Every encoded run of `bytes` that decodes to text.
pub fn find(bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    find_base64_and_hex(bytes, &mut out);
    find_percent(bytes, &mut out);
    out
}

fn find_base64_and_hex(bytes: &[u8], out: &mut Vec<Decoded>) {
    let n = bytes.len();
    let b64 = |b: u8| CLASS[b as usize] & B64 != 0;
    let mut chars: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    // Runs shorter than MIN_BASE64 are never decoded, so look MIN_BASE64 - 1 bytes ahead: if
    // that byte is not base64, no run long enough starts before it. Most text is skipped
    // without reading every byte.
    while i + MIN_BASE64 <= n {
        // 64 bytes at a time: a bit mask of base64 characters, then runs of 24 ones by
        // shifting. Branch-free, so text without long runs costs well under a cycle a byte.
        if let Some(block) = bytes.get(i..i + 64) {
            let m = base64_mask(block.try_into().expect("64 bytes"));
            let mut r = m;
            r &= r >> 1;
            r &= r >> 2;
            r &= r >> 4;
            r &= r >> 8;
            r &= r >> 8;
            if r == 0 {
                // No run of 24 starts here unless it runs past the block: resume at the
                // trailing run of ones (just after the last non-base64 byte).
                i += 64 - m.leading_ones() as usize;
                continue;
            }
            // The lowest such bit starts a run (the bit below it is 0, or it is bit 0 and
            // bytes[i - 1] is not base64): hand it to the exact scan below.
            i += r.trailing_zeros() as usize;
        }
        let p = i + MIN_BASE64 - 1;
        if !b64(bytes[p]) {
            i = p + 1;
            continue;
        }
        if let Some(q) = (i..p).rev().find(|&q| !b64(bytes[q])) {
            i = q + 1;
            continue;
        }
        let start = i;
        let mut kinds = 0u8;
        // The run's characters without line breaks and indentation.
        chars.clear();
        let mut seg_start = i;
        let end = loop {
            while i < n && CLASS[bytes[i] as usize] & B64 != 0 {
                kinds |= CLASS[bytes[i] as usize];
                i += 1;
            }
            let mut j = i;
            while j < n && j - i < 2 && bytes[j] == b'=' {
                j += 1;
            }
            let seg_len = i - seg_start;
            let padded = j > i;
            // Wrapped base64: a long line ending at a newline, continued on the next line.
            let mut k = j;
            if !padded && seg_len >= MIN_WRAPPED_LINE && k < n && (bytes[k] == b'\n' || bytes[k] == b'\r') {
                if bytes[k] == b'\r' {
                    k += 1;
                }
                if k < n && bytes[k] == b'\n' {
                    k += 1;
                    while k < n && (bytes[k] == b' ' || bytes[k] == b'\t') {
                        k += 1;
                    }
                    if k < n && CLASS[bytes[k] as usize] & B64 != 0 {
                        chars.push((seg_start, j));
                        seg_start = k;
                        i = k;
                        continue;
                    }
                }
            }
            chars.push((seg_start, j));
            i = j;
            break j;
        };
        let len: usize = chars.iter().map(|(s, e)| e - s).sum();
        if len < MIN_BASE64 {
            continue;
        }
        let joined: std::borrow::Cow<'_, [u8]> = if chars.len() == 1 {
            std::borrow::Cow::Borrowed(&bytes[start..end])
        } else {
            chars.iter().flat_map(|&(s, e)| bytes[s..e].iter().copied()).collect()
        };
        let all_hex = joined.iter().all(|&b| CLASS[b as usize] & HEX != 0);
        if all_hex && joined.len() >= MIN_HEX && joined.len() % 2 == 0 {
            if let Some(text) = decode_hex(&joined) {
                out.push(Decoded {
                    start,
                    end,
                    encoding: Encoding::Hex,
                    text,
                    map: Vec::new(),
                });
                continue;
            }
        }
        // Base64 of text always has capitals (the first character of each group encodes the
        // top bits of an ASCII byte: I..f); long snake_case identifiers and rules of dashes
        // have none.
        if kinds & UPPER == 0 || (kinds & STD != 0 && kinds & URL != 0) {
            continue;
        }
        if let Some(text) = decode_base64(&joined, kinds & URL != 0) {
            out.push(Decoded {
                start,
                end,
                encoding: Encoding::Base64,
                text,
                map: Vec::new(),
            });
        }
    }
}

/// Whether the run can be the base64 of ASCII text: the first character of each 4-character
/// group encodes the top six bits of a byte, which for printable ASCII (0x20..0x7E) are 8..31,
/// the characters `I`..`Z` and `a`..`f`. Long CamelCase identifiers and the base64 of binary
/// data fail this on the first few groups; one group in eight may miss (a tab, a non-ASCII
/// character).
fn looks_like_text_base64(run: &[u8]) -> bool {
    let leads = run.iter().step_by(4).take(8);
    let n = leads.len();
    let misses = leads
        .filter(|&&c| !(c.is_ascii_uppercase() && c >= b'I' || (b'a'..=b'f').contains(&c)))
        .count();
    misses <= n / 8
}

fn decode_base64(run: &[u8], url: bool) -> Option<Vec<u8>> {
    let body = run.iter().rposition(|&b| b != b'=').map_or(&run[..0], |p| &run[..=p]);
    if body.len() % 4 == 1 || !looks_like_text_base64(body) {
        return None;
    }
    let eng = engine(url);
    // Probe a prefix first: almost every run that is not text fails here, cheaply.
    let probe = &body[..body.len().min(PROBE * 4 / 3 / 4 * 4)];
    if probe.len() < body.len() && !is_text(&eng.decode(probe).ok()?) {
        return None;
    }
    let text = eng.decode(body).ok()?;
    is_text(&text).then_some(text)
}

fn decode_hex(run: &[u8]) -> Option<Vec<u8>> {
    use crate::kms::recognise::b64::decode_hex as hex_bytes;
    let run = std::str::from_utf8(run).ok()?;
    // Probe a prefix first, as for base64: digests decode to binary at once.
    let probe = &run[..run.len().min(2 * PROBE)];
    if probe.len() < run.len() && !is_text(&hex_bytes(probe)?) {
        return None;
    }
    let text = hex_bytes(run)?;
    is_text(&text).then_some(text)
}

/// Characters that may stand in a URL or form value around a percent escape.
fn url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"%._~+:/?#[]@!$&()*,;=-".contains(&b)
}

fn find_percent(bytes: &[u8], out: &mut Vec<Decoded>) {
    let mut next = 0;
    for p in memchr_iter(b'%', bytes) {
        if p < next {
            continue;
        }
        let mut s = p;
        while s > 0 && url_char(bytes[s - 1]) {
            s -= 1;
        }
        let mut e = p;
        while e < bytes.len() && url_char(bytes[e]) {
            e += 1;
        }
        next = e;
        // Most `%` are format strings or arithmetic: count real escapes before decoding.
        let escapes = (s..e.saturating_sub(2))
            .filter(|&i| bytes[i] == b'%' && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
            .count();
        if escapes < 2 || e - s < 16 {
            continue;
        }
        let mut text = Vec::with_capacity(e - s);
        let mut map = Vec::with_capacity(e - s);
        let mut i = s;
        while i < e {
            let hex = bytes.get(i + 1..i + 3).filter(|_| i + 3 <= e);
            match hex
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) if bytes[i] == b'%' => {
                    text.push(v);
                    map.push(i as u32);
                    i += 3;
                }
                _ => {
                    text.push(bytes[i]);
                    map.push(i as u32);
                    i += 1;
                }
            }
        }
        if text.len() >= 16 && is_text(&text) && e <= u32::MAX as usize {
            out.push(Decoded {
                start: s,
                end: e,
                encoding: Encoding::Percent,
                text,
                map,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn texts(input: &[u8]) -> Vec<(Encoding, String)> {
        find(input)
            .into_iter()
            .map(|d| (d.encoding, String::from_utf8(d.text).unwrap()))
            .collect()
    }

    #[test]
    fn base64_runs_that_hold_text_are_decoded() {
        let enc = STANDARD.encode("api_key = 'not-a-real-key-just-text'");
        let input = format!("value: {enc}\nother: line\n");
        assert_eq!(
            texts(input.as_bytes()),
            vec![(Encoding::Base64, "api_key = 'not-a-real-key-just-text'".into())]
        );
        let url = URL_SAFE_NO_PAD.encode("{\"token\":\"ab?cd>ef~~gh\",\"x\":1}");
        assert_eq!(texts(url.as_bytes()).len(), 1);
    }

    #[test]
    fn binary_digests_and_short_runs_are_not() {
        let png = STANDARD.encode([
            0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
        assert!(texts(png.as_bytes()).is_empty());
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(texts(sha.as_bytes()).is_empty());
        assert!(texts(STANDARD.encode("short").as_bytes()).is_empty());
        assert!(texts(b"AbstractSingletonProxyFactoryBeanImpl").is_empty());
    }

    #[test]
    fn hex_text_is_decoded() {
        let hex: String = "password=hunter2-but-longer"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            texts(hex.as_bytes()),
            vec![(Encoding::Hex, "password=hunter2-but-longer".into())]
        );
    }

    #[test]
    fn wrapped_base64_is_joined() {
        let enc = STANDARD.encode("-----BEGIN SOMETHING-----\n".repeat(6));
        let wrapped: Vec<&str> = enc
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let input = format!("data: |\n    {}\n", wrapped.join("\n    "));
        let t = texts(input.as_bytes());
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].1, "-----BEGIN SOMETHING-----\n".repeat(6));
    }

    #[test]
    fn percent_encoding_is_decoded_with_exact_offsets() {
        let input = b"url: https://x.test/?cfg=%7B%22api_key%22%3A%22value%22%7D end";
        let d = find(input);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].encoding, Encoding::Percent);
        let text = String::from_utf8(d[0].text.clone()).unwrap();
        assert_eq!(text, "https://x.test/?cfg={\"api_key\":\"value\"}");
        let v = text.find("value").unwrap();
        let (s, e) = d[0].source_range(v, v + 5);
        assert_eq!(&input[s..e], b"value");
        // One escape alone is left to the plain scan.
        assert!(find(b"https://user:p%40ss@host.test/").is_empty());
    }

    #[test]
    fn block_mask_marks_exactly_the_base64_characters() {
        let alphabet = b"aZ09+/-_ .:=\n\"@[`{~\x80\xff";
        let mut block = [0u8; 64];
        for (k, b) in block.iter_mut().enumerate() {
            *b = alphabet[k % alphabet.len()];
        }
        let m = base64_mask(&block);
        for (k, &b) in block.iter().enumerate() {
            assert_eq!(
                m >> k & 1 == 1,
                CLASS[b as usize] & B64 != 0,
                "byte {k} {:?}",
                b as char
            );
        }
    }

    #[test]
    fn runs_are_found_across_block_boundaries() {
        let enc = STANDARD.encode("a text long enough to be decoded, and then some more");
        for pad in [0, 1, 30, 40, 50, 63, 64, 65, 100] {
            let input = format!("{}{enc} tail", " ".repeat(pad));
            assert_eq!(texts(input.as_bytes()).len(), 1, "pad {pad}");
        }
    }

    #[test]
    fn only_runs_shaped_like_encoded_text_are_decoded() {
        assert!(looks_like_text_base64(
            STANDARD.encode("any printable ASCII text at all ~!").as_bytes()
        ));
        assert!(looks_like_text_base64(
            STANDARD.encode("{\"k\": \"v\"}\n\tmore text here").as_bytes()
        ));
        assert!(!looks_like_text_base64(b"RawVecInnerFinishGrowHandleAllocError"));
        assert!(!looks_like_text_base64(
            STANDARD.encode([0xffu8, 0x00, 0x10, 0x80].repeat(8)).as_bytes()
        ));
    }

    #[test]
    fn proportional_ranges_stay_inside_the_run() {
        let enc = STANDARD.encode("0123456789abcdefghijklmnopqrstuvwxyz");
        let input = format!("k: {enc}");
        let d = &find(input.as_bytes())[0];
        let (s, e) = d.source_range(3, 9);
        assert!(d.start <= s && s <= e && e <= d.end);
        assert_eq!(d.source_range(0, d.text.len()), (d.start, d.end));
    }
}

//! Go RE2 pattern syntax -> Rust `regex` syntax.
//!
//! gitleaks configs are written for Go's `regexp`. The two dialects agree on almost everything;
//! this module rewrites the places where they read the same text differently and rejects what
//! has no equivalent. It does not validate the pattern: `regex-syntax` does that afterwards.

/// Rewrites a Go RE2 pattern into the Rust regex dialect, or says why it cannot be.
///
/// - `\Q...\E` (quoted literal text) becomes escaped literals.
/// - A `{` that does not start a valid counted repetition is a literal in Go; it is escaped.
/// - A bare `[` inside a character class is a literal in Go but a nested class in Rust; `&` and
///   `~` in a class are escaped so that Go text never reads as a Rust set operation.
/// - `\C` (match any byte, even inside UTF-8) has no Rust equivalent and is rejected.
pub fn translate(pattern: &str) -> Result<String, String> {
    // Every character this looks at is ASCII, so it works on bytes: the bytes of a multi-byte
    // character are all >= 0x80 and are copied as they are.
    let b = pattern.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Position right after a class's opening `[` or `[^`, where `]` is a literal.
    let mut class_start = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                let Some(&n) = b.get(i + 1) else {
                    return Err("trailing backslash".into());
                };
                match n {
                    b'Q' => {
                        let body = &pattern[i + 2..];
                        let (quoted, next) = match body.find("\\E") {
                            Some(p) => (&body[..p], i + 2 + p + 2),
                            None => (body, b.len()),
                        };
                        out.extend_from_slice(regex_syntax::escape(quoted).as_bytes());
                        i = next;
                        continue;
                    }
                    b'C' => return Err("\\C (any single byte) is not supported; use . or [\\x00-\\xff]".into()),
                    b'p' | b'P' | b'x' if b.get(i + 2) == Some(&b'{') => {
                        let close = b[i + 2..].iter().position(|&ch| ch == b'}');
                        let end = close.map_or(b.len(), |p| i + 2 + p + 1);
                        out.extend_from_slice(&b[i..end]);
                        i = end;
                        continue;
                    }
                    _ => {
                        out.extend_from_slice(&[b'\\', n]);
                        i += 2;
                        continue;
                    }
                }
            }
            b'[' if !in_class => {
                in_class = true;
                out.push(b'[');
                i += 1;
                if b.get(i) == Some(&b'^') {
                    out.push(b'^');
                    i += 1;
                }
                class_start = i;
                continue;
            }
            b'[' if in_class => {
                if b.get(i + 1) == Some(&b':') {
                    // POSIX class such as [:alpha:]: copy through ":]".
                    if let Some(p) = memchr::memmem::find(&b[i..], b":]") {
                        out.extend_from_slice(&b[i..i + p + 2]);
                        i += p + 2;
                        continue;
                    }
                }
                out.extend_from_slice(b"\\[");
            }
            b']' if in_class => {
                if i == class_start {
                    out.extend_from_slice(b"\\]");
                } else {
                    in_class = false;
                    out.push(b']');
                }
            }
            b'&' | b'~' if in_class => out.extend_from_slice(&[b'\\', c]),
            b'{' if !in_class => {
                let len = counted_repetition_len(&b[i..]);
                if len > 0 {
                    out.extend_from_slice(&b[i..i + len]);
                    i += len;
                    continue;
                }
                out.extend_from_slice(b"\\{");
            }
            b'}' if !in_class => out.extend_from_slice(b"\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    // Only ASCII was added, and only between characters.
    String::from_utf8(out).map_err(|_| "pattern is not valid UTF-8".to_string())
}

/// Length of a Go counted repetition (`{n}`, `{n,}`, `{n,m}`) at the start of `s`, or 0.
fn counted_repetition_len(s: &[u8]) -> usize {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return 0;
    }
    if s.get(i) == Some(&b',') {
        i += 1;
        digits(&mut i);
    }
    if s.get(i) == Some(&b'}') {
        i + 1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn plain_patterns_are_unchanged() {
        for p in [
            r"AKIA[0-9A-Z]{16}",
            r"(?i)\b(ghp_[a-z0-9]{36,})\b",
            r"a{2,}b{1,3}",
            r"[[:alpha:]]+",
        ] {
            assert_eq!(translate(p).unwrap(), p);
        }
    }

    #[test]
    fn literal_braces_are_escaped() {
        assert_eq!(translate(r"^\${(?:[A-Z_]+)}$").unwrap(), r"^\$\{(?:[A-Z_]+)\}$");
        assert_eq!(translate(r"x{,3}").unwrap(), r"x\{,3\}");
    }

    #[test]
    fn quoted_text_becomes_literals() {
        assert_eq!(translate(r"\Qa.b*\Ec").unwrap(), r"a\.b\*c");
    }

    #[test]
    fn class_brackets_and_set_operators_are_literal() {
        assert_eq!(translate(r"[a[b]").unwrap(), r"[a\[b]");
        assert_eq!(translate(r"[]a]").unwrap(), r"[\]a]");
        assert_eq!(translate(r"[a&&b]").unwrap(), r"[a\&\&b]");
    }

    #[test]
    fn characters_beyond_ascii_are_kept() {
        assert_eq!(translate(r"é[ü{]x{2}\Qß.\E…").unwrap(), r"é[ü{]x{2}ß\.…");
        assert_eq!(translate(r"\é[[:alpha:]é]").unwrap(), r"\é[[:alpha:]é]");
        assert_eq!(translate(r"\Qa.b").unwrap(), r"a\.b");
    }

    #[test]
    fn any_byte_is_rejected() {
        assert!(translate(r"a\Cb").unwrap_err().contains("\\C"));
    }
}

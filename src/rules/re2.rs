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
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Position right after a class's opening `[` or `[^`, where `]` is a literal.
    let mut class_start = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("trailing backslash".into());
                };
                match n {
                    'Q' => {
                        let mut j = i + 2;
                        while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                            let mut buf = [0u8; 4];
                            out.push_str(&regex_syntax::escape(chars[j].encode_utf8(&mut buf)));
                            j += 1;
                        }
                        i = if j < chars.len() { j + 2 } else { j };
                        continue;
                    }
                    'C' => return Err("\\C (any single byte) is not supported; use . or [\\x00-\\xff]".into()),
                    'p' | 'P' | 'x' if chars.get(i + 2) == Some(&'{') => {
                        let close = chars[i + 2..].iter().position(|&ch| ch == '}');
                        let end = close.map_or(chars.len(), |p| i + 2 + p + 1);
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                        i += 2;
                        continue;
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = i;
                continue;
            }
            '[' if in_class => {
                if chars.get(i + 1) == Some(&':') {
                    // POSIX class such as [:alpha:]: copy through ":]".
                    let rest: String = chars[i..].iter().collect();
                    if let Some(p) = rest.find(":]") {
                        out.push_str(&rest[..p + 2]);
                        i += rest[..p + 2].chars().count();
                        continue;
                    }
                }
                out.push_str("\\[");
            }
            ']' if in_class => {
                if i == class_start {
                    out.push_str("\\]");
                } else {
                    in_class = false;
                    out.push(']');
                }
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '{' if !in_class => {
                let len = counted_repetition_len(&chars[i..]);
                if len > 0 {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                out.push_str("\\{");
            }
            '}' if !in_class => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// Length of a Go counted repetition (`{n}`, `{n,}`, `{n,m}`) at the start of `s`, or 0.
fn counted_repetition_len(s: &[char]) -> usize {
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
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    if s.get(i) == Some(&'}') {
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
    fn any_byte_is_rejected() {
        assert!(translate(r"a\Cb").unwrap_err().contains("\\C"));
    }
}

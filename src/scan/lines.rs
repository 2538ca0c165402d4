//! Byte offsets -> line and column numbers, and the trimmed line of context shown in reports.

use memchr::{memchr, memchr_iter, memrchr};
use serde::Serialize;

/// Where a secret is: 1-based lines and 1-based columns counted in characters (UTF-8 aware;
/// invalid bytes count one each). `end_column` is the column of the secret's last character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// Turns increasing offsets into positions, counting newlines only once.
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, pos: usize) -> usize {
        if pos < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += memchr_iter(b'\n', &self.bytes[self.offset..pos]).count();
        self.offset = pos;
        self.line
    }

    /// Position of the range [start, end) (end > start, or equal for an empty range).
    pub fn position(&mut self, start: usize, end: usize) -> Position {
        let last = if end > start { end - 1 } else { start };
        let line = self.line_at(start);
        let column = chars(&self.bytes[line_start(self.bytes, start)..start]) + 1;
        let end_line = line + memchr_iter(b'\n', &self.bytes[start..last]).count();
        let end_column = chars(&self.bytes[line_start(self.bytes, last)..last]) + 1;
        Position {
            line,
            column,
            end_line,
            end_column,
        }
    }
}

fn line_start(bytes: &[u8], pos: usize) -> usize {
    memrchr(b'\n', &bytes[..pos]).map_or(0, |p| p + 1)
}

/// Characters in `b`: every byte that is not a UTF-8 continuation byte.
fn chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

/// Longest context line kept whole; longer (minified) lines are cut around the secret.
const MAX_CONTEXT: usize = 160;
/// Bytes kept on each side of the secret when a line is cut.
const CUT_MARGIN: usize = 48;

/// The line a secret is on, split so that reporters can redact the secret part.
///
/// Kept as one string and two lengths: a scan with tens of thousands of findings holds one
/// context per location, and three strings each would triple the allocations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    text: Box<str>,
    before: u32,
    secret: u32,
}

impl Context {
    /// A context from its three parts.
    pub fn new(before: &str, secret: &str, after: &str) -> Context {
        let mut text = String::with_capacity(before.len() + secret.len() + after.len());
        text.push_str(before);
        text.push_str(secret);
        text.push_str(after);
        Context {
            text: text.into_boxed_str(),
            before: before.len() as u32,
            secret: secret.len() as u32,
        }
    }

    /// The line before the secret (cut and marked `...` on long lines).
    pub fn before(&self) -> &str {
        &self.text[..self.before as usize]
    }

    /// The part of the secret that lies on this line (the first line of a multi-line secret).
    pub fn secret(&self) -> &str {
        &self.text[self.before as usize..(self.before + self.secret) as usize]
    }

    /// The line after the secret.
    pub fn after(&self) -> &str {
        &self.text[(self.before + self.secret) as usize..]
    }

    /// Context for the secret at [start, end) of `bytes`.
    pub fn around(bytes: &[u8], start: usize, end: usize) -> Context {
        let ls = line_start(bytes, start);
        let mut le = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
        if le > ls && bytes[le - 1] == b'\r' {
            le -= 1;
        }
        let se = end.min(le).max(start);
        let mut b0 = ls;
        let mut a1 = le;
        let mut cut_before = false;
        let mut cut_after = false;
        if le - ls > MAX_CONTEXT {
            if start - ls > CUT_MARGIN {
                b0 = start - CUT_MARGIN;
                cut_before = true;
            }
            if le - se > CUT_MARGIN {
                a1 = se + CUT_MARGIN;
                cut_after = true;
            }
        }
        let before = crate::finding::lossy(&bytes[b0..start]);
        let secret = crate::finding::lossy(&bytes[start..se]);
        let after = crate::finding::lossy(&bytes[se..a1]);
        let (before, after) = (before.trim_start(), after.trim_end());
        let mut text = String::with_capacity(before.len() + secret.len() + after.len() + 6);
        if cut_before {
            text.push_str("...");
        }
        text.push_str(before);
        let before_len = text.len();
        text.push_str(&secret);
        text.push_str(after);
        if cut_after {
            text.push_str("...");
        }
        Context {
            text: text.into_boxed_str(),
            before: before_len as u32,
            secret: secret.len() as u32,
        }
    }
}

impl Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Context", 3)?;
        st.serialize_field("before", self.before())?;
        st.serialize_field("secret", self.secret())?;
        st.serialize_field("after", self.after())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_chars() {
        let b = "ab\né key\nx".as_bytes();
        let mut c = LineCounter::new(b);
        let k = b.windows(3).position(|w| w == b"key").unwrap();
        assert_eq!(
            c.position(k, k + 3),
            Position {
                line: 2,
                column: 3,
                end_line: 2,
                end_column: 5
            }
        );
        assert_eq!(
            c.position(0, 2),
            Position {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 2
            }
        );
    }

    #[test]
    fn crlf_line_numbers() {
        let b = b"a\r\nb\r\nkey=1\r\n";
        let mut c = LineCounter::new(b);
        assert_eq!(c.position(6, 9).line, 3);
        let ctx = Context::around(b, 10, 11);
        assert_eq!((ctx.before(), ctx.secret(), ctx.after()), ("key=", "1", ""));
    }

    #[test]
    fn long_lines_are_cut_around_the_secret() {
        let mut line = "x".repeat(500);
        line.push_str("SECRET");
        line.push_str(&"y".repeat(500));
        let s = line.find("SECRET").unwrap();
        let ctx = Context::around(line.as_bytes(), s, s + 6);
        assert!(ctx.before().starts_with("...") && ctx.after().ends_with("..."));
        assert!(ctx.before().len() < 60 && ctx.after().len() < 60);
        assert_eq!(ctx.secret(), "SECRET");
    }
}

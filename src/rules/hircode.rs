//! The embedded rules' patterns, parsed at build time.
//!
//! Parsing a pattern (syntax tree, then `Hir`) was a third of the instructions of a one-file
//! scan that finds secrets (65 patterns: 9.3 of 28.7 M), most of it allocation. `build.rs`
//! parses every pattern of the embedded rule files with the parser `parser` configures and
//! writes each `Hir` in the compact form `encode` gives; a scan rebuilds it with `decode`,
//! through the same constructors the parser uses. Shared with `build.rs` (`#[path]`), so it
//! depends on nothing but `regex-syntax`. A test checks that every embedded pattern decodes to
//! what parsing it gives.

use regex_syntax::hir::{
    Capture, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look, Repetition,
};

/// The parser rule patterns are read with: the regex crate's defaults, except that a pattern
/// matches bytes (`utf8(false)`), `^`/`$` match at CRLF line ends, and Unicode classes and
/// `^`/`$` at line breaks are as asked.
pub fn parser(unicode: bool, multi_line: bool) -> regex_syntax::Parser {
    regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .multi_line(multi_line)
        .crlf(true)
        .build()
}

/// `source` parsed with ASCII classes, or else with Unicode classes: the `Hir` and whether
/// Unicode classes are on. `None` when neither parses.
pub fn parse_either(source: &str, multi_line: bool) -> Option<(Hir, bool)> {
    for unicode in [false, true] {
        if let Ok(hir) = parser(unicode, multi_line).parse(source) {
            return Some((hir, unicode));
        }
    }
    None
}

const EMPTY: u8 = 0;
const LITERAL: u8 = 1;
const BYTES: u8 = 2;
const UNICODE: u8 = 3;
const LOOK: u8 = 4;
const REPETITION: u8 = 5;
const CAPTURE: u8 = 6;
const CONCAT: u8 = 7;
const ALTERNATION: u8 = 8;

/// Appends `hir` to `out`: each node a tag, then its fields (numbers as LEB128), then its
/// children.
pub fn encode(hir: &Hir, out: &mut Vec<u8>) {
    match hir.kind() {
        HirKind::Empty => out.push(EMPTY),
        HirKind::Literal(l) => {
            out.push(LITERAL);
            bytes(&l.0, out);
        }
        HirKind::Class(Class::Bytes(c)) => {
            out.push(BYTES);
            number(c.ranges().len() as u64, out);
            for r in c.ranges() {
                out.extend([r.start(), r.end()]);
            }
        }
        HirKind::Class(Class::Unicode(c)) => {
            out.push(UNICODE);
            number(c.ranges().len() as u64, out);
            for r in c.ranges() {
                number(u64::from(u32::from(r.start())), out);
                number(u64::from(u32::from(r.end())), out);
            }
        }
        HirKind::Look(look) => {
            out.push(LOOK);
            number(u64::from(look.as_repr()), out);
        }
        HirKind::Repetition(r) => {
            out.push(REPETITION);
            number(u64::from(r.min), out);
            number(r.max.map_or(0, |m| u64::from(m) + 1), out);
            out.push(u8::from(r.greedy));
            encode(&r.sub, out);
        }
        HirKind::Capture(c) => {
            out.push(CAPTURE);
            number(u64::from(c.index), out);
            match &c.name {
                Some(name) => {
                    out.push(1);
                    bytes(name.as_bytes(), out);
                }
                None => out.push(0),
            }
            encode(&c.sub, out);
        }
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            out.push(if matches!(hir.kind(), HirKind::Concat(_)) {
                CONCAT
            } else {
                ALTERNATION
            });
            number(items.len() as u64, out);
            for h in items {
                encode(h, out);
            }
        }
    }
}

fn number(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    number(b.len() as u64, out);
    out.extend_from_slice(b);
}

/// The `Hir` `encode` wrote to `code`; `None` if `code` is not exactly one.
pub fn decode(code: &[u8]) -> Option<Hir> {
    let mut r = Reader { code, at: 0 };
    let hir = r.hir(0)?;
    (r.at == code.len()).then_some(hir)
}

/// Deepest nesting `decode` follows (the parser's own limit is 250).
const MAX_DEPTH: usize = 1000;

struct Reader<'a> {
    code: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.code.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn number(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.number()?).ok()
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.number()?).ok().filter(|&n| n <= self.code.len())
    }

    fn bytes(&mut self) -> Option<&[u8]> {
        let n = self.len()?;
        let b = self.code.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }

    fn hir(&mut self, depth: usize) -> Option<Hir> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.byte()? {
            EMPTY => Hir::empty(),
            LITERAL => Hir::literal(self.bytes()?),
            BYTES => {
                let n = self.len()?;
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    ranges.push(ClassBytesRange::new(self.byte()?, self.byte()?));
                }
                Hir::class(Class::Bytes(ClassBytes::new(ranges)))
            }
            UNICODE => {
                let n = self.len()?;
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    let start = char::from_u32(self.u32()?)?;
                    let end = char::from_u32(self.u32()?)?;
                    ranges.push(ClassUnicodeRange::new(start, end));
                }
                Hir::class(Class::Unicode(ClassUnicode::new(ranges)))
            }
            LOOK => Hir::look(Look::from_repr(self.u32()?)?),
            REPETITION => {
                let min = self.u32()?;
                let max = match self.u32()? {
                    0 => None,
                    m => Some(m - 1),
                };
                let greedy = self.byte()? != 0;
                let sub = Box::new(self.hir(depth + 1)?);
                Hir::repetition(Repetition { min, max, greedy, sub })
            }
            CAPTURE => {
                let index = self.u32()?;
                let name = match self.byte()? {
                    0 => None,
                    _ => Some(std::str::from_utf8(self.bytes()?).ok()?.into()),
                };
                let sub = Box::new(self.hir(depth + 1)?);
                Hir::capture(Capture { index, name, sub })
            }
            tag @ (CONCAT | ALTERNATION) => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.hir(depth + 1)?);
                }
                match tag {
                    CONCAT => Hir::concat(items),
                    _ => Hir::alternation(items),
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, encode, parse_either};

    /// Every kind of node, both class kinds, lazy and bounded repetitions, named groups and
    /// assertions come back as they were.
    #[test]
    fn decoding_gives_back_what_was_encoded() {
        let patterns = [
            r"(?i)(?:password|auth[_.-]?token)\s{0,3}=\s*'([^'\s]{8,128})'",
            r"(?m)^[ \t]*(?P<key>[A-Za-z_]\w*?)=(.+?)$",
            r"\b(AKIA[A-Z2-7]{16})\b|\Bx{2,}|(?:)",
            r"\p{Greek}+\d|[^\x00-\x7f]+",
            r"a{0}b{1}c{3}|[a][b-d]",
        ];
        for pattern in patterns {
            for multi_line in [false, true] {
                let (hir, _) = parse_either(pattern, multi_line).expect("parses");
                let mut code = Vec::new();
                encode(&hir, &mut code);
                assert_eq!(decode(&code), Some(hir), "{pattern}");
            }
        }
    }

    /// Cut short, with a byte too many or with a byte changed, the code decodes to something
    /// or nothing, never a panic.
    #[test]
    fn damaged_code_never_panics() {
        let (hir, _) = parse_either(r"(?i)x=(?P<v>[a-z]{2,9})\b|\p{Lu}", true).expect("parses");
        let mut code = Vec::new();
        encode(&hir, &mut code);
        for n in 0..code.len() {
            assert_eq!(decode(&code[..n]), None);
        }
        let mut longer = code.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        for i in 0..code.len() {
            for b in [0, 1, 0x7f, 0x80, 0xff] {
                let mut bad = code.clone();
                bad[i] = b;
                let _ = decode(&bad);
            }
        }
    }
}

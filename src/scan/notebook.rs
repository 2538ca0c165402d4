//! Jupyter notebooks: the text a person wrote or saw (cell sources and text outputs), taken out
//! of the notebook's JSON with every byte mapped back to where it stands in the file.
//!
//! Scanning the raw JSON would see `\"` and `\n` escapes inside every line of code and the
//! base64 of every plotted image; scanning the cells sees the code as it is. Image and other
//! binary outputs are left out. A file that is not a notebook's JSON gives `None` and is
//! scanned as plain text.

use crate::kms::extract::{json, Node};

/// The text of a notebook's cells, one segment per cell source or text output.
#[derive(Debug, Default)]
pub struct NotebookText {
    /// Segments joined by `\n`.
    pub text: Vec<u8>,
    /// For every byte of `text`, its offset in the notebook file.
    pub map: Vec<u32>,
    /// Where each segment starts in `text`, and its 1-based cell number.
    pub segments: Vec<(usize, u32)>,
}

impl NotebookText {
    /// The 1-based cell that `offset` (in `text`) belongs to.
    pub fn cell_at(&self, offset: usize) -> u32 {
        let i = self.segments.partition_point(|&(s, _)| s <= offset);
        self.segments[i.saturating_sub(1)].1
    }
}

/// The cell text of the notebook in `raw`, or `None` if `raw` is not a notebook's JSON (the
/// encryption checker's JSON reader, which keeps each string's place in the file).
/// Notebooks larger than 4 GiB are not notebooks (offsets are `u32`).
pub fn extract(raw: &[u8]) -> Option<NotebookText> {
    if raw.len() > u32::MAX as usize {
        return None;
    }
    let root = json(std::str::from_utf8(raw).ok()?).ok()?;
    let Node::Seq(cells) = root.get("cells")? else {
        return None;
    };
    let mut out = NotebookText::default();
    for (n, cell) in cells.iter().enumerate() {
        let cell_no = n as u32 + 1;
        if let Some(src) = cell.get("source") {
            push_text(raw, src, cell_no, &mut out);
        }
        let Some(Node::Seq(outputs)) = cell.get("outputs") else {
            continue;
        };
        for o in outputs {
            for key in ["text", "traceback", "evalue"] {
                if let Some(t) = o.get(key) {
                    push_text(raw, t, cell_no, &mut out);
                }
            }
            if let Some(Node::Map(data)) = o.get("data") {
                for (mime, v) in data {
                    if mime.starts_with("text/") {
                        push_text(raw, v, cell_no, &mut out);
                    }
                }
            }
        }
    }
    Some(out)
}

/// Appends a string, or an array of strings joined (nbformat splits text into lines that keep
/// their `\n`), as one segment.
fn push_text(raw: &[u8], node: &Node, cell: u32, out: &mut NotebookText) {
    let parts: Vec<(usize, usize)> = match node {
        Node::Str(s) => vec![(s.start, s.end)],
        Node::Seq(items) => items
            .iter()
            .filter_map(|n| match n {
                Node::Str(s) => Some((s.start, s.end)),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    if parts.is_empty() {
        return;
    }
    if !out.text.is_empty() {
        let last = *out.map.last().expect("map and text grow together");
        out.text.push(b'\n');
        out.map.push(last);
    }
    out.segments.push((out.text.len(), cell));
    for (s, e) in parts {
        unescape(raw, s, e, out);
    }
}

/// Decodes the JSON string content `raw[s..e]` onto `out`, mapping each byte to the start of
/// the character or escape it came from (the reader's decoded value has no such map).
fn unescape(raw: &[u8], s: usize, e: usize, out: &mut NotebookText) {
    let mut i = s;
    while i < e {
        let c = raw[i];
        if c != b'\\' || i + 1 >= e {
            out.text.push(c);
            out.map.push(i as u32);
            i += 1;
            continue;
        }
        let (decoded, len): (Vec<u8>, usize) = match raw[i + 1] {
            b'n' => (vec![b'\n'], 2),
            b't' => (vec![b'\t'], 2),
            b'r' => (vec![b'\r'], 2),
            b'b' => (vec![8], 2),
            b'f' => (vec![12], 2),
            b'u' => unicode_escape(raw, i, e),
            other => (vec![other], 2),
        };
        for b in decoded {
            out.text.push(b);
            out.map.push(i as u32);
        }
        i += len;
    }
}

/// `\uXXXX` (and a following low surrogate) at `raw[i..]` as UTF-8, with the escape's length.
fn unicode_escape(raw: &[u8], i: usize, e: usize) -> (Vec<u8>, usize) {
    let hex = |at: usize| -> Option<u32> {
        let h = raw.get(at..at + 4).filter(|_| at + 4 <= e)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let Some(hi) = hex(i + 2) else {
        return (b"\\u".to_vec(), 2);
    };
    let mut len = 6;
    let mut code = hi;
    if (0xD800..0xDC00).contains(&hi) && raw.get(i + 6..i + 8) == Some(b"\\u") {
        if let Some(lo) = hex(i + 8).filter(|lo| (0xDC00..0xE000).contains(lo)) {
            code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            len = 12;
        }
    }
    let ch = char::from_u32(code).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    (ch.encode_utf8(&mut buf).as_bytes().to_vec(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "source": ["# Title\n", "text"]},
  {"cell_type": "code", "source": ["x = \"a\tb\"\n", "y = 'caf\u00e9'"],
   "outputs": [{"output_type": "display_data",
                "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure>"]}},
               {"output_type": "stream", "name": "stdout", "text": "printed\n"}]}
 ],
 "metadata": {"kernelspec": {"name": "python3"}},
 "nbformat": 4, "nbformat_minor": 5
}"##;

    #[test]
    fn cells_and_text_outputs_are_extracted_without_images() {
        let nb = extract(NB.as_bytes()).expect("a notebook");
        let text = String::from_utf8(nb.text.clone()).unwrap();
        assert_eq!(text, "# Title\ntext\nx = \"a\tb\"\ny = 'café'\n<Figure>\nprinted\n");
        assert!(!text.contains("iVBOR"));
        assert_eq!(nb.cell_at(0), 1);
        let y = text.find("y = ").unwrap();
        assert_eq!(nb.cell_at(y), 2);
        assert_eq!(nb.cell_at(text.find("printed").unwrap()), 2);
    }

    #[test]
    fn every_byte_maps_back_to_its_place_in_the_file() {
        let nb = extract(NB.as_bytes()).expect("a notebook");
        let text = String::from_utf8(nb.text.clone()).unwrap();
        let y = text.find("y = 'caf").unwrap();
        assert_eq!(&NB.as_bytes()[nb.map[y] as usize..nb.map[y] as usize + 8], b"y = 'caf");
        // The tab came from a two-byte escape.
        let tab = text.find('\t').unwrap();
        assert_eq!(&NB.as_bytes()[nb.map[tab] as usize..nb.map[tab] as usize + 2], b"\\t");
        // é came from a \u escape: both of its bytes map to the escape.
        let e = text.find('é').unwrap();
        assert_eq!(nb.map[e], nb.map[e + 1]);
        assert_eq!(&NB.as_bytes()[nb.map[e] as usize..nb.map[e] as usize + 6], b"\\u00e9");
    }

    #[test]
    fn what_is_not_a_notebook_is_refused() {
        for bad in [
            "",
            "{",
            "[1, 2]",
            "{\"cells\": 3}",
            "{\"cells\": []} trailing",
            "{\"cells\": [\"unterminated]}",
            "not json",
        ] {
            assert!(extract(bad.as_bytes()).is_none_or(|n| n.text.is_empty()), "{bad:?}");
        }
        assert!(extract(b"{\"cells\": [3]}").is_some_and(|n| n.text.is_empty()));
        let deep = "[".repeat(10_000);
        assert!(extract(deep.as_bytes()).is_none());
    }

    #[test]
    fn surrogate_pairs_decode() {
        let nb = extract(br#"{"cells": [{"source": "\ud83d\ude00!"}]}"#).unwrap();
        assert_eq!(String::from_utf8(nb.text).unwrap(), "\u{1F600}!");
    }
}

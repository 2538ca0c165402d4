//! The keyword automaton: one ASCII-case-insensitive Aho-Corasick automaton over every rule
//! keyword, searched with overlapping semantics so that a keyword inside another still counts.
//! For a tree whose keywords all have three bytes or more (the built-in ones do), a trigram
//! filter (`Grams`) gives the same hits in the same order for fewer instructions.
//!
//! The search loop walks the automaton's transitions directly (`Automaton::next_state`) rather
//! than through `find_overlapping_iter`, and walks long inputs in four pieces side by side:
//! one DFA walk is bound by the latency of its table lookups, four in one loop are not
//! (the keyword pass over a 39 MB source tree: ~25% less CPU time).

use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa, nfa, Anchored, MatchKind};

/// The automaton, in the form that suits the input: for trees a trigram filter (`Grams`) when
/// the keywords allow one, else a DFA (fast to search, ~3 ms to build); a contiguous NFA (quick
/// to build) for a few small blobs.
#[derive(Debug)]
pub enum KeywordAutomaton {
    Grams(Grams),
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
}

impl KeywordAutomaton {
    /// Builds the automaton over `keywords`.
    pub fn new(keywords: &[String], small_input: bool) -> KeywordAutomaton {
        if small_input {
            KeywordAutomaton::Nfa(
                nfa::contiguous::Builder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(keywords)
                    .expect("keyword automaton from plain strings"),
            )
        } else if let Some(g) = Grams::new(keywords) {
            KeywordAutomaton::Grams(g)
        } else {
            KeywordAutomaton::Dfa(
                dfa::Builder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(keywords)
                    .expect("keyword automaton from plain strings"),
            )
        }
    }

    /// Calls `f(keyword index, start, end)` for every occurrence of every keyword in `hay`,
    /// overlapping ones included, in order of their end.
    pub fn for_each_hit(&self, hay: &[u8], f: impl FnMut(usize, usize, usize)) {
        match self {
            KeywordAutomaton::Grams(g) => g.for_each_hit(hay, f),
            KeywordAutomaton::Dfa(a) => hits(a, hay, f),
            KeywordAutomaton::Nfa(a) => hits(a, hay, f),
        }
    }
}

/// The keywords by their first three bytes, and a bit set of those three bytes' hash: a keyword
/// can start only where the set has the hash of the next three bytes. In source text that is
/// ~2% of positions (the built-in keywords, a 39 MB tree of crate sources), and the test costs a
/// few independent instructions per byte where a DFA walk waits for one table lookup after
/// another (that walk was ~40% of a real tree's CPU samples on session 11's machine; callgrind:
/// 1.19 -> 0.93 G instructions for the whole scan). Only for keywords of three bytes or more,
/// none of whose first three bytes are shared by more than `MAX_BUCKET` keywords (a position
/// then costs at most that many comparisons).
#[derive(Debug)]
pub struct Grams {
    /// Bit `slot(key)` set for the key of every keyword.
    bits: Box<[u64; WORDS]>,
    /// (key, keyword index) of every keyword, by bucket (`slot(key) % BUCKETS`), then key,
    /// then index.
    entries: Vec<(u32, u32)>,
    /// Each bucket's first entry and number of entries.
    buckets: Box<[(u16, u16); BUCKETS]>,
    keywords: Vec<Vec<u8>>,
}

/// Most keywords that may share their first three bytes (as `fold` sees them).
const MAX_BUCKET: usize = 16;
/// log2 of the bit set's size: 64 Ki bits, 8 KiB, which stays in the L1 cache.
const SLOT_BITS: u32 = 16;
const WORDS: usize = 1 << (SLOT_BITS - 6);
/// Buckets of the keywords' table (4 KiB): a candidate position looks at one.
const BUCKETS: usize = 1024;

/// Three bytes folded (`| 0x20`, which maps both cases of an ASCII letter to the lower one, and
/// may map other bytes together: then a position is compared for nothing, never missed).
#[inline(always)]
fn fold(b0: u8, b1: u8, b2: u8) -> u32 {
    u32::from(b0 | 0x20) | u32::from(b1 | 0x20) << 8 | u32::from(b2 | 0x20) << 16
}

#[inline(always)]
fn slot(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> (32 - SLOT_BITS)) as usize
}

impl Grams {
    /// `None` when a keyword is shorter than three bytes or too many share their first three.
    pub fn new(keywords: &[String]) -> Option<Grams> {
        if keywords.iter().any(|k| k.len() < 3) || keywords.len() > usize::from(u16::MAX) {
            return None;
        }
        let mut entries: Vec<(u32, u32)> = keywords
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let b = k.as_bytes();
                (fold(b[0], b[1], b[2]), i as u32)
            })
            .collect();
        entries.sort_unstable_by_key(|&(key, i)| (slot(key) % BUCKETS, key, i));
        let mut bits = Box::new([0u64; WORDS]);
        let mut buckets = Box::new([(0u16, 0u16); BUCKETS]);
        let mut run = 0;
        for (i, &(key, _)) in entries.iter().enumerate() {
            run = if i > 0 && entries[i - 1].0 == key { run + 1 } else { 1 };
            if run > MAX_BUCKET {
                return None;
            }
            let s = slot(key);
            bits[s >> 6] |= 1 << (s & 63);
            let b = &mut buckets[s % BUCKETS];
            if b.1 == 0 {
                b.0 = i as u16;
            }
            b.1 += 1;
        }
        let keywords = keywords.iter().map(|k| k.as_bytes().to_ascii_lowercase()).collect();
        Some(Grams {
            bits,
            entries,
            buckets,
            keywords,
        })
    }

    /// `KeywordAutomaton::for_each_hit`: the same hits, in the same order (by end, then by
    /// start, then by keyword index, as the automaton's overlapping search reports them).
    fn for_each_hit(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        let mut i = 0;
        while let Some(at) = self.next_candidate(hay, i) {
            let b = &hay[at..];
            let key = fold(b[0], b[1], b[2]);
            let (first, n) = self.buckets[slot(key) % BUCKETS];
            let first = usize::from(first);
            for &(k, p) in &self.entries[first..first + usize::from(n)] {
                if k != key {
                    continue;
                }
                let kw = &self.keywords[p as usize];
                if b.len() >= kw.len() && b[..kw.len()].eq_ignore_ascii_case(kw) {
                    found.push((at + kw.len(), at, p as usize));
                }
            }
            i = at + 1;
        }
        found.sort_unstable();
        for (e, s, p) in found {
            f(p, s, e);
        }
    }

    /// Whether a keyword's first three bytes may be `key`.
    #[inline(always)]
    fn may_start(&self, key: u32) -> bool {
        let s = slot(key);
        self.bits[s >> 6] & (1 << (s & 63)) != 0
    }

    /// The first position from `i` on where a keyword may start. Eight bytes are read at a
    /// time and the six trigrams starting in them tested from that one load.
    #[inline]
    fn next_candidate(&self, hay: &[u8], mut i: usize) -> Option<usize> {
        while i + 8 <= hay.len() {
            let w = u64::from_le_bytes(hay[i..i + 8].try_into().expect("eight bytes")) | 0x2020_2020_2020_2020;
            for k in 0..6 {
                if self.may_start((w >> (8 * k)) as u32 & 0xFF_FFFF) {
                    return Some(i + k);
                }
            }
            i += 6;
        }
        while i + 3 <= hay.len() {
            if self.may_start(fold(hay[i], hay[i + 1], hay[i + 2])) {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

/// Inputs shorter than this are searched by one walker.
const SPLIT_MIN: usize = 4096;
/// Walkers side by side on long inputs.
const WALKERS: usize = 4;

/// Walks the automaton over `hay` and reports every match. A DFA walk is latency-bound (each
/// transition waits for the previous one), so a long input is cut into `WALKERS` pieces walked
/// side by side in one loop: several transitions in flight per cycle. Walker k > 0 starts
/// `max_pattern_len - 1` bytes before its piece, so it sees whole every keyword that ends in
/// its piece, and reports only those; hits are buffered per walker and reported in walker
/// order, keeping the order by end position.
fn hits<A: Automaton>(a: &A, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
    let Ok(start) = a.start_state(Anchored::No) else {
        return;
    };
    let overlap = a.max_pattern_len().saturating_sub(1);
    let piece = hay.len() / WALKERS;
    if hay.len() < SPLIT_MIN || overlap * 4 >= piece {
        walk(a, start, hay, 0, 0, &mut f);
        return;
    }
    // Walker k covers [k * piece, cut_k) and reads from k * piece - overlap.
    let cuts: [usize; WALKERS] = std::array::from_fn(|k| if k + 1 == WALKERS { hay.len() } else { (k + 1) * piece });
    let bases: [usize; WALKERS] = std::array::from_fn(|k| if k == 0 { 0 } else { k * piece - overlap });
    let mins: [usize; WALKERS] = std::array::from_fn(|k| k * piece);
    let mut bufs: [Vec<(usize, usize, usize)>; WALKERS] = std::array::from_fn(|_| Vec::new());
    let mut states = [start; WALKERS];
    // Every walker reads at least `piece` bytes; the shortest lockstep length.
    let common = piece;
    for i in 0..common {
        for k in 0..WALKERS {
            let at = bases[k] + i;
            states[k] = a.next_state(Anchored::No, states[k], hay[at]);
            if a.is_special(states[k]) && at + 1 > mins[k] {
                report(a, states[k], at + 1, 0, &mut |p, s, e| bufs[k].push((p, s, e)));
            }
        }
    }
    for k in 0..WALKERS {
        let from = bases[k] + common;
        walk(a, states[k], &hay[from..cuts[k]], from, mins[k], &mut |p, s, e| {
            bufs[k].push((p, s, e))
        });
    }
    for buf in bufs {
        for (p, s, e) in buf {
            f(p, s, e);
        }
    }
}

/// One walker from state `sid` over `hay`, which starts at `offset` in the whole input;
/// reports matches ending after `min_end`.
fn walk<A: Automaton>(
    a: &A,
    mut sid: aho_corasick::automaton::StateID,
    hay: &[u8],
    offset: usize,
    min_end: usize,
    f: &mut impl FnMut(usize, usize, usize),
) {
    for (i, &b) in hay.iter().enumerate() {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_special(sid) && offset + i + 1 > min_end {
            report(a, sid, i + 1, offset, f);
        }
    }
}

/// Reports the matches of special state `sid`, reached after `end` bytes of a walker that
/// starts at `offset`. (Standard semantics have no dead state: special means match or start.)
#[inline]
fn report<A: Automaton>(
    a: &A,
    sid: aho_corasick::automaton::StateID,
    end: usize,
    offset: usize,
    f: &mut impl FnMut(usize, usize, usize),
) {
    if !a.is_match(sid) {
        return;
    }
    for k in 0..a.match_len(sid) {
        let pid = a.match_pattern(sid, k);
        let e = offset + end;
        f(pid.as_usize(), e - a.pattern_len(pid), e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// Same hits as the crate's own overlapping search, for both automaton kinds.
    #[test]
    fn hits_equal_the_crates_overlapping_search() {
        let keywords: Vec<String> = ["key", "ey", "api_key", "token", "ghp_", "to", "https://", "k"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let hay = b"My API_KEY=abc; TOKEN ghp_x https://u:p@h keykey tok Ey";
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords)
            .unwrap();
        let want: Vec<(usize, usize, usize)> = reference
            .find_overlapping_iter(&hay[..])
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        assert!(want.len() > 10);
        for small in [false, true] {
            let mut got = Vec::new();
            KeywordAutomaton::new(&keywords, small).for_each_hit(hay, |p, s, e| got.push((p, s, e)));
            assert_eq!(got, want, "small = {small}");
        }
    }

    /// Long inputs are walked in two halves: hits at and around the cut, odd and even
    /// lengths, are the same as one walk's.
    #[test]
    fn split_walks_find_the_same_hits_as_one() {
        let keywords: Vec<String> = ["key", "ey", "api_key", "token", "https://", "k", "-----begin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords)
            .unwrap();
        let unit = "x api_key=1 TOKEN https://h key -----BEGIN ey ";
        for extra in 0..unit.len() + 3 {
            let mut text = unit.repeat(SPLIT_MIN / unit.len() + 2);
            text.push_str(&"z".repeat(extra));
            text.push_str(unit);
            let hay = text.as_bytes();
            assert!(hay.len() >= SPLIT_MIN);
            let want: Vec<(usize, usize, usize)> = reference
                .find_overlapping_iter(hay)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            for small in [false, true] {
                let mut got = Vec::new();
                KeywordAutomaton::new(&keywords, small).for_each_hit(hay, |p, s, e| got.push((p, s, e)));
                assert_eq!(got, want, "extra = {extra}, small = {small}");
            }
        }
    }

    /// The trigram filter gives the crate's overlapping hits, in its order, on random text
    /// made of keyword pieces in either case, bytes that `fold` confuses (`@` and `` ` ``, `[`
    /// and `{`) and bytes outside ASCII; keywords share prefixes, contain one another and
    /// end where another starts.
    #[test]
    fn trigram_filter_hits_equal_the_crates_overlapping_search() {
        let keywords: Vec<String> = [
            "key",
            "keyword",
            "api_key",
            "apikey",
            "eyj",
            "token",
            "tok",
            "-----begin",
            "@ab",
            "`ab[",
            "ghp_",
            "hooks.slack.com/services",
            "hooks.slack.com",
            "secret",
            "secretkey",
            "ret",
            "\u{e9}t\u{e9}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ac = Grams::new(&keywords).expect("every keyword has three bytes");
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords)
            .unwrap();
        let pieces: Vec<Vec<u8>> = keywords
            .iter()
            .flat_map(|k| {
                let b = k.as_bytes();
                [
                    b.to_vec(),
                    b.to_ascii_uppercase(),
                    b[..b.len() - 1].to_vec(),
                    b[1..].to_vec(),
                ]
            })
            .chain(
                ["@AB", "`AB{", "[", "{", "@", "`", " ", "\n", "x"]
                    .iter()
                    .map(|s| s.as_bytes().to_vec()),
            )
            .chain([vec![0xC3], vec![0xA9], vec![0xFF, 0x00]])
            .collect();
        let mut rng = crate::testrand::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut total = 0;
        for _ in 0..2000 {
            let mut hay = Vec::new();
            for _ in 0..rng.below(40) {
                hay.extend_from_slice(&pieces[rng.below(pieces.len())]);
            }
            let want: Vec<(usize, usize, usize)> = reference
                .find_overlapping_iter(&hay[..])
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            let mut got = Vec::new();
            ac.for_each_hit(&hay, |p, s, e| got.push((p, s, e)));
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&hay));
            total += want.len();
        }
        assert!(total > 10_000, "the test must see many hits, saw {total}");
    }

    /// The trigram filter is refused (and the DFA used) for a keyword under three bytes or more
    /// than `MAX_BUCKET` keywords with the same first three bytes.
    #[test]
    fn trigram_filter_only_for_keywords_it_suits() {
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Grams::new(&words(&["key", "token"])).is_some());
        assert!(Grams::new(&words(&["key", "ey"])).is_none());
        let many: Vec<String> = (0..=MAX_BUCKET).map(|i| format!("pre{i}")).collect();
        assert!(Grams::new(&many).is_none());
        assert!(Grams::new(&many[..MAX_BUCKET]).is_some());
        assert!(matches!(KeywordAutomaton::new(&many, false), KeywordAutomaton::Dfa(_)));
        assert!(matches!(
            KeywordAutomaton::new(&many[..MAX_BUCKET], false),
            KeywordAutomaton::Grams(_)
        ));
    }

    /// Keywords whose first three bytes differ but fall in one bucket of the table are each
    /// found, and only where they are.
    #[test]
    fn trigram_filter_tells_apart_keywords_of_one_bucket() {
        let mut by_bucket = std::collections::HashMap::new();
        let mut pair = None;
        'search: for a in b'a'..=b'z' {
            for b in b'a'..=b'z' {
                for c in b'a'..=b'z' {
                    let key = fold(a, b, c);
                    if let Some(other) = by_bucket.insert(slot(key) % BUCKETS, [a, b, c]) {
                        pair = Some((other, [a, b, c]));
                        break 'search;
                    }
                }
            }
        }
        let (x, y) = pair.expect("26^3 keys in 1024 buckets share some");
        let (x, y) = (
            String::from_utf8(x.to_vec()).unwrap(),
            String::from_utf8(y.to_vec()).unwrap(),
        );
        let keywords = vec![format!("{x}_one"), format!("{y}_two"), y.clone()];
        let ac = Grams::new(&keywords).unwrap();
        let hay = format!("{x}_two {y}_one {}_ONE {y}_TWO {x}{y}", x.to_uppercase());
        let mut got = Vec::new();
        ac.for_each_hit(hay.as_bytes(), |p, s, e| got.push((p, s, e)));
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&keywords)
            .unwrap();
        let want: Vec<(usize, usize, usize)> = reference
            .find_overlapping_iter(&hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.iter().filter(|h| h.0 == 0).count(), 1, "{x}_ONE only");
        assert_eq!(got.iter().filter(|h| h.0 == 1).count(), 1, "{y}_TWO only");
    }
}

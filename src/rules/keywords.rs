//! The keyword automaton: one ASCII-case-insensitive Aho-Corasick automaton over every rule
//! keyword, searched with overlapping semantics so that a keyword inside another still counts.
//!
//! The search loop walks the automaton's transitions directly (`Automaton::next_state`) rather
//! than through `find_overlapping_iter`, whose resumable iterator state costs about three times
//! as many instructions per byte; on most input the loop is a table lookup and a compare.

use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa, nfa, Anchored, MatchKind};

/// The automaton, in the form that suits the input: a DFA (fast to search, ~3 ms to build)
/// for trees, a contiguous NFA (quick to build) for a few small blobs.
#[derive(Debug)]
pub enum KeywordAutomaton {
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
            KeywordAutomaton::Dfa(a) => hits(a, hay, f),
            KeywordAutomaton::Nfa(a) => hits(a, hay, f),
        }
    }
}

fn hits<A: Automaton>(a: &A, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
    let Ok(mut sid) = a.start_state(Anchored::No) else {
        return;
    };
    for (i, &b) in hay.iter().enumerate() {
        sid = a.next_state(Anchored::No, sid, b);
        if !a.is_special(sid) {
            continue;
        }
        if a.is_dead(sid) {
            return;
        }
        if a.is_match(sid) {
            for k in 0..a.match_len(sid) {
                let pid = a.match_pattern(sid, k);
                f(pid.as_usize(), i + 1 - a.pattern_len(pid), i + 1);
            }
        }
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
}

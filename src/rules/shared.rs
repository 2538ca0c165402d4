//! A compiled pattern whose search cache the worker threads share.
//!
//! The regex crate gives each thread its own cache, and a cache is where the lazy DFA keeps the
//! states it has built: every worker builds the same states again, and building states is most
//! of what a rule's first searches cost (two threads spent 96 ms of the 5,000-file tree's
//! 550 ms building them, one thread 66 ms). Here one cache serves every thread: a search takes
//! it when it is free, and a spare one otherwise, so no thread ever waits for another and the
//! shared cache warms up once.

use std::sync::{Mutex, MutexGuard, TryLockError};

use regex_automata::util::captures::Captures;
use regex_automata::util::iter::Searcher;
use regex_automata::{meta, Anchored, Input, Span};

/// A meta regex with its shared search cache.
#[derive(Debug)]
pub struct Shared {
    re: meta::Regex,
    /// Boxed: a cache is a few KiB, and rules are moved while a ruleset is built.
    main: Mutex<Box<Slot>>,
    /// Caches for searches that found `main` taken (at most one per thread that ever waited).
    spares: Mutex<Vec<Slot>>,
}

/// What a search needs besides the regex.
#[derive(Debug)]
struct Slot {
    cache: meta::Cache,
    caps: Captures,
}

impl Slot {
    fn new(re: &meta::Regex) -> Slot {
        Slot {
            cache: re.create_cache(),
            caps: re.create_captures(),
        }
    }
}

/// Locks `m`; a search never panics while holding a cache, and a cache is valid whatever a
/// panicking search left in it, so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(re: meta::Regex) -> Shared {
        Shared {
            main: Mutex::new(Box::new(Slot::new(&re))),
            spares: Mutex::new(Vec::new()),
            re,
        }
    }

    /// Runs `f` with the shared cache if it is free, else with a spare.
    fn with<R>(&self, f: impl FnOnce(&meta::Regex, &mut Slot) -> R) -> R {
        match self.main.try_lock() {
            Ok(mut slot) => return f(&self.re, &mut slot),
            Err(TryLockError::Poisoned(e)) => return f(&self.re, &mut e.into_inner()),
            Err(TryLockError::WouldBlock) => {}
        }
        let spare = lock(&self.spares).pop();
        let mut slot = spare.unwrap_or_else(|| Slot::new(&self.re));
        let out = f(&self.re, &mut slot);
        lock(&self.spares).push(slot);
        out
    }

    /// Number of explicit capture groups.
    pub fn groups(&self) -> usize {
        self.re.captures_len().saturating_sub(1)
    }

    /// Whether the pattern matches anywhere in `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.with(|re, s| {
            re.search_half_with(&mut s.cache, &Input::new(hay).earliest(true))
                .is_some()
        })
    }

    /// Every match in `hay`, left to right without overlaps (as `find_iter`).
    pub fn find_all(&self, hay: &[u8], out: &mut Vec<Span>) {
        self.with(|re, s| {
            let mut it = Searcher::new(Input::new(hay));
            while let Some(m) = it.advance(|input| Ok(re.search_with(&mut s.cache, input))) {
                out.push(m.span());
            }
        });
    }

    /// The first match in `hay` that starts at `at` or later (as `find_at`).
    pub fn find_at(&self, hay: &[u8], at: usize) -> Option<Span> {
        self.with(|re, s| re.search_with(&mut s.cache, &Input::new(hay).span(at..hay.len())))
            .map(|m| m.span())
    }

    /// The match that starts at `at` exactly, if any.
    pub fn find_anchored(&self, hay: &[u8], at: usize) -> Option<Span> {
        let input = Input::new(hay).span(at..hay.len()).anchored(Anchored::Yes);
        self.with(|re, s| re.search_with(&mut s.cache, &input))
            .map(|m| m.span())
    }

    /// The groups of every match in `hay`, left to right without overlaps (as
    /// `captures_iter`): `groups() + 1` spans per match, group 0 first.
    pub fn captures_all(&self, hay: &[u8], out: &mut Vec<Option<Span>>) {
        self.with(|re, s| {
            let Slot { cache, caps } = s;
            let mut it = Searcher::new(Input::new(hay));
            while it
                .advance(|input| {
                    re.search_captures_with(cache, input, caps);
                    Ok(caps.get_match())
                })
                .is_some()
            {
                out.extend((0..caps.group_len()).map(|g| caps.get_group(g)));
            }
        });
    }

    /// The groups of the first match in `hay` that starts at `at` or later (as
    /// `captures_at`), appended to `out`; `false` when there is none.
    pub fn captures_at(&self, hay: &[u8], at: usize, out: &mut Vec<Option<Span>>) -> bool {
        self.captures_from(hay, at, Anchored::No, out)
    }

    /// `captures_at` for a match that starts at `at` exactly.
    pub fn captures_anchored(&self, hay: &[u8], at: usize, out: &mut Vec<Option<Span>>) -> bool {
        self.captures_from(hay, at, Anchored::Yes, out)
    }

    fn captures_from(&self, hay: &[u8], at: usize, anchored: Anchored, out: &mut Vec<Option<Span>>) -> bool {
        self.with(|re, s| {
            let input = Input::new(hay).span(at..hay.len()).anchored(anchored);
            re.search_captures_with(&mut s.cache, &input, &mut s.caps);
            if !s.caps.is_match() {
                return false;
            }
            out.extend((0..s.caps.group_len()).map(|g| s.caps.get_group(g)));
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(p: &str) -> Shared {
        Shared::new(meta::Regex::new(p).unwrap())
    }

    fn spans(v: &[Option<Span>]) -> Vec<Option<(usize, usize)>> {
        v.iter().map(|s| s.map(|s| (s.start, s.end))).collect()
    }

    /// The same matches and groups as the regex crate's iterators, empty matches included.
    #[test]
    fn searches_answer_as_the_regex_crate() {
        let cases = [
            (r"a(b)?|(c)", "xabcaxc ab"),
            (r"x*", "axxbx"),
            (r"\b", "ab cd"),
            (r"(?m)^(\w+)=(\w*)$", "k=v\nempty=\nbad\nz=1"),
        ];
        for (p, hay) in cases {
            let want = regex::bytes::Regex::new(p).unwrap();
            let s = shared(p);
            let mut got = Vec::new();
            s.captures_all(hay.as_bytes(), &mut got);
            let expect: Vec<Option<(usize, usize)>> = want
                .captures_iter(hay.as_bytes())
                .flat_map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect::<Vec<_>>())
                .collect();
            assert_eq!(spans(&got), expect, "{p} on {hay:?}");
            let mut found = Vec::new();
            s.find_all(hay.as_bytes(), &mut found);
            let expect: Vec<(usize, usize)> = want.find_iter(hay.as_bytes()).map(|m| (m.start(), m.end())).collect();
            assert_eq!(
                found.iter().map(|m| (m.start, m.end)).collect::<Vec<_>>(),
                expect,
                "{p}"
            );
            assert_eq!(s.is_match(hay.as_bytes()), want.is_match(hay.as_bytes()));
            for at in 0..=hay.len() {
                let found = s.find_at(hay.as_bytes(), at).map(|m| (m.start, m.end));
                let expect = want.find_at(hay.as_bytes(), at).map(|m| (m.start(), m.end()));
                assert_eq!(found, expect, "{p} at {at}");
            }
            for at in 0..=hay.len() {
                let mut one = Vec::new();
                let found = s.captures_at(hay.as_bytes(), at, &mut one);
                let expect = want
                    .captures_at(hay.as_bytes(), at)
                    .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect::<Vec<_>>());
                assert_eq!(found.then(|| spans(&one)), expect, "{p} at {at}");
                let mut one = Vec::new();
                let found = s.captures_anchored(hay.as_bytes(), at, &mut one);
                let expect = expect.filter(|c| c[0].is_some_and(|m| m.0 == at));
                assert_eq!(found.then(|| spans(&one)), expect, "{p} anchored at {at}");
            }
        }
    }

    /// A search while another holds the shared cache takes a spare, and gives it back.
    #[test]
    fn a_taken_cache_is_not_waited_for() {
        let s = shared(r"[a-z]+(\d)");
        let held = s.main.lock().unwrap();
        let mut got = Vec::new();
        s.captures_all(b"ab1 cd2", &mut got);
        assert_eq!(spans(&got), [Some((0, 3)), Some((2, 3)), Some((4, 7)), Some((6, 7))]);
        assert_eq!(lock(&s.spares).len(), 1);
        assert!(s.is_match(b"x9"));
        assert_eq!(lock(&s.spares).len(), 1, "the spare is reused");
        drop(held);
        assert!(!s.is_match(b"x"));
        assert_eq!(s.groups(), 1);
    }
}

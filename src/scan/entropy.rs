//! Shannon entropy of a byte string, in bits per byte: the measure gitleaks' `entropy` uses.

use std::sync::OnceLock;

/// Shannon entropy of `data` in bits per byte (0 for empty input).
///
/// The terms are summed in byte order whatever the input, so the result is the same to the last
/// bit however it is computed: a threshold (`entropy <= 3.0`) must not flip with the code path.
pub fn shannon(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    let (mut lo, mut hi) = (u8::MAX, 0);
    for &b in data {
        counts[usize::from(b)] += 1;
        lo = lo.min(b);
        hi = hi.max(b);
    }
    // Only the bytes between the smallest and the largest can be present.
    let counts = counts[usize::from(lo)..=usize::from(hi)].iter().filter(|&&c| c > 0);
    let n = data.len() as f64;
    match TERMS.get(data.len()) {
        Some(row) => {
            let row = row.get_or_init(|| (0..=data.len() as u32).map(|c| term(c, n)).collect());
            counts.map(|&c| row[c as usize]).sum()
        }
        None => counts.map(|&c| term(c, n)).sum(),
    }
}

/// One byte's share of the entropy of `n` bytes, when it occurs `c` times.
fn term(c: u32, n: f64) -> f64 {
    let p = f64::from(c) / n;
    -p * p.log2()
}

/// Lengths up to this (most secrets) have their terms computed once per length.
const MEMO_LEN: usize = 160;

/// `TERMS[n][c]` is `term(c, n)`: a `log2` per distinct byte was a few percent of a scan.
static TERMS: [OnceLock<Box<[f64]>>; MEMO_LEN + 1] = [const { OnceLock::new() }; MEMO_LEN + 1];

#[cfg(test)]
mod tests {
    use super::{shannon, term, MEMO_LEN};

    #[test]
    fn known_values() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(b"aaaa"), 0.0);
        assert!((shannon(b"ab") - 1.0).abs() < 1e-12);
        assert!((shannon(b"abcd") - 2.0).abs() < 1e-12);
    }

    /// The memoised terms give what the formula gives, to the bit, at every length.
    #[test]
    fn memoised_terms_are_the_formula() {
        let mut rng = crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15);
        for len in 1..MEMO_LEN + 40 {
            for alphabet in [2u64, 16, 64, 256] {
                let data: Vec<u8> = (0..len).map(|_| (rng.next_u64() % alphabet) as u8).collect();
                let mut counts = [0u32; 256];
                data.iter().for_each(|&b| counts[usize::from(b)] += 1);
                let n = data.len() as f64;
                let want: f64 = counts.iter().filter(|&&c| c > 0).map(|&c| term(c, n)).sum();
                assert_eq!(shannon(&data).to_bits(), want.to_bits(), "{data:?}");
            }
        }
    }
}

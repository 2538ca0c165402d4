//! Deterministic pseudo-random numbers for tests (xorshift64): reproducible inputs without a
//! dependency. The same seed gives the same sequence on every machine.

/// A xorshift64 stream; the seed must not be 0.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next number of the stream, below `n` (below 1 for `n` = 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

//! A fast hasher for maps keyed by pool ids, package indices and short strings (the delta
//! analysis, dependency changes): a rotate-xor-multiply step per word. Not resistant to
//! crafted keys, which these maps never see (their keys come from repository metadata).

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher state.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

/// An odd constant with well-mixed bits (2^64 / golden ratio).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.add(u64::from(i as u32));
    }

    #[inline]
    fn finish(&self) -> u64 {
        // the high bits are the best mixed; hashbrown takes its control bits from the top
        self.0.rotate_left(20)
    }
}

/// A `HashMap` with [`IdHasher`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A `HashSet` with [`IdHasher`].
pub type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_and_strings_differ() {
        let set: HashSet<u64> = (0..10_000u64)
            .map(|i| {
                let mut h = IdHasher::default();
                h.write_u32(i as u32);
                h.finish() >> 52
            })
            .collect();
        // 10,000 keys over 4,096 top-bit buckets: nearly all buckets used
        assert!(set.len() > 4_000, "{}", set.len());
        let hash = |s: &str| {
            let mut h = IdHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_ne!(hash("perl"), hash("perl-base"));
    }
}

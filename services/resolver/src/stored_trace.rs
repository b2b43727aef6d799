//! The stored form of a solve trace (`resolver_package_deps.trace`, `bytea`): an
//! [`InstallTrace`] as unsigned LEB128 varints (7 bits a byte, low bits first, the high bit
//! set on every byte but the last, shortest form):
//!
//! 1. the number of level-1 positions;
//! 2. the level-1 positions: the first as is, each next one as its difference to the
//!    previous one (≥ 1);
//! 3. the number of reason pairs;
//! 4. the reason pairs: the package position as its difference to the previous pair's
//!    (the first's to 0, ≥ 0), then the dependency position as is.
//!
//! Invariants, as `koschei_depsolve` builds a trace (solver, `SolveTrace`,
//! `InstallTrace::renumbered`, `RepoDelta::successor_trace`): level-1 positions are
//! strictly ascending (a package is decided once, renumbering is injective); reason pairs
//! are sorted ascending, and equal pairs are not excluded (two reasons can move onto the
//! first occurrence of one dependency), so they are non-descending. [`encode`] refuses a
//! trace that breaks them and [`decode`] refuses bytes that would give one, or that are
//! truncated, overlong, overflow `u32` or have bytes left over: both give `None`, no
//! trace, which only costs a solve. A trace has exactly one encoding.

use koschei_depsolve::InstallTrace;

/// The bytes of `trace`; `None` when it breaks the invariants above.
pub fn encode(trace: &InstallTrace) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + trace.level1.len() + 2 * trace.reasons.len());
    put(&mut out, u32::try_from(trace.level1.len()).ok()?);
    let mut previous = None;
    for &position in &trace.level1 {
        let delta = match previous {
            None => position,
            Some(p) if position > p => position - p,
            Some(_) => return None,
        };
        put(&mut out, delta);
        previous = Some(position);
    }
    put(&mut out, u32::try_from(trace.reasons.len()).ok()?);
    let mut previous = (0, 0);
    for &pair in &trace.reasons {
        if pair < previous {
            return None;
        }
        put(&mut out, pair.0 - previous.0);
        put(&mut out, pair.1);
        previous = pair;
    }
    Some(out)
}

/// The trace `bytes` encode; `None` when they are not exactly [`encode`]'s output.
pub fn decode(bytes: &[u8]) -> Option<InstallTrace> {
    let mut input = bytes;
    let count = take(&mut input)? as usize;
    // a position takes at least one byte: no allocation beyond the input's size
    let mut level1: Vec<u32> = Vec::with_capacity(count.min(input.len()));
    for _ in 0..count {
        let delta = take(&mut input)?;
        let position = match level1.last() {
            None => delta,
            Some(&p) if delta > 0 => p.checked_add(delta)?,
            Some(_) => return None,
        };
        level1.push(position);
    }
    let count = take(&mut input)? as usize;
    let mut reasons = Vec::with_capacity(count.min(input.len() / 2));
    let mut previous: (u32, u32) = (0, 0);
    for _ in 0..count {
        let package = previous.0.checked_add(take(&mut input)?)?;
        let pair = (package, take(&mut input)?);
        if pair < previous {
            return None;
        }
        reasons.push(pair);
        previous = pair;
    }
    input.is_empty().then_some(InstallTrace { level1, reasons })
}

/// Appends `value` as a varint.
fn put(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Takes a varint off the front of `input`: `None` when it is truncated, longer than its
/// shortest form or above `u32::MAX`.
fn take(input: &mut &[u8]) -> Option<u32> {
    let mut value: u32 = 0;
    for (i, &byte) in input.iter().enumerate().take(5) {
        let bits = u32::from(byte & 0x7f);
        // the fifth byte holds the top 4 bits only
        if i == 4 && bits > 0x0f {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            // a last byte of 0 after others is an overlong form
            if i > 0 && byte == 0 {
                return None;
            }
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: u64) -> u32 {
            (self.next() % bound) as u32
        }

        /// Mostly small values, sometimes up to `u32::MAX`.
        fn value(&mut self) -> u32 {
            match self.below(8) {
                0 => self.next() as u32,
                1 => u32::MAX - self.below(3),
                _ => self.below(300),
            }
        }
    }

    /// A trace that keeps the invariants: ascending level-1 positions, non-descending
    /// reason pairs (with duplicates now and then).
    fn random_trace(rng: &mut Rng) -> InstallTrace {
        let mut level1: Vec<u32> = (0..rng.below(300)).map(|_| rng.value()).collect();
        level1.sort_unstable();
        level1.dedup();
        let mut reasons: Vec<(u32, u32)> = (0..rng.below(400))
            .map(|_| (rng.value(), rng.below(40)))
            .collect();
        if let Some(&first) = reasons.first() {
            reasons.push(first);
        }
        reasons.sort_unstable();
        InstallTrace { level1, reasons }
    }

    #[test]
    fn random_traces_round_trip() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let trace = random_trace(&mut rng);
            let bytes = encode(&trace).expect("a trace keeping the invariants encodes");
            assert_eq!(decode(&bytes), Some(trace));
        }
    }

    #[test]
    fn edge_traces_round_trip() {
        for trace in [
            InstallTrace::default(),
            InstallTrace {
                level1: vec![0, u32::MAX],
                reasons: vec![(0, 0), (0, 0), (0, u32::MAX), (u32::MAX, 0)],
            },
            InstallTrace {
                level1: vec![127, 128, 16_383, 16_384],
                reasons: vec![(5, 1)],
            },
        ] {
            assert_eq!(decode(&encode(&trace).unwrap()), Some(trace));
        }
    }

    #[test]
    fn the_encoding_is_compact() {
        let trace = InstallTrace {
            level1: vec![3, 4, 9],
            reasons: vec![(3, 0), (3, 2), (200, 1)],
        };
        // 3 positions: 3, +1, +5; 3 pairs: (3, 0), (+0, 2), (+197 in two bytes, 1)
        assert_eq!(
            encode(&trace).unwrap(),
            [3, 3, 1, 5, 3, 3, 0, 0, 2, 0xc5, 0x01, 1]
        );
        assert_eq!(encode(&InstallTrace::default()).unwrap(), [0, 0]);
    }

    #[test]
    fn traces_breaking_the_invariants_are_not_encoded() {
        for (level1, reasons) in [
            (vec![2, 1], vec![]),
            (vec![1, 1], vec![]),
            (vec![1], vec![(2, 0), (1, 5)]),
            (vec![1], vec![(2, 5), (2, 4)]),
        ] {
            assert_eq!(encode(&InstallTrace { level1, reasons }), None);
        }
    }

    #[test]
    fn malformed_bytes_are_no_trace() {
        let malformed: &[&[u8]] = &[
            // empty, no count of reasons
            &[],
            &[0],
            &[1, 4],
            // fewer positions or pairs than counted
            &[2, 1, 0],
            &[0, 2, 1, 1],
            // bytes left over
            &[0, 0, 0],
            &[1, 4, 1, 2, 3, 9],
            // a count no input can hold
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            // truncated varint
            &[1, 0x80],
            // overlong varint (1 as two bytes)
            &[1, 0x81, 0x00, 0],
            // varint above u32::MAX, and longer than five bytes
            &[1, 0xff, 0xff, 0xff, 0xff, 0x10, 0],
            &[1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0],
            // level-1 positions not ascending (a difference of 0)
            &[2, 7, 0, 0],
            // level-1 position above u32::MAX
            &[2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0],
            // half a reason pair
            &[0, 1, 2],
            &[0, 2, 1, 2, 3],
            // reason pairs descending on the dependency position
            &[0, 2, 1, 5, 0, 4],
            // reason package position above u32::MAX
            &[0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 0],
        ];
        for bytes in malformed {
            assert_eq!(decode(bytes), None, "{bytes:x?}");
        }
    }

    #[test]
    fn random_bytes_decode_to_their_own_encoding_or_nothing() {
        let mut rng = Rng(42);
        let mut decoded = 0;
        for _ in 0..20_000 {
            let len = rng.below(12) as usize;
            // mostly small one-byte values, so that many inputs are well-formed
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(8) {
                    0 => rng.next() as u8,
                    _ => rng.below(4) as u8,
                })
                .collect();
            if let Some(trace) = decode(&bytes) {
                decoded += 1;
                assert_eq!(encode(&trace).as_deref(), Some(&bytes[..]));
            }
        }
        assert!(
            decoded > 100,
            "the generator hardly ever makes a valid input"
        );
    }

    #[test]
    fn every_truncation_and_extension_is_rejected() {
        let mut rng = Rng(7);
        for _ in 0..20 {
            let mut bytes = encode(&random_trace(&mut rng)).unwrap();
            for cut in 0..bytes.len() {
                assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
            }
            bytes.push(0);
            assert_eq!(decode(&bytes), None);
        }
    }
}

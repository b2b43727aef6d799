//! The stored form of a solve trace (`resolver_package_deps.trace`, `bytea`): an
//! [`InstallTrace`] as unsigned LEB128 varints (7 bits a byte, low bits first, the high bit
//! set on every byte but the last, shortest form):
//!
//! 1. the number of runs of consecutive level-1 positions (most installs of a set are
//!    level-1 ones, so a set has few runs), then per run the gap before it (its first
//!    position less the end of the previous run, the first run's less 0; ≥ 1 after the
//!    first, as runs are maximal) and its length less 1;
//! 2. the number of reason pairs, then per pair `dependency position << 2 | step`, where
//!    step is the package position less the previous pair's (the first's less 0) when
//!    below 3; a step of 3 or more is written as 3, followed by the step less 3.
//!
//! On 3,000 packages sampled evenly from the corpus (226 level-1 positions of 246
//! installs, 195 reason pairs on average) a trace takes 260 bytes on average, against
//! 2.5 KB as the former int4 arrays: 93 % of the installs are level-1 ones, 64 % of the
//! steps are 0 and 99 % of the dependency positions are below 32, so a pair mostly takes
//! one byte.
//!
//! Invariants, as `koschei_depsolve` builds a trace (solver, `SolveTrace`,
//! `InstallTrace::renumbered`, `RepoDelta::successor_trace`): level-1 positions are
//! strictly ascending (a package is decided once, renumbering is injective); reason pairs
//! are sorted ascending, and equal pairs are not excluded (two reasons can move onto the
//! first occurrence of one dependency), so they are non-descending; level-1 and reason
//! package positions index the stored set. [`encode`] refuses a trace that breaks the
//! order, and [`decode`] refuses bytes that would give one, name a position outside the
//! set, are truncated or overlong, overflow, or have bytes left over: both give `None`, no
//! trace, which only costs a solve. A trace has exactly one encoding.

use koschei_depsolve::InstallTrace;

/// The bytes of `trace`; `None` when its positions are out of order.
pub fn encode(trace: &InstallTrace) -> Option<Vec<u8>> {
    let runs = runs(&trace.level1)?;
    let mut out = Vec::with_capacity(4 + 2 * runs.len() + 2 * trace.reasons.len());
    put(&mut out, runs.len() as u64);
    let mut end = 0;
    for &(start, length) in &runs {
        put(&mut out, start - end);
        put(&mut out, length - 1);
        end = start + length;
    }
    put(&mut out, trace.reasons.len() as u64);
    let mut previous = (0, 0);
    for &pair in &trace.reasons {
        if pair < previous {
            return None;
        }
        let step = u64::from(pair.0 - previous.0);
        put(&mut out, u64::from(pair.1) << 2 | step.min(3));
        if step >= 3 {
            put(&mut out, step - 3);
        }
        previous = pair;
    }
    Some(out)
}

/// The trace `bytes` encode for a set of `set_len` dependencies; `None` when they are not
/// exactly [`encode`]'s output of a trace whose positions index such a set.
pub fn decode(bytes: &[u8], set_len: usize) -> Option<InstallTrace> {
    // positions are below this (and fit u32)
    let bound = (set_len as u64).min(1 << 32);
    let mut input = bytes;
    let runs = take(&mut input)?;
    let mut level1 = Vec::new();
    let mut end = 0u64;
    for i in 0..runs {
        let gap = take(&mut input)?;
        if i > 0 && gap == 0 {
            return None;
        }
        let start = end.checked_add(gap)?;
        end = start.checked_add(take(&mut input)?)?.checked_add(1)?;
        if end > bound {
            return None;
        }
        level1.extend((start..end).map(|p| p as u32));
    }
    let count = take(&mut input)?;
    // a pair takes at least one byte: no allocation beyond the input's size
    let mut reasons = Vec::with_capacity(count.min(input.len() as u64) as usize);
    let mut previous = (0u32, 0u32);
    for _ in 0..count {
        let word = take(&mut input)?;
        let step = match word & 3 {
            3 => take(&mut input)?.checked_add(3)?,
            step => step,
        };
        let package = u64::from(previous.0).checked_add(step)?;
        if package >= bound {
            return None;
        }
        let pair = (package as u32, u32::try_from(word >> 2).ok()?);
        if pair < previous {
            return None;
        }
        reasons.push(pair);
        previous = pair;
    }
    input.is_empty().then_some(InstallTrace { level1, reasons })
}

/// Maximal runs of consecutive `positions` as (first position, length); `None` when they
/// are not strictly ascending.
fn runs(positions: &[u32]) -> Option<Vec<(u64, u64)>> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &p in positions {
        let p = u64::from(p);
        match runs.last_mut() {
            Some((start, length)) if *start + *length == p => *length += 1,
            Some((start, length)) if *start + *length > p => return None,
            _ => runs.push((p, 1)),
        }
    }
    Some(runs)
}

/// Appends `value` as a varint.
fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Takes a varint off the front of `input`: `None` when it is truncated, longer than its
/// shortest form or above `u64::MAX`.
fn take(input: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        // the tenth byte holds the top bit only
        if i == 9 && bits > 1 {
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
    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng};

    /// Positions of a set as large as positions go.
    const ANY: usize = 1 << 32;

    /// A seeded generator (rand's `StdRng`) with the draws these tests need.
    struct Rng(StdRng);

    impl Rng {
        fn seeded(seed: u64) -> Self {
            Rng(StdRng::seed_from_u64(seed))
        }

        fn next(&mut self) -> u64 {
            self.0.random()
        }

        fn below(&mut self, bound: u64) -> u32 {
            self.0.random_range(0..bound) as u32
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

    /// A trace that keeps the invariants: ascending level-1 positions (with runs),
    /// non-descending reason pairs (with duplicates now and then).
    fn random_trace(rng: &mut Rng) -> InstallTrace {
        let mut level1: Vec<u32> = (0..rng.below(300)).map(|_| rng.value()).collect();
        if let Some(&p) = level1.first() {
            level1.extend((1..rng.below(50)).map(|i| p.saturating_add(i)));
        }
        level1.sort_unstable();
        level1.dedup();
        let mut reasons: Vec<(u32, u32)> = (0..rng.below(400))
            .map(|_| (rng.value(), rng.value()))
            .collect();
        if let Some(&first) = reasons.first() {
            reasons.push(first);
        }
        reasons.sort_unstable();
        InstallTrace { level1, reasons }
    }

    #[test]
    fn random_traces_round_trip() {
        let mut rng = Rng::seeded(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let trace = random_trace(&mut rng);
            let bytes = encode(&trace).expect("a trace keeping the invariants encodes");
            assert_eq!(decode(&bytes, ANY), Some(trace));
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
                level1: vec![u32::MAX - 2, u32::MAX - 1, u32::MAX],
                reasons: vec![(2, 1), (5, 0), (6, 0)],
            },
        ] {
            assert_eq!(decode(&encode(&trace).unwrap(), ANY), Some(trace));
        }
    }

    #[test]
    fn the_encoding_is_compact() {
        let trace = InstallTrace {
            level1: vec![3, 4, 5, 9],
            reasons: vec![(3, 0), (3, 2), (4, 1), (200, 20)],
        };
        // 2 runs: 3 after 0, 3 long; 9 after 6, 1 long
        let runs = [2, 3, 2, 3, 0];
        // 4 pairs: (0 << 2 | 3, step 3 + 0); (+0, 2); (+1, 1); (20 << 2 | 3, step 3 + 193
        // in two bytes)
        let pairs = [4, 3, 0, 2 << 2, 1 << 2 | 1, 20 << 2 | 3, 0xc1, 0x01];
        assert_eq!(encode(&trace).unwrap(), [&runs[..], &pairs[..]].concat());
        assert_eq!(encode(&InstallTrace::default()).unwrap(), [0, 0]);
    }

    #[test]
    fn positions_must_index_the_set() {
        let trace = InstallTrace {
            level1: vec![0, 1, 2],
            reasons: vec![(3, 9)],
        };
        let bytes = encode(&trace).unwrap();
        assert_eq!(decode(&bytes, 4), Some(trace));
        assert_eq!(decode(&bytes, 3), None);
        let level1 = InstallTrace {
            level1: vec![0, 3],
            reasons: vec![],
        };
        assert_eq!(decode(&encode(&level1).unwrap(), 3), None);
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
            &[1, 4, 0],
            // fewer runs or pairs than counted
            &[2, 1, 0, 0],
            &[0, 2, 0],
            // bytes left over
            &[0, 0, 0],
            &[1, 4, 1, 1, 0, 9],
            // a count no input can hold
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            // truncated varint
            &[1, 0x80],
            // overlong varint (1 as two bytes)
            &[1, 0x81, 0x00, 0, 0],
            // varint above u64::MAX, and longer than ten bytes
            &[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0,
            ],
            &[
                1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0,
            ],
            // runs not apart (a gap of 0 after the first: not maximal)
            &[2, 7, 0, 0, 0, 0],
            // level-1 position above u32::MAX
            &[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0],
            // half a reason pair (a step of 3 or more without its rest)
            &[0, 1, 3],
            // reason pairs descending on the dependency position
            &[0, 2, 5 << 2, 4 << 2],
            // reason package position above u32::MAX, dependency position above u32::MAX
            &[0, 1, 3, 0xfd, 0xff, 0xff, 0xff, 0x0f],
            &[0, 1, 0x80, 0x80, 0x80, 0x80, 0x40],
        ];
        for bytes in malformed {
            assert_eq!(decode(bytes, ANY), None, "{bytes:x?}");
        }
    }

    #[test]
    fn random_bytes_decode_to_their_own_encoding_or_nothing() {
        let mut rng = Rng::seeded(42);
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
            if let Some(trace) = decode(&bytes, 1000) {
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
        let mut rng = Rng::seeded(7);
        for _ in 0..20 {
            let mut bytes = encode(&random_trace(&mut rng)).unwrap();
            for cut in 0..bytes.len() {
                assert_eq!(decode(&bytes[..cut], ANY), None, "cut at {cut}");
            }
            bytes.push(0);
            assert_eq!(decode(&bytes, ANY), None);
        }
    }
}

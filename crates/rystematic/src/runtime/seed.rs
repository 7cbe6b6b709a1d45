//! The seed stream behind `Run::new_seed`.
//!
//! SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014; Vigna's reference `splitmix64.c`). The algorithm
//! is three lines of integer arithmetic, fully specified, and identical on
//! every platform, so the promise "the same `random_seed` gives the same
//! seeds, everywhere, in every future version" rests on nothing but this file
//! and its golden-value tests. Its state is a counter, so the stream is a
//! single atomic add: any thread holding the `Run` can draw seeds.

use std::sync::atomic::{AtomicU64, Ordering};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// GAMMA's inverse modulo 2^64 (GAMMA is odd): turns a distance in the
/// state back into a count of draws.
const GAMMA_INVERSE: u64 = 0xF1DE_83E1_9937_733D;

/// A thread-safe SplitMix64 stream.
#[derive(Debug)]
pub(crate) struct SeedStream {
    /// The state before the first draw.
    origin: u64,
    state: AtomicU64,
}

impl SeedStream {
    /// A stream seeded with `seed` (the `random_seed` parameter; negative
    /// values use their two's-complement bits).
    pub(crate) fn new(seed: i64) -> SeedStream {
        SeedStream::resume(seed, 0)
    }

    /// The stream seeded with `seed`, after `drawn` numbers: it goes on
    /// exactly as the stream that gave out those numbers would have.
    pub(crate) fn resume(seed: i64, drawn: u64) -> SeedStream {
        let origin = seed as u64;
        SeedStream {
            origin,
            state: AtomicU64::new(origin.wrapping_add(drawn.wrapping_mul(GAMMA))),
        }
    }

    /// How many numbers the stream has given out.
    pub(crate) fn drawn(&self) -> u64 {
        self.state
            .load(Ordering::Relaxed)
            .wrapping_sub(self.origin)
            .wrapping_mul(GAMMA_INVERSE)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&self) -> u64 {
        let z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        mix(z)
    }

    /// The next number of `nbits` bits (1..=64): the top bits of the next
    /// output, which are SplitMix64's best.
    pub(crate) fn next_bits(&self, nbits: u32) -> u64 {
        assert!(
            (1..=64).contains(&nbits),
            "new_seed_bits: nbits must be in 1..=64, got {nbits}"
        );
        self.next_u64() >> (64 - nbits)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_stream_goes_on_where_the_first_stopped() {
        let first = SeedStream::new(-7);
        let straight: Vec<u64> = (0..10).map(|_| first.next_u64()).collect();
        let early = SeedStream::new(-7);
        for _ in 0..4 {
            early.next_bits(32);
        }
        assert_eq!(early.drawn(), 4);
        let resumed = SeedStream::resume(-7, early.drawn());
        let rest: Vec<u64> = (0..6).map(|_| resumed.next_u64()).collect();
        assert_eq!(rest, straight[4..]);
        assert_eq!(resumed.drawn(), 10);
    }

    #[test]
    fn matches_the_reference_splitmix64() {
        // Reference outputs of Vigna's splitmix64.c with x = 0.
        let s = SeedStream::new(0);
        assert_eq!(s.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(s.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(s.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn golden_seeds_never_change() {
        // Cross-checked against an independent Python SplitMix64.
        // Pinned: changing these breaks every recorded experiment's
        // reproducibility. Only ever add cases.
        let s = SeedStream::new(42);
        let seeds: Vec<u64> = (0..5).map(|_| s.next_bits(32)).collect();
        assert_eq!(seeds, GOLDEN_42);
        let s = SeedStream::new(-1);
        assert_eq!(s.next_bits(64), 0xE4D9_7177_1B65_2C20);
        let s = SeedStream::new(1);
        assert_eq!(s.next_bits(1), 1);
        assert_eq!(s.next_bits(16), 0xBEEB);
    }

    const GOLDEN_42: [u64; 5] = [3184996902, 686809907, 1196582743, 1478287871, 163338330];

    #[test]
    fn bits_are_in_range() {
        let s = SeedStream::new(7);
        for n in 1..=64 {
            let v = s.next_bits(n);
            assert!(n == 64 || v < (1 << n), "{n} bits gave {v}");
        }
    }

    #[test]
    #[should_panic(expected = "nbits must be in 1..=64, got 0")]
    fn zero_bits_is_a_programmer_error() {
        SeedStream::new(0).next_bits(0);
    }
}

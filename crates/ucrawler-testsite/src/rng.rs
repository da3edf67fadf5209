//! A tiny deterministic PRNG (splitmix64). Every random choice of the site comes from a
//! [`Rng`] seeded by `(seed, page id, stream)`, so each aspect of a page (its links, its text,
//! its title, its price) can be computed on its own without generating the others.

/// Independent random streams per page.
pub(crate) const STREAM_LINKS: u64 = 1;
pub(crate) const STREAM_TEXT: u64 = 2;
pub(crate) const STREAM_TITLE: u64 = 3;
pub(crate) const STREAM_PRICE: u64 = 4;
/// Generations: which pages are removed, which change, which page adopts a new one, and
/// whether a removed page answers `410`. (9 is the latency draws'.)
pub(crate) const STREAM_REMOVE: u64 = 5;
pub(crate) const STREAM_CHANGE: u64 = 6;
pub(crate) const STREAM_PARENT: u64 = 7;
pub(crate) const STREAM_GONE: u64 = 8;
/// The per-request tokens of volatile pages.
pub(crate) const STREAM_VOLATILE: u64 = 10;

/// `stream` for version `version` of a page: version 0 is `stream` itself (so generation 0 is
/// the original site byte for byte), later versions draw from streams of their own.
pub(crate) fn at_version(stream: u64, version: u32) -> u64 {
    stream | (u64::from(version) << 8)
}

/// One draw of `(seed, id, stream)`: a sort key or a coin.
pub(crate) fn hash(seed: u64, id: u64, stream: u64) -> u64 {
    Rng::new(seed, id, stream).next_u64()
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64: fast, tiny state, good enough statistical quality for synthetic content.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, id: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed
            ^ id.wrapping_mul(GOLDEN)
            ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ 0x5851_F42D_4C95_7F2D);
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`), by multiply-shift (no division).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct_streams() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(1, 2, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::new(1, 2, STREAM_LINKS).next_u64(),
            Rng::new(1, 2, STREAM_TEXT).next_u64()
        );
        assert_ne!(Rng::new(1, 2, 1).next_u64(), Rng::new(1, 3, 1).next_u64());
        assert_ne!(Rng::new(1, 2, 1).next_u64(), Rng::new(2, 2, 1).next_u64());
    }

    #[test]
    fn below_is_in_range() {
        let mut rng = Rng::new(7, 7, 7);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(rng.below(n) < n);
            }
        }
        assert_eq!(rng.below(0), 0);
        for _ in 0..1000 {
            let v = rng.range(20, 80);
            assert!((20..=80).contains(&v));
        }
    }
}

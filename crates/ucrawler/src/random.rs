//! Random numbers for what must differ between processes and calls (retry jitter, worker and
//! operation ids), not for anything secret: the standard library's OS-seeded hasher, mixed with
//! the pid, the time and a counter, so forked children and fast callers never repeat each other.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// A factor in `[low, low + width)`, so that many clients failing together do not retry together.
pub fn jitter(low: f64, width: f64) -> f64 {
    low + (random_u64() % 1000) as f64 / 1000.0 * width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_u64(), random_u64());
        for _ in 0..100 {
            let j = jitter(0.5, 1.0);
            assert!((0.5..1.5).contains(&j), "{j}");
        }
    }
}

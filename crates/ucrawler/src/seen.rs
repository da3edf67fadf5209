//! The seen set: 64-bit fingerprints of every URL a crawl has queued, never the URL strings.
//! About 9 bytes per URL in a hashbrown table (plus its growth headroom).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Fingerprints are already uniformly distributed hashes: use them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[derive(Default)]
pub struct SeenSet {
    set: HashSet<u64, BuildHasherDefault<IdentityHasher>>,
}

impl SeenSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a fingerprint; true when it was not seen before.
    pub fn insert(&mut self, fingerprint: u64) -> bool {
        self.set.insert(fingerprint)
    }

    pub fn contains(&self, fingerprint: u64) -> bool {
        self.set.contains(&fingerprint)
    }

    pub fn len(&self) -> u64 {
        self.set.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Bytes the table holds (capacity, not length: what the allocator gave it).
    pub fn memory_bytes(&self) -> u64 {
        (self.set.capacity() * (std::mem::size_of::<u64>() + 1)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::fingerprint;

    #[test]
    fn dedups_by_fingerprint() {
        let mut seen = SeenSet::new();
        assert!(seen.insert(fingerprint("http://a/")));
        assert!(!seen.insert(fingerprint("http://a/")));
        assert!(seen.insert(fingerprint("http://a/b")));
        assert!(seen.contains(fingerprint("http://a/b")));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn compact() {
        let mut seen = SeenSet::new();
        for i in 0..100_000u64 {
            seen.insert(fingerprint(&format!("http://example.com/page/{i}")));
        }
        assert_eq!(seen.len(), 100_000);
        // At most ~2x headroom over 9 bytes per entry.
        assert!(
            seen.memory_bytes() < 100_000 * 9 * 2 + 4096,
            "{}",
            seen.memory_bytes()
        );
    }
}

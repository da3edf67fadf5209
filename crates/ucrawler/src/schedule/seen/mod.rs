//! The seen set: 64-bit fingerprints of every URL a crawl has queued, never the URL strings.
//!
//! Fingerprints live in an open-addressing table of bare `u64`s (at most 80 % full: 10 bytes per
//! fingerprint when full). A bounded set ([`SeenSet::bounded`]) holds at most `max_in_memory`
//! there; when the table is full it is sorted in place and written out as a sorted run (8 bytes
//! per fingerprint, see [`segment`]), and the table starts empty again. Each run keeps an index in
//! memory — a Bloom filter (10 bits per fingerprint, ~1 % false positives) and the first key of
//! every 4 KiB block (16 bytes per 1,000 fingerprints) — so a lookup costs a filter probe per run
//! and, only when a filter says maybe, one 4 KiB read. Runs are merged four at a time when four
//! of about the same size pile up, so there are a few per size class (`log4(on disk /
//! max_in_memory)` classes).
//!
//! Memory: `max_in_memory` × 10 bytes for the table, plus ~1.27 bytes per fingerprint on disk.
//! Disk: 8 bytes per fingerprint (twice that for the runs being merged, while they are).
//! A disk that fails (full, unwritable) costs memory, never correctness: the fingerprints stay
//! in the table, beyond the bound, and spilling is tried again when it has doubled.

mod segment;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use segment::{Segment, SegmentWriter};

use super::spill_dir::SpillDir;

/// Runs of one size class merged together.
const MERGE_FANOUT: usize = 4;
/// The smallest table allocated.
const MIN_SLOTS: usize = 16;

/// The set of fingerprints seen by one crawl.
pub struct SeenSet {
    table: Table,
    /// Fingerprints held in memory before they are spilled (`usize::MAX`: never).
    max_in_memory: usize,
    /// The table spills when it holds this many: `max_in_memory`, more after a failed spill.
    spill_at: usize,
    /// Sorted runs on disk, oldest first.
    segments: Vec<Segment>,
    on_disk: u64,
    files_made: u64,
    /// Where runs go; `None` for an unbounded set.
    dir: Option<SpillDir>,
    /// A disk error was logged and nothing has worked since: say it once, not per attempt.
    failing: AtomicBool,
}

impl Default for SeenSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SeenSet {
    /// A set held entirely in memory.
    pub fn new() -> Self {
        Self {
            table: Table::default(),
            max_in_memory: usize::MAX,
            spill_at: usize::MAX,
            segments: Vec::new(),
            on_disk: 0,
            files_made: 0,
            dir: None,
            failing: AtomicBool::new(false),
        }
    }

    /// A set holding at most `max_in_memory` fingerprints in memory and the rest in sorted runs
    /// under `dir` (created when first needed, removed on drop); `None` = a new directory under
    /// the system's temporary directory.
    pub fn bounded(dir: Option<PathBuf>, max_in_memory: usize) -> Self {
        let max_in_memory = max_in_memory.max(1);
        Self {
            max_in_memory,
            spill_at: max_in_memory,
            dir: Some(SpillDir::new(dir, "seen")),
            ..Self::new()
        }
    }

    /// Records a fingerprint; true when it was not seen before.
    pub fn insert(&mut self, fingerprint: u64) -> bool {
        if self.contains(fingerprint) {
            return false;
        }
        self.table.insert_new(fingerprint, self.spill_at);
        if self.table.len() >= self.spill_at {
            self.spill();
        }
        true
    }

    pub fn contains(&self, fingerprint: u64) -> bool {
        self.table.contains(fingerprint) || self.on_disk_contains(fingerprint)
    }

    pub fn len(&self) -> u64 {
        self.table.len() as u64 + self.on_disk
    }

    /// Fingerprints in runs on disk.
    #[cfg(test)]
    pub fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// Bytes held in memory: the table (its capacity: what the allocator gave it) and the
    /// index of every run on disk.
    pub fn memory_bytes(&self) -> u64 {
        let runs: u64 = self.segments.iter().map(Segment::memory_bytes).sum();
        (self.table.slots.capacity() * std::mem::size_of::<u64>()) as u64 + runs
    }

    fn on_disk_contains(&self, fingerprint: u64) -> bool {
        for segment in &self.segments {
            match segment.contains(fingerprint) {
                Ok(false) => {}
                Ok(true) => return true,
                // Unknown is taken as new: a page fetched twice beats a page never fetched.
                Err(e) => self.disk_error("cannot read", segment.path(), &e),
            }
        }
        false
    }

    fn disk_error(&self, what: &str, path: &std::path::Path, e: &std::io::Error) {
        if !self.failing.swap(true, Relaxed) {
            tracing::error!(
                "seen set: {what} {}: {e}; keeping fingerprints in memory",
                path.display()
            );
        }
    }

    fn next_file(&mut self) -> Result<PathBuf, (PathBuf, std::io::Error)> {
        let Some(dir) = &mut self.dir else {
            return Err((PathBuf::new(), std::io::ErrorKind::Unsupported.into()));
        };
        let name = format!("seen-{:08}.bin", self.files_made);
        self.files_made += 1;
        dir.file(&name).map_err(|e| (dir.path().to_path_buf(), e))
    }

    /// Writes the table out as a sorted run and empties it. On failure the table keeps
    /// everything and the next attempt waits until it has doubled.
    fn spill(&mut self) {
        let written = self.next_file().and_then(|path| {
            let keys = self.table.len() as u64;
            SegmentWriter::create(path.clone(), keys).map_err(|e| (path, e))
        });
        let mut out = match written {
            Ok(out) => out,
            Err((path, e)) => return self.spill_failed(&path, &e),
        };
        let zero = self.table.zero;
        let mut slots = std::mem::take(&mut self.table.slots);
        // In place: spilling needs no memory beyond the table's.
        slots.sort_unstable();
        let first = slots.partition_point(|&key| key == 0);
        let keys = zero
            .then_some(0)
            .into_iter()
            .chain(slots[first..].iter().copied());
        let path = out.path().to_path_buf();
        let written = keys.into_iter().try_for_each(|key| out.push(key));
        match written.and_then(|()| out.finish()) {
            Ok(segment) => {
                self.on_disk += segment.len();
                self.segments.push(segment);
                slots.fill(0);
                self.table = Table {
                    slots,
                    occupied: 0,
                    zero: false,
                };
                self.spill_at = self.max_in_memory;
                self.failing.store(false, Relaxed);
                self.merge();
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                // Back into a hash table, sized for the next attempt (at twice as many).
                let keys = slots.split_off(first);
                slots.resize(slots_for(keys.len().saturating_mul(2)), 0);
                self.table = Table {
                    slots,
                    occupied: 0,
                    zero,
                };
                for key in keys {
                    self.table.insert_new(key, usize::MAX);
                }
                self.spill_failed(&path, &e);
            }
        }
    }

    fn spill_failed(&mut self, path: &std::path::Path, e: &std::io::Error) {
        self.disk_error("cannot spill to", path, e);
        self.spill_at = self.table.len().saturating_mul(2).max(self.max_in_memory);
    }

    /// Merges the newest runs while `MERGE_FANOUT` of them share a size class, so that lookups
    /// probe few runs. A failed merge keeps the runs as they were.
    fn merge(&mut self) {
        let unit = self.max_in_memory as u64;
        let class = |len: u64| size_class(len, unit);
        while let Some(newest) = self.segments.last() {
            let newest = class(newest.len());
            let run = self
                .segments
                .iter()
                .rev()
                .take_while(|segment| class(segment.len()) == newest)
                .count();
            if run < MERGE_FANOUT {
                return;
            }
            let from = self.segments.len() - run;
            let path = match self.next_file() {
                Ok(path) => path,
                Err((path, e)) => return self.disk_error("cannot merge runs in", &path, &e),
            };
            match segment::merge(path.clone(), &self.segments[from..]) {
                Ok(merged) => {
                    for old in self.segments.drain(from..) {
                        old.remove();
                    }
                    self.segments.push(merged);
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return self.disk_error("cannot merge runs into", &path, &e);
                }
            }
        }
    }
}

/// `floor(log4(len / unit))`: runs of one class differ in size by less than 4×.
fn size_class(len: u64, unit: u64) -> u32 {
    let mut class = 0;
    let mut bound = unit.saturating_mul(MERGE_FANOUT as u64);
    while len >= bound && bound < u64::MAX {
        class += 1;
        bound = bound.saturating_mul(MERGE_FANOUT as u64);
    }
    class
}

/// An open-addressing (linear probing) set of fingerprints: 0 marks an empty slot, so the
/// fingerprint 0 is a flag of its own.
#[derive(Default)]
struct Table {
    slots: Vec<u64>,
    /// Non-zero fingerprints in `slots`.
    occupied: usize,
    zero: bool,
}

impl Table {
    fn len(&self) -> usize {
        self.occupied + usize::from(self.zero)
    }

    /// The first slot to probe. Fingerprints are uniform hashes already; the multiplication
    /// only protects the table from a caller inserting sequential numbers.
    fn home(&self, key: u64) -> usize {
        let spread = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(spread) * self.slots.len() as u128) >> 64) as usize
    }

    fn contains(&self, key: u64) -> bool {
        if key == 0 {
            return self.zero;
        }
        if self.slots.is_empty() {
            return false;
        }
        let mut i = self.home(key);
        // At most 80 % of the slots are used: an empty one ends every probe.
        loop {
            match self.slots[i] {
                0 => return false,
                slot if slot == key => return true,
                _ => i = if i + 1 == self.slots.len() { 0 } else { i + 1 },
            }
        }
    }

    /// Adds a fingerprint not in the table. Grows by doubling, but not past the size that
    /// holds `limit` fingerprints: a bounded table is allocated once, at its bound.
    fn insert_new(&mut self, key: u64, limit: usize) {
        if key == 0 {
            self.zero = true;
            return;
        }
        if slots_for(self.occupied + 1) > self.slots.len() {
            let doubled = (self.slots.len() * 2).max(MIN_SLOTS);
            let bound = slots_for(limit);
            let size = if bound > self.slots.len() {
                doubled.min(bound)
            } else {
                doubled
            };
            let old = std::mem::replace(&mut self.slots, vec![0; size]);
            for key in old.into_iter().filter(|&key| key != 0) {
                self.place(key);
            }
        }
        self.place(key);
        self.occupied += 1;
    }

    fn place(&mut self, key: u64) {
        let mut i = self.home(key);
        while self.slots[i] != 0 {
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
        self.slots[i] = key;
    }
}

/// Slots that hold `keys` fingerprints at most 80 % full.
fn slots_for(keys: usize) -> usize {
    keys.saturating_add(keys / 4).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::fingerprint;
    use std::collections::HashSet;
    use std::time::Instant;

    #[test]
    fn dedups_by_fingerprint() {
        let mut seen = SeenSet::new();
        assert!(seen.insert(fingerprint("http://a/")));
        assert!(!seen.insert(fingerprint("http://a/")));
        assert!(seen.insert(fingerprint("http://a/b")));
        assert!(seen.contains(fingerprint("http://a/b")));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert(0) && !seen.insert(0) && seen.contains(0));
        for i in 1..1000 {
            assert!(seen.insert(i), "sequential keys too");
        }
        assert_eq!(seen.len(), 1002);
    }

    #[test]
    fn compact() {
        let mut seen = SeenSet::new();
        for i in 0..100_000u64 {
            seen.insert(fingerprint(&format!("http://example.com/page/{i}")));
        }
        assert_eq!(seen.len(), 100_000);
        // 8 bytes per slot, at most 80 % and at least 40 % full.
        assert!(
            seen.memory_bytes() <= 100_000 * 20,
            "{}",
            seen.memory_bytes()
        );
    }

    /// splitmix64: distinct, uniform test fingerprints.
    fn key(i: u64) -> u64 {
        let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn two_million_inserts_spill_to_merged_runs_with_bounded_memory() {
        let started = Instant::now();
        let limit = 100_000;
        let mut seen = SeenSet::bounded(None, limit);
        let dir = seen.dir.as_ref().map(|d| d.path().to_path_buf()).unwrap();
        let distinct = 1_000_000u64;
        let mut reference = HashSet::with_capacity(distinct as usize);
        let mut state = 7u64;
        for i in 0..distinct {
            let fresh = key(i);
            assert_eq!(seen.insert(fresh), reference.insert(fresh), "new {i}");
            // Every second insert repeats an earlier one: most of them are on disk by then.
            state = key(state);
            let old = key(state % (i + 1));
            assert!(reference.contains(&old));
            assert!(!seen.insert(old), "repeat of {old} at {i}");
            if i % 50_000 == 0 {
                assert!(!seen.contains(key(distinct + i)), "never inserted");
            }
        }
        assert_eq!(seen.len(), distinct);
        assert_eq!(seen.on_disk(), distinct, "10 full tables spilled");
        assert_eq!(seen.table.len(), 0);
        // Runs of 100,000, four of a size merged: 4 + 4 became two of 400,000.
        let runs: Vec<u64> = seen.segments.iter().map(Segment::len).collect();
        assert_eq!(runs, [400_000, 400_000, 100_000, 100_000]);
        // The table (125,001 slots × 8 bytes) and the runs' indexes: Bloom filters (1,250,176
        // bytes) and fence pointers (15,648), i.e. 1.27 bytes per fingerprint on disk.
        let memory = seen.memory_bytes();
        assert!(
            (1_000_008 + 1_265_824..1_000_008 + 1_267_000).contains(&memory),
            "{memory} bytes"
        );
        let on_disk: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(on_disk, distinct * 8, "only the live runs are on disk");
        drop(seen);
        assert!(!dir.exists(), "temporary directory removed");
        eprintln!("2M inserts in {:?}", started.elapsed());
    }

    #[test]
    fn merges_keep_a_few_runs_per_size_class() {
        let mut seen = SeenSet::bounded(None, 16);
        for i in 0..50_000 {
            assert!(seen.insert(key(i)));
        }
        assert_eq!(seen.on_disk(), 50_000);
        let mut classes = std::collections::BTreeMap::new();
        for segment in &seen.segments {
            *classes.entry(size_class(segment.len(), 16)).or_insert(0) += 1;
        }
        // 3,125 spills of 16: classes up to log4(3125) = 5, fewer than 4 runs in each.
        assert!(classes.values().all(|&n| n < MERGE_FANOUT), "{classes:?}");
        assert!(seen.segments.len() <= 3 * 6, "{}", seen.segments.len());
        assert!((0..50_000).step_by(7).all(|i| seen.contains(key(i))));
        assert!(!seen.contains(key(50_000)));
    }

    #[test]
    fn an_unwritable_directory_keeps_everything_in_memory() {
        // A directory under a regular file cannot be created, not even by root.
        let file = std::env::temp_dir().join(format!("ucrawler-seen-file-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").unwrap();
        let mut seen = SeenSet::bounded(Some(file.join("seen")), 16);
        for i in 0..1000 {
            assert!(seen.insert(key(i)));
            assert!(!seen.insert(key(i / 2)));
        }
        assert_eq!((seen.len(), seen.on_disk()), (1000, 0));
        assert!((0..1000).all(|i| seen.contains(key(i))));
        assert!(!seen.contains(key(1000)));
        drop(seen);
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn a_disk_filling_up_mid_run_loses_nothing_and_recovers() {
        let mut seen = SeenSet::bounded(None, 1000);
        let mut reference = HashSet::new();
        let insert = |seen: &mut SeenSet, reference: &mut HashSet<u64>, i: u64| {
            assert_eq!(seen.insert(key(i)), reference.insert(key(i)));
            assert!(!seen.insert(key(i / 3)));
        };
        for i in 0..2500 {
            insert(&mut seen, &mut reference, i);
        }
        assert_eq!(seen.on_disk(), 2000);
        segment::FAIL_AFTER_KEYS.set(Some(300));
        for i in 2500..5000 {
            insert(&mut seen, &mut reference, i);
        }
        // Spills at 1,000 and at 2,000 failed: the table went over its bound, nothing was lost.
        assert_eq!((seen.on_disk(), seen.len()), (2000, 5000));
        assert_eq!((seen.table.len(), seen.spill_at), (3000, 4000));
        segment::FAIL_AFTER_KEYS.set(None);
        for i in 5000..9000 {
            insert(&mut seen, &mut reference, i);
        }
        // Spilled at 4,000, then every 1,000 again.
        assert_eq!((seen.on_disk(), seen.len()), (9000, 9000));
        assert_eq!(seen.spill_at, 1000);
        assert!((0..9000).all(|i| seen.contains(key(i))));
        let dir = seen.dir.as_ref().map(|d| d.path().to_path_buf()).unwrap();
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(files, seen.segments.len(), "no partial run left behind");
    }

    #[test]
    fn state_dir_runs_live_under_it_and_go_with_the_set() {
        let dir = std::env::temp_dir().join(format!("ucrawler-seen-state-{}", std::process::id()));
        let mut seen = SeenSet::bounded(Some(dir.join("seen")), 16);
        for i in 0..100 {
            seen.insert(key(i));
        }
        assert_eq!(seen.on_disk(), 96);
        assert!(dir.join("seen").read_dir().unwrap().count() >= 1);
        drop(seen);
        assert!(!dir.join("seen").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

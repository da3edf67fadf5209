//! Sorted runs of fingerprints on disk (`u64` little-endian, nothing else), each with a small
//! in-memory index: the first key of every 4 KiB block (fence pointers) and a blocked Bloom
//! filter. A lookup costs a filter probe and, when the filter says maybe, one 4 KiB read.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Keys per block: a lookup reads one 4 KiB page.
pub(super) const BLOCK_KEYS: usize = 512;
const KEY_BYTES: usize = 8;
/// ~1 % false positives with 7 probes in 512-bit blocks (1.25 bytes per key).
const BLOOM_BITS_PER_KEY: u64 = 10;
const BLOOM_PROBES: u32 = 7;
/// Keys read at a time when merging (64 KiB per run).
const MERGE_CHUNK_KEYS: usize = 8192;

/// A Bloom filter whose probes for one key all fall in one 64-byte block (one cache miss).
struct Bloom {
    blocks: Vec<[u64; 8]>,
}

impl Bloom {
    fn new(keys: u64) -> Self {
        let blocks = keys.saturating_mul(BLOOM_BITS_PER_KEY).div_ceil(512).max(1);
        Self {
            blocks: vec![[0; 8]; usize::try_from(blocks).unwrap_or(usize::MAX >> 9)],
        }
    }

    /// The block and the probe bits for `key`. Keys are uniform hashes already; the two
    /// multiplications only decorrelate the block choice from the bit choice.
    fn probes(&self, key: u64) -> (usize, u64) {
        let spread = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let block = ((u128::from(spread) * self.blocks.len() as u128) >> 64) as usize;
        (block, fmix64(key))
    }

    fn insert(&mut self, key: u64) {
        let (block, mut bits) = self.probes(key);
        for _ in 0..BLOOM_PROBES {
            let bit = (bits & 511) as usize;
            self.blocks[block][bit / 64] |= 1 << (bit % 64);
            bits >>= 9;
        }
    }

    fn may_contain(&self, key: u64) -> bool {
        let (block, mut bits) = self.probes(key);
        let words = &self.blocks[block];
        (0..BLOOM_PROBES).all(|_| {
            let bit = (bits & 511) as usize;
            bits >>= 9;
            words[bit / 64] & (1 << (bit % 64)) != 0
        })
    }

    fn bytes(&self) -> u64 {
        (self.blocks.capacity() * 64) as u64
    }
}

/// MurmurHash3's 64-bit finalizer.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// One sorted run on disk.
pub(super) struct Segment {
    path: PathBuf,
    file: File,
    len: u64,
    /// The first key of each block.
    fences: Vec<u64>,
    max: u64,
    bloom: Bloom,
}

impl Segment {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the index holds in memory: the fence pointers, the filter and this struct.
    pub fn memory_bytes(&self) -> u64 {
        (std::mem::size_of::<Self>()
            + self.fences.capacity() * KEY_BYTES
            + self.path.as_os_str().len()) as u64
            + self.bloom.bytes()
    }

    pub fn contains(&self, key: u64) -> io::Result<bool> {
        let Some(&first) = self.fences.first() else {
            return Ok(false);
        };
        if key < first || key > self.max || !self.bloom.may_contain(key) {
            return Ok(false);
        }
        // `first <= key`, so the block is at index 0 or later.
        let block = self.fences.partition_point(|&fence| fence <= key) - 1;
        let start = (block * BLOCK_KEYS) as u64;
        let count = (self.len - start).min(BLOCK_KEYS as u64) as usize;
        let mut raw = [0u8; BLOCK_KEYS * KEY_BYTES];
        let raw = &mut raw[..count * KEY_BYTES];
        read_exact_at(&self.file, raw, start * KEY_BYTES as u64)?;
        // Searched in place: decoding the whole block would cost more than the search.
        let key_at = |i: usize| {
            let mut le = [0u8; KEY_BYTES];
            le.copy_from_slice(&raw[i * KEY_BYTES..(i + 1) * KEY_BYTES]);
            u64::from_le_bytes(le)
        };
        let (mut low, mut high) = (0, count);
        while low < high {
            let mid = (low + high) / 2;
            match key_at(mid).cmp(&key) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Reads `out.len()` keys from key index `first`, through `raw`.
    fn read_keys(&self, first: u64, out: &mut [u64], raw: &mut Vec<u8>) -> io::Result<()> {
        raw.resize(out.len() * KEY_BYTES, 0);
        read_exact_at(&self.file, raw, first * KEY_BYTES as u64)?;
        decode(raw, out);
        Ok(())
    }

    /// Deletes the file (a merge replaced it).
    pub fn remove(self) {
        let Self { path, file, .. } = self;
        drop(file);
        let _ = std::fs::remove_file(path);
    }
}

fn decode(raw: &[u8], out: &mut [u64]) {
    for (key, bytes) in out.iter_mut().zip(raw.chunks_exact(KEY_BYTES)) {
        let mut le = [0u8; KEY_BYTES];
        le.copy_from_slice(bytes);
        *key = u64::from_le_bytes(le);
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
thread_local! {
    /// Tests: writes fail (as on a full disk) once this many keys are in a new segment.
    pub(super) static FAIL_AFTER_KEYS: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Writes a run of keys in ascending order and builds its index on the way.
pub(super) struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
    fences: Vec<u64>,
    max: u64,
    bloom: Bloom,
}

impl SegmentWriter {
    /// A new segment at `path` sized for `keys` keys (the filter is sized from it).
    pub fn create(path: PathBuf, keys: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            len: 0,
            fences: Vec::with_capacity(
                usize::try_from(keys.div_ceil(BLOCK_KEYS as u64)).unwrap_or(0),
            ),
            max: 0,
            bloom: Bloom::new(keys),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `key`, which must be greater than the keys before it.
    pub fn push(&mut self, key: u64) -> io::Result<()> {
        #[cfg(test)]
        if FAIL_AFTER_KEYS.get().is_some_and(|n| self.len >= n) {
            return Err(io::Error::other("No space left on device (injected)"));
        }
        debug_assert!(self.len == 0 || key > self.max, "keys out of order");
        if self.len % BLOCK_KEYS as u64 == 0 {
            self.fences.push(key);
        }
        self.bloom.insert(key);
        self.out.write_all(&key.to_le_bytes())?;
        self.len += 1;
        self.max = key;
        Ok(())
    }

    pub fn finish(self) -> io::Result<Segment> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        let mut fences = self.fences;
        fences.shrink_to_fit();
        Ok(Segment {
            path: self.path,
            file,
            len: self.len,
            fences,
            max: self.max,
            bloom: self.bloom,
        })
    }
}

/// Merges sorted runs into one new segment at `path` (a k-way merge, reading 64 KiB of each
/// run at a time). The runs are disjoint; a key in several would be written once.
pub(super) fn merge(path: PathBuf, runs: &[Segment]) -> io::Result<Segment> {
    let total = runs.iter().map(Segment::len).sum();
    let mut out = SegmentWriter::create(path, total)?;
    let mut readers: Vec<RunReader> = runs.iter().map(RunReader::new).collect();
    let mut heads = BinaryHeap::with_capacity(readers.len());
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(key) = reader.next()? {
            heads.push(Reverse((key, i)));
        }
    }
    let mut last = None;
    while let Some(Reverse((key, i))) = heads.pop() {
        if last != Some(key) {
            out.push(key)?;
            last = Some(key);
        }
        if let Some(next) = readers[i].next()? {
            heads.push(Reverse((next, i)));
        }
    }
    out.finish()
}

/// Reads one run in order, a chunk at a time.
struct RunReader<'a> {
    segment: &'a Segment,
    next_index: u64,
    chunk: Vec<u64>,
    raw: Vec<u8>,
    pos: usize,
}

impl<'a> RunReader<'a> {
    fn new(segment: &'a Segment) -> Self {
        Self {
            segment,
            next_index: 0,
            chunk: Vec::new(),
            raw: Vec::new(),
            pos: 0,
        }
    }

    fn next(&mut self) -> io::Result<Option<u64>> {
        if self.pos == self.chunk.len() {
            let left = self.segment.len - self.next_index;
            if left == 0 {
                return Ok(None);
            }
            let count = left.min(MERGE_CHUNK_KEYS as u64) as usize;
            self.chunk.resize(count, 0);
            self.segment
                .read_keys(self.next_index, &mut self.chunk, &mut self.raw)?;
            self.next_index += count as u64;
            self.pos = 0;
        }
        let key = self.chunk[self.pos];
        self.pos += 1;
        Ok(Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ucrawler-segment-{}-{name}", std::process::id()))
    }

    fn write(path: PathBuf, keys: &[u64]) -> Segment {
        let mut out = SegmentWriter::create(path, keys.len() as u64).unwrap();
        for &key in keys {
            out.push(key).unwrap();
        }
        out.finish().unwrap()
    }

    #[test]
    fn lookups_across_blocks_and_a_merge() {
        let evens: Vec<u64> = (0..3000u64).map(|i| i * 2).collect();
        let odds: Vec<u64> = (0..1000u64).map(|i| i * 6 + 1).chain([u64::MAX]).collect();
        let a = write(temp("a"), &evens);
        let b = write(temp("b"), &odds);
        assert_eq!(a.fences.len(), 3000usize.div_ceil(BLOCK_KEYS));
        for key in [0, 2, 1022, 1024, 5998] {
            assert!(a.contains(key).unwrap(), "{key}");
        }
        for key in [1, 1023, 5999, 6000, u64::MAX] {
            assert!(!a.contains(key).unwrap(), "{key}");
        }
        let merged = merge(temp("m"), &[a, b]).unwrap();
        assert_eq!(merged.len(), 4001);
        for key in evens.iter().chain(&odds) {
            assert!(merged.contains(*key).unwrap(), "{key}");
        }
        assert!(!merged.contains(3).unwrap());
        let mut all = vec![0u64; merged.len() as usize];
        merged.read_keys(0, &mut all, &mut Vec::new()).unwrap();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted");
        merged.remove();
        let _ = std::fs::remove_file(temp("a"));
        let _ = std::fs::remove_file(temp("b"));
    }

    #[test]
    fn bloom_false_positives_about_one_percent() {
        let mut bloom = Bloom::new(100_000);
        for i in 0..100_000u64 {
            bloom.insert(fmix64(i));
        }
        assert!((0..100_000u64).all(|i| bloom.may_contain(fmix64(i))));
        let false_positives = (100_000..200_000u64)
            .filter(|&i| bloom.may_contain(fmix64(i)))
            .count();
        assert!(false_positives < 1_500, "{false_positives} in 100,000");
        // 10 bits per key, rounded up to whole 64-byte blocks.
        assert_eq!(bloom.bytes(), (100_000u64 * 10).div_ceil(512) * 64);
    }
}

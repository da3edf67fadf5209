//! Where URLs wait to be fetched, in FIFO order (breadth first): per-host ordering and delays
//! are politeness's business, not the frontier's. Bounded in memory, the rest on disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use super::spill_dir::SpillDir;
use crate::codec::{read_framed, write_framed};
use crate::page::Request;

/// A FIFO frontier that keeps at most `memory_entries` requests in memory and the rest in
/// segment files on disk, in order. The oldest requests are in memory (`head`), then closed
/// segments, then the segment being written; a segment is read back whole when `head` runs dry.
/// An I/O error never loses a request: it stays in memory instead (and is logged).
pub struct Frontier {
    dir: SpillDir,
    memory_entries: usize,
    segment_entries: usize,
    head: VecDeque<Request>,
    closed: VecDeque<PathBuf>,
    writing: Option<(PathBuf, BufWriter<File>)>,
    written: usize,
    /// Requests that could not be written (disk full…): kept here, behind the disk ones.
    overflow: VecDeque<Request>,
    len: u64,
    segments_made: u64,
}

impl Frontier {
    /// Spills under `dir` (created when first needed, emptied of what a killed run left, removed on
    /// drop); `None` = a new directory under the system's temporary directory.
    pub fn new(dir: Option<PathBuf>, memory_entries: usize) -> Self {
        let memory_entries = memory_entries.max(2);
        Self {
            dir: SpillDir::new(dir, "frontier"),
            memory_entries,
            segment_entries: memory_entries / 2,
            head: VecDeque::new(),
            closed: VecDeque::new(),
            writing: None,
            written: 0,
            overflow: VecDeque::new(),
            len: 0,
            segments_made: 0,
        }
    }

    /// Requests held in memory now.
    pub fn in_memory(&self) -> usize {
        self.head.len() + self.overflow.len()
    }

    /// Segment files on disk now.
    #[cfg(test)]
    pub fn segments(&self) -> usize {
        self.closed.len() + usize::from(self.writing.is_some())
    }

    fn spilling(&self) -> bool {
        !self.closed.is_empty() || self.writing.is_some() || !self.overflow.is_empty()
    }

    fn write(&mut self, request: &Request) -> std::io::Result<()> {
        if self.writing.is_none() {
            let path = self
                .dir
                .file(&format!("segment-{:08}.bin", self.segments_made))?;
            self.segments_made += 1;
            self.writing = Some((path.clone(), BufWriter::new(File::create(&path)?)));
            self.written = 0;
        }
        if let Some((_, out)) = &mut self.writing {
            write_framed(out, request)?;
            self.written += 1;
        }
        if self.written >= self.segment_entries {
            self.close_segment()?;
        }
        Ok(())
    }

    fn close_segment(&mut self) -> std::io::Result<()> {
        if let Some((path, mut out)) = self.writing.take() {
            out.flush()?;
            self.closed.push_back(path);
        }
        Ok(())
    }

    /// Moves the oldest segment into memory.
    fn refill(&mut self) {
        if self.closed.is_empty() {
            if let Err(e) = self.close_segment() {
                tracing::error!("frontier segment: {e}");
            }
        }
        let Some(path) = self.closed.pop_front() else {
            // Nothing on disk: what could not be written comes next.
            self.head.append(&mut self.overflow);
            return;
        };
        match File::open(&path) {
            Ok(file) => {
                let mut reader = BufReader::new(file);
                while let Some(request) = read_framed(&mut reader) {
                    self.head.push_back(request);
                }
            }
            Err(e) => tracing::error!("frontier segment {}: {e}", path.display()),
        }
        let _ = std::fs::remove_file(&path);
    }
}

impl Frontier {
    pub fn push(&mut self, request: Request) {
        self.len += 1;
        if !self.spilling() && self.head.len() < self.memory_entries {
            self.head.push_back(request);
            return;
        }
        if self.overflow.is_empty() {
            match self.write(&request) {
                Ok(()) => return,
                Err(e) => tracing::error!(
                    "frontier spill to {}: {e}; keeping it in memory",
                    self.dir.path().display()
                ),
            }
        }
        self.overflow.push_back(request);
    }

    pub fn pop(&mut self) -> Option<Request> {
        if self.head.is_empty() && self.spilling() {
            self.refill();
        }
        let request = self.head.pop_front()?;
        self.len -= 1;
        Some(request)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Frontier {
    fn drop(&mut self) {
        self.writing = None;
        for path in self.closed.drain(..) {
            let _ = std::fs::remove_file(path);
        }
        // The directory itself goes with `self.dir`.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_urls_spill_in_order_with_bounded_memory() {
        let limit = 10_000;
        let mut frontier = Frontier::new(None, limit);
        let dir = frontier.dir.path().to_path_buf();
        let total = 1_000_000u32;
        for i in 0..total {
            let mut request = Request::new(format!("http://example.com/page/{i}"));
            request.depth = i % 7;
            frontier.push(request);
            assert!(frontier.in_memory() <= limit);
        }
        assert_eq!(frontier.len(), u64::from(total));
        assert!(frontier.segments() > 100, "spilled to disk");
        for i in 0..total {
            let request = frontier.pop().expect("nothing lost");
            assert_eq!(
                request.url,
                format!("http://example.com/page/{i}"),
                "order preserved"
            );
            assert_eq!(request.depth, i % 7);
            assert!(frontier.in_memory() <= limit);
            if i == total / 2 {
                frontier.push(Request::new("http://example.com/late"));
            }
        }
        assert_eq!(frontier.pop().unwrap().url, "http://example.com/late");
        assert!(frontier.pop().is_none() && frontier.is_empty());
        drop(frontier);
        assert!(!dir.exists(), "segments removed");
    }
}

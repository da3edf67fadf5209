//! The frontier's overflow: requests beyond its memory share, in segment files on disk, in the
//! order they came.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use crate::codec::{read_framed, write_framed};
use crate::page::Request;
use crate::schedule::spill_dir::SpillDir;

/// A FIFO of requests in segment files of `segment_entries` each: closed segments, then the one
/// being written. An I/O error never loses a request: it stays in memory instead (and is
/// logged), behind the ones on disk.
pub(super) struct Spill {
    dir: SpillDir,
    pub segment_entries: usize,
    closed: VecDeque<PathBuf>,
    writing: Option<(PathBuf, BufWriter<File>)>,
    written: usize,
    /// Requests that could not be written (disk full…).
    overflow: VecDeque<Request>,
    len: u64,
    segments_made: u64,
}

impl Spill {
    /// Spills under `dir` (created when first needed, emptied of what a killed run left,
    /// removed on drop); `None` = a new directory under the system's temporary directory.
    pub fn new(dir: Option<PathBuf>, segment_entries: usize) -> Self {
        Self {
            dir: SpillDir::new(dir, "frontier"),
            segment_entries: segment_entries.max(1),
            closed: VecDeque::new(),
            writing: None,
            written: 0,
            overflow: VecDeque::new(),
            len: 0,
            segments_made: 0,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Requests held in memory (those that could not be written).
    pub fn in_memory(&self) -> usize {
        self.overflow.len()
    }

    #[cfg(test)]
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Segment files on disk now.
    #[cfg(test)]
    pub fn segments(&self) -> usize {
        self.closed.len() + usize::from(self.writing.is_some())
    }

    pub fn push(&mut self, request: Request) {
        self.len += 1;
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

    /// The oldest segment's requests (or, with none on disk, those that could not be written).
    pub fn take_segment(&mut self) -> Vec<Request> {
        if self.closed.is_empty() {
            if let Err(e) = self.close_segment() {
                tracing::error!("frontier segment: {e}");
            }
        }
        let taken: Vec<Request> = match self.closed.pop_front() {
            None => self.overflow.drain(..).collect(),
            Some(path) => {
                let mut requests = Vec::with_capacity(self.segment_entries);
                match File::open(&path) {
                    Ok(file) => {
                        let mut reader = BufReader::new(file);
                        while let Some(request) = read_framed(&mut reader) {
                            requests.push(request);
                        }
                    }
                    Err(e) => tracing::error!("frontier segment {}: {e}", path.display()),
                }
                let _ = std::fs::remove_file(&path);
                requests
            }
        };
        self.len = self.len.saturating_sub(taken.len() as u64);
        if self.closed.is_empty() && self.writing.is_none() && self.overflow.is_empty() {
            self.len = 0; // a segment that could not be read back has been logged
        }
        taken
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
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.writing = None;
        for path in self.closed.drain(..) {
            let _ = std::fs::remove_file(path);
        }
        // The directory itself goes with `self.dir`.
    }
}

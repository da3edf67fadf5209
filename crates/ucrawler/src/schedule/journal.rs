//! The crawl journal, under `state_dir`: what lets a crawl killed with -9 go on with `resume`.
//!
//! - `enqueued.log`: every request the crawl queued (seeds and discovered links), appended and
//!   flushed *before* the page that found them is handed to the consumer;
//! - `done.log`: the fingerprint of every page the consumer has finished with, and of the new
//!   URL it was redirected to, if its links were followed from it — a page is acknowledged when
//!   the consumer asks for the next one, written at once (no buffer: it keeps pace with what the
//!   consumer wrote).
//!
//! On resume, everything enqueued or done is seen again and everything enqueued but not done is
//! queued again: nothing is lost, and only pages the consumer had not finished are fetched twice
//! (at most `concurrency + buffer` in flight or waiting for it, and the one it was handling).
//! A record torn by the kill (the end of a file) is ignored.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::codec;
use crate::error::JournalError;
use crate::page::Request;
use crate::url::fingerprint;

const ENQUEUED: &str = "enqueued.log";
const DONE: &str = "done.log";

/// The writer of `enqueued.log` (owned by the scheduler).
pub struct Journal {
    enqueued: BufWriter<File>,
}

/// Appends to `done.log` (owned by the consumer's `Crawl`).
pub struct DoneLog {
    file: File,
}

/// What an earlier run left: replayed into the new crawl's seen set and frontier.
pub struct Replay {
    /// Every request enqueued, in order, with whether it was done.
    pub requests: Vec<(Request, bool)>,
    /// Every URL done, by fingerprint: redirect targets among them were never enqueued.
    pub done: HashSet<u64>,
}

/// Opens the journal in `dir`, creating it; with `resume`, reads what is there. An earlier
/// crawl's journal is an error, unless this crawl is its next generation (`recrawl`): then it
/// is started afresh.
pub fn open(
    dir: &Path,
    resume: bool,
    recrawl: bool,
) -> Result<(Journal, DoneLog, Option<Replay>), JournalError> {
    let io_err = |e| JournalError::Io(dir.to_path_buf(), e);
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let enqueued_path = dir.join(ENQUEUED);
    let done_path = dir.join(DONE);
    let existing = std::fs::metadata(&enqueued_path)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    let replay = match (existing, resume) {
        (true, false) if recrawl => {
            for path in [&enqueued_path, &done_path] {
                File::create(path).map_err(io_err)?;
            }
            None
        }
        (true, false) => return Err(JournalError::NotEmpty(dir.to_path_buf())),
        (true, true) => Some(read(&enqueued_path, &done_path).map_err(io_err)?),
        (false, _) => None,
    };
    let append = |path: &Path| OpenOptions::new().create(true).append(true).open(path);
    let enqueued = BufWriter::new(append(&enqueued_path).map_err(io_err)?);
    let done = append(&done_path).map_err(io_err)?;
    Ok((Journal { enqueued }, DoneLog { file: done }, replay))
}

impl Journal {
    pub fn record(&mut self, request: &Request) -> io::Result<()> {
        codec::write_framed(&mut self.enqueued, request)
    }

    /// Makes what was recorded durable against a kill of the process.
    pub fn flush(&mut self) -> io::Result<()> {
        self.enqueued.flush()
    }
}

impl DoneLog {
    pub fn record(&mut self, fingerprint: u64) -> io::Result<()> {
        self.file.write_all(&fingerprint.to_le_bytes())
    }
}

fn read(enqueued: &Path, done: &Path) -> io::Result<Replay> {
    let enqueued = BufReader::new(File::open(enqueued)?);
    Ok(match File::open(done) {
        Ok(done) => replay(enqueued, BufReader::new(done)),
        // No done.log yet: nothing was acknowledged.
        Err(_) => replay(enqueued, io::empty()),
    })
}

/// What the two logs' bytes say (the untrusted part of a resume: the files may be torn by a
/// kill, truncated or garbage).
pub(crate) fn replay(mut enqueued: impl Read, mut done: impl Read) -> Replay {
    let mut done_set = HashSet::new();
    let mut buf = [0u8; 8];
    while done.read_exact(&mut buf).is_ok() {
        done_set.insert(u64::from_le_bytes(buf));
    }
    let mut requests = Vec::new();
    // Stops at the end, or at a record torn by the kill.
    while let Some(request) = codec::read_framed(&mut enqueued) {
        let done = done_set.contains(&fingerprint(&request.url));
        requests.push((request, done));
    }
    Replay {
        requests,
        done: done_set,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_what_was_not_done_and_ignores_a_torn_tail() {
        let dir = std::env::temp_dir().join(format!("ucrawler-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut journal, mut done, replay) = open(&dir, false, false).unwrap();
        assert!(replay.is_none());
        let a = Request::new("http://h/a").with_meta(&b"7"[..]);
        let mut b = Request::new("http://h/b");
        b.depth = 3;
        journal.record(&a).unwrap();
        journal.record(&b).unwrap();
        journal.flush().unwrap();
        done.record(fingerprint("http://h/a")).unwrap();
        drop((journal, done));
        // A torn record at the end, as a kill -9 mid-write leaves it.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join(ENQUEUED))
            .unwrap();
        file.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();

        assert!(matches!(
            open(&dir, false, false),
            Err(JournalError::NotEmpty(_))
        ));
        let (_, _, replay) = open(&dir, true, false).unwrap();
        let requests = replay.unwrap().requests;
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0], (a, true));
        assert_eq!(requests[1], (b, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

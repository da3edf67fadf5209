//! The visits log, under `state_dir`: every URL a crawl visited, with what it learned (its
//! [`LastVisit`]), so the next generation (`recrawl`) revisits each one conditionally.
//!
//! - `visits.next`: the generation under way, one framed item per page the consumer has
//!   finished with (appended when it asks for the next page, like `done.log`);
//! - `visits.log`: the last complete generation. A crawl that ends with nothing left to crawl
//!   renames `visits.next` over it; a crawl cut short leaves it as it was.
//!
//! A recrawl streams `visits.log` into the crawl as revisits (seeds with their last visit, at
//! their depth): memory stays bounded whatever the number of URLs.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::codec;
use crate::error::JournalError;
use crate::last_visit::{Change, LastVisit};
use crate::page::{Page, Request};

const VISITS: &str = "visits.log";
const NEXT: &str = "visits.next";

/// Appends the generation under way to `visits.next` (owned by the consumer's `Crawl`).
pub struct VisitLog {
    file: File,
    dir: PathBuf,
}

impl VisitLog {
    /// Opens `visits.next` in `dir`: continued with `resume`, else started afresh.
    pub fn open(dir: &Path, resume: bool) -> Result<Self, JournalError> {
        let io_err = |e| JournalError::Io(dir.to_path_buf(), e);
        let mut options = OpenOptions::new();
        options.create(true);
        if resume {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        let file = options.open(dir.join(NEXT)).map_err(io_err)?;
        Ok(Self {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// Records a visit (see [`visit_record`]).
    pub fn record(&mut self, visit: &Request) -> io::Result<()> {
        // One write per record: what the consumer finished with is on disk before the next.
        let mut frame = Vec::with_capacity(64 + visit.url.len());
        codec::write_framed(&mut frame, visit)?;
        self.file.write_all(&frame)
    }

    /// The generation is complete: it becomes the one the next recrawl starts from.
    pub fn promote(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        std::fs::rename(self.dir.join(NEXT), self.dir.join(VISITS))?;
        // Further records (none are expected) must not go to the renamed file.
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(NEXT))?;
        Ok(())
    }
}

/// What the next generation needs of a delivered page: its URL, depth, meta and last visit.
/// A page that is gone is not revisited; one that failed keeps the last visit it had (`None`:
/// nothing known, not recorded).
pub fn visit_record(page: &Page, carried: Option<Box<LastVisit>>) -> Option<Request> {
    let answered =
        page.error.is_none() && ((200..300).contains(&page.status) || page.status == 304);
    let last_visit = if answered {
        Box::new(page.last_visit())
    } else if page.change == Some(Change::Gone) {
        return None;
    } else {
        carried?
    };
    let mut request = Request::new(page.url.clone());
    request.depth = page.depth;
    request.meta = page.meta.clone();
    request.last_visit = Some(last_visit);
    Some(request)
}

/// The last complete generation's visits, read lazily (empty if there is none yet).
pub fn revisits(dir: &Path) -> Result<impl Iterator<Item = Request> + Send, JournalError> {
    let reader = match File::open(dir.join(VISITS)) {
        Ok(file) => Some(BufReader::with_capacity(64 * 1024, file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(JournalError::Io(dir.join(VISITS), e)),
    };
    // Stops at the end, or at a torn or unreadable record.
    Ok(reader
        .into_iter()
        .flat_map(|mut reader| std::iter::from_fn(move || codec::read_framed(&mut reader))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_visits(dir: &Path, visits: &[Request]) {
        let mut out = Vec::new();
        for visit in visits {
            codec::write_framed(&mut out, visit).unwrap();
        }
        std::fs::write(dir.join(VISITS), out).unwrap();
    }

    fn page(url: &str, status: u16) -> Page {
        Page {
            url: url.into(),
            status,
            depth: 2,
            etag: Some("\"e\"".into()),
            content_hash: Some("0123456789abcdef".into()),
            ..Page::default()
        }
    }

    #[test]
    fn records_what_the_next_generation_needs() {
        let ok = visit_record(&page("http://h/a", 200), None).unwrap();
        assert_eq!(ok.depth, 2);
        assert_eq!(ok.last_visit.unwrap().etag.as_deref(), Some("\"e\""));
        assert!(visit_record(&page("http://h/b", 304), None).is_some());
        let mut gone = page("http://h/c", 404);
        gone.error = Some(crate::CrawlError::HttpStatus(404));
        gone.change = Some(Change::Gone);
        let carried = Some(Box::new(LastVisit::default()));
        assert!(
            visit_record(&gone, carried.clone()).is_none(),
            "gone: dropped"
        );
        let mut failed = page("http://h/d", 0);
        failed.error = Some(crate::CrawlError::Timeout("t".into()));
        assert!(visit_record(&failed, None).is_none(), "nothing known");
        let kept = visit_record(&failed, carried).unwrap();
        assert_eq!(kept.last_visit.as_deref(), Some(&LastVisit::default()));
    }

    #[test]
    fn a_complete_generation_is_what_the_next_one_reads() {
        let dir = std::env::temp_dir().join(format!("ucrawler-visits-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(revisits(&dir).unwrap().count(), 0, "no generation yet");
        let first = visit_record(&page("http://h/a", 200), None).unwrap();
        write_visits(&dir, std::slice::from_ref(&first));
        let mut log = VisitLog::open(&dir, false).unwrap();
        let second = visit_record(&page("http://h/b", 200), None).unwrap();
        log.record(&second).unwrap();
        // Cut short: the last complete generation stays.
        assert_eq!(revisits(&dir).unwrap().collect::<Vec<_>>(), [first]);
        let mut log = VisitLog::open(&dir, true).unwrap();
        let third = visit_record(&page("http://h/c", 304), None).unwrap();
        log.record(&third).unwrap();
        log.promote().unwrap();
        assert_eq!(revisits(&dir).unwrap().collect::<Vec<_>>(), [second, third]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

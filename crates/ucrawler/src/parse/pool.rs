//! The parser pool: std threads doing the CPU work (charset decoding, HTML parsing, extraction),
//! so parsing never stalls the tokio reactor. A panic while handling one page becomes that
//! page's `Internal` error; the thread and the crawl go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use url::Url;

use super::extract::Extractor;
use super::page_builder::{build_page, failed_page};
use crate::error::{panic_message, Error};
use crate::last_visit::LastVisit;
use crate::memory::{Part, Reservation};
use crate::page::{Lease, Page, Request};
use crate::pipeline::{CrawlCtx, Delivered, Event, Fetched, Slot, WindowPermit};

/// A fetched page waiting to be parsed, with its place in the fetch window (given back when a
/// parser takes it).
pub(crate) struct ParseJob {
    pub page: FetchedPage,
    pub permit: WindowPermit,
}

/// A fetched page and what parsing it needs.
pub(crate) struct FetchedPage {
    pub ctx: Arc<CrawlCtx>,
    /// The crawler's extraction rules.
    pub extractor: Arc<Extractor>,
    pub request: Request,
    /// The request's URL as parsed by the scheduler (`None` if it did not parse).
    pub requested: Option<Url>,
    pub fetched: Fetched,
    pub slot: Slot,
}

impl ParseJob {
    /// A parser takes the job: its place in the fetch window is given back.
    fn start(self) -> FetchedPage {
        self.permit.taken(body_bytes(&self.page.fetched));
        self.page
    }
}

/// The parser threads and their queue. Clones submit to the same threads.
#[derive(Clone)]
pub(crate) struct ParserPool {
    jobs: Sender<ParseJob>,
    /// What a thread added by [`ParserPool::grow_to`] takes its jobs from.
    queue: Receiver<ParseJob>,
    threads: usize,
}

impl ParserPool {
    /// A pool with no thread yet (see [`ParserPool::grow_to`]).
    pub fn new() -> Self {
        // Unbounded in type only: every job holds a page slot, so the queue never exceeds them.
        let (jobs, queue) = crossbeam_channel::unbounded::<ParseJob>();
        Self {
            jobs,
            queue,
            threads: 0,
        }
    }

    /// Starts threads until there are `threads` (at least one); never stops any.
    pub fn grow_to(&mut self, threads: usize) -> Result<(), Error> {
        while self.threads < threads.max(1) {
            let queue = self.queue.clone();
            std::thread::Builder::new()
                .name(format!("ucrawler-parse-{}", self.threads))
                .spawn(move || work(queue))
                .map_err(|e| Error::Startup(format!("parser thread: {e}")))?;
            self.threads += 1;
        }
        Ok(())
    }

    pub fn submit(&self, job: ParseJob) {
        job.permit.queued(body_bytes(&job.page.fetched));
        if let Err(crossbeam_channel::SendError(job)) = self.jobs.send(job) {
            // No parser thread is left (cannot happen while the pool lives); fail the page
            // rather than lose it.
            let mut job = job.start();
            let page = failed_page(&job.request, &job.fetched, "parser pool is gone");
            let carried = (job.request.lease.take(), job.request.last_visit.take());
            finish(job.ctx, job.slot, page, Vec::new(), carried, job.fetched);
        }
    }
}

fn work(jobs: Receiver<ParseJob>) {
    // Ends when every handle on the pool is gone (the process-wide pool never goes).
    for job in jobs {
        let FetchedPage {
            ctx,
            extractor,
            mut request,
            requested,
            fetched,
            slot,
        } = job.start();
        if ctx.cancel.is_cancelled() {
            continue;
        }
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            build_page(&ctx, &extractor, &request, requested.as_ref(), &fetched)
        }));
        let (mut page, links) = match outcome {
            Ok(done) => done,
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                (failed_page(&request, &fetched, &message), Vec::new())
            }
        };
        page.timings.parse = started.elapsed();
        let carried = (request.lease.take(), request.last_visit.take());
        finish(ctx, slot, page, links, carried, fetched);
    }
}

fn finish(
    ctx: Arc<CrawlCtx>,
    slot: Slot,
    page: Page,
    links: Vec<Request>,
    (lease, last_visit): (Option<Lease>, Option<Box<LastVisit>>),
    fetched: Fetched,
) {
    // The body's memory goes back before the page moves on: once the scheduler has it, the
    // crawl may end, and a consumer reading the stats then must find nothing still held.
    drop(fetched);
    let counters = &ctx.counters;
    counters.pages.fetch_add(1, Relaxed);
    counters.bytes.fetch_add(page.bytes, Relaxed);
    counters.record_history(page.error.is_some());
    if let Some(error) = &page.error {
        counters.record_error(error);
        counters.sample_error(&page.url, error);
    }
    if let Some(change) = page.change {
        counters.record_change(change);
    }
    if page.status == 304 {
        counters.not_modified.fetch_add(1, Relaxed);
    }
    // Through the scheduler, which queues (and journals) the links before the page goes out.
    let final_url = (page.final_url != page.url).then(|| page.final_url.clone());
    let mut memory = Reservation::empty(ctx.budget.clone(), Part::Pages);
    memory.force_grow(page.memory_bytes());
    let delivered = Box::new(Delivered {
        page,
        slot,
        memory,
        lease,
        covers_target: false,
        last_visit,
    });
    let _ = ctx.events.send(Event::Parsed {
        final_url,
        links,
        delivered,
    });
}

/// What a page's body weighs in the parsers' queue.
fn body_bytes(fetched: &Fetched) -> u64 {
    fetched.body.as_ref().map_or(0, |body| body.len() as u64)
}

//! The parser pool: std threads doing the CPU work (charset decoding, HTML parsing, extraction),
//! so parsing never stalls the tokio reactor. A panic while handling one page becomes that
//! page's `Internal` error; the thread and the crawl go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use url::Url;

use crate::charset;
use crate::crawl::{CrawlCtx, Delivered, Event, Slot};
use crate::error::{CrawlError, Error};
use crate::fetch::Fetched;
use crate::fetch_window::WindowPermit;
use crate::frontier::Lease;
use crate::memory::{Part, Reservation};
use crate::page::{Page, Request};

/// A fetched page waiting to be parsed.
pub(crate) struct ParseJob {
    pub ctx: Arc<CrawlCtx>,
    pub request: Request,
    pub fetched: Fetched,
    pub slot: Slot,
    /// Its place in the fetch window, given back when a parser takes it.
    pub permit: WindowPermit,
}

impl ParseJob {
    /// A parser takes the job: its place in the fetch window is given back.
    fn start(self) -> (Arc<CrawlCtx>, Request, Fetched, Slot) {
        let ParseJob {
            ctx,
            request,
            fetched,
            slot,
            permit,
        } = self;
        permit.taken(body_bytes(&fetched));
        (ctx, request, fetched, slot)
    }
}

pub(crate) struct ParserPool {
    jobs: Sender<ParseJob>,
}

impl ParserPool {
    pub fn new(threads: usize) -> Result<Self, Error> {
        // Unbounded in type only: every job holds a page slot, so the queue never exceeds them.
        let (jobs, receiver) = crossbeam_channel::unbounded::<ParseJob>();
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("ucrawler-parse-{i}"))
                .spawn(move || work(receiver))
                .map_err(|e| Error::Startup(format!("parser thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    pub fn submit(&self, job: ParseJob) {
        job.permit.queued(body_bytes(&job.fetched));
        if let Err(crossbeam_channel::SendError(job)) = self.jobs.send(job) {
            // No parser thread is left (cannot happen while the pool lives); fail the page
            // rather than lose it.
            let (ctx, mut request, fetched, slot) = job.start();
            let page = failed_page(&request, &fetched, "parser pool is gone");
            finish(ctx, slot, page, Vec::new(), request.lease.take(), fetched);
        }
    }
}

fn work(jobs: Receiver<ParseJob>) {
    // Ends when the pool (its sender) is dropped.
    for job in jobs {
        let (ctx, mut request, fetched, slot) = job.start();
        if ctx.cancel.is_cancelled() {
            continue;
        }
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| build_page(&ctx, &request, &fetched)));
        let (mut page, links) = match outcome {
            Ok(done) => done,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic while parsing".to_string());
                (failed_page(&request, &fetched, &message), Vec::new())
            }
        };
        page.timings.parse = started.elapsed();
        finish(ctx, slot, page, links, request.lease.take(), fetched);
    }
}

fn finish(
    ctx: Arc<CrawlCtx>,
    slot: Slot,
    page: Page,
    links: Vec<Request>,
    lease: Option<Lease>,
    fetched: Fetched,
) {
    // The body's memory goes back before the page moves on: once the scheduler has it, the
    // crawl may end, and a consumer reading the stats then must find nothing still held.
    drop(fetched);
    let counters = &ctx.counters;
    counters.pages.fetch_add(1, Relaxed);
    counters.bytes.fetch_add(page.bytes, Relaxed);
    if let Some(error) = &page.error {
        counters.record_error(error);
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

fn failed_page(request: &Request, fetched: &Fetched, message: &str) -> Page {
    let mut page = base_page(request, fetched);
    page.error = Some(CrawlError::Internal(message.to_string()));
    page
}

fn base_page(request: &Request, fetched: &Fetched) -> Page {
    Page {
        url: request.url.clone(),
        final_url: fetched
            .final_url
            .as_ref()
            .map_or_else(|| request.url.clone(), Url::to_string),
        status: fetched.status,
        content_type: fetched.content_type.clone(),
        headers: fetched.headers.clone(),
        depth: request.depth,
        meta: request.meta.clone(),
        bytes: fetched.bytes,
        truncated: fetched.truncated,
        attempts: fetched.attempts,
        error: fetched.error.clone(),
        timings: crate::page::Timings {
            fetch: fetched.elapsed,
            ..Default::default()
        },
        ..Page::default()
    }
}

/// Decodes and extracts one page; returns it with the links to follow.
fn build_page(ctx: &CrawlCtx, request: &Request, fetched: &Fetched) -> (Page, Vec<Request>) {
    let mut page = base_page(request, fetched);
    let (Some(body), Some(final_url)) = (&fetched.body, &fetched.final_url) else {
        return (page, Vec::new());
    };
    let html = charset::decode(body, fetched.content_type.as_deref());
    // The DOM's memory was reserved with the body (see fetch), so parsing stays in budget.
    let extracted = ctx.extractor.extract(&html, final_url);
    let follow = page.error.is_none()
        && (200..300).contains(&page.status)
        && !extracted.nofollow
        && ctx.config.depth.is_none_or(|limit| request.depth < limit);
    let mut to_follow = Vec::new();
    if follow {
        let requested = Url::parse(&request.url).unwrap_or_else(|_| final_url.clone());
        for link in &extracted.links {
            if ctx.scope.allows(link, &requested, final_url) {
                to_follow.push(Request {
                    url: link.to_string(),
                    depth: request.depth + 1,
                    meta: request.meta.clone(),
                    attempts: 0,
                    lease: None,
                });
            } else {
                ctx.counters.out_of_scope.fetch_add(1, Relaxed);
            }
        }
    }
    page.title = extracted.title;
    page.description = extracted.description;
    page.canonical = extracted.canonical;
    page.noindex = extracted.noindex;
    page.nofollow = extracted.nofollow;
    page.links = extracted.links.into_iter().map(String::from).collect();
    page.extracted = extracted.extracted;
    if ctx.config.keep_body {
        page.body = Some(html.into_owned());
    }
    (page, to_follow)
}

//! `Crawl`: one running crawl as seen by its consumer — a blocking iterator, an async `Stream`,
//! or `next_timeout` for bindings that must wake up to check interrupts. Dropping it cancels.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use futures::task::AtomicWaker;
use futures::Stream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::Runtime;
use crate::frontier::{Lease, Outcome};
use crate::guard::AddressGuard;
use crate::journal::DoneLog;
use crate::memory::{MemoryBudget, Reservation};
use crate::page::{Page, Request};
use crate::parse::Extractor;
use crate::remote::{Command, Remote};
use crate::robots::RobotsCache;
use crate::stats::{Counters, Stats};
use crate::url::Scope;

/// A page slot: taken before a page is fetched, given back when its consumer takes the page (or
/// when the page is dropped on the way). The number of slots bounds what a slow consumer makes
/// the engine hold: `concurrency + buffer` pages.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
}

impl Slot {
    pub fn new(permit: OwnedSemaphorePermit, counters: Arc<Counters>) -> Self {
        counters.hold();
        Self {
            _permit: permit,
            counters,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counters.release();
    }
}

/// A finished page on its way to the consumer, with the slot and the memory it occupies.
pub(crate) struct Delivered {
    pub page: Page,
    pub slot: Slot,
    pub memory: Reservation,
    /// Its request's lease in a Redis frontier, acknowledged once the consumer is done with it.
    pub lease: Option<Lease>,
}

/// Messages to the scheduler.
pub(crate) enum Event {
    /// A transient failure: fetch this request again once its host's pause is over.
    Retry { host: String, request: Request },
    /// A page went through the parser: these links were found, in scope, to be deduplicated;
    /// `final_url` is where it was redirected to, if anywhere. The scheduler delivers the page
    /// once its links are queued (and journaled).
    Parsed {
        final_url: Option<String>,
        links: Vec<Request>,
        delivered: Box<Delivered>,
    },
}

/// Everything the stages of one crawl share. When the last reference goes (scheduler finished,
/// no page in any stage), the results channel closes and the consumer sees the end.
pub(crate) struct CrawlCtx {
    shared: Shared,
    pub counters: Arc<Counters>,
    pub cancel: CancellationToken,
    pub events: mpsc::UnboundedSender<Event>,
    results: Option<Sender<Delivered>>,
    waker: Arc<AtomicWaker>,
    /// With a Redis frontier: the agent that talks to Redis for this crawl.
    pub remote: Option<Arc<Remote>>,
}

/// The parts of a crawler every crawl shares (config, rules, robots cache, address guard and
/// memory budget); a crawl's context reads them through `Deref`.
#[derive(Clone)]
pub(crate) struct Shared {
    pub config: Arc<Config>,
    pub extractor: Arc<Extractor>,
    pub scope: Arc<Scope>,
    pub robots: Arc<RobotsCache>,
    pub guard: Arc<AddressGuard>,
    pub budget: Arc<MemoryBudget>,
}

impl std::ops::Deref for CrawlCtx {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl CrawlCtx {
    pub fn new(
        shared: &Shared,
        counters: Arc<Counters>,
        events: mpsc::UnboundedSender<Event>,
        results: Sender<Delivered>,
    ) -> Self {
        Self {
            shared: shared.clone(),
            counters,
            cancel: CancellationToken::new(),
            events,
            results: Some(results),
            waker: Arc::new(AtomicWaker::new()),
            remote: None,
        }
    }

    /// Hands a page to the consumer. The channel's capacity is not its bound: every item holds a
    /// slot, so it never holds more than the slots allow, and sending never blocks a stage.
    pub fn deliver(&self, delivered: Delivered) {
        if let Some(results) = &self.results {
            // An Err means the consumer is gone; the page (and its slot) is simply dropped.
            let _ = results.send(delivered);
        }
        self.waker.wake();
    }
}

impl Drop for CrawlCtx {
    fn drop(&mut self) {
        // Close the channel first, then wake an async consumer so it sees the end.
        drop(self.results.take());
        self.waker.wake();
    }
}

/// The outcome of waiting for a page with a time limit.
#[derive(Debug)]
pub enum Next {
    Page(Box<Page>),
    /// Nothing arrived in time; the crawl goes on.
    Pending,
    /// The crawl is over.
    Finished,
}

/// A running crawl. Iterate it for pages; drop it (or call [`Crawl::cancel`]) to stop it.
pub struct Crawl {
    results: Receiver<Delivered>,
    counters: Arc<Counters>,
    budget: Arc<MemoryBudget>,
    cancel: CancellationToken,
    waker: Arc<AtomicWaker>,
    seeds: Option<mpsc::Sender<Request>>,
    /// With a journal: pages taken and not yet acknowledged (on the consumer's next call).
    done: Option<DoneLog>,
    unacked: Vec<u64>,
    /// With a Redis frontier: where acknowledgements go, and the leases taken and not yet
    /// acknowledged (on the consumer's next call).
    remote: Option<Arc<Remote>>,
    unacked_leases: Vec<(Lease, Outcome)>,
    // Keeps threads and connections alive while pages are still coming.
    runtime: Arc<Runtime>,
}

/// A seed could not be queued now: the seed buffer is full (try again after taking pages) or the
/// crawl is over.
#[derive(Debug)]
pub enum FeedError {
    Full(Request),
    Closed(Request),
}

impl Crawl {
    pub(crate) fn new(
        results: Receiver<Delivered>,
        ctx: Arc<CrawlCtx>,
        runtime: Arc<Runtime>,
    ) -> Self {
        Self {
            results,
            counters: ctx.counters.clone(),
            budget: ctx.budget.clone(),
            cancel: ctx.cancel.clone(),
            waker: ctx.waker.clone(),
            seeds: None,
            done: None,
            unacked: Vec::new(),
            remote: ctx.remote.clone(),
            unacked_leases: Vec::new(),
            runtime,
        }
    }

    pub(crate) fn set_done_log(&mut self, done: DoneLog) {
        self.done = Some(done);
    }

    /// The consumer asks for more: it has finished with the pages it took before.
    fn ack(&mut self) {
        if let Some(remote) = &self.remote {
            for (lease, outcome) in self.unacked_leases.drain(..) {
                let _ = remote.commands.send(Command::Ack(lease, outcome));
            }
        }
        let Some(done) = &mut self.done else { return };
        for fingerprint in self.unacked.drain(..) {
            if let Err(e) = done.record(fingerprint) {
                tracing::error!("cannot write the crawl journal: {e}");
            }
        }
    }

    fn take(&mut self, mut delivered: Delivered) -> Page {
        if let Some(lease) = delivered.lease.take() {
            let outcome = match delivered.page.error {
                None => Outcome::Done,
                Some(_) => Outcome::Failed,
            };
            self.unacked_leases.push((lease, outcome));
        }
        let page = take(delivered);
        if self.done.is_some() {
            self.unacked.push(crate::url::fingerprint(&page.url));
        }
        page
    }

    pub(crate) fn set_seed_sender(&mut self, sender: mpsc::Sender<Request>) {
        self.seeds = Some(sender);
    }

    /// Queues a seed without blocking (crawls started with `Crawler::open`).
    pub fn feed(&self, request: Request) -> Result<(), FeedError> {
        let Some(seeds) = &self.seeds else {
            return Err(FeedError::Closed(request));
        };
        seeds.try_send(request).map_err(|e| match e {
            mpsc::error::TrySendError::Full(r) => FeedError::Full(r),
            mpsc::error::TrySendError::Closed(r) => FeedError::Closed(r),
        })
    }

    /// How many more seeds `feed` accepts right now.
    pub fn seed_capacity(&self) -> usize {
        self.seeds.as_ref().map_or(0, |s| s.capacity())
    }

    /// Declares that no more seeds will come: the crawl ends once they and what they lead to
    /// are done.
    pub fn close_seeds(&mut self) {
        self.seeds = None;
    }

    /// Stops the crawl: nothing new is fetched, pages under way are dropped.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.counters.snapshot();
        stats.memory = self.budget.stats();
        stats.fetch_window = self.runtime.window.size() as u64;
        stats
    }

    /// Waits up to `timeout` for the next page.
    pub fn next_timeout(&mut self, timeout: Duration) -> Next {
        self.ack();
        match self.results.recv_timeout(timeout) {
            Ok(delivered) => Next::Page(Box::new(self.take(delivered))),
            Err(RecvTimeoutError::Timeout) => Next::Pending,
            Err(RecvTimeoutError::Disconnected) => Next::Finished,
        }
    }

    /// Takes up to `max` pages that are ready now, without waiting (part of the same request
    /// for pages as the call before it: nothing is acknowledged here).
    pub fn drain_ready(&mut self, max: usize, into: &mut Vec<Page>) {
        while into.len() < max {
            match self.results.try_recv() {
                Ok(delivered) => into.push(self.take(delivered)),
                Err(_) => break,
            }
        }
    }
}

fn take(delivered: Delivered) -> Page {
    let Delivered {
        page, slot, memory, ..
    } = delivered;
    // The consumer has it now: the engine no longer holds it.
    drop(slot);
    drop(memory);
    page
}

impl Iterator for Crawl {
    type Item = Page;

    fn next(&mut self) -> Option<Page> {
        self.ack();
        let delivered = self.results.recv().ok()?;
        Some(self.take(delivered))
    }
}

/// A crawl as an async `Stream` of pages ([`Crawl::into_stream`]). Dropping it cancels the crawl.
pub struct PageStream {
    crawl: Crawl,
}

impl PageStream {
    /// The crawl behind the stream, for `stats()` and `cancel()`.
    pub fn crawl(&self) -> &Crawl {
        &self.crawl
    }
}

impl Crawl {
    /// The pages as an async `Stream`, for callers inside an async runtime: waiting never blocks
    /// a thread.
    pub fn into_stream(self) -> PageStream {
        PageStream { crawl: self }
    }
}

impl Stream for PageStream {
    type Item = Page;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Page>> {
        let crawl = &mut self.get_mut().crawl;
        crawl.ack();
        for attempt in 0..2 {
            match crawl.results.try_recv() {
                Ok(delivered) => return Poll::Ready(Some(crawl.take(delivered))),
                Err(TryRecvError::Disconnected) => return Poll::Ready(None),
                // Register, then look once more: a page sent in between is not missed.
                Err(TryRecvError::Empty) if attempt == 0 => crawl.waker.register(cx.waker()),
                Err(TryRecvError::Empty) => {}
            }
        }
        Poll::Pending
    }
}

impl Drop for Crawl {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

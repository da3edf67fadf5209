//! `Crawl`: one running crawl as seen by its consumer — a blocking iterator, an async `Stream`,
//! or `next_timeout` for bindings that must wake up to check interrupts. Dropping it cancels.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use futures::task::AtomicWaker;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::distributed::{AgentHandle, Command, Outcome, VisitUpdate};
use crate::fetch::{add_browser_stats, ConnectionLimit, Renderer};
use crate::last_visit::Change;
use crate::memory::MemoryBudget;
use crate::page::{Lease, Page, Request};
use crate::pipeline::{CrawlCtx, Delivered, FetchWindow};
use crate::politeness::HostGate;
use crate::runtime::Runtime;
use crate::schedule::visits::visit_record;
use crate::schedule::{DoneLog, VisitLog};
use crate::stats::{Counters, HostsSnapshot, Stats, StatsSource};
use crate::url::fingerprint;

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
    /// For the stats. Not the crawler's runtime: its connections go when its last crawl ends,
    /// even if the consumer keeps this (as Ruby does until its GC runs).
    live: Arc<LiveStats>,
    cancel: CancellationToken,
    waker: Arc<AtomicWaker>,
    seeds: Option<mpsc::Sender<Request>>,
    /// With a journal: pages taken and not yet acknowledged (on the consumer's next call).
    done: Option<DoneLog>,
    unacked: Vec<u64>,
    /// With a state_dir: the generation's visits, recorded with their acknowledgement.
    visits: Option<VisitLog>,
    unacked_visits: Vec<Request>,
    /// With a Redis frontier: where acknowledgements go, and the leases taken and not yet
    /// acknowledged (on the consumer's next call).
    agent: Option<Arc<AgentHandle>>,
    unacked_leases: Vec<(Lease, Outcome, VisitUpdate)>,
}

/// A crawl's stats as they are now: its counters plus what it shares with its crawler (memory
/// budget, fetch window, descriptors) and the process (the host gate). Read by `stats()` and by
/// a shared crawl's heartbeats. Holds none of the crawler's connections, so a consumer that
/// keeps it (as Ruby does until its GC runs) keeps nothing else alive.
pub(crate) struct LiveStats {
    counters: Arc<Counters>,
    budget: Arc<MemoryBudget>,
    window: Arc<FetchWindow>,
    descriptors: Arc<ConnectionLimit>,
    hosts: Arc<HostGate>,
    /// With `render`: the process's browser.
    browser: Option<Arc<Renderer>>,
}

impl LiveStats {
    pub fn new(
        counters: Arc<Counters>,
        budget: Arc<MemoryBudget>,
        runtime: &Runtime,
        browser: Option<Arc<Renderer>>,
    ) -> Self {
        Self {
            counters,
            budget,
            window: runtime.window.clone(),
            descriptors: runtime.connections.limit().clone(),
            hosts: runtime.hosts.clone(),
            browser,
        }
    }
}

impl StatsSource for LiveStats {
    fn stats(&self) -> Stats {
        let mut stats = self.counters.snapshot();
        stats.memory = self.budget.stats();
        stats.fetch_window = self.window.size() as u64;
        stats.descriptors = self.descriptors.stats();
        let hosts = self.hosts.snapshot(0);
        (stats.hosts_active, stats.hosts_paused) = (hosts.active, hosts.paused);
        (stats.redis_calls, stats.redis_seconds) = crate::distributed::redis::round_trips();
        if let Some(browser) = &self.browser {
            add_browser_stats(browser, &mut stats.render);
        }
        stats
    }

    fn hosts(&self, top: usize) -> HostsSnapshot {
        self.hosts.snapshot(top)
    }
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
        live: Arc<LiveStats>,
    ) -> Self {
        Self {
            results,
            counters: ctx.counters.clone(),
            live,
            cancel: ctx.cancel.clone(),
            waker: ctx.waker.clone(),
            seeds: None,
            done: None,
            unacked: Vec::new(),
            visits: None,
            unacked_visits: Vec::new(),
            agent: ctx.agent.clone(),
            unacked_leases: Vec::new(),
        }
    }

    pub(crate) fn set_logs(&mut self, done: DoneLog, visits: VisitLog) {
        self.done = Some(done);
        self.visits = Some(visits);
    }

    /// The consumer asks for more: it has finished with the pages it took before.
    fn ack(&mut self) {
        if let Some(agent) = &self.agent {
            for (lease, outcome, visit) in self.unacked_leases.drain(..) {
                let _ = agent.commands.send(Command::Ack(lease, outcome, visit));
            }
        }
        if let Some(visits) = &mut self.visits {
            for visit in self.unacked_visits.drain(..) {
                if let Err(e) = visits.record(&visit) {
                    tracing::error!("cannot write the visits log: {e}");
                }
            }
        }
        let Some(done) = &mut self.done else { return };
        for fingerprint in self.unacked.drain(..) {
            if let Err(e) = done.record(fingerprint) {
                tracing::error!("cannot write the crawl journal: {e}");
            }
        }
    }

    /// The pages have all come out (and were acknowledged by the call that found out): a crawl
    /// that ran out of work is a complete generation for the next recrawl.
    fn ended(&mut self) {
        let Some(visits) = &mut self.visits else {
            return;
        };
        if self.counters.snapshot().end_reason == Some(crate::EndReason::Finished) {
            if let Err(e) = visits.promote() {
                tracing::error!("cannot keep the visits log for the next recrawl: {e}");
            }
        }
        self.visits = None;
    }

    fn take(&mut self, mut delivered: Delivered) -> Page {
        let lease = delivered.lease.take();
        let covers_target = delivered.covers_target;
        let carried = delivered.last_visit.take();
        let page = take(delivered);
        let visit = (lease.is_some() || self.visits.is_some())
            .then(|| visit_record(&page, carried))
            .flatten();
        if let Some(lease) = lease {
            let outcome = match page.error {
                None => Outcome::Done,
                Some(_) => Outcome::Failed,
            };
            let visit = match &visit {
                Some(visit) => VisitUpdate::Record(visit.clone()),
                None if page.change == Some(Change::Gone) => VisitUpdate::Forget(page.url.clone()),
                None => VisitUpdate::Keep,
            };
            self.unacked_leases.push((lease, outcome, visit));
        }
        if self.visits.is_some() {
            self.unacked_visits.extend(visit);
        }
        if self.done.is_some() {
            self.unacked.push(fingerprint(&page.url));
            if covers_target {
                // Its redirect's target was crawled with it (never enqueued on its own).
                self.unacked.push(fingerprint(&page.final_url));
            }
        }
        page
    }

    pub(crate) fn set_seed_sender(&mut self, sender: mpsc::Sender<Request>) {
        self.seeds = Some(sender);
    }

    /// Queues a seed without blocking (crawls started with `Crawler::open`).
    // The error hands the request back: boxing it would allocate on every refused feed.
    #[allow(clippy::result_large_err)]
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
        self.live.stats()
    }

    /// Waits up to `timeout` for the next page.
    pub fn next_timeout(&mut self, timeout: Duration) -> Next {
        self.ack();
        match self.results.recv_timeout(timeout) {
            Ok(delivered) => Next::Page(Box::new(self.take(delivered))),
            Err(RecvTimeoutError::Timeout) => Next::Pending,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended();
                Next::Finished
            }
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
        let Ok(delivered) = self.results.recv() else {
            self.ended();
            return None;
        };
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
                Err(TryRecvError::Disconnected) => {
                    crawl.ended();
                    return Poll::Ready(None);
                }
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
        // A shared crawl's agent still sends acknowledgements and gives back leases: wait for
        // it (bounded), unless dropped inside an async runtime, which must not block.
        if let Some(agent) = &self.agent {
            if tokio::runtime::Handle::try_current().is_err() {
                agent.wait_ended();
            }
        }
    }
}

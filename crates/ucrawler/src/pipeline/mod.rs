//! The plumbing between the stages of one crawl: the page slots that bound what a slow consumer
//! makes the engine hold, the fetch window over pages between dispatch and a parser, what the
//! fetch stage hands to the parsers ([`Fetched`]), the events the stages send back to the
//! scheduler, and the context every stage of a crawl shares.

mod fetch_window;
mod fetched;

pub(crate) use fetch_window::{FetchWindow, WindowPermit};
pub(crate) use fetched::Fetched;

use std::sync::Arc;

use crossbeam_channel::Sender;
use futures::task::AtomicWaker;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::distributed::AgentHandle;
use crate::last_visit::LastVisit;
use crate::memory::{MemoryBudget, Reservation};
use crate::page::{Lease, Page, Request};
use crate::politeness::{AddressGuard, RobotsCache};
use crate::stats::Counters;
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
    /// It was redirected to a URL not seen before, whose links were followed from it: that URL
    /// is done when it is (set by the scheduler).
    pub covers_target: bool,
    /// Its request's last visit, kept for the next generation if this visit learned nothing.
    pub last_visit: Option<Box<LastVisit>>,
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
    /// Requests a sitemap or a site's robots.txt gave (pages at their depth, or more
    /// sitemaps), with the memory the batch holds until they are queued.
    Found {
        links: Vec<Request>,
        _memory: Reservation,
    },
    /// A dispatched request that delivers no page (a sitemap) is done; in a shared crawl it is
    /// acknowledged with its lease.
    Ended { lease: Option<Lease> },
}

/// Everything the stages of one crawl share. When the last reference goes (scheduler finished,
/// no page in any stage), the results channel closes and the consumer sees the end.
pub(crate) struct CrawlCtx {
    shared: Shared,
    pub counters: Arc<Counters>,
    pub cancel: CancellationToken,
    pub events: mpsc::UnboundedSender<Event>,
    results: Option<Sender<Delivered>>,
    pub waker: Arc<AtomicWaker>,
    /// With a Redis frontier: the agent that talks to Redis for this crawl.
    pub agent: Option<Arc<AgentHandle>>,
}

/// The parts of a crawler every crawl shares (config, scope, robots cache, address guard,
/// memory budget and render tabs); a crawl's context reads them through `Deref`.
#[derive(Clone)]
pub(crate) struct Shared {
    pub config: Arc<Config>,
    pub scope: Arc<Scope>,
    pub robots: Arc<RobotsCache>,
    pub guard: Arc<AddressGuard>,
    pub budget: Arc<MemoryBudget>,
    /// The crawler's places for pages rendering in Chromium (`render_tabs`).
    pub render_tabs: Arc<tokio::sync::Semaphore>,
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
            agent: None,
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

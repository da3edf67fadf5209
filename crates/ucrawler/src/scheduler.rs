//! The scheduler: one tokio task per crawl that owns the frontier, the seen set and the per-host
//! politeness table (so none of them needs a lock), admits fetches under the page slots and the
//! global concurrency limit, and decides when the crawl is over.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::crawl::{CrawlCtx, Event, Slot};
use crate::engine::Runtime;
use crate::fetch::{backoff, fetch, FetchContext, Fetched};
use crate::frontier::{Frontier, SpillFrontier};
use crate::journal::{Journal, Replay};
use crate::memory::Part;
use crate::page::Request;
use crate::parser_pool::ParseJob;
use crate::politeness::Hosts;
use crate::seen::SeenSet;
use crate::stats::EndReason;
use crate::url::{fingerprint, host_key, parse_seed};

/// Seeds are pulled from the caller only while the frontier is shorter than this, so a lazy
/// source of millions of seeds is never drained into memory ahead of the crawl.
const SEED_LOW_WATER: u64 = 4096;
/// How often admission looks at the memory budget again while it is spent.
const MEMORY_RECHECK: Duration = Duration::from_millis(10);
/// Requests parked for busy hosts, at most.
const PARK_LIMIT: usize = 4096;

pub(crate) struct Scheduler {
    ctx: Arc<CrawlCtx>,
    runtime: Arc<Runtime>,
    events: mpsc::UnboundedReceiver<Event>,
    seeds: mpsc::Receiver<Request>,
    slots: Arc<Semaphore>,
    frontier: SpillFrontier,
    seen: SeenSet,
    hosts: Hosts,
    /// Dispatched pages whose `Parsed` event has not come back yet.
    outstanding: u64,
    dispatched: u64,
    seeds_open: bool,
    /// Bytes of the requests waiting (frontier and parked), for the memory budget.
    queued_bytes: u64,
    /// (frontier, seen set) bytes last accounted in the budget.
    published: (u64, u64),
    journal: Option<Journal>,
    /// Continuing a journaled crawl: seeds already seen are not fetched again.
    resumed: bool,
}

/// What a queued request costs in memory.
fn request_bytes(request: &Request) -> u64 {
    (std::mem::size_of::<Request>()
        + request.url.len()
        + request.meta.as_ref().map_or(0, |m| m.len())) as u64
}

/// A request chosen to go next, waiting for its permits.
struct Ready {
    host: String,
    request: Request,
}

impl Scheduler {
    pub fn new(
        ctx: Arc<CrawlCtx>,
        runtime: Arc<Runtime>,
        events: mpsc::UnboundedReceiver<Event>,
        seeds: mpsc::Receiver<Request>,
    ) -> Self {
        let config = &ctx.config;
        let slots = Arc::new(Semaphore::new(config.concurrency + config.buffer));
        let hosts = Hosts::new(config.per_host, config.delay, PARK_LIMIT);
        let spill_dir = config.state_dir.as_ref().map(|dir| dir.join("frontier"));
        let frontier = SpillFrontier::new(spill_dir, config.frontier_memory);
        Self {
            ctx,
            runtime,
            events,
            seeds,
            slots,
            frontier,
            seen: SeenSet::new(),
            hosts,
            outstanding: 0,
            dispatched: 0,
            seeds_open: true,
            queued_bytes: 0,
            published: (0, 0),
            journal: None,
            resumed: false,
        }
    }

    /// Journals this crawl; with a replay, continues the crawl journaled before.
    pub fn set_journal(&mut self, journal: Journal, replay: Option<Replay>) {
        if let Some(replay) = replay {
            self.resumed = true;
            for (request, done) in replay.requests {
                if self.seen.insert(fingerprint(&request.url)) && !done {
                    self.queued_bytes += request_bytes(&request);
                    self.frontier.push(request);
                }
            }
            self.publish_sizes();
        }
        self.journal = Some(journal);
    }

    fn journal(&mut self, request: &Request) {
        if let Some(journal) = &mut self.journal {
            if let Err(e) = journal.record(request) {
                tracing::error!("cannot write the crawl journal: {e}");
            }
        }
    }

    pub async fn run(mut self) {
        let reason = self.schedule().await;
        if matches!(reason, EndReason::Deadline | EndReason::Stalled) {
            // Stop the fetches and parses still under way too.
            self.ctx.cancel.cancel();
        }
        self.ctx.counters.end(reason);
        self.ctx.counters.frontier.store(0, Relaxed);
        // This crawl's frontier and seen set are gone.
        let budget = &self.ctx.budget;
        budget.adjust(Part::Frontier, self.published.0, 0);
        budget.adjust(Part::Seen, self.published.1, 0);
        self.published = (0, 0);
    }

    async fn schedule(&mut self) -> EndReason {
        let config = self.ctx.config.clone();
        let max_pages = config.max_pages.unwrap_or(u64::MAX);
        let deadline = config.deadline.and_then(|d| Instant::now().checked_add(d));
        let slots_total = (config.concurrency + config.buffer) as u64;
        let mut next: Option<Ready> = None;
        let mut last_progress = Instant::now();
        let mut releases = self.ctx.counters.releases.load(Relaxed);
        loop {
            if next.is_none() && self.dispatched < max_pages {
                next = self.pick(Instant::now());
            }
            let nothing_left =
                !self.seeds_open && self.frontier.is_empty() && self.hosts.parked() == 0;
            let limit_reached = self.dispatched >= max_pages;
            if self.outstanding == 0 && next.is_none() && (nothing_left || limit_reached) {
                return if nothing_left {
                    EndReason::Finished
                } else {
                    EndReason::MaxPages
                };
            }
            let wake_at = if next.is_none() && self.dispatched < max_pages {
                self.hosts.next_wakeup()
            } else {
                None
            };
            let watchdog_at = [deadline, last_progress.checked_add(config.stall_timeout)]
                .into_iter()
                .flatten()
                .min();
            let want_seeds =
                self.seeds_open && !limit_reached && self.frontier.len() < SEED_LOW_WATER;
            let over_budget = self.outstanding > 0 && self.ctx.budget.is_over();
            let cancel = self.ctx.cancel.clone();
            let slots = self.slots.clone();
            let fetch_permits = self.runtime.fetch_permits.clone();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return EndReason::Cancelled,
                Some(event) = self.events.recv() => self.handle(event),
                // Over max_memory nothing new starts while pages under way can free memory
                // (with none under way one may start, so a crawl never deadlocks on its own
                // frontier).
                _ = tokio::time::sleep(MEMORY_RECHECK), if next.is_some() && over_budget => {}
                permits = acquire(slots, fetch_permits), if next.is_some() && !over_budget => {
                    if let (Some(ready), Some((slot, permit))) = (next.take(), permits) {
                        self.dispatch(ready, slot, permit);
                    } else {
                        return EndReason::Cancelled; // semaphores closed: the engine is going away
                    }
                }
                seed = self.seeds.recv(), if want_seeds => match seed {
                    Some(request) => self.add_seed(request),
                    None => self.seeds_open = false,
                },
                _ = sleep_until(wake_at), if wake_at.is_some() => continue,
                _ = sleep_until(watchdog_at), if watchdog_at.is_some() => {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| d <= now) {
                        return EndReason::Deadline;
                    }
                    let released = self.ctx.counters.releases.load(Relaxed);
                    let consumer_holds_all = self.ctx.counters.held.load(Relaxed) >= slots_total;
                    if released == releases && !consumer_holds_all {
                        tracing::warn!("crawl stalled: no progress for {:?}", config.stall_timeout);
                        return EndReason::Stalled;
                    }
                    releases = released;
                }
            }
            last_progress = Instant::now();
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::HostDone {
                host,
                pause,
                crawl_delay,
            } => self.hosts.finish(&host, Instant::now(), pause, crawl_delay),
            Event::Retry { host, request } => {
                self.queued_bytes += request_bytes(&request);
                self.hosts.park_retry(host, request, Instant::now());
            }
            Event::Parsed {
                final_url,
                links,
                delivered,
            } => {
                self.outstanding -= 1;
                // A redirect target already crawled (or queued) is not crawled again: its
                // links are (or will be) followed from there.
                let fresh_target = final_url.is_none_or(|url| self.seen.insert(fingerprint(&url)));
                if fresh_target {
                    for link in links {
                        if self.seen.insert(fingerprint(&link.url)) {
                            self.journal(&link);
                            self.queued_bytes += request_bytes(&link);
                            self.frontier.push(link);
                        }
                    }
                }
                if let Some(journal) = &mut self.journal {
                    // The links are durable before the page that found them goes out.
                    if let Err(e) = journal.flush() {
                        tracing::error!("cannot write the crawl journal: {e}");
                    }
                }
                self.publish_sizes();
                self.ctx.deliver(*delivered);
            }
        }
    }

    /// Seeds are always fetched, even if repeated (each may carry its own `meta`), and mark
    /// their URL as seen so discovered links do not fetch it again.
    fn add_seed(&mut self, mut request: Request) {
        if let Ok(url) = parse_seed(&request.url) {
            if let Some(host) = url.host_str() {
                self.ctx.guard.trust_seed_host(host);
            }
            request.url = url.into();
        }
        let new = self.seen.insert(fingerprint(&request.url));
        if self.resumed && !new {
            return; // done, or already queued again from the journal
        }
        self.journal(&request);
        self.queued_bytes += request_bytes(&request);
        self.frontier.push(request);
        self.publish_sizes();
    }

    fn publish_sizes(&mut self) {
        let budget = &self.ctx.budget;
        // Only the part of the queue held in memory counts: the rest is in segment files.
        let queued = self.frontier.len() + self.hosts.parked() as u64;
        let in_memory = self.frontier.in_memory() as u64 + self.hosts.parked() as u64;
        let frontier_bytes = self.queued_bytes.checked_div(queued).unwrap_or(0) * in_memory;
        let now = (frontier_bytes, self.seen.memory_bytes());
        budget.adjust(Part::Frontier, self.published.0, now.0);
        budget.adjust(Part::Seen, self.published.1, now.1);
        self.published = now;
        let counters = &self.ctx.counters;
        counters.frontier.store(self.frontier.len(), Relaxed);
        counters.parked.store(self.hosts.parked() as u64, Relaxed);
        counters.seen.store(self.seen.len(), Relaxed);
    }

    /// The next request whose host may be contacted now: parked ones first, then the frontier
    /// (parking requests for busy hosts on the way, up to the park limit).
    fn pick(&mut self, now: Instant) -> Option<Ready> {
        if let Some((host, request)) = self.hosts.take_ready(now) {
            return Some(Ready { host, request });
        }
        while self.hosts.has_room() {
            let request = self.frontier.pop()?;
            let host = Url::parse(&request.url)
                .map(|u| host_key(&u))
                .unwrap_or_default();
            if self.hosts.has_parked(&host) || !self.hosts.can_start(&host, now) {
                self.hosts.park(host, request, now);
                continue;
            }
            return Some(Ready { host, request });
        }
        None
    }

    fn dispatch(&mut self, ready: Ready, slot: OwnedSemaphorePermit, permit: OwnedSemaphorePermit) {
        let Ready { host, request } = ready;
        self.queued_bytes -= request_bytes(&request);
        let (crawl_delay, probing) = match Url::parse(&request.url) {
            Ok(url) if self.ctx.config.robots => match self.ctx.robots.cached(&url) {
                Some(rules) => (
                    rules
                        .crawl_delay()
                        .map(|d| d.min(self.ctx.config.max_crawl_delay)),
                    false,
                ),
                None => (None, true),
            },
            _ => (None, false),
        };
        self.hosts
            .start(&host, Instant::now(), crawl_delay, probing);
        if request.attempts == 0 {
            // A retry is still the same page: outstanding since its first dispatch.
            self.outstanding += 1;
            self.dispatched += 1;
            self.ctx.counters.dispatched.fetch_add(1, Relaxed);
        }
        self.publish_sizes();
        let slot = Slot::new(slot, self.ctx.counters.clone());
        let ctx = self.ctx.clone();
        let runtime = self.runtime.clone();
        tokio::spawn(fetch_page(ctx, runtime, host, request, slot, permit));
    }
}

async fn acquire(
    slots: Arc<Semaphore>,
    fetch_permits: Arc<Semaphore>,
) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let slot = slots.acquire_owned().await.ok()?;
    let permit = fetch_permits.acquire_owned().await.ok()?;
    Some((slot, permit))
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The fetch stage for one page: fetch under the global permit, then hand it to the parsers,
/// or back to the scheduler for a retry after a transient failure.
async fn fetch_page(
    ctx: Arc<CrawlCtx>,
    runtime: Arc<Runtime>,
    host: String,
    mut request: Request,
    slot: Slot,
    permit: OwnedSemaphorePermit,
) {
    let counters = &ctx.counters;
    let config = &ctx.config;
    counters.in_flight.fetch_add(1, Relaxed);
    let fetched = match parse_seed(&request.url) {
        Err(error) => Some(Fetched::failed(None, error, std::time::Instant::now())),
        Ok(url) => {
            let cx = FetchContext {
                client: &runtime.client,
                config,
                scope: &ctx.scope,
                robots: &ctx.robots,
                guard: &ctx.guard,
                budget: &ctx.budget,
            };
            let same_host_as = (config.same_host && request.depth > 0)
                .then(|| url.host_str().unwrap_or_default().to_string());
            tokio::select! {
                fetched = fetch(&cx, url, same_host_as.as_deref()) => Some(fetched),
                _ = ctx.cancel.cancelled() => None,
            }
        }
    };
    counters.in_flight.fetch_sub(1, Relaxed);
    drop(permit);
    let Some(mut fetched) = fetched else {
        return; // cancelled
    };
    let retry = fetched.error.as_ref().is_some_and(|e| e.is_transient())
        && request.attempts < config.retries;
    let pause = if retry {
        match fetched.retry_after {
            Some(asked) => asked.min(config.max_retry_after),
            None => backoff(config.retry_backoff, request.attempts + 1, &request.url),
        }
    } else {
        // A server that asks us to slow down is obeyed even when we give up on the page.
        fetched
            .retry_after
            .map_or(Duration::ZERO, |asked| asked.min(config.max_retry_after))
    };
    let crawl_delay = fetched.crawl_delay;
    let _ = ctx.events.send(Event::HostDone {
        host: host.clone(),
        pause,
        crawl_delay,
    });
    request.attempts += 1;
    if retry {
        // The page slot is given back: the request waits in the scheduler, not in memory here.
        drop(slot);
        let _ = ctx.events.send(Event::Retry { host, request });
        return;
    }
    fetched.attempts = request.attempts;
    runtime.parsers.submit(ParseJob {
        ctx,
        request,
        fetched,
        slot,
    });
}

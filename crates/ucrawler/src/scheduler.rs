//! The scheduler: one tokio task per crawl that owns the frontier, the seen set and the requests
//! parked for busy hosts (so none of them needs a lock), admits fetches under the page slots, the
//! global concurrency limit and the crawler-wide host gate, and decides when the crawl is over.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::crawl::{CrawlCtx, Event, Slot};
use crate::engine::Runtime;
use crate::fetch::{backoff, fetch, FetchContext, Fetched};
use crate::fetch_window::{FetchWindow, WindowPermit};
use crate::frontier::{Frontier, SpillFrontier};
use crate::journal::{Journal, Replay};
use crate::memory::Part;
use crate::page::Request;
use crate::parser_pool::ParseJob;
use crate::politeness::{HostGate, Limits, Parking};
use crate::remote::{self, FleetHold};
use crate::seen::SeenSet;
use crate::stats::EndReason;
use crate::url::{fingerprint, host_key, parse_seed};

/// Seeds are pulled from the caller only while the frontier is shorter than this, so a lazy
/// source of millions of seeds is never drained into memory ahead of the crawl.
const SEED_LOW_WATER: u64 = 4096;
/// How often admission looks at the memory budget again while it is spent.
const MEMORY_RECHECK: Duration = Duration::from_millis(10);
/// Seeds of a shared crawl sent to Redis in one call, at most.
const SEED_BATCH: usize = 1000;
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
    parking: Parking,
    limits: Limits,
    /// Changes when any crawl of this crawler ends a request: a host we parked for may be free.
    host_finished: watch::Receiver<u64>,
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
    /// A shared crawl: requests leased from Redis by the agent (`None` once the shared crawl is
    /// over); seeds and links go to Redis, which deduplicates them.
    remote: Option<Remote>,
}

struct Remote {
    agent: Arc<remote::Remote>,
    items: Option<mpsc::Receiver<Request>>,
    /// Requests held here (queued or parked) below which more are taken: a worker must not
    /// hoard leases that other workers could be crawling.
    low_water: u64,
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
        let spill_dir = config.state_dir.as_ref().map(|dir| dir.join("frontier"));
        let frontier = SpillFrontier::new(spill_dir, config.frontier_memory);
        let host_finished = runtime.hosts.subscribe();
        let limits = Limits {
            per_host: config.per_host,
            delay: config.delay,
        };
        let seen = SeenSet::bounded(
            config.state_dir.as_ref().map(|d| d.join("seen")),
            config.seen_memory,
        );
        Self {
            ctx,
            runtime,
            events,
            seeds,
            slots,
            frontier,
            seen,
            parking: Parking::new(PARK_LIMIT, limits),
            limits,
            host_finished,
            outstanding: 0,
            dispatched: 0,
            seeds_open: true,
            queued_bytes: 0,
            published: (0, 0),
            journal: None,
            resumed: false,
            remote: None,
        }
    }

    /// Makes this a shared crawl fed by the agent's leased requests.
    pub fn set_remote(&mut self, items: mpsc::Receiver<Request>) {
        if let Some(agent) = self.ctx.remote.clone() {
            let config = &self.ctx.config;
            self.remote = Some(Remote {
                agent,
                items: Some(items),
                low_water: config.concurrency.max(8) as u64,
            });
        }
    }

    fn tell_agent(&self, command: remote::Command) {
        if let Some(remote) = &self.remote {
            // Fails only when the agent is gone, i.e. the crawl is being cancelled.
            let _ = remote.agent.commands.send(command);
        }
    }

    /// Journals this crawl; with a replay, continues the crawl journaled before.
    pub fn set_journal(&mut self, journal: Journal, replay: Option<Replay>) {
        if let Some(replay) = replay {
            self.resumed = true;
            for (request, done) in replay.requests {
                if request.depth == 0 {
                    // A seed of the earlier run: its host is trusted before anything is fetched
                    // (the seeds given again arrive later, through their channel: replayed pages
                    // of a private seed host were refused by the address guard meanwhile).
                    self.trust_seed_host(&request.url);
                }
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
                self.host_finished.borrow_and_update();
                next = self.pick(Instant::now());
            }
            let remote_open = self.remote.as_ref().is_some_and(|r| r.items.is_some());
            let nothing_left = !self.seeds_open
                && !remote_open
                && self.frontier.is_empty()
                && self.parking.parked() == 0;
            let limit_reached = self.dispatched >= max_pages;
            if self.outstanding == 0 && next.is_none() && (nothing_left || limit_reached) {
                return if nothing_left {
                    EndReason::Finished
                } else {
                    EndReason::MaxPages
                };
            }
            let waiting_for_hosts =
                next.is_none() && self.dispatched < max_pages && self.parking.parked() > 0;
            let wake_at = if waiting_for_hosts {
                self.parking.next_wakeup(&self.runtime.hosts)
            } else {
                None
            };
            let watchdog_at = [deadline, last_progress.checked_add(config.stall_timeout)]
                .into_iter()
                .flatten()
                .min();
            let held = self.frontier.len() + self.parking.parked() as u64;
            let want_seeds = self.seeds_open
                && !limit_reached
                && (self.remote.is_some() || self.frontier.len() < SEED_LOW_WATER);
            let want_leased = remote_open
                && !limit_reached
                && self.remote.as_ref().is_some_and(|r| held < r.low_water);
            let over_budget = self.outstanding > 0 && self.ctx.budget.is_over();
            let cancel = self.ctx.cancel.clone();
            let slots = self.slots.clone();
            let window = self.runtime.window.clone();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return EndReason::Cancelled,
                Some(event) = self.events.recv() => self.handle(event),
                // Over max_memory nothing new starts while pages under way can free memory
                // (with none under way one may start, so a crawl never deadlocks on its own
                // frontier).
                _ = tokio::time::sleep(MEMORY_RECHECK), if next.is_some() && over_budget => {}
                permits = acquire(slots, window), if next.is_some() && !over_budget => {
                    if let (Some(ready), Some((slot, permit))) = (next.take(), permits) {
                        self.dispatch(ready, slot, permit);
                    } else {
                        return EndReason::Cancelled; // semaphores closed: the engine is going away
                    }
                }
                seed = self.seeds.recv(), if want_seeds => match seed {
                    Some(request) if self.remote.is_some() => self.forward_seeds(request),
                    Some(request) => self.add_seed(request),
                    None => {
                        self.seeds_open = false;
                        self.tell_agent(remote::Command::SeedsClosed);
                    }
                },
                leased = recv_leased(&mut self.remote), if want_leased => match leased {
                    Some(request) => self.add_leased(request),
                    None => {
                        if let Some(remote) = &mut self.remote {
                            remote.items = None;
                        }
                    }
                },
                _ = sleep_until(wake_at), if wake_at.is_some() => continue,
                Ok(()) = self.host_finished.changed(), if waiting_for_hosts => continue,
                _ = sleep_until(watchdog_at), if watchdog_at.is_some() => {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| d <= now) {
                        return EndReason::Deadline;
                    }
                    let released = self.ctx.counters.releases.load(Relaxed);
                    let consumer_holds_all = self.ctx.counters.held.load(Relaxed) >= slots_total;
                    if released == releases && !consumer_holds_all && !self.waiting_for_redis() {
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
            Event::Retry { host, request } => {
                self.queued_bytes += request_bytes(&request);
                self.parking.park_retry(host, request);
            }
            Event::Parsed {
                final_url,
                links,
                delivered,
            } => {
                self.outstanding -= 1;
                if self.remote.is_some() {
                    // Redis deduplicates; the agent queues the links before it acknowledges
                    // the page (commands are handled in order).
                    if !links.is_empty() {
                        self.tell_agent(remote::Command::Links(links));
                    }
                    self.ctx.deliver(*delivered);
                    return;
                }
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
        self.normalize_seed(&mut request);
        let new = self.seen.insert(fingerprint(&request.url));
        if self.resumed && !new {
            return; // done, or already queued again from the journal
        }
        self.journal(&request);
        self.queued_bytes += request_bytes(&request);
        self.frontier.push(request);
        self.publish_sizes();
    }

    /// A shared crawl that waits on Redis is not stalled: an idle worker waits for URLs (with
    /// `follow`, forever), and one whose Redis is down retries (logging it) until it is back.
    fn waiting_for_redis(&self) -> bool {
        let Some(remote) = &self.remote else {
            return false;
        };
        let idle = self.outstanding == 0 && self.frontier.is_empty() && self.parking.parked() == 0;
        let unreachable = remote
            .agent
            .frontier
            .get()
            .is_none_or(|frontier| frontier.is_unreachable());
        (idle && remote.items.is_some()) || unreachable
    }

    /// Normalizes a seed's URL (an invalid one stays as it is, to fail as a page) and trusts its
    /// host (see `private_addresses`).
    fn normalize_seed(&self, request: &mut Request) {
        if let Ok(url) = parse_seed(&request.url) {
            if let Some(host) = url.host_str() {
                self.ctx.guard.trust_seed_host(host);
            }
            request.url = url.into();
        }
    }

    /// The address guard trusts the host of a seed (see `private_addresses`).
    fn trust_seed_host(&self, seed: &str) {
        if let Ok(url) = Url::parse(seed) {
            if let Some(host) = url.host_str() {
                self.ctx.guard.trust_seed_host(host);
            }
        }
    }

    /// A shared crawl's seeds go to Redis, with those already waiting in one batch.
    fn forward_seeds(&mut self, first: Request) {
        let mut batch = vec![first];
        while batch.len() < SEED_BATCH {
            match self.seeds.try_recv() {
                Ok(request) => batch.push(request),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.seeds_open = false;
                    break;
                }
            }
        }
        for request in &mut batch {
            self.normalize_seed(request);
        }
        self.tell_agent(remote::Command::Seeds(batch));
        if !self.seeds_open {
            self.tell_agent(remote::Command::SeedsClosed);
        }
    }

    /// A request leased from Redis: queued here until its host is free.
    fn add_leased(&mut self, request: Request) {
        if request.depth == 0 {
            // A seed (maybe queued by `ucrawler enqueue` elsewhere): its host is trusted.
            self.trust_seed_host(&request.url);
        }
        self.queued_bytes += request_bytes(&request);
        self.frontier.push(request);
        self.publish_sizes();
    }

    fn publish_sizes(&mut self) {
        let budget = &self.ctx.budget;
        // Only the part of the queue held in memory counts: the rest is in segment files.
        let queued = self.frontier.len() + self.parking.parked() as u64;
        let in_memory = self.frontier.in_memory() as u64 + self.parking.parked() as u64;
        let frontier_bytes = self.queued_bytes.checked_div(queued).unwrap_or(0) * in_memory;
        let now = (frontier_bytes, self.seen.memory_bytes());
        budget.adjust(Part::Frontier, self.published.0, now.0);
        budget.adjust(Part::Seen, self.published.1, now.1);
        self.published = now;
        let counters = &self.ctx.counters;
        counters.frontier.store(self.frontier.len(), Relaxed);
        counters.parked.store(self.parking.parked() as u64, Relaxed);
        counters.seen.store(self.seen.len(), Relaxed);
    }

    /// The next request whose host may be contacted now: parked ones first, then the frontier
    /// (parking requests for busy hosts on the way, up to the park limit).
    fn pick(&mut self, now: Instant) -> Option<Ready> {
        let gate = &self.runtime.hosts;
        if let Some((host, request)) = self.parking.take_ready(gate, now) {
            return Some(Ready { host, request });
        }
        while self.parking.has_room() {
            let request = self.frontier.pop()?;
            let host = Url::parse(&request.url)
                .map(|u| host_key(&u))
                .unwrap_or_default();
            if self.parking.has_parked(&host) || !gate.can_start(&host, self.limits, now) {
                self.parking.park(host, request);
                continue;
            }
            return Some(Ready { host, request });
        }
        None
    }

    fn dispatch(&mut self, ready: Ready, slot: OwnedSemaphorePermit, permit: WindowPermit) {
        let Ready { host, request } = ready;
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
        let gate = &self.runtime.hosts;
        if !gate.try_start(&host, self.limits, Instant::now(), crawl_delay, probing) {
            // Another crawl took the host while we waited for permits: back in line, in front.
            self.parking.park_retry(host, request);
            return;
        }
        let hold = HostHold {
            gate: gate.clone(),
            host,
            limits: self.limits,
            gap: crawl_delay.map_or(self.limits.delay, |d| d.max(self.limits.delay)),
            pause: Duration::ZERO,
            crawl_delay: None,
        };
        self.queued_bytes -= request_bytes(&request);
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
        tokio::spawn(fetch_page(ctx, runtime, hold, request, slot, permit));
    }
}

/// A request's place at its host: given back when the fetch ends, however it ends (cancelled
/// included), so the process-wide gate never keeps a host busy for a request that is gone.
struct HostHold {
    gate: Arc<HostGate>,
    host: String,
    limits: Limits,
    /// Between this request's start and the host's next one (`delay` or Crawl-delay).
    gap: Duration,
    /// Wait at least this long before the host's next request (Retry-After, backoff).
    pause: Duration,
    /// Learnt from the host's robots.txt during the fetch.
    crawl_delay: Option<Duration>,
}

impl Drop for HostHold {
    fn drop(&mut self) {
        self.gate.finish(
            &self.host,
            self.limits,
            Instant::now(),
            self.pause,
            self.crawl_delay,
        );
    }
}

async fn acquire(
    slots: Arc<Semaphore>,
    window: Arc<FetchWindow>,
) -> Option<(OwnedSemaphorePermit, WindowPermit)> {
    let slot = slots.acquire_owned().await.ok()?;
    let permit = window.acquire().await?;
    Some((slot, permit))
}

async fn recv_leased(remote: &mut Option<Remote>) -> Option<Request> {
    match remote.as_mut().and_then(|r| r.items.as_mut()) {
        Some(items) => items.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The fetch stage for one page: fetch under its place in the fetch window, then hand it (and
/// that place) to the parsers, or back to the scheduler for a retry after a transient failure.
async fn fetch_page(
    ctx: Arc<CrawlCtx>,
    runtime: Arc<Runtime>,
    mut hold: HostHold,
    mut request: Request,
    slot: Slot,
    permit: WindowPermit,
) {
    let counters = &ctx.counters;
    let config = &ctx.config;
    let fleet = match FleetHold::acquire(&ctx, &hold.host, hold.limits.per_host, hold.gap).await {
        Ok(fleet) => fleet,
        Err(()) => return, // cancelled
    };
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
    if let Some(fleet) = fleet {
        fleet.release(pause).await;
    }
    hold.pause = pause;
    hold.crawl_delay = fetched.crawl_delay;
    let host = hold.host.clone();
    drop(hold);
    request.attempts += 1;
    if retry {
        // The page slot is given back: the request waits in the scheduler, not in memory here.
        drop((slot, permit));
        let _ = ctx.events.send(Event::Retry { host, request });
        return;
    }
    fetched.attempts = request.attempts;
    runtime.parsers.submit(ParseJob {
        ctx,
        request,
        fetched,
        slot,
        permit,
    });
}

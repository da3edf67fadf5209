//! The scheduler: one tokio task per crawl that owns the frontier (a queue per host) and the
//! seen set (so neither needs a lock), admits fetches under the page slots, the
//! global concurrency limit and the crawler-wide host gate, and decides when the crawl is over.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use super::frontier::Frontier;
use super::host_budget::{HostBudget, SeedBudget};
use super::journal::Journal;
use super::seen::SeenSet;
use super::sitemap_plan::SitemapPlan;
use super::trap_guard::TrapGuard;
use crate::distributed::{AgentHandle, Command, Outcome, VisitUpdate};
use crate::error::CrawlError;
use crate::fetch::{fetch_page, FetchJob};
use crate::last_visit::LastVisit;
use crate::memory::Part;
use crate::page::Request;
use crate::parse::Extractor;
use crate::pipeline::{CrawlCtx, Event, FetchWindow, Slot, WindowPermit};
use crate::politeness::Limits;
use crate::runtime::Runtime;
use crate::stats::EndReason;
use crate::url::parse_request_url;

/// Seeds are pulled from the caller only while the frontier is shorter than this, so a lazy
/// source of millions of seeds is never drained into memory ahead of the crawl.
const SEED_LOW_WATER: u64 = 4096;
/// How often admission looks at the memory budget again while it is spent.
const MEMORY_RECHECK: Duration = Duration::from_millis(10);
/// Seeds of a shared crawl sent to Redis in one call, at most.
const SEED_BATCH: usize = 1000;

mod found;
mod intake;
mod politeness_wait;

use politeness_wait::PolitenessWait;

pub(crate) struct Scheduler {
    ctx: Arc<CrawlCtx>,
    runtime: Arc<Runtime>,
    /// The crawler's extraction rules, for the parse stage.
    extractor: Arc<Extractor>,
    events: mpsc::UnboundedReceiver<Event>,
    seeds: mpsc::Receiver<Request>,
    /// A recrawl's revisits (the last generation's visits), all queued before any seed is and
    /// before anything is dispatched: a seed given again, or a link, must not get ahead of its
    /// URL's revisit.
    revisits: Option<mpsc::Receiver<Request>>,
    slots: Arc<Semaphore>,
    frontier: Frontier,
    seen: SeenSet,
    /// `max_pages_per_host` (a shared crawl's is kept in Redis).
    seed_budget: SeedBudget,
    host_budget: HostBudget,
    /// Crawler-trap defences for discovered links.
    traps: TrapGuard,
    sitemap_plan: SitemapPlan,
    limits: Limits,
    /// Changes when any crawl of this crawler ends a request: a host the frontier holds
    /// requests for may be free.
    host_finished: watch::Receiver<u64>,
    /// Dispatched pages whose `Parsed` event has not come back yet.
    outstanding: u64,
    dispatched: u64,
    seeds_open: bool,
    /// Bytes of the requests waiting in the frontier, for the memory budget.
    queued_bytes: u64,
    /// (frontier, seen set) bytes last accounted in the budget.
    published: (u64, u64),
    journal: Option<Journal>,
    /// Continuing a journaled crawl: seeds already seen are not fetched again.
    resumed: bool,
    /// A seed carried a last visit: a recrawl, whose seeds are taken as fast as they come (see
    /// `add_seed`).
    revisiting: bool,
    /// A shared crawl: requests leased from Redis by the agent (`None` once the shared crawl is
    /// over); seeds and links go to Redis, which deduplicates them.
    shared: Option<SharedFeed>,
}

/// What a shared crawl's scheduler gets from the Redis agent.
struct SharedFeed {
    agent: Arc<AgentHandle>,
    items: Option<mpsc::Receiver<Request>>,
    /// Requests held here (in the frontier) below which more are taken: a worker must not
    /// hoard leases that other workers could be crawling.
    low_water: u64,
    /// Hosts with requests held here below which more are taken anyway (up to `hoard_limit`
    /// requests): Redis hands out a page's links together, so `low_water` requests may be
    /// a handful of hosts, each crawled `per_host` at a time, and the worker would idle.
    hosts_wanted: usize,
    hoard_limit: u64,
}

/// What a queued request costs in memory.
fn request_bytes(request: &Request) -> u64 {
    let last_visit = request.last_visit.as_deref().map_or(0, |last| {
        std::mem::size_of::<LastVisit>()
            + [&last.etag, &last.last_modified, &last.content_hash]
                .iter()
                .map(|v| v.as_ref().map_or(0, String::len))
                .sum::<usize>()
    });
    (std::mem::size_of::<Request>()
        + request.url.len()
        + request.meta.as_ref().map_or(0, |m| m.len())
        + last_visit) as u64
}

/// The next revisit while there are any, then the next seed; `None` once the seeds are closed.
async fn next_seed(
    revisits: &mut Option<mpsc::Receiver<Request>>,
    seeds: &mut mpsc::Receiver<Request>,
) -> Option<Request> {
    if let Some(queue) = revisits {
        match queue.recv().await {
            Some(revisit) => return Some(revisit),
            None => *revisits = None,
        }
    }
    seeds.recv().await
}

/// A request chosen to go next, waiting for its permits.
struct Ready {
    host: String,
    request: Request,
    /// Its URL, parsed once here for every stage after.
    url: Result<Url, CrawlError>,
}

impl Scheduler {
    pub fn new(
        ctx: Arc<CrawlCtx>,
        runtime: Arc<Runtime>,
        extractor: Arc<Extractor>,
        events: mpsc::UnboundedReceiver<Event>,
        seeds: mpsc::Receiver<Request>,
    ) -> Self {
        let config = &ctx.config;
        let slots = Arc::new(Semaphore::new(config.concurrency + config.buffer));
        let spill_dir = config.state_dir.as_ref().map(|dir| dir.join("frontier"));
        let frontier = Frontier::new(spill_dir, config.frontier_memory);
        let host_finished = runtime.hosts.subscribe();
        let limits = Limits {
            per_host: config.per_host,
            delay: config.delay,
        };
        let host_budget = HostBudget::new(config.max_pages_per_host);
        let seed_budget = SeedBudget::new(config.max_pages_per_seed);
        let traps = TrapGuard::new(config.max_query_variants);
        let sitemap_plan = SitemapPlan::new(config.sitemaps);
        let seen = SeenSet::bounded(
            config.state_dir.as_ref().map(|d| d.join("seen")),
            config.seen_memory,
        );
        Self {
            ctx,
            runtime,
            extractor,
            events,
            seeds,
            revisits: None,
            slots,
            frontier,
            seen,
            host_budget,
            seed_budget,
            traps,
            sitemap_plan,
            limits,
            host_finished,
            outstanding: 0,
            dispatched: 0,
            seeds_open: true,
            queued_bytes: 0,
            published: (0, 0),
            journal: None,
            resumed: false,
            revisiting: false,
            shared: None,
        }
    }

    /// Makes this a shared crawl fed by the agent's leased requests.
    pub fn set_shared_feed(&mut self, items: mpsc::Receiver<Request>) {
        if let Some(agent) = self.ctx.agent.clone() {
            let config = &self.ctx.config;
            self.shared = Some(SharedFeed {
                agent,
                items: Some(items),
                low_water: config.concurrency.max(8) as u64,
                hosts_wanted: config.concurrency.div_ceil(config.per_host.max(1)),
                hoard_limit: 4 * config.concurrency.max(8) as u64,
            });
        }
    }

    fn tell_agent(&self, command: Command) {
        if let Some(shared) = &self.shared {
            // Fails only when the agent is gone, i.e. the crawl is being cancelled.
            let _ = shared.agent.commands.send(command);
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
        let mut freed = false;
        let mut politeness_wait = PolitenessWait::default();
        loop {
            // A request ended somewhere (the gate's watch): hosts waiting for one may be free.
            freed |= self.host_finished.has_changed().unwrap_or(false);
            // A recrawl dispatches once every revisit is queued (and seen): no link found on
            // a page can reach a known URL before its revisit, which would fetch it as new.
            if next.is_none() && self.dispatched < max_pages && self.revisits.is_none() {
                self.host_finished.borrow_and_update();
                next = self.pick(Instant::now(), std::mem::take(&mut freed));
            }
            let shared_open = self.shared.as_ref().is_some_and(|r| r.items.is_some());
            let nothing_left = !self.seeds_open && !shared_open && self.frontier.is_empty();
            let limit_reached = self.dispatched >= max_pages;
            if self.outstanding == 0 && next.is_none() && (nothing_left || limit_reached) {
                return if nothing_left {
                    EndReason::Finished
                } else {
                    EndReason::MaxPages
                };
            }
            let waiting_for_hosts =
                next.is_none() && self.dispatched < max_pages && self.frontier.waiting_for_hosts();
            politeness_wait.observe(waiting_for_hosts, &self.ctx.counters);
            let wake_at = if waiting_for_hosts {
                self.frontier.next_wakeup()
            } else {
                None
            };
            let watchdog_at = [deadline, last_progress.checked_add(config.stall_timeout)]
                .into_iter()
                .flatten()
                .min();
            let held = self.frontier.len();
            let want_seeds = self.seeds_open
                && !limit_reached
                && (self.shared.is_some()
                    || self.revisiting
                    || self.frontier.len() < SEED_LOW_WATER);
            let want_leased = shared_open
                && !limit_reached
                && self.shared.as_ref().is_some_and(|r| {
                    held < r.low_water
                        || (held < r.hoard_limit && self.frontier.hosts() < r.hosts_wanted)
                });
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
                seed = next_seed(&mut self.revisits, &mut self.seeds), if want_seeds => match seed {
                    Some(request) if self.shared.is_some() => self.forward_seeds(request),
                    Some(request) => self.add_seed(request),
                    None => {
                        self.seeds_open = false;
                        self.tell_agent(Command::SeedsClosed);
                    }
                },
                leased = recv_leased(&mut self.shared), if want_leased => match leased {
                    Some(request) => self.add_leased(request),
                    None => {
                        if let Some(shared) = &mut self.shared {
                            shared.items = None;
                        }
                    }
                },
                _ = sleep_until(wake_at), if wake_at.is_some() => continue,
                Ok(()) = self.host_finished.changed(), if waiting_for_hosts => {
                    freed = true;
                    continue;
                }
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
                self.frontier.push_front(&host, request);
            }
            Event::Parsed {
                final_url,
                links,
                delivered,
            } => self.take_parsed(final_url, links, delivered),
            Event::Found { links, _memory } => self.take_found(links),
            Event::Ended { lease } => {
                self.outstanding -= 1;
                if let Some(lease) = lease {
                    // Commands are handled in order: what it found is queued before this. Not a
                    // page: counted neither done nor failed (its failure is in the stats).
                    let ack = Command::Ack(lease, Outcome::Uncounted, VisitUpdate::Keep);
                    self.tell_agent(ack);
                }
                self.publish_sizes();
            }
        }
    }

    /// A shared crawl that waits on Redis is not stalled: an idle worker waits for URLs (with
    /// `follow`, forever), and one whose Redis is down retries (logging it) until it is back.
    fn waiting_for_redis(&self) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let idle = self.outstanding == 0 && self.frontier.is_empty();
        let unreachable = shared
            .agent
            .frontier
            .get()
            .is_none_or(|frontier| frontier.is_unreachable());
        (idle && shared.items.is_some()) || unreachable
    }

    fn publish_sizes(&mut self) {
        let budget = &self.ctx.budget;
        // Only the part of the queue held in memory counts: the rest is in segment files.
        let queued = self.frontier.len();
        let in_memory = self.frontier.in_memory() as u64;
        let frontier_bytes = self.queued_bytes.checked_div(queued).unwrap_or(0) * in_memory;
        // The per-host budget counts grow with hosts, like the seen set with URLs.
        let seen_bytes = self.seen.memory_bytes()
            + self.budgets_bytes()
            + self.traps.memory_bytes()
            + self.sitemap_plan.memory_bytes();
        let now = (frontier_bytes, seen_bytes);
        budget.adjust(Part::Frontier, self.published.0, now.0);
        budget.adjust(Part::Seen, self.published.1, now.1);
        self.published = now;
        let counters = &self.ctx.counters;
        counters.frontier.store(self.frontier.len(), Relaxed);
        counters.seen.store(self.seen.len(), Relaxed);
    }

    /// Whether a request fits its seed's and its host's budgets (then it counts against both).
    fn admit(&mut self, request: &Request) -> bool {
        let counters = &self.ctx.counters;
        self.seed_budget.admit(request, counters) && self.host_budget.admit(request, counters)
    }

    fn budgets_bytes(&self) -> u64 {
        self.seed_budget.memory_bytes() + self.host_budget.memory_bytes()
    }

    /// Queues a request (a seed, a link, a lease) behind its host's others.
    fn queue(&mut self, request: Request) {
        self.queued_bytes += request_bytes(&request);
        self.frontier.push(request);
    }

    /// The next request whose host may be contacted now. `freed`: a request ended since the
    /// last call.
    fn pick(&mut self, now: Instant, freed: bool) -> Option<Ready> {
        let (host, request) =
            self.frontier
                .pop_ready(&self.runtime.hosts, self.limits, now, freed)?;
        let url = parse_request_url(&request.url);
        Some(Ready {
            host: host.to_string(),
            request,
            url,
        })
    }

    fn dispatch(&mut self, ready: Ready, slot: OwnedSemaphorePermit, permit: WindowPermit) {
        let Ready { host, request, url } = ready;
        let (crawl_delay, probing) = match &url {
            Ok(url) if self.ctx.config.robots => match self.ctx.robots.cached(url) {
                Some(rules) => (rules.crawl_delay(self.ctx.config.max_crawl_delay), false),
                None => (None, true),
            },
            _ => (None, false),
        };
        // Under descriptor pressure a host's connection stays open only for what waits for it.
        let keep_alive =
            !self.runtime.connections.close_when_idle() || self.frontier.has_queued(&host);
        let hold = match self
            .runtime
            .hosts
            .try_hold(host, self.limits, crawl_delay, probing)
        {
            Ok(hold) => hold,
            Err(host) => {
                // Another crawl took the host while we waited for permits: back in line, in
                // front.
                self.frontier.push_front(&host, request);
                return;
            }
        };
        self.queued_bytes -= request_bytes(&request);
        if !request.retrying {
            // A retry is still the same page: outstanding since its first dispatch.
            self.outstanding += 1;
            if request.purpose.is_page() {
                // Sitemaps are not pages: `max_pages` does not count them.
                self.dispatched += 1;
                self.ctx.counters.dispatched.fetch_add(1, Relaxed);
            }
        }
        self.publish_sizes();
        tokio::spawn(fetch_page(FetchJob {
            ctx: self.ctx.clone(),
            client: self.runtime.connections.client().clone(),
            keep_alive,
            probing_robots: probing,
            parsers: self.runtime.parsers.clone(),
            extractor: self.extractor.clone(),
            hold,
            request,
            url,
            slot: Slot::new(slot, self.ctx.counters.clone()),
            permit,
        }));
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

async fn recv_leased(shared: &mut Option<SharedFeed>) -> Option<Request> {
    match shared.as_mut().and_then(|r| r.items.as_mut()) {
        Some(items) => items.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

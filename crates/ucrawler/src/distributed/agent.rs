//! A crawl whose frontier lives in Redis (`redis` + `name` in the config): one *agent* task per
//! crawl talks to Redis for the scheduler, so the scheduler itself never waits on the network.
//!
//! The agent runs the worker protocol of [`super::redis`]: it takes leased requests
//! while the scheduler has room for them, queues seeds and discovered links, acknowledges each
//! page once its consumer has taken it, keeps the leases of pages under way alive, and closes
//! the feed when the shared crawl is over (nothing pending, nothing leased, and this crawl's own
//! seeds queued). Commands are handled in order, so a page's links are always in Redis before
//! its acknowledgement: a crash between the two loses nothing (the lease expires and the page is
//! crawled again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::heartbeat::{Heartbeats, HEARTBEAT};
use super::redis::{
    Control, Outcome, RedisFrontier, RedisFrontierError, RedisOptions, VisitUpdate,
};
use crate::config::Config;
use crate::page::{Lease, Request};
use crate::politeness::AddressGuard;
use crate::random::random_u64;
use crate::stats::StatsSource;

/// How often an idle worker asks Redis for work again (doubling up to `POLL_MAX`).
const POLL_MIN: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(1);
/// Seed hosts are read again at most this often (workers that join late must trust them).
const SEED_HOSTS_REFRESH: Duration = Duration::from_secs(2);
/// After a cancel, acknowledgements already asked for still reach Redis for this long (and
/// leases not crawled are given back within as long again).
const DRAIN_ON_CANCEL: Duration = Duration::from_secs(5);
/// How long the end of a crawl waits for its agent to finish with Redis.
const AGENT_GRACE: Duration = Duration::from_secs(11);
/// Links and seeds are queued in Redis in batches of at most this many.
const PUSH_BATCH: usize = 1000;

/// What the scheduler and the consumer ask of the agent, in order.
pub(crate) enum Command {
    Seeds(Vec<Request>),
    /// No more seeds: the crawl may end once Redis has nothing left.
    SeedsClosed,
    Links(Vec<Request>),
    Ack(Lease, Outcome, VisitUpdate),
}

/// The crawl's side of the agent, shared by its scheduler, fetch tasks and consumer.
pub(crate) struct AgentHandle {
    pub commands: mpsc::UnboundedSender<Command>,
    /// Set by the agent once connected; fetch tasks use it for fleet-wide politeness.
    pub frontier: OnceLock<RedisFrontier>,
    /// Identifies this worker's politeness holds in Redis.
    worker: String,
    holds: AtomicU64,
    /// Set when the agent is done with Redis (acknowledgements sent, leases given back).
    ended: (Mutex<bool>, Condvar),
}

impl AgentHandle {
    /// Waits (blocking, at most `AGENT_GRACE`) until the agent is done with Redis, so that a
    /// process that exits right after its crawl still acknowledges what it crawled and gives
    /// back what it leased.
    pub fn wait_ended(&self) {
        let (lock, ended) = &self.ended;
        let done = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = ended.wait_timeout_while(done, AGENT_GRACE, |done| !*done);
    }
}

/// Marks the agent ended however `Agent::run` returns.
struct EndedGuard(Arc<AgentHandle>);

impl Drop for EndedGuard {
    fn drop(&mut self) {
        let (lock, ended) = &self.0.ended;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        ended.notify_all();
    }
}

impl AgentHandle {
    /// A fresh token for a politeness hold.
    pub fn hold_token(&self) -> String {
        format!("{}:{}", self.worker, self.holds.fetch_add(1, Relaxed))
    }
}

/// Starts the agent of one crawl on the current runtime. Returns the crawl's side of it and the
/// receiver of leased requests for the scheduler (closed when the shared crawl is over).
pub(crate) fn start_agent(
    config: &Config,
    guard: Arc<AddressGuard>,
    cancel: CancellationToken,
    live: Arc<dyn StatsSource>,
) -> (Arc<AgentHandle>, mpsc::Receiver<Request>) {
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    // Requests taken ahead of the fetchers: enough to keep them busy, few enough that other
    // workers are not starved of a small crawl.
    let lookahead = (config.concurrency + config.buffer).max(8);
    let (items_tx, items_rx) = mpsc::channel(lookahead);
    let handle = Arc::new(AgentHandle {
        commands: commands_tx,
        frontier: OnceLock::new(),
        worker: worker_id(),
        holds: AtomicU64::new(0),
        ended: (Mutex::new(false), Condvar::new()),
    });
    let agent = Agent {
        heartbeats: Heartbeats::new(&handle.worker),
        live,
        paused: false,
        handle: handle.clone(),
        url: config.redis.clone().unwrap_or_default(),
        name: config.name.clone().unwrap_or_default(),
        options: RedisOptions {
            prefix: config.redis_prefix.clone(),
            lease_timeout: config.lease_timeout,
            max_pages_per_host: config.max_pages_per_host,
        },
        follow: config.follow,
        guard,
        cancel,
        items: Some(items_tx),
        leases: HashMap::new(),
        seeds_closed: false,
    };
    tokio::spawn(agent.run(commands_rx));
    (handle, items_rx)
}

/// `host-pid-random`: unique per worker, readable in Redis.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".to_string());
    let nonce = random_u64() as u32;
    format!("{host}-{}-{nonce:08x}", std::process::id())
}

struct Agent {
    handle: Arc<AgentHandle>,
    live: Arc<dyn StatsSource>,
    heartbeats: Heartbeats,
    /// The dashboard paused the crawl: no new leases are taken.
    paused: bool,
    url: String,
    name: String,
    options: RedisOptions,
    follow: bool,
    guard: Arc<AddressGuard>,
    cancel: CancellationToken,
    /// To the scheduler; dropped when the shared crawl is over.
    items: Option<mpsc::Sender<Request>>,
    /// Leases taken and not yet acknowledged, kept alive with `extend`.
    leases: HashMap<u64, Lease>,
    seeds_closed: bool,
}

impl Agent {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let _ended = EndedGuard(self.handle.clone());
        let frontier = tokio::select! {
            connected = RedisFrontier::connect(&self.url, &self.name, self.options.clone()) => {
                match connected {
                    Ok(frontier) => frontier,
                    Err(e) => return self.fail(&e),
                }
            }
            _ = self.cancel.cancelled() => return,
        };
        let frontier = self.handle.frontier.get_or_init(|| frontier).clone();
        if let Err(e) = self.serve(&frontier, &mut commands).await {
            return self.fail(&e);
        }
        // Cancelled: what the consumer acknowledged still counts, and the links of pages it
        // took are still queued, so nothing it saw is crawled again.
        let drain = async {
            while let Ok(command) = commands.try_recv() {
                if let Err(e) = self.handle(&frontier, command).await {
                    tracing::error!("redis frontier {}: {e}", self.name);
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_ON_CANCEL, drain).await;
        // What it leased and will not crawl goes back to the other workers now, not after
        // lease_timeout (a consumer that raised, a worker stopped with Ctrl-C).
        let leases: Vec<Lease> = self.leases.drain().map(|(_, lease)| lease).collect();
        match tokio::time::timeout(DRAIN_ON_CANCEL, frontier.give_back(&leases)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(
                "redis frontier {}: {} leases not given back ({e}): they return after lease_timeout",
                self.name,
                leases.len()
            ),
            Err(_) => tracing::warn!(
                "redis frontier {}: {} leases not given back in time: they return after lease_timeout",
                self.name,
                leases.len()
            ),
        }
        // The last beat: the pages and errors since the one before count too.
        let beat = self.heartbeats.next(&*self.live, self.paused);
        if let Ok(Err(e)) = tokio::time::timeout(DRAIN_ON_CANCEL, frontier.heartbeat(&beat)).await {
            tracing::warn!("redis frontier {}: last heartbeat not sent: {e}", self.name);
        }
    }

    /// A non-transient Redis failure (wrong key type, corrupt item): the crawl cannot go on.
    fn fail(&mut self, error: &RedisFrontierError) {
        tracing::error!("redis frontier {}: {error}; ending the crawl", self.name);
        self.items = None;
        self.cancel.cancel();
    }

    async fn serve(
        &mut self,
        frontier: &RedisFrontier,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Result<(), RedisFrontierError> {
        let extend_every = (self.options.lease_timeout / 3).max(Duration::from_millis(100));
        let mut extend_at = Instant::now() + extend_every;
        let mut poll = POLL_MIN;
        let mut take_at = Instant::now();
        let mut seed_hosts_at = Instant::now();
        let mut seed_hosts_known = 0;
        let mut beat_at = Instant::now();
        loop {
            let feeding = self
                .items
                .as_ref()
                .filter(|_| !self.paused && Instant::now() >= take_at)
                .cloned();
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Ok(()),
                command = commands.recv() => match command {
                    Some(command) => self.handle(frontier, command).await?,
                    None => return Ok(()), // the crawl is gone
                },
                _ = tokio::time::sleep_until(extend_at) => {
                    let leases: Vec<Lease> = self.leases.values().cloned().collect();
                    frontier.extend(&leases).await?;
                    extend_at = Instant::now() + extend_every;
                }
                _ = tokio::time::sleep_until(beat_at) => {
                    let beat = self.heartbeats.next(&*self.live, self.paused);
                    // The dashboard's data: a failure to write it is logged, never the crawl's end.
                    match frontier.heartbeat(&beat).await {
                        Ok(Control::Cancelled) => {
                            tracing::info!("redis frontier {}: cancelled from the dashboard", self.name);
                            self.cancel.cancel();
                        }
                        Ok(control) => self.paused = control == Control::Paused,
                        Err(e) => tracing::warn!("redis frontier {}: heartbeat not recorded: {e}", self.name),
                    }
                    beat_at = Instant::now() + HEARTBEAT;
                }
                permit = reserve(feeding.as_ref()), if feeding.is_some() => {
                    let Some(permit) = permit else {
                        self.items = None; // the scheduler is gone
                        continue;
                    };
                    let room = feeding.as_ref().map_or(0, |items| items.capacity()) + 1;
                    let taken = match frontier.take(room).await {
                        Ok(taken) => taken,
                        // The corrupt item was acknowledged as failed by `take`; the rest of
                        // its batch comes back when their leases expire. Keep crawling.
                        Err(e @ RedisFrontierError::Corrupt { .. }) => {
                            tracing::error!("redis frontier {}: {e}", self.name);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if taken.is_empty() {
                        drop(permit);
                        if self.seeds_closed && !self.follow && frontier.is_finished().await? {
                            tracing::debug!("redis frontier {}: crawl finished", self.name);
                            self.items = None;
                        }
                        take_at = Instant::now() + poll;
                        poll = (poll * 2).min(POLL_MAX);
                        continue;
                    }
                    poll = POLL_MIN;
                    if seed_hosts_at <= Instant::now() {
                        // SMEMBERS of a big set is costly for Redis: only when it changed.
                        let count = frontier.seed_host_count().await?;
                        if count != seed_hosts_known {
                            for host in frontier.seed_hosts().await? {
                                self.guard.trust_seed_host(&host);
                            }
                            seed_hosts_known = count;
                        }
                        seed_hosts_at = Instant::now() + SEED_HOSTS_REFRESH;
                    }
                    let mut permit = Some(permit);
                    for leased in taken {
                        self.leases.insert(leased.lease.id(), leased.lease.clone());
                        let mut request = leased.request;
                        request.lease = Some(leased.lease);
                        match permit.take() {
                            Some(permit) => permit.send(request),
                            None => {
                                if let Some(items) = &self.items {
                                    // Room was counted above and only we send.
                                    let _ = items.try_send(request);
                                }
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(take_at), if self.items.is_some() && feeding.is_none() && !self.paused => {}
            }
        }
    }

    async fn handle(
        &mut self,
        frontier: &RedisFrontier,
        command: Command,
    ) -> Result<(), RedisFrontierError> {
        match command {
            Command::Seeds(seeds) => {
                for batch in seeds.chunks(PUSH_BATCH) {
                    frontier.push_seeds(batch, false).await?;
                }
            }
            Command::SeedsClosed => self.seeds_closed = true,
            Command::Links(links) => {
                for batch in links.chunks(PUSH_BATCH) {
                    frontier.push(batch).await?;
                }
            }
            Command::Ack(lease, outcome, visit) => {
                self.leases.remove(&lease.id());
                frontier.ack_visit(&lease, outcome, &visit).await?;
            }
        }
        Ok(())
    }
}

async fn reserve(items: Option<&mpsc::Sender<Request>>) -> Option<mpsc::Permit<'_, Request>> {
    items?.reserve().await.ok()
}

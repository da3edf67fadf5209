//! Counters kept by a crawl while it runs, and the snapshot users read.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::CrawlError;
use crate::last_visit::Change;
use crate::memory::MemoryStats;

mod render;

pub(crate) use render::RenderCounters;
pub use render::RenderStats;

/// Width of a history bucket (seconds) and buckets kept: the last hour.
pub const HISTORY_BUCKET_SECS: u64 = 10;
const HISTORY_BUCKETS: usize = 360;

/// Failed pages kept as samples (`recent_errors`), newest first.
pub const MAX_ERROR_SAMPLES: usize = 20;
/// A sample's URL and message are cut to this many bytes.
const MAX_SAMPLE_TEXT: usize = 512;

/// Hosts counted one by one in `over_host_budget_by_host`.
const MAX_BUDGET_HOSTS: usize = 1000;

/// Live counters of one crawl, updated by every stage without locks (but the rare
/// `over_host_budget_by_host`).
#[derive(Debug)]
pub(crate) struct Counters {
    started: Instant,
    pub pages: AtomicU64,
    pub bytes: AtomicU64,
    errors: [AtomicU64; CrawlError::KINDS.len()],
    /// Requests handed to the fetch stage.
    pub dispatched: AtomicU64,
    /// Fetches under way.
    pub in_flight: AtomicU64,
    /// Pages fetched (or being fetched) and not yet taken by the consumer: what a slow consumer
    /// makes the engine hold. Bounded by `concurrency + buffer`.
    pub held: AtomicU64,
    pub held_peak: AtomicU64,
    /// Slots given back (pages consumed or dropped): the consumer's progress, for the watchdog.
    pub releases: AtomicU64,
    end_reason: AtomicU8,
    pub frontier: AtomicU64,
    pub seen: AtomicU64,
    pub out_of_scope: AtomicU64,
    /// Discovered links dropped as crawler traps: looping paths, query variants past
    /// `max_query_variants`.
    pub trap_path_loops: AtomicU64,
    pub trap_query_variants: AtomicU64,
    /// Requests not queued because their seed had spent `max_pages_per_seed`.
    pub over_seed_budget: AtomicU64,
    /// Requests not queued because their host had spent `max_pages_per_host`: in all, and by
    /// host (the first [`MAX_BUDGET_HOSTS`] hosts).
    over_host_budget: AtomicU64,
    over_host_budget_by_host: Mutex<BTreeMap<String, u64>>,
    /// Pages by [`Change`], in the order of [`Change::ALL`].
    changes: [AtomicU64; Change::ALL.len()],
    pub not_modified: AtomicU64,
    /// See `Stats::politeness_wait_seconds`.
    pub politeness_wait_micros: AtomicU64,
    pub sitemaps: SitemapCounters,
    pub render: RenderCounters,
    recent_errors: Mutex<VecDeque<ErrorSample>>,
    history: Mutex<VecDeque<HistoryPoint>>,
}

/// What reading sitemaps did (see [`SitemapStats`]).
#[derive(Debug, Default)]
pub(crate) struct SitemapCounters {
    pub read: AtomicU64,
    pub failed: AtomicU64,
    pub urls: AtomicU64,
    pub dropped: AtomicU64,
}

impl SitemapCounters {
    fn snapshot(&self) -> SitemapStats {
        SitemapStats {
            read: self.read.load(Relaxed),
            failed: self.failed.load(Relaxed),
            urls: self.urls.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
        }
    }
}

impl Counters {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            pages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            dispatched: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            held: AtomicU64::new(0),
            held_peak: AtomicU64::new(0),
            releases: AtomicU64::new(0),
            end_reason: AtomicU8::new(0),
            frontier: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            out_of_scope: AtomicU64::new(0),
            trap_path_loops: AtomicU64::new(0),
            trap_query_variants: AtomicU64::new(0),
            over_seed_budget: AtomicU64::new(0),
            over_host_budget: AtomicU64::new(0),
            over_host_budget_by_host: Mutex::new(BTreeMap::new()),
            changes: std::array::from_fn(|_| AtomicU64::new(0)),
            not_modified: AtomicU64::new(0),
            politeness_wait_micros: AtomicU64::new(0),
            sitemaps: SitemapCounters::default(),
            render: RenderCounters::default(),
            recent_errors: Mutex::new(VecDeque::new()),
            history: Mutex::new(VecDeque::new()),
        }
    }

    pub fn over_host_budget(&self, host: &str) {
        self.over_host_budget.fetch_add(1, Relaxed);
        let mut by_host = self
            .over_host_budget_by_host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = by_host.get_mut(host) {
            *count += 1;
        } else if by_host.len() < MAX_BUDGET_HOSTS {
            by_host.insert(host.to_string(), 1);
        }
    }

    pub fn record_change(&self, change: Change) {
        if let Some(i) = Change::ALL.iter().position(|c| *c == change) {
            self.changes[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts a delivered page (`failed`: with an error) in its 10 s bucket of the last hour.
    pub fn record_history(&self, failed: bool) {
        let t = unix_secs() / HISTORY_BUCKET_SECS * HISTORY_BUCKET_SECS;
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        match history.back_mut() {
            Some(point) if point.t == t => {
                point.pages += 1;
                point.errors += u64::from(failed);
            }
            _ => {
                if history.len() >= HISTORY_BUCKETS {
                    history.pop_front();
                }
                let errors = u64::from(failed);
                history.push_back(HistoryPoint {
                    t,
                    pages: 1,
                    errors,
                });
            }
        }
    }

    /// Keeps `url`'s failure among the last [`MAX_ERROR_SAMPLES`].
    pub fn sample_error(&self, url: &str, error: &CrawlError) {
        let sample = ErrorSample {
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            url: cut(url),
            kind: error.kind().to_string(),
            message: cut(&error.to_string()),
        };
        let mut samples = self.recent_errors.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() >= MAX_ERROR_SAMPLES {
            samples.pop_back();
        }
        samples.push_front(sample);
    }

    pub fn record_error(&self, error: &CrawlError) {
        if let Some(i) = CrawlError::KINDS.iter().position(|k| *k == error.kind()) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    pub fn hold(&self) {
        let held = self.held.fetch_add(1, Relaxed) + 1;
        self.held_peak.fetch_max(held, Relaxed);
    }

    pub fn release(&self) {
        self.held.fetch_sub(1, Relaxed);
        self.releases.fetch_add(1, Relaxed);
    }

    pub fn end(&self, reason: EndReason) {
        self.end_reason.store(reason as u8, Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let errors_by_kind: BTreeMap<String, u64> = CrawlError::KINDS
            .iter()
            .zip(&self.errors)
            .map(|(kind, n)| (kind.to_string(), n.load(Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let elapsed = self.started.elapsed();
        let pages = self.pages.load(Relaxed);
        Stats {
            pages,
            errors: errors_by_kind.values().sum(),
            errors_by_kind,
            bytes: self.bytes.load(Relaxed),
            elapsed,
            pages_per_sec: pages as f64 / elapsed.as_secs_f64().max(1e-9),
            in_flight: self.in_flight.load(Relaxed),
            held: self.held.load(Relaxed),
            held_peak: self.held_peak.load(Relaxed),
            frontier: self.frontier.load(Relaxed),
            seen: self.seen.load(Relaxed),
            out_of_scope: self.out_of_scope.load(Relaxed),
            trap_path_loops: self.trap_path_loops.load(Relaxed),
            trap_query_variants: self.trap_query_variants.load(Relaxed),
            over_seed_budget: self.over_seed_budget.load(Relaxed),
            over_host_budget: self.over_host_budget.load(Relaxed),
            over_host_budget_by_host: self
                .over_host_budget_by_host
                .lock()
                .map(|by_host| by_host.clone())
                .unwrap_or_default(),
            changes: {
                let [new, changed, unchanged, gone] =
                    std::array::from_fn(|i| self.changes[i].load(Relaxed));
                ChangeStats {
                    new,
                    changed,
                    unchanged,
                    gone,
                    not_modified: self.not_modified.load(Relaxed),
                }
            },
            sitemaps: self.sitemaps.snapshot(),
            render: self.render.snapshot(),
            history: (self.history.lock())
                .map(|history| history.iter().copied().collect())
                .unwrap_or_default(),
            recent_errors: (self.recent_errors.lock())
                .map(|samples| samples.iter().cloned().collect())
                .unwrap_or_default(),
            hosts_active: 0,
            hosts_paused: 0,
            redis_calls: 0,
            redis_seconds: 0.0,
            politeness_wait_seconds: self.politeness_wait_micros.load(Relaxed) as f64 / 1e6,
            fetch_window: 0,
            descriptors: DescriptorStats::default(),
            end_reason: EndReason::from_u8(self.end_reason.load(Relaxed)),
            memory: MemoryStats::default(),
        }
    }
}

/// A point-in-time view of a crawl.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Pages delivered (failed ones included).
    pub pages: u64,
    /// Pages delivered with an error.
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Body bytes received.
    pub bytes: u64,
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
    pub pages_per_sec: f64,
    pub in_flight: u64,
    /// Pages the engine holds for the consumer right now, and the most it ever held.
    pub held: u64,
    pub held_peak: u64,
    /// URLs waiting to be fetched.
    pub frontier: u64,
    /// Distinct URLs seen (the size of the seen set).
    pub seen: u64,
    /// Discovered links not followed because of the scope rules.
    pub out_of_scope: u64,
    /// Discovered links dropped as crawler traps: paths repeating a run of segments 3 times
    /// (`/a/b/a/b/a/b/`), and query strings past `max_query_variants` on one path.
    pub trap_path_loops: u64,
    pub trap_query_variants: u64,
    /// Requests not queued because their seed (its `meta`) had spent `max_pages_per_seed`.
    pub over_seed_budget: u64,
    /// Requests not queued because their host had spent `max_pages_per_host`, in all and by
    /// host (`host:port`; the first 1,000 hosts that spent it).
    pub over_host_budget: u64,
    pub over_host_budget_by_host: BTreeMap<String, u64>,
    /// Pages by what changed since their last visit (pages with no [`Change`] not counted).
    pub changes: ChangeStats,
    /// Sitemaps read (with `sitemaps`).
    pub sitemaps: SitemapStats,
    /// Pages rendered in headless Chromium (with `render`).
    pub render: RenderStats,
    /// The last failed pages (at most [`MAX_ERROR_SAMPLES`]), newest first.
    pub recent_errors: Vec<ErrorSample>,
    /// Pages and errors delivered per 10 s bucket over the last hour, oldest first (buckets
    /// without pages left out). Not in the stats' JSON: the dashboard shows it.
    #[serde(skip)]
    pub history: Vec<HistoryPoint>,
    /// Hosts with requests in flight now, and hosts paused a second or more (Retry-After,
    /// backoff, a long Crawl-delay), over every crawl of the process.
    pub hosts_active: u64,
    pub hosts_paused: u64,
    /// Calls answered by Redis in this process (shared crawls, frontiers, the dashboard), and
    /// their total round-trip time in seconds: their ratio is the mean round trip.
    pub redis_calls: u64,
    pub redis_seconds: f64,
    /// Time the crawl had requests queued but every one's host had to wait (`per_host`,
    /// `delay`, Crawl-delay, Retry-After or backoff pauses), in seconds: politeness-bound idle.
    pub politeness_wait_seconds: f64,
    /// Requests the crawler lets run ahead of its parsers now (fetching or waiting for a parser
    /// thread): between one per parser and `concurrency`, shared by its crawls.
    pub fetch_window: u64,
    /// The crawler's open descriptors against its budget (shared by its crawls).
    pub descriptors: DescriptorStats,
    /// Why the crawl ended; `None` while it runs.
    pub end_reason: Option<EndReason>,
    /// The crawler's memory budget and what is accounted against it now (shared by its crawls).
    pub memory: MemoryStats,
}

/// Pages by [`Change`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeStats {
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub gone: u64,
    /// `304 Not Modified` answers (among `unchanged`): no body was sent.
    pub not_modified: u64,
}

/// What the gate holds now (the host gate's snapshot).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct HostsSnapshot {
    /// Hosts with requests in flight, and paused ones.
    pub active: u64,
    pub paused: u64,
    /// The busiest: host and requests in flight, most first.
    pub busiest: Vec<(String, usize)>,
    /// The paused ones: host and the wait left, longest first.
    pub paused_hosts: Vec<(String, Duration)>,
}

/// Where a running crawl's stats come from (its consumer's side), for the heartbeats of a
/// shared crawl's agent.
pub(crate) trait StatsSource: Send + Sync {
    fn stats(&self) -> Stats;
    /// The process's busiest and paused hosts, `top` of each.
    fn hosts(&self, top: usize) -> HostsSnapshot;
}

/// Pages and errors delivered in one 10 s bucket (`t`: its start, seconds since the Unix
/// epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HistoryPoint {
    pub t: u64,
    pub pages: u64,
    pub errors: u64,
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A failed page, as the dashboard shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorSample {
    /// When it was delivered (seconds since the Unix epoch).
    pub at: f64,
    pub url: String,
    pub kind: String,
    pub message: String,
}

/// `text`, cut to [`MAX_SAMPLE_TEXT`] bytes at a character boundary.
fn cut(text: &str) -> String {
    let mut end = text.len().min(MAX_SAMPLE_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Sitemaps read by a crawl (`sitemaps`), and the URLs they gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SitemapStats {
    /// Sitemap files (and indexes) read to their end.
    pub read: u64,
    /// Sitemaps that failed (unreachable, not a sitemap, malformed, past a limit: the entries
    /// before the failure stand), and robots.txt fetches for sitemaps that failed.
    pub failed: u64,
    /// Page URLs they gave (queued unless already seen, or past a budget).
    pub urls: u64,
    /// Entries not used: on another host, out of scope, not an http(s) URL, past the nesting or
    /// per-site cap.
    pub dropped: u64,
}

/// Open files of the process against the crawler's descriptor budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DescriptorStats {
    /// Descriptors open in the process (sampled; 0 where the system does not tell).
    pub open: u64,
    /// The most the crawler's connections take it to: those open at start plus
    /// `connection_limit`.
    pub budget: u64,
    /// The crawler's connections, open or connecting.
    pub connections: u64,
    /// The most connections the crawler keeps.
    pub connection_limit: u64,
    /// Connects that had to wait for room.
    pub waits: u64,
    /// Idle connections closed to make room for another host's.
    pub closed_idle: u64,
}

/// Why a crawl ended. Every crawl ends, and says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Nothing left to crawl.
    Finished = 1,
    /// `max_pages` reached.
    MaxPages,
    /// Cancelled by the caller (or the consumer went away).
    Cancelled,
    /// `deadline` passed.
    Deadline,
    /// No progress at all for `stall_timeout`.
    Stalled,
}

impl EndReason {
    fn from_u8(value: u8) -> Option<Self> {
        [
            Self::Finished,
            Self::MaxPages,
            Self::Cancelled,
            Self::Deadline,
            Self::Stalled,
        ]
        .into_iter()
        .find(|r| *r as u8 == value)
    }
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

//! robots.txt (RFC 9309): fetched once per host (`scheme://host:port`) and cached with a TTL in a
//! table shared by all crawls of a crawler, bounded in entries and in bytes. Parsing and matching
//! are [`rules::RobotRules`]'s (no regex: an origin costs about the bytes of its group). A 4xx robots.txt allows
//! everything; a 5xx (or a robots.txt that times out) disallows everything, and a host whose
//! robots.txt cannot be reached — or breaks off mid-body: half a file is not the file — fails
//! its pages with that transport error (so a dead host reads as `connect`, not as
//! `robots_disallowed`), both for `UNREACHABLE_TTL`; then robots.txt is fetched again.
//!
//! Its redirects (up to five, RFC 9309) are requests like any other: each hop passes the
//! address guard and the `allow`/`deny` patterns before it is sent, and a refused hop fails the
//! host's pages with the refusal.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::StreamExt;
use reqwest::header::LOCATION;
use reqwest::Client;
use tokio::sync::OnceCell;
use url::Url;

use super::AddressGuard;
use crate::content_encoding::decoded_body;
use crate::error::CrawlError;
use crate::tracked_io::ConnectionLease;
use crate::url::{location_target, Scope};

mod rules;

pub use rules::RobotRules;

/// How long a fetched robots.txt is trusted.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long an unreachable (or 5xx) robots.txt means "disallow all" before we ask again.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(60);
/// robots.txt bodies are read up to this size (RFC 9309 asks for at least 500 KiB).
const MAX_ROBOTS_BYTES: usize = 512 * 1024;
/// Redirects followed for robots.txt (RFC 9309: at least five).
const MAX_ROBOTS_REDIRECTS: usize = 5;
/// The bytes the cache's rules may hold; past it the oldest origins are forgotten (and fetched
/// again when needed). A fixed overhead beside `max_memory`, whatever the number of hosts.
pub const MAX_CACHE_BYTES: usize = 32 << 20;

/// The rules for one origin.
#[derive(Debug, Clone)]
pub enum Rules {
    AllowAll,
    DisallowAll,
    Parsed(Arc<RobotRules>),
    /// robots.txt could not be fetched at all (refused address, DNS, connect, timeout): pages
    /// of the host fail with this error until `UNREACHABLE_TTL` has passed.
    Unreachable(CrawlError),
}

impl Rules {
    pub fn allows(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll | Rules::Unreachable(_) => url.path() == "/robots.txt",
            Rules::Parsed(robot) => robot.allowed(url),
        }
    }

    /// The group's Crawl-delay, if any, capped at `cap`: an absurd value (`1e20`, `inf`) is
    /// the cap, never ignored. A negative or non-numeric one is no delay.
    pub fn crawl_delay(&self, cap: Duration) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot
                .crawl_delay
                .filter(|seconds| *seconds >= 0.0) // false for NaN too
                .map(|seconds| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
                .map(|delay| delay.min(cap)),
            _ => None,
        }
    }

    /// The `Sitemap:` URLs of the robots.txt these rules come from (none when it had no rules).
    pub fn sitemaps(&self) -> &[Box<str>] {
        match self {
            Rules::Parsed(robot) => &robot.sitemaps,
            _ => &[],
        }
    }

    /// Bytes held, for the cache's bound.
    fn memory(&self) -> usize {
        match self {
            Rules::Parsed(robot) => robot.memory(),
            _ => std::mem::size_of::<Self>(),
        }
    }
}

/// What fetching robots.txt needs: the crawl's client, guard and scope.
pub struct RobotsFetch<'a> {
    pub client: &'a Client,
    pub guard: &'a AddressGuard,
    pub scope: &'a Scope,
    pub timeout: Duration,
}

struct Entry {
    cell: OnceCell<(Rules, Instant)>,
    /// What its rules hold, once known (counted in `Table::bytes`).
    bytes: AtomicUsize,
}

/// The per-crawler robots.txt cache.
pub struct RobotsCache {
    agent: String,
    capacity: usize,
    entries: Mutex<Table>,
}

/// Entries by origin, and origins in insertion order (the eviction order).
#[derive(Default)]
struct Table {
    map: HashMap<String, Arc<Entry>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Table {
    /// Forgets the oldest origin (an entry already replaced is skipped).
    fn evict_oldest(&mut self) -> bool {
        let Some(oldest) = self.order.pop_front() else {
            return false;
        };
        if let Some(entry) = self.map.remove(&oldest) {
            self.bytes -= entry.bytes.load(Relaxed);
        }
        true
    }
}

/// `scheme://host:port`, the unit robots.txt applies to.
pub fn origin(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The robots.txt product token of a User-Agent: `ucrawler/0.1 (+…)` → `ucrawler`.
pub fn product_token(user_agent: &str) -> String {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or("ucrawler")
        .to_string()
}

impl RobotsCache {
    pub fn new(user_agent: &str, capacity: usize) -> Self {
        Self {
            agent: product_token(user_agent),
            capacity: capacity.max(1),
            entries: Mutex::new(Table::default()),
        }
    }

    /// Our product token (`X-Robots-Tag: ucrawler: …` is matched against it too).
    pub fn agent(&self) -> &str {
        &self.agent
    }

    fn entry(&self, key: &str) -> Arc<Entry> {
        let mut table = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = table.map.get(key) {
            let expired = entry
                .cell
                .get()
                .is_some_and(|(_, expires)| *expires <= Instant::now());
            if !expired {
                return entry.clone();
            }
        }
        while table.map.len() >= self.capacity && table.evict_oldest() {}
        let entry = Arc::new(Entry {
            cell: OnceCell::new(),
            bytes: AtomicUsize::new(0),
        });
        match table.map.insert(key.to_string(), entry.clone()) {
            Some(replaced) => table.bytes -= replaced.bytes.load(Relaxed),
            None => table.order.push_back(key.to_string()),
        }
        entry
    }

    /// Counts what `entry`'s rules hold, and forgets the oldest origins while the cache holds
    /// more than [`MAX_CACHE_BYTES`].
    fn account(&self, key: &str, entry: &Arc<Entry>, bytes: usize) {
        let mut table = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !table.map.get(key).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            return; // evicted while it was fetched
        }
        entry.bytes.store(bytes, Relaxed);
        table.bytes += bytes;
        while table.bytes > MAX_CACHE_BYTES && table.map.len() > 1 && table.evict_oldest() {}
    }

    /// Bytes the cached rules hold.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// The rules for `url`'s origin if already known (no fetching).
    pub fn cached(&self, url: &Url) -> Option<Rules> {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (rules, expires) = guard.map.get(&origin(url))?.cell.get()?;
        (*expires > Instant::now()).then(|| rules.clone())
    }

    /// The rules for `url`'s origin, fetching robots.txt once if needed (concurrent callers
    /// for one origin share that fetch).
    pub async fn rules(&self, fetch: &RobotsFetch<'_>, url: &Url) -> Rules {
        let key = origin(url);
        let entry = self.entry(&key);
        let (rules, _) = entry
            .cell
            .get_or_init(|| async {
                let (rules, ttl) = self.fetch(fetch, url).await;
                self.account(&key, &entry, rules.memory());
                (rules, Instant::now() + ttl)
            })
            .await;
        rules.clone()
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    async fn fetch(&self, fetch: &RobotsFetch<'_>, url: &Url) -> (Rules, Duration) {
        let Ok(target) = url.join("/robots.txt") else {
            return (Rules::AllowAll, TTL);
        };
        let fetched = tokio::time::timeout(fetch.timeout, fetch_robots_txt(fetch, target))
            .await
            .ok()
            .flatten();
        rules_for(&self.agent, fetched)
    }
}

/// Fetches robots.txt at `target`, following redirects through the same checks as any
/// request. `None`: too many redirects, or a redirect without a usable `Location`.
async fn fetch_robots_txt(
    fetch: &RobotsFetch<'_>,
    mut target: Url,
) -> Option<Result<(u16, BytesMut), CrawlError>> {
    for hop in 0..=MAX_ROBOTS_REDIRECTS {
        if let Err(refused) = fetch.guard.check_literal(&target) {
            return Some(Err(refused));
        }
        if hop > 0 && !fetch.scope.allows_pattern(target.as_str()) {
            return Some(Err(CrawlError::RedirectOutOfScope(target.to_string())));
        }
        let response = match fetch.client.get(target.clone()).send().await {
            Ok(response) => response,
            Err(e) => return Some(Err(CrawlError::from_reqwest(&e))),
        };
        // The connection is busy until the file is read (or the response dropped).
        let _lease = ConnectionLease::of(&response);
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get(LOCATION)?;
            target = location_target(&target, location.as_bytes())?;
            continue;
        }
        if !status.is_success() {
            return Some(Ok((status.as_u16(), BytesMut::new())));
        }
        let status = status.as_u16();
        let mut stream = match decoded_body(response).await {
            Ok(stream) => stream,
            Err(error) => return Some(Err(error)),
        };
        let mut body = BytesMut::new();
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    let room = MAX_ROBOTS_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_ROBOTS_BYTES {
                        break; // RFC 9309: the first 500 KiB are the file.
                    }
                }
                None => break,
                // Cut off mid-body: the missing part may hold the Disallow lines.
                Some(Err(error)) => return Some(Err(error)),
            }
        }
        return Some(Ok((status, body)));
    }
    None
}

/// What a robots.txt fetch means: its status and body, a transport error, or `None` when it
/// timed out or redirected too often. Returns the rules and how long to trust them.
pub(crate) fn rules_for(
    agent: &str,
    fetched: Option<Result<(u16, BytesMut), CrawlError>>,
) -> (Rules, Duration) {
    match fetched {
        Some(Ok((status, body))) if (200..300).contains(&status) => (
            Rules::Parsed(Arc::new(RobotRules::parse(agent, &body))),
            TTL,
        ),
        Some(Ok((status, _))) if (400..500).contains(&status) => (Rules::AllowAll, TTL),
        // Out of descriptors for a moment: ask again at once, never remember it.
        Some(Err(error)) if error.is_out_of_descriptors() => {
            (Rules::Unreachable(error), Duration::ZERO)
        }
        Some(Err(error)) => (Rules::Unreachable(error), UNREACHABLE_TTL),
        _ => (Rules::DisallowAll, UNREACHABLE_TTL),
    }
}

#[cfg(test)]
mod tests;

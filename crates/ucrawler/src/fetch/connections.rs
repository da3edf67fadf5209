//! Bounded connections: the crawler's open sockets stay under a hard limit whatever the number
//! of hosts, and running out of descriptors is back-pressure, never a lost page.
//!
//! - At start the soft `RLIMIT_NOFILE` is raised to the hard one (as servers do).
//! - The limit is `min(concurrency + 64, soft limit − 64 − the process's own)` connections, never
//!   less than `concurrency + 8`, on top of the descriptors the process had open before (an
//!   app's database sockets and log files). Every connection is counted from its connect to
//!   its close ([`crate::tracked_io`]), exactly: no sampling.
//! - A connect waits while the limit is spent and closes the connection idle the longest to make
//!   room (HTTP/1: idle = in the pool between requests, see [`crate::tracked_io`]). Requests in
//!   flight never exceed `concurrency`, so one is idle or closing whenever the limit is spent.
//!   Should none be (HTTP/2 connections are never closed, they multiplex), the connect waits
//!   until idle connections time out, and after [`max_wait`] goes ahead over the limit (logged):
//!   the limit holds the crawler, it never stalls it.
//! - Keep-alive is per host and short: at most `per_host` idle connections to a host (it never
//!   has more requests in flight from this crawler), closed after [`idle_timeout`]. Past half
//!   the limit, a request asks the server to close its connection (`Connection: close`) unless
//!   more requests to its host are waiting right behind it.
//! - Should `EMFILE` happen all the same (descriptors opened elsewhere in the process), the
//!   page is retried after a short pause without spending one of its `retries`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Read, Write};
use hyper_util::client::legacy::connect::Connection;
use reqwest::{Client, WrapConnection};
use tokio::sync::Notify;
use tower::{Layer, Service};

use crate::config::Config;
use crate::error::Error;
use crate::stats::DescriptorStats;
#[cfg(test)]
use crate::tracked_io::ConnectionLease;
use crate::tracked_io::{ConnectionState, TrackedIo};

/// Descriptors kept out of the limit for everything else (files, the runtime, the journal), and
/// the connections allowed beyond `concurrency` (robots.txt, idle ones kept for their host).
const RESERVE: u64 = 64;
/// How often `/proc/self/fd` is read for the stats, at most (~0.2 µs per open descriptor).
const SAMPLE_EVERY: Duration = Duration::from_millis(25);
/// `sampled_at` before the first look at `/proc/self/fd`.
const RESAMPLE: u64 = u64::MAX;
/// How long a waiting connect waits for a closed connection before it looks again.
const WAIT: Duration = Duration::from_millis(20);

/// How long an idle connection is kept: long enough for the host's next request when it has
/// more to fetch (twice its `delay`), short enough that a host that is done soon costs nothing.
pub(crate) fn idle_timeout(config: &Config) -> Duration {
    (config.delay * 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// The longest a connect waits for room: by then every idle connection has timed out (the
/// pool looks every `idle_timeout`), so only connections the limit cannot see hold the room.
fn max_wait(config: &Config) -> Duration {
    idle_timeout(config) * 2 + Duration::from_secs(1)
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit now in force
/// (`None` where it cannot be read).
fn raise_descriptor_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!("cannot read or raise the open-files limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// Open descriptors of this process, where the system tells (Linux).
fn open_descriptors() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as u64)
}

/// The connection limit, shared by the client's connector layer and [`Connections`].
#[derive(Debug)]
pub(crate) struct ConnectionLimit {
    /// Descriptors the process had open before the crawler made any connection (the app's own:
    /// a Rails process holds database sockets, log files…); the limit is on top of them.
    baseline: u64,
    /// The most connections (open or connecting) the crawler keeps.
    limit: u64,
    max_wait: Duration,
    /// Connections open or connecting: each holds a [`Place`].
    taken: AtomicUsize,
    /// Open connections, by number, to find an idle one to close.
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
    next_id: AtomicU64,
    /// Connects waiting for room, and a place freed.
    waiting: AtomicUsize,
    freed: Notify,
    /// The last sample of open descriptors, and when it was taken (ms since `epoch`).
    sampled: AtomicU64,
    sampled_at: AtomicU64,
    epoch: Instant,
    /// Connects that had to wait for room; idle connections closed to make it.
    waits: AtomicU64,
    closed_idle: AtomicU64,
    /// Whether a connect went ahead over the limit (logged once).
    overran: AtomicBool,
}

impl ConnectionLimit {
    fn new(config: &Config) -> Arc<Self> {
        let soft = raise_descriptor_limit().unwrap_or(1024);
        let baseline = open_descriptors().unwrap_or(0);
        let wanted = config.concurrency as u64 + RESERVE;
        let room = soft.saturating_sub(baseline + RESERVE);
        // Never below what `concurrency` needs in flight: past the hard limit, EMFILE is
        // back-pressure anyway.
        let limit = wanted.min(room).max(config.concurrency as u64 + 8);
        Arc::new(Self::with_limit(baseline, limit, max_wait(config)))
    }

    fn with_limit(baseline: u64, limit: u64, max_wait: Duration) -> Self {
        Self {
            baseline,
            limit,
            max_wait,
            taken: AtomicUsize::new(0),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            sampled: AtomicU64::new(0),
            sampled_at: AtomicU64::new(RESAMPLE),
            epoch: Instant::now(),
            waits: AtomicU64::new(0),
            closed_idle: AtomicU64::new(0),
            overran: AtomicBool::new(false),
        }
    }

    /// Open descriptors of the process, sampled at most every `SAMPLE_EVERY` (stats only).
    fn sample_open(&self) -> u64 {
        let now = self.epoch.elapsed().as_millis() as u64;
        let at = self.sampled_at.load(Ordering::Relaxed);
        if (at == RESAMPLE || now.saturating_sub(at) >= SAMPLE_EVERY.as_millis() as u64)
            && self
                .sampled_at
                .compare_exchange(at, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            if let Some(open) = open_descriptors() {
                self.sampled.store(open, Ordering::Relaxed);
            }
        }
        self.sampled.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> DescriptorStats {
        DescriptorStats {
            open: self.sample_open(),
            budget: self.baseline + self.limit,
            connections: self.taken.load(Ordering::Relaxed) as u64,
            connection_limit: self.limit,
            waits: self.waits.load(Ordering::Relaxed),
            closed_idle: self.closed_idle.load(Ordering::Relaxed),
        }
    }

    /// Whether connections should be let go after their request (past half the limit).
    fn under_pressure(&self) -> bool {
        self.taken.load(Ordering::Relaxed) as u64 * 2 >= self.limit
    }

    /// Takes a place if one is free.
    fn try_take(self: &Arc<Self>) -> Option<Place> {
        let mut taken = self.taken.load(Ordering::Acquire);
        while (taken as u64) < self.limit {
            match self.taken.compare_exchange_weak(
                taken,
                taken + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Place(self.clone())),
                Err(now) => taken = now,
            }
        }
        None
    }

    /// Closes the connection idle the longest, unless enough are closing already for the
    /// connects waiting.
    fn close_one_idle(&self) {
        let Ok(open) = self.open.lock() else { return };
        let closing = open.values().filter(|c| c.is_closing()).count();
        if closing >= self.waiting.load(Ordering::Acquire) {
            return;
        }
        let oldest = open
            .values()
            .filter_map(|c| c.idle_since().map(|since| (since, c)))
            .min_by_key(|(since, _)| *since);
        if let Some((_, connection)) = oldest {
            if connection.close_if_idle() {
                self.closed_idle.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits for a place for one more connection, closing idle ones to make room (see the
    /// module docs). The place is held until the connection closes.
    async fn admit(self: Arc<Self>) -> Place {
        if let Some(place) = self.try_take() {
            return place;
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let give_up = Instant::now() + self.max_wait;
        let place = loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(place) = self.try_take() {
                break place;
            }
            if Instant::now() >= give_up {
                if !self.overran.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "no connection could be closed for {:?}: one goes over the limit of {}",
                        self.max_wait,
                        self.limit
                    );
                }
                self.taken.fetch_add(1, Ordering::AcqRel);
                break Place(self.clone());
            }
            self.close_one_idle();
            let _ = tokio::time::timeout(WAIT, freed).await;
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        place
    }

    /// Tracks a new connection, which keeps `place` until it closes.
    fn track<T: Connection>(self: &Arc<Self>, io: T, place: Place) -> TrackedIo<T, Open> {
        TrackedIo::new(io, self.epoch, |state| {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut open) = self.open.lock() {
                open.insert(id, state.clone());
            }
            Open { id, place }
        })
    }
}

/// A place under the limit, taken by a connect and kept by its connection.
struct Place(Arc<ConnectionLimit>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
        self.0.freed.notify_one();
    }
}

/// What an open connection keeps: its entry among the open ones and its place.
pub(crate) struct Open {
    id: u64,
    place: Place,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Ok(mut open) = self.place.0.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// The connector layer that holds each new connection to the limit and tracks it.
#[derive(Clone)]
pub(crate) struct ConnectionLimitLayer(Arc<ConnectionLimit>);

impl<S> Layer<S> for ConnectionLimitLayer {
    type Service = LimitedConnect<S>;

    fn layer(&self, inner: S) -> LimitedConnect<S> {
        LimitedConnect {
            inner,
            limit: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct LimitedConnect<S> {
    inner: S,
    limit: Arc<ConnectionLimit>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> Service<R> for LimitedConnect<S>
where
    S: Service<R> + Clone + Send + 'static,
    S::Response: WrapConnection + Read + Write + Connection + Send + Sync + Unpin + 'static,
    S::Future: Send,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The service polled ready is the one to call (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit.clone();
        Box::pin(async move {
            let place = limit.clone().admit().await;
            let connection = inner.call(request).await?;
            Ok(connection.wrap(|io| limit.track(io, place)))
        })
    }
}

/// The HTTP client and its connection limit (see the module docs).
pub(crate) struct Connections {
    limit: Arc<ConnectionLimit>,
    client: Client,
}

impl Connections {
    /// `build` makes the client with the given connector layer (in a runtime context).
    pub fn new(
        config: &Config,
        build: impl FnOnce(ConnectionLimitLayer) -> Result<Client, Error>,
    ) -> Result<Self, Error> {
        let limit = ConnectionLimit::new(config);
        let client = build(ConnectionLimitLayer(limit.clone()))?;
        Ok(Self { limit, client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether a request to a host with nothing waiting behind it should close its connection.
    pub fn close_when_idle(&self) -> bool {
        self.limit.under_pressure()
    }

    /// The limit, for stats that outlive the client.
    pub fn limit(&self) -> &Arc<ConnectionLimit> {
        &self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeout_follows_the_delay_within_bounds() {
        let mut config = Config::default();
        assert_eq!(idle_timeout(&config), Duration::from_secs(1));
        config.delay = Duration::from_secs(3);
        assert_eq!(idle_timeout(&config), Duration::from_secs(6));
        config.delay = Duration::from_secs(600);
        assert_eq!(idle_timeout(&config), Duration::from_secs(30));
    }

    #[test]
    fn the_limit_fits_under_the_descriptor_limit() {
        let config = Config::default();
        let budget = ConnectionLimit::new(&config);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert!(budget.baseline + budget.limit <= soft - RESERVE);
        assert!(budget.limit <= config.concurrency as u64 + RESERVE);
        assert!(budget.limit > config.concurrency as u64);
        assert!(
            open_descriptors().unwrap() > 2,
            "stdin, stdout, stderr at least"
        );
    }

    /// A connection as the connector makes one: a place, an entry among the open ones.
    fn connect(budget: &Arc<ConnectionLimit>) -> (Arc<ConnectionState>, Open) {
        let place = budget.try_take().expect("room for a connection");
        let state = Arc::new(ConnectionState::new(budget.epoch, false));
        let id = budget.next_id.fetch_add(1, Ordering::Relaxed);
        budget.open.lock().unwrap().insert(id, state.clone());
        (state, Open { id, place })
    }

    fn budget(limit: u64, max_wait: Duration) -> Arc<ConnectionLimit> {
        Arc::new(ConnectionLimit::with_limit(0, limit, max_wait))
    }

    #[tokio::test]
    async fn a_connect_over_the_limit_waits_for_a_close() {
        let budget = budget(2, Duration::from_secs(60));
        let (_, first) = connect(&budget);
        let (_busy, _second) = connect(&budget);
        assert!(budget.under_pressure());
        let waiting = tokio::spawn(budget.clone().admit());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "admitted over the limit");
        assert_eq!(budget.waits.load(Ordering::Acquire), 1);
        drop(first); // its server closed it
        let place = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(place.is_ok(), "a freed place goes to the waiting connect");
        assert_eq!(budget.taken.load(Ordering::Acquire), 2);
        assert_eq!(
            budget.closed_idle.load(Ordering::Acquire),
            0,
            "none was idle"
        );
    }

    #[tokio::test]
    async fn a_connect_closes_the_connection_idle_the_longest() {
        let budget = budget(3, Duration::from_secs(60));
        let (oldest, oldest_open) = connect(&budget);
        let (newer, _newer_open) = connect(&budget);
        let (busy, _busy_open) = connect(&budget);
        for connection in [&oldest, &newer, &busy] {
            assert!(connection.start_request());
        }
        drop(ConnectionLease::on(&oldest));
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(ConnectionLease::on(&newer));
        let _in_use = ConnectionLease::on(&busy);
        let waiting = tokio::spawn(budget.clone().admit());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(oldest.is_closing(), "the least recently used is chosen");
        assert!(!newer.is_closing() && !busy.is_closing());
        assert_eq!(
            budget.closed_idle.load(Ordering::Acquire),
            1,
            "one per waiter"
        );
        assert!(!waiting.is_finished(), "room only once it has closed");
        drop(oldest_open);
        let place = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(place.is_ok());
        assert_eq!(budget.open.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_connect_with_nothing_to_close_goes_ahead_after_max_wait() {
        let max_wait = Duration::from_millis(300);
        let budget = budget(1, max_wait);
        let (busy, _open) = connect(&budget);
        let _in_use = ConnectionLease::on(&busy);
        let started = Instant::now();
        let place = budget.clone().admit().await;
        assert!(started.elapsed() >= max_wait, "{:?}", started.elapsed());
        assert_eq!(
            budget.taken.load(Ordering::Acquire),
            2,
            "over the limit, counted"
        );
        drop(place);
        assert_eq!(budget.taken.load(Ordering::Acquire), 1);
        assert_eq!(budget.waiting.load(Ordering::Acquire), 0);
    }

    #[test]
    fn max_wait_outlasts_the_idle_timeout() {
        let config = Config::default();
        assert!(max_wait(&config) > idle_timeout(&config) * 2);
    }
}

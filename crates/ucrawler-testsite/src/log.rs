//! The request log: a counter of requests served, the time spent answering, the most requests
//! one host answered at once and, optionally, one [`LoggedRequest`] per request (the first
//! [`MAX_LOGGED`] requests are kept).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// At most this many entries are kept; later requests are only counted.
pub const MAX_LOGGED: usize = 100_000;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Path and query, e.g. `/page/5.html?sort=asc`.
    pub path: String,
    /// The `Host` header (empty when absent).
    pub host: String,
    /// When the request head had been read.
    pub started: Instant,
    /// When the response body was finished: for in-memory bodies, when the response was
    /// handed to the connection; for streamed bodies, when the last byte was produced or the
    /// client went away.
    pub finished: Instant,
    pub status: u16,
    pub user_agent: Option<String>,
    pub peer: SocketAddr,
}

/// A shared handle on a request log; clones share the same log.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    record: bool,
    served: AtomicU64,
    /// Time spent answering, summed over requests (µs).
    busy_micros: AtomicU64,
    /// The most requests one host was answering at once.
    max_in_flight_per_host: AtomicU64,
    /// Connections open now, over every host, and the most at once.
    connections: AtomicU64,
    max_connections: AtomicU64,
    accepted: AtomicU64,
    entries: Mutex<Vec<LoggedRequest>>,
}

impl RequestLog {
    /// A log that counts requests, and records entries when `record` is true.
    pub fn new(record: bool) -> RequestLog {
        RequestLog {
            inner: Arc::new(Inner {
                record,
                ..Inner::default()
            }),
        }
    }

    /// Requests received so far (counted when the request head has been read).
    pub fn requests_served(&self) -> u64 {
        self.inner.served.load(Ordering::Relaxed)
    }

    /// Time spent answering, summed over every request: divided by a crawl's wall time, the
    /// mean number of requests in flight.
    pub fn busy(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.inner.busy_micros.load(Ordering::Relaxed))
    }

    pub(crate) fn add_busy(&self, spent: std::time::Duration) {
        self.inner
            .busy_micros
            .fetch_add(spent.as_micros() as u64, Ordering::Relaxed);
    }

    /// The most requests one host (one listener: one `host:port`) was answering at the same
    /// time, over the log's life, every path counted (robots.txt too). A request counts from
    /// the moment its head has been read until its response is handed to the connection
    /// (latency included; a streamed body's later bytes are not), so for a client that waits
    /// for each response this never exceeds the requests it had in flight to that host: a
    /// politeness check (`per_host`) a crawler cannot fake.
    pub fn max_in_flight_per_host(&self) -> u64 {
        self.inner.max_in_flight_per_host.load(Ordering::Relaxed)
    }

    /// The most connections the server had open at once, over every host of the log. A
    /// connection counts from its accept until the server has seen it closed (a moment after
    /// the client closed it): what a crawler's descriptor limit looks like from outside.
    pub fn max_open_connections(&self) -> u64 {
        self.inner.max_connections.load(Ordering::Relaxed)
    }

    /// Connections accepted, over every host of the log.
    pub fn connections_accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Counts an open connection until the returned guard is dropped.
    pub(crate) fn open_connection(&self) -> OpenConnection {
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
        let now = self.inner.connections.fetch_add(1, Ordering::AcqRel) + 1;
        self.inner.max_connections.fetch_max(now, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    /// Counts a request in flight at `host` until the returned guard is dropped.
    pub(crate) fn enter(&self, host: &Arc<HostLoad>) -> InFlight {
        let now = host.0.fetch_add(1, Ordering::AcqRel) + 1;
        self.inner
            .max_in_flight_per_host
            .fetch_max(now, Ordering::Relaxed);
        InFlight {
            host: Arc::clone(host),
        }
    }

    /// The recorded entries, in order of completion (sort by `started` for arrival order).
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.lock().clone()
    }

    /// Forgets the recorded entries (the counter is kept).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LoggedRequest>> {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request; returns the entry to complete when recording.
    pub(crate) fn begin(&self, entry: impl FnOnce() -> LoggedRequest) -> Option<Pending> {
        self.inner.served.fetch_add(1, Ordering::Relaxed);
        self.inner.record.then(|| Pending {
            log: self.clone(),
            entry: Some(entry()),
        })
    }

    fn push(&self, entry: LoggedRequest) {
        let mut entries = self.lock();
        if entries.len() < MAX_LOGGED {
            entries.push(entry);
        }
    }
}

/// The requests one host is answering now, shared by its connections.
#[derive(Debug, Default)]
pub(crate) struct HostLoad(AtomicU64);

/// One request in flight at a host (see [`RequestLog::enter`]); dropping it ends the request.
#[derive(Debug)]
pub(crate) struct InFlight {
    host: Arc<HostLoad>,
}

/// One connection open at the server (see [`RequestLog::open_connection`]).
#[derive(Debug)]
pub(crate) struct OpenConnection(RequestLog);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.inner.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.host.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An entry waiting for its response to finish; recorded on [`Pending::finish`] or on drop.
#[derive(Debug)]
pub(crate) struct Pending {
    log: RequestLog,
    entry: Option<LoggedRequest>,
}

impl Pending {
    pub(crate) fn set_status(&mut self, status: u16) {
        if let Some(entry) = &mut self.entry {
            entry.status = status;
        }
    }

    pub(crate) fn finish(mut self) {
        self.record();
    }

    fn record(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.finished = Instant::now();
            self.log.push(entry);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.record();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_in_flight_is_per_host_and_a_peak() {
        let log = RequestLog::new(false);
        let (a, b) = (Arc::new(HostLoad::default()), Arc::new(HostLoad::default()));
        assert_eq!(log.max_in_flight_per_host(), 0);
        // Two at each host at once: two, not four (hosts are not added up).
        let both = [log.enter(&a), log.enter(&a), log.enter(&b), log.enter(&b)];
        assert_eq!(log.max_in_flight_per_host(), 2);
        drop(both);
        // One after another, many times: still two.
        for _ in 0..10 {
            drop(log.enter(&a));
        }
        assert_eq!(log.max_in_flight_per_host(), 2);
        // A third at once at one host is the new peak, and it stays after they end.
        let three: Vec<_> = (0..3).map(|_| log.enter(&b)).collect();
        assert_eq!(log.max_in_flight_per_host(), 3);
        drop(three);
        assert_eq!(b.0.load(Ordering::Relaxed), 0, "every request ended");
        assert_eq!(log.max_in_flight_per_host(), 3);
        // Clones share the peak.
        assert_eq!(log.clone().max_in_flight_per_host(), 3);
    }
}

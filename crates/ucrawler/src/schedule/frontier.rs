//! Where URLs wait to be fetched: a queue per host, and the hosts in the order they may go.
//!
//! Within a host, requests keep their order (breadth first; a retry goes first). Between hosts,
//! the frontier offers a host that may start a request now, the one with the most requests
//! waiting first: on a crawl of many hosts, the slow host with many pages left decides when the
//! crawl ends, so it must never wait behind fast ones (a single FIFO made it wait behind every
//! link found before its own). A host that may not start yet is filed by what it waits for: a
//! time (its delay, Crawl-delay, a pause) or one of its requests to end. A host whose queue
//! empties is forgotten: a finished host costs nothing.
//!
//! At most `memory_entries` requests are held in memory. Past that, new requests go to a
//! [`Spill`] on disk, in order, and come back a segment at a time when half the memory is free;
//! while anything is on disk every new request goes there too, so each host's order holds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::page::Request;
use crate::politeness::{HostGate, HostWait, Limits};
use crate::url::{host_key, parse_request_url};

mod spill;

use spill::Spill;

pub struct Frontier {
    queues: HashMap<Arc<str>, HostQueue>,
    /// Requests in `queues`.
    queued: usize,
    memory_entries: usize,
    spill: Spill,
    /// Hosts that may start a request now, as far as the frontier knows, by [`Priority`].
    ready: BinaryHeap<(Priority, Reverse<u64>, Arc<str>)>,
    /// Hosts waiting for a time, earliest first.
    timed: BinaryHeap<Reverse<(Instant, u64, Arc<str>)>>,
    /// Hosts waiting for one of their requests to end.
    busy: Vec<(u64, Arc<str>)>,
    /// Numbers each filing of a host; a heap entry whose ticket is not its host's is stale.
    tickets: u64,
}

/// Which ready host goes first: the one whose waiting requests will take the longest, its
/// requests waiting times its last page's fetch time (1 ms until known; equal ones in the
/// order they were filed). A slow host's pages are a chain politeness cannot shorten: each
/// moment it waits behind fast hosts lengthens the crawl (on 500 hosts its 1.5 s hosts, with a
/// third of the pages, finished last). Hosts being crawled are finished before new ones start,
/// so few hosts hold connections, robots.txt rules and queues at once; seeds first instead
/// measured the same wall time on 500 hosts with 1.2x the descriptors and 1.4x the RSS
/// (RESULTS.md).
type Priority = u64;

struct HostQueue {
    host: Arc<str>,
    requests: VecDeque<Request>,
    /// The host's live filing (in `ready`, `timed` or `busy`); other entries are stale.
    ticket: u64,
    /// Filed in `ready` (where it may have several entries: one more each time its queue
    /// doubles, so the heap sees it grow) rather than waiting in `timed` or `busy`.
    ready: bool,
    /// The fetch time of the host's last page parsed while it had requests queued, in ms.
    latency_ms: u32,
}

impl Frontier {
    /// Spills under `dir` (see [`Spill::new`]) past `memory_entries` requests in memory.
    pub fn new(dir: Option<PathBuf>, memory_entries: usize) -> Self {
        let memory_entries = memory_entries.max(2);
        Self {
            queues: HashMap::new(),
            queued: 0,
            memory_entries,
            spill: Spill::new(dir, memory_entries / 2),
            ready: BinaryHeap::new(),
            timed: BinaryHeap::new(),
            busy: Vec::new(),
            tickets: 0,
        }
    }

    /// Requests waiting, in memory and on disk.
    pub fn len(&self) -> u64 {
        self.queued as u64 + self.spill.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests held in memory now.
    pub fn in_memory(&self) -> usize {
        self.queued + self.spill.in_memory()
    }

    /// Hosts with requests in memory.
    pub fn hosts(&self) -> usize {
        self.queues.len()
    }

    /// Whether `host` has requests waiting in memory.
    pub fn has_queued(&self, host: &str) -> bool {
        self.queues.contains_key(host)
    }

    /// Queues a request behind its host's others (on disk if memory is full or anything is
    /// there already).
    pub fn push(&mut self, request: Request) {
        if self.spill.len() > 0 || self.queued >= self.memory_entries {
            self.spill.push(request);
        } else {
            self.enqueue(&host_of(&request), request, false);
        }
    }

    /// Queues a request ahead of its host's others: a retry, or one that lost its host to
    /// another crawl. Always in memory (they are bounded by the requests in flight).
    pub fn push_front(&mut self, host: &str, request: Request) {
        self.enqueue(host, request, true);
    }

    fn enqueue(&mut self, host: &str, request: Request, front: bool) {
        self.queued += 1;
        if let Some(queue) = self.queues.get_mut(host) {
            if front {
                queue.requests.push_front(request);
            } else {
                queue.requests.push_back(request);
            }
            if queue.ready && (front || queue.requests.len().is_power_of_two()) {
                let entry = (queue.priority(), Reverse(queue.ticket), queue.host.clone());
                self.ready.push(entry);
            }
            return;
        }
        let host: Arc<str> = Arc::from(host);
        let ticket = self.next_ticket();
        let queue = HostQueue {
            host: host.clone(),
            requests: VecDeque::from([request]),
            ticket,
            ready: true,
            latency_ms: 1,
        };
        self.ready
            .push((queue.priority(), Reverse(ticket), host.clone()));
        self.queues.insert(host, queue);
    }

    /// A page of `host` took `fetch` to fetch: its waiting requests are weighed by it.
    pub fn note_latency(&mut self, host: &str, fetch: Duration) {
        let Some(queue) = self.queues.get_mut(host) else {
            return; // nothing waits: the next page parsed tells
        };
        let ms = u32::try_from(fetch.as_millis()).unwrap_or(u32::MAX).max(1);
        let rose = ms > queue.latency_ms;
        queue.latency_ms = ms;
        // Only a rise needs a new entry: after a fall the entry filed ranks the host a little
        // early, which costs nothing, and most parsed pages change the time a little.
        if rose && queue.ready {
            let entry = (queue.priority(), Reverse(queue.ticket), queue.host.clone());
            self.ready.push(entry);
        }
    }

    fn file_ready(&mut self, ticket: u64, host: Arc<str>) {
        if let Some(queue) = self.queues.get_mut(&host).filter(|q| q.ticket == ticket) {
            queue.ready = true;
            self.ready.push((queue.priority(), Reverse(ticket), host));
        }
    }

    /// Files a host as waiting (in `timed` or `busy`): its `ready` entries are stale.
    fn file_waiting(&mut self, host: &str) {
        if let Some(queue) = self.queues.get_mut(host) {
            queue.ready = false;
        }
    }

    fn next_ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    /// The next request whose host may start one now (by `gate` and `limits`), with its host.
    /// `freed`: a request ended since the last call, so hosts waiting for one may be free.
    pub fn pop_ready(
        &mut self,
        gate: &HostGate,
        limits: Limits,
        now: Instant,
        freed: bool,
    ) -> Option<(Arc<str>, Request)> {
        self.refill();
        if freed {
            for (ticket, host) in std::mem::take(&mut self.busy) {
                self.file_ready(ticket, host);
            }
        }
        while self
            .timed
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            if let Some(Reverse((_, ticket, host))) = self.timed.pop() {
                self.file_ready(ticket, host);
            }
        }
        while let Some((_, Reverse(ticket), host)) = self.ready.pop() {
            if self
                .queues
                .get(&host)
                .is_none_or(|q| q.ticket != ticket || !q.ready)
            {
                continue; // stale
            }
            match gate.wait(&host, limits, now) {
                HostWait::Nothing => return self.take(host),
                HostWait::Until(at) => {
                    self.file_waiting(&host);
                    self.timed.push(Reverse((at, ticket, host)));
                }
                HostWait::Request => {
                    self.file_waiting(&host);
                    self.busy.push((ticket, host));
                }
            }
        }
        None
    }

    /// The first request of `host`, filing the host again (or forgetting it) after.
    fn take(&mut self, host: Arc<str>) -> Option<(Arc<str>, Request)> {
        let ticket = self.next_ticket();
        let queue = self.queues.get_mut(&host)?;
        let request = queue.requests.pop_front()?;
        let emptied = queue.requests.is_empty();
        queue.ticket = ticket;
        self.queued -= 1;
        if emptied {
            self.queues.remove(&host);
        } else {
            // Whether it may start another is for the gate to say once this one has started.
            self.file_ready(ticket, host.clone());
        }
        Some((host, request))
    }

    /// Brings the oldest segment on disk back once there is room for it (or nothing else).
    fn refill(&mut self) {
        let room = self.queued + self.spill.segment_entries <= self.memory_entries;
        if self.spill.len() == 0 || !(room || self.queued == 0) {
            return;
        }
        for request in self.spill.take_segment() {
            self.enqueue(&host_of(&request), request, false);
        }
    }

    /// When the earliest host waiting for a time may start (hosts waiting for a request to
    /// end are woken by the gate's `subscribe`).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.timed.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Whether some host waits for a time or for a request to end.
    pub fn waiting_for_hosts(&self) -> bool {
        !self.timed.is_empty() || !self.busy.is_empty()
    }
}

/// The host a request is queued under (its `host:port`; "" for a URL that does not parse,
/// which fails as a page when its turn comes).
fn host_of(request: &Request) -> String {
    parse_request_url(&request.url)
        .map(|url| host_key(&url))
        .unwrap_or_default()
}

impl HostQueue {
    fn priority(&self) -> Priority {
        self.requests.len() as u64 * u64::from(self.latency_ms)
    }
}

#[cfg(test)]
mod tests;

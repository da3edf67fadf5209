//! One crawl's requests waiting for busy hosts: its scheduler parks them (bounded) and serves
//! other hosts meanwhile, taking a parked request back as soon as the [`HostGate`] lets its host
//! start another.

use std::collections::{HashMap, VecDeque};

use tokio::time::Instant;

use super::host_gate::{HostGate, Limits};
use crate::page::Request;

/// One crawl's requests waiting for their hosts, in order within each host.
#[derive(Debug)]
pub(crate) struct Parking {
    hosts: HashMap<String, VecDeque<Request>>,
    parked: usize,
    limit: usize,
    limits: Limits,
}

impl Parking {
    pub fn new(limit: usize, limits: Limits) -> Self {
        Self {
            hosts: HashMap::new(),
            parked: 0,
            limit,
            limits,
        }
    }

    /// Whether another request can be parked.
    pub fn has_room(&self) -> bool {
        self.parked < self.limit
    }

    pub fn parked(&self) -> usize {
        self.parked
    }

    /// Parks a request until its host is ready.
    pub fn park(&mut self, host: String, request: Request) {
        self.hosts.entry(host).or_default().push_back(request);
        self.parked += 1;
    }

    /// Parks a request to be retried, ahead of the host's other parked requests. Not subject to
    /// the park limit: retries are bounded by the pages in flight.
    pub fn park_retry(&mut self, host: String, request: Request) {
        self.hosts.entry(host).or_default().push_front(request);
        self.parked += 1;
    }

    /// Whether `host` has requests parked (new ones must queue behind them, to keep order).
    pub fn has_parked(&self, host: &str) -> bool {
        self.hosts.contains_key(host)
    }

    /// A parked request whose host may start now, oldest first within its host.
    pub fn take_ready(&mut self, gate: &HostGate, now: Instant) -> Option<(String, Request)> {
        if self.parked == 0 {
            return None;
        }
        let host = {
            let state = gate.state();
            self.hosts
                .keys()
                .find(|host| state.ready(host, self.limits.per_host, now))?
                .clone()
        };
        let queue = self.hosts.get_mut(&host)?;
        let request = queue.pop_front()?;
        if queue.is_empty() {
            self.hosts.remove(&host);
        }
        self.parked -= 1;
        Some((host, request))
    }

    /// When the earliest host that waits only for time (not for a request to end) becomes
    /// ready. Hosts waiting for a request to end are woken by the gate's `subscribe`.
    pub fn next_wakeup(&self, gate: &HostGate) -> Option<Instant> {
        let state = gate.state();
        self.hosts
            .keys()
            .filter_map(|host| state.hosts.get(host))
            .filter(|h| h.in_flight < self.limits.per_host && !h.probing)
            .map(|h| h.next_start)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(per_host: usize, delay: Duration) -> Limits {
        Limits { per_host, delay }
    }

    #[test]
    fn parking_in_order_with_retries_first() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(1, Duration::ZERO);
        let mut parking = Parking::new(2, l);
        assert!(gate.try_start("a", l, now, None, false));
        parking.park("a".into(), Request::new("http://a/1"));
        parking.park("a".into(), Request::new("http://a/2"));
        assert!(!parking.has_room());
        assert!(parking.take_ready(&gate, now).is_none(), "host busy");
        gate.finish("a", l, now, Duration::ZERO, None);
        let (key, request) = parking.take_ready(&gate, now).unwrap();
        assert_eq!((key.as_str(), request.url.as_str()), ("a", "http://a/1"));
        assert!(gate.try_start("a", l, now, None, false));
        gate.finish("a", l, now, Duration::ZERO, None);
        parking.park_retry("a".into(), Request::new("http://a/retry"));
        assert_eq!(
            parking.take_ready(&gate, now).unwrap().1.url,
            "http://a/retry",
            "retries go first"
        );
        assert_eq!(parking.take_ready(&gate, now).unwrap().1.url, "http://a/2");
        assert!(!parking.has_parked("a"));
        assert_eq!(parking.parked(), 0);
    }

    #[test]
    fn two_crawls_share_one_host() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(1, Duration::ZERO);
        let mut finished = gate.subscribe();
        finished.borrow_and_update();
        let mut first = Parking::new(10, l);
        let mut second = Parking::new(10, l);
        assert!(gate.try_start("a", l, now, None, false));
        first.park("a".into(), Request::new("http://a/1"));
        second.park("a".into(), Request::new("http://a/2"));
        assert!(first.take_ready(&gate, now).is_none());
        assert!(
            second.take_ready(&gate, now).is_none(),
            "the other crawl holds the host"
        );
        assert_eq!(
            second.next_wakeup(&gate),
            None,
            "waits for a request to end"
        );
        gate.finish("a", l, now, Duration::ZERO, None);
        assert!(finished.has_changed().unwrap(), "parked crawls are told");
        assert!(second.take_ready(&gate, now).is_some());
    }

    #[test]
    fn wakeup_when_delay_passes() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(2, Duration::from_secs(1));
        let mut parking = Parking::new(10, l);
        assert!(gate.try_start("a", l, now, None, false));
        gate.finish("a", l, now, Duration::ZERO, None);
        parking.park("a".into(), Request::new("http://a/1"));
        assert_eq!(
            parking.next_wakeup(&gate),
            Some(now + Duration::from_secs(1))
        );
    }
}

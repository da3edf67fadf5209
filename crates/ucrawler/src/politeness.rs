//! Per-host politeness: at most `per_host` requests in flight to a host and at least `delay`
//! between the starts of two requests to it. Requests for a busy host are parked here (bounded)
//! while the scheduler keeps serving other hosts; hosts with nothing going on are forgotten, so
//! the table stays as small as the set of hosts currently being crawled.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::page::Request;

#[derive(Debug)]
struct Host {
    in_flight: usize,
    next_start: Instant,
    last_start: Instant,
    /// A request is finding out the host's robots.txt: wait for it before sending another.
    probing: bool,
    parked: VecDeque<Request>,
}

impl Host {
    fn new(now: Instant) -> Self {
        Self {
            in_flight: 0,
            next_start: now,
            last_start: now,
            probing: false,
            parked: VecDeque::new(),
        }
    }

    fn ready(&self, per_host: usize, now: Instant) -> bool {
        self.in_flight < per_host && self.next_start <= now && !self.probing
    }
}

#[derive(Debug)]
pub struct Hosts {
    per_host: usize,
    delay: Duration,
    hosts: HashMap<String, Host>,
    parked: usize,
    park_limit: usize,
}

impl Hosts {
    pub fn new(per_host: usize, delay: Duration, park_limit: usize) -> Self {
        Self {
            per_host,
            delay,
            hosts: HashMap::new(),
            parked: 0,
            park_limit,
        }
    }

    /// Whether a request to `host` may start now.
    pub fn can_start(&self, host: &str, now: Instant) -> bool {
        self.hosts
            .get(host)
            .is_none_or(|h| h.ready(self.per_host, now))
    }

    /// Records the start of a request to `host`. `crawl_delay`: the host's robots.txt delay if
    /// known (the larger of it and `delay` applies); `probing`: its robots.txt is not known yet,
    /// so no other request may start before this one ends.
    pub fn start(
        &mut self,
        host: &str,
        now: Instant,
        crawl_delay: Option<Duration>,
        probing: bool,
    ) {
        let gap = crawl_delay.map_or(self.delay, |d| d.max(self.delay));
        let entry = self
            .hosts
            .entry(host.to_string())
            .or_insert_with(|| Host::new(now));
        entry.in_flight += 1;
        entry.last_start = now;
        entry.next_start = entry.next_start.max(now + gap);
        entry.probing = probing;
    }

    /// Records the end of a request to `host`. `pause`: wait at least this long before the
    /// next request (Retry-After, backoff); `crawl_delay`: learnt from robots.txt during it.
    pub fn finish(
        &mut self,
        host: &str,
        now: Instant,
        pause: Duration,
        crawl_delay: Option<Duration>,
    ) {
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.probing = false;
            if let Some(delay) = crawl_delay {
                entry.next_start = entry
                    .next_start
                    .max(entry.last_start + delay.max(self.delay));
            }
            entry.next_start = entry.next_start.max(now + pause);
            if entry.in_flight == 0 && entry.parked.is_empty() && entry.next_start <= now {
                self.hosts.remove(host);
            }
        }
    }

    /// Whether another request can be parked.
    pub fn has_room(&self) -> bool {
        self.parked < self.park_limit
    }

    pub fn parked(&self) -> usize {
        self.parked
    }

    /// Parks a request until its host is ready.
    pub fn park(&mut self, host: String, request: Request, now: Instant) {
        let entry = self.hosts.entry(host).or_insert_with(|| Host::new(now));
        entry.parked.push_back(request);
        self.parked += 1;
    }

    /// Parks a request to be retried, ahead of the host's other parked requests. Not subject to
    /// the park limit: retries are bounded by the pages in flight.
    pub fn park_retry(&mut self, host: String, request: Request, now: Instant) {
        let entry = self.hosts.entry(host).or_insert_with(|| Host::new(now));
        entry.parked.push_front(request);
        self.parked += 1;
    }

    /// A parked request whose host may start now, oldest first within its host.
    pub fn take_ready(&mut self, now: Instant) -> Option<(String, Request)> {
        if self.parked == 0 {
            return None;
        }
        let per_host = self.per_host;
        let (key, host) = self
            .hosts
            .iter_mut()
            .find(|(_, h)| !h.parked.is_empty() && h.ready(per_host, now))?;
        let request = host.parked.pop_front()?;
        self.parked -= 1;
        Some((key.clone(), request))
    }

    /// Whether `host` has requests parked (new ones must queue behind them, to keep order).
    pub fn has_parked(&self, host: &str) -> bool {
        self.hosts.get(host).is_some_and(|h| !h.parked.is_empty())
    }

    /// When the earliest delayed host with parked requests becomes ready.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.hosts
            .values()
            .filter(|h| !h.parked.is_empty() && h.in_flight < self.per_host && !h.probing)
            .map(|h| h.next_start)
            .min()
    }

    /// Hosts currently tracked.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_host_limit_and_delay() {
        let now = Instant::now();
        let mut hosts = Hosts::new(2, Duration::from_secs(1), 10);
        assert!(hosts.can_start("a", now));
        hosts.start("a", now, None, false);
        assert!(!hosts.can_start("a", now), "delay not yet passed");
        let later = now + Duration::from_secs(1);
        assert!(hosts.can_start("a", later));
        hosts.start("a", later, None, false);
        let much_later = now + Duration::from_secs(5);
        assert!(!hosts.can_start("a", much_later), "two in flight");
        assert!(hosts.can_start("b", now), "other hosts unaffected");
        hosts.finish("a", much_later, Duration::ZERO, None);
        assert!(hosts.can_start("a", much_later));
    }

    #[test]
    fn probing_crawl_delay_and_pauses() {
        let now = Instant::now();
        let mut hosts = Hosts::new(4, Duration::ZERO, 10);
        hosts.start("a", now, None, true);
        assert!(
            !hosts.can_start("a", now),
            "robots.txt unknown: one request at a time"
        );
        let t1 = now + Duration::from_millis(100);
        hosts.finish("a", t1, Duration::ZERO, Some(Duration::from_secs(2)));
        assert!(
            !hosts.can_start("a", t1),
            "crawl-delay counts from the last start"
        );
        assert!(hosts.can_start("a", now + Duration::from_secs(2)));
        let t2 = now + Duration::from_secs(2);
        hosts.start("a", t2, Some(Duration::from_secs(2)), false);
        hosts.finish("a", t2, Duration::from_secs(10), None);
        assert!(
            !hosts.can_start("a", t2 + Duration::from_secs(9)),
            "Retry-After pauses the host"
        );
        assert!(hosts.can_start("a", t2 + Duration::from_secs(10)));
    }

    #[test]
    fn parking_and_eviction() {
        let now = Instant::now();
        let mut hosts = Hosts::new(1, Duration::ZERO, 2);
        hosts.start("a", now, None, false);
        hosts.park("a".into(), Request::new("http://a/1"), now);
        hosts.park("a".into(), Request::new("http://a/2"), now);
        assert!(!hosts.has_room());
        assert!(hosts.take_ready(now).is_none(), "host busy");
        hosts.finish("a", now, Duration::ZERO, None);
        let (key, request) = hosts.take_ready(now).unwrap();
        assert_eq!((key.as_str(), request.url.as_str()), ("a", "http://a/1"));
        hosts.start("a", now, None, false);
        hosts.finish("a", now, Duration::ZERO, None);
        hosts.park_retry("a".into(), Request::new("http://a/retry"), now);
        assert_eq!(
            hosts.take_ready(now).unwrap().1.url,
            "http://a/retry",
            "retries go first"
        );
        assert_eq!(hosts.take_ready(now).unwrap().1.url, "http://a/2");
        hosts.start("a", now, None, false);
        hosts.finish("a", now, Duration::ZERO, None);
        assert!(hosts.is_empty(), "idle hosts are forgotten");
    }

    #[test]
    fn state_stays_bounded_over_many_hosts() {
        let now = Instant::now();
        let mut hosts = Hosts::new(2, Duration::ZERO, 10);
        for i in 0..100_000 {
            let host = format!("host{i}.example:80");
            hosts.start(&host, now, None, false);
            hosts.finish(&host, now, Duration::ZERO, None);
        }
        assert!(hosts.is_empty(), "{} idle hosts kept", hosts.len());
    }
}

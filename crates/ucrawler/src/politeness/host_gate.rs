//! The host gate: at most `per_host` requests in flight to a host and at least `delay` between
//! the starts of two requests to it, across every crawl of the process.
//!
//! The [`HostGate`] is one per process, shared by all crawls of all crawlers (two Sidekiq jobs
//! crawling one site, even with different options, do not hit it twice as hard); each request
//! is checked against its own crawler's `per_host`, and the gap its start sets holds for
//! everyone. A request's place at its host is a [`HostHold`], given back when it drops. The gate
//! forgets hosts with nothing going on, so it stays as small as the set of hosts being crawled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::fork_local::ForkLocal;
use crate::stats::HostsSnapshot;

/// The gate sweeps idle hosts out of its table when it grows past this (or twice its size
/// after the last sweep): a host's entry outlives its last request by `delay`.
const SWEEP_MIN: usize = 1024;

#[derive(Debug)]
struct HostState {
    in_flight: usize,
    next_start: Instant,
    last_start: Instant,
    /// A request is finding out the host's robots.txt: wait for it before sending another.
    probing: bool,
}

impl HostState {
    fn new(now: Instant) -> Self {
        Self {
            in_flight: 0,
            next_start: now,
            last_start: now,
            probing: false,
        }
    }

    /// Nothing would be lost by forgetting it.
    fn idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && !self.probing && self.next_start <= now
    }
}

#[derive(Debug, Default)]
struct GateState {
    hosts: HashMap<String, HostState>,
    sweep_at: usize,
}

impl GateState {
    fn ready(&self, host: &str, per_host: usize, now: Instant) -> bool {
        self.wait(host, per_host, now) == HostWait::Nothing
    }

    fn wait(&self, host: &str, per_host: usize, now: Instant) -> HostWait {
        match self.hosts.get(host) {
            Some(h) if h.in_flight >= per_host || h.probing => HostWait::Request,
            Some(h) if h.next_start > now => HostWait::Until(h.next_start),
            _ => HostWait::Nothing,
        }
    }
}

/// What a host waits for before it may start another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostWait {
    /// Nothing: it may start one now.
    Nothing,
    /// A time: its `delay`, Crawl-delay or a pause (Retry-After, backoff).
    Until(Instant),
    /// One of its requests to end: it has `per_host` in flight, or one finding out its
    /// robots.txt.
    Request,
}

/// A host waiting this long or more for its next request counts as paused.
pub(crate) const PAUSED_FOR: Duration = Duration::from_secs(1);

/// A crawler's politeness limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub per_host: usize,
    pub delay: Duration,
}

/// What all crawls of the process have under way, per host.
#[derive(Debug)]
pub(crate) struct HostGate {
    state: Mutex<GateState>,
    /// Bumped when a request ends: crawls with requests queued for a host another crawl just
    /// freed look again.
    finished: watch::Sender<u64>,
}

impl Default for HostGate {
    fn default() -> Self {
        Self::new()
    }
}

/// The process's gate; a forked child gets a new one (its parent's requests in flight are not
/// its own and would never end).
pub(crate) fn process_gate() -> Arc<HostGate> {
    static GATE: ForkLocal<Arc<HostGate>> = ForkLocal::new();
    match GATE.with(
        || Ok::<_, std::convert::Infallible>(Arc::default()),
        |gate| gate.clone(),
    ) {
        Ok(gate) => gate,
        Err(never) => match never {},
    }
}

impl HostGate {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(GateState {
                hosts: HashMap::new(),
                sweep_at: SWEEP_MIN,
            }),
            finished: watch::Sender::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The hosts with requests in flight and those paused (waiting [`PAUSED_FOR`] or more
    /// before their next request: Retry-After, backoff, a long Crawl-delay), the `top` of each
    /// by load and by wait, and how many there are.
    pub fn snapshot(&self, top: usize) -> HostsSnapshot {
        let now = Instant::now();
        let state = self.state();
        let mut snapshot = HostsSnapshot::default();
        // `top` 0 (every stats read): counts only, no name copied.
        let list = top > 0;
        for (host, h) in &state.hosts {
            if h.in_flight > 0 {
                snapshot.active += 1;
                if list {
                    snapshot.busiest.push((host.clone(), h.in_flight));
                }
            }
            let wait = h.next_start.saturating_duration_since(now);
            if wait >= PAUSED_FOR {
                snapshot.paused += 1;
                if list {
                    snapshot.paused_hosts.push((host.clone(), wait));
                }
            }
        }
        drop(state);
        snapshot
            .busiest
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        snapshot.busiest.truncate(top);
        snapshot
            .paused_hosts
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        snapshot.paused_hosts.truncate(top);
        snapshot
    }

    /// Tells when a request to some host ended.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.finished.subscribe()
    }

    /// Whether a request to `host` may start now (a hint: another crawl may take the host
    /// before this one does; [`HostGate::try_start`] decides).
    #[cfg(test)]
    pub fn can_start(&self, host: &str, limits: Limits, now: Instant) -> bool {
        self.state().ready(host, limits.per_host, now)
    }

    /// What a request to `host` waits for now (a hint, as [`HostGate::can_start`]).
    pub fn wait(&self, host: &str, limits: Limits, now: Instant) -> HostWait {
        self.state().wait(host, limits.per_host, now)
    }

    /// Starts a request to `host` if it may start now, in one step (crawls race for hosts).
    /// `crawl_delay`: the host's robots.txt delay if known (the larger of it and `delay`
    /// applies); `probing`: its robots.txt is not known yet, so no other request may start
    /// before this one ends. Every successful call must be matched by a [`HostGate::finish`].
    pub fn try_start(
        &self,
        host: &str,
        limits: Limits,
        now: Instant,
        crawl_delay: Option<Duration>,
        probing: bool,
    ) -> bool {
        let gap = crawl_delay.map_or(limits.delay, |d| d.max(limits.delay));
        let mut state = self.state();
        if !state.ready(host, limits.per_host, now) {
            return false;
        }
        if state.hosts.len() >= state.sweep_at {
            state.hosts.retain(|_, h| !h.idle(now));
            state.sweep_at = (state.hosts.len() * 2).max(SWEEP_MIN);
        }
        let entry = state
            .hosts
            .entry(host.to_string())
            .or_insert_with(|| HostState::new(now));
        entry.in_flight += 1;
        entry.last_start = now;
        entry.next_start = entry.next_start.max(now + gap);
        entry.probing = probing;
        true
    }

    /// Records the end of a request to `host`. `pause`: wait at least this long before the
    /// next request (Retry-After, backoff); `crawl_delay`: learnt from robots.txt during it.
    pub fn finish(
        &self,
        host: &str,
        limits: Limits,
        now: Instant,
        pause: Duration,
        crawl_delay: Option<Duration>,
    ) {
        {
            let mut state = self.state();
            if let Some(entry) = state.hosts.get_mut(host) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
                entry.probing = false;
                if let Some(delay) = crawl_delay {
                    entry.next_start = entry
                        .next_start
                        .max(entry.last_start + delay.max(limits.delay));
                }
                entry.next_start = entry.next_start.max(now + pause);
                if entry.idle(now) {
                    state.hosts.remove(host);
                }
            }
        }
        self.finished.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Hosts currently tracked.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state().hosts.len()
    }
}

/// A request's place at its host: given back when the fetch ends, however it ends (cancelled
/// included), so the process-wide gate never keeps a host busy for a request that is gone.
pub(crate) struct HostHold {
    gate: Arc<HostGate>,
    pub host: String,
    pub limits: Limits,
    /// Between this request's start and the host's next one (`delay` or Crawl-delay).
    pub gap: Duration,
    /// Wait at least this long before the host's next request (Retry-After, backoff).
    pub pause: Duration,
    /// Learnt from the host's robots.txt during the fetch.
    pub crawl_delay: Option<Duration>,
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

impl HostGate {
    /// [`HostGate::try_start`] as a [`HostHold`] that finishes the request when it drops.
    pub fn try_hold(
        self: &Arc<Self>,
        host: String,
        limits: Limits,
        crawl_delay: Option<Duration>,
        probing: bool,
    ) -> Result<HostHold, String> {
        if !self.try_start(&host, limits, Instant::now(), crawl_delay, probing) {
            return Err(host);
        }
        Ok(HostHold {
            gate: self.clone(),
            host,
            limits,
            gap: crawl_delay.map_or(limits.delay, |d| d.max(limits.delay)),
            pause: Duration::ZERO,
            crawl_delay: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_host: usize, delay: Duration) -> Limits {
        Limits { per_host, delay }
    }

    #[test]
    fn snapshot_lists_the_busiest_and_the_paused() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(4, Duration::ZERO);
        for _ in 0..3 {
            assert!(gate.try_start("busy", l, now, None, false));
        }
        assert!(gate.try_start("one", l, now, None, false));
        assert!(gate.try_start("slow", l, now, None, false));
        gate.finish("slow", l, now, Duration::from_secs(30), None);
        let counts = gate.snapshot(0);
        assert_eq!((counts.active, counts.paused), (2, 1));
        assert!(counts.busiest.is_empty() && counts.paused_hosts.is_empty());
        let snapshot = gate.snapshot(1);
        assert_eq!((snapshot.active, snapshot.paused), (2, 1));
        assert_eq!(snapshot.busiest, vec![("busy".to_string(), 3)]);
        assert_eq!(snapshot.paused_hosts[0].0, "slow");
        assert!(snapshot.paused_hosts[0].1 > Duration::from_secs(29));
    }

    #[test]
    fn per_host_limit_and_delay() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(2, Duration::from_secs(1));
        assert!(gate.can_start("a", l, now));
        assert!(gate.try_start("a", l, now, None, false));
        assert!(!gate.can_start("a", l, now), "delay not yet passed");
        let later = now + Duration::from_secs(1);
        assert!(gate.can_start("a", l, later));
        assert!(gate.try_start("a", l, later, None, false));
        let much_later = now + Duration::from_secs(5);
        assert!(!gate.can_start("a", l, much_later), "two in flight");
        assert!(gate.can_start("b", l, now), "other hosts unaffected");
        gate.finish("a", l, much_later, Duration::ZERO, None);
        assert!(gate.can_start("a", l, much_later));
    }

    #[test]
    fn probing_crawl_delay_and_pauses() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(4, Duration::ZERO);
        assert!(gate.try_start("a", l, now, None, true));
        assert!(
            !gate.can_start("a", l, now),
            "robots.txt unknown: one request at a time"
        );
        let t1 = now + Duration::from_millis(100);
        gate.finish("a", l, t1, Duration::ZERO, Some(Duration::from_secs(2)));
        assert!(
            !gate.can_start("a", l, t1),
            "crawl-delay counts from the last start"
        );
        assert!(gate.can_start("a", l, now + Duration::from_secs(2)));
        let t2 = now + Duration::from_secs(2);
        assert!(gate.try_start("a", l, t2, Some(Duration::from_secs(2)), false));
        gate.finish("a", l, t2, Duration::from_secs(10), None);
        assert!(
            !gate.can_start("a", l, t2 + Duration::from_secs(9)),
            "Retry-After pauses the host"
        );
        assert!(gate.can_start("a", l, t2 + Duration::from_secs(10)));
    }

    #[test]
    fn state_stays_bounded_over_many_hosts() {
        let now = Instant::now();
        let gate = HostGate::new();
        let l = limits(2, Duration::ZERO);
        for i in 0..100_000 {
            let host = format!("host{i}.example:80");
            assert!(gate.try_start(&host, l, now, None, false));
            gate.finish(&host, l, now, Duration::ZERO, None);
        }
        assert_eq!(gate.len(), 0, "idle hosts are forgotten");

        // With a delay, entries outlive their requests; sweeps keep the table bounded.
        let gate = HostGate::new();
        let l = limits(2, Duration::from_millis(10));
        for i in 0..100_000u64 {
            let at = now + Duration::from_millis(i);
            let host = format!("host{i}.example:80");
            assert!(gate.try_start(&host, l, at, None, false));
            gate.finish(&host, l, at, Duration::ZERO, None);
        }
        assert!(gate.len() <= 2 * SWEEP_MIN, "{} hosts kept", gate.len());
    }
}

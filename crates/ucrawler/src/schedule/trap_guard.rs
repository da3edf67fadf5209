//! Crawler-trap defences for discovered links, on by default and counted in the stats: a path
//! that loops ([`is_path_loop`]: relative links resolving deeper on every page) and more than
//! `max_query_variants` distinct query strings on one path (an infinite calendar, a faceted
//! search). A query that grows on every page ends at `max_url_length`.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

use crate::page::Request;
use crate::stats::Counters;
use crate::url::{fingerprint, host_key, is_path_loop, parse_request_url};

pub(crate) struct TrapGuard {
    /// `max_query_variants`; 0: no cap.
    limit: u32,
    /// Distinct query strings queued per `host:port` + path, by fingerprint.
    variants: HashMap<u64, u32>,
}

impl TrapGuard {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            variants: HashMap::new(),
        }
    }

    /// Whether a link never seen before is no trap (then a query string counts against its
    /// path); a trap is counted in `counters`.
    pub fn admit(&mut self, link: &Request, counters: &Counters) -> bool {
        let Ok(url) = parse_request_url(&link.url) else {
            return true;
        };
        if is_path_loop(&url) {
            counters.trap_path_loops.fetch_add(1, Relaxed);
            return false;
        }
        if self.limit == 0 || url.query().is_none() {
            return true;
        }
        let path = fingerprint(&format!("{}{}", host_key(&url), url.path()));
        let queued = self.variants.entry(path).or_default();
        if *queued >= self.limit {
            counters.trap_query_variants.fetch_add(1, Relaxed);
            return false;
        }
        *queued += 1;
        true
    }

    /// Only the loop check, which needs no memory of earlier links (a shared crawl's links
    /// are deduplicated in Redis, after this).
    pub fn admit_shape(link: &Request, counters: &Counters) -> bool {
        let looping = parse_request_url(&link.url).is_ok_and(|url| is_path_loop(&url));
        if looping {
            counters.trap_path_loops.fetch_add(1, Relaxed);
        }
        !looping
    }

    /// What the per-path counts hold in memory, roughly.
    pub fn memory_bytes(&self) -> u64 {
        self.variants.len() as u64 * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_and_query_variants_past_the_cap_are_traps() {
        let counters = Counters::new();
        let mut guard = TrapGuard::new(3);
        let mut admit = |url: &str| guard.admit(&Request::new(url), &counters);
        assert!(!admit("http://h/a/b/a/b/a/b/"));
        let months: Vec<bool> = (1..=5)
            .map(|m| admit(&format!("http://h/calendar?month={m}")))
            .collect();
        assert_eq!(months, [true, true, true, false, false]);
        assert!(admit("http://h/calendar"), "no query: not a variant");
        assert!(admit("http://h/other?month=1"), "another path");
        assert!(admit("http://h:81/calendar?month=9"), "another host");
        let stats = counters.snapshot();
        assert_eq!((stats.trap_path_loops, stats.trap_query_variants), (1, 2));
        assert!(TrapGuard::admit_shape(
            &Request::new("http://h/x"),
            &counters
        ));
        let mut uncapped = TrapGuard::new(0);
        assert!(
            (0..10).all(|i| uncapped.admit(&Request::new(format!("http://h/?p={i}")), &counters))
        );
    }
}

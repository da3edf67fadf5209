//! Page budgets. `max_pages_per_host`: a crawl queues at most that many requests of a host
//! (`host:port`, as politeness counts hosts), seeds and revisits included, so one huge or
//! trap-filled site cannot eat the crawl. `max_pages_per_seed`: at most that many requests per
//! seed `meta`, which every page found from a seed inherits (a Rails record's id: one row is
//! usually one website, reached under several hosts). Requests past a budget are dropped
//! before they are queued: they cost no frontier space and are never fetched. (A shared
//! crawl's host budget is kept in Redis, for the fleet.)

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;

use crate::page::Request;
use crate::stats::Counters;
use crate::url::{host_key, parse_request_url};

pub(crate) struct HostBudget {
    limit: Option<u64>,
    /// Requests queued per host, once the first one is.
    queued: HashMap<String, u64>,
}

impl HostBudget {
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            queued: HashMap::new(),
        }
    }

    /// Whether `request` fits its host's budget (then it counts against it); a request that
    /// does not is counted in `counters` by host.
    pub fn admit(&mut self, request: &Request, counters: &Counters) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        // An unparsable URL is queued to fail as a page: it fetches nothing.
        let Ok(url) = parse_request_url(&request.url) else {
            return true;
        };
        let host = host_key(&url);
        match self.queued.get_mut(&host) {
            Some(queued) if *queued >= limit => {
                counters.over_host_budget(&host);
                false
            }
            Some(queued) => {
                *queued += 1;
                true
            }
            None => {
                self.queued.insert(host, 1);
                true
            }
        }
    }

    /// What the per-host counts hold in memory, roughly.
    pub fn memory_bytes(&self) -> u64 {
        self.queued.keys().map(|h| h.len() as u64 + 48).sum()
    }
}

/// `max_pages_per_seed`: requests queued per seed `meta` (requests without one are not counted).
pub(crate) struct SeedBudget {
    limit: Option<u64>,
    queued: HashMap<Bytes, u64>,
}

impl SeedBudget {
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            queued: HashMap::new(),
        }
    }

    /// Whether `request` fits its seed's budget (then it counts against it).
    pub fn admit(&mut self, request: &Request, counters: &Counters) -> bool {
        let (Some(limit), Some(meta)) = (self.limit, &request.meta) else {
            return true;
        };
        let queued = self.queued.entry(meta.clone()).or_default();
        if *queued >= limit {
            counters.over_seed_budget.fetch_add(1, Relaxed);
            return false;
        }
        *queued += 1;
        true
    }

    pub fn memory_bytes(&self) -> u64 {
        self.queued.keys().map(|m| m.len() as u64 + 48).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_gets_its_budget_and_the_rest_is_counted() {
        let counters = Counters::new();
        let mut budget = HostBudget::new(Some(2));
        let admitted: Vec<bool> = [
            "http://a/1",
            "http://a/2",
            "http://a:80/3",
            "http://b/1",
            "http://a:81/1",
            "nonsense",
        ]
        .into_iter()
        .map(|url| budget.admit(&Request::new(url), &counters))
        .collect();
        assert_eq!(admitted, [true, true, false, true, true, true]);
        let stats = counters.snapshot();
        assert_eq!(stats.over_host_budget, 1);
        assert_eq!(stats.over_host_budget_by_host["a:80"], 1);
        let mut unlimited = HostBudget::new(None);
        assert!((0..10).all(|_| unlimited.admit(&Request::new("http://a/"), &counters)));
    }

    #[test]
    fn each_seed_meta_gets_its_budget_whatever_the_hosts() {
        let counters = Counters::new();
        let mut budget = SeedBudget::new(Some(2));
        let request = |url: &str, meta: Option<&'static [u8]>| {
            let mut request = Request::new(url);
            request.meta = meta.map(Bytes::from_static);
            request
        };
        let admitted: Vec<bool> = [
            request("http://a/1", Some(b"7")),
            request("http://www.a/2", Some(b"7")),
            request("http://a/3", Some(b"7")),
            request("http://a/4", Some(b"8")),
            request("http://a/5", None),
            request("http://a/6", None),
            request("http://a/7", None),
        ]
        .iter()
        .map(|r| budget.admit(r, &counters))
        .collect();
        assert_eq!(admitted, [true, true, false, true, true, true, true]);
        assert_eq!(counters.snapshot().over_seed_budget, 1);
    }
}

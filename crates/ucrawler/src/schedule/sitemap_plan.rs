//! Which sitemaps a crawl reads (`sitemaps`): one discovery per seed site (`host:port`), the
//! first time a seed of it is queued, and at most [`MAX_SITEMAPS_PER_SITE`] sitemap files per
//! site whatever its indexes list (their nesting is capped where they are read, see
//! `fetch::sitemap`).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

use crate::config::Sitemaps;
use crate::page::{Purpose, Request};
use crate::stats::Counters;
use crate::url::{host_key, parse_request_url};

/// Sitemap files (indexes included) read per site, at most.
pub const MAX_SITEMAPS_PER_SITE: u32 = 1000;

pub(crate) struct SitemapPlan {
    mode: Sitemaps,
    /// Sites discovered, with the sitemap files queued for each.
    sites: HashMap<String, u32>,
}

impl SitemapPlan {
    pub fn new(mode: Sitemaps) -> Self {
        Self {
            mode,
            sites: HashMap::new(),
        }
    }

    /// The request that reads the sitemaps of `seed`'s site, the first time a seed (depth 0)
    /// of that site comes.
    pub fn discovery(&mut self, seed: &Request) -> Option<Request> {
        if self.mode == Sitemaps::Off || seed.depth > 0 || !seed.purpose.is_page() {
            return None;
        }
        let url = parse_request_url(&seed.url).ok()?;
        let site = host_key(&url);
        if self.sites.contains_key(&site) {
            return None;
        }
        self.sites.insert(site, 0);
        let robots = url.join("/robots.txt").ok()?;
        Some(Request {
            depth: seed.depth,
            meta: seed.meta.clone(),
            purpose: Purpose::SitemapDiscovery,
            ..Request::new(String::from(robots))
        })
    }

    /// Whether the sitemap `request` fits its site's cap (then it counts against it).
    pub fn admit(&mut self, request: &Request, counters: &Counters) -> bool {
        let Ok(url) = parse_request_url(&request.url) else {
            return false;
        };
        let queued = self.sites.entry(host_key(&url)).or_insert(0);
        if *queued >= MAX_SITEMAPS_PER_SITE {
            counters.sitemaps.dropped.fetch_add(1, Relaxed);
            return false;
        }
        *queued += 1;
        true
    }

    /// A request of an earlier run, replayed from the journal: its discovery or sitemap counts.
    pub fn replayed(&mut self, request: &Request) {
        let Ok(url) = parse_request_url(&request.url) else {
            return;
        };
        let queued = self.sites.entry(host_key(&url)).or_insert(0);
        if matches!(request.purpose, Purpose::Sitemap { .. }) {
            *queued += 1;
        }
    }

    /// What the per-site counts hold in memory, roughly.
    pub fn memory_bytes(&self) -> u64 {
        self.sites.keys().map(|h| h.len() as u64 + 48).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_discovery_per_site_and_a_cap_per_site() {
        let counters = Counters::new();
        let mut plan = SitemapPlan::new(Sitemaps::On);
        let seed = Request::new("http://h:81/a?b").with_meta(&b"7"[..]);
        let discovery = plan.discovery(&seed).unwrap();
        assert_eq!(discovery.url, "http://h:81/robots.txt");
        assert_eq!(discovery.purpose, Purpose::SitemapDiscovery);
        assert_eq!(discovery.meta, seed.meta);
        // A page linking /robots.txt (or a sitemap) does not make it seen for sitemaps.
        let page = Request::new(discovery.url.clone());
        assert_ne!(discovery.fingerprint(), page.fingerprint());
        assert_eq!(plan.discovery(&Request::new("http://h:81/other")), None);
        let mut deeper = Request::new("http://other/");
        deeper.depth = 1;
        assert_eq!(plan.discovery(&deeper), None, "only seeds");
        assert!(SitemapPlan::new(Sitemaps::Off).discovery(&seed).is_none());
        let sitemap = Request {
            purpose: Purpose::Sitemap { nesting: 1 },
            ..Request::new("http://h:81/s.xml")
        };
        for _ in 0..MAX_SITEMAPS_PER_SITE {
            assert!(plan.admit(&sitemap, &counters));
        }
        assert!(!plan.admit(&sitemap, &counters));
        assert_eq!(counters.snapshot().sitemaps.dropped, 1);
    }
}

//! The memory budget: what the engine holds stays under `max_memory`, whatever the pages.

use std::time::Duration;

use ucrawler::{Config, Crawler, Page};
use ucrawler_testsite::{SiteConfig, TestSite};

#[test]
fn huge_pages_under_a_small_budget_stay_in_budget() {
    let site = TestSite::start(SiteConfig {
        pages: 10,
        ..SiteConfig::default()
    })
    .unwrap();
    let budget: u64 = 4 << 20;
    let config = Config::builder()
        .depth(0)
        .concurrency(4usize)
        .per_host(4usize)
        .max_body(10u64 << 20)
        .max_memory(budget)
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let seeds: Vec<String> = (0..8)
        .map(|i| site.url(&format!("/hostile/huge?{i}")))
        .collect();
    let mut crawl = crawler.crawl(seeds).unwrap();
    let mut pages: Vec<Page> = Vec::new();
    while let Some(page) = crawl.next() {
        // A slow consumer keeps pages waiting in the engine: they are accounted too.
        std::thread::sleep(Duration::from_millis(20));
        let memory = crawl.stats().memory;
        assert!(
            memory.used <= budget + (64 << 10),
            "{} bytes accounted, budget {budget}",
            memory.used
        );
        pages.push(page);
    }
    assert_eq!(pages.len(), 8);
    for page in &pages {
        assert!(
            page.is_ok() && page.truncated,
            "{}: cut by the budget, not failed",
            page.url
        );
        assert!(
            page.bytes > 0 && page.bytes < budget,
            "{} bytes",
            page.bytes
        );
    }
    let memory = crawl.stats().memory;
    assert!(
        memory.peak <= budget + (64 << 10),
        "peak {} over budget {budget}",
        memory.peak
    );
    assert!(
        memory.peak >= budget / 2,
        "the budget was actually used: peak {}",
        memory.peak
    );
    assert_eq!(
        memory.used, 0,
        "everything released once the consumer has every page"
    );
}

#[test]
fn frontier_and_seen_set_are_accounted() {
    let site = TestSite::start(SiteConfig {
        pages: 400,
        ..SiteConfig::default()
    })
    .unwrap();
    let config = Config::builder().per_host(8usize).build().unwrap();
    let crawler = Crawler::new(config).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let mut saw_frontier = false;
    while let Some(_page) = crawl.next() {
        let memory = crawl.stats().memory;
        saw_frontier |= memory.frontier > 0 && memory.seen > 0;
        assert_eq!(
            memory.used,
            memory.bodies + memory.pages + memory.frontier + memory.seen
        );
    }
    assert!(saw_frontier);
    assert_eq!(crawl.stats().memory.used, 0);
}

#[test]
fn a_frontier_spilled_to_disk_crawls_the_same_site() {
    let site = TestSite::start(SiteConfig {
        pages: 400,
        ..SiteConfig::default()
    })
    .unwrap();
    let config = Config::builder()
        .per_host(8usize)
        .frontier_memory(20usize)
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let mut found = std::collections::BTreeSet::new();
    let mut peak_queue = 0;
    while let Some(page) = crawl.next() {
        assert!(found.insert(page.url), "delivered twice");
        peak_queue = peak_queue.max(crawl.stats().frontier);
    }
    assert_eq!(found, site.expected_urls(None));
    assert!(
        peak_queue > 20,
        "the frontier did spill (peak {peak_queue})"
    );
}

#[test]
fn a_seen_set_spilled_to_disk_crawls_the_same_site() {
    let site = TestSite::start(SiteConfig {
        pages: 300,
        ..SiteConfig::default()
    })
    .unwrap();
    let config = Config::builder()
        .per_host(8usize)
        .seen_memory(ucrawler::config::MIN_SEEN_MEMORY)
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let mut found = std::collections::BTreeSet::new();
    let mut peak_seen_bytes = 0;
    while let Some(page) = crawl.next() {
        assert!(found.insert(page.url), "delivered twice");
        peak_seen_bytes = peak_seen_bytes.max(crawl.stats().memory.seen);
    }
    assert_eq!(found, site.expected_urls(None));
    let seen = crawl.stats().seen;
    // 16 fingerprints in memory, the rest on disk behind ~1.3 bytes each of index (and a
    // little per run): less than the 8 bytes of the fingerprints themselves.
    assert!(seen > 300, "{seen} URLs seen");
    assert!(
        peak_seen_bytes < seen * 8,
        "{peak_seen_bytes} bytes for {seen} URLs"
    );
}

/// A body reserves room for a DOM only when `extract` rules will build one: without rules a
/// page may take about half the budget (itself and a decoded copy), with rules a fifth.
#[test]
fn a_body_reserves_for_a_dom_only_when_rules_build_one() {
    let site = TestSite::start(SiteConfig {
        pages: 1,
        ..SiteConfig::default()
    })
    .unwrap();
    let budget: u64 = 4 << 20;
    let largest_page = |with_rules: bool| {
        let mut config = Config::builder()
            .depth(0)
            .concurrency(1usize)
            .max_body(64u64 << 20)
            .max_memory(budget);
        if with_rules {
            config = config.extract("title", ucrawler::ExtractRule::text("title"));
        }
        let crawler = Crawler::new(config.build().unwrap()).unwrap();
        let crawl = crawler.crawl([site.url("/hostile/huge")]).unwrap();
        crawl.map(|page| page.bytes).max().unwrap_or(0)
    };
    let streaming = largest_page(false);
    let dom = largest_page(true);
    assert!(streaming > budget / 3, "{streaming} bytes without rules");
    assert!(dom <= budget / 5, "{dom} bytes with rules");
}

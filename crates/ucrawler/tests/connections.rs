//! The connection limit seen from the server: a crawl of many more hosts than it may hold
//! connections to keeps under the limit, closing idle connections to make room, and loses no page.

use std::collections::BTreeSet;

use ucrawler::{Config, Crawler, Page};
use ucrawler_testsite::{SiteConfig, TestSite};

const HOSTS: usize = 150;
const CONCURRENCY: usize = 8;

#[test]
fn connections_stay_under_the_limit_and_idle_ones_make_room() {
    let sites = TestSite::start_hosts(
        HOSTS,
        SiteConfig {
            pages: 6,
            ..SiteConfig::default()
        },
    )
    .unwrap();
    let expected = sites.expected_urls_of_every_host(None);
    let config = Config::builder()
        .concurrency(CONCURRENCY)
        .per_host(2usize)
        .build()
        .unwrap();
    let mut crawl = Crawler::new(config)
        .unwrap()
        .crawl(sites.base_urls())
        .unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    let failed: Vec<_> = pages.iter().filter(|p| p.error.is_some()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed[0]
    );
    let found: BTreeSet<String> = pages.iter().map(|p| p.url.clone()).collect();
    assert_eq!(found, expected);

    let stats = crawl.stats().descriptors;
    // concurrency + 64 (this test process has room for it under any usual open-files limit).
    assert_eq!(stats.connection_limit, CONCURRENCY as u64 + 64);
    // Hosts with pages still queued keep their idle connections: far more hosts than the limit
    // fill it, and room for the others comes from closing the idle ones.
    assert!(stats.waits > 0, "{stats:?}");
    assert!(stats.closed_idle > 0, "{stats:?}");
    // The server sees a close a moment after the crawler made it, and may accept the next
    // connection first: a few over the limit at its count are that lag, not the crawler's.
    let most = sites.log().max_open_connections();
    assert!(
        most <= stats.connection_limit + 4,
        "the server saw {most} connections open at once: limit {}",
        stats.connection_limit
    );
    assert!(sites.log().max_in_flight_per_host() <= 2);
    // Closing a connection never costs a request: no page was tried twice, and the server saw
    // each page and robots.txt once.
    assert!(pages.iter().all(|p| p.attempts == 1));
    assert_eq!(sites.requests_served(), (expected.len() + HOSTS) as u64);
}

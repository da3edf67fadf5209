//! `max_pages_per_host`: one host cannot eat the crawl, in one process and across a fleet
//! sharing a Redis frontier.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;

use redis_server::RedisServer;
use ucrawler::distributed::{RedisFrontier, RedisOptions};
use ucrawler::{Config, Crawler, Page};
use ucrawler_testsite::{SiteConfig, TestSite};

fn sites(hosts: usize) -> TestSite {
    TestSite::start_hosts(
        hosts,
        SiteConfig {
            pages: 200,
            ..SiteConfig::default()
        },
    )
    .expect("test site starts")
}

/// Pages by `host:port`.
fn per_host(pages: &[Page]) -> BTreeMap<String, usize> {
    let mut hosts = BTreeMap::new();
    for page in pages {
        let url = url::Url::parse(&page.url).unwrap();
        *hosts.entry(ucrawler::url::host_key(&url)).or_default() += 1;
    }
    hosts
}

#[test]
fn each_host_is_crawled_up_to_its_budget_and_the_rest_counted() {
    let site = sites(3);
    let config = Config::builder()
        .per_host(4usize)
        .max_pages_per_host(Some(25))
        .build()
        .unwrap();
    let mut crawl = Crawler::new(config)
        .unwrap()
        .crawl(site.base_urls())
        .unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    let hosts = per_host(&pages);
    assert_eq!(hosts.len(), 3);
    assert!(hosts.values().all(|&n| n == 25), "{hosts:?}");
    let stats = crawl.stats();
    assert!(stats.over_host_budget > 0);
    assert_eq!(stats.over_host_budget_by_host.len(), 3);
    assert_eq!(
        stats.over_host_budget_by_host.values().sum::<u64>(),
        stats.over_host_budget
    );
    assert_eq!(
        site.requests_served(),
        3 * (25 + 1),
        "each host: robots.txt and 25 pages"
    );
    assert!(Config::builder()
        .max_pages_per_host(Some(0))
        .build()
        .is_err());
}

#[test]
fn a_fleet_shares_one_budget_per_host() {
    let server = RedisServer::start();
    let site = sites(2);
    let budget = 30;
    let config = || {
        Config::builder()
            .per_host(4usize)
            .max_pages_per_host(Some(budget))
            .redis(server.url(), "budget")
            .build()
            .unwrap()
    };
    // Three workers at once; the seeds given by one of them.
    let seeds = site.base_urls();
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let seeds = if i == 0 { seeds.clone() } else { Vec::new() };
            let config = config();
            std::thread::spawn(move || -> Vec<Page> {
                Crawler::new(config)
                    .unwrap()
                    .crawl(seeds)
                    .unwrap()
                    .collect()
            })
        })
        .collect();
    let pages: Vec<Page> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();
    let hosts = per_host(&pages);
    assert_eq!(
        hosts.values().copied().collect::<Vec<_>>(),
        [30, 30],
        "{hosts:?}"
    );
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        RedisFrontier::connect(&server.url(), "budget", RedisOptions::default())
            .await
            .unwrap()
            .status()
            .await
            .unwrap()
    });
    assert!(status.over_host_budget > 0, "{status:?}");
    assert_eq!(status.done + status.failed, 60);
}

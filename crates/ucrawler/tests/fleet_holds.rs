//! A shared crawl's holds on hosts (fleet-wide politeness in Redis) are given back when the
//! crawl is stopped, whatever each fetch was doing at that moment: a hold left behind makes
//! every other worker of the fleet wait for it to expire.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use ucrawler::distributed::{RedisFrontier, RedisOptions};
use ucrawler::{Config, Crawler, Request};
use ucrawler_testsite::{SiteConfig, TestSite};

/// Holds on any host, across crawls.
async fn holds(server: &RedisServer) -> usize {
    let mut raw = server.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("ucrawler:host:*:holds")
        .query_async(&mut raw)
        .await
        .unwrap();
    let mut total = 0;
    for key in keys {
        let n: usize = redis::cmd("ZCARD")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        total += n;
    }
    total
}

#[test]
fn a_stopped_crawl_leaves_no_hold_on_its_hosts() {
    let server = RedisServer::start();
    let site = TestSite::start(SiteConfig {
        pages: 60,
        ..SiteConfig::default()
    })
    .expect("test site starts");
    let tokio = tokio::runtime::Runtime::new().unwrap();
    // Many rounds: the crawl is stopped at whatever point its fetches are at, among them the
    // moment a fetch's request for a hold is in Redis.
    for round in 0..25 {
        let name = format!("stop-{round}");
        let seeds: Vec<Request> = (0..40)
            .map(|i| Request::new(site.url(&format!("/page/{i}.html"))))
            .collect();
        tokio.block_on(async {
            let frontier = RedisFrontier::connect(&server.url(), &name, RedisOptions::default())
                .await
                .unwrap();
            frontier.push_seeds(&seeds, true).await.unwrap();
        });
        let config = Config::builder()
            .redis(server.url(), name)
            .depth(0)
            .per_host(4usize)
            .concurrency(16usize)
            .build()
            .unwrap();
        let crawler = Crawler::new(config).unwrap();
        let mut crawl = crawler.crawl(Vec::<Request>::new()).unwrap();
        assert!(crawl.next().is_some(), "round {round}: a first page");
        drop(crawl);
        // The holds' expiry is over a minute; given back, they are gone at once.
        let start = Instant::now();
        loop {
            let left = tokio.block_on(holds(&server));
            if left == 0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "round {round}: {left} holds left behind by a stopped crawl"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

//! Engine threads are the process's, not each crawler's: a loop building short-lived crawlers (a
//! Rails job or controller doing `Crawler.new(...).crawl(...)`, with Ruby freeing them whenever
//! its GC runs) keeps a fixed number of threads, whether the crawlers are dropped or kept.
//!
//! One test function: the thread count is the process's, and tests of one binary run on
//! threads of the same process.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ucrawler::{Config, Crawler};
use ucrawler_testsite::{SiteConfig, TestSite};

/// OS threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (Linux)")
        .count()
}

/// Sockets this process has open (each once: stdio may be one, duplicated).
fn sockets() -> BTreeSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd (Linux)")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with("socket:"))
        .collect()
}

fn crawl_one(crawler: &Crawler, url: String) {
    let pages: Vec<_> = crawler.crawl([url]).unwrap().collect();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].is_ok(), "{:?}", pages[0].error);
}

/// Waits up to `limit` for `done`; whether it came true.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
fn many_crawlers_share_a_bounded_number_of_threads() {
    let site = TestSite::start(SiteConfig {
        pages: 50,
        ..SiteConfig::default()
    })
    .unwrap();
    let base_threads = threads();
    let base_sockets = sockets();
    let config = |io_threads: usize, parsers: usize| {
        Config::builder()
            .depth(0u32)
            .io_threads(io_threads)
            .parsers(parsers)
            .build()
            .unwrap()
    };

    // 200 crawlers of one configuration, half of them kept alive (as Ruby keeps objects its GC
    // has not freed yet), the other half dropped.
    let mut kept = Vec::new();
    for i in 0..200 {
        let crawler = Crawler::new(config(1, 2)).unwrap();
        crawl_one(&crawler, site.url(&format!("/page/{}.html", 1 + i % 49)));
        if i % 2 == 0 {
            kept.push(crawler);
        }
    }
    // One I/O thread and two parsers for the whole process.
    let grown = threads() - base_threads;
    assert!(grown <= 3, "{grown} threads more after 200 crawlers");

    // Other settings: the parser pool grows to the largest `parsers` asked, and each distinct
    // `io_threads` value has one runtime: 2 more I/O threads and 2 more parsers here.
    for (io_threads, parsers) in [(2, 4), (1, 3), (2, 1), (1, 4)] {
        for i in 0..25 {
            let crawler = Crawler::new(config(io_threads, parsers)).unwrap();
            crawl_one(&crawler, site.url(&format!("/page/{}.html", 1 + i)));
            kept.push(crawler);
        }
    }
    let grown = threads() - base_threads;
    assert!(grown <= 3 + 4, "{grown} threads more after 300 crawlers");

    // The crawlers kept alive hold no connection: a crawler's HTTP client goes with its last
    // crawl.
    let released = eventually(Duration::from_secs(5), || {
        sockets().is_subset(&base_sockets)
    });
    assert!(
        released,
        "{:?} open, {base_sockets:?} before the crawls",
        sockets()
    );
    assert_eq!(kept.len(), 200);
}

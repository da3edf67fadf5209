//! The DOM `extract` rules need is bounded in time and in memory, whatever the page: a page
//! whose tree would nest too deep or grow too large comes out with the streaming pass's title
//! and links, empty rule values and a `dom_too_large` error, and `max_memory` holds (#13).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use ucrawler::{Config, Crawler, ExtractRule, Page, Stats};
use ucrawler_testsite::dom_bombs::DOM_BOMB_TARGET;
use ucrawler_testsite::{SiteConfig, TestSite};

/// A liveness bound, not a benchmark: unbounded, the nested page alone parses for minutes.
const LIVENESS: Duration = Duration::from_secs(20);
const BUDGET: u64 = 64 << 20;

fn config(depth: u32) -> Config {
    Config::builder()
        .depth(depth)
        .concurrency(4usize)
        .per_host(4usize)
        .max_memory(BUDGET)
        .extract("price", ExtractRule::text(".price"))
        .extract("bold", ExtractRule::text("b"))
        .build()
        .unwrap()
}

/// Crawls `seeds` on another thread; fails if it has not ended within [`LIVENESS`].
fn crawl(config: Config, seeds: Vec<String>) -> (Vec<Page>, Stats) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let crawler = Crawler::new(config).unwrap();
        let mut crawl = crawler.crawl(seeds).unwrap();
        let pages: Vec<Page> = crawl.by_ref().collect();
        let _ = done.send((pages, crawl.stats()));
    });
    finished
        .recv_timeout(LIVENESS)
        .unwrap_or_else(|_| panic!("the crawl is still parsing after {LIVENESS:?}"))
}

fn kind(page: &Page) -> &'static str {
    page.error.as_ref().map_or("none", |e| e.kind())
}

fn page<'a>(pages: &'a [Page], path: &str) -> &'a Page {
    pages
        .iter()
        .find(|p| p.url.ends_with(path))
        .unwrap_or_else(|| panic!("no page {path}"))
}

/// The process's resident memory now, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// The most RSS grew above `baseline` while `run` ran (sampled every 2 ms).
fn rss_growth<T>(run: impl FnOnce() -> T) -> (T, u64) {
    let baseline = rss();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak.max(rss())
        })
    };
    let out = run();
    stop.store(true, Relaxed);
    let peak = sampler.join().unwrap();
    (out, peak.saturating_sub(baseline))
}

#[test]
fn deeply_nested_page_is_refused_in_bounded_time() {
    let site = TestSite::start(SiteConfig::default()).unwrap();
    let (pages, stats) = crawl(config(1), vec![site.url("/hostile/dom/nested-divs")]);
    let nested = page(&pages, "/hostile/dom/nested-divs");
    assert_eq!(kind(nested), "dom_too_large", "{:?}", nested.error);
    let message = nested.error.as_ref().unwrap().to_string();
    assert!(message.contains("deeper than"), "{message}");
    // The streaming pass still gave the page its title and links, and they were followed.
    assert_eq!(nested.title.as_deref(), Some("Nested divs"));
    assert_eq!(nested.links, [site.url(DOM_BOMB_TARGET)]);
    assert_eq!(nested.extracted["price"], Vec::<String>::new());
    let target = page(&pages, DOM_BOMB_TARGET);
    assert!(target.is_ok(), "{:?}", target.error);
    assert_eq!(stats.errors_by_kind["dom_too_large"], 1);
}

#[test]
fn formatting_element_bombs_stay_within_max_memory() {
    let site = TestSite::start(SiteConfig::default()).unwrap();
    let seeds = vec![
        site.url("/hostile/dom/formatting-bomb"),
        site.url("/hostile/dom/formatting-bomb-shallow"),
    ];
    let ((pages, stats), growth) = rss_growth(|| crawl(config(0), seeds));
    assert!(
        stats.memory.peak <= BUDGET,
        "peak {} accounted, budget {BUDGET}",
        stats.memory.peak
    );
    // Unbounded, each bomb's tree alone took 100–390 MiB.
    assert!(
        growth < BUDGET,
        "RSS grew by {} MiB, max_memory is {} MiB",
        growth >> 20,
        BUDGET >> 20
    );
    assert_eq!(pages.len(), 2);
    for page in &pages {
        assert_eq!(
            kind(page),
            "dom_too_large",
            "{}: {:?}",
            page.url,
            page.error
        );
        assert_eq!(page.title.as_deref(), Some("Formatting bomb"));
        assert_eq!(page.extracted["bold"], Vec::<String>::new());
    }
    // The shallow bomb nests within the depth bound: it is stopped as it re-creates elements.
    let shallow = page(&pages, "/hostile/dom/formatting-bomb-shallow");
    let message = shallow.error.as_ref().unwrap().to_string();
    assert!(message.contains("re-creates elements"), "{message}");
    // The trees were counted against max_memory up to there (uncounted, 134 KiB were).
    assert!(
        stats.memory.peak >= 1 << 20,
        "peak {} accounted",
        stats.memory.peak
    );
    assert_eq!(stats.errors_by_kind["dom_too_large"], 2);
}

#[test]
fn ordinary_pages_keep_their_dom() {
    let site = TestSite::start(SiteConfig {
        pages: 40,
        ..SiteConfig::default()
    })
    .unwrap();
    let (pages, stats) = crawl(config(9), vec![site.url("/")]);
    assert_eq!(pages.len(), site.expected_urls(Some(9)).len());
    for page in &pages {
        assert!(page.is_ok(), "{}: {:?}", page.url, page.error);
        assert!(page.title.is_some());
    }
    assert!(pages.iter().any(|p| !p.extracted["price"].is_empty()));
    assert_eq!(stats.errors, 0);
}

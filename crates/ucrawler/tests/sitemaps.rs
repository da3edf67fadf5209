//! `sitemaps`: a site's robots.txt `Sitemap:` lines (or `/sitemap.xml`), indexes and gzipped
//! files, against the test site's sitemaps — and its broken, oversized, foreign, nested and
//! fanned-out ones, which must end with what a protocol-abiding reader keeps and nothing more.

use std::collections::BTreeSet;

use ucrawler::{Config, Crawler, Page, Sitemaps, Stats};
use ucrawler_testsite::sitemaps::{
    self, child_url, level_url, orphan_url, orphan_urls, page_urls, BROKEN_GOOD_ENTRIES,
    ORPHAN_PAGES, SITEMAP_ROBOTS_TXT,
};
use ucrawler_testsite::{SiteConfig, TestSite};

fn site(pages: usize, robots_txt: Option<&str>) -> TestSite {
    TestSite::start(SiteConfig {
        pages,
        robots_txt: robots_txt.map(String::from),
        log_requests: true,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

fn crawl(site: &TestSite, config: Config) -> (Vec<Page>, Stats) {
    let mut crawl = Crawler::new(config)
        .unwrap()
        .crawl([site.url("/")])
        .unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    (pages, crawl.stats())
}

fn urls(pages: &[Page]) -> BTreeSet<String> {
    pages.iter().map(|p| p.url.clone()).collect()
}

fn requested(site: &TestSite, prefix: &str) -> usize {
    site.request_log()
        .iter()
        .filter(|r| r.path.starts_with(prefix))
        .count()
}

#[test]
fn robots_sitemaps_reach_every_page_and_the_orphans_at_the_seed_depth() {
    let site = site(60, Some(SITEMAP_ROBOTS_TXT));
    let config = Config::builder()
        .depth(0)
        .sitemaps(Sitemaps::On)
        .build()
        .unwrap();
    let (pages, stats) = crawl(&site, config);
    let base = site.base_url();
    let mut expected = page_urls(site.site(), &base);
    expected.extend(orphan_urls(&base));
    assert_eq!(urls(&pages), expected);
    assert_eq!(pages.len(), expected.len(), "each page once");
    assert!(pages.iter().all(|p| p.depth == 0 && p.is_ok()));
    let orphan = pages
        .iter()
        .find(|p| p.url == orphan_url(&base, 0))
        .unwrap();
    assert_eq!(orphan.lastmod.as_deref(), Some("2024-02-01T08:00:00+00:00"));
    let seed = pages.iter().find(|p| p.url == site.url("/")).unwrap();
    assert_eq!(seed.lastmod, None, "a seed is not the sitemap's entry");
    assert_eq!(stats.sitemaps.read, 3, "{:?}", stats.sitemaps);
    assert_eq!(stats.sitemaps.failed, 0);
    assert_eq!(stats.sitemaps.urls, (60 + ORPHAN_PAGES) as u64);
    assert_eq!(stats.pages, expected.len() as u64, "sitemaps are not pages");
    assert_eq!(requested(&site, "/robots.txt"), 1, "robots.txt read once");
}

#[test]
fn off_by_default_and_robots_only_never_guesses() {
    let site = site(30, None);
    let (pages, stats) = crawl(&site, Config::default());
    assert_eq!(urls(&pages), site.expected_urls(None));
    assert_eq!(stats.sitemaps, Default::default());
    assert_eq!(requested(&site, "/sitemap"), 0);

    let config = Config::builder()
        .sitemaps(Sitemaps::Robots)
        .build()
        .unwrap();
    let (pages, _) = crawl(&site, config);
    assert_eq!(urls(&pages), site.expected_urls(None));
    assert_eq!(
        requested(&site, "/sitemap"),
        0,
        "no Sitemap line: nothing read"
    );
}

#[test]
fn without_a_sitemap_line_on_reads_the_conventional_location() {
    let site = site(30, None);
    let config = Config::builder().sitemaps(Sitemaps::On).build().unwrap();
    let (pages, stats) = crawl(&site, config);
    let mut expected = site.expected_urls(None);
    expected.extend(orphan_urls(&site.base_url()));
    assert_eq!(urls(&pages), expected);
    assert_eq!(stats.sitemaps.read, 1);
    assert_eq!(requested(&site, "/sitemap.xml"), 1);
}

#[test]
fn hostile_sitemaps_end_with_what_the_protocol_keeps() {
    let robots = [
        "broken.xml",
        "huge.xml",
        "oversized.xml",
        "bomb.xml.gz",
        "foreign.xml",
        "redirect-private.xml",
        "html.xml",
        "nested/0.xml",
    ]
    .map(|path| format!("Sitemap: {{base}}/sitemaps/{path}\n"))
    .concat();
    let site = site(5, Some(&format!("User-agent: *\n{robots}")));
    let config = Config::builder()
        .depth(0)
        .sitemaps(Sitemaps::On)
        // The huge sitemap's 60,000 pages do not exist: read, not fetched.
        .deny("/orphan/huge/")
        .build()
        .unwrap();
    let (pages, stats) = crawl(&site, config);
    let base = site.base_url();
    let mut expected: BTreeSet<String> = (0..BROKEN_GOOD_ENTRIES)
        .map(|i| orphan_url(&base, i))
        .collect();
    expected.extend([site.url("/"), level_url(&base, 0), level_url(&base, 1)]);
    assert_eq!(urls(&pages), expected);
    let s = stats.sitemaps;
    // Failed: broken, huge (past 50,000 entries), oversized (past 50 MiB), the bomb, the
    // redirect off the host, the HTML page.
    assert_eq!(s.failed, 6, "{s:?}");
    // Read: foreign, nested/0..2 and level/0..1 (nested/2 is at the nesting cap).
    assert_eq!(s.read, 6, "{s:?}");
    assert_eq!(requested(&site, "/sitemaps/nested/3.xml"), 0);
    assert_eq!(requested(&site, "/sitemaps/level/2.xml"), 0);
    // Dropped: 50,000 huge entries out of scope, 6 foreign ones, nested/2's two children.
    assert_eq!(s.dropped, 50_000 + 6 + 2, "{s:?}");
    assert_eq!(requested(&site, "/orphan/huge/"), 0);
}

#[test]
fn an_index_fans_out_to_at_most_a_thousand_sitemaps_per_site() {
    let site = site(
        5,
        Some("User-agent: *\nSitemap: {base}/sitemaps/fanout.xml\n"),
    );
    let config = Config::builder()
        .depth(0)
        .concurrency(16usize)
        .per_host(8usize)
        .sitemaps(Sitemaps::On)
        .build()
        .unwrap();
    let (pages, stats) = crawl(&site, config);
    let base = site.base_url();
    let children: BTreeSet<String> = (0..999).map(|i| child_url(&base, i)).collect();
    let found = urls(&pages);
    assert_eq!(found.len(), 1 + 999);
    assert!(found.is_superset(&children));
    assert_eq!(stats.sitemaps.read, 1000);
    assert_eq!(
        stats.sitemaps.dropped,
        (sitemaps::FANOUT_CHILDREN - 999) as u64
    );
}

#[test]
fn a_sitemap_robots_txt_disallows_is_not_fetched() {
    let site = site(
        5,
        Some("User-agent: *\nDisallow: /sitemaps/\nSitemap: {base}/sitemaps/index.xml\n"),
    );
    let config = Config::builder().sitemaps(Sitemaps::On).build().unwrap();
    let (pages, stats) = crawl(&site, config);
    assert_eq!(urls(&pages), site.expected_urls(None));
    assert_eq!(requested(&site, "/sitemaps/"), 0);
    assert_eq!(stats.sitemaps.failed, 1);
}

#[path = "support/redis_server.rs"]
mod redis_server;

#[test]
fn a_fleet_reads_each_sitemap_once_and_crawls_each_page_once() {
    use ucrawler::distributed::{RedisFrontier, RedisOptions};
    use ucrawler::Request;

    let server = redis_server::RedisServer::start();
    let site = site(60, Some(SITEMAP_ROBOTS_TXT));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let frontier = RedisFrontier::connect(&server.url(), "maps", RedisOptions::default())
            .await
            .unwrap();
        frontier
            .push_seeds(&[Request::new(site.url("/"))], false)
            .await
            .unwrap();
    });
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let config = Config::builder()
                .redis(server.url(), "maps".to_string())
                .depth(0)
                .sitemaps(Sitemaps::On)
                .build()
                .unwrap();
            std::thread::spawn(move || {
                let mut crawl = Crawler::new(config)
                    .unwrap()
                    .crawl(Vec::<Request>::new())
                    .unwrap();
                let pages: Vec<Page> = crawl.by_ref().collect();
                (pages, crawl.stats())
            })
        })
        .collect();
    let mut pages = Vec::new();
    let mut read = 0;
    for worker in workers {
        let (mine, stats) = worker.join().unwrap();
        pages.extend(mine);
        read += stats.sitemaps.read;
    }
    let base = site.base_url();
    let mut expected = page_urls(site.site(), &base);
    expected.extend(orphan_urls(&base));
    assert_eq!(urls(&pages), expected);
    assert_eq!(
        pages.len(),
        expected.len(),
        "each page once across the fleet"
    );
    assert_eq!(read, 3, "each sitemap read by one worker");
    for path in [
        "/sitemaps/index.xml",
        "/sitemaps/pages.xml.gz",
        "/sitemaps/orphans.xml",
    ] {
        assert_eq!(requested(&site, path), 1, "{path}");
    }
    let orphan = pages
        .iter()
        .find(|p| p.url == orphan_url(&base, 3))
        .unwrap();
    assert_eq!(orphan.lastmod.as_deref(), Some("2024-02-04T08:00:00+00:00"));
}

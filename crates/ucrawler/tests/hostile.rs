//! The engine against hostile servers: each endpoint of the test site gives its documented
//! outcome, the crawl completes, and politeness is checked from the server's own request log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ucrawler::{Config, ConfigBuilder, Crawler, Next, Page, PrivateAddresses};
use ucrawler_testsite::{hostile, LoggedRequest, SiteConfig, TestSite};

fn site_with(robots_txt: Option<&str>) -> TestSite {
    let config = SiteConfig {
        pages: 20,
        log_requests: true,
        robots_txt: robots_txt.map(str::to_string),
        ..SiteConfig::default()
    };
    TestSite::start(config).expect("test site starts")
}

fn site() -> TestSite {
    site_with(None)
}

/// Short limits so hostile endpoints resolve quickly.
fn quick() -> ConfigBuilder {
    Config::builder()
        .depth(0)
        .per_host(4usize)
        .timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(2))
        .retry_backoff(Duration::from_millis(50))
}

fn crawl(config: Config, seeds: Vec<String>) -> HashMap<String, Page> {
    let crawler = Crawler::new(config).unwrap();
    let mut crawl = crawler.crawl(seeds).unwrap();
    let pages: HashMap<String, Page> = crawl.by_ref().map(|p| (p.url.clone(), p)).collect();
    let stats = crawl.stats();
    assert!(stats.held_peak <= (crawler.config().concurrency + crawler.config().buffer) as u64);
    pages
}

fn one(config: Config, url: String) -> Page {
    let mut pages = crawl(config, vec![url.clone()]);
    pages
        .remove(&url)
        .unwrap_or_else(|| panic!("no page for {url}"))
}

fn kind(page: &Page) -> &'static str {
    page.error.as_ref().map_or("none", |e| e.kind())
}

/// Requests for pages (not robots.txt) in the order they started.
fn page_requests(site: &TestSite) -> Vec<LoggedRequest> {
    let mut log: Vec<_> = site
        .request_log()
        .into_iter()
        .filter(|r| r.path != "/robots.txt")
        .collect();
    log.sort_by_key(|r| r.started);
    log
}

/// Request starts, as the server saw them, are `delay` apart: on average at least that (the
/// crawler's clock), and each at least half of it (the server's own scheduling adds jitter on a
/// busy machine).
fn assert_spaced(log: &[LoggedRequest], delay: Duration) {
    let gaps: Vec<Duration> = log
        .windows(2)
        .map(|pair| pair[1].started - pair[0].started)
        .collect();
    for gap in &gaps {
        assert!(
            *gap >= delay / 2,
            "request starts {gap:?} apart, delay {delay:?}"
        );
    }
    let total: Duration = gaps.iter().sum();
    assert!(
        total >= delay * gaps.len() as u32 * 9 / 10,
        "{total:?} for {} gaps of {delay:?}",
        gaps.len()
    );
}

#[test]
fn robots_txt_is_obeyed_and_fetched_once() {
    let site = site_with(Some(
        "User-agent: *\nDisallow: /hostile/robots-test/disallowed.html\n",
    ));
    let seeds = vec![
        site.url("/hostile/robots-test/allowed.html"),
        site.url("/hostile/robots-test/disallowed.html"),
        site.url("/page/1.html"),
    ];
    let crawler = Crawler::new(quick().build().unwrap()).unwrap();
    let mut crawl = crawler.crawl(seeds.clone()).unwrap();
    let pages: HashMap<String, Page> = crawl.by_ref().map(|p| (p.url.clone(), p)).collect();
    assert!(pages[&seeds[0]].is_ok());
    assert_eq!(kind(&pages[&seeds[1]]), "robots_disallowed");
    assert!(pages[&seeds[2]].is_ok());
    assert_eq!(
        crawl.stats().errors_by_kind.get("robots_disallowed"),
        Some(&1)
    );
    let log = site.request_log();
    assert_eq!(log.iter().filter(|r| r.path == "/robots.txt").count(), 1);
    assert!(
        !log.iter().any(|r| r.path.contains("disallowed")),
        "a disallowed URL was fetched"
    );
    assert!(log.iter().all(|r| r
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("ucrawler/"))));

    // robots: false fetches it anyway, and never asks for robots.txt.
    let site = site_with(Some("User-agent: *\nDisallow: /\n"));
    let page = one(
        quick().robots(false).build().unwrap(),
        site.url("/page/1.html"),
    );
    assert!(page.is_ok());
    assert!(site.request_log().iter().all(|r| r.path != "/robots.txt"));
}

#[test]
fn crawl_delay_spaces_requests_and_is_capped() {
    let site = site_with(Some("User-agent: ucrawler\nCrawl-delay: 10\n"));
    let seeds: Vec<String> = (1..=4)
        .map(|i| site.url(&format!("/page/{i}.html")))
        .collect();
    let started = Instant::now();
    let pages = crawl(
        quick()
            .max_crawl_delay(Duration::from_millis(400))
            .build()
            .unwrap(),
        seeds,
    );
    assert!(pages.values().all(Page::is_ok));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Crawl-delay 10 s was not capped"
    );
    let log = page_requests(&site);
    assert_eq!(log.len(), 4);
    assert_spaced(&log, Duration::from_millis(400));
}

#[test]
fn robots_txt_is_one_of_the_host_requests_spaced_by_its_crawl_delay() {
    let site = site_with(Some("User-agent: *\nCrawl-delay: 0.3\n"));
    let seeds: Vec<String> = (1..=3)
        .map(|i| site.url(&format!("/page/{i}.html")))
        .collect();
    let pages = crawl(quick().build().unwrap(), seeds);
    assert!(pages.values().all(Page::is_ok), "{pages:?}");
    let mut log = site.request_log();
    log.sort_by_key(|r| r.started);
    assert_eq!(log[0].path, "/robots.txt");
    assert_eq!(log.len(), 4, "{log:?}");
    let first_gap = log[1].started - log[0].started;
    assert!(
        first_gap >= Duration::from_millis(270),
        "the first page went {first_gap:?} after robots.txt"
    );
    assert_spaced(&log, Duration::from_millis(300));
}

#[test]
fn per_host_limit_and_delay_seen_from_the_server() {
    let site = site();
    let seeds: Vec<String> = (1..=8)
        .map(|i| site.url(&format!("/hostile/robots-test/allowed.html?{i}")))
        .collect();
    let config = quick()
        .per_host(2usize)
        .delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let pages = crawl(config, seeds);
    assert_eq!(pages.len(), 8);
    let log = page_requests(&site);
    assert_spaced(&log, Duration::from_millis(100));
    for request in &log {
        let overlapping = log
            .iter()
            .filter(|o| o.started <= request.started && o.finished > request.started)
            .count();
        assert!(
            overlapping <= 2,
            "{overlapping} requests in flight to one host"
        );
    }
}

/// The time a crawl waits on politeness alone is counted (`politeness_wait_seconds`): five
/// pages of one host 200 ms apart wait about four gaps, a crawl without a delay nearly nothing.
#[test]
fn politeness_waits_are_timed() {
    let site = site();
    let seeds: Vec<String> = (1..=5)
        .map(|i| site.url(&format!("/hostile/robots-test/allowed.html?wait{i}")))
        .collect();
    let waited = |delay: Duration| {
        let config = quick().per_host(1usize).delay(delay).build().unwrap();
        let mut crawl = Crawler::new(config).unwrap().crawl(seeds.clone()).unwrap();
        assert_eq!(crawl.by_ref().count(), 5);
        crawl.stats().politeness_wait_seconds
    };
    let polite = waited(Duration::from_millis(200));
    assert!((0.6..3.0).contains(&polite), "{polite}");
    let eager = waited(Duration::ZERO);
    assert!(eager < polite / 2.0, "{eager} vs {polite}");
}

/// Crawls running at once in one process (two Sidekiq jobs, say, even on crawlers with other
/// options) share politeness: together they keep `per_host` and `delay` towards a host.
#[test]
fn concurrent_crawls_in_one_process_share_per_host_and_delay() {
    let site = site();
    let polite = || quick().per_host(1usize).delay(Duration::from_millis(100));
    let crawler = Crawler::new(polite().build().unwrap()).unwrap();
    let other = Crawler::new(polite().buffer(4usize).build().unwrap()).unwrap();
    let seeds = |crawl: &str| -> Vec<String> {
        (1..=5)
            .map(|i| site.url(&format!("/hostile/robots-test/allowed.html?{crawl}{i}")))
            .collect()
    };
    let first = crawler.crawl(seeds("a")).unwrap();
    let second = crawler.crawl(seeds("b")).unwrap();
    let third = other.crawl(seeds("c")).unwrap();
    let counts = std::thread::scope(|scope| {
        let runs = [first, second, third].map(|crawl| scope.spawn(move || crawl.count()));
        runs.map(|run| run.join().unwrap())
    });
    assert_eq!(counts, [5, 5, 5]);
    let log = page_requests(&site);
    assert_eq!(log.len(), 15);
    assert!(
        ["?a", "?b", "?c"]
            .iter()
            .all(|crawl| log.iter().any(|r| r.path.contains(crawl))),
        "every crawl reached the server"
    );
    for pair in log.windows(2) {
        assert!(
            pair[1].started >= pair[0].finished,
            "two requests at once to one host"
        );
    }
    assert_spaced(&log, Duration::from_millis(100));
}

/// A cancelled crawl gives its hosts back to the process-wide gate at once.
#[test]
fn cancelled_crawls_free_their_hosts() {
    let site = site();
    let crawler = Crawler::new(quick().per_host(1usize).build().unwrap()).unwrap();
    let slow = crawler.crawl(vec![site.url("/hostile/slow-drip")]).unwrap();
    while site
        .request_log()
        .iter()
        .all(|r| r.path != "/hostile/slow-drip")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(slow);
    let config = quick()
        .per_host(1usize)
        .deadline(Duration::from_secs(2))
        .build()
        .unwrap();
    let page = one(config, site.url("/hostile/status/200"));
    assert_eq!((page.status, kind(&page)), (200, "none"));
}

#[test]
fn per_host_limit_applies_per_host_not_globally() {
    let a = site();
    let b = TestSite::start_on(
        "127.0.0.2:0".parse().unwrap(),
        SiteConfig {
            pages: 5,
            log_requests: true,
            ..SiteConfig::default()
        },
    )
    .expect("second loopback address");
    let mut seeds: Vec<String> = (1..=6)
        .map(|i| a.url(&format!("/hostile/status/200?{i}")))
        .collect();
    seeds.extend((1..=6).map(|i| b.url(&format!("/hostile/status/200?{i}"))));
    let config = quick().per_host(1usize).build().unwrap();
    let pages = crawl(config, seeds);
    assert_eq!(pages.len(), 12);
    for site in [&a, &b] {
        let log = page_requests(site);
        assert_eq!(log.len(), 6);
        for pair in log.windows(2) {
            assert!(
                pair[1].started >= pair[0].finished,
                "two requests at once to one host"
            );
        }
    }
}

#[test]
fn retry_after_pauses_the_host_then_retries() {
    let site = site();
    let seeds = vec![
        site.url("/hostile/retry-after/a"),
        site.url("/page/1.html"),
        site.url("/page/2.html"),
    ];
    let pages = crawl(quick().per_host(1usize).build().unwrap(), seeds.clone());
    let page = &pages[&seeds[0]];
    assert!(page.is_ok(), "{:?}", page.error);
    assert_eq!(page.attempts, 2);
    let log = page_requests(&site);
    let first_429 = log
        .iter()
        .find(|r| r.status == 429)
        .expect("a 429 was served");
    let after: Vec<_> = log
        .iter()
        .filter(|r| r.started > first_429.started)
        .collect();
    assert!(!after.is_empty());
    for request in after {
        // Retry-After: 2 — nothing else goes to this host meanwhile.
        assert!(
            request.started - first_429.finished >= Duration::from_millis(1900),
            "{} too soon",
            request.path
        );
    }

    let page = one(
        quick().build().unwrap(),
        site.url("/hostile/retry-after-date/b"),
    );
    assert!(
        page.is_ok() && page.attempts == 2,
        "{:?} after {}",
        page.error,
        page.attempts
    );
}

#[test]
fn transient_errors_are_retried_with_backoff() {
    let site = site();
    let page = one(
        quick().retries(2u32).build().unwrap(),
        site.url("/hostile/flaky/x"),
    );
    assert!(page.is_ok());
    assert_eq!(page.attempts, 3);
    let page = one(
        quick().retries(1u32).build().unwrap(),
        site.url("/hostile/flaky/y"),
    );
    assert_eq!(
        (kind(&page), page.status, page.attempts),
        ("http_status", 503, 2)
    );
    let page = one(quick().build().unwrap(), site.url("/hostile/status/404"));
    assert_eq!(
        (kind(&page), page.attempts),
        ("http_status", 1),
        "a 404 is not retried"
    );
}

#[test]
fn redirects_loops_and_limits() {
    let site = site();
    let page = one(quick().build().unwrap(), site.url("/hostile/redirect-loop"));
    assert_eq!(kind(&page), "redirect_loop");
    let page = one(
        quick().build().unwrap(),
        site.url("/hostile/redirect-chain/3"),
    );
    assert!(page.is_ok());
    assert_eq!(page.final_url, site.url("/hostile/redirect-chain/0"));
    let page = one(
        quick().max_redirects(5usize).build().unwrap(),
        site.url("/hostile/redirect-chain/6"),
    );
    assert_eq!(kind(&page), "too_many_redirects");
}

#[test]
fn slow_servers_are_cut_off() {
    let site = site();
    let started = Instant::now();
    let page = one(
        quick()
            .retries(0u32)
            .timeout(Duration::from_millis(1500))
            .build()
            .unwrap(),
        site.url("/hostile/slow-drip"),
    );
    assert_eq!(kind(&page), "timeout");
    assert!(started.elapsed() < Duration::from_secs(4));

    let page = one(
        quick()
            .retries(0u32)
            .read_timeout(Duration::from_millis(300))
            .build()
            .unwrap(),
        site.url("/hostile/slow-drip"),
    );
    assert_eq!(kind(&page), "timeout");
    assert!(page.error.unwrap().to_string().contains("read_timeout"));
}

#[test]
fn bodies_are_capped_while_streaming() {
    let site = site();
    let cap = 1 << 20;
    let config = quick().max_body(cap).build().unwrap();
    for path in ["/hostile/endless", "/hostile/gzip-bomb", "/hostile/huge"] {
        let page = one(config.clone(), site.url(path));
        assert!(page.is_ok(), "{path}: {:?}", page.error);
        assert!(page.truncated, "{path}");
        assert_eq!(page.bytes, cap, "{path}");
    }
    let strict = quick().max_body(cap).truncate_body(false).build().unwrap();
    let page = one(strict.clone(), site.url("/hostile/huge"));
    assert_eq!(
        (kind(&page), page.bytes),
        ("body_too_large", 0),
        "stopped on Content-Length"
    );
    let page = one(strict, site.url("/hostile/gzip-bomb-small"));
    assert_eq!(kind(&page), "body_too_large");

    let started = Instant::now();
    let page = one(quick().build().unwrap(), site.url("/hostile/binary"));
    assert!(page.is_ok() && page.bytes == 0 && page.content_type.as_deref() == Some("video/mp4"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a 1 GiB video was downloaded"
    );
}

#[test]
fn link_count_is_bounded() {
    let site = site();
    let page = one(
        quick().max_links_per_page(1000usize).build().unwrap(),
        site.url("/hostile/many-links"),
    );
    assert_eq!(page.links.len(), 1000);
    let page = one(quick().build().unwrap(), site.url("/hostile/many-links"));
    assert_eq!(page.links.len(), 10_000, "default max_links_per_page");
}

#[test]
fn charsets_declared_in_meta_are_decoded() {
    let site = site();
    for (path, title) in [
        (
            "/hostile/charset/windows-1251",
            hostile::CHARSET_TITLE_WINDOWS_1251,
        ),
        (
            "/hostile/charset/shift_jis",
            hostile::CHARSET_TITLE_SHIFT_JIS,
        ),
        (
            "/hostile/charset/iso-8859-1",
            hostile::CHARSET_TITLE_ISO_8859_1,
        ),
    ] {
        let page = one(quick().build().unwrap(), site.url(path));
        assert_eq!(page.title.as_deref(), Some(title), "{path}");
        assert!(
            page.links.contains(&site.url("/hostile/charset/target")),
            "{path}"
        );
    }
}

#[test]
fn malformed_html_and_resets_do_not_break_the_crawl() {
    let site = site();
    let pages = crawl(
        quick().depth(1).build().unwrap(),
        vec![site.url("/hostile/malformed")],
    );
    let page = &pages[&site.url("/hostile/malformed")];
    assert_eq!(page.title.as_deref(), Some("Malformed"));
    assert!(pages.contains_key(&site.url("/hostile/malformed-a")));
    assert!(pages.contains_key(&site.url("/hostile/malformed-b")));

    let page = one(
        quick().retries(0u32).build().unwrap(),
        site.url("/hostile/reset"),
    );
    assert!(!page.is_ok());
    assert_eq!(kind(&page), "http", "{:?}", page.error);
}

#[test]
fn private_addresses_guard() {
    let site = site();
    // Default `seeds`: the seed's own loopback host is fine, a redirect to the metadata service is not.
    let page = one(
        quick().build().unwrap(),
        site.url("/hostile/metadata-redirect"),
    );
    assert_eq!(kind(&page), "address_refused", "{:?}", page.error);
    assert!(one(quick().build().unwrap(), site.url("/page/1.html")).is_ok());

    // `deny`: even a seed on loopback is refused, by IP literal and by name, before connecting.
    let served_before = site.requests_served();
    let deny = quick()
        .private_addresses(PrivateAddresses::Deny)
        .build()
        .unwrap();
    assert_eq!(
        kind(&one(deny.clone(), site.url("/page/1.html"))),
        "address_refused"
    );
    let by_name = format!("http://localhost:{}/page/1.html", site.addr().port());
    assert_eq!(kind(&one(deny, by_name)), "address_refused");
    assert_eq!(
        site.requests_served(),
        served_before,
        "refused requests never reached the server"
    );
}

#[test]
fn every_crawl_ends_and_says_why() {
    use ucrawler::EndReason;
    let site = site();
    let crawler = Crawler::new(quick().build().unwrap()).unwrap();
    let mut crawl = crawler.crawl([site.url("/page/1.html")]).unwrap();
    crawl.by_ref().for_each(drop);
    assert_eq!(crawl.stats().end_reason, Some(EndReason::Finished));

    let crawler = Crawler::new(quick().depth(3).max_pages(Some(3)).build().unwrap()).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    crawl.by_ref().for_each(drop);
    assert_eq!(crawl.stats().end_reason, Some(EndReason::MaxPages));

    // A server that never finishes a page, and no timeout that would save us: the watchdog does.
    let stalling = quick()
        .retries(0u32)
        .timeout(Duration::from_secs(3600))
        .read_timeout(Duration::from_secs(3600))
        .stall_timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let started = Instant::now();
    let crawler = Crawler::new(stalling).unwrap();
    let mut crawl = crawler.crawl([site.url("/hostile/slow-drip")]).unwrap();
    assert_eq!(crawl.by_ref().count(), 0, "the page under way is dropped");
    assert_eq!(crawl.stats().end_reason, Some(EndReason::Stalled));
    assert!(started.elapsed() < Duration::from_secs(5));

    let deadline = quick()
        .timeout(Duration::from_secs(3600))
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    let crawler = Crawler::new(deadline).unwrap();
    let mut crawl = crawler.crawl([site.url("/hostile/slow-drip")]).unwrap();
    crawl.by_ref().for_each(drop);
    assert_eq!(crawl.stats().end_reason, Some(EndReason::Deadline));
}

#[test]
fn every_redirect_hop_is_checked_against_robots_txt() {
    let site = site_with(Some("User-agent: *\nDisallow: /hostile/redirect-chain/0\n"));
    let page = one(
        quick().build().unwrap(),
        site.url("/hostile/redirect-chain/2"),
    );
    assert_eq!(kind(&page), "robots_disallowed");
    assert!(site
        .request_log()
        .iter()
        .all(|r| r.path != "/hostile/redirect-chain/0"));
}

/// When the network is the limit (every response is slow), the fetch window opens up to
/// `concurrency` within a few round trips: keeping fetches near what the parsers absorb never
/// holds back a slow crawl.
#[test]
fn a_slow_network_opens_the_fetch_window_to_concurrency() {
    let site = site();
    let config = quick()
        .concurrency(32usize)
        .per_host(32usize)
        .retries(0u32)
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let seeds: Vec<String> = (0..320)
        .map(|i| site.url(&format!("/hostile/slow-drip?i={i}")))
        .collect();
    let mut crawl = crawler.crawl(seeds).unwrap();
    let (mut pages, mut widest, mut most_in_flight) = (0, 0, 0);
    loop {
        let stats = crawl.stats();
        widest = widest.max(stats.fetch_window);
        most_in_flight = most_in_flight.max(stats.in_flight);
        match crawl.next_timeout(Duration::from_millis(20)) {
            Next::Page(page) => {
                assert_eq!(kind(&page), "timeout", "{}", page.url);
                pages += 1;
            }
            Next::Pending => {}
            Next::Finished => break,
        }
    }
    assert_eq!(pages, 320);
    assert_eq!(widest, 32, "the window opened to concurrency");
    assert!(
        most_in_flight >= 24,
        "slow requests ran side by side: at most {most_in_flight} in flight"
    );
}

#[test]
fn a_response_head_past_the_read_buffer_is_a_protocol_error() {
    // Each connection's read buffer is 16 KiB (#17: a fixed size, not hyper's adaptive one):
    // a head within it is taken, a larger one refused without being buffered.
    let site = site();
    let fits = one(quick().build().unwrap(), site.url("/hostile/head/12"));
    assert!(fits.is_ok(), "{fits:?}");
    assert_eq!(fits.title.as_deref(), Some("Big head"));
    let over = one(
        quick().retries(0u32).build().unwrap(),
        site.url("/hostile/head/20"),
    );
    assert_eq!(kind(&over), "protocol", "{over:?}");
}

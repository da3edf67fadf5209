//! `render`: pages built by scripts, rendered in headless Chromium (Debian's `chromium`, which
//! `bin/setup` installs: these tests are never skipped), against the test site's `/render/`
//! pages — and the rules every request of a rendered page must keep: the address guard,
//! robots.txt, the host's politeness, no media, no popups or navigations away, `max_body` on
//! the DOM, `render_memory` and `render_timeout` on the browser.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ucrawler::{Config, Crawler, Page, Render, Stats};
use ucrawler_testsite::render::{
    self, expected_script_built_urls, expected_without_rendering, private_path, NEVER_REQUESTED,
    SECRET_JS,
};
use ucrawler_testsite::{SiteConfig, TestSite};

fn site() -> TestSite {
    TestSite::start(SiteConfig {
        pages: 10,
        log_requests: true,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

fn crawl(seeds: Vec<String>, config: Config) -> (Vec<Page>, Stats) {
    let mut crawl = Crawler::new(config).unwrap().crawl(seeds).unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    (pages, crawl.stats())
}

fn urls(pages: &[Page]) -> BTreeSet<String> {
    pages.iter().map(|p| p.url.clone()).collect()
}

fn page<'a>(pages: &'a [Page], site: &TestSite, path: &str) -> &'a Page {
    let url = site.url(path);
    pages
        .iter()
        .find(|p| p.url == url)
        .unwrap_or_else(|| panic!("{url} not crawled: {:?}", urls(pages)))
}

fn requested(site: &TestSite, path: &str) -> usize {
    site.request_log().iter().filter(|r| r.path == path).count()
}

#[test]
fn auto_renders_a_script_built_site_and_finds_every_page() {
    let site = site();
    let base = site.base_url();
    let config = Config::builder().render(Render::Auto).build().unwrap();
    let (pages, stats) = crawl(vec![site.url("/render/")], config);
    assert_eq!(urls(&pages), expected_script_built_urls(&base));
    assert!(pages.iter().all(|p| p.is_ok() && p.rendered), "{pages:#?}");
    assert!(
        pages.iter().all(|p| p.title.is_some()),
        "scripts set the titles"
    );
    assert!(pages.iter().all(|p| p.timings.render > Duration::ZERO));
    let shells = pages.len() as u64;
    assert_eq!(stats.render.shells, shells, "{:?}", stats.render);
    assert_eq!(stats.render.rendered, shells);
    assert_eq!(stats.render.not_shells, 0);
    assert!(stats.render.browser_starts >= 1);
    // Each document is fetched once over HTTP: the browser is handed it, never fetches it.
    assert_eq!(requested(&site, "/render/"), 1);

    // Without rendering the shell is all there is.
    let (plain, stats) = crawl(vec![site.url("/render/")], Config::default());
    assert_eq!(urls(&plain), expected_without_rendering(&base));
    assert!(!plain[0].rendered);
    assert_eq!(stats.render.rendered, 0);
}

#[test]
fn auto_leaves_server_rendered_pages_alone() {
    let site = site();
    let config = Config::builder()
        .render(Render::Auto)
        .depth(1)
        .build()
        .unwrap();
    let (pages, stats) = crawl(vec![site.url("/")], config);
    assert_eq!(urls(&pages), site.expected_urls(Some(1)));
    assert!(pages.iter().all(|p| !p.rendered));
    assert_eq!(stats.render.rendered, 0);
    assert_eq!(
        stats.render.not_shells,
        pages.iter().filter(|p| p.is_ok()).count() as u64
    );
}

#[test]
fn a_rendered_pages_requests_keep_every_rule() {
    let site = site();
    // A second server on another loopback address: no seed is there, so the guard refuses it.
    let secret = TestSite::start_on(
        SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0)),
        SiteConfig {
            log_requests: true,
            ..SiteConfig::default()
        },
    )
    .expect("second site on 127.0.0.2");
    let to = secret.addr().to_string();
    let seeds = [
        "/render/timer",
        "/render/fetch",
        "/render/popup",
        "/render/away",
        "/render/media",
    ]
    .into_iter()
    .map(String::from)
    .chain([private_path(&to)])
    .map(|path| site.url(&path))
    .collect();
    let config = Config::builder()
        .render(Render::Always)
        .depth(1)
        .build()
        .unwrap();
    let (pages, stats) = crawl(seeds, config);
    let seeded = render::SCRIPT_LINKS.iter().filter(|(path, _)| {
        ["timer", "fetch", "popup", "away", "media", "private"].contains(&&path[8..])
    });
    for (path, links) in seeded {
        let path = if *path == "/render/private" {
            private_path(&to)
        } else {
            path.to_string()
        };
        let rendered = page(&pages, &site, &path);
        assert!(rendered.rendered && rendered.is_ok(), "{rendered:?}");
        for link in *links {
            assert!(
                rendered.links.contains(&site.url(link)),
                "{path}: {link} in {:?}",
                rendered.links
            );
            assert!(page(&pages, &site, link).is_ok());
        }
    }
    for path in NEVER_REQUESTED {
        assert_eq!(requested(&site, path), 0, "{path} was requested");
    }
    assert_eq!(
        secret.requests_served(),
        0,
        "{SECRET_JS} on a private address"
    );
    assert!(!urls(&pages).contains(&site.url(render::STOLEN)));
    // The page's data came through the crawler (and so through its rules).
    assert_eq!(requested(&site, "/render/data.json"), 1);
    assert!(stats.render.blocked >= 4, "{:?}", stats.render);
    assert!(stats.render.subrequests >= 1, "{:?}", stats.render);

    // With the guard off the same page loads the script (the refusal above was the guard's).
    let open = Config::builder()
        .render(Render::Always)
        .private_addresses(ucrawler::PrivateAddresses::Allow)
        .depth(0)
        .build()
        .unwrap();
    let (pages, _) = crawl(vec![site.url(&private_path(&to))], open);
    assert!(
        pages[0].links.contains(&site.url(render::STOLEN)),
        "{:?}",
        pages[0]
    );
    assert_eq!(
        secret
            .request_log()
            .iter()
            .filter(|r| r.path == SECRET_JS)
            .count(),
        1
    );
}

#[test]
fn a_page_that_never_settles_is_taken_at_render_timeout() {
    let site = site();
    let timeout = Duration::from_secs(2);
    let config = Config::builder()
        .render(Render::Always)
        .render_timeout(timeout)
        .depth(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let (pages, stats) = crawl(vec![site.url("/render/never")], config);
    assert!(started.elapsed() < timeout + Duration::from_secs(10));
    let never = &pages[0];
    assert!(never.rendered && never.is_ok(), "{never:?}");
    assert!(never.links.contains(&site.url("/render/never-link")));
    assert!(never.timings.render >= timeout - Duration::from_millis(200));
    assert_eq!(stats.render.unsettled, 1, "{:?}", stats.render);
}

#[test]
fn a_hung_or_hungry_page_fails_alone_and_the_browser_comes_back() {
    let site = site();
    // A selector that never matches: the hog allocates until something stops it.
    let config = Config::builder()
        .render(Render::Always)
        .render_timeout(Duration::from_secs(4))
        .render_wait_for(Some("#never-there".to_string()))
        .render_memory(768u64 << 20)
        .render_tabs(1usize)
        .depth(0)
        .build()
        .unwrap();
    let seeds = ["/render/spin", "/render/hog", "/render/timer"]
        .map(|path| site.url(path))
        .to_vec();
    let (pages, stats) = crawl(seeds, config);
    assert_eq!(pages.len(), 3);
    for path in ["/render/spin", "/render/hog"] {
        let failed = page(&pages, &site, path);
        let kind = failed.error.as_ref().map(|e| e.kind());
        assert_eq!(kind, Some("render"), "{failed:?}");
    }
    let timer = page(&pages, &site, "/render/timer");
    assert!(timer.rendered && timer.is_ok(), "{timer:?}");
    assert_eq!(stats.render.failed, 2, "{:?}", stats.render);
    assert!(stats.render.retried >= 2, "{:?}", stats.render);
    // The hog's renderer dies on its heap limit (or the tree is killed past render_memory).
    let stopped = stats.render.browser_crashes + stats.render.browser_memory_kills;
    assert!(stopped >= 1, "{:?}", stats.render);
    assert!(
        stats.render.browser_peak_rss_bytes <= (768u64 << 20) * 5 / 4,
        "sampled every 250 ms: the tree is killed soon after it passes render_memory: {:?}",
        stats.render
    );
}

#[test]
fn the_rendered_dom_is_held_to_max_body() {
    let site = site();
    let config = Config::builder()
        .render(Render::Always)
        .max_body(1u64 << 20)
        .depth(0)
        .build()
        .unwrap();
    let (pages, _) = crawl(vec![site.url("/render/big")], config);
    let big = &pages[0];
    assert!(big.rendered && big.truncated, "{big:?}");
    assert!(big.bytes <= 1 << 20);
}

#[test]
fn render_hosts_and_the_browser_path_are_obeyed() {
    let site = site();
    let elsewhere = Config::builder()
        .render(Render::Always)
        .render_host("*.example.com")
        .build()
        .unwrap();
    let (pages, stats) = crawl(vec![site.url("/render/")], elsewhere);
    assert_eq!(pages.len(), 1);
    assert!(!pages[0].rendered);
    assert_eq!(stats.render.rendered, 0);

    let missing = Config::builder()
        .render(Render::Always)
        .render_browser(Some("/nonexistent/chromium".into()))
        .build()
        .unwrap();
    let (pages, stats) = crawl(vec![site.url("/render/")], missing);
    let error = pages[0].error.as_ref().expect("a render error");
    assert_eq!(error.kind(), "render");
    assert!(error.to_string().contains("chromium"), "{error}");
    assert_eq!(stats.render.failed, 1);
}

#[test]
fn a_rendered_pages_requests_to_its_host_keep_the_delay() {
    let site = site();
    let delay = Duration::from_millis(300);
    let config = Config::builder()
        .render(Render::Always)
        .delay(delay)
        .per_host(1usize)
        .depth(1)
        .build()
        .unwrap();
    let (pages, _) = crawl(vec![site.url("/render/fetch")], config);
    assert!(pages.iter().all(|p| p.is_ok()), "{pages:#?}");
    let mut starts: Vec<Instant> = (site.request_log().iter())
        .filter(|r| r.path != "/robots.txt")
        .map(|r| r.started)
        .collect();
    starts.sort();
    assert!(
        starts.len() >= 4,
        "the page, its data and the two pages it links"
    );
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= delay - Duration::from_millis(20),
            "{gap:?} between two requests"
        );
    }
}

#[test]
fn deny_holds_for_a_rendered_pages_requests() {
    let site = site();
    let config = Config::builder()
        .render(Render::Always)
        .deny(r"/data\.json")
        .depth(0)
        .build()
        .unwrap();
    let (pages, stats) = crawl(vec![site.url("/render/fetch")], config);
    assert!(pages[0].rendered, "{:?}", pages[0]);
    let log: Vec<String> = site.request_log().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        requested(&site, "/render/data.json"),
        0,
        "{log:?} {:?}",
        stats.render
    );
    assert!(
        !pages[0].links.contains(&site.url("/render/fetched/1")),
        "{:?}",
        pages[0]
    );
    assert!(stats.render.blocked >= 1, "{:?}", stats.render);
}

#[path = "support/redis_server.rs"]
mod redis_server;

#[test]
fn a_fleet_renders_a_script_built_site_each_page_once() {
    use ucrawler::distributed::{RedisFrontier, RedisOptions};
    use ucrawler::Request;

    let server = redis_server::RedisServer::start();
    let site = site();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let frontier = RedisFrontier::connect(&server.url(), "spa", RedisOptions::default())
            .await
            .unwrap();
        frontier
            .push_seeds(&[Request::new(site.url("/render/"))], false)
            .await
            .unwrap();
    });
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let config = Config::builder()
                .redis(server.url(), "spa".to_string())
                .render(Render::Auto)
                .build()
                .unwrap();
            std::thread::spawn(move || {
                let mut crawl = Crawler::new(config)
                    .unwrap()
                    .crawl(Vec::<Request>::new())
                    .unwrap();
                crawl.by_ref().collect::<Vec<Page>>()
            })
        })
        .collect();
    let pages: Vec<Page> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();
    let expected = expected_script_built_urls(&site.base_url());
    assert_eq!(urls(&pages), expected);
    assert_eq!(
        pages.len(),
        expected.len(),
        "each page once across the fleet"
    );
    assert!(pages.iter().all(|p| p.rendered && p.is_ok()), "{pages:#?}");
}

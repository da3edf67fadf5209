//! The engine against the synthetic test site: exact URL sets, limits, scope, back-pressure.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use ucrawler::{Config, Crawler, ExtractRule, Page, Request};
use ucrawler_testsite::{SiteConfig, TestSite};

fn site(pages: usize) -> TestSite {
    TestSite::start(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

fn config() -> ucrawler::ConfigBuilder {
    Config::builder().per_host(8usize).concurrency(16usize)
}

fn crawl_all(config: Config, seeds: Vec<String>) -> Vec<Page> {
    Crawler::new(config)
        .unwrap()
        .crawl(seeds)
        .unwrap()
        .collect()
}

/// The URLs crawled, asserting each came exactly once.
fn url_set(pages: &[Page]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for page in pages {
        assert!(set.insert(page.url.clone()), "{} delivered twice", page.url);
    }
    set
}

#[test]
fn unlimited_depth_finds_exactly_the_site() {
    let site = site(300);
    let pages = crawl_all(config().build().unwrap(), vec![site.url("/")]);
    assert_eq!(url_set(&pages), site.expected_urls(None));
    for page in &pages {
        assert!(page.is_ok(), "{}: {:?}", page.url, page.error);
        assert!(
            page.title.as_deref().is_some_and(|t| !t.is_empty()),
            "{} has no title",
            page.url
        );
        assert!(
            page.bytes > 20_000,
            "{} is only {} bytes",
            page.url,
            page.bytes
        );
    }
}

#[test]
fn depth_limits() {
    let site = site(300);
    for depth in [0, 1, 2] {
        let pages = crawl_all(config().depth(depth).build().unwrap(), vec![site.url("/")]);
        assert_eq!(
            url_set(&pages),
            site.expected_urls(Some(depth)),
            "depth {depth}"
        );
        assert!(pages.iter().all(|p| p.depth <= depth));
    }
    assert_eq!(site.expected_urls(Some(0)).len(), 1);
}

#[test]
fn max_pages_stops_exactly() {
    let site = site(300);
    let pages = crawl_all(
        config().max_pages(Some(25)).build().unwrap(),
        vec![site.url("/")],
    );
    let found = url_set(&pages);
    assert_eq!(found.len(), 25);
    assert!(found.is_subset(&site.expected_urls(None)));
}

#[test]
fn external_links_are_seen_but_not_followed() {
    let site = site(100);
    let crawler = Crawler::new(config().build().unwrap()).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    let prefix = format!("{}/", site.base_url());
    assert!(pages.iter().all(|p| p.url.starts_with(&prefix)));
    let external = pages
        .iter()
        .flat_map(|p| &p.links)
        .filter(|l| !l.starts_with(&prefix))
        .count();
    assert!(external > 0, "the site links to other hosts");
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.links)
            .all(|l| l.starts_with("http")),
        "no mailto:/javascript:"
    );
    assert!(crawl.stats().out_of_scope >= external as u64);
}

/// Every in-scope link of every crawled page must itself have been crawled: completeness under
/// rules that the test site's own expected set does not know about.
fn assert_closed(pages: &[Page], follows: impl Fn(&str) -> bool) {
    let found = url_set(pages);
    for page in pages.iter().filter(|p| p.is_ok()) {
        for link in page.links.iter().filter(|l| follows(l)) {
            assert!(
                found.contains(link),
                "{link} (linked from {}) was not crawled",
                page.url
            );
        }
    }
}

#[test]
fn allow_and_deny_rules() {
    let site = site(300);
    let prefix = format!("{}/", site.base_url());
    let deny = r"/page/\d*7\.html";
    let pages = crawl_all(config().deny(deny).build().unwrap(), vec![site.url("/")]);
    let denied = regex::Regex::new(deny).unwrap();
    assert!(pages.iter().all(|p| !denied.is_match(&p.url)));
    assert!(url_set(&pages).is_subset(&site.expected_urls(None)));
    assert_closed(&pages, |l| l.starts_with(&prefix) && !denied.is_match(l));

    let allow = r"/page/1?\d\.html$";
    let pages = crawl_all(config().allow(allow).build().unwrap(), vec![site.url("/")]);
    let allowed = regex::Regex::new(allow).unwrap();
    assert!(pages.len() > 1);
    assert!(
        pages.iter().skip(1).all(|p| allowed.is_match(&p.url)),
        "only the seed may fall outside allow"
    );
    assert_closed(&pages, |l| l.starts_with(&prefix) && allowed.is_match(l));
}

#[test]
fn slow_consumer_back_pressures_the_pipeline() {
    let site = site(500);
    let (concurrency, buffer) = (4usize, 3usize);
    let config = Config::builder()
        .concurrency(concurrency)
        .per_host(4usize)
        .buffer(buffer)
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let bound = (concurrency + buffer) as u64;
    let mut consumed = 0u64;
    while let Some(_page) = crawl.next() {
        consumed += 1;
        std::thread::sleep(Duration::from_millis(15));
        let stats = crawl.stats();
        assert!(
            stats.held <= bound,
            "engine holds {} pages, bound {bound}",
            stats.held
        );
        // Seen from the server: nothing was fetched beyond what the consumer took plus the bound
        // (plus the one robots.txt).
        assert!(
            site.requests_served() <= consumed + bound + 1,
            "served {} after {consumed}",
            site.requests_served()
        );
        if consumed == 40 {
            break;
        }
    }
    assert!(crawl.stats().held_peak <= bound);
    assert!(
        crawl.stats().held_peak >= 2,
        "the bound was actually reached"
    );
}

#[test]
fn meta_travels_to_discovered_pages() {
    let site = site(50);
    let crawler = Crawler::new(config().depth(1).build().unwrap()).unwrap();
    let seeds = vec![Request::new(site.url("/")).with_meta(&b"site-42"[..])];
    let pages: Vec<Page> = crawler.crawl(seeds).unwrap().collect();
    assert!(pages.len() > 5);
    assert!(pages
        .iter()
        .all(|p| p.meta.as_deref() == Some(&b"site-42"[..])));
}

#[test]
fn extraction_rules_run_on_every_page() {
    let site = site(30);
    let config = config()
        .depth(1)
        .extract("price", ExtractRule::text(".price"))
        .extract("hero", ExtractRule::attr("img.hero", "src"))
        .build()
        .unwrap();
    let pages = crawl_all(config, vec![site.url("/")]);
    for page in &pages {
        assert!(
            page.extracted["price"].iter().all(|p| p.starts_with('$')),
            "{:?}",
            page.extracted
        );
        assert!(!page.extracted["price"].is_empty());
        assert!(page.extracted["hero"]
            .iter()
            .all(|src| src.starts_with("/img/")));
        assert!(page.canonical.is_some() && page.description.is_some());
    }
}

#[test]
fn bad_seeds_and_non_html_are_reported_not_fatal() {
    let site = site(10);
    let seeds = vec![
        "not a url".to_string(),
        site.url("/img/1.jpg"),
        site.url("/page/99999.html"),
        site.url("/page/1.html"),
    ];
    let pages = crawl_all(config().depth(0).build().unwrap(), seeds);
    let by_url: HashMap<_, _> = pages.iter().map(|p| (p.url.as_str(), p)).collect();
    assert_eq!(pages.len(), 4);
    assert_eq!(
        by_url["not a url"].error.as_ref().unwrap().kind(),
        "invalid_url"
    );
    let image = by_url[site.url("/img/1.jpg").as_str()];
    assert!(image.is_ok() && image.links.is_empty() && image.title.is_none());
    assert!(image.content_type.as_deref().unwrap().starts_with("image/"));
    assert_eq!(image.bytes, 0, "non-HTML bodies are not downloaded");
    let missing = by_url[site.url("/page/99999.html").as_str()];
    assert_eq!(
        (missing.status, missing.error.as_ref().unwrap().kind()),
        (404, "http_status")
    );
    assert!(by_url[site.url("/page/1.html").as_str()].is_ok());
}

#[test]
fn cancel_stops_promptly() {
    let site = site(2000);
    let crawler = Crawler::new(config().build().unwrap()).unwrap();
    let mut crawl = crawler.crawl([site.url("/")]).unwrap();
    let first: Vec<Page> = crawl.by_ref().take(20).collect();
    assert_eq!(first.len(), 20);
    crawl.cancel();
    let rest = crawl.by_ref().count();
    assert!(rest <= 16 + 32, "{rest} pages after cancel");
    assert!(site.requests_served() < 200);
}

#[test]
fn stream_api_and_concurrent_crawls_share_a_crawler() {
    use futures::StreamExt;
    let a = site(60);
    let b = site(40);
    let crawler = Crawler::new(config().build().unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pages_a, pages_b) = runtime.block_on(async {
        let crawl_a = crawler.crawl([a.url("/")]).unwrap();
        let crawl_b = crawler.crawl([b.url("/")]).unwrap();
        futures::join!(
            crawl_a.into_stream().collect::<Vec<Page>>(),
            crawl_b.into_stream().collect::<Vec<Page>>()
        )
    });
    assert_eq!(url_set(&pages_a), a.expected_urls(None));
    assert_eq!(url_set(&pages_b), b.expected_urls(None));
}

#[test]
fn open_crawl_is_fed_incrementally() {
    let site = site(50);
    let crawler = Crawler::new(config().depth(0).build().unwrap()).unwrap();
    let mut crawl = crawler.open().unwrap();
    let mut wanted: VecDeque<String> = (1..=30)
        .map(|i| site.url(&format!("/page/{i}.html")))
        .collect();
    let mut found = BTreeSet::new();
    while let Some(url) = wanted.pop_front() {
        if let Err(ucrawler::FeedError::Full(request)) = crawl.feed(Request::new(url)) {
            wanted.push_front(request.url);
            if let ucrawler::Next::Page(page) = crawl.next_timeout(Duration::from_millis(50)) {
                found.insert(page.url);
            }
        }
    }
    crawl.close_seeds();
    found.extend(crawl.by_ref().map(|p| p.url));
    assert_eq!(found.len(), 30);
}

/// A resumed crawl fetches its journaled pages before (or without) the seeds being given again:
/// the seed hosts of the journal are trusted from the start (a private seed host's pages were
/// refused by the address guard until the seed came back through its channel).
#[test]
fn a_resumed_crawl_trusts_its_journaled_seed_hosts() {
    let site = site(150);
    let dir = std::env::temp_dir().join(format!("ucrawler-resume-trust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = crawl_all(
        config().state_dir(&dir).max_pages(20u64).build().unwrap(),
        vec![site.url("/")],
    );
    assert_eq!(first.len(), 20);
    let crawler = Crawler::new(config().state_dir(&dir).resume(true).build().unwrap()).unwrap();
    let mut crawl = crawler.open().unwrap();
    crawl.close_seeds(); // the seed is not given again at all
    let rest: Vec<Page> = crawl.collect();
    let refused: Vec<_> = rest
        .iter()
        .filter(|p| p.error.is_some())
        .map(|p| &p.url)
        .collect();
    assert!(refused.is_empty(), "failed after resume: {refused:?}");
    let all: Vec<Page> = first.into_iter().chain(rest).collect();
    assert_eq!(url_set(&all), site.expected_urls(None));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A crawler's HTTP client lives while one of its crawls runs (its connections close when the
/// last one ends); its cookie store is the crawler's and outlives the clients.
#[test]
fn cookies_outlive_the_crawl_that_received_them() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Answers two requests (one per crawl) and reports the Cookie header of each.
    let server = std::thread::spawn(move || {
        let mut cookies = Vec::new();
        for answer in ["Set-Cookie: session=7\r\n", ""] {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut cookie = None;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("cookie:") {
                    cookie = Some(value.trim().to_string());
                }
            }
            cookies.push(cookie);
            let body = "<html><title>t</title></html>";
            let reply = format!(
                "HTTP/1.1 200 OK\r\n{answer}Content-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
        cookies
    });
    let crawler = Crawler::new(
        config()
            .cookies(true)
            .robots(false)
            .depth(0u32)
            .build()
            .unwrap(),
    )
    .unwrap();
    for path in ["/a", "/b"] {
        let pages: Vec<Page> = crawler.crawl([format!("{base}{path}")]).unwrap().collect();
        assert!(pages[0].is_ok(), "{:?}", pages[0].error);
    }
    assert_eq!(
        server.join().unwrap(),
        [None, Some("session=7".to_string())]
    );
}

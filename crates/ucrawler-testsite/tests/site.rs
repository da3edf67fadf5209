//! Integration tests: the generator's guarantees, and the server over real TCP connections.

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ucrawler_testsite::{Latency, Site, SiteConfig, TestSite};

mod common;
use common::{same_host_links, Client};

const BASE: &str = "http://127.0.0.1:8080";

fn site(pages: usize) -> Site {
    Site::new(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
}

fn html(site: &Site, base: &str, path: &str) -> String {
    let page = site.render(base, path).expect("page exists");
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    String::from_utf8(page.body).expect("utf-8")
}

/// Every `href="..."` value in document order (a deliberately simple scanner: the
/// generator always double-quotes attribute values).
fn hrefs(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// Independent BFS over the rendered HTML of every page.
fn crawl_rendered(site: &Site, base: &str, depth: Option<u32>) -> BTreeSet<String> {
    let start = format!("{base}/");
    let mut seen = BTreeSet::from([start.clone()]);
    let mut frontier = vec![start];
    let mut level = 0;
    while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
        let mut next = Vec::new();
        for url in &frontier {
            let path = &url[base.len()..];
            let body = html(site, base, path);
            for link in same_host_links(url, &body) {
                if seen.insert(link.clone()) {
                    next.push(link);
                }
            }
        }
        frontier = next;
        level += 1;
    }
    seen
}

#[test]
fn rendering_is_deterministic_and_seeded() {
    let a = site(500);
    let b = site(500);
    for path in ["/", "/page/1.html", "/page/77.html", "/page/499.html"] {
        assert_eq!(a.render(BASE, path), b.render(BASE, path));
    }
    let other = Site::new(SiteConfig {
        pages: 500,
        seed: 2,
        ..SiteConfig::default()
    });
    assert_ne!(
        a.render(BASE, "/page/5.html"),
        other.render(BASE, "/page/5.html")
    );
    assert_eq!(
        a.render(BASE, "/page/5.html"),
        a.render(BASE, "/page/5.html?sort=asc")
    );
}

#[test]
fn pages_have_the_promised_shape() {
    let site = site(1000);
    let mut titles = BTreeSet::new();
    for id in (0..1000).step_by(7) {
        let path = Site::page_path(id);
        let body = html(&site, BASE, &path);
        assert!(
            (30_000..=80_000).contains(&body.len()),
            "page {id}: {} bytes",
            body.len()
        );
        assert!(body.starts_with("<!DOCTYPE html>"));
        let title = site.page_title(id);
        assert!(title.starts_with(&format!("Page {id} \u{2014} ")));
        assert!(body.contains(&format!("<title>{title}</title>")));
        assert!(titles.insert(title));
        assert!(body.contains("<meta name=\"description\" content=\""));
        assert!(body.contains(&format!("<link rel=\"canonical\" href=\"{BASE}{path}\">")));
        assert!(body.contains(&format!(
            "<span class=\"price\">{}</span>",
            site.page_price(id)
        )));
        assert!(body.contains(&format!("<img class=\"hero\" src=\"/img/{id}.jpg\"")));
        for tag in [
            "<style>", "<script>", "<nav", "<ul", "<table", "<footer>", "</html>",
        ] {
            assert!(body.contains(tag), "page {id} lacks {tag}");
        }
        assert!(!body.contains("/private/") && !body.contains("/hostile/"));
        let links = same_host_links(&format!("{BASE}{path}"), &body);
        let external = hrefs(&body)
            .iter()
            .filter(|h| h.starts_with("https://www.example.com") || h.starts_with("mailto:"))
            .count();
        assert!(external >= 2);
        assert!(
            links.len() > 20,
            "page {id}: {} distinct links",
            links.len()
        );
    }
}

#[test]
fn links_come_in_mixed_forms() {
    let site = site(1000);
    let mut all = Vec::new();
    for id in 1..100 {
        let body = html(&site, BASE, &Site::page_path(id));
        all.extend(hrefs(&body).into_iter().map(str::to_owned));
    }
    let any = |f: &dyn Fn(&str) -> bool| all.iter().any(|h| f(h));
    assert!(any(&|h| h.starts_with("/page/")));
    assert!(any(&|h| h.starts_with("../page/")));
    assert!(any(
        &|h| h.as_bytes()[0].is_ascii_digit() && h.ends_with(".html")
    ));
    assert!(any(&|h| h.starts_with("http://127.0.0.1:8080/page/")));
    assert!(any(&|h| h.starts_with("//127.0.0.1:8080/page/")));
    assert!(any(&|h| h.contains("#section-")));
    assert!(any(&|h| h.starts_with("  ") && h.ends_with(' ')));
    assert!(any(&|h| h.contains("?sort=asc")));
    assert!(any(&|h| h.starts_with("javascript:")));
    assert!(any(&|h| h.starts_with("tel:")));
}

#[test]
fn every_page_is_reachable() {
    let pages = 1000;
    let site = site(pages);
    let expected = site.expected_urls(BASE, None);
    // Count the distinct ?sort=asc variants by scanning the HTML itself.
    let mut sorted = BTreeSet::new();
    for id in 0..pages {
        let page_url = format!("{BASE}{}", Site::page_path(id));
        for url in same_host_links(&page_url, &html(&site, BASE, &Site::page_path(id))) {
            if url.ends_with("?sort=asc") {
                sorted.insert(url);
            }
        }
    }
    assert!(
        !sorted.is_empty(),
        "some pages link to ?sort=asc duplicates"
    );
    assert!(sorted.len() < pages / 5);
    assert_eq!(expected.len(), pages + sorted.len());
    for id in 0..pages {
        assert!(expected.contains(&format!("{BASE}{}", Site::page_path(id))));
    }
    assert!(sorted.is_subset(&expected));
}

#[test]
fn expected_urls_match_an_independent_crawl_of_the_html() {
    let site = site(300);
    for depth in [Some(0), Some(1), Some(2), None] {
        assert_eq!(
            site.expected_urls(BASE, depth),
            crawl_rendered(&site, BASE, depth),
            "depth {depth:?}"
        );
    }
}

#[test]
fn depth_limits() {
    let site = site(1000);
    assert_eq!(
        site.expected_urls(BASE, Some(0)),
        BTreeSet::from([format!("{BASE}/")])
    );
    let one = site.expected_urls(BASE, Some(1));
    let mut from_root = same_host_links(&format!("{BASE}/"), &html(&site, BASE, "/"));
    from_root.insert(format!("{BASE}/"));
    assert_eq!(one, from_root);
    let two = site.expected_urls(BASE, Some(2));
    assert!(one.is_subset(&two) && two.len() > one.len());
    assert!(two.len() < site.expected_urls(BASE, None).len());
}

#[test]
fn urls_are_normalized_like_the_url_crate() {
    let site = site(50);
    let urls = site.expected_urls("http://LOCALHOST:80", Some(1));
    assert!(urls.contains("http://localhost/"));
    assert!(urls.contains("http://localhost/page/1.html"));
    for url in &urls {
        assert_eq!(url::Url::parse(url).unwrap().as_str(), url);
    }
}

#[test]
fn small_and_odd_sites() {
    let one = site(1);
    assert_eq!(
        one.expected_urls(BASE, None),
        BTreeSet::from([format!("{BASE}/")])
    );
    assert!(one.render(BASE, "/page/1.html").is_none());
    let zero = site(0);
    assert_eq!(zero.pages(), 1);
    let nine = site(9);
    assert_eq!(
        nine.expected_urls(BASE, None).len(),
        9 + count_sorted(&nine)
    );
}

fn count_sorted(site: &Site) -> usize {
    site.expected_urls(BASE, None)
        .iter()
        .filter(|u| u.ends_with("?sort=asc"))
        .count()
}

#[test]
fn other_paths() {
    let site = site(100);
    assert!(site.render(BASE, "/page/100.html").is_none());
    assert!(site.render(BASE, "/page/05.html").is_none());
    assert!(site.render(BASE, "/nope").is_none());
    let robots = site.render(BASE, "/robots.txt").unwrap();
    assert_eq!(robots.body, b"User-agent: *\nDisallow: /private/\n");
    let img = site.render(BASE, "/img/3.jpg").unwrap();
    assert_eq!(img.content_type, "image/jpeg");
    assert_eq!(&img.body[..2], &[0xFF, 0xD8]);
    assert!(site.render(BASE, "/private/secret.html").is_some());
    let custom = Site::new(SiteConfig {
        robots_txt: Some("User-agent: *\nDisallow: /\n".into()),
        ..SiteConfig::default()
    });
    assert_eq!(
        custom.render(BASE, "/robots.txt").unwrap().body,
        b"User-agent: *\nDisallow: /\n"
    );
}

#[test]
fn export_writes_static_files() {
    let dir = std::env::temp_dir().join(format!("ucrawler-testsite-export-{}", std::process::id()));
    let site = site(40);
    assert_eq!(site.export(&dir, BASE).unwrap(), 40);
    let index = std::fs::read(dir.join("index.html")).unwrap();
    assert_eq!(index, site.render(BASE, "/").unwrap().body);
    let page = std::fs::read(dir.join("page/39.html")).unwrap();
    assert_eq!(page, site.render(BASE, "/page/39.html").unwrap().body);
    assert!(dir.join("robots.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// Over HTTP

fn start(log_requests: bool) -> TestSite {
    TestSite::start(SiteConfig {
        pages: 200,
        log_requests,
        ..SiteConfig::default()
    })
    .unwrap()
}

#[test]
fn serves_pages_over_keep_alive_http() {
    let server = start(false);
    let host = server.addr().to_string();
    assert_eq!(server.base_url(), format!("http://{host}"));
    assert_eq!(
        server.url("/page/3.html"),
        format!("http://{host}/page/3.html")
    );
    let mut client = Client::connect(server.addr());
    for path in [
        "/",
        "/page/3.html",
        "/page/3.html?sort=asc",
        "/page/199.html",
    ] {
        let reply = client.get(&host, path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            reply.body,
            server.site().render(&server.base_url(), path).unwrap().body
        );
    }
    let missing = client.get(&host, "/page/200.html");
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("Not Found"));
    let robots = client.get(&host, "/robots.txt");
    assert_eq!(robots.body, b"User-agent: *\nDisallow: /private/\n");
    assert_eq!(
        client.get(&host, "/img/7.jpg").header("content-type"),
        Some("image/jpeg")
    );
    assert_eq!(server.requests_served(), 7);
    assert!(
        server.request_log().is_empty(),
        "not recording unless asked"
    );
    assert_eq!(
        server.expected_urls(None),
        server.site().expected_urls(&server.base_url(), None)
    );
}

#[test]
fn links_follow_the_host_header() {
    let server = start(false);
    let port = server.addr().port();
    let mut client = Client::connect(server.addr());
    let via_name = client.get(&format!("localhost:{port}"), "/page/1.html");
    let text = String::from_utf8(via_name.body).unwrap();
    assert!(text.contains(&format!("href=\"http://localhost:{port}/page/1.html\"")));
    assert!(!text.contains("127.0.0.1"));
    let via_ip = client.get(&server.addr().to_string(), "/page/1.html");
    assert!(String::from_utf8(via_ip.body)
        .unwrap()
        .contains(&format!("http://127.0.0.1:{port}/")));
}

#[test]
fn request_log_records_host_and_timing() {
    let server = start(true);
    let before = Instant::now();
    let mut client = Client::connect(server.addr());
    let host = server.addr().to_string();
    client.get(&host, "/page/2.html?sort=asc");
    client.get("example.test", "/missing");
    let after = Instant::now();
    let log = server.request_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].path, "/page/2.html?sort=asc");
    assert_eq!(log[0].host, host);
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].user_agent.as_deref(), Some("testsite-test/1.0"));
    assert_eq!(log[0].peer, client.reader.get_ref().local_addr().unwrap());
    assert!(before <= log[0].started && log[0].started <= log[0].finished);
    assert!(log[0].finished <= log[1].started && log[1].finished <= after);
    assert_eq!(
        (log[1].path.as_str(), log[1].host.as_str(), log[1].status),
        ("/missing", "example.test", 404)
    );
    server.log().clear();
    assert!(server.request_log().is_empty());
    assert_eq!(server.requests_served(), 2);
}

#[test]
fn counts_the_most_requests_one_host_answered_at_once() {
    let server = TestSite::start_hosts(
        2,
        SiteConfig {
            pages: 10,
            latency: Latency::parse("200ms").unwrap(),
            ..SiteConfig::default()
        },
    )
    .unwrap();
    let addrs: Vec<std::net::SocketAddr> = server
        .base_urls()
        .iter()
        .map(|b| b.trim_start_matches("http://").parse().unwrap())
        .collect();
    // One after another on one connection: one at a time.
    let mut client = Client::connect(addrs[0]);
    for path in ["/robots.txt", "/", "/page/1.html"] {
        assert_eq!(client.get(&addrs[0].to_string(), path).status, 200);
    }
    assert_eq!(server.log().max_in_flight_per_host(), 1);
    // Three at once to the first host (robots.txt among them), two to the second: three.
    std::thread::scope(|scope| {
        for (host, path) in [
            (0, "/robots.txt"),
            (0, "/page/2.html"),
            (0, "/page/3.html"),
            (1, "/"),
            (1, "/page/2.html"),
        ] {
            let addr = addrs[host];
            scope.spawn(move || Client::connect(addr).get(&addr.to_string(), path).status);
        }
    });
    assert_eq!(server.log().max_in_flight_per_host(), 3);
    assert_eq!(server.requests_served(), 8);
}

#[test]
fn starts_on_other_loopback_addresses_and_from_async_code() {
    let server = TestSite::start_on("127.0.0.2:0".parse().unwrap(), SiteConfig::default()).unwrap();
    assert_eq!(server.addr().ip().to_string(), "127.0.0.2");
    let mut client = Client::connect(server.addr());
    assert_eq!(client.get(&server.addr().to_string(), "/").status, 200);
    drop(server);
    assert!(TcpStream::connect(client.reader.get_ref().peer_addr().unwrap()).is_err());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start(false);
        let addr = server.addr();
        let status = tokio::task::spawn_blocking(move || {
            Client::connect(addr).get(&addr.to_string(), "/").status
        })
        .await
        .unwrap();
        assert_eq!(status, 200);
        server.shutdown();
    });
}

#[test]
fn hostile_redirects_and_statuses() {
    let server = start(false);
    let host = server.addr().to_string();
    let mut client = Client::connect(server.addr());
    let a = client.get(&host, "/hostile/redirect-loop");
    assert_eq!(
        (a.status, a.header("location")),
        (302, Some("/hostile/redirect-loop-b"))
    );
    let b = client.get(&host, "/hostile/redirect-loop-b");
    assert_eq!(
        (b.status, b.header("location")),
        (302, Some("/hostile/redirect-loop"))
    );
    let chain = client.get(&host, "/hostile/redirect-chain/3");
    assert_eq!(chain.header("location"), Some("/hostile/redirect-chain/2"));
    assert_eq!(client.get(&host, "/hostile/redirect-chain/0").status, 200);
    let meta = client.get(&host, "/hostile/metadata-redirect");
    assert_eq!(
        meta.header("location"),
        Some("http://169.254.169.254/latest/meta-data/")
    );
    let flaky: Vec<u16> = (0..3)
        .map(|_| client.get(&host, "/hostile/flaky/k1").status)
        .collect();
    assert_eq!(flaky, [503, 503, 200]);
    let retry = client.get(&host, "/hostile/retry-after/k1");
    assert_eq!(
        (retry.status, retry.header("retry-after")),
        (429, Some("2"))
    );
    assert_eq!(client.get(&host, "/hostile/retry-after/k1").status, 200);
    let dated = client.get(&host, "/hostile/retry-after-date/k1");
    assert_eq!(dated.status, 429);
    assert!(dated.header("retry-after").unwrap().ends_with(" GMT"));
    assert_eq!(client.get(&host, "/hostile/status/418").status, 418);
    assert_eq!(client.get(&host, "/hostile/status/204").status, 204);
    assert_eq!(client.get(&host, "/hostile/status/500").status, 500);
    assert_eq!(
        client
            .get(&host, "/hostile/robots-test/allowed.html")
            .status,
        200
    );
    assert_eq!(client.get(&host, "/private/x").status, 200);
    let malformed = client.get(&host, "/hostile/malformed");
    assert!(malformed.body.windows(3).any(|w| w == b"\xFF\xFE\x00"));
    assert!(malformed
        .body
        .windows(26)
        .any(|w| w == b"<title>Malformed</title>\n<"));
    assert_eq!(client.get(&host, "/hostile/malformed-b").status, 200);
    let many = client.get(&host, "/hostile/many-links");
    assert!(many.body.len() > 3_000_000);
    assert_eq!(client.get(&host, "/hostile/many-links/99999").status, 200);
    let binary_len = {
        // Only read the head: the body is 1 GiB.
        let mut c = Client::connect(server.addr());
        c.reader
            .get_mut()
            .write_all(format!("GET /hostile/binary HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .unwrap();
        let (status, headers) = c.read_head();
        assert_eq!(status, 200);
        headers
            .into_iter()
            .find(|(n, v)| n == "content-type" && v == "video/mp4")
            .map(|_| ())
    };
    assert!(binary_len.is_some());
}

#[test]
fn hostile_charset_pages() {
    let server = start(false);
    let host = server.addr().to_string();
    let mut client = Client::connect(server.addr());
    for (path, encoding, title) in [
        (
            "/hostile/charset/windows-1251",
            encoding_rs::WINDOWS_1251,
            ucrawler_testsite::CHARSET_TITLE_WINDOWS_1251,
        ),
        (
            "/hostile/charset/shift_jis",
            encoding_rs::SHIFT_JIS,
            ucrawler_testsite::CHARSET_TITLE_SHIFT_JIS,
        ),
        (
            "/hostile/charset/iso-8859-1",
            encoding_rs::WINDOWS_1252,
            ucrawler_testsite::CHARSET_TITLE_ISO_8859_1,
        ),
    ] {
        let reply = client.get(&host, path);
        assert_eq!(reply.header("content-type"), Some("text/html"));
        let head =
            String::from_utf8_lossy(&reply.body[..reply.body.len().min(1024)]).to_lowercase();
        assert!(head.contains("charset="), "{path}");
        assert!(
            std::str::from_utf8(&reply.body).is_err(),
            "{path} is not UTF-8"
        );
        let (decoded, _, errors) = encoding.decode(&reply.body);
        assert!(!errors);
        assert!(decoded.contains(&format!("<title>{title}</title>")));
        assert!(decoded.contains("href=\"/hostile/charset/target\""));
    }
}

#[test]
fn hostile_streams() {
    let server = start(true);
    let host = server.addr().to_string();

    // Reset: fewer bytes than announced, then the connection ends.
    let mut c = Client::connect(server.addr());
    c.reader
        .get_mut()
        .write_all(format!("GET /hostile/reset HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let (status, headers) = c.read_head();
    assert_eq!(status, 200);
    assert!(headers.contains(&("content-length".into(), "100000".into())));
    let mut rest = Vec::new();
    let _ = c.reader.read_to_end(&mut rest);
    assert_eq!(rest.len(), ucrawler_testsite::hostile::RESET_SENT_BYTES);

    // Gzip bomb (small): valid gzip, tiny on the wire, 20 MiB inflated.
    let mut c = Client::connect(server.addr());
    let bomb = c.get(&host, "/hostile/gzip-bomb-small");
    assert_eq!(bomb.header("content-encoding"), Some("gzip"));
    assert!(
        bomb.body.len() < 100_000,
        "{} bytes on the wire",
        bomb.body.len()
    );
    let mut inflated = 0u64;
    let mut decoder = flate2::read::GzDecoder::new(&bomb.body[..]);
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = decoder.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        inflated += n as u64;
    }
    assert_eq!(inflated, ucrawler_testsite::hostile::GZIP_BOMB_SMALL_SIZE);

    // Endless: keeps coming, chunked.
    let mut c = Client::connect(server.addr());
    c.reader
        .get_mut()
        .write_all(format!("GET /hostile/endless HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let (status, headers) = c.read_head();
    assert_eq!(status, 200);
    assert!(headers.contains(&("transfer-encoding".into(), "chunked".into())));
    let mut got = vec![0; 4 << 20];
    c.reader.read_exact(&mut got).unwrap();
    drop(c);

    // Slow drip: headers at once, then about a byte per second.
    let mut c = Client::connect(server.addr());
    let asked = Instant::now();
    c.reader
        .get_mut()
        .write_all(format!("GET /hostile/slow-drip HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap();
    let (status, _) = c.read_head();
    assert_eq!(status, 200);
    assert!(asked.elapsed() < Duration::from_millis(500));
    let mut line = String::new();
    c.reader.read_line(&mut line).unwrap(); // chunk size of the first byte
    assert!(asked.elapsed() >= Duration::from_millis(900));
    assert_eq!(line.trim(), "1");
    drop(c);

    // Streamed responses are logged once they end (the client went away).
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_log().len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let paths: BTreeSet<String> = server.request_log().into_iter().map(|r| r.path).collect();
    assert!(paths.contains("/hostile/endless") && paths.contains("/hostile/gzip-bomb-small"));
}

/// The `web` profile's two 1.5 s hosts serve a third of the pages (the shape of the outside
/// run issue #17 quotes); every other host all of them, and the expected URLs follow.
#[test]
fn the_web_profiles_slowest_hosts_serve_fewer_pages() {
    let server = TestSite::start_hosts(
        3,
        SiteConfig {
            pages: 30,
            latency: Latency::Web,
            ..SiteConfig::default()
        },
    )
    .unwrap();
    let pages: Vec<usize> = (0..3).map(|h| server.site_of(h).pages()).collect();
    assert_eq!(pages, [10, 10, 30]);
    assert_eq!(server.site().pages(), 10, "the first host's");
    let bases = server.base_urls();
    let [small, full] = [0, 2].map(|h| server.site_of(h).expected_urls(&bases[h], None));
    assert!(
        small.len() < full.len() / 2,
        "{} vs {}",
        small.len(),
        full.len()
    );
    // The third host answers at once (30-60 ms): its page 20 is there.
    let addr: std::net::SocketAddr = bases[2].trim_start_matches("http://").parse().unwrap();
    let mut client = Client::connect(addr);
    assert_eq!(client.get(&addr.to_string(), "/page/20.html").status, 200);
}

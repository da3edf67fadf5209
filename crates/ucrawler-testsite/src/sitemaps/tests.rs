use super::*;
use crate::SiteConfig;
use crate::TestSite;
use hyper::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

const BASE: &str = "http://127.0.0.1:8080";

fn locs(xml: &str) -> Vec<&str> {
    xml.split("<loc>")
        .skip(1)
        .filter_map(|s| s.split_once("</loc>").map(|(loc, _)| loc))
        .collect()
}

fn header(resp: &Response<Body>, name: hyper::header::HeaderName) -> Option<&str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn every_path_is_routed() {
    let site = Site::new(SiteConfig {
        pages: 10,
        ..SiteConfig::default()
    });
    let paths = [
        "/sitemap.xml",
        "/sitemaps/index.xml",
        "/sitemaps/pages.xml.gz",
        "/sitemaps/orphans.xml",
        "/sitemaps/broken.xml",
        "/sitemaps/huge.xml",
        "/sitemaps/oversized.xml",
        "/sitemaps/nested/0.xml",
        "/sitemaps/nested/7.xml",
        "/sitemaps/level/7.xml",
        "/sitemaps/fanout.xml",
        "/sitemaps/child/4999.xml",
        "/sitemaps/foreign.xml",
        "/sitemaps/html.xml",
        "/orphan/0.html",
        "/orphan/19.html",
        "/orphan/level/123.html",
        "/orphan/child/0.html",
    ];
    for path in paths {
        let resp = respond(path, &site, BASE).unwrap_or_else(|| panic!("{path}"));
        assert_eq!(resp.status(), 200, "{path}");
    }
    let redirect = respond("/sitemaps/redirect-private.xml", &site, BASE).unwrap();
    assert_eq!(redirect.status(), 302);
    assert_eq!(
        header(&redirect, hyper::header::LOCATION),
        Some(PRIVATE_SITEMAP)
    );
    for path in [
        "/orphan/20.html",
        "/orphan/huge/0.html",
        "/orphan/child/5000.html",
        "/orphan/01.html",
        "/sitemaps/child/5000.xml",
        "/sitemaps/other.xml",
        "/sitemaps/nested/x.xml",
        "/page/1.html",
    ] {
        assert!(respond(path, &site, BASE).is_none(), "{path}");
    }
}

#[test]
fn pages_gz_is_a_gzip_file_of_every_page() {
    let site = Site::new(SiteConfig {
        pages: 30,
        ..SiteConfig::default()
    });
    let resp = respond("/sitemaps/pages.xml.gz", &site, BASE).unwrap();
    assert_eq!(header(&resp, CONTENT_TYPE), Some(GZIP));
    assert_eq!(header(&resp, CONTENT_ENCODING), None);
    let mut xml = String::new();
    let gz = gzip::gzip(pages(&site, BASE).as_bytes()).unwrap();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains(&format!("<urlset xmlns=\"{NAMESPACE}\">")));
    let listed: BTreeSet<String> = locs(&xml).into_iter().map(String::from).collect();
    assert_eq!(listed, page_urls(&site, BASE));
    assert_eq!(listed.len(), 30);
    assert!(listed.contains("http://127.0.0.1:8080/page/29.html"));
    assert_eq!(xml.matches("<lastmod>2024-01-01</lastmod>").count(), 30);
}

#[test]
fn documents_hold_what_the_table_says() {
    let index = index(BASE);
    assert!(index.starts_with("<?xml") && index.contains("<sitemapindex xmlns="));
    assert_eq!(
        locs(&index),
        [
            "http://127.0.0.1:8080/sitemaps/pages.xml.gz",
            "http://127.0.0.1:8080/sitemaps/orphans.xml"
        ]
    );
    assert_eq!(index.matches("<lastmod>").count(), 2);

    let orphans = orphans(BASE);
    let listed: BTreeSet<String> = locs(&orphans).into_iter().map(String::from).collect();
    assert_eq!(listed, orphan_urls(BASE));
    assert!(orphans.contains("<lastmod>2024-02-20T08:00:00+00:00</lastmod>"));

    let broken = broken(BASE);
    assert_eq!(broken.matches("</url>").count(), BROKEN_GOOD_ENTRIES + 1);
    let urls = locs(&broken)
        .into_iter()
        .filter(|loc| loc.starts_with(BASE));
    assert_eq!(urls.count(), BROKEN_GOOD_ENTRIES);
    assert!(!broken.contains("</urlset>"));

    assert_eq!(locs(&huge(BASE)).len(), HUGE_ENTRIES);
    assert_eq!(locs(&fanout(BASE)).len(), FANOUT_CHILDREN);

    let foreign = foreign(BASE);
    assert_eq!(locs(&foreign)[0], "http://127.0.0.1:8080/orphan/0.html");
    assert!(foreign.contains("<loc>http://127.0.0.2:8080/orphan/1.html</loc>"));
    assert_eq!(locs(&foreign).len(), 7);
}

#[test]
fn locs_are_escaped() {
    let mut out = String::new();
    push_entry(&mut out, "url", "http://h/?a=1&b=<2>", None);
    assert_eq!(
        out,
        "  <url><loc>http://h/?a=1&amp;b=&lt;2&gt;</loc></url>\n"
    );
}

#[test]
fn oversized_is_streamed_past_50_mb() {
    let resp = oversized(BASE);
    assert!(!resp.body().is_full());
    let len: u64 = header(&resp, CONTENT_LENGTH).unwrap().parse().unwrap();
    assert!(len > OVERSIZED_FILLER_BYTES && OVERSIZED_FILLER_BYTES > 50 << 20);
}

#[test]
fn bomb_decompresses_to_a_padded_urlset() {
    let gz = bomb().unwrap();
    assert!(gz.len() < 400_000, "{}", gz.len());
    let mut decoder = flate2::read::GzDecoder::new(&gz[..]);
    let mut start = [0u8; 128];
    decoder.read_exact(&mut start).unwrap();
    assert!(String::from_utf8_lossy(&start).contains("<urlset xmlns="));
    let total = 128 + std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
    assert!(total > BOMB_FILLER_BYTES && total < BOMB_FILLER_BYTES + 200);
    let tail = &gz[gz.len() - 4..];
    assert_eq!(
        u32::from_le_bytes(tail.try_into().unwrap()) as u64,
        total % (1 << 32)
    );
}

#[test]
fn nested_levels_chain() {
    let nested = numbered_sitemap("nested/3", BASE);
    assert!(nested.is_none());
    let nested = numbered_sitemap("nested/3.xml", BASE).unwrap();
    assert!(nested.contains("<sitemapindex xmlns="));
    assert_eq!(
        locs(&nested),
        [
            "http://127.0.0.1:8080/sitemaps/nested/4.xml",
            "http://127.0.0.1:8080/sitemaps/level/3.xml"
        ]
    );
    let level = numbered_sitemap("level/3.xml", BASE).unwrap();
    assert_eq!(locs(&level), [level_url(BASE, 3)]);
    assert_eq!(
        level_url(BASE, 3),
        "http://127.0.0.1:8080/orphan/level/3.html"
    );
    let child = numbered_sitemap("child/4.xml", BASE).unwrap();
    assert_eq!(locs(&child), ["http://127.0.0.1:8080/orphan/child/4.html"]);
    assert_eq!(
        child_url(BASE, 4),
        "http://127.0.0.1:8080/orphan/child/4.html"
    );
}

#[test]
fn robots_txt_base_is_replaced() {
    let config = SiteConfig {
        robots_txt: Some(SITEMAP_ROBOTS_TXT.to_string()),
        ..SiteConfig::default()
    };
    let robots = Site::new(config).render(BASE, "/robots.txt").unwrap();
    let robots = String::from_utf8(robots.body).unwrap();
    assert!(robots.contains("\nSitemap: http://127.0.0.1:8080/sitemaps/index.xml\n"));
}

/// `GET path` with `Host: host` over a fresh connection: the head and the body.
fn get(addr: SocketAddr, host: &str, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    (head, response[split + 4..].to_vec())
}

#[test]
fn served_with_the_host_as_base() {
    let config = SiteConfig {
        pages: 5,
        robots_txt: Some(SITEMAP_ROBOTS_TXT.to_string()),
        ..SiteConfig::default()
    };
    let site = TestSite::start(config).unwrap();
    let (addr, host) = (site.addr(), site.addr().to_string());
    let (_, robots) = get(addr, &host, "/robots.txt");
    let sitemap_line = format!("Sitemap: {}\n", site.url("/sitemaps/index.xml"));
    assert!(String::from_utf8(robots).unwrap().ends_with(&sitemap_line));

    let (_, index) = get(addr, "other.test:81", "/sitemaps/index.xml");
    let index = String::from_utf8(index).unwrap();
    assert_eq!(locs(&index)[1], "http://other.test:81/sitemaps/orphans.xml");

    let (head, gz) = get(addr, &host, "/sitemaps/pages.xml.gz");
    assert!(head.starts_with("http/1.1 200") && head.contains("content-type: application/gzip"));
    assert!(!head.contains("content-encoding"));
    let mut xml = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut xml)
        .unwrap();
    let listed: BTreeSet<String> = locs(&xml).into_iter().map(String::from).collect();
    assert_eq!(listed, page_urls(site.site(), &site.base_url()));

    let (head, page) = get(addr, &host, "/orphan/3.html");
    assert!(head.starts_with("http/1.1 200"));
    assert!(String::from_utf8(page)
        .unwrap()
        .contains("<title>Orphan 3</title>"));
    let (head, _) = get(addr, &host, "/orphan/huge/3.html");
    assert!(head.starts_with("http/1.1 404"), "{head}");
    let (head, _) = get(addr, &host, "/sitemaps/html.xml");
    assert!(head.contains("content-type: text/html"));
}

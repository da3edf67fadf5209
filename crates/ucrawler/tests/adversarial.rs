//! The engine against servers built to mislead it, byte for byte (issue #13's classes and their
//! neighbours): robots.txt that redirects at private addresses, is cut short, drips, or holds
//! rules too complex to compile; redirects to another port; raw bytes in `Location`; stacked
//! and misspelled `Content-Encoding`; a hostile `<base>`; malformed responses; and the
//! spellings of a loopback address that must all meet the address guard.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use ucrawler::{Config, ConfigBuilder, Crawler, Page};
use ucrawler_testsite::raw::{RawServer, Reply};

fn quick() -> ConfigBuilder {
    Config::builder()
        .depth(0)
        .per_host(4usize)
        .timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(2))
        .retries(1u32)
        .retry_backoff(Duration::from_millis(20))
}

fn crawl(config: ConfigBuilder, seeds: Vec<String>) -> HashMap<String, Page> {
    let crawler = Crawler::new(config.build().unwrap()).unwrap();
    let pages = crawler.crawl(seeds).unwrap();
    pages.map(|page| (page.url.clone(), page)).collect()
}

fn kind(page: &Page) -> &'static str {
    page.error.as_ref().map_or("none", |e| e.kind())
}

/// A server that must never be asked anything.
fn forbidden() -> RawServer {
    RawServer::start(|_| Reply::html("<title>secret</title>"))
}

#[test]
fn robots_txt_redirects_meet_the_address_guard() {
    let secret = forbidden();
    let targets = [
        format!("http://127.0.0.1:{}/latest/meta-data/", secret.port),
        format!("http://169.254.169.254:{}/latest/meta-data/", secret.port),
        format!("http://[::ffff:127.0.0.1]:{}/", secret.port),
    ];
    for target in targets {
        let location = target.clone().into_bytes();
        let site = RawServer::start(move |path| match path {
            "/robots.txt" => Reply::redirect(&location),
            _ => Reply::html("<title>page</title>"),
        });
        // The seed is named `localhost`: under `seeds`, only that name is trusted.
        let seed = format!("http://localhost:{}/page", site.port);
        let pages = crawl(quick(), vec![seed.clone()]);
        assert_eq!(kind(&pages[&seed]), "address_refused", "{target}");
        assert_eq!(
            site.hits(),
            ["/robots.txt"],
            "{target}: no page behind a refused robots.txt"
        );
    }
    assert!(
        secret.hits().is_empty(),
        "the guard let {:?} through",
        secret.hits()
    );
}

#[test]
fn a_redirect_to_another_port_of_the_same_host_is_out_of_scope() {
    let secret = forbidden();
    let location = format!("http://127.0.0.1:{}/secret", secret.port).into_bytes();
    let site = RawServer::start(move |path| match path {
        "/" => Reply::html(r#"<a href="/go">go</a>"#),
        "/go" => Reply::redirect(&location),
        _ => Reply::not_found(),
    });
    let pages = crawl(quick().depth(1), vec![site.url("/")]);
    assert_eq!(kind(&pages[&site.url("/go")]), "redirect_out_of_scope");
    assert!(secret.hits().is_empty());
}

#[test]
fn a_robots_txt_cut_short_or_dripping_is_not_taken_as_complete() {
    let full = "User-agent: *\nAllow: /a\nDisallow: /private\n";
    let cut = {
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            full.len() + 500
        );
        reply.push_str(full.split("Disallow").next().unwrap());
        reply.into_bytes()
    };
    let dripping = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{full}",
        full.len()
    )
    .into_bytes();
    let robots = [
        Reply::Bytes(cut),
        Reply::Drip(dripping, Duration::from_millis(100)),
    ];
    for robots in robots {
        let robots = std::sync::Mutex::new(Some(robots));
        let site = RawServer::start(move |path| match path {
            "/robots.txt" => robots
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(Reply::not_found),
            _ => Reply::html("<title>page</title>"),
        });
        let seeds = vec![site.url("/private/x"), site.url("/a")];
        let pages = crawl(quick().retries(0u32), seeds.clone());
        let hits = site.hits();
        assert!(!hits.iter().any(|p| p.starts_with("/private")), "{hits:?}");
        for seed in &seeds {
            assert!(
                matches!(kind(&pages[seed]), "http" | "timeout" | "robots_disallowed"),
                "{seed}: {:?}",
                pages[seed].error
            );
        }
    }
}

#[test]
fn an_over_complex_rule_is_matched_exactly_and_keeps_the_rest() {
    let robots = format!(
        "User-agent: *\nDisallow: /private\nDisallow: /shop/*{}$\n",
        "a*".repeat(45)
    );
    let site = RawServer::start(move |path| match path {
        "/robots.txt" => Reply::new(
            "200 OK",
            &[("Content-Type", b"text/plain")],
            robots.as_bytes(),
        ),
        _ => Reply::html("<title>page</title>"),
    });
    let covered = format!("/shop/{}", "a".repeat(45));
    let seeds = vec![
        site.url("/private/x"),
        site.url(&covered),
        site.url("/shop/item"),
    ];
    let pages = crawl(quick(), seeds.clone());
    assert_eq!(kind(&pages[&seeds[0]]), "robots_disallowed");
    assert_eq!(kind(&pages[&seeds[1]]), "robots_disallowed");
    assert_eq!(kind(&pages[&seeds[2]]), "none");
}

#[test]
fn an_absurd_crawl_delay_is_capped_not_ignored() {
    let site = RawServer::start(|path| match path {
        "/robots.txt" => Reply::new("200 OK", &[], b"User-agent: *\nCrawl-delay: 1e20\n"),
        _ => Reply::html("<title>page</title>"),
    });
    let seeds: Vec<String> = (1..=3).map(|i| site.url(&format!("/p{i}"))).collect();
    let started = Instant::now();
    let pages = crawl(quick().max_crawl_delay(Duration::from_millis(500)), seeds);
    assert!(pages.values().all(|p| p.error.is_none()));
    // Three pages, two gaps of the capped delay at least (the first waits after robots.txt).
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn raw_bytes_in_location_are_percent_encoded_and_followed() {
    let site = RawServer::start(|path| match path {
        "/utf8" => Reply::redirect(b"/caf\xc3\xa9"),
        "/latin1" => Reply::redirect(b"/caf\xe9"),
        "/js" => Reply::redirect(b"javascript:alert(1)"),
        "/caf%C3%A9" | "/caf%E9" => Reply::html("<title>arrived</title>"),
        _ => Reply::not_found(),
    });
    let seeds = vec![site.url("/utf8"), site.url("/latin1"), site.url("/js")];
    let pages = crawl(quick(), seeds.clone());
    assert_eq!(pages[&seeds[0]].final_url, site.url("/caf%C3%A9"));
    assert_eq!(pages[&seeds[1]].final_url, site.url("/caf%E9"));
    for seed in &seeds[..2] {
        assert_eq!(pages[seed].title.as_deref(), Some("arrived"), "{seed}");
    }
    assert_eq!(kind(&pages[&seeds[2]]), "bad_redirect");
    assert_eq!(pages[&seeds[2]].status, 302);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn deflate(data: &[u8], zlib: bool) -> Vec<u8> {
    let level = flate2::Compression::fast();
    if zlib {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), level);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    } else {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), level);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }
}

#[test]
fn content_encodings_are_decoded_whatever_their_spelling_or_refused_by_name() {
    let html = b"<title>decoded</title><a href=/x>x</a>";
    let encoded = |path: &str| -> Reply {
        let (codings, body): (&[&[u8]], Vec<u8>) = match path {
            "/gzip-gzip" => (&[b"gzip, gzip"], gzip(&gzip(html))),
            "/two-headers" => (&[b"gzip", b"gzip"], gzip(&gzip(html))),
            "/upper" => (&[b"GZIP"], gzip(html)),
            "/x-gzip" => (&[b"x-gzip"], gzip(html)),
            "/deflate-then-gzip" => (&[b"deflate, gzip"], gzip(&deflate(html, true))),
            "/zlib" => (&[b"deflate"], deflate(html, true)),
            "/raw-deflate" => (&[b"deflate"], deflate(html, false)),
            "/identity" => (&[b"identity"], html.to_vec()),
            "/br" => (&[b"br"], html.to_vec()),
            "/broken" => (&[b"gzip"], b"not gzip at all".to_vec()),
            _ => return Reply::not_found(),
        };
        let mut headers: Vec<(&str, &[u8])> = vec![("Content-Type", b"text/html")];
        headers.extend(codings.iter().map(|c| ("Content-Encoding", *c)));
        Reply::new("200 OK", &headers, &body)
    };
    let site = RawServer::start(encoded);
    let good = [
        "/gzip-gzip",
        "/two-headers",
        "/upper",
        "/x-gzip",
        "/deflate-then-gzip",
        "/zlib",
        "/raw-deflate",
        "/identity",
    ];
    let seeds: Vec<String> = good
        .iter()
        .chain(&["/br", "/broken"])
        .map(|p| site.url(p))
        .collect();
    let pages = crawl(quick(), seeds);
    for path in good {
        let page = &pages[&site.url(path)];
        assert_eq!(
            page.title.as_deref(),
            Some("decoded"),
            "{path}: {:?}",
            page.error
        );
        assert_eq!(page.links, [site.url("/x")], "{path}");
    }
    for path in ["/br", "/broken"] {
        let page = &pages[&site.url(path)];
        assert_eq!(kind(page), "decode", "{path}");
        assert_eq!(page.title, None, "{path}: never parsed still encoded");
    }
    let message = pages[&site.url("/br")].error.as_ref().unwrap().to_string();
    assert!(message.contains("\"br\""), "{message}");
}

#[test]
fn a_script_or_data_base_href_falls_back_to_the_page_url() {
    let site = RawServer::start(|path| match path {
        "/" => Reply::html(r#"<base href="javascript:alert(1)"><a href="next">n</a>"#),
        "/data" => Reply::html(r#"<base href="data:text/html,x"><a href="/other">o</a>"#),
        "/next" | "/other" => Reply::html("<title>found</title>"),
        _ => Reply::not_found(),
    });
    let pages = crawl(quick().depth(1), vec![site.url("/"), site.url("/data")]);
    assert_eq!(pages[&site.url("/")].links, [site.url("/next")]);
    assert_eq!(pages[&site.url("/data")].links, [site.url("/other")]);
    assert_eq!(pages[&site.url("/next")].title.as_deref(), Some("found"));
}

#[test]
fn malformed_responses_are_protocol_errors_not_retried() {
    let site = RawServer::start(|path| match path {
        "/garbage" => Reply::Bytes(b"HELLO WORLD\r\n\r\n".to_vec()),
        "/status" => Reply::Bytes(b"HTTP/1.1 99999 Huge\r\n\r\n".to_vec()),
        "/huge-head" => {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..20_000 {
                head.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(20)).as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            Reply::Bytes(head)
        }
        _ => Reply::not_found(),
    });
    let paths = ["/garbage", "/status", "/huge-head"];
    let pages = crawl(
        quick().retries(3u32),
        paths.iter().map(|p| site.url(p)).collect(),
    );
    for path in paths {
        assert_eq!(
            kind(&pages[&site.url(path)]),
            "protocol",
            "{path}: {:?}",
            pages[&site.url(path)].error
        );
        let asked = site.hits().iter().filter(|p| *p == path).count();
        assert_eq!(asked, 1, "{path} was retried");
    }
}

#[test]
fn every_spelling_of_a_loopback_address_meets_the_guard() {
    let secret = forbidden();
    let q = secret.port;
    let spellings = [
        format!("http://127.0.0.1:{q}/dotted"),
        format!("http://2130706433:{q}/decimal"),
        format!("http://0x7f000001:{q}/hex"),
        format!("http://0x7f.0.0.1:{q}/hex-octet"),
        format!("http://0177.0.0.1:{q}/octal"),
        format!("http://127.1:{q}/short"),
        format!("http://[::ffff:127.0.0.1]:{q}/mapped"),
        format!("http://[::ffff:7f00:1]:{q}/mapped-hex"),
        format!("http://[::127.0.0.1]:{q}/compatible"),
        format!("http://localhost.:{q}/trailing-dot"),
        format!("http://user@127.0.0.1:{q}/userinfo"),
        format!("http://127.0.0.1.:{q}/literal-trailing-dot"),
    ];
    let links: String = spellings
        .iter()
        .map(|s| format!(r#"<a href="{s}">x</a>"#))
        .collect();
    let site = RawServer::start(move |path| match path {
        "/" => Reply::html(&links),
        _ => Reply::not_found(),
    });
    // Seeded by name: under `seeds` only `localhost` is trusted, never another spelling.
    let seed = format!("http://localhost:{}/", site.port);
    let pages = crawl(quick().depth(1).same_host(false), vec![seed.clone()]);
    assert!(pages[&seed].error.is_none());
    let refused = pages
        .values()
        .filter(|p| kind(p) == "address_refused")
        .count();
    assert!(
        refused >= spellings.len() - 2,
        "{refused} refused: {pages:#?}"
    );
    assert!(
        secret.hits().is_empty(),
        "reached through {:?}",
        secret.hits()
    );
}

#[test]
fn a_self_link_doubling_its_query_ends_at_max_url_length() {
    let site = RawServer::start(|path| {
        let query = path.split_once("?q=").map_or("a", |(_, q)| q).to_string();
        Reply::html(&format!(r#"<a href="/grow?q={query}{query}">more</a>"#))
    });
    let started = Instant::now();
    let pages = crawl(
        quick().depth(1000).max_url_length(1024usize),
        vec![site.url("/grow")],
    );
    let longest = site.hits().iter().map(String::len).max().unwrap_or(0);
    assert!(longest <= 1024, "requested a {longest}-byte path");
    assert!(
        pages.len() >= 9 && pages.len() <= 11,
        "{} pages",
        pages.len()
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn header_abuse_gets_a_named_error_or_a_page_never_a_hang() {
    let long_location = format!("/{}", "l".repeat(100_000));
    let site = RawServer::start(move |path| {
        match path {
        "/two-lengths" => Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello".to_vec(),
        ),
        "/short-length" => Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 16\r\n\r\n<title>t</title>tail".to_vec(),
        ),
        "/long-length" => Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 500\r\n\r\n<title>t</title>".to_vec(),
        ),
        "/bad-chunk" => Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        "/long-location" => Reply::redirect(long_location.as_bytes()),
        "/nul-header" => Reply::Bytes(b"HTTP/1.1 200 OK\r\nX-Evil: a\0b\r\nContent-Length: 0\r\n\r\n".to_vec()),
        _ => Reply::not_found(),
    }
    });
    let paths = [
        ("/two-lengths", &["protocol"][..]),
        ("/short-length", &["none"][..]),
        ("/long-length", &["http"][..]),
        ("/bad-chunk", &["http", "protocol"][..]),
        // A 100 KB Location: past max_url_length if it were read, but its head is already past
        // each connection's 16 KiB read buffer (#17), so hyper refuses the response first.
        ("/long-location", &["protocol", "redirect_out_of_scope"][..]),
        ("/nul-header", &["protocol"][..]),
    ];
    let started = Instant::now();
    let pages = crawl(quick(), paths.iter().map(|(p, _)| site.url(p)).collect());
    for (path, kinds) in paths {
        let page = &pages[&site.url(path)];
        assert!(kinds.contains(&kind(page)), "{path}: {:?}", page.error);
    }
    assert_eq!(
        pages[&site.url("/short-length")].title.as_deref(),
        Some("t")
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

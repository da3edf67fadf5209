//! TLS and proxies for real: a self-signed HTTPS front of the test site (certificate made at
//! test time) proves verification is on by default and `accept_invalid_certs` turns it off; a
//! real HTTP proxy (tinyproxy) carries crawls, and the `private_addresses` guard applies to the
//! targets behind it, not to the proxy.

#[path = "support/tinyproxy.rs"]
mod tinyproxy;

use ucrawler::{Config, ConfigBuilder, Crawler, Page, PrivateAddresses};
use ucrawler_testsite::{SiteConfig, TestSite, TlsFront};

use tinyproxy::Tinyproxy;

fn site(pages: usize) -> TestSite {
    TestSite::start(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

fn config() -> ConfigBuilder {
    Config::builder()
}

fn crawl(config: ConfigBuilder, seeds: &[String]) -> Vec<Page> {
    Crawler::new(config.build().unwrap())
        .unwrap()
        .crawl(seeds.to_vec())
        .unwrap()
        .collect()
}

fn only(pages: Vec<Page>) -> Page {
    assert_eq!(pages.len(), 1, "{:?}", failures(&pages));
    pages.into_iter().next().unwrap()
}

/// The pages that failed, as `url: error`.
fn failures(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .filter_map(|p| p.error.as_ref().map(|e| format!("{}: {e}", p.url)))
        .collect()
}

fn error_kind(page: &Page) -> Option<&'static str> {
    page.error.as_ref().map(|e| e.kind())
}

#[test]
fn certificates_are_verified_unless_accept_invalid_certs() {
    let site = site(10);
    let tls = TlsFront::start(site.addr()).unwrap();
    assert!(tls
        .certificate_pem()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let seed = [tls.url("/")];

    let refused = only(crawl(config().depth(0u32), &seed));
    assert_eq!(error_kind(&refused), Some("tls"), "{refused:?}");
    let message = refused.error.as_ref().unwrap().to_string();
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(site.requests_served(), 0, "nothing got past the handshake");

    let accepted = only(crawl(
        config().depth(0u32).accept_invalid_certs(true),
        &seed,
    ));
    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(accepted.status, 200);
    assert!(accepted.title.is_some());
    assert!(accepted.final_url.starts_with("https://"));
}

#[test]
fn a_proxy_carries_http_and_https_crawls() {
    let site = site(20);
    let tls = TlsFront::start(site.addr()).unwrap();
    let proxy = Tinyproxy::start();
    let proxied = || {
        config()
            .proxy(proxy.url())
            .private_addresses(PrivateAddresses::Allow)
    };

    let pages = crawl(proxied().depth(1u32), &[site.url("/")]);
    assert_eq!(pages.len(), site.expected_urls(Some(1)).len());
    // (tinyproxy may close a kept-alive connection as a request starts on it: a retry.)
    assert!(failures(&pages).is_empty(), "{:?}", failures(&pages));
    let requests = proxy.requests();
    for page in &pages {
        let line = format!("GET {} HTTP/1.1", page.url);
        assert!(requests.contains(&line), "{line} not in {requests:?}");
    }
    assert!(requests.contains(&format!("GET {} HTTP/1.1", site.url("/robots.txt"))));

    // HTTPS through the proxy is a CONNECT tunnel, and the certificate is still checked.
    let seed = [tls.url("/")];
    let refused = only(crawl(proxied().depth(0u32), &seed));
    assert_eq!(error_kind(&refused), Some("tls"), "{refused:?}");
    let page = only(crawl(
        proxied().depth(0u32).accept_invalid_certs(true),
        &seed,
    ));
    assert!(page.is_ok(), "{page:?}");
    let connect = format!("CONNECT {} HTTP/1.1", tls.addr());
    assert!(proxy.requests().contains(&connect), "{connect} not relayed");
}

#[test]
fn the_address_guard_applies_to_the_target_behind_a_proxy() {
    let site = site(10);
    let proxy = Tinyproxy::start();
    let port = site.addr().port();
    // Loopback by name and as literals: the proxy would reach each of them.
    let targets = [
        format!("http://localhost:{port}/"),
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
    ];
    for target in &targets {
        let config = config()
            .proxy(proxy.url())
            .private_addresses(PrivateAddresses::Deny);
        let page = only(crawl(config, std::slice::from_ref(target)));
        assert_eq!(error_kind(&page), Some("address_refused"), "{page:?}");
    }
    assert_eq!(site.requests_served(), 0, "no request reached the site");
    assert!(
        proxy.requests().is_empty(),
        "the proxy was asked: {:?}",
        proxy.requests()
    );
}

#[test]
fn the_proxy_itself_is_not_checked_by_the_guard() {
    let site = site(10);
    let proxy = Tinyproxy::start();
    // A proxy named `localhost` under the default policy (`seeds`: only the seed's host may be
    // private): the proxy is the operator's choice, the seed is trusted, the crawl goes through.
    let by_name = format!("http://localhost:{}", proxy.port);
    let page = only(crawl(config().depth(0u32).proxy(by_name), &[site.url("/")]));
    assert!(page.is_ok(), "{page:?}");
    assert!(proxy
        .requests()
        .contains(&format!("GET {} HTTP/1.1", site.url("/"))));
}

//! Volatile pages: new bytes on every request, the same text and links, no validators.

use ucrawler_testsite::{SiteConfig, TestSite};

mod common;
use common::Client;

/// The page without its per-request token (the hidden input and the timestamp script).
fn without_token(body: &str) -> String {
    let start = body.find("<input type=\"hidden\" name=\"csrf\"").unwrap();
    let end = start + body[start..].find(";</script>\n").unwrap() + ";</script>\n".len();
    format!("{}{}", &body[..start], &body[end..])
}

#[test]
fn volatile_pages_differ_on_every_request_but_only_in_their_token() {
    let site = TestSite::start(SiteConfig {
        pages: 40,
        volatile: true,
        ..SiteConfig::default()
    })
    .unwrap();
    let host = site.addr().to_string();
    let mut client = Client::connect(site.addr());
    for path in ["/", "/page/4.html", "/page/39.html?sort=asc"] {
        let first = client.get(&host, path);
        let second = client.get(&host, path);
        assert_eq!((first.status, second.status), (200, 200));
        assert_ne!(first.body, second.body, "{path}");
        let (a, b) = (first.text(), second.text());
        assert!(a.contains("<script>window.renderedAt = "));
        assert_eq!(without_token(&a), without_token(&b));
        let plain = site.site().render(&site.base_url(), path).unwrap().body;
        assert_eq!(
            without_token(&a).into_bytes(),
            plain,
            "text and links unchanged"
        );
        for reply in [&first, &second] {
            assert_eq!(reply.header("etag"), None);
            assert_eq!(reply.header("last-modified"), None);
        }
        let star = client.request("GET", &host, path, &[("If-None-Match", "*")]);
        assert_eq!(star.status, 200, "no validators, no 304");
    }
}

//! Validators over HTTP: `ETag`, `Last-Modified`, `304 Not Modified`, and a site without them.

use ucrawler_testsite::validators::{etag, last_modified};
use ucrawler_testsite::{Churn, SiteConfig, TestSite};

mod common;
use common::{Client, Reply};

const DAY0: &str = "Mon, 01 Jan 2024 00:00:00 GMT";

fn start(validators: bool) -> (TestSite, Client, String) {
    let site = TestSite::start(SiteConfig {
        pages: 60,
        validators,
        churn: Churn::new(1.0, 0.0, 0.0).unwrap(),
        ..SiteConfig::default()
    })
    .unwrap();
    let client = Client::connect(site.addr());
    let host = site.addr().to_string();
    (site, client, host)
}

fn get(client: &mut Client, host: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    client.request("GET", host, path, headers)
}

#[test]
fn pages_carry_validators_derived_from_their_bytes_and_generation() {
    let (site, mut client, host) = start(true);
    let page = get(&mut client, &host, "/page/3.html", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("etag"), Some(etag(&page.body).as_str()));
    assert!(page.header("etag").unwrap().starts_with('"'), "strong");
    assert_eq!(page.header("last-modified"), Some(DAY0));
    // The same bytes under another URL: the same ETag.
    let sorted = get(&mut client, &host, "/page/3.html?sort=asc", &[]);
    assert_eq!(sorted.header("etag"), page.header("etag"));
    let root = get(&mut client, &host, "/", &[]);
    assert_ne!(root.header("etag"), page.header("etag"));
    // Only the site's pages have validators.
    assert_eq!(
        get(&mut client, &host, "/robots.txt", &[]).header("etag"),
        None
    );

    // Every page changes in generation 1 (churn 100 %): another ETag, a day later.
    site.set_generation(1);
    let changed = get(&mut client, &host, "/page/3.html", &[]);
    assert_ne!(changed.body, page.body);
    assert_eq!(changed.header("etag"), Some(etag(&changed.body).as_str()));
    let day1 = httpdate::fmt_http_date(last_modified(1));
    assert_eq!(changed.header("last-modified"), Some(day1.as_str()));
}

#[test]
fn if_none_match_answers_304_for_a_matching_tag() {
    let (_site, mut client, host) = start(true);
    let path = "/page/7.html";
    let page = get(&mut client, &host, path, &[]);
    let tag = page.header("etag").unwrap().to_string();
    let weak = format!("W/{tag}");
    let listed = format!("\"stale\", {tag}");
    for value in [tag.as_str(), &weak, &listed, "*"] {
        let reply = get(&mut client, &host, path, &[("If-None-Match", value)]);
        assert_eq!(reply.status, 304, "{value}");
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("etag"), Some(tag.as_str()));
        assert_eq!(reply.header("last-modified"), Some(DAY0));
    }
    let stale = get(&mut client, &host, path, &[("If-None-Match", "\"stale\"")]);
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, page.body);
    // The keep-alive connection is still in step after the 304s.
    assert_eq!(get(&mut client, &host, "/", &[]).status, 200);
}

#[test]
fn if_modified_since_answers_304_unless_the_page_is_newer() {
    let (site, mut client, host) = start(true);
    let path = "/page/9.html";
    let since = |value| [("If-Modified-Since", value)];
    let not_modified = get(&mut client, &host, path, &since(DAY0));
    assert_eq!((not_modified.status, not_modified.body.len()), (304, 0));
    assert!(not_modified.header("etag").is_some());
    let later = get(
        &mut client,
        &host,
        path,
        &since("Fri, 01 Mar 2024 00:00:00 GMT"),
    );
    assert_eq!(later.status, 304);
    let earlier = get(
        &mut client,
        &host,
        path,
        &since("Sun, 31 Dec 2023 23:59:59 GMT"),
    );
    assert_eq!(earlier.status, 200);
    assert_eq!(
        get(&mut client, &host, path, &since("not a date")).status,
        200
    );
    // After a change the page is newer than day 0.
    site.set_generation(1);
    assert_eq!(get(&mut client, &host, path, &since(DAY0)).status, 200);
}

#[test]
fn if_none_match_wins_over_if_modified_since() {
    let (_site, mut client, host) = start(true);
    let path = "/page/11.html";
    let tag = get(&mut client, &host, path, &[])
        .header("etag")
        .unwrap()
        .to_string();
    let fresh_date = ("If-Modified-Since", DAY0);
    let stale_tag = [("If-None-Match", "\"stale\""), fresh_date];
    assert_eq!(get(&mut client, &host, path, &stale_tag).status, 200);
    let old_date = ("If-Modified-Since", "Sun, 31 Dec 2023 00:00:00 GMT");
    let fresh_tag = [("If-None-Match", tag.as_str()), old_date];
    assert_eq!(get(&mut client, &host, path, &fresh_tag).status, 304);
}

#[test]
fn head_answers_with_the_same_validators() {
    let (_site, mut client, host) = start(true);
    let path = "/page/5.html";
    let page = get(&mut client, &host, path, &[]);
    let head = client.request("HEAD", &host, path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), page.header("etag"));
    assert_eq!(head.header("last-modified"), Some(DAY0));
    let tag = page.header("etag").unwrap();
    let conditional = client.request("HEAD", &host, path, &[("If-None-Match", tag)]);
    assert_eq!(conditional.status, 304);
    assert_eq!(get(&mut client, &host, "/", &[]).status, 200);
}

#[test]
fn a_site_without_validators_sends_none_and_always_answers_200() {
    let (_site, mut client, host) = start(false);
    let page = get(&mut client, &host, "/page/2.html", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("etag"), None);
    assert_eq!(page.header("last-modified"), None);
    let star = get(
        &mut client,
        &host,
        "/page/2.html",
        &[("If-None-Match", "*")],
    );
    assert_eq!(star.status, 200);
    let since = [("If-Modified-Since", "Fri, 01 Mar 2024 00:00:00 GMT")];
    assert_eq!(get(&mut client, &host, "/page/2.html", &since).status, 200);
}

//! What pages declare about themselves: `X-Robots-Tag` headers (honoured like
//! `<meta name="robots">`) and `rel="nofollow"` links (reported; followed unless
//! `follow_nofollow_links` is off).

use std::collections::BTreeSet;

use ucrawler::{Config, ConfigBuilder, Crawler, Page};
use ucrawler_testsite::raw::{RawServer, Reply};

fn site() -> RawServer {
    RawServer::start(|path| {
        let tagged = |tag: &str| {
            Reply::new(
                "200 OK",
                &[
                    ("Content-Type", b"text/html"),
                    ("X-Robots-Tag", tag.as_bytes()),
                ],
                b"<title>tagged</title><a href=/from-tagged>x</a>",
            )
        };
        match path {
            "/" => Reply::html(
                "<a href=/none>1</a><a href=/ours>2</a><a href=/theirs>3</a>\
                 <a href=/pdf>4</a><a href=/sponsored rel='sponsored NoFollow'>5</a>\
                 <a href=/both rel=nofollow>6</a><a href=/both#again>7</a>",
            ),
            "/none" => tagged("noarchive, none"),
            "/ours" => tagged("otherbot: noindex, ucrawler: nofollow"),
            "/theirs" => tagged("otherbot: noindex, nofollow"),
            "/pdf" => Reply::new(
                "200 OK",
                &[
                    ("Content-Type", b"application/pdf"),
                    ("X-Robots-Tag", b"noindex"),
                ],
                b"%PDF-1.4",
            ),
            "/robots.txt" => Reply::not_found(),
            _ => Reply::html("<title>page</title>"),
        }
    })
}

fn crawl(site: &RawServer, config: ConfigBuilder) -> Vec<Page> {
    let config = config.user_agent("ucrawler/1.0 (+test)").build().unwrap();
    Crawler::new(config)
        .unwrap()
        .crawl([site.url("/")])
        .unwrap()
        .collect()
}

fn paths(pages: &[Page]) -> BTreeSet<String> {
    pages
        .iter()
        .map(|page| {
            page.url
                .rsplit_once('/')
                .map(|(_, p)| format!("/{p}"))
                .unwrap()
        })
        .collect()
}

#[test]
fn x_robots_tag_counts_as_meta_robots_for_us_and_for_everyone() {
    let site = site();
    let pages = crawl(&site, Config::builder());
    let page = |path: &str| pages.iter().find(|p| p.url == site.url(path)).unwrap();
    assert!(page("/none").noindex && page("/none").nofollow);
    assert!(
        !page("/ours").noindex && page("/ours").nofollow,
        "the otherbot: part is not ours"
    );
    assert!(!page("/theirs").noindex && !page("/theirs").nofollow);
    assert!(
        page("/pdf").noindex,
        "a page not parsed has the header's word"
    );
    // Links of nofollow pages are reported, not followed: only /theirs led to /from-tagged.
    assert_eq!(page("/none").links, [site.url("/from-tagged")]);
    let fetched = site.hits();
    assert_eq!(fetched.iter().filter(|p| *p == "/from-tagged").count(), 1);
    assert!(paths(&pages).contains("/from-tagged"));
}

#[test]
fn rel_nofollow_links_are_reported_and_followed_unless_asked_not_to() {
    let site = site();
    let pages = crawl(&site, Config::builder().depth(1));
    let root = pages.iter().find(|p| p.url == site.url("/")).unwrap();
    // /both is also linked without nofollow: it is not a nofollow link.
    assert_eq!(root.nofollow_links, [site.url("/sponsored")]);
    assert!(paths(&pages).contains("/sponsored"), "followed by default");

    let site = self::site();
    let pages = crawl(
        &site,
        Config::builder().depth(1).follow_nofollow_links(false),
    );
    let crawled = paths(&pages);
    assert!(
        !crawled.contains("/sponsored") && crawled.contains("/both"),
        "{crawled:?}"
    );
    assert!(!site.hits().iter().any(|p| p == "/sponsored"));
}

#[test]
fn canonical_dedup_reports_duplicates_and_crawls_the_canonical_url() {
    let site = RawServer::start(|path| match path {
        "/" => Reply::html("<a href='/item?ref=home'>1</a><a href='/item?ref=nav'>2</a>"),
        p if p.starts_with("/item?") => {
            Reply::html("<link rel=canonical href='/item'><title>item</title>")
        }
        "/item" => Reply::html("<link rel=canonical href='/item'><title>item</title>"),
        _ => Reply::not_found(),
    });
    let pages = crawl(&site, Config::builder().canonical_dedup(true));
    let duplicates: BTreeSet<(String, Option<String>)> = pages
        .iter()
        .filter(|p| p.url.contains("/item"))
        .map(|p| (p.url.clone(), p.duplicate_of.clone()))
        .collect();
    let canonical = site.url("/item");
    assert_eq!(
        duplicates,
        BTreeSet::from([
            (site.url("/item?ref=home"), Some(canonical.clone())),
            (site.url("/item?ref=nav"), Some(canonical.clone())),
            (canonical.clone(), None),
        ])
    );
    assert_eq!(
        site.hits().iter().filter(|p| *p == "/item").count(),
        1,
        "crawled once"
    );
    // Off by default: no duplicate_of, and /item is never linked, so never crawled.
    let pages = crawl(&site, Config::builder());
    assert!(pages.iter().all(|p| p.duplicate_of.is_none()));
}

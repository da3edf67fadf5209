//! What pages declare in structured data, crawled from the test site's `/structured/` pages:
//! JSON-LD blocks (kept as they are, invalid ones reported, bounded) and OpenGraph / Twitter
//! card properties (bounded), on the page and in its memory accounting.

use std::collections::HashMap;

use serde_json::json;
use ucrawler::parse::{MAX_JSON_LD_BLOCKS, MAX_OPEN_GRAPH_VALUE, MAX_OPEN_GRAPH_VALUES};
use ucrawler::{Config, ConfigBuilder, Crawler, ExtractRule, Page};
use ucrawler_testsite::structured::{MANY_BLOCKS, PRODUCT_NAME, PRODUCT_OG_TITLE, PRODUCT_PRICE};
use ucrawler_testsite::{SiteConfig, TestSite};

fn site() -> TestSite {
    TestSite::start(SiteConfig {
        pages: 1,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

/// `/structured/` and the pages it links, by path.
fn crawl(site: &TestSite, config: ConfigBuilder) -> HashMap<String, Page> {
    let crawler = Crawler::new(config.depth(1).build().unwrap()).unwrap();
    let pages: HashMap<String, Page> = crawler
        .crawl([site.url("/structured/")])
        .unwrap()
        .map(|page| {
            let path = page.url.splitn(4, '/').nth(3).unwrap_or_default();
            (format!("/{path}"), page)
        })
        .collect();
    assert_eq!(pages.len(), 6, "{:?}", pages.keys());
    assert!(pages.values().all(Page::is_ok));
    pages
}

#[test]
fn json_ld_blocks_come_as_they_are_and_invalid_ones_are_reported() {
    let site = site();
    let pages = crawl(&site, Config::builder());

    let product = &pages["/structured/product"];
    assert_eq!(product.json_ld.len(), 2);
    assert_eq!(product.json_ld[0]["name"], PRODUCT_NAME);
    assert!(
        product.json_ld[1]["@graph"].is_array(),
        "a @graph stays one block"
    );
    assert_eq!(
        product.json_ld_types(),
        ["Product", "BreadcrumbList", "Organization"]
    );
    assert_eq!(
        product.json_ld_value("offers.price"),
        Some(&json!(PRODUCT_PRICE))
    );
    assert_eq!(
        product.json_ld_value("itemListElement.0.name"),
        Some(&json!("Lamps"))
    );
    assert!(product.json_ld_errors.is_empty());

    let invalid = &pages["/structured/invalid"];
    assert_eq!(
        invalid.json_ld,
        [json!({"@type": "WebPage", "name": "Fine"})]
    );
    assert_eq!(
        invalid.json_ld_errors.len(),
        2,
        "{:?}",
        invalid.json_ld_errors
    );
    assert!(invalid.json_ld_errors[0].starts_with("block 1: trailing comma"));
    assert!(invalid.json_ld_errors[1].starts_with("block 3: EOF while parsing"));

    let huge = &pages["/structured/huge"];
    assert_eq!(
        huge.json_ld_value("name"),
        Some(&json!("After the huge one"))
    );
    assert_eq!(
        huge.json_ld_errors,
        ["block 1: longer than 262144 bytes, not parsed"]
    );

    let many = &pages["/structured/many"];
    assert_eq!(many.json_ld.len(), MAX_JSON_LD_BLOCKS);
    assert_eq!(many.json_ld[15], json!({"n": 15}));
    assert_eq!(
        many.json_ld_errors,
        [format!(
            "{} more blocks past the first {MAX_JSON_LD_BLOCKS} not read",
            MANY_BLOCKS - MAX_JSON_LD_BLOCKS
        )]
    );

    let index = &pages["/structured/"];
    assert!(index.json_ld.is_empty() && index.open_graph.is_empty());
    assert!(
        product.memory_bytes() > index.memory_bytes() + 2_000,
        "parsed blocks are accounted"
    );
}

#[test]
fn open_graph_and_twitter_properties_are_collected_within_bounds() {
    let site = site();
    let pages = crawl(&site, Config::builder());

    let product = &pages["/structured/product"];
    assert_eq!(product.open_graph_value("og:title"), Some(PRODUCT_OG_TITLE));
    assert_eq!(
        product.open_graph["og:image"],
        ["/img/lamp-1.jpg", "/img/lamp-2.jpg"]
    );
    assert_eq!(
        product.open_graph_value("twitter:card"),
        Some("summary_large_image")
    );

    let og = &pages["/structured/open-graph"];
    assert_eq!(og.open_graph_value("og:title"), Some("Mixed case & spaces"));
    assert_eq!(og.open_graph_value("twitter:site"), Some("@example"));
    assert_eq!(
        og.open_graph_value("og:site_name"),
        Some("Named, not a property")
    );
    assert_eq!(
        og.open_graph_value("article:published_time"),
        Some("2024-05-01T10:00:00Z")
    );
    assert!(!og.open_graph.contains_key("fb:app_id") && !og.open_graph.contains_key("description"));
    assert_eq!(
        og.open_graph["og:description"][0].len(),
        MAX_OPEN_GRAPH_VALUE
    );
    let values: usize = og.open_graph.values().map(Vec::len).sum();
    assert_eq!(values, MAX_OPEN_GRAPH_VALUES);
}

#[test]
fn extract_rules_do_not_change_what_pages_declare() {
    let site = site();
    let plain = crawl(&site, Config::builder());
    let with_rules = crawl(
        &site,
        Config::builder().extract("heading", ExtractRule::text("h1")),
    );
    for (path, page) in &plain {
        let other = &with_rules[path];
        assert_eq!(other.json_ld, page.json_ld, "{path}");
        assert_eq!(other.json_ld_errors, page.json_ld_errors, "{path}");
        assert_eq!(other.open_graph, page.open_graph, "{path}");
    }
}

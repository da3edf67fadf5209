//! HTML extraction with `extract` rules: scraper's DOM path (the one with parser bombs).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};
use ucrawler::{Config, ExtractRule};

#[path = "common/pages.rs"]
mod pages;

static EXTRACTOR: LazyLock<Extractor> = LazyLock::new(|| {
    let mut config = Config::builder()
        .extract("text", ExtractRule::text("p, li > span, div.price, h1"))
        .extract("src", ExtractRule::attr("img[src], a.hero", "src"))
        .build()
        .expect("valid rules");
    config.max_links_per_page = pages::MAX_LINKS;
    Extractor::new(&config).expect("valid selectors")
});

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    let page = EXTRACTOR.extract(&html, &pages::page_url());
    pages::check(&page);
    assert_eq!(page.extracted.len(), 2, "every rule answers");
});

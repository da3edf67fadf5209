//! HTML extraction with `extract` rules: scraper's DOM path (the one with parser bombs).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};

#[path = "common/pages.rs"]
mod pages;

static EXTRACTOR: LazyLock<Extractor> = LazyLock::new(pages::rules_extractor);

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    let page = EXTRACTOR.extract(&html, &pages::page_url());
    pages::check(&page);
    assert_eq!(page.extracted.len(), 2, "every rule answers");
});

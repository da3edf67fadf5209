//! HTML extraction without `extract` rules: the streaming (lol_html) path, on bodies decoded
//! as the engine decodes them.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};
use ucrawler::Config;

#[path = "common/pages.rs"]
mod pages;

static EXTRACTOR: LazyLock<Extractor> = LazyLock::new(|| {
    let config = Config {
        max_links_per_page: pages::MAX_LINKS,
        ..Config::default()
    };
    Extractor::new(&config).expect("no rules to reject")
});

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    pages::check(&EXTRACTOR.extract(&html, &pages::page_url()));
});

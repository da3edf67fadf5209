//! A crawl with `extract` rules finds the same built-in fields (title, description, canonical,
//! robots directives, links) as one without, whatever the markup: with rules the DOM is built
//! as well, and must not change which links are followed.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};

#[path = "common/pages.rs"]
mod pages;

static PLAIN: LazyLock<Extractor> = LazyLock::new(pages::plain_extractor);
static WITH_RULES: LazyLock<Extractor> = LazyLock::new(pages::rules_extractor);

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    let url = pages::page_url();
    let plain = PLAIN.extract(&html, &url);
    pages::check(&plain);
    let mut ruled = WITH_RULES.extract(&html, &url);
    pages::check(&ruled);
    // Past the DOM's bounds rules get no values and the reason; the built-in fields stay.
    ruled.dom_refused = None;
    ruled.extracted.clear();
    assert_eq!(plain, ruled, "{html:?}");
});

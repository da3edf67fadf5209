//! The streaming pass and the DOM agree on the built-in fields (title, description, canonical,
//! robots directives, links) whatever the markup: a crawl with `extract` rules finds the same
//! links as one without.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};

#[path = "common/pages.rs"]
mod pages;

static EXTRACTOR: LazyLock<Extractor> = LazyLock::new(pages::plain_extractor);

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    let url = pages::page_url();
    let streamed = EXTRACTOR.extract(&html, &url);
    pages::check(&streamed);
    let mut dom = EXTRACTOR.extract_dom(&html, &url);
    if dom.dom_refused.is_some() {
        // Past the DOM's bounds the streaming pass's fields are kept: nothing to compare.
        return;
    }
    dom.dom_refused = None;
    assert_eq!(streamed, dom, "{html:?}");
});

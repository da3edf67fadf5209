//! HTML extraction without `extract` rules: the streaming (lol_html) path, on bodies decoded
//! as the engine decodes them.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::{charset, Extractor};

#[path = "common/pages.rs"]
mod pages;

static EXTRACTOR: LazyLock<Extractor> = LazyLock::new(pages::plain_extractor);

fuzz_target!(|data: &[u8]| {
    let html = charset::decode(data, Some("text/html"));
    pages::check(&EXTRACTOR.extract(&html, &pages::page_url()));
});

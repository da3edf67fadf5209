//! What every extracted page must satisfy, whichever path (streaming or DOM) produced it.

use std::collections::HashSet;

use ucrawler::parse::{Extracted, Extractor};
use ucrawler::url::parse_request_url;
use url::Url;

pub const MAX_LINKS: usize = 64;

/// An extractor without rules, links capped at `MAX_LINKS` (not every target uses it).
#[allow(dead_code)]
pub fn plain_extractor() -> Extractor {
    let config = ucrawler::Config {
        max_links_per_page: MAX_LINKS,
        // The text hasher is fuzzed too (a crawl that keeps its visits hashes every page).
        hash_content: true,
        ..ucrawler::Config::default()
    };
    Extractor::new(&config).expect("no rules to reject")
}

/// [`plain_extractor`] with rules, so every page also gets a DOM (two rules).
#[allow(dead_code)]
pub fn rules_extractor() -> Extractor {
    let config = ucrawler::Config::builder()
        .max_links_per_page(MAX_LINKS)
        .hash_content(true)
        .extract("text", ucrawler::ExtractRule::text("p, li > span, div.price, h1"))
        .extract("src", ucrawler::ExtractRule::attr("img[src], a.hero", "src"))
        .build()
        .expect("valid rules");
    Extractor::new(&config).expect("valid selectors")
}

pub fn page_url() -> Url {
    Url::parse("http://example.com/dir/page.html").expect("constant URL")
}

/// Links: at most `MAX_LINKS`, unique, each already in the form a queue gives back.
pub fn check(page: &Extracted) {
    assert!(page.links.len() <= MAX_LINKS, "{} links", page.links.len());
    let mut seen = HashSet::new();
    for link in &page.links {
        assert!(seen.insert(link.as_str()), "duplicate link {link}");
        let again = parse_request_url(link.as_str()).map(String::from);
        assert_eq!(again.as_deref(), Ok(link.as_str()), "link not stable");
    }
    if let Some(canonical) = &page.canonical {
        assert!(
            parse_request_url(canonical).is_ok(),
            "canonical {canonical:?}"
        );
    }
}

//! URL normalization and link resolution: what `href`s and seeds become, and that the result
//! is stable (a URL read back from the journal or Redis is parsed again: if that changed it,
//! its fingerprint would change and the page would be crawled twice).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucrawler::url::{host_key, parse_request_url, redact_password, resolve};
use url::Url;

const PAGE: &str = "http://example.com:8080/dir/page.html?q=1";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = redact_password(text);
    // "base\nhref" fuzzes the base too (a page's <base href> can be anything); one line is an
    // href on a fixed page.
    let (base, href) = text.split_once('\n').unwrap_or((PAGE, text));
    let Ok(base) = Url::parse(base).or_else(|_| Url::parse(PAGE)) else {
        return;
    };
    if let Ok(seed) = parse_request_url(href) {
        let again = parse_request_url(seed.as_str()).map(String::from);
        assert_eq!(again.as_deref(), Ok(seed.as_str()), "seed {href:?}");
    }
    if let Some(link) = resolve(&base, href) {
        let again = parse_request_url(link.as_str()).map(String::from);
        assert_eq!(
            again.as_deref(),
            Ok(link.as_str()),
            "href {href:?} on {base}"
        );
        assert!(!host_key(&link).is_empty());
    }
});

//! `canonical_dedup`: a page that declares another URL of its host canonical is a duplicate of
//! it, and that URL is crawled in its stead (queued like a link, so deduplicated like one).

use crate::page::{Page, Request};
use crate::url::{host_key, parse_request_url};

/// With `canonical_dedup`: a page that names another URL of its host as canonical is a
/// duplicate of it (`duplicate_of`), and that URL goes with its links (queued if unseen).
pub(super) fn canonical_of_duplicate(page: &mut Page) -> Option<Request> {
    let canonical = page.canonical.as_deref()?;
    if !(200..300).contains(&page.status) || page.error.is_some() {
        return None;
    }
    let (Ok(canonical_url), Ok(final_url)) = (
        parse_request_url(canonical),
        parse_request_url(&page.final_url),
    ) else {
        return None;
    };
    if canonical_url == final_url || host_key(&canonical_url) != host_key(&final_url) {
        return None;
    }
    page.duplicate_of = Some(canonical_url.to_string());
    Some(Request {
        depth: page.depth,
        meta: page.meta.clone(),
        ..Request::new(String::from(canonical_url))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, canonical: Option<&str>) -> Page {
        Page {
            url: url.into(),
            final_url: url.into(),
            status: 200,
            depth: 2,
            canonical: canonical.map(String::from),
            ..Page::default()
        }
    }

    #[test]
    fn another_url_of_the_host_makes_a_duplicate() {
        let mut dup = page("http://h/a?utm=x", Some("http://h/a"));
        let canonical = canonical_of_duplicate(&mut dup).unwrap();
        assert_eq!((canonical.url.as_str(), canonical.depth), ("http://h/a", 2));
        assert_eq!(dup.duplicate_of.as_deref(), Some("http://h/a"));
        for (url, canonical) in [
            ("http://h/a", Some("http://h/a")),     // itself
            ("http://h/a", Some("http://other/a")), // another host
            ("http://h/a", None),
        ] {
            let mut page = page(url, canonical);
            assert!(
                canonical_of_duplicate(&mut page).is_none(),
                "{url} {canonical:?}"
            );
            assert_eq!(page.duplicate_of, None);
        }
        let mut failed = page("http://h/b", Some("http://h/a"));
        failed.status = 404;
        assert!(canonical_of_duplicate(&mut failed).is_none());
    }
}

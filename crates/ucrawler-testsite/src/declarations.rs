//! Pages declaring how they want to be crawled, under `/declarations/`: `X-Robots-Tag` headers
//! (for every crawler, for our product token `ucrawler`, for another crawler), `rel="nofollow"`
//! links and canonical duplicates. None is linked from the normal site; tests seed
//! `/declarations/` (or a page). Every page is small HTML; each `X-Robots-Tag` page links to a
//! page of its own under `/declarations/behind/` that nothing else links, so whether its
//! links were followed shows in what was fetched. Below, "followed" is under the engine's
//! defaults (`follow_nofollow_links` true, `canonical_dedup` false) unless said otherwise, and
//! for a crawler whose User-Agent product token is `ucrawler` (the default one).
//!
//! | Path | Serves | What a correct crawler reports |
//! |------|--------|--------------------------------|
//! | `/declarations/` | links to the four tagged pages, `/declarations/rel-nofollow` and [`DUPLICATES`] | — |
//! | `/declarations/noindex` | `X-Robots-Tag: noindex`; links `/declarations/behind/noindex` | `noindex`, not `nofollow`; its link followed |
//! | `/declarations/nofollow` | `X-Robots-Tag: nofollow`; links `/declarations/behind/nofollow` | `nofollow`, not `noindex`; the link listed in `links`, never fetched |
//! | `/declarations/ours` | `X-Robots-Tag: ucrawler: none` (our product token) | `noindex` and `nofollow`; `/declarations/behind/ours` never fetched |
//! | `/declarations/theirs` | `X-Robots-Tag: otherbot: noindex, nofollow` (another crawler's) | neither; `/declarations/behind/theirs` followed |
//! | `/declarations/rel-nofollow` | [`NOFOLLOW_LINKS`] (`rel="nofollow"`, `rel="ugc NoFollow"`), and `/declarations/mixed` linked once `rel=nofollow`, once plainly | `nofollow_links` = those two, in that order (not `mixed`); followed by default, never fetched with `follow_nofollow_links` false; `mixed` always followed |
//! | `/declarations/dup?ref=a`, `/declarations/dup?ref=b` (any query, or none) | `<link rel="canonical" href="/declarations/canonical">` | with `canonical_dedup`: `duplicate_of` = `{base}`[`CANONICAL`] on both, and the canonical page crawled once (nothing else links it); without: no `duplicate_of`, the canonical page never fetched |
//! | `/declarations/canonical` | canonical of itself | no `duplicate_of` |
//! | `/declarations/behind/{name}`, `/declarations/sponsored`, `/declarations/ugc`, `/declarations/mixed` | a small page titled after its path, linking nowhere | — |
//!
//! A crawl seeded with `/declarations/` finds exactly [`reachable`]`(follow_nofollow_links,
//! canonical_dedup)`: [`PAGES_FOUND`] pages with the defaults, 2 fewer without nofollow links,
//! 1 more with canonical dedup.

use std::collections::BTreeSet;

use hyper::header::HeaderName;
use hyper::Response;

use crate::body::Body;
use crate::reply::{html, page_text, with_header};

/// The `X-Robots-Tag` pages, with the header each sends (each links `/declarations/behind/{name}`).
pub const TAGGED: [(&str, &str); 4] = [
    ("noindex", "noindex"),
    ("nofollow", "nofollow"),
    ("ours", "ucrawler: none"),
    ("theirs", "otherbot: noindex, nofollow"),
];
/// The links of `/declarations/rel-nofollow` every anchor to which is `rel="nofollow"`.
pub const NOFOLLOW_LINKS: [&str; 2] = ["/declarations/sponsored", "/declarations/ugc"];
/// Linked from `/declarations/rel-nofollow` both `rel=nofollow` and plainly: not a nofollow link.
pub const MIXED: &str = "/declarations/mixed";
/// The canonical duplicates linked from `/declarations/`.
pub const DUPLICATES: [&str; 2] = ["/declarations/dup?ref=a", "/declarations/dup?ref=b"];
/// What the duplicates declare canonical; linked from nowhere.
pub const CANONICAL: &str = "/declarations/canonical";
/// Pages a crawl seeded with `/declarations/` finds with the engine's defaults.
pub const PAGES_FOUND: usize = 13;

const X_ROBOTS_TAG: HeaderName = HeaderName::from_static("x-robots-tag");

/// The paths (with query) a crawl seeded with `/declarations/` finds, with these two options
/// (and a crawler whose product token is `ucrawler`, no depth limit).
pub fn reachable(follow_nofollow_links: bool, canonical_dedup: bool) -> BTreeSet<String> {
    let mut paths: BTreeSet<String> = ["/declarations/", "/declarations/rel-nofollow", MIXED]
        .into_iter()
        .chain(DUPLICATES)
        .map(String::from)
        .collect();
    for (name, _) in TAGGED {
        paths.insert(format!("/declarations/{name}"));
    }
    paths.insert("/declarations/behind/noindex".into());
    paths.insert("/declarations/behind/theirs".into());
    if follow_nofollow_links {
        paths.extend(NOFOLLOW_LINKS.map(String::from));
    }
    if canonical_dedup {
        paths.insert(CANONICAL.into());
    }
    paths
}

/// The response for a `/declarations/...` path (the query is ignored), or `None`.
pub(crate) fn respond(path: &str) -> Option<Response<Body>> {
    let name = path.strip_prefix("/declarations/")?;
    if let Some(&(_, tag)) = TAGGED.iter().find(|(n, _)| *n == name) {
        let link = format!("<a href=\"/declarations/behind/{name}\">more</a>\n");
        let body = page_text(&format!("X-Robots-Tag: {tag}"), &link);
        return Some(with_header(html(200, body), X_ROBOTS_TAG, tag));
    }
    let body = match name {
        "" => index(),
        "rel-nofollow" => rel_nofollow(),
        "dup" => with_canonical("Duplicate"),
        "canonical" => with_canonical("Canonical"),
        "sponsored" | "ugc" | "mixed" => page_text(path, ""),
        _ => {
            let behind = name.strip_prefix("behind/")?;
            TAGGED.iter().find(|(n, _)| *n == behind)?;
            page_text(path, "")
        }
    };
    Some(html(200, body))
}

fn index() -> String {
    let tagged = TAGGED
        .iter()
        .map(|(name, _)| format!("/declarations/{name}"));
    let links: String = tagged
        .chain(["/declarations/rel-nofollow".to_string()])
        .chain(DUPLICATES.map(String::from))
        .map(|href| format!("<a href=\"{href}\">{href}</a>\n"))
        .collect();
    page_text("Declarations", &links)
}

fn rel_nofollow() -> String {
    let links = format!(
        "<a rel=\"nofollow\" href=\"{}\">sponsored</a>\n\
         <a rel=\"ugc NoFollow\" href=\"{}\">comment</a>\n\
         <a rel=nofollow href=\"{MIXED}\">mixed</a>\n\
         <a href=\"{MIXED}#again\">mixed again</a>\n",
        NOFOLLOW_LINKS[0], NOFOLLOW_LINKS[1]
    );
    page_text("rel=nofollow links", &links)
}

fn with_canonical(title: &str) -> String {
    let link = format!("<link rel=\"canonical\" href=\"{CANONICAL}\">");
    page_text(title, "").replacen("</head>", &format!("{link}</head>"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(path: &str) -> Option<String> {
        let resp = respond(path)?;
        let value = resp.headers().get("x-robots-tag")?;
        Some(value.to_str().unwrap().to_string())
    }

    #[test]
    fn every_page_is_routed_and_the_index_links_the_seeds() {
        let index = index();
        for (name, tag) in TAGGED {
            let path = format!("/declarations/{name}");
            assert_eq!(header(&path).as_deref(), Some(tag));
            assert!(index.contains(&format!("\"{path}\"")));
            assert!(respond(&format!("/declarations/behind/{name}")).is_some());
        }
        for path in DUPLICATES {
            assert!(index.contains(&format!("\"{path}\"")));
        }
        for path in reachable(true, true) {
            let path = path.split('?').next().unwrap();
            assert_eq!(respond(path).unwrap().status(), 200, "{path}");
        }
        assert!(header("/declarations/").is_none());
        assert!(respond("/declarations/behind/other").is_none());
        assert!(respond("/declarations/other").is_none());
        assert!(respond("/structured/").is_none());
    }

    #[test]
    fn counts_match_the_table() {
        assert_eq!(reachable(true, false).len(), PAGES_FOUND);
        assert_eq!(reachable(false, false).len(), PAGES_FOUND - 2);
        assert_eq!(reachable(true, true).len(), PAGES_FOUND + 1);
        assert!(!index().contains(CANONICAL));
        let dup = with_canonical("Duplicate");
        assert!(dup.contains("<link rel=\"canonical\" href=\"/declarations/canonical\"></head>"));
        let rel = rel_nofollow();
        assert_eq!(rel.matches(MIXED).count(), 2);
        assert_eq!(rel.matches("<a rel=").count(), 3);
    }
}

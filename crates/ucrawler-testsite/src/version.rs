//! One version of a page: its links (given the timeline) and its HTML.
//!
//! Version 0 of an original page is the original page. A later version keeps the original
//! links to pages still live then, and adds links to the pages it adopted. A page added in
//! generation `b` links 20–80 pages that were live before `b` (never another new page, so new
//! pages are found only through changed ones). A version never changes once made, so a page
//! that does not change is served byte for byte the same.

use crate::html::{self, PageSpec};
use crate::links::{self, Link};
use crate::rng::{Rng, STREAM_LINKS};
use crate::timeline::Timeline;

/// The navigation bar and body links of page `id` at `version`.
pub(crate) fn links(t: &Timeline, id: usize, version: u32) -> (Vec<Link>, Vec<Link>) {
    let (seed, pages) = (t.seed(), t.pages());
    let nav = links::nav_links(pages);
    if version == 0 && id < pages {
        return (nav.collect(), links::body_links(seed, pages, id));
    }
    let live = |link: &Link| t.is_live(link.target, version);
    let nav = nav.filter(live).collect();
    let mut body = if id < pages {
        links::body_links(seed, pages, id)
    } else {
        added_links(t, id)
    };
    body.retain(live);
    for &child in t.adopted(id) {
        if t.born(child) <= version && t.is_live(child, version) {
            let mut rng = Rng::new(seed, child as u64, STREAM_LINKS);
            body.push(links::spell(&mut rng, child, false));
        }
    }
    (nav, body)
}

/// The body links of a page added in generation `born`: pages live before it.
fn added_links(t: &Timeline, id: usize) -> Vec<Link> {
    let born = t.born(id);
    let before = t.ids(born.saturating_sub(1)) as u64;
    let mut rng = Rng::new(t.seed(), id as u64, STREAM_LINKS);
    let total = rng.range(20, 80) as usize;
    let mut out = Vec::with_capacity(total);
    for _ in 0..total * 4 {
        if out.len() == total {
            break;
        }
        let target = rng.below(before) as usize;
        if t.is_live(target, born) {
            out.push(links::spell(&mut rng, target, false));
        }
    }
    out
}

/// Calls `f(target, sort)` for every in-site `<a href>` of page `id` at `version` (navigation
/// bar, logo and footer "Home" links included).
pub(crate) fn for_each_link(t: &Timeline, id: usize, version: u32, mut f: impl FnMut(usize, bool)) {
    let (nav, body) = links(t, id, version);
    f(0, false); // logo and footer
    for link in nav.iter().chain(&body) {
        f(link.target, link.sort);
    }
}

/// The HTML of page `id` at `version`, with absolute links on `base`.
pub(crate) fn html(t: &Timeline, id: usize, version: u32, base: &str) -> String {
    let (nav, body) = links(t, id, version);
    html::page(
        &PageSpec {
            seed: t.seed(),
            pages: t.pages(),
            id,
            version,
            nav: &nav,
            body: &body,
        },
        base,
    )
}

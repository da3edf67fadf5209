//! The mixed site of `/render/mixed/` (and `/render/mixed-{M}/`): page 0 is the root, page
//! `i` is `{root}{i}`; every 10th page (10, 20, ...) is a script-built shell, the others are
//! plain pages with three paragraphs of text and `<a>` links. Pages are grouped by tens: a
//! plain page links the next plain page of its ten, one more of its ten, the next ten's shell
//! and the root; a shell (once rendered) links the first plain page of its ten, the next
//! shell and the root. So the plain pages of a ten other than the first are linked only by
//! its shell, and a crawler that does not render finds the first ten and the shell of the
//! second only.

use std::collections::BTreeSet;

use hyper::Response;

use super::pages::{inline, shell};
use crate::body::Body;
use crate::reply::{html, page_text};
use crate::site::{normalized_origin, parse_number};

/// Pages of `/render/mixed/` (the root included).
pub const MIXED_PAGES: usize = 200;
/// The most pages of a sized mixed site `/render/mixed-{M}/`.
pub const MAX_MIXED_PAGES: usize = 1_000_000;

/// Sentences of the plain pages' text (rotated per page).
const SENTENCES: [&str; 8] = [
    "The harbour office opens at dawn and closes when the last ferry is tied up for the night.",
    "Every crate on the quay carries a label written by hand, in ink that the rain cannot wash out.",
    "A map of the old town hangs by the door, with the streets that flood in spring marked in blue.",
    "The bakery on the corner sells rye bread on Tuesdays and almond cake on the first of the month.",
    "Walkers follow the cliff path to the lighthouse, where a keeper still logs the passing ships.",
    "The library keeps a shelf of tide tables going back two hundred years, bound in green cloth.",
    "On market days the square fills with stalls of cheese, rope, honey and secondhand tools.",
    "The school choir rehearses in the chapel, whose organ was rebuilt after the storm of the winter.",
];

/// The root of a mixed site of `pages` pages: `/render/mixed/` for [`MIXED_PAGES`], else
/// `/render/mixed-{pages}/`.
pub fn mixed_root(pages: usize) -> String {
    match pages {
        MIXED_PAGES => "/render/mixed/".to_string(),
        _ => format!("/render/mixed-{pages}/"),
    }
}

/// The path of page `i` of a mixed site of `pages` pages (`i` 0 is [`mixed_root`]).
fn path(pages: usize, i: usize) -> String {
    match i {
        0 => mixed_root(pages),
        _ => format!("{}{i}", mixed_root(pages)),
    }
}

/// What a crawl of `{base}/render/mixed/` finds: all [`MIXED_PAGES`] pages when it renders
/// the shells (`render: always` or `auto`), only the first 11 (the root, 1–9 and the shell 10)
/// when it does not. URLs as the `url` crate writes them (`{base}/render/mixed/`,
/// `{base}/render/mixed/7`).
pub fn expected_mixed(base: &str, rendered: bool) -> BTreeSet<String> {
    expected_mixed_sized(base, MIXED_PAGES, rendered)
}

/// [`expected_mixed`] for the site of `pages` pages under [`mixed_root`]`(pages)`.
pub fn expected_mixed_sized(base: &str, pages: usize, rendered: bool) -> BTreeSet<String> {
    let origin = normalized_origin(base);
    let pages = pages.clamp(1, MAX_MIXED_PAGES);
    let mut seen = vec![false; pages];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(i) = stack.pop() {
        if is_shell(i) && !rendered {
            continue;
        }
        for n in links(pages, i) {
            if !std::mem::replace(&mut seen[n], true) {
                stack.push(n);
            }
        }
    }
    let found = seen.iter().enumerate().filter(|(_, seen)| **seen);
    found
        .map(|(i, _)| format!("{origin}{}", path(pages, i)))
        .collect()
}

/// Whether page `i` is a script-built shell.
pub(super) fn is_shell(i: usize) -> bool {
    i > 0 && i % 10 == 0
}

/// The pages page `i` links (a shell: once rendered), in order, without repeats.
pub(super) fn links(pages: usize, i: usize) -> Vec<usize> {
    let ten = i - i % 10;
    let candidates = match is_shell(i) {
        true => [Some(ten + 1), Some(ten + 10), Some(0)],
        false => [
            Some(i + 1).filter(|n| n % 10 != 0),
            Some(ten + (i * 7 + 3) % 10).filter(|n| n % 10 != 0),
            Some(ten + 10),
        ],
    };
    let mut out: Vec<usize> = Vec::with_capacity(4);
    let root = (!is_shell(i)).then_some(0);
    for n in candidates.into_iter().chain([root]).flatten() {
        if n < pages && n != i && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// `(pages, i)` for `mixed/`, `mixed/{i}`, `mixed-{M}/` or `mixed-{M}/{i}` (the path after
/// `/render/`); `i` may be past the site's end.
pub(super) fn parse(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("mixed")?;
    let (pages, page) = match rest.strip_prefix('/') {
        Some(page) => (MIXED_PAGES, page),
        None => {
            let (pages, page) = rest.strip_prefix('-')?.split_once('/')?;
            let pages = parse_number(pages).filter(|p| (1..=MAX_MIXED_PAGES).contains(p))?;
            (pages, page)
        }
    };
    match page {
        "" => Some((pages, 0)),
        _ => Some((pages, parse_number(page).filter(|&i| i > 0)?)),
    }
}

/// The title of page `i`: `Render: mixed home` for the root, else `Render: mixed {i}`.
pub(super) fn title(i: usize) -> String {
    match i {
        0 => "Render: mixed home".to_string(),
        _ => format!("Render: mixed {i}"),
    }
}

/// Page `i` (< `pages`) of a mixed site.
pub(super) fn page(pages: usize, i: usize) -> Response<Body> {
    let links = links(pages, i);
    if is_shell(i) {
        let list: Vec<String> = links.iter().map(|n| n.to_string()).collect();
        let name = mixed_root(pages);
        let name = name.trim_start_matches("/render/");
        let code = format!(
            "var base = P('{name}');\n\
             [{}].forEach(function (n) {{ A(n ? base + n : base, n ? 'page ' + n : 'home'); }});\n",
            list.join(", ")
        );
        return html(200, shell("", "", &inline(&path(pages, i), &code)));
    }
    let mut extra = String::from("<nav>\n");
    for &n in &links {
        let label = if n == 0 {
            "home".into()
        } else {
            format!("page {n}")
        };
        extra.push_str(&format!("<a href=\"{}\">{label}</a>\n", path(pages, n)));
    }
    extra.push_str("</nav>\n");
    for p in 0..3 {
        extra.push_str("<p>");
        for s in 0..4 {
            if s > 0 {
                extra.push(' ');
            }
            extra.push_str(SENTENCES[(i + p * 4 + s) % SENTENCES.len()]);
        }
        extra.push_str("</p>\n");
    }
    html(200, page_text(&title(i), &extra))
}

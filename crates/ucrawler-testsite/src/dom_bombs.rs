//! Pages that are small as HTML and huge (or slow) as a DOM, for crawls with `extract` rules.
//! Each has a `<title>`, a link to [`DOM_BOMB_TARGET`] and a `<p class=price>` before the bomb.
//!
//! | Path | Body | What a DOM without bounds does |
//! |------|------|--------------------------------|
//! | `/hostile/dom/nested-divs` | [`NESTED_DIVS`] nested `<div>` (~1 MB) | html5ever scans its stack of open elements per tag: quadratic, minutes |
//! | `/hostile/dom/formatting-bomb` | [`BOMB_TAGS`] distinct `<b>`-like tags left open in a paragraph, then [`BOMB_PARAGRAPHS`] paragraphs (~27 KB) | each paragraph re-creates every open formatting element: 2.25 M elements, ~390 MiB |
//! | `/hostile/dom/formatting-bomb-shallow` | the same with [`SHALLOW_BOMB_TAGS`] tags (nesting stays shallow) and [`SHALLOW_BOMB_PARAGRAPHS`] paragraphs (~26 KB) | 600 k elements, ~100 MiB |
//! | `/hostile/dom/target` | a small page | — |

use std::fmt::Write;

use hyper::Response;

use crate::body::Body;
use crate::reply::{html, small_page};

/// `<div>`s nested in `/hostile/dom/nested-divs`.
pub const NESTED_DIVS: usize = 200_000;
/// Formatting elements left open in `/hostile/dom/formatting-bomb`.
pub const BOMB_TAGS: usize = 1_500;
/// Paragraphs re-opening them.
pub const BOMB_PARAGRAPHS: usize = 1_500;
/// Formatting elements left open in `/hostile/dom/formatting-bomb-shallow`.
pub const SHALLOW_BOMB_TAGS: usize = 200;
/// Paragraphs re-opening them.
pub const SHALLOW_BOMB_PARAGRAPHS: usize = 3_000;
/// The link every DOM bomb carries.
pub const DOM_BOMB_TARGET: &str = "/hostile/dom/target";

/// Tags the HTML parser re-opens (its "formatting elements").
const FORMATTING: [&str; 12] = [
    "b", "i", "u", "s", "em", "strong", "big", "small", "tt", "code", "font", "strike",
];

pub(crate) fn respond(path: &str) -> Option<Response<Body>> {
    let resp = match path.strip_prefix("/hostile/dom/")? {
        "nested-divs" => html(200, nested_divs()),
        "formatting-bomb" => html(200, formatting_bomb(BOMB_TAGS, BOMB_PARAGRAPHS)),
        "formatting-bomb-shallow" => html(
            200,
            formatting_bomb(SHALLOW_BOMB_TAGS, SHALLOW_BOMB_PARAGRAPHS),
        ),
        "target" => small_page(200, "DOM bomb target"),
        _ => return None,
    };
    Some(resp)
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>{title}</title></head><body>\
         <a href=\"{DOM_BOMB_TARGET}\">target</a><p class=price>1.00</p>"
    )
}

fn nested_divs() -> String {
    let mut page = head("Nested divs");
    page.reserve(NESTED_DIVS * 5);
    for _ in 0..NESTED_DIVS {
        page.push_str("<div>");
    }
    page
}

/// Formatting elements left open in a closed paragraph stay on the parser's list of active
/// formatting elements; each later paragraph with text re-creates all of them. Distinct
/// attributes keep the parser's three-of-a-kind limit (its "Noah's Ark" clause) out of play.
fn formatting_bomb(tags: usize, paragraphs: usize) -> String {
    let mut page = head("Formatting bomb");
    page.push_str("<p>");
    for i in 0..tags {
        let tag = FORMATTING[i % FORMATTING.len()];
        let _ = write!(page, "<{tag} n={}>", i / FORMATTING.len());
    }
    page.push_str("</p>");
    for _ in 0..paragraphs {
        page.push_str("<p>x</p>");
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_as_documented() {
        let len = |path: &str| {
            let resp = respond(path).expect("routed");
            assert_eq!(resp.status(), 200);
            resp.body().len().expect("full body")
        };
        let nested = len("/hostile/dom/nested-divs");
        assert!((1_000_000..1_100_000).contains(&nested), "{nested}");
        let bomb = len("/hostile/dom/formatting-bomb");
        assert!((20_000..32_000).contains(&bomb), "{bomb}");
        let shallow = len("/hostile/dom/formatting-bomb-shallow");
        assert!((20_000..40_000).contains(&shallow), "{shallow}");
        assert!(respond("/hostile/dom/target").is_some());
        assert!(respond("/hostile/dom/other").is_none());
    }
}

//! Pages declaring structured data under `/structured/`: JSON-LD blocks and OpenGraph / Twitter
//! card `<meta>` properties, valid and not. None is linked from the normal site; tests use them
//! as seeds (or `/structured/` with depth 1).
//!
//! | Path | Serves | What a correct crawler reports |
//! |------|--------|--------------------------------|
//! | `/structured/` | links to every page below | — |
//! | `/structured/product` | a `Product` block ([`PRODUCT_NAME`], offers at [`PRODUCT_PRICE`]), a `@graph` block (`BreadcrumbList`, `Organization`) in the body, OpenGraph and Twitter properties ([`PRODUCT_OG_TITLE`], two `og:image`) | both blocks as they are, the properties |
//! | `/structured/invalid` | a valid block between one with a trailing comma and an empty one | the valid block; errors for blocks 1 and 3 |
//! | `/structured/huge` | a block of [`HUGE_BLOCK_BYTES`] (past a 256 KiB cap), then a small valid one | the small block; an error for block 1 |
//! | `/structured/many` | [`MANY_BLOCKS`] small blocks (`{"n": i}`) | the first ones up to its cap; an error counting the rest |
//! | `/structured/open-graph` | properties in mixed case, `name=` and `property=`, [`MANY_IMAGES`] `og:image` values, one [`LONG_VALUE_BYTES`]-byte value, others' `<meta>` (`description`, `fb:app_id`) | the OpenGraph / Twitter ones, bounded |

use std::fmt::Write;

use hyper::Response;

use crate::body::Body;
use crate::reply::{html, page_text};

/// `name` of the `Product` on `/structured/product`.
pub const PRODUCT_NAME: &str = "Desk lamp";
/// Its `offers.price` (a string, as schema.org examples write it).
pub const PRODUCT_PRICE: &str = "19.99";
/// `og:title` of `/structured/product`.
pub const PRODUCT_OG_TITLE: &str = "Desk lamp — Example shop";
/// Bytes of the first block of `/structured/huge`.
pub const HUGE_BLOCK_BYTES: usize = 300 << 10;
/// JSON-LD blocks on `/structured/many`.
pub const MANY_BLOCKS: usize = 40;
/// `og:image` values on `/structured/open-graph`.
pub const MANY_IMAGES: usize = 100;
/// Bytes of `og:description` on `/structured/open-graph`.
pub const LONG_VALUE_BYTES: usize = 10 << 10;

/// Every page, for the index.
const PAGES: [&str; 5] = ["product", "invalid", "huge", "many", "open-graph"];

/// The response for a `/structured/...` path, or `None` if it is not one.
pub(crate) fn respond(path: &str) -> Option<Response<Body>> {
    let body = match path.strip_prefix("/structured/")? {
        "" => index(),
        "product" => product(),
        "invalid" => invalid(),
        "huge" => huge(),
        "many" => many(),
        "open-graph" => open_graph(),
        _ => return None,
    };
    Some(html(200, body))
}

fn json_ld(text: &str) -> String {
    format!("<script type=\"application/ld+json\">{text}</script>\n")
}

/// A page with `head` in its `<head>` and `body` in its `<body>`.
fn page(title: &str, head: &str, body: &str) -> String {
    let mut page = page_text(title, body);
    page = page.replacen("</head>", &format!("{head}</head>"), 1);
    page
}

fn index() -> String {
    let links: String = PAGES
        .iter()
        .map(|name| format!("<a href=\"/structured/{name}\">{name}</a>\n"))
        .collect();
    page_text("Structured data", &links)
}

fn product() -> String {
    let product = format!(
        r#"{{"@context": "https://schema.org", "@type": "Product", "name": "{PRODUCT_NAME}",
  "image": ["/img/lamp-1.jpg", "/img/lamp-2.jpg"],
  "offers": {{"@type": "Offer", "price": "{PRODUCT_PRICE}", "priceCurrency": "EUR"}}}}"#
    );
    let graph = r#"{"@context": "https://schema.org", "@graph": [
  {"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Lamps"}]},
  {"@type": "Organization", "name": "Example shop"}]}"#;
    let head = format!(
        "{}<meta property=\"og:title\" content=\"{PRODUCT_OG_TITLE}\">\n\
         <meta property=\"og:type\" content=\"product\">\n\
         <meta property=\"og:image\" content=\"/img/lamp-1.jpg\">\n\
         <meta property=\"og:image\" content=\"/img/lamp-2.jpg\">\n\
         <meta name=\"twitter:card\" content=\"summary_large_image\">\n",
        json_ld(&product)
    );
    page(PRODUCT_NAME, &head, &json_ld(graph))
}

fn invalid() -> String {
    let blocks = [
        json_ld(r#"{"@type": "Broken", "name": "x",}"#),
        json_ld(r#"{"@type": "WebPage", "name": "Fine"}"#),
        json_ld(""),
    ];
    page("Invalid JSON-LD", &blocks.concat(), "")
}

fn huge() -> String {
    let filler = "x".repeat(HUGE_BLOCK_BYTES - 20);
    let head = json_ld(&format!(r#"{{"description": "{filler}"}}"#))
        + &json_ld(r#"{"@type": "WebPage", "name": "After the huge one"}"#);
    page("Huge JSON-LD", &head, "")
}

fn many() -> String {
    let mut head = String::new();
    for i in 0..MANY_BLOCKS {
        head.push_str(&json_ld(&format!(r#"{{"n": {i}}}"#)));
    }
    page("Many JSON-LD blocks", &head, "")
}

fn open_graph() -> String {
    let mut head = String::from(
        "<meta property=\"OG:Title\" content=\"  Mixed   case &amp; spaces \">\n\
         <meta name=\"twitter:card\" content=\"summary\">\n\
         <meta property=\"twitter:site\" content=\"@example\">\n\
         <meta name=\"og:site_name\" content=\"Named, not a property\">\n\
         <meta name=\"description\" content=\"not OpenGraph\">\n\
         <meta property=\"fb:app_id\" content=\"12345\">\n\
         <meta property=\"article:published_time\" content=\"2024-05-01T10:00:00Z\">\n",
    );
    let _ = writeln!(
        head,
        "<meta property=\"og:description\" content=\"{}\">",
        "d".repeat(LONG_VALUE_BYTES)
    );
    for i in 0..MANY_IMAGES {
        let _ = writeln!(
            head,
            "<meta property=\"og:image\" content=\"/img/{i}.jpg\">"
        );
    }
    page("OpenGraph", &head, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_routed_and_linked() {
        for name in PAGES {
            assert!(respond(&format!("/structured/{name}")).is_some(), "{name}");
            assert!(index().contains(&format!("/structured/{name}\"")));
        }
        assert!(respond("/structured/").is_some());
        assert!(respond("/structured/other").is_none());
        assert!(respond("/hostile/structured").is_none());
    }

    #[test]
    fn pages_hold_what_the_table_says() {
        assert!(huge().len() > HUGE_BLOCK_BYTES);
        assert_eq!(many().matches("application/ld+json").count(), MANY_BLOCKS);
        assert_eq!(open_graph().matches("og:image").count(), MANY_IMAGES);
        let product = product();
        assert!(product.contains(PRODUCT_OG_TITLE) && product.contains(PRODUCT_PRICE));
        assert!(product.find("@graph") > product.find("<body>"));
    }
}

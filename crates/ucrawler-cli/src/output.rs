//! The pages the CLI writes: one JSON object per page, a line each (the progress line and the
//! end report on stderr are in progress.rs and report.rs).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use ucrawler::{Change, CrawlError, Page};

/// One line of `crawl` output.
#[derive(Serialize)]
struct PageLine<'a> {
    url: &'a str,
    final_url: &'a str,
    /// null when there was no HTTP response (robots.txt, a connect error, a refused address).
    status: Option<u16>,
    content_type: Option<&'a str>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    canonical: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<&'a str>,
    /// `<meta name=robots>` or `X-Robots-Tag`: noindex, and nofollow (its links not followed).
    noindex: bool,
    nofollow: bool,
    links: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    nofollow_links: &'a [String],
    extracted: &'a BTreeMap<String, Vec<String>>,
    /// JSON-LD blocks as the page wrote them; the ones that did not parse, in json_ld_errors.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    json_ld: &'a [serde_json::Value],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    json_ld_errors: &'a [String],
    /// OpenGraph and Twitter card properties: name => values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    open_graph: &'a BTreeMap<String, Vec<String>>,
    depth: u32,
    bytes: u64,
    truncated: bool,
    attempts: u32,
    elapsed_ms: f64,
    error: Option<&'a CrawlError>,
    /// Against the page's last visit (a recrawl): new, changed, unchanged, gone; null when
    /// this visit tells nothing.
    change: Option<Change>,
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
    content_hash: Option<&'a str>,
    /// The `<lastmod>` of the sitemap that listed the URL (`--sitemaps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    lastmod: Option<&'a str>,
    /// Rendered in Chromium (`--render`), and how long that took; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    render_ms: Option<f64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    headers: &'a [(String, String)],
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
}

pub fn write_page(out: &mut impl Write, page: &Page) -> std::io::Result<()> {
    let line = PageLine {
        url: &page.url,
        final_url: &page.final_url,
        status: Some(page.status).filter(|&status| status != 0),
        content_type: page.content_type.as_deref(),
        title: page.title.as_deref(),
        description: page.description.as_deref(),
        canonical: page.canonical.as_deref(),
        duplicate_of: page.duplicate_of.as_deref(),
        noindex: page.noindex,
        nofollow: page.nofollow,
        links: &page.links,
        nofollow_links: &page.nofollow_links,
        extracted: &page.extracted,
        json_ld: &page.json_ld,
        json_ld_errors: &page.json_ld_errors,
        open_graph: &page.open_graph,
        depth: page.depth,
        bytes: page.bytes,
        truncated: page.truncated,
        attempts: page.attempts,
        elapsed_ms: page.elapsed().as_secs_f64() * 1000.0,
        error: page.error.as_ref(),
        change: page.change,
        etag: page.etag.as_deref(),
        last_modified: page.last_modified.as_deref(),
        content_hash: page.content_hash.as_deref(),
        lastmod: page.lastmod.as_deref(),
        render_ms: page
            .rendered
            .then_some(page.timings.render.as_secs_f64() * 1000.0),
        headers: &page.headers,
        body: page.body.as_deref(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn line(page: &Page) -> Value {
        let mut out = Vec::new();
        write_page(&mut out, page).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn structured_data_only_when_the_page_declares_some() {
        let mut page = Page {
            url: "http://h/".into(),
            ..Page::default()
        };
        let plain = line(&page);
        for key in ["json_ld", "json_ld_errors", "open_graph"] {
            assert!(plain.get(key).is_none(), "{key}");
        }
        page.json_ld = vec![json!({"@type": "Product", "offers": {"price": "9.99"}})];
        page.json_ld_errors = vec!["block 2: trailing comma at line 1 column 9".into()];
        (page.open_graph).insert("og:image".into(), vec!["/a.jpg".into(), "/b.jpg".into()]);
        let declared = line(&page);
        assert_eq!(
            declared["json_ld"],
            json!([{"@type": "Product", "offers": {"price": "9.99"}}])
        );
        assert_eq!(
            declared["json_ld_errors"][0],
            "block 2: trailing comma at line 1 column 9"
        );
        assert_eq!(
            declared["open_graph"],
            json!({"og:image": ["/a.jpg", "/b.jpg"]})
        );
    }
}

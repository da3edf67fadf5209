//! [`Site`]: the pure, deterministic generator of the normal site (no I/O except `export`).

use std::collections::BTreeSet;
use std::path::Path;

use crate::links::{self, Link};
use crate::{html, SiteConfig};

/// The default `/robots.txt`.
pub const DEFAULT_ROBOTS_TXT: &str = "User-agent: *\nDisallow: /private/\n";

/// A tiny but valid JPEG-looking body for `/img/N.jpg`.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// A rendered response body of the normal site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// `content-type` of HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// The synthetic site: page 0 is `/`, page `i` (1..pages) is `/page/{i}.html`.
#[derive(Clone, Debug)]
pub struct Site {
    pages: usize,
    seed: u64,
    robots_txt: String,
}

impl Site {
    /// A site of `config.pages` pages (at least 1).
    pub fn new(config: SiteConfig) -> Site {
        Site {
            pages: config.pages.max(1),
            seed: config.seed,
            robots_txt: config
                .robots_txt
                .unwrap_or_else(|| DEFAULT_ROBOTS_TXT.to_string()),
        }
    }

    /// Number of pages (including `/`).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The `/robots.txt` body.
    pub fn robots_txt(&self) -> &str {
        &self.robots_txt
    }

    /// Root-relative path of page `id`: `/` or `/page/{id}.html`.
    pub fn page_path(id: usize) -> String {
        let mut out = String::with_capacity(24);
        links::push_page_path(&mut out, id);
        out
    }

    /// The `<title>` of page `id` (also its `<h1>`), e.g. `"Page 17 — Ember river"`.
    pub fn page_title(&self, id: usize) -> String {
        html::title(self.seed, id)
    }

    /// The text of page `id`'s `<span class="price">`, e.g. `"$12.05"`.
    pub fn page_price(&self, id: usize) -> String {
        html::price(self.seed, id)
    }

    /// The HTML of page `id` with absolute links on `base`, or `None` if `id >= pages`.
    pub fn page_html(&self, base: &str, id: usize) -> Option<String> {
        (id < self.pages).then(|| html::page(self.seed, self.pages, id, base))
    }

    /// Body + content-type for a path+query on a given base (`http://127.0.0.1:PORT`, no
    /// trailing slash), or `None` (404). Serves `/`, `/page/{i}.html` (any query, e.g.
    /// `?sort=asc`, gives the same page), `/robots.txt`, `/img/{n}.jpg` and `/private/*`.
    pub fn render(&self, base: &str, path_and_query: &str) -> Option<Rendered> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        let html = |body: String| Rendered {
            content_type: HTML,
            body: body.into_bytes(),
        };
        if let Some(id) = parse_page_path(path) {
            return self.page_html(base, id).map(html);
        }
        if path == "/robots.txt" {
            return Some(Rendered {
                content_type: "text/plain; charset=utf-8",
                body: self.robots_txt.clone().into_bytes(),
            });
        }
        if let Some(n) = path
            .strip_prefix("/img/")
            .and_then(|f| f.strip_suffix(".jpg"))
        {
            return parse_number(n).map(|_| Rendered {
                content_type: "image/jpeg",
                body: JPEG.to_vec(),
            });
        }
        if path.starts_with("/private/") {
            return Some(html(
                "<!DOCTYPE html>\n<html><head><title>Private</title></head>\
                 <body><p>This page is disallowed by robots.txt.</p></body></html>\n"
                    .to_string(),
            ));
        }
        None
    }

    /// Calls `f(target, sort)` for every in-site `<a href>` on page `id` (navigation bar,
    /// logo and footer "Home" links included).
    fn for_each_link(&self, id: usize, mut f: impl FnMut(usize, bool)) {
        f(0, false); // logo and footer
        for link in links::nav_links(self.pages) {
            f(link.target, false);
        }
        for Link { target, sort, .. } in links::body_links(self.seed, self.pages, id) {
            f(target, sort);
        }
    }

    /// The exact set of absolute normalized URLs a correct same-host crawler finds starting at
    /// `base + "/"`, following `<a href>` links only, fragments removed, within a BFS depth
    /// limit (`None` = unlimited, `Some(0)` = only `/`).
    ///
    /// URLs are in the form the `url` crate produces, e.g. `http://127.0.0.1:8080/page/5.html`
    /// and `http://127.0.0.1:8080/page/5.html?sort=asc`.
    pub fn expected_urls(&self, base: &str, depth: Option<u32>) -> BTreeSet<String> {
        let origin = normalized_origin(base);
        // Node n = 2 * page + sort.
        let mut seen = vec![false; self.pages * 2];
        let mut frontier = vec![0usize];
        seen[0] = true;
        let mut level = 0u32;
        while !frontier.is_empty() && depth.is_none_or(|max| level < max) {
            let mut next = Vec::new();
            for &node in &frontier {
                self.for_each_link(node / 2, |target, sort| {
                    let n = target * 2 + usize::from(sort);
                    if !seen[n] {
                        seen[n] = true;
                        next.push(n);
                    }
                });
            }
            frontier = next;
            level += 1;
        }
        let mut urls = BTreeSet::new();
        let mut url = String::with_capacity(origin.len() + 32);
        for (n, _) in seen.iter().enumerate().filter(|(_, seen)| **seen) {
            url.clear();
            url.push_str(&origin);
            links::push_page_path(&mut url, n / 2);
            if n % 2 == 1 {
                url.push_str("?sort=asc");
            }
            urls.insert(url.clone());
        }
        urls
    }

    /// Writes every page as a static file under `dir` (`index.html` for `/`,
    /// `page/{i}.html`, plus `robots.txt`) so a static server such as nginx can serve the
    /// site; absolute links in the files use `base`. Returns the number of pages written.
    /// (`/page/{i}.html?sort=asc` is served from the same file by any static server.)
    pub fn export(&self, dir: &Path, base: &str) -> std::io::Result<usize> {
        std::fs::create_dir_all(dir.join("page"))?;
        std::fs::write(dir.join("robots.txt"), &self.robots_txt)?;
        std::fs::write(
            dir.join("index.html"),
            html::page(self.seed, self.pages, 0, base),
        )?;
        for id in 1..self.pages {
            let name = dir.join("page").join(format!("{id}.html"));
            std::fs::write(name, html::page(self.seed, self.pages, id, base))?;
        }
        Ok(self.pages)
    }
}

/// `/` → 0, `/page/{i}.html` → i (canonical decimal, no leading zeros).
fn parse_page_path(path: &str) -> Option<usize> {
    if path == "/" {
        return Some(0);
    }
    let n = path.strip_prefix("/page/")?.strip_suffix(".html")?;
    parse_number(n).filter(|&id| id > 0)
}

/// A canonical decimal number (no sign, no leading zeros).
pub(crate) fn parse_number(s: &str) -> Option<usize> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// `scheme://host[:port]` as the `url` crate normalizes it (lower-case host, default port
/// dropped), without a trailing slash.
fn normalized_origin(base: &str) -> String {
    match url::Url::parse(base) {
        Ok(url) => {
            let mut s = url
                .join("/")
                .map_or_else(|_| url.to_string(), |u| u.to_string());
            s.pop();
            s
        }
        Err(_) => base.trim_end_matches('/').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse_page_path("/"), Some(0));
        assert_eq!(parse_page_path("/page/12.html"), Some(12));
        assert_eq!(parse_page_path("/page/0.html"), None);
        assert_eq!(parse_page_path("/page/012.html"), None);
        assert_eq!(parse_page_path("/page/+1.html"), None);
        assert_eq!(parse_page_path("/page/.html"), None);
        assert_eq!(Site::page_path(0), "/");
        assert_eq!(Site::page_path(3), "/page/3.html");
    }

    #[test]
    fn origin_normalization() {
        assert_eq!(
            normalized_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(normalized_origin("http://LocalHost:80"), "http://localhost");
        assert_eq!(normalized_origin("http://[::1]:9/"), "http://[::1]:9");
    }

    #[test]
    fn price_and_title_shape() {
        let site = Site::new(SiteConfig::default());
        let price = site.page_price(3);
        let (dollars, cents) = price[1..].split_once('.').unwrap();
        assert!(price.starts_with('$') && !dollars.is_empty() && cents.len() == 2);
        assert!(site.page_title(17).starts_with("Page 17 \u{2014} "));
    }
}

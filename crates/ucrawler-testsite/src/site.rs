//! [`Site`]: the pure, deterministic generator of the normal site (no I/O except `export`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::links;
use crate::timeline::{PageState, Timeline};
use crate::{html, version, SiteConfig};

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

/// The synthetic site: page 0 is `/`, page `i` (1..pages) is `/page/{i}.html`, at a
/// generation that [`Site::set_generation`] moves (see [`crate::SiteConfig`]).
pub struct Site {
    pages: usize,
    seed: u64,
    robots_txt: String,
    validators: bool,
    volatile: bool,
    generation: AtomicU32,
    /// Deterministic, so clones share it.
    timeline: Arc<RwLock<Arc<Timeline>>>,
}

/// The highest generation a site moves to (each one is computed from the previous).
pub const MAX_GENERATION: u32 = 1000;

impl Site {
    /// A site of `config.pages` pages (at least 1) at `config.generation` (at most
    /// [`MAX_GENERATION`]).
    pub fn new(config: SiteConfig) -> Site {
        let pages = config.pages.max(1);
        Site {
            pages,
            seed: config.seed,
            robots_txt: config
                .robots_txt
                .unwrap_or_else(|| DEFAULT_ROBOTS_TXT.to_string()),
            validators: config.validators,
            volatile: config.volatile,
            generation: AtomicU32::new(config.generation.min(MAX_GENERATION)),
            timeline: Arc::new(RwLock::new(Arc::new(Timeline::new(
                config.seed,
                pages,
                config.churn,
            )))),
        }
    }

    /// Number of pages of generation 0 (including `/`).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The `/robots.txt` body.
    pub fn robots_txt(&self) -> &str {
        &self.robots_txt
    }

    /// Whether pages carry `ETag` and `Last-Modified` (and answer conditional requests).
    pub fn validators(&self) -> bool {
        self.validators && !self.volatile
    }

    /// Whether served pages carry a per-request token (see [`crate::SiteConfig::volatile`]).
    pub fn volatile(&self) -> bool {
        self.volatile
    }

    /// The generation served now.
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Serves `generation` from now on (every host, every connection; the next request sees
    /// it). Computes it first, so the switch itself is instant.
    ///
    /// # Panics
    /// If `generation > MAX_GENERATION`.
    pub fn set_generation(&self, generation: u32) {
        assert!(
            generation <= MAX_GENERATION,
            "generation {generation} > {MAX_GENERATION}"
        );
        self.timeline(generation);
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// The timeline computed at least up to `generation`.
    pub(crate) fn timeline(&self, generation: u32) -> Arc<Timeline> {
        let generation = generation.min(MAX_GENERATION);
        {
            let current = self.timeline.read().unwrap_or_else(PoisonError::into_inner);
            if current.generations() >= generation {
                return Arc::clone(&current);
            }
        }
        let mut current = self
            .timeline
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::make_mut(&mut current).extend_to(generation);
        Arc::clone(&current)
    }

    /// Where page `id` stands at `generation`.
    pub fn page_state(&self, id: usize, generation: u32) -> PageState {
        self.timeline(generation).state(id, generation)
    }

    /// Page ids `0..ids_at(g)` exist by generation `g` (live or removed since).
    pub fn ids_at(&self, generation: u32) -> usize {
        self.timeline(generation).ids(generation)
    }

    /// Root-relative path of page `id`: `/` or `/page/{id}.html`.
    pub fn page_path(id: usize) -> String {
        let mut out = String::with_capacity(24);
        links::push_page_path(&mut out, id);
        out
    }

    /// The page id of a path (`/` → 0, `/page/{id}.html` → id; any query), if it is one.
    pub fn page_id(path_and_query: &str) -> Option<usize> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        parse_page_path(path)
    }

    /// The version page `id` is served in now (its last one, if removed since).
    fn current_version(&self, id: usize) -> u32 {
        let generation = self.generation();
        let t = self.timeline(generation);
        match t.state(id, generation) {
            PageState::Live { version } => version,
            PageState::Removed { since, .. } => {
                t.state(id, since.saturating_sub(1)).version().unwrap_or(0)
            }
            PageState::Absent => 0,
        }
    }

    /// The `<title>` of page `id` (also its `<h1>`) as served now, e.g. `"Page 17 — Ember
    /// river"`.
    pub fn page_title(&self, id: usize) -> String {
        html::title(self.seed, id, self.current_version(id))
    }

    /// The text of page `id`'s `<span class="price">` as served now, e.g. `"$12.05"`.
    pub fn page_price(&self, id: usize) -> String {
        html::price(self.seed, id, self.current_version(id))
    }

    /// The HTML of page `id` as served now, with absolute links on `base`, or `None` if it
    /// is not live.
    pub fn page_html(&self, base: &str, id: usize) -> Option<String> {
        self.page_html_at(base, id, self.generation())
    }

    /// The HTML of page `id` at `generation`, or `None` if it is not live then.
    pub fn page_html_at(&self, base: &str, id: usize, generation: u32) -> Option<String> {
        let t = self.timeline(generation);
        let version = t.state(id, generation).version()?;
        Some(version::html(&t, id, version, base))
    }

    /// [`Site::render_at`] the current generation.
    pub fn render(&self, base: &str, path_and_query: &str) -> Option<Rendered> {
        self.render_at(base, path_and_query, self.generation())
    }

    /// Body + content-type for a path+query on a given base (`http://127.0.0.1:PORT`, no
    /// trailing slash) at `generation`, or `None` (404 or 410). Serves the live pages `/` and
    /// `/page/{i}.html` (any query, e.g. `?sort=asc`, gives the same page), `/robots.txt`
    /// (`{base}` replaced by `base`), `/img/{n}.jpg` and `/private/*`. Volatile tokens are added
    /// by the server only.
    pub fn render_at(&self, base: &str, path_and_query: &str, generation: u32) -> Option<Rendered> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        let html = |body: String| Rendered {
            content_type: HTML,
            body: body.into_bytes(),
        };
        if let Some(id) = parse_page_path(path) {
            return self.page_html_at(base, id, generation).map(html);
        }
        if path == "/robots.txt" {
            return Some(Rendered {
                content_type: "text/plain; charset=utf-8",
                body: self.robots_txt.replace("{base}", base).into_bytes(),
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

    /// [`Site::expected_urls_at`] the current generation.
    pub fn expected_urls(&self, base: &str, depth: Option<u32>) -> BTreeSet<String> {
        self.expected_urls_at(base, depth, self.generation())
    }

    /// The exact set of absolute normalized URLs a correct same-host crawler finds starting at
    /// `base + "/"` at `generation`, following `<a href>` links only, fragments removed, within
    /// a BFS depth limit (`None` = unlimited, `Some(0)` = only `/`).
    ///
    /// URLs are in the form the `url` crate produces, e.g. `http://127.0.0.1:8080/page/5.html`
    /// and `http://127.0.0.1:8080/page/5.html?sort=asc`. After generation 0 the set also holds
    /// removed pages that unchanged pages still link (the crawler fetches them: 404 or 410;
    /// see [`Site::page_state`]); every live page is in it when `depth` is `None`.
    pub fn expected_urls_at(
        &self,
        base: &str,
        depth: Option<u32>,
        generation: u32,
    ) -> BTreeSet<String> {
        let t = self.timeline(generation);
        let seen = reachable(&t, depth, generation);
        node_urls(base, &seen)
    }
}

impl Clone for Site {
    /// The clone starts at this site's generation and moves on its own.
    fn clone(&self) -> Site {
        Site {
            pages: self.pages,
            seed: self.seed,
            robots_txt: self.robots_txt.clone(),
            validators: self.validators,
            volatile: self.volatile,
            generation: AtomicU32::new(self.generation()),
            timeline: Arc::clone(&self.timeline),
        }
    }
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("pages", &self.pages)
            .field("seed", &self.seed)
            .field("generation", &self.generation())
            .field("validators", &self.validators)
            .field("volatile", &self.volatile)
            .finish_non_exhaustive()
    }
}

/// `/` → 0, `/page/{i}.html` → i (canonical decimal, no leading zeros).
pub(crate) fn parse_page_path(path: &str) -> Option<usize> {
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

/// The nodes (`2 * id + sort`) a BFS from `/` reaches at `generation` within `depth` levels.
/// Removed pages are reached (when linked) but lead nowhere.
pub(crate) fn reachable(t: &Timeline, depth: Option<u32>, generation: u32) -> Vec<bool> {
    let mut seen = vec![false; t.ids(generation) * 2];
    let mut frontier = vec![0usize];
    seen[0] = true;
    let mut level = 0u32;
    while !frontier.is_empty() && depth.is_none_or(|max| level < max) {
        let mut next = Vec::new();
        for &node in &frontier {
            let Some(version) = t.state(node / 2, generation).version() else {
                continue;
            };
            version::for_each_link(t, node / 2, version, |target, sort| {
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
    seen
}

/// The URL of node `n` (`2 * id + sort`) on `origin`.
pub(crate) fn node_url(origin: &str, n: usize) -> String {
    let mut url = String::with_capacity(origin.len() + 32);
    url.push_str(origin);
    links::push_page_path(&mut url, n / 2);
    if n % 2 == 1 {
        url.push_str("?sort=asc");
    }
    url
}

fn node_urls(base: &str, seen: &[bool]) -> BTreeSet<String> {
    let origin = normalized_origin(base);
    let nodes = seen.iter().enumerate().filter(|(_, seen)| **seen);
    nodes.map(|(n, _)| node_url(&origin, n)).collect()
}

/// `scheme://host[:port]` as the `url` crate normalizes it (lower-case host, default port
/// dropped), without a trailing slash.
pub(crate) fn normalized_origin(base: &str) -> String {
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

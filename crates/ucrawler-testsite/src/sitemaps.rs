//! Sitemaps under `/sitemaps/` (and `/sitemap.xml`, the conventional location) and the orphan
//! pages they list under `/orphan/`. None is linked from the normal site: a crawler finds
//! them through a `Sitemap:` line of robots.txt (`{base}` in
//! [`SiteConfig::robots_txt`](crate::SiteConfig::robots_txt) is replaced, e.g.
//! [`SITEMAP_ROBOTS_TXT`]), through `/sitemap.xml`, or as seeds. Below, `{base}` is `http://`
//! plus the request's `Host`; sitemaps are `application/xml` in the namespace [`NAMESPACE`]
//! unless said otherwise.
//!
//! | Path | Serves | What a correct crawler reports |
//! |------|--------|--------------------------------|
//! | `/sitemaps/index.xml` | a `<sitemapindex>` of `{base}/sitemaps/pages.xml.gz` (lastmod [`PAGES_LASTMOD`]) and `{base}/sitemaps/orphans.xml` (lastmod [`ORPHANS_LASTMOD`]) | both children, read |
//! | `/sitemaps/pages.xml.gz` | `application/gzip` with no `Content-Encoding`: a gzip file of the urlset of every page of generation 0 (`{base}/`, `{base}/page/{i}.html`), lastmod [`PAGES_LASTMOD`] | [`page_urls`] (it gunzips the file itself) |
//! | `/sitemaps/orphans.xml`, `/sitemap.xml` | a urlset of `{base}/orphan/{i}.html` for i < [`ORPHAN_PAGES`], lastmod `2024-02-{i+1:02}T08:00:00+00:00` | [`orphan_urls`]; fetched, each is a small page titled `Orphan {i}` linking nowhere |
//! | `/sitemaps/broken.xml` | [`BROKEN_GOOD_ENTRIES`] good entries (orphans `0..10`), then `<url><loc></urlset` garbage and mismatched tags, never closed | those 10 URLs and a parse error |
//! | `/sitemaps/huge.xml` | [`HUGE_ENTRIES`] entries `{base}/orphan/huge/{i}.html` (404s, never meant to be fetched), past the protocol's 50,000 per file | at most 50,000 of them and an error |
//! | `/sitemaps/oversized.xml` | a urlset: `{base}/orphan/0.html`, [`OVERSIZED_FILLER_BYTES`] of whitespace (streamed, with `content-length`), `{base}/orphan/1.html`: past the protocol's 50 MB | stops at its size cap with an error; never orphan 1 |
//! | `/sitemaps/bomb.xml.gz` | `application/gzip`, ~200 KB decompressing to an empty urlset padded by [`BOMB_FILLER_BYTES`] of spaces | stops inflating at its size cap with an error, memory flat |
//! | `/sitemaps/nested/{n}.xml` | a sitemapindex of `{base}/sitemaps/nested/{n+1}.xml` and `{base}/sitemaps/level/{n}.xml`, endlessly | follows up to its nesting cap, then an error |
//! | `/sitemaps/level/{n}.xml` | a urlset of [`level_url`] `{base}/orphan/level/{n}.html` (a small page) | that URL, for the levels within its cap |
//! | `/sitemaps/fanout.xml` | a sitemapindex of [`FANOUT_CHILDREN`] children `{base}/sitemaps/child/{i}.xml`, each a urlset of [`child_url`] `{base}/orphan/child/{i}.html` (a small page) | the children up to its cap on sitemaps fetched |
//! | `/sitemaps/foreign.xml` | `{base}/orphan/0.html`, then `http://169.254.169.254/latest/meta-data/`, `http://example.com/`, `http://127.0.0.2:{port}/orphan/1.html` (another host, same port), `javascript:alert(1)`, `ftp://x/` and the relative `/orphan/2.html` | only `{base}/orphan/0.html` |
//! | `/sitemaps/redirect-private.xml` | `302` → [`PRIVATE_SITEMAP`] | with the address guard on, refuses to follow: an error |
//! | `/sitemaps/html.xml` | an HTML page, `text/html` | an error: not a sitemap |

mod gzip;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use bytes::Bytes;
use hyper::Response;

use crate::body::Body;
use crate::links::push_num;
use crate::reply::{html, page_text, redirect, response, small_page};
use crate::site::parse_number;
use crate::Site;

/// The sitemap namespace (`xmlns` of `<urlset>` and `<sitemapindex>`).
pub const NAMESPACE: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
/// [`crate::DEFAULT_ROBOTS_TXT`] plus `Sitemap: {base}/sitemaps/index.xml`.
pub const SITEMAP_ROBOTS_TXT: &str =
    "User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemaps/index.xml\n";
/// `<lastmod>` of every entry of `/sitemaps/pages.xml.gz` (and of its index entry).
pub const PAGES_LASTMOD: &str = "2024-01-01";
/// `<lastmod>` of `/sitemaps/orphans.xml` in `/sitemaps/index.xml`.
pub const ORPHANS_LASTMOD: &str = "2024-02-20T08:00:00+00:00";
/// Orphan pages `/orphan/{i}.html` listed by `/sitemaps/orphans.xml` and `/sitemap.xml`.
pub const ORPHAN_PAGES: usize = 20;
/// Well-formed entries of `/sitemaps/broken.xml` before the garbage (orphans `0..10`).
pub const BROKEN_GOOD_ENTRIES: usize = 10;
/// Entries of `/sitemaps/huge.xml`.
pub const HUGE_ENTRIES: usize = 60_000;
/// Whitespace between the two entries of `/sitemaps/oversized.xml` (51 MiB).
pub const OVERSIZED_FILLER_BYTES: u64 = 51 << 20;
/// Spaces inside the urlset of `/sitemaps/bomb.xml.gz`, decompressed (200 MiB).
pub const BOMB_FILLER_BYTES: u64 = 200 << 20;
/// Children of `/sitemaps/fanout.xml`.
pub const FANOUT_CHILDREN: usize = 5_000;
/// Where `/sitemaps/redirect-private.xml` redirects.
pub const PRIVATE_SITEMAP: &str = "http://169.254.169.254/sitemap.xml";

const XML: &str = "application/xml";
const GZIP: &str = "application/gzip";
const FILLER_CHUNK: usize = 64 << 10;
const BOMB_CHUNK: usize = 1 << 20;

/// `{base}/orphan/{i}.html`.
pub fn orphan_url(base: &str, i: usize) -> String {
    numbered(base, "/orphan/", i, ".html")
}

/// The URLs of `/sitemaps/orphans.xml` and `/sitemap.xml` on `base` (`http://host:port`).
pub fn orphan_urls(base: &str) -> BTreeSet<String> {
    (0..ORPHAN_PAGES).map(|i| orphan_url(base, i)).collect()
}

/// The URLs of `/sitemaps/pages.xml.gz` on `base`: every page of generation 0.
pub fn page_urls(site: &Site, base: &str) -> BTreeSet<String> {
    (0..site.pages()).map(|id| page_url(base, id)).collect()
}

/// `{base}/orphan/level/{n}.html`, listed by `/sitemaps/level/{n}.xml`.
pub fn level_url(base: &str, n: usize) -> String {
    numbered(base, "/orphan/level/", n, ".html")
}

/// `{base}/orphan/child/{i}.html`, listed by `/sitemaps/child/{i}.xml`.
pub fn child_url(base: &str, i: usize) -> String {
    numbered(base, "/orphan/child/", i, ".html")
}

/// The response for a sitemap or orphan path on `base` (`http://` + `Host`), or `None`.
pub(crate) fn respond(path: &str, site: &Site, base: &str) -> Option<Response<Body>> {
    if path == "/sitemap.xml" {
        return Some(xml(orphans(base)));
    }
    if let Some(rest) = path.strip_prefix("/orphan/") {
        return orphan_page(rest);
    }
    let name = path.strip_prefix("/sitemaps/")?;
    Some(match name {
        "index.xml" => xml(index(base)),
        "pages.xml.gz" => match gzip::gzip(pages(site, base).as_bytes()) {
            Ok(gz) => response(200, GZIP, Body::full(gz)),
            Err(_) => small_page(500, "Gzip failed"),
        },
        "orphans.xml" => xml(orphans(base)),
        "broken.xml" => xml(broken(base)),
        "huge.xml" => xml(huge(base)),
        "oversized.xml" => oversized(base),
        "bomb.xml.gz" => match bomb() {
            Some(gz) => response(200, GZIP, Body::full(gz)),
            None => small_page(500, "Gzip bomb unavailable"),
        },
        "fanout.xml" => xml(fanout(base)),
        "foreign.xml" => xml(foreign(base)),
        "redirect-private.xml" => redirect(302, PRIVATE_SITEMAP),
        "html.xml" => html(200, page_text("Not a sitemap", "<p>Just a page.</p>\n")),
        _ => xml(numbered_sitemap(name, base)?),
    })
}

fn xml(body: String) -> Response<Body> {
    response(200, XML, Body::full(body))
}

/// `/sitemaps/nested/{n}.xml`, `/sitemaps/level/{n}.xml`, `/sitemaps/child/{i}.xml`.
fn numbered_sitemap(name: &str, base: &str) -> Option<String> {
    let (dir, file) = name.split_once('/')?;
    let n = parse_number(file.strip_suffix(".xml")?)?;
    Some(match dir {
        "nested" => {
            let mut out = open("sitemapindex");
            let next = numbered(base, "/sitemaps/nested/", n.checked_add(1)?, ".xml");
            push_entry(&mut out, "sitemap", &next, None);
            let level = numbered(base, "/sitemaps/level/", n, ".xml");
            push_entry(&mut out, "sitemap", &level, None);
            close(out, "sitemapindex")
        }
        "level" => urlset([level_url(base, n)]),
        "child" if n < FANOUT_CHILDREN => urlset([child_url(base, n)]),
        _ => return None,
    })
}

/// `/orphan/{i}.html`, `/orphan/level/{n}.html`, `/orphan/child/{i}.html` (`rest` after
/// `/orphan/`).
fn orphan_page(rest: &str) -> Option<Response<Body>> {
    let (dir, file) = rest.rsplit_once('/').unwrap_or(("", rest));
    let n = parse_number(file.strip_suffix(".html")?)?;
    let title = match dir {
        "" if n < ORPHAN_PAGES => "Orphan ",
        "level" => "Orphan level ",
        "child" if n < FANOUT_CHILDREN => "Orphan child ",
        _ => return None,
    };
    let mut title = title.to_string();
    push_num(&mut title, n as u64);
    Some(html(
        200,
        page_text(&title, "<p>Listed in a sitemap only.</p>\n"),
    ))
}

/// `{base}{prefix}{n}{suffix}`.
fn numbered(base: &str, prefix: &str, n: usize, suffix: &str) -> String {
    let mut out = String::with_capacity(base.len() + prefix.len() + 20 + suffix.len());
    out.push_str(base);
    out.push_str(prefix);
    push_num(&mut out, n as u64);
    out.push_str(suffix);
    out
}

fn page_url(base: &str, id: usize) -> String {
    let mut out = String::from(base);
    out.push_str(&Site::page_path(id));
    out
}

/// The XML declaration and the opening `root` tag.
fn open(root: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    out.push_str(root);
    out.push_str(" xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">\n");
    out
}

fn close(mut out: String, root: &str) -> String {
    out.push_str("</");
    out.push_str(root);
    out.push_str(">\n");
    out
}

/// `<tag><loc>loc</loc><lastmod>lastmod</lastmod></tag>`, `loc` entity-escaped.
fn push_entry(out: &mut String, tag: &str, loc: &str, lastmod: Option<&str>) {
    out.push_str("  <");
    out.push_str(tag);
    out.push_str("><loc>");
    for c in loc.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out.push_str("</loc>");
    if let Some(lastmod) = lastmod {
        out.push_str("<lastmod>");
        out.push_str(lastmod);
        out.push_str("</lastmod>");
    }
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

/// A urlset of `locs`, without `<lastmod>`.
fn urlset(locs: impl IntoIterator<Item = String>) -> String {
    let mut out = open("urlset");
    for loc in locs {
        push_entry(&mut out, "url", &loc, None);
    }
    close(out, "urlset")
}

fn index(base: &str) -> String {
    let mut out = open("sitemapindex");
    let pages = format!("{base}/sitemaps/pages.xml.gz");
    push_entry(&mut out, "sitemap", &pages, Some(PAGES_LASTMOD));
    let orphans = format!("{base}/sitemaps/orphans.xml");
    push_entry(&mut out, "sitemap", &orphans, Some(ORPHANS_LASTMOD));
    close(out, "sitemapindex")
}

fn pages(site: &Site, base: &str) -> String {
    let mut out = open("urlset");
    out.reserve(site.pages() * (base.len() + 80));
    for id in 0..site.pages() {
        push_entry(&mut out, "url", &page_url(base, id), Some(PAGES_LASTMOD));
    }
    close(out, "urlset")
}

fn orphans(base: &str) -> String {
    let mut out = open("urlset");
    for i in 0..ORPHAN_PAGES {
        let lastmod = format!("2024-02-{:02}T08:00:00+00:00", i + 1);
        push_entry(&mut out, "url", &orphan_url(base, i), Some(&lastmod));
    }
    close(out, "urlset")
}

fn broken(base: &str) -> String {
    let mut out = open("urlset");
    for i in 0..BROKEN_GOOD_ENTRIES {
        push_entry(&mut out, "url", &orphan_url(base, i), None);
    }
    out.push_str("  <url><loc></urlset\n<<< not xml & </url>\n</loc></lastmod>\n");
    out
}

fn huge(base: &str) -> String {
    let mut out = open("urlset");
    out.reserve(HUGE_ENTRIES * (base.len() + 48));
    for i in 0..HUGE_ENTRIES {
        let loc = numbered(base, "/orphan/huge/", i, ".html");
        push_entry(&mut out, "url", &loc, None);
    }
    close(out, "urlset")
}

/// Streamed: the head, [`OVERSIZED_FILLER_BYTES`] of spaces and newlines, the tail.
fn oversized(base: &str) -> Response<Body> {
    static FILLER: OnceLock<Bytes> = OnceLock::new();
    let filler = FILLER.get_or_init(|| {
        let mut chunk = vec![b' '; FILLER_CHUNK];
        chunk[FILLER_CHUNK - 1] = b'\n';
        Bytes::from(chunk)
    });
    let mut head = open("urlset");
    push_entry(&mut head, "url", &orphan_url(base, 0), None);
    let mut tail = String::new();
    push_entry(&mut tail, "url", &orphan_url(base, 1), None);
    let tail = close(tail, "urlset");
    let copies = OVERSIZED_FILLER_BYTES / FILLER_CHUNK as u64;
    let body = Body::repeat(
        Some(head.into()),
        filler.clone(),
        Some(copies),
        Some(tail.into()),
    );
    response(200, XML, body)
}

/// The gzip bytes of `/sitemaps/bomb.xml.gz`, built once.
fn bomb() -> Option<Bytes> {
    static BOMB: OnceLock<Option<Bytes>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let prefix = open("urlset");
        let suffix = close(String::from("\n"), "urlset");
        let copies = BOMB_FILLER_BYTES / BOMB_CHUNK as u64;
        let gz = gzip::padded(prefix.as_bytes(), BOMB_CHUNK, copies, suffix.as_bytes());
        gz.ok().map(Bytes::from)
    })
    .clone()
}

fn fanout(base: &str) -> String {
    let mut out = open("sitemapindex");
    for i in 0..FANOUT_CHILDREN {
        let child = numbered(base, "/sitemaps/child/", i, ".xml");
        push_entry(&mut out, "sitemap", &child, None);
    }
    close(out, "sitemapindex")
}

fn foreign(base: &str) -> String {
    let authority = base.strip_prefix("http://").unwrap_or(base);
    let port = authority
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    urlset([
        orphan_url(base, 0),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://example.com/".to_string(),
        format!("http://127.0.0.2:{port}/orphan/1.html"),
        "javascript:alert(1)".to_string(),
        "ftp://x/".to_string(),
        "/orphan/2.html".to_string(),
    ])
}

#[cfg(test)]
mod tests;

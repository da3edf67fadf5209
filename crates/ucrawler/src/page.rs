//! What goes into a crawl (`Request`) and what comes out of it (`Page`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::CrawlError;
use crate::last_visit::{Change, LastVisit};

mod structured;

pub(crate) use structured::value_bytes;

/// A URL to crawl. `meta` is opaque to the engine and comes back with the page (and with every
/// page discovered from it), so a caller can carry a record id without keeping per-URL state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub depth: u32,
    pub meta: Option<Bytes>,
    /// What the last visit learned: the fetch is conditional, and the page says what changed.
    /// Boxed: most requests have none.
    pub last_visit: Option<Box<LastVisit>>,
    /// The `<lastmod>` a sitemap gave for this URL (W3C datetime, as written), reported in
    /// `Page::lastmod`.
    pub lastmod: Option<Box<str>>,
    /// What fetching it is for: a page (most), or a site's sitemaps.
    pub(crate) purpose: Purpose,
    /// Attempts already made (the engine counts retries here).
    pub(crate) attempts: u32,
    /// Dispatched before and sent back for another attempt.
    pub(crate) retrying: bool,
    /// Taken from a Redis frontier: acknowledged there once its page is delivered.
    pub(crate) lease: Option<Lease>,
}

impl Request {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            depth: 0,
            meta: None,
            last_visit: None,
            lastmod: None,
            purpose: Purpose::Page,
            attempts: 0,
            retrying: false,
            lease: None,
        }
    }

    pub fn with_meta(mut self, meta: impl Into<Bytes>) -> Self {
        self.meta = Some(meta.into());
        self
    }

    /// The request's identity in a seen set: its URL's fingerprint, in a namespace of its own
    /// for sitemaps and discoveries, so that a page linking `/sitemap.xml` or `/robots.txt`
    /// does not make the sitemap read as seen (nor the reverse).
    pub(crate) fn fingerprint(&self) -> u64 {
        match self.purpose {
            Purpose::Page => crate::url::fingerprint(&self.url),
            _ => crate::url::fingerprint(&format!("sitemap\0{}", self.url)),
        }
    }

    /// A revisit: `last` is what the previous visit learned (see [`LastVisit::sanitized`]).
    pub fn with_last_visit(mut self, last: LastVisit) -> Self {
        self.last_visit = Some(Box::new(last.sanitized()));
        self
    }
}

/// Why a request is fetched. Only pages are delivered; the others feed the scheduler URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Purpose {
    #[default]
    Page,
    /// A site's robots.txt, read for its `Sitemap:` lines (or `/sitemap.xml` in their place).
    SitemapDiscovery,
    /// A sitemap or sitemap index, `nesting` indexes below the site's first sitemaps (0).
    Sitemap { nesting: u8 },
}

impl Purpose {
    pub fn is_page(self) -> bool {
        self == Purpose::Page
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Self {
        Request::new(url)
    }
}

impl From<String> for Request {
    fn from(url: String) -> Self {
        Request::new(url)
    }
}

impl From<&String> for Request {
    fn from(url: &String) -> Self {
        Request::new(url.as_str())
    }
}

/// A request's claim in a shared (Redis) frontier: what `ack` and `extend` need to name it, its
/// member in the crawl's leases ZSET.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    pub(crate) id: u64,
    pub(crate) member: Bytes,
}

impl Lease {
    /// The lease's id, unique within its crawl (for logs).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The member is binary: show the id and its size only.
        f.debug_struct("Lease")
            .field("id", &self.id)
            .field("bytes", &self.member.len())
            .finish()
    }
}

/// Where a page's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// From the request's start to the last byte of the body (all attempts, redirects included).
    #[serde(serialize_with = "as_millis")]
    pub fetch: Duration,
    /// Decoding and extraction on a parser thread.
    #[serde(serialize_with = "as_millis")]
    pub parse: Duration,
    /// Rendering in headless Chromium after the fetch (zero when the page was not rendered).
    #[serde(serialize_with = "as_millis")]
    pub render: Duration,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// One crawled URL: what the server answered and what was extracted. A failed page carries
/// `error` and whatever was known before the failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Page {
    /// The URL as requested (normalized).
    pub url: String,
    /// The URL that answered, after redirects.
    pub final_url: String,
    /// HTTP status of the final response; 0 when there was none.
    pub status: u16,
    pub content_type: Option<String>,
    /// Response headers named in `Config::keep_headers`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    /// With `canonical_dedup`: the canonical URL (of the same host) this page declared, when it
    /// is not the page itself. That URL is crawled too (queued if unseen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// `<meta name="robots" content="noindex">`, or an `X-Robots-Tag: noindex` header (for all
    /// crawlers or for our product token).
    pub noindex: bool,
    /// `<meta name="robots" content="nofollow">` or `X-Robots-Tag: nofollow`: the page's links
    /// were not followed.
    pub nofollow: bool,
    /// Every http(s) link on the page, absolute and normalized, once each, in document order
    /// (external ones included; which ones were followed depends on the scope).
    pub links: Vec<String>,
    /// Those of `links` every anchor to which is `rel="nofollow"` (not followed when
    /// `follow_nofollow_links` is off).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nofollow_links: Vec<String>,
    /// Matches of the configured extract rules, by rule name.
    pub extracted: BTreeMap<String, Vec<String>>,
    /// The page's `<script type="application/ld+json">` blocks that parsed, in document order,
    /// each as it is (an object, an array, a `@graph`...: see [`Page::json_ld_nodes`]). At most
    /// [`MAX_JSON_LD_BLOCKS`](crate::parse::MAX_JSON_LD_BLOCKS) blocks and
    /// [`MAX_JSON_LD_BYTES`](crate::parse::MAX_JSON_LD_BYTES) of text are read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_ld: Vec<Value>,
    /// Why the other blocks are not in `json_ld`: `"block 2: expected value at line 1 column
    /// 5"` (blocks numbered from 1 in document order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_ld_errors: Vec<String>,
    /// OpenGraph (`og:*`, and its `article:*`, `book:*`, `profile:*`, `music:*`, `video:*`)
    /// and Twitter card (`twitter:*`) `<meta>` properties, by lowercase name, each with its
    /// values in document order (`og:image` is often repeated); see
    /// [`Page::open_graph_value`]. At most
    /// [`MAX_OPEN_GRAPH_VALUES`](crate::parse::MAX_OPEN_GRAPH_VALUES) values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub open_graph: BTreeMap<String, Vec<String>>,
    /// The decoded body, only with `keep_body`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub depth: u32,
    #[serde(skip)]
    pub meta: Option<Bytes>,
    pub timings: Timings,
    /// Body bytes received (after decompression).
    pub bytes: u64,
    /// The body was cut at `max_body`.
    pub truncated: bool,
    /// Attempts made (1 unless retried).
    pub attempts: u32,
    /// The `ETag` and `Last-Modified` the server sent (kept from the last visit on a `304`);
    /// `None` past [`MAX_VALIDATOR_LEN`](crate::last_visit::MAX_VALIDATOR_LEN).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// A hash of the text a reader sees (see [`crate::last_visit`]), 16 hex digits; kept from
    /// the last visit on a `304`; `None` for a page not parsed.
    pub content_hash: Option<String>,
    /// Against the request's last visit; `None` when this visit tells nothing about the
    /// content (see [`crate::last_visit::classify`]).
    pub change: Option<Change>,
    /// The `<lastmod>` the site's sitemap gave for this URL (W3C datetime, as written), when
    /// it was found in one (`sitemaps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lastmod: Option<String>,
    /// Its links, title and text are those of the DOM headless Chromium built (`render`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
    pub error: Option<CrawlError>,
}

impl Page {
    /// Fetched with a 2xx status and no error.
    pub fn is_ok(&self) -> bool {
        self.error.is_none() && (200..300).contains(&self.status)
    }

    /// What this visit learned, for the next one.
    pub fn last_visit(&self) -> LastVisit {
        LastVisit {
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
            content_hash: self.content_hash.clone(),
        }
    }

    /// Total time spent on this page inside the engine.
    pub fn elapsed(&self) -> Duration {
        self.timings.fetch + self.timings.render + self.timings.parse
    }
}

impl Page {
    /// What the page holds on the heap, roughly (its strings and vectors): what the engine
    /// accounts for it while it waits for the consumer, and what bindings report to their GC.
    pub fn memory_bytes(&self) -> u64 {
        const STRING: usize = 24;
        let strings = [&self.url, &self.final_url]
            .into_iter()
            .chain(
                [
                    &self.title,
                    &self.description,
                    &self.canonical,
                    &self.duplicate_of,
                    &self.content_type,
                    &self.etag,
                    &self.last_modified,
                    &self.content_hash,
                ]
                .into_iter()
                .flatten(),
            )
            .map(|s| s.len() + STRING)
            .sum::<usize>();
        let links: usize = (self.links.iter().chain(&self.nofollow_links))
            .map(|l| l.len() + STRING)
            .sum();
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2 * STRING)
            .sum();
        let extracted: usize = self
            .extracted
            .iter()
            .flat_map(|(k, v)| std::iter::once(k).chain(v))
            .map(|s| s.len() + STRING)
            .sum();
        let body = self.body.as_ref().map_or(0, String::len);
        let declared = structured::heap_bytes(self);
        (std::mem::size_of::<Page>() + strings + links + headers + extracted + declared + body)
            as u64
    }
}

//! What the fetch stage hands to the parse stage: one URL's response, or how it failed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use url::Url;

use crate::error::CrawlError;
use crate::memory::Reservation;
use crate::politeness::RobotsTag;

/// The outcome of fetching one URL.
#[derive(Debug)]
pub struct Fetched {
    /// The URL that answered; `None` when the request URL itself was unusable.
    pub final_url: Option<Url>,
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The (decompressed, possibly truncated) body of an HTML response; `None` for other types.
    pub body: Option<Bytes>,
    pub bytes: u64,
    pub truncated: bool,
    pub elapsed: Duration,
    pub attempts: u32,
    /// A `Retry-After` delay the server asked for.
    pub retry_after: Option<Duration>,
    /// The Crawl-delay of the host's robots.txt (capped by `max_crawl_delay`).
    pub crawl_delay: Option<Duration>,
    /// The body was cut because `max_memory` was spent.
    pub memory_cut: bool,
    /// Not fetched yet: this attempt fetched the host's robots.txt, and the host's `delay` or
    /// Crawl-delay must pass before the page itself is requested.
    pub deferred: bool,
    /// The body's bytes in the memory budget, held until the page is parsed.
    pub reservation: Option<Reservation>,
    /// The response's validators (at most `MAX_VALIDATOR_LEN` each).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// What the response's `X-Robots-Tag` headers ask of us.
    pub robots_tag: RobotsTag,
    /// How long headless Chromium took to render the body (`render`): the body is its DOM.
    pub rendered: Option<Duration>,
    pub error: Option<CrawlError>,
}

impl Fetched {
    /// An attempt that only fetched the host's robots.txt (see `deferred`).
    pub fn deferred(url: Url, started: Instant, crawl_delay: Option<Duration>) -> Self {
        let mut fetched = Self::answered(url, 0, started);
        fetched.deferred = true;
        fetched.crawl_delay = crawl_delay;
        fetched
    }

    /// An answer with `status` and nothing read yet (the caller fills in the rest).
    pub fn answered(url: Url, status: u16, started: Instant) -> Self {
        let mut fetched = Self::failed(Some(url), CrawlError::RobotsDisallowed, started);
        fetched.error = None;
        fetched.status = status;
        fetched
    }

    pub fn failed(url: Option<Url>, error: CrawlError, started: Instant) -> Self {
        Self {
            final_url: url,
            status: 0,
            content_type: None,
            headers: Vec::new(),
            body: None,
            bytes: 0,
            truncated: false,
            elapsed: started.elapsed(),
            attempts: 1,
            retry_after: None,
            crawl_delay: None,
            memory_cut: false,
            deferred: false,
            reservation: None,
            etag: None,
            last_modified: None,
            robots_tag: RobotsTag::default(),
            rendered: None,
            error: Some(error),
        }
    }
}

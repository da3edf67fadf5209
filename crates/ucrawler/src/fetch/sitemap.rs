//! The fetches that feed the scheduler URLs instead of delivering a page: a site's sitemap
//! discovery (its robots.txt's `Sitemap:` lines, else `/sitemap.xml` with `sitemaps: on`) and
//! the reading of one sitemap, whose entries become requests (pages at the sitemap's depth,
//! or the next level of sitemaps) sent to the scheduler in batches as they are read. Both are
//! dispatched like pages, so they pass the host gate, robots.txt, the address guard, the scope
//! and the retry policy.
//!
//! A sitemap and its entries stay on one site (the protocol's rule): a host name, whatever the
//! scheme and port (an http seed's robots.txt names its https sitemaps), `www.` or not (the
//! apex's robots.txt names the www sitemaps). A robots.txt line, an index's child or a page
//! entry elsewhere (or out of scope, or not http(s)) is dropped and counted, and a sitemap
//! redirected elsewhere fails.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use futures::TryStreamExt;
use tokio_util::io::StreamReader;
use url::Url;

use reqwest::header::RETRY_AFTER;

use super::http::{parse_retry_after, send, FetchContext};
use crate::config::Sitemaps;
use crate::content_encoding::decoded_body;
use crate::error::CrawlError;
use crate::memory::{Part, Reservation};
use crate::page::{Purpose, Request};
use crate::parse::sitemap::{Entry, SitemapError, SitemapKind, SitemapReader};
use crate::pipeline::{CrawlCtx, Event, Fetched};
use crate::politeness::{RobotsFetch, Rules};
use crate::url::parse_request_url;

/// Index levels followed below a site's first sitemaps: robots.txt → index → sitemap is
/// level 1; an index listed by an index (not in the protocol, but seen) reaches level 2, and
/// what a level-2 index lists is dropped.
pub const MAX_NESTING: u8 = 2;
/// Requests sent to the scheduler together.
const BATCH: usize = 256;

/// Reads a site's robots.txt (through the shared cache) for its sitemaps, and queues them.
pub(crate) async fn discover(
    cx: &FetchContext<'_>,
    ctx: &CrawlCtx,
    request: &Request,
    url: &Url,
) -> Fetched {
    let started = Instant::now();
    let fetch = RobotsFetch {
        client: cx.client,
        guard: cx.guard,
        scope: cx.scope,
        timeout: cx.config.timeout,
    };
    let rules = cx.robots.rules(&fetch, url).await;
    let mut fetched = Fetched::answered(url.clone(), 200, started);
    if cx.config.robots {
        fetched.crawl_delay = rules.crawl_delay(cx.config.max_crawl_delay);
    }
    if let Rules::Unreachable(error) = &rules {
        fetched.error = Some(error.clone());
        return fetched;
    }
    let conventional = url.join("/sitemap.xml").ok().map(String::from);
    let named: Vec<&str> = match rules.sitemaps() {
        [] if cx.config.sitemaps == Sitemaps::On => conventional.as_deref().into_iter().collect(),
        named => named.iter().map(|loc| &**loc).collect(),
    };
    let mut batch = Batch::new(ctx);
    for loc in named {
        batch.push(sitemap_request(cx, url, request, loc, 0));
    }
    batch.flush();
    fetched
}

/// Fetches one sitemap and queues what it lists, a batch at a time. Whatever was read before
/// a failure (a broken file, a limit) stands.
pub(crate) async fn read(
    cx: &FetchContext<'_>,
    ctx: &CrawlCtx,
    request: &Request,
    url: &Url,
    nesting: u8,
) -> Fetched {
    let started = Instant::now();
    // Each hop passes the guard, robots.txt and the scope; where it ends must be the same site.
    let answer = match send(cx, url.clone(), None, None, started).await {
        Ok(answer) => answer,
        Err(failed) => return *failed,
    };
    if !same_site(&answer.url, url) {
        let error = CrawlError::RedirectOutOfScope(answer.url.to_string());
        return Fetched::failed(Some(answer.url), error, started);
    }
    let status = answer.response.status();
    let mut fetched = Fetched::answered(answer.url, status.as_u16(), started);
    fetched.crawl_delay = answer.crawl_delay;
    fetched.retry_after = (answer.response.headers().get(RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    if !status.is_success() {
        fetched.error = Some(CrawlError::HttpStatus(status.as_u16()));
        return fetched;
    }
    let body = match decoded_body(answer.response).await {
        Ok(body) => StreamReader::new(body.map_err(io::Error::other)),
        Err(error) => {
            fetched.error = Some(error);
            return fetched;
        }
    };
    let mut batch = Batch::new(ctx);
    let entries = async {
        let mut reader = SitemapReader::new(body).await?;
        while let Some(entry) = next_entry(&mut reader, cx).await? {
            let found = match reader.kind() {
                Some(SitemapKind::Index) if nesting < MAX_NESTING => {
                    sitemap_request(cx, url, request, &entry.loc, nesting + 1)
                }
                Some(SitemapKind::Index) => None,
                _ => page_request(cx, url, request, entry),
            };
            batch.push(found);
        }
        Ok(())
    };
    let left = cx.config.timeout.saturating_sub(started.elapsed());
    let outcome = tokio::time::timeout(left, entries).await;
    batch.flush();
    fetched.error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(SitemapError::Transport(error))) => Some(error),
        Ok(Err(error)) => Some(CrawlError::Decode(error.to_string())),
        // Not retried (a decode error): what was read stands, and a body that keeps the I/O
        // thread busy for `timeout` (empty gzip members, say) is not asked for again.
        Err(_) => Some(CrawlError::Decode(format!(
            "sitemap took longer than timeout ({:?}): the rest is ignored",
            cx.config.timeout
        ))),
    };
    fetched
}

/// The next entry, or a timeout when the body stalls for `read_timeout`.
async fn next_entry(
    reader: &mut SitemapReader,
    cx: &FetchContext<'_>,
) -> Result<Option<Entry>, SitemapError> {
    let patience = cx.config.read_timeout;
    match tokio::time::timeout(patience, reader.next_entry()).await {
        Ok(entry) => entry,
        Err(_) => Err(SitemapError::Transport(CrawlError::Timeout(format!(
            "no data for read_timeout ({patience:?})"
        )))),
    }
}

/// A request for the sitemap at `loc`, named by `site`'s robots.txt or an index there: on the
/// same host and in scope, or `None`.
fn sitemap_request(
    cx: &FetchContext<'_>,
    site: &Url,
    parent: &Request,
    loc: &str,
    nesting: u8,
) -> Option<Request> {
    let url = on_host(cx, site, loc)?;
    Some(Request {
        depth: parent.depth,
        meta: parent.meta.clone(),
        purpose: Purpose::Sitemap { nesting },
        ..Request::new(String::from(url))
    })
}

/// A request for a page a sitemap lists, at the sitemap's depth, with its `<lastmod>`.
fn page_request(
    cx: &FetchContext<'_>,
    sitemap: &Url,
    parent: &Request,
    entry: Entry,
) -> Option<Request> {
    let url = on_host(cx, sitemap, &entry.loc)?;
    Some(Request {
        depth: parent.depth,
        meta: parent.meta.clone(),
        lastmod: entry.lastmod.map(String::into_boxed_str),
        ..Request::new(String::from(url))
    })
}

/// `loc` parsed and normalized, when it is an http(s) URL on `site`'s site and in scope.
fn on_host(cx: &FetchContext<'_>, site: &Url, loc: &str) -> Option<Url> {
    let url = parse_request_url(loc).ok()?;
    (same_site(&url, site) && cx.scope.allows_pattern(url.as_str())).then_some(url)
}

/// One site for sitemaps: the same host name but for a `www.` (any scheme and port).
fn same_site(a: &Url, b: &Url) -> bool {
    let name = |url: &Url| {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        host.strip_prefix("www.")
            .map(str::to_string)
            .unwrap_or(host)
    };
    name(a) == name(b)
}

/// Counts a discovery or sitemap that is over (not to be retried), and logs a failure.
pub(crate) fn record(ctx: &CrawlCtx, request: &Request, fetched: &Fetched) {
    let counters = &ctx.counters.sitemaps;
    match &fetched.error {
        None if request.purpose == Purpose::SitemapDiscovery => {}
        None => {
            counters.read.fetch_add(1, Relaxed);
        }
        Some(error) => {
            counters.failed.fetch_add(1, Relaxed);
            tracing::warn!("sitemap {}: {error}", request.url);
        }
    }
}

/// Requests on their way to the scheduler, counted in the memory budget while they travel.
struct Batch<'a> {
    ctx: &'a CrawlCtx,
    links: Vec<Request>,
    bytes: u64,
}

impl<'a> Batch<'a> {
    fn new(ctx: &'a CrawlCtx) -> Self {
        Self {
            ctx,
            links: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a usable entry, or counts one that was not.
    fn push(&mut self, request: Option<Request>) {
        let counters = &self.ctx.counters.sitemaps;
        let Some(request) = request else {
            counters.dropped.fetch_add(1, Relaxed);
            return;
        };
        if request.purpose.is_page() {
            counters.urls.fetch_add(1, Relaxed);
        }
        self.bytes += (std::mem::size_of::<Request>()
            + request.url.len()
            + request.lastmod.as_ref().map_or(0, |l| l.len())) as u64;
        self.links.push(request);
        if self.links.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.links.is_empty() {
            return;
        }
        let mut memory = Reservation::empty(self.ctx.budget.clone(), Part::Frontier);
        memory.force_grow(std::mem::take(&mut self.bytes));
        let links = std::mem::take(&mut self.links);
        // Fails only when the scheduler is gone (the crawl is over).
        let _ = self.ctx.events.send(Event::Found {
            links,
            _memory: memory,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_its_host_name_with_or_without_www() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(same_site(
            &url("http://Shop.com/robots.txt"),
            &url("https://shop.com:8443/s.xml")
        ));
        assert!(same_site(
            &url("https://shop.com/"),
            &url("https://www.shop.com/s.xml")
        ));
        assert!(!same_site(
            &url("https://shop.com/"),
            &url("https://cdn.shop.com/s.xml")
        ));
        assert!(!same_site(
            &url("https://shop.com/"),
            &url("https://shop.com.evil/s.xml")
        ));
        assert!(!same_site(
            &url("http://127.0.0.1/"),
            &url("http://127.0.0.2/")
        ));
    }
}

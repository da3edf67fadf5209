//! The fetch stage for one page, spawned by the scheduler once the page holds its slot, its
//! place in the fetch window and its place at the host: fetch it (under the fleet's hold on the
//! host in a shared crawl), then hand it (and its window place) to the parsers, or back to the
//! scheduler for a retry after a transient failure.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use url::Url;

use super::http::{fetch, FetchContext};
use super::rendering::render_if_wanted;
use super::retry::after_attempt;
use super::sitemap;
use crate::distributed::FleetHold;
use crate::error::CrawlError;
use crate::page::{Purpose, Request};
use crate::parse::{Extractor, FetchedPage, ParseJob, ParserPool};
use crate::pipeline::{CrawlCtx, Event, Fetched, Slot, WindowPermit};
use crate::politeness::HostHold;

/// A page on its way to be fetched.
pub(crate) struct FetchJob {
    pub ctx: Arc<CrawlCtx>,
    pub client: reqwest::Client,
    /// Leave the connection open for the host's next request.
    pub keep_alive: bool,
    /// The host's robots.txt is not known yet (the host gate lets only this request go).
    pub probing_robots: bool,
    pub parsers: ParserPool,
    pub extractor: Arc<Extractor>,
    pub hold: HostHold,
    pub request: Request,
    /// The request's URL, parsed once by the scheduler.
    pub url: Result<Url, CrawlError>,
    pub slot: Slot,
    pub permit: WindowPermit,
}

pub(crate) async fn fetch_page(job: FetchJob) {
    let FetchJob {
        ctx,
        client,
        keep_alive,
        probing_robots,
        parsers,
        extractor,
        mut hold,
        mut request,
        url,
        slot,
        permit,
    } = job;
    let counters = &ctx.counters;
    let config = &ctx.config;
    let agent = ctx.agent.as_deref();
    let (per_host, gap) = (hold.limits.per_host, hold.gap);
    let fleet =
        match FleetHold::acquire(agent, config, &ctx.cancel, &hold.host, per_host, gap).await {
            Ok(fleet) => fleet,
            Err(()) => return, // cancelled
        };
    counters.in_flight.fetch_add(1, Relaxed);
    let fetched = match &url {
        Err(error) => Some(Fetched::failed(
            None,
            error.clone(),
            std::time::Instant::now(),
        )),
        Ok(url) => {
            let cx = FetchContext {
                client: &client,
                keep_alive,
                probing_robots,
                config,
                scope: &ctx.scope,
                robots: &ctx.robots,
                guard: &ctx.guard,
                budget: &ctx.budget,
            };
            let same_host_as =
                (config.same_host && request.depth > 0).then(|| crate::url::host_key(url));
            let last = request.last_visit.as_deref();
            let attempt = async {
                match request.purpose {
                    Purpose::Page => {
                        let fetched = fetch(&cx, url.clone(), same_host_as.as_deref(), last).await;
                        render_if_wanted(&ctx, &client, &ctx.render_tabs, fetched).await
                    }
                    Purpose::SitemapDiscovery => sitemap::discover(&cx, &ctx, &request, url).await,
                    Purpose::Sitemap { nesting } => {
                        sitemap::read(&cx, &ctx, &request, url, nesting).await
                    }
                }
            };
            tokio::select! {
                fetched = attempt => Some(fetched),
                _ = ctx.cancel.cancelled() => None,
            }
        }
    };
    counters.in_flight.fetch_sub(1, Relaxed);
    let Some(mut fetched) = fetched else {
        return; // cancelled
    };
    let next = after_attempt(config, &fetched, request.attempts);
    if let Some(fleet) = fleet {
        fleet.release(next.pause).await;
    }
    hold.pause = next.pause;
    hold.crawl_delay = fetched.crawl_delay;
    let host = hold.host.clone();
    drop(hold);
    if next.spent {
        request.attempts += 1;
    }
    if next.retry {
        request.retrying = true;
        // The page slot is given back: the request waits in the scheduler, not in memory here.
        drop((slot, permit));
        let _ = ctx.events.send(Event::Retry { host, request });
        return;
    }
    if !request.purpose.is_page() {
        // Its URLs went to the scheduler as they were read: nothing to parse or deliver.
        sitemap::record(&ctx, &request, &fetched);
        drop((slot, permit));
        let lease = request.lease.take();
        let _ = ctx.events.send(Event::Ended { lease });
        return;
    }
    fetched.attempts = request.attempts.max(1);
    let page = FetchedPage {
        ctx,
        extractor,
        request,
        requested: url.ok(),
        fetched,
        slot,
    };
    parsers.submit(ParseJob { page, permit });
}

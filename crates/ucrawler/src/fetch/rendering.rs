//! `render`: a fetched page rendered in headless Chromium ([`super::render`]) before it is
//! parsed, under the rules of a plain fetch.
//!
//! - The document is fetched over HTTP first, like any page (address guard, robots.txt, scope,
//!   redirects, `max_body`, politeness). The browser is handed that response: it never fetches
//!   the document itself, so a render costs the site no second request for it.
//! - Which pages: HTML answered 2xx, on a host of `render_hosts` (all when empty); with
//!   `render: auto` only those that look built by scripts ([`crate::parse::shell`]).
//! - Every request of the rendered page (scripts, data) is sent by the crawler's own client:
//!   the address guard on every hop, robots.txt of its host, `deny` and `max_url_length`
//!   ([`Scope::for_resources`]), `max_body`, the connection limit. Requests to the page's own
//!   host go one at a time, `delay` (or its Crawl-delay) apart, under the page's own place at the host: the page and its requests count as one of
//!   the host's `per_host`. Only `GET` and `HEAD` are sent: a crawler must not submit forms or
//!   call APIs that change things; a script's `POST` is refused.
//! - At most `render_tabs` pages of a crawler render at once; a render that fails because
//!   the browser crashed, hung or passed `render_memory` is done once more in a new browser,
//!   and a second failure delivers the page with error kind `render`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::StreamExt;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use super::http::{send, FetchContext};
use super::render::{
    LaunchSettings, RenderJob, Rendered, Renderer, SubFetch, SubRequest, SubResponse,
};
use crate::config::{Config, Render};
use crate::content_encoding::decoded_body;
use crate::error::CrawlError;
use crate::memory::{body_reservation_factor, Part, Reservation};
use crate::parse::shell::looks_script_built;
use crate::pipeline::{CrawlCtx, Fetched};
use crate::stats::RenderStats;
use crate::url::{host_key, Scope};

/// Requests of one rendered page to other hosts in flight at once (a browser's own limit).
const OTHER_HOSTS_AT_ONCE: usize = 6;
/// Response headers not handed to the browser: the body is decoded and whole, and cookies
/// stay out of a page's render.
const DROPPED_HEADERS: &[&str] = &[
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "set-cookie",
];

/// The browser settings of a crawler: one browser per process serves every crawler with the
/// same ones.
pub(crate) fn launch_settings(config: &Config) -> LaunchSettings {
    LaunchSettings {
        browser: config.render_browser.clone(),
        memory: config.render_memory,
        recycle_after: config.render_recycle_after,
    }
}

/// Renders the page `fetched` holds when the crawl's `render` asks for it; otherwise returns it
/// as it is. `tabs` bounds the crawler's renders at once.
pub(crate) async fn render_if_wanted(
    ctx: &Arc<CrawlCtx>,
    client: &reqwest::Client,
    tabs: &Semaphore,
    mut fetched: Fetched,
) -> Fetched {
    let config = &ctx.config;
    let counters = &ctx.counters.render;
    // Decided on references: every page of every crawl passes here, most never to render.
    let wanted = fetched.body.is_some()
        && fetched.error.is_none()
        && (200..300).contains(&fetched.status)
        && !fetched.memory_cut
        && (fetched.final_url.as_ref())
            .and_then(|url| url.host_str())
            .is_some_and(|host| config.renders_host(host));
    let (true, Some(body), Some(url)) = (wanted, fetched.body.clone(), fetched.final_url.clone())
    else {
        return fetched;
    };
    if config.render == Render::Auto {
        if !looks_script_built(&body) {
            counters.not_shells.fetch_add(1, Relaxed);
            return fetched;
        }
        counters.shells.fetch_add(1, Relaxed);
    }
    let Ok(_tab) = tabs.acquire().await else {
        return fetched;
    };
    let renderer = Renderer::shared(&launch_settings(config));
    let gap = fetched.crawl_delay.unwrap_or_default().max(config.delay);
    let fetcher = sub_fetcher(ctx.clone(), client.clone(), &url, gap);
    let mut outcome = renderer
        .render(job(config, &url, &fetched, body.clone()), fetcher.clone())
        .await;
    if outcome.as_ref().is_err_and(|e| e.retryable()) {
        counters.retried.fetch_add(1, Relaxed);
        outcome = renderer
            .render(job(config, &url, &fetched, body), fetcher)
            .await;
    }
    match outcome {
        Ok(rendered) => take_render(ctx, &mut fetched, rendered),
        Err(error) => {
            counters.failed.fetch_add(1, Relaxed);
            fetched.error = Some(CrawlError::Render(error.to_string()));
        }
    }
    fetched
}

fn job(config: &Config, url: &Url, fetched: &Fetched, body: Bytes) -> RenderJob {
    RenderJob {
        url: url.clone(),
        status: fetched.status,
        headers: (fetched.content_type.iter())
            .map(|ct| ("content-type".to_string(), ct.clone()))
            .collect(),
        body,
        timeout: config.render_timeout,
        wait_for: config.render_wait_for.clone(),
        max_body: config.max_body,
        block_media: config.render_block_media,
    }
}

/// The rendered DOM becomes the page's body, within `max_memory`: its reservation grows to the
/// DOM's size (a DOM that does not fit leaves the page as fetched, with error kind `render`).
fn take_render(ctx: &CrawlCtx, fetched: &mut Fetched, rendered: Rendered) {
    let counters = &ctx.counters.render;
    counters.rendered.fetch_add(1, Relaxed);
    counters
        .subrequests
        .fetch_add(u64::from(rendered.requests), Relaxed);
    counters
        .blocked
        .fetch_add(u64::from(rendered.blocked), Relaxed);
    if !rendered.settled {
        counters.unsettled.fetch_add(1, Relaxed);
    }
    let factor = body_reservation_factor(!ctx.config.extract.is_empty());
    let old = fetched.body.as_ref().map_or(0, |b| b.len() as u64);
    let new = rendered.html.len() as u64;
    let reservation = fetched
        .reservation
        .get_or_insert_with(|| Reservation::empty(ctx.budget.clone(), Part::Bodies));
    if new > old && !reservation.try_grow((new - old) * factor) {
        counters.failed.fetch_add(1, Relaxed);
        fetched.error = Some(CrawlError::Render(format!(
            "the rendered document ({new} bytes) does not fit in max_memory now"
        )));
        return;
    }
    fetched.truncated |= rendered.truncated;
    fetched.rendered = Some(rendered.elapsed);
    fetched.body = Some(Bytes::from(rendered.html));
}

/// Serves the browser's requests for the page at `page` with the crawl's client.
fn sub_fetcher(ctx: Arc<CrawlCtx>, client: reqwest::Client, page: &Url, gap: Duration) -> SubFetch {
    let host = host_key(page);
    let scope = Arc::new(ctx.scope.for_resources());
    // The page's host: one request at a time, `gap` apart (from the document's own request).
    let same_host = Arc::new(Mutex::new(Instant::now()));
    let other_hosts = Arc::new(Semaphore::new(OTHER_HOSTS_AT_ONCE));
    Arc::new(
        move |request: SubRequest| -> BoxFuture<'static, Result<SubResponse, String>> {
            let (ctx, client, host, scope) =
                (ctx.clone(), client.clone(), host.clone(), scope.clone());
            let (same_host, other_hosts) = (same_host.clone(), other_hosts.clone());
            Box::pin(async move {
                if !matches!(request.method.as_str(), "GET" | "HEAD") {
                    return Err(format!(
                        "{} {}: a crawler sends only GET and HEAD",
                        request.method, request.url
                    ));
                }
                if host_key(&request.url) == host {
                    let mut last = same_host.lock().await;
                    tokio::time::sleep_until((*last + gap).into()).await;
                    let answer = fetch_resource(&ctx, &client, &scope, request.url).await;
                    *last = Instant::now();
                    answer
                } else {
                    let _turn = other_hosts.acquire().await.map_err(|e| e.to_string())?;
                    fetch_resource(&ctx, &client, &scope, request.url).await
                }
            })
        },
    )
}

/// One resource of a rendered page: redirects followed by hand, each hop through the address
/// guard, robots.txt and `scope`; the body decoded and capped at `max_body`.
async fn fetch_resource(
    ctx: &CrawlCtx,
    client: &reqwest::Client,
    scope: &Scope,
    url: Url,
) -> Result<SubResponse, String> {
    if !scope.allows_pattern(url.as_str()) {
        return Err(format!("{url}: out of scope (deny, max_url_length)"));
    }
    let config = &ctx.config;
    let cx = FetchContext {
        client,
        keep_alive: true,
        probing_robots: false,
        config,
        scope,
        robots: &ctx.robots,
        guard: &ctx.guard,
        budget: &ctx.budget,
    };
    let started = Instant::now();
    let read = async {
        let answer = match send(&cx, url.clone(), None, None, started).await {
            Ok(answer) => answer,
            Err(failed) => {
                let cause = failed
                    .error
                    .map_or_else(|| "refused".into(), |e| e.to_string());
                return Err(format!("{url}: {cause}"));
            }
        };
        let response = answer.response;
        let status = response.status().as_u16();
        let headers = (response.headers().iter())
            .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let mut stream = decoded_body(response).await.map_err(|e| e.to_string())?;
        let mut body = BytesMut::new();
        // Counted while it is read; the browser holds it after that (`render_memory`).
        let mut memory = Reservation::empty(ctx.budget.clone(), Part::Bodies);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("{url}: {e}"))?;
            if (body.len() + chunk.len()) as u64 > config.max_body {
                return Err(format!("{url}: larger than max_body ({})", config.max_body));
            }
            if !memory.try_grow(chunk.len() as u64) {
                return Err(format!("{url}: max_memory is spent"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(SubResponse {
            status,
            headers,
            body: body.freeze(),
        })
    };
    match tokio::time::timeout(config.timeout, read).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "{url}: took longer than timeout ({:?})",
            config.timeout
        )),
    }
}

/// The process's browser for a crawler's settings, when it renders (no browser is started
/// until a page is rendered).
pub(crate) fn browser_for(config: &Config) -> Option<Arc<Renderer>> {
    (config.render != Render::Never).then(|| Renderer::shared(&launch_settings(config)))
}

/// Copies the process's browser's figures into a crawl's render stats.
pub(crate) fn add_browser_stats(renderer: &Renderer, stats: &mut RenderStats) {
    let browser = renderer.stats();
    stats.browser_starts = browser.browser_starts;
    stats.browser_crashes = browser.crashes;
    stats.browser_memory_kills = browser.memory_kills;
    stats.browser_rss_bytes = browser.rss_bytes;
    stats.browser_peak_rss_bytes = browser.peak_rss_bytes;
}

//! One HTTP exchange per page: redirects followed by hand (each hop is checked
//! for loops and against the scope), the body streamed under `max_body` and `read_timeout`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::StreamExt;
use reqwest::header::{
    HeaderMap, CONNECTION, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, RETRY_AFTER,
};
use reqwest::{Client, Response};
use url::Url;

use crate::config::Config;
use crate::content_encoding::decoded_body;
use crate::error::CrawlError;
use crate::last_visit::{LastVisit, MAX_VALIDATOR_LEN};
use crate::memory::{body_reservation_factor, MemoryBudget, Part, Reservation};
use crate::pipeline::Fetched;
use crate::politeness::{AddressGuard, RobotsCache, RobotsFetch, RobotsTag, Rules};
use crate::tracked_io::ConnectionLease;
use crate::url::{fingerprint, host_key, location_target, Scope};

/// Whether a Content-Type is one we parse. A missing one is treated as HTML.
pub fn is_html(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/html")
        || essence.eq_ignore_ascii_case("application/xhtml+xml")
}

/// What one fetch needs besides the URL.
pub(crate) struct FetchContext<'a> {
    pub client: &'a Client,
    /// Leave the page's connection open for the host's next request.
    pub keep_alive: bool,
    /// The host's robots.txt was not known when the scheduler dispatched the page: this fetch
    /// finds it out.
    pub probing_robots: bool,
    pub config: &'a Config,
    pub scope: &'a Scope,
    pub robots: &'a RobotsCache,
    pub guard: &'a AddressGuard,
    pub budget: &'a Arc<MemoryBudget>,
}

/// Fetches `url` once (retries are the scheduler's, so that a host's pause applies to all its
/// requests), under the whole-request `timeout`. `same_host_as`: redirects must stay on this
/// `host:port` (a discovered link under `same_host`); `None` for seeds. With a `last` visit
/// the request is conditional.
pub(crate) async fn fetch(
    cx: &FetchContext<'_>,
    url: Url,
    same_host_as: Option<&str>,
    last: Option<&LastVisit>,
) -> Fetched {
    let started = Instant::now();
    let timeout = cx.config.timeout;
    let hops = fetch_hops(cx, url.clone(), same_host_as, last, started);
    match tokio::time::timeout(timeout, hops).await {
        Ok(fetched) => fetched,
        Err(_) => Fetched::failed(
            Some(url),
            CrawlError::Timeout(format!("request took longer than timeout ({timeout:?})")),
            started,
        ),
    }
}

async fn fetch_hops(
    cx: &FetchContext<'_>,
    url: Url,
    same_host_as: Option<&str>,
    last: Option<&LastVisit>,
    started: Instant,
) -> Fetched {
    match send(cx, url, same_host_as, last, started).await {
        Ok(answer) => {
            let Answer {
                response,
                url,
                crawl_delay,
                lease,
            } = answer;
            let mut fetched = read_response(response, url, cx, started).await;
            drop(lease); // the body is read: the connection is free for the host's next request
            fetched.crawl_delay = crawl_delay;
            fetched
        }
        Err(failed) => *failed,
    }
}

/// How much before the page's own deadline its robots.txt fetch must end.
const ROBOTS_MARGIN: Duration = Duration::from_millis(50);

/// The time robots.txt gets: what is left of the page's `timeout`, less a margin. The fetch
/// must end, and its verdict be remembered, before the page's deadline cancels it: a cancelled
/// fetch leaves nothing behind, and the host's next page would ask again (a robots.txt that
/// drips past the timeout was then fetched twice, the second time answered 404: allow all).
fn robots_timeout(timeout: Duration, started: Instant) -> Duration {
    timeout
        .saturating_sub(started.elapsed())
        .saturating_sub(ROBOTS_MARGIN)
}

/// The response that ends a request's redirects, where it came from, and its host's
/// Crawl-delay.
pub(crate) struct Answer {
    pub response: Response,
    pub url: Url,
    pub crawl_delay: Option<Duration>,
    /// Holds the response's connection busy: keep it until the body is read.
    pub lease: Option<ConnectionLease>,
}

/// Sends the request for `url` and follows its redirects, every hop through the address guard,
/// robots.txt and the scope; a refused or failed hop is the `Fetched` to report (boxed: it is
/// large, and the answer is the common case).
pub(crate) async fn send(
    cx: &FetchContext<'_>,
    url: Url,
    same_host_as: Option<&str>,
    last: Option<&LastVisit>,
    started: Instant,
) -> Result<Answer, Box<Fetched>> {
    let config = cx.config;
    let mut current = url;
    let mut visited = HashSet::from([fingerprint(current.as_str())]);
    let mut redirects = 0;
    let mut crawl_delay = None;
    let (response, lease) = loop {
        // Every hop: the address guard, then robots.txt of the hop's host.
        if let Err(refused) = cx.guard.check_literal(&current) {
            return Err(Box::new(Fetched::failed(Some(current), refused, started)));
        }
        if config.robots {
            let fetch = RobotsFetch {
                client: cx.client,
                guard: cx.guard,
                scope: cx.scope,
                timeout: robots_timeout(config.timeout, started),
            };
            let rules = cx.robots.rules(&fetch, &current).await;
            if crawl_delay.is_none() {
                crawl_delay = rules.crawl_delay(config.max_crawl_delay);
            }
            if let Rules::Unreachable(error) = rules {
                return Err(Box::new(Fetched::failed(Some(current), error, started)));
            }
            if !rules.allows(&current) {
                let mut fetched =
                    Fetched::failed(Some(current), CrawlError::RobotsDisallowed, started);
                fetched.crawl_delay = crawl_delay;
                return Err(Box::new(fetched));
            }
            let gap = crawl_delay.unwrap_or_default().max(config.delay);
            if cx.probing_robots && redirects == 0 && !gap.is_zero() {
                // robots.txt was this host's request: the page waits its turn like any other.
                return Err(Box::new(Fetched::deferred(current, started, crawl_delay)));
            }
        }
        let mut request = cx.client.get(current.clone());
        if !cx.keep_alive {
            request = request.header(CONNECTION, "close");
        }
        // On every hop: the last visit's validators are the final URL's, wherever it was.
        if let Some(etag) = last.and_then(|l| l.etag.as_deref()) {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(date) = last.and_then(|l| l.last_modified.as_deref()) {
            request = request.header(IF_MODIFIED_SINCE, date);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let error = CrawlError::from_reqwest(&e);
                return Err(Box::new(Fetched::failed(Some(current), error, started)));
            }
        };
        let lease = ConnectionLease::of(&response);
        let location = match redirect_target(&response, &current) {
            Redirect::None => break (response, lease),
            Redirect::Unusable(location) => {
                let mut fetched = Fetched::failed(
                    Some(current),
                    CrawlError::BadRedirect(format!("Location {location:?} cannot be followed")),
                    started,
                );
                fetched.status = response.status().as_u16();
                return Err(Box::new(fetched));
            }
            Redirect::To(location) => location,
        };
        redirects += 1;
        let refusal = if redirects > config.max_redirects {
            Some(CrawlError::TooManyRedirects {
                limit: config.max_redirects,
            })
        } else if !visited.insert(fingerprint(location.as_str())) {
            Some(CrawlError::RedirectLoop(location.to_string()))
        } else if !cx.scope.allows_pattern(location.as_str())
            || same_host_as.is_some_and(|host| host_key(&location) != host)
        {
            Some(CrawlError::RedirectOutOfScope(location.to_string()))
        } else {
            None
        };
        if let Some(error) = refusal {
            let mut fetched = Fetched::failed(Some(current), error, started);
            fetched.status = response.status().as_u16();
            return Err(Box::new(fetched));
        }
        current = location;
    };
    Ok(Answer {
        response,
        url: current,
        crawl_delay,
        lease,
    })
}

/// Where a response sends us.
enum Redirect {
    /// Not a redirect: the response is the page (a 304, or a 300 without `Location`, too).
    None,
    To(Url),
    /// A redirect whose `Location` cannot be followed (not http(s), unparsable).
    Unusable(String),
}

fn redirect_target(response: &Response, current: &Url) -> Redirect {
    let status = response.status();
    if !status.is_redirection() || status == reqwest::StatusCode::NOT_MODIFIED {
        return Redirect::None;
    }
    match response.headers().get(LOCATION) {
        None => Redirect::None,
        Some(location) => match location_target(current, location.as_bytes()) {
            Some(target) => Redirect::To(target),
            None => Redirect::Unusable(String::from_utf8_lossy(location.as_bytes()).into_owned()),
        },
    }
}

async fn read_response(
    response: Response,
    final_url: Url,
    cx: &FetchContext<'_>,
    started: Instant,
) -> Fetched {
    let config = cx.config;
    let status = response.status().as_u16();
    let content_type = header_string(response.headers(), CONTENT_TYPE.as_str());
    let headers = config
        .keep_headers
        .iter()
        .filter_map(|name| {
            header_string(response.headers(), name).map(|v| (name.to_ascii_lowercase(), v))
        })
        .collect();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let validator =
        |name| header_string(response.headers(), name).filter(|v| v.len() <= MAX_VALIDATOR_LEN);
    let (etag, last_modified) = (validator(ETAG.as_str()), validator(LAST_MODIFIED.as_str()));
    let mut fetched = Fetched {
        final_url: Some(final_url),
        status,
        content_type,
        headers,
        body: None,
        bytes: 0,
        truncated: false,
        elapsed: Duration::ZERO,
        attempts: 1,
        retry_after,
        crawl_delay: None,
        memory_cut: false,
        deferred: false,
        reservation: None,
        etag,
        last_modified,
        robots_tag: RobotsTag::from_headers(response.headers(), cx.robots.agent()),
        rendered: None,
        error: None,
    };
    if status >= 400 {
        fetched.error = Some(CrawlError::HttpStatus(status));
    }
    if status == 304 || !is_html(fetched.content_type.as_deref()) {
        // Reported, not parsed: never download a body we will not use (a 304 has none).
        fetched.elapsed = started.elapsed();
        return fetched;
    }
    let limit = config.max_body;
    if !config.truncate_body && response.content_length().is_some_and(|len| len > limit) {
        // Announced too large: stop before the body.
        fetched.error = Some(CrawlError::BodyTooLarge { limit });
        fetched.elapsed = started.elapsed();
        return fetched;
    }
    let mut body = BytesMut::with_capacity(initial_capacity(&response, limit));
    let mut stream = match decoded_body(response).await {
        Ok(stream) => stream,
        Err(error) => {
            fetched.error = Some(error);
            fetched.elapsed = started.elapsed();
            return fetched;
        }
    };
    let mut reservation = Reservation::empty(cx.budget.clone(), Part::Bodies);
    let reservation_factor = body_reservation_factor(!config.extract.is_empty());
    loop {
        match tokio::time::timeout(config.read_timeout, stream.next()).await {
            Err(_) => {
                fetched.error = Some(CrawlError::Timeout(format!(
                    "no data for read_timeout ({:?})",
                    config.read_timeout
                )));
                break;
            }
            Ok(Some(Err(error))) => {
                // A broken body is a transport failure even after an error status.
                fetched.error = Some(error);
                break;
            }
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => {
                let room = (limit - body.len() as u64) as usize;
                let take = chunk.len().min(room);
                // Reserve for the document it will become too: parsing then stays in budget.
                if !reserve(
                    &mut reservation,
                    take as u64 * reservation_factor,
                    config.read_timeout,
                )
                .await
                {
                    // max_memory is spent: keep what we have (a page, not an outage).
                    fetched.truncated = true;
                    fetched.memory_cut = true;
                    break;
                }
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    fetched.truncated = true;
                    if !config.truncate_body {
                        fetched.error = Some(CrawlError::BodyTooLarge { limit });
                    }
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    fetched.bytes = body.len() as u64;
    let too_large = matches!(fetched.error, Some(CrawlError::BodyTooLarge { .. }));
    fetched.body = (!too_large).then(|| body.freeze());
    fetched.reservation = fetched.body.is_some().then_some(reservation);
    fetched.elapsed = started.elapsed();
    fetched
}

/// Grows a body's reservation. A body that has nothing yet waits (up to `patience`) for memory
/// to be freed by pages finishing; one that has something is cut at once instead, which frees
/// memory sooner (and bodies never wait on each other).
async fn reserve(reservation: &mut Reservation, bytes: u64, patience: Duration) -> bool {
    const RECHECK: Duration = Duration::from_millis(10);
    let give_up = Instant::now() + patience;
    loop {
        if reservation.try_grow(bytes) {
            return true;
        }
        if reservation.bytes() > 0 || Instant::now() >= give_up {
            return false;
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn initial_capacity(response: &Response, limit: u64) -> usize {
    // Trust Content-Length only up to the cap, and only a little ahead of time.
    response
        .content_length()
        .unwrap_or(64 * 1024)
        .min(limit)
        .min(1 << 20) as usize
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let soon = std::time::SystemTime::now() + Duration::from_secs(30);
        let parsed = parse_retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30),
            "{parsed:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn html_types() {
        assert!(is_html(Some("text/html; charset=utf-8")));
        assert!(is_html(Some("Application/XHTML+xml")));
        assert!(is_html(None));
        assert!(!is_html(Some("application/pdf")));
        assert!(!is_html(Some("text/plain")));
    }
}

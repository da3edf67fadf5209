//! The fetch stage: one HTTP exchange per page, redirects followed by hand (each hop is checked
//! for loops and against the scope), the body streamed under `max_body` and `read_timeout`.

use std::collections::HashSet;
use std::error::Error as _;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{redirect, Client, Response};
use url::Url;

use crate::config::Config;
use crate::error::{CrawlError, Error};
use crate::url::{fingerprint, normalize, Scope};

/// Builds the HTTP client shared by every crawl of a crawler.
pub fn build_client(config: &Config) -> Result<Client, Error> {
    let mut headers = HeaderMap::new();
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| crate::error::ConfigError::invalid("headers", format!("{name:?}: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| {
            crate::error::ConfigError::invalid("headers", format!("{value:?}: {e}"))
        })?;
        headers.insert(name, value);
    }
    Client::builder()
        .user_agent(&config.user_agent)
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .pool_max_idle_per_host(config.per_host.max(config.concurrency.min(256)))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Startup(format!("HTTP client: {e}")))
}

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
    pub error: Option<CrawlError>,
}

impl Fetched {
    pub(crate) fn failed(url: Option<Url>, error: CrawlError, started: Instant) -> Self {
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
            error: Some(error),
        }
    }
}

/// Whether a Content-Type is one we parse. A missing one is treated as HTML.
pub fn is_html(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/html")
        || essence.eq_ignore_ascii_case("application/xhtml+xml")
}

/// Fetches `url`, following redirects, each attempt under the whole-request `timeout`;
/// transient failures are retried up to `retries` times with exponential backoff and jitter
/// (or after the server's `Retry-After`, capped by `max_retry_after`).
pub async fn fetch(client: &Client, url: Url, config: &Config, scope: &Scope) -> Fetched {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut fetched = fetch_once(client, url.clone(), config, scope).await;
        fetched.attempts = attempt;
        let transient = fetched.error.as_ref().is_some_and(CrawlError::is_transient);
        if !transient || attempt > config.retries {
            fetched.elapsed = started.elapsed();
            return fetched;
        }
        let wait = match fetched.retry_after {
            Some(asked) => asked.min(config.max_retry_after),
            None => backoff(config.retry_backoff, attempt, url.as_str()),
        };
        tokio::time::sleep(wait).await;
    }
}

/// `base * 2^(attempt-1)`, scaled by a jitter factor in [0.5, 1.5) so that many crawlers
/// failing together do not retry together.
fn backoff(base: Duration, attempt: u32, url: &str) -> Duration {
    let exponential = base.saturating_mul(1 << (attempt - 1).min(16));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let noise = fingerprint(&format!("{url}{attempt}{nanos}"));
    let jitter = 0.5 + (noise % 1000) as f64 / 1000.0;
    exponential.mul_f64(jitter)
}

async fn fetch_once(client: &Client, url: Url, config: &Config, scope: &Scope) -> Fetched {
    let started = Instant::now();
    match tokio::time::timeout(
        config.timeout,
        fetch_inner(client, url.clone(), config, scope, started),
    )
    .await
    {
        Ok(fetched) => fetched,
        Err(_) => Fetched::failed(
            Some(url),
            CrawlError::Timeout(format!(
                "request took longer than timeout ({:?})",
                config.timeout
            )),
            started,
        ),
    }
}

async fn fetch_inner(
    client: &Client,
    url: Url,
    config: &Config,
    scope: &Scope,
    started: Instant,
) -> Fetched {
    let mut current = url;
    let mut visited = HashSet::from([fingerprint(current.as_str())]);
    let mut redirects = 0;
    let response = loop {
        let response = match client.get(current.clone()).send().await {
            Ok(response) => response,
            Err(e) => return Fetched::failed(Some(current), classify(&e), started),
        };
        let Some(location) = redirect_target(&response, &current) else {
            break response;
        };
        redirects += 1;
        if redirects > config.max_redirects {
            let error = CrawlError::TooManyRedirects {
                limit: config.max_redirects,
            };
            return Fetched::failed(Some(current), error, started);
        }
        if !visited.insert(fingerprint(location.as_str())) {
            return Fetched::failed(
                Some(current),
                CrawlError::RedirectLoop(location.to_string()),
                started,
            );
        }
        if !scope.allows_pattern(location.as_str()) {
            return Fetched::failed(
                Some(current),
                CrawlError::RedirectOutOfScope(location.to_string()),
                started,
            );
        }
        current = location;
    };
    read_response(response, current, config, started).await
}

/// The target of a 3xx response with a usable Location, normalized.
fn redirect_target(response: &Response, current: &Url) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let target = current.join(location.trim()).ok()?;
    matches!(target.scheme(), "http" | "https").then(|| normalize(target))
}

async fn read_response(
    mut response: Response,
    final_url: Url,
    config: &Config,
    started: Instant,
) -> Fetched {
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
        error: None,
    };
    if status >= 400 {
        fetched.error = Some(CrawlError::HttpStatus(status));
    }
    if !is_html(fetched.content_type.as_deref()) {
        // Reported, not parsed: never download a body we will not use.
        fetched.elapsed = started.elapsed();
        return fetched;
    }
    let limit = config.max_body;
    let mut body = BytesMut::with_capacity(initial_capacity(&response, limit));
    loop {
        match tokio::time::timeout(config.read_timeout, response.chunk()).await {
            Err(_) => {
                fetched.error = Some(CrawlError::Timeout(format!(
                    "no data for read_timeout ({:?})",
                    config.read_timeout
                )));
                break;
            }
            Ok(Err(e)) => {
                // A broken body is a transport failure even after an error status.
                fetched.error = Some(classify(&e));
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                let room = (limit - body.len() as u64) as usize;
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    fetched.truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    fetched.bytes = body.len() as u64;
    fetched.body = Some(body.freeze());
    fetched.elapsed = started.elapsed();
    fetched
}

/// `Retry-After`: delay-seconds or an HTTP-date.
fn parse_retry_after(value: &str) -> Option<Duration> {
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

/// Maps a reqwest error to the cause a user can act on.
pub fn classify(error: &reqwest::Error) -> CrawlError {
    let chain = error_chain(error);
    if error.is_timeout() {
        CrawlError::Timeout(chain)
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        CrawlError::Dns(chain)
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS") {
        CrawlError::Tls(chain)
    } else if error.is_connect() {
        CrawlError::Connect(chain)
    } else if error.is_decode() {
        CrawlError::Decode(chain)
    } else if error.is_builder() || error.is_request() && error.url().is_none() {
        CrawlError::InvalidUrl(chain)
    } else {
        CrawlError::Http(chain)
    }
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
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
    fn backoff_grows_with_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..5 {
            let wait = backoff(base, attempt, "http://a/");
            let nominal = base * (1 << (attempt - 1));
            assert!(
                wait >= nominal / 2 && wait < nominal * 3 / 2,
                "{attempt}: {wait:?}"
            );
        }
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

//! The HTTP client shared by every crawl of a crawler: headers, timeouts, the connection pool,
//! TLS, cookies, proxy, and the `private_addresses` guard (in name resolution, or on each
//! connection's target through a proxy).

use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT_ENCODING};
use reqwest::{redirect, Client};

use super::connections::{idle_timeout, ConnectionLimitLayer};
use super::proxy_guard::ProxyTargetLayer;

use crate::config::{Config, PrivateAddresses};
use crate::content_encoding;
use crate::error::{ConfigError, Error};
use crate::politeness::{AddressGuard, GuardedResolver};

/// Each connection's HTTP/1 read buffer, and so the largest response head accepted.
pub(crate) const READ_BUFFER: usize = 16 << 10;

/// Builds the HTTP client shared by every crawl of a crawler. Redirects are followed by hand
/// (see [`super::http::fetch`]); every connection's address passes the `private_addresses`
/// guard (in name resolution, or [`super::proxy_guard`] through a proxy);
/// new connections are held to the connection limit (see [`super::connections`]).
pub(crate) fn build_client(
    config: &Config,
    guard: Arc<AddressGuard>,
    connection_limit: ConnectionLimitLayer,
    cookies: Option<Arc<Jar>>,
) -> Result<Client, Error> {
    let mut headers = HeaderMap::new();
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ConfigError::invalid("headers", format!("{name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| ConfigError::invalid("headers", format!("{value:?}: {e}")))?;
        headers.insert(name, value);
    }
    // Content-Encoding is ours to decode (see content_encoding.rs), so we say what we accept.
    if !headers.contains_key(ACCEPT_ENCODING) {
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static(content_encoding::ACCEPT_ENCODING),
        );
    }
    let mut builder = Client::builder()
        .user_agent(&config.user_agent)
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        // A host never has more than `per_host` requests in flight from this crawler.
        .pool_max_idle_per_host(config.per_host)
        .pool_idle_timeout(idle_timeout(config))
        // A fixed 16 KiB read buffer per connection: hyper's adaptive one doubles while reads
        // fill it (up to ~400 KiB) and a pooled connection keeps it, so RSS grew with open
        // connections outside `max_memory` (#17; vendor/README.md). 32 KiB cost 11 MiB more
        // RSS on 500 hosts for the same wall time. A response head over 16 KiB is refused
        // (error kind `protocol`): browsers allow 256 KiB, but nginx proxies pass 4-8 KiB.
        .http1_read_buf_exact_size(READ_BUFFER)
        .tcp_nodelay(true)
        .cookie_store(config.cookies)
        .danger_accept_invalid_certs(config.accept_invalid_certs)
        .connector_layer(connection_limit);
    builder = match &config.proxy {
        Some(proxy) => {
            let proxy = reqwest::Proxy::all(proxy)
                .map_err(|e| ConfigError::invalid("proxy", format!("{proxy:?}: {e}")))?;
            // The proxy resolves the targets: the guard checks them before each connection
            // (the resolver sees only the proxy's own name, the operator's choice).
            let builder = builder.proxy(proxy);
            match config.private_addresses {
                PrivateAddresses::Allow => builder,
                _ => builder.connector_layer(ProxyTargetLayer::new(guard)),
            }
        }
        // Only explicit proxies: an ambient HTTP_PROXY must not silently reroute a crawler.
        None => builder
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(guard))),
    };
    if let Some(jar) = cookies {
        // The crawler's store, kept across the clients of its crawls.
        builder = builder.cookie_provider(jar);
    }
    builder
        .build()
        .map_err(|e| Error::Startup(format!("HTTP client: {e}")))
}

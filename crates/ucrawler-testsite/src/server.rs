//! The HTTP/1.1 server (hyper, keep-alive): routing, `Host`-based link bases, logging.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, HOST, USER_AGENT};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::body::Body;
use crate::hostile::{self, HostileState};
use crate::latency::{Delay, Latency};
use crate::log::{HostLoad, LoggedRequest, RequestLog};
use crate::page_reply;
use crate::reply::{not_found, response, small_page};
use crate::site::Site;

struct Ctx {
    site: Arc<Site>,
    log: Option<RequestLog>,
    hostile: HostileState,
    /// Requests this host (this listener) is answering now.
    load: Arc<HostLoad>,
    /// `host:port` used for links when a request has no usable `Host` header.
    fallback_host: String,
}

/// Serves `site` (and the hostile endpoints) on `listener` until the future is dropped.
/// Each connection runs as its own task on the current tokio runtime. Requests are counted
/// (and recorded, if the log was created with `record`) in `log`.
pub async fn serve(
    listener: TcpListener,
    site: Arc<Site>,
    log: Option<RequestLog>,
) -> io::Result<()> {
    serve_host(listener, site, log, Delay::new(&Latency::None, 0)).await
}

/// [`serve`], answering each request after `delay` (one host of a many-host site).
pub(crate) async fn serve_host(
    listener: TcpListener,
    site: Arc<Site>,
    log: Option<RequestLog>,
    delay: Delay,
) -> io::Result<()> {
    let delay = Arc::new(delay);
    let ctx = Arc::new(Ctx {
        site,
        log,
        hostile: HostileState::default(),
        load: Arc::default(),
        fallback_host: listener.local_addr()?.to_string(),
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            // Per-connection failures (aborted handshakes) and resource exhaustion
            // (EMFILE) are transient: back off briefly and keep serving.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        // Small responses must not wait for Nagle on keep-alive connections.
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let delay = Arc::clone(&delay);
        tokio::spawn(async move {
            let _open = ctx.log.as_ref().map(RequestLog::open_connection);
            let service = service_fn(move |req: Request<Incoming>| {
                let (ctx, delay) = (Arc::clone(&ctx), Arc::clone(&delay));
                async move {
                    let started = Instant::now();
                    let _in_flight = ctx.log.as_ref().map(|log| log.enter(&ctx.load));
                    if let Some(wait) = delay.next() {
                        tokio::time::sleep(wait).await;
                    }
                    if let Some(wait) = crate::render::delay(req.uri().path()) {
                        tokio::time::sleep(wait).await;
                    }
                    let response = handle(&ctx, &req, peer);
                    if let Some(log) = &ctx.log {
                        log.add_busy(started.elapsed());
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            // Errors here are the client's doing (disconnects, garbage, deliberate resets).
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn handle(ctx: &Ctx, req: &Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let started = Instant::now();
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let host_header = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    let pending = ctx.log.as_ref().and_then(|log| {
        log.begin(|| LoggedRequest {
            path: path_and_query.to_string(),
            host: host_header.unwrap_or_default().to_string(),
            started,
            finished: started,
            status: 0,
            user_agent: req
                .headers()
                .get(USER_AGENT)
                .map(|ua| String::from_utf8_lossy(ua.as_bytes()).into_owned()),
            peer,
        })
    });

    let host = host_header
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .filter(|h| is_valid_host(h))
        .unwrap_or(&ctx.fallback_host);
    let mut resp = route(ctx, req, path_and_query, host);

    if let Some(mut pending) = pending {
        pending.set_status(resp.status().as_u16());
        if resp.body().is_full() {
            pending.finish();
        } else {
            resp.body_mut().set_log(pending);
        }
    }
    resp
}

fn route(ctx: &Ctx, req: &Request<Incoming>, path_and_query: &str, host: &str) -> Response<Body> {
    let (method, path, headers) = (req.method(), req.uri().path(), req.headers());
    if method != Method::GET && method != Method::HEAD {
        let mut resp = small_page(405, "Method Not Allowed");
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    if let Some(resp) = hostile::respond(path, &ctx.hostile) {
        return resp;
    }
    if let Some(resp) = crate::dom_bombs::respond(path) {
        return resp;
    }
    if let Some(resp) = crate::structured::respond(path) {
        return resp;
    }
    if let Some(resp) = crate::declarations::respond(path) {
        return resp;
    }
    if let Some(resp) = crate::traps::respond(path_and_query) {
        return resp;
    }
    if let Some(resp) = crate::render::respond(path_and_query, host) {
        return resp;
    }
    if let Some(resp) = crate::moved::respond(path) {
        return resp;
    }
    if let Some(resp) = crate::control::respond(path, &ctx.site) {
        return resp;
    }
    let mut base = String::with_capacity(7 + host.len());
    base.push_str("http://");
    base.push_str(host);
    if let Some(resp) = crate::sitemaps::respond(path, &ctx.site, &base) {
        return resp;
    }
    if let Some(resp) = page_reply::respond(&ctx.site, &base, path_and_query, headers) {
        return resp;
    }
    match ctx.site.render(&base, path_and_query) {
        Some(page) => response(200, page.content_type, Body::full(page.body)),
        None => not_found(),
    }
}

/// Only plain `host[:port]` values go into generated HTML.
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_validation() {
        assert!(is_valid_host("127.0.0.1:8080"));
        assert!(is_valid_host("[::1]:80"));
        assert!(is_valid_host("localhost"));
        assert!(!is_valid_host(""));
        assert!(!is_valid_host("evil\"><script>"));
        assert!(!is_valid_host("a/b"));
    }
}

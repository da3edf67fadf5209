//! The dashboard's routes, mounted at the root (the contract of issue #16, shared with the gem's
//! `UcrawlerNative::Web`): basic auth first when configured, then the CSRF token and Origin on
//! every POST, then the page, its assets, the overview and the actions on a shared crawl.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use ucrawler::dashboard::Action;

use super::{constant_time_eq, App};

const INDEX: &str = include_str!("../../../../lib/ucrawler_native/web/assets/index.html");
const APP_JS: &str = include_str!("../../../../lib/ucrawler_native/web/assets/app.js");
const APP_CSS: &str = include_str!("../../../../lib/ucrawler_native/web/assets/app.css");

/// Longest request body, in bytes (a form carries one token).
const MAX_BODY: usize = 16 * 1024;
/// A request body must arrive within this.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
const WRONG_TOKEN: &str = "CSRF token missing or wrong";
const CHALLENGE: &str = "Basic realm=\"ucrawler\"";
const CSRF_HEADER: &str = "x-csrf-token";
const CSRF_FIELD: &str = "csrf_token";
const FORM_TYPE: &str = "application/x-www-form-urlencoded";
/// The paths answered to GET and HEAD.
const PAGES: [&str; 4] = [
    "/",
    "/assets/app.js",
    "/assets/app.css",
    "/api/overview.json",
];
/// The page talks only to its own API, is never framed (its buttons act) and sends no referrer
/// out (the gem's headers).
const SECURITY: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

type Reply = Response<Full<Bytes>>;

/// index.html mounted at the root, carrying `token`.
pub fn index_html(token: &str) -> String {
    INDEX
        .replace("{{base}}", "")
        .replace("{{csrf_token}}", &escape_html(token))
}

/// The answer to one request.
pub async fn handle(app: &Arc<App>, request: Request<Incoming>) -> Reply {
    match &app.credentials {
        Some(credentials) => {
            if !credentials.allow(request.headers()) {
                let refusal = text(StatusCode::UNAUTHORIZED, "Authentication required\n");
                return with(refusal, header::WWW_AUTHENTICATE, CHALLENGE);
            }
        }
        // Without credentials only loopback may reach us, and only under a loopback name: a
        // page of another site whose name was rebound to 127.0.0.1 must not read the token.
        None => {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok());
            if !host.is_some_and(is_loopback_name) {
                let host = host.unwrap_or("none");
                let message = format!(
                    "Host {host} is not a loopback name: without --user/--password the dashboard \
                     answers only localhost, 127.0.0.1 and [::1]\n"
                );
                let refusal = reply(StatusCode::FORBIDDEN, "text/plain; charset=utf-8", message);
                return with(refusal, header::CACHE_CONTROL, "no-store");
            }
        }
    }
    let path = request.uri().path().to_string();
    if request.method() == Method::POST {
        return post(app, request, &path).await;
    }
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    match path.as_str() {
        path if PAGES.contains(&path) && !read => method_not_allowed("GET, HEAD"),
        "/" => file("text/html; charset=utf-8", app.index.clone(), "no-store"),
        "/assets/app.js" => file("application/javascript; charset=utf-8", APP_JS, "no-cache"),
        "/assets/app.css" => file("text/css; charset=utf-8", APP_CSS, "no-cache"),
        "/api/overview.json" => {
            let dashboard = app.dashboard.clone();
            match tokio::task::spawn_blocking(move || dashboard.overview(&[])).await {
                Ok(overview) => json_reply(StatusCode::OK, &overview),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the overview failed"),
            }
        }
        path if action_route(path).is_some() => method_not_allowed("POST"),
        path => not_found(path),
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A POST: its body (capped), the CSRF token and Origin, then the action.
async fn post(app: &Arc<App>, request: Request<Incoming>, path: &str) -> Reply {
    let (parts, body) = request.into_parts();
    let form = is_form(&parts.headers);
    let declared = (parts.headers.get(header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body over 16 KiB");
    }
    let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect());
    let body = match collected.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "request body over 16 KiB")
        }
        Ok(Err(_)) => return error(StatusCode::BAD_REQUEST, "request body unreadable"),
        Err(_) => return error(StatusCode::REQUEST_TIMEOUT, "request body too slow"),
    };
    if let Some(refusal) = csrf_refusal(app, &parts.headers, form.then_some(&body)) {
        return refusal;
    }
    let Some((name, action)) = action_route(path) else {
        return if PAGES.contains(&path) {
            method_not_allowed("GET, HEAD")
        } else {
            not_found(path)
        };
    };
    let Ok(name) = percent_decode_str(name).decode_utf8() else {
        return error(StatusCode::BAD_REQUEST, "the crawl name is not valid UTF-8");
    };
    let name = name.into_owned();
    let dashboard = app.dashboard.clone();
    match tokio::task::spawn_blocking(move || dashboard.act(&name, action)).await {
        // A plain form post (no JS) goes back to the page; JS and API clients get the JSON.
        Ok(Ok(_)) if form => with(text(StatusCode::SEE_OTHER, ""), header::LOCATION, "/"),
        Ok(Ok(answer)) => json_reply(StatusCode::OK, &answer),
        Ok(Err(e)) if e.is_not_found() => error(StatusCode::NOT_FOUND, &e.to_string()),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the action failed"),
    }
}

/// `/api/crawls/NAME/ACTION`: NAME (still percent-encoded) and the action.
fn action_route(path: &str) -> Option<(&str, Action)> {
    let (name, action) = path.strip_prefix("/api/crawls/")?.split_once('/')?;
    let action = action.parse().ok()?;
    (!name.is_empty()).then_some((name, action))
}

fn is_form(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    content_type.is_some_and(|t| {
        let media_type = t.split(';').next().unwrap_or("").trim();
        media_type.eq_ignore_ascii_case(FORM_TYPE)
    })
}

/// None when the POST may go on: it carries the token (header, else form field) and names no
/// other origin than `http://<Host>` (or https); else the 403.
fn csrf_refusal(app: &App, headers: &HeaderMap, form: Option<&Bytes>) -> Option<Reply> {
    let given: Option<Vec<u8>> = match headers.get(CSRF_HEADER) {
        Some(value) => Some(value.as_bytes().to_vec()),
        None => form.and_then(|body| {
            let mut fields = url::form_urlencoded::parse(body);
            let (_, token) = fields.find(|(field, _)| field == CSRF_FIELD)?;
            Some(token.into_owned().into_bytes())
        }),
    };
    if !given.is_some_and(|given| constant_time_eq(&given, app.token.as_bytes())) {
        return Some(error(StatusCode::FORBIDDEN, WRONG_TOKEN));
    }
    let origin = headers.get(header::ORIGIN)?;
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    // https too: behind a proxy that ends TLS and keeps the Host header.
    let own = |scheme: &str| {
        host.is_some_and(|host| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")))
    };
    if own("http") || own("https") {
        return None;
    }
    let own = host.map_or_else(|| "no Host header".into(), |host| format!("http://{host}"));
    let message = format!("Origin {origin} is not this dashboard's ({own})");
    Some(error(StatusCode::FORBIDDEN, &message))
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in SECURITY {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn with(mut response: Reply, name: HeaderName, value: &'static str) -> Reply {
    (response.headers_mut()).insert(name, HeaderValue::from_static(value));
    response
}

fn file(content_type: &'static str, body: impl Into<Bytes>, cache: &'static str) -> Reply {
    let response = reply(StatusCode::OK, content_type, body);
    with(response, header::CACHE_CONTROL, cache)
}

fn text(status: StatusCode, message: &'static str) -> Reply {
    let response = reply(status, "text/plain; charset=utf-8", message);
    with(response, header::CACHE_CONTROL, "no-store")
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    let response = reply(status, "application/json", body.to_string());
    with(response, header::CACHE_CONTROL, "no-store")
}

fn error(status: StatusCode, message: &str) -> Reply {
    json_reply(status, &json!({"ok": false, "error": message}))
}

fn method_not_allowed(allow: &'static str) -> Reply {
    let response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    with(response, header::ALLOW, allow)
}

fn not_found(path: &str) -> Reply {
    if path.starts_with("/api/") {
        error(StatusCode::NOT_FOUND, "not found")
    } else {
        text(StatusCode::NOT_FOUND, "Not Found\n")
    }
}

fn escape_html(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

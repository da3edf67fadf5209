//! The answers for the normal site's pages at the current generation: validators and
//! conditional requests, removed pages (404/410), volatile tokens.

use hyper::header::{HeaderMap, ETAG, LAST_MODIFIED};
use hyper::{Response, StatusCode};

use crate::body::Body;
use crate::reply::{not_found, response, small_page, with_header, HTML};
use crate::timeline::PageState;
use crate::{validators, version, volatile, Site};

/// The answer for `/` or `/page/{i}.html` (any query), or `None` for another path.
pub(crate) fn respond(
    site: &Site,
    base: &str,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    let id = Site::page_id(path_and_query)?;
    let generation = site.generation();
    let t = site.timeline(generation);
    let version = match t.state(id, generation) {
        PageState::Live { version } => version,
        PageState::Removed { status: 410, .. } => return Some(small_page(410, "Gone")),
        PageState::Removed { .. } | PageState::Absent => return Some(not_found()),
    };
    let html = version::html(&t, id, version, base);
    if site.volatile() {
        return Some(response(200, HTML, Body::full(volatile::inject(&html))));
    }
    if !site.validators() {
        return Some(response(200, HTML, Body::full(html)));
    }
    let etag = validators::etag(html.as_bytes());
    let modified = validators::last_modified(version);
    let resp = if validators::not_modified(headers, &etag, modified) {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        response(200, HTML, Body::full(html))
    };
    let resp = with_header(resp, ETAG, &etag);
    Some(with_header(
        resp,
        LAST_MODIFIED,
        &httpdate::fmt_http_date(modified),
    ))
}

//! Small helpers to build responses without fallible builders.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};

use crate::body::Body;

pub(crate) const HTML: &str = crate::site::HTML;

/// A response with `content-type`, and `content-length` when the body length is known.
pub(crate) fn response(status: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let len = body.len();
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

pub(crate) fn html(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    response(status, HTML, Body::full(body))
}

/// `<!DOCTYPE html>` page with a title, a heading and an optional extra snippet.
pub(crate) fn page_text(title: &str, extra: &str) -> String {
    let mut s = String::with_capacity(128 + 2 * title.len() + extra.len());
    s.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    s.push_str(title);
    s.push_str("</title></head>\n<body><h1>");
    s.push_str(title);
    s.push_str("</h1>\n");
    s.push_str(extra);
    s.push_str("</body></html>\n");
    s
}

pub(crate) fn small_page(status: u16, title: &str) -> Response<Body> {
    html(status, page_text(title, ""))
}

pub(crate) fn not_found() -> Response<Body> {
    small_page(404, "Not Found")
}

/// A redirect with a small HTML body. An invalid `location` gives a 500.
pub(crate) fn redirect(status: u16, location: &str) -> Response<Body> {
    let mut resp = small_page(status, "Redirect");
    match HeaderValue::from_str(location) {
        Ok(value) => {
            resp.headers_mut().insert(LOCATION, value);
            resp
        }
        Err(_) => small_page(500, "Bad redirect target"),
    }
}

/// Adds a header; an invalid value is left out.
pub(crate) fn with_header(
    mut resp: Response<Body>,
    name: HeaderName,
    value: &str,
) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, value);
    }
    resp
}

//! From a fetched response to a [`Page`]: decoding, extraction, and the follow policy — which of
//! the page's links go back to the scheduler (depth, nofollow, status, scope).

use std::sync::atomic::Ordering::Relaxed;

use url::Url;

use super::charset;
use super::extract::Extractor;
use crate::error::CrawlError;
use crate::page::{Page, Request, Timings};
use crate::pipeline::{CrawlCtx, Fetched};

pub(super) fn failed_page(request: &Request, fetched: &Fetched, message: &str) -> Page {
    let mut page = base_page(request, fetched);
    page.error = Some(CrawlError::Internal(message.to_string()));
    page
}

fn base_page(request: &Request, fetched: &Fetched) -> Page {
    Page {
        url: request.url.clone(),
        final_url: fetched
            .final_url
            .as_ref()
            .map_or_else(|| request.url.clone(), Url::to_string),
        status: fetched.status,
        content_type: fetched.content_type.clone(),
        headers: fetched.headers.clone(),
        depth: request.depth,
        meta: request.meta.clone(),
        bytes: fetched.bytes,
        truncated: fetched.truncated,
        attempts: fetched.attempts,
        error: fetched.error.clone(),
        timings: Timings {
            fetch: fetched.elapsed,
            ..Default::default()
        },
        ..Page::default()
    }
}

/// Decodes and extracts one page; returns it with the links to follow.
pub(super) fn build_page(
    ctx: &CrawlCtx,
    extractor: &Extractor,
    request: &Request,
    requested: Option<&Url>,
    fetched: &Fetched,
) -> (Page, Vec<Request>) {
    let mut page = base_page(request, fetched);
    let (Some(body), Some(final_url)) = (&fetched.body, &fetched.final_url) else {
        return (page, Vec::new());
    };
    let html = charset::decode(body, fetched.content_type.as_deref());
    // The DOM's memory was reserved with the body (see fetch), so parsing stays in budget.
    let extracted = extractor.extract(&html, final_url);
    let follow = page.error.is_none()
        && (200..300).contains(&page.status)
        && !extracted.nofollow
        && ctx.config.depth.is_none_or(|limit| request.depth < limit);
    let mut to_follow = Vec::new();
    if follow {
        let requested = requested.unwrap_or(final_url);
        for link in &extracted.links {
            if ctx.scope.allows(link, requested, final_url) {
                to_follow.push(Request {
                    depth: request.depth + 1,
                    meta: request.meta.clone(),
                    ..Request::new(link.to_string())
                });
            } else {
                ctx.counters.out_of_scope.fetch_add(1, Relaxed);
            }
        }
    }
    page.title = extracted.title;
    page.description = extracted.description;
    page.canonical = extracted.canonical;
    page.noindex = extracted.noindex;
    page.nofollow = extracted.nofollow;
    page.links = extracted.links.into_iter().map(String::from).collect();
    page.extracted = extracted.extracted;
    if ctx.config.keep_body {
        page.body = Some(html.into_owned());
    }
    (page, to_follow)
}

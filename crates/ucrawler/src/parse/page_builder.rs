//! From a fetched response to a [`Page`]: decoding, extraction, and the follow policy — which of
//! the page's links go back to the scheduler (depth, nofollow, status, scope).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;

use url::Url;

use super::charset;
use super::dom::DomMemory;
use super::extract::Extractor;
use crate::error::CrawlError;
use crate::last_visit::classify;
use crate::memory::{body_reservation_factor, Part, Reservation};
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
        lastmod: request.lastmod.as_deref().map(String::from),
        bytes: fetched.bytes,
        truncated: fetched.truncated,
        attempts: fetched.attempts,
        error: fetched.error.clone(),
        timings: Timings {
            fetch: fetched.elapsed,
            render: fetched.rendered.unwrap_or_default(),
            ..Default::default()
        },
        rendered: fetched.rendered.is_some(),
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
    // X-Robots-Tag counts as <meta name="robots"> (and is all a page not parsed has).
    page.noindex = fetched.robots_tag.noindex;
    page.nofollow = fetched.robots_tag.nofollow;
    let (Some(body), Some(final_url)) = (&fetched.body, &fetched.final_url) else {
        compare_with_last_visit(&mut page, request, fetched);
        return (page, Vec::new());
    };
    // A rendered body is the browser's DOM, in UTF-8 whatever the response said.
    let content_type = match fetched.rendered {
        Some(_) => Some("text/html; charset=utf-8"),
        None => fetched.content_type.as_deref(),
    };
    let html = charset::decode(body, content_type);
    let decoded_copy = match &html {
        Cow::Owned(decoded) => decoded.len(),
        Cow::Borrowed(_) => 0,
    };
    let mut memory = DomReservation::new(ctx, body.len(), decoded_copy);
    let last_hash = (request.last_visit.as_ref()).is_some_and(|last| last.content_hash.is_some());
    let hash_text = extractor.hashes_text(last_hash);
    let extracted = extractor.extract_within(&html, final_url, &mut memory, hash_text);
    drop(memory);
    page.noindex |= extracted.noindex;
    page.nofollow |= extracted.nofollow;
    let follow = page.error.is_none()
        && (200..300).contains(&page.status)
        && !page.nofollow
        && ctx.config.depth.is_none_or(|limit| request.depth < limit);
    let mut to_follow = Vec::new();
    if follow {
        let requested = requested.unwrap_or(final_url);
        let skipped: HashSet<&Url> = match ctx.config.follow_nofollow_links {
            true => HashSet::new(),
            false => extracted.nofollow_links.iter().collect(),
        };
        for link in extracted
            .links
            .iter()
            .filter(|link| !skipped.contains(link))
        {
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
    page.links = extracted.links.into_iter().map(String::from).collect();
    page.nofollow_links = (extracted.nofollow_links.into_iter())
        .map(String::from)
        .collect();
    page.extracted = extracted.extracted;
    page.json_ld = extracted.structured.json_ld;
    page.json_ld_errors = extracted.structured.json_ld_errors;
    page.open_graph = extracted.structured.open_graph;
    // A body cut by memory pressure would hash differently on every visit.
    page.content_hash = extracted.content_hash.filter(|_| !fetched.memory_cut);
    compare_with_last_visit(&mut page, request, fetched);
    if let Some(refusal) = extracted.dom_refused {
        // Not a failed fetch: the links found by the streaming pass were followed.
        let refused = CrawlError::DomTooLarge(refusal.to_string());
        page.error.get_or_insert(refused);
    }
    if ctx.config.keep_body {
        page.body = Some(html.into_owned());
    }
    (page, to_follow)
}

/// The page's validators, and what changed since the request's last visit. A `304` keeps
/// what the last visit knew, except what the server sent anew.
fn compare_with_last_visit(page: &mut Page, request: &Request, fetched: &Fetched) {
    let last = request.last_visit.as_deref();
    page.etag = fetched.etag.clone();
    page.last_modified = fetched.last_modified.clone();
    if let (304, Some(last)) = (fetched.status, last) {
        page.etag = page.etag.take().or_else(|| last.etag.clone());
        page.last_modified = page
            .last_modified
            .take()
            .or_else(|| last.last_modified.clone());
        page.content_hash = last.content_hash.clone();
    }
    // This visit's validators are compared only with a last visit's (no copies otherwise).
    let now = last.map(|_| page.last_visit()).unwrap_or_default();
    page.change = classify(last, fetched.status, fetched.error.is_some(), &now);
}

/// Where a page's DOM takes its bytes: first what its body reserved for it while it was read
/// beyond itself (`DOM_FACTOR` times its size with `extract` rules, once without, less a decoded
/// copy: see [`body_reservation_factor`]), then the rest of `max_memory`. A parse
/// that finds the budget spent is refused, not waited for: like a body cut by the budget, the
/// page still comes out.
struct DomReservation {
    prepaid: u64,
    extra: Reservation,
}

impl DomReservation {
    fn new(ctx: &CrawlCtx, body: usize, decoded_copy: usize) -> Self {
        Self {
            prepaid: (body as u64 * (body_reservation_factor(!ctx.config.extract.is_empty()) - 1))
                .saturating_sub(decoded_copy as u64),
            extra: Reservation::empty(ctx.budget.clone(), Part::Pages),
        }
    }

    /// What `prepaid` does not cover of `bytes`.
    fn beyond_prepaid(&mut self, bytes: u64) -> u64 {
        let covered = bytes.min(self.prepaid);
        self.prepaid -= covered;
        bytes - covered
    }
}

impl DomMemory for DomReservation {
    fn try_grow(&mut self, bytes: u64) -> bool {
        let prepaid = self.prepaid;
        let rest = self.beyond_prepaid(bytes);
        if rest == 0 || self.extra.try_grow(rest) {
            return true;
        }
        self.prepaid = prepaid;
        false
    }

    fn force_grow(&mut self, bytes: u64) {
        let rest = self.beyond_prepaid(bytes);
        self.extra.force_grow(rest);
    }
}

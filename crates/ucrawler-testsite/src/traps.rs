//! Crawler traps under `/traps/`: URL spaces without end that a crawler must leave by itself,
//! with no deadline or page cap, and a known number of real pages. None is linked from the
//! normal site; tests seed `/traps/` (or a trap). Every page is small HTML. "V" below is the
//! crawler's `max_query_variants` (distinct query strings queued on one path; default 1,000)
//! and "L" its `max_url_length` (default 4,096 bytes); session ids are the engine's default
//! `strip_query_params` names (`jsessionid`, `phpsessid`...).
//!
//! | Path | Serves | What a correct crawler reports |
//! |------|--------|--------------------------------|
//! | `/traps/` | links `/traps/calendar?month=0`, `/traps/grow?x`, the relative `a/b/` and `/traps/session;jsessionid={random}` | — |
//! | `/traps/calendar?month={n}` (any `i64` n; other queries 404) | "month n", linking `?month={n-1}` and `?month={n+1}`: endless both ways | exactly V months (a run around 0), then the two months past either end are query-variant traps (`trap_query_variants` 2); with V = 0 (no cap) it never ends |
//! | `/traps/grow?{q}` | a link to `/traps/grow?{q}{q}`: the query doubles on every page (`?x`, `?xx`, `?xxxx`...) | the pages whose URL is at most L bytes, [`grow_pages`] (12 on `http://127.0.0.1:{port}` with L = 4,096), the next link out of scope (`out_of_scope`); a V below that ends it first (one more query-variant trap) |
//! | `/traps/a/b/`, `/traps/a/b/a/b/`, ... (any repetition of `a/b/`) | a relative link `a/b/`: one `a/b/` deeper on every page | [`LOOP_PAGES`] pages, `/traps/a/b/` and `/traps/a/b/a/b/`; `/traps/a/b/a/b/a/b/` repeats a run three times: a path loop (`trap_path_loops` 1) |
//! | `/traps/session` (also with a `;jsessionid=` or any query: page 2 with `page=2` in it, else page 1) | links `/traps/session;jsessionid={R}`, `/traps/session?jsessionid={R}` and `/traps/session?page=2&PHPSESSID={R}`, each `{R}` new on every request | session ids stripped: [`SESSION_PAGES`] pages, `/traps/session` and `/traps/session?page=2`; with nothing stripped it never ends (every `;jsessionid=` path is a new URL without a query: no trap rule holds, only `max_pages` or a deadline) |
//!
//! A crawl seeded with `/traps/` on `base` finds exactly [`expected`]`(base, V, L)`: 1,017
//! pages with the defaults (1 + 1,000 months + 12 + 2 + 2), `trap_query_variants` 2 and
//! `trap_path_loops` 1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::Response;

use crate::body::Body;
use crate::reply::{html, page_text};
use crate::rng::hash;

/// Real pages of the path loop: `/traps/a/b/` and `/traps/a/b/a/b/`.
pub const LOOP_PAGES: usize = 2;
/// Real pages behind the session-id links: `/traps/session` and `/traps/session?page=2`.
pub const SESSION_PAGES: usize = 2;
/// Query-variant traps of the calendar: the months past both ends of what was crawled.
pub const CALENDAR_TRAPS: u64 = 2;

/// The random stream of session ids (the site's own streams are below 16).
const STREAM_SESSION: u64 = 16;
/// Session ids drawn in this process.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// What a crawl seeded with `/traps/` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Pages crawled, the seed included.
    pub pages: usize,
    /// Calendar pages among them.
    pub calendar: usize,
    /// `/traps/grow` pages among them.
    pub grow: usize,
    /// The stats' `trap_query_variants`.
    pub trap_query_variants: u64,
    /// The stats' `trap_path_loops`.
    pub trap_path_loops: u64,
}

/// What a crawl seeded with `{base}/traps/` (`base` is `http://host:port`) finds with
/// `max_query_variants` and `max_url_length` (the default session-id stripping, no depth or
/// page limit); `None` when it never ends (`max_query_variants` 0).
pub fn expected(base: &str, max_query_variants: usize, max_url_length: usize) -> Option<Expected> {
    if max_query_variants == 0 {
        return None;
    }
    let calendar = max_query_variants;
    let long_enough = grow_pages(base, max_url_length);
    let grow = long_enough.min(max_query_variants);
    Some(Expected {
        pages: 1 + calendar + grow + LOOP_PAGES + SESSION_PAGES,
        calendar,
        grow,
        trap_query_variants: CALENDAR_TRAPS + u64::from(long_enough > max_query_variants),
        trap_path_loops: 1,
    })
}

/// `/traps/grow` pages on `base` whose URL (`{base}/traps/grow?` and 2^k `x`) is at most
/// `max_url_length` bytes.
pub fn grow_pages(base: &str, max_url_length: usize) -> usize {
    let prefix = base.len() + "/traps/grow?".len();
    (0..usize::BITS)
        .take_while(|&k| prefix + (1usize << k) <= max_url_length)
        .count()
}

/// `{base}/traps/grow?` and `2^k` times `x`: the `k`-th page of the growing query.
pub fn grow_url(base: &str, k: u32) -> String {
    format!("{base}/traps/grow?{}", "x".repeat(1 << k))
}

/// The response for a `/traps/...` path and query, or `None` if it is not one.
pub(crate) fn respond(path_and_query: &str) -> Option<Response<Body>> {
    let rest = path_and_query.strip_prefix("/traps/")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let body = match path {
        "" => index(),
        "calendar" => calendar(query.strip_prefix("month=")?.parse().ok()?),
        "grow" => grow(query),
        _ if path == "session" || path.starts_with("session;") => session(query),
        _ if is_loop(path) => page_text("Deeper", "<a href=\"a/b/\">deeper</a>\n"),
        _ => return None,
    };
    Some(html(200, body))
}

/// `a/b/` repeated once or more.
fn is_loop(path: &str) -> bool {
    !path.is_empty() && path.len() % 4 == 0 && path.as_bytes().chunks(4).all(|c| c == b"a/b/")
}

fn index() -> String {
    let links = format!(
        "<a href=\"/traps/calendar?month=0\">calendar</a>\n\
         <a href=\"/traps/grow?x\">grow</a>\n\
         <a href=\"a/b/\">loop</a>\n\
         <a href=\"/traps/session;jsessionid={}\">session</a>\n",
        session_id()
    );
    page_text("Traps", &links)
}

fn calendar(month: i64) -> String {
    let mut links = String::new();
    for (label, other) in [
        ("previous", month.checked_sub(1)),
        ("next", month.checked_add(1)),
    ] {
        if let Some(other) = other {
            links.push_str(&format!(
                "<a href=\"/traps/calendar?month={other}\">{label} month</a>\n"
            ));
        }
    }
    page_text(&format!("Month {month}"), &links)
}

fn grow(query: &str) -> String {
    let next = if query.is_empty() {
        "x".to_string()
    } else {
        query.repeat(2)
    };
    page_text(
        &format!("Query of {} bytes", query.len()),
        &format!("<a href=\"/traps/grow?{next}\">more</a>\n"),
    )
}

fn session(query: &str) -> String {
    let title = match query.split('&').any(|pair| pair == "page=2") {
        true => "Session page 2",
        false => "Session page 1",
    };
    let links = format!(
        "<a href=\"/traps/session;jsessionid={}\">home</a>\n\
         <a href=\"/traps/session?jsessionid={}\">home again</a>\n\
         <a href=\"/traps/session?page=2&amp;PHPSESSID={}\">page 2</a>\n",
        session_id(),
        session_id(),
        session_id().to_ascii_lowercase()
    );
    page_text(title, &links)
}

/// A new 32-hex-digit id on every call.
fn session_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let draw = SESSIONS.fetch_add(1, Ordering::Relaxed);
    let (high, low) = (
        hash(now, draw, STREAM_SESSION),
        hash(draw, now, STREAM_SESSION),
    );
    format!("{high:016X}{low:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(path: &str) -> String {
        let resp = respond(path).unwrap_or_else(|| panic!("{path} not routed"));
        assert_eq!(resp.status(), 200);
        String::from_utf8(body_bytes(resp)).unwrap()
    }

    fn body_bytes(resp: Response<Body>) -> Vec<u8> {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let collected = runtime.block_on(resp.into_body().collect()).unwrap();
        collected.to_bytes().to_vec()
    }

    #[test]
    fn routes() {
        for path in [
            "/traps/",
            "/traps/calendar?month=0",
            "/traps/calendar?month=-12",
            "/traps/grow?xxxx",
            "/traps/grow",
            "/traps/a/b/",
            "/traps/a/b/a/b/a/b/",
            "/traps/session",
            "/traps/session;jsessionid=AB12",
            "/traps/session?page=2",
        ] {
            assert!(respond(path).is_some(), "{path}");
        }
        for path in [
            "/traps/calendar",
            "/traps/calendar?month=x",
            "/traps/calendar?month=1&x",
            "/traps/a/",
            "/traps/a/b",
            "/traps/a/b/c/",
            "/traps/sessions",
            "/traps",
            "/declarations/",
        ] {
            assert!(respond(path).is_none(), "{path}");
        }
    }

    #[test]
    fn calendar_links_both_neighbours_forever() {
        let page = body("/traps/calendar?month=0");
        assert!(page.contains("\"/traps/calendar?month=-1\"") && page.contains("month=1\""));
        let last = body(&format!("/traps/calendar?month={}", i64::MAX));
        assert_eq!(last.matches("<a ").count(), 1);
    }

    #[test]
    fn grow_doubles_its_query_and_counts_pages() {
        assert!(body("/traps/grow?xx").contains("\"/traps/grow?xxxx\""));
        assert!(body("/traps/grow").contains("\"/traps/grow?x\""));
        let base = "http://127.0.0.1:40000";
        assert_eq!(grow_pages(base, 4096), 12);
        assert!(grow_url(base, 11).len() <= 4096 && grow_url(base, 12).len() > 4096);
        assert_eq!(grow_pages(base, grow_url(base, 3).len()), 4);
        assert_eq!(grow_pages(base, 10), 0);
    }

    #[test]
    fn session_ids_differ_on_every_request() {
        let (a, b) = (body("/traps/session"), body("/traps/session"));
        assert_ne!(a, b);
        assert!(a.contains("Session page 1") && a.contains("PHPSESSID="));
        assert!(body("/traps/session?PHPSESSID=1&page=2").contains("Session page 2"));
        assert_ne!(body("/traps/"), body("/traps/"));
    }

    #[test]
    fn expected_counts() {
        let base = "http://127.0.0.1:40000";
        let defaults = expected(base, 1000, 4096).unwrap();
        assert_eq!(
            defaults,
            Expected {
                pages: 1017,
                calendar: 1000,
                grow: 12,
                trap_query_variants: 2,
                trap_path_loops: 1
            }
        );
        let small = expected(base, 5, 4096).unwrap();
        assert_eq!(
            (small.pages, small.grow, small.trap_query_variants),
            (15, 5, 3)
        );
        assert_eq!(expected(base, 0, 4096), None);
        assert!(is_loop("a/b/a/b/") && !is_loop("a/b/a/"));
    }
}

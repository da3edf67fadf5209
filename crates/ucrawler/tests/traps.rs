//! Crawler traps end by themselves, without a deadline: an infinite calendar (a query string
//! per month, forever) at `max_query_variants`, and relative links that resolve one level
//! deeper on every page at the path-loop rule; both counted in the stats. A session id in every
//! link is stripped (`strip_query_params`).

use std::time::Duration;

use ucrawler::{Config, Crawler, Page};
use ucrawler_testsite::raw::{RawServer, Reply};

fn trap_site() -> RawServer {
    RawServer::start(|path| {
        if let Some(month) = path.strip_prefix("/calendar?month=") {
            let next = month.parse::<u64>().unwrap_or(0) + 1;
            return Reply::html(&format!(
                "<title>{month}</title><a href='/calendar?month={next}'>next month</a>"
            ));
        }
        match path {
            "/" => Reply::html(
                "<a href='/calendar?month=1'>calendar</a><a href='/docs/'>docs</a>\
                 <a href='/cart?PHPSESSID=1&item=3'>cart</a><a href='/cart;jsessionid=X?item=3'>cart</a>",
            ),
            // Every page links the cart under a new session id.
            p if p.starts_with("/cart") => Reply::html(&format!(
                "<title>cart</title><a href='/cart?item=3&sid={}'>again</a>",
                p.len()
            )),
            // A relative link: /docs/a/, /docs/a/a/, ... on every page.
            p if p.starts_with("/docs/") => Reply::html("<title>docs</title><a href='a/'>more</a>"),
            "/robots.txt" => Reply::not_found(),
            _ => Reply::not_found(),
        }
    })
}

#[test]
fn an_infinite_calendar_and_a_path_loop_end_by_themselves() {
    let site = trap_site();
    let config = Config::builder()
        .per_host(4usize)
        .max_query_variants(40usize)
        .stall_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut crawl = Crawler::new(config)
        .unwrap()
        .crawl([site.url("/")])
        .unwrap();
    let pages: Vec<Page> = crawl.by_ref().collect();
    let stats = crawl.stats();
    assert_eq!(stats.end_reason, Some(ucrawler::EndReason::Finished));
    let months = pages
        .iter()
        .filter(|p| p.url.contains("/calendar?"))
        .count();
    assert_eq!(months, 40, "40 variants of /calendar");
    assert_eq!(stats.trap_query_variants, 1, "the 41st month");
    // /docs/, /docs/a/, /docs/a/a/ are crawled; /docs/a/a/a/ loops.
    let docs: Vec<&str> = pages
        .iter()
        .filter_map(|p| p.url.split_once("/docs/").map(|(_, rest)| rest))
        .collect();
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(stats.trap_path_loops, 1);
    // Session ids are stripped: the cart is one URL, crawled once.
    let carts: Vec<&str> = pages
        .iter()
        .map(|p| p.url.as_str())
        .filter(|u| u.contains("/cart"))
        .collect();
    assert_eq!(carts, [site.url("/cart?item=3")]);
}

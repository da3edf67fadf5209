//! # ucrawler
//!
//! A web crawler engine with hard memory bounds. A page's route through the engine is the
//! folder tree: seeds → [`schedule`] (scope, depth, dedup, frontier, politeness) → fetch (tokio +
//! reqwest) → [`parse`] (std threads; streaming lol_html, scraper's DOM only for `extract`
//! rules) → back to the scheduler with its links → the consumer (a blocking iterator or an async
//! stream). A slow consumer back-pressures the whole pipeline instead of making it buffer.
//!
//! ```no_run
//! use ucrawler::{Config, Crawler};
//!
//! let crawler = Crawler::new(Config::builder().depth(1).build()?)?;
//! for page in crawler.crawl(["https://example.com/"])? {
//!     println!("{} {:?} {} links", page.url, page.title, page.links.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! ```text
//! leaf types (import no stage)
//!   config.rs    Config and its checks (+ builder.rs, choices.rs: its enums)  error.rs  errors
//!   page.rs      Request, Page, Timings, Lease (+ page/structured.rs: reading its JSON-LD and OpenGraph)
//!   url.rs       normalization, fingerprints, Scope, path loops
//!   units.rs     sizes and durations                      stats.rs   Stats, EndReason, counters
//!   memory.rs    the max_memory budget                    codec.rs   a Request's binary form
//!   random.rs    jitter and ids                           fork_local.rs  a value owned by one process
//!   content_encoding.rs  gzip/deflate bodies, decoded (stacked, any spelling) or refused
//!   last_visit.rs  recrawling: what a visit learned (validators, content hash), Change
//!   tracked_io.rs  one connection as the connection limit sees it: busy, idle, closed to make room
//! wiring
//!   crawler.rs   Crawler: starts crawls, wires stages     runtime.rs shared threads, per-crawler clients
//!   pipeline/    slots, events, the crawl's context, the fetch → parse hand-off, the fetch window
//!   consumer.rs  Crawl, PageStream: what users hold      bench_support.rs  for benches/, not API
//!   fuzz_support.rs  for the cargo-fuzz targets (fuzz/), not API
//!   metrics.rs   Prometheus text of crawls' stats     dashboard.rs  the dashboard's overview and actions
//! the page's route
//!   schedule/    scheduler (+ intake of seeds and leases, found: links and sitemap URLs coming
//!                back), frontier (a queue per host, spilled
//!                to disk past its memory share), seen set, journal, visits log (recrawl),
//!                per-host budget, crawler-trap guard, sitemap plan (which sitemaps are read)
//!   fetch/       the fetch task, HTTP exchange, client and connection limit, the address guard
//!                on a proxied connection's target, retry policy, sitemap fetches (discovery,
//!                reading) that send the scheduler URLs instead of a page, rendering (which
//!                pages, the browser's requests through the crawl's client) and render/
//!                (headless Chromium over the DevTools pipe: browser, transport, one render)
//!   parse/       parser pool, page building and follow policy, extraction, the bounded DOM,
//!                charset, the content hash, structured data (JSON-LD, OpenGraph), the streamed
//!                sitemap reader, the `render: auto` shell rule
//! services the stages call
//!   politeness/  host gate, robots.txt, X-Robots-Tag, address guard
//!   distributed/ Redis agent, fleet holds, blocking handle, redis/{frontier (+ visits, host
//!                holds), client, keys, scripts}
//! ```

#[doc(hidden)]
pub mod bench_support;
mod codec;
pub mod config;
mod consumer;
mod content_encoding;
mod crawler;
pub mod dashboard;
pub mod distributed;
pub mod error;
mod fetch;
mod fork_local;
#[doc(hidden)]
pub mod fuzz_support;
pub mod last_visit;
pub mod memory;
pub mod metrics;
pub mod page;
pub mod parse;
mod pipeline;
mod politeness;
mod random;
mod runtime;
mod schedule;
pub mod stats;
mod tracked_io;
pub mod units;
pub mod url;

pub use config::{Config, ConfigBuilder, ExtractRule, PrivateAddresses, Render, Sitemaps};
pub use consumer::{Crawl, FeedError, Next, PageStream};
pub use crawler::Crawler;
pub use distributed::{
    BlockingError, BlockingFrontier, RedisFrontier, RedisFrontierError, RedisOptions,
};
pub use error::{ConfigError, CrawlError, Error};
pub use fetch::is_html;
pub use last_visit::{Change, LastVisit};
pub use page::{Page, Request, Timings};
pub use stats::{
    ChangeStats, DescriptorStats, EndReason, ErrorSample, RenderStats, SitemapStats, Stats,
};

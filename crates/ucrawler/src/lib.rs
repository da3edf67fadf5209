//! # ucrawler
//!
//! A web crawler engine with hard memory bounds. Data flows one way through bounded stages:
//! seeds → frontier → scheduler (scope, depth, dedup, per-host politeness) → fetch (tokio +
//! reqwest) → parser pool (std threads, scraper) → results (a blocking iterator or an async
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

pub mod charset;
pub mod config;
mod crawl;
mod engine;
pub mod error;
pub mod fetch;
mod fetch_window;
pub mod frontier;
pub mod guard;
pub mod journal;
pub mod memory;
pub mod page;
pub mod parse;
mod parser_pool;
mod politeness;
mod remote;
pub mod robots;
mod scheduler;
pub mod seen;
mod spill_dir;
pub mod stats;
pub mod units;
pub mod url;

pub use config::{Config, ConfigBuilder, ExtractRule};
pub use crawl::{Crawl, FeedError, Next, PageStream};
pub use engine::Crawler;
pub use error::{ConfigError, CrawlError, Error};
pub use frontier::{RedisFrontier, RedisFrontierError, RedisOptions};
pub use guard::PrivateAddresses;
pub use page::{Page, Request, Timings};
pub use stats::{EndReason, Stats};

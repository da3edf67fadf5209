//! A deterministic synthetic website served by a real HTTP/1.1 server on loopback, for the
//! tests, benchmarks and demo of `ucrawler`.
//!
//! - [`Site`] generates the normal site: page 0 is `/`, page `i` is `/page/{i}.html`; each
//!   page is 30–80 KB of HTML5 with a navigation bar, 20–80 in-site links in mixed spellings
//!   (root-relative, document-relative, `../`, absolute, protocol-relative, with fragments,
//!   with whitespace), a few `?sort=asc` duplicates and external links. Same config, same
//!   bytes. [`Site::expected_urls`] is the exact set a correct crawler finds.
//! - [`TestSite`] serves it (plus `/robots.txt`, `/img/N.jpg`, `/private/*` and the
//!   [`hostile`] and [`dom_bombs`] endpoints, and `/moved/*` redirecting to the site's pages)
//!   on its own thread; [`serve`] serves on a given listener.
//!
//! ```no_run
//! use ucrawler_testsite::{SiteConfig, TestSite};
//! let site = TestSite::start(SiteConfig { pages: 100, ..SiteConfig::default() }).unwrap();
//! println!("crawl {}", site.url("/"));
//! assert_eq!(site.expected_urls(Some(0)).len(), 1);
//! ```

mod body;
mod bomb;
pub mod dom_bombs;
pub mod hostile;
mod html;
mod latency;
mod links;
mod log;
mod moved;
pub mod raw;
mod reply;
mod rng;
mod server;
mod site;
mod testsite;
#[cfg(feature = "tls")]
mod tls;

pub use hostile::{CHARSET_TITLE_ISO_8859_1, CHARSET_TITLE_SHIFT_JIS, CHARSET_TITLE_WINDOWS_1251};
pub use latency::Latency;
pub use log::{LoggedRequest, RequestLog, MAX_LOGGED};
pub use moved::moved_url;
pub use server::serve;
pub use site::{Rendered, Site, DEFAULT_ROBOTS_TXT};
pub use testsite::TestSite;
#[cfg(feature = "tls")]
pub use tls::TlsFront;

/// Configuration of the synthetic site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConfig {
    /// Number of pages including `/` (default 1000).
    pub pages: usize,
    /// Seed of all generated content and links (default 1).
    pub seed: u64,
    /// Body of `/robots.txt`; `None` = [`DEFAULT_ROBOTS_TXT`] (disallows `/private/`).
    pub robots_txt: Option<String>,
    /// Record every request in [`TestSite::request_log`] (default false).
    pub log_requests: bool,
    /// How long each host takes to answer (default: at once).
    pub latency: Latency,
}

impl Default for SiteConfig {
    fn default() -> SiteConfig {
        SiteConfig {
            pages: 1000,
            seed: 1,
            robots_txt: None,
            log_requests: false,
            latency: Latency::None,
        }
    }
}

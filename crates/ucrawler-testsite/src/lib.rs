//! A deterministic synthetic website served by a real HTTP/1.1 server on loopback, for the
//! tests, benchmarks and demo of `ucrawler`.
//!
//! - [`Site`] generates the normal site: page 0 is `/`, page `i` is `/page/{i}.html`; each
//!   page is 30–80 KB of HTML5 with a navigation bar, 20–80 in-site links in mixed spellings
//!   (root-relative, document-relative, `../`, absolute, protocol-relative, with fragments,
//!   with whitespace), a few `?sort=asc` duplicates and external links. Same config, same
//!   bytes. [`Site::expected_urls`] is the exact set a correct crawler finds.
//! - [`TestSite`] serves it (plus `/robots.txt`, `/img/N.jpg`, `/private/*` and the
//!   [`hostile`], [`dom_bombs`] and [`structured`] endpoints, and `/moved/*` redirecting to the
//!   site's pages) on its own thread; [`serve`] serves on a given listener.
//! - [`declarations`]: pages under `/declarations/` sending `X-Robots-Tag` (for everyone, for
//!   us, for another crawler), `rel="nofollow"` links and canonical duplicates; [`traps`]:
//!   crawler traps under `/traps/` (an endless calendar, a growing query, a path loop,
//!   session ids), each with the exact pages a correct crawler finds.
//! - [`sitemaps`]: sitemaps under `/sitemaps/` and `/sitemap.xml` (valid, gzipped, nested and
//!   hostile) listing the normal pages and orphan pages under `/orphan/` that nothing links.
//! - [`render`]: pages under `/render/` whose title and links exist only after scripts run
//!   (and pages that never settle, open popups, load private scripts, hog memory), for
//!   JavaScript rendering.
//!
//! Recrawls (all off or inert by default: generation 0 is the original site, byte for byte):
//!
//! - **Validators**: pages carry a strong `ETag` (a hash of the bytes served) and a
//!   `Last-Modified` (2024-01-01 plus one day per generation since the page's last change,
//!   see [`validators`]), and answer `304` to a matching `If-None-Match` (lists, `*`, weak
//!   comparison) or, without one, to an `If-Modified-Since` not older than the page.
//!   `SiteConfig::validators = false` sends none (a dynamic site).
//! - **Generations**: [`Site::set_generation`] / [`TestSite::set_generation`] (or `GET
//!   /__testsite/generation/N`, never linked) move the site to a generation where a share of
//!   the pages ([`Churn`]) changed, was removed (404, or 410 for a fixed quarter) or was
//!   added — new pages linked only from changed pages. Unchanged pages keep their bytes.
//!   [`Site::changes`] gives the URL sets a recrawl must report, [`Site::expected_urls_at`]
//!   what it finds (removed pages still linked by unchanged ones included), [`Site::export_at`]
//!   rewrites only what changed in a static export.
//! - **Volatile**: `SiteConfig::volatile` adds a per-request CSRF token and timestamp to the
//!   markup (text and links unchanged) and drops the validators.
//!
//! ```no_run
//! use ucrawler_testsite::{SiteConfig, TestSite};
//! let site = TestSite::start(SiteConfig { pages: 100, ..SiteConfig::default() }).unwrap();
//! println!("crawl {}", site.url("/"));
//! assert_eq!(site.expected_urls(Some(0)).len(), 1);
//! ```

mod body;
mod bomb;
mod changes;
mod churn;
mod control;
pub mod declarations;
pub mod dom_bombs;
mod export;
pub mod hostile;
mod html;
mod latency;
mod links;
mod log;
mod moved;
mod page_reply;
pub mod raw;
pub mod render;
mod reply;
mod rng;
mod server;
mod site;
pub mod sitemaps;
pub mod structured;
mod testsite;
mod timeline;
#[cfg(feature = "tls")]
mod tls;
pub mod traps;
pub mod validators;
mod version;
mod volatile;

pub use changes::Changes;
pub use churn::Churn;
pub use export::Exported;

pub use hostile::{CHARSET_TITLE_ISO_8859_1, CHARSET_TITLE_SHIFT_JIS, CHARSET_TITLE_WINDOWS_1251};
pub use latency::Latency;
pub use log::{LoggedRequest, RequestLog, MAX_LOGGED};
pub use moved::moved_url;
pub use server::serve;
pub use site::{Rendered, Site, DEFAULT_ROBOTS_TXT, MAX_GENERATION};
pub use testsite::TestSite;
pub use timeline::PageState;
#[cfg(feature = "tls")]
pub use tls::TlsFront;

/// Configuration of the synthetic site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConfig {
    /// Number of pages including `/` (default 1000).
    pub pages: usize,
    /// Seed of all generated content and links (default 1).
    pub seed: u64,
    /// Body of `/robots.txt`; `None` = [`DEFAULT_ROBOTS_TXT`] (disallows `/private/`). Each
    /// literal `{base}` in it is served as `http://` + the request's `Host` (e.g. `Sitemap:
    /// {base}/sitemaps/index.xml`, see [`sitemaps::SITEMAP_ROBOTS_TXT`]).
    pub robots_txt: Option<String>,
    /// Record every request in [`TestSite::request_log`] (default false).
    pub log_requests: bool,
    /// How long each host takes to answer (default: at once).
    pub latency: Latency,
    /// The generation served first (default 0, the original site).
    pub generation: u32,
    /// How much each generation changes (default: 5 % changed, 1 % removed, 2 % added).
    pub churn: Churn,
    /// Pages carry `ETag` and `Last-Modified` and answer conditional requests with `304`
    /// (default true).
    pub validators: bool,
    /// Each page served carries a per-request token (a hidden `csrf` input and a timestamp
    /// `<script>`), so its bytes change on every request while its text and links do not;
    /// such pages send no validators (default false).
    pub volatile: bool,
}

impl Default for SiteConfig {
    fn default() -> SiteConfig {
        SiteConfig {
            pages: 1000,
            seed: 1,
            robots_txt: None,
            log_requests: false,
            latency: Latency::None,
            generation: 0,
            churn: Churn::default(),
            validators: true,
            volatile: false,
        }
    }
}

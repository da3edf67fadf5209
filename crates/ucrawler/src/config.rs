//! The one configuration of a crawler. Every option has one name, used as the struct field, the
//! Ruby keyword and (in kebab-case) the CLI flag; its default is documented here and only here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::units;

mod builder;
mod choices;
mod validate;

pub use builder::ConfigBuilder;
pub use choices::{ExtractRule, PrivateAddresses, Render, Sitemaps};

/// The smallest `seen_memory`: below it the seen set would spill a file every few URLs.
pub const MIN_SEEN_MEMORY: usize = 16;

/// Crawler configuration. Deserialize it from JSON (unknown fields are an error naming the
/// field) or start from `Config::default()` / [`Config::builder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Requests in flight across all hosts and all crawls of one `Crawler`. Default 64.
    pub concurrency: usize,
    /// Requests in flight to one host (`host:port`), counted over every crawl of the process.
    /// Default 2.
    pub per_host: usize,
    /// Minimum time between the starts of two requests to one host, over every crawl of the
    /// process. Default 0.
    #[serde(with = "units::duration")]
    pub delay: Duration,
    /// Link depth from the seeds: 0 = seeds only; `None` = unlimited. Default unlimited.
    pub depth: Option<u32>,
    /// Stop after this many pages have been fetched (seeds included). Default unlimited.
    pub max_pages: Option<u64>,
    /// Canonical-aware dedup: a page whose `<link rel="canonical">` names another URL of its
    /// host is reported as a duplicate of it (`duplicate_of`), and that URL is crawled (queued
    /// if unseen, at the page's depth). Default false.
    pub canonical_dedup: bool,
    /// Query parameters removed from every discovered link (names, any case): session ids,
    /// which make the same page a new URL on every visit. `jsessionid` also goes as a
    /// `;jsessionid=` path parameter. Default: jsessionid, phpsessid, aspsessionid,
    /// asp.net_sessionid, sessionid, session_id, sessid, sid, cfid, cftoken, oscsid, zenid.
    pub strip_query_params: Vec<String>,
    /// Queue at most this many pages per seed `meta`, which every page found from a seed
    /// inherits (a Rails record's id: a budget per row, whatever hosts its site spans);
    /// requests without meta are not counted. Not with `redis` yet. At least 1. Default
    /// unlimited.
    pub max_pages_per_seed: Option<u64>,
    /// Distinct query strings followed on one path (`host:port` + path) before its other
    /// variants count as a crawler trap (an infinite calendar, a faceted search); 0: no cap.
    /// Default 1,000.
    pub max_query_variants: usize,
    /// Queue at most this many pages of one host (`host:port`), seeds included; the host's
    /// other URLs are dropped unfetched and counted (`over_host_budget`). In a shared crawl it
    /// holds for the whole fleet. At least 1. Default unlimited.
    pub max_pages_per_host: Option<u64>,
    /// Read each seed's site's sitemaps (see [`Sitemaps`]: `on`, `robots` or `off`); their
    /// URLs enter the crawl at the seed's depth, with their `<lastmod>` (`Page::lastmod`). In a
    /// shared crawl, sitemaps are queued in Redis like links (one discovery per site for the
    /// fleet). Default off: a crawl reaches what its seeds link to, and one site's sitemaps may
    /// name 50,000 URLs per file.
    pub sitemaps: Sitemaps,
    /// Follow only links to the host (`host:port`) of the page they were found on. Default true.
    pub same_host: bool,
    /// Follow only links matching at least one of these regexes (when not empty). Default empty.
    pub allow: Vec<String>,
    /// Never follow links matching any of these regexes. Default empty.
    pub deny: Vec<String>,
    /// Named CSS selector rules whose matches are reported in `Page::extracted`. Default none.
    pub extract: BTreeMap<String, ExtractRule>,
    /// The User-Agent header. Default `ucrawler/<version> (+<repository>)`.
    pub user_agent: String,
    /// Extra request headers sent with every request. Default none.
    pub headers: BTreeMap<String, String>,
    /// Response headers (lower-case names) copied into `Page::headers`. Default none.
    pub keep_headers: Vec<String>,
    /// Time limit for the whole request, body included. Default 30 s.
    #[serde(with = "units::duration")]
    pub timeout: Duration,
    /// Time limit for establishing a connection. Default 10 s.
    #[serde(with = "units::duration")]
    pub connect_timeout: Duration,
    /// Time limit for a read that yields no byte at all. Default 10 s.
    #[serde(with = "units::duration")]
    pub read_timeout: Duration,
    /// Maximum body size after decompression; the rest is not read. Default 10 MiB.
    #[serde(with = "units::size")]
    pub max_body: u64,
    /// Extra attempts for transient failures (connection errors, timeouts, resets, 5xx, 429).
    /// Default 2.
    pub retries: u32,
    /// First retry waits about this long (times a jitter in [0.5, 1.5)), doubling each attempt.
    /// Default 500 ms.
    #[serde(with = "units::duration")]
    pub retry_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one is cut to this. Default 60 s.
    #[serde(with = "units::duration")]
    pub max_retry_after: Duration,
    /// Redirects followed per page before it fails with `too_many_redirects`. Default 10.
    pub max_redirects: usize,
    /// Links kept from one page; the rest are dropped. Default 10,000.
    pub max_links_per_page: usize,
    /// Follow links whose every anchor on the page is `rel="nofollow"` (they are reported in
    /// `nofollow_links` either way). Default true: `nofollow` tells search engines not to
    /// pass ranking, not crawlers not to visit.
    pub follow_nofollow_links: bool,
    /// Longest URL (in bytes, normalized) a crawl follows: a longer link is out of scope, a
    /// longer redirect target fails with `redirect_out_of_scope` (seeds are taken as given).
    /// Ends traps where a link grows with every visit. Default 4,096.
    pub max_url_length: usize,
    /// Keep the decoded body in `Page::body`. Default false (the body never leaves the engine).
    pub keep_body: bool,
    /// Hash every HTML page's text (`Page::content_hash`, what a recrawl compares). Default
    /// false: it is a quarter of a page's parse, wasted on a crawl that forgets its pages. A
    /// crawl that keeps its visits for a recrawl (`state_dir`, `redis`) hashes every page
    /// anyway, and a page whose last visit has a hash is hashed to tell whether it changed.
    pub hash_content: bool,
    /// Cut a body at `max_body` and parse what came (`Page::truncated`); when false, such a page
    /// fails with `body_too_large` instead (and a Content-Length over the cap stops before the
    /// body). Default true.
    pub truncate_body: bool,
    /// Obey robots.txt (RFC 9309), Crawl-delay included. Default true.
    pub robots: bool,
    /// Longest robots.txt Crawl-delay honoured. Default 30 s.
    #[serde(with = "units::duration")]
    pub max_crawl_delay: Duration,
    /// Loopback, private, link-local, unique-local and CGNAT addresses: `deny` (never),
    /// `seeds` (only for hosts that are a seed's host) or `allow`. Default `seeds`.
    pub private_addresses: PrivateAddresses,
    /// Keep cookies between requests (one cookie store per crawler). Default false.
    pub cookies: bool,
    /// Proxy for all requests: `http://`, `https://` or `socks5://` URL. Default none.
    pub proxy: Option<String>,
    /// Accept invalid TLS certificates. Default false: verification is on.
    pub accept_invalid_certs: bool,
    /// Render pages in headless Chromium after their HTTP fetch: `never`, `always` or `auto`
    /// (only pages that look built by scripts; see [`Render`]). Default never.
    pub render: Render,
    /// Render only pages of these hosts (`example.com`, or `*.example.com` for it and its
    /// subdomains); empty = every host. Default empty.
    pub render_hosts: Vec<String>,
    /// Pages rendered at once (browser tabs) by one crawler. A render holds its page's place at
    /// its host, so at most `per_host` pages of one host render at once. Default 4.
    pub render_tabs: usize,
    /// The longest one render takes: past it the page is taken as it is then (a page that never
    /// goes quiet), counted in `stats.render.unsettled`. Default 15s.
    #[serde(with = "units::duration")]
    pub render_timeout: Duration,
    /// A render is done when this CSS selector matches; none = when the page's network has been
    /// quiet for 500 ms after its load event. Default none.
    pub render_wait_for: Option<String>,
    /// The browser's whole process tree (its RSS, read from /proc) is killed and restarted past
    /// this; its pages are rendered once more. Default 1GiB.
    #[serde(with = "units::size")]
    pub render_memory: u64,
    /// A browser is restarted after rendering this many pages. Default 500.
    pub render_recycle_after: u32,
    /// The Chromium binary; none = `$UCRAWLER_CHROMIUM`, else `chromium`, `chromium-browser`
    /// or `google-chrome` on the PATH. Default none.
    pub render_browser: Option<std::path::PathBuf>,
    /// Refuse a rendered page's images, media and fonts (a crawler needs its text and links).
    /// Default true.
    pub render_block_media: bool,
    /// Memory budget for everything the engine holds (bodies, documents being parsed, pages
    /// waiting for the consumer, frontier, seen set). At the budget no new fetch starts and a
    /// body being read is cut (`truncated`). Default: 25 % of the cgroup memory limit (or of
    /// the machine's memory), at most 1 GiB.
    #[serde(with = "units::size")]
    pub max_memory: u64,
    /// Requests the frontier keeps in memory; beyond them it spills to segment files (under
    /// `state_dir`, or a temporary directory), order preserved. Default 100,000.
    pub frontier_memory: usize,
    /// URL fingerprints the seen set keeps in memory (10 bytes each); beyond them it spills
    /// sorted runs to disk (under `state_dir`, or a temporary directory) and keeps only their
    /// index in memory, ~1.3 bytes per URL. At least 16. Default 1,000,000 (~10 MB).
    pub seen_memory: usize,
    /// Directory for the crawl journal: with it, a crawl killed (even with -9) continues with
    /// `resume`; and for the visits log, every URL visited with its validators and content
    /// hash, which the next `recrawl` starts from. One crawl per directory. Default none.
    pub state_dir: Option<std::path::PathBuf>,
    /// Continue the crawl journaled in `state_dir`: what was enqueued and not done is crawled,
    /// nothing done is fetched again. Without it, a non-empty journal is an error (unless
    /// `recrawl`). Default false.
    pub resume: bool,
    /// Start the next generation of the crawl kept in `state_dir`: every URL the last complete
    /// crawl visited is revisited conditionally (at its depth, with its meta), besides the
    /// seeds; pages report what `change`d. With `resume`, continues a recrawl that was cut
    /// short. Default false.
    pub recrawl: bool,
    /// End the crawl (reason `deadline`) after this long. Default none.
    #[serde(with = "units::opt_duration")]
    pub deadline: Option<Duration>,
    /// End the crawl (reason `stalled`) when nothing at all happens for this long: no
    /// response, no page consumed, no seed. Default 300 s.
    #[serde(with = "units::duration")]
    pub stall_timeout: Duration,
    /// Parser threads; 0 = one per available core. Default 0.
    pub parsers: usize,
    /// Pages parsed and waiting for the consumer, beyond those in flight. With `concurrency` this
    /// bounds the pages the engine holds for a slow consumer. Default 32.
    pub buffer: usize,
    /// tokio worker threads for network I/O. Default 1: one thread drives thousands of
    /// connections (parsing has its own threads), and each more thread costs memory (~10 MiB on
    /// a 64-connection crawl, bench/RESULTS.md); raise it for TLS-heavy crawls on many cores.
    pub io_threads: usize,
    /// A shared frontier in Redis (`redis://[:password@]host:port[/db]`): the crawl's queue,
    /// seen set and leases live there, and every worker started with the same `name` (CLI
    /// `ucrawler worker`, Ruby crawlers, on any box) crawls it with the others; `per_host` and
    /// `delay` then hold across all of them. Default none (the crawl is local).
    pub redis: Option<String>,
    /// The shared crawl's name (required with `redis`). Default none.
    pub name: Option<String>,
    /// First part of every Redis key. Default `ucrawler`.
    pub redis_prefix: String,
    /// How long a request taken from Redis stays leased to a worker that stopped answering
    /// (killed, partitioned) before another worker crawls it. Live workers extend their leases
    /// every third of it. Default 60 s.
    #[serde(with = "units::duration")]
    pub lease_timeout: Duration,
    /// With `redis`: when the shared crawl runs dry, wait for new URLs instead of ending.
    /// Default false.
    pub follow: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            concurrency: 64,
            per_host: 2,
            delay: Duration::ZERO,
            depth: None,
            max_pages: None,
            max_pages_per_host: None,
            max_pages_per_seed: None,
            max_query_variants: 1000,
            canonical_dedup: false,
            sitemaps: Sitemaps::Off,
            strip_query_params: [
                "jsessionid",
                "phpsessid",
                "aspsessionid",
                "asp.net_sessionid",
                "sessionid",
                "session_id",
                "sessid",
                "sid",
                "cfid",
                "cftoken",
                "oscsid",
                "zenid",
            ]
            .map(String::from)
            .to_vec(),
            same_host: true,
            allow: Vec::new(),
            deny: Vec::new(),
            extract: BTreeMap::new(),
            user_agent: default_user_agent(),
            headers: BTreeMap::new(),
            keep_headers: Vec::new(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            max_body: 10 << 20,
            retries: 2,
            retry_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
            max_redirects: 10,
            max_links_per_page: 10_000,
            follow_nofollow_links: true,
            max_url_length: 4096,
            keep_body: false,
            hash_content: false,
            truncate_body: true,
            robots: true,
            max_crawl_delay: Duration::from_secs(30),
            private_addresses: PrivateAddresses::Seeds,
            cookies: false,
            proxy: None,
            accept_invalid_certs: false,
            render: Render::Never,
            render_hosts: Vec::new(),
            render_tabs: 4,
            render_timeout: Duration::from_secs(15),
            render_wait_for: None,
            render_memory: 1 << 30,
            render_recycle_after: 500,
            render_browser: None,
            render_block_media: true,
            max_memory: crate::memory::default_max_memory(),
            frontier_memory: 100_000,
            seen_memory: 1_000_000,
            state_dir: None,
            resume: false,
            recrawl: false,
            deadline: None,
            stall_timeout: Duration::from_secs(300),
            parsers: 0,
            buffer: 32,
            io_threads: 1,
            redis: None,
            name: None,
            redis_prefix: "ucrawler".to_string(),
            lease_timeout: Duration::from_secs(60),
            follow: false,
        }
    }
}

/// `ucrawler/<version> (+<repository>)`.
pub fn default_user_agent() -> String {
    format!(
        "ucrawler/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
}

impl Config {
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
        }
    }

    /// Parses a JSON object of options; an unknown option or a bad value is an error naming it.
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(json);
        let config: Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Invalid {
                option: path,
                message: e.into_inner().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Whether `render` applies to pages of `host` (see `render_hosts`).
    pub fn renders_host(&self, host: &str) -> bool {
        self.render != Render::Never
            && (self.render_hosts.is_empty()
                || self
                    .render_hosts
                    .iter()
                    .any(|pattern| match pattern.strip_prefix("*.") {
                        Some(domain) => {
                            host.eq_ignore_ascii_case(domain)
                                || host.len() > domain.len()
                                    && host[host.len() - domain.len()..]
                                        .eq_ignore_ascii_case(domain)
                                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                        }
                        None => host.eq_ignore_ascii_case(pattern),
                    }))
    }

    /// Whether every HTML page's text is hashed: asked for, or the crawl keeps its visits for
    /// a recrawl (see `hash_content`).
    pub fn hashes_every_page(&self) -> bool {
        self.hash_content || self.state_dir.is_some() || self.redis.is_some()
    }

    /// The number of parser threads to start.
    pub fn parser_threads(&self) -> usize {
        if self.parsers > 0 {
            self.parsers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// A crawl name or key prefix of a shared crawl: non-empty, without whitespace, control
/// characters or braces (they would break the Redis hash tag that keeps a crawl in one slot).
pub(crate) fn is_valid_key_part(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
}

#[cfg(test)]
mod tests;

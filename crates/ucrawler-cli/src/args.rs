//! Crawl options as flags. Each flag is the kebab-case name of a `Config` field and says its
//! default; anything not given keeps the engine's default.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ucrawler::units::{parse_duration, parse_size};
use ucrawler::{Config, ExtractRule, PrivateAddresses, Render, Sitemaps};

#[derive(Debug, Args)]
pub struct CrawlOptions {
    /// Read options from a JSON file (same names as the flags, in snake_case); flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Requests in flight, all hosts together [default: 64]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Requests in flight to one host [default: 2]
    #[arg(long, value_name = "N")]
    pub per_host: Option<usize>,
    /// Time between request starts to one host, e.g. 0.25 or 250ms [default: 0]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub delay: Option<Duration>,
    /// Link depth from the seeds; 0 = seeds only [default: unlimited]
    #[arg(long, value_name = "N")]
    pub depth: Option<u32>,
    /// Stop after this many pages [default: unlimited]
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Crawl at most this many pages of one host (host:port), seeds included; with --redis for
    /// the whole fleet [default: unlimited]
    #[arg(long, value_name = "N")]
    pub max_pages_per_host: Option<u64>,
    /// Follow links to the same host:port only [default]
    #[arg(long, overrides_with = "any_host")]
    pub same_host: bool,
    /// Follow links to any host (subject to --allow/--deny)
    #[arg(long, overrides_with = "same_host")]
    pub any_host: bool,
    /// Follow only links matching this regex (repeatable) [default: all]
    #[arg(long, value_name = "REGEX")]
    pub allow: Vec<String>,
    /// Never follow links matching this regex (repeatable) [default: none]
    #[arg(long, value_name = "REGEX")]
    pub deny: Vec<String>,
    /// Extract NAME=SELECTOR (text) or NAME=SELECTOR@ATTR (attribute) (repeatable)
    #[arg(long, value_name = "NAME=SELECTOR[@ATTR]", value_parser = parse_extract)]
    pub extract: Vec<(String, ExtractRule)>,
    /// User-Agent header [default: ucrawler/<version> (+<project url>)]
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
    /// Extra request header "Name: value" (repeatable)
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Response header to copy into the output (repeatable) [default: none]
    #[arg(long = "keep-header", value_name = "NAME")]
    pub keep_headers: Vec<String>,
    /// Time limit for a whole request [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Time limit to connect [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// Time limit for a read that yields no byte [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub read_timeout: Option<Duration>,
    /// Maximum body size after decompression, e.g. 10MiB [default: 10MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body: Option<u64>,
    /// Extra attempts for transient failures [default: 2]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// First retry delay, doubling per attempt, with jitter [default: 500ms]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub retry_backoff: Option<Duration>,
    /// Longest Retry-After honoured [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_retry_after: Option<Duration>,
    /// Redirects followed per page [default: 10]
    #[arg(long, value_name = "N")]
    pub max_redirects: Option<usize>,
    /// Links kept from one page [default: 10000]
    #[arg(long, value_name = "N")]
    pub max_links_per_page: Option<usize>,
    /// A page whose rel=canonical names another URL of its host is reported as duplicate_of it,
    /// and that URL is crawled
    #[arg(long)]
    pub canonical_dedup: bool,
    /// Read each seed site's sitemaps: on (robots.txt Sitemap lines, else /sitemap.xml; what
    /// --sitemaps alone means), robots (only the lines) or off; their URLs are crawled at the
    /// seed's depth [default: off]
    #[arg(long, value_name = "WHICH", num_args = 0..=1, default_missing_value = "on")]
    pub sitemaps: Option<Sitemaps>,
    /// Render pages in headless Chromium after their fetch: never, always, or auto (only pages
    /// that look built by scripts; what --render alone means) [default: never]
    #[arg(long, value_name = "WHEN", num_args = 0..=1, default_missing_value = "auto")]
    pub render: Option<Render>,
    /// Render only pages of these hosts, comma-separated or repeated (example.com, or
    /// *.example.com with its subdomains) [default: every host]
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    pub render_hosts: Vec<String>,
    /// Pages rendered at once [default: 4]
    #[arg(long, value_name = "N")]
    pub render_tabs: Option<usize>,
    /// Longest render of a page; past it the page is taken as it is [default: 15s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub render_timeout: Option<Duration>,
    /// A render is done when this CSS selector matches [default: when the page's network has
    /// been quiet for 500ms after its load event]
    #[arg(long, value_name = "SELECTOR")]
    pub render_wait_for: Option<String>,
    /// The browser's process tree is restarted past this RSS, e.g. 1GiB [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub render_memory: Option<u64>,
    /// Restart the browser after this many pages [default: 500]
    #[arg(long, value_name = "N")]
    pub render_recycle_after: Option<u32>,
    /// The Chromium binary [default: $UCRAWLER_CHROMIUM, else chromium on the PATH]
    #[arg(long, value_name = "PATH")]
    pub render_browser: Option<std::path::PathBuf>,
    /// Refuse rendered pages' images, media and fonts [default: true]
    #[arg(long, value_name = "BOOL")]
    pub render_block_media: Option<bool>,
    /// Query parameters (session ids) removed from every link, comma-separated; "" for none
    /// [default: jsessionid,phpsessid,aspsessionid,asp.net_sessionid,sessionid,session_id,
    /// sessid,sid,cfid,cftoken,oscsid,zenid]
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub strip_query_params: Option<Vec<String>>,
    /// Distinct query strings followed on one path before the rest count as a crawler trap;
    /// 0 = no cap [default: 1000]
    #[arg(long, value_name = "N")]
    pub max_query_variants: Option<usize>,
    /// Follow links whose every anchor is rel="nofollow" (reported in nofollow_links either
    /// way) [default: true]
    #[arg(long, value_name = "BOOL")]
    pub follow_nofollow_links: Option<bool>,
    /// Longest URL followed, in bytes; longer links are out of scope [default: 4096]
    #[arg(long, value_name = "N")]
    pub max_url_length: Option<usize>,
    /// Include the decoded body in the output
    #[arg(long)]
    pub keep_body: bool,
    /// Hash each HTML page's text into content_hash (what a recrawl compares); a crawl with
    /// --state-dir or --redis hashes every page anyway [default: false]
    #[arg(long)]
    pub hash_content: bool,
    /// Over --max-body: true = parse what came and mark it truncated, false = fail with
    /// body_too_large [default: true]
    #[arg(long, value_name = "BOOL")]
    pub truncate_body: Option<bool>,
    /// Obey robots.txt, Crawl-delay included [default: true]
    #[arg(long, value_name = "BOOL")]
    pub robots: Option<bool>,
    /// Longest robots.txt Crawl-delay honoured [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_crawl_delay: Option<Duration>,
    /// Loopback/private/link-local/unique-local/CGNAT addresses: deny, seeds (only a seed's
    /// host) or allow [default: seeds]
    #[arg(long, value_name = "POLICY", value_parser = parse_private_addresses)]
    pub private_addresses: Option<PrivateAddresses>,
    /// Keep cookies between requests
    #[arg(long)]
    pub cookies: bool,
    /// Proxy for all requests (http://, https:// or socks5:// URL) [default: none]
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Accept invalid TLS certificates (verification is on by default)
    #[arg(long)]
    pub accept_invalid_certs: bool,
    /// Memory budget for everything the engine holds, e.g. 512MiB [default: 25% of the cgroup
    /// or machine memory, at most 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Requests the frontier keeps in memory before spilling to disk [default: 100000]
    #[arg(long, value_name = "N")]
    pub frontier_memory: Option<usize>,
    /// URL fingerprints the seen set keeps in memory before spilling to disk (at least 16)
    /// [default: 1000000]
    #[arg(long, value_name = "N")]
    pub seen_memory: Option<usize>,
    /// Journal the crawl in this directory, so that it can be resumed after a kill
    /// [default: none]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Continue the crawl journaled in --state-dir
    #[arg(long, requires = "state_dir")]
    pub resume: bool,
    /// Start the next generation of the crawl kept in --state-dir: revisit every URL it
    /// visited, conditionally (If-None-Match, If-Modified-Since), and report each page's
    /// change (new, changed, unchanged, gone)
    #[arg(long, requires = "state_dir")]
    pub recrawl: bool,
    /// End the crawl after this long [default: none]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,
    /// End the crawl when nothing at all happens for this long [default: 300s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stall_timeout: Option<Duration>,
    /// Parser threads; 0 = one per core [default: 0]
    #[arg(long, value_name = "N")]
    pub parsers: Option<usize>,
    /// Parsed pages waiting for the writer, beyond those in flight [default: 32]
    #[arg(long, value_name = "N")]
    pub buffer: Option<usize>,
    /// tokio worker threads for network I/O [default: 1]
    #[arg(long, value_name = "N")]
    pub io_threads: Option<usize>,
    #[command(flatten)]
    pub shared: SharedCrawl,
}

/// A crawl shared through Redis by many workers.
#[derive(Debug, Args)]
pub struct SharedCrawl {
    /// Redis of a shared crawl, e.g. redis://10.0.0.5:6379/0 [default: none, a local crawl]
    #[arg(long, value_name = "URL", requires = "name")]
    pub redis: Option<String>,
    /// Name of the shared crawl in --redis [default: none]
    #[arg(long, value_name = "NAME", requires = "redis")]
    pub name: Option<String>,
    /// First part of every Redis key [default: ucrawler]
    #[arg(long, value_name = "PREFIX")]
    pub redis_prefix: Option<String>,
    /// How long a dead worker's requests stay leased before others crawl them [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lease_timeout: Option<Duration>,
    /// When the shared crawl runs dry, wait for new URLs instead of ending
    #[arg(long)]
    pub follow: bool,
}

/// Where pages go (for `crawl` and `worker`).
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write pages here instead of stdout (`-`: stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// No progress line and no end report
    #[arg(long, short)]
    pub quiet: bool,
    /// When stderr is not a terminal, print a progress line this often (0: never); on a
    /// terminal one line is redrawn 5 times a second instead
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub progress_interval: Duration,
    /// Serve Prometheus metrics of the crawl at http://ADDR/metrics (e.g. 127.0.0.1:9184)
    /// [default: none]
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
}

/// Where a shared crawl lives (for `enqueue` and `status`).
#[derive(Debug, Args)]
pub struct RedisTarget {
    /// Redis of the shared crawl, e.g. redis://10.0.0.5:6379/0
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// Name of the shared crawl
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// First part of every Redis key
    #[arg(long, value_name = "PREFIX", default_value = "ucrawler")]
    pub redis_prefix: String,
}

/// `ucrawler dashboard`: where the shared crawls are, where to serve, who may see them.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Redis of the shared crawls, e.g. redis://10.0.0.5:6379/0
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// First part of every Redis key
    #[arg(long, value_name = "PREFIX", default_value = "ucrawler")]
    pub redis_prefix: String,
    /// Address to serve on (HOST:PORT); anything but loopback needs --user and --password
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9185")]
    pub listen: String,
    /// HTTP basic auth user, asked on every route (with --password)
    #[arg(
        long,
        value_name = "USER",
        env = "UCRAWLER_DASHBOARD_USER",
        requires = "password"
    )]
    pub user: Option<String>,
    /// HTTP basic auth password (with --user); prefer the environment variable to the flag
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "UCRAWLER_DASHBOARD_PASSWORD",
        hide_env_values = true,
        requires = "user"
    )]
    pub password: Option<String>,
}

fn parse_extract(spec: &str) -> Result<(String, ExtractRule), String> {
    let (name, selector) = spec
        .split_once('=')
        .filter(|(name, selector)| !name.is_empty() && !selector.is_empty())
        .ok_or_else(|| format!("expected NAME=SELECTOR or NAME=SELECTOR@ATTR, got {spec:?}"))?;
    Ok((name.to_string(), ExtractRule::parse(selector)))
}

fn parse_private_addresses(value: &str) -> Result<PrivateAddresses, String> {
    match value {
        "deny" => Ok(PrivateAddresses::Deny),
        "seeds" => Ok(PrivateAddresses::Seeds),
        "allow" => Ok(PrivateAddresses::Allow),
        other => Err(format!("expected deny, seeds or allow, got {other:?}")),
    }
}

fn parse_header(spec: &str) -> Result<(String, String), String> {
    let (name, value) = spec
        .split_once(':')
        .ok_or_else(|| format!("expected \"Name: value\", got {spec:?}"))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

impl CrawlOptions {
    /// The engine configuration: defaults, then the --config file, then flags.
    pub fn to_config(&self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => {
                let json = std::fs::read_to_string(path)
                    .map_err(|e| format!("--config {}: {e}", path.display()))?;
                Config::from_json(&json).map_err(|e| format!("--config {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(value) = self.$field.clone() { config.$field = value; } )* };
        }
        set!(
            concurrency,
            per_host,
            delay,
            user_agent,
            timeout,
            connect_timeout,
            read_timeout,
            max_body,
            retries,
            retry_backoff,
            max_retry_after,
            max_redirects,
            max_links_per_page,
            follow_nofollow_links,
            max_query_variants,
            max_url_length,
            parsers,
            buffer,
            io_threads,
            truncate_body,
            render,
            render_tabs,
            render_timeout,
            render_memory,
            render_recycle_after,
            render_block_media,
            robots,
            stall_timeout,
            max_memory,
            frontier_memory,
            seen_memory
        );
        if let Some(max_pages) = self.max_pages {
            config.max_pages = Some(max_pages);
        }
        if let Some(budget) = self.max_pages_per_host {
            config.max_pages_per_host = Some(budget);
        }
        config.canonical_dedup |= self.canonical_dedup;
        if let Some(sitemaps) = self.sitemaps {
            config.sitemaps = sitemaps;
        }
        config
            .render_hosts
            .extend(self.render_hosts.iter().cloned());
        if let Some(selector) = &self.render_wait_for {
            config.render_wait_for = Some(selector.clone());
        }
        if let Some(path) = &self.render_browser {
            config.render_browser = Some(path.clone());
        }
        if let Some(names) = &self.strip_query_params {
            config.strip_query_params = names.iter().filter(|n| !n.is_empty()).cloned().collect();
        }
        if let Some(depth) = self.depth {
            config.depth = Some(depth);
        }
        if self.any_host {
            config.same_host = false;
        } else if self.same_host {
            config.same_host = true;
        }
        config.allow.extend(self.allow.iter().cloned());
        config.deny.extend(self.deny.iter().cloned());
        config.extract.extend(self.extract.iter().cloned());
        config.headers.extend(self.headers.iter().cloned());
        config
            .keep_headers
            .extend(self.keep_headers.iter().map(|h| h.to_ascii_lowercase()));
        config.keep_body |= self.keep_body;
        config.hash_content |= self.hash_content;
        if let Some(dir) = &self.state_dir {
            config.state_dir = Some(dir.clone());
        }
        config.resume |= self.resume;
        config.recrawl |= self.recrawl;
        if let Some(deadline) = self.deadline {
            config.deadline = Some(deadline);
        }
        if let Some(delay) = self.max_crawl_delay {
            config.max_crawl_delay = delay;
        }
        if let Some(policy) = self.private_addresses {
            config.private_addresses = policy;
        }
        if let Some(proxy) = &self.proxy {
            config.proxy = Some(proxy.clone());
        }
        config.cookies |= self.cookies;
        let shared = &self.shared;
        if let (Some(redis), Some(name)) = (&shared.redis, &shared.name) {
            config.redis = Some(redis.clone());
            config.name = Some(name.clone());
        }
        if let Some(prefix) = &shared.redis_prefix {
            config.redis_prefix = prefix.clone();
        }
        if let Some(timeout) = shared.lease_timeout {
            config.lease_timeout = timeout;
        }
        config.follow |= shared.follow;
        config.accept_invalid_certs |= self.accept_invalid_certs;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

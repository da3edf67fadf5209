//! [`ConfigBuilder`]: a [`Config`] built fluently, one setter per option, checked by `build`.

use std::time::Duration;

use super::{Config, ExtractRule, PrivateAddresses, Render, Sitemaps};
use crate::error::ConfigError;

/// Builds a [`Config`] fluently: `Config::builder().depth(2).per_host(4).build()?`.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    pub(super) config: Config,
}

macro_rules! setters {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets `", stringify!($name), "` (see [`Config`]).")]
            pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                self.config.$name = value.into();
                self
            }
        )*
    };
}

impl ConfigBuilder {
    setters! {
        concurrency: usize, per_host: usize, delay: Duration, max_pages: Option<u64>,
        max_pages_per_host: Option<u64>, max_query_variants: usize, canonical_dedup: bool,
        max_pages_per_seed: Option<u64>, sitemaps: Sitemaps,
        render: Render, render_tabs: usize, render_timeout: Duration,
        render_wait_for: Option<String>, render_memory: u64, render_recycle_after: u32,
        render_browser: Option<std::path::PathBuf>, render_block_media: bool,
        same_host: bool, user_agent: String, timeout: Duration, connect_timeout: Duration,
        read_timeout: Duration, max_body: u64, retries: u32, retry_backoff: Duration,
        max_retry_after: Duration, max_redirects: usize, max_links_per_page: usize, max_url_length: usize,
        follow_nofollow_links: bool,
        keep_body: bool, hash_content: bool, parsers: usize, buffer: usize, io_threads: usize, truncate_body: bool,
        robots: bool, max_crawl_delay: Duration, private_addresses: PrivateAddresses, cookies: bool,
        accept_invalid_certs: bool, max_memory: u64, resume: bool, recrawl: bool, frontier_memory: usize, seen_memory: usize, deadline: Option<Duration>, stall_timeout: Duration,
    }

    /// Limits link depth (0 = seeds only).
    pub fn depth(mut self, depth: u32) -> Self {
        self.config.depth = Some(depth);
        self
    }

    /// Adds a host pattern to `render_hosts`.
    pub fn render_host(mut self, pattern: impl Into<String>) -> Self {
        self.config.render_hosts.push(pattern.into());
        self
    }

    pub fn allow(mut self, regex: impl Into<String>) -> Self {
        self.config.allow.push(regex.into());
        self
    }

    /// Replaces the session-id parameters stripped from links (empty: none).
    pub fn strip_query_params<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.config.strip_query_params = names.into_iter().map(Into::into).collect();
        self
    }

    pub fn deny(mut self, regex: impl Into<String>) -> Self {
        self.config.deny.push(regex.into());
        self
    }

    pub fn extract(mut self, name: impl Into<String>, rule: ExtractRule) -> Self {
        self.config.extract.insert(name.into(), rule);
        self
    }

    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.state_dir = Some(dir.into());
        self
    }

    /// A shared crawl: its frontier in Redis at `url`, under `name`.
    pub fn redis(mut self, url: impl Into<String>, name: impl Into<String>) -> Self {
        self.config.redis = Some(url.into());
        self.config.name = Some(name.into());
        self
    }

    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.redis_prefix = prefix.into();
        self
    }

    pub fn lease_timeout(mut self, timeout: Duration) -> Self {
        self.config.lease_timeout = timeout;
        self
    }

    pub fn follow(mut self, follow: bool) -> Self {
        self.config.follow = follow;
        self
    }

    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.config.proxy = Some(url.into());
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.insert(name.into(), value.into());
        self
    }

    pub fn build(self) -> Result<Config, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

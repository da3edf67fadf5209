//! The checks of a configuration that its types alone do not make.

use std::time::Duration;

use super::{is_valid_key_part, Config, MIN_SEEN_MEMORY};
use crate::error::ConfigError;

impl Config {
    /// Checks values that the types alone do not rule out.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("concurrency", self.concurrency),
            ("per_host", self.per_host),
            ("io_threads", self.io_threads),
            ("max_links_per_page", self.max_links_per_page),
        ];
        if self.max_url_length < 64 {
            return Err(ConfigError::invalid(
                "max_url_length",
                "must be at least 64",
            ));
        }
        for (option, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(option, "must be at least 1"));
            }
        }
        if self.max_memory < 1 << 20 {
            return Err(ConfigError::invalid("max_memory", "must be at least 1MiB"));
        }
        if self.seen_memory < MIN_SEEN_MEMORY {
            return Err(ConfigError::invalid(
                "seen_memory",
                format!("must be at least {MIN_SEEN_MEMORY}"),
            ));
        }
        for (option, budget) in [
            ("max_pages_per_host", self.max_pages_per_host),
            ("max_pages_per_seed", self.max_pages_per_seed),
        ] {
            if budget == Some(0) {
                return Err(ConfigError::invalid(
                    option,
                    "must be at least 1 (leave it unset for no budget)",
                ));
            }
        }
        for (option, set) in [("resume", self.resume), ("recrawl", self.recrawl)] {
            if set && self.state_dir.is_none() {
                return Err(ConfigError::invalid(
                    option,
                    "needs state_dir, the directory of the crawl to continue",
                ));
            }
        }
        if self.max_body == 0 {
            return Err(ConfigError::invalid("max_body", "must be at least 1 byte"));
        }
        for (option, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
            ("stall_timeout", self.stall_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(option, "must be greater than zero"));
            }
        }
        if let Some(proxy) = &self.proxy {
            reqwest::Proxy::all(proxy)
                .map_err(|e| ConfigError::invalid("proxy", format!("{proxy:?}: {e}")))?;
        }
        for (name, value) in &self.headers {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ConfigError::invalid("headers", format!("{name:?}: {e}")))?;
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| ConfigError::invalid("headers", format!("{name}: {value:?}: {e}")))?;
        }
        self.validate_render()?;
        if self.user_agent.trim().is_empty() {
            return Err(ConfigError::invalid("user_agent", "must not be empty"));
        }
        self.validate_redis()
    }

    fn validate_redis(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.redis else {
            for (option, set) in [("name", self.name.is_some()), ("follow", self.follow)] {
                if set {
                    return Err(ConfigError::invalid(
                        option,
                        "needs `redis` (a shared crawl)",
                    ));
                }
            }
            return Ok(());
        };
        // Not the URL itself: it may carry a password, and messages reach dashboards.
        redis::Client::open(url.as_str())
            .map_err(|e| ConfigError::invalid("redis", format!("not a usable Redis URL: {e}")))?;
        match &self.name {
            None => return Err(ConfigError::invalid("name", "is required with `redis`")),
            Some(name) if !is_valid_key_part(name) => {
                return Err(ConfigError::invalid(
                    "name",
                    format!("{name:?}: must be non-empty, without whitespace or braces"),
                ))
            }
            Some(_) => {}
        }
        if !is_valid_key_part(&self.redis_prefix) {
            return Err(ConfigError::invalid(
                "redis_prefix",
                "must be non-empty, without whitespace or braces",
            ));
        }
        if self.lease_timeout < Duration::from_secs(1) {
            return Err(ConfigError::invalid("lease_timeout", "must be at least 1s"));
        }
        if self.state_dir.is_some() {
            return Err(ConfigError::invalid(
                "state_dir",
                "does not go with `redis`: a shared crawl keeps its state in Redis",
            ));
        }
        if self.max_pages_per_seed.is_some() {
            return Err(ConfigError::invalid(
                "max_pages_per_seed",
                "does not go with `redis` yet: each worker would count on its own",
            ));
        }
        Ok(())
    }

    fn validate_render(&self) -> Result<(), ConfigError> {
        if self.render_tabs == 0 {
            return Err(ConfigError::invalid("render_tabs", "must be at least 1"));
        }
        if self.render_timeout < Duration::from_millis(100) {
            return Err(ConfigError::invalid(
                "render_timeout",
                "must be at least 100ms",
            ));
        }
        if self.render_memory < 64 << 20 {
            return Err(ConfigError::invalid(
                "render_memory",
                "must be at least 64MiB (an idle headless Chromium takes more than that)",
            ));
        }
        if self.render_recycle_after == 0 {
            return Err(ConfigError::invalid(
                "render_recycle_after",
                "must be at least 1",
            ));
        }
        if let Some(selector) = &self.render_wait_for {
            scraper::Selector::parse(selector).map_err(|e| {
                ConfigError::invalid("render_wait_for", format!("{selector:?}: {e}"))
            })?;
        }
        for pattern in &self.render_hosts {
            let host = pattern.strip_prefix("*.").unwrap_or(pattern);
            if host.is_empty() || host.contains(['/', ':', '*', ' ']) {
                return Err(ConfigError::invalid(
                    "render_hosts",
                    format!(
                        "{pattern:?}: expected a host name such as example.com or *.example.com"
                    ),
                ));
            }
        }
        Ok(())
    }
}

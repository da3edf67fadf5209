//! Errors. `ConfigError` stops a crawler from being built; `CrawlError` is what went wrong with
//! one page and travels inside that `Page`: a crawl goes on past page errors.

use serde::{Serialize, Serializer};

/// A configuration that cannot work, naming the option at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid option `{option}`: {message}")]
    Invalid { option: String, message: String },
    #[error("invalid regex in `{option}`: {message}")]
    Regex { option: String, message: String },
    #[error("invalid CSS selector in extract rule `{rule}`: {message}")]
    Selector { rule: String, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(option: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            option: option.to_string(),
            message: message.into(),
        }
    }
}

/// Errors of the engine as a whole (not of one page).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not start the engine: {0}")]
    Startup(String),
    #[error(transparent)]
    State(#[from] crate::journal::JournalError),
    #[error("invalid seed URL {url:?}: {message}")]
    InvalidSeed { url: String, message: String },
}

/// Why one page failed. Each variant is a cause a user can act on; `kind()` is its stable
/// snake_case name (the CLI's `error.kind`, Ruby's `page.error.kind`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrawlError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("more than {limit} redirects")]
    TooManyRedirects { limit: usize },
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("redirect to {0} is out of scope")]
    RedirectOutOfScope(String),
    /// Over `max_body` with `truncate_body: false`. (A compressed body is capped after
    /// decompression, so a gzip bomb ends here or as a truncated page.)
    #[error("body larger than max_body ({limit} bytes)")]
    BodyTooLarge { limit: u64 },
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    #[error("disallowed by robots.txt")]
    RobotsDisallowed,
    #[error("address refused by the private_addresses guard: {0}")]
    AddressRefused(String),
    #[error("HTTP protocol error: {0}")]
    Http(String),
    #[error("could not decode body: {0}")]
    Decode(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CrawlError {
    /// Stable snake_case name of the variant.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::Dns(_) => "dns",
            Self::Connect(_) => "connect",
            Self::Tls(_) => "tls",
            Self::Timeout(_) => "timeout",
            Self::TooManyRedirects { .. } => "too_many_redirects",
            Self::RedirectLoop(_) => "redirect_loop",
            Self::RedirectOutOfScope(_) => "redirect_out_of_scope",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::HttpStatus(_) => "http_status",
            Self::RobotsDisallowed => "robots_disallowed",
            Self::AddressRefused(_) => "address_refused",
            Self::Http(_) => "http",
            Self::Decode(_) => "decode",
            Self::Internal(_) => "internal",
        }
    }

    /// Transient causes worth another attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout(_) | Self::Http(_) => true,
            Self::HttpStatus(status) => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Every kind, for reporting counters.
    pub const KINDS: [&'static str; 15] = [
        "invalid_url",
        "dns",
        "connect",
        "tls",
        "timeout",
        "too_many_redirects",
        "redirect_loop",
        "redirect_out_of_scope",
        "body_too_large",
        "http_status",
        "robots_disallowed",
        "address_refused",
        "http",
        "decode",
        "internal",
    ];
}

impl Serialize for CrawlError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("CrawlError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once() {
        let mut kinds = CrawlError::KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), CrawlError::KINDS.len());
    }

    #[test]
    fn kinds_are_listed_and_serialized() {
        let err = CrawlError::HttpStatus(503);
        assert!(CrawlError::KINDS.contains(&err.kind()));
        assert!(err.is_transient());
        assert!(!CrawlError::HttpStatus(404).is_transient());
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"http_status","message":"HTTP status 503"}"#
        );
    }
}

//! Errors. `ConfigError` stops a crawler from being built; `CrawlError` is what went wrong with
//! one page and travels inside that `Page`: a crawl goes on past page errors.

use std::path::PathBuf;

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
    State(#[from] JournalError),
    #[error("invalid seed URL {url:?}: {message}")]
    InvalidSeed { url: String, message: String },
}

/// The crawl journal under `state_dir` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("state_dir {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("state_dir {0} holds an earlier crawl: pass resume to continue it, or remove it")]
    NotEmpty(PathBuf),
}

/// Why one page failed. Each variant is a cause a user can act on; `kind()` is its stable
/// snake_case name (the CLI's `error.kind`, Ruby's `page.error.kind`).
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
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
    /// A 3xx whose `Location` names no http(s) URL we can follow.
    #[error("bad redirect: {0}")]
    BadRedirect(String),
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
    /// The server's response is not HTTP (a bad status line, a head over hyper's limit): not
    /// retried, the same server would answer the same.
    #[error("malformed HTTP response: {0}")]
    Protocol(String),
    #[error("could not decode body: {0}")]
    Decode(String),
    /// The DOM `extract` rules need was refused (a bound of `parse::DomRefusal`, or `max_memory`
    /// spent): the page has the streaming pass's title and links, and empty rule values.
    #[error("document tree for extract rules not built: {0}")]
    DomTooLarge(String),
    /// The page's render in headless Chromium failed twice (a crashed, hung or over-memory
    /// browser), or no browser could be started.
    #[error("rendering failed: {0}")]
    Render(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CrawlError {
    /// Every kind, for reporting counters.
    pub const KINDS: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    /// Stable snake_case name of the variant.
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// Transient causes worth another attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout(_) | Self::Http(_) => true,
            Self::HttpStatus(status) => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The process ran out of file descriptors (`EMFILE`, `ENFILE`): a moment's shortage, not
    /// something wrong with the page; it is retried without spending one of its `retries`.
    pub fn is_out_of_descriptors(&self) -> bool {
        match self {
            Self::Connect(m) | Self::Dns(m) | Self::Http(m) | Self::Tls(m) => {
                m.contains("Too many open files")
            }
            _ => false,
        }
    }

    /// Maps an HTTP client error to the cause a user can act on.
    pub(crate) fn from_reqwest(error: &reqwest::Error) -> CrawlError {
        let chain = error_chain(error);
        if chain.contains(REFUSED) {
            CrawlError::AddressRefused(chain)
        } else if is_malformed_response(error) {
            CrawlError::Protocol(chain)
        } else if chain.contains("reading a body from connection")
            || chain.contains("connection reset")
        {
            // The connection broke mid-body (reqwest may wrap that in a decode error).
            CrawlError::Http(chain)
        } else if error.is_timeout() {
            CrawlError::Timeout(chain)
        } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
            CrawlError::Dns(chain)
        } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS") {
            CrawlError::Tls(chain)
        } else if error.is_connect() {
            CrawlError::Connect(chain)
        } else if error.is_decode() {
            CrawlError::Decode(chain)
        } else if error.is_builder() || error.is_request() && error.url().is_none() {
            CrawlError::InvalidUrl(chain)
        } else {
            CrawlError::Http(chain)
        }
    }
}

/// The message every refusal of the address guard carries (also how a refusal is recognised in
/// an HTTP client's error chain).
pub const REFUSED: &str = "address refused by private_addresses";

/// Whether hyper could not parse the response (status line, version, headers, head size).
fn is_malformed_response(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            return hyper.is_parse() || hyper.is_parse_status() || hyper.is_parse_too_large();
        }
        source = cause.source();
    }
    false
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The message of a caught panic (a page's `Internal` error, a binding's exception).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
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

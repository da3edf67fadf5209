//! The retry policy: which failures are tried again, and how long a host then waits — the
//! server's `Retry-After` (capped by `max_retry_after`), else exponential backoff with jitter.
//! Retries are the scheduler's (the request waits there, first in its host's queue), so a host's pause
//! applies to all its requests, not only to the one that failed.

use std::time::Duration;

use crate::config::Config;
use crate::pipeline::Fetched;
use crate::random;

/// After running out of file descriptors, the host's next request waits this long.
const OUT_OF_DESCRIPTORS_PAUSE: Duration = Duration::from_millis(100);

/// What happens after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AfterAttempt {
    /// Fetch the page again (after `pause`).
    pub retry: bool,
    /// How long the host waits before its next request.
    pub pause: Duration,
    /// The attempt counts against `retries` (running out of descriptors, or an attempt that
    /// only fetched robots.txt, does not).
    pub spent: bool,
}

/// Decides after attempt number `attempts` (0 for the first) of a page.
pub(crate) fn after_attempt(config: &Config, fetched: &Fetched, attempts: u32) -> AfterAttempt {
    if fetched.deferred {
        // Only robots.txt was fetched: the host gate holds the page back for the host's gap.
        return AfterAttempt {
            retry: true,
            pause: Duration::ZERO,
            spent: false,
        };
    }
    if fetched
        .error
        .as_ref()
        .is_some_and(|e| e.is_out_of_descriptors())
    {
        return AfterAttempt {
            retry: true,
            pause: OUT_OF_DESCRIPTORS_PAUSE,
            spent: false,
        };
    }
    let retry =
        fetched.error.as_ref().is_some_and(|e| e.is_transient()) && attempts < config.retries;
    let asked = fetched
        .retry_after
        .map(|asked| asked.min(config.max_retry_after));
    let pause = match (retry, asked) {
        (_, Some(asked)) => asked,
        (true, None) => backoff(config.retry_backoff, attempts + 1),
        // A server that asks us to slow down is obeyed even when we give up on the page.
        (false, None) => Duration::ZERO,
    };
    AfterAttempt {
        retry,
        pause,
        spent: true,
    }
}

/// `base * 2^(attempt-1)`, scaled by a jitter factor in [0.5, 1.5) so that many crawlers
/// failing together do not retry together.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    exponential.mul_f64(random::jitter(0.5, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CrawlError;

    #[test]
    fn backoff_grows_with_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..5 {
            let wait = backoff(base, attempt);
            let nominal = base * (1 << (attempt - 1));
            assert!(
                wait >= nominal / 2 && wait < nominal * 3 / 2,
                "{attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn transient_failures_are_retried_and_retry_after_obeyed() {
        let config = Config::default();
        let now = std::time::Instant::now();
        let mut fetched = Fetched::failed(None, CrawlError::HttpStatus(503), now);
        let first = after_attempt(&config, &fetched, 0);
        assert!(first.retry && first.pause > Duration::ZERO, "{first:?}");
        let last = after_attempt(&config, &fetched, config.retries);
        assert_eq!(
            last,
            AfterAttempt {
                retry: false,
                pause: Duration::ZERO,
                spent: true
            }
        );
        fetched.retry_after = Some(Duration::from_secs(3600 * 24));
        let asked = after_attempt(&config, &fetched, config.retries);
        assert_eq!(
            asked.pause, config.max_retry_after,
            "capped, and obeyed when giving up"
        );
        let permanent = Fetched::failed(None, CrawlError::HttpStatus(404), now);
        assert!(!after_attempt(&config, &permanent, 0).retry);
        let emfile = "tcp connect error: Too many open files (os error 24)";
        let out = Fetched::failed(None, CrawlError::Connect(emfile.into()), now);
        let next = after_attempt(&config, &out, config.retries + 5);
        assert!(next.retry && !next.spent, "{next:?}");
    }
}

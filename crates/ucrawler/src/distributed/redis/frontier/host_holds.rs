//! Fleet-wide politeness in Redis: holds on a host shared by every crawl under a prefix (see
//! `distributed::FleetHold`, which takes and gives them back around each fetch).

use std::time::Duration;

use super::{millis, Call, RedisFrontier, RedisFrontierError, Result, SCRIPTS};
use crate::distributed::redis::keys::host_keys;

/// Longest wait `acquire_host` suggests when a host is at `per_host`: holds are normally
/// released long before they expire, so polling beats sleeping until the expiry.
const BUSY_HOST_POLL: Duration = Duration::from_millis(100);

impl RedisFrontier {
    /// Tries to start a request to `host` (a host key such as `example.com:443`), for every
    /// crawl under this prefix. Succeeds when fewer than `per_host` unexpired holds exist on the
    /// host and its next-start time has come; then records a hold `token` expiring after `hold`
    /// (a dead worker's hold frees itself) and sets next-start = now + `gap`. Returns `None` on
    /// success, else how long to wait before trying again: the time to next-start, or while the
    /// host is at `per_host` at most 100 ms (holds are normally released before they expire).
    ///
    /// `token` must be unique per request (e.g. worker id + counter): a token that already
    /// holds the host is granted again, which makes a retried call harmless.
    pub async fn acquire_host(
        &self,
        host: &str,
        token: &str,
        per_host: usize,
        gap: Duration,
        hold: Duration,
    ) -> Result<Option<Duration>> {
        if per_host == 0 || millis(hold) == 0 || token.is_empty() || host.is_empty() {
            return Err(RedisFrontierError::Invalid(format!(
                "acquire_host({host:?}, token {token:?}, per_host {per_host}, hold {hold:?}): \
                 host and token must be non-empty, per_host and hold at least 1"
            )));
        }
        let (holds, next) = host_keys(&self.inner.prefix, host);
        let mut invocation = SCRIPTS.acquire_host.prepare_invoke();
        invocation
            .key(holds)
            .key(next)
            .arg(token)
            .arg(per_host)
            .arg(millis(gap))
            .arg(millis(hold))
            .arg(millis(BUSY_HOST_POLL));
        let wait_ms: u64 = self
            .inner
            .conn
            .run("acquire_host", Call::Script(&invocation))
            .await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    /// Ends the hold `token` on `host`; a `pause` (Retry-After, backoff) moves the host's
    /// next-start to at least now + `pause`.
    pub async fn release_host(&self, host: &str, token: &str, pause: Duration) -> Result<()> {
        let (holds, next) = host_keys(&self.inner.prefix, host);
        let mut invocation = SCRIPTS.release_host.prepare_invoke();
        invocation
            .key(holds)
            .key(next)
            .arg(token)
            .arg(millis(pause));
        self.inner
            .conn
            .run("release_host", Call::Script(&invocation))
            .await
            .map(|_: i64| ())
    }
}

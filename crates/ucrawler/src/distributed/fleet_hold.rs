//! Fleet-wide politeness: a shared crawl's place at a host across every worker, held in Redis
//! on top of the process's own host gate.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::agent::AgentHandle;
use super::redis::RedisFrontier;
use crate::config::Config;

/// A shared crawl's place at a host across every worker of the fleet (through Redis), on top of
/// the process's own host gate. A hold not released (worker killed) expires by itself.
pub(crate) struct FleetHold {
    frontier: RedisFrontier,
    host: String,
    token: String,
    /// Redis may hold the host under `token`: dropped, the hold is given back.
    held: bool,
}

impl FleetHold {
    /// Waits until the fleet may send one more request to the host. `Ok(None)`: not a shared
    /// crawl; `Err`: cancelled while waiting.
    pub async fn acquire(
        agent: Option<&AgentHandle>,
        config: &Config,
        cancel: &CancellationToken,
        host: &str,
        per_host: usize,
        gap: Duration,
    ) -> Result<Option<FleetHold>, ()> {
        let Some(frontier) = agent.and_then(|agent| agent.frontier.get()) else {
            return Ok(None);
        };
        // Longer than any fetch can take, so it only expires for a worker that is gone.
        let expiry = config.timeout * 2 + config.connect_timeout + Duration::from_secs(5);
        let mut hold = FleetHold {
            frontier: frontier.clone(),
            host: host.to_string(),
            token: agent.map(AgentHandle::hold_token).unwrap_or_default(),
            held: false,
        };
        loop {
            // Cancelled while its script is in Redis, the request may have been granted
            // there all the same: the hold is given back on drop as if it had been.
            hold.held = true;
            let asked = frontier.acquire_host(host, &hold.token, per_host, gap, expiry);
            let wait = tokio::select! {
                asked = asked => asked,
                _ = cancel.cancelled() => return Err(()),
            };
            match wait {
                Ok(None) => return Ok(Some(hold)),
                Ok(Some(wait)) => {
                    hold.held = false;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.cancelled() => return Err(()),
                    }
                }
                Err(e) => {
                    hold.held = false;
                    // Not a connection problem (those are retried): politeness cannot be
                    // shared, so keep to this process's own.
                    tracing::error!("fleet-wide politeness for {}: {e}", host);
                    return Ok(None);
                }
            }
        }
    }

    pub async fn release(mut self, pause: Duration) {
        if let Err(e) = self
            .frontier
            .release_host(&self.host, &self.token, pause)
            .await
        {
            tracing::error!("fleet-wide politeness for {}: {e}", self.host);
        }
        self.held = false;
    }
}

impl Drop for FleetHold {
    /// A fetch cancelled mid-way gives its hold back at once rather than when it expires.
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (frontier, host, token) = (
                self.frontier.clone(),
                std::mem::take(&mut self.host),
                std::mem::take(&mut self.token),
            );
            runtime.spawn(async move {
                let _ = frontier.release_host(&host, &token, Duration::ZERO).await;
            });
        }
    }
}

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
    released: bool,
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
        let token = agent.map(AgentHandle::hold_token).unwrap_or_default();
        loop {
            let asked = frontier.acquire_host(host, &token, per_host, gap, expiry);
            let wait = tokio::select! {
                asked = asked => asked,
                _ = cancel.cancelled() => return Err(()),
            };
            match wait {
                Ok(None) => break,
                Ok(Some(wait)) => tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return Err(()),
                },
                Err(e) => {
                    // Not a connection problem (those are retried): politeness cannot be
                    // shared, so keep to this process's own.
                    tracing::error!("fleet-wide politeness for {}: {e}", host);
                    return Ok(None);
                }
            }
        }
        Ok(Some(FleetHold {
            frontier: frontier.clone(),
            host: host.to_string(),
            token,
            released: false,
        }))
    }

    pub async fn release(mut self, pause: Duration) {
        self.released = true;
        if let Err(e) = self
            .frontier
            .release_host(&self.host, &self.token, pause)
            .await
        {
            tracing::error!("fleet-wide politeness for {}: {e}", self.host);
        }
    }
}

impl Drop for FleetHold {
    /// A fetch cancelled mid-way gives its hold back at once rather than when it expires.
    fn drop(&mut self) {
        if self.released {
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

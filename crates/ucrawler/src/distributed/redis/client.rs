//! The connection of a [`RedisFrontier`]: every call retries transient failures forever with
//! backoff, replaces a connection that stopped answering, and logs an outage once when it starts
//! and once when it ends (see the module docs of `distributed::redis`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{ErrorKind, FromRedisValue, RedisError, ServerErrorKind};

use super::{RedisFrontier, RedisFrontierError, Result};
use crate::random;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// One Redis request, re-sent as it is on each retry.
pub(super) enum Call<'a> {
    Script(&'a redis::ScriptInvocation<'a>),
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl RedisFrontier {
    fn manager(&self) -> ConnectionManager {
        lock(&self.inner.manager).clone()
    }

    /// Runs `call`, retrying transient failures forever with backoff (see the module docs).
    pub(super) async fn run<T: FromRedisValue>(
        &self,
        op: &'static str,
        call: Call<'_>,
    ) -> Result<T> {
        let mut delay = BACKOFF_MIN;
        loop {
            let mut con = self.manager();
            let result = match &call {
                Call::Script(invocation) => invocation.invoke_async(&mut con).await,
                Call::Cmd(cmd) => cmd.query_async(&mut con).await,
                Call::Pipe(pipe) => pipe.query_async(&mut con).await,
            };
            let error = match result {
                Ok(value) => {
                    self.outage_ended();
                    return Ok(value);
                }
                Err(error) => error,
            };
            if !is_transient(&error) {
                return Err(self.classify(op, error));
            }
            if error.is_timeout() || error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) {
                self.replace_manager();
            }
            self.outage_started(op, &error);
            tokio::time::sleep(jitter(delay)).await;
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    }

    fn classify(&self, op: &'static str, source: RedisError) -> RedisFrontierError {
        let crawl = self.inner.name.clone();
        if source.code() == Some("WRONGTYPE") {
            RedisFrontierError::WrongType {
                crawl,
                op,
                message: source.to_string(),
            }
        } else {
            RedisFrontierError::Redis { crawl, op, source }
        }
    }

    fn replace_manager(&self) {
        match ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        ) {
            Ok(manager) => *lock(&self.inner.manager) = manager,
            Err(e) => {
                tracing::warn!(redis = %self.inner.address, "cannot renew the Redis connection: {e}")
            }
        }
    }

    /// Whether Redis cannot be reached right now (calls are being retried).
    pub fn is_unreachable(&self) -> bool {
        lock(&self.inner.outage).is_some()
    }

    fn outage_started(&self, op: &str, error: &RedisError) {
        let mut outage = lock(&self.inner.outage);
        if outage.is_none() {
            *outage = Some(Instant::now());
            tracing::warn!(
                redis = %self.inner.address,
                crawl = %self.inner.name,
                "Redis unavailable during {op}: {error}; retrying until it is back"
            );
        }
    }

    fn outage_ended(&self) {
        let mut outage = lock(&self.inner.outage);
        if let Some(started) = outage.take() {
            tracing::info!(
                redis = %self.inner.address,
                crawl = %self.inner.name,
                "Redis available again after {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Whether retrying may succeed: the connection or the server is (temporarily) unavailable.
fn is_transient(error: &RedisError) -> bool {
    if error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
        return true;
    }
    matches!(
        error.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly
        )
    ) || error.code() == Some("BUSY")
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever panicked while holding them.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// 100 ms → 5 s, times [0.75, 1.25) so a fleet does not reconnect in lockstep.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(random::jitter(0.75, 0.5))
}

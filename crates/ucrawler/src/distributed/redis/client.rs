//! The connection of a [`RedisFrontier`]: every call retries transient failures forever with
//! backoff, replaces a connection that stopped answering, and logs an outage once when it starts
//! and once when it ends (see the module docs of `distributed::redis`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, RedisError, ServerErrorKind};

use super::{RedisFrontierError, Result};
use crate::random;
use crate::url::redact_password;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Generous: the largest scripts (a push of 10k links) take milliseconds; a reply this late
/// means a stuck connection, which is then replaced.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Redis calls answered in this process, and the time they took (for the metrics).
static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);
static ROUND_TRIP_MICROS: AtomicU64 = AtomicU64::new(0);

/// Calls answered by Redis in this process (retries of a failed attempt not counted), and
/// their total round-trip time in seconds.
pub fn round_trips() -> (u64, f64) {
    (
        ROUND_TRIPS.load(Relaxed),
        ROUND_TRIP_MICROS.load(Relaxed) as f64 / 1e6,
    )
}

/// One auto-reconnecting multiplexed connection, shared by every clone of a frontier.
pub(super) struct Connection {
    /// The crawl's name (for logs and errors).
    pub name: String,
    /// Where we connect, with any password hidden (for logs and errors).
    pub address: String,
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// Replaced wholesale after a timeout: the manager reconnects on a dropped connection but
    /// keeps one that silently stopped answering.
    manager: Mutex<ConnectionManager>,
    /// When the current outage started (shared by all calls so it is logged once).
    outage: Mutex<Option<Instant>>,
}

/// One Redis request, re-sent as it is on each retry.
pub(super) enum Call<'a> {
    Script(&'a redis::ScriptInvocation<'a>),
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Connection {
    /// No connection is made yet; the URL is checked.
    pub fn new(url: &str, name: &str) -> Result<Self> {
        let address = redact_password(url);
        let bad_url = |reason: String| RedisFrontierError::BadUrl {
            url: address.clone(),
            reason,
        };
        let client = redis::Client::open(url).map_err(|e| bad_url(e.to_string()))?;
        // One connection attempt per call: our own loop does the backoff and the logging.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|e| bad_url(e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            address,
            client,
            config,
            manager: Mutex::new(manager),
            outage: Mutex::new(None),
        })
    }

    fn manager(&self) -> ConnectionManager {
        lock(&self.manager).clone()
    }

    /// Runs `call`, retrying transient failures forever with backoff (see the module docs).
    pub async fn run<T: FromRedisValue>(&self, op: &'static str, call: Call<'_>) -> Result<T> {
        let mut delay = BACKOFF_MIN;
        loop {
            let mut con = self.manager();
            let sent = Instant::now();
            let result = match &call {
                Call::Script(invocation) => invocation.invoke_async(&mut con).await,
                Call::Cmd(cmd) => cmd.query_async(&mut con).await,
                Call::Pipe(pipe) => pipe.query_async(&mut con).await,
            };
            let error = match result {
                Ok(value) => {
                    ROUND_TRIPS.fetch_add(1, Relaxed);
                    ROUND_TRIP_MICROS.fetch_add(sent.elapsed().as_micros() as u64, Relaxed);
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
        let crawl = self.name.clone();
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
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(manager) => *lock(&self.manager) = manager,
            Err(e) => {
                tracing::warn!(redis = %self.address, "cannot renew the Redis connection: {e}")
            }
        }
    }

    /// Whether Redis cannot be reached right now (calls are being retried).
    pub fn is_unreachable(&self) -> bool {
        lock(&self.outage).is_some()
    }

    fn outage_started(&self, op: &str, error: &RedisError) {
        let mut outage = lock(&self.outage);
        if outage.is_none() {
            *outage = Some(Instant::now());
            tracing::warn!(
                redis = %self.address,
                crawl = %self.name,
                "Redis unavailable during {op}: {error}; retrying until it is back"
            );
        }
    }

    fn outage_ended(&self) {
        let mut outage = lock(&self.outage);
        if let Some(started) = outage.take() {
            tracing::info!(
                redis = %self.address,
                crawl = %self.name,
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever panicked while holding them.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// 100 ms → 5 s, times [0.75, 1.25) so a fleet does not reconnect in lockstep.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(random::jitter(0.75, 0.5))
}

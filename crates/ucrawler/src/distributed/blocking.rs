//! A shared crawl's frontier for callers that are not crawling and not async: the CLI's
//! `enqueue` and `status`, the gem's `RedisFrontier`. It owns a small runtime, connects lazily
//! and again in a forked child (a child must not share its parent's socket), and every call gives
//! up after `timeout`, or when the caller's `interrupted` flag turns true (Ruby's Ctrl-C), with
//! an error naming the cause. Workers, unlike this handle, wait for Redis forever.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::redis::{RedisFrontier, RedisFrontierError, RedisOptions};
use crate::config::Config;
use crate::error::ConfigError;
use crate::fork_local::ForkLocal;
use crate::url::redact_password;

/// How often a wait looks at the caller's `interrupted` flag.
const POLL: Duration = Duration::from_millis(20);

/// Why a [`BlockingFrontier`] call did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError {
    #[error("no answer from {address} within {timeout:?} (is Redis running?)")]
    TimedOut { address: String, timeout: Duration },
    #[error("interrupted")]
    Interrupted,
    #[error("tokio runtime: {0}")]
    Runtime(String),
    #[error(transparent)]
    Redis(#[from] RedisFrontierError),
}

/// A blocking handle on one shared crawl (see the module docs).
pub struct BlockingFrontier {
    url: String,
    name: String,
    options: RedisOptions,
    timeout: Duration,
    connection: ForkLocal<(tokio::runtime::Runtime, RedisFrontier)>,
}

impl BlockingFrontier {
    /// Checked like the engine's `redis`, `name`, `redis_prefix` and `lease_timeout` options (an
    /// operator sees the same message as a worker would); no connection yet.
    pub fn new(
        url: &str,
        name: &str,
        options: RedisOptions,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        Config::builder()
            .redis(url.to_string(), name.to_string())
            .redis_prefix(options.prefix.clone())
            .lease_timeout(options.lease_timeout)
            .build()?;
        Ok(Self {
            url: url.to_string(),
            name: name.to_string(),
            options,
            timeout,
            connection: ForkLocal::new(),
        })
    }

    /// The Redis URL without its password.
    pub fn address(&self) -> String {
        redact_password(&self.url)
    }

    /// Runs `op` on this process's connection (connecting first if needed), until it ends,
    /// `timeout` passes or `interrupted` turns true. Calls from several threads take turns.
    pub fn call<T, F, Fut>(&self, interrupted: &AtomicBool, op: F) -> Result<T, BlockingError>
    where
        F: FnOnce(RedisFrontier) -> Fut,
        Fut: Future<Output = Result<T, RedisFrontierError>>,
    {
        let connect = || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| BlockingError::Runtime(e.to_string()))?;
            let connecting = RedisFrontier::connect(&self.url, &self.name, self.options.clone());
            let frontier = self.wait(&runtime, connecting, interrupted)??;
            Ok::<_, BlockingError>((runtime, frontier))
        };
        self.connection.with(connect, |(runtime, frontier)| {
            self.wait(runtime, op(frontier.clone()), interrupted)?
                .map_err(BlockingError::from)
        })?
    }

    /// Drives `future` on `runtime` until it ends, `timeout` passes or `interrupted` turns true.
    fn wait<F: Future>(
        &self,
        runtime: &tokio::runtime::Runtime,
        future: F,
        interrupted: &AtomicBool,
    ) -> Result<F::Output, BlockingError> {
        runtime.block_on(async {
            let watch = async {
                while !interrupted.load(Ordering::SeqCst) {
                    tokio::time::sleep(POLL).await;
                }
            };
            tokio::select! {
                value = future => Ok(value),
                _ = watch => Err(BlockingError::Interrupted),
                _ = tokio::time::sleep(self.timeout) => Err(BlockingError::TimedOut {
                    address: self.address(),
                    timeout: self.timeout,
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_redis_times_out_naming_it() {
        let options = RedisOptions::default();
        let frontier = BlockingFrontier::new(
            "redis://:pw@127.0.0.1:1",
            "t",
            options,
            Duration::from_millis(200),
        )
        .unwrap();
        let error = frontier
            .call(&AtomicBool::new(false), |f| async move { f.status().await })
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("127.0.0.1:1") && message.contains("is Redis running"),
            "{message}"
        );
        assert!(!message.contains("pw"), "{message}");
        let interrupted = AtomicBool::new(true);
        assert!(matches!(
            frontier.call(&interrupted, |f| async move { f.status().await }),
            Err(BlockingError::Interrupted)
        ));
        assert!(
            BlockingFrontier::new("redis://h", "a b", RedisOptions::default(), Duration::ZERO)
                .is_err()
        );
    }
}

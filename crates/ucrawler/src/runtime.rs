//! What exists once per process: the tokio runtime, the HTTP client, the parser pool, the fetch
//! window and the host gate. Built lazily on first use, and again in a forked child
//! ([`ForkLocal`]): Puma, Sidekiq and Unicorn fork after boot, and a child must never use (or
//! wait on) its parent's threads and sockets.

use std::sync::{Arc, Mutex, PoisonError};

use crate::config::Config;
use crate::error::Error;
use crate::fetch::{build_client, FetchWindow};
use crate::parse::ParserPool;
use crate::politeness::{self, AddressGuard, HostGate};

/// A value owned by one process. After a `fork` the child builds its own; the parent's copy is
/// forgotten, never dropped: its threads do not exist in the child, and dropping it could wait
/// on them forever.
pub struct ForkLocal<T> {
    slot: Mutex<Option<(u32, T)>>,
}

impl<T> Default for ForkLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ForkLocal<T> {
    pub const fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// Runs `use_it` on this process's value (under a lock), building the value with `init`
    /// first if this process has none yet.
    pub fn with<R, E>(
        &self,
        init: impl FnOnce() -> Result<T, E>,
        use_it: impl FnOnce(&mut T) -> R,
    ) -> Result<R, E> {
        let pid = std::process::id();
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|(owner, _)| *owner != pid) {
            if let Some(inherited) = slot.take() {
                std::mem::forget(inherited);
            }
        }
        if slot.is_none() {
            *slot = Some((pid, init()?));
        }
        match slot.as_mut() {
            Some((_, value)) => Ok(use_it(value)),
            None => unreachable!("the slot was just filled"),
        }
    }
}

/// Threads and connections, shared by every crawl of a crawler.
pub(crate) struct Runtime {
    tokio: Option<tokio::runtime::Runtime>,
    pub client: reqwest::Client,
    pub parsers: ParserPool,
    /// The global `concurrency` limit, shared by all crawls, adapted to what the parsers absorb.
    pub window: Arc<FetchWindow>,
    /// Per-host politeness, shared by all crawls of the process.
    pub hosts: Arc<HostGate>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Never block in a destructor (it may run inside async code or Ruby's GC).
        if let Some(tokio) = self.tokio.take() {
            tokio.shutdown_background();
        }
    }
}

impl Runtime {
    pub fn build(config: &Config, guard: &Arc<AddressGuard>) -> Result<Runtime, Error> {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads)
            .thread_name("ucrawler-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Startup(format!("tokio runtime: {e}")))?;
        // reqwest's connector needs a runtime context when it is built.
        let client = {
            let _guard = tokio.enter();
            build_client(config, guard.clone())?
        };
        let parsers = ParserPool::new(config.parser_threads())?;
        Ok(Runtime {
            tokio: Some(tokio),
            client,
            parsers,
            window: FetchWindow::new(config.concurrency, config.parser_threads()),
            hosts: politeness::process_gate(),
        })
    }

    pub fn handle(&self) -> Option<&tokio::runtime::Runtime> {
        self.tokio.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_local_builds_once_per_process() {
        let local = ForkLocal::new();
        let mut built = 0;
        for _ in 0..3 {
            let value = local.with(
                || {
                    built += 1;
                    Ok::<_, ()>(7)
                },
                |v| *v,
            );
            assert_eq!(value, Ok(7));
        }
        assert_eq!(built, 1);
        assert_eq!(local.with(|| Err("no"), |v: &mut i32| *v), Ok(7));
    }
}

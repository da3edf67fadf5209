//! What exists once per process: the tokio runtime, the HTTP client, the parser pool, the fetch
//! window and the host gate. Built lazily on first use, and again in a forked child
//! ([`crate::fork_local::ForkLocal`]): Puma, Sidekiq and Unicorn fork after boot, and a child must never use (or
//! wait on) its parent's threads and sockets.

use std::sync::Arc;

use crate::config::Config;
use crate::error::Error;
use crate::fetch::{build_client, Connections};
use crate::parse::ParserPool;
use crate::pipeline::FetchWindow;
use crate::politeness::{self, AddressGuard, HostGate};

/// Threads and connections, shared by every crawl of a crawler.
pub(crate) struct Runtime {
    tokio: Option<tokio::runtime::Runtime>,
    /// The HTTP client, in generations that keep its connections within a descriptor budget.
    pub connections: Connections,
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
        let connections = {
            let _guard = tokio.enter();
            Connections::new(config, |budget| build_client(config, guard.clone(), budget))?
        };
        let parsers = ParserPool::new(config.parser_threads())?;
        Ok(Runtime {
            tokio: Some(tokio),
            connections,
            parsers,
            window: FetchWindow::new(config.concurrency, config.parser_threads()),
            hosts: politeness::process_gate(),
        })
    }

    pub fn handle(&self) -> Option<&tokio::runtime::Runtime> {
        self.tokio.as_ref()
    }
}

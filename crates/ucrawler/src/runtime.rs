//! Threads are the process's; connections are each crawler's.
//!
//! The process has one tokio runtime per distinct `io_threads` value (one, normally) and one
//! parser pool, grown to the largest `parsers` any crawler asked for, never shrunk. Every
//! crawler runs on them. A Rails app builds crawlers wherever it needs one (a job, a controller)
//! and Ruby frees them only when its GC gets to it: with threads of its own, each crawler held
//! them until then (300 short crawls in a loop held 707 threads). Shared threads make the engine
//! cost a process a fixed number of threads, like a database pool, whatever its crawlers do.
//! Threads that end when their crawler goes idle were the other choice, but they would still
//! multiply with the crawls running at once, and start again for every crawl.
//!
//! What differs between crawlers stays theirs: the HTTP client (headers, user agent, proxy,
//! cookies, timeouts; its idle connections close after `idle_timeout`, and all of them when the
//! crawler goes) and the fetch window over its `concurrency`. Both are built in each process
//! ([`crate::fork_local::ForkLocal`]), like the threads: Puma, Sidekiq and Unicorn fork after
//! boot, and a child must never use (or wait on) its parent's threads and sockets.

use std::sync::Arc;

use reqwest::cookie::Jar;
use tokio::runtime::Handle;

use crate::config::Config;
use crate::error::Error;
use crate::fetch::{build_client, Connections};
use crate::fork_local::ForkLocal;
use crate::parse::ParserPool;
use crate::pipeline::FetchWindow;
use crate::politeness::{self, AddressGuard, HostGate};

/// Threads tokio may start for blocking calls (name resolution), across the process; each ends
/// after 10 s without work.
const BLOCKING_THREADS: usize = 64;

/// The engine threads of this process.
struct Threads {
    /// A runtime per `io_threads` value asked for.
    io: Vec<(usize, tokio::runtime::Runtime)>,
    parsers: ParserPool,
}

static THREADS: ForkLocal<Threads> = ForkLocal::new();

/// The process's I/O runtime for `config.io_threads` and its parser pool, started or grown as
/// `config` needs.
fn process_threads(config: &Config) -> Result<(Handle, ParserPool), Error> {
    let init = || {
        Ok::<_, Error>(Threads {
            io: Vec::new(),
            parsers: ParserPool::new(),
        })
    };
    THREADS.with(init, |threads| {
        threads.parsers.grow_to(config.parser_threads())?;
        let handle = match threads.io.iter().find(|(n, _)| *n == config.io_threads) {
            Some((_, io)) => io.handle().clone(),
            None => {
                let io = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(config.io_threads)
                    .max_blocking_threads(BLOCKING_THREADS)
                    .thread_name("ucrawler-io")
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Startup(format!("tokio runtime: {e}")))?;
                let handle = io.handle().clone();
                threads.io.push((config.io_threads, io));
                handle
            }
        };
        Ok((handle, threads.parsers.clone()))
    })?
}

/// What a crawler runs on in this process: the process's threads, and its own connections and
/// fetch window, shared by every crawl of the crawler.
pub(crate) struct Runtime {
    tokio: Handle,
    /// The HTTP client, and the descriptor budget its connections are held to.
    pub connections: Connections,
    pub parsers: ParserPool,
    /// The global `concurrency` limit, shared by all crawls, adapted to what the parsers absorb.
    pub window: Arc<FetchWindow>,
    /// Per-host politeness, shared by all crawls of the process.
    pub hosts: Arc<HostGate>,
}

impl Runtime {
    pub fn build(
        config: &Config,
        guard: &Arc<AddressGuard>,
        cookies: &Option<Arc<Jar>>,
    ) -> Result<Runtime, Error> {
        let (tokio, parsers) = process_threads(config)?;
        // reqwest's connector needs a runtime context when it is built.
        let connections = {
            let _guard = tokio.enter();
            Connections::new(config, |budget| {
                build_client(config, guard.clone(), budget, cookies.clone())
            })?
        };
        Ok(Runtime {
            tokio,
            connections,
            parsers,
            window: FetchWindow::new(config.concurrency, config.parser_threads()),
            hosts: politeness::process_gate(),
        })
    }

    pub fn handle(&self) -> &Handle {
        &self.tokio
    }
}

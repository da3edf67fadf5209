//! `Crawler`: a configured engine — HTTP client, tokio runtime, parser pool and global limits —
//! shared by all the crawls it starts. Threads are created lazily, once per process: after a
//! `fork` (Puma, Sidekiq, Unicorn) the child builds its own instead of using dead ones.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::config::Config;
use crate::crawl::{Crawl, CrawlCtx, Shared};
use crate::error::Error;
use crate::fetch::build_client;
use crate::fetch_window::FetchWindow;
use crate::guard::AddressGuard;
use crate::journal;
use crate::memory::MemoryBudget;
use crate::page::Request;
use crate::parse::Extractor;
use crate::parser_pool::ParserPool;
use crate::politeness::{self, HostGate};
use crate::remote;
use crate::robots::RobotsCache;
use crate::scheduler::Scheduler;
use crate::stats::Counters;
use crate::url::Scope;

/// Seeds waiting between the caller and the scheduler.
const SEED_CHANNEL: usize = 1024;

/// The configured crawler. Cheap to clone; one per process is normal; many crawls may run on it
/// at once and share its `concurrency` limit.
#[derive(Clone)]
pub struct Crawler {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Shared,
    runtime: Mutex<Option<(u32, Arc<Runtime>)>>,
}

/// robots.txt files cached per crawler, at most.
const ROBOTS_CACHE: usize = 10_000;

/// What exists once per process: threads and connections.
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
    pub fn handle(&self) -> Option<&tokio::runtime::Runtime> {
        self.tokio.as_ref()
    }
}

impl Crawler {
    /// Validates the configuration and compiles its rules. No thread is started yet.
    pub fn new(config: Config) -> Result<Crawler, Error> {
        config.validate()?;
        let shared = Shared {
            extractor: Arc::new(Extractor::new(&config)?),
            scope: Arc::new(Scope::new(&config)?),
            robots: Arc::new(RobotsCache::new(&config.user_agent, ROBOTS_CACHE)),
            guard: Arc::new(AddressGuard::new(config.private_addresses)),
            budget: Arc::new(MemoryBudget::new(config.max_memory)),
            config: Arc::new(config),
        };
        Ok(Crawler {
            inner: Arc::new(Inner {
                shared,
                runtime: Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Starts a crawl of `seeds`, consumed lazily from a feeder thread (an iterator over millions
    /// of URLs is never collected).
    pub fn crawl<I>(&self, seeds: I) -> Result<Crawl, Error>
    where
        I: IntoIterator + Send + 'static,
        I::Item: Into<Request>,
        I::IntoIter: Send,
    {
        let (crawl, sender) = self.start()?;
        std::thread::Builder::new()
            .name("ucrawler-seeds".into())
            .spawn(move || {
                for seed in seeds {
                    if sender.blocking_send(seed.into()).is_err() {
                        break; // the crawl was cancelled or dropped
                    }
                }
            })
            .map_err(|e| Error::Startup(format!("seed thread: {e}")))?;
        Ok(crawl)
    }

    /// Starts a crawl whose seeds the caller feeds with [`Crawl::feed`] and ends with
    /// [`Crawl::close_seeds`]. Used by bindings that must produce seeds on their own thread.
    pub fn open(&self) -> Result<Crawl, Error> {
        let (mut crawl, sender) = self.start()?;
        crawl.set_seed_sender(sender);
        Ok(crawl)
    }

    fn start(&self) -> Result<(Crawl, mpsc::Sender<Request>), Error> {
        let config = &self.inner.shared.config;
        let journal = match &config.state_dir {
            Some(dir) => Some(journal::open(dir, config.resume)?),
            None => None,
        };
        let runtime = self.runtime()?;
        let counters = Arc::new(Counters::new());
        let (seed_tx, seed_rx) = mpsc::channel(SEED_CHANNEL);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        let tokio = runtime
            .handle()
            .ok_or_else(|| Error::Startup("runtime is shut down".into()))?;
        let mut ctx = CrawlCtx::new(&self.inner.shared, counters, events_tx, results_tx);
        let leased = config.redis.is_some().then(|| {
            let _runtime = tokio.enter();
            let (agent, leased) = remote::start(config, ctx.guard.clone(), ctx.cancel.clone());
            ctx.remote = Some(agent);
            leased
        });
        let ctx = Arc::new(ctx);
        let mut crawl = Crawl::new(results_rx, ctx.clone(), runtime.clone());
        let mut scheduler = Scheduler::new(ctx, runtime.clone(), events_rx, seed_rx);
        if let Some(leased) = leased {
            scheduler.set_remote(leased);
        }
        if let Some((journal, done, replay)) = journal {
            crawl.set_done_log(done);
            scheduler.set_journal(journal, replay);
        }
        tokio.spawn(scheduler.run());
        Ok((crawl, seed_tx))
    }

    /// The per-process runtime, built on first use and again after a fork.
    fn runtime(&self) -> Result<Arc<Runtime>, Error> {
        let pid = std::process::id();
        let mut slot = self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((owner, runtime)) = slot.as_ref() {
            if *owner == pid {
                return Ok(runtime.clone());
            }
        }
        if let Some((_, inherited)) = slot.take() {
            // Its threads do not exist in this process: dropping it could wait on them forever.
            std::mem::forget(inherited);
        }
        let runtime = Arc::new(build_runtime(
            &self.inner.shared.config,
            &self.inner.shared.guard,
        )?);
        *slot = Some((pid, runtime.clone()));
        Ok(runtime)
    }
}

fn build_runtime(config: &Config, guard: &Arc<AddressGuard>) -> Result<Runtime, Error> {
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

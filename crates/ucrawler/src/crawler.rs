//! `Crawler`: a configured engine — its options, compiled rules, robots.txt cache, address guard
//! and memory budget — shared by all the crawls it starts. It wires the stages of each crawl:
//! the scheduler task, the Redis agent of a shared crawl, the journal, and the consumer's end.
//! Threads are the process's and connections the crawler's (see [`Runtime`]), built on first use.

use std::sync::{Arc, Weak};

use reqwest::cookie::Jar;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::consumer::{Crawl, LiveStats};
use crate::distributed;
use crate::error::Error;
use crate::fork_local::ForkLocal;
use crate::memory::MemoryBudget;
use crate::page::Request;
use crate::parse::Extractor;
use crate::pipeline::{CrawlCtx, Shared};
use crate::politeness::{AddressGuard, RobotsCache};
use crate::runtime::Runtime;
use crate::schedule::{journal, visits, Scheduler, VisitLog};
use crate::stats::Counters;
use crate::url::Scope;

/// Seeds waiting between the caller and the scheduler.
const SEED_CHANNEL: usize = 1024;

/// The configured crawler. Cheap to clone; many crawls may run on it at once and share its
/// connections and `concurrency` limit. Any number of crawlers share the process's threads.
#[derive(Clone)]
pub struct Crawler {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Shared,
    /// The compiled extraction rules, handed to the parse stage with each page.
    extractor: Arc<Extractor>,
    /// Its runtime in this process while a crawl of it runs: its crawls hold it, and its
    /// connections close when the last one ends, whether or not this crawler is dropped.
    runtime: ForkLocal<Weak<Runtime>>,
    /// With `cookies`: the crawler's cookies, kept across the HTTP clients of its crawls.
    cookies: Option<Arc<Jar>>,
}

/// robots.txt files cached per crawler, at most.
const ROBOTS_CACHE: usize = 10_000;

impl Crawler {
    /// Validates the configuration and compiles its rules. No thread is started yet.
    pub fn new(config: Config) -> Result<Crawler, Error> {
        config.validate()?;
        let extractor = Arc::new(Extractor::new(&config)?);
        let cookies = config.cookies.then(Arc::default);
        let shared = Shared {
            scope: Arc::new(Scope::new(&config)?),
            robots: Arc::new(RobotsCache::new(&config.user_agent, ROBOTS_CACHE)),
            guard: Arc::new(AddressGuard::new(config.private_addresses)),
            budget: Arc::new(MemoryBudget::new(config.max_memory)),
            render_tabs: Arc::new(tokio::sync::Semaphore::new(config.render_tabs)),
            config: Arc::new(config),
        };
        Ok(Crawler {
            inner: Arc::new(Inner {
                shared,
                extractor,
                runtime: ForkLocal::new(),
                cookies,
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
        spawn_feeder("seeds", seeds.into_iter().map(Into::into), sender)?;
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
            Some(dir) => Some((
                journal::open(dir, config.resume, config.recrawl)?,
                VisitLog::open(dir, config.resume)?,
            )),
            None => None,
        };
        let revisits = match (&config.state_dir, config.recrawl) {
            (Some(dir), true) => Some(feed_revisits(visits::revisits(dir)?)?),
            _ => None,
        };
        let runtime = self.runtime()?;
        let counters = Arc::new(Counters::new());
        let (seed_tx, seed_rx) = mpsc::channel(SEED_CHANNEL);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (results_tx, results_rx) = crossbeam_channel::unbounded();
        let tokio = runtime.handle();
        let live = Arc::new(LiveStats::new(
            counters.clone(),
            self.inner.shared.budget.clone(),
            &runtime,
            crate::fetch::browser_for(config),
        ));
        let mut ctx = CrawlCtx::new(&self.inner.shared, counters, events_tx, results_tx);
        let leased = config.redis.is_some().then(|| {
            let _runtime = tokio.enter();
            let (agent, leased) = distributed::start_agent(
                config,
                ctx.guard.clone(),
                ctx.cancel.clone(),
                live.clone(),
            );
            ctx.agent = Some(agent);
            leased
        });
        let ctx = Arc::new(ctx);
        let mut crawl = Crawl::new(results_rx, ctx.clone(), live);
        let mut scheduler = Scheduler::new(
            ctx,
            runtime.clone(),
            self.inner.extractor.clone(),
            events_rx,
            seed_rx,
        );
        if let Some(leased) = leased {
            scheduler.set_shared_feed(leased);
        }
        if let Some(((journal, done, replay), visits)) = journal {
            crawl.set_logs(done, visits);
            scheduler.set_journal(journal, replay);
        }
        if let Some(revisits) = revisits {
            scheduler.set_revisits(revisits);
        }
        tokio.spawn(scheduler.run());
        Ok((crawl, seed_tx))
    }

    /// The crawler's runtime in this process: the running crawls' one, or a new one (after a
    /// fork too).
    fn runtime(&self) -> Result<Arc<Runtime>, Error> {
        let Inner {
            shared, cookies, ..
        } = &*self.inner;
        let current = |runtime: &mut Weak<Runtime>| {
            if let Some(running) = runtime.upgrade() {
                return Ok(running);
            }
            let built = Arc::new(Runtime::build(&shared.config, &shared.guard, cookies)?);
            *runtime = Arc::downgrade(&built);
            Ok(built)
        };
        self.inner
            .runtime
            .with(|| Ok::<_, Error>(Weak::new()), current)?
    }
}

/// Sends `requests` into a crawl's channel from a thread of their own (an iterator over
/// millions of URLs, or a file of them, is never collected).
fn spawn_feeder(
    what: &str,
    requests: impl Iterator<Item = Request> + Send + 'static,
    sender: mpsc::Sender<Request>,
) -> Result<(), Error> {
    std::thread::Builder::new()
        .name(format!("ucrawler-{what}"))
        .spawn(move || {
            for request in requests {
                if sender.blocking_send(request).is_err() {
                    break; // the crawl was cancelled or dropped
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Startup(format!("{what} thread: {e}")))
}

/// A recrawl's revisits, read into a channel for the scheduler.
fn feed_revisits(
    revisits: impl Iterator<Item = Request> + Send + 'static,
) -> Result<mpsc::Receiver<Request>, Error> {
    let (sender, receiver) = mpsc::channel(SEED_CHANNEL);
    spawn_feeder("revisits", revisits, sender)?;
    Ok(receiver)
}

//! [`TestSite`]: the server on its own thread and runtime, for sync and async tests alike.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

use crate::latency::{Delay, Latency};
use crate::log::{LoggedRequest, RequestLog};
use crate::server::serve_host;
use crate::site::Site;
use crate::{Changes, SiteConfig};

/// A running server; dropping it (or [`TestSite::shutdown`]) stops it and closes every
/// connection. It runs on its own std thread with its own tokio multi-thread runtime
/// (2 worker threads), so it works from sync tests and from inside another runtime.
pub struct TestSite {
    /// Where it listens: one address, or one per host of a many-host site.
    addrs: Vec<SocketAddr>,
    base_url: String,
    /// The first host's site.
    site: Arc<Site>,
    /// Each host's (hosts of one size share one, see [`host_sites`]).
    host_sites: Vec<Arc<Site>>,
    log: RequestLog,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestSite {
    /// Serves on `127.0.0.1` and an ephemeral port.
    pub fn start(config: SiteConfig) -> io::Result<TestSite> {
        TestSite::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config)
    }

    /// Serves on `addr`, e.g. `127.0.0.2:0` (Linux routes all of 127/8 to `lo`) or a fixed
    /// port.
    pub fn start_on(addr: SocketAddr, config: SiteConfig) -> io::Result<TestSite> {
        TestSite::start_all(vec![addr], config)
    }

    /// Serves `hosts` copies of the site, each on its own ephemeral port of `127.0.0.1` (to a
    /// crawler, `hosts` different sites: politeness, robots.txt and connections are per
    /// `host:port`), from one runtime. Links are relative, so each copy links only to itself.
    pub fn start_hosts(hosts: usize, config: SiteConfig) -> io::Result<TestSite> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        TestSite::start_all(vec![any; hosts.max(1)], config)
    }

    fn start_all(addrs: Vec<SocketAddr>, config: SiteConfig) -> io::Result<TestSite> {
        let log = RequestLog::new(config.log_requests);
        let latency = config.latency.clone();
        let host_sites = host_sites(&config, addrs.len());
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<Vec<SocketAddr>>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ucrawler-testsite".into())
            .spawn({
                let host_sites = host_sites.clone();
                let log = log.clone();
                move || run(addrs, host_sites, latency, log, ready_tx, stop_rx)
            })?;
        match ready_rx.recv() {
            Ok(Ok(addrs)) => Ok(TestSite {
                base_url: format!("http://{}", addrs[0]),
                addrs,
                site: Arc::clone(&host_sites[0]),
                host_sites,
                log,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(err)) => {
                let _ = thread.join();
                Err(err)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other("test site thread exited before binding"))
            }
        }
    }

    /// The bound address (the first host's, for a many-host site).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every host's `http://127.0.0.1:PORT` (one for a single site).
    pub fn base_urls(&self) -> Vec<String> {
        self.addrs.iter().map(|a| format!("http://{a}")).collect()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// `base_url() + path`.
    pub fn url(&self, path: &str) -> String {
        let mut url = String::with_capacity(self.base_url.len() + path.len());
        url.push_str(&self.base_url);
        url.push_str(path);
        url
    }

    /// The first host's site.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The site host number `host` serves (of [`Self::base_urls`]): the same as every other's,
    /// but for the `web` latency profile's slowest hosts ([`Latency::pages_of`]).
    pub fn site_of(&self, host: usize) -> &Site {
        &self.host_sites[host]
    }

    /// `site().expected_urls(&base_url(), depth)`: at the current generation.
    pub fn expected_urls(&self, depth: Option<u32>) -> BTreeSet<String> {
        self.site.expected_urls(&self.base_url, depth)
    }

    /// Every host's expected URLs (of [`Self::base_urls`], each from its own site).
    pub fn expected_urls_of_every_host(&self, depth: Option<u32>) -> BTreeSet<String> {
        let bases = self.base_urls();
        let each = bases.iter().enumerate();
        each.flat_map(|(host, base)| self.site_of(host).expected_urls(base, depth))
            .collect()
    }

    /// `site().expected_urls_at(&base_url(), depth, generation)`.
    pub fn expected_urls_at(&self, depth: Option<u32>, generation: u32) -> BTreeSet<String> {
        self.site
            .expected_urls_at(&self.base_url, depth, generation)
    }

    /// The generation served now.
    pub fn generation(&self) -> u32 {
        self.site.generation()
    }

    /// Serves `generation` from the next request on, on the same addresses (every host).
    ///
    /// # Panics
    /// If `generation > MAX_GENERATION`.
    pub fn set_generation(&self, generation: u32) {
        for site in &self.host_sites {
            site.set_generation(generation);
        }
    }

    /// `site().changes(&base_url(), from, to)`.
    pub fn changes(&self, from: u32, to: u32) -> Changes {
        self.site.changes(&self.base_url, from, to)
    }

    /// Requests received so far (all paths, hostile ones included).
    pub fn requests_served(&self) -> u64 {
        self.log.requests_served()
    }

    /// The recorded requests (empty unless `SiteConfig::log_requests`; at most
    /// [`crate::MAX_LOGGED`], the first ones), in order of completion.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.log.entries()
    }

    /// The shared log handle (e.g. to [`RequestLog::clear`] it between phases of a test).
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(self) {}
}

impl Drop for TestSite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for TestSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSite")
            .field("addrs", &self.addrs)
            .field("pages", &self.site.pages())
            .finish_non_exhaustive()
    }
}

/// The site each of `hosts` serves: one of `config.pages`, and a smaller one for hosts the
/// latency profile gives fewer pages ([`Latency::pages_of`]).
fn host_sites(config: &SiteConfig, hosts: usize) -> Vec<Arc<Site>> {
    let mut by_size: BTreeMap<usize, Arc<Site>> = BTreeMap::new();
    (0..hosts.max(1))
        .map(|host| {
            let pages = config.latency.pages_of(host, config.pages);
            let site = by_size.entry(pages).or_insert_with(|| {
                Arc::new(Site::new(SiteConfig {
                    pages,
                    ..config.clone()
                }))
            });
            Arc::clone(site)
        })
        .collect()
}

fn run(
    addrs: Vec<SocketAddr>,
    host_sites: Vec<Arc<Site>>,
    latency: Latency,
    log: RequestLog,
    ready: mpsc::Sender<io::Result<Vec<SocketAddr>>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ucrawler-testsite-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    runtime.block_on(async move {
        let listeners = match addrs.into_iter().map(bind).collect::<io::Result<Vec<_>>>() {
            Ok(listeners) => listeners,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let bound = listeners.iter().map(TcpListener::local_addr).collect();
        let _ = ready.send(bound);
        for (host, (listener, site)) in listeners.into_iter().zip(host_sites).enumerate() {
            let delay = Delay::new(&latency, host);
            tokio::spawn(serve_host(listener, site, Some(log.clone()), delay));
        }
        let _ = stop.await;
    });
    // Cancels every connection task (slow drips, endless bodies...).
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

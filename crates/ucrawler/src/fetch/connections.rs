//! Bounded connections: the crawler's open sockets stay under a descriptor budget whatever the
//! number of hosts, and running out of descriptors is back-pressure, never a lost page.
//!
//! - At start the soft `RLIMIT_NOFILE` is raised to the hard one (as servers do).
//! - Keep-alive is per host and short: at most `per_host` idle connections to a host (it never
//!   has more requests in flight from this crawler), closed after [`idle_timeout`].
//! - The budget is `min(2 × concurrency + 64, soft limit − 64 − the process's own)` descriptors
//!   on top of those the process had open before (an app's database sockets and log files),
//!   never less than `concurrency + 8`. Past half of it,
//!   a request asks the server to close its connection (`Connection: close`) unless more
//!   requests to its host are waiting right behind it: hosts that are done stop holding
//!   sockets, busy ones keep theirs. (The HTTP client's pool has no per-host handle to trim
//!   idle connections with; this is how finished hosts come to cost nothing.)
//! - A connect waits while the crawler's descriptors (sampled from `/proc/self/fd`) plus the
//!   connects under way would exceed the budget, until idle connections time out — 2 s at
//!   most: the budget paces the crawler, it never stalls it.
//! - Should `EMFILE` happen all the same (descriptors opened elsewhere in the process), the
//!   page is retried after a short pause without spending one of its `retries`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reqwest::Client;
use tower::{Layer, Service};

use crate::config::Config;
use crate::error::Error;
use crate::stats::DescriptorStats;

/// Descriptors kept out of the budget for everything else (files, the runtime, the journal).
const RESERVE: u64 = 64;
/// How often `/proc/self/fd` is read, at most: reading it costs ~0.2 µs per open descriptor,
/// so it is sampled, never read per connect (a profile of 2,000 hosts found 17 % of the CPU in
/// it when every waiting connect forced a fresh read).
const SAMPLE_EVERY: Duration = Duration::from_millis(25);
/// `sampled_at` before the first look at `/proc/self/fd`.
const RESAMPLE: u64 = u64::MAX;
/// The longest a connect waits for the budget.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// How long a connect waits before looking again while over the budget.
const WAIT: Duration = Duration::from_millis(10);

/// How long an idle connection is kept: long enough for the host's next request when it has
/// more to fetch (twice its `delay`), short enough that a host that is done soon costs nothing.
pub(crate) fn idle_timeout(config: &Config) -> Duration {
    (config.delay * 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit now in force
/// (`None` where it cannot be read).
fn raise_descriptor_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!("cannot read or raise the open-files limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// Open descriptors of this process, where the system tells (Linux).
fn open_descriptors() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as u64)
}

/// The descriptor budget, shared by the client's connector layer and [`Connections`].
#[derive(Debug)]
pub(crate) struct DescriptorBudget {
    /// Descriptors the process had open before the crawler made any connection (the app's own:
    /// a Rails process holds database sockets, log files…); the budget is on top of them.
    baseline: u64,
    /// The crawler's share: open descriptors beyond `baseline` it may take.
    limit: u64,
    /// Connects under way (their sockets may not show in `/proc` yet).
    connecting: AtomicUsize,
    /// The last sample of open descriptors, and when it was taken (ms since `epoch`).
    sampled: AtomicU64,
    sampled_at: AtomicU64,
    epoch: Instant,
    /// Connects that had to wait for the budget.
    waits: AtomicU64,
}

impl DescriptorBudget {
    fn new(config: &Config) -> Arc<Self> {
        let soft = raise_descriptor_limit().unwrap_or(1024);
        let baseline = open_descriptors().unwrap_or(0);
        let wanted = 2 * config.concurrency as u64 + RESERVE;
        let room = soft.saturating_sub(baseline + RESERVE);
        Arc::new(Self {
            baseline,
            // Never below what `concurrency` needs in flight: past the hard limit, EMFILE is
            // back-pressure anyway.
            limit: wanted.min(room).max(config.concurrency as u64 + 8),
            connecting: AtomicUsize::new(0),
            sampled: AtomicU64::new(0),
            sampled_at: AtomicU64::new(RESAMPLE),
            epoch: Instant::now(),
            waits: AtomicU64::new(0),
        })
    }

    /// Open descriptors, sampled at most every `SAMPLE_EVERY`.
    fn open(&self) -> u64 {
        let now = self.epoch.elapsed().as_millis() as u64;
        let at = self.sampled_at.load(Ordering::Relaxed);
        if (at == RESAMPLE || now.saturating_sub(at) >= SAMPLE_EVERY.as_millis() as u64)
            && self
                .sampled_at
                .compare_exchange(at, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            if let Some(open) = open_descriptors() {
                self.sampled.store(open, Ordering::Relaxed);
            }
        }
        self.sampled.load(Ordering::Relaxed)
    }

    /// The crawler's descriptors now (those opened beyond the baseline).
    fn used(&self) -> u64 {
        self.open().saturating_sub(self.baseline)
    }

    pub fn stats(&self) -> DescriptorStats {
        DescriptorStats {
            open: self.open(),
            budget: self.baseline + self.limit,
            waits: self.waits.load(Ordering::Relaxed),
        }
    }

    /// Whether connections should be let go after their request (past half the budget).
    fn under_pressure(&self) -> bool {
        self.used() * 2 >= self.limit
    }

    /// Waits until one more connection fits in the budget, for `MAX_WAIT` at most (the budget
    /// paces the crawler; it must never stall it, say when the app around it opens files of
    /// its own). The returned guard counts the connect until it ends.
    async fn admit(self: Arc<Self>) -> Connecting {
        let mut waited = false;
        let give_up = Instant::now() + MAX_WAIT;
        loop {
            let connecting = self.connecting.fetch_add(1, Ordering::AcqRel) as u64;
            if self.used() + connecting < self.limit || Instant::now() >= give_up {
                return Connecting(self);
            }
            self.connecting.fetch_sub(1, Ordering::AcqRel);
            if !waited {
                waited = true;
                self.waits.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(WAIT).await;
        }
    }
}

/// A connect under way.
struct Connecting(Arc<DescriptorBudget>);

impl Drop for Connecting {
    fn drop(&mut self) {
        self.0.connecting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connector layer that holds each new connection to the budget.
#[derive(Clone)]
pub(crate) struct BudgetLayer(Arc<DescriptorBudget>);

impl<S> Layer<S> for BudgetLayer {
    type Service = BudgetedConnect<S>;

    fn layer(&self, inner: S) -> BudgetedConnect<S> {
        BudgetedConnect {
            inner,
            budget: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct BudgetedConnect<S> {
    inner: S,
    budget: Arc<DescriptorBudget>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> Service<R> for BudgetedConnect<S>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The service polled ready is the one to call (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let budget = self.budget.clone();
        Box::pin(async move {
            let connecting = budget.admit().await;
            let connected = inner.call(request).await;
            drop(connecting);
            connected
        })
    }
}

/// The HTTP client and its descriptor budget (see the module docs).
pub(crate) struct Connections {
    budget: Arc<DescriptorBudget>,
    client: Client,
}

impl Connections {
    /// `build` makes the client with the given connector layer (in a runtime context).
    pub fn new(
        config: &Config,
        build: impl FnOnce(BudgetLayer) -> Result<Client, Error>,
    ) -> Result<Self, Error> {
        let budget = DescriptorBudget::new(config);
        let client = build(BudgetLayer(budget.clone()))?;
        Ok(Self { budget, client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether a request to a host with nothing waiting behind it should close its connection.
    pub fn close_when_idle(&self) -> bool {
        self.budget.under_pressure()
    }

    /// The budget, for stats that outlive the client.
    pub fn budget(&self) -> &Arc<DescriptorBudget> {
        &self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeout_follows_the_delay_within_bounds() {
        let mut config = Config::default();
        assert_eq!(idle_timeout(&config), Duration::from_secs(1));
        config.delay = Duration::from_secs(3);
        assert_eq!(idle_timeout(&config), Duration::from_secs(6));
        config.delay = Duration::from_secs(600);
        assert_eq!(idle_timeout(&config), Duration::from_secs(30));
    }

    #[test]
    fn the_budget_fits_under_the_descriptor_limit() {
        let config = Config::default();
        let budget = DescriptorBudget::new(&config);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert!(budget.baseline + budget.limit <= soft - RESERVE);
        assert!(budget.limit <= 2 * config.concurrency as u64 + RESERVE);
        assert!(budget.limit > config.concurrency as u64);
        assert!(
            open_descriptors().unwrap() > 2,
            "stdin, stdout, stderr at least"
        );
    }

    #[tokio::test]
    async fn a_connect_over_budget_waits() {
        let budget = Arc::new(DescriptorBudget {
            baseline: 0,
            limit: 1, // this test process has more open already
            connecting: AtomicUsize::new(0),
            sampled: AtomicU64::new(0),
            sampled_at: AtomicU64::new(RESAMPLE),
            epoch: Instant::now(),
            waits: AtomicU64::new(0),
        });
        let waited = tokio::time::timeout(Duration::from_millis(100), budget.clone().admit());
        assert!(waited.await.is_err(), "admitted over the budget");
        assert!(budget.under_pressure());
        assert_eq!(budget.waits.load(Ordering::Acquire), 1);
        assert_eq!(budget.connecting.load(Ordering::Acquire), 0);
        // It paces, never stalls: after MAX_WAIT the connect goes ahead.
        let started = Instant::now();
        drop(budget.clone().admit().await);
        assert!(started.elapsed() >= MAX_WAIT, "{:?}", started.elapsed());
        assert_eq!(budget.connecting.load(Ordering::Acquire), 0);
    }
}

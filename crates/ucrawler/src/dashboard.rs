//! The operators' dashboard's data: one JSON overview of the crawls running in this process and
//! of every shared crawl under a Redis prefix (counts, state, workers alive from their
//! heartbeats, the last hour's pages and errors, error samples, busiest and paused hosts), and
//! the actions on a shared crawl (pause, resume, cancel, requeue its failed requests). The
//! gem's `UcrawlerNative::Web` and `ucrawler dashboard` both serve what this returns, so they
//! show the same thing; the API is described in the README ("Dashboard").
//!
//! Calls block (the dashboard owns a small runtime, again in a forked child) and never wait on
//! Redis longer than their timeout: an unreachable Redis is reported in the overview, not
//! waited for.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::config::Config;
use crate::distributed::{Control, RedisFrontier, RedisFrontierError, RedisOptions};
use crate::error::ConfigError;
use crate::fork_local::ForkLocal;
use crate::stats::Stats;
use crate::url::redact_password;

/// How long a dashboard call waits for Redis, at most.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(3);
/// After a call timed out, calls fail at once for this long.
pub const DOWN_FOR: Duration = Duration::from_secs(5);
/// Shared crawls shown, at most (by name).
pub const MAX_SHOWN_CRAWLS: usize = 200;

/// What can be done to a shared crawl from the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Cancel,
    RequeueFailed,
}

impl FromStr for Action {
    type Err = DashboardError;

    fn from_str(s: &str) -> Result<Self, DashboardError> {
        match s {
            "pause" => Ok(Action::Pause),
            "resume" => Ok(Action::Resume),
            "cancel" => Ok(Action::Cancel),
            "requeue_failed" => Ok(Action::RequeueFailed),
            other => Err(DashboardError::UnknownAction(other.to_string())),
        }
    }
}

/// Why a dashboard action was not done.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("no Redis configured")]
    NoRedis,
    #[error("no crawl named {name:?} under prefix {prefix:?}")]
    UnknownCrawl { name: String, prefix: String },
    #[error("unknown action {0:?} (pause, resume, cancel or requeue_failed)")]
    UnknownAction(String),
    #[error("Redis at {address} did not answer within {timeout:?}")]
    TimedOut { address: String, timeout: Duration },
    #[error("tokio runtime: {0}")]
    Runtime(String),
    #[error("{0} (not asked again for a few seconds)")]
    Down(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Redis(#[from] RedisFrontierError),
}

impl DashboardError {
    /// Not found (an unknown crawl, or no Redis to find it in), as opposed to a failure.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            DashboardError::NoRedis | DashboardError::UnknownCrawl { .. }
        )
    }
}

/// The dashboard of one process: its own crawls (given with each call) and, with a Redis, the
/// shared crawls under one prefix.
pub struct Dashboard {
    redis: Option<Fleet>,
}

/// The frontiers of the crawls named under the prefix, by name.
type Frontiers = Arc<Mutex<HashMap<String, RedisFrontier>>>;

/// The shared crawls' side: a frontier per crawl name, on this process's runtime (one thread
/// of its own, so requests do not wait on each other).
struct Fleet {
    url: String,
    prefix: String,
    state: ForkLocal<(tokio::runtime::Runtime, Frontiers)>,
    /// After a call timed out: until when (and why) calls fail at once instead of waiting
    /// again, so a page polling a dead Redis does not hold a server thread per poll.
    down: Mutex<Option<(Instant, String)>>,
}

impl Dashboard {
    /// A dashboard over `redis` (a URL; `None`: this process's crawls only) and its `prefix`.
    /// The URL and prefix are checked, nothing is connected yet.
    pub fn new(redis: Option<&str>, prefix: &str) -> Result<Self, DashboardError> {
        let redis = match redis {
            None => None,
            Some(url) => {
                // Checked as a worker's options are (the same messages).
                Config::builder()
                    .redis(url.to_string(), "dashboard".to_string())
                    .redis_prefix(prefix.to_string())
                    .build()?;
                Some(Fleet {
                    url: url.to_string(),
                    prefix: prefix.to_string(),
                    state: ForkLocal::new(),
                    down: Mutex::new(None),
                })
            }
        };
        Ok(Self { redis })
    }

    /// The process's dashboard over (`redis`, `prefix`), made on first use and kept, so its
    /// connections serve every request (the gem's Rack app asks for it on each one).
    pub fn shared(redis: Option<&str>, prefix: &str) -> Result<Arc<Dashboard>, DashboardError> {
        type Key = (Option<String>, String);
        static DASHBOARDS: OnceLock<Mutex<HashMap<Key, Arc<Dashboard>>>> = OnceLock::new();
        let mut dashboards =
            (DASHBOARDS.get_or_init(Default::default).lock()).unwrap_or_else(|p| p.into_inner());
        let key = (redis.map(str::to_string), prefix.to_string());
        if let Some(dashboard) = dashboards.get(&key) {
            return Ok(dashboard.clone());
        }
        let dashboard = Arc::new(Dashboard::new(redis, prefix)?);
        dashboards.insert(key, dashboard.clone());
        Ok(dashboard)
    }

    /// The overview (see the module docs); `local`: this process's crawls, named.
    pub fn overview(&self, local: &[(&str, Stats)]) -> Value {
        let local: Vec<Value> = (local.iter())
            .map(|(name, stats)| json!({"name": name, "stats": stats, "history": stats.history}))
            .collect();
        let (redis, shared) = match &self.redis {
            None => (Value::Null, Vec::new()),
            Some(fleet) => match fleet.run(async |calls: &FleetCalls<'_>| calls.views().await) {
                Ok(shared) => (fleet.describe(None), shared),
                Err(error) => (fleet.describe(Some(&error)), Vec::new()),
            },
        };
        json!({
            "generated_at": unix_now(),
            "redis": redis,
            "local": local,
            "shared": shared,
        })
    }

    /// Does `action` to the shared crawl `name`; returns what the API answers.
    pub fn act(&self, name: &str, action: Action) -> Result<Value, DashboardError> {
        let fleet = self.redis.as_ref().ok_or(DashboardError::NoRedis)?;
        fleet.run(async |calls: &FleetCalls<'_>| calls.act(name, action).await)
    }
}

impl Fleet {
    fn describe(&self, error: Option<&DashboardError>) -> Value {
        json!({
            "url": redact_password(&self.url),
            "prefix": self.prefix,
            "reachable": error.is_none(),
            "error": error.map(ToString::to_string),
        })
    }

    /// Runs `op` on this process's runtime within [`REDIS_TIMEOUT`] (at once failing again for
    /// [`DOWN_FOR`] after a timeout).
    fn run<T>(
        &self,
        op: impl AsyncFnOnce(&FleetCalls<'_>) -> Result<T, DashboardError>,
    ) -> Result<T, DashboardError> {
        if let Some((until, why)) = &*self.down.lock().unwrap_or_else(|p| p.into_inner()) {
            if Instant::now() < *until {
                return Err(DashboardError::Down(why.clone()));
            }
        }
        let start = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ucrawler-dashboard")
                .enable_all()
                .build()
                .map(|runtime| (runtime, Frontiers::default()))
                .map_err(|e| DashboardError::Runtime(e.to_string()))
        };
        // The runtime's handle and the frontiers are taken out: requests run side by side.
        let (handle, frontiers) = (self.state).with(start, |(runtime, frontiers)| {
            (runtime.handle().clone(), frontiers.clone())
        })?;
        let calls = FleetCalls {
            fleet: self,
            frontiers: &frontiers,
        };
        let result = handle.block_on(async {
            match tokio::time::timeout(REDIS_TIMEOUT, op(&calls)).await {
                Ok(result) => result,
                Err(_) => Err(DashboardError::TimedOut {
                    address: redact_password(&self.url),
                    timeout: REDIS_TIMEOUT,
                }),
            }
        });
        if let Err(error @ DashboardError::TimedOut { .. }) = &result {
            let down = (Instant::now() + DOWN_FOR, error.to_string());
            *self.down.lock().unwrap_or_else(|p| p.into_inner()) = Some(down);
        }
        result
    }
}

/// The calls of one dashboard request, on the process's frontiers.
struct FleetCalls<'a> {
    fleet: &'a Fleet,
    frontiers: &'a Frontiers,
}

impl FleetCalls<'_> {
    fn frontier(&self, name: &str) -> Result<RedisFrontier, DashboardError> {
        let mut frontiers = self.frontiers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(frontier) = frontiers.get(name) {
            return Ok(frontier.clone());
        }
        let frontier = RedisFrontier::lazy(&self.fleet.url, name, options(&self.fleet.prefix))?;
        frontiers.insert(name.to_string(), frontier.clone());
        Ok(frontier)
    }

    /// Every shared crawl under the prefix that still has keys.
    /// A crawl whose keys are broken (a wrong type) is left out and logged, not the list.
    async fn views(&self) -> Result<Vec<Value>, DashboardError> {
        let names = self.frontier("dashboard")?.crawl_names().await?;
        let mut views = Vec::new();
        for name in names.iter().take(MAX_SHOWN_CRAWLS) {
            let Ok(frontier) = self.frontier(name) else {
                continue; // not a valid name: written by something else
            };
            let view = async {
                match frontier.exists().await? {
                    true => frontier.view().await.map(Some),
                    false => Ok(None),
                }
            };
            match view.await {
                Ok(Some(view)) => views.push(view),
                Ok(None) => {}
                Err(
                    e @ RedisFrontierError::WrongType { .. }
                    | e @ RedisFrontierError::Corrupt { .. },
                ) => {
                    tracing::warn!("dashboard: crawl {name} left out: {e}");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(views)
    }

    async fn act(&self, name: &str, action: Action) -> Result<Value, DashboardError> {
        let unknown = || DashboardError::UnknownCrawl {
            name: name.to_string(),
            prefix: self.fleet.prefix.clone(),
        };
        // Listed first: a name nobody registered creates nothing here.
        let listed = self.frontier("dashboard")?.crawl_names().await?;
        if !listed.iter().any(|n| n == name) {
            return Err(unknown());
        }
        let frontier = self.frontier(name).map_err(|_| unknown())?;
        if !frontier.exists().await? {
            return Err(unknown());
        }
        let (control, state) = match action {
            Action::RequeueFailed => {
                let requeued = frontier.requeue_failed().await?;
                return Ok(json!({"ok": true, "crawl": name, "requeued": requeued}));
            }
            Action::Pause => (Control::Paused, "paused"),
            Action::Resume => (Control::Running, "running"),
            Action::Cancel => (Control::Cancelled, "cancelled"),
        };
        frontier.set_control(control).await?;
        Ok(json!({"ok": true, "crawl": name, "state": state}))
    }
}

fn options(prefix: &str) -> RedisOptions {
    RedisOptions {
        prefix: prefix.to_string(),
        ..RedisOptions::default()
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

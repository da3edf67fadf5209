//! Oversight of a shared crawl: workers' heartbeats (what each one is doing, its pages and errors
//! bucketed over the last hour, samples of its failures), the dashboard's control (pause,
//! resume, cancel: workers read it with every heartbeat), the failed requests it requeues, and
//! the view of all that it reads.

use serde_json::{json, Map, Value};

use super::super::client::Call;
use super::super::scripts::SCRIPTS;
use super::super::Result;
use super::{status_of, RedisFrontier};

/// Width of a history bucket (the same as a local crawl's), and buckets kept (an hour).
pub use crate::stats::HISTORY_BUCKET_SECS;
const HISTORY_BUCKETS: u64 = 360;
/// Error samples kept per crawl (newest).
pub const MAX_CRAWL_ERROR_SAMPLES: usize = 50;
/// A worker whose last heartbeat is older than this is not shown as alive.
pub const WORKER_ALIVE_SECS: f64 = 15.0;
/// Failed requests queued again per call.
const REQUEUE_BATCH: usize = 1000;

/// One HSCAN reply: the next cursor and (field, count) pairs.
type HashScan = (u64, Vec<(String, u64)>);

/// What the dashboard asks of a shared crawl's workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Running,
    /// Workers take no new leases (what they hold is crawled).
    Paused,
    /// Workers end their crawl (giving back what they leased).
    Cancelled,
}

impl Control {
    fn as_str(self) -> &'static str {
        match self {
            Control::Running => "",
            Control::Paused => "paused",
            Control::Cancelled => "cancelled",
        }
    }

    fn parse(value: &str) -> Control {
        match value {
            "paused" => Control::Paused,
            "cancelled" => Control::Cancelled,
            _ => Control::Running,
        }
    }
}

/// One worker's heartbeat: its state (JSON, shown as it is) and what happened since its last one.
#[derive(Debug, Default)]
pub struct Beat {
    pub worker: String,
    pub state: Value,
    pub pages: u64,
    pub errors: u64,
    pub error_kinds: Vec<(String, u64)>,
    /// Failures since the last beat (JSON objects), oldest first.
    pub samples: Vec<Value>,
}

impl RedisFrontier {
    /// Records a worker's heartbeat; returns what the dashboard asks of the crawl's workers.
    pub async fn heartbeat(&self, beat: &Beat) -> Result<Control> {
        let keys = &self.inner.keys;
        let kinds: Vec<String> = (beat.error_kinds.iter())
            .map(|(kind, n)| format!("{kind}={n}"))
            .collect();
        let mut invocation = SCRIPTS.heartbeat.prepare_invoke();
        invocation
            .key(&keys.workers)
            .key(&keys.beats)
            .key(&keys.history)
            .key(&keys.errors)
            .key(&keys.error_kinds)
            .key(&keys.control)
            .arg(&beat.worker)
            .arg(beat.state.to_string())
            .arg(HISTORY_BUCKET_SECS)
            .arg(HISTORY_BUCKETS)
            .arg(beat.pages)
            .arg(beat.errors)
            .arg(kinds.join(" "))
            .arg(MAX_CRAWL_ERROR_SAMPLES);
        for sample in &beat.samples {
            invocation.arg(sample.to_string());
        }
        let control: String = self
            .inner
            .conn
            .run("heartbeat", Call::Script(&invocation))
            .await?;
        Ok(Control::parse(&control))
    }

    /// What the dashboard asks of the crawl's workers now.
    pub async fn control(&self) -> Result<Control> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(&self.inner.keys.control);
        let value: Option<String> = self.inner.conn.run("control", Call::Cmd(&cmd)).await?;
        Ok(Control::parse(value.as_deref().unwrap_or_default()))
    }

    /// Asks the crawl's workers to pause, resume or stop (they obey within a heartbeat).
    pub async fn set_control(&self, control: Control) -> Result<()> {
        let mut cmd = match control {
            Control::Running => redis::cmd("DEL"),
            _ => redis::cmd("SET"),
        };
        cmd.arg(&self.inner.keys.control);
        if control != Control::Running {
            cmd.arg(control.as_str());
        }
        self.inner
            .conn
            .run("set_control", Call::Cmd(&cmd))
            .await
            .map(|_: redis::Value| ())
    }

    /// Queues the crawl's failed requests again (the newest `MAX_FAILED_ITEMS` are kept),
    /// counting them out of `failed`, a batch per atomic script. Returns how many.
    pub async fn requeue_failed(&self) -> Result<u64> {
        let keys = &self.inner.keys;
        let mut requeued = 0;
        loop {
            let mut invocation = SCRIPTS.requeue_failed.prepare_invoke();
            invocation
                .key(&keys.failed_items)
                .key(&keys.counters)
                .key(&keys.pending)
                .arg(REQUEUE_BATCH);
            let moved: u64 = self
                .inner
                .conn
                .run("requeue_failed", Call::Script(&invocation))
                .await?;
            requeued += moved;
            if moved < REQUEUE_BATCH as u64 {
                return Ok(requeued);
            }
        }
    }

    /// Whether the crawl exists in Redis (something was ever queued in it).
    pub async fn exists(&self) -> Result<bool> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(&self.inner.keys.counters);
        let n: u64 = self.inner.conn.run("exists", Call::Cmd(&cmd)).await?;
        Ok(n > 0)
    }

    /// The crawl as the dashboard shows it (see the dashboard's API): counts, state, workers
    /// alive, history, errors.
    pub async fn view(&self) -> Result<Value> {
        let conn = &self.inner.conn;
        let keys = &self.inner.keys;
        let status = status_of(conn, keys).await?;
        let mut pipe = redis::pipe();
        pipe.cmd("TIME")
            .cmd("GET")
            .arg(&keys.control)
            .cmd("HGETALL")
            .arg(&keys.workers)
            .cmd("HGETALL")
            .arg(&keys.beats)
            .cmd("HGETALL")
            .arg(&keys.history)
            .cmd("LRANGE")
            .arg(&keys.errors)
            .arg(0)
            .arg(MAX_CRAWL_ERROR_SAMPLES - 1)
            .cmd("HGETALL")
            .arg(&keys.error_kinds);
        type Read = (
            (u64, u64),
            Option<String>,
            Vec<(String, String)>,
            Vec<(String, u64)>,
            Vec<(String, u64)>,
            Vec<String>,
            Vec<(String, u64)>,
        );
        let (time, control, workers, beats, history, errors, kinds): Read =
            conn.run("view", Call::Pipe(&pipe)).await?;
        let now = time.0 as f64 + time.1 as f64 / 1e6;
        let beats: Map<String, Value> = beats
            .into_iter()
            .map(|(id, at)| (id, json!(at as f64 / 1000.0)))
            .collect();
        let mut alive = Vec::new();
        for (id, state) in workers {
            let Some(at) = beats.get(&id).and_then(Value::as_f64) else {
                continue;
            };
            if now - at > WORKER_ALIVE_SECS {
                continue;
            }
            let mut worker = serde_json::from_str::<Value>(&state).unwrap_or_else(|_| json!({}));
            if let Some(fields) = worker.as_object_mut() {
                fields.insert("id".into(), json!(id));
                fields.insert("last_heartbeat".into(), json!(at));
                fields.insert("age".into(), json!((now - at).max(0.0)));
            }
            alive.push(worker);
        }
        alive.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let history = history_points(history);
        let since = now as u64 - 60;
        let last_minute: u64 = (history.iter())
            .filter(|p| p["t"].as_u64().is_some_and(|t| t >= since))
            .map(|p| p["pages"].as_u64().unwrap_or(0))
            .sum();
        let control = Control::parse(control.as_deref().unwrap_or_default());
        let finished = status.pending == 0 && status.leased == 0 && status.queued > 0;
        let state = match control {
            Control::Paused => "paused",
            Control::Cancelled => "cancelled",
            Control::Running if finished => "finished",
            Control::Running if !alive.is_empty() => "running",
            Control::Running => "idle",
        };
        let (mut busiest, mut paused) = merged_hosts(&alive);
        let over_budget = self.budget_use(&mut busiest, &mut paused).await?;
        Ok(json!({
            "name": self.name(),
            "state": state,
            "pending": status.pending,
            "leased": status.leased,
            "done": status.done,
            "failed": status.failed,
            "seen": status.seen,
            "queued": status.queued,
            "over_host_budget": status.over_host_budget,
            "pages_per_sec": last_minute as f64 / 60.0,
            "workers": alive,
            "history": history,
            "errors_by_kind": kinds.into_iter().map(|(k, n)| (k, json!(n))).collect::<Map<String, Value>>(),
            "recent_errors": errors
                .iter()
                .filter_map(|e| serde_json::from_str::<Value>(e).ok())
                .collect::<Vec<_>>(),
            "busiest_hosts": busiest,
            "paused_hosts": paused,
            "over_budget_hosts": over_budget,
        }))
    }

    /// With `max_pages_per_host`: each listed host's budget spent (`budget_used`: requests
    /// queued), and the hosts that dropped the most requests over it (at most 10, from a
    /// sample of the hash: it has a field per host).
    async fn budget_use(&self, busiest: &mut [Value], paused: &mut [Value]) -> Result<Vec<Value>> {
        let keys = &self.inner.keys;
        let listed: Vec<String> = (busiest.iter().chain(paused.iter()))
            .filter_map(|h| h["host"].as_str().map(str::to_string))
            .collect();
        let mut pipe = redis::pipe();
        pipe.cmd("HSCAN")
            .arg(&keys.over_budget)
            .arg(0)
            .arg("COUNT")
            .arg(1000);
        if !listed.is_empty() {
            pipe.cmd("HMGET").arg(&keys.host_pages).arg(&listed);
        }
        let (scan, used): (HashScan, Vec<Option<u64>>) = if listed.is_empty() {
            let (scan,): (HashScan,) = self.inner.conn.run("budget_use", Call::Pipe(&pipe)).await?;
            (scan, Vec::new())
        } else {
            self.inner.conn.run("budget_use", Call::Pipe(&pipe)).await?
        };
        for (host, used) in (busiest.iter_mut().chain(paused.iter_mut())).zip(used) {
            if let (Some(fields), Some(used)) = (host.as_object_mut(), used) {
                fields.insert("budget_used".into(), json!(used));
            }
        }
        let mut over = scan.1;
        over.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok((over.into_iter().take(10))
            .map(|(host, dropped)| json!({"host": host, "dropped": dropped}))
            .collect())
    }
}

/// `p:<t>` / `e:<t>` fields → `[{t, pages, errors}]`, oldest first.
fn history_points(fields: Vec<(String, u64)>) -> Vec<Value> {
    let mut points = std::collections::BTreeMap::<u64, (u64, u64)>::new();
    for (field, n) in fields {
        let Some((kind, t)) = field.split_once(':') else {
            continue;
        };
        let Ok(t) = t.parse::<u64>() else { continue };
        let point = points.entry(t).or_default();
        match kind {
            "p" => point.0 += n,
            "e" => point.1 += n,
            _ => {}
        }
    }
    (points.into_iter())
        .map(|(t, (pages, errors))| json!({"t": t, "pages": pages, "errors": errors}))
        .collect()
}

/// The busiest and the paused hosts over all workers (in flight summed, the longest wait).
fn merged_hosts(workers: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let mut busy = std::collections::HashMap::<String, u64>::new();
    let mut paused = std::collections::HashMap::<String, f64>::new();
    for worker in workers {
        for host in worker["hosts_busy"].as_array().into_iter().flatten() {
            if let Some(name) = host["host"].as_str() {
                *busy.entry(name.to_string()).or_default() +=
                    host["in_flight"].as_u64().unwrap_or(0);
            }
        }
        for host in worker["hosts_paused"].as_array().into_iter().flatten() {
            if let Some(name) = host["host"].as_str() {
                let seconds = host["seconds"].as_f64().unwrap_or(0.0);
                let entry = paused.entry(name.to_string()).or_default();
                *entry = entry.max(seconds);
            }
        }
    }
    let mut busy: Vec<(String, u64)> = busy.into_iter().collect();
    busy.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut paused: Vec<(String, f64)> = paused.into_iter().collect();
    paused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (
        (busy.into_iter().take(10))
            .map(|(host, n)| json!({"host": host, "in_flight": n}))
            .collect(),
        (paused.into_iter().take(10))
            .map(|(host, s)| json!({"host": host, "seconds": s}))
            .collect(),
    )
}

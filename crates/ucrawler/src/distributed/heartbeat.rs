//! What a worker tells the fleet about itself with every heartbeat (every [`HEARTBEAT`]): its
//! state now (pages, rate, resident memory, `max_memory` used by part, fetch window, requests
//! in flight, its busiest and paused hosts) and what happened since the last one (pages, errors
//! by kind, samples of failures), for the dashboard.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::redis::Beat;
use crate::stats::StatsSource;

/// How often a worker sends its heartbeat (and reads the dashboard's control).
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Hosts listed per worker, busiest and paused.
const TOP_HOSTS: usize = 10;

/// Builds a worker's heartbeats, each relative to the last.
pub(crate) struct Heartbeats {
    worker: String,
    started_at: f64,
    pages: u64,
    errors: u64,
    errors_by_kind: BTreeMap<String, u64>,
    /// The newest error sample already sent.
    sampled_until: f64,
}

impl Heartbeats {
    pub fn new(worker: &str) -> Self {
        Self {
            worker: worker.to_string(),
            started_at: unix_now(),
            pages: 0,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            sampled_until: 0.0,
        }
    }

    /// The next beat. `paused`: the dashboard paused the crawl and this worker obeys.
    pub fn next(&mut self, live: &dyn StatsSource, paused: bool) -> Beat {
        let stats = live.stats();
        let hosts = live.hosts(TOP_HOSTS);
        let state = json!({
            "host": hostname(),
            "pid": std::process::id(),
            "started_at": self.started_at,
            "pages": stats.pages,
            "errors": stats.errors,
            "pages_per_sec": stats.pages_per_sec,
            "rss": resident_bytes(),
            // With `render`: the process's browser tree, outside `max_memory` (`render_memory`).
            "browser_rss": stats.render.browser_rss_bytes,
            "memory": stats.memory,
            "fetch_window": stats.fetch_window,
            "in_flight": stats.in_flight,
            "paused": paused,
            "hosts_busy": (hosts.busiest.iter())
                .map(|(host, n)| json!({"host": host, "in_flight": n}))
                .collect::<Vec<_>>(),
            "hosts_paused": (hosts.paused_hosts.iter())
                .map(|(host, wait)| json!({"host": host, "seconds": wait.as_secs_f64()}))
                .collect::<Vec<_>>(),
        });
        let error_kinds = (stats.errors_by_kind.iter())
            .filter_map(|(kind, &n)| {
                let before = self.errors_by_kind.get(kind).copied().unwrap_or(0);
                (n > before).then(|| (kind.clone(), n - before))
            })
            .collect();
        let mut samples: Vec<Value> = (stats.recent_errors.iter())
            .filter(|sample| sample.at > self.sampled_until)
            .map(|sample| {
                json!({"at": sample.at, "url": sample.url, "kind": sample.kind,
                       "message": sample.message, "worker": self.worker})
            })
            .collect();
        samples.reverse(); // oldest first: the newest ends up at the head of the list
        if let Some(newest) = stats.recent_errors.first() {
            self.sampled_until = self.sampled_until.max(newest.at);
        }
        let beat = Beat {
            worker: self.worker.clone(),
            state,
            pages: stats.pages.saturating_sub(self.pages),
            errors: stats.errors.saturating_sub(self.errors),
            error_kinds,
            samples,
        };
        self.pages = stats.pages;
        self.errors = stats.errors;
        self.errors_by_kind = stats.errors_by_kind;
        beat
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".to_string())
}

/// This process's resident memory (VmRSS), 0 where the system does not tell.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status.lines())
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

//! A crawl frontier shared through Redis, so that many `ucrawler worker` processes on many
//! machines crawl one crawl together: each takes *leases* on queued requests, crawls them and
//! acknowledges them; a worker that dies loses its leases after `lease_timeout` and another one
//! crawls those requests again. The seen set lives in Redis too, so a URL is queued once per
//! crawl whoever discovers it. Fleet-wide per-host politeness (`acquire_host`/`release_host`)
//! is here as well, because it must be shared by the same processes.
//!
//! Requires Redis ≥ 5 (scripts that call `TIME` and then write rely on effects replication).
//!
//! # Worker protocol
//!
//! ```text
//! loop {
//!     leased = take(n)                      // leases: deadline = Redis TIME + lease_timeout
//!     every lease_timeout / 3: extend(leases still being crawled)
//!     for each leased page: crawl it, push(its links), THEN ack(lease, Done | Failed)
//!     if leased is empty and is_finished(): stop
//! }
//! ```
//!
//! Links are pushed *before* their page is acknowledged, so while any page's links are not yet
//! queued that page is still leased. Hence "nothing pending, nothing leased, and something was
//! queued once" (`is_finished`) means the crawl is over: no worker can queue anything any more.
//! An expired lease still counts as leased until a `take` moves it back to pending, so a crash
//! delays the end of the crawl by `lease_timeout`, never ends it early.
//!
//! # Keys
//!
//! Every key of crawl `NAME` starts with `{prefix}:{NAME}:` — `{NAME}` is a Redis Cluster hash
//! tag, so a crawl lives in one slot and its scripts may touch all its keys. (Name and prefix
//! may not contain braces or whitespace.)
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}:{NAME}:pending` | LIST | encoded items waiting, oldest first (`take` pops the head) |
//! | `{prefix}:{NAME}:leases` | ZSET | member `"<lease id>:<item>"` → deadline (ms since the epoch, Redis clock) |
//! | `{prefix}:{NAME}:reclaimed` | SET of integers | ids of leases that expired and were requeued, until their late `ack` |
//! | `{prefix}:{NAME}:seen:<0..65535>` | SET of integers | URL fingerprints (xxh3 as signed i64), bucketed by the low 16 bits |
//! | `{prefix}:{NAME}:counters` | HASH | `queued done failed duplicates reclaimed seen lease_seq` |
//! | `{prefix}:{NAME}:seed_hosts` | SET | host names of the seeds (the address guard trusts them) |
//! | `{prefix}:{NAME}:op:<hex id>` | STRING, expires | result of a `push_seeds` call, so a replay is a no-op |
//! | `{prefix}:{NAME}:host_pages` | HASH | `max_pages_per_host`: requests queued per host (`host:port`) |
//! | `{prefix}:{NAME}:over_budget` | HASH | requests dropped per host for `max_pages_per_host` |
//! | `{prefix}:{NAME}:visits` | HASH | URL fingerprint (8 bytes) → item with its last visit, for every URL done and not gone: what `requeue_visits` queues again |
//! | `{prefix}:{NAME}:failed_items` | LIST | items of the newest 10,000 failed requests, for `requeue_failed` |
//! | `{prefix}:{NAME}:workers` / `:beats` | HASH / HASH | worker id → its last heartbeat (JSON) / when (ms, Redis clock); silent 60 s: removed |
//! | `{prefix}:{NAME}:history` | HASH | `p:<t>` / `e:<t>` → pages / errors in the 10 s bucket starting at `t` (s), the last hour |
//! | `{prefix}:{NAME}:errors` / `:error_kinds` | LIST / HASH | the newest 50 error samples (JSON) / errors by kind |
//! | `{prefix}:{NAME}:control` | STRING | `paused` or `cancelled`, set from the dashboard; workers read it with every heartbeat |
//! | `{prefix}:crawls` | SET | names of the crawls under the prefix (added on `connect`), for the dashboard |
//! | `{prefix}:host:{HOST}:holds` | ZSET, expires | politeness holds on `HOST`: token → expiry (ms) |
//! | `{prefix}:host:{HOST}:next` | STRING, expires | earliest start (ms) of the next request to `HOST` |
//!
//! The seen set is split into 65,536 buckets so each bucket stays a Redis *intset* (a packed
//! array of 8-byte integers) up to `set-max-intset-entries` (512 by default), i.e. up to about
//! 33 million URLs per crawl; one big SET would be a hash table at 60+ bytes per URL. Past that
//! size buckets turn into hash tables one by one (raise `set-max-intset-entries` to push the
//! limit: an intset insert is a binary search plus a memmove, cheap up to a few thousand).
//!
//! Items are requests in the binary form of [`crate::codec`].
//!
//! # Faults
//!
//! Every method retries transient failures — connection refused or reset, I/O errors, timeouts,
//! `LOADING`, `TRYAGAIN`, `BUSY`, `MASTERDOWN`, `CLUSTERDOWN`, `READONLY` (a fail-over in
//! progress) — forever, with exponential backoff from 100 ms to 5 s, logging a warning when an
//! outage starts and an info line when it ends. A script missing from a restarted server's cache
//! is loaded again (`NOSCRIPT`, handled by `redis::Script`). Other errors (a key of the wrong
//! type, a corrupt item, a script error) are returned at once. `connect` retries too: a worker
//! started before Redis waits for it (wrap it in `tokio::time::timeout` to bound the wait).
//!
//! A call whose connection broke after Redis ran it but before the reply arrived is run again;
//! each script is safe to replay:
//! - `push`: fingerprints already in the seen set are not queued again (the replay reports 0
//!   new requests for them; the `queued`/`seen` counters stay exact).
//! - `push_seeds`: the call's random operation id marks it done (`op:` key, kept 24 h); the
//!   replay returns the first result and queues nothing.
//! - `take`: a replay leases a second batch; the first one's leases expire unused and their
//!   requests go back to the front of pending after `lease_timeout` (counted in `reclaimed`).
//!   Nothing is lost or crawled twice; it is only delayed.
//! - `ack`: a lease is counted once: removing it from `leases` counts done/failed (and updates
//!   its visit); a lease that expired was recorded in `reclaimed`, and removing it from there
//!   counts a duplicate; a lease in neither was already acknowledged, and the replay changes
//!   nothing.
//! - `requeue_visits`: each batch is a forced push with its own operation id; a replayed batch
//!   is a no-op. The whole call is not atomic: run it once per generation.
//! - `extend`: sets a new deadline on leases still present (`ZADD XX`): replaying it only
//!   extends them a little more.
//! - `acquire_host`: a token that already holds the host is granted again without recording
//!   anything; `release_host`: removing a hold twice is a no-op and the pause is a maximum.
//! - `clear`: deleting twice is deleting once.
//! - `heartbeat`: a replayed beat counts its pages and errors twice in the history (a
//!   dashboard figure, never the crawl's counts); `requeue_failed`: taken items are pushed
//!   with an operation id, so a replayed push is a no-op.

//!
//! Files: `frontier` (the operations), `client` (the connection and its retries), `keys`,
//! `scripts` (Lua).

mod client;
mod frontier;
mod keys;
mod scripts;

use std::time::Duration;

use redis::RedisError;
use serde::Serialize;

pub use client::round_trips;
pub(crate) use frontier::decode_member;
pub use frontier::{
    Beat, Control, RedisFrontier, VisitUpdate, HISTORY_BUCKET_SECS, MAX_CRAWL_ERROR_SAMPLES,
    MAX_FAILED_ITEMS, MAX_TAKE, WORKER_ALIVE_SECS,
};

use crate::page::{Lease, Request};

/// Options of a [`RedisFrontier`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// First part of every key (default `ucrawler`).
    pub prefix: String,
    /// How long a taken request stays leased without `extend` (default 60 s).
    pub lease_timeout: Duration,
    /// `max_pages_per_host` for the whole crawl: `push` queues at most this many requests of
    /// a host, whoever pushes them (default none).
    pub max_pages_per_host: Option<u64>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "ucrawler".to_string(),
            lease_timeout: Duration::from_secs(60),
            max_pages_per_host: None,
        }
    }
}

/// A request taken from the frontier, with the lease to acknowledge it by.
#[derive(Clone, Debug)]
pub struct Leased {
    pub request: Request,
    pub lease: Lease,
}

/// How the page of a lease ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The page was delivered.
    Done,
    /// The page ended in an error.
    Failed,
    /// Not a page (a sitemap, read or not): the lease ends, nothing is counted.
    Uncounted,
}

/// Counts of a crawl (one atomic snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FrontierStatus {
    /// Requests waiting to be taken.
    pub pending: u64,
    /// Requests taken and not yet acknowledged (expired leases not yet reclaimed included).
    pub leased: u64,
    pub done: u64,
    pub failed: u64,
    /// Distinct URLs ever queued.
    pub seen: u64,
    /// Requests ever queued (seeds queued again with `force` included).
    pub queued: u64,
    /// Acknowledgements that came after their lease had expired and been reclaimed.
    pub duplicates: u64,
    /// Leases that expired and went back to pending.
    pub reclaimed: u64,
    /// Requests not queued because their host had spent `max_pages_per_host`.
    pub over_host_budget: u64,
}

/// Why a [`RedisFrontier`] call failed. Transient Redis failures are retried, never returned.
#[derive(Debug, thiserror::Error)]
pub enum RedisFrontierError {
    #[error("invalid Redis URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("invalid crawl name {0:?}: it must be non-empty, without whitespace or braces")]
    BadName(String),
    #[error("invalid Redis frontier argument: {0}")]
    Invalid(String),
    #[error("crawl {crawl:?}: a Redis key has the wrong type during {op}: {message}")]
    WrongType {
        crawl: String,
        op: &'static str,
        message: String,
    },
    #[error("crawl {crawl:?}: corrupt item in Redis key {key}: {reason}")]
    Corrupt {
        crawl: String,
        key: String,
        reason: String,
    },
    #[error("crawl {crawl:?}: Redis {op} failed: {source}")]
    Redis {
        crawl: String,
        op: &'static str,
        #[source]
        source: RedisError,
    },
}

type Result<T, E = RedisFrontierError> = std::result::Result<T, E>;

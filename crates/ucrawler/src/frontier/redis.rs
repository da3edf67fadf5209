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
//! | `{prefix}:host:{HOST}:holds` | ZSET, expires | politeness holds on `HOST`: token → expiry (ms) |
//! | `{prefix}:host:{HOST}:next` | STRING, expires | earliest start (ms) of the next request to `HOST` |
//!
//! The seen set is split into 65,536 buckets so each bucket stays a Redis *intset* (a packed
//! array of 8-byte integers) up to `set-max-intset-entries` (512 by default), i.e. up to about
//! 33 million URLs per crawl; one big SET would be a hash table at 60+ bytes per URL. Past that
//! size buckets turn into hash tables one by one (raise `set-max-intset-entries` to push the
//! limit: an intset insert is a binary search plus a memmove, cheap up to a few thousand).
//!
//! Item encoding (binary-safe, version 1): `0x01 | varint depth | varint meta_len+1 (0 = no
//! meta) | meta | url`. The first byte is a version so the format can change later.
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
//! - `ack`: a lease is counted once: removing it from `leases` counts done/failed; a lease that
//!   expired was recorded in `reclaimed`, and removing it from there counts a duplicate; a lease
//!   in neither was already acknowledged, and the replay changes nothing.
//! - `extend`: sets a new deadline on leases still present (`ZADD XX`): replaying it only
//!   extends them a little more.
//! - `acquire_host`: a token that already holds the host is granted again without recording
//!   anything; `release_host`: removing a hold twice is a no-op and the pause is a maximum.
//! - `clear`: deleting twice is deleting once.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, RedisError, ServerErrorKind};
use serde::Serialize;

use crate::page::Request;
use crate::url::{fingerprint, parse_seed};

mod scripts;
use scripts::SCRIPTS;

/// Seen-set buckets: keeps each bucket an intset up to ~33M URLs (see the module docs).
const SEEN_BUCKETS: u64 = 1 << 16;
/// Expired leases moved back per `take`, bounding the script's run time.
const RECLAIM_BATCH: usize = 10_000;
/// How long a `push_seeds` result is kept for a replay of the same call.
const SEEDS_OP_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest wait `acquire_host` suggests when a host is at `per_host`: holds are normally
/// released long before they expire, so polling beats sleeping until the expiry.
const BUSY_HOST_POLL: Duration = Duration::from_millis(100);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Generous: the largest scripts (a push of 10k links) take milliseconds; a reply this late
/// means a stuck connection, which is then replaced.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Durations are clamped to this many ms so Lua's doubles keep them exact.
const MAX_MS: u64 = 1 << 40;
const ITEM_V1: u8 = 1;
/// Most requests one `take` returns (bounds the script's run time).
pub const MAX_TAKE: usize = 100_000;

/// Options of a [`RedisFrontier`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// First part of every key (default `ucrawler`).
    pub prefix: String,
    /// How long a taken request stays leased without `extend` (default 60 s).
    pub lease_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "ucrawler".to_string(),
            lease_timeout: Duration::from_secs(60),
        }
    }
}

/// What `ack` and `extend` need to name a lease: its member in the leases ZSET.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    id: u64,
    member: Bytes,
}

impl Lease {
    /// The lease's id, unique within its crawl (for logs).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The member is binary: show the id and its size only.
        f.debug_struct("Lease")
            .field("id", &self.id)
            .field("bytes", &self.member.len())
            .finish()
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

/// The Redis layer of a distributed crawl frontier (see the module docs). Cheap to clone: clones
/// share one auto-reconnecting multiplexed connection.
#[derive(Clone)]
pub struct RedisFrontier {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    prefix: String,
    /// Where we connect, with any password hidden (for logs and errors).
    address: String,
    lease_ms: u64,
    keys: Keys,
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// Replaced wholesale after a timeout: the manager reconnects on a dropped connection but
    /// keeps one that silently stopped answering.
    manager: Mutex<ConnectionManager>,
    /// When the current outage started (shared by all calls so it is logged once).
    outage: Mutex<Option<Instant>>,
}

struct Keys {
    base: String,
    pending: String,
    leases: String,
    reclaimed: String,
    counters: String,
    seed_hosts: String,
}

impl Keys {
    fn new(prefix: &str, name: &str) -> Self {
        let base = format!("{prefix}:{{{name}}}");
        Self {
            pending: format!("{base}:pending"),
            leases: format!("{base}:leases"),
            reclaimed: format!("{base}:reclaimed"),
            counters: format!("{base}:counters"),
            seed_hosts: format!("{base}:seed_hosts"),
            base,
        }
    }

    fn seen(&self, fingerprint: u64) -> String {
        format!("{}:seen:{}", self.base, fingerprint % SEEN_BUCKETS)
    }

    fn op(&self, id: u64) -> String {
        format!("{}:op:{id:016x}", self.base)
    }
}

impl fmt::Debug for RedisFrontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFrontier")
            .field("address", &self.inner.address)
            .field("name", &self.inner.name)
            .field("keys", &self.inner.keys.base)
            .finish()
    }
}

/// One Redis request, re-sent as it is on each retry.
enum Call<'a> {
    Script(&'a redis::ScriptInvocation<'a>),
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl RedisFrontier {
    /// Connects to the Redis at `url` (`redis://[:password@]host:port[/db]`, `unix://path`) for
    /// crawl `name`. Waits (retrying, with logs) while Redis cannot be reached; returns at once
    /// for a malformed URL or name.
    pub async fn connect(url: &str, name: &str, options: RedisOptions) -> Result<Self> {
        if !valid_name(name) {
            return Err(RedisFrontierError::BadName(name.to_string()));
        }
        if !valid_name(&options.prefix) {
            return Err(RedisFrontierError::Invalid(format!(
                "prefix {:?} must be non-empty, without whitespace or braces",
                options.prefix
            )));
        }
        let lease_ms = millis(options.lease_timeout);
        if lease_ms == 0 {
            return Err(RedisFrontierError::Invalid(
                "lease_timeout must be at least 1 ms".into(),
            ));
        }
        let address = redact(url);
        let bad_url = |reason: String| RedisFrontierError::BadUrl {
            url: address.clone(),
            reason,
        };
        let client = redis::Client::open(url).map_err(|e| bad_url(e.to_string()))?;
        // One connection attempt per call: our own loop does the backoff and the logging.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|e| bad_url(e.to_string()))?;
        let frontier = Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                prefix: options.prefix.clone(),
                address,
                lease_ms,
                keys: Keys::new(&options.prefix, name),
                client,
                config,
                manager: Mutex::new(manager),
                outage: Mutex::new(None),
            }),
        };
        let _pong: String = frontier
            .run("connect", Call::Cmd(&redis::cmd("PING")))
            .await?;
        Ok(frontier)
    }

    /// The crawl's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Queues discovered links (already normalized, as the engine's links are): each only if
    /// its fingerprint was never seen in this crawl. Atomic: one script for the batch (callers
    /// batch; one call should stay under ~100k requests). Returns how many were new.
    pub async fn push(&self, requests: &[Request]) -> Result<u64> {
        self.push_inner(requests, &[], false, None).await
    }

    /// Queues seeds, normalized like the engine's seeds (an unparsable URL is queued as it is,
    /// to come back as an `invalid_url` page), and records their hosts (`seed_hosts`). A seed
    /// already seen is queued again only with `force` (a URL re-crawled on purpose; every
    /// request of the batch is then queued, repeats included). Returns how many were queued.
    pub async fn push_seeds(&self, requests: &[Request], force: bool) -> Result<u64> {
        let mut hosts = Vec::new();
        let requests: Vec<Request> = requests
            .iter()
            .map(|request| {
                let mut request = request.clone();
                if let Ok(url) = parse_seed(&request.url) {
                    if let Some(host) = url.host_str() {
                        hosts.push(host.to_string());
                    }
                    request.url = url.into();
                }
                request
            })
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        self.push_inner(&requests, &hosts, force, Some(random_u64()))
            .await
    }

    async fn push_inner(
        &self,
        requests: &[Request],
        hosts: &[String],
        force: bool,
        op: Option<u64>,
    ) -> Result<u64> {
        if requests.is_empty() && hosts.is_empty() {
            return Ok(0);
        }
        let keys = &self.inner.keys;
        let mut invocation = SCRIPTS.push.prepare_invoke();
        invocation
            .key(&keys.pending)
            .key(&keys.counters)
            .key(&keys.seed_hosts)
            .key(keys.op(op.unwrap_or(0)))
            .arg(if force { "1" } else { "0" })
            .arg(op.map_or(0, |_| millis(SEEDS_OP_TTL)))
            .arg(hosts.len());
        for host in hosts {
            invocation.arg(host.as_str());
        }
        for request in requests {
            let fp = fingerprint(&request.url);
            // Signed so Redis stores it as an integer (intset): its range is i64's.
            invocation
                .key(keys.seen(fp))
                .arg(fp as i64)
                .arg(encode_item(request));
        }
        self.run("push", Call::Script(&invocation)).await
    }

    /// Takes up to `max` requests (at most [`MAX_TAKE`]). Atomically: leases whose deadline
    /// passed go back to the front of pending first (counted in `reclaimed`), then requests are
    /// popped from the front and leased until Redis' now + `lease_timeout` (Redis' clock: the
    /// workers' clocks don't matter).
    ///
    /// An item that cannot be decoded is acknowledged as failed (so it does not come back) and
    /// reported as [`RedisFrontierError::Corrupt`]; the other requests of that batch come back
    /// when their leases expire.
    pub async fn take(&self, max: usize) -> Result<Vec<Leased>> {
        let max = max.min(MAX_TAKE);
        if max == 0 {
            return Ok(Vec::new());
        }
        let keys = &self.inner.keys;
        let mut invocation = SCRIPTS.take.prepare_invoke();
        invocation
            .key(&keys.pending)
            .key(&keys.leases)
            .key(&keys.counters)
            .key(&keys.reclaimed)
            .arg(max)
            .arg(self.inner.lease_ms)
            .arg(RECLAIM_BATCH);
        let members: Vec<Vec<u8>> = self.run("take", Call::Script(&invocation)).await?;
        let mut leased = Vec::with_capacity(members.len());
        let mut corrupt = None;
        for member in members {
            match decode_member(member) {
                Ok(item) => leased.push(item),
                Err((lease, reason)) => {
                    // Acknowledge it as failed so it does not come back forever, then report.
                    if let Some(lease) = lease {
                        self.ack(&lease, Outcome::Failed).await?;
                    }
                    tracing::error!(crawl = %self.inner.name, key = %keys.pending, "corrupt item dropped: {reason}");
                    corrupt.get_or_insert(reason);
                }
            }
        }
        match corrupt {
            // The good leases of this batch expire and are requeued: nothing is lost.
            Some(reason) => Err(self.corrupt(&keys.pending, reason)),
            None => Ok(leased),
        }
    }

    /// Records how the page of `lease` ended. A lease that expired and was reclaimed meanwhile
    /// (another worker may crawl the request again) counts a duplicate instead: a request is
    /// never counted done twice.
    pub async fn ack(&self, lease: &Lease, outcome: Outcome) -> Result<()> {
        let keys = &self.inner.keys;
        let mut invocation = SCRIPTS.ack.prepare_invoke();
        invocation
            .key(&keys.leases)
            .key(&keys.counters)
            .key(&keys.reclaimed)
            .arg(lease.member.as_ref())
            .arg(lease.id)
            .arg(match outcome {
                Outcome::Done => "done",
                Outcome::Failed => "failed",
            });
        let applied: i64 = self.run("ack", Call::Script(&invocation)).await?;
        if applied == 2 {
            tracing::debug!(crawl = %self.inner.name, lease = lease.id, "late ack of a reclaimed lease: counted as a duplicate");
        }
        Ok(())
    }

    /// Moves the deadlines of leases still being worked on to now + `lease_timeout` (call it
    /// every `lease_timeout / 3`). Leases no longer there (expired and reclaimed) stay gone.
    pub async fn extend(&self, leases: &[Lease]) -> Result<()> {
        if leases.is_empty() {
            return Ok(());
        }
        let mut invocation = SCRIPTS.extend.prepare_invoke();
        invocation
            .key(&self.inner.keys.leases)
            .arg(self.inner.lease_ms);
        for lease in leases {
            invocation.arg(lease.member.as_ref());
        }
        self.run("extend", Call::Script(&invocation))
            .await
            .map(|_: i64| ())
    }

    /// Whether the crawl is over: nothing pending, nothing leased, and something was queued
    /// once (see the protocol in the module docs).
    pub async fn is_finished(&self) -> Result<bool> {
        let status = self.status().await?;
        Ok(status.pending == 0 && status.leased == 0 && status.queued > 0)
    }

    /// The crawl's counts, read atomically.
    pub async fn status(&self) -> Result<FrontierStatus> {
        let keys = &self.inner.keys;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("LLEN")
            .arg(&keys.pending)
            .cmd("ZCARD")
            .arg(&keys.leases)
            .cmd("HMGET")
            .arg(&keys.counters)
            .arg(&[
                "done",
                "failed",
                "seen",
                "queued",
                "duplicates",
                "reclaimed",
            ]);
        let (pending, leased, counts): (u64, u64, Vec<Option<u64>>) =
            self.run("status", Call::Pipe(&pipe)).await?;
        let count = |i: usize| counts.get(i).copied().flatten().unwrap_or(0);
        Ok(FrontierStatus {
            pending,
            leased,
            done: count(0),
            failed: count(1),
            seen: count(2),
            queued: count(3),
            duplicates: count(4),
            reclaimed: count(5),
        })
    }

    /// Host names of the crawl's seeds (a worker that joins late trusts private seed hosts too).
    pub async fn seed_hosts(&self) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(&self.inner.keys.seed_hosts);
        let mut hosts: Vec<String> = self.run("seed_hosts", Call::Cmd(&cmd)).await?;
        hosts.sort_unstable();
        Ok(hosts)
    }

    /// How many seed hosts there are (O(1)): workers read `seed_hosts` again only when it
    /// changed.
    pub async fn seed_host_count(&self) -> Result<u64> {
        let mut cmd = redis::cmd("SCARD");
        cmd.arg(&self.inner.keys.seed_hosts);
        self.run("seed_host_count", Call::Cmd(&cmd)).await
    }

    /// Deletes every key of this crawl (tests, `ucrawler enqueue --reset`). Stop the crawl's
    /// workers first. The fleet-wide host keys are left alone (they expire by themselves).
    pub async fn clear(&self) -> Result<()> {
        let pattern = format!("{}:*", glob_escape(&self.inner.keys.base));
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self.run("clear", Call::Cmd(&scan)).await?;
            if !keys.is_empty() {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(&keys);
                let _: u64 = self.run("clear", Call::Cmd(&unlink)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// Tries to start a request to `host` (a host key such as `example.com:443`), for every
    /// crawl under this prefix. Succeeds when fewer than `per_host` unexpired holds exist on the
    /// host and its next-start time has come; then records a hold `token` expiring after `hold`
    /// (a dead worker's hold frees itself) and sets next-start = now + `gap`. Returns `None` on
    /// success, else how long to wait before trying again: the time to next-start, or while the
    /// host is at `per_host` at most 100 ms (holds are normally released before they expire).
    ///
    /// `token` must be unique per request (e.g. worker id + counter): a token that already
    /// holds the host is granted again, which makes a retried call harmless.
    pub async fn acquire_host(
        &self,
        host: &str,
        token: &str,
        per_host: usize,
        gap: Duration,
        hold: Duration,
    ) -> Result<Option<Duration>> {
        if per_host == 0 || millis(hold) == 0 || token.is_empty() || host.is_empty() {
            return Err(RedisFrontierError::Invalid(format!(
                "acquire_host({host:?}, token {token:?}, per_host {per_host}, hold {hold:?}): \
                 host and token must be non-empty, per_host and hold at least 1"
            )));
        }
        let (holds, next) = self.host_keys(host);
        let mut invocation = SCRIPTS.acquire_host.prepare_invoke();
        invocation
            .key(holds)
            .key(next)
            .arg(token)
            .arg(per_host)
            .arg(millis(gap))
            .arg(millis(hold))
            .arg(millis(BUSY_HOST_POLL));
        let wait_ms: u64 = self.run("acquire_host", Call::Script(&invocation)).await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    /// Ends the hold `token` on `host`; a `pause` (Retry-After, backoff) moves the host's
    /// next-start to at least now + `pause`.
    pub async fn release_host(&self, host: &str, token: &str, pause: Duration) -> Result<()> {
        let (holds, next) = self.host_keys(host);
        let mut invocation = SCRIPTS.release_host.prepare_invoke();
        invocation
            .key(holds)
            .key(next)
            .arg(token)
            .arg(millis(pause));
        self.run("release_host", Call::Script(&invocation))
            .await
            .map(|_: i64| ())
    }

    fn host_keys(&self, host: &str) -> (String, String) {
        // Hash tag on the host: both keys of a host in one slot, hosts spread over the cluster.
        let base = format!("{}:host:{{{host}}}", self.inner.prefix);
        (format!("{base}:holds"), format!("{base}:next"))
    }

    fn corrupt(&self, key: &str, reason: String) -> RedisFrontierError {
        RedisFrontierError::Corrupt {
            crawl: self.inner.name.clone(),
            key: key.to_string(),
            reason,
        }
    }

    fn manager(&self) -> ConnectionManager {
        lock(&self.inner.manager).clone()
    }

    /// Runs `call`, retrying transient failures forever with backoff (see the module docs).
    async fn run<T: FromRedisValue>(&self, op: &'static str, call: Call<'_>) -> Result<T> {
        let mut delay = BACKOFF_MIN;
        loop {
            let mut con = self.manager();
            let result = match &call {
                Call::Script(invocation) => invocation.invoke_async(&mut con).await,
                Call::Cmd(cmd) => cmd.query_async(&mut con).await,
                Call::Pipe(pipe) => pipe.query_async(&mut con).await,
            };
            let error = match result {
                Ok(value) => {
                    self.outage_ended();
                    return Ok(value);
                }
                Err(error) => error,
            };
            if !is_transient(&error) {
                return Err(self.classify(op, error));
            }
            if error.is_timeout() || error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) {
                self.replace_manager();
            }
            self.outage_started(op, &error);
            tokio::time::sleep(jitter(delay)).await;
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    }

    fn classify(&self, op: &'static str, source: RedisError) -> RedisFrontierError {
        let crawl = self.inner.name.clone();
        if source.code() == Some("WRONGTYPE") {
            RedisFrontierError::WrongType {
                crawl,
                op,
                message: source.to_string(),
            }
        } else {
            RedisFrontierError::Redis { crawl, op, source }
        }
    }

    fn replace_manager(&self) {
        match ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        ) {
            Ok(manager) => *lock(&self.inner.manager) = manager,
            Err(e) => {
                tracing::warn!(redis = %self.inner.address, "cannot renew the Redis connection: {e}")
            }
        }
    }

    /// Whether Redis cannot be reached right now (calls are being retried).
    pub fn is_unreachable(&self) -> bool {
        lock(&self.inner.outage).is_some()
    }

    fn outage_started(&self, op: &str, error: &RedisError) {
        let mut outage = lock(&self.inner.outage);
        if outage.is_none() {
            *outage = Some(Instant::now());
            tracing::warn!(
                redis = %self.inner.address,
                crawl = %self.inner.name,
                "Redis unavailable during {op}: {error}; retrying until it is back"
            );
        }
    }

    fn outage_ended(&self) {
        let mut outage = lock(&self.inner.outage);
        if let Some(started) = outage.take() {
            tracing::info!(
                redis = %self.inner.address,
                crawl = %self.inner.name,
                "Redis available again after {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Whether retrying may succeed: the connection or the server is (temporarily) unavailable.
fn is_transient(error: &RedisError) -> bool {
    if error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
        return true;
    }
    matches!(
        error.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly
        )
    ) || error.code() == Some("BUSY")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever panicked while holding them.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).min(MAX_MS)
}

/// The URL with its password hidden.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparsable: it may still hold a password; keep only what precedes any '@'.
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_string(),
        },
    }
}

/// Escapes Redis glob characters.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// 100 ms → 5 s, times [0.75, 1.25) so a fleet does not reconnect in lockstep.
fn jitter(delay: Duration) -> Duration {
    let factor = 0.75 + (random_u64() % 1000) as f64 / 2000.0;
    delay.mul_f64(factor)
}

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS; mixing in pid, time and a counter keeps ids unique.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Encodes a request as a pending item (format in the module docs).
pub(crate) fn encode_item(request: &Request) -> Vec<u8> {
    let meta = request.meta.as_deref();
    let mut out = Vec::with_capacity(12 + meta.map_or(0, <[u8]>::len) + request.url.len());
    out.push(ITEM_V1);
    put_varint(&mut out, u64::from(request.depth));
    match meta {
        None => put_varint(&mut out, 0),
        Some(meta) => {
            put_varint(&mut out, meta.len() as u64 + 1);
            out.extend_from_slice(meta);
        }
    }
    out.extend_from_slice(request.url.as_bytes());
    out
}

/// Decodes a pending item; the error says what is wrong with it.
pub(crate) fn decode_item(item: &[u8]) -> Result<Request, String> {
    let preview = || {
        let head: String = item.iter().take(24).map(|b| format!("{b:02x}")).collect();
        format!("{} bytes starting {head}", item.len())
    };
    let (&version, mut rest) = item.split_first().ok_or_else(|| "empty item".to_string())?;
    if version != ITEM_V1 {
        return Err(format!(
            "unknown item version {version} (written by another ucrawler version?): {}",
            preview()
        ));
    }
    let depth = get_varint(&mut rest)
        .and_then(|d| u32::try_from(d).ok())
        .ok_or_else(|| format!("bad depth: {}", preview()))?;
    let meta_len = get_varint(&mut rest)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("bad meta length: {}", preview()))?;
    let meta = match meta_len {
        0 => None,
        n => {
            let len = n - 1;
            if rest.len() < len {
                return Err(format!("meta longer than the item: {}", preview()));
            }
            let (meta, after) = rest.split_at(len);
            rest = after;
            Some(Bytes::copy_from_slice(meta))
        }
    };
    let url = std::str::from_utf8(rest)
        .map_err(|_| format!("URL is not UTF-8: {}", preview()))?
        .to_string();
    if url.is_empty() {
        return Err(format!("empty URL: {}", preview()));
    }
    let mut request = Request::new(url);
    request.depth = depth;
    request.meta = meta;
    Ok(request)
}

/// Splits a lease member `"<id>:<item>"`. On error, the lease (when its id could be read) so
/// the caller can drop it.
fn decode_member(member: Vec<u8>) -> Result<Leased, (Option<Lease>, String)> {
    let member = Bytes::from(member);
    let id = member
        .iter()
        .position(|&b| b == b':')
        .and_then(|sep| Some((std::str::from_utf8(&member[..sep]).ok()?.parse().ok()?, sep)));
    let Some((id, sep)) = id else {
        return Err((
            None,
            format!("lease member without an id ({} bytes)", member.len()),
        ));
    };
    let lease = Lease {
        id,
        member: member.clone(),
    };
    match decode_item(&member[sep + 1..]) {
        Ok(request) => Ok(Leased { request, lease }),
        Err(reason) => Err((Some(lease), reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let mut request = Request::new("http://example.com/a?b=c");
        request.depth = 300;
        for meta in [
            None,
            Some(Bytes::new()),
            Some(Bytes::from_static(b"\0\xff:x")),
        ] {
            request.meta = meta;
            let item = encode_item(&request);
            assert_eq!(item[0], ITEM_V1);
            assert_eq!(decode_item(&item).unwrap(), request);
        }
        let short = encode_item(&Request::new("http://h/"));
        assert_eq!(short.len(), 3 + "http://h/".len(), "compact");
    }

    #[test]
    fn garbage_items_are_errors() {
        assert!(decode_item(b"").unwrap_err().contains("empty"));
        assert!(decode_item(b"\x07abc").unwrap_err().contains("version 7"));
        assert!(decode_item(b"\x01\x00\x09ab").unwrap_err().contains("meta"));
        assert!(decode_item(b"\x01\x80").unwrap_err().contains("depth"));
        assert!(decode_item(b"\x01\x00\x00\xff")
            .unwrap_err()
            .contains("UTF-8"));
        assert!(decode_item(b"\x01\x00\x00")
            .unwrap_err()
            .contains("empty URL"));
        assert!(decode_member(b"nocolon".to_vec()).is_err());
        let (lease, _) = decode_member(b"12:\x09".to_vec()).unwrap_err();
        assert_eq!(lease.unwrap().id(), 12);
    }

    #[test]
    fn varints() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut input = out.as_slice();
            assert_eq!(get_varint(&mut input), Some(value));
            assert!(input.is_empty());
        }
        assert_eq!(get_varint(&mut &[0x80u8; 11][..]), None);
    }

    #[test]
    fn names_urls_and_globs() {
        assert!(valid_name("crawl-1:x"));
        for bad in ["", "a b", "a{b", "a}", "a\nb"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(redact("redis://:secret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(glob_escape("u:{a*b?}"), "u:{a\\*b\\?}");
        assert_eq!(millis(Duration::MAX), MAX_MS);
    }

    #[test]
    fn frontier_is_shareable() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<RedisFrontier>();
        shareable::<Lease>();
        shareable::<Leased>();
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_u64(), random_u64());
    }
}

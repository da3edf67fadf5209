//! The operations of a [`RedisFrontier`]: queueing, leasing, acknowledging, counting, and
//! fleet-wide host holds (see the module docs of `distributed::redis` for the protocol).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::client::{Call, Connection};
use super::keys::{glob_escape, registry_key, Keys};
use super::scripts::SCRIPTS;
use super::{FrontierStatus, Leased, Outcome, RedisFrontierError, RedisOptions, Result};
use crate::codec;
use crate::config::is_valid_key_part;
use crate::page::{Lease, Request};
use crate::random::random_u64;
use crate::url::{host_key, parse_request_url};

mod host_holds;
mod oversight;
mod visits;
pub use oversight::{
    Beat, Control, HISTORY_BUCKET_SECS, MAX_CRAWL_ERROR_SAMPLES, WORKER_ALIVE_SECS,
};
pub use visits::VisitUpdate;

/// Expired leases moved back per `take`, bounding the script's run time.
const RECLAIM_BATCH: usize = 10_000;
/// How long a `push_seeds` result is kept for a replay of the same call.
const SEEDS_OP_TTL: Duration = Duration::from_secs(24 * 3600);
/// Durations are clamped to this many ms so Lua's doubles keep them exact.
const MAX_MS: u64 = 1 << 40;
/// Failed requests kept for `requeue_failed` (the newest).
pub const MAX_FAILED_ITEMS: usize = 10_000;
/// Most requests one `take` returns (bounds the script's run time).
pub const MAX_TAKE: usize = 100_000;

/// The Redis layer of a distributed crawl frontier (see the module docs). Cheap to clone: clones
/// share one auto-reconnecting multiplexed connection.
#[derive(Clone)]
pub struct RedisFrontier {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    lease_ms: u64,
    max_pages_per_host: Option<u64>,
    keys: Keys,
    conn: Connection,
}

impl fmt::Debug for RedisFrontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFrontier")
            .field("address", &self.inner.conn.address)
            .field("name", &self.inner.conn.name)
            .field("keys", &self.inner.keys.base)
            .finish()
    }
}

impl RedisFrontier {
    /// Connects to the Redis at `url` (`redis://[:password@]host:port[/db]`, `unix://path`) for
    /// crawl `name`. Waits (retrying, with logs) while Redis cannot be reached; returns at once
    /// for a malformed URL or name.
    pub async fn connect(url: &str, name: &str, options: RedisOptions) -> Result<Self> {
        let frontier = Self::lazy(url, name, options)?;
        // Listed under the prefix for the dashboard (this also checks the connection).
        let mut register = redis::cmd("SADD");
        register.arg(registry_key(&frontier.inner.prefix)).arg(name);
        let _added: u64 = frontier
            .inner
            .conn
            .run("connect", Call::Cmd(&register))
            .await?;
        Ok(frontier)
    }

    /// Like [`RedisFrontier::connect`] without connecting (the first call does) and without
    /// listing the crawl under its prefix: for readers such as the dashboard.
    pub fn lazy(url: &str, name: &str, options: RedisOptions) -> Result<Self> {
        if !is_valid_key_part(name) {
            return Err(RedisFrontierError::BadName(name.to_string()));
        }
        if !is_valid_key_part(&options.prefix) {
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
        let conn = Connection::new(url, name)?;
        Ok(Self {
            inner: Arc::new(Inner {
                prefix: options.prefix.clone(),
                lease_ms,
                max_pages_per_host: options.max_pages_per_host.filter(|&n| n > 0),
                keys: Keys::new(&options.prefix, name),
                conn,
            }),
        })
    }

    /// The names of the shared crawls under this crawl's prefix (every crawl a worker,
    /// `enqueue` or `status` ever connected to, until its keys are cleared), sorted.
    pub async fn crawl_names(&self) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(registry_key(&self.inner.prefix));
        let mut names: Vec<String> = self.inner.conn.run("crawl_names", Call::Cmd(&cmd)).await?;
        names.sort();
        Ok(names)
    }

    /// The crawl's name.
    pub fn name(&self) -> &str {
        &self.inner.conn.name
    }

    /// Whether Redis cannot be reached right now (calls are being retried).
    pub fn is_unreachable(&self) -> bool {
        self.inner.conn.is_unreachable()
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
                if let Ok(url) = parse_request_url(&request.url) {
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
            .key(&keys.host_pages)
            .key(&keys.over_budget)
            .arg(if force { "1" } else { "0" })
            .arg(op.map_or(0, |_| millis(SEEDS_OP_TTL)))
            .arg(self.inner.max_pages_per_host.unwrap_or(0))
            .arg(hosts.len());
        for host in hosts {
            invocation.arg(host.as_str());
        }
        for request in requests {
            let fp = request.fingerprint();
            // Only what a budget needs: an unparsable URL (a seed to fail as a page) has none,
            // and a sitemap is not a page.
            let host = match self.inner.max_pages_per_host {
                Some(_) if request.purpose.is_page() => {
                    parse_request_url(&request.url).map_or(String::new(), |u| host_key(&u))
                }
                _ => String::new(),
            };
            // Signed so Redis stores it as an integer (intset): its range is i64's.
            invocation
                .key(keys.seen(fp))
                .arg(fp as i64)
                .arg(codec::encode(request))
                .arg(host);
        }
        self.inner.conn.run("push", Call::Script(&invocation)).await
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
        let members: Vec<Vec<u8>> = self
            .inner
            .conn
            .run("take", Call::Script(&invocation))
            .await?;
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
                    tracing::error!(crawl = %self.inner.conn.name, key = %keys.pending, "corrupt item dropped: {reason}");
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
        self.ack_visit(lease, outcome, &VisitUpdate::Keep).await
    }

    /// [`Self::ack`], updating the crawl's visits (see [`VisitUpdate`]) in the same script,
    /// only when the ack counts.
    pub async fn ack_visit(
        &self,
        lease: &Lease,
        outcome: Outcome,
        visit: &VisitUpdate,
    ) -> Result<()> {
        let keys = &self.inner.keys;
        let (op, field, value) = visit.script_args();
        let mut invocation = SCRIPTS.ack.prepare_invoke();
        invocation
            .key(&keys.leases)
            .key(&keys.counters)
            .key(&keys.reclaimed)
            .key(&keys.visits)
            .key(&keys.failed_items)
            .arg(lease.member.as_ref())
            .arg(lease.id)
            .arg(match outcome {
                Outcome::Done => "done",
                Outcome::Failed => "failed",
                Outcome::Uncounted => "",
            })
            .arg(op)
            .arg(field)
            .arg(value)
            .arg(MAX_FAILED_ITEMS);
        let applied: i64 = self
            .inner
            .conn
            .run("ack", Call::Script(&invocation))
            .await?;
        if applied == 2 {
            tracing::debug!(crawl = %self.inner.conn.name, lease = lease.id, "late ack of a reclaimed lease: counted as a duplicate");
        }
        Ok(())
    }

    /// Moves the deadlines of leases still being worked on to now + `lease_timeout` (call it
    /// every `lease_timeout / 3`). Leases no longer there (expired and reclaimed) stay gone.
    pub async fn extend(&self, leases: &[Lease]) -> Result<()> {
        self.set_deadlines("extend", leases, self.inner.lease_ms)
            .await
    }

    /// Gives leases back at once, for requests this worker will not crawl after all (its crawl
    /// was cancelled): their deadline becomes now, so the next `take` of any worker puts them
    /// back at the front of the queue instead of waiting for `lease_timeout`.
    pub async fn give_back(&self, leases: &[Lease]) -> Result<()> {
        self.set_deadlines("give_back", leases, 0).await
    }

    async fn set_deadlines(&self, what: &'static str, leases: &[Lease], ms: u64) -> Result<()> {
        if leases.is_empty() {
            return Ok(());
        }
        let mut invocation = SCRIPTS.extend.prepare_invoke();
        invocation.key(&self.inner.keys.leases).arg(ms);
        for lease in leases {
            invocation.arg(lease.member.as_ref());
        }
        self.inner
            .conn
            .run(what, Call::Script(&invocation))
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
        status_of(&self.inner.conn, &self.inner.keys).await
    }

    /// Host names of the crawl's seeds (a worker that joins late trusts private seed hosts too).
    pub async fn seed_hosts(&self) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(&self.inner.keys.seed_hosts);
        let mut hosts: Vec<String> = self.inner.conn.run("seed_hosts", Call::Cmd(&cmd)).await?;
        hosts.sort_unstable();
        Ok(hosts)
    }

    /// How many seed hosts there are (O(1)): workers read `seed_hosts` again only when it
    /// changed.
    pub async fn seed_host_count(&self) -> Result<u64> {
        let mut cmd = redis::cmd("SCARD");
        cmd.arg(&self.inner.keys.seed_hosts);
        self.inner
            .conn
            .run("seed_host_count", Call::Cmd(&cmd))
            .await
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
            let (next, keys): (u64, Vec<String>) =
                self.inner.conn.run("clear", Call::Cmd(&scan)).await?;
            if !keys.is_empty() {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(&keys);
                let _: u64 = self.inner.conn.run("clear", Call::Cmd(&unlink)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn corrupt(&self, key: &str, reason: String) -> RedisFrontierError {
        RedisFrontierError::Corrupt {
            crawl: self.inner.conn.name.clone(),
            key: key.to_string(),
            reason,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).min(MAX_MS)
}

/// Splits a lease member `"<id>:<item>"`. On error, the lease (when its id could be read) so
/// the caller can drop it.
pub(crate) fn decode_member(member: Vec<u8>) -> Result<Leased, (Option<Lease>, String)> {
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
    match codec::decode(&member[sep + 1..]) {
        Ok(request) => Ok(Leased { request, lease }),
        Err(reason) => Err((Some(lease), reason)),
    }
}

/// A crawl's counts, read atomically.
pub(super) async fn status_of(conn: &Connection, keys: &Keys) -> Result<FrontierStatus> {
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
            "over_host_budget",
        ]);
    let (pending, leased, counts): (u64, u64, Vec<Option<u64>>) =
        conn.run("status", Call::Pipe(&pipe)).await?;
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
        over_host_budget: count(6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_lease_members_are_errors() {
        assert!(decode_member(b"nocolon".to_vec()).is_err());
        let (lease, _) = decode_member(b"12:\x09".to_vec()).unwrap_err();
        assert_eq!(lease.unwrap().id(), 12);
    }

    #[test]
    fn names_urls_and_globs() {
        assert!(is_valid_key_part("crawl-1:x"));
        for bad in ["", "a b", "a{b", "a}", "a\nb"] {
            assert!(!is_valid_key_part(bad), "{bad:?}");
        }
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
}

//! A shared crawl's visits: every URL done, with what its visit learned ([`LastVisit`]), kept
//! in Redis (the `visits` HASH: URL fingerprint → item) so the crawl can be recrawled:
//! [`RedisFrontier::requeue_visits`] (`ucrawler enqueue --recrawl`) queues them all again, and
//! workers fetch them conditionally.

use super::{Call, RedisFrontier, RedisFrontierError, Result};
use crate::codec;
use crate::page::Request;
use crate::random::random_u64;
use crate::url::fingerprint;

/// Items re-queued per call of the push script.
const REQUEUE_BATCH: usize = 1000;

/// One `HSCAN` reply: the next cursor, and (fingerprint, item) pairs.
type ScanPage = (u64, Vec<(Vec<u8>, Vec<u8>)>);

/// What an acknowledged page does to the crawl's visits (applied with its `ack`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitUpdate {
    /// The visit learned nothing (a failure): what was known stays.
    Keep,
    /// The page was visited: its URL, depth, meta and last visit, for the next generation.
    Record(Request),
    /// The page is gone: not revisited any more.
    Forget(String),
}

impl VisitUpdate {
    /// The ack script's arguments: operation, field, value.
    pub(super) fn script_args(&self) -> (&'static str, Vec<u8>, Vec<u8>) {
        let field = |url: &str| fingerprint(url).to_le_bytes().to_vec();
        match self {
            VisitUpdate::Keep => ("", Vec::new(), Vec::new()),
            VisitUpdate::Record(visit) => ("set", field(&visit.url), codec::encode(visit)),
            VisitUpdate::Forget(url) => ("del", field(url), Vec::new()),
        }
    }
}

impl RedisFrontier {
    /// Queues every URL of the crawl's visits again (a new generation), each with its last
    /// visit, whether seen or not. The crawl must be finished ([`RedisFrontierError::Invalid`]
    /// otherwise: a URL still pending or leased would be queued twice); run it once per
    /// generation. Streams the hash in batches. Returns how many were queued.
    pub async fn requeue_visits(&self) -> Result<u64> {
        let status = self.status().await?;
        if !self.is_finished().await? {
            return Err(RedisFrontierError::Invalid(format!(
                "the crawl {} is not finished ({} pending, {} leased): recrawl it once its \
                 workers are done",
                self.name(),
                status.pending,
                status.leased
            )));
        }
        // A new generation, a new budget per host.
        let mut reset = redis::cmd("DEL");
        reset
            .arg(&self.inner.keys.host_pages)
            .arg(&self.inner.keys.over_budget);
        let _: u64 = self
            .inner
            .conn
            .run("requeue_visits", Call::Cmd(&reset))
            .await?;
        let key = &self.inner.keys.visits;
        let mut cursor = 0u64;
        let mut queued = 0;
        loop {
            let mut scan = redis::cmd("HSCAN");
            scan.arg(key).arg(cursor).arg("COUNT").arg(REQUEUE_BATCH);
            let (next, pairs): ScanPage = self
                .inner
                .conn
                .run("requeue_visits", Call::Cmd(&scan))
                .await?;
            let mut batch = Vec::with_capacity(pairs.len());
            for (_, item) in pairs {
                match codec::decode(&item) {
                    Ok(visit) => batch.push(visit),
                    Err(reason) => return Err(self.corrupt(key, reason)),
                }
            }
            queued += self
                .push_inner(&batch, &[], true, Some(random_u64()))
                .await?;
            if next == 0 {
                return Ok(queued);
            }
            cursor = next;
        }
    }

    /// How many URLs the crawl's visits hold.
    pub async fn visit_count(&self) -> Result<u64> {
        let mut cmd = redis::cmd("HLEN");
        cmd.arg(&self.inner.keys.visits);
        self.inner.conn.run("visit_count", Call::Cmd(&cmd)).await
    }
}

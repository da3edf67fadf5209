//! How long a crawl idles on politeness alone (`Stats::politeness_wait_seconds`).

use std::sync::atomic::Ordering::Relaxed;

use tokio::time::Instant;

use crate::stats::Counters;

/// Times the stretches when requests are queued but every one's host must wait (`per_host`,
/// `delay`, Crawl-delay, a pause): the crawl's politeness-bound idle time.
#[derive(Default)]
pub(super) struct PolitenessWait(Option<Instant>);

impl PolitenessWait {
    pub fn observe(&mut self, waiting: bool, counters: &Counters) {
        match (waiting, self.0) {
            (true, None) => self.0 = Some(Instant::now()),
            (false, Some(since)) => {
                self.0 = None;
                let waited = since.elapsed().as_micros() as u64;
                counters.politeness_wait_micros.fetch_add(waited, Relaxed);
            }
            _ => {}
        }
    }
}

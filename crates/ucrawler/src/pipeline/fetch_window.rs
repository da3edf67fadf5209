//! How far fetching may run ahead of parsing: a window over the pages between dispatch and the
//! moment a parser thread takes them (fetches in flight plus bodies waiting for a parser),
//! somewhere between one per parser and `concurrency`.
//!
//! It grows when a parser takes the last waiting body while every place is used by a fetch (the
//! parsers are about to wait: the network is the limit, and more requests in flight help), by
//! one per page, so it doubles every round trip, like TCP's slow start. It shrinks while bodies
//! queue for the parsers: parsing is the limit, and more requests in flight would only hold
//! more bodies in memory and more connections open (each with its own read buffer) without a
//! page more per second. On a slow network the window
//! reaches `concurrency` within a few round trips; against a fast server it settles near what
//! the parsers can absorb. Growth waits for a parser's page, so slow responses holding every
//! place would stall it (2,000 hosts, the first two at 1.5 s: ~4 s at 2 to 4 places): a
//! dispatcher that waits [`STALL`] for a place while the parsers have nothing doubles it.
//! Crawlee's AutoscaledPool and TCP's congestion window follow the same idea.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

pub(crate) struct FetchWindow {
    permits: Arc<Semaphore>,
    /// The window now (permits in circulation, minus those owed).
    size: AtomicUsize,
    floor: usize,
    ceiling: usize,
    /// Permits to retire as they come back, for shrinks not yet carried out.
    owed: AtomicUsize,
    /// Pages handed to the parsers and not yet taken by one, and their body bytes.
    backlog: AtomicUsize,
    backlog_bytes: AtomicU64,
    /// A backlog above this many pages (or a quarter of the window, if more) and as many times
    /// `SHRINK_BYTES_PER_PAGE` bytes (after a parser took its page) shrinks the window.
    high_water: usize,
    /// Dispatchers waiting for a place: demand beyond the window.
    waiting: AtomicUsize,
}

/// How long a dispatcher waits for a place, every place taken by a fetch and no body waiting
/// for the parsers, before the window doubles: longer than a fast server's round trip (a
/// parser's page grows it then), short against a slow host's.
const STALL: std::time::Duration = std::time::Duration::from_millis(100);

/// Bodies below this size on average are not worth holding fetches back for: a burst of error
/// pages or redirects (a slow network answering in batches) costs the parsers nothing.
const SHRINK_BYTES_PER_PAGE: u64 = 16 * 1024;

/// One page's place in the window, given back when a parser takes the page (or the fetch ends
/// without one).
pub(crate) struct WindowPermit {
    permit: Option<OwnedSemaphorePermit>,
    window: Arc<FetchWindow>,
}

impl FetchWindow {
    /// A window between `parsers` and `concurrency`, starting at its floor.
    pub fn new(concurrency: usize, parsers: usize) -> Arc<Self> {
        let ceiling = concurrency.max(1);
        let floor = parsers.clamp(1, ceiling);
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(floor)),
            size: AtomicUsize::new(floor),
            floor,
            ceiling,
            owed: AtomicUsize::new(0),
            backlog: AtomicUsize::new(0),
            backlog_bytes: AtomicU64::new(0),
            high_water: 2 * parsers.max(1),
            waiting: AtomicUsize::new(0),
        })
    }

    /// A place for one more page, when the window has one. `None` if the semaphore was closed.
    pub async fn acquire(self: &Arc<Self>) -> Option<WindowPermit> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return None,
            Err(TryAcquireError::NoPermits) => {
                // Counted while it waits (the future may be dropped mid-wait: a guard).
                let _waiting = Waiting::new(&self.waiting);
                loop {
                    let wait = self.permits.clone().acquire_owned();
                    match tokio::time::timeout(STALL, wait).await {
                        Ok(permit) => break permit.ok()?,
                        Err(_) => self.grow_stalled(),
                    }
                }
            }
        };
        Some(WindowPermit {
            permit: Some(permit),
            window: self.clone(),
        })
    }

    /// A fetched page (with a body of `bytes`) goes to the parsers' queue.
    pub fn queued(&self, bytes: u64) {
        self.backlog_bytes.fetch_add(bytes, AcqRel);
        self.backlog.fetch_add(1, AcqRel);
    }

    /// A parser takes a page (its permit is given back right after). Adjusts the window to the
    /// queue it leaves behind.
    pub fn taken(&self, bytes: u64) {
        let left_bytes = self
            .backlog_bytes
            .fetch_sub(bytes, AcqRel)
            .saturating_sub(bytes);
        let left = self.backlog.fetch_sub(1, AcqRel).saturating_sub(1);
        // Responses arrive in bursts about as large as the window (many hosts answering within
        // the same few ms): a queue up to a quarter of it is a burst, not a parsing limit.
        // Shrinking on every burst held 2,000 slow hosts at ~80 requests in flight of 256.
        let high_water = self.high_water.max(self.size() / 4);
        let high_bytes = high_water as u64 * SHRINK_BYTES_PER_PAGE;
        if left > high_water && left_bytes > high_bytes {
            // Bodies pile up in memory: parsing is the limit.
            self.shrink();
        } else if left == 0
            && (self.permits.available_permits() == 0 || self.waiting.load(Acquire) > 0)
        {
            // The parsers are about to run dry while every place is taken by a fetch.
            self.grow();
        }
    }

    /// The window now.
    pub fn size(&self) -> usize {
        self.size.load(Relaxed)
    }

    fn grow(&self) {
        self.grow_by(1);
    }

    /// A dispatcher waited [`STALL`] for a place: if every place is a fetch in flight and the
    /// parsers have nothing, slow responses hold the window and it doubles.
    fn grow_stalled(&self) {
        if self.backlog.load(Acquire) == 0 && self.permits.available_permits() == 0 {
            self.grow_by(self.size());
        }
    }

    fn grow_by(&self, by: usize) {
        let Ok(before) = self.size.fetch_update(AcqRel, Acquire, |n| {
            (n < self.ceiling).then(|| (n + by).min(self.ceiling))
        }) else {
            return;
        };
        let mut added = (before + by).min(self.ceiling) - before;
        // Shrinks not yet carried out are cancelled rather than permits added.
        while added > 0
            && (self.owed)
                .fetch_update(AcqRel, Acquire, |n| n.checked_sub(1))
                .is_ok()
        {
            added -= 1;
        }
        self.permits.add_permits(added);
    }

    fn shrink(&self) {
        if self
            .size
            .fetch_update(AcqRel, Acquire, |n| (n > self.floor).then(|| n - 1))
            .is_ok()
        {
            self.owed.fetch_add(1, AcqRel);
        }
    }
}

impl WindowPermit {
    /// Its page (with a body of `bytes`) waits in the parsers' queue.
    pub fn queued(&self, bytes: u64) {
        self.window.queued(bytes);
    }

    /// A parser takes its page: the place is given back.
    pub fn taken(self, bytes: u64) {
        self.window.taken(bytes);
    }
}

struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, AcqRel);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, AcqRel);
    }
}

impl Drop for WindowPermit {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let retire = self
            .window
            .owed
            .fetch_update(AcqRel, Acquire, |n| n.checked_sub(1))
            .is_ok();
        if retire {
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A window opened to its `concurrency`.
    fn opened(concurrency: usize, parsers: usize) -> Arc<FetchWindow> {
        let window = FetchWindow::new(concurrency, parsers);
        window.grow_by(concurrency);
        assert_eq!(window.size(), concurrency);
        window
    }

    /// `pages` bodies of `bytes` arrive at once, then the parsers take them one by one.
    fn burst(window: &FetchWindow, pages: usize, bytes: u64) {
        for _ in 0..pages {
            window.queued(bytes);
        }
        for _ in 0..pages {
            window.taken(bytes);
        }
    }

    #[test]
    fn grows_by_one_per_page_taken_from_a_full_window_up_to_concurrency() {
        rt().block_on(async {
            let window = FetchWindow::new(8, 2);
            assert_eq!(window.size(), 2);
            let mut held = Vec::new();
            for round in 0..20 {
                // Every place is used by a fetch; one page arrives and a parser takes it at once:
                // the parsers wait for the network.
                while let Ok(permit) = window.permits.clone().try_acquire_owned() {
                    held.push(WindowPermit {
                        permit: Some(permit),
                        window: window.clone(),
                    });
                }
                let page = held.pop().unwrap();
                page.queued(50_000);
                page.taken(50_000);
                assert_eq!(window.size(), (3 + round).min(8));
            }
        });
    }

    #[test]
    fn shrinks_while_bodies_queue_for_the_parsers_and_never_below_its_floor() {
        rt().block_on(async {
            let window = opened(16, 2);
            let mut held = Vec::new();
            for _ in 0..16 {
                held.push(window.acquire().await.unwrap());
            }
            assert_eq!(window.size(), 16);
            // All 16 fetched and queued: the parsers take them one by one.
            for _ in 0..16 {
                window.queued(50_000);
            }
            for permit in held.drain(..) {
                window.taken(50_000);
                drop(permit);
            }
            // Shrunk once per page taken with more than 4 left behind (11 of them).
            assert_eq!(window.size(), 5);
            assert_eq!(window.permits.available_permits(), 5);
            // And never below one per parser.
            for _ in 0..20 {
                window.shrink();
            }
            assert_eq!(window.size(), 2);
        });
    }

    #[test]
    fn a_burst_within_a_quarter_of_a_large_window_does_not_shrink_it() {
        rt().block_on(async {
            // Many slow hosts: the window is wide and responses come in bursts.
            let window = opened(256, 2);
            burst(&window, 64, 50_000);
            assert_eq!(
                window.size(),
                256,
                "64 bodies waiting: a quarter of the window"
            );
            // A longer queue is a parsing limit: it shrinks while more than a quarter waits.
            burst(&window, 100, 50_000);
            let size = window.size();
            assert!((200..256).contains(&size), "{size}");
        });
    }

    #[test]
    fn a_burst_of_bodiless_pages_does_not_shrink_it() {
        rt().block_on(async {
            let window = opened(16, 2);
            // A slow network answers 16 requests at once with errors: nothing to parse.
            burst(&window, 16, 0);
            assert_eq!(window.size(), 16);
        });
    }

    #[test]
    fn slow_fetches_holding_every_place_double_it_after_a_stall() {
        rt().block_on(async {
            let window = FetchWindow::new(64, 2);
            // Two fetches to slow hosts take every place; nothing arrives for the parsers.
            let _slow = [window.acquire().await, window.acquire().await];
            let third = tokio::time::timeout(STALL * 10, window.acquire()).await;
            assert!(third.is_ok(), "a stall opens the window");
            assert_eq!(window.size(), 4, "doubled");
            // With a body waiting for the parsers, a stall is parsing's: no growth.
            let _rest = window.acquire().await;
            window.queued(50_000);
            let waiting = tokio::time::timeout(STALL * 3, window.acquire()).await;
            assert!(waiting.is_err());
            assert_eq!(window.size(), 4);
        });
    }

    #[test]
    fn a_full_window_with_a_queue_waits_instead_of_growing() {
        rt().block_on(async {
            let window = FetchWindow::new(8, 1);
            let first = window.acquire().await.unwrap();
            window.queued(50_000);
            // One body waits for the parser: no growth, the next fetch waits.
            let waiting =
                tokio::time::timeout(std::time::Duration::from_millis(50), window.acquire()).await;
            assert!(waiting.is_err());
            assert_eq!(window.size(), 1);
            // The parser takes the body and, with nothing left and the window full, grows it.
            window.taken(50_000);
            assert_eq!(window.size(), 2);
            drop(first);
            let _a = window.acquire().await.unwrap();
            let _b = window.acquire().await.unwrap();
        });
    }
}

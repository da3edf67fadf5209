//! What rendering in headless Chromium did in a crawl (`render`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Live counters of a crawl's renders (see [`RenderStats`]).
#[derive(Debug, Default)]
pub(crate) struct RenderCounters {
    pub rendered: AtomicU64,
    pub shells: AtomicU64,
    pub not_shells: AtomicU64,
    pub unsettled: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub subrequests: AtomicU64,
    pub blocked: AtomicU64,
}

impl RenderCounters {
    pub(super) fn snapshot(&self) -> RenderStats {
        RenderStats {
            rendered: self.rendered.load(Relaxed),
            shells: self.shells.load(Relaxed),
            not_shells: self.not_shells.load(Relaxed),
            unsettled: self.unsettled.load(Relaxed),
            retried: self.retried.load(Relaxed),
            failed: self.failed.load(Relaxed),
            subrequests: self.subrequests.load(Relaxed),
            blocked: self.blocked.load(Relaxed),
            ..RenderStats::default()
        }
    }
}

/// Renders of a crawl, and the process's browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RenderStats {
    /// Pages rendered (their DOM is what was parsed).
    pub rendered: u64,
    /// `render: auto`: pages that looked built by scripts (rendered), and pages that did not
    /// (parsed as fetched).
    pub shells: u64,
    pub not_shells: u64,
    /// Renders taken at `render_timeout` because the page never went quiet.
    pub unsettled: u64,
    /// Renders done again after the browser crashed, hung or passed `render_memory`.
    pub retried: u64,
    /// Pages whose render failed twice (delivered with error kind `render`).
    pub failed: u64,
    /// Requests of rendered pages (scripts, data) served by the crawler's client, and those
    /// refused (images, media and fonts; the address guard; robots.txt; navigations away).
    pub subrequests: u64,
    pub blocked: u64,
    /// The process's browser: starts (first and restarts), crashes, kills past
    /// `render_memory`, and its process tree's RSS now and at most.
    pub browser_starts: u64,
    pub browser_crashes: u64,
    pub browser_memory_kills: u64,
    pub browser_rss_bytes: u64,
    pub browser_peak_rss_bytes: u64,
}

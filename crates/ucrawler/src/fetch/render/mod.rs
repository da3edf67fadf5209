//! JavaScript rendering: headless Chromium driven over the DevTools protocol, with every request
//! the browser makes handed to a callback ([`SubFetch`]), so the crawler's own HTTP client,
//! address guard and politeness serve it. The browser never touches the network itself.
//!
//! - [`browser`]: the process (launch, kill, its tree's RSS watched, idle close).
//! - [`cdp`]: the pipe transport (command ids, responses, events routed by session).
//! - [`tab`]: one page render (interception, settle, snapshot).
//!
//! # Why `--remote-debugging-pipe`, not a WebSocket (or chromiumoxide)
//!
//! - No debugging port: a TCP port on localhost can be driven by any local process, and by a
//!   page through DNS rebinding. A pipe is ours alone.
//! - No 100k-line generated protocol crate for the ~15 methods used here: they are JSON.
//! - The browser's lifetime is tied to our pipes: when we go, it reads EOF and exits.
//!
//! # Lifecycle
//!
//! One browser per process per [`LaunchSettings`] ([`Renderer::shared`], fork-safe: a child
//! never uses or kills its parent's browser), started at the first render, closed after
//! [`IDLE_CLOSE`] without one, and restarted after `recycle_after` pages (once the tabs in
//! flight end: never two browsers at once, so `memory` bounds the whole tree). Each render gets
//! a fresh browser context (no shared cookies or storage), disposed after.

mod browser;
mod cdp;
mod tab;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use url::Url;

use crate::fork_local::ForkLocal;
use browser::Browser;

/// How long a browser may sit without renders before it is closed: an idle Chromium must not
/// hold hundreds of MB in a Rails process.
pub(crate) const IDLE_CLOSE: Duration = Duration::from_secs(30);

/// How to start the browser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LaunchSettings {
    /// None: `$UCRAWLER_CHROMIUM`, then `chromium`, `chromium-browser`, `google-chrome` on PATH.
    pub browser: Option<PathBuf>,
    /// Cap on the browser process tree's resident memory, bytes.
    pub memory: u64,
    /// Pages per browser, then it is restarted.
    pub recycle_after: u32,
}

/// One page to render: the document was already fetched by the crawler over HTTP.
#[derive(Debug, Clone)]
pub(crate) struct RenderJob {
    pub url: Url,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// From the start of the render; at the timeout the snapshot is taken anyway.
    pub timeout: Duration,
    /// A CSS selector to wait for; None: network idle (500 ms without requests).
    pub wait_for: Option<String>,
    /// Cap on the rendered HTML, bytes.
    pub max_body: u64,
    /// Refuse images, media and fonts.
    pub block_media: bool,
}

/// A request the browser wants served. Not every [`SubFetch`] reads every field (the crawl's
/// sends GET and HEAD with its own headers), hence the allowance.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct SubRequest {
    pub url: Url,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub post_data: Option<Bytes>,
    /// DevTools' resource type: `Script`, `XHR` (fetch() too), `Stylesheet`, `Document` (iframes)…
    pub resource_type: String,
}

/// The answer to a [`SubRequest`] (body decoded: no Content-Encoding).
#[derive(Debug, Clone)]
pub(crate) struct SubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Serves the browser's requests; an `Err` refuses the request (the page sees a network error).
pub(crate) type SubFetch = Arc<
    dyn Fn(SubRequest) -> futures::future::BoxFuture<'static, Result<SubResponse, String>>
        + Send
        + Sync,
>;

/// A rendered page.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// `<!DOCTYPE html>` and the document's outerHTML, at most `max_body` bytes.
    pub html: String,
    pub truncated: bool,
    /// False: the page was still busy at the timeout (snapshot taken anyway).
    pub settled: bool,
    pub elapsed: Duration,
    /// Subresources served via [`SubFetch`].
    pub requests: u32,
    /// Refused: media types, navigations away, popups, [`SubFetch`] errors.
    pub blocked: u32,
}

/// What the renderer did, since the process started it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RenderStats {
    pub pages: u64,
    pub browser_starts: u64,
    /// The browser or a page's renderer crashed.
    pub crashes: u64,
    /// Browsers killed for passing `memory`.
    pub memory_kills: u64,
    /// Renders that had not settled at their timeout.
    pub timeouts: u64,
    /// The browser tree's resident memory now (0 without a browser).
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

/// Why a render failed. [`RenderError::retryable`] tells whether another try may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RenderError {
    #[error(
        "no Chromium found for rendering: install Debian's `chromium` package (`apt-get install \
         chromium`) or set render_browser / UCRAWLER_CHROMIUM to the browser's path"
    )]
    NoBrowser,
    #[error("the browser did not start: {0} (check that it runs: `chromium --headless --no-sandbox about:blank`)")]
    Launch(String),
    #[error("the browser crashed: {0} (it is restarted for the next render)")]
    Crashed(String),
    #[error("the browser passed render_memory ({limit} bytes) and was killed (raise render_memory or lower render_tabs)")]
    OverMemory { limit: u64 },
    #[error("the page hung the browser: {0} (its tab was closed; the render may be retried)")]
    Hung(String),
    #[error("DevTools protocol error: {0}")]
    Protocol(String),
}

impl RenderError {
    /// Whether another render of the same page may succeed (the browser is restarted).
    pub(crate) fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Crashed(_) | Self::OverMemory { .. } | Self::Hung(_)
        )
    }
}

/// Counters shared with the browser's watcher thread.
#[derive(Debug, Default)]
struct Counters {
    pages: AtomicU64,
    browser_starts: AtomicU64,
    crashes: AtomicU64,
    memory_kills: AtomicU64,
    timeouts: AtomicU64,
    peak_rss: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The process's browser for some launch settings.
pub(crate) struct Renderer {
    launch: LaunchSettings,
    counters: Arc<Counters>,
    state: Mutex<State>,
    /// Serializes launches (a std mutex cannot be held across the launch's awaits).
    launching: tokio::sync::Mutex<()>,
    /// Told when a tab ends or a browser goes: recycling waits for it.
    changed: tokio::sync::Notify,
}

struct State {
    /// The process the browser belongs to: after a fork the child forgets its parent's.
    owner: u32,
    browser: Option<Arc<Browser>>,
    /// The largest `max_body` asked for: messages from the browser are capped from it.
    largest_body: u64,
}

type Registry = Vec<(LaunchSettings, Arc<Renderer>)>;
static RENDERERS: ForkLocal<Registry> = ForkLocal::new();

impl Renderer {
    /// The process's renderer for `launch` (no browser started yet).
    pub(crate) fn shared(launch: &LaunchSettings) -> Arc<Renderer> {
        let found = RENDERERS.with(
            || Ok::<_, std::convert::Infallible>(Vec::new()),
            |registry| {
                if let Some((_, found)) = registry.iter().find(|(l, _)| l == launch) {
                    return found.clone();
                }
                let renderer = Arc::new(Renderer::new(launch.clone()));
                registry.push((launch.clone(), renderer.clone()));
                renderer
            },
        );
        match found {
            Ok(renderer) => renderer,
            Err(never) => match never {},
        }
    }

    fn new(launch: LaunchSettings) -> Self {
        Self {
            launch,
            counters: Arc::default(),
            state: Mutex::new(State {
                owner: std::process::id(),
                browser: None,
                largest_body: 0,
            }),
            launching: tokio::sync::Mutex::new(()),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if state.owner != pid {
            // A forked child: the browser, its pipes and threads are the parent's.
            std::mem::forget(state.browser.take());
            state.owner = pid;
        }
        state
    }

    /// Renders `job`, serving the browser's requests with `fetch`.
    pub(crate) async fn render(
        &self,
        job: RenderJob,
        fetch: SubFetch,
    ) -> Result<Rendered, RenderError> {
        let tab = self.take_tab(job.max_body).await?;
        Counters::add(&self.counters.pages);
        let result = tab::render(tab.browser.cdp(), job, fetch).await;
        match &result {
            Ok(rendered) if !rendered.settled => Counters::add(&self.counters.timeouts),
            Err(RenderError::Crashed(cause)) if cause.starts_with(tab::RENDERER_CRASHED) => {
                Counters::add(&self.counters.crashes)
            }
            Err(RenderError::Hung(_)) => {
                // The page's renderer is stuck: a browser that did not close the tab is killed.
                tab.browser.kill_if_unresponsive().await;
            }
            _ => {}
        }
        result
    }

    /// A tab slot on a running browser: started if there is none, restarted after
    /// `recycle_after` pages once its tabs in flight have ended.
    async fn take_tab(&self, max_body: u64) -> Result<TabSlot<'_>, RenderError> {
        loop {
            let changed = self.changed.notified();
            match self.try_take_tab(max_body) {
                Taken::Tab(browser) => {
                    return Ok(TabSlot {
                        browser,
                        renderer: self,
                    })
                }
                Taken::Recycling => {
                    // Wait for the tabs in flight (re-checked at least every 100 ms).
                    let _ = tokio::time::timeout(Duration::from_millis(100), changed).await;
                    continue;
                }
                Taken::NoBrowser => {}
            }
            let _launching = self.launching.lock().await;
            if self.state().browser.is_some() {
                continue;
            }
            let limit = message_limit(self.state().largest_body);
            let browser = Browser::launch(&self.launch, limit, self.counters.clone()).await?;
            Counters::add(&self.counters.browser_starts);
            self.state().browser = Some(Arc::new(browser));
        }
    }

    /// A tab on the running browser, if there is one that may take it.
    fn try_take_tab(&self, max_body: u64) -> Taken {
        let mut state = self.state();
        state.largest_body = state.largest_body.max(max_body);
        let Some(browser) = state.browser.clone() else {
            return Taken::NoBrowser;
        };
        browser
            .cdp()
            .set_message_limit(message_limit(state.largest_body));
        if browser.is_closed() {
            state.browser = None;
            Taken::NoBrowser
        } else if browser.pages() < self.launch.recycle_after.max(1) {
            browser.begin_tab();
            Taken::Tab(browser)
        } else if browser.tabs() == 0 {
            browser.close_recycled();
            state.browser = None;
            Taken::NoBrowser
        } else {
            Taken::Recycling
        }
    }

    /// What the renderer did so far.
    pub(crate) fn stats(&self) -> RenderStats {
        let c = &self.counters;
        let rss_bytes = self
            .state()
            .browser
            .as_ref()
            .filter(|b| !b.is_closed())
            .map_or(0, |b| b.rss());
        RenderStats {
            pages: c.pages.load(Ordering::Relaxed),
            browser_starts: c.browser_starts.load(Ordering::Relaxed),
            crashes: c.crashes.load(Ordering::Relaxed),
            memory_kills: c.memory_kills.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            rss_bytes,
            peak_rss_bytes: c.peak_rss.load(Ordering::Relaxed),
        }
    }
}

/// The largest message accepted from the browser: twice the largest snapshot (JSON escaping),
/// at least 16 MiB. Larger is a protocol error that kills the browser: never buffer unbounded.
fn message_limit(largest_body: u64) -> usize {
    let limit = largest_body.saturating_mul(2).max(16 << 20);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

enum Taken {
    Tab(Arc<Browser>),
    /// The browser is due for a restart once its tabs end.
    Recycling,
    NoBrowser,
}

/// A tab in flight on a browser: ending it (even by cancellation) lets recycling proceed.
struct TabSlot<'a> {
    browser: Arc<Browser>,
    renderer: &'a Renderer,
}

impl Drop for TabSlot<'_> {
    fn drop(&mut self) {
        self.browser.end_tab();
        self.renderer.changed.notify_waiters();
    }
}

//! `Native::Crawler` and `Native::Crawl`: thin handles over the engine's `Crawler` and `Crawl`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use magnus::{kwargs, prelude::*, Error, RArray, RModule, RString, Ruby, Value};
use ucrawler::error::panic_message;
use ucrawler::{Config, Crawl, Crawler, FeedError, LastVisit, Next, Page, Request};

use crate::errors::{catch_panics, config_error, error, internal_error};
use crate::gvl::without_gvl;
use crate::page::PageHandle;

/// How often a wait without the GVL looks at Ruby's interrupt flag.
const POLL: Duration = Duration::from_millis(20);

#[magnus::wrap(class = "UcrawlerNative::Native::Crawler", free_immediately, size)]
pub struct CrawlerHandle {
    crawler: Crawler,
}

impl CrawlerHandle {
    /// `Native::Crawler.new(json)`: options as a JSON object, validated by the engine.
    pub fn new(ruby: &Ruby, json: RString) -> Result<Self, Error> {
        catch_panics(ruby, || {
            // SAFETY: the bytes are copied before any Ruby code can run.
            let json = unsafe { json.as_str()? }.to_owned();
            let config = Config::from_json(&json).map_err(|e| config_error(ruby, e.to_string()))?;
            let crawler = Crawler::new(config).map_err(|e| config_error(ruby, e.to_string()))?;
            Ok(Self { crawler })
        })
    }

    /// Starts a crawl fed by `Crawl#feed` (threads are created here, once per process).
    pub fn open(ruby: &Ruby, rb_self: &Self) -> Result<CrawlHandle, Error> {
        catch_panics(ruby, || {
            let crawl = rb_self
                .crawler
                .open()
                .map_err(|e| error(ruby, e.to_string()))?;
            Ok(CrawlHandle {
                crawl: Mutex::new(crawl),
                young: YoungPages::default(),
            })
        })
    }
}

#[magnus::wrap(class = "UcrawlerNative::Native::Crawl", free_immediately, size)]
pub struct CrawlHandle {
    crawl: Mutex<Crawl>,
    young: YoungPages,
}

/// Native bytes of pages handed to Ruby since its last GC, past which we ask for a minor GC.
/// Pages die young (a block takes each one and lets it go), but Ruby's GC only looks at its
/// malloc counter against a 16–32 MiB limit, so dead pages piled up to that much native memory
/// (about 8 MiB of a gem process's peak on the 20k-page benchmark). A minor GC frees them for
/// the cost of a young-generation mark; 1 MiB is about 200 test-site pages with their links.
const MINOR_GC_EVERY: u64 = 1 << 20;

#[derive(Default)]
struct YoungPages {
    bytes: AtomicU64,
    /// `GC.count` when `bytes` started counting: a GC Ruby ran by itself resets it.
    since_gc: AtomicUsize,
}

impl YoungPages {
    fn gc_count() -> usize {
        // SAFETY: reads a VM counter; called with the GVL held.
        unsafe { rb_sys::rb_gc_count() as usize }
    }

    fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Relaxed);
    }

    /// Runs a minor GC when enough page memory was handed out since the last GC. GVL held.
    fn collect_if_due(&self, ruby: &Ruby) -> Result<(), Error> {
        let count = Self::gc_count();
        if self.since_gc.swap(count, Relaxed) != count {
            self.bytes.store(0, Relaxed);
            return Ok(());
        }
        if self.bytes.load(Relaxed) < MINOR_GC_EVERY {
            return Ok(());
        }
        let gc: RModule = ruby.class_object().const_get("GC")?;
        let _: Value = gc.funcall(
            "start",
            (kwargs!("full_mark" => false, "immediate_sweep" => true),),
        )?;
        self.bytes.store(0, Relaxed);
        self.since_gc.store(Self::gc_count(), Relaxed);
        Ok(())
    }
}

enum Batch {
    Pages(Vec<Page>),
    Finished,
}

impl CrawlHandle {
    fn lock(&self) -> MutexGuard<'_, Crawl> {
        self.crawl
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `feed([[url, meta_or_nil(, [etag, last_modified, content_hash])], ...])`: queues seeds
    /// without blocking (a third element makes a seed a revisit, each of its values a String or
    /// nil); returns how many were taken (fewer when the seed buffer is full: take pages, then
    /// feed the rest).
    pub fn feed(ruby: &Ruby, rb_self: &Self, batch: RArray) -> Result<usize, Error> {
        catch_panics(ruby, || {
            let crawl = rb_self.lock();
            let mut accepted = 0;
            for item in batch.into_iter() {
                let request = seed(magnus::TryConvert::try_convert(item)?)?;
                match crawl.feed(request) {
                    Ok(()) => accepted += 1,
                    Err(FeedError::Full(_) | FeedError::Closed(_)) => break,
                }
            }
            Ok(accepted)
        })
    }

    pub fn close_seeds(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        catch_panics(ruby, || {
            rb_self.lock().close_seeds();
            Ok(())
        })
    }

    /// `next_batch(max, timeout)`: waits up to `timeout` seconds (GVL released) for pages and
    /// returns those ready (at most `max`): an Array, empty if none came in time, or nil when
    /// the crawl is over. Ruby interrupts (Ctrl-C, Timeout, Thread#raise/kill) end the wait at
    /// once and are raised here.
    pub fn next_batch(
        ruby: &Ruby,
        rb_self: &Self,
        max: usize,
        timeout: f64,
    ) -> Result<Option<RArray>, Error> {
        // The pages of earlier batches the block is done with go first.
        rb_self.young.collect_if_due(ruby)?;
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        let max = max.max(1);
        let outcome = without_gvl(|interrupted| {
            let deadline = Instant::now().checked_add(timeout);
            let mut crawl = rb_self.lock();
            loop {
                let remaining =
                    deadline.map_or(POLL, |d| d.saturating_duration_since(Instant::now()));
                match crawl.next_timeout(remaining.min(POLL)) {
                    Next::Page(page) => {
                        let mut pages = vec![*page];
                        crawl.drain_ready(max, &mut pages);
                        return Batch::Pages(pages);
                    }
                    Next::Finished => return Batch::Finished,
                    Next::Pending => {
                        if interrupted.load(std::sync::atomic::Ordering::SeqCst)
                            || remaining.is_zero()
                        {
                            return Batch::Pages(Vec::new());
                        }
                    }
                }
            }
        });
        // With the GVL back: raise whatever interrupted us (the Ruby layer cancels the crawl).
        ruby.thread_check_ints()?;
        match outcome {
            None => Ok(Some(ruby.ary_new())),
            Some(Err(panic)) => Err(internal_error(
                ruby,
                format!(
                    "panic while waiting for pages: {}",
                    panic_message(panic.as_ref())
                ),
            )),
            Some(Ok(Batch::Finished)) => Ok(None),
            Some(Ok(Batch::Pages(pages))) => {
                let array = ruby.ary_new_capa(pages.len());
                for page in pages {
                    let page = PageHandle::from(page);
                    rb_self.young.add(page.native_bytes());
                    array.push(page)?;
                }
                Ok(Some(array))
            }
        }
    }

    pub fn cancel(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        catch_panics(ruby, || {
            rb_self.lock().cancel();
            Ok(())
        })
    }

    pub fn stats_json(ruby: &Ruby, rb_self: &Self) -> Result<String, Error> {
        catch_panics(ruby, || {
            serde_json::to_string(&rb_self.lock().stats())
                .map_err(|e| internal_error(ruby, e.to_string()))
        })
    }
}

/// `Native.metrics_text([[label, crawl], ...])`: Prometheus text of those crawls' stats.
pub fn metrics_text(ruby: &Ruby, crawls: RArray) -> Result<String, Error> {
    let stats = labelled_stats(ruby, crawls)?;
    let refs: Vec<(&str, &ucrawler::Stats)> = stats
        .iter()
        .map(|(label, stats)| (label.as_str(), stats))
        .collect();
    Ok(ucrawler::metrics::prometheus(&refs))
}

/// The stats of `[[label, crawl], ...]`, read without the GVL: a crawl's lock is held by a
/// thread waiting for pages (up to a poll). `crawls` (the caller's Array) keeps the objects
/// alive meanwhile.
pub fn labelled_stats(
    ruby: &Ruby,
    crawls: RArray,
) -> Result<Vec<(String, ucrawler::Stats)>, Error> {
    let mut labelled = Vec::with_capacity(crawls.len());
    for item in crawls.into_iter() {
        let (label, crawl): (String, magnus::typed_data::Obj<CrawlHandle>) =
            magnus::TryConvert::try_convert(item)?;
        labelled.push((label, crawl));
    }
    let handles: Vec<(&str, &CrawlHandle)> = (labelled.iter())
        .map(|(label, crawl)| (label.as_str(), &**crawl))
        .collect();
    let collected = without_gvl(|_| {
        (handles.iter())
            .map(|(label, crawl)| (label.to_string(), crawl.lock().stats()))
            .collect::<Vec<_>>()
    });
    ruby.thread_check_ints()?;
    match collected {
        Some(Ok(stats)) => Ok(stats),
        None => Err(error(ruby, "reading the crawls' stats interrupted")),
        Some(Err(panic)) => Err(internal_error(
            ruby,
            format!("panic reading stats: {}", panic_message(panic.as_ref())),
        )),
    }
}

/// The engine's defaults, as JSON: the Ruby layer's list of option names and their defaults.
pub fn default_config_json(ruby: &Ruby) -> Result<String, Error> {
    catch_panics(ruby, || {
        serde_json::to_string(&Config::default()).map_err(|e| internal_error(ruby, e.to_string()))
    })
}

/// One seed from its Ruby form (see `feed`).
pub fn seed(item: RArray) -> Result<Request, Error> {
    let url: RString = item.entry(0)?;
    let meta: Option<RString> = item.entry(1)?;
    // SAFETY: copied before any Ruby code can run.
    let mut request = Request::new(unsafe { url.as_str()? }.to_owned());
    if let Some(meta) = meta {
        request.meta = Some(unsafe { meta.as_slice() }.to_vec().into());
    }
    if let Some(last) = item.entry::<Option<RArray>>(2)? {
        let text = |i: isize| -> Result<Option<String>, Error> {
            let value: Option<RString> = last.entry(i)?;
            value.map(|v| v.to_string()).transpose()
        };
        request = request.with_last_visit(LastVisit {
            etag: text(0)?,
            last_modified: text(1)?,
            content_hash: text(2)?,
        });
    }
    Ok(request)
}

//! Ruby bindings for the ucrawler engine. This crate only converts values and manages the GVL:
//! option parsing is the engine's (`Config::from_json`), keyword handling, blocks and
//! enumerators are the Ruby layer's (`lib/ucrawler_native`).

mod crawl;
mod dashboard;
mod errors;
mod gvl;
mod page;
mod redis_frontier;

use magnus::{function, method, prelude::*, Error, Ruby};

/// Engine warnings (Redis unreachable and retrying, journal errors, a stalled crawl) go to the
/// process's stderr, which Sidekiq, Puma and systemd collect; `UCRAWLER_LOG` (e.g. `info`,
/// `ucrawler=debug`, `off`) changes the level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("UCRAWLER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Another library of the process may have installed one already: then it gets our events.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

#[magnus::init(name = "ucrawler_native")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    init_logging();
    let root = ruby.define_module("UcrawlerNative")?;
    let native = root.define_module("Native")?;

    let crawler = native.define_class("Crawler", ruby.class_object())?;
    crawler.define_singleton_method("new", function!(crawl::CrawlerHandle::new, 1))?;
    crawler.define_method("open", method!(crawl::CrawlerHandle::open, 0))?;

    let crawl = native.define_class("Crawl", ruby.class_object())?;
    crawl.define_method("feed", method!(crawl::CrawlHandle::feed, 1))?;
    crawl.define_method("close_seeds", method!(crawl::CrawlHandle::close_seeds, 0))?;
    crawl.define_method("next_batch", method!(crawl::CrawlHandle::next_batch, 2))?;
    crawl.define_method("cancel", method!(crawl::CrawlHandle::cancel, 0))?;
    crawl.define_method("stats_json", method!(crawl::CrawlHandle::stats_json, 0))?;

    let frontier = native.define_class("RedisFrontier", ruby.class_object())?;
    frontier.define_singleton_method(
        "new",
        function!(redis_frontier::RedisFrontierHandle::new, 5),
    )?;
    frontier.define_method(
        "push",
        method!(redis_frontier::RedisFrontierHandle::push, 2),
    )?;
    frontier.define_method(
        "stats_json",
        method!(redis_frontier::RedisFrontierHandle::stats_json, 0),
    )?;
    frontier.define_method(
        "clear",
        method!(redis_frontier::RedisFrontierHandle::clear, 0),
    )?;
    frontier.define_method(
        "recrawl",
        method!(redis_frontier::RedisFrontierHandle::recrawl, 0),
    )?;

    let page = root.define_class("Page", ruby.class_object())?;
    page::define_methods(page)?;

    native.define_singleton_method(
        "default_config_json",
        function!(crawl::default_config_json, 0),
    )?;
    native.define_singleton_method("metrics_text", function!(crawl::metrics_text, 1))?;
    native.define_singleton_method("dashboard_overview", function!(dashboard::overview, 3))?;
    native.define_singleton_method("dashboard_action", function!(dashboard::action, 4))?;
    native.define_singleton_method("panic!", function!(errors::test_panic, 0))?;
    native.define_singleton_method("redact_password", function!(redact_password, 1))?;
    Ok(())
}

/// `Native.redact_password(url)`: the URL with its password hidden (the engine's rule).
fn redact_password(url: String) -> String {
    ucrawler::url::redact_password(&url)
}

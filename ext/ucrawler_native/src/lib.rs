//! Ruby bindings for the ucrawler engine. This crate only converts values and manages the GVL:
//! option parsing is the engine's (`Config::from_json`), keyword handling, blocks and
//! enumerators are the Ruby layer's (`lib/ucrawler_native`).

mod crawl;
mod errors;
mod gvl;
mod page;

use magnus::{function, method, prelude::*, Error, Ruby};

#[magnus::init(name = "ucrawler_native")]
fn init(ruby: &Ruby) -> Result<(), Error> {
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

    let page = root.define_class("Page", ruby.class_object())?;
    page::define_methods(page)?;

    native.define_singleton_method(
        "default_config_json",
        function!(crawl::default_config_json, 0),
    )?;
    native.define_singleton_method("panic!", function!(errors::test_panic, 0))?;
    Ok(())
}

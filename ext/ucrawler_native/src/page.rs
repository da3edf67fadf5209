//! `UcrawlerNative::Page`: wraps the engine's `Page`; Ruby strings and arrays are made only when
//! an accessor is called (the Ruby layer memoizes and freezes them). No HTML enters the Ruby heap
//! unless the crawler was built with `keep_body: true`.

use magnus::{method, prelude::*, Error, IntoValue, RArray, RClass, RHash, RString, Ruby, Value};
use ucrawler::parse::OPEN_GRAPH_PREFIXES;
use ucrawler::Page;

#[magnus::wrap(class = "UcrawlerNative::Page", free_immediately, size)]
pub struct PageHandle(Page, Links, #[allow(dead_code)] GcPressure);

/// A page's links in one allocation (NUL-separated: a normalized URL never holds a raw NUL)
/// instead of a String each: a page waiting for Ruby's GC costs a third of the memory.
struct Links(Box<str>);

impl Links {
    fn take(page: &mut Page) -> Self {
        let links = std::mem::take(&mut page.links);
        Self(links.join("\0").into_boxed_str())
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\0').filter(|link| !link.is_empty())
    }
}

/// Held for its `Drop`. Tells Ruby's GC about the memory a page holds outside the Ruby heap. Without it a loop that
/// takes thousands of pages a second and allocates few Ruby objects rarely triggers a GC, and
/// dead pages (with their links and headers) pile up: 150 MiB on a 20k-page crawl.
struct GcPressure(isize);

impl GcPressure {
    /// Only with the GVL held (pages are wrapped while it is).
    fn new(bytes: u64) -> Self {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        // SAFETY: a counter update in the VM; we hold the GVL.
        unsafe { rb_sys::rb_gc_adjust_memory_usage(bytes as rb_sys::ssize_t) };
        Self(bytes)
    }
}

impl Drop for GcPressure {
    fn drop(&mut self) {
        // SAFETY: runs when Ruby frees the page object, inside its GC (GVL held).
        unsafe { rb_sys::rb_gc_adjust_memory_usage(-self.0 as rb_sys::ssize_t) };
    }
}

impl PageHandle {
    /// The native memory it holds (as told to Ruby's GC).
    pub fn native_bytes(&self) -> u64 {
        self.2 .0.unsigned_abs() as u64
    }
}

impl From<Page> for PageHandle {
    fn from(mut page: Page) -> Self {
        let links = Links::take(&mut page);
        let pressure = GcPressure::new(page.memory_bytes() + links.0.len() as u64);
        Self(page, links, pressure)
    }
}

fn frozen(ruby: &Ruby, s: &str) -> RString {
    let string = ruby.str_new(s);
    string.freeze();
    string
}

fn frozen_opt(ruby: &Ruby, s: Option<&str>) -> Option<RString> {
    s.map(|s| frozen(ruby, s))
}

fn strings(ruby: &Ruby, values: &[String]) -> RArray {
    let array = ruby.ary_new_capa(values.len());
    for value in values {
        // Cannot fail: the array is ours and not frozen.
        let _ = array.push(frozen(ruby, value));
    }
    array
}

/// A JSON value as frozen Ruby objects: Hash (String keys), Array, String, Integer, Float,
/// true, false, nil. Nesting is held by the engine's parser (serde_json's recursion limit).
fn json(ruby: &Ruby, value: &serde_json::Value) -> Result<Value, Error> {
    use serde_json::Value as Json;
    let value = match value {
        Json::Null => ruby.qnil().as_value(),
        Json::Bool(b) => b.into_value_with(ruby),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ruby.integer_from_i64(i).as_value(),
            (None, Some(u), _) => ruby.integer_from_u64(u).as_value(),
            (None, None, f) => ruby.float_from_f64(f.unwrap_or(f64::NAN)).as_value(),
        },
        Json::String(s) => frozen(ruby, s).as_value(),
        Json::Array(items) => {
            let array = ruby.ary_new_capa(items.len());
            for item in items {
                array.push(json(ruby, item)?)?;
            }
            array.freeze();
            array.as_value()
        }
        Json::Object(node) => {
            let hash = ruby.hash_new();
            for (key, item) in node {
                hash.aset(frozen(ruby, key), json(ruby, item)?)?;
            }
            hash.freeze();
            hash.as_value()
        }
    };
    Ok(value)
}

impl PageHandle {
    fn url(ruby: &Ruby, rb_self: &Self) -> RString {
        frozen(ruby, &rb_self.0.url)
    }
    fn final_url(ruby: &Ruby, rb_self: &Self) -> RString {
        frozen(ruby, &rb_self.0.final_url)
    }
    /// nil when there was no HTTP response (the engine's 0: connect error, robots.txt, ...).
    fn status(&self) -> Option<u16> {
        Some(self.0.status).filter(|&status| status != 0)
    }
    fn content_type(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.content_type.as_deref())
    }
    fn title(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.title.as_deref())
    }
    fn description(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.description.as_deref())
    }
    fn canonical(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.canonical.as_deref())
    }
    fn duplicate_of(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.duplicate_of.as_deref())
    }
    fn noindex(&self) -> bool {
        self.0.noindex
    }
    fn nofollow(&self) -> bool {
        self.0.nofollow
    }
    fn links(ruby: &Ruby, rb_self: &Self) -> RArray {
        let array = ruby.ary_new();
        for link in rb_self.1.iter() {
            // Cannot fail: the array is ours and not frozen.
            let _ = array.push(frozen(ruby, link));
        }
        array
    }
    fn nofollow_links(ruby: &Ruby, rb_self: &Self) -> RArray {
        strings(ruby, &rb_self.0.nofollow_links)
    }
    fn extracted(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        for (name, values) in &rb_self.0.extracted {
            hash.aset(ruby.to_symbol(name), strings(ruby, values))?;
        }
        Ok(hash)
    }
    fn json_ld(ruby: &Ruby, rb_self: &Self) -> Result<RArray, Error> {
        let array = ruby.ary_new_capa(rb_self.0.json_ld.len());
        for block in &rb_self.0.json_ld {
            array.push(json(ruby, block)?)?;
        }
        Ok(array)
    }
    fn json_ld_errors(ruby: &Ruby, rb_self: &Self) -> RArray {
        strings(ruby, &rb_self.0.json_ld_errors)
    }
    fn json_ld_types(ruby: &Ruby, rb_self: &Self) -> RArray {
        let array = ruby.ary_new();
        for name in rb_self.0.json_ld_types() {
            // Cannot fail: the array is ours and not frozen.
            let _ = array.push(frozen(ruby, name));
        }
        array
    }
    /// The first value at `path` (see `Page::json_ld_value`), or nil.
    fn json_ld_value(ruby: &Ruby, rb_self: &Self, path: String) -> Result<Value, Error> {
        match rb_self.0.json_ld_value(&path) {
            Some(value) => json(ruby, value),
            None => Ok(ruby.qnil().as_value()),
        }
    }
    fn open_graph(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        for (name, values) in &rb_self.0.open_graph {
            hash.aset(frozen(ruby, name), strings(ruby, values))?;
        }
        Ok(hash)
    }
    fn headers(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        for (name, value) in &rb_self.0.headers {
            hash.aset(frozen(ruby, name), frozen(ruby, value))?;
        }
        Ok(hash)
    }
    fn body(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.body.as_deref())
    }
    fn depth(&self) -> u32 {
        self.0.depth
    }
    fn bytes(&self) -> u64 {
        self.0.bytes
    }
    fn elapsed(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
    fn fetch_time(&self) -> f64 {
        self.0.timings.fetch.as_secs_f64()
    }
    fn parse_time(&self) -> f64 {
        self.0.timings.parse.as_secs_f64()
    }
    fn render_time(&self) -> f64 {
        self.0.timings.render.as_secs_f64()
    }
    fn rendered(&self) -> bool {
        self.0.rendered
    }
    fn truncated(&self) -> bool {
        self.0.truncated
    }
    fn attempts(&self) -> u32 {
        self.0.attempts
    }
    fn meta_bytes(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        rb_self.0.meta.as_deref().map(|m| ruby.str_from_slice(m))
    }
    fn etag(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.etag.as_deref())
    }
    fn last_modified(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.last_modified.as_deref())
    }
    fn content_hash(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.content_hash.as_deref())
    }
    fn lastmod(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        frozen_opt(ruby, rb_self.0.lastmod.as_deref())
    }
    fn change(ruby: &Ruby, rb_self: &Self) -> Option<magnus::Symbol> {
        rb_self.0.change.map(|c| ruby.to_symbol(c.as_str()))
    }
    fn error_kind(ruby: &Ruby, rb_self: &Self) -> Option<magnus::Symbol> {
        rb_self.0.error.as_ref().map(|e| ruby.to_symbol(e.kind()))
    }
    fn error_message(ruby: &Ruby, rb_self: &Self) -> Option<RString> {
        rb_self
            .0
            .error
            .as_ref()
            .map(|e| frozen(ruby, &e.to_string()))
    }
}

pub fn define_methods(class: RClass) -> Result<(), Error> {
    class.define_method("url", method!(PageHandle::url, 0))?;
    class.define_method("final_url", method!(PageHandle::final_url, 0))?;
    class.define_method("status", method!(PageHandle::status, 0))?;
    class.define_method("content_type", method!(PageHandle::content_type, 0))?;
    class.define_method("title", method!(PageHandle::title, 0))?;
    class.define_method("description", method!(PageHandle::description, 0))?;
    class.define_method("canonical", method!(PageHandle::canonical, 0))?;
    class.define_method("duplicate_of", method!(PageHandle::duplicate_of, 0))?;
    class.define_method("noindex?", method!(PageHandle::noindex, 0))?;
    class.define_method("nofollow?", method!(PageHandle::nofollow, 0))?;
    class.define_method("_links", method!(PageHandle::links, 0))?;
    class.define_method("_extracted", method!(PageHandle::extracted, 0))?;
    class.define_method("_nofollow_links", method!(PageHandle::nofollow_links, 0))?;
    class.define_method("_headers", method!(PageHandle::headers, 0))?;
    class.define_method("_json_ld", method!(PageHandle::json_ld, 0))?;
    class.define_method("_json_ld_errors", method!(PageHandle::json_ld_errors, 0))?;
    class.define_method("_json_ld_types", method!(PageHandle::json_ld_types, 0))?;
    class.define_method("_json_ld_value", method!(PageHandle::json_ld_value, 1))?;
    class.define_method("_open_graph", method!(PageHandle::open_graph, 0))?;
    // The property names `open_graph` collects, for the Ruby side's path checks.
    let ruby = Ruby::get_with(class);
    let prefixes = ruby.ary_new();
    for prefix in OPEN_GRAPH_PREFIXES {
        prefixes.push(frozen(&ruby, prefix))?;
    }
    prefixes.freeze();
    class.const_set("OPEN_GRAPH_PREFIXES", prefixes)?;
    class.define_method("body", method!(PageHandle::body, 0))?;
    class.define_method("depth", method!(PageHandle::depth, 0))?;
    class.define_method("bytes", method!(PageHandle::bytes, 0))?;
    class.define_method("elapsed", method!(PageHandle::elapsed, 0))?;
    class.define_method("fetch_time", method!(PageHandle::fetch_time, 0))?;
    class.define_method("parse_time", method!(PageHandle::parse_time, 0))?;
    class.define_method("render_time", method!(PageHandle::render_time, 0))?;
    class.define_method("rendered?", method!(PageHandle::rendered, 0))?;
    class.define_method("truncated?", method!(PageHandle::truncated, 0))?;
    class.define_method("attempts", method!(PageHandle::attempts, 0))?;
    class.define_method("_meta_bytes", method!(PageHandle::meta_bytes, 0))?;
    class.define_method("etag", method!(PageHandle::etag, 0))?;
    class.define_method("last_modified", method!(PageHandle::last_modified, 0))?;
    class.define_method("content_hash", method!(PageHandle::content_hash, 0))?;
    class.define_method("lastmod", method!(PageHandle::lastmod, 0))?;
    class.define_method("change", method!(PageHandle::change, 0))?;
    class.define_method("_error_kind", method!(PageHandle::error_kind, 0))?;
    class.define_method("_error_message", method!(PageHandle::error_message, 0))?;
    Ok(())
}

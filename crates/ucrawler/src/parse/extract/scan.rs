//! The streaming pass over a page (lol_html): title, base, meta, canonical, links, JSON-LD and
//! OpenGraph, and the text for the content hash, without building a tree.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, HandlerResult, Selector as StreamSelector};

use super::{attribute, is_canonical_rel, is_nofollow_rel};
use crate::parse::structured::{self, Collector};
use crate::parse::text_hash::TextHash;

#[derive(Default)]
pub(super) struct Raw {
    pub(super) titles: usize,
    pub(super) title: String,
    pub(super) base: Option<String>,
    pub(super) description: Option<String>,
    pub(super) robots: Vec<String>,
    pub(super) canonical: Option<String>,
    /// Each `href` with whether its anchor is `rel="nofollow"`.
    pub(super) hrefs: Vec<(String, bool)>,
    /// Only when the text is hashed: otherwise lol_html need not decode the text at all.
    pub(super) text: Option<TextHash>,
    pub(super) structured: Collector,
}

/// The streaming pass's selectors, parsed once (lol_html's `element!` parses its selector on
/// every call: ~2 % of a page's parse time).
struct Selectors {
    pub(super) title: StreamSelector,
    pub(super) base: StreamSelector,
    meta_named: StreamSelector,
    link: StreamSelector,
    script: StreamSelector,
    meta: StreamSelector,
    anchor: StreamSelector,
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| {
    let parse = |selector: &str| {
        selector
            .parse::<StreamSelector>()
            .unwrap_or_else(|e| unreachable!("selector {selector:?}: {e}"))
    };
    Selectors {
        title: parse("title"),
        base: parse("base[href]"),
        meta_named: parse("meta[name][content]"),
        link: parse("link[rel][href]"),
        script: parse("script"),
        meta: parse("meta[content]"),
        anchor: parse("a[href], area[href]"),
    }
});

type Handler<'s, 'h> = (Cow<'s, StreamSelector>, ElementContentHandlers<'h>);

/// An element handler on a parsed selector (the closure's type spelled out, as `element!` does).
fn on_element<'s, 'h>(
    selector: &'s StreamSelector,
    handler: impl FnMut(&mut Element<'_, '_>) -> HandlerResult + 'h,
) -> Handler<'s, 'h> {
    let handlers = ElementContentHandlers::default().element(handler);
    (Cow::Borrowed(selector), handlers)
}

/// A text handler on a parsed selector.
fn on_text<'s, 'h>(
    selector: &'s StreamSelector,
    handler: impl FnMut(&mut TextChunk<'_>) -> HandlerResult + 'h,
) -> Handler<'s, 'h> {
    let handlers = ElementContentHandlers::default().text(handler);
    (Cow::Borrowed(selector), handlers)
}

/// The streaming pass, hashing the text if `hash_text`; `None` if lol_html gives up on the
/// input (the DOM path then decides).
pub(super) fn scan(html: &str, hash_text: bool) -> Option<Raw> {
    use lol_html::{doc_text, HtmlRewriter, Settings};
    let selectors = &*SELECTORS;
    let raw = RefCell::new(Raw {
        text: hash_text.then(TextHash::default),
        ..Raw::default()
    });
    let mut settings = Settings::new();
    if hash_text {
        settings = settings.append_document_content_handler(doc_text!(|chunk| {
            if let Some(text) = &mut raw.borrow_mut().text {
                if TextHash::counts(chunk.text_type()) {
                    text.add(chunk.as_str());
                    if chunk.last_in_text_node() {
                        text.end_node();
                    }
                }
            }
            Ok(())
        }));
    }
    let settings = settings
        .append_element_content_handler(on_element(&selectors.title, |_| {
            raw.borrow_mut().titles += 1;
            Ok(())
        }))
        // Only the first <title>, as in the DOM path.
        .append_element_content_handler(on_text(&selectors.title, |chunk| {
            let mut raw = raw.borrow_mut();
            if raw.titles == 1 {
                raw.title.push_str(chunk.as_str());
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.base, |el| {
            let mut raw = raw.borrow_mut();
            if raw.base.is_none() {
                raw.base = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.meta_named, |el| {
            let (Some(name), Some(content)) =
                (el.get_attribute("name"), el.get_attribute("content"))
            else {
                return Ok(());
            };
            let mut raw = raw.borrow_mut();
            if name.eq_ignore_ascii_case("description") {
                raw.description.get_or_insert(content);
            } else if name.eq_ignore_ascii_case("robots") {
                raw.robots.push(content);
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.link, |el| {
            let mut raw = raw.borrow_mut();
            let canonical = el
                .get_attribute("rel")
                .is_some_and(|rel| is_canonical_rel(&rel));
            if canonical && raw.canonical.is_none() {
                raw.canonical = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.script, |el| {
            let script_type = el.get_attribute("type").map(|t| attribute(&t));
            let json_ld = script_type.is_some_and(|t| structured::is_json_ld(&t));
            raw.borrow_mut().structured.start_script(json_ld);
            Ok(())
        }))
        .append_element_content_handler(on_text(&selectors.script, |chunk| {
            let found = &mut raw.borrow_mut().structured;
            found.push_text(chunk.as_str());
            if chunk.last_in_text_node() {
                found.end_script();
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.meta, |el| {
            let [property, name] = ["property", "name"].map(|a| el.get_attribute(a));
            let [property, name] = [property, name].map(|key| key.map(|k| attribute(&k)));
            let found = &mut raw.borrow_mut().structured;
            if let Some(key) = found.property_key(property.as_deref(), name.as_deref()) {
                let content = el.get_attribute("content").unwrap_or_default();
                found.add_property(key, &attribute(&content));
            }
            Ok(())
        }))
        .append_element_content_handler(on_element(&selectors.anchor, |el| {
            if let Some(href) = el.get_attribute("href") {
                let nofollow = is_nofollow_rel(el.get_attribute("rel").as_deref());
                raw.borrow_mut().hrefs.push((href, nofollow));
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).ok()?;
    rewriter.end().ok()?;
    Some(raw.into_inner())
}

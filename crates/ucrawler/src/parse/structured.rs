//! Structured data a page declares: JSON-LD blocks (`<script type="application/ld+json">`) and
//! OpenGraph / Twitter card `<meta>` properties, gathered by the streaming pass in
//! [`super::extract`] (or from the DOM when lol_html gives up on the input).
//!
//! Bounded, as the rest of a page: at most [`MAX_JSON_LD_BLOCKS`] blocks are read, each of at
//! most [`MAX_JSON_LD_BLOCK`] bytes, [`MAX_JSON_LD_BYTES`] in all (bytes beyond are not
//! collected, and such a block is reported, not parsed); nesting is held by serde_json's
//! recursion limit (128). A parsed block's memory is taken from the crawl's `max_memory`
//! before it is kept. A block that does not parse is reported in `json_ld_errors` rather than
//! kept as an entry of `json_ld`: what `json_ld` holds is always what the page meant, so
//! readers and paths never meet an error where a node should be. Properties: at most
//! [`MAX_OPEN_GRAPH_VALUES`] values, each cut at [`MAX_OPEN_GRAPH_VALUE`] bytes.
//!
//! Where they may be: anywhere lol_html sees an element, `<template>` content included (as for
//! links); a `<noscript>` holds text to a parser with scripting on (browsers, and search
//! engines' renderers), so nothing in it counts.

use std::collections::BTreeMap;

use scraper::{Html, Selector};
use serde_json::Value;

use super::dom::DomMemory;
use crate::page::value_bytes;

/// JSON-LD blocks read per page; later ones are counted in one error.
pub const MAX_JSON_LD_BLOCKS: usize = 16;
/// Bytes of one JSON-LD block (256 KiB); a longer one is reported, not parsed.
pub const MAX_JSON_LD_BLOCK: usize = 256 << 10;
/// Bytes of JSON-LD collected per page (1 MiB); a block that would pass it is reported.
pub const MAX_JSON_LD_BYTES: usize = 1 << 20;
/// OpenGraph and Twitter card values kept per page.
pub const MAX_OPEN_GRAPH_VALUES: usize = 64;
/// Bytes of one property value (2 KiB); a longer one is cut on a character boundary.
pub const MAX_OPEN_GRAPH_VALUE: usize = 2 << 10;
/// The property names collected: OpenGraph's own, its object types', Twitter cards'.
pub const OPEN_GRAPH_PREFIXES: [&str; 7] = [
    "og:", "article:", "book:", "profile:", "music:", "video:", "twitter:",
];

/// Why a JSON-LD block is not in `json_ld`.
#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("{0}")]
    Invalid(serde_json::Error),
    #[error("longer than {MAX_JSON_LD_BLOCK} bytes, not parsed")]
    TooLong,
    #[error("past the page's {MAX_JSON_LD_BYTES} bytes of JSON-LD, not parsed")]
    PastTotal,
    #[error("not kept: the crawl's max_memory is spent")]
    OutOfMemory,
}

/// What a page declared, ready for the `Page`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Structured {
    pub json_ld: Vec<Value>,
    /// `"block N: why"` for each block not in `json_ld`.
    pub json_ld_errors: Vec<String>,
    pub open_graph: BTreeMap<String, Vec<String>>,
}

/// A JSON-LD block's text as read so far, or why it stopped being read.
enum Block {
    Text(String),
    Dropped(Problem),
}

/// Gathers a page's structured data as a parser meets it.
#[derive(Default)]
pub(super) struct Collector {
    blocks: Vec<Block>,
    /// The last block still takes text (its `<script>` is open).
    open: bool,
    /// Bytes of text held by `blocks`.
    bytes: usize,
    /// JSON-LD blocks past `MAX_JSON_LD_BLOCKS`.
    skipped: usize,
    values: usize,
    open_graph: BTreeMap<String, Vec<String>>,
}

/// A `type` attribute naming JSON-LD: any case, parameters allowed.
pub(super) fn is_json_ld(script_type: &str) -> bool {
    let essence = script_type.split(';').next().unwrap_or_default();
    essence.trim().eq_ignore_ascii_case("application/ld+json")
}

impl Collector {
    /// A `<script>` starts; `json_ld`: its type is JSON-LD.
    pub fn start_script(&mut self, json_ld: bool) {
        self.open = false;
        if !json_ld {
            return;
        }
        if self.blocks.len() == MAX_JSON_LD_BLOCKS {
            self.skipped += 1;
            return;
        }
        self.blocks.push(Block::Text(String::new()));
        self.open = true;
    }

    /// Text of the open `<script>`, in as many pieces as the parser gives.
    pub fn push_text(&mut self, text: &str) {
        let (true, Some(block)) = (self.open, self.blocks.last_mut()) else {
            return;
        };
        let Block::Text(collected) = block else {
            return;
        };
        let problem = if collected.len() + text.len() > MAX_JSON_LD_BLOCK {
            Problem::TooLong
        } else if self.bytes + text.len() > MAX_JSON_LD_BYTES {
            Problem::PastTotal
        } else {
            collected.push_str(text);
            self.bytes += text.len();
            return;
        };
        // Its text goes: a later, smaller block may still fit in the page's total.
        self.bytes -= collected.len();
        *block = Block::Dropped(problem);
    }

    /// The open `<script>` ends.
    pub fn end_script(&mut self) {
        self.open = false;
    }

    /// The key a `<meta>` with this `property` and `name` (entities decoded) is kept under: the
    /// first of the two that is an OpenGraph or Twitter card name, lowercased; `None` if neither
    /// is, or no more values are kept.
    pub fn property_key(&self, property: Option<&str>, name: Option<&str>) -> Option<String> {
        if self.values == MAX_OPEN_GRAPH_VALUES {
            return None;
        }
        [property, name]
            .into_iter()
            .flatten()
            .map(|key| key.trim().to_ascii_lowercase())
            .find(|key| is_property(key))
    }

    /// A property's `content` (entities decoded), under a key from [`Self::property_key`].
    pub fn add_property(&mut self, key: String, content: &str) {
        let value = cut(collapse_whitespace(content), MAX_OPEN_GRAPH_VALUE);
        if value.is_empty() || self.values == MAX_OPEN_GRAPH_VALUES {
            return;
        }
        self.values += 1;
        self.open_graph.entry(key).or_default().push(value);
    }

    /// Parses the blocks, each parsed value's memory taken from `memory`.
    pub fn finish(self, memory: &mut dyn DomMemory) -> Structured {
        let mut out = Structured {
            open_graph: self.open_graph,
            ..Structured::default()
        };
        for (at, block) in self.blocks.into_iter().enumerate() {
            let parsed = match block {
                Block::Text(text) => parse(&text, memory),
                Block::Dropped(problem) => Err(problem),
            };
            match parsed {
                Ok(value) => out.json_ld.push(value),
                Err(problem) => out
                    .json_ld_errors
                    .push(format!("block {}: {problem}", at + 1)),
            }
        }
        if self.skipped > 0 {
            out.json_ld_errors.push(format!(
                "{} more blocks past the first {MAX_JSON_LD_BLOCKS} not read",
                self.skipped
            ));
        }
        out
    }
}

/// A page's structured data read from its DOM, with the selectors `script` and `meta[content]`.
pub(super) fn from_dom(
    document: &Html,
    [scripts, properties]: [&Selector; 2],
    memory: &mut dyn DomMemory,
) -> Structured {
    let mut found = Collector::default();
    for script in document.select(scripts) {
        let script_type = script.value().attr("type").unwrap_or_default();
        found.start_script(is_json_ld(script_type));
        script.text().for_each(|text| found.push_text(text));
        found.end_script();
    }
    for meta in document.select(properties) {
        let meta = meta.value();
        if let Some(key) = found.property_key(meta.attr("property"), meta.attr("name")) {
            found.add_property(key, meta.attr("content").unwrap_or_default());
        }
    }
    found.finish(memory)
}

fn parse(text: &str, memory: &mut dyn DomMemory) -> Result<Value, Problem> {
    let value: Value = serde_json::from_str(text).map_err(Problem::Invalid)?;
    match memory.try_grow(value_bytes(&value) as u64) {
        true => Ok(value),
        false => Err(Problem::OutOfMemory),
    }
}

/// A name this module collects (lowercase).
fn is_property(key: &str) -> bool {
    OPEN_GRAPH_PREFIXES
        .iter()
        .any(|prefix| key.len() > prefix.len() && key.starts_with(prefix))
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests;

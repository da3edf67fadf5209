//! The parse stage: a pool of std threads ([`pool`]) turns fetched bodies into pages — charset
//! decoding ([`charset`]), extraction ([`extract`]: streaming lol_html, scraper's DOM only when
//! `extract` rules need it, built within bounds by [`dom`]; the content hash, [`text_hash`];
//! JSON-LD and OpenGraph, [`structured`]) and page building with the follow policy
//! ([`page_builder`]) — so parsing never stalls the I/O threads. Sitemaps ([`sitemap`]) are
//! the exception: streamed on the I/O thread that fetches them, an XML event at a time; so is
//! the `render: auto` look at a body ([`shell`]), which decides whether it goes to Chromium.

pub mod charset;
mod dom;
mod extract;
mod links;
mod page_builder;
mod pool;
pub mod shell;
pub mod sitemap;
mod structured;
mod text_hash;

pub use dom::{DomRefusal, MAX_DEPTH, MAX_DOM_RATIO};
pub use extract::{Extracted, Extractor};
pub(crate) use pool::{FetchedPage, ParseJob, ParserPool};
pub use structured::{
    Structured, MAX_JSON_LD_BLOCK, MAX_JSON_LD_BLOCKS, MAX_JSON_LD_BYTES, MAX_OPEN_GRAPH_VALUE,
    MAX_OPEN_GRAPH_VALUES, OPEN_GRAPH_PREFIXES,
};

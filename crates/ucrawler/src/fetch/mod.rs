//! The fetch stage: the task that fetches one page ([`task`]), one HTTP exchange with its
//! redirects, caps and timeouts ([`http`]), the shared client ([`client`]) in generations that
//! keep connections within a hard limit ([`connections`]), the address guard on a proxied
//! connection's target ([`proxy_guard`]), the retry policy ([`retry`]), and the fetches that
//! read a site's sitemaps for the scheduler ([`sitemap`]). JavaScript rendering ([`render`]):
//! headless Chromium over the DevTools pipe, its every request served by a callback.

mod client;
mod connections;
mod http;
mod proxy_guard;
pub(crate) mod render;
mod rendering;
mod retry;
mod sitemap;
mod task;

pub(crate) use client::build_client;
pub(crate) use connections::{ConnectionLimit, Connections};
pub use http::is_html;
pub(crate) use render::Renderer;
pub(crate) use rendering::{add_browser_stats, browser_for};
pub(crate) use task::{fetch_page, FetchJob};

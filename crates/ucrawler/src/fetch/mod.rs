//! The fetch stage: the task that fetches one page ([`task`]), one HTTP exchange with its
//! redirects, caps and timeouts ([`http`]), the shared client ([`client`]), the retry policy
//! ([`retry`]), and the fetch window that keeps fetching only as far ahead of the parsers as
//! they absorb ([`window`]).

mod client;
mod http;
mod retry;
mod task;
mod window;

pub(crate) use client::build_client;
pub use http::is_html;
pub(crate) use http::Fetched;
pub(crate) use task::{fetch_page, FetchJob};
pub(crate) use window::{FetchWindow, WindowPermit};

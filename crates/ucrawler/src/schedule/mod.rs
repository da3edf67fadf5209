//! The schedule stage: one task per crawl ([`Scheduler`]) admits seeds and discovered links
//! (deduplicated by the [`seen`] set, queued in the [`frontier`], journaled for `resume`), and
//! dispatches them to the fetch stage under the page slots, the fetch window, the memory budget
//! and the host gate. It also decides when the crawl is over. Under `state_dir`, the [`visits`]
//! log is what a `recrawl` starts from; the [`sitemap_plan`] says which sitemaps are read.

mod canonical;
mod frontier;
mod host_budget;
pub(crate) mod journal;
mod scheduler;
mod seen;
mod sitemap_plan;
mod spill_dir;
mod trap_guard;
pub(crate) mod visits;

pub(crate) use frontier::Frontier;
pub(crate) use journal::DoneLog;
pub(crate) use scheduler::Scheduler;
pub(crate) use visits::VisitLog;

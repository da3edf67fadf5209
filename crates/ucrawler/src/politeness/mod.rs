//! The rules every request obeys, whichever stage sends it: the process-wide host gate
//! (`per_host`, `delay`, Crawl-delay, Retry-After pauses) and the requests parked for busy hosts,
//! robots.txt, and the `private_addresses` guard against server-side request forgery.

mod address_guard;
mod host_gate;
mod parking;
mod robots;

pub use address_guard::{AddressGuard, GuardedResolver};
pub(crate) use host_gate::{process_gate, HostGate, HostHold, Limits};
pub(crate) use parking::Parking;
pub use robots::{RobotsCache, Rules};

//! The rules every request obeys, whichever stage sends it: the process-wide host gate
//! (`per_host`, `delay`, Crawl-delay, Retry-After pauses), robots.txt and `X-Robots-Tag`, and
//! the `private_addresses` guard against server-side request forgery.

mod address_guard;
mod host_gate;
mod robots;
mod robots_tag;

pub use address_guard::{AddressGuard, GuardedResolver};
pub(crate) use host_gate::{process_gate, HostGate, HostHold, HostWait, Limits};
pub(crate) use robots::rules_for;
pub use robots::{RobotsCache, RobotsFetch, Rules};
pub use robots_tag::RobotsTag;

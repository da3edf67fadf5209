//! Many boxes, one crawl: a frontier shared through Redis ([`RedisFrontier`]), the per-crawl
//! agent that talks to it for the scheduler, fleet-wide host holds, and a blocking handle for
//! callers outside a crawl (the CLI's `enqueue`/`status`, the gem's `RedisFrontier`).

mod agent;
mod blocking;
mod fleet_hold;
pub mod redis;

pub(crate) use agent::{start_agent, AgentHandle, Command};
pub use blocking::{BlockingError, BlockingFrontier};
pub(crate) use fleet_hold::FleetHold;
pub use redis::{
    FrontierStatus, Leased, Outcome, RedisFrontier, RedisFrontierError, RedisOptions, VisitUpdate,
};

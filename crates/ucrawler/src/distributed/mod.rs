//! Many boxes, one crawl: a frontier shared through Redis ([`RedisFrontier`]), the per-crawl
//! agent that talks to it for the scheduler (and sends the worker's heartbeats), fleet-wide host
//! holds, and a blocking handle for
//! callers outside a crawl (the CLI's `enqueue`/`status`, the gem's `RedisFrontier`).

mod agent;
mod blocking;
mod fleet_hold;
mod heartbeat;
pub mod redis;

pub(crate) use agent::{start_agent, AgentHandle, Command};
pub use blocking::{BlockingError, BlockingFrontier};
pub(crate) use fleet_hold::FleetHold;
pub use heartbeat::HEARTBEAT;
pub use redis::{
    Control, FrontierStatus, Leased, Outcome, RedisFrontier, RedisFrontierError, RedisOptions,
    VisitUpdate,
};

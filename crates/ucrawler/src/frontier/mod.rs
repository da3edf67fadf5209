//! Where URLs wait to be fetched. The scheduler pops from a frontier in FIFO order (breadth
//! first); per-host ordering and delays are the politeness module's business, not the frontier's.
//! [`RedisFrontier`] is the async frontier shared by the workers of a distributed crawl.

mod memory;
pub mod redis;
mod spill;

pub use self::redis::{
    FrontierStatus, Lease, Leased, Outcome, RedisFrontier, RedisFrontierError, RedisOptions,
};
pub use memory::MemoryFrontier;
pub use spill::SpillFrontier;

use crate::page::Request;

/// A queue of requests waiting to be fetched.
pub trait Frontier: Send {
    fn push(&mut self, request: Request);
    fn pop(&mut self) -> Option<Request>;
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

//! The memory budget (`max_memory`): the engine counts the bytes it holds — bodies being read,
//! documents being parsed, pages waiting for the consumer, the frontier, the seen set —
//! against one budget per crawler. Over the budget the scheduler admits no new
//! fetch until it is under again, and a body still being read when the budget runs out is cut
//! there (the page is marked `truncated`): the engine slows down, it does not grow.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;

/// What the bytes are held for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Response bodies being read or waiting to be parsed.
    Bodies,
    /// Documents being parsed and pages waiting for the consumer.
    Pages,
    /// URLs waiting in the frontier.
    Frontier,
    /// The seen set.
    Seen,
}

const PARTS: usize = 4;

/// What a body reserves for its DOM, relative to its size, when `extract` rules need one (see
/// [`body_reservation_factor`]). The DOM (typically 5–20× its HTML) takes this first and the
/// rest from the budget as it grows, or is refused (see `parse::dom`).
pub const DOM_FACTOR: u64 = 4;

/// What a body reserves per byte while it is read: itself and a decoded copy (a page not in
/// UTF-8 is converted before parsing); `1 + DOM_FACTOR` when `extract` rules will build a DOM.
/// Without rules the streaming parse builds no tree, and reserving for one would only shrink
/// how many pages fit in `max_memory`.
pub fn body_reservation_factor(builds_dom: bool) -> u64 {
    if builds_dom {
        1 + DOM_FACTOR
    } else {
        2
    }
}

/// One crawler's budget.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
    parts: [AtomicU64; PARTS],
}

/// Bytes accounted now, per part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    pub limit: u64,
    pub used: u64,
    pub peak: u64,
    pub bodies: u64,
    pub pages: u64,
    pub frontier: u64,
    pub seen: u64,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            parts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether the budget is spent (no new fetch is admitted).
    pub fn is_over(&self) -> bool {
        self.used.load(Relaxed) >= self.limit
    }

    /// Takes `bytes` if they fit under the limit.
    pub fn try_reserve(&self, part: Part, bytes: u64) -> bool {
        let fits = self
            .used
            .fetch_update(Relaxed, Relaxed, |used| {
                used.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .is_ok();
        if fits {
            self.parts[part as usize].fetch_add(bytes, Relaxed);
            self.peak.fetch_max(self.used.load(Relaxed), Relaxed);
        }
        fits
    }

    /// Takes `bytes` whether or not they fit: for memory already allocated (the frontier grows by
    /// what pages link to; a parse in progress cannot be refused halfway).
    pub fn force(&self, part: Part, bytes: u64) {
        let used = self.used.fetch_add(bytes, Relaxed) + bytes;
        self.parts[part as usize].fetch_add(bytes, Relaxed);
        self.peak.fetch_max(used, Relaxed);
    }

    pub fn release(&self, part: Part, bytes: u64) {
        self.used.fetch_sub(bytes, Relaxed);
        self.parts[part as usize].fetch_sub(bytes, Relaxed);
    }

    /// Moves a gauge (frontier, seen set) from `old` to `new` bytes.
    pub fn adjust(&self, part: Part, old: u64, new: u64) {
        if new > old {
            self.force(part, new - old);
        } else {
            self.release(part, old - new);
        }
    }

    /// A snapshot. The counters move while they are read one by one: a few attempts find a
    /// moment where `used` is the sum of the parts (always, unless the crawl is very busy).
    pub fn stats(&self) -> MemoryStats {
        let part = |p: Part| self.parts[p as usize].load(Relaxed);
        let mut stats = MemoryStats::default();
        for _ in 0..16 {
            stats = MemoryStats {
                limit: self.limit,
                used: self.used.load(Relaxed),
                peak: self.peak.load(Relaxed),
                bodies: part(Part::Bodies),
                pages: part(Part::Pages),
                frontier: part(Part::Frontier),
                seen: part(Part::Seen),
            };
            if stats.used == stats.bodies + stats.pages + stats.frontier + stats.seen {
                break;
            }
            std::thread::yield_now();
        }
        stats
    }
}

/// Bytes taken from a budget, given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    part: Part,
    bytes: u64,
}

impl Reservation {
    pub fn empty(budget: Arc<MemoryBudget>, part: Part) -> Self {
        Self {
            budget,
            part,
            bytes: 0,
        }
    }

    /// Grows by `bytes` if they fit.
    pub fn try_grow(&mut self, bytes: u64) -> bool {
        let grown = self.budget.try_reserve(self.part, bytes);
        if grown {
            self.bytes += bytes;
        }
        grown
    }

    /// Grows by `bytes` regardless of the limit.
    pub fn force_grow(&mut self, bytes: u64) {
        self.budget.force(self.part, bytes);
        self.bytes += bytes;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.release(self.part, self.bytes);
    }
}

/// The default budget: 25 % of the cgroup (v2) memory limit, or of the machine's memory when
/// there is no limit, and at most 1 GiB.
pub fn default_max_memory() -> u64 {
    const CAP: u64 = 1 << 30;
    let total = cgroup_limit().or_else(host_memory);
    total.map_or(CAP, |total| (total / 4).min(CAP))
}

fn cgroup_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok()?;
    text.trim().parse().ok() // "max" (no limit) does not parse
}

fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_within_limit_and_release() {
        let budget = Arc::new(MemoryBudget::new(100));
        let mut body = Reservation::empty(budget.clone(), Part::Bodies);
        assert!(body.try_grow(60));
        assert!(!body.try_grow(50), "over the limit");
        assert!(body.try_grow(40));
        assert!(budget.is_over());
        budget.force(Part::Frontier, 10);
        assert_eq!(budget.stats().used, 110);
        drop(body);
        budget.adjust(Part::Frontier, 10, 4);
        let stats = budget.stats();
        assert_eq!(
            (stats.used, stats.bodies, stats.frontier, stats.peak),
            (4, 0, 4, 110)
        );
        assert!(!budget.is_over());
    }

    #[test]
    fn default_is_a_quarter_capped_at_one_gib() {
        let default = default_max_memory();
        assert!(default > 0 && default <= 1 << 30);
    }
}

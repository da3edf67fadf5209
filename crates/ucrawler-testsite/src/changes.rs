//! [`Changes`]: what a recrawl from `/` must report between two generations.

use std::collections::BTreeSet;

use crate::site::{node_url, normalized_origin, reachable};
use crate::Site;

/// The URLs of a site sorted by what happened to them between two generations `from` and
/// `to` (either order), as a crawler keyed by URL sees it. "Visited" means reachable from `/`
/// at `from` and live then (a 200). Every visited URL is in exactly one of `changed`,
/// `unchanged` and `removed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Not visited, reachable and live at `to`: the pages added in between (found only
    /// through `changed` pages, which link them).
    pub added: BTreeSet<String>,
    /// Visited, live at `to` in another version: other bytes, another `ETag`, a later
    /// `Last-Modified`.
    pub changed: BTreeSet<String>,
    /// Visited, live at `to` in the same version: the same bytes and validators.
    pub unchanged: BTreeSet<String>,
    /// Visited, not live at `to` (404 or 410). Pages that did not change may still link them,
    /// so some of them are in `expected_urls_at(to)`.
    pub removed: BTreeSet<String>,
}

impl Site {
    /// What changed between generations `from` and `to`, with URLs on `base`.
    pub fn changes(&self, base: &str, from: u32, to: u32) -> Changes {
        let t = self.timeline(from.max(to));
        let before = reachable(&t, None, from);
        let after = reachable(&t, None, to);
        let origin = normalized_origin(base);
        let mut changes = Changes::default();
        for node in 0..before.len().max(after.len()) {
            let old = t.state(node / 2, from).version();
            let new = t.state(node / 2, to).version();
            let visited = before.get(node) == Some(&true) && old.is_some();
            let found = after.get(node) == Some(&true) && new.is_some();
            let set = match (visited, new) {
                (true, None) => &mut changes.removed,
                (true, Some(_)) if old == new => &mut changes.unchanged,
                (true, Some(_)) => &mut changes.changed,
                (false, _) if found => &mut changes.added,
                (false, _) => continue,
            };
            set.insert(node_url(&origin, node));
        }
        changes
    }
}

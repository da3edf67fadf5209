//! Generations: which pages change, disappear and appear from one generation to the next.
//!
//! Generation 0 is the original site. Generation `h` is made from generation `h - 1` and
//! `(seed, h)` alone: of the `n` pages live before, exactly `Churn::share(n, removed)` are
//! removed, `share(n, changed)` change and `share(n, added)` new pages appear, each adopted by
//! (linked from) one of that generation's changed pages.
//!
//! Every live page stays reachable from `/`: only "leaves" can be removed — never `/`, a page
//! with tree children (`8i+1..`), a page that links a `?sort=asc` variant, or a page that
//! adopted a new page — and a page keeps linking its live children in every version.

use std::collections::BTreeMap;

use crate::churn::Churn;
use crate::links;
use crate::rng::{at_version, hash, STREAM_CHANGE, STREAM_GONE, STREAM_PARENT, STREAM_REMOVE};

/// Not removed.
const NEVER: u32 = u32::MAX;

/// Where a page id stands in a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageState {
    /// Not created yet (answers 404, linked from nowhere).
    Absent,
    /// Served; `version` is the generation it last changed in (or was added in), which also
    /// gives its `Last-Modified`. The same version is the same bytes.
    Live { version: u32 },
    /// Removed in generation `since`; answers `status` (404, or 410 for a fixed quarter of
    /// the ids). Pages that have not changed since may still link it.
    Removed { since: u32, status: u16 },
}

impl PageState {
    /// The version served, if the page is live.
    pub fn version(self) -> Option<u32> {
        match self {
            PageState::Live { version } => Some(version),
            _ => None,
        }
    }
}

/// The history of a site up to some generation. Built on demand, extended one generation at
/// a time; nothing is computed for generation 0.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    seed: u64,
    pages: usize,
    churn: Churn,
    /// Ids never exceed this (the site stops growing).
    max_ids: usize,
    /// `totals[h]`: ids `0..totals[h]` exist by generation `h`.
    totals: Vec<usize>,
    /// By id: the generation it was removed in, or [`NEVER`]. Empty until generation 1.
    removed: Vec<u32>,
    /// By id: the generations it changed in, ascending.
    changed: Vec<Vec<u32>>,
    /// By id: never removed (keeps every live page reachable, see the module docs).
    pinned: Vec<bool>,
    /// Adopting page → the pages added under it, ascending.
    adopted: BTreeMap<usize, Vec<usize>>,
}

impl Timeline {
    pub(crate) fn new(seed: u64, pages: usize, churn: Churn) -> Timeline {
        Timeline {
            seed,
            pages,
            churn,
            max_ids: pages.saturating_mul(8).max(1024),
            totals: vec![pages],
            removed: Vec::new(),
            changed: Vec::new(),
            pinned: Vec::new(),
            adopted: BTreeMap::new(),
        }
    }

    /// The last generation computed.
    pub(crate) fn generations(&self) -> u32 {
        (self.totals.len() - 1) as u32
    }

    /// Computes every generation up to `generation`.
    pub(crate) fn extend_to(&mut self, generation: u32) {
        while self.generations() < generation {
            self.step();
        }
    }

    /// Ids `0..ids(g)` exist by generation `g` (at most the last computed).
    pub(crate) fn ids(&self, generation: u32) -> usize {
        let last = self.totals.len() - 1;
        self.totals[(generation as usize).min(last)]
    }

    /// The generation page `id` was added in (0 for the original pages).
    pub(crate) fn born(&self, id: usize) -> u32 {
        if id < self.pages {
            0
        } else {
            self.totals.partition_point(|&total| total <= id) as u32
        }
    }

    pub(crate) fn state(&self, id: usize, generation: u32) -> PageState {
        if id >= self.ids(generation) {
            return PageState::Absent;
        }
        let removed = self.removed.get(id).copied().unwrap_or(NEVER);
        if removed <= generation {
            let gone = hash(self.seed, id as u64, STREAM_GONE) % 4 == 0;
            let status = if gone { 410 } else { 404 };
            return PageState::Removed {
                since: removed,
                status,
            };
        }
        let changes = self.changed.get(id).map_or(&[][..], Vec::as_slice);
        let last_change = match changes.partition_point(|&h| h <= generation) {
            0 => 0,
            n => changes[n - 1],
        };
        PageState::Live {
            version: self.born(id).max(last_change),
        }
    }

    pub(crate) fn is_live(&self, id: usize, generation: u32) -> bool {
        matches!(self.state(id, generation), PageState::Live { .. })
    }

    /// The pages added under `id` (in any generation).
    pub(crate) fn adopted(&self, id: usize) -> &[usize] {
        self.adopted.get(&id).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn pages(&self) -> usize {
        self.pages
    }

    /// Makes generation `generations() + 1`.
    fn step(&mut self) {
        let h = self.generations() + 1;
        if self.pinned.is_empty() {
            self.pin_originals();
        }
        let seed = self.seed;
        let before = self.ids(h - 1);
        let live: Vec<usize> = (0..before).filter(|&id| self.is_live(id, h - 1)).collect();
        let n = live.len();
        // Sort keys: a fresh random order of the pages for each choice and generation.
        let ordered = |ids: &mut dyn Iterator<Item = usize>, stream: u64| {
            let mut keyed: Vec<(u64, usize)> = ids
                .map(|id| (hash(seed, id as u64, at_version(stream, h)), id))
                .collect();
            keyed.sort_unstable();
            keyed.into_iter().map(|(_, id)| id)
        };

        let removable = &mut live.iter().copied().filter(|&id| !self.pinned[id]);
        let removed: Vec<usize> = ordered(removable, STREAM_REMOVE)
            .take(Churn::share(n, self.churn.removed_ppm))
            .collect();
        for &id in &removed {
            self.removed[id] = h;
        }

        let mut added = Churn::share(n, self.churn.added_ppm).min(self.max_ids - before);
        let mut changing = Churn::share(n, self.churn.changed_ppm);
        if added > 0 {
            changing = changing.max(1); // someone has to link the new pages
        }
        let rest = &mut live.iter().copied().filter(|&id| self.removed[id] != h);
        let changed: Vec<usize> = ordered(rest, STREAM_CHANGE).take(changing).collect();
        if changed.is_empty() {
            added = 0;
        }
        for &id in &changed {
            self.changed[id].push(h);
        }

        for id in before..before + added {
            let pick = hash(seed, id as u64, STREAM_PARENT) % changed.len() as u64;
            let parent = changed[pick as usize];
            self.adopted.entry(parent).or_default().push(id);
            self.pinned[parent] = true;
        }
        let total = before + added;
        self.removed.resize(total, NEVER);
        self.changed.resize(total, Vec::new());
        self.pinned.resize(total, false);
        self.totals.push(total);
    }

    /// The original pages that may never be removed: `/`, tree parents, `?sort=asc` linkers.
    fn pin_originals(&mut self) {
        let pages = self.pages;
        self.pinned = (0..pages)
            .map(|id| {
                id == 0
                    || id.saturating_mul(8).saturating_add(1) < pages
                    || links::body_links(self.seed, pages, id)
                        .iter()
                        .any(|link| link.sort)
            })
            .collect();
        self.removed = vec![NEVER; pages];
        self.changed = vec![Vec::new(); pages];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(pages: usize, generations: u32) -> Timeline {
        let mut t = Timeline::new(1, pages, Churn::new(0.1, 0.05, 0.03).unwrap());
        t.extend_to(generations);
        t
    }

    fn count(t: &Timeline, g: u32, f: impl Fn(PageState) -> bool) -> usize {
        (0..t.ids(g)).filter(|&id| f(t.state(id, g))).count()
    }

    #[test]
    fn generation_zero_is_the_original_site() {
        let t = Timeline::new(1, 100, Churn::default());
        assert_eq!(t.generations(), 0);
        assert_eq!(t.ids(0), 100);
        assert!((0..100).all(|id| t.state(id, 0) == PageState::Live { version: 0 }));
        assert_eq!(t.state(100, 0), PageState::Absent);
    }

    #[test]
    fn each_generation_moves_the_announced_shares() {
        let t = timeline(1000, 3);
        assert_eq!(t.ids(1), 1030);
        assert_eq!(count(&t, 1, |s| matches!(s, PageState::Removed { .. })), 50);
        assert_eq!(
            count(&t, 1, |s| s == PageState::Live { version: 1 }),
            100 + 30
        );
        // Generation 2 works on the 980 pages live after generation 1.
        assert_eq!(t.ids(2), 1030 + 29);
        let removed_in_2 = |s| matches!(s, PageState::Removed { since: 2, .. });
        assert_eq!(count(&t, 2, removed_in_2), 49);
        // Earlier generations read the same after later ones were computed.
        assert_eq!(timeline(1000, 1).state(1010, 1), t.state(1010, 1));
        for id in 0..t.ids(1) {
            assert_eq!(timeline(1000, 1).state(id, 1), t.state(id, 1));
        }
    }

    #[test]
    fn pinned_pages_stay_and_new_pages_have_changed_parents() {
        let t = timeline(1000, 4);
        for g in 1..=4 {
            assert!(t.is_live(0, g));
            for id in 1..125 {
                assert!(t.is_live(id, g), "tree parent {id} removed");
            }
        }
        for (&parent, children) in &t.adopted {
            for &child in children {
                let born = t.born(child);
                assert_eq!(t.state(parent, born), PageState::Live { version: born });
                assert_eq!(t.state(child, born), PageState::Live { version: born });
            }
        }
        let gone = (0..t.ids(4)).filter_map(|id| match t.state(id, 4) {
            PageState::Removed { status, .. } => Some(status),
            _ => None,
        });
        let (mut g404, mut g410) = (0, 0);
        for status in gone {
            if status == 404 {
                g404 += 1
            } else {
                g410 += 1
            }
        }
        assert!(g404 > g410 && g410 > 0, "{g404} {g410}");
    }

    #[test]
    fn growth_is_bounded() {
        let mut t = Timeline::new(1, 2, Churn::new(1.0, 0.0, 1.0).unwrap());
        t.extend_to(40);
        assert_eq!(t.ids(40), 1024);
        let mut empty = Timeline::new(1, 1, Churn::new(0.0, 1.0, 0.0).unwrap());
        empty.extend_to(3);
        assert!(empty.is_live(0, 3), "/ is never removed");
    }
}

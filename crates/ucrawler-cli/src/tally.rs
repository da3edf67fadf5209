//! Pages by status class and by host, counted by the CLI as it writes them: the engine's stats
//! have no per-host tallies, and the CLI sees every page anyway. Bounded: at most [`MAX_HOSTS`]
//! hosts are counted one by one, so a crawl of a million hosts costs the same memory (about
//! 100 KiB) as one of a thousand.

use std::collections::HashMap;

use ucrawler::Page;

/// Hosts counted one by one. When a new host finds the table full, the half of it with the
/// fewest pages and errors is folded into [`Tally::pruned`]: the big hosts stay, the totals still
/// add up, and a host folded away and seen again starts over (its count can be low, never high).
pub const MAX_HOSTS: usize = 1000;

/// The status classes, in report order: `none` is a page without an HTTP response (a connect
/// error, robots.txt), `other` a status outside 200-599.
pub const CLASSES: [&str; 6] = ["2xx", "3xx", "4xx", "5xx", "none", "other"];

/// Pages and failed pages of one host (or of many).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub pages: u64,
    pub errors: u64,
}

impl Count {
    fn add(&mut self, other: Count) {
        self.pages += other.pages;
        self.errors += other.errors;
    }

    /// What keeps a host in the table when it is full: errors weigh double, so a failing host
    /// with few pages is not folded away before a healthy one.
    fn weight(self) -> u64 {
        self.pages.saturating_add(self.errors)
    }
}

#[derive(Debug, Default)]
pub struct Tally {
    classes: [u64; CLASSES.len()],
    hosts: HashMap<String, Count>,
    /// Pages of hosts folded away when the table was full.
    pruned: Count,
    total: Count,
}

impl Tally {
    pub fn record(&mut self, page: &Page) {
        self.add(&page.url, page.status, page.error.is_some());
    }

    fn add(&mut self, url: &str, status: u16, failed: bool) {
        self.classes[class_of(status)] += 1;
        let count = Count {
            pages: 1,
            errors: u64::from(failed),
        };
        self.total.add(count);
        let host = host_of(url);
        if let Some(known) = self.hosts.get_mut(host) {
            known.add(count);
            return;
        }
        if self.hosts.len() >= MAX_HOSTS {
            self.prune();
        }
        self.hosts.insert(host.to_string(), count);
    }

    /// Folds the lighter half of the hosts into `pruned`.
    fn prune(&mut self) {
        let mut weights: Vec<u64> = self.hosts.values().map(|c| c.weight()).collect();
        let half = weights.len() / 2;
        let (lighter, &mut cut, _) = weights.select_nth_unstable(half);
        // All of those below the cut go, and as many at the cut as make half.
        let mut at_cut = half - lighter.iter().filter(|&&w| w < cut).count();
        let pruned = &mut self.pruned;
        self.hosts.retain(|_, count| {
            let weight = count.weight();
            let goes = weight < cut || (weight == cut && at_cut > 0);
            if weight == cut && goes {
                at_cut -= 1;
            }
            if goes {
                pruned.add(*count);
            }
            !goes
        });
    }

    /// Pages by status class, the empty classes left out.
    pub fn classes(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        CLASSES
            .iter()
            .zip(self.classes)
            .filter(|(_, n)| *n > 0)
            .map(|(class, n)| (*class, n))
    }

    /// The `n` hosts with the most pages (then errors), or with the most errors (then pages;
    /// hosts without errors left out).
    pub fn top(&self, n: usize, by_errors: bool) -> Vec<(&str, Count)> {
        let mut hosts: Vec<(&str, Count)> = self
            .hosts
            .iter()
            .filter(|(_, c)| !by_errors || c.errors > 0)
            .map(|(host, c)| (host.as_str(), *c))
            .collect();
        hosts.sort_by(|(a_host, a), (b_host, b)| {
            let (a_key, b_key) = if by_errors {
                ((a.errors, a.pages), (b.errors, b.pages))
            } else {
                ((a.pages, a.errors), (b.pages, b.errors))
            };
            b_key.cmp(&a_key).then(a_host.cmp(b_host))
        });
        hosts.truncate(n);
        hosts
    }

    /// Every page recorded.
    pub fn total(&self) -> Count {
        self.total
    }

    /// Hosts in the table, and whether some were folded away (then there were more).
    pub fn hosts(&self) -> (usize, bool) {
        (self.hosts.len(), self.pruned.pages > 0)
    }
}

fn class_of(status: u16) -> usize {
    match status {
        200..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        500..=599 => 3,
        0 => 4,
        _ => 5,
    }
}

/// `host[:port]` of an absolute URL (the engine's URLs are normalized: no default port, a
/// lowercase host); `""` for anything else.
fn host_of(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return "";
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit('@').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_the_authority_of_the_url() {
        assert_eq!(host_of("http://a.example/x/y?q#f"), "a.example");
        assert_eq!(host_of("https://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(host_of("http://user:pw@b.example:81/"), "b.example:81");
        assert_eq!(host_of("http://c.example?q=/"), "c.example");
        assert_eq!(host_of("not a url"), "");
    }

    #[test]
    fn pages_by_status_class() {
        let mut tally = Tally::default();
        for status in [200, 204, 301, 404, 410, 503, 0, 0, 999] {
            tally.add("http://h/", status, status != 200);
        }
        let classes: Vec<_> = tally.classes().collect();
        assert_eq!(
            classes,
            [
                ("2xx", 2),
                ("3xx", 1),
                ("4xx", 2),
                ("5xx", 1),
                ("none", 2),
                ("other", 1)
            ]
        );
        assert_eq!(
            tally.total(),
            Count {
                pages: 9,
                errors: 8
            }
        );
    }

    #[test]
    fn top_hosts_by_pages_and_by_errors() {
        let mut tally = Tally::default();
        for _ in 0..5 {
            tally.add("http://big/", 200, false);
        }
        for failed in [true, true, true, false] {
            tally.add("http://failing/", 500, failed);
        }
        tally.add("http://small/", 200, false);
        let by_pages: Vec<_> = tally.top(2, false).into_iter().map(|(h, _)| h).collect();
        assert_eq!(by_pages, ["big", "failing"]);
        let by_errors = tally.top(5, true);
        assert_eq!(
            by_errors,
            [(
                "failing",
                Count {
                    pages: 4,
                    errors: 3
                }
            )]
        );
    }

    #[test]
    fn the_host_table_is_bounded_and_keeps_the_big_hosts() {
        let mut tally = Tally::default();
        for _ in 0..50 {
            tally.add("http://big/", 200, false);
        }
        for i in 0..10 * MAX_HOSTS {
            tally.add(&format!("http://h{i}.example/"), 200, false);
            assert!(tally.hosts().0 <= MAX_HOSTS);
        }
        tally.add("http://big/", 200, false);
        let top = tally.top(1, false);
        assert_eq!(
            top,
            [(
                "big",
                Count {
                    pages: 51,
                    errors: 0
                }
            )]
        );
        let (kept, pruned_some) = tally.hosts();
        assert!(pruned_some);
        let kept_pages: u64 = tally
            .top(MAX_HOSTS, false)
            .iter()
            .map(|(_, c)| c.pages)
            .sum();
        assert_eq!(kept_pages + tally.pruned.pages, tally.total().pages);
        assert_eq!(kept, tally.top(MAX_HOSTS, false).len());
    }
}

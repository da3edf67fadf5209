//! Generations: the announced change sets, byte-identical unchanged pages, new pages found
//! only through changed ones, removed pages, and switching while serving.

use std::collections::BTreeSet;

use ucrawler_testsite::{Changes, Churn, PageState, Site, SiteConfig, TestSite};

mod common;
use common::{same_host_links, Client};

const BASE: &str = "http://127.0.0.1:8080";

fn churned(pages: usize) -> Site {
    Site::new(SiteConfig {
        pages,
        churn: Churn::new(0.1, 0.05, 0.03).unwrap(),
        ..SiteConfig::default()
    })
}

fn body(site: &Site, url: &str, generation: u32) -> Option<Vec<u8>> {
    let path = &url[BASE.len()..];
    site.render_at(BASE, path, generation).map(|r| r.body)
}

/// Independent BFS over the HTML served at `generation`; a page that does not render (404,
/// 410) is found but leads nowhere.
fn crawl_rendered(site: &Site, generation: u32) -> BTreeSet<String> {
    let start = format!("{BASE}/");
    let mut seen = BTreeSet::from([start.clone()]);
    let mut frontier = vec![start];
    while let Some(url) = frontier.pop() {
        let Some(html) = body(site, &url, generation) else {
            continue;
        };
        for link in same_host_links(&url, &String::from_utf8(html).unwrap()) {
            if seen.insert(link.clone()) {
                frontier.push(link);
            }
        }
    }
    seen
}

fn pages_in(urls: &BTreeSet<String>) -> usize {
    urls.iter().filter(|u| !u.contains('?')).count()
}

#[test]
fn a_generation_changes_exactly_the_announced_sets() {
    let site = churned(1000);
    let before = site.expected_urls_at(BASE, None, 0);
    let after = site.expected_urls_at(BASE, None, 1);
    let Changes {
        added,
        changed,
        unchanged,
        removed,
    } = site.changes(BASE, 0, 1);
    // Of the 1000 pages: 10 % changed, 5 % removed, 3 % added.
    assert_eq!(pages_in(&changed), 100);
    assert_eq!(pages_in(&removed), 50);
    assert_eq!(pages_in(&added), 30);
    assert_eq!(pages_in(&unchanged), 850);
    // Every URL of generation 0 is in exactly one set; the added ones are new.
    let visited: BTreeSet<String> = [&changed, &unchanged, &removed]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    assert_eq!(visited, before);
    assert_eq!(
        changed.len() + unchanged.len() + removed.len(),
        before.len()
    );
    assert!(added.is_disjoint(&before));

    for url in &unchanged {
        assert_eq!(body(&site, url, 0), body(&site, url, 1), "{url}");
    }
    for url in &changed {
        let (old, new) = (body(&site, url, 0).unwrap(), body(&site, url, 1).unwrap());
        assert_ne!(old, new, "{url}");
    }
    for url in &removed {
        assert_eq!(body(&site, url, 1), None, "{url}");
    }
    for url in &added {
        assert!(body(&site, url, 0).is_none() && body(&site, url, 1).is_some());
    }

    // What a crawler finds at generation 1: every live page, plus removed pages that
    // unchanged pages still link.
    assert_eq!(crawl_rendered(&site, 1), after);
    let live: BTreeSet<String> = [&changed, &unchanged, &added]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let dead: BTreeSet<&String> = after.difference(&live).collect();
    assert!(!dead.is_empty());
    assert!(dead.iter().all(|url| removed.contains(*url)));
}

#[test]
fn changed_pages_get_a_new_title_or_price() {
    let site = churned(300);
    let changes = site.changes(BASE, 0, 1);
    let ids: Vec<usize> = changes
        .changed
        .iter()
        .filter_map(|url| Site::page_id(&url[BASE.len()..]))
        .collect();
    let old: Vec<(String, String)> = ids
        .iter()
        .map(|&id| (site.page_title(id), site.page_price(id)))
        .collect();
    site.set_generation(1);
    for (&id, (title, price)) in ids.iter().zip(&old) {
        assert_ne!(
            (site.page_title(id), site.page_price(id)),
            (title.clone(), price.clone())
        );
        assert_eq!(site.page_state(id, 1), PageState::Live { version: 1 });
    }
}

#[test]
fn new_pages_are_linked_only_from_changed_pages() {
    let site = churned(1000);
    for (from, to) in [(0, 1), (1, 2), (2, 3)] {
        let changes = site.changes(BASE, from, to);
        let mut linked = BTreeSet::new();
        for url in site.expected_urls_at(BASE, None, to) {
            let Some(html) = body(&site, &url, to) else {
                continue;
            };
            let links = same_host_links(&url, &String::from_utf8(html).unwrap());
            let new: Vec<String> = links.intersection(&changes.added).cloned().collect();
            if !new.is_empty() {
                assert!(changes.changed.contains(&url), "{url} links {new:?}");
            }
            linked.extend(new);
        }
        assert_eq!(linked, changes.added, "every new page is linked");
    }
}

#[test]
fn later_generations_stay_consistent() {
    let site = churned(500);
    let forward = site.changes(BASE, 0, 3);
    let back = site.changes(BASE, 3, 0);
    assert_eq!(forward.added, back.removed);
    assert_eq!(forward.removed, back.added);
    assert_eq!(forward.changed, back.changed);
    assert_eq!(forward.unchanged, back.unchanged);
    for url in &forward.unchanged {
        assert_eq!(body(&site, url, 0), body(&site, url, 3), "{url}");
    }
    assert_eq!(
        crawl_rendered(&site, 3),
        site.expected_urls_at(BASE, None, 3)
    );
    // Generations do not depend on the order they were computed in.
    let fresh = churned(500);
    assert_eq!(fresh.changes(BASE, 2, 3), site.changes(BASE, 2, 3));
    assert_eq!(site.changes(BASE, 2, 2).changed, BTreeSet::new());
}

#[test]
fn served_generations_switch_in_place() {
    let site = TestSite::start(SiteConfig {
        pages: 300,
        seed: 3,
        churn: Churn::new(0.1, 0.05, 0.03).unwrap(),
        ..SiteConfig::default()
    })
    .unwrap();
    let host = site.addr().to_string();
    let mut client = Client::connect(site.addr());
    let path = |url: &String| url[site.base_url().len()..].to_string();
    let before = site.expected_urls(None);
    let etags: Vec<(String, String)> = before
        .iter()
        .map(|url| {
            let reply = client.get(&host, &path(url));
            (url.clone(), reply.header("etag").unwrap().to_string())
        })
        .collect();

    site.set_generation(1);
    assert_eq!(site.generation(), 1);
    let changes = site.changes(0, 1);
    let mut statuses = BTreeSet::new();
    for (url, etag) in &etags {
        let reply = client.request("GET", &host, &path(url), &[("If-None-Match", etag)]);
        let id = Site::page_id(&path(url)).unwrap();
        match site.site().page_state(id, 1) {
            PageState::Live { .. } if changes.unchanged.contains(url) => {
                assert_eq!(reply.status, 304, "{url}")
            }
            PageState::Live { .. } => {
                assert!(changes.changed.contains(url));
                assert_eq!(reply.status, 200, "{url}");
                assert_ne!(reply.header("etag"), Some(etag.as_str()));
            }
            PageState::Removed { status, .. } => {
                assert!(changes.removed.contains(url));
                assert_eq!(reply.status, status, "{url}");
                statuses.insert(status);
            }
            PageState::Absent => panic!("{url} absent"),
        }
    }
    assert_eq!(statuses, BTreeSet::from([404, 410]));
    for url in &changes.added {
        assert_eq!(client.get(&host, &path(url)).status, 200, "{url}");
    }
    assert_eq!(site.expected_urls(None), site.expected_urls_at(None, 1));
}

#[test]
fn the_control_endpoint_reads_and_moves_the_generation() {
    let site = TestSite::start(SiteConfig {
        pages: 100,
        ..SiteConfig::default()
    })
    .unwrap();
    let host = site.addr().to_string();
    let mut client = Client::connect(site.addr());
    let changed = site.changes(0, 2).changed.pop_first().unwrap();
    let changed = &changed[site.base_url().len()..];
    let original = client.get(&host, changed).body;
    assert_eq!(client.get(&host, "/__testsite/generation").text(), "0\n");
    let moved = client.get(&host, "/__testsite/generation/2");
    assert_eq!((moved.status, moved.text().as_str()), (200, "2\n"));
    assert_eq!(moved.header("cache-control"), Some("no-store"));
    assert_eq!(site.generation(), 2);
    assert_eq!(client.get(&host, "/__testsite/generation").text(), "2\n");
    assert!(
        client.get(&host, changed).body != original,
        "{changed} changed"
    );
    for bad in ["/__testsite/generation/x", "/__testsite/generation/01"] {
        assert_eq!(client.get(&host, bad).status, 400, "{bad}");
    }
    assert_eq!(client.get(&host, "/__testsite/generation/1001").status, 400);
    assert_eq!(site.generation(), 2);
    assert_eq!(client.get(&host, "/__testsite/generation/0").status, 200);
    assert!(
        client.get(&host, changed).body == original,
        "back to generation 0"
    );
    assert!(site
        .expected_urls(None)
        .iter()
        .all(|u| !u.contains("__testsite")));
}

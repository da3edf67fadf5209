//! Recrawling against the test site's generations: a crawl kept in `state_dir`, the site moves
//! to its next generation (some pages changed, removed, added), and `recrawl` revisits every
//! known URL conditionally, reporting what changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ucrawler::{Change, Config, Crawler, LastVisit, Page, Request};
use ucrawler_testsite::{SiteConfig, TestSite};

struct StateDir(PathBuf);

impl StateDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ucrawler-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn crawl(
    site: &TestSite,
    dir: &StateDir,
    recrawl: bool,
) -> (BTreeMap<String, Page>, ucrawler::Stats) {
    let config = Config::builder()
        .per_host(8usize)
        .concurrency(16usize)
        .state_dir(&dir.0)
        .recrawl(recrawl)
        .build()
        .unwrap();
    let mut crawl = Crawler::new(config)
        .unwrap()
        .crawl([site.url("/")])
        .unwrap();
    let mut pages = BTreeMap::new();
    for page in crawl.by_ref() {
        let url = page.url.clone();
        assert!(
            pages.insert(url.clone(), page).is_none(),
            "{url} delivered twice"
        );
    }
    (pages, crawl.stats())
}

fn with_change(pages: &BTreeMap<String, Page>, change: Change) -> BTreeSet<String> {
    pages
        .iter()
        .filter(|(_, page)| page.change == Some(change))
        .map(|(url, _)| url.clone())
        .collect()
}

fn site(volatile: bool) -> TestSite {
    TestSite::start(SiteConfig {
        pages: 400,
        log_requests: true,
        volatile,
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

#[test]
fn a_recrawl_revisits_every_known_url_conditionally_and_reports_what_changed() {
    let site = site(false);
    let dir = StateDir::new("recrawl");
    let (first, first_stats) = crawl(&site, &dir, false);
    assert_eq!(
        first.keys().cloned().collect::<BTreeSet<_>>(),
        site.expected_urls(None)
    );
    assert!(first.values().all(|p| p.change == Some(Change::New)));
    assert!(first
        .values()
        .all(|p| p.etag.is_some() && p.content_hash.is_some()));

    site.set_generation(1);
    let expected = site.changes(0, 1);
    assert!(
        !expected.changed.is_empty() && !expected.removed.is_empty() && !expected.added.is_empty()
    );
    let served_before = site.request_log().len();
    let (second, stats) = crawl(&site, &dir, true);

    assert_eq!(with_change(&second, Change::Changed), expected.changed);
    assert_eq!(with_change(&second, Change::Unchanged), expected.unchanged);
    assert_eq!(with_change(&second, Change::Gone), expected.removed);
    // New pages are found only through changed pages: those were parsed, their links followed.
    assert_eq!(with_change(&second, Change::New), expected.added);
    for url in &expected.unchanged {
        let page = &second[url];
        assert_eq!(page.status, 304, "{url}: asked conditionally");
        assert_eq!(
            (page.bytes, page.links.len()),
            (0, 0),
            "{url}: no body read, nothing parsed"
        );
        assert_eq!(
            page.content_hash, first[url].content_hash,
            "{url}: the hash is kept"
        );
        assert_eq!(page.etag, first[url].etag);
    }
    for url in &expected.changed {
        assert_ne!(second[url].content_hash, first[url].content_hash, "{url}");
    }
    let counts = stats.changes;
    assert_eq!(
        (
            counts.new,
            counts.changed,
            counts.unchanged,
            counts.gone,
            counts.not_modified
        ),
        (
            expected.added.len() as u64,
            expected.changed.len() as u64,
            expected.unchanged.len() as u64,
            expected.removed.len() as u64,
            expected.unchanged.len() as u64
        )
    );
    // Every page once: robots.txt, then one request per URL.
    let requests = site.request_log().len() - served_before;
    assert_eq!(requests, second.len() + 1);
    assert!(
        stats.bytes * 5 < first_stats.bytes,
        "{} bytes against {} for the first crawl",
        stats.bytes,
        first_stats.bytes
    );

    // The generation after starts from this one (the gone pages are no longer known).
    site.set_generation(2);
    let (third, _) = crawl(&site, &dir, true);
    for url in &expected.removed {
        assert!(
            !third.contains_key(url) || third[url].change == Some(Change::New),
            "{url}"
        );
    }
    assert_eq!(
        with_change(&third, Change::Changed),
        site.changes(1, 2).changed
    );
}

#[test]
fn without_validators_the_content_hash_tells_what_changed() {
    // Every response differs (a CSRF token, a timestamp script) and has no validators.
    let site = site(true);
    let dir = StateDir::new("recrawl-volatile");
    let (first, _) = crawl(&site, &dir, false);
    assert!(first.values().all(|p| p.etag.is_none()));
    site.set_generation(1);
    let expected = site.changes(0, 1);
    let (second, stats) = crawl(&site, &dir, true);
    assert_eq!(with_change(&second, Change::Unchanged), expected.unchanged);
    assert_eq!(with_change(&second, Change::Changed), expected.changed);
    assert_eq!(
        stats.changes.not_modified, 0,
        "nothing to ask conditionally"
    );
}

#[test]
fn a_crawl_cut_short_leaves_the_last_complete_generation() {
    let site = site(false);
    let dir = StateDir::new("recrawl-cut");
    let (first, _) = crawl(&site, &dir, false);
    site.set_generation(1);
    // A generation stopped after a few pages (dropping the crawl cancels it).
    let config = Config::builder()
        .state_dir(&dir.0)
        .recrawl(true)
        .build()
        .unwrap();
    let cut: Vec<Page> = Crawler::new(config)
        .unwrap()
        .crawl([site.url("/")])
        .unwrap()
        .take(5)
        .collect();
    assert_eq!(cut.len(), 5);
    // The next recrawl still revisits everything the first crawl knew.
    let (second, _) = crawl(&site, &dir, true);
    let known: BTreeSet<String> = first.keys().cloned().collect();
    let revisited: BTreeSet<String> = second
        .iter()
        .filter(|(_, p)| p.change != Some(Change::New))
        .map(|(url, _)| url.clone())
        .collect();
    assert_eq!(revisited, known);
}

#[test]
fn a_recrawl_cut_short_resumes_and_still_says_what_changed() {
    let site = site(false);
    let dir = StateDir::new("recrawl-resume");
    crawl(&site, &dir, false);
    site.set_generation(1);
    let expected = site.changes(0, 1);
    let config = |resume| {
        Config::builder()
            .per_host(4usize)
            .state_dir(&dir.0)
            .recrawl(true)
            .resume(resume)
            .build()
            .unwrap()
    };
    // Killed (here: dropped) after 60 pages: what it had not finished stays in the journal.
    let mut pages: BTreeMap<String, Page> = BTreeMap::new();
    let mut cut = Crawler::new(config(false))
        .unwrap()
        .crawl([site.url("/")])
        .unwrap();
    for page in cut.by_ref().take(60) {
        pages.insert(page.url.clone(), page);
    }
    drop(cut);
    for page in Crawler::new(config(true))
        .unwrap()
        .crawl([site.url("/")])
        .unwrap()
    {
        // At-least-once: a page under way at the cut may come again, with the same answer.
        if let Some(before) = pages.get(&page.url) {
            assert_eq!(before.change, page.change, "{}", page.url);
        }
        pages.insert(page.url.clone(), page);
    }
    assert_eq!(with_change(&pages, Change::Changed), expected.changed);
    assert_eq!(with_change(&pages, Change::Unchanged), expected.unchanged);
    assert_eq!(with_change(&pages, Change::Gone), expected.removed);
    assert_eq!(with_change(&pages, Change::New), expected.added);
    // The resumed generation was kept whole: the next one revisits all of it, unchanged now.
    let (again, _) = crawl(&site, &dir, true);
    let live: BTreeSet<String> = [&expected.changed, &expected.unchanged, &expected.added]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    assert_eq!(with_change(&again, Change::Unchanged), live);
}

/// A revisit found by a link (depth > 0) proved nothing about its host: unlike a seed's, it is
/// not trusted by the address guard, so a name that now resolves to a private address (here
/// loopback) is refused, as a link to it would be.
#[test]
fn a_revisit_of_a_discovered_page_does_not_trust_its_host() {
    let site = site(false);
    let revisit = |depth| {
        let mut request =
            Request::new(site.url("/page/1.html")).with_last_visit(LastVisit::default());
        request.depth = depth;
        request
    };
    let crawl = |request: Request| -> Page {
        let config = Config::builder().robots(false).build().unwrap();
        let pages: Vec<Page> = Crawler::new(config)
            .unwrap()
            .crawl([request])
            .unwrap()
            .collect();
        pages.into_iter().next().expect("one page")
    };
    let discovered = crawl(revisit(1));
    assert_eq!(
        discovered.error.as_ref().map(|e| e.kind()),
        Some("address_refused"),
        "{discovered:?}"
    );
    let seed = crawl(revisit(0));
    assert!(seed.is_ok(), "{seed:?}");
}

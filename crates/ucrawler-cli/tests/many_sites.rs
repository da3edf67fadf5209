//! What many-site crawls meet, through the `ucrawler` binary against the test site (issue #15):
//! `X-Robots-Tag` and `rel="nofollow"` (`/declarations/`), canonical duplicates, crawler traps
//! that end by themselves with exact page counts (`/traps/`), a page budget per host over
//! several hosts, sitemaps finding orphan pages, and structured data.

#[path = "support/report.rs"]
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use serde_json::{json, Value};
use ucrawler_testsite::{declarations, sitemaps, structured, traps, SiteConfig, TestSite};

fn ucrawler(args: &[&str]) -> Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs");
    assert!(
        output.status.success(),
        "ucrawler {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `crawl` with `args`: the pages printed, by URL (each printed once).
fn crawl(args: &[&str]) -> BTreeMap<String, Value> {
    crawl_with_summary(args).0
}

/// `crawl` with `args`: the pages by URL, and the summary on stderr.
fn crawl_with_summary(args: &[&str]) -> (BTreeMap<String, Value>, String) {
    let output = ucrawler(&[&["crawl"], args].concat());
    let mut pages = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let page: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        let url = page["url"].as_str().unwrap().to_string();
        assert!(
            pages.insert(url.clone(), page).is_none(),
            "{url} printed twice"
        );
    }
    (pages, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn site(log_requests: bool) -> TestSite {
    TestSite::start(SiteConfig {
        pages: 20,
        log_requests,
        ..SiteConfig::default()
    })
    .unwrap()
}

/// `site`'s URLs of `paths`.
fn urls<'a>(site: &TestSite, paths: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    paths.into_iter().map(|path| site.url(path)).collect()
}

fn keys(pages: &BTreeMap<String, Value>) -> BTreeSet<String> {
    pages.keys().cloned().collect()
}

/// How often the site was asked for `path`.
fn requests(site: &TestSite, path: &str) -> usize {
    site.request_log().iter().filter(|r| r.path == path).count()
}

#[test]
fn x_robots_tag_pages_are_crawled_as_they_ask() {
    let site = site(true);
    let pages = crawl(&[&site.url("/declarations/"), "--quiet"]);
    assert_eq!(
        keys(&pages),
        urls(&site, &declarations::reachable(true, false))
    );
    assert_eq!(pages.len(), declarations::PAGES_FOUND);
    assert!(pages.values().all(|page| page["status"] == 200));
    // nofollow (for everyone, or `ucrawler: none` for us): links listed, never fetched.
    for name in ["nofollow", "ours"] {
        let page = &pages[&site.url(&format!("/declarations/{name}"))];
        let behind = format!("/declarations/behind/{name}");
        assert_eq!(page["links"], json!([site.url(&behind)]), "{name}");
        assert_eq!(requests(&site, &behind), 0, "{behind} fetched");
    }
    // noindex alone and another crawler's directives leave the links alone.
    for name in ["noindex", "theirs"] {
        let behind = format!("/declarations/behind/{name}");
        assert_eq!(requests(&site, &behind), 1, "{behind}");
    }
    assert_eq!(requests(&site, declarations::CANONICAL), 0);
}

#[test]
fn rel_nofollow_links_are_reported_and_not_followed_when_asked() {
    let site = site(true);
    let seed = site.url("/declarations/");
    let pages = crawl(&[&seed, "--quiet"]);
    let rel = &pages[&site.url("/declarations/rel-nofollow")];
    let nofollow: Vec<String> = declarations::NOFOLLOW_LINKS.map(|p| site.url(p)).to_vec();
    assert_eq!(rel["nofollow_links"], json!(nofollow));
    assert!(rel["links"]
        .as_array()
        .unwrap()
        .contains(&json!(site.url(declarations::MIXED))));
    assert!(
        nofollow.iter().all(|url| pages.contains_key(url)),
        "followed by default"
    );
    // Pages without nofollow links leave the field out.
    assert!(pages[&seed].get("nofollow_links").is_none());

    let site = self::site(true);
    let pages = crawl(&[
        &site.url("/declarations/"),
        "--follow-nofollow-links",
        "false",
        "--quiet",
    ]);
    assert_eq!(
        keys(&pages),
        urls(&site, &declarations::reachable(false, false))
    );
    for path in declarations::NOFOLLOW_LINKS {
        assert_eq!(requests(&site, path), 0, "{path} fetched");
    }
    assert_eq!(
        requests(&site, declarations::MIXED),
        1,
        "also linked plainly"
    );
}

#[test]
fn canonical_dedup_reports_duplicates_and_crawls_the_canonical_page_once() {
    let site = site(true);
    let pages = crawl(&[&site.url("/declarations/"), "--canonical-dedup", "--quiet"]);
    assert_eq!(
        keys(&pages),
        urls(&site, &declarations::reachable(true, true))
    );
    let canonical = site.url(declarations::CANONICAL);
    for duplicate in declarations::DUPLICATES {
        assert_eq!(
            pages[&site.url(duplicate)]["duplicate_of"],
            canonical.as_str()
        );
    }
    let with_duplicate_of = pages.values().filter(|p| p.get("duplicate_of").is_some());
    assert_eq!(with_duplicate_of.count(), declarations::DUPLICATES.len());
    assert_eq!(requests(&site, declarations::CANONICAL), 1);

    // Off by default: no duplicate_of, and the canonical page is linked from nowhere.
    let pages = crawl(&[&site.url("/declarations/"), "--quiet"]);
    assert!(pages.values().all(|p| p.get("duplicate_of").is_none()));
    assert!(!pages.contains_key(&canonical));
}

/// The `/traps/` pages of `pages`: (calendar, grow, loop, session) URLs.
fn trap_kinds(pages: &BTreeMap<String, Value>) -> [usize; 4] {
    let count = |part: &str| pages.keys().filter(|url| url.contains(part)).count();
    [
        count("/traps/calendar?"),
        count("/traps/grow?"),
        count("/traps/a/"),
        count("/traps/session"),
    ]
}

#[test]
fn traps_end_by_themselves_with_the_default_options() {
    let site = site(false);
    let (pages, summary) = crawl_with_summary(&[&site.url("/traps/"), "--per-host", "8"]);
    let expected = traps::expected(&site.base_url(), 1000, 4096).unwrap();
    assert_eq!(pages.len(), expected.pages);
    assert_eq!(pages.len(), 1017);
    assert_eq!(
        trap_kinds(&pages),
        [
            expected.calendar,
            expected.grow,
            traps::LOOP_PAGES,
            traps::SESSION_PAGES
        ]
    );
    // A run of months around 0.
    for month in -400..=400 {
        let url = site.url(&format!("/traps/calendar?month={month}"));
        assert!(pages.contains_key(&url), "{url}");
    }
    let grown: BTreeSet<String> = (0..12)
        .map(|k| traps::grow_url(&site.base_url(), k))
        .collect();
    assert!(grown.iter().all(|url| pages.contains_key(url)));
    let deeper = ["/traps/a/b/", "/traps/a/b/a/b/"].map(|p| site.url(p));
    assert!(deeper.iter().all(|url| pages.contains_key(url)));
    // Session ids are stripped from every link.
    let sessions: BTreeSet<&String> = (pages.keys())
        .filter(|url| url.contains("/traps/session"))
        .collect();
    let session_urls = ["/traps/session", "/traps/session?page=2"].map(|p| site.url(p));
    assert_eq!(sessions, session_urls.iter().collect());
    assert!(pages.values().all(|page| page["status"] == 200));
    // The report on stderr counts the pages and the links skipped as traps.
    let headline = summary.lines().next().unwrap_or_default();
    assert!(headline.starts_with("1,017 pages, 0 errors"), "{summary}");
    assert_eq!(
        report::row(&summary, "ended"),
        Some("finished"),
        "{summary}"
    );
    assert_eq!(
        report::row(&summary, "skipped"),
        Some("1 path loops, 2 query variants"),
        "{summary}"
    );
}

#[test]
fn trap_limits_are_options() {
    let site = site(false);
    let base = site.base_url();
    // A smaller query-variant cap ends the calendar and the growing query sooner; a shorter
    // URL cap ends the growing query sooner still.
    let pages = crawl(&[
        &site.url("/traps/"),
        "--max-query-variants",
        "20",
        "--max-url-length",
        "200",
        "--quiet",
    ]);
    let expected = traps::expected(&base, 20, 200).unwrap();
    assert_eq!(expected.grow, traps::grow_pages(&base, 200));
    assert!(expected.grow < 20);
    assert_eq!(pages.len(), expected.pages);
    assert_eq!(
        trap_kinds(&pages),
        [20, expected.grow, traps::LOOP_PAGES, traps::SESSION_PAGES]
    );
    let pages = crawl(&[&site.url("/traps/"), "--max-query-variants", "5", "--quiet"]);
    let expected = traps::expected(&base, 5, 4096).unwrap();
    assert_eq!((pages.len(), expected.grow), (expected.pages, 5));

    // With no session id stripped, the `;jsessionid=` links never end: only --max-pages does.
    let pages = crawl(&[
        &site.url("/traps/session"),
        "--strip-query-params",
        "",
        "--max-pages",
        "40",
        "--quiet",
    ]);
    assert_eq!(pages.len(), 40);
    assert!(
        pages
            .keys()
            .filter(|url| url.contains(";jsessionid="))
            .count()
            > 10
    );
}

#[test]
fn max_pages_per_host_holds_on_every_host() {
    const HOSTS: usize = 4;
    const BUDGET: usize = 7;
    let sites = TestSite::start_hosts(
        HOSTS,
        SiteConfig {
            pages: 40,
            ..SiteConfig::default()
        },
    )
    .unwrap();
    let bases = sites.base_urls();
    let seeds: Vec<String> = bases.iter().map(|base| format!("{base}/")).collect();
    let budget = BUDGET.to_string();
    let mut args: Vec<&str> = seeds.iter().map(String::as_str).collect();
    args.extend(["--max-pages-per-host", &budget]);
    let (pages, summary) = crawl_with_summary(&args);
    assert_eq!(pages.len(), HOSTS * BUDGET);
    let skipped = report::row(&summary, "skipped").unwrap_or_default();
    assert!(skipped.ends_with(" over host budget"), "{summary}");
    for base in &bases {
        let expected = sites.site().expected_urls(base, None);
        let on_host: Vec<&String> = (pages.keys())
            .filter(|url| url.starts_with(&format!("{base}/")))
            .collect();
        assert_eq!(on_host.len(), BUDGET, "{base}");
        assert!(on_host.iter().all(|url| expected.contains(*url)));
        assert!(on_host.contains(&&format!("{base}/")), "the seed counts");
    }
}

#[test]
fn sitemaps_find_every_page_and_the_orphans_at_depth_0() {
    let site = TestSite::start(SiteConfig {
        pages: 30,
        robots_txt: Some(sitemaps::SITEMAP_ROBOTS_TXT.into()),
        ..SiteConfig::default()
    })
    .unwrap();
    let base = site.base_url();
    let (pages, summary) = crawl_with_summary(&[&site.url("/"), "--sitemaps", "--depth", "0"]);
    let mut expected = sitemaps::page_urls(site.site(), &base);
    expected.extend(sitemaps::orphan_urls(&base));
    assert_eq!(keys(&pages), expected);
    // The index and its two children; every page once, every orphan.
    let read = report::row(&summary, "sitemaps").unwrap_or_default();
    assert!(read.starts_with("3 read, 0 failed: 50 URLs"), "{summary}");
    let orphan = &pages[&sitemaps::orphan_url(&base, 0)];
    assert_eq!(
        (&orphan["status"], &orphan["title"]),
        (&json!(200), &json!("Orphan 0"))
    );
    assert!(pages.values().all(|page| page["depth"] == 0));

    // Without --sitemaps the orphans are out of reach.
    let pages = crawl(&[&site.url("/"), "--quiet"]);
    assert_eq!(keys(&pages), site.expected_urls(None));
}

#[test]
fn structured_data_is_printed() {
    let site = site(false);
    let pages = crawl(&[&site.url("/structured/product"), "--depth", "0", "--quiet"]);
    let product = &pages[&site.url("/structured/product")];
    let blocks = product["json_ld"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["@type"], "Product");
    assert_eq!(blocks[0]["name"], structured::PRODUCT_NAME);
    assert_eq!(blocks[0]["offers"]["price"], structured::PRODUCT_PRICE);
    assert_eq!(blocks[1]["@graph"][1]["@type"], "Organization");
    assert!(product.get("json_ld_errors").is_none());
    assert_eq!(
        product["open_graph"],
        json!({
            "og:title": [structured::PRODUCT_OG_TITLE],
            "og:type": ["product"],
            "og:image": ["/img/lamp-1.jpg", "/img/lamp-2.jpg"],
            "twitter:card": ["summary_large_image"],
        })
    );

    let pages = crawl(&[&site.url("/structured/invalid"), "--depth", "0", "--quiet"]);
    let invalid = &pages[&site.url("/structured/invalid")];
    assert_eq!(
        invalid["json_ld"],
        json!([{"@type": "WebPage", "name": "Fine"}])
    );
    assert_eq!(invalid["json_ld_errors"].as_array().unwrap().len(), 2);
}

/// The page fields the CLI does not print yet: `noindex`, `nofollow` (the engine's
/// `Page::noindex` / `nofollow`, from `X-Robots-Tag` or `<meta name="robots">`) and `lastmod`
/// (`Page::lastmod`, from a sitemap). Run it with `--ignored` once `output.rs` prints them.
#[test]
fn robots_tag_and_lastmod_fields() {
    let site = TestSite::start(SiteConfig {
        pages: 10,
        robots_txt: Some(sitemaps::SITEMAP_ROBOTS_TXT.into()),
        ..SiteConfig::default()
    })
    .unwrap();
    let pages = crawl(&[&site.url("/declarations/"), "--quiet"]);
    let flags = |name: &str| {
        let page = &pages[&site.url(&format!("/declarations/{name}"))];
        (page["noindex"].clone(), page["nofollow"].clone())
    };
    let (yes, no) = (json!(true), json!(false));
    assert_eq!(flags("noindex"), (yes.clone(), no.clone()));
    assert_eq!(flags("nofollow"), (no.clone(), yes.clone()));
    assert_eq!(flags("ours"), (yes.clone(), yes.clone()));
    assert_eq!(flags("theirs"), (no.clone(), no.clone()));

    let base = site.base_url();
    let pages = crawl(&[&site.url("/"), "--sitemaps", "--depth", "0", "--quiet"]);
    for i in 0..sitemaps::ORPHAN_PAGES {
        let orphan = &pages[&sitemaps::orphan_url(&base, i)];
        let lastmod = format!("2024-02-{:02}T08:00:00+00:00", i + 1);
        assert_eq!(orphan["lastmod"], lastmod.as_str());
    }
    assert_eq!(
        pages[&site.url("/page/1.html")]["lastmod"],
        sitemaps::PAGES_LASTMOD
    );
}

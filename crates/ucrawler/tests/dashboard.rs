//! The dashboard's data and actions against a real Redis and a real shared crawl: workers'
//! heartbeats, pause / resume / cancel obeyed within a heartbeat, failed requests requeued, the
//! crawls of the process, and an unreachable Redis reported instead of waited for.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::thread;
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use serde_json::Value;
use ucrawler::dashboard::{Action, Dashboard};
use ucrawler::distributed::{RedisFrontier, RedisOptions, HEARTBEAT};
use ucrawler::{Config, Crawler, EndReason, Request, Stats};
use ucrawler_testsite::{Latency, SiteConfig, TestSite};

/// 100 ms a page: at per_host 1, 10 pages a second, slower than a heartbeat reaches a worker.
fn slow_site(pages: usize) -> TestSite {
    let latency = Duration::from_millis(100);
    TestSite::start(SiteConfig {
        pages,
        latency: Latency::Range(latency, latency),
        ..SiteConfig::default()
    })
    .expect("test site starts")
}

fn enqueue(server: &RedisServer, name: &str, seeds: &[String]) {
    let seeds: Vec<Request> = seeds.iter().map(|url| Request::new(url.as_str())).collect();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let frontier = RedisFrontier::connect(&server.url(), name, RedisOptions::default())
            .await
            .unwrap();
        frontier.push_seeds(&seeds, true).await.unwrap();
    });
}

fn worker(server: &RedisServer, name: &str) -> Crawler {
    let config = Config::builder()
        .redis(server.url(), name.to_string())
        .depth(0)
        .per_host(1usize)
        .concurrency(2usize)
        .retries(0u32)
        .build()
        .unwrap();
    Crawler::new(config).unwrap()
}

/// The shared crawl `name` in the overview.
fn crawl_view(dashboard: &Dashboard, name: &str) -> Value {
    let overview = dashboard.overview(&[]);
    assert_eq!(overview["redis"]["reachable"], true, "{overview}");
    (overview["shared"].as_array().unwrap().iter())
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in {overview}"))
}

/// Waits until `check` holds on the crawl's view: a heartbeat, then what the worker holds
/// already (up to 32 leases at 10 pages a second), with room for a loaded machine.
fn wait_for(
    dashboard: &Dashboard,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let view = crawl_view(dashboard, name);
        if check(&view) {
            return view;
        }
        assert!(
            start.elapsed() < 3 * HEARTBEAT + Duration::from_secs(10),
            "{what}: {view:#}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn heartbeats_pause_resume_and_requeue_failed() {
    let server = RedisServer::start();
    let site = slow_site(200);
    let name = "shop";
    let mut seeds: Vec<String> = (1..120)
        .map(|i| site.url(&format!("/page/{i}.html")))
        .collect();
    seeds.push(site.url("/missing"));
    enqueue(&server, name, &seeds);
    let dashboard = Dashboard::new(Some(&server.url()), "ucrawler").unwrap();
    let idle = crawl_view(&dashboard, name);
    assert_eq!(idle["state"], "idle", "queued, no worker: {idle}");
    assert_eq!(idle["pending"], 120);

    let crawler = worker(&server, name);
    let consumer = thread::spawn(move || {
        let mut crawl = crawler.crawl(Vec::<Request>::new()).unwrap();
        let pages = crawl.by_ref().count();
        (pages, crawl.stats())
    });
    let running = wait_for(&dashboard, name, "a worker's heartbeat", |v| {
        v["state"] == "running" && v["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    let me = &running["workers"][0];
    assert_eq!(me["pid"], std::process::id());
    assert!(me["memory"]["limit"].as_u64().unwrap() > 0, "{me}");
    assert!(me["age"].as_f64().unwrap() < 10.0);

    assert_eq!(
        dashboard.act(name, Action::Pause).unwrap()["state"],
        "paused"
    );
    let paused = wait_for(&dashboard, name, "the worker obeys the pause", |v| {
        v["workers"][0]["paused"] == true && v["leased"] == 0
    });
    assert_eq!(paused["state"], "paused");
    let pending = paused["pending"].as_u64().unwrap();
    assert!(pending > 0, "paused before the end: {paused}");
    thread::sleep(Duration::from_secs(1));
    assert_eq!(
        crawl_view(&dashboard, name)["pending"],
        pending,
        "nothing taken while paused"
    );

    assert_eq!(
        dashboard.act(name, Action::Resume).unwrap()["state"],
        "running"
    );
    let (pages, stats): (usize, Stats) = consumer.join().unwrap();
    assert_eq!(pages, 120);
    assert_eq!(stats.end_reason, Some(EndReason::Finished));
    // The worker's own history (what the dashboard draws for the crawls of a process).
    let local: (u64, u64) =
        (stats.history.iter()).fold((0, 0), |(p, e), h| (p + h.pages, e + h.errors));
    assert_eq!(local, (120, 1), "{:?}", stats.history);
    assert!(stats
        .history
        .windows(2)
        .all(|w| w[0].t < w[1].t && w[1].t % 10 == 0));
    let finished = crawl_view(&dashboard, name);
    assert_eq!(finished["state"], "finished");
    assert_eq!(finished["failed"], 1);
    let points = finished["history"].as_array().unwrap();
    let counted: u64 = points.iter().map(|p| p["pages"].as_u64().unwrap()).sum();
    assert!(counted > 0 && counted <= 120, "{points:?}");
    assert_eq!(finished["errors_by_kind"]["http_status"], 1, "{finished}");
    let sample = &finished["recent_errors"][0];
    assert_eq!(sample["url"], site.url("/missing"));
    assert_eq!(sample["kind"], "http_status");

    let requeued = dashboard.act(name, Action::RequeueFailed).unwrap();
    assert_eq!(requeued["requeued"], 1);
    let again = crawl_view(&dashboard, name);
    assert_eq!(
        (again["pending"].as_u64(), again["failed"].as_u64()),
        (Some(1), Some(0))
    );
    let mut crawl = worker(&server, name).crawl(Vec::<Request>::new()).unwrap();
    let retried: Vec<_> = crawl.by_ref().collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].url, site.url("/missing"));
}

#[test]
fn cancel_ends_every_worker_and_unknown_crawls_are_not_found() {
    let server = RedisServer::start();
    let site = slow_site(200);
    let name = "big";
    let seeds: Vec<String> = (1..200)
        .map(|i| site.url(&format!("/page/{i}.html")))
        .collect();
    enqueue(&server, name, &seeds);
    let dashboard = Dashboard::new(Some(&server.url()), "ucrawler").unwrap();
    let crawler = worker(&server, name);
    let consumer = thread::spawn(move || {
        let mut crawl = crawler.crawl(Vec::<Request>::new()).unwrap();
        let pages = crawl.by_ref().count();
        (pages, crawl.stats())
    });
    wait_for(&dashboard, name, "running", |v| v["state"] == "running");
    let asked = Instant::now();
    dashboard.act(name, Action::Cancel).unwrap();
    let (pages, stats) = consumer.join().unwrap();
    assert!(asked.elapsed() < HEARTBEAT + Duration::from_secs(3));
    assert_eq!(stats.end_reason, Some(EndReason::Cancelled));
    assert!(pages < 199, "{pages}");
    let view = crawl_view(&dashboard, name);
    assert_eq!(view["state"], "cancelled");
    // Given back: expired at once, they are pending again for the next worker's take.
    let total: u64 = ["pending", "leased", "done"]
        .iter()
        .map(|k| view[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 199, "nothing lost: {view}");
    assert_eq!(view["done"], pages as u64);

    let unknown = dashboard.act("nope", Action::Pause).unwrap_err();
    assert!(unknown.is_not_found(), "{unknown}");
    assert!(unknown.to_string().contains("\"nope\""), "{unknown}");
    assert!(Dashboard::new(None, "ucrawler")
        .unwrap()
        .act(name, Action::Pause)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn local_crawls_and_an_unreachable_redis() {
    let dashboard = Dashboard::new(Some("redis://127.0.0.1:1"), "ucrawler").unwrap();
    let stats = Stats {
        pages: 7,
        ..Stats::default()
    };
    let start = Instant::now();
    let overview = dashboard.overview(&[("mine", stats)]);
    assert!(start.elapsed() < Duration::from_secs(5), "not waited for");
    assert_eq!(overview["redis"]["reachable"], false);
    assert!(
        overview["redis"]["error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1"),
        "{overview}"
    );
    assert_eq!(overview["shared"], serde_json::json!([]));
    // Asked again at once: not waited for again (a page polls every 2 s).
    let again = Instant::now();
    let second = dashboard.overview(&[]);
    assert!(
        again.elapsed() < Duration::from_millis(500),
        "{:?}",
        again.elapsed()
    );
    assert_eq!(second["redis"]["reachable"], false);
    assert_eq!(overview["local"][0]["name"], "mine");
    assert_eq!(overview["local"][0]["stats"]["pages"], 7);
    assert_eq!(overview["local"][0]["history"], serde_json::json!([]));
    let without = Dashboard::new(None, "ucrawler").unwrap().overview(&[]);
    assert_eq!(without["redis"], Value::Null);
    assert!(Dashboard::new(Some("http://nope"), "ucrawler").is_err());
    assert!(Dashboard::new(Some("redis://h"), "bad prefix").is_err());
}

#[test]
fn hosts_show_their_budget() {
    let server = RedisServer::start();
    let site = slow_site(100);
    let name = "budget";
    // 80 pages at 10 a second: busy when the second heartbeat comes.
    let seeds: Vec<Request> = (1..=100)
        .map(|i| Request::new(site.url(&format!("/page/{i}.html"))))
        .collect();
    let budget = RedisOptions {
        max_pages_per_host: Some(80),
        ..RedisOptions::default()
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let frontier = RedisFrontier::connect(&server.url(), name, budget)
            .await
            .unwrap();
        frontier.push_seeds(&seeds, false).await.unwrap();
    });
    let dashboard = Dashboard::new(Some(&server.url()), "ucrawler").unwrap();
    let host = site.base_url().trim_start_matches("http://").to_string();
    let view = crawl_view(&dashboard, name);
    assert_eq!(
        view["over_budget_hosts"],
        serde_json::json!([{"host": host, "dropped": 20}]),
        "{view}"
    );
    let config = Config::builder()
        .redis(server.url(), name.to_string())
        .depth(0)
        .per_host(1usize)
        .max_pages_per_host(Some(80))
        .build()
        .unwrap();
    let crawler = Crawler::new(config).unwrap();
    let consumer = thread::spawn(move || crawler.crawl(Vec::<Request>::new()).unwrap().count());
    // The host gate is the process's: other tests' hosts may be listed too.
    let ours = |v: &Value| {
        (v["busiest_hosts"].as_array().into_iter().flatten())
            .find(|h| h["host"] == host.as_str())
            .cloned()
    };
    let busy = wait_for(&dashboard, name, "the host busy", |v| ours(v).is_some());
    assert_eq!(ours(&busy).unwrap()["budget_used"], 80, "{busy}");
    assert_eq!(consumer.join().unwrap(), 80);
}

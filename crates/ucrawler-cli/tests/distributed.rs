//! Many `ucrawler worker` processes sharing one crawl through a throwaway `redis-server`: each
//! page exactly once, a worker killed with -9, Redis restarted mid-crawl, fleet-wide politeness.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ucrawler_testsite::{SiteConfig, TestSite};

#[path = "support/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;
#[path = "support/redis.rs"]
mod redis;
use redis::Redis;
#[path = "support/report.rs"]
mod report;
use report::row;

fn ucrawler(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs")
}

fn enqueue(redis: &Redis, name: &str, url: &str) {
    let output = ucrawler(&["enqueue", "--redis", &redis.url(), "--name", name, url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn status(redis: &Redis, name: &str) -> Value {
    let output = ucrawler(&["status", "--redis", &redis.url(), "--name", name]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("status prints JSON")
}

fn worker(redis: &Redis, name: &str, out: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(["worker", "--redis", &redis.url(), "--name", name, "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts")
}

/// Waits for a worker to end by itself; its stderr on failure.
fn finish(mut child: Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                use std::io::Read;
                let _ = err.read_to_string(&mut stderr);
            }
            assert!(status.success(), "worker failed ({status}): {stderr}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("worker did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// URLs of the pages in a JSON Lines file, ignoring a last line torn by a kill.
fn urls_in(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|page| page["url"].as_str().unwrap().to_string())
        .collect()
}

/// How many times each URL was delivered, over all outputs.
fn deliveries(outputs: &[PathBuf]) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for out in outputs {
        for url in urls_in(out) {
            *count.entry(url).or_insert(0) += 1;
        }
    }
    count
}

/// The URLs delivered are exactly the site's (missing and extra ones named, a few of each).
fn assert_same(delivered: &BTreeMap<String, usize>, expected: &BTreeSet<String>) {
    let got: BTreeSet<&String> = delivered.keys().collect();
    let missing: Vec<_> = expected.iter().filter(|u| !got.contains(u)).collect();
    let extra: Vec<_> = got.iter().filter(|u| !expected.contains(**u)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} missing (e.g. {:?}), {} extra (e.g. {:?})",
        missing.len(),
        &missing[..missing.len().min(5)],
        extra.len(),
        &extra[..extra.len().min(5)]
    );
}

fn wait_for_pages(out: &Path, pages: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while urls_in(out).len() < pages {
        assert!(
            Instant::now() < deadline,
            "no progress in {}",
            out.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn site(pages: usize) -> TestSite {
    TestSite::start(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
    .unwrap()
}

#[test]
fn three_workers_deliver_every_page_exactly_once() {
    let dir = TempDir::new("three-workers");
    let redis = Redis::start(&dir.0, false);
    let site = site(2000);
    let expected = site.expected_urls(None);
    enqueue(&redis, "three", &site.url("/"));
    let outputs: Vec<PathBuf> = (1..=3).map(|i| dir.join(&format!("w{i}.jsonl"))).collect();
    let workers: Vec<Child> = outputs
        .iter()
        .map(|out| worker(&redis, "three", out, &["--per-host", "16"]))
        .collect();
    for child in workers {
        finish(child, Duration::from_secs(120));
    }
    let delivered = deliveries(&outputs);
    assert_same(&delivered, &expected);
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let busy = outputs.iter().filter(|o| !urls_in(o).is_empty()).count();
    assert!(busy >= 2, "only {busy} worker(s) got pages");
    let status = status(&redis, "three");
    assert_eq!(status["done"], expected.len());
    assert_eq!(status["seen"], expected.len());
    assert_eq!(
        (&status["pending"], &status["leased"], &status["duplicates"]),
        (&Value::from(0), &Value::from(0), &Value::from(0))
    );
    assert_eq!(status["finished"], true);

    // Enqueuing what the crawl has seen queues nothing; --force queues it again.
    let again = ucrawler(&[
        "enqueue",
        "--redis",
        &redis.url(),
        "--name",
        "three",
        &site.url("/"),
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 of 1 URLs queued"));
}

#[test]
fn a_worker_killed_with_sigkill_loses_nothing() {
    let dir = TempDir::new("killed-worker");
    let redis = Redis::start(&dir.0, false);
    let site = site(600);
    let expected = site.expected_urls(None);
    enqueue(&redis, "kill", &site.url("/"));
    // Few leases per worker, short lease timeout, fleet-wide delay: slow enough to kill one
    // halfway.
    let opts = [
        "--concurrency",
        "8",
        "--buffer",
        "4",
        "--per-host",
        "4",
        "--delay",
        "5ms",
        "--lease-timeout",
        "2s",
    ];
    let outputs: Vec<PathBuf> = (1..=3).map(|i| dir.join(&format!("w{i}.jsonl"))).collect();
    let mut workers: Vec<Child> = outputs
        .iter()
        .map(|out| worker(&redis, "kill", out, &opts))
        .collect();
    wait_for_pages(&outputs[0], 40);
    let mut victim = workers.remove(0);
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let before_kill = urls_in(&outputs[0]).len();
    assert!(before_kill < expected.len(), "killed before the end");
    for child in workers {
        finish(child, Duration::from_secs(120));
    }
    let delivered = deliveries(&outputs);
    assert_same(&delivered, &expected);
    let status = status(&redis, "kill");
    assert_eq!(
        status["done"],
        expected.len(),
        "each page acknowledged once"
    );
    assert_eq!(
        (&status["pending"], &status["leased"]),
        (&Value::from(0), &Value::from(0))
    );
    // Pages delivered twice are pages the killed worker had leased: it delivered them but died
    // before acknowledging them, so their leases expired and others crawled them again.
    let twice = delivered.values().filter(|n| **n > 1).count() as u64;
    let reclaimed = status["reclaimed"].as_u64().unwrap();
    assert!(reclaimed > 0, "the killed worker's leases came back");
    assert!(
        twice <= reclaimed,
        "{twice} duplicates, {reclaimed} leases reclaimed"
    );
    // At most what one worker holds: lookahead + frontier + pages in flight and buffered.
    assert!(reclaimed <= 64, "{reclaimed} leases reclaimed");
}

#[test]
fn redis_restarted_mid_crawl_the_crawl_completes() {
    let dir = TempDir::new("redis-restart");
    let mut redis = Redis::start(&dir.0, true);
    let site = site(800);
    let expected = site.expected_urls(None);
    enqueue(&redis, "restart", &site.url("/"));
    let opts = ["--per-host", "4", "--delay", "4ms"];
    let outputs: Vec<PathBuf> = (1..=2).map(|i| dir.join(&format!("w{i}.jsonl"))).collect();
    let workers: Vec<Child> = outputs
        .iter()
        .map(|out| worker(&redis, "restart", out, &opts))
        .collect();
    wait_for_pages(&outputs[0], 60);
    redis.restart(Duration::from_millis(1500));
    for child in workers {
        finish(child, Duration::from_secs(120));
    }
    let delivered = deliveries(&outputs);
    assert_same(&delivered, &expected);
    assert!(
        delivered.len() * 3 / 2 > delivered.values().sum::<usize>(),
        "a restart re-crawls little"
    );
    let status = status(&redis, "restart");
    assert_eq!(
        (&status["pending"], &status["leased"]),
        (&Value::from(0), &Value::from(0))
    );
    assert_eq!(status["finished"], true);
}

#[test]
fn per_host_and_delay_hold_across_workers() {
    let dir = TempDir::new("fleet-politeness");
    let redis = Redis::start(&dir.0, false);
    let site = TestSite::start(SiteConfig {
        pages: 30,
        log_requests: true,
        ..SiteConfig::default()
    })
    .unwrap();
    enqueue(&redis, "polite", &site.url("/"));
    let opts = ["--per-host", "1", "--delay", "40ms"];
    let outputs: Vec<PathBuf> = (1..=2).map(|i| dir.join(&format!("w{i}.jsonl"))).collect();
    let workers: Vec<Child> = outputs
        .iter()
        .map(|out| worker(&redis, "polite", out, &opts))
        .collect();
    for child in workers {
        finish(child, Duration::from_secs(60));
    }
    assert!(
        outputs.iter().all(|o| !urls_in(o).is_empty()),
        "both workers crawled"
    );
    // Each worker fetches robots.txt once, just before its first page (under the same hold).
    let mut log: Vec<_> = site
        .request_log()
        .into_iter()
        .filter(|r| r.path != "/robots.txt")
        .collect();
    log.sort_by_key(|r| r.started);
    for pair in log.windows(2) {
        assert!(
            pair[1].started >= pair[0].finished,
            "two requests at once to one host from the fleet: {} and {}",
            pair[0].path,
            pair[1].path
        );
        assert!(
            pair[1].started - pair[0].started >= Duration::from_millis(20),
            "starts {:?} apart",
            pair[1].started - pair[0].started
        );
    }
}

/// `ucrawler ARGS` exits 2 and its stderr names `needle`.
fn assert_usage_error(args: &[&str], needle: &str) {
    let output = ucrawler(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn bad_arguments_name_the_problem() {
    const DEAD: &str = "redis://127.0.0.1:1/0";
    assert_usage_error(&["worker", "--quiet"], "--redis");
    assert_usage_error(
        &["enqueue", "--redis", DEAD, "--name", "x", "not a url"],
        "URL",
    );
    assert_usage_error(
        &[
            "enqueue",
            "--redis",
            DEAD,
            "--name",
            "two words",
            "http://example.com/",
        ],
        "name",
    );
    assert_usage_error(
        &["status", "--redis", "http://127.0.0.1/", "--name", "x"],
        "redis",
    );
}

#[test]
fn follow_keeps_a_worker_waiting_for_new_urls() {
    let dir = TempDir::new("follow");
    let redis = Redis::start(&dir.0, false);
    let site = site(20);
    enqueue(&redis, "follow", &site.url("/page/1.html"));
    let out = dir.join("w.jsonl");
    let opts = ["--follow", "--depth", "0", "--stall-timeout", "1s"];
    let mut child = worker(&redis, "follow", &out, &opts);
    wait_for_pages(&out, 1);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a --follow worker stays when the crawl runs dry (waiting is not a stall)"
    );
    assert_eq!(status(&redis, "follow")["finished"], true);
    enqueue(&redis, "follow", &site.url("/page/2.html"));
    wait_for_pages(&out, 2);
    assert_eq!(
        urls_in(&out),
        [site.url("/page/1.html"), site.url("/page/2.html")]
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_worker_stopped_with_sigterm_gives_its_leases_back_at_once() {
    let dir = TempDir::new("sigterm-worker");
    let redis = Redis::start(&dir.0, false);
    let site = site(600);
    let expected = site.expected_urls(None);
    enqueue(&redis, "term", &site.url("/"));
    // Leases that outlive the test: the other worker can finish only if they are given back.
    let opts = [
        "--per-host",
        "4",
        "--delay",
        "5ms",
        "--lease-timeout",
        "600s",
    ];
    let (first, second) = (dir.join("w1.jsonl"), dir.join("w2.jsonl"));
    let mut stopped = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(["worker", "--redis", &redis.url(), "--name", "term"])
        .args(["--out", first.to_str().unwrap()])
        .args(opts)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_pages(&first, 100);
    let leased_before = status(&redis, "term")["leased"].as_u64().unwrap();
    assert!(leased_before > 0, "the worker holds leases");
    let sent = Command::new("kill")
        .args(["-TERM", &stopped.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let signalled = Instant::now();
    let status_code = loop {
        if let Some(status) = stopped.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "the worker did not stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = signalled.elapsed();
    let mut stderr = String::new();
    use std::io::Read;
    let _ = stopped.stderr.take().unwrap().read_to_string(&mut stderr);
    assert_eq!(status_code.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert_eq!(
        row(&stderr, "ended"),
        Some("stopped by SIGTERM"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(text.ends_with('\n'), "a torn last line");
    assert!(text
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    // Every page written was acknowledged; the leases of the rest were given back (expired
    // now: the next take reclaims them).
    let after_stop = status(&redis, "term");
    assert_eq!(after_stop["done"], urls_in(&first).len(), "{after_stop}");

    // Another worker finishes the crawl at once, not after lease_timeout.
    let other = worker(&redis, "term", &second, &opts);
    finish(other, Duration::from_secs(60));
    let delivered = deliveries(&[first, second]);
    assert_same(&delivered, &expected);
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    let status = status(&redis, "term");
    assert_eq!(status["done"], expected.len());
    assert_eq!(
        (&status["pending"], &status["leased"]),
        (&Value::from(0), &Value::from(0))
    );
}

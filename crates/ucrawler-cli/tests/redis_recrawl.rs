//! A shared crawl recrawled: `ucrawler enqueue --recrawl` queues again every URL the finished
//! crawl has done, with what its visit learned, and workers revisit them conditionally.

#[path = "support/json_lines.rs"]
mod json_lines;
#[path = "support/redis.rs"]
mod redis;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::path::Path;
use std::process::{Command, Output};

use json_lines::with_change;
use redis::Redis;
use serde_json::Value;
use temp_dir::TempDir;
use ucrawler_testsite::{SiteConfig, TestSite};

fn ucrawler(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs")
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs one worker over the shared crawl until it is done, writing to `out`; its pages.
fn work(redis: &Redis, name: &str, out: &Path) -> Vec<Value> {
    let out = out.to_str().unwrap();
    let url = redis.url();
    ok(ucrawler(&[
        "worker",
        "--redis",
        &url,
        "--name",
        name,
        "--quiet",
        "--per-host",
        "8",
        "--out",
        out,
    ]));
    json_lines::parse(&std::fs::read_to_string(out).unwrap())
}

fn status(redis: &Redis, name: &str) -> Value {
    let output = ok(ucrawler(&[
        "status",
        "--redis",
        &redis.url(),
        "--name",
        name,
    ]));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_finished_shared_crawl_is_recrawled_conditionally() {
    let dir = TempDir::new("redis-recrawl");
    let redis = Redis::start(&dir.0, false);
    let site = TestSite::start(SiteConfig {
        pages: 200,
        ..SiteConfig::default()
    })
    .unwrap();
    let url = redis.url();
    let target = ["--redis", url.as_str(), "--name", "daily"];
    let enqueue = |extra: &[&str]| ucrawler(&[&["enqueue"], &target[..], extra].concat());

    ok(enqueue(&[&site.url("/")]));
    // Not finished yet (nothing crawled): a recrawl now would queue URLs twice.
    let refused = enqueue(&["--recrawl"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not finished"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let first = work(&redis, "daily", &dir.join("first.jsonl"));
    assert_eq!(first.len(), site.expected_urls(None).len());
    assert_eq!(with_change(&first, "new").len(), first.len());
    assert_eq!(status(&redis, "daily")["visits"], first.len());

    site.set_generation(1);
    let expected = site.changes(0, 1);
    let queued = ok(enqueue(&["--recrawl"]));
    assert!(String::from_utf8_lossy(&queued.stderr)
        .contains(&format!("{} URLs queued again", first.len())));
    let second = work(&redis, "daily", &dir.join("second.jsonl"));
    assert_eq!(with_change(&second, "changed"), expected.changed);
    assert_eq!(with_change(&second, "unchanged"), expected.unchanged);
    assert_eq!(with_change(&second, "gone"), expected.removed);
    assert_eq!(with_change(&second, "new"), expected.added);
    assert!(second
        .iter()
        .filter(|page| page["change"] == "unchanged")
        .all(|page| page["status"] == 304 && page["bytes"] == 0));
    // Gone pages are forgotten, new ones kept: the next generation starts from these.
    let visits = first.len() - expected.removed.len() + expected.added.len();
    assert_eq!(status(&redis, "daily")["visits"], visits);
    assert!(enqueue(&["--recrawl", "--reset"]).status.code() == Some(2));
}

//! `ucrawler crawl --state-dir DIR --recrawl` against the test site's next generation.

#[path = "support/json_lines.rs"]
mod json_lines;
#[path = "support/report.rs"]
mod report;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::process::{Command, Output};

use json_lines::with_change;
use report::row;
use serde_json::Value;
use temp_dir::TempDir;
use ucrawler_testsite::{SiteConfig, TestSite};

fn ucrawler(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn pages(output: &Output) -> Vec<Value> {
    json_lines::parse(&String::from_utf8_lossy(&output.stdout))
}

#[test]
fn recrawl_revisits_what_the_state_dir_knows_and_says_what_changed() {
    let site = TestSite::start(SiteConfig {
        pages: 200,
        ..SiteConfig::default()
    })
    .unwrap();
    let dir = TempDir::new("cli-recrawl");
    let state = dir.join("state");
    let state = state.to_str().unwrap();
    let root = site.url("/");
    let first = pages(&ucrawler(&[
        "crawl",
        &root,
        "--per-host",
        "8",
        "--state-dir",
        state,
    ]));
    assert_eq!(with_change(&first, "new").len(), first.len());
    let page = &first[0];
    assert!(page["etag"].is_string() && page["last_modified"].is_string());
    assert_eq!(page["content_hash"].as_str().map(str::len), Some(16));

    site.set_generation(1);
    let expected = site.changes(0, 1);
    let output = ucrawler(&[
        "crawl",
        &root,
        "--per-host",
        "8",
        "--state-dir",
        state,
        "--recrawl",
    ]);
    let second = pages(&output);
    assert_eq!(with_change(&second, "changed"), expected.changed);
    assert_eq!(with_change(&second, "unchanged"), expected.unchanged);
    assert_eq!(with_change(&second, "gone"), expected.removed);
    assert_eq!(with_change(&second, "new"), expected.added);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = row(&stderr, "recrawl").unwrap_or_else(|| panic!("no recrawl row: {stderr}"));
    let line = format!(
        "{} new, {} changed, {} unchanged ({} not modified:",
        expected.added.len(),
        expected.changed.len(),
        expected.unchanged.len(),
        expected.unchanged.len()
    );
    assert!(summary.starts_with(&line), "{stderr}");
    assert!(
        summary.ends_with(&format!(
            " not downloaded), {} gone",
            expected.removed.len()
        )),
        "{stderr}"
    );
}

#[test]
fn recrawl_needs_a_state_dir() {
    let output = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(["crawl", "http://127.0.0.1:9/", "--recrawl"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--state-dir"));
}

#[test]
fn content_hash_only_with_hash_content_or_a_state_dir() {
    let site = TestSite::start(SiteConfig {
        pages: 3,
        ..SiteConfig::default()
    })
    .unwrap();
    let url = site.url("/page/1.html");
    let hash = |extra: &[&str]| {
        let mut args = vec!["crawl", &url, "--depth", "0"];
        args.extend_from_slice(extra);
        let found = pages(&ucrawler(&args));
        assert_eq!(found.len(), 1);
        found[0]["content_hash"].as_str().map(String::from)
    };
    assert_eq!(hash(&[]), None, "a one-shot crawl does not hash");
    let asked = hash(&["--hash-content"]).expect("--hash-content hashes");
    assert_eq!(asked.len(), 16);
    let dir = TempDir::new("cli-content-hash");
    let state = dir.join("state");
    assert_eq!(hash(&["--state-dir", state.to_str().unwrap()]), Some(asked));
}

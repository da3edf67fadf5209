//! `--render` through the `ucrawler` binary (issue #18): a script-built site found whole with
//! `--render auto` (what `--render` alone means), each page's `render_ms`, the end report's
//! render row, and a clear error for a bad value. Needs Debian's chromium (bin/setup).

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;
use ucrawler_testsite::render::{expected_script_built_urls, expected_without_rendering};
use ucrawler_testsite::{SiteConfig, TestSite};

fn ucrawler(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs")
}

fn pages(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn urls(pages: &[Value]) -> BTreeSet<String> {
    pages
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn render_finds_a_script_built_site_and_reports_it() {
    let site = TestSite::start(SiteConfig::default()).unwrap();
    let seed = site.url("/render/");
    let output = ucrawler(&["crawl", &seed, "--render"]);
    let found = pages(&output);
    assert_eq!(urls(&found), expected_script_built_urls(&site.base_url()));
    for page in &found {
        assert!(
            page["render_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{page}"
        );
        assert!(
            page["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Render: ")),
            "{page}"
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("render"), "{stderr}");
    assert!(stderr.contains("13 rendered"), "{stderr}");

    let plain = pages(&ucrawler(&["crawl", &seed, "--render", "never"]));
    assert_eq!(urls(&plain), expected_without_rendering(&site.base_url()));
    assert!(plain[0].get("render_ms").is_none());
}

#[test]
fn a_bad_render_value_is_refused_naming_it() {
    let output = ucrawler(&["crawl", "http://127.0.0.1:9/", "--render", "sometimes"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--render") && stderr.contains("never, always or auto"),
        "{stderr}"
    );
}

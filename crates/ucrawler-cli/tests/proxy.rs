//! `--proxy` through a real HTTP proxy (tinyproxy), and the proxy variables of the environment
//! (`HTTP_PROXY` and co.) ignored: a crawler is rerouted only when told to.

#[path = "../../ucrawler/tests/support/tinyproxy.rs"]
mod tinyproxy;

use std::process::{Command, Output};

use serde_json::Value;
use ucrawler_testsite::{SiteConfig, TestSite};

use tinyproxy::Tinyproxy;

fn crawl(args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(["crawl", "--quiet", "--depth", "0"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("ucrawler runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect()
}

#[test]
fn only_the_proxy_option_reroutes_a_crawl() {
    let site = TestSite::start(SiteConfig {
        pages: 5,
        ..SiteConfig::default()
    })
    .unwrap();
    let proxy = Tinyproxy::start();
    let seed = site.url("/");
    let url = proxy.url();
    let ambient: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .map(|name| (name, url.as_str()))
    .collect();

    let direct = crawl(&[&seed], &ambient);
    assert_eq!(direct.len(), 1);
    assert_eq!(direct[0]["status"], 200, "{}", direct[0]);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    // The seed's host is trusted under the default private_addresses (seeds), through the
    // proxy too.
    let proxied = crawl(&[&seed, "--proxy", &url], &[]);
    assert_eq!(proxied[0]["status"], 200, "{}", proxied[0]);
    let relayed = proxy.requests();
    assert!(
        relayed.contains(&format!("GET {seed} HTTP/1.1")),
        "{relayed:?}"
    );
}

//! The users' workload in small: many hosts at once, under a low open-files limit. Every page
//! must arrive (running out of descriptors is back-pressure, never a lost page) and connections
//! to hosts that are done must be let go.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ucrawler_testsite::{SiteConfig, TestSite};

/// Soft and hard `RLIMIT_NOFILE` of the crawler process: far fewer than the hosts it crawls.
const OPEN_FILES: u64 = 160;
const HOSTS: usize = 400;

#[test]
fn many_hosts_under_a_low_open_files_limit_lose_no_page() {
    let sites = TestSite::start_hosts(
        HOSTS,
        SiteConfig {
            pages: 6,
            ..SiteConfig::default()
        },
    )
    .unwrap();
    let seeds: Vec<String> = sites.base_urls().iter().map(|b| format!("{b}/")).collect();
    let expected = sites.expected_urls_of_every_host(None);
    assert!(expected.len() >= HOSTS * 5, "{} pages", expected.len());

    // UCRAWLER_UNDER_TEST runs the same check against another build (an older release, say).
    let binary = std::env::var("UCRAWLER_UNDER_TEST")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ucrawler").to_string());
    let mut command = Command::new(binary);
    command
        .arg("crawl")
        .args(&seeds)
        .args(["--per-host", "2", "--concurrency", "64", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            rlimit::setrlimit(rlimit::Resource::NOFILE, OPEN_FILES, OPEN_FILES)
                .map_err(std::io::Error::other)
        });
    }
    let started = Instant::now();
    let output = command.spawn().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );

    let mut found = BTreeSet::new();
    let mut errors = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let page: Value = serde_json::from_str(line).unwrap();
        if !page["error"].is_null() {
            errors.push(format!("{} {}", page["url"], page["error"]));
        }
        found.insert(page["url"].as_str().unwrap().to_string());
    }
    assert!(
        errors.is_empty(),
        "{} failed pages: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let missing: Vec<_> = expected.difference(&found).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} pages missing, e.g. {missing:?}",
        expected.len() - found.len()
    );
    assert_eq!(found, expected);
    // Descriptor pressure never costs politeness: the server saw at most per-host 2.
    let most = sites.log().max_in_flight_per_host();
    assert!(most <= 2, "a host saw {most} requests at once");
    // The connection limit under this open-files limit: at most `OPEN_FILES - 64` less the
    // descriptors open at start; the server sees a close a moment late (a few more).
    let open = sites.log().max_open_connections();
    assert!(
        open <= OPEN_FILES - 64 + 4,
        "the server saw {open} connections open at once"
    );
}

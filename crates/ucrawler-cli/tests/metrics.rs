//! `ucrawler crawl --metrics ADDR`: Prometheus text at `/metrics` while the crawl runs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ucrawler_testsite::{SiteConfig, TestSite};

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// The value of a sample line `series value`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn metrics_are_served_while_the_crawl_runs() {
    let site = TestSite::start(SiteConfig {
        pages: 30,
        ..SiteConfig::default()
    })
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    // One page every 100 ms: a few seconds of crawl to scrape.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args([
            "crawl",
            &site.url("/"),
            "--per-host",
            "1",
            "--delay",
            "100ms",
            "--quiet",
        ])
        .args(["--metrics", &addr, "--out", "/dev/null"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        if let Some(response) = get(port, "/metrics") {
            if sample(&response, "ucrawler_pages_total{crawl=\"crawl\"}").is_some_and(|n| n > 0.0) {
                break response;
            }
        }
        assert!(Instant::now() < deadline, "no pages counted at /metrics");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Type: text/plain; version=0.0.4"));
    assert!(text.contains("# TYPE ucrawler_memory_used_bytes gauge"));
    assert_eq!(
        sample(&text, "ucrawler_finished{crawl=\"crawl\"}"),
        Some(0.0)
    );
    assert!(get(port, "/other").unwrap().starts_with("HTTP/1.1 404"));
    assert!(child.wait().unwrap().success());

    let busy = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(["crawl", &site.url("/"), "--metrics", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("--metrics not-an-address"));
}

//! The `ucrawler` binary end to end: output format, exit codes, demo, and a static site served
//! by nginx (another server than ours).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ucrawler_testsite::{moved_url, Latency, LoggedRequest, Site, SiteConfig, TestSite};

#[path = "support/report.rs"]
mod report;
use report::row;

fn ucrawler(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}

fn urls(pages: &[Value]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for page in pages {
        let url = page["url"].as_str().unwrap().to_string();
        assert!(set.insert(url.clone()), "{url} printed twice");
    }
    set
}

#[test]
fn crawl_writes_json_lines_and_a_summary() {
    let site = TestSite::start(SiteConfig {
        pages: 150,
        ..SiteConfig::default()
    })
    .unwrap();
    let output = ucrawler(&[
        "crawl",
        &site.url("/"),
        "--per-host",
        "8",
        "--extract",
        "price=.price",
        "--extract",
        "hero=img.hero@src",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pages = lines(&output);
    assert_eq!(urls(&pages), site.expected_urls(None));
    let page = &pages[0];
    for field in [
        "url",
        "final_url",
        "status",
        "content_type",
        "title",
        "links",
        "extracted",
        "depth",
        "bytes",
        "elapsed_ms",
        "error",
    ] {
        assert!(page.get(field).is_some(), "missing field {field}: {page}");
    }
    assert_eq!(page["status"], 200);
    assert!(page["error"].is_null());
    assert!(page["extracted"]["price"][0]
        .as_str()
        .unwrap()
        .starts_with('$'));
    assert!(page["extracted"]["hero"][0]
        .as_str()
        .unwrap()
        .starts_with("/img/"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{} pages", pages.len())) && stderr.contains("pages/s"),
        "{stderr}"
    );
}

/// A count as the CLI prints it (`1,234`).
fn number(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("not a count: {text:?}: {e}"))
}

/// With stderr not a terminal (a pipe here), a slow crawl prints a plain progress line every
/// --progress-interval, and ends with the report's status classes and top hosts.
#[test]
fn progress_lines_and_the_end_report_on_a_pipe() {
    let site = TestSite::start(SiteConfig {
        pages: 40,
        latency: Latency::parse("50ms").unwrap(),
        ..SiteConfig::default()
    })
    .unwrap();
    let missing = site.url("/page/9999.html");
    let disallowed = site.url("/private/secret.html");
    let output = ucrawler(&[
        "crawl",
        &site.url("/"),
        &missing,
        &disallowed,
        "--per-host",
        "1",
        "--progress-interval",
        "200ms",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let pages = lines(&output).len() as u64;
    assert_eq!(pages, site.expected_urls(None).len() as u64 + 2);

    // `12 pages, 30 queued, 1 error, 9.5 pages/s, 1.2 MiB, memory 3.0 KiB of 1.0 GiB,
    // hosts 1 active 0 paused, elapsed 0:01[, ETA 0:03]`
    let progress: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("progress: "))
        .collect();
    assert!(progress.len() >= 2, "a line every 200 ms of ~2 s: {stderr}");
    let mut done = 0;
    for line in &progress {
        let fields: Vec<&str> = line.split(", ").collect();
        assert!((8..=9).contains(&fields.len()), "{line}");
        let value = |i: usize, unit: &str| {
            fields[i]
                .strip_suffix(unit)
                .unwrap_or_else(|| panic!("field {i} of {line:?} is not in {unit}"))
        };
        let now = number(value(0, " pages"));
        assert!(now >= done && now <= pages, "{line}");
        done = now;
        number(value(1, " queued"));
        let errors = fields[2].split(' ').next().unwrap_or_default();
        assert!(number(errors) <= 2, "{line}");
        let rate: f64 = value(3, " pages/s").replace(',', "").parse().unwrap();
        assert!(rate >= 0.0, "{line}");
        assert!(fields[4].ends_with('B'), "bytes: {line}");
        assert!(
            fields[5].starts_with("memory ") && fields[5].contains(" of "),
            "{line}"
        );
        let hosts: Vec<&str> = fields[6].split(' ').collect();
        assert!(
            hosts.len() == 5
                && hosts[0] == "hosts"
                && number(hosts[1]) <= 1
                && hosts[4] == "paused",
            "one host, never paused: {line}"
        );
        assert!(fields[7].starts_with("elapsed 0:"), "{line}");
        if let Some(eta) = fields.get(8) {
            assert!(eta.starts_with("ETA "), "{line}");
        }
    }

    assert_eq!(row(&stderr, "ended"), Some("finished"), "{stderr}");
    assert_eq!(
        row(&stderr, "status"),
        Some(format!("2xx {}, 4xx 1, none 1", pages - 2).as_str()),
        "{stderr}"
    );
    assert_eq!(
        row(&stderr, "errors"),
        Some("http_status 1, robots_disallowed 1"),
        "{stderr}"
    );
    assert_eq!(row(&stderr, "top hosts"), Some("pages  errors"), "{stderr}");
    let host = site.base_url().replace("http://", "");
    let counts: Vec<&str> = row(&stderr, &host)
        .unwrap_or_else(|| panic!("no row for {host}: {stderr}"))
        .split_whitespace()
        .collect();
    assert_eq!(counts, [pages.to_string(), "2".to_string()], "{stderr}");
}

#[test]
fn out_file_depth_and_page_errors() {
    let site = TestSite::start(SiteConfig {
        pages: 50,
        ..SiteConfig::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ucrawler-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("pages.jsonl");
    let missing = site.url("/page/9999.html");
    let output = ucrawler(&[
        "crawl",
        &site.url("/"),
        &missing,
        "--depth",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success(), "page errors do not fail the run");
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "--quiet"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let pages: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut expected = site.expected_urls(Some(1));
    expected.insert(missing.clone());
    assert_eq!(urls(&pages), expected);
    let failed = pages.iter().find(|p| p["url"] == missing.as_str()).unwrap();
    assert_eq!(failed["error"]["kind"], "http_status");
    assert_eq!(failed["status"], 404);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_page_without_an_http_response_has_status_null() {
    let site = TestSite::start(SiteConfig::default()).unwrap();
    // robots.txt disallows it: no request, no response.
    let private = site.url("/private/secret.html");
    let output = ucrawler(&["crawl", &private, &site.url("/page/1.html"), "--depth", "0"]);
    assert!(output.status.success());
    let pages = lines(&output);
    let refused = pages.iter().find(|p| p["url"] == private.as_str()).unwrap();
    assert_eq!(refused["error"]["kind"], "robots_disallowed");
    assert!(refused["status"].is_null(), "status: {}", refused["status"]);
    let fetched = pages.iter().find(|p| p["url"] != private.as_str()).unwrap();
    assert_eq!(fetched["status"], 200);
}

#[test]
fn exit_codes() {
    let bad = ucrawler(&["crawl", "http://127.0.0.1:1/", "--concurrency", "lots"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--concurrency"));
    let bad = ucrawler(&["crawl", "http://127.0.0.1:1/", "--deny", "("]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("deny"));
    let bad = ucrawler(&["crawl", "not-a-url"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not-a-url"));
    let bad = ucrawler(&[
        "crawl",
        "http://127.0.0.1:1/",
        "--out",
        "/nonexistent-dir/x.jsonl",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--out"));
    // A dead server is a page error, not a failed run.
    let dead = ucrawler(&["crawl", "http://127.0.0.1:1/", "--retries", "0", "--quiet"]);
    assert_eq!(dead.status.code(), Some(0));
    assert_eq!(lines(&dead)[0]["error"]["kind"], "connect");
}

#[test]
fn demo_finds_every_page() {
    let output = ucrawler(&["demo", "--pages", "200"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("OK: found all"), "{stderr}");
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(root: &Path, port: u16) -> Nginx {
    let conf = root.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off; master_process off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{ access_log off; client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp;\n\
               fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;\n\
               types {{ text/html html; text/plain txt; }}\n\
               server {{ listen 127.0.0.1:{port}; root {dir}/site; index index.html; }} }}\n",
            dir = root.display()
        ),
    )
    .unwrap();
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is installed (bin/setup installs nginx-light)");
    let child = Command::new(nginx)
        .args([
            "-c",
            conf.to_str().unwrap(),
            "-p",
            root.to_str().unwrap(),
            "-e",
            root.join("error.log").to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(root.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx(child)
}

#[test]
fn crawls_a_static_site_served_by_nginx() {
    let root = std::env::temp_dir().join(format!("ucrawler-nginx-{}", std::process::id()));
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let site = Site::new(SiteConfig {
        pages: 300,
        ..SiteConfig::default()
    });
    site.export(&root.join("site"), &base).unwrap();
    let _nginx = start_nginx(&root, port);
    let output = ucrawler(&["crawl", &format!("{base}/"), "--per-host", "8", "--quiet"]);
    assert!(output.status.success());
    let pages = lines(&output);
    assert_eq!(
        urls(&pages),
        site.expected_urls(&base, None),
        "every reachable in-site page exactly once, no external one"
    );
    assert!(
        pages.iter().all(|p| p["error"].is_null()),
        "all pages fetched fine"
    );
    std::fs::remove_dir_all(&root).ok();
}

/// Pages in a JSON Lines file, ignoring a last line torn by a kill.
fn pages_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
}

fn urls_in(path: &Path) -> Vec<String> {
    pages_in(path)
        .iter()
        .map(|page| page["url"].as_str().unwrap().to_string())
        .collect()
}

/// Requests in `log` for pages (robots.txt left out).
fn page_requests(log: &[LoggedRequest]) -> usize {
    log.iter().filter(|r| r.path != "/robots.txt").count()
}

/// A crawl killed with -9 and resumed fetches again only what was under way: the requests in
/// flight and the pages waiting for the writer (`concurrency + buffer` page slots), and the page
/// being written. The seeds are old addresses redirecting to the site's pages: a redirect's
/// target crawled with its page is done with it (it was fetched again on resume, when a link
/// led there: 111 pages on a probe's site). Measured against the same crawl uninterrupted (one
/// host, one request at a time: the same order), which also fetches some pages twice (a target
/// already queued when its redirect led there).
#[test]
fn killed_with_sigkill_then_resumed_loses_nothing() {
    let site = TestSite::start(SiteConfig {
        pages: 600,
        log_requests: true,
        ..SiteConfig::default()
    })
    .unwrap();
    let (concurrency, buffer) = (4, 8);
    let dir = std::env::temp_dir().join(format!("ucrawler-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let moved: Vec<String> = (1..=100)
        .map(|i| site.url(&moved_url(&format!("/page/{i}.html"))))
        .collect();
    // Slow enough (delay between requests) to be killed halfway.
    let args = |state: &str, out: &str| {
        let mut args = vec!["crawl".to_string()];
        args.extend(moved.iter().cloned());
        for (option, value) in [
            ("--concurrency", concurrency.to_string()),
            ("--per-host", "1".into()),
            ("--buffer", buffer.to_string()),
            ("--delay", "4ms".into()),
            ("--state-dir", dir.join(state).to_str().unwrap().into()),
            ("--out", dir.join(out).to_str().unwrap().into()),
            ("--quiet", "true".into()),
        ] {
            args.extend([option.to_string(), value]);
        }
        args.pop(); // --quiet takes no value
        args
    };
    let run = |args: Vec<String>| {
        let output = ucrawler(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(args("uninterrupted", "uninterrupted.jsonl"));
    let uninterrupted = page_requests(&site.request_log());

    let mut child = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args("state", "first.jsonl"))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Seeds go first: past 200 pages every old address was fetched and written (a seed not
    // fetched before the kill may lead to a page fetched since: that costs a fetch, inevitably).
    let written = |path: &Path| {
        let urls: BTreeSet<String> = urls_in(path).into_iter().collect();
        urls.len() >= 200 && moved.iter().all(|url| urls.contains(url))
    };
    while !written(&dir.join("first.jsonl")) {
        assert!(Instant::now() < deadline, "the first run made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = pages_in(&dir.join("first.jsonl"));
    assert!(before.len() < 600, "killed halfway");

    // Without --resume the journal is protected.
    let refused = ucrawler(
        &args("state", "x.jsonl")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("resume"));

    let mut resume = args("state", "second.jsonl");
    resume.push("--resume".into());
    run(resume);
    let after = pages_in(&dir.join("second.jsonl"));
    let field = |page: &Value, name: &str| page[name].as_str().unwrap().to_string();
    let reached: BTreeSet<String> = before
        .iter()
        .chain(&after)
        .flat_map(|page| [field(page, "url"), field(page, "final_url")])
        .collect();
    let mut expected = site.expected_urls(None);
    expected.extend(moved.iter().cloned());
    assert!(
        reached == expected,
        "every page crawled across the two runs; missing: {:?}, unexpected: {:?}",
        expected.difference(&reached).collect::<Vec<_>>(),
        reached.difference(&expected).collect::<Vec<_>>()
    );
    assert!(
        urls(&before).is_disjoint(&urls(&after)),
        "a page written by the first run was written again"
    );
    assert!(
        after.len() < expected.len(),
        "the second run did not start over"
    );

    let interrupted = page_requests(&site.request_log()) - uninterrupted;
    let again = interrupted.saturating_sub(uninterrupted);
    // Every redirect was done before the kill: a page costs one request here. (Before targets
    // were journaled: 26 more, the targets crawled with their redirect, each fetched again.)
    assert!(
        again <= concurrency + buffer + 1,
        "{again} requests more than the uninterrupted crawl's {uninterrupted}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn out_dash_is_standard_output() {
    let site = TestSite::start(SiteConfig {
        pages: 5,
        ..SiteConfig::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ucrawler-out-dash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args([
            "crawl",
            &site.url("/"),
            "--depth",
            "0",
            "--out",
            "-",
            "--quiet",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(urls(&lines(&output)), BTreeSet::from([site.url("/")]));
    assert!(!dir.join("-").exists(), "no file named -");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Graceful shutdown of `ucrawler crawl` with real signals: SIGTERM mid-crawl writes whole
//! lines, prints the stats and exits 0 (and `--resume` then finishes the crawl); a second
//! signal exits at once; a stop that cannot finish is cut off at the grace period. (`worker`
//! is in tests/distributed.rs.)

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ucrawler_testsite::{SiteConfig, TestSite};

#[path = "support/report.rs"]
mod report;
#[path = "support/temp_dir.rs"]
mod temp_dir;
use report::row;
use temp_dir::TempDir;

/// The bound the CLI promises from the first signal to the exit (README, signals.rs).
const GRACE: Duration = Duration::from_secs(15);

/// Kills the child on drop (a failed assertion must not leave it running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    /// Waits up to `limit` for the exit; its status, how long it took and its stderr.
    fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                let took = started.elapsed();
                let mut stderr = String::new();
                if let Some(mut err) = self.0.stderr.take() {
                    let _ = err.read_to_string(&mut stderr);
                }
                return (status, took, stderr);
            }
            assert!(started.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn site(pages: usize) -> TestSite {
    TestSite::start(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
    .unwrap()
}

/// A crawl slow enough (a delay between requests) to be stopped halfway.
fn crawl_args(root: &str, state: &Path, out: &Path) -> Vec<String> {
    [
        "crawl",
        root,
        "--per-host",
        "4",
        "--delay",
        "4ms",
        "--state-dir",
        state.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// Every line of a JSON Lines file, each of which must be whole JSON.
fn strict_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}

fn urls(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .map(|page| page["url"].as_str().unwrap().to_string())
        .collect()
}

/// Pages in a file being written, ignoring a last line still being written.
fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| serde_json::from_str::<Value>(line).is_ok())
        .count()
}

#[test]
fn sigterm_mid_crawl_exits_0_with_stats_and_resume_finishes_the_crawl() {
    let dir = TempDir::new("sigterm-crawl");
    let site = site(600);
    let (state, first, second) = (dir.join("state"), dir.join("1.jsonl"), dir.join("2.jsonl"));
    let root = site.url("/");
    let mut crawl = Running(
        Command::new(env!("CARGO_BIN_EXE_ucrawler"))
            .args(crawl_args(&root, &state, &first))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while count_lines(&first) < 150 {
        assert!(Instant::now() < deadline, "the crawl made no progress");
        assert!(crawl.0.try_wait().unwrap().is_none(), "ended too soon");
        std::thread::sleep(Duration::from_millis(10));
    }
    crawl.signal("TERM");
    let (status, took, stderr) = crawl.wait_exit(GRACE + Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert_eq!(
        row(&stderr, "ended"),
        Some("stopped by SIGTERM"),
        "{stderr}"
    );
    assert!(stderr.contains(" pages, "), "the stats: {stderr}");
    let before = urls(&strict_lines(&first));
    assert!(before.len() < 600, "stopped halfway");
    eprintln!("stopped after {} pages in {took:?}", before.len());

    let mut resume = crawl_args(&root, &state, &second);
    resume.extend(["--resume".into(), "--quiet".into()]);
    let output = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(resume)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = urls(&strict_lines(&second));
    let all: BTreeSet<String> = before.iter().chain(&after).cloned().collect();
    assert_eq!(all, site.expected_urls(None), "every page across both runs");
    // Every page written before the stop was acknowledged in the journal: none comes again
    // (a kill -9 refetches up to concurrency + buffer of them).
    let twice: Vec<_> = after.iter().filter(|u| before.contains(u)).collect();
    assert!(twice.is_empty(), "fetched in both runs: {twice:?}");
}

/// A crawl whose stdout nobody reads: once the pipe is full it cannot write, so it cannot
/// finish a graceful stop on its own. Returned once a thread of it is seen blocked writing.
fn stuck_crawl(site: &TestSite) -> Running {
    let crawl = Running(
        Command::new(env!("CARGO_BIN_EXE_ucrawler"))
            .args(["crawl", &site.url("/"), "--per-host", "8"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writing_to_a_full_pipe(crawl.0.id()) {
        assert!(Instant::now() < deadline, "never blocked on its output");
        std::thread::sleep(Duration::from_millis(20));
    }
    crawl
}

/// Whether a thread of process `pid` waits in the kernel to write to a pipe.
fn writing_to_a_full_pipe(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("wchan")).is_ok_and(|w| w.contains("pipe_write"))
    })
}

#[test]
fn a_second_signal_exits_at_once() {
    let site = site(2000);
    let mut crawl = stuck_crawl(&site);
    crawl.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        crawl.0.try_wait().unwrap().is_none(),
        "blocked on its output, the first signal cannot have ended it"
    );
    crawl.signal("INT");
    let (status, took, stderr) = crawl.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "128 + SIGINT: {stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(stderr.contains("SIGINT: exiting at once"), "{stderr}");
}

#[test]
fn a_stop_that_cannot_finish_ends_at_the_grace_period() {
    let site = site(2000);
    let mut crawl = stuck_crawl(&site);
    crawl.signal("TERM");
    let (status, took, stderr) = crawl.wait_exit(GRACE + Duration::from_secs(5));
    assert_eq!(status.code(), Some(143), "128 + SIGTERM: {stderr}");
    assert!(
        took > GRACE - Duration::from_secs(1) && took < GRACE + Duration::from_secs(2),
        "exited {took:?} after the signal"
    );
    assert!(stderr.contains("not stopped within 15s"), "{stderr}");
}

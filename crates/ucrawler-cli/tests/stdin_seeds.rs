//! `ucrawler crawl -`: seeds read from stdin.

#[path = "support/json_lines.rs"]
mod json_lines;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use ucrawler_testsite::{SiteConfig, TestSite};

/// `-` among the URLs reads seeds from stdin, one per line (a table of thousands of sites does
/// not fit a command line); with nothing there and no other URL, a usage error.
#[test]
fn crawl_reads_seeds_from_stdin() {
    let site = TestSite::start(SiteConfig {
        pages: 10,
        ..SiteConfig::default()
    })
    .unwrap();
    let crawl = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ucrawler runs");
        let mut input = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut input, stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    };
    let stdin = format!(
        "{}\n\n# a comment\n  {}  \n",
        site.url("/page/1.html"),
        site.url("/page/2.html")
    );
    let output = crawl(
        &["crawl", "-", &site.url("/page/3.html"), "--depth", "0"],
        &stdin,
    );
    assert!(output.status.success(), "{output:?}");
    let expected: BTreeSet<String> = [1, 2, 3]
        .map(|n| site.url(&format!("/page/{n}.html")))
        .into();
    // First visits all: every page is new.
    let pages = json_lines::parse(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(pages.len(), 3);
    assert_eq!(json_lines::with_change(&pages, "new"), expected);

    let empty = crawl(&["crawl", "-"], "\n# none\n");
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no URL to crawl"));
    let bad = crawl(&["crawl", "-"], "not a url\n");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

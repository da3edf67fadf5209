use std::collections::BTreeMap;

use ucrawler::memory::MemoryStats;
use ucrawler::{CrawlError, EndReason, Page};

use super::*;

fn page(url: &str, status: u16, error: Option<CrawlError>) -> Page {
    Page {
        url: url.into(),
        status,
        error,
        ..Page::default()
    }
}

fn crawled() -> (Stats, Tally) {
    let mut tally = Tally::default();
    for i in 0..1200 {
        tally.record(&page(&format!("http://big.example/{i}"), 200, None));
    }
    tally.record(&page(
        "http://big.example/gone",
        404,
        Some(CrawlError::HttpStatus(404)),
    ));
    for host in ["a", "b", "c", "d", "e", "f"] {
        for i in 0..3 {
            tally.record(&page(&format!("http://{host}.example/{i}"), 200, None));
        }
    }
    tally.record(&page(
        "http://dead.example:8080/",
        0,
        Some(CrawlError::Connect("refused".into())),
    ));
    let stats = Stats {
        pages: 1220,
        errors: 2,
        errors_by_kind: BTreeMap::from([("connect".into(), 1), ("http_status".into(), 1)]),
        bytes: 5 * 1024 * 1024,
        end_reason: Some(EndReason::MaxPages),
        memory: MemoryStats {
            peak: 3 * 1024 * 1024,
            limit: 1024 * 1024 * 1024,
            ..MemoryStats::default()
        },
        ..Stats::default()
    };
    (stats, tally)
}

#[test]
fn the_report_is_an_aligned_table() {
    let (stats, tally) = crawled();
    let report = render(&Ending {
        stats: &stats,
        tally: &tally,
        wall: Duration::from_millis(7_500),
        stopped_by: None,
        peak_rss: Some(80 * 1024 * 1024),
    });
    let expected = "\
1,220 pages, 2 errors, 5.0 MiB in 7.50s (163 pages/s)
  ended   max_pages
  status  2xx 1,218, 4xx 1, none 1
  errors  connect 1, http_status 1
  memory  peak 80.0 MiB resident, engine accounted 3.0 MiB of max_memory 1.0 GiB
  top hosts          pages  errors
  big.example        1,201       1
  a.example              3       0
  b.example              3       0
  c.example              3       0
  d.example              3       0
  3 other hosts          7       1
  most errors        pages  errors
  big.example        1,201       1
  dead.example:8080      1       1";
    assert_eq!(report, expected, "\n{report}");
}

#[test]
fn a_stop_signal_and_a_recrawl_have_their_rows() {
    let (mut stats, tally) = crawled();
    stats.changes.new = 2;
    stats.changes.changed = 3;
    stats.changes.unchanged = 1200;
    stats.changes.not_modified = 1200;
    stats.changes.gone = 1;
    let report = render(&Ending {
        stats: &stats,
        tally: &tally,
        wall: Duration::from_secs(1),
        stopped_by: Some(StopSignal::Terminate),
        peak_rss: None,
    });
    let rows: Vec<&str> = report.lines().collect();
    assert!(rows.contains(&"  ended    stopped by SIGTERM"), "{report}");
    assert!(
        rows.iter().any(|row| row
            .starts_with("  recrawl  2 new, 3 changed, 1200 unchanged (1200 not modified: ~")
            && row.ends_with(" not downloaded), 1 gone")),
        "{report}"
    );
    assert!(
        rows.contains(&"  memory   engine accounted 3.0 MiB of max_memory 1.0 GiB"),
        "{report}"
    );
}

#[test]
fn nothing_crawled_is_a_short_report() {
    let report = render(&Ending {
        stats: &Stats::default(),
        tally: &Tally::default(),
        wall: Duration::ZERO,
        stopped_by: None,
        peak_rss: None,
    });
    assert_eq!(
        report,
        "0 pages, 0 errors, 0 B in 0.00s (0 pages/s)\n  memory  engine accounted 0 B of max_memory 0 B"
    );
}

#[test]
fn no_most_errors_table_that_repeats_the_top_hosts() {
    let mut tally = Tally::default();
    tally.record(&page("http://only.example/", 200, None));
    tally.record(&page(
        "http://only.example/x",
        500,
        Some(CrawlError::HttpStatus(500)),
    ));
    let report = render(&Ending {
        stats: &Stats::default(),
        tally: &tally,
        wall: Duration::from_secs(1),
        stopped_by: None,
        peak_rss: None,
    });
    assert!(
        report.ends_with("\n  top hosts     pages  errors\n  only.example      2       1"),
        "{report}"
    );
}

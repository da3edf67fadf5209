//! Prometheus text exposition (format 0.0.4) of crawls' [`Stats`]: what `ucrawler crawl
//! --metrics` and `ucrawler worker --metrics` serve at `/metrics`, and what the gem's
//! `UcrawlerNative.metrics` returns. Every series has a `crawl` label; names start `ucrawler_`.

use std::fmt::Write;

use crate::stats::Stats;

/// One metric: its name, type, help and a value per label set.
struct Family<'a> {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Samples<'a>,
}

type Samples<'a> = Vec<(Vec<(&'static str, &'a str)>, f64)>;

/// The text for `crawls`, each named by its `crawl` label.
pub fn prometheus<'a>(crawls: &[(&'a str, &'a Stats)]) -> String {
    // One sample per crawl.
    let each = |value: fn(&Stats) -> f64| -> Samples<'a> {
        (crawls.iter())
            .map(|(crawl, stats)| (vec![("crawl", *crawl)], value(stats)))
            .collect()
    };
    // One sample per crawl and value of a second label.
    let by = |label: &'static str, values: fn(&'a Stats) -> Vec<(&'a str, u64)>| -> Samples<'a> {
        let mut samples = Vec::new();
        for (crawl, stats) in crawls {
            for (value, count) in values(stats) {
                samples.push((vec![("crawl", *crawl), (label, value)], count as f64));
            }
        }
        samples
    };
    let (counter, gauge) = ("counter", "gauge");
    let families: [Family<'a>; 28] = [
        family(
            "ucrawler_pages_total",
            counter,
            "Pages delivered, failed ones included.",
            each(|s| s.pages as f64),
        ),
        family(
            "ucrawler_bytes_total",
            counter,
            "Body bytes received.",
            each(|s| s.bytes as f64),
        ),
        family(
            "ucrawler_errors_total",
            counter,
            "Pages delivered with an error, by kind.",
            by("kind", |s| {
                s.errors_by_kind
                    .iter()
                    .map(|(k, n)| (k.as_str(), *n))
                    .collect()
            }),
        ),
        family(
            "ucrawler_pages_per_second",
            gauge,
            "Pages per second since the crawl started.",
            each(|s| s.pages_per_sec),
        ),
        family(
            "ucrawler_in_flight",
            gauge,
            "Requests under way.",
            each(|s| s.in_flight as f64),
        ),
        family(
            "ucrawler_held_pages",
            gauge,
            "Pages fetched and not yet taken by the consumer.",
            each(|s| s.held as f64),
        ),
        family(
            "ucrawler_fetch_window",
            gauge,
            "Requests let run ahead of the parsers.",
            each(|s| s.fetch_window as f64),
        ),
        family(
            "ucrawler_frontier_requests",
            gauge,
            "Requests waiting to be fetched.",
            each(|s| s.frontier as f64),
        ),
        family(
            "ucrawler_seen_urls",
            gauge,
            "Distinct URLs seen.",
            each(|s| s.seen as f64),
        ),
        family(
            "ucrawler_out_of_scope_total",
            counter,
            "Links not followed by the scope rules.",
            each(|s| s.out_of_scope as f64),
        ),
        family(
            "ucrawler_dropped_total",
            counter,
            "Links dropped as traps or past a budget, by reason.",
            by("reason", |s| {
                vec![
                    ("path_loop", s.trap_path_loops),
                    ("query_variants", s.trap_query_variants),
                    ("seed_budget", s.over_seed_budget),
                    ("host_budget", s.over_host_budget),
                ]
            }),
        ),
        family(
            "ucrawler_changes_total",
            counter,
            "Pages by what changed since their last visit.",
            by("change", |s| {
                let c = &s.changes;
                vec![
                    ("new", c.new),
                    ("changed", c.changed),
                    ("unchanged", c.unchanged),
                    ("gone", c.gone),
                ]
            }),
        ),
        family(
            "ucrawler_memory_limit_bytes",
            gauge,
            "The crawler's max_memory.",
            each(|s| s.memory.limit as f64),
        ),
        family(
            "ucrawler_memory_used_bytes",
            gauge,
            "Bytes accounted against max_memory, by part.",
            by("part", |s| {
                let m = &s.memory;
                vec![
                    ("bodies", m.bodies),
                    ("pages", m.pages),
                    ("frontier", m.frontier),
                    ("seen", m.seen),
                ]
            }),
        ),
        family(
            "ucrawler_descriptors_open",
            gauge,
            "Open file descriptors of the process.",
            each(|s| s.descriptors.open as f64),
        ),
        family(
            "ucrawler_descriptors_budget",
            gauge,
            "The most the crawler's connections take it to.",
            each(|s| s.descriptors.budget as f64),
        ),
        family(
            "ucrawler_connections_open",
            gauge,
            "The crawler's connections, open or connecting.",
            each(|s| s.descriptors.connections as f64),
        ),
        family(
            "ucrawler_connections_limit",
            gauge,
            "The most connections the crawler keeps (concurrency + 64).",
            each(|s| s.descriptors.connection_limit as f64),
        ),
        family(
            "ucrawler_connections_closed_idle_total",
            counter,
            "Idle connections closed to make room for another host's.",
            each(|s| s.descriptors.closed_idle as f64),
        ),
        family(
            "ucrawler_hosts_active",
            gauge,
            "Hosts with requests in flight (every crawl of the process).",
            each(|s| s.hosts_active as f64),
        ),
        family(
            "ucrawler_hosts_paused",
            gauge,
            "Hosts waiting a second or more for their next request: Retry-After, backoff, Crawl-delay.",
            each(|s| s.hosts_paused as f64),
        ),
        family(
            "ucrawler_politeness_wait_seconds_total",
            counter,
            "Time requests were queued but every one's host had to wait (per_host, delay, Crawl-delay, pauses).",
            each(|s| s.politeness_wait_seconds),
        ),
        family(
            "ucrawler_redis_calls_total",
            counter,
            "Calls answered by Redis in this process.",
            each(|s| s.redis_calls as f64),
        ),
        family(
            "ucrawler_redis_seconds_total",
            counter,
            "Round-trip time of those calls, summed (divide by the calls for the mean).",
            each(|s| s.redis_seconds),
        ),
        family(
            "ucrawler_sitemaps_total",
            counter,
            "Sitemaps read to their end (outcome=read) or failed (outcome=failed).",
            by("outcome", |s| vec![("read", s.sitemaps.read), ("failed", s.sitemaps.failed)]),
        ),
        family(
            "ucrawler_render_pages_total",
            counter,
            "Pages rendered in Chromium (outcome=rendered, unsettled: taken at render_timeout, \
             retried, failed) and render: auto decisions (outcome=shell, not_shell).",
            by("outcome", |s| {
                let r = &s.render;
                vec![
                    ("rendered", r.rendered),
                    ("unsettled", r.unsettled),
                    ("retried", r.retried),
                    ("failed", r.failed),
                    ("shell", r.shells),
                    ("not_shell", r.not_shells),
                ]
            }),
        ),
        family(
            "ucrawler_browser_rss_bytes",
            gauge,
            "Resident memory of the process's rendering browser (its whole process tree).",
            each(|s| s.render.browser_rss_bytes as f64),
        ),
        family(
            "ucrawler_finished",
            gauge,
            "1 once the crawl has ended.",
            each(|s| f64::from(u8::from(s.end_reason.is_some()))),
        ),
    ];

    let mut out = String::new();
    for family in &families {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        for (labels, value) in &family.samples {
            let labels: Vec<String> = labels
                .iter()
                .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
                .collect();
            let _ = writeln!(out, "{}{{{}}} {}", family.name, labels.join(","), value);
        }
    }
    out
}

fn family<'a>(
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Samples<'a>,
) -> Family<'a> {
    Family {
        name,
        kind,
        help,
        samples,
    }
}

/// A label value as the exposition format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_per_crawl_and_label() {
        let mut stats = Stats {
            pages: 12,
            ..Stats::default()
        };
        stats.errors_by_kind.insert("timeout".into(), 2);
        stats.memory.limit = 1024;
        (stats.hosts_paused, stats.redis_calls, stats.redis_seconds) = (3, 40, 0.5);
        stats.sitemaps.failed = 2;
        stats.render.shells = 4;
        let text = prometheus(&[("a \"b\"", &stats), ("c", &Stats::default())]);
        assert!(text.contains("# TYPE ucrawler_pages_total counter\n"));
        assert!(text.contains("ucrawler_pages_total{crawl=\"a \\\"b\\\"\"} 12\n"));
        assert!(text.contains("ucrawler_pages_total{crawl=\"c\"} 0\n"));
        assert!(text.contains("ucrawler_errors_total{crawl=\"a \\\"b\\\"\",kind=\"timeout\"} 2\n"));
        assert!(text.contains("ucrawler_memory_used_bytes{crawl=\"c\",part=\"seen\"} 0\n"));
        assert!(text.contains("ucrawler_memory_limit_bytes{crawl=\"a \\\"b\\\"\"} 1024\n"));
        assert!(text.contains("ucrawler_hosts_paused{crawl=\"c\"} 0\n"));
        assert!(text.contains("ucrawler_hosts_paused{crawl=\"a \\\"b\\\"\"} 3\n"));
        assert!(text.contains("ucrawler_redis_calls_total{crawl=\"a \\\"b\\\"\"} 40\n"));
        assert!(text.contains("ucrawler_redis_seconds_total{crawl=\"a \\\"b\\\"\"} 0.5\n"));
        assert!(
            text.contains("ucrawler_sitemaps_total{crawl=\"a \\\"b\\\"\",outcome=\"failed\"} 2\n")
        );
        assert!(text
            .contains("ucrawler_render_pages_total{crawl=\"a \\\"b\\\"\",outcome=\"shell\"} 4\n"));
        // Every sample line is `name{labels} number`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(
                series.starts_with("ucrawler_") && series.ends_with('}'),
                "{line}"
            );
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}

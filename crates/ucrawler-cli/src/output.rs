//! What the CLI prints: one JSON object per page, a progress bar on a terminal, and a summary.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use ucrawler::units::format_size;
use ucrawler::{Change, CrawlError, EndReason, Page, Stats};

use crate::signals::StopSignal;

/// One line of `crawl` output.
#[derive(Serialize)]
struct PageLine<'a> {
    url: &'a str,
    final_url: &'a str,
    /// null when there was no HTTP response (robots.txt, a connect error, a refused address).
    status: Option<u16>,
    content_type: Option<&'a str>,
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<&'a str>,
    links: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    nofollow_links: &'a [String],
    extracted: &'a BTreeMap<String, Vec<String>>,
    /// JSON-LD blocks as the page wrote them; the ones that did not parse, in json_ld_errors.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    json_ld: &'a [serde_json::Value],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    json_ld_errors: &'a [String],
    /// OpenGraph and Twitter card properties: name => values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    open_graph: &'a BTreeMap<String, Vec<String>>,
    depth: u32,
    bytes: u64,
    truncated: bool,
    attempts: u32,
    elapsed_ms: f64,
    error: Option<&'a CrawlError>,
    /// Against the page's last visit (a recrawl): new, changed, unchanged, gone; null when
    /// this visit tells nothing.
    change: Option<Change>,
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
    content_hash: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    headers: &'a [(String, String)],
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
}

pub fn write_page(out: &mut impl Write, page: &Page) -> std::io::Result<()> {
    let line = PageLine {
        url: &page.url,
        final_url: &page.final_url,
        status: Some(page.status).filter(|&status| status != 0),
        content_type: page.content_type.as_deref(),
        title: page.title.as_deref(),
        duplicate_of: page.duplicate_of.as_deref(),
        links: &page.links,
        nofollow_links: &page.nofollow_links,
        extracted: &page.extracted,
        json_ld: &page.json_ld,
        json_ld_errors: &page.json_ld_errors,
        open_graph: &page.open_graph,
        depth: page.depth,
        bytes: page.bytes,
        truncated: page.truncated,
        attempts: page.attempts,
        elapsed_ms: page.elapsed().as_secs_f64() * 1000.0,
        error: page.error.as_ref(),
        change: page.change,
        etag: page.etag.as_deref(),
        last_modified: page.last_modified.as_deref(),
        content_hash: page.content_hash.as_deref(),
        headers: &page.headers,
        body: page.body.as_deref(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// A progress bar on stderr, only when stderr is a terminal.
pub fn progress(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} pages  {per_sec}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Peak resident memory of this process (VmHWM), when the OS tells.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The summary printed after a crawl; `stopped_by`: the signal that stopped it, if one did.
pub fn summary(stats: &Stats, wall: Duration, stopped_by: Option<StopSignal>) -> String {
    let mut text = format!(
        "{} pages, {} errors, {} in {:.2}s ({:.0} pages/s)",
        stats.pages,
        stats.errors,
        format_size(stats.bytes),
        wall.as_secs_f64(),
        stats.pages as f64 / wall.as_secs_f64().max(1e-9),
    );
    if let Some(peak) = peak_rss() {
        text.push_str(&format!(", peak memory {}", format_size(peak)));
    }
    text.push_str(&format!(
        " (engine accounted {} of max_memory {})",
        format_size(stats.memory.peak),
        format_size(stats.memory.limit)
    ));
    let changes = &stats.changes;
    if changes.changed + changes.unchanged + changes.gone > 0 {
        // Pages with a body this time: what each 304 would have cost, on average.
        let full = stats.pages.saturating_sub(changes.not_modified).max(1);
        text.push_str(&format!(
            "\n  recrawl: {} new, {} changed, {} unchanged ({} not modified: ~{} not downloaded), {} gone",
            changes.new,
            changes.changed,
            changes.unchanged,
            changes.not_modified,
            format_size(stats.bytes / full * changes.not_modified),
            changes.gone
        ));
    }
    if let Some(signal) = stopped_by {
        text.push_str(&format!("\n  ended: stopped by {}", signal.name()));
    } else if let Some(reason) = stats.end_reason.filter(|r| *r != EndReason::Finished) {
        text.push_str(&format!("\n  ended: {reason:?}"));
    }
    for (kind, count) in &stats.errors_by_kind {
        text.push_str(&format!("\n  {kind}: {count}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn line(page: &Page) -> Value {
        let mut out = Vec::new();
        write_page(&mut out, page).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn structured_data_only_when_the_page_declares_some() {
        let mut page = Page {
            url: "http://h/".into(),
            ..Page::default()
        };
        let plain = line(&page);
        for key in ["json_ld", "json_ld_errors", "open_graph"] {
            assert!(plain.get(key).is_none(), "{key}");
        }
        page.json_ld = vec![json!({"@type": "Product", "offers": {"price": "9.99"}})];
        page.json_ld_errors = vec!["block 2: trailing comma at line 1 column 9".into()];
        (page.open_graph).insert("og:image".into(), vec!["/a.jpg".into(), "/b.jpg".into()]);
        let declared = line(&page);
        assert_eq!(
            declared["json_ld"],
            json!([{"@type": "Product", "offers": {"price": "9.99"}}])
        );
        assert_eq!(
            declared["json_ld_errors"][0],
            "block 2: trailing comma at line 1 column 9"
        );
        assert_eq!(
            declared["open_graph"],
            json!({"og:image": ["/a.jpg", "/b.jpg"]})
        );
    }
}

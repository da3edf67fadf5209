//! The report printed on stderr when a crawl ends: a headline, then a short table of how it
//! went (why it ended, pages by status class, errors by kind, memory, the top hosts), the
//! labels in one column so that a reader's eye, or a script, finds a row by its first word.

use std::fmt::Write as _;
use std::time::Duration;

use ucrawler::units::format_size;
use ucrawler::Stats;

use crate::human;
use crate::signals::StopSignal;
use crate::tally::{Count, Tally};

/// Hosts listed in each of the two host tables.
const TOP_HOSTS: usize = 5;

/// What the report is made of.
pub struct Ending<'a> {
    pub stats: &'a Stats,
    pub tally: &'a Tally,
    pub wall: Duration,
    /// The signal that stopped the crawl, if one did.
    pub stopped_by: Option<StopSignal>,
    /// The process's peak resident memory, when the OS tells.
    pub peak_rss: Option<u64>,
}

/// The report, ending without a newline.
pub fn render(ending: &Ending) -> String {
    let Ending {
        stats,
        tally,
        wall,
        stopped_by,
        peak_rss,
    } = ending;
    let mut text = format!(
        "{}, {}, {} in {:.2}s ({} pages/s)",
        human::counted(stats.pages, "page"),
        human::counted(stats.errors, "error"),
        format_size(stats.bytes),
        wall.as_secs_f64(),
        human::rate(stats.pages as f64 / wall.as_secs_f64().max(1e-9)),
    );
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(signal) = stopped_by {
        rows.push(("ended", format!("stopped by {}", signal.name())));
    } else if let Some(reason) = stats.end_reason {
        // The serde name: `finished`, `max_pages`, `deadline`...
        let name = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| format!("{reason:?}"));
        rows.push(("ended", name));
    }
    let classes: Vec<String> = tally
        .classes()
        .map(|(class, n)| format!("{class} {}", human::count(n)))
        .collect();
    if !classes.is_empty() {
        rows.push(("status", classes.join(", ")));
    }
    let mut kinds: Vec<(&String, &u64)> = stats.errors_by_kind.iter().collect();
    kinds.sort_by(|(a, m), (b, n)| n.cmp(m).then(a.cmp(b)));
    if !kinds.is_empty() {
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(kind, n)| format!("{kind} {}", human::count(**n)))
            .collect();
        rows.push(("errors", kinds.join(", ")));
    }
    let resident = peak_rss.map_or(String::new(), |peak| {
        format!("peak {} resident, ", format_size(peak))
    });
    rows.push((
        "memory",
        format!(
            "{resident}engine accounted {} of max_memory {}",
            format_size(stats.memory.peak),
            format_size(stats.memory.limit)
        ),
    ));
    let changes = &stats.changes;
    if changes.changed + changes.unchanged + changes.gone > 0 {
        // Pages with a body this time: what each 304 would have cost, on average.
        let full = stats.pages.saturating_sub(changes.not_modified).max(1);
        rows.push((
            "recrawl",
            format!(
                "{} new, {} changed, {} unchanged ({} not modified: ~{} not downloaded), {} gone",
                changes.new,
                changes.changed,
                changes.unchanged,
                changes.not_modified,
                format_size(stats.bytes / full * changes.not_modified),
                changes.gone
            ),
        ));
    }
    let sitemaps = &stats.sitemaps;
    if sitemaps.read + sitemaps.failed > 0 {
        rows.push((
            "sitemaps",
            format!(
                "{} read, {} failed: {} URLs ({} entries dropped)",
                human::count(sitemaps.read),
                human::count(sitemaps.failed),
                human::count(sitemaps.urls),
                human::count(sitemaps.dropped)
            ),
        ));
    }
    let render = &stats.render;
    if render.rendered + render.failed + render.not_shells > 0 {
        rows.push((
            "render",
            format!(
                "{} rendered ({} unsettled, {} retried, {} failed), {} not shells; {} requests, \
                 {} refused; browser peak {}",
                human::count(render.rendered),
                human::count(render.unsettled),
                human::count(render.retried),
                human::count(render.failed),
                human::count(render.not_shells),
                human::count(render.subrequests),
                human::count(render.blocked),
                format_size(render.browser_peak_rss_bytes)
            ),
        ));
    }
    let skipped: Vec<String> = [
        (stats.over_host_budget, "over host budget"),
        (stats.over_seed_budget, "over seed budget"),
        (stats.trap_path_loops, "path loops"),
        (stats.trap_query_variants, "query variants"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{} {what}", human::count(*n)))
    .collect();
    if !skipped.is_empty() {
        rows.push(("skipped", skipped.join(", ")));
    }
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in &rows {
        let _ = write!(text, "\n  {label:<width$}  {value}");
    }
    text.push_str(&host_tables(tally));
    text
}

/// The hosts with the most pages, the rest summed up in one row; then, if pages failed on hosts
/// other than the first of those, the hosts with the most errors. Both share their columns.
fn host_tables(tally: &Tally) -> String {
    let by_pages = tally.top(TOP_HOSTS, false);
    if by_pages.is_empty() {
        return String::new();
    }
    let by_errors = tally.top(TOP_HOSTS, true);
    let total = tally.total();
    let listed = by_pages.iter().fold(Count::default(), |sum, (_, c)| Count {
        pages: sum.pages + c.pages,
        errors: sum.errors + c.errors,
    });
    let rest = Count {
        pages: total.pages.saturating_sub(listed.pages),
        errors: total.errors.saturating_sub(listed.errors),
    };
    let (hosts, pruned) = tally.hosts();
    let others = match hosts - by_pages.len() {
        _ if pruned => "other hosts".to_string(),
        n => human::counted(n as u64, "other host"),
    };
    let row = |host: &str, c: Count| {
        [
            host.to_string(),
            human::count(c.pages),
            human::count(c.errors),
        ]
    };
    let header = |title: &str| [title.to_string(), "pages".into(), "errors".into()];
    let mut table = vec![header("top hosts")];
    table.extend(by_pages.iter().map(|(host, c)| row(host, *c)));
    if rest.pages > 0 {
        table.push(row(&others, rest));
    }
    // Worth a table unless it would repeat the first rows of the other one.
    let repeats = by_errors
        .iter()
        .map(|(host, _)| host)
        .eq(by_pages.iter().take(by_errors.len()).map(|(host, _)| host));
    if !by_errors.is_empty() && !repeats {
        table.push(header("most errors"));
        table.extend(by_errors.iter().map(|(host, c)| row(host, *c)));
    }
    let width = |column: usize| table.iter().map(|r| r[column].len()).max().unwrap_or(0);
    let (hosts, pages, errors) = (width(0), width(1), width(2));
    let mut text = String::new();
    for [host, p, e] in &table {
        let _ = write!(text, "\n  {host:<hosts$}  {p:>pages$}  {e:>errors$}");
    }
    text
}

/// Prints the report of a crawl that took `wall` on stderr.
pub fn print(stats: &Stats, tally: &Tally, wall: Duration, stopped_by: Option<StopSignal>) {
    eprintln!(
        "{}",
        render(&Ending {
            stats,
            tally,
            wall,
            stopped_by,
            peak_rss: peak_rss(),
        })
    );
}

/// Peak resident memory of this process (VmHWM), when the OS tells.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests;

//! `demo` and `serve-testsite`: the bundled synthetic site, in-process, no network needed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ucrawler_testsite::{Churn, Latency, SiteConfig, TestSite, MAX_GENERATION};

use crate::args::CrawlOptions;
use crate::progress::{Progress, PLAIN_INTERVAL};
use crate::tally::Tally;
use crate::{build_crawler, report, Failure};

pub fn run(pages: usize, options: &CrawlOptions) -> Result<ExitCode, Failure> {
    let crawler = build_crawler(options)?;
    let site = TestSite::start(SiteConfig {
        pages,
        ..SiteConfig::default()
    })
    .map_err(|e| Failure::Fatal(format!("starting the test site: {e}")))?;
    let depth = crawler.config().depth;
    let expected = site.expected_urls(depth);
    eprintln!("test site: {} pages at {}", pages, site.base_url());
    let started = Instant::now();
    let mut crawl = crawler
        .crawl([site.url("/")])
        .map_err(|e| Failure::Fatal(e.to_string()))?;
    let mut progress = Progress::start(true, PLAIN_INTERVAL, crawler.config().max_pages);
    let mut tally = Tally::default();
    let mut found = BTreeSet::new();
    let mut repeated = 0;
    while let Some(page) = crawl.next() {
        if !found.insert(page.url.clone()) {
            repeated += 1;
        }
        tally.record(&page);
        progress.refresh(|| crawl.stats());
    }
    progress.finish();
    report::print(&crawl.stats(), &tally, started.elapsed(), None);
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    if missing.is_empty() && unexpected.is_empty() && repeated == 0 {
        eprintln!(
            "OK: found all {} expected pages, each exactly once",
            expected.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "FAILED: {} missing, {} unexpected, {} fetched twice (e.g. missing {:?}, unexpected {:?})",
            missing.len(),
            unexpected.len(),
            repeated,
            missing.first(),
            unexpected.first()
        );
        Ok(ExitCode::from(1))
    }
}

/// `serve-testsite`'s options for testing recrawls.
#[derive(clap::Args)]
pub struct GenerationArgs {
    /// Serve this generation of the site: 0 is the original, each later one changes, removes
    /// and adds a share of the pages (--changed, --removed, --added). While serving, GET
    /// /__testsite/generation/N moves every host to generation N and GET
    /// /__testsite/generation tells the current one (neither is linked from the site)
    #[arg(long, default_value_t = 0, value_name = "N")]
    generation: u32,
    /// Share of the live pages each generation changes (text, title words, price)
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION")]
    changed: f64,
    /// Share of the live pages each generation removes (404, or 410 for a quarter of them)
    #[arg(long, default_value_t = 0.01, value_name = "FRACTION")]
    removed: f64,
    /// New pages each generation adds, as a share of the live pages; each is linked only from
    /// a page changed in that generation
    #[arg(long, default_value_t = 0.02, value_name = "FRACTION")]
    added: f64,
    /// Put a per-request token in every page (a hidden csrf input, a timestamp script): new
    /// bytes on every request, the same text and links, and no ETag or Last-Modified
    #[arg(long)]
    volatile: bool,
    /// Send no ETag or Last-Modified and never answer 304 (pages send them by default, and
    /// answer If-None-Match and If-Modified-Since)
    #[arg(long)]
    no_validators: bool,
}

pub fn serve(
    pages: usize,
    port: u16,
    hosts: usize,
    latency: &str,
    expected_urls: Option<PathBuf>,
    generations: &GenerationArgs,
) -> Result<ExitCode, Failure> {
    if generations.generation > MAX_GENERATION {
        return Err(Failure::Usage(format!(
            "--generation must be at most {MAX_GENERATION}"
        )));
    }
    let churn = Churn::new(generations.changed, generations.removed, generations.added)
        .map_err(|e| Failure::Usage(format!("--changed/--removed/--added: {e}")))?;
    let config = SiteConfig {
        pages,
        latency: Latency::parse(latency).map_err(|e| Failure::Usage(format!("--latency {e}")))?,
        generation: generations.generation,
        churn,
        validators: !generations.no_validators,
        volatile: generations.volatile,
        ..SiteConfig::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let site = match hosts {
        0 => return Err(Failure::Usage("--hosts must be at least 1".into())),
        1 => TestSite::start_on(addr, config),
        _ if port != 0 => return Err(Failure::Usage("--hosts N needs --port 0".into())),
        _ => TestSite::start_hosts(hosts, config),
    }
    .map_err(|e| Failure::Fatal(format!("cannot serve on {addr}: {e}")))?;
    if let Some(path) = expected_urls {
        let mut list = String::new();
        for (host, base) in site.base_urls().iter().enumerate() {
            for url in site.site_of(host).expected_urls(base, None) {
                list.push_str(&url);
                list.push('\n');
            }
        }
        std::fs::write(&path, list)
            .map_err(|e| Failure::Fatal(format!("--expected-urls {}: {e}", path.display())))?;
    }
    // The first line of stdout is the address (one line per host): scripts and specs read it.
    for base in site.base_urls() {
        println!("{base}");
    }
    std::io::Write::flush(&mut std::io::stdout()).map_err(|e| Failure::Fatal(e.to_string()))?;
    eprintln!(
        "serving {pages} pages (generation {}) at {}/ and {} more hosts (Ctrl-C to stop)",
        site.generation(),
        site.base_url(),
        hosts - 1
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Fatal(e.to_string()))?;
    runtime
        .block_on(tokio::signal::ctrl_c())
        .map_err(|e| Failure::Fatal(format!("waiting for Ctrl-C: {e}")))?;
    // What the server saw, for benchmarks: busy time over wall time is the mean in flight, and
    // the most requests one host answered at once checks a crawler's per-host limit, and the
    // connections show its keep-alive (accepted) and its connection limit (most open at once).
    eprintln!(
        "{}",
        serde_json::json!({
            "requests": site.requests_served(),
            "busy_seconds": site.log().busy().as_secs_f64(),
            "max_in_flight_per_host": site.log().max_in_flight_per_host(),
            "connections": site.log().connections_accepted(),
            "max_open_connections": site.log().max_open_connections(),
        })
    );
    site.shutdown();
    Ok(ExitCode::SUCCESS)
}

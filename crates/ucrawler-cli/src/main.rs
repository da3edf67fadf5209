//! `ucrawler`: crawl from the command line, try it on a bundled test site, or serve that site;
//! share one crawl between many workers through Redis (`enqueue`, `worker`, `status`) and watch
//! the shared crawls (`dashboard`).

mod args;
mod dashboard_server;
mod demo;
mod human;
mod metrics_server;
mod output;
mod progress;
mod report;
mod shared;
mod signals;
mod tally;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ucrawler::{Crawl, Crawler, Next};

use crate::args::{CrawlOptions, DashboardArgs, OutputArgs, RedisTarget};
use crate::metrics_server::MetricsServer;
use crate::progress::Progress;
use crate::signals::{StopRequest, StopSignal};
use crate::tally::Tally;

/// How often the crawl loop looks for a stop signal while it waits for a page.
const STOP_POLL: Duration = Duration::from_millis(100);
/// After a stop signal, pages already fetched are still written for this long at most.
const STOP_DRAIN: Duration = Duration::from_secs(1);

#[derive(Parser)]
#[command(
    name = "ucrawler",
    version,
    about = "A web crawler with hard memory bounds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Crawl from the given URLs, writing one JSON object per page (JSON Lines)
    Crawl {
        /// Seed URLs (`-` reads more from stdin, one per line)
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        options: CrawlOptions,
    },
    /// Queue seed URLs in a crawl shared through Redis (`-` reads URLs from stdin, one per line)
    Enqueue {
        #[command(flatten)]
        target: RedisTarget,
        /// URLs (or - for stdin)
        #[arg(value_name = "URL")]
        urls: Vec<String>,
        /// Queue URLs even if the crawl has seen them (to crawl them again)
        #[arg(long)]
        force: bool,
        /// Delete the crawl's queue, seen set, leases and counts first
        #[arg(long)]
        reset: bool,
        /// Start the crawl's next generation: queue again every URL it has done, with what its
        /// visit learned (workers then ask conditionally and report each page's change). The
        /// crawl must be finished
        #[arg(long, conflicts_with = "reset")]
        recrawl: bool,
    },
    /// Crawl a shared crawl together with every other worker on it (needs --redis and --name),
    /// writing pages as JSON Lines; ends when the crawl is done (unless --follow)
    Worker {
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        options: CrawlOptions,
    },
    /// Print a shared crawl's counts as JSON: pending, leased, done, failed, seen, rate
    Status {
        #[command(flatten)]
        target: RedisTarget,
    },
    /// Serve the dashboard of the shared crawls in --redis (pause, resume, cancel, requeue
    /// failed) at http://ADDR/ until Ctrl-C
    Dashboard {
        #[command(flatten)]
        args: DashboardArgs,
    },
    /// Crawl the bundled test site (served in-process on a free port) and check the result
    Demo {
        /// Pages in the test site
        #[arg(long, default_value_t = 1000, value_name = "N")]
        pages: usize,
        #[command(flatten)]
        options: CrawlOptions,
    },
    /// Serve the synthetic test site on 127.0.0.1 until Ctrl-C
    ServeTestsite {
        /// Pages in the site
        #[arg(long, default_value_t = 1000, value_name = "N")]
        pages: usize,
        /// Port (0 = any free port)
        #[arg(long, default_value_t = 0, value_name = "P")]
        port: u16,
        /// Serve this many copies of the site, each on its own free port (to a crawler, that
        /// many hosts); every base URL is printed, one per line
        #[arg(long, default_value_t = 1, value_name = "N")]
        hosts: usize,
        /// How long each host takes to answer: none, a range like 30ms..60ms, or web (most
        /// hosts 30-60 ms, 21 % 150-300 ms, the first two 1.5 s with a third of the pages)
        #[arg(long, default_value = "none", value_name = "LATENCY")]
        latency: String,
        /// Also write the URLs a complete same-host crawl from / must find, one per line
        #[arg(long, value_name = "FILE")]
        expected_urls: Option<PathBuf>,
        #[command(flatten)]
        generations: demo::GenerationArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Crawl {
            urls,
            output,
            options,
        } => crawl(urls, output, &options),
        Command::Enqueue {
            target,
            urls,
            force,
            reset,
            recrawl,
        } => shared::enqueue(
            &target,
            urls,
            shared::EnqueueMode {
                force,
                reset,
                recrawl,
            },
        ),
        Command::Worker { output, options } => worker(output, &options),
        Command::Status { target } => shared::status(&target),
        Command::Dashboard { args } => dashboard_server::run(&args),
        Command::Demo { pages, options } => demo::run(pages, &options),
        Command::ServeTestsite {
            pages,
            port,
            hosts,
            latency,
            expected_urls,
            generations,
        } => demo::serve(pages, port, hosts, &latency, expected_urls, &generations),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("ucrawler: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Fatal(message)) => {
            eprintln!("ucrawler: {message}");
            ExitCode::from(1)
        }
    }
}

/// Engine warnings (Redis unreachable, journal errors, a stalled crawl) go to stderr; set
/// `UCRAWLER_LOG` (e.g. `info`, `ucrawler=debug`) for more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("UCRAWLER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Why the command could not do its job: bad arguments (exit 2) or anything else (exit 1).
pub enum Failure {
    Usage(String),
    Fatal(String),
}

pub fn build_crawler(options: &CrawlOptions) -> Result<Crawler, Failure> {
    let config = options.to_config().map_err(Failure::Usage)?;
    Crawler::new(config).map_err(|e| Failure::Usage(e.to_string()))
}

fn worker(output: OutputArgs, options: &CrawlOptions) -> Result<ExitCode, Failure> {
    if options.shared.redis.is_none() {
        return Err(Failure::Usage(
            "worker needs --redis URL and --name NAME (the shared crawl)".into(),
        ));
    }
    crawl(Vec::new(), output, options)
}

fn crawl(
    urls: Vec<String>,
    output: OutputArgs,
    options: &CrawlOptions,
) -> Result<ExitCode, Failure> {
    let OutputArgs {
        out,
        quiet,
        progress_interval,
        metrics,
    } = output;
    let urls = shared::with_stdin(urls)?;
    if urls.is_empty() && options.shared.redis.is_none() {
        return Err(Failure::Usage("no URL to crawl".into()));
    }
    for url in &urls {
        ucrawler::url::parse_request_url(url).map_err(|e| Failure::Usage(format!("URL: {e}")))?;
    }
    let crawler = build_crawler(options)?;
    let mut writer: Box<dyn Write> = match out.as_deref().filter(|path| *path != Path::new("-")) {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).map_err(|e| {
                Failure::Fatal(format!("--out {}: {e}", path.display()))
            })?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let label = crawler
        .config()
        .name
        .clone()
        .unwrap_or_else(|| "crawl".into());
    let mut metrics = match metrics.as_deref() {
        Some(addr) => Some(MetricsServer::start(addr, &label)?),
        None => None,
    };
    let stop = signals::install()?;
    let started = Instant::now();
    let mut crawl = crawler
        .crawl(urls)
        .map_err(|e| Failure::Fatal(e.to_string()))?;
    let mut progress = Progress::start(!quiet, progress_interval, crawler.config().max_pages);
    let mut tally = Tally::default();
    // With a journal or a shared crawl a page counts as done once we ask for the next one: it
    // must be written by then.
    let durable = crawler.config().state_dir.is_some() || crawler.config().redis.is_some();
    let mut write = |page: &ucrawler::Page| {
        output::write_page(&mut writer, page)
            .and_then(|()| if durable { writer.flush() } else { Ok(()) })
            .map_err(|e| Failure::Fatal(format!("writing output: {e}")))?;
        tally.record(page);
        Ok::<(), Failure>(())
    };
    let stopped_by = consume(&mut crawl, &stop, &mut write, &mut metrics, &mut progress)?;
    writer
        .flush()
        .map_err(|e| Failure::Fatal(format!("writing output: {e}")))?;
    progress.finish();
    let stats = crawl.stats();
    if let Some(metrics) = &mut metrics {
        metrics.refresh(|| stats.clone(), true);
    }
    // A shared crawl's agent acknowledges what was written and gives back its other leases
    // before we say we are done (dropping the crawl waits for it).
    drop(crawl);
    if !quiet {
        report::print(&stats, &tally, started.elapsed(), stopped_by);
    }
    if stopped_by.is_none()
        && crawler.config().redis.is_some()
        && stats.end_reason == Some(ucrawler::EndReason::Cancelled)
    {
        // Only a Redis failure that retrying cannot fix (logged above) cancels a worker.
        return Err(Failure::Fatal(
            "the shared crawl failed (see the log above)".into(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Hands every page to `write` until the crawl ends or a stop signal arrives. On a signal:
/// pages already fetched are written (for `STOP_DRAIN` at most) and acknowledged, then the
/// crawl is cancelled, so requests under way go back to the crawl (leases to Redis, or left
/// undone in the journal for `--resume`). Returns the signal that stopped it.
fn consume(
    crawl: &mut Crawl,
    stop: &StopRequest,
    write: &mut impl FnMut(&ucrawler::Page) -> Result<(), Failure>,
    metrics: &mut Option<MetricsServer>,
    progress: &mut Progress,
) -> Result<Option<StopSignal>, Failure> {
    let signal = loop {
        if let Some(signal) = stop.get() {
            break signal;
        }
        if let Some(metrics) = metrics {
            metrics.refresh(|| crawl.stats(), false);
        }
        progress.refresh(|| crawl.stats());
        match crawl.next_timeout(STOP_POLL) {
            Next::Page(page) => write(&page)?,
            Next::Pending => {}
            Next::Finished => return Ok(None),
        }
    };
    let give_up = Instant::now() + STOP_DRAIN;
    // Asking for the next page acknowledges the ones written: stop at one that is not there.
    while let Next::Page(page) = crawl.next_timeout(Duration::ZERO) {
        write(&page)?;
        if Instant::now() >= give_up {
            break;
        }
    }
    crawl.cancel();
    Ok(Some(signal))
}

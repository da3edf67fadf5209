//! `ucrawler enqueue` and `ucrawler status`: the operator's side of a crawl shared through Redis
//! (`ucrawler worker` is a crawl with `--redis`, see main).

use std::future::Future;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;
use ucrawler::distributed::FrontierStatus;
use ucrawler::url::parse_request_url;
use ucrawler::{
    BlockingError, BlockingFrontier, RedisFrontier, RedisFrontierError, RedisOptions, Request,
};

use crate::args::RedisTarget;
use crate::Failure;

/// Seeds sent to Redis per call.
const BATCH: usize = 1000;
/// How long `status` watches the done counter to tell the rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// A Redis that cannot be reached is waited for this long before giving up.
const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// Never interrupted: a CLI command ends with its process.
static NOT_INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn connect(target: &RedisTarget) -> Result<BlockingFrontier, Failure> {
    let options = RedisOptions {
        prefix: target.redis_prefix.clone(),
        ..RedisOptions::default()
    };
    BlockingFrontier::new(&target.redis, &target.name, options, CONNECT_WAIT)
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// Runs one call; an error about our arguments (a bad URL, a recrawl of a crawl not finished)
/// is a usage error, anything else is fatal.
fn call<T, F, Fut>(frontier: &BlockingFrontier, op: F) -> Result<T, Failure>
where
    F: FnOnce(RedisFrontier) -> Fut,
    Fut: Future<Output = Result<T, RedisFrontierError>>,
{
    frontier.call(&NOT_INTERRUPTED, op).map_err(|e| match e {
        BlockingError::Redis(
            e @ (RedisFrontierError::BadUrl { .. } | RedisFrontierError::Invalid(_)),
        ) => Failure::Usage(e.to_string()),
        BlockingError::TimedOut { address, timeout } => Failure::Fatal(format!(
            "cannot reach Redis at {address} (waited {}s)",
            timeout.as_secs()
        )),
        e => Failure::Fatal(e.to_string()),
    })
}

/// How `enqueue` queues.
pub struct EnqueueMode {
    /// Queue URLs already seen.
    pub force: bool,
    /// Delete the crawl first.
    pub reset: bool,
    /// Queue the crawl's visits again first (a finished crawl's next generation).
    pub recrawl: bool,
}

/// `urls` with a `-` among them replaced by the lines of stdin (one URL per line; blank lines
/// and `#` comments skipped).
pub fn with_stdin(urls: Vec<String>) -> Result<Vec<String>, Failure> {
    let mut all = Vec::with_capacity(urls.len());
    let mut from_stdin = false;
    for url in urls {
        if url == "-" {
            from_stdin = true;
        } else {
            all.push(url);
        }
    }
    if from_stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| Failure::Fatal(format!("reading stdin: {e}")))?;
            let url = line.trim();
            if !url.is_empty() && !url.starts_with('#') {
                all.push(url.to_string());
            }
        }
    }
    Ok(all)
}

/// Queues seed URLs (arguments, or lines of stdin for `-`), skipping URLs already seen unless
/// `force`; with `recrawl`, every URL the finished crawl has done first. Prints how many were
/// queued.
pub fn enqueue(
    target: &RedisTarget,
    urls: Vec<String>,
    mode: EnqueueMode,
) -> Result<ExitCode, Failure> {
    let EnqueueMode {
        force,
        reset,
        recrawl,
    } = mode;
    let mut seeds = Vec::new();
    for url in with_stdin(urls)? {
        let parsed = parse_request_url(&url).map_err(|e| Failure::Usage(format!("URL: {e}")))?;
        seeds.push(Request::new(String::from(parsed)));
    }
    if seeds.is_empty() && !reset && !recrawl {
        return Err(Failure::Usage("no URL to enqueue".into()));
    }
    let frontier = connect(target)?;
    if reset {
        call(&frontier, |f| async move { f.clear().await })?;
    }
    if recrawl {
        requeue_visits(target, &frontier)?;
        if seeds.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut queued = 0;
    for batch in seeds.chunks(BATCH) {
        queued += call(
            &frontier,
            |f| async move { f.push_seeds(batch, force).await },
        )?;
    }
    eprintln!(
        "{queued} of {} URLs queued in {} ({} already seen)",
        seeds.len(),
        target.name,
        seeds.len() as u64 - queued
    );
    Ok(ExitCode::SUCCESS)
}

/// Queues every URL the (finished) crawl has done again.
fn requeue_visits(target: &RedisTarget, frontier: &BlockingFrontier) -> Result<(), Failure> {
    let queued = call(frontier, |f| async move { f.requeue_visits().await })?;
    eprintln!(
        "{queued} URLs queued again in {} (its next generation)",
        target.name
    );
    Ok(())
}

#[derive(Serialize)]
struct Status {
    name: String,
    #[serde(flatten)]
    counts: FrontierStatus,
    finished: bool,
    /// URLs done and kept for the next generation (`enqueue --recrawl`).
    visits: u64,
    /// Pages acknowledged per second, over the last second.
    rate: f64,
}

/// Prints the shared crawl's counts as one JSON object.
pub fn status(target: &RedisTarget) -> Result<ExitCode, Failure> {
    let frontier = connect(target)?;
    let first = call(&frontier, |f| async move { f.status().await })?;
    let started = Instant::now();
    std::thread::sleep(RATE_WINDOW);
    let (counts, finished, visits) = call(&frontier, |f| async move {
        Ok((
            f.status().await?,
            f.is_finished().await?,
            f.visit_count().await?,
        ))
    })?;
    let acknowledged = |s: &FrontierStatus| s.done + s.failed;
    let rate = (acknowledged(&counts) - acknowledged(&first).min(acknowledged(&counts))) as f64
        / started.elapsed().as_secs_f64();
    let status = Status {
        name: target.name.clone(),
        counts,
        finished,
        visits,
        rate: (rate * 10.0).round() / 10.0,
    };
    let json = serde_json::to_string(&status)
        .map_err(|e| Failure::Fatal(format!("status as JSON: {e}")))?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}

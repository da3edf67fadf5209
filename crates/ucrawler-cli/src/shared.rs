//! `ucrawler enqueue` and `ucrawler status`: the operator's side of a crawl shared through Redis
//! (`ucrawler worker` is a crawl with `--redis`, see main).

use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use ucrawler::frontier::FrontierStatus;
use ucrawler::url::parse_seed;
use ucrawler::{Config, RedisFrontier, RedisOptions, Request};

use crate::args::RedisTarget;
use crate::Failure;

/// Seeds sent to Redis per call.
const BATCH: usize = 1000;
/// How long `status` watches the done counter to tell the rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// A Redis that cannot be reached is waited for this long before giving up.
const CONNECT_WAIT: Duration = Duration::from_secs(30);

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Fatal(format!("tokio runtime: {e}")))
}

async fn connect(target: &RedisTarget) -> Result<RedisFrontier, Failure> {
    // The engine's own checks, so an operator sees the same message as a worker would.
    Config::builder()
        .redis(target.redis.clone(), target.name.clone())
        .redis_prefix(target.redis_prefix.clone())
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let options = RedisOptions {
        prefix: target.redis_prefix.clone(),
        ..RedisOptions::default()
    };
    let connecting = RedisFrontier::connect(&target.redis, &target.name, options);
    match tokio::time::timeout(CONNECT_WAIT, connecting).await {
        Ok(Ok(frontier)) => Ok(frontier),
        Ok(Err(e)) => Err(Failure::Usage(e.to_string())),
        Err(_) => Err(Failure::Fatal(format!(
            "cannot reach Redis at {} (waited {}s)",
            target.redis,
            CONNECT_WAIT.as_secs()
        ))),
    }
}

/// Queues seed URLs (arguments, or lines of stdin for `-`), skipping URLs already seen unless
/// `force`. Prints how many were queued.
pub fn enqueue(
    target: &RedisTarget,
    urls: Vec<String>,
    force: bool,
    reset: bool,
) -> Result<ExitCode, Failure> {
    let mut seeds = Vec::new();
    let from_stdin = urls.iter().any(|u| u == "-");
    let mut add = |url: &str| -> Result<(), Failure> {
        let url = url.trim();
        if url.is_empty() || url.starts_with('#') {
            return Ok(());
        }
        let parsed = parse_seed(url).map_err(|e| Failure::Usage(format!("URL: {e}")))?;
        seeds.push(Request::new(String::from(parsed)));
        Ok(())
    };
    for url in urls.iter().filter(|u| *u != "-") {
        add(url)?;
    }
    if from_stdin {
        for line in std::io::stdin().lock().lines() {
            add(&line.map_err(|e| Failure::Fatal(format!("reading stdin: {e}")))?)?;
        }
    }
    if seeds.is_empty() && !reset {
        return Err(Failure::Usage("no URL to enqueue".into()));
    }
    runtime()?.block_on(async {
        let frontier = connect(target).await?;
        if reset {
            frontier
                .clear()
                .await
                .map_err(|e| Failure::Fatal(e.to_string()))?;
        }
        let mut queued = 0;
        for batch in seeds.chunks(BATCH) {
            queued += frontier
                .push_seeds(batch, force)
                .await
                .map_err(|e| Failure::Fatal(e.to_string()))?;
        }
        eprintln!(
            "{queued} of {} URLs queued in {} ({} already seen)",
            seeds.len(),
            target.name,
            seeds.len() as u64 - queued
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Serialize)]
struct Status {
    name: String,
    #[serde(flatten)]
    counts: FrontierStatus,
    finished: bool,
    /// Pages acknowledged per second, over the last second.
    rate: f64,
}

/// Prints the shared crawl's counts as one JSON object.
pub fn status(target: &RedisTarget) -> Result<ExitCode, Failure> {
    runtime()?.block_on(async {
        let frontier = connect(target).await?;
        let fatal = |e: ucrawler::RedisFrontierError| Failure::Fatal(e.to_string());
        let first = frontier.status().await.map_err(fatal)?;
        let started = Instant::now();
        tokio::time::sleep(RATE_WINDOW).await;
        let counts = frontier.status().await.map_err(fatal)?;
        let acknowledged = |s: &FrontierStatus| s.done + s.failed;
        let rate = (acknowledged(&counts) - acknowledged(&first).min(acknowledged(&counts))) as f64
            / started.elapsed().as_secs_f64();
        let status = Status {
            name: target.name.clone(),
            counts,
            finished: frontier.is_finished().await.map_err(fatal)?,
            rate: (rate * 10.0).round() / 10.0,
        };
        let json = serde_json::to_string(&status)
            .map_err(|e| Failure::Fatal(format!("status as JSON: {e}")))?;
        println!("{json}");
        Ok(ExitCode::SUCCESS)
    })
}

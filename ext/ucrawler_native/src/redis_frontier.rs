//! `Native::RedisFrontier`: queue seeds into a shared crawl and read its counts from Ruby, over
//! the engine's [`BlockingFrontier`] (lazy, fork-aware connection; every call gives up after
//! `timeout`). Here: conversion, and waiting with the GVL released so Ruby can interrupt.

use std::future::Future;
use std::time::Duration;

use magnus::{Error, RArray, Ruby};
use ucrawler::error::panic_message;
use ucrawler::url::parse_request_url;
use ucrawler::RedisOptions;
use ucrawler::{BlockingError, BlockingFrontier, RedisFrontier, RedisFrontierError};

use crate::crawl::seed;
use crate::errors::{catch_panics, config_error, error, internal_error};
use crate::gvl::without_gvl;

#[magnus::wrap(
    class = "UcrawlerNative::Native::RedisFrontier",
    free_immediately,
    size
)]
pub struct RedisFrontierHandle {
    frontier: BlockingFrontier,
}

impl RedisFrontierHandle {
    /// `Native::RedisFrontier.new(url, name, prefix, lease_timeout, timeout)`: validated like
    /// the engine's `redis`/`name`/`redis_prefix` options; no connection yet.
    pub fn new(
        ruby: &Ruby,
        url: String,
        name: String,
        prefix: String,
        lease_timeout: f64,
        timeout: f64,
    ) -> Result<Self, Error> {
        catch_panics(ruby, || {
            let seconds = |option: &str, value: f64| {
                Duration::try_from_secs_f64(value).map_err(|_| {
                    config_error(
                        ruby,
                        format!("{option} must be a positive number of seconds"),
                    )
                })
            };
            let options = RedisOptions {
                prefix,
                lease_timeout: seconds("lease_timeout", lease_timeout)?,
                ..RedisOptions::default()
            };
            let timeout = seconds("timeout", timeout)?;
            let frontier = BlockingFrontier::new(&url, &name, options, timeout)
                .map_err(|e| config_error(ruby, e.to_string()))?;
            Ok(Self { frontier })
        })
    }

    /// Runs `op` with the GVL released, until it ends, the handle's `timeout` passes or Ruby
    /// interrupts.
    fn call<T, F, Fut>(&self, ruby: &Ruby, what: &str, op: F) -> Result<T, Error>
    where
        F: FnOnce(RedisFrontier) -> Fut,
        Fut: Future<Output = Result<T, RedisFrontierError>>,
    {
        let waited = without_gvl(|interrupted| self.frontier.call(interrupted, op));
        ruby.thread_check_ints()?;
        match waited {
            None | Some(Ok(Err(BlockingError::Interrupted))) => {
                Err(error(ruby, format!("Redis {what} interrupted")))
            }
            Some(Ok(Ok(value))) => Ok(value),
            Some(Ok(Err(e))) => Err(error(ruby, format!("Redis {what}: {e}"))),
            Some(Err(panic)) => Err(internal_error(
                ruby,
                format!("panic in Redis {what}: {}", panic_message(panic.as_ref())),
            )),
        }
    }

    /// `push([[url, meta_or_nil(, last_visit)], ...], force)` (items as `Crawl#feed` takes
    /// them): queues the seeds whose URL parses; returns `[queued, invalid]`: how many were
    /// new, and the URLs that do not parse (not queued).
    pub fn push(
        ruby: &Ruby,
        rb_self: &Self,
        batch: RArray,
        force: bool,
    ) -> Result<(u64, Vec<String>), Error> {
        let mut requests = Vec::with_capacity(batch.len());
        let mut invalid = Vec::new();
        for item in batch.into_iter() {
            let mut request = seed(magnus::TryConvert::try_convert(item)?)?;
            let Ok(parsed) = parse_request_url(&request.url) else {
                invalid.push(request.url);
                continue;
            };
            request.url = String::from(parsed);
            requests.push(request);
        }
        if requests.is_empty() {
            return Ok((0, invalid));
        }
        let queued = rb_self.call(ruby, "push", |frontier| async move {
            frontier.push_seeds(&requests, force).await
        })?;
        Ok((queued, invalid))
    }

    /// The crawl's counts as JSON (pending, leased, done, failed, seen, queued, duplicates,
    /// reclaimed) plus `finished` and `visits`.
    pub fn stats_json(ruby: &Ruby, rb_self: &Self) -> Result<String, Error> {
        let (status, finished, visits) = rb_self.call(ruby, "stats", |frontier| async move {
            let status = frontier.status().await?;
            let finished = frontier.is_finished().await?;
            Ok((status, finished, frontier.visit_count().await?))
        })?;
        let mut json =
            serde_json::to_value(status).map_err(|e| internal_error(ruby, e.to_string()))?;
        json["finished"] = finished.into();
        json["visits"] = visits.into();
        Ok(json.to_string())
    }

    /// Queues every URL the finished crawl has done again (its next generation); returns how
    /// many.
    pub fn recrawl(ruby: &Ruby, rb_self: &Self) -> Result<u64, Error> {
        rb_self.call(ruby, "recrawl", |frontier| async move {
            frontier.requeue_visits().await
        })
    }

    /// Deletes the crawl's keys (queue, seen set, leases, counts).
    pub fn clear(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        rb_self.call(
            ruby,
            "clear",
            |frontier| async move { frontier.clear().await },
        )
    }
}

//! `Native.dashboard_overview` / `Native.dashboard_action`: the engine's dashboard data for
//! `UcrawlerNative::Web` (the process's `Dashboard::shared`). Here: conversion, and waiting
//! with the GVL released.

use std::sync::Arc;

use magnus::{Error, RArray, Ruby};
use ucrawler::dashboard::{Action, Dashboard, DashboardError};
use ucrawler::error::panic_message;

use crate::crawl::labelled_stats;
use crate::errors::{catch_panics, config_error, error, internal_error, not_found_error};
use crate::gvl::without_gvl;

/// The process's dashboard over (`redis`, `prefix`); bad arguments raise ConfigError.
fn dashboard(ruby: &Ruby, redis: Option<String>, prefix: String) -> Result<Arc<Dashboard>, Error> {
    Dashboard::shared(redis.as_deref(), &prefix).map_err(|e| config_error(ruby, e.to_string()))
}

/// `Native.dashboard_overview(redis_url_or_nil, prefix, [[label, crawl], ...])`: the overview
/// JSON of those crawls and of the shared crawls under `prefix`.
pub fn overview(
    ruby: &Ruby,
    redis: Option<String>,
    prefix: String,
    crawls: RArray,
) -> Result<String, Error> {
    catch_panics(ruby, || {
        let dashboard = dashboard(ruby, redis, prefix)?;
        // The crawls' stats are read without the GVL too (see `labelled_stats`).
        let local = labelled_stats(ruby, crawls)?;
        let answered = without_gvl(|_| {
            let refs: Vec<(&str, ucrawler::Stats)> = (local.iter())
                .map(|(label, stats)| (label.as_str(), stats.clone()))
                .collect();
            dashboard.overview(&refs).to_string()
        });
        ruby.thread_check_ints()?;
        match answered {
            Some(Ok(json)) => Ok(json),
            None => Err(error(ruby, "dashboard overview interrupted")),
            Some(Err(panic)) => Err(internal_error(
                ruby,
                format!("panic in the dashboard: {}", panic_message(panic.as_ref())),
            )),
        }
    })
}

/// `Native.dashboard_action(redis_url, prefix, name, action)`: does `action` ("pause",
/// "resume", "cancel", "requeue_failed") to the shared crawl `name`; returns the answer JSON.
/// An unknown crawl (or action) raises NotFoundError.
pub fn action(
    ruby: &Ruby,
    redis: Option<String>,
    prefix: String,
    name: String,
    action: String,
) -> Result<String, Error> {
    catch_panics(ruby, || {
        let dashboard = dashboard(ruby, redis, prefix)?;
        let action: Action = action
            .parse()
            .map_err(|e: DashboardError| not_found_error(ruby, e.to_string()))?;
        let done = without_gvl(|_| dashboard.act(&name, action));
        ruby.thread_check_ints()?;
        match done {
            Some(Ok(Ok(answer))) => Ok(answer.to_string()),
            Some(Ok(Err(e))) if e.is_not_found() => Err(not_found_error(ruby, e.to_string())),
            Some(Ok(Err(e))) => Err(error(ruby, e.to_string())),
            None => Err(error(ruby, "dashboard action interrupted")),
            Some(Err(panic)) => Err(internal_error(
                ruby,
                format!("panic in the dashboard: {}", panic_message(panic.as_ref())),
            )),
        }
    })
}

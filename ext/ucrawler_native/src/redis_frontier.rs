//! `Native::RedisFrontier`: queue seeds into a shared crawl and read its counts from Ruby. The
//! connection is made lazily and again after a fork (a forked child must not share its parent's
//! socket); every call waits with the GVL released and gives up after `timeout` with an error
//! naming the cause (workers, unlike this handle, wait for Redis forever).

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use magnus::{Error, RArray, RString, Ruby};
use ucrawler::url::parse_seed;
use ucrawler::{Config, RedisFrontier, RedisOptions, Request};

use crate::errors::{config_error, error, guard, internal_error, panic_message};
use crate::gvl::without_gvl;

/// How often a wait without the GVL looks at Ruby's interrupt flag.
const POLL: Duration = Duration::from_millis(20);

#[magnus::wrap(
    class = "UcrawlerNative::Native::RedisFrontier",
    free_immediately,
    size
)]
pub struct RedisFrontierHandle {
    url: String,
    name: String,
    options: RedisOptions,
    timeout: Duration,
    /// (pid, runtime, frontier): rebuilt in a forked child.
    connection: Mutex<Option<(u32, tokio::runtime::Runtime, RedisFrontier)>>,
}

enum Waited<T> {
    Done(T),
    Interrupted,
    TimedOut,
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
        guard(ruby, || {
            let seconds = |option: &str, value: f64| {
                Duration::try_from_secs_f64(value).map_err(|_| {
                    config_error(
                        ruby,
                        format!("{option} must be a positive number of seconds"),
                    )
                })
            };
            let lease_timeout = seconds("lease_timeout", lease_timeout)?;
            let timeout = seconds("timeout", timeout)?;
            Config::builder()
                .redis(url.clone(), name.clone())
                .redis_prefix(prefix.clone())
                .lease_timeout(lease_timeout)
                .build()
                .map_err(|e| config_error(ruby, e.to_string()))?;
            Ok(Self {
                url,
                name,
                options: RedisOptions {
                    prefix,
                    lease_timeout,
                },
                timeout,
                connection: Mutex::new(None),
            })
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<(u32, tokio::runtime::Runtime, RedisFrontier)>> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `op` on this process's connection (connecting first if needed) with the GVL
    /// released, until it ends, `timeout` passes or Ruby interrupts.
    fn call<T, F, Fut>(&self, ruby: &Ruby, what: &str, op: F) -> Result<T, Error>
    where
        F: FnOnce(RedisFrontier) -> Fut,
        Fut: Future<Output = Result<T, ucrawler::RedisFrontierError>>,
    {
        let waited = without_gvl(|interrupted| {
            let mut connection = self.lock();
            let pid = std::process::id();
            if connection
                .as_ref()
                .is_none_or(|(owner, _, _)| *owner != pid)
            {
                if let Some(inherited) = connection.take() {
                    // The parent's socket and runtime: never use or close them here.
                    std::mem::forget(inherited);
                }
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("tokio runtime: {e}"))?;
                let connecting =
                    RedisFrontier::connect(&self.url, &self.name, self.options.clone());
                match wait(&runtime, connecting, self.timeout, interrupted) {
                    Waited::Done(Ok(frontier)) => *connection = Some((pid, runtime, frontier)),
                    Waited::Done(Err(e)) => return Err(e.to_string()),
                    Waited::Interrupted => return Ok(Waited::Interrupted),
                    Waited::TimedOut => return Ok(Waited::TimedOut),
                }
            }
            let Some((_, runtime, frontier)) = connection.as_ref() else {
                return Err("not connected".to_string());
            };
            Ok(
                match wait(runtime, op(frontier.clone()), self.timeout, interrupted) {
                    Waited::Done(Ok(value)) => Waited::Done(value),
                    Waited::Done(Err(e)) => return Err(e.to_string()),
                    Waited::Interrupted => Waited::Interrupted,
                    Waited::TimedOut => Waited::TimedOut,
                },
            )
        });
        ruby.thread_check_ints()?;
        match waited {
            None | Some(Ok(Ok(Waited::Interrupted))) => {
                Err(error(ruby, format!("Redis {what} interrupted")))
            }
            Some(Ok(Ok(Waited::Done(value)))) => Ok(value),
            Some(Ok(Ok(Waited::TimedOut))) => Err(error(
                ruby,
                format!(
                    "Redis {what}: no answer from {} within {:?} (is Redis running?)",
                    redacted(&self.url),
                    self.timeout
                ),
            )),
            Some(Ok(Err(message))) => Err(error(ruby, format!("Redis {what}: {message}"))),
            Some(Err(panic)) => Err(internal_error(
                ruby,
                format!("panic in Redis {what}: {}", panic_message(&panic)),
            )),
        }
    }

    /// `push([[url, meta_or_nil], ...], force)`: queues seeds; returns how many were new.
    pub fn push(ruby: &Ruby, rb_self: &Self, batch: RArray, force: bool) -> Result<u64, Error> {
        let mut requests = Vec::with_capacity(batch.len());
        for item in batch.into_iter() {
            let (url, meta): (RString, Option<RString>) = magnus::TryConvert::try_convert(item)?;
            // SAFETY: copied before any Ruby code can run.
            let url = unsafe { url.as_str()? }.to_owned();
            let parsed =
                parse_seed(&url).map_err(|e| config_error(ruby, format!("URL {url:?}: {e}")))?;
            let mut request = Request::new(String::from(parsed));
            if let Some(meta) = meta {
                request.meta = Some(unsafe { meta.as_slice() }.to_vec().into());
            }
            requests.push(request);
        }
        rb_self.call(ruby, "push", |frontier| async move {
            frontier.push_seeds(&requests, force).await
        })
    }

    /// The crawl's counts as JSON (pending, leased, done, failed, seen, queued, duplicates,
    /// reclaimed) plus `finished`.
    pub fn stats_json(ruby: &Ruby, rb_self: &Self) -> Result<String, Error> {
        let (status, finished) = rb_self.call(ruby, "stats", |frontier| async move {
            let status = frontier.status().await?;
            let finished = frontier.is_finished().await?;
            Ok((status, finished))
        })?;
        let mut json =
            serde_json::to_value(status).map_err(|e| internal_error(ruby, e.to_string()))?;
        json["finished"] = finished.into();
        Ok(json.to_string())
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

/// Drives `future` on `runtime` until it ends, `limit` passes or `interrupted` turns true.
fn wait<F: Future>(
    runtime: &tokio::runtime::Runtime,
    future: F,
    limit: Duration,
    interrupted: &std::sync::atomic::AtomicBool,
) -> Waited<F::Output> {
    runtime.block_on(async {
        let watch = async {
            while !interrupted.load(Ordering::SeqCst) {
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            value = future => Waited::Done(value),
            _ = watch => Waited::Interrupted,
            _ = tokio::time::sleep(limit) => Waited::TimedOut,
        }
    })
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

//! Measurements of the Redis frontier against a throwaway `redis-server` (needs `redis-server`
//! on PATH): Redis memory per URL and one Redis's throughput. Not criterion: each is one long
//! run that prints its figures (results in docs/distributed.md).
//!
//! `cargo bench -p ucrawler --bench redis_frontier [-- memory|throughput]` (both by default).

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use redis_server::RedisServer;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

use ucrawler::distributed::{Outcome, RedisFrontier, RedisOptions};
use ucrawler::Request;

async fn frontier(server: &RedisServer, name: &str) -> RedisFrontier {
    RedisFrontier::connect(&server.url(), name, RedisOptions::default())
        .await
        .expect("connect to the throwaway redis-server")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; any other argument picks the measurements to run.
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| picked.is_empty() || picked.iter().any(|p| name.contains(p.as_str()));
    if wants("memory") {
        memory_per_url().await;
    }
    if wants("throughput") {
        throughput_per_redis().await;
    }
}

/// Redis memory per URL for 1M URLs (`cargo bench -p ucrawler --bench redis_frontier -- memory`): the bucketed seen set against one big SET, and pending items.
async fn memory_per_url() {
    const N: u32 = 1_000_000;
    let server = RedisServer::start();
    let f = frontier(&server, "mem").await;
    let mut raw = server.raw().await;
    let url = |i: u32| {
        format!(
            "https://www.example-shop.com/catalog/category-{:03}/product-{i:08}.html?ref=list",
            i % 1000
        )
    };
    assert_eq!(url(1).len(), 80);
    let used = |info: String| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let before = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut raw)
            .await
            .unwrap(),
    );
    for start in (0..N).step_by(10_000) {
        let batch: Vec<Request> = (start..start + 10_000)
            .map(|i| Request::new(url(i)))
            .collect();
        assert_eq!(f.push(&batch).await.unwrap(), 10_000);
    }
    let after = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut raw)
            .await
            .unwrap(),
    );

    async fn usage(raw: &mut redis::aio::MultiplexedConnection, keys: &[String]) -> u64 {
        let mut total = 0;
        for chunk in keys.chunks(4096) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0);
            }
            let sizes: Vec<Option<u64>> = pipe.query_async(raw).await.unwrap();
            total += sizes.into_iter().flatten().sum::<u64>();
        }
        total
    }
    let buckets: Vec<String> = (0..65_536)
        .map(|b| format!("ucrawler:{{mem}}:seen:{b}"))
        .collect();
    let seen = usage(&mut raw, &buckets).await;
    let pending = usage(&mut raw, &["ucrawler:{mem}:pending".to_string()]).await;
    let mut encodings = HashSet::new();
    for key in buckets.iter().step_by(997) {
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap();
        encodings.insert(encoding);
    }

    // The alternatives: 4,096 buckets, and one SET of all fingerprints.
    let fingerprints: Vec<i64> = (0..N)
        .map(|i| ucrawler::url::fingerprint(&url(i)) as i64)
        .collect();
    for chunk in fingerprints.chunks(10_000) {
        let mut pipe = redis::pipe();
        for &fp in chunk {
            pipe.cmd("SADD")
                .arg(format!("alt4096:{}", (fp as u64) % 4096))
                .arg(fp)
                .ignore();
            pipe.cmd("SADD").arg("one-big-set").arg(fp).ignore();
        }
        let () = pipe.query_async(&mut raw).await.unwrap();
    }
    let alt: Vec<String> = (0..4096).map(|b| format!("alt4096:{b}")).collect();
    let seen4096 = usage(&mut raw, &alt).await;
    let big = usage(&mut raw, &["one-big-set".to_string()]).await;

    let per = |bytes: u64| bytes as f64 / f64::from(N);
    println!("1M URLs of 80 bytes:");
    println!(
        "  used_memory delta (seen + pending + counters): {:.1} B/URL",
        per(after - before)
    );
    println!(
        "  seen, 65,536 buckets ({encodings:?}): {:.1} B/URL",
        per(seen)
    );
    println!("  seen, 4,096 buckets: {:.1} B/URL", per(seen4096));
    println!("  seen, one SET: {:.1} B/URL", per(big));
    println!("  pending list: {:.1} B/URL", per(pending));
}

/// Throughput of one Redis for the full cycle a crawled page costs a worker: `take` in batches
/// of 96 (as the agent does), `acquire_host` + `release_host` (fleet politeness), `push` of the
/// page's 20 links of which one is new, `ack`. W simulated workers (tasks, one connection each)
/// run the cycle one page at a time, like the agent; 1M URLs are queued first so the seen set
/// and the pending list have a realistic size. Reports URLs/s and Redis' own CPU per 1000 URLs
/// (`INFO cpu`), without persistence and with an AOF (`appendfsync everysec`, `always`); the
/// last phase leaves fleet politeness out, to show its share (`cargo bench -p ucrawler
/// --bench redis_frontier -- throughput`). Results: docs/distributed.md.
async fn throughput_per_redis() {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::Instant;

    const PRESEED: u64 = 1_000_000;
    const TAKE: usize = 96;
    const LINKS: usize = 20;
    const HOSTS: u64 = 1000;
    const WARMUP: Duration = Duration::from_secs(1);
    const WINDOW: Duration = Duration::from_secs(6);
    const NAME: &str = "bench";

    fn url(i: u64) -> String {
        format!(
            "https://shop-{:04}.example.com/catalog/category-{:03}/item-{i:09}.html?ref=list1",
            i % HOSTS,
            (i / HOSTS) % 1000
        )
    }
    assert_eq!(url(1).len(), 80);

    /// Per operation: calls and total client-side latency (ns).
    #[derive(Default)]
    struct Op {
        calls: AtomicU64,
        nanos: AtomicU64,
    }
    impl Op {
        fn record(&self, started: Instant) {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        fn snapshot(&self) -> (u64, u64) {
            (
                self.calls.load(Ordering::Relaxed),
                self.nanos.load(Ordering::Relaxed),
            )
        }
    }
    #[derive(Default)]
    struct Shared {
        pages: AtomicU64,
        host_waits: AtomicU64,
        /// Next new URL index (all below it are seen).
        next_new: AtomicU64,
        stop: std::sync::atomic::AtomicBool,
        /// Off for the last phase: what fleet-wide politeness costs.
        impolite: std::sync::atomic::AtomicBool,
        ops: [Op; 5], // take, acquire_host, release_host, push, ack
    }
    const OPS: [&str; 5] = ["take", "acquire_host", "release_host", "push", "ack"];

    fn info_field(info: &str, field: &str) -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
    async fn info(raw: &mut redis::aio::MultiplexedConnection, section: &str) -> String {
        redis::cmd("INFO")
            .arg(section)
            .query_async(raw)
            .await
            .unwrap()
    }
    async fn redis_cpu(raw: &mut redis::aio::MultiplexedConnection) -> f64 {
        let cpu = info(raw, "cpu").await;
        info_field(&cpu, "used_cpu_user") + info_field(&cpu, "used_cpu_sys")
    }
    /// `cmdstat_<name>` → (calls, usec).
    async fn commandstats(
        raw: &mut redis::aio::MultiplexedConnection,
    ) -> std::collections::HashMap<String, (u64, u64)> {
        let stats = info(raw, "commandstats").await;
        stats
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let field = |key: &str| -> Option<u64> {
                    rest.split(',')
                        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                        .parse()
                        .ok()
                };
                Some((name.to_string(), (field("calls")?, field("usec")?)))
            })
            .collect()
    }
    /// This process's CPU seconds (user + system), from /proc.
    fn own_cpu() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }

    async fn worker(url_: String, worker: usize, shared: Arc<Shared>) {
        let f = RedisFrontier::connect(&url_, NAME, RedisOptions::default())
            .await
            .unwrap();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (worker as u64 + 1).wrapping_mul(0xA24B_AED4);
        let mut next_rand = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let hold = Duration::from_secs(65);
        let mut token_seq = 0u64;
        while !shared.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let batch = f.take(TAKE).await.unwrap();
            shared.ops[0].record(started);
            assert!(!batch.is_empty(), "the preseeded queue never runs dry");
            for leased in batch {
                let page = &leased.request.url;
                let host_end = page[8..].find('/').unwrap() + 8;
                let host = format!("{}:443", &page[8..host_end]);
                token_seq += 1;
                let token = format!("bench-{worker}:{token_seq}");
                let polite = !shared.impolite.load(Ordering::Relaxed);
                if polite {
                    loop {
                        let started = Instant::now();
                        let wait = f
                            .acquire_host(&host, &token, 2, Duration::from_millis(1), hold)
                            .await
                            .unwrap();
                        shared.ops[1].record(started);
                        match wait {
                            None => break,
                            Some(wait) => {
                                shared.host_waits.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(wait).await;
                            }
                        }
                    }
                }
                // (the fetch would be here)
                if polite {
                    let started = Instant::now();
                    f.release_host(&host, &token, Duration::ZERO).await.unwrap();
                    shared.ops[2].record(started);
                }
                let seen = shared.next_new.load(Ordering::Relaxed);
                let mut links: Vec<Request> = (0..LINKS - 1)
                    .map(|_| Request::new(url(next_rand() % seen)))
                    .collect();
                let new = shared.next_new.fetch_add(1, Ordering::Relaxed);
                links.push(Request::new(url(new)));
                for link in &mut links {
                    link.depth = leased.request.depth + 1;
                }
                let started = Instant::now();
                f.push(&links).await.unwrap();
                shared.ops[3].record(started);
                let started = Instant::now();
                f.ack(&leased.lease, Outcome::Done).await.unwrap();
                shared.ops[4].record(started);
                shared.pages.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "one Redis ({} cores on this machine, shared; load average at start: {})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let setups: [(&str, &[&str]); 3] = [
        ("no persistence", &[]),
        (
            "AOF, appendfsync everysec",
            &["--appendonly", "yes", "--appendfsync", "everysec"],
        ),
        (
            "AOF, appendfsync always",
            &["--appendonly", "yes", "--appendfsync", "always"],
        ),
    ];
    for (label, extra) in setups {
        let server = RedisServer::start_with(extra);
        let mut raw = server.raw().await;
        let seeder = frontier(&server, NAME).await;
        let started = Instant::now();
        for start in (0..PRESEED).step_by(10_000) {
            let batch: Vec<Request> = (start..start + 10_000)
                .map(|i| Request::new(url(i)))
                .collect();
            assert_eq!(seeder.push(&batch).await.unwrap(), 10_000);
        }
        println!(
            "\n{label}: {PRESEED} URLs queued in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        println!(
            "  W | URLs/s | per worker | Redis CPU | Redis CPU ms/1000 URLs | client CPU ms/1000 | \
             latency ms: take acquire release push ack | host waits"
        );
        let shared = Arc::new(Shared::default());
        shared.next_new.store(PRESEED, Ordering::Relaxed);
        let mut running = Vec::new();
        // The last phase: 16 workers without acquire_host/release_host.
        for (workers, polite) in [(1usize, true), (4, true), (16, true), (16, false)] {
            shared.impolite.store(!polite, Ordering::Relaxed);
            while running.len() < workers {
                let id = running.len();
                running.push(tokio::spawn(worker(server.url(), id, shared.clone())));
            }
            tokio::time::sleep(WARMUP).await;
            let pages0 = shared.pages.load(Ordering::Relaxed);
            let waits0 = shared.host_waits.load(Ordering::Relaxed);
            let ops0: Vec<(u64, u64)> = shared.ops.iter().map(Op::snapshot).collect();
            let cpu0 = redis_cpu(&mut raw).await;
            let stats0 = commandstats(&mut raw).await;
            let own0 = own_cpu();
            let t0 = Instant::now();
            tokio::time::sleep(WINDOW).await;
            let pages = shared.pages.load(Ordering::Relaxed) - pages0;
            let elapsed = t0.elapsed().as_secs_f64();
            let cpu = redis_cpu(&mut raw).await - cpu0;
            let own = own_cpu() - own0;
            let stats1 = commandstats(&mut raw).await;
            let waits = shared.host_waits.load(Ordering::Relaxed) - waits0;
            let latency: Vec<String> = shared
                .ops
                .iter()
                .zip(&ops0)
                .map(|(op, (calls0, nanos0))| {
                    let (calls, nanos) = op.snapshot();
                    let ms = (nanos - nanos0) as f64 / (calls - calls0).max(1) as f64 / 1e6;
                    format!("{ms:.3}")
                })
                .collect();
            let rate = pages as f64 / elapsed;
            let per_k = |seconds: f64| seconds * 1000.0 / (pages.max(1) as f64) * 1000.0;
            let row = if polite {
                format!("{workers:>3}")
            } else {
                format!("{workers:>3} without fleet politeness")
            };
            println!(
                "{row} | {rate:>6.0} | {:>10.0} | {:>8.0}% | {:>22.1} | {:>18.1} | {} | {waits}",
                rate / workers as f64,
                cpu / elapsed * 100.0,
                per_k(cpu),
                per_k(own),
                latency.join(" "),
            );
            // What Redis spent its time on (commands run by the scripts included).
            let mut spent: Vec<(String, u64, u64)> = stats1
                .iter()
                .map(|(name, (calls, usec))| {
                    let (c0, u0) = stats0.get(name).copied().unwrap_or((0, 0));
                    (name.clone(), calls - c0, usec - u0)
                })
                .filter(|(_, calls, _)| *calls > 0)
                .collect();
            spent.sort_by_key(|entry| std::cmp::Reverse(entry.2));
            let top: Vec<String> = spent
                .iter()
                .take(8)
                .map(|(name, calls, usec)| {
                    format!(
                        "{name} {:.1} calls, {:.1} µs",
                        *calls as f64 / pages.max(1) as f64,
                        *usec as f64 / pages.max(1) as f64
                    )
                })
                .collect();
            println!("      per URL: {}", top.join("; "));
        }
        shared.stop.store(true, Ordering::Relaxed);
        for task in running {
            task.await.unwrap();
        }
        let status = seeder.status().await.unwrap();
        let memory = info(&mut raw, "memory").await;
        println!(
            "  after: seen {} URLs, pending {}, used_memory {:.0} MB ({:.1} B/seen URL)",
            status.seen,
            status.pending,
            info_field(&memory, "used_memory") / 1e6,
            info_field(&memory, "used_memory") / status.seen as f64
        );
    }
    println!("\n(latencies in ms, in the order: {})", OPS.join(", "));
}

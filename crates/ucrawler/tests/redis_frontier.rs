//! The Redis frontier against a throwaway `redis-server` per test.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis_server::{free_port, RedisServer};
use ucrawler::distributed::{Outcome, RedisFrontier, RedisFrontierError, RedisOptions};
use ucrawler::page::Lease;
use ucrawler::Request;

fn opts(lease_timeout: Duration) -> RedisOptions {
    RedisOptions {
        lease_timeout,
        ..RedisOptions::default()
    }
}

async fn frontier(server: &RedisServer, name: &str) -> RedisFrontier {
    RedisFrontier::connect(&server.url(), name, RedisOptions::default())
        .await
        .unwrap()
}

fn requests(range: std::ops::Range<u32>) -> Vec<Request> {
    range
        .map(|i| Request::new(format!("http://example.com/page/{i}")))
        .collect()
}

fn urls(leased: &[ucrawler::distributed::Leased]) -> Vec<String> {
    leased.iter().map(|l| l.request.url.clone()).collect()
}

#[tokio::test]
async fn push_deduplicates_within_and_across_calls() {
    let server = RedisServer::start();
    let f = frontier(&server, "dedup").await;
    assert_eq!(f.push(&requests(0..10)).await.unwrap(), 10);
    assert_eq!(f.push(&requests(5..15)).await.unwrap(), 5);
    let mut twice = requests(20..21);
    twice.extend(requests(20..21));
    assert_eq!(f.push(&twice).await.unwrap(), 1);
    assert_eq!(f.push(&[]).await.unwrap(), 0);
    let status = f.status().await.unwrap();
    assert_eq!((status.pending, status.seen, status.queued), (16, 16, 16));
    // FIFO.
    let taken = f.take(3).await.unwrap();
    assert_eq!(
        urls(&taken),
        [
            "http://example.com/page/0",
            "http://example.com/page/1",
            "http://example.com/page/2"
        ]
    );
    // Another crawl on the same server has its own seen set.
    let other = frontier(&server, "dedup-other").await;
    assert_eq!(other.push(&requests(0..10)).await.unwrap(), 10);
}

#[tokio::test]
async fn push_seeds_force_requeues_and_records_hosts() {
    let server = RedisServer::start();
    let f = frontier(&server, "seeds").await;
    let seeds = vec![
        Request::new("HTTP://Intranet.local:8080/a#frag"),
        Request::new("http://example.com/"),
        Request::new("not a url"),
    ];
    assert_eq!(f.push_seeds(&seeds, false).await.unwrap(), 3);
    assert_eq!(f.push_seeds(&seeds, false).await.unwrap(), 0, "seen");
    assert_eq!(f.push_seeds(&seeds[..2], true).await.unwrap(), 2, "forced");
    // A link equal to a normalized seed is a duplicate.
    assert_eq!(
        f.push(&[Request::new("http://intranet.local:8080/a")])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        f.seed_hosts().await.unwrap(),
        ["example.com", "intranet.local"]
    );
    let taken = f.take(10).await.unwrap();
    assert_eq!(
        urls(&taken),
        [
            "http://intranet.local:8080/a",
            "http://example.com/",
            "not a url",
            "http://intranet.local:8080/a",
            "http://example.com/",
        ]
    );
    let status = f.status().await.unwrap();
    assert_eq!((status.seen, status.queued, status.leased), (3, 5, 5));
}

#[tokio::test]
async fn take_and_ack_count_outcomes() {
    let server = RedisServer::start();
    let f = frontier(&server, "counters").await;
    assert!(f.take(5).await.unwrap().is_empty());
    f.push(&requests(0..5)).await.unwrap();
    let taken = f.take(3).await.unwrap();
    assert_eq!(taken.len(), 3);
    let ids: HashSet<u64> = taken.iter().map(|l| l.lease.id()).collect();
    assert_eq!(ids.len(), 3, "unique lease ids");
    f.ack(&taken[0].lease, Outcome::Done).await.unwrap();
    f.ack(&taken[1].lease, Outcome::Failed).await.unwrap();
    // A replayed ack changes nothing.
    f.ack(&taken[0].lease, Outcome::Done).await.unwrap();
    let status = f.status().await.unwrap();
    assert_eq!(
        (
            status.pending,
            status.leased,
            status.done,
            status.failed,
            status.duplicates
        ),
        (2, 1, 1, 1, 0)
    );
    let json = serde_json::to_value(status).unwrap();
    assert_eq!(json["done"], 1);
    assert_eq!(json["pending"], 2);
}

#[tokio::test]
async fn expired_leases_return_to_the_front_and_late_acks_are_duplicates() {
    let server = RedisServer::start();
    let f = RedisFrontier::connect(&server.url(), "expiry", opts(Duration::from_millis(300)))
        .await
        .unwrap();
    f.push(&requests(0..5)).await.unwrap();
    let first = f.take(2).await.unwrap();
    assert_eq!(
        urls(&first),
        ["http://example.com/page/0", "http://example.com/page/1"]
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired: back at the front, in their order, before 2, 3, 4.
    let again = f.take(3).await.unwrap();
    assert_eq!(
        urls(&again),
        [
            "http://example.com/page/0",
            "http://example.com/page/1",
            "http://example.com/page/2"
        ]
    );
    // The first worker comes back late: a duplicate, not done.
    f.ack(&first[0].lease, Outcome::Done).await.unwrap();
    f.ack(&first[0].lease, Outcome::Done).await.unwrap(); // replayed: still one duplicate
    f.ack(&again[0].lease, Outcome::Done).await.unwrap();
    let status = f.status().await.unwrap();
    assert_eq!(
        (
            status.done,
            status.duplicates,
            status.reclaimed,
            status.leased,
            status.pending
        ),
        (1, 1, 2, 2, 2)
    );
}

#[tokio::test]
async fn extend_keeps_a_lease() {
    let server = RedisServer::start();
    let f = RedisFrontier::connect(&server.url(), "extend", opts(Duration::from_millis(400)))
        .await
        .unwrap();
    f.push(&requests(0..2)).await.unwrap();
    let taken = f.take(2).await.unwrap();
    let kept: Vec<Lease> = vec![taken[0].lease.clone()];
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        f.extend(&kept).await.unwrap();
    }
    // 600 ms later: the extended lease is still held, the other one came back.
    let again = f.take(10).await.unwrap();
    assert_eq!(urls(&again), ["http://example.com/page/1"]);
    f.ack(&taken[0].lease, Outcome::Done).await.unwrap();
    let status = f.status().await.unwrap();
    assert_eq!(
        (status.done, status.reclaimed, status.duplicates),
        (1, 1, 0)
    );
    // Extending a lease that is gone does not bring it back.
    f.extend(&kept).await.unwrap();
    assert_eq!(f.status().await.unwrap().leased, 1);
}

#[tokio::test]
async fn is_finished_follows_the_protocol() {
    let server = RedisServer::start();
    let f = frontier(&server, "finish").await;
    assert!(!f.is_finished().await.unwrap(), "nothing queued yet");
    f.push_seeds(&[Request::new("http://example.com/")], false)
        .await
        .unwrap();
    let seed = f.take(10).await.unwrap();
    assert!(!f.is_finished().await.unwrap(), "seed leased");
    // Links first, then the ack.
    f.push(&requests(0..2)).await.unwrap();
    f.ack(&seed[0].lease, Outcome::Done).await.unwrap();
    assert!(!f.is_finished().await.unwrap(), "links pending");
    let links = f.take(10).await.unwrap();
    assert_eq!(links.len(), 2);
    f.ack(&links[0].lease, Outcome::Done).await.unwrap();
    assert!(!f.is_finished().await.unwrap(), "one link leased");
    f.ack(&links[1].lease, Outcome::Failed).await.unwrap();
    assert!(f.is_finished().await.unwrap());
    f.clear().await.unwrap();
    assert!(!f.is_finished().await.unwrap(), "cleared: nothing queued");
}

#[tokio::test]
async fn meta_and_depth_round_trip() {
    let server = RedisServer::start();
    let f = frontier(&server, "meta").await;
    let binary: Vec<u8> = (0..=255).collect();
    let mut a = Request::new("http://example.com/a").with_meta(binary.clone());
    a.depth = 7;
    let b = Request::new("http://example.com/b");
    let c = Request::new("http://example.com/ü?x=1").with_meta(&b""[..]);
    f.push(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    let taken = f.take(3).await.unwrap();
    let got: Vec<Request> = taken.into_iter().map(|l| l.request).collect();
    assert_eq!(got, [a, b, c]);
}

#[tokio::test]
async fn wrong_types_and_corrupt_items_are_errors() {
    let server = RedisServer::start();
    let f = frontier(&server, "broken").await;
    let mut raw = server.raw().await;
    let _: () = redis::cmd("SET")
        .arg("ucrawler:{broken}:pending")
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = f.push(&requests(0..3)).await.unwrap_err();
    assert!(matches!(err, RedisFrontierError::WrongType { .. }), "{err}");
    assert!(
        err.to_string().contains("ucrawler:{broken}:pending"),
        "{err}"
    );
    // Nothing half-done: the seen set did not keep the URLs.
    let _: () = redis::cmd("DEL")
        .arg("ucrawler:{broken}:pending")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(f.push(&requests(0..3)).await.unwrap(), 3);
    // A seen bucket of the wrong type: the batch is undone.
    let fp = ucrawler::url::fingerprint("http://example.com/page/9");
    let bucket = format!("ucrawler:{{broken}}:seen:{}", fp % 65536);
    let _: () = redis::cmd("SET")
        .arg(&bucket)
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = f.push(&requests(3..10)).await.unwrap_err();
    assert!(matches!(err, RedisFrontierError::WrongType { .. }), "{err}");
    assert!(err.to_string().contains(&bucket), "{err}");
    let status = f.status().await.unwrap();
    assert_eq!((status.seen, status.pending), (3, 3));

    // Garbage in pending: a clear error naming the crawl and key; the item is dropped.
    let _: () = redis::cmd("LPUSH")
        .arg("ucrawler:{broken}:pending")
        .arg(&b"\x09garbage"[..])
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = f.take(1).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, RedisFrontierError::Corrupt { .. }),
        "{message}"
    );
    assert!(
        message.contains("\"broken\"") && message.contains("ucrawler:{broken}:pending"),
        "{message}"
    );
    let status = f.status().await.unwrap();
    assert_eq!((status.failed, status.leased, status.pending), (1, 0, 3));
    assert_eq!(f.take(usize::MAX).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_drain_ten_thousand_items_exactly_once() {
    let server = RedisServer::start();
    let seeder = frontier(&server, "drain").await;
    let total = 10_000u32;
    for chunk in (0..total).step_by(2_500) {
        seeder.push(&requests(chunk..chunk + 2_500)).await.unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..2 {
        let url = server.url();
        workers.push(tokio::spawn(async move {
            let f = RedisFrontier::connect(&url, "drain", RedisOptions::default())
                .await
                .unwrap();
            let mut got = Vec::new();
            loop {
                let batch = f.take(64).await.unwrap();
                if batch.is_empty() {
                    if f.is_finished().await.unwrap() {
                        return got;
                    }
                    continue;
                }
                for leased in batch {
                    f.ack(&leased.lease, Outcome::Done).await.unwrap();
                    got.push(leased.request.url);
                }
            }
        }));
    }
    let mut all = Vec::new();
    let mut counts = Vec::new();
    for worker in workers {
        let got = worker.await.unwrap();
        counts.push(got.len());
        all.extend(got);
    }
    assert_eq!(all.len(), total as usize, "{counts:?}");
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), total as usize);
    assert!(counts.iter().all(|&n| n > 0), "both worked: {counts:?}");
    let status = seeder.status().await.unwrap();
    assert_eq!((status.done, status.pending, status.leased), (10_000, 0, 0));
}

#[tokio::test]
async fn host_politeness_is_shared() {
    let server = RedisServer::start();
    let a = frontier(&server, "crawl-a").await;
    let b = frontier(&server, "crawl-b").await; // another crawl, same prefix: same host state
    let host = "example.com:443";
    let hold = Duration::from_secs(10);
    let gap = Duration::ZERO;
    assert_eq!(
        a.acquire_host(host, "t1", 2, gap, hold).await.unwrap(),
        None
    );
    assert_eq!(
        b.acquire_host(host, "t2", 2, gap, hold).await.unwrap(),
        None
    );
    let wait = a.acquire_host(host, "t3", 2, gap, hold).await.unwrap();
    assert!(
        wait.is_some_and(|w| w <= Duration::from_millis(100)),
        "at per_host: poll soon, {wait:?}"
    );
    // A retried acquire of a granted token is granted again, without a third hold.
    assert_eq!(
        a.acquire_host(host, "t1", 2, gap, hold).await.unwrap(),
        None
    );
    a.release_host(host, "t1", Duration::ZERO).await.unwrap();
    assert_eq!(
        a.acquire_host(host, "t3", 2, gap, hold).await.unwrap(),
        None
    );
    // Other hosts are independent.
    assert_eq!(
        a.acquire_host("other:80", "t4", 1, gap, hold)
            .await
            .unwrap(),
        None
    );

    // The gap between starts.
    let gap = Duration::from_millis(300);
    assert_eq!(
        a.acquire_host("gap:80", "g1", 5, gap, hold).await.unwrap(),
        None
    );
    let wait = b.acquire_host("gap:80", "g2", 5, gap, hold).await.unwrap();
    assert!(
        wait.is_some_and(|w| w > Duration::from_millis(200) && w <= gap),
        "{wait:?}"
    );
    tokio::time::sleep(wait.unwrap()).await;
    assert_eq!(
        b.acquire_host("gap:80", "g2", 5, gap, hold).await.unwrap(),
        None
    );

    // A hold of a dead worker frees itself.
    let short = Duration::from_millis(200);
    assert_eq!(
        a.acquire_host("dead:80", "d1", 1, Duration::ZERO, short)
            .await
            .unwrap(),
        None
    );
    assert!(a
        .acquire_host("dead:80", "d2", 1, Duration::ZERO, short)
        .await
        .unwrap()
        .is_some());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        a.acquire_host("dead:80", "d2", 1, Duration::ZERO, short)
            .await
            .unwrap(),
        None
    );

    // Release with a pause (Retry-After) holds the host back.
    let pause = Duration::from_millis(400);
    a.release_host("dead:80", "d2", pause).await.unwrap();
    let wait = b
        .acquire_host("dead:80", "d3", 1, Duration::ZERO, hold)
        .await
        .unwrap();
    assert!(
        wait.is_some_and(|w| w > Duration::from_millis(300) && w <= pause),
        "{wait:?}"
    );
    // A shorter pause later does not shorten it.
    a.release_host("dead:80", "nobody", Duration::from_millis(10))
        .await
        .unwrap();
    assert!(b
        .acquire_host("dead:80", "d3", 1, Duration::ZERO, hold)
        .await
        .unwrap()
        .is_some());

    assert!(matches!(
        a.acquire_host(host, "t", 0, gap, hold).await,
        Err(RedisFrontierError::Invalid(_))
    ));
    // Holds and next-start keys expire: nothing is left behind for idle hosts.
    let mut raw = server.raw().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg("ucrawler:host:{gap:80}:holds")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 10_000, "{ttl}");
}

#[tokio::test]
async fn clear_deletes_every_key_of_the_crawl_only() {
    let server = RedisServer::start();
    let f = frontier(&server, "clear").await;
    let other = frontier(&server, "clear2").await;
    f.push_seeds(&requests(0..100), false).await.unwrap();
    f.take(3).await.unwrap();
    other.push(&requests(0..5)).await.unwrap();
    f.clear().await.unwrap();
    let mut raw = server.raw().await;
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("ucrawler:{clear}:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(other.status().await.unwrap().pending, 5);
    assert_eq!(
        f.push(&requests(0..100)).await.unwrap(),
        100,
        "seen set cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_redis_restart_with_nothing_lost() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let f = frontier(&server, "restart").await;
    assert_eq!(f.push(&requests(0..100)).await.unwrap(), 100);
    let leased = f.take(10).await.unwrap();
    server.shutdown().await;

    // Both calls retry while Redis is down, and complete once it is back.
    let pusher = {
        let f = f.clone();
        tokio::spawn(async move { f.push(&requests(100..150)).await })
    };
    let taker = {
        let f = f.clone();
        tokio::spawn(async move { f.take(5).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !pusher.is_finished() && !taker.is_finished(),
        "waiting for Redis"
    );
    server.spawn();
    let pushed = tokio::time::timeout(Duration::from_secs(15), pusher)
        .await
        .expect("push completes after the restart")
        .unwrap()
        .unwrap();
    assert_eq!(pushed, 50);
    let taken = tokio::time::timeout(Duration::from_secs(15), taker)
        .await
        .expect("take completes after the restart")
        .unwrap()
        .unwrap();
    assert_eq!(taken.len(), 5);

    // Leases from before the restart are still valid.
    f.ack(&leased[0].lease, Outcome::Done).await.unwrap();
    let status = f.status().await.unwrap();
    assert_eq!(
        (
            status.pending,
            status.leased,
            status.done,
            status.seen,
            status.queued
        ),
        (135, 14, 1, 150, 150)
    );
    // The script cache was lost with the restart; EVALSHA falls back to loading it.
    assert_eq!(f.push(&requests(0..200)).await.unwrap(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_waits_for_redis_and_rejects_bad_input() {
    // Nothing listens there yet: connect keeps retrying (a worker may start before Redis).
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let connecting = tokio::spawn({
        let url = url.clone();
        async move { RedisFrontier::connect(&url, "late", RedisOptions::default()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!connecting.is_finished());
    let mut server = RedisServer::start();
    // Move the fresh server to the port connect is waiting on.
    server.shutdown().await;
    server.port = port;
    server.spawn();
    let f = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .expect("connected once Redis was up")
        .unwrap()
        .unwrap();
    assert_eq!(f.push(&requests(0..1)).await.unwrap(), 1);

    let err = RedisFrontier::connect("http://nope/", "x", RedisOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RedisFrontierError::BadUrl { .. }), "{err}");
    assert!(err.to_string().contains("http://nope/"), "{err}");
    let err = RedisFrontier::connect(
        "redis://:hunter2@nowhere:1/x/y",
        "x",
        RedisOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        !err.to_string().contains("hunter2"),
        "password hidden: {err}"
    );
    for name in ["", "two words", "{tag}"] {
        let err = RedisFrontier::connect(&url, name, RedisOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, RedisFrontierError::BadName(_)), "{err}");
    }
    let err = RedisFrontier::connect(&url, "x", opts(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(err, RedisFrontierError::Invalid(_)), "{err}");
}

/// A TCP proxy in front of Redis that can lose the next reply: it closes the client's
/// connection instead of forwarding it, after Redis has run the command.
struct LossyProxy {
    port: u16,
    lose_next_reply: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LossyProxy {
    async fn start(redis_port: u16) -> Self {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let lose_next_reply = Arc::new(AtomicBool::new(false));
        let lose = lose_next_reply.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", redis_port))
                    .await
                    .unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let lose = lose.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match server_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if lose.swap(false, Ordering::SeqCst) {
                            break; // drop the reply and the connection
                        }
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    upstream.abort();
                });
            }
        });
        Self {
            port,
            lose_next_reply,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn lose_next_reply(&self) {
        self.lose_next_reply.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_replayed_after_a_lost_reply_are_harmless() {
    let server = RedisServer::start();
    let proxy = LossyProxy::start(server.port).await;
    let f = RedisFrontier::connect(&proxy.url(), "replay", opts(Duration::from_millis(300)))
        .await
        .unwrap();
    let seeds = requests(0..3);
    // Every script runs once first, so the lost reply is the script's, not a NOSCRIPT.
    f.push_seeds(&requests(100..101), true).await.unwrap();
    let warm = f.take(1).await.unwrap();
    f.ack(&warm[0].lease, Outcome::Done).await.unwrap();

    // push_seeds with force: the replay finds its operation marker and queues nothing more.
    proxy.lose_next_reply();
    assert_eq!(f.push_seeds(&seeds, true).await.unwrap(), 3);
    let status = f.status().await.unwrap();
    assert_eq!((status.pending, status.queued), (3, 4));

    // push: the replay finds the URLs seen (and says so), nothing is queued twice.
    proxy.lose_next_reply();
    assert_eq!(f.push(&requests(3..5)).await.unwrap(), 0);
    assert_eq!(f.status().await.unwrap().pending, 5);

    // ack: counted once.
    let taken = f.take(1).await.unwrap();
    proxy.lose_next_reply();
    f.ack(&taken[0].lease, Outcome::Done).await.unwrap();
    let status = f.status().await.unwrap();
    assert_eq!((status.done, status.duplicates, status.leased), (2, 0, 0));

    // take: the lost batch's leases expire and come back first; nothing is lost.
    proxy.lose_next_reply();
    let second = f.take(2).await.unwrap();
    assert_eq!(
        urls(&second),
        ["http://example.com/page/3", "http://example.com/page/4"]
    );
    for leased in &second {
        f.ack(&leased.lease, Outcome::Done).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = f.take(10).await.unwrap();
    assert_eq!(
        urls(&again),
        ["http://example.com/page/1", "http://example.com/page/2"]
    );
    let status = f.status().await.unwrap();
    assert_eq!((status.reclaimed, status.done, status.pending), (2, 4, 0));
}

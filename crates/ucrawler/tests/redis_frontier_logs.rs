//! Outage logging, in a test binary of its own: `tracing` caches per call site whether anyone
//! listens, which races with tests on other threads when a subscriber is set per thread.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use redis_server::RedisServer;
use ucrawler::distributed::{RedisFrontier, RedisOptions};
use ucrawler::Request;

/// Captures the WARN/INFO lines of the thread it is installed on.
mod capture {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<(Level, String)>>>);

    struct Message(String);

    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::INFO
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
            lines.push((*event.metadata().level(), message.0));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_outage_is_logged_once_when_it_starts_and_once_when_it_ends() {
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let mut server = RedisServer::start();
    let f = RedisFrontier::connect(&server.url(), "logs", RedisOptions::default())
        .await
        .unwrap();
    server.shutdown().await;
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move {
                f.push(&[Request::new(format!("http://example.com/{i}"))])
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await; // several retries each
    server.spawn();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 1);
    }
    let lines = capture.0.lock().unwrap().clone();
    let warns: Vec<_> = lines
        .iter()
        .filter(|(l, _)| *l == tracing::Level::WARN)
        .collect();
    let infos: Vec<_> = lines
        .iter()
        .filter(|(l, _)| *l == tracing::Level::INFO)
        .collect();
    assert_eq!(warns.len(), 1, "{lines:?}");
    assert!(
        warns[0].1.contains("Redis unavailable during push"),
        "{lines:?}"
    );
    assert_eq!(infos.len(), 1, "{lines:?}");
    assert!(infos[0].1.contains("available again"), "{lines:?}");
}

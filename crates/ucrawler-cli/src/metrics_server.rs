//! `--metrics ADDR`: Prometheus text exposition at `http://ADDR/metrics`, served on a thread of
//! its own from the latest snapshot of the crawl's stats (taken by the consumer loop at most
//! once a second, so a scrape never waits on the crawl).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ucrawler::Stats;

use crate::Failure;

const REFRESH: Duration = Duration::from_secs(1);

pub struct MetricsServer {
    label: String,
    text: Arc<Mutex<String>>,
    refreshed: Option<Instant>,
}

impl MetricsServer {
    /// Listens on `addr` (a bad or busy address is a usage error naming it); `label` is the
    /// `crawl` label of every series.
    pub fn start(addr: &str, label: &str) -> Result<Self, Failure> {
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e| Failure::Usage(format!("--metrics {addr}: {e} (expected HOST:PORT)")))?;
        let listener = TcpListener::bind(addr)
            .map_err(|e| Failure::Usage(format!("--metrics {addr}: {e}")))?;
        let text = Arc::new(Mutex::new(String::new()));
        let served = text.clone();
        std::thread::Builder::new()
            .name("ucrawler-metrics".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = answer(stream, &served);
                }
            })
            .map_err(|e| Failure::Fatal(format!("metrics thread: {e}")))?;
        Ok(Self {
            label: label.to_string(),
            text,
            refreshed: None,
        })
    }

    /// Takes a new snapshot if the last one is a second old (`force`: now).
    pub fn refresh(&mut self, stats: impl FnOnce() -> Stats, force: bool) {
        if !force && self.refreshed.is_some_and(|at| at.elapsed() < REFRESH) {
            return;
        }
        let text = ucrawler::metrics::prometheus(&[(self.label.as_str(), &stats())]);
        *self.text.lock().unwrap_or_else(|p| p.into_inner()) = text;
        self.refreshed = Some(Instant::now());
    }
}

/// One request: `GET /metrics` gets the text, anything else a 404.
fn answer(stream: TcpStream, text: &Mutex<String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(&stream);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The rest of the head is not needed, but read it so the client sees a clean close.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut stream = &stream;
    let path = request.split_whitespace().nth(1).unwrap_or("");
    if path == "/metrics" || path.starts_with("/metrics?") {
        let body = text.lock().unwrap_or_else(|p| p.into_inner()).clone();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }
}

//! The adversarial half of the test site: a loopback HTTP server that answers byte for byte
//! what a test tells it — what a well-behaved HTTP library cannot send (malformed heads, raw
//! bytes and NULs in headers, conflicting lengths, stacked encodings, bodies cut short or
//! dripped) — and records every request path. One thread per connection; every reply ends its
//! connection. The engine's `tests/adversarial.rs` drives it, one scenario per server.
//!
//! ```no_run
//! use ucrawler_testsite::raw::{RawServer, Reply};
//! let server = RawServer::start(|path| match path {
//!     "/robots.txt" => Reply::redirect(b"http://169.254.169.254/latest/meta-data/"),
//!     _ => Reply::html("<title>hi</title>"),
//! });
//! println!("crawl {}", server.url("/"));
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does for one request.
pub enum Reply {
    /// These bytes, then close.
    Bytes(Vec<u8>),
    /// These bytes, one every `gap`, then close.
    Drip(Vec<u8>, Duration),
}

impl Reply {
    /// A complete response: status line, the given headers, a `Content-Length` and the body.
    pub fn new(status: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Reply {
        let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n").into_bytes();
        for (name, value) in headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        Reply::Bytes(out)
    }

    pub fn html(body: &str) -> Reply {
        Reply::new("200 OK", &[("Content-Type", b"text/html")], body.as_bytes())
    }

    pub fn not_found() -> Reply {
        Reply::new("404 Not Found", &[("Content-Type", b"text/plain")], b"no")
    }

    pub fn redirect(location: &[u8]) -> Reply {
        Reply::new("302 Found", &[("Location", location)], b"")
    }
}

type Handler = dyn Fn(&str) -> Reply + Send + Sync;

pub struct RawServer {
    pub port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    /// Serves `handler(path)` for every request, on a free loopback port, until the process ends.
    pub fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, hits) = (handler.clone(), recorded.clone());
                std::thread::spawn(move || serve(stream, &*handler, &hits));
            }
        });
        RawServer { port, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The paths requested so far.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, hits: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    hits.lock().unwrap().push(path.clone());
    match handler(&path) {
        Reply::Bytes(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Drip(bytes, gap) => {
            for b in bytes {
                if stream.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(gap);
            }
        }
    }
    let _ = stream.flush();
}

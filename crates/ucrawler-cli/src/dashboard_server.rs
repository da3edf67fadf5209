//! `ucrawler dashboard`: the operators' dashboard (the same page and JSON API as the gem's
//! `UcrawlerNative::Web`) served by the binary, without Rails. Loopback only unless HTTP basic
//! auth is configured; every POST needs this process's CSRF token (see `routes`).
//!
//! One tokio runtime serves the connections (hyper, HTTP/1.1); each connection is a task of its
//! own with a time limit on its request heads and bodies, so a slow client holds only itself.
//! The engine's dashboard calls block (on Redis, 3 s at most): they run on the blocking pool.

mod routes;

use std::convert::Infallible;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hyper::header::{HeaderMap, AUTHORIZATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use ucrawler::dashboard::Dashboard;

use crate::args::DashboardArgs;
use crate::Failure;

/// A client must send a whole request head within this (an idle keep-alive connection too).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest request head, in bytes (hyper's buffer; it answers 431 beyond).
const MAX_HEAD: usize = 16 * 1024;
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;

/// What every request is answered from.
pub struct App {
    dashboard: Arc<Dashboard>,
    /// This process's CSRF token (hex of 32 random bytes).
    token: String,
    /// index.html with its placeholders filled in.
    index: String,
    credentials: Option<Credentials>,
}

/// The basic auth user and password every request must carry.
struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Whether `headers` carry `Authorization: Basic base64(user:password)`.
    fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = given.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let (user, password) = match decoded.iter().position(|&b| b == b':') {
            Some(colon) => (&decoded[..colon], &decoded[colon + 1..]),
            None => (&decoded[..], &[][..]),
        };
        // Both compared whatever the first gives: the time does not tell which one was wrong.
        let user_ok = constant_time_eq(user, self.user.as_bytes());
        let password_ok = constant_time_eq(password, self.password.as_bytes());
        user_ok & password_ok
    }
}

/// Compares in a time that depends on `expected`'s length only, never on where they differ.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, byte) in expected.iter().enumerate() {
        diff |= byte ^ given.get(i).copied().unwrap_or(!byte);
    }
    std::hint::black_box(diff) == 0
}

/// `ucrawler dashboard`: serves until Ctrl-C.
pub fn run(args: &DashboardArgs) -> Result<ExitCode, Failure> {
    let addrs: Vec<SocketAddr> = (args.listen.to_socket_addrs())
        .map_err(|e| {
            Failure::Usage(format!(
                "--listen {}: {e} (expected HOST:PORT)",
                args.listen
            ))
        })?
        .collect();
    let credentials = match (&args.user, &args.password) {
        (Some(user), Some(password)) => {
            if user.is_empty() || password.is_empty() || user.contains(':') {
                return Err(Failure::Usage(
                    "--user and --password must not be empty (and the user has no ':')".into(),
                ));
            }
            Some(Credentials {
                user: user.clone(),
                password: password.clone(),
            })
        }
        _ => None,
    };
    if credentials.is_none() && !addrs.iter().all(|addr| addr.ip().is_loopback()) {
        return Err(Failure::Usage(format!(
            "--listen {}: not a loopback address; serving the dashboard beyond this machine \
             needs --user and --password (HTTP basic auth)",
            args.listen
        )));
    }
    let dashboard = Arc::new(
        Dashboard::new(Some(&args.redis), &args.redis_prefix)
            .map_err(|e| Failure::Usage(e.to_string()))?,
    );
    let listener = std::net::TcpListener::bind(&addrs[..])
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|e| Failure::Usage(format!("--listen {}: {e}", args.listen)))?;
    let local = (listener.local_addr()).map_err(|e| Failure::Fatal(e.to_string()))?;
    let token = csrf_token()?;
    let app = Arc::new(App {
        dashboard: dashboard.clone(),
        index: routes::index_html(&token),
        token,
        credentials,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .thread_name("ucrawler-dashboard")
        .enable_all()
        .build()
        .map_err(|e| Failure::Fatal(format!("tokio runtime: {e}")))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        println!("ucrawler dashboard: http://{local}/");
        std::io::stdout().flush()?;
        tokio::select! {
            () = accept(listener, app) => Ok(()),
            interrupted = tokio::signal::ctrl_c() => interrupted,
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    // The engine's dashboard owns a runtime: it is dropped here, outside ours.
    drop(dashboard);
    served.map_err(|e| Failure::Fatal(format!("dashboard: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Serves every connection on a task of its own, [`MAX_CONNECTIONS`] at most.
async fn accept(listener: tokio::net::TcpListener, app: Arc<App>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, or a connection reset before we took it: try again soon.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(|request| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(routes::handle(&app, request).await) }
            });
            // A client that breaks the protocol or times out just loses its connection.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .max_headers(64)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

/// 32 random bytes from the OS, in hex.
fn csrf_token() -> Result<String, Failure> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Failure::Fatal(format!("no random bytes for the CSRF token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

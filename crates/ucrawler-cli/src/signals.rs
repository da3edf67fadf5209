//! Graceful shutdown of `crawl` and `worker`, as systemd and Kubernetes ask for it on every
//! deploy: the first SIGTERM or SIGINT (Ctrl-C) asks the crawl to stop (see `main::crawl`);
//! a second one, or [`GRACE`] passing without the process having ended, exits at once with
//! 128 + the signal's number, as a shell reports a process killed by it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::Failure;

/// The longest a stop takes from the first signal to the exit: pages already fetched are
/// written (at most `STOP_DRAIN`), then a shared crawl's agent acknowledges them and gives its
/// leases back (at most 11 s, `AGENT_GRACE` in the engine).
pub const GRACE: Duration = Duration::from_secs(15);

/// The signals that stop a crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt = 2,
    Terminate = 15,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    /// What a shell reports for a process this signal killed.
    fn exit_code(self) -> i32 {
        128 + self as i32
    }
}

/// Which stop signal has arrived, if any (set from the signal thread).
#[derive(Clone)]
pub struct StopRequest(Arc<AtomicU8>);

impl StopRequest {
    pub fn get(&self) -> Option<StopSignal> {
        match self.0.load(Ordering::Acquire) {
            2 => Some(StopSignal::Interrupt),
            15 => Some(StopSignal::Terminate),
            _ => None,
        }
    }
}

/// Takes over SIGTERM and SIGINT for the rest of the process, from a thread of its own.
pub fn install() -> Result<StopRequest, Failure> {
    let failed = |e: std::io::Error| Failure::Fatal(format!("cannot handle signals: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    // Registered here, before the crawl starts: a signal from now on is ours.
    let (terminate, interrupt) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::terminate()).map_err(failed)?,
            signal(SignalKind::interrupt()).map_err(failed)?,
        )
    };
    let request = StopRequest(Arc::new(AtomicU8::new(0)));
    let flag = request.0.clone();
    std::thread::Builder::new()
        .name("ucrawler-signals".into())
        .spawn(move || runtime.block_on(watch(terminate, interrupt, &flag)))
        .map_err(failed)?;
    Ok(request)
}

async fn watch(mut terminate: Signal, mut interrupt: Signal, flag: &AtomicU8) {
    let first = next(&mut terminate, &mut interrupt).await;
    flag.store(first as u8, Ordering::Release);
    eprintln!(
        "ucrawler: {}: stopping within {}s (pages under way go back to the crawl); \
         signal again to exit at once",
        first.name(),
        GRACE.as_secs()
    );
    tokio::select! {
        second = next(&mut terminate, &mut interrupt) => {
            eprintln!("ucrawler: {}: exiting at once", second.name());
            std::process::exit(second.exit_code());
        }
        _ = tokio::time::sleep(GRACE) => {
            eprintln!("ucrawler: not stopped within {}s: exiting", GRACE.as_secs());
            std::process::exit(first.exit_code());
        }
    }
}

async fn next(terminate: &mut Signal, interrupt: &mut Signal) -> StopSignal {
    tokio::select! {
        _ = terminate.recv() => StopSignal::Terminate,
        _ = interrupt.recv() => StopSignal::Interrupt,
    }
}

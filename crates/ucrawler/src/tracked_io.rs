//! One connection as the descriptor budget sees it: whether a request is using it, since when
//! it has been idle, and a way to close it when idle (the fetch stage's `connections` keeps the
//! crawler's connections under a limit with it; robots.txt fetches lease theirs too).
//!
//! A connection is busy from the moment request bytes are written to it until the response
//! taken from it is done with ([`ConnectionLease`]). In between responses it is idle, in the HTTP
//! client's pool; the budget may then close it to make room for a connection to another host:
//! its next read reports end of stream, which hyper takes as the server closing an idle
//! connection (it drops the connection; a request it had not yet written goes to a new one).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::task::AtomicWaker;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use reqwest::Response;

/// A connection's state.
const IDLE: u8 = 0;
const BUSY: u8 = 1;
/// Chosen to be closed: its next read is end of stream, unless a write takes it back first.
const CLOSING: u8 = 2;
const CLOSED: u8 = 3;

/// What the budget knows of one open connection (shared with the responses taken from it).
#[derive(Debug)]
pub(crate) struct ConnectionState {
    state: AtomicU8,
    /// Responses from this connection not yet done with.
    leases: AtomicUsize,
    /// When it last became idle (ms since the budget's epoch), for least-recently-used order.
    idle_since: AtomicU64,
    epoch: Instant,
    /// The task reading the connection, woken to see that it is to close.
    reader: AtomicWaker,
    /// HTTP/2 multiplexes requests on one connection; the budget never closes one (it cannot
    /// tell from its bytes whether a stream is waiting for its response).
    multiplexed: bool,
}

impl ConnectionState {
    pub fn new(epoch: Instant, multiplexed: bool) -> Self {
        Self {
            state: AtomicU8::new(BUSY),
            leases: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            epoch,
            reader: AtomicWaker::new(),
            multiplexed,
        }
    }

    /// How long ago it became idle, if it is idle and may be closed.
    pub fn idle_since(&self) -> Option<u64> {
        (!self.multiplexed && self.state.load(Ordering::Acquire) == IDLE)
            .then(|| self.idle_since.load(Ordering::Relaxed))
    }

    /// Marks an idle connection to be closed; false if it is no longer idle.
    pub fn close_if_idle(&self) -> bool {
        let chosen = self
            .state
            .compare_exchange(IDLE, CLOSING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if chosen {
            self.reader.wake();
        }
        chosen
    }

    /// Whether it was chosen to be closed (and has not been taken back).
    pub fn is_closing(&self) -> bool {
        matches!(self.state.load(Ordering::Acquire), CLOSING | CLOSED)
    }

    /// A request is being written: busy. Takes it back from closing; false once closed.
    fn start_request(&self) -> bool {
        loop {
            match self.state.load(Ordering::Acquire) {
                BUSY => return true,
                CLOSED => return false,
                current => {
                    if self
                        .state
                        .compare_exchange(current, BUSY, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return true;
                    }
                }
            }
        }
    }

    /// Whether the connection is to report end of stream now.
    fn ends_read(&self) -> bool {
        self.state
            .compare_exchange(CLOSING, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            || self.state.load(Ordering::Acquire) == CLOSED
    }

    fn release(&self) {
        if self.leases.fetch_sub(1, Ordering::AcqRel) == 1 {
            let now = self.epoch.elapsed().as_millis() as u64;
            self.idle_since.store(now, Ordering::Relaxed);
            let _ = self
                .state
                .compare_exchange(BUSY, IDLE, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

/// The connection a response came from, in its extensions (hyper-util copies a connection's
/// `Connected::extra` into every response).
#[derive(Clone, Debug)]
struct ConnectionTag(Arc<ConnectionState>);

/// Holds a response's connection busy until dropped: take one as soon as a response arrives
/// and keep it until its body is read or given up.
#[derive(Debug)]
pub(crate) struct ConnectionLease(Arc<ConnectionState>);

impl ConnectionLease {
    /// The lease on the connection `response` came from (`None` for a connection the budget did
    /// not make, which it neither counts nor closes).
    pub fn of(response: &Response) -> Option<Self> {
        let ConnectionTag(state) = response.extensions().get::<ConnectionTag>()?;
        Some(Self::on(state))
    }

    /// The lease on a connection.
    pub fn on(state: &Arc<ConnectionState>) -> Self {
        state.leases.fetch_add(1, Ordering::AcqRel);
        Self(state.clone())
    }
}

impl Drop for ConnectionLease {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A connection's I/O, tracked. `Held` is what it keeps until closed (its place in the budget).
pub(crate) struct TrackedIo<T, Held> {
    inner: T,
    state: Arc<ConnectionState>,
    _held: Held,
}

impl<T: Connection, Held> TrackedIo<T, Held> {
    pub fn new(inner: T, epoch: Instant, held: impl FnOnce(&Arc<ConnectionState>) -> Held) -> Self {
        let state = Arc::new(ConnectionState::new(
            epoch,
            inner.connected().is_negotiated_h2(),
        ));
        Self {
            _held: held(&state),
            inner,
            state,
        }
    }
}

impl<T: Connection, Held> Connection for TrackedIo<T, Held> {
    fn connected(&self) -> Connected {
        self.inner
            .connected()
            .extra(ConnectionTag(self.state.clone()))
    }
}

impl<T: Read + Unpin, Held: Unpin> Read for TrackedIo<T, Held> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.ends_read() {
            return Poll::Ready(Ok(())); // nothing read: end of stream
        }
        this.state.reader.register(cx.waker());
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

/// A write to a connection the budget closed (only if hyper wrote to a connection it had seen
/// end; it does not).
fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "idle connection closed to stay within the descriptor budget",
    )
}

impl<T: Write + Unpin, Held: Unpin> Write for TrackedIo<T, Held> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !buf.is_empty() && !this.state.start_request() {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if bufs.iter().any(|b| !b.is_empty()) && !this.state.start_request() {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ConnectionState {
        ConnectionState::new(Instant::now(), false)
    }

    #[test]
    fn busy_until_the_last_response_is_done_with() {
        let state = Arc::new(state());
        assert_eq!(state.idle_since(), None, "a new connection is busy");
        let (first, second) = (ConnectionLease::on(&state), ConnectionLease::on(&state));
        drop(first);
        assert_eq!(state.idle_since(), None);
        assert!(!state.close_if_idle());
        drop(second);
        assert!(state.idle_since().is_some());
        assert!(state.start_request());
        assert_eq!(state.idle_since(), None, "a write makes it busy again");
    }

    #[test]
    fn a_write_takes_a_closing_connection_back() {
        let state = Arc::new(state());
        drop(ConnectionLease::on(&state));
        assert!(state.close_if_idle());
        assert!(state.is_closing());
        assert!(
            state.start_request(),
            "the write wins: the connection stays"
        );
        assert!(!state.is_closing());
        assert!(!state.ends_read());
    }

    #[test]
    fn a_read_ends_a_closing_connection_for_good() {
        let state = Arc::new(state());
        drop(ConnectionLease::on(&state));
        assert!(state.close_if_idle());
        assert!(state.ends_read());
        assert!(state.ends_read(), "every read after is end of stream too");
        assert!(!state.start_request(), "a write to it fails");
        assert_eq!(state.idle_since(), None);
    }

    #[test]
    fn a_multiplexed_connection_is_never_closed() {
        let state = Arc::new(ConnectionState::new(Instant::now(), true));
        drop(ConnectionLease::on(&state));
        assert_eq!(state.idle_since(), None);
    }
}

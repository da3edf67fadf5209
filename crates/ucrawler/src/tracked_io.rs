//! One connection as the descriptor budget sees it: whether a request is using it, since when
//! it has been idle, and a way to close it when idle (the fetch stage's `connections` keeps the
//! crawler's connections under a limit with it; robots.txt fetches lease theirs too).
//!
//! A connection is busy from the moment request bytes are written to it until the response
//! taken from it is done with ([`ConnectionLease`]), and until every request written to it has
//! been answered so: hyper hands a connection to the host's next request as soon as a body's
//! last byte is read, before the crawler is done with that response. In between it is idle, in
//! the HTTP client's pool; the budget may then close it to make room for a connection to another host:
//! its next read reports end of stream, which hyper takes as the server closing an idle
//! connection (it drops the connection; a request it had not yet written goes to a new one).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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
    /// Requests written to it, and responses from it done with: idle only when they are equal.
    requests: AtomicU64,
    answered: AtomicU64,
    /// Set when a response arrives: the next write is a new request.
    between_requests: AtomicBool,
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
            requests: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            between_requests: AtomicBool::new(true),
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

    /// Whether every request written has been answered and done with.
    fn all_answered(&self) -> bool {
        self.requests.load(Ordering::Acquire) == self.answered.load(Ordering::Acquire)
    }

    /// Marks an idle connection to be closed; false if it is no longer idle.
    pub fn close_if_idle(&self) -> bool {
        if (self.state)
            .compare_exchange(IDLE, CLOSING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        if !self.all_answered() {
            // A request was written meanwhile (it counts itself before its write's state
            // check): the connection stays.
            let _ =
                (self.state).compare_exchange(CLOSING, BUSY, Ordering::AcqRel, Ordering::Acquire);
            return false;
        }
        self.reader.wake();
        true
    }

    /// Whether it was chosen to be closed (and has not been taken back).
    pub fn is_closing(&self) -> bool {
        matches!(self.state.load(Ordering::Acquire), CLOSING | CLOSED)
    }

    /// Request bytes are being written: busy (the first write after a response starts a new
    /// request). Takes the connection back from closing; false once closed.
    pub fn start_request(&self) -> bool {
        if self.between_requests.swap(false, Ordering::AcqRel) {
            self.requests.fetch_add(1, Ordering::AcqRel);
        }
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
        self.answered.fetch_add(1, Ordering::AcqRel);
        if !self.all_answered() {
            return; // the host's next request is already on it
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        self.idle_since.store(now, Ordering::Relaxed);
        let idle = (self.state)
            .compare_exchange(BUSY, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if idle && !self.all_answered() {
            // A request was written between the count and the change: busy after all.
            let _ = (self.state).compare_exchange(IDLE, BUSY, Ordering::AcqRel, Ordering::Acquire);
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
        state.between_requests.store(true, Ordering::Release);
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

    fn state() -> Arc<ConnectionState> {
        Arc::new(ConnectionState::new(Instant::now(), false))
    }

    /// A request written to the connection and its response arrived.
    fn answered(state: &Arc<ConnectionState>) -> ConnectionLease {
        assert!(state.start_request());
        ConnectionLease::on(state)
    }

    #[test]
    fn busy_until_the_response_is_done_with() {
        let state = state();
        assert_eq!(state.idle_since(), None, "a new connection is busy");
        let response = answered(&state);
        assert_eq!(state.idle_since(), None);
        assert!(!state.close_if_idle());
        drop(response);
        assert!(state.idle_since().is_some());
        assert!(state.start_request());
        assert_eq!(state.idle_since(), None, "a write makes it busy again");
    }

    #[test]
    fn the_next_request_on_it_keeps_it_busy() {
        // hyper gives the connection to the host's next request as soon as the first body is
        // read, before the crawler drops that response.
        let state = state();
        let first = answered(&state);
        assert!(state.start_request()); // the second request, written
        drop(first);
        assert_eq!(
            state.idle_since(),
            None,
            "the second request is waiting for its answer"
        );
        assert!(!state.close_if_idle());
        drop(ConnectionLease::on(&state));
        assert!(state.idle_since().is_some());
    }

    #[test]
    fn a_write_takes_a_closing_connection_back() {
        let state = state();
        drop(answered(&state));
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
        let state = state();
        drop(answered(&state));
        assert!(state.close_if_idle());
        assert!(state.ends_read());
        assert!(state.ends_read(), "every read after is end of stream too");
        assert!(!state.start_request(), "a write to it fails");
        assert_eq!(state.idle_since(), None);
    }

    #[test]
    fn a_multiplexed_connection_is_never_closed() {
        let state = Arc::new(ConnectionState::new(Instant::now(), true));
        drop(answered(&state));
        assert_eq!(state.idle_since(), None);
    }
}

//! The response body type of the server: in-memory, repeated chunks (endless, huge, bombs),
//! a one-byte-per-second drip, or a body cut short by an error. Streaming bodies produce
//! their data on demand and never hold more than one shared chunk in memory.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::time::{sleep, Sleep};

use crate::log::Pending;

pub(crate) struct Body {
    kind: Kind,
    /// Recorded in the request log when the body is finished (dropped by hyper).
    log: Option<Pending>,
}

enum Kind {
    Full(Option<Bytes>),
    /// `head`, then `chunk` repeated `remaining` times (`None` = forever), then `tail`.
    Repeat {
        head: Option<Bytes>,
        chunk: Bytes,
        remaining: Option<u64>,
        tail: Option<Bytes>,
    },
    /// One byte of `text` per `interval`, cycling forever.
    Drip {
        text: &'static [u8],
        pos: usize,
        interval: Duration,
        timer: Pin<Box<Sleep>>,
    },
    /// `data`, a pause (so it gets flushed), then an error: hyper drops the connection.
    Broken {
        data: Option<Bytes>,
        pause: Pin<Box<Sleep>>,
    },
}

impl Body {
    pub(crate) fn full(data: impl Into<Bytes>) -> Body {
        let data: Bytes = data.into();
        Body::from_kind(Kind::Full((!data.is_empty()).then_some(data)))
    }

    pub(crate) fn empty() -> Body {
        Body::from_kind(Kind::Full(None))
    }

    pub(crate) fn repeat(
        head: Option<Bytes>,
        chunk: Bytes,
        times: Option<u64>,
        tail: Option<Bytes>,
    ) -> Body {
        Body::from_kind(Kind::Repeat {
            head,
            chunk,
            remaining: times,
            tail,
        })
    }

    pub(crate) fn drip(text: &'static [u8], interval: Duration) -> Body {
        Body::from_kind(Kind::Drip {
            text,
            pos: 0,
            interval,
            timer: Box::pin(sleep(interval)),
        })
    }

    pub(crate) fn broken(data: Bytes, pause: Duration) -> Body {
        Body::from_kind(Kind::Broken {
            data: Some(data),
            pause: Box::pin(sleep(pause)),
        })
    }

    fn from_kind(kind: Kind) -> Body {
        Body { kind, log: None }
    }

    /// Whether the whole body is already in memory.
    pub(crate) fn is_full(&self) -> bool {
        matches!(self.kind, Kind::Full(_))
    }

    pub(crate) fn set_log(&mut self, pending: Pending) {
        self.log = Some(pending);
    }

    /// Exact length when known.
    pub(crate) fn len(&self) -> Option<u64> {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        match &self.kind {
            Kind::Full(data) => Some(len(data)),
            Kind::Repeat {
                head,
                chunk,
                remaining,
                tail,
            } => remaining.map(|n| len(head) + n * chunk.len() as u64 + len(tail)),
            Kind::Drip { .. } | Kind::Broken { .. } => None,
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let data = match &mut self.get_mut().kind {
            Kind::Full(data) => data.take(),
            Kind::Repeat {
                head,
                chunk,
                remaining,
                tail,
            } => head.take().or_else(|| match remaining {
                Some(0) => tail.take(),
                Some(n) => {
                    *n -= 1;
                    Some(chunk.clone())
                }
                None => Some(chunk.clone()),
            }),
            Kind::Drip {
                text,
                pos,
                interval,
                timer,
            } => {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let next = timer.deadline() + *interval;
                timer.as_mut().reset(next);
                let text: &'static [u8] = text;
                let byte = Bytes::from_static(&text[*pos..*pos + 1]);
                *pos = (*pos + 1) % text.len();
                Some(byte)
            }
            Kind::Broken { data, pause } => match data.take() {
                Some(data) => Some(data),
                None => {
                    if pause.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "testsite: connection reset mid-body on purpose",
                    ))));
                }
            },
        };
        Poll::Ready(data.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(data) => data.is_none(),
            Kind::Repeat {
                head,
                remaining,
                tail,
                ..
            } => head.is_none() && *remaining == Some(0) && tail.is_none(),
            Kind::Drip { .. } | Kind::Broken { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Repeat { .. } => self.len().map_or_else(SizeHint::new, SizeHint::with_exact),
            Kind::Drip { .. } | Kind::Broken { .. } => SizeHint::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn repeat_yields_everything_in_order() {
        let body = Body::repeat(
            Some(Bytes::from_static(b"<")),
            Bytes::from_static(b"ab"),
            Some(3),
            Some(Bytes::from_static(b">")),
        );
        assert_eq!(body.len(), Some(8));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"<ababab>");
    }

    #[tokio::test]
    async fn full_and_empty() {
        let body = Body::full(Bytes::from_static(b"hello"));
        assert!(body.is_full());
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"hello");
        assert!(hyper::body::Body::is_end_stream(&Body::empty()));
    }

    #[tokio::test]
    async fn broken_errors_after_data() {
        let mut body = Body::broken(Bytes::from_static(b"abc"), Duration::from_millis(1));
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"abc"));
        assert!(body.frame().await.unwrap().is_err());
    }
}

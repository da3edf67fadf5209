//! The DevTools transport over `--remote-debugging-pipe`: JSON messages, each ended by a NUL
//! byte, commands to the browser on one pipe, answers and events on the other.
//!
//! Plain threads read and write the pipes (not tasks): the renderer is the process's, used from
//! any runtime, and must outlive the runtime that happened to start it. Answers go back through
//! oneshot channels by command id, events to the tab that owns their `sessionId`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::RenderError;

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Closed {
    /// The browser exited or closed its pipe (a crash, unless we asked).
    Exited,
    OverMemory(u64),
    Protocol(String),
    Hung(String),
    /// Closed by us: idle, recycled or dropped.
    Ended(&'static str),
}

impl Closed {
    pub(super) fn error(&self) -> RenderError {
        match self {
            Closed::Exited => RenderError::Crashed("the browser exited".into()),
            Closed::OverMemory(limit) => RenderError::OverMemory { limit: *limit },
            Closed::Protocol(why) => RenderError::Protocol(why.clone()),
            Closed::Hung(why) => RenderError::Hung(why.clone()),
            Closed::Ended(why) => RenderError::Crashed(format!("the browser was closed ({why})")),
        }
    }
}

/// An event from the browser.
#[derive(Debug)]
pub(super) struct Event {
    pub method: String,
    pub params: Value,
}

type Answer = oneshot::Sender<Result<Value, RenderError>>;

struct State {
    next_id: u64,
    pending: HashMap<u64, Answer>,
    sessions: HashMap<String, mpsc::UnboundedSender<Event>>,
    /// Commands for the writer thread; None once closed.
    out: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    closed: Option<Closed>,
}

struct Inner {
    state: Mutex<State>,
    max_message: AtomicUsize,
    /// Kills the browser's process group: run when the connection closes.
    kill: Box<dyn Fn() + Send + Sync>,
}

/// A connection to one browser.
#[derive(Clone)]
pub(super) struct Cdp {
    inner: Arc<Inner>,
}

impl Cdp {
    /// Starts the reader and writer threads on the browser's pipes.
    pub(super) fn start(
        to_browser: File,
        from_browser: File,
        max_message: usize,
        kill: Box<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let (out, commands) = std::sync::mpsc::channel::<Vec<u8>>();
        let cdp = Cdp {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    next_id: 1,
                    pending: HashMap::new(),
                    sessions: HashMap::new(),
                    out: Some(out),
                    closed: None,
                }),
                max_message: AtomicUsize::new(max_message),
                kill,
            }),
        };
        std::thread::Builder::new()
            .name("ucrawler-cdp-write".into())
            .spawn(move || write_loop(to_browser, commands))?;
        let reader = cdp.clone();
        std::thread::Builder::new()
            .name("ucrawler-cdp-read".into())
            .spawn(move || reader.read_loop(from_browser))?;
        Ok(cdp)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_message_limit(&self, limit: usize) {
        self.inner.max_message.fetch_max(limit, Ordering::Relaxed);
    }

    /// Why the connection ended, if it did.
    pub(super) fn closed(&self) -> Option<Closed> {
        self.state().closed.clone()
    }

    /// The error for a render that lost its connection.
    pub(super) fn closed_error(&self) -> RenderError {
        self.closed().unwrap_or(Closed::Exited).error()
    }

    /// Ends the connection (the first reason given wins): pending commands and tabs fail with
    /// it, and the browser's process group is killed.
    pub(super) fn close(&self, why: Closed) {
        let (pending, sessions) = {
            let mut state = self.state();
            if state.closed.is_some() {
                return;
            }
            state.closed = Some(why.clone());
            state.out = None;
            (
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.sessions),
            )
        };
        (self.inner.kill)();
        for (_, answer) in pending {
            let _ = answer.send(Err(why.error()));
        }
        drop(sessions);
    }

    /// Sends a command without waiting: the answer arrives on the receiver.
    pub(super) fn send(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> oneshot::Receiver<Result<Value, RenderError>> {
        let (answer, receiver) = oneshot::channel();
        let mut state = self.state();
        let Some(out) = state.out.clone() else {
            let why = state.closed.clone().unwrap_or(Closed::Exited);
            let _ = answer.send(Err(why.error()));
            return receiver;
        };
        let id = state.next_id;
        state.next_id += 1;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::from(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        state.pending.insert(id, answer);
        // A failed send means the writer is gone: the reader sees EOF and closes us.
        let _ = out.send(bytes);
        receiver
    }

    /// Sends a command and waits for its answer, at most `limit`.
    pub(super) async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        limit: Duration,
    ) -> Result<Value, RenderError> {
        let answer = self.send(session, method, params);
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => Err(RenderError::Hung(format!(
                "the browser did not answer {method} within {limit:?}"
            ))),
        }
    }

    /// The events of `session`, from now on. The channel closes with the connection.
    pub(super) fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<Event> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut state = self.state();
        if state.closed.is_none() {
            state.sessions.insert(session.to_string(), sender);
        }
        receiver
    }

    pub(super) fn unsubscribe(&self, session: &str) {
        self.state().sessions.remove(session);
    }

    /// Reads NUL-terminated messages until EOF, an oversized message, or a bad one.
    fn read_loop(self, from_browser: File) {
        let mut reader = BufReader::with_capacity(64 << 10, from_browser);
        let mut message = Vec::new();
        let why = loop {
            let buffer = match reader.fill_buf() {
                Ok([]) => break Closed::Exited,
                Ok(buffer) => buffer,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break Closed::Exited,
            };
            let (taken, complete) = match buffer.iter().position(|b| *b == 0) {
                Some(end) => {
                    message.extend_from_slice(&buffer[..end]);
                    (end + 1, true)
                }
                None => {
                    message.extend_from_slice(buffer);
                    (buffer.len(), false)
                }
            };
            reader.consume(taken);
            let limit = self.inner.max_message.load(Ordering::Relaxed);
            if message.len() > limit {
                break Closed::Protocol(format!("a message from the browser passed {limit} bytes"));
            }
            if complete {
                if let Err(why) = self.dispatch(&message) {
                    break why;
                }
                message.clear();
                // Don't keep a huge snapshot's buffer for the browser's lifetime.
                if message.capacity() > 1 << 20 {
                    message = Vec::new();
                }
            }
            if self.state().closed.is_some() {
                return;
            }
        };
        self.close(why);
    }

    /// Hands one message to whoever waits for it.
    fn dispatch(&self, message: &[u8]) -> Result<(), Closed> {
        let mut value: Value = serde_json::from_slice(message).map_err(|e| {
            Closed::Protocol(format!("a message from the browser is not JSON: {e}"))
        })?;
        if let Some(id) = value.get("id").and_then(Value::as_u64) {
            let answer = self.state().pending.remove(&id);
            let result = match value.get("error") {
                Some(error) => Err(RenderError::Protocol(
                    error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                        .to_string(),
                )),
                None => Ok(value
                    .get_mut("result")
                    .map(Value::take)
                    .unwrap_or(Value::Null)),
            };
            if let Some(answer) = answer {
                let _ = answer.send(result);
            }
            return Ok(());
        }
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let params = value
            .get_mut("params")
            .map(Value::take)
            .unwrap_or(Value::Null);
        match value.get("sessionId").and_then(Value::as_str) {
            Some(session) => {
                let state = self.state();
                if let Some(events) = state.sessions.get(session) {
                    let _ = events.send(Event { method, params });
                }
            }
            None if method == "Target.targetCreated" => {
                // A popup that slipped through --block-new-web-contents: closed at once.
                let info = &params["targetInfo"];
                if info["type"] == "page" && info.get("openerId").is_some() {
                    let target = info["targetId"].clone();
                    drop(self.send(None, "Target.closeTarget", json!({"targetId": target})));
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// Writes commands in order until the connection drops its sender or the pipe breaks.
fn write_loop(mut to_browser: File, commands: std::sync::mpsc::Receiver<Vec<u8>>) {
    while let Ok(bytes) = commands.recv() {
        if to_browser.write_all(&bytes).is_err() {
            return;
        }
    }
}

//! One page render: a fresh browser context and target, every request intercepted (the
//! document answered from the job, the rest through [`SubFetch`]), a settle rule, and a bounded
//! snapshot of the DOM.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use url::Url;

use super::cdp::{Cdp, Event};
use super::{RenderError, RenderJob, Rendered, SubFetch, SubRequest, SubResponse};

/// The start of the Crashed message for a page whose renderer crashed (counted as a crash).
pub(super) const RENDERER_CRASHED: &str = "the page's renderer crashed";
/// Longest wait for a browser-level command (context, target, attach).
const CALL: Duration = Duration::from_secs(10);
/// Network idle: no request in flight and none started for this long.
const IDLE: Duration = Duration::from_millis(500);
/// How often `wait_for`'s selector is looked for.
const POLL: Duration = Duration::from_millis(100);
/// A snapshot slower than this means the page's script never yields (`while(true){}`).
const SNAPSHOT: Duration = Duration::from_secs(2);
const DOCTYPE: &str = "<!DOCTYPE html>";

type InFlight = FuturesUnordered<BoxFuture<'static, (String, Result<SubResponse, String>)>>;

/// Renders `job` in a new browser context on `cdp`'s browser.
pub(super) async fn render(
    cdp: &Cdp,
    job: RenderJob,
    fetch: SubFetch,
) -> Result<Rendered, RenderError> {
    let started = Instant::now();
    let context = cdp
        .call(
            None,
            "Target.createBrowserContext",
            json!({"disposeOnDetach": true}),
            CALL,
        )
        .await?;
    let context = text(&context, "browserContextId")?;
    let mut cleanup = Cleanup {
        cdp,
        context,
        session: None,
    };
    let target = cdp
        .call(
            None,
            "Target.createTarget",
            json!({"url": "about:blank", "browserContextId": cleanup.context}),
            CALL,
        )
        .await?;
    let target = text(&target, "targetId")?;
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            CALL,
        )
        .await?;
    let session = text(&attached, "sessionId")?;
    let events = cdp.subscribe(&session);
    cleanup.session = Some(session.clone());
    for (method, params) in [
        ("Page.enable", json!({})),
        ("Inspector.enable", json!({})),
        (
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
        ),
    ] {
        cdp.call(Some(&session), method, params, CALL).await?;
    }
    let mut page = Page {
        cdp,
        session,
        target,
        deadline: started + job.timeout,
        job,
        fetch,
        document_served: false,
        loaded: false,
        last_activity: Instant::now(),
        requests: 0,
        blocked: 0,
    };
    let settled = page.settle(events).await?;
    let (html, truncated) = page.snapshot().await?;
    Ok(Rendered {
        html,
        truncated,
        settled,
        elapsed: started.elapsed(),
        requests: page.requests,
        blocked: page.blocked,
    })
}

/// Disposes of the render's context (and so its pages) however the render ends, cancellation
/// included: sent without waiting, as drop cannot await.
struct Cleanup<'a> {
    cdp: &'a Cdp,
    context: String,
    session: Option<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            self.cdp.unsubscribe(session);
        }
        let params = json!({"browserContextId": self.context});
        drop(self.cdp.send(None, "Target.disposeBrowserContext", params));
    }
}

struct Page<'a> {
    cdp: &'a Cdp,
    session: String,
    /// The target's id, which is also its main frame's.
    target: String,
    job: RenderJob,
    fetch: SubFetch,
    deadline: Instant,
    document_served: bool,
    loaded: bool,
    last_activity: Instant,
    requests: u32,
    blocked: u32,
}

impl Page<'_> {
    /// Navigates and serves requests until the page settles (true) or the deadline (false).
    async fn settle(
        &mut self,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) -> Result<bool, RenderError> {
        let url = self.job.url.to_string();
        let mut navigate = self
            .cdp
            .send(Some(&self.session), "Page.navigate", json!({"url": url}));
        let mut navigating = true;
        let mut in_flight = InFlight::new();
        let mut next_poll = Instant::now();
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Ok(false);
            }
            let mut wake = self.deadline;
            match &self.job.wait_for {
                None if self.loaded && in_flight.is_empty() => {
                    if now >= self.last_activity + IDLE {
                        return Ok(true);
                    }
                    wake = wake.min(self.last_activity + IDLE);
                }
                Some(selector) if self.document_served && !navigating => {
                    if now >= next_poll {
                        if self.selector_present(selector).await {
                            return Ok(true);
                        }
                        next_poll = Instant::now() + POLL;
                    }
                    wake = wake.min(next_poll);
                }
                _ => {}
            }
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.on_event(event, &mut in_flight)?,
                    None => return Err(self.cdp.closed_error()),
                },
                Some((id, result)) = in_flight.next(), if !in_flight.is_empty() => {
                    self.answer(&id, result);
                }
                answer = &mut navigate, if navigating => {
                    navigating = false;
                    let answer = answer.map_err(|_| self.cdp.closed_error())??;
                    if let Some(error) = answer.get("errorText").and_then(Value::as_str) {
                        if !error.is_empty() {
                            return Err(RenderError::Protocol(format!("navigation to {url} failed: {error}")));
                        }
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    fn on_event(&mut self, event: Event, in_flight: &mut InFlight) -> Result<(), RenderError> {
        let params = &event.params;
        match event.method.as_str() {
            "Fetch.requestPaused" => self.on_request(params, in_flight),
            "Page.loadEventFired" => {
                self.loaded = true;
                self.last_activity = Instant::now();
            }
            "Page.javascriptDialogOpening" => {
                self.command("Page.handleJavaScriptDialog", json!({"accept": false}));
            }
            // Popups are refused by --block-new-web-contents (and closed if one slips through).
            "Page.windowOpen" => self.blocked += 1,
            "Inspector.targetCrashed" => {
                return Err(RenderError::Crashed(format!(
                    "{RENDERER_CRASHED} on {}",
                    self.job.url
                )));
            }
            "Inspector.detached" => {
                return Err(RenderError::Crashed(format!(
                    "the page was detached ({params})"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_request(&mut self, params: &Value, in_flight: &mut InFlight) {
        let id = params["requestId"].as_str().unwrap_or_default().to_string();
        let kind = params["resourceType"].as_str().unwrap_or_default();
        let main_frame = params["frameId"].as_str() == Some(self.target.as_str());
        self.last_activity = Instant::now();
        if kind == "Document" && main_frame {
            if self.document_served {
                // The page navigating away: the snapshot stays the first page's.
                self.fail(&id, "Aborted");
            } else {
                self.document_served = true;
                let job = &self.job;
                self.fulfill(&id, job.status, &job.headers, &job.body.clone());
            }
            return;
        }
        let request = &params["request"];
        // The browser's own favicon fetch ("Other", asking for images): no script sees it.
        let favicon = kind == "Other"
            && request["headers"]["Accept"]
                .as_str()
                .is_some_and(|a| a.starts_with("image/"));
        if favicon {
            // Not counted: no page asked for it.
            let params = json!({"requestId": id, "errorReason": "BlockedByClient"});
            self.command("Fetch.failRequest", params);
            return;
        }
        if self.job.block_media && matches!(kind, "Image" | "Media" | "Font") {
            self.fail(&id, "BlockedByClient");
            return;
        }
        let Some(url) = request["url"].as_str().and_then(|u| Url::parse(u).ok()) else {
            self.fail(&id, "AccessDenied");
            return;
        };
        let headers = request["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let sub = SubRequest {
            url,
            method: request["method"].as_str().unwrap_or("GET").to_string(),
            headers,
            post_data: post_data(request),
            resource_type: kind.to_string(),
        };
        let answer = (self.fetch)(sub);
        in_flight.push(async move { (id, answer.await) }.boxed());
    }

    fn answer(&mut self, id: &str, result: Result<SubResponse, String>) {
        self.last_activity = Instant::now();
        match result {
            Ok(response) => {
                self.requests += 1;
                self.fulfill(id, response.status, &response.headers, &response.body);
            }
            Err(_) => self.fail(id, "AccessDenied"),
        }
    }

    fn fulfill(&self, id: &str, status: u16, headers: &[(String, String)], body: &Bytes) {
        // The body is already decoded and whole: its encoding and length headers no longer apply.
        let headers: Vec<Value> = headers
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "content-encoding"
                        | "content-length"
                        | "transfer-encoding"
                        | "connection"
                        | "keep-alive"
                )
            })
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        let body = base64::engine::general_purpose::STANDARD.encode(body);
        let status = if (100..=599).contains(&status) {
            status
        } else {
            200
        };
        self.command(
            "Fetch.fulfillRequest",
            json!({"requestId": id, "responseCode": status, "responseHeaders": headers, "body": body}),
        );
    }

    fn fail(&mut self, id: &str, reason: &str) {
        self.blocked += 1;
        self.command(
            "Fetch.failRequest",
            json!({"requestId": id, "errorReason": reason}),
        );
    }

    /// A command whose answer does not matter (the request may be gone already).
    fn command(&self, method: &str, params: Value) {
        drop(self.cdp.send(Some(&self.session), method, params));
    }

    async fn evaluate(&self, expression: &str) -> Result<Value, RenderError> {
        let params = json!({"expression": expression, "returnByValue": true});
        let limit = SNAPSHOT
            .min(self.deadline.saturating_duration_since(Instant::now()))
            .max(POLL);
        let limit = if expression.contains("outerHTML") {
            SNAPSHOT
        } else {
            limit
        };
        let mut answer = self
            .cdp
            .call(Some(&self.session), "Runtime.evaluate", params, limit)
            .await?;
        if let Some(details) = answer.get("exceptionDetails") {
            return Err(RenderError::Protocol(format!(
                "evaluation failed: {details}"
            )));
        }
        Ok(answer["result"]["value"].take())
    }

    async fn selector_present(&self, selector: &str) -> bool {
        let quoted = Value::from(selector).to_string();
        let expression = format!("document.querySelector({quoted}) !== null");
        // A bad selector throws: never present, the render waits for its timeout.
        matches!(self.evaluate(&expression).await, Ok(Value::Bool(true)))
    }

    /// The document's HTML, cut in the browser (a huge DOM never crosses the pipe whole) and
    /// again to `max_body` bytes here.
    async fn snapshot(&self) -> Result<(String, bool), RenderError> {
        let max = usize::try_from(self.job.max_body).unwrap_or(usize::MAX);
        let chars = max.min(1 << 40);
        // Never end on half a surrogate pair: it would not survive JSON.
        let expression = format!(
            "(() => {{ const e = document.documentElement; const h = e ? e.outerHTML : ''; \
             let s = h.slice(0, {chars}); const c = s.charCodeAt(s.length - 1); \
             if (c >= 0xD800 && c <= 0xDBFF) s = s.slice(0, -1); \
             return [h.length > s.length, s]; }})()"
        );
        let value = self.evaluate(&expression).await.map_err(|e| match e {
            RenderError::Hung(_) => RenderError::Hung(format!(
                "the page's script did not yield for the snapshot within {SNAPSHOT:?} ({})",
                self.job.url
            )),
            other => other,
        })?;
        let cut_in_browser = value[0].as_bool().unwrap_or(false);
        let dom = value[1].as_str().unwrap_or_default();
        let mut html = String::with_capacity(DOCTYPE.len() + dom.len());
        html.push_str(DOCTYPE);
        html.push_str(dom);
        let mut cut = false;
        if html.len() > max {
            let mut end = max;
            while !html.is_char_boundary(end) {
                end -= 1;
            }
            html.truncate(end);
            cut = true;
        }
        Ok((html, cut || cut_in_browser))
    }
}

/// A request's body: `postDataEntries` (base64 parts) when given, else `postData`.
fn post_data(request: &Value) -> Option<Bytes> {
    if let Some(entries) = request["postDataEntries"].as_array() {
        let mut body = Vec::new();
        for entry in entries {
            let part = entry["bytes"].as_str().unwrap_or_default();
            body.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(part)
                    .unwrap_or_default(),
            );
        }
        return Some(body.into());
    }
    request["postData"]
        .as_str()
        .map(|s| Bytes::from(s.to_string()))
}

/// A string field of a command's answer.
fn text(answer: &Value, field: &str) -> Result<String, RenderError> {
    answer[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| RenderError::Protocol(format!("no {field} in {answer}")))
}

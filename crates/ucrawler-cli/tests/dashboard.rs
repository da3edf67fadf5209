//! `ucrawler dashboard`: the page, the overview and the actions on a shared crawl in a
//! throwaway `redis-server`, CSRF, basic auth, the loopback rule, an unreachable Redis.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

#[allow(dead_code)] // not every helper is used here
#[path = "support/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;
#[path = "support/redis.rs"]
mod redis;
use redis::{free_port, Redis};

/// A running `ucrawler dashboard`, killed when dropped.
struct Dashboard {
    child: Child,
    /// host:port it serves on.
    addr: String,
}

impl Dashboard {
    /// Starts it on a free loopback port (it prints its URL first thing).
    fn start(redis_url: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ucrawler"))
            .args(["dashboard", "--redis", redis_url, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ucrawler dashboard starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = (line.trim().strip_prefix("ucrawler dashboard: http://"))
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("the dashboard prints its URL, not {line:?}"))
            .to_string();
        Self { child, addr }
    }

    fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], "")
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        self.request("POST", path, headers, body)
    }

    fn overview(&self) -> Value {
        let response = self.get("/api/overview.json");
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
        response.json()
    }

    /// The CSRF token embedded in the page.
    fn token(&self) -> String {
        let page = self.get("/").body;
        let start = page
            .find("name=\"csrf-token\" content=\"")
            .expect("token meta")
            + 27;
        page[start..start + 64].to_string()
    }

    /// One request on its own connection (HTTP/1.1, Connection: close); the body's length
    /// unless `headers` say another.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !headers.iter().any(|(name, _)| name == &"Content-Length") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        Response::parse(&raw)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Self {
            status: status.parse().unwrap(),
            headers,
            body: body.to_string(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn ucrawler(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ucrawler"))
        .args(args)
        .output()
        .expect("ucrawler runs")
}

/// Queues two URLs (never crawled: no worker runs) in the shared crawl `shop`.
fn enqueue_shop(redis: &Redis) {
    let output = ucrawler(&[
        "enqueue",
        "--redis",
        &redis.url(),
        "--name",
        "shop",
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/a",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn shop(overview: &Value) -> &Value {
    (overview["shared"].as_array().expect("shared crawls"))
        .iter()
        .find(|crawl| crawl["name"] == "shop")
        .unwrap_or_else(|| panic!("shop is listed: {overview}"))
}

#[test]
fn page_overview_and_actions() {
    let dir = TempDir::new("dashboard-actions");
    let redis = Redis::start(&dir.0, false);
    enqueue_shop(&redis);
    let dashboard = Dashboard::start(&redis.url(), &[]);

    let page = dashboard.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        !page.body.contains("{{"),
        "placeholders left: {}",
        page.body
    );
    let token = dashboard.token();
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert!(page.body.contains(&token));
    for (path, content_type) in [
        ("/assets/app.js", "application/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
    ] {
        let asset = dashboard.get(path);
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), Some(content_type));
        assert!(!asset.body.is_empty());
    }

    let overview = dashboard.overview();
    assert_eq!(overview["redis"]["reachable"], true, "{overview}");
    assert_eq!(overview["local"], serde_json::json!([]));
    assert_eq!(shop(&overview)["state"], "idle", "{overview}");
    assert_eq!(shop(&overview)["pending"], 2, "{overview}");

    // CSRF: no token, a wrong one, another origin.
    let pause = "/api/crawls/shop/pause";
    let refused = dashboard.post(pause, &[], "");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "CSRF token missing or wrong");
    let wrong = "0".repeat(64);
    assert_eq!(
        dashboard
            .post(pause, &[("X-CSRF-Token", &wrong)], "")
            .status,
        403
    );
    let elsewhere = [
        ("X-CSRF-Token", token.as_str()),
        ("Origin", "http://evil.example"),
    ];
    assert_eq!(dashboard.post(pause, &elsewhere, "").status, 403);
    assert_eq!(shop(&dashboard.overview())["state"], "idle");

    // A fetch POST (same origin) gets the JSON.
    let own_origin = format!("http://{}", dashboard.addr);
    let headers = [("X-CSRF-Token", token.as_str()), ("Origin", &own_origin)];
    let paused = dashboard.post(pause, &headers, "");
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(
        paused.json(),
        serde_json::json!({"ok": true, "crawl": "shop", "state": "paused"})
    );
    assert_eq!(shop(&dashboard.overview())["state"], "paused");

    // A form POST carries the token as a field and goes back to the page.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = format!("csrf_token={token}");
    let resumed = dashboard.post("/api/crawls/shop/resume", &form, &body);
    assert_eq!(resumed.status, 303, "{}", resumed.body);
    assert_eq!(resumed.header("location"), Some("/"));
    assert_eq!(shop(&dashboard.overview())["state"], "idle");
    assert_eq!(dashboard.post(pause, &form, "csrf_token=nope").status, 403);

    let token_header = [("X-CSRF-Token", token.as_str())];
    let requeued = dashboard.post("/api/crawls/shop/requeue_failed", &token_header, "");
    assert_eq!(requeued.status, 200, "{}", requeued.body);
    assert_eq!(requeued.json()["requeued"], 0);
    // Behind a proxy that ends TLS (same Host).
    let https = format!("https://{}", dashboard.addr);
    let proxied = [("X-CSRF-Token", token.as_str()), ("Origin", &https)];
    let requeued = dashboard.post("/api/crawls/shop/requeue_failed", &proxied, "");
    assert_eq!(requeued.status, 200, "{}", requeued.body);

    // DNS rebinding: a page of another site whose name now points at 127.0.0.1 gets nothing.
    for host in ["evil.example", "evil.example:80", "127.0.0.1.evil.example"] {
        let mut stream = TcpStream::connect(&dashboard.addr).unwrap();
        let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        assert!(raw.starts_with("HTTP/1.1 403"), "{host}: {raw}");
        assert!(!raw.contains(&token), "{host}: the token leaked");
    }
    let local = [("X-CSRF-Token", token.as_str())];
    assert_eq!(
        dashboard.request("GET", "/", &local, "").status,
        200,
        "127.0.0.1:port is loopback"
    );

    // Unknown crawl, unknown action, unknown path, GET on an action, a body too large.
    let unknown = dashboard.post("/api/crawls/nope/pause", &token_header, "");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json()["error"],
        "no crawl named \"nope\" under prefix \"ucrawler\""
    );
    let status = |path: &str| dashboard.post(path, &token_header, "").status;
    assert_eq!(status("/api/crawls/shop/explode"), 404);
    assert_eq!(status("/api/nothing"), 404);
    assert_eq!(dashboard.get("/nothing").status, 404);
    let get_action = dashboard.get(pause);
    assert_eq!(get_action.status, 405);
    assert_eq!(get_action.header("allow"), Some("POST"));
    assert_eq!(status("/api/overview.json"), 405);
    // Refused from its Content-Length, before a byte of it is read (none is sent).
    let large = [
        ("X-CSRF-Token", token.as_str()),
        ("Content-Length", "65536"),
    ];
    assert_eq!(dashboard.post(pause, &large, "").status, 413);
    assert_eq!(shop(&dashboard.overview())["state"], "idle");
}

#[test]
fn a_slow_client_does_not_hold_the_others() {
    let dir = TempDir::new("dashboard-slow");
    let redis = Redis::start(&dir.0, false);
    let dashboard = Dashboard::start(&redis.url(), &[]);
    // Half a request head, never finished, and a connection that sends nothing.
    let mut slow = TcpStream::connect(&dashboard.addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let _idle = TcpStream::connect(&dashboard.addr).unwrap();
    let started = Instant::now();
    assert_eq!(dashboard.get("/").status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn basic_auth_guards_every_route() {
    let dir = TempDir::new("dashboard-auth");
    let redis = Redis::start(&dir.0, false);
    enqueue_shop(&redis);
    let dashboard = Dashboard::start(&redis.url(), &["--user", "ops", "--password", "s3cret"]);
    let basic = |credentials: &str| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        format!("Basic {encoded}")
    };
    for path in ["/", "/assets/app.js", "/api/overview.json"] {
        for headers in [vec![], vec![("Authorization", basic("ops:wrong"))]] {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let refused = dashboard.request("GET", path, &headers, "");
            assert_eq!(refused.status, 401, "{path} {headers:?}");
            assert_eq!(
                refused.header("www-authenticate"),
                Some("Basic realm=\"ucrawler\"")
            );
        }
    }
    assert_eq!(
        dashboard.post("/api/crawls/shop/pause", &[], "").status,
        401
    );
    let right = basic("ops:s3cret");
    let auth = [("Authorization", right.as_str())];
    let page = dashboard.request("GET", "/", &auth, "");
    assert_eq!(page.status, 200);
    let overview = dashboard.request("GET", "/api/overview.json", &auth, "");
    assert_eq!(overview.status, 200);
    assert_eq!(shop(&overview.json())["pending"], 2);
}

#[test]
fn only_loopback_without_credentials() {
    let refused = ucrawler(&[
        "dashboard",
        "--redis",
        "redis://127.0.0.1:6379/0",
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--user and --password"),
        "{stderr}"
    );
    let half = ucrawler(&[
        "dashboard",
        "--redis",
        "redis://127.0.0.1:6379/0",
        "--user",
        "a",
    ]);
    assert_eq!(half.status.code(), Some(2));
}

#[test]
fn an_unreachable_redis_is_reported() {
    let nobody = format!("redis://127.0.0.1:{}/0", free_port());
    let dashboard = Dashboard::start(&nobody, &[]);
    let started = Instant::now();
    let overview = dashboard.overview();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(overview["redis"]["reachable"], false, "{overview}");
    assert!(overview["redis"]["error"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(overview["shared"], serde_json::json!([]));
    let token = dashboard.token();
    let failed = dashboard.post("/api/crawls/shop/pause", &[("X-CSRF-Token", &token)], "");
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert_eq!(failed.json()["ok"], false);
}

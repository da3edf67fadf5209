//! Renders against the real Chromium (`/usr/bin/chromium`, or `$UCRAWLER_CHROMIUM`): never
//! skipped. The browser's requests are served from a map, so no test touches the network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use url::Url;

use super::*;

const SITE: &str = "http://site.test/";

fn launch(memory: u64, recycle_after: u32) -> LaunchSettings {
    LaunchSettings {
        browser: None,
        memory,
        recycle_after,
    }
}

/// Each test its own renderer (and browser): tests must not see each other's.
fn renderer(memory: u64, recycle_after: u32) -> Renderer {
    Renderer::new(launch(memory, recycle_after))
}

fn job(body: &str) -> RenderJob {
    RenderJob {
        url: Url::parse(SITE).unwrap(),
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: Bytes::from(body.to_string()),
        timeout: Duration::from_secs(5),
        wait_for: None,
        max_body: 1 << 20,
        block_media: true,
    }
}

/// Serves `files` (path → body) and records every URL asked for.
struct Site {
    asked: Arc<Mutex<Vec<String>>>,
    /// "METHOD path resource_type body x-test-header" per request.
    log: Arc<Mutex<Vec<String>>>,
    fetch: SubFetch,
}

fn site(files: &[(&str, &str)]) -> Site {
    let files: HashMap<String, String> = files
        .iter()
        .map(|(path, body)| (format!("http://site.test{path}"), body.to_string()))
        .collect();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let log = Arc::new(Mutex::new(Vec::new()));
    let logged = log.clone();
    let fetch: SubFetch = Arc::new(move |request: SubRequest| {
        seen.lock().unwrap().push(request.url.to_string());
        let body = request.post_data.clone().unwrap_or_default();
        let header = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-test"));
        logged.lock().unwrap().push(format!(
            "{} {} {} {} {}",
            request.method,
            request.url.path(),
            request.resource_type,
            String::from_utf8_lossy(&body),
            header.map_or("-", |(_, v)| v.as_str()),
        ));
        let found = files.get(request.url.as_str()).cloned();
        async move {
            let body = found.ok_or_else(|| format!("not found: {}", request.url))?;
            let kind = if request.url.path().ends_with(".js") {
                "application/javascript"
            } else {
                "application/json"
            };
            Ok(SubResponse {
                status: 200,
                headers: vec![("Content-Type".into(), kind.into())],
                body: Bytes::from(body),
            })
        }
        .boxed()
    });
    Site { asked, log, fetch }
}

const MB: u64 = 1 << 20;

#[tokio::test]
async fn inline_script_builds_title_and_links() {
    let renderer = renderer(2048 * MB, 100);
    let page = "<html><head></head><body><div id=root></div><script>
        document.title = 'Built ' + (40 + 2);
        for (const n of [1, 2, 3]) {
          const a = document.createElement('a'); a.href = '/p' + n; a.textContent = 'p' + n;
          document.getElementById('root').appendChild(a);
        }</script></body></html>";
    let started = Instant::now();
    let rendered = renderer.render(job(page), site(&[]).fetch).await.unwrap();
    println!(
        "first render (browser start included): {:?}",
        started.elapsed()
    );
    assert!(
        rendered.html.starts_with("<!DOCTYPE html><html>"),
        "{}",
        rendered.html
    );
    assert!(
        rendered.html.contains("<title>Built 42</title>"),
        "{}",
        rendered.html
    );
    for n in 1..=3 {
        assert!(rendered
            .html
            .contains(&format!("<a href=\"/p{n}\">p{n}</a>")));
    }
    assert!(rendered.settled && !rendered.truncated);
    let again = renderer.render(job(page), site(&[]).fetch).await.unwrap();
    println!("second render: {:?}", again.elapsed);
    let stats = renderer.stats();
    println!("stats: {stats:?}");
    assert_eq!((stats.pages, stats.browser_starts), (2, 1));
    assert!(stats.rss_bytes > 0);
}

fn asked(site: &Site) -> Vec<String> {
    site.asked.lock().unwrap().clone()
}

#[tokio::test]
async fn links_added_after_a_timer_and_a_fetch_through_subfetch() {
    let renderer = renderer(2048 * MB, 100);
    let app = "function add(href) { const a = document.createElement('a'); a.href = href;
          a.textContent = href; document.body.appendChild(a); }
        setTimeout(() => add('/after-timer'), 300);
        fetch('/data.json', {method: 'POST', body: 'q=1', headers: {'X-Test': 'yes'}}).then(r => r.json()).then(d => add(d.link));";
    let site = site(&[
        ("/app.js", app),
        ("/data.json", r#"{"link": "/from-fetch"}"#),
    ]);
    let page = "<html><body><script src=\"/app.js\"></script></body></html>";
    let rendered = renderer
        .render(job(page), site.fetch.clone())
        .await
        .unwrap();
    assert!(
        rendered.html.contains("href=\"/after-timer\""),
        "{}",
        rendered.html
    );
    assert!(
        rendered.html.contains("href=\"/from-fetch\""),
        "{}",
        rendered.html
    );
    assert!(rendered.settled);
    assert_eq!(rendered.requests, 2);
    assert_eq!(
        *site.log.lock().unwrap(),
        ["GET /app.js Script  -", "POST /data.json XHR q=1 yes"]
    );

    // The same page waiting for a selector instead of network idle.
    let mut waiting = job(page);
    waiting.wait_for = Some("a[href='/after-timer']".into());
    let rendered = renderer.render(waiting, site.fetch.clone()).await.unwrap();
    assert!(rendered.settled && rendered.html.contains("/after-timer"));
}

#[tokio::test]
async fn media_and_fonts_never_reach_subfetch() {
    let renderer = renderer(2048 * MB, 100);
    let site = site(&[]);
    let page = "<html><head><style>@font-face { font-family: F; src: url(/f.woff2); }
        body { font-family: F; }</style></head><body>text <img src=/a.png>
        <video src=/v.mp4 autoplay></video></body></html>";
    let rendered = renderer
        .render(job(page), site.fetch.clone())
        .await
        .unwrap();
    assert!(asked(&site).is_empty(), "{:?}", asked(&site));
    // The image, the video, the font, and the browser's favicon fetch.
    assert!(rendered.blocked >= 3, "{rendered:?}");
    assert_eq!(rendered.requests, 0);
}

#[tokio::test]
async fn navigating_away_and_popups_leave_the_first_page() {
    let renderer = renderer(2048 * MB, 100);
    let site = site(&[]);
    let page = "<html><body><p id=first>first</p><script>
        const w = window.open('/popup'); document.title = 'popup ' + (w === null);
        addEventListener('load', () => setTimeout(() => { location.href = '/away'; }, 50));
        </script></body></html>";
    let rendered = renderer
        .render(job(page), site.fetch.clone())
        .await
        .unwrap();
    assert!(
        rendered.html.contains("<p id=\"first\">first</p>"),
        "{}",
        rendered.html
    );
    assert!(
        rendered.html.contains("<title>popup true</title>"),
        "{}",
        rendered.html
    );
    assert!(rendered.blocked >= 1, "{rendered:?}");
    assert!(asked(&site).is_empty(), "{:?}", asked(&site));
    // No page left behind: only the browser's own about:blank.
    let browser = renderer.state().browser.clone().unwrap();
    let targets = browser
        .cdp()
        .call(
            None,
            "Target.getTargets",
            serde_json::json!({}),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let pages: Vec<_> = targets["targetInfos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "page" && t["url"] != "about:blank")
        .collect();
    assert!(pages.is_empty(), "{pages:?}");
}

#[tokio::test]
async fn a_page_that_never_settles_is_snapshot_at_its_timeout() {
    let renderer = renderer(2048 * MB, 100);
    let site = site(&[("/data.json", "{}")]);
    let page = "<html><body><p>busy</p><script>
        setInterval(() => fetch('/data.json'), 50);</script></body></html>";
    let mut busy = job(page);
    busy.timeout = Duration::from_secs(2);
    let rendered = renderer.render(busy, site.fetch.clone()).await.unwrap();
    assert!(!rendered.settled);
    assert!(rendered.html.contains("<p>busy</p>"));
    let elapsed = rendered.elapsed;
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(renderer.stats().timeouts, 1);
}

#[tokio::test]
async fn a_spinning_script_is_hung_and_the_next_render_works() {
    let renderer = renderer(2048 * MB, 100);
    let mut spin = job("<html><body><script>while (true) {}</script></body></html>");
    // Long enough for the script to be spinning when the time is up: with 1 s, a loaded 2-core
    // machine once had not run it yet, and the page came back unsettled instead of hung.
    spin.timeout = Duration::from_secs(3);
    let started = Instant::now();
    let error = renderer.render(spin, site(&[]).fetch).await.unwrap_err();
    println!("hung after {:?}: {error}", started.elapsed());
    assert!(matches!(error, RenderError::Hung(_)), "{error:?}");
    assert!(error.retryable());
    let rendered = renderer
        .render(job("<p>fine</p>"), site(&[]).fetch)
        .await
        .unwrap();
    assert!(rendered.html.contains("<p>fine</p>"));
}

#[tokio::test]
async fn a_memory_hog_is_stopped_and_the_next_render_works() {
    // An idle browser's tree measures ~400-500 MB here (see tree_rss); 250 MB of headroom.
    let renderer = renderer(750 * MB, 100);
    let fine = renderer
        .render(job("<p>idle</p>"), site(&[]).fetch)
        .await
        .unwrap();
    println!("idle tree: {} MB", renderer.stats().rss_bytes >> 20);
    assert!(fine.settled);
    let mut hog = job("<script>let a = []; for (;;) a.push(new Array(1e6).fill(1));</script>");
    hog.timeout = Duration::from_secs(20);
    let started = Instant::now();
    let error = renderer.render(hog, site(&[]).fetch).await.unwrap_err();
    let stats = renderer.stats();
    println!(
        "hog stopped after {:?}: {error}; {stats:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            error,
            RenderError::OverMemory { .. } | RenderError::Crashed(_)
        ),
        "{error:?}"
    );
    assert!(error.retryable());
    assert!(stats.memory_kills + stats.crashes >= 1);
    let rendered = renderer
        .render(job("<p>after</p>"), site(&[]).fetch)
        .await
        .unwrap();
    assert!(rendered.html.contains("<p>after</p>"));

    // Memory outside V8's heap (typed arrays) meets the RSS watcher instead.
    let mut buffers = job("<script>const a = []; setInterval(() => {
        const b = new Uint8Array(2e7); b.fill(1); a.push(b); }, 10);</script>");
    buffers.timeout = Duration::from_secs(20);
    // Never settles (a busy machine must not let it snapshot before the watcher sees it).
    buffers.wait_for = Some("#never".into());
    let error = renderer.render(buffers, site(&[]).fetch).await.unwrap_err();
    let stats = renderer.stats();
    println!("buffers stopped: {error}; {stats:?}");
    assert_eq!(error, RenderError::OverMemory { limit: 750 * MB });
    assert_eq!(stats.memory_kills, 1);
    let rendered = renderer
        .render(job("<p>again</p>"), site(&[]).fetch)
        .await
        .unwrap();
    assert!(rendered.html.contains("<p>again</p>"));
    assert_eq!(renderer.stats().browser_starts, 2);
}

#[tokio::test]
async fn the_snapshot_is_cut_to_max_body() {
    let renderer = renderer(2048 * MB, 100);
    let page = "<html><body><script>document.body.append('é'.repeat(5000))</script></body></html>";
    let mut small = job(page);
    small.max_body = 1001;
    let rendered = renderer.render(small, site(&[]).fetch).await.unwrap();
    assert!(rendered.truncated);
    assert!(
        rendered.html.len() <= 1001 && rendered.html.len() >= 990,
        "{}",
        rendered.html.len()
    );
    assert!(rendered.html.ends_with('é'));
    let whole = renderer.render(job(page), site(&[]).fetch).await.unwrap();
    assert!(!whole.truncated && whole.html.len() > 10_000);
}

#[tokio::test]
async fn the_browser_is_recycled_after_its_pages() {
    let renderer = renderer(2048 * MB, 2);
    for n in 0..3 {
        let page = format!("<p>page {n}</p>");
        let rendered = renderer.render(job(&page), site(&[]).fetch).await.unwrap();
        assert!(rendered.html.contains(&page));
    }
    let stats = renderer.stats();
    assert_eq!((stats.pages, stats.browser_starts), (3, 2));
}

#[tokio::test]
async fn a_missing_browser_says_how_to_get_one() {
    let renderer = Renderer::new(LaunchSettings {
        browser: Some("/nonexistent/chromium".into()),
        memory: 2048 * MB,
        recycle_after: 100,
    });
    let error = renderer
        .render(job("<p>x</p>"), site(&[]).fetch)
        .await
        .unwrap_err();
    assert_eq!(error, RenderError::NoBrowser);
    let message = error.to_string();
    assert!(message.contains("`chromium` package") && message.contains("UCRAWLER_CHROMIUM"));
    assert!(!error.retryable());
}

#[test]
fn the_renderer_is_shared_per_launch_settings() {
    let a = Renderer::shared(&launch(1000, 7));
    assert!(Arc::ptr_eq(&a, &Renderer::shared(&launch(1000, 7))));
    assert!(!Arc::ptr_eq(&a, &Renderer::shared(&launch(1000, 8))));
    assert_eq!(a.stats().browser_starts, 0);
}

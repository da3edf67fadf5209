//! Renders against the real Chromium (`/usr/bin/chromium`, or `$UCRAWLER_CHROMIUM`): never
//! skipped. The browser's requests are served from a map, so no test touches the network.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
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
    fetch: SubFetch,
}

fn site(files: &[(&str, &str)]) -> Site {
    let files: HashMap<String, String> = files
        .iter()
        .map(|(path, body)| (format!("http://site.test{path}"), body.to_string()))
        .collect();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let fetch: SubFetch = Arc::new(move |request: SubRequest| {
        seen.lock().unwrap().push(request.url.to_string());
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
    Site { asked, fetch }
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

//! Measures page generation and `expected_urls` on a 200k-page site:
//! `cargo run --release -p ucrawler-testsite --example render_bench`

use std::time::Instant;

use ucrawler_testsite::{Site, SiteConfig};

const BASE: &str = "http://127.0.0.1:18089";

fn main() {
    let site = Site::new(SiteConfig {
        pages: 200_000,
        ..SiteConfig::default()
    });
    let sample = 20_000;
    let (mut bytes, mut min, mut max) = (0, usize::MAX, 0);
    let start = Instant::now();
    for i in 0..sample {
        let len = site
            .render(BASE, &Site::page_path(i * 10))
            .expect("page exists")
            .body
            .len();
        bytes += len;
        min = min.min(len);
        max = max.max(len);
    }
    let elapsed = start.elapsed();
    println!(
        "render: {:?}/page, {:.0} MB/s, size avg {} min {min} max {max} bytes",
        elapsed / sample as u32,
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        bytes / sample,
    );
    for depth in [Some(2), None] {
        let start = Instant::now();
        let n = site.expected_urls(BASE, depth).len();
        println!(
            "expected_urls({depth:?}): {n} urls in {:?}",
            start.elapsed()
        );
    }
}

//! Parsing and extraction of realistic pages (the test site's generator: 30–80 KB of HTML5,
//! 50–110 links), through the public API the parser pool uses: `charset::decode` then
//! `parse::Extractor::extract` (scraper DOM + selectors + link resolution). `html5ever_dom`
//! isolates the DOM build (scraper's `Html::parse_document`) from the selection work.
//! Run: `cargo bench -p ucrawler --bench parse`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use ucrawler::parse::charset::decode;
use ucrawler::parse::Extractor;
use ucrawler::{Config, ExtractRule};
use ucrawler_testsite::{Site, SiteConfig};
use url::Url;

const BASE: &str = "http://127.0.0.1:8080";

/// Pages 1..=32 of a 20k-page site: a mix of sizes, like a crawl sees.
fn pages() -> Vec<(Url, String)> {
    let site = Site::new(SiteConfig {
        pages: 20_000,
        ..SiteConfig::default()
    });
    (1..=32)
        .map(|id| {
            let url = Url::parse(&format!("{BASE}{}", Site::page_path(id))).unwrap();
            (url, site.page_html(BASE, id).unwrap())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pages = pages();
    let bytes: usize = pages.iter().map(|(_, html)| html.len()).sum();
    let mut group = c.benchmark_group("parse");
    // One iteration = the 32 pages; throughput in bytes of HTML.
    group.throughput(Throughput::Bytes(bytes as u64));

    let extractor = Extractor::new(&Config::default()).unwrap();
    group.bench_function("extract_default_32_pages", |b| {
        b.iter(|| {
            for (url, html) in &pages {
                black_box(extractor.extract(black_box(html), url));
            }
        })
    });

    let with_rules = Config::builder()
        .extract("price", ExtractRule::text(".price"))
        .extract("hero", ExtractRule::attr("img.hero", "src"))
        .build()
        .unwrap();
    let extractor_rules = Extractor::new(&with_rules).unwrap();
    group.bench_function("extract_2_rules_32_pages", |b| {
        b.iter(|| {
            for (url, html) in &pages {
                black_box(extractor_rules.extract(black_box(html), url));
            }
        })
    });

    group.bench_function("html5ever_dom_32_pages", |b| {
        b.iter(|| {
            for (_, html) in &pages {
                black_box(scraper::Html::parse_document(black_box(html)));
            }
        })
    });

    let bodies: Vec<Vec<u8>> = pages.iter().map(|(_, h)| h.clone().into_bytes()).collect();
    group.bench_function("decode_utf8_32_pages", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(decode(black_box(body), Some("text/html; charset=utf-8")));
            }
        })
    });

    // Decode + extract, the whole per-page parser-thread work, with the body moved in as the
    // engine does (so the String allocation is part of it).
    group.bench_function("decode_and_extract_32_pages", |b| {
        b.iter_batched(
            || bodies.clone(),
            |bodies| {
                for (body, (url, _)) in bodies.iter().zip(&pages) {
                    let text = decode(body, Some("text/html; charset=utf-8"));
                    black_box(extractor.extract(&text, url));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! URL work per discovered link: resolve (join + normalize), normalize alone, the dedup
//! fingerprint, the same-host key and a seed parse, on the hrefs of real test-site pages
//! (root-relative, `../`, `./`, absolute, protocol-relative, fragments, padding, external).
//! Run: `cargo bench -p ucrawler --bench url`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use ucrawler::url::{fingerprint, host_key, normalize, parse_request_url, resolve};
use ucrawler_testsite::{Site, SiteConfig};
use url::Url;

const BASE: &str = "http://127.0.0.1:8080";

/// (page URL, every `href` value on it) for pages 0..16 of a 20k-page site.
fn hrefs() -> Vec<(Url, Vec<String>)> {
    let site = Site::new(SiteConfig {
        pages: 20_000,
        ..SiteConfig::default()
    });
    (0..16)
        .map(|id| {
            let html = site.page_html(BASE, id).unwrap();
            let hrefs = html
                .split("href=\"")
                .skip(1)
                .filter_map(|rest| rest.split_once('"').map(|(href, _)| href.to_string()))
                .collect();
            (
                Url::parse(&format!("{BASE}{}", Site::page_path(id))).unwrap(),
                hrefs,
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pages = hrefs();
    let count: usize = pages.iter().map(|(_, h)| h.len()).sum();
    let resolved: Vec<Url> = pages
        .iter()
        .flat_map(|(base, hrefs)| hrefs.iter().filter_map(|h| resolve(base, h)))
        .collect();
    let strings: Vec<String> = resolved.iter().map(|u| u.to_string()).collect();

    let mut group = c.benchmark_group("url");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("resolve_hrefs", |b| {
        b.iter(|| {
            for (base, hrefs) in &pages {
                for href in hrefs {
                    black_box(resolve(base, black_box(href)));
                }
            }
        })
    });

    group.throughput(Throughput::Elements(resolved.len() as u64));
    group.bench_function("parse_and_normalize", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(normalize(Url::parse(black_box(s)).unwrap()));
            }
        })
    });
    group.bench_function("fingerprint", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(fingerprint(black_box(s)));
            }
        })
    });
    group.bench_function("host_key", |b| {
        b.iter(|| {
            for url in &resolved {
                black_box(host_key(black_box(url)));
            }
        })
    });
    group.bench_function("parse_request_url", |b| {
        b.iter(|| {
            for s in &strings {
                black_box(parse_request_url(black_box(s)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The scheduler's admission path on a crawl of many hosts: the per-host frontier choosing the
//! next host that may start (most requests waiting first) through the host gate, with 256
//! requests in flight at per-host 2 — hosts keep going busy and free again, as on a real crawl.
//! A regression guard for issue #17: admission must not grow with the number of hosts queued.
//! Run: `cargo bench -p ucrawler --bench admission`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ucrawler::bench_support::Admission;

const PAGES_PER_HOST: usize = 4;
const ADMITTED: u64 = 10_000;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("admission");
    group.throughput(Throughput::Elements(ADMITTED));
    group.sample_size(20);
    for hosts in [100, 10_000] {
        group.bench_function(format!("{hosts} hosts, {ADMITTED} admissions"), |b| {
            b.iter_batched(
                || Admission::new(hosts, PAGES_PER_HOST.max(ADMITTED as usize / hosts), 2, 256),
                |mut admission| {
                    for _ in 0..ADMITTED {
                        assert!(admission.admit());
                    }
                    admission
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

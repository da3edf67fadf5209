//! A resume's read of `enqueued.log` and `done.log` (torn, truncated or garbage files): first
//! byte × 8 bytes of done.log, the rest enqueued.log.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucrawler::fuzz_support::{encode_item, journal_replay};
use ucrawler::url::fingerprint;

fuzz_target!(|data: &[u8]| {
    let Some((&done_records, rest)) = data.split_first() else {
        return;
    };
    let (done, enqueued) = rest.split_at((usize::from(done_records) * 8).min(rest.len()));
    let requests = journal_replay(enqueued, done);
    let mut framed = 0;
    for (request, was_done) in &requests {
        framed += 4 + encode_item(request).len();
        let fp = fingerprint(&request.url).to_le_bytes();
        assert_eq!(*was_done, done.chunks_exact(8).any(|record| record == fp));
    }
    assert!(
        framed <= enqueued.len(),
        "{} requests from {} bytes",
        requests.len(),
        enqueued.len()
    );
});

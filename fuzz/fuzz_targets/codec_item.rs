//! A request's binary form (journal, spill, Redis items) and a Redis lease member
//! (`"<id>:<item>"`): garbage is an error, never a panic, and what decodes re-encodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucrawler::fuzz_support::{decode_item, encode_item, redis_lease_member};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_item(data) {
        let item = encode_item(&request);
        assert!(item.len() <= data.len(), "encoding is the shortest form");
        assert_eq!(decode_item(&item).as_ref(), Ok(&request));
    }
    if let Ok((id, request)) = redis_lease_member(data.to_vec()) {
        let sep = data
            .iter()
            .position(|&b| b == b':')
            .expect("a member has an id");
        assert_eq!(
            std::str::from_utf8(&data[..sep])
                .ok()
                .and_then(|s| s.parse().ok()),
            Some(id)
        );
        assert_eq!(decode_item(&data[sep + 1..]).as_ref(), Ok(&request));
    }
});

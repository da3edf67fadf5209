//! Sizes and durations as users write them (config files, CLI flags, Ruby keywords).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucrawler::units::{format_size, parse_duration, parse_size};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = parse_size(text) {
        let _ = format_size(bytes);
    }
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let _ = parse_duration(text);
        return;
    }
    // A plain byte count means exactly that many bytes.
    if let Ok(exact) = digits.parse::<u64>() {
        assert_eq!(parse_size(text), Ok(exact), "{text:?}");
    }
    // Whole seconds are exact.
    if let Ok(secs) = digits.parse::<u32>() {
        assert_eq!(
            parse_duration(text).map(|d| d.as_secs()),
            Ok(u64::from(secs))
        );
    }
});

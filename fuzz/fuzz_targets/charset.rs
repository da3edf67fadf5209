//! Charset sniffing and decoding: first line the Content-Type header value, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucrawler::parse::charset::decode;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (std::str::from_utf8(&data[..end]).ok(), &data[end + 1..]),
        None => (None, data),
    };
    let text = decode(body, content_type);
    // A UTF-8 byte order mark wins over any declaration.
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        assert_eq!(text, String::from_utf8_lossy(rest));
    }
});

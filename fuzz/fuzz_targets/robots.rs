//! robots.txt: any body, as the engine turns it into rules (kept thin: the rules' semantics
//! are tested in the crate; this looks for panics, hangs and memory blow-ups).
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let mut urls: Vec<Url> = ["/", "/private/x", "/a.gif", "/robots.txt"]
        .iter()
        .filter_map(|path| Url::parse(&format!("http://example.com{path}")).ok())
        .collect();
    // The file's own rule values as paths, so the matcher meets its patterns.
    for line in data.split(|&b| b == b'\n').take(16) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        if let Ok(url) = Url::parse(&format!("http://example.com/{}", value.trim())) {
            urls.push(url);
        }
    }
    let _ = ucrawler::fuzz_support::robots("ucrawler", data, &urls);
});

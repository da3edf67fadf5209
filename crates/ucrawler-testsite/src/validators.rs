//! The validators of the site's pages and the conditional requests they answer (RFC 9110
//! §13): `If-None-Match` (weak comparison, `*`, lists) and, only without it,
//! `If-Modified-Since`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH};

/// `Last-Modified` of version 0: 2024-01-01T00:00:00Z.
pub const EPOCH_SECS: u64 = 1_704_067_200;
/// Each generation is one day after the previous one.
pub const GENERATION_SECS: u64 = 86_400;

/// The strong `ETag` of a body: a 64-bit hash of its bytes, in hex, quoted.
pub fn etag(body: &[u8]) -> String {
    format!("\"{:016x}\"", hash(body))
}

/// The `Last-Modified` of a page version: [`EPOCH_SECS`] + `version` days.
pub fn last_modified(version: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EPOCH_SECS + u64::from(version) * GENERATION_SECS)
}

/// Whether a GET or HEAD with these headers gets `304 Not Modified`.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    let mut none_match = headers.get_all(IF_NONE_MATCH).iter().peekable();
    if none_match.peek().is_some() {
        return none_match.any(|value| value.to_str().is_ok_and(|v| matches_any(v, etag)));
    }
    // Ignored unless it is exactly one valid HTTP-date.
    let mut since = headers.get_all(IF_MODIFIED_SINCE).iter();
    match (since.next(), since.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|s| httpdate::parse_http_date(s).ok())
            .is_some_and(|since| modified <= since),
        _ => false,
    }
}

/// `If-None-Match: *` or a list with a tag weakly equal to `etag` (`W/` prefixes ignored).
fn matches_any(list: &str, etag: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let ours = etag.strip_prefix("W/").unwrap_or(etag);
    entity_tags(list).any(|tag| tag == ours)
}

/// The opaque tags (quotes included, `W/` dropped) of a list of entity-tags; stops at the
/// first malformed one. A comma may appear inside quotes, so this scans instead of splitting.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let end = tag.strip_prefix('"')?.find('"')? + 2;
        let (opaque, after) = tag.split_at(end);
        rest = after;
        Some(opaque)
    })
}

/// A fast 64-bit hash, eight bytes at a time (a page is hashed on every request).
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64 ^ 0x5851_F42D_4C95_7F2D;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    // Final avalanche (splitmix64's).
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const TAG: &str = "\"0123456789abcdef\"";

    #[test]
    fn etags_and_dates() {
        assert_eq!(etag(b"abc"), etag(b"abc"));
        assert_ne!(etag(b"abc"), etag(b"abd"));
        assert_ne!(etag(b""), etag(b"\0"));
        assert_eq!(etag(b"x").len(), 18);
        let lm = httpdate::fmt_http_date(last_modified(2));
        assert_eq!(lm, "Wed, 03 Jan 2024 00:00:00 GMT");
    }

    #[test]
    fn if_none_match() {
        let lm = last_modified(0);
        let hit = |value| not_modified(&headers(&[("if-none-match", value)]), TAG, lm);
        assert!(hit("\"0123456789abcdef\""));
        assert!(hit("W/\"0123456789abcdef\""));
        assert!(hit("\"a,b\", \"x\" ,W/\"0123456789abcdef\""));
        assert!(hit(" * "));
        assert!(!hit("\"0123456789abcdee\""));
        assert!(!hit("0123456789abcdef"));
        assert!(!hit("\"unterminated"));
        assert!(!hit(""));
        let two = headers(&[("if-none-match", "\"x\""), ("if-none-match", TAG)]);
        assert!(not_modified(&two, TAG, lm));
    }

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        let lm = last_modified(1); // Tue, 02 Jan 2024
        let since = |value| not_modified(&headers(&[("if-modified-since", value)]), TAG, lm);
        assert!(since("Tue, 02 Jan 2024 00:00:00 GMT"));
        assert!(since("Wed, 03 Jan 2024 00:00:00 GMT"));
        assert!(!since("Mon, 01 Jan 2024 23:59:59 GMT"));
        assert!(!since("yesterday"));
        let both = headers(&[
            ("if-none-match", "\"other\""),
            ("if-modified-since", "Wed, 03 Jan 2024 00:00:00 GMT"),
        ]);
        assert!(!not_modified(&both, TAG, lm), "If-None-Match wins");
        let twice = headers(&[
            ("if-modified-since", "Wed, 03 Jan 2024 00:00:00 GMT"),
            ("if-modified-since", "Wed, 03 Jan 2024 00:00:00 GMT"),
        ]);
        assert!(!not_modified(&twice, TAG, lm));
    }
}

//! Turning body bytes into text. Order (WHATWG "encoding sniffing", simplified): a byte order
//! mark, then the Content-Type `charset`, then a `<meta charset>` or `http-equiv` declaration in
//! the first 1024 bytes, else UTF-8. Undecodable bytes become U+FFFD: decoding never fails a page.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// Decodes `body` to UTF-8 text, choosing the encoding as described in the module docs.
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = Encoding::for_bom(body)
        .map(|(encoding, _)| encoding)
        .or_else(|| {
            content_type
                .and_then(charset_param)
                .and_then(label_to_encoding)
        })
        .or_else(|| meta_charset(body).and_then(label_to_encoding))
        .unwrap_or(UTF_8);
    // `decode` removes a BOM and lets it override, as browsers do.
    // Valid UTF-8 (most of the web) is borrowed, not copied.
    let (text, _, _) = encoding.decode(body);
    text
}

fn label_to_encoding(label: &[u8]) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label)?;
    // A document that says it is UTF-16 in ASCII cannot be UTF-16 (WHATWG rule).
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Some(UTF_8)
    } else {
        Some(encoding)
    }
}

/// The `charset` parameter of a Content-Type header value.
fn charset_param(content_type: &str) -> Option<&[u8]> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// A charset declared by a `<meta>` tag in the first 1024 bytes.
fn meta_charset(body: &[u8]) -> Option<&[u8]> {
    let head = &body[..body.len().min(1024)];
    let mut rest = head;
    while let Some(start) = find_ascii_ci(rest, b"<meta") {
        let tag = &rest[start..];
        let end = tag.iter().position(|&b| b == b'>').unwrap_or(tag.len());
        let tag = &tag[..end];
        if let Some(pos) = find_ascii_ci(tag, b"charset") {
            let value = &tag[pos + b"charset".len()..];
            let value = trim_start(value);
            if let Some(value) = value.strip_prefix(b"=") {
                let value = trim_start(value);
                let value = value
                    .strip_prefix(b"\"")
                    .or_else(|| value.strip_prefix(b"'"))
                    .unwrap_or(value);
                let len = value
                    .iter()
                    .position(|b| {
                        !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
                    })
                    .unwrap_or(value.len());
                if len > 0 {
                    return Some(&value[..len]);
                }
            }
        }
        rest = &rest[start + end.max(1)..];
    }
    None
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Привет");
        assert_eq!(
            decode(&bytes, Some("text/html; charset=windows-1251")),
            "Привет"
        );
        assert_eq!(
            decode(&bytes, Some("text/html; Charset=\"CP1251\"")),
            "Привет"
        );
    }

    #[test]
    fn meta_charset_forms() {
        let (body, _, _) = encoding_rs::SHIFT_JIS
            .encode("<html><head><meta charset=\"shift_jis\"><title>こんにちは</title>");
        assert!(decode(&body, Some("text/html")).contains("こんにちは"));
        let (body, _, _) = encoding_rs::WINDOWS_1252.encode(
            "<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=ISO-8859-1'><title>Café</title>",
        );
        assert!(decode(&body, None).contains("Café"));
    }

    #[test]
    fn bom_wins_and_garbage_is_replaced() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("é".as_bytes());
        assert_eq!(decode(&body, Some("text/html; charset=iso-8859-1")), "é");
        assert_eq!(decode(&[b'a', 0xFF, b'b'], None), "a\u{FFFD}b");
    }

    #[test]
    fn utf16_label_in_ascii_means_utf8() {
        assert_eq!(
            decode("<meta charset=utf-16>é".as_bytes(), None),
            "<meta charset=utf-16>é"
        );
    }

    #[test]
    fn meta_after_1024_bytes_is_ignored() {
        let mut body = " ".repeat(1100).into_bytes();
        body.extend_from_slice(b"<meta charset=windows-1251>\xcf");
        assert!(decode(&body, None).ends_with('\u{FFFD}'));
    }
}

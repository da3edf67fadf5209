//! Hostile endpoints under `/hostile/`. None is linked from the normal site; tests use them
//! as seeds. Keys (`{key}`) are any non-empty string; their counters live as long as the
//! server.
//!
//! | Path | Behaviour | What a correct crawler does |
//! |------|-----------|-----------------------------|
//! | `/hostile/slow-drip` | `200 text/html`, headers at once, then 1 byte per second forever (chunked) | gives up on an idle-read / total timeout, does not hang |
//! | `/hostile/endless` | `200 text/html`, chunked, `<p>aaaa…</p>` streamed forever at full speed | stops at its body size limit (or timeout) |
//! | `/hostile/gzip-bomb` | `200 text/html`, `content-encoding: gzip`, ~10 MB on the wire decompressing to [`GZIP_BOMB_SIZE`] (10 GiB) of spaces, one gzip member | limits the *decompressed* size, memory stays flat |
//! | `/hostile/gzip-bomb-small` | same, decompressing to [`GZIP_BOMB_SMALL_SIZE`] (20 MiB) | same, quicker to test |
//! | `/hostile/redirect-loop` | `302` → `/hostile/redirect-loop-b` → `302` → `/hostile/redirect-loop` | detects the loop / hits its redirect limit |
//! | `/hostile/redirect-chain/{n}` | `302` → `/hostile/redirect-chain/{n-1}`; `/hostile/redirect-chain/0` is a `200` page | follows up to its redirect limit, fails beyond |
//! | `/hostile/retry-after/{key}` | first request per key: `429` with `Retry-After: 2`; later: `200` | waits ≥ 2 s, retries, gets the page |
//! | `/hostile/retry-after-date/{key}` | same, `Retry-After` an HTTP-date 2–3 s in the future | same |
//! | `/hostile/flaky/{key}` | `503` for the first two requests per key, then `200` | retries with backoff, gets the page on the 3rd try |
//! | `/hostile/reset` | `200` with `content-length: 100000`, sends [`RESET_SENT_BYTES`] bytes, then drops the connection | reports a transport error (not a truncated page) |
//! | `/hostile/charset/windows-1251` | `content-type: text/html` (no charset), `<meta charset="windows-1251">`, body in windows-1251, title [`CHARSET_TITLE_WINDOWS_1251`] | decodes via the meta charset |
//! | `/hostile/charset/shift_jis` | same via `<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">`, title [`CHARSET_TITLE_SHIFT_JIS`] | same |
//! | `/hostile/charset/iso-8859-1` | same via `<meta charset="iso-8859-1">`, title [`CHARSET_TITLE_ISO_8859_1`] | same |
//! | `/hostile/charset/target` | small `200` page, linked from the three charset pages | is found as a link |
//! | `/hostile/malformed` | broken HTML (unclosed tags, bytes `FF FE 00`, stray `</html>`, unquoted attributes), `<title>Malformed</title>`, links to `/hostile/malformed-a` and `/hostile/malformed-b` (small `200` pages) | parses leniently, finds title and both links |
//! | `/hostile/many-links` | one page with [`MANY_LINKS`] distinct links `/hostile/many-links/{i}` (small `200` pages) | stays within its memory / per-page link limits |
//! | `/hostile/huge` | `200 text/html`, ~[`HUGE_SIZE`] bytes (50 MiB) with `content-length`, streamed | stops at its body size limit |
//! | `/hostile/metadata-redirect` | `302` → `http://169.254.169.254/latest/meta-data/` | with the address guard on, refuses to follow |
//! | `/hostile/binary` | `200 video/mp4`, `content-length` [`BINARY_SIZE`] (1 GiB) of zero bytes | stops after the headers (not HTML) |
//! | `/hostile/robots-test/allowed.html`, `/hostile/robots-test/disallowed.html` | small `200` pages | fetched or not according to a custom `robots_txt` |
//! | `/hostile/head/{kib}` | a small `200` page whose response head carries a `x-filler` header of `kib` KiB (1–256) | takes it while the head fits its read buffer, refuses it past that (a `protocol` error) |
//! | `/hostile/status/{code}` | that status (200–599) with a small HTML body (empty for 204/304) | reports the status |

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderName, CONTENT_ENCODING, RETRY_AFTER};
use hyper::Response;

use crate::body::Body;
use crate::bomb::GzipBomb;
use crate::links::push_num;
use crate::reply::{html, page_text, redirect, response, small_page, with_header, HTML};
use crate::site::parse_number;

/// Decoded `<title>` of `/hostile/charset/windows-1251`.
pub const CHARSET_TITLE_WINDOWS_1251: &str = "Привет мир";
/// Decoded `<title>` of `/hostile/charset/shift_jis`.
pub const CHARSET_TITLE_SHIFT_JIS: &str = "こんにちは世界";
/// Decoded `<title>` of `/hostile/charset/iso-8859-1`.
pub const CHARSET_TITLE_ISO_8859_1: &str = "Café crème";
/// Number of links on `/hostile/many-links`.
pub const MANY_LINKS: usize = 100_000;
/// Decompressed size of `/hostile/gzip-bomb` (10 GiB).
pub const GZIP_BOMB_SIZE: u64 = BOMB_CHUNK as u64 * 640;
/// Decompressed size of `/hostile/gzip-bomb-small` (20 MiB).
pub const GZIP_BOMB_SMALL_SIZE: u64 = 20 << 20;
/// Approximate size of `/hostile/huge` (50 MiB; the exact size is in `content-length`).
pub const HUGE_SIZE: u64 = 50 << 20;
/// `content-length` of `/hostile/binary` (1 GiB).
pub const BINARY_SIZE: u64 = 1 << 30;
/// `content-length` announced by `/hostile/reset`.
pub const RESET_DECLARED_BYTES: u64 = 100_000;
/// Bytes of body `/hostile/reset` sends before dropping the connection.
pub const RESET_SENT_BYTES: usize = 10_000;
/// Where `/hostile/metadata-redirect` points.
pub const METADATA_URL: &str = "http://169.254.169.254/latest/meta-data/";
/// `Retry-After` seconds of `/hostile/retry-after/{key}`.
pub const RETRY_AFTER_SECS: u64 = 2;
/// Number of `503`s `/hostile/flaky/{key}` returns before a `200`.
pub const FLAKY_FAILURES: u32 = 2;

const BOMB_CHUNK: usize = 16 << 20;
const STREAM_CHUNK: usize = 64 * 1024;
/// Distinct keys remembered before the counters are reset (keeps memory bounded).
const MAX_KEYS: usize = 100_000;

/// Per-server state of the stateful endpoints.
#[derive(Debug, Default)]
pub(crate) struct HostileState {
    hits: Mutex<HashMap<String, u32>>,
}

impl HostileState {
    /// Number of earlier requests for `(kind, key)`; counts this one.
    fn hit(&self, kind: &str, key: &str) -> u32 {
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        if hits.len() >= MAX_KEYS {
            hits.clear();
        }
        let count = hits.entry(format!("{kind}/{key}")).or_insert(0);
        *count += 1;
        *count - 1
    }
}

/// The response for a `/hostile/...` path (query excluded), or `None` if it is not one.
pub(crate) fn respond(path: &str, state: &HostileState) -> Option<Response<Body>> {
    let rest = path.strip_prefix("/hostile/")?;
    let resp = match rest {
        "slow-drip" => response(
            200,
            HTML,
            Body::drip(b"<p>drip</p>\n", Duration::from_secs(1)),
        ),
        "endless" => response(
            200,
            HTML,
            Body::repeat(
                Some(Bytes::from_static(
                    b"<!DOCTYPE html>\n<html><head><title>Endless</title></head><body>\n",
                )),
                endless_chunk(),
                None,
                None,
            ),
        ),
        "gzip-bomb" => gzip_bomb(&GZIP_BOMB, BOMB_CHUNK, GZIP_BOMB_SIZE),
        "gzip-bomb-small" => gzip_bomb(&GZIP_BOMB_SMALL, 1 << 20, GZIP_BOMB_SMALL_SIZE),
        "redirect-loop" => redirect(302, "/hostile/redirect-loop-b"),
        "redirect-loop-b" => redirect(302, "/hostile/redirect-loop"),
        "reset" => {
            let data = Bytes::from(vec![b'a'; RESET_SENT_BYTES]);
            let mut resp = response(200, HTML, Body::broken(data, Duration::from_millis(50)));
            resp.headers_mut().insert(
                hyper::header::CONTENT_LENGTH,
                hyper::header::HeaderValue::from(RESET_DECLARED_BYTES),
            );
            resp
        }
        "charset/windows-1251" => charset_page(encoding_rs::WINDOWS_1251),
        "charset/shift_jis" => charset_page(encoding_rs::SHIFT_JIS),
        "charset/iso-8859-1" => charset_page(encoding_rs::WINDOWS_1252),
        "charset/target" => small_page(200, "Charset target"),
        "malformed" => response(200, HTML, Body::full(Bytes::from_static(MALFORMED))),
        "malformed-a" => small_page(200, "Malformed A"),
        "malformed-b" => small_page(200, "Malformed B"),
        "many-links" => html(200, many_links_page()),
        "huge" => huge(),
        "metadata-redirect" => redirect(302, METADATA_URL),
        "binary" => response(
            200,
            "video/mp4",
            Body::repeat(None, zeros(), Some(BINARY_SIZE / STREAM_CHUNK as u64), None),
        ),
        _ if rest.starts_with("head/") => {
            let kib: usize = rest["head/".len()..]
                .parse()
                .ok()
                .filter(|k| (1..=256).contains(k))?;
            let filler = "x".repeat(kib << 10);
            with_header(
                small_page(200, "Big head"),
                HeaderName::from_static("x-filler"),
                &filler,
            )
        }
        "robots-test/allowed.html" => small_page(200, "Robots allowed"),
        "robots-test/disallowed.html" => small_page(200, "Robots disallowed"),
        _ => return keyed(rest, state),
    };
    Some(resp)
}

/// Endpoints with a parameter after the last slash.
fn keyed(rest: &str, state: &HostileState) -> Option<Response<Body>> {
    let (kind, key) = rest.split_once('/')?;
    if key.is_empty() {
        return None;
    }
    let resp = match kind {
        "redirect-chain" => match parse_number(key)? {
            0 => small_page(200, "Redirect chain end"),
            n => {
                let mut location = String::from("/hostile/redirect-chain/");
                push_num(&mut location, n as u64 - 1);
                redirect(302, &location)
            }
        },
        "retry-after" => match state.hit(kind, key) {
            0 => with_header(
                small_page(429, "Too Many Requests"),
                RETRY_AFTER,
                &RETRY_AFTER_SECS.to_string(),
            ),
            _ => small_page(200, "Retry-After OK"),
        },
        "retry-after-date" => match state.hit(kind, key) {
            0 => with_header(
                small_page(429, "Too Many Requests"),
                RETRY_AFTER,
                &retry_date(),
            ),
            _ => small_page(200, "Retry-After date OK"),
        },
        "flaky" => match state.hit(kind, key) {
            n if n < FLAKY_FAILURES => small_page(503, "Service Unavailable"),
            _ => small_page(200, "Flaky OK"),
        },
        "many-links" => match parse_number(key)? {
            i if i < MANY_LINKS => small_page(200, "Many links target"),
            _ => return None,
        },
        "status" => match parse_number(key)? {
            code @ (204 | 304) => {
                let mut resp = response(code as u16, HTML, Body::empty());
                resp.headers_mut().remove(hyper::header::CONTENT_LENGTH);
                resp
            }
            code @ 200..=599 => small_page(code as u16, "Status"),
            _ => return None,
        },
        _ => return None,
    };
    Some(resp)
}

/// An HTTP-date at least [`RETRY_AFTER_SECS`] in the future (rounded up to a whole second).
fn retry_date() -> String {
    let at = SystemTime::now() + Duration::from_secs(RETRY_AFTER_SECS);
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

static GZIP_BOMB: OnceLock<Option<GzipBomb>> = OnceLock::new();
static GZIP_BOMB_SMALL: OnceLock<Option<GzipBomb>> = OnceLock::new();

fn gzip_bomb(cell: &OnceLock<Option<GzipBomb>>, chunk: usize, size: u64) -> Response<Body> {
    let bomb = cell.get_or_init(|| GzipBomb::build(chunk, size / chunk as u64).ok());
    let Some(bomb) = bomb else {
        return small_page(500, "Gzip bomb unavailable");
    };
    let body = Body::repeat(
        Some(bomb.head.clone()),
        bomb.block.clone(),
        Some(bomb.repeats),
        Some(bomb.tail.clone()),
    );
    debug_assert_eq!(body.len(), Some(bomb.len()));
    let mut resp = response(200, HTML, body);
    resp.headers_mut().insert(
        CONTENT_ENCODING,
        hyper::header::HeaderValue::from_static("gzip"),
    );
    resp
}

fn zeros() -> Bytes {
    static ZEROS: OnceLock<Bytes> = OnceLock::new();
    ZEROS
        .get_or_init(|| Bytes::from(vec![0u8; STREAM_CHUNK]))
        .clone()
}

fn endless_chunk() -> Bytes {
    static CHUNK: OnceLock<Bytes> = OnceLock::new();
    CHUNK
        .get_or_init(|| {
            let para = format!("<p>{}</p>\n", "a".repeat(1017));
            Bytes::from(para.repeat(STREAM_CHUNK / para.len()))
        })
        .clone()
}

fn huge() -> Response<Body> {
    static PARTS: OnceLock<(Bytes, Bytes, u64, Bytes)> = OnceLock::new();
    let (head, chunk, repeats, tail) = PARTS.get_or_init(|| {
        let head = Bytes::from_static(
            b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Huge</title></head><body>\n",
        );
        let tail = Bytes::from_static(
            b"<p><a href=\"/hostile/malformed-a\">end</a></p>\n</body></html>\n",
        );
        let para = "<p>This page is huge. It is streamed in chunks and never held whole in memory by the server.</p>\n";
        let chunk = Bytes::from(para.repeat(STREAM_CHUNK / para.len()));
        let repeats = (HUGE_SIZE - (head.len() + tail.len()) as u64) / chunk.len() as u64;
        (head, chunk, repeats, tail)
    });
    response(
        200,
        HTML,
        Body::repeat(
            Some(head.clone()),
            chunk.clone(),
            Some(*repeats),
            Some(tail.clone()),
        ),
    )
}

fn many_links_page() -> Bytes {
    static PAGE: OnceLock<Bytes> = OnceLock::new();
    PAGE.get_or_init(|| {
        let mut links = String::with_capacity(MANY_LINKS * 48);
        for i in 0..MANY_LINKS {
            links.push_str("<a href=\"/hostile/many-links/");
            push_num(&mut links, i as u64);
            links.push_str("\">");
            push_num(&mut links, i as u64);
            links.push_str("</a>\n");
        }
        Bytes::from(page_text("Many links", &links))
    })
    .clone()
}

/// A page in a legacy charset, declared only in a `<meta>` within the first 1024 bytes.
fn charset_page(encoding: &'static encoding_rs::Encoding) -> Response<Body> {
    let (meta, title, text) = if encoding == encoding_rs::WINDOWS_1251 {
        (
            "<meta charset=\"windows-1251\">",
            CHARSET_TITLE_WINDOWS_1251,
            "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        )
    } else if encoding == encoding_rs::SHIFT_JIS {
        (
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\">",
            CHARSET_TITLE_SHIFT_JIS,
            "いろはにほへと ちりぬるを わかよたれそ つねならむ。日本語のページです。",
        )
    } else {
        (
            "<meta charset=\"iso-8859-1\">",
            CHARSET_TITLE_ISO_8859_1,
            "Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. Ça coûte 5 €.",
        )
    };
    let mut page = String::with_capacity(1024);
    page.push_str("<!DOCTYPE html>\n<html><head>");
    page.push_str(meta);
    page.push_str("<title>");
    page.push_str(title);
    page.push_str("</title></head>\n<body><h1>");
    page.push_str(title);
    page.push_str("</h1>\n<p>");
    page.push_str(text);
    page.push_str("</p>\n<p><a href=\"/hostile/charset/target\">");
    page.push_str(title);
    page.push_str("</a></p>\n</body></html>\n");
    let (bytes, _, _) = encoding.encode(&page);
    response(200, "text/html", Body::full(bytes.into_owned()))
}

const MALFORMED: &[u8] = b"<html><head><title>Malformed</title>\n\
<meta name=description content=broken page>\n\
<body bgcolor=#fff class=a b c>\n\
<div><p>unclosed paragraph <b>bold <i>bold italic\n\
<table><tr><td>cell one<td>cell two<tr><td colspan=2>row two\n\
<p>garbage bytes: \xFF\xFE\x00 and \xC3\x28 and \x80\x81 here\n\
</html>\n\
<a href=/hostile/malformed-a class=link>first link</a>\n\
<ul><li>item <li>item <li><a href=\"/hostile/malformed-b\" title=b-link>second link</a>\n\
<div <span>> </div></div></div></span>\n\
<p>unterminated <!-- comment\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_pages_decode_with_their_meta() {
        for (encoding, title) in [
            (encoding_rs::WINDOWS_1251, CHARSET_TITLE_WINDOWS_1251),
            (encoding_rs::SHIFT_JIS, CHARSET_TITLE_SHIFT_JIS),
            (encoding_rs::WINDOWS_1252, CHARSET_TITLE_ISO_8859_1),
        ] {
            let resp = charset_page(encoding);
            assert_eq!(resp.headers()["content-type"], "text/html");
            let (encoded, _, _) = encoding.encode(title);
            let len = resp.body().len().unwrap() as usize;
            assert!(len > encoded.len());
            let (utf8_encoded, _, _) = encoding_rs::UTF_8.encode(title);
            assert_ne!(encoded, utf8_encoded);
        }
    }

    #[test]
    fn keyed_counters() {
        let state = HostileState::default();
        let codes: Vec<u16> = (0..4)
            .map(|_| {
                respond("/hostile/flaky/x", &state)
                    .unwrap()
                    .status()
                    .as_u16()
            })
            .collect();
        assert_eq!(codes, [503, 503, 200, 200]);
        assert_eq!(
            respond("/hostile/flaky/y", &state)
                .unwrap()
                .status()
                .as_u16(),
            503
        );
        let first = respond("/hostile/retry-after/k", &state).unwrap();
        assert_eq!(first.status().as_u16(), 429);
        assert_eq!(first.headers()["retry-after"], "2");
        let date = respond("/hostile/retry-after-date/k", &state).unwrap();
        let at =
            httpdate::parse_http_date(date.headers()["retry-after"].to_str().unwrap()).unwrap();
        let ahead = at.duration_since(SystemTime::now()).unwrap();
        assert!(ahead > Duration::from_millis(1900) && ahead <= Duration::from_secs(3));
        assert_eq!(
            respond("/hostile/retry-after/k", &state)
                .unwrap()
                .status()
                .as_u16(),
            200
        );
    }

    #[test]
    fn routing() {
        let state = HostileState::default();
        let status = |p: &str| respond(p, &state).map(|r| r.status().as_u16());
        assert_eq!(status("/hostile/redirect-chain/3"), Some(302));
        assert_eq!(status("/hostile/redirect-chain/0"), Some(200));
        assert_eq!(status("/hostile/redirect-chain/x"), None);
        assert_eq!(status("/hostile/status/418"), Some(418));
        assert_eq!(status("/hostile/status/204"), Some(204));
        assert_eq!(status("/hostile/status/99"), None);
        assert_eq!(status("/hostile/many-links/99999"), Some(200));
        assert_eq!(status("/hostile/many-links/100000"), None);
        assert_eq!(status("/hostile/nope"), None);
        assert_eq!(status("/page/1.html"), None);
        let huge = respond("/hostile/huge", &state).unwrap();
        let len = huge.body().len().unwrap();
        assert!(len > HUGE_SIZE - 100_000 && len <= HUGE_SIZE);
        let binary = respond("/hostile/binary", &state).unwrap();
        assert_eq!(binary.body().len(), Some(BINARY_SIZE));
        let page = many_links_page();
        let needle = b"href=\"/hostile/many-links/";
        assert_eq!(
            page.windows(needle.len()).filter(|w| w == needle).count(),
            MANY_LINKS
        );
        assert!(MALFORMED.windows(3).any(|w| w == b"\xFF\xFE\x00"));
    }
}

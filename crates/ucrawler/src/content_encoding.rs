//! `Content-Encoding`, decoded by us rather than by the HTTP client: reqwest (tower-http) decodes
//! only a single, exactly spelled encoding, so `gzip, gzip`, `GZIP`, `x-gzip`, two
//! `Content-Encoding` headers or a raw-deflate body reached the parser still compressed, as a
//! page without title or links and no error. Here every listed encoding is undone, last applied
//! first, or the page fails with `decode` naming the encoding.
//!
//! We ask for `gzip, deflate` only: their decoders hold a fixed 32 KiB window. Brotli and zstd
//! windows reach 16 MiB and more per page, outside `max_memory`, so a server sending them
//! unasked gets a `decode` error, not our memory.

use std::io;
use std::pin::Pin;

use async_compression::tokio::bufread::{DeflateDecoder, GzipDecoder, ZlibDecoder};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::header::{HeaderMap, CONTENT_ENCODING};
use reqwest::Response;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::error::CrawlError;

/// What we send as `Accept-Encoding` (unless the user's `headers` set one).
pub const ACCEPT_ENCODING: &str = "gzip, deflate";

/// More stacked encodings than this is not a real server.
const MAX_LAYERS: usize = 3;

/// Decoded bytes, read in pieces of at most this size.
const CHUNK: usize = 16 * 1024;

/// A response body as decoded bytes.
pub(crate) type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, CrawlError>> + Send>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    /// HTTP's `deflate` is zlib-wrapped, but servers send raw deflate too: told apart by the
    /// first two bytes, as browsers do.
    Deflate,
}

/// The encodings `headers` list, in the order they were applied.
fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, CrawlError> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let value = String::from_utf8_lossy(value.as_bytes());
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let coding = match token.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                other => {
                    return Err(CrawlError::Decode(format!(
                        "Content-Encoding {other:?} is not supported (we accept {ACCEPT_ENCODING})"
                    )))
                }
            };
            codings.push(coding);
        }
    }
    if codings.len() > MAX_LAYERS {
        return Err(CrawlError::Decode(format!(
            "{} stacked Content-Encodings (at most {MAX_LAYERS})",
            codings.len()
        )));
    }
    Ok(codings)
}

/// The body of `response`, decoded. Transport failures come out as `from_reqwest` maps them
/// (so they are retried like any), bad compressed data as `decode`.
pub(crate) async fn decoded_body(response: Response) -> Result<BodyStream, CrawlError> {
    let codings = codings(response.headers())?;
    if codings.is_empty() {
        let stream = response
            .bytes_stream()
            .map_err(|e| CrawlError::from_reqwest(&e));
        return Ok(Box::pin(stream));
    }
    let raw = response.bytes_stream().map_err(io::Error::other);
    let mut reader: Pin<Box<dyn AsyncBufRead + Send>> = Box::pin(StreamReader::new(raw));
    if reader
        .as_mut()
        .fill_buf()
        .await
        .map_err(io_error)?
        .is_empty()
    {
        // No body (a 204, a HEAD-like reply) is no body in any encoding.
        return Ok(Box::pin(futures::stream::empty()));
    }
    for coding in codings.into_iter().rev() {
        reader = match coding {
            Coding::Gzip => {
                let mut decoder = GzipDecoder::new(reader);
                decoder.multiple_members(true);
                Box::pin(BufReader::with_capacity(CHUNK, decoder))
            }
            Coding::Deflate => {
                if is_zlib(reader.as_mut().fill_buf().await.map_err(io_error)?) {
                    Box::pin(BufReader::with_capacity(CHUNK, ZlibDecoder::new(reader)))
                } else {
                    Box::pin(BufReader::with_capacity(CHUNK, DeflateDecoder::new(reader)))
                }
            }
        };
    }
    Ok(Box::pin(
        ReaderStream::with_capacity(reader, CHUNK).map(|chunk| chunk.map_err(io_error)),
    ))
}

/// A zlib header (RFC 1950): deflate method, and a check value that makes it a multiple of 31.
fn is_zlib(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        // Too short to tell: zlib is what the standard says.
        _ => true,
    }
}

/// An error from the decoding reader: the transport's (wrapped by `StreamReader`), or the
/// compressed data's.
fn io_error(error: io::Error) -> CrawlError {
    let transport = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>());
    match transport {
        Some(e) => CrawlError::from_reqwest(e),
        None => CrawlError::Decode(format!("bad compressed body: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn listed(values: &[&str]) -> Result<Vec<Coding>, String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        codings(&headers).map_err(|e| e.to_string())
    }

    #[test]
    fn encodings_are_read_like_http_says() {
        use Coding::*;
        assert_eq!(listed(&[]), Ok(vec![]));
        assert_eq!(listed(&["identity"]), Ok(vec![]));
        assert_eq!(listed(&["GZIP"]), Ok(vec![Gzip]));
        assert_eq!(listed(&["x-gzip"]), Ok(vec![Gzip]));
        assert_eq!(listed(&["gzip, gzip"]), Ok(vec![Gzip, Gzip]));
        assert_eq!(listed(&["deflate", " gzip "]), Ok(vec![Deflate, Gzip]));
        assert!(listed(&["br"])
            .unwrap_err()
            .contains("\"br\" is not supported"));
        assert!(listed(&["gzip", "compress"]).is_err());
        assert!(listed(&["gzip,gzip,gzip,gzip"])
            .unwrap_err()
            .contains("stacked"));
    }

    #[test]
    fn zlib_is_told_from_raw_deflate() {
        use std::io::Write;
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(b"<title>x</title>").unwrap();
        assert!(is_zlib(&zlib.finish().unwrap()));
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(b"<title>x</title>").unwrap();
        assert!(!is_zlib(&raw.finish().unwrap()));
    }
}

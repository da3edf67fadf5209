//! The binary form of a [`Request`], shared by everything that stores requests outside the
//! heap: the crawl journal, the spilling frontier's segment files and a Redis frontier's items.
//!
//! Item (version 1): `0x01 | varint depth | varint meta_len+1 (0 = no meta) | meta | url`. The
//! first byte is a version so the format can change later. Files frame each item with its
//! length (`u32` little endian) so a reader finds a record torn by a kill.

use std::io::{self, Read, Write};

use bytes::Bytes;

use crate::page::Request;

const ITEM_V1: u8 = 1;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Encodes a request as one item.
pub fn encode(request: &Request) -> Vec<u8> {
    let meta = request.meta.as_deref();
    let mut out = Vec::with_capacity(12 + meta.map_or(0, <[u8]>::len) + request.url.len());
    out.push(ITEM_V1);
    put_varint(&mut out, u64::from(request.depth));
    match meta {
        None => put_varint(&mut out, 0),
        Some(meta) => {
            put_varint(&mut out, meta.len() as u64 + 1);
            out.extend_from_slice(meta);
        }
    }
    out.extend_from_slice(request.url.as_bytes());
    out
}

/// Decodes an item; the error says what is wrong with it.
pub fn decode(item: &[u8]) -> Result<Request, String> {
    let preview = || {
        let head: String = item.iter().take(24).map(|b| format!("{b:02x}")).collect();
        format!("{} bytes starting {head}", item.len())
    };
    let (&version, mut rest) = item.split_first().ok_or_else(|| "empty item".to_string())?;
    if version != ITEM_V1 {
        return Err(format!(
            "unknown item version {version} (written by another ucrawler version?): {}",
            preview()
        ));
    }
    let depth = get_varint(&mut rest)
        .and_then(|d| u32::try_from(d).ok())
        .ok_or_else(|| format!("bad depth: {}", preview()))?;
    let meta_len = get_varint(&mut rest)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("bad meta length: {}", preview()))?;
    let meta = match meta_len {
        0 => None,
        n => {
            let len = n - 1;
            if rest.len() < len {
                return Err(format!("meta longer than the item: {}", preview()));
            }
            let (meta, after) = rest.split_at(len);
            rest = after;
            Some(Bytes::copy_from_slice(meta))
        }
    };
    let url = std::str::from_utf8(rest)
        .map_err(|_| format!("URL is not UTF-8: {}", preview()))?
        .to_string();
    if url.is_empty() {
        return Err(format!("empty URL: {}", preview()));
    }
    let mut request = Request::new(url);
    request.depth = depth;
    request.meta = meta;
    Ok(request)
}

/// Writes one length-framed item.
pub fn write_framed(out: &mut impl Write, request: &Request) -> io::Result<()> {
    let item = encode(request);
    out.write_all(&(item.len() as u32).to_le_bytes())?;
    out.write_all(&item)
}

/// Reads one length-framed item; `None` at the end or at a torn or unreadable record.
pub fn read_framed(input: &mut impl Read) -> Option<Request> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len).ok()?;
    let len = u32::from_le_bytes(len);
    // The length may be garbage (a torn or corrupt file): read what is there instead of
    // allocating what it claims.
    let mut item = Vec::new();
    input.take(u64::from(len)).read_to_end(&mut item).ok()?;
    if item.len() != len as usize {
        return None;
    }
    decode(&item).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let mut request = Request::new("http://example.com/a?b=c");
        request.depth = 300;
        for meta in [
            None,
            Some(Bytes::new()),
            Some(Bytes::from_static(b"\0\xff:x")),
        ] {
            request.meta = meta;
            let item = encode(&request);
            assert_eq!(item[0], ITEM_V1);
            assert_eq!(decode(&item).unwrap(), request);
        }
        let short = encode(&Request::new("http://h/"));
        assert_eq!(short.len(), 3 + "http://h/".len(), "compact");
    }

    #[test]
    fn garbage_items_are_errors() {
        assert!(decode(b"").unwrap_err().contains("empty"));
        assert!(decode(b"\x07abc").unwrap_err().contains("version 7"));
        assert!(decode(b"\x01\x00\x09ab").unwrap_err().contains("meta"));
        assert!(decode(b"\x01\x80").unwrap_err().contains("depth"));
        assert!(decode(b"\x01\x00\x00\xff").unwrap_err().contains("UTF-8"));
        assert!(decode(b"\x01\x00\x00").unwrap_err().contains("empty URL"));
    }

    #[test]
    fn varints() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut input = out.as_slice();
            assert_eq!(get_varint(&mut input), Some(value));
            assert!(input.is_empty());
        }
        assert_eq!(get_varint(&mut &[0x80u8; 11][..]), None);
    }

    /// Found by the `journal` fuzz target: a garbled length (a torn or corrupt file) made the
    /// reader allocate up to 4 GiB before finding out the bytes were not there.
    #[test]
    fn a_garbled_length_allocates_only_what_is_there() {
        struct Recording<'a> {
            bytes: &'a [u8],
            largest_read: usize,
        }
        impl Read for Recording<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.largest_read = self.largest_read.max(buf.len());
                self.bytes.read(buf)
            }
        }
        let mut frame = u32::MAX.to_le_bytes().to_vec();
        frame.extend_from_slice(&encode(&Request::new("http://h/a")));
        let mut input = Recording {
            bytes: &frame,
            largest_read: 0,
        };
        assert_eq!(read_framed(&mut input), None, "a torn record");
        assert!(
            input.largest_read <= 64 * 1024,
            "asked for {} bytes",
            input.largest_read
        );
    }

    #[test]
    fn framed_items_and_a_torn_tail() {
        let a = Request::new("http://h/a").with_meta(&b"7"[..]);
        let mut out = Vec::new();
        write_framed(&mut out, &a).unwrap();
        write_framed(&mut out, &Request::new("http://h/b")).unwrap();
        out.truncate(out.len() - 2);
        let mut input = out.as_slice();
        assert_eq!(read_framed(&mut input), Some(a));
        assert_eq!(read_framed(&mut input), None, "torn record");
    }
}

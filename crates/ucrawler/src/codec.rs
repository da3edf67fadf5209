//! The binary form of a [`Request`], shared by everything that stores requests outside the
//! heap: the crawl journal, the spilling frontier's segment files and a Redis frontier's items.
//!
//! Item (version 1): `0x01 | varint depth | field meta | url`, where a field is `varint len+1
//! (0 = none) | bytes`. A revisit (a request with a [`LastVisit`]) is version 2: `0x02 | varint
//! depth | field meta | field etag | field last_modified | field content_hash | url`. A request
//! that is not a plain page, or carries a sitemap's `lastmod`, is version 3: `0x03 | varint
//! depth | field meta | varint flags (bit 0: a last visit follows) | [its three fields] |
//! varint purpose (0 page, 1 sitemap discovery, 2 + n a sitemap at nesting n) | field lastmod |
//! url`. The first byte is a version so the format can change later. Files frame each item with its length
//! (`u32` little endian) so a reader finds a record torn by a kill.

use std::io::{self, Read, Write};

use bytes::Bytes;

use crate::last_visit::LastVisit;
use crate::page::{Purpose, Request};

const ITEM_V1: u8 = 1;
const ITEM_V2: u8 = 2;
const ITEM_V3: u8 = 3;

fn purpose_code(purpose: Purpose) -> u64 {
    match purpose {
        Purpose::Page => 0,
        Purpose::SitemapDiscovery => 1,
        Purpose::Sitemap { nesting } => 2 + u64::from(nesting),
    }
}

fn purpose_of(code: u64) -> Option<Purpose> {
    match code {
        0 => Some(Purpose::Page),
        1 => Some(Purpose::SitemapDiscovery),
        n => u8::try_from(n - 2)
            .ok()
            .map(|nesting| Purpose::Sitemap { nesting }),
    }
}

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

fn put_field(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => put_varint(out, 0),
        Some(bytes) => {
            put_varint(out, bytes.len() as u64 + 1);
            out.extend_from_slice(bytes);
        }
    }
}

/// Encodes a request as one item.
pub fn encode(request: &Request) -> Vec<u8> {
    let meta = request.meta.as_deref();
    let last = request.last_visit.as_deref();
    let validators = last.map_or(0, |l| {
        [&l.etag, &l.last_modified, &l.content_hash]
            .iter()
            .map(|v| v.as_ref().map_or(1, |v| v.len() + 2))
            .sum()
    });
    let lastmod = request.lastmod.as_deref();
    let extra = validators + lastmod.map_or(0, str::len);
    let mut out = Vec::with_capacity(16 + meta.map_or(0, <[u8]>::len) + extra + request.url.len());
    let version = match (request.purpose.is_page() && lastmod.is_none(), last) {
        (false, _) => ITEM_V3,
        (true, Some(_)) => ITEM_V2,
        (true, None) => ITEM_V1,
    };
    out.push(version);
    put_varint(&mut out, u64::from(request.depth));
    put_field(&mut out, meta);
    if version == ITEM_V3 {
        put_varint(&mut out, u64::from(last.is_some()));
    }
    if let Some(last) = last {
        for value in [&last.etag, &last.last_modified, &last.content_hash] {
            put_field(&mut out, value.as_deref().map(str::as_bytes));
        }
    }
    if version == ITEM_V3 {
        put_varint(&mut out, purpose_code(request.purpose));
        put_field(&mut out, lastmod.map(str::as_bytes));
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
    if !(ITEM_V1..=ITEM_V3).contains(&version) {
        return Err(format!(
            "unknown item version {version} (written by another ucrawler version?): {}",
            preview()
        ));
    }
    let depth = get_varint(&mut rest)
        .and_then(|d| u32::try_from(d).ok())
        .ok_or_else(|| format!("bad depth: {}", preview()))?;
    let meta = get_field(&mut rest, "meta")
        .map_err(|e| format!("{e}: {}", preview()))?
        .map(Bytes::copy_from_slice);
    let flags = match version {
        ITEM_V3 => get_varint(&mut rest).ok_or_else(|| format!("bad flags: {}", preview()))?,
        ITEM_V2 => 1,
        _ => 0,
    };
    let text = |rest: &mut &[u8], name: &str| -> Result<Option<String>, String> {
        get_field(rest, name)
            .and_then(|field| {
                field
                    .map(|b| {
                        String::from_utf8(b.to_vec()).map_err(|_| format!("{name} is not UTF-8"))
                    })
                    .transpose()
            })
            .map_err(|e| format!("{e}: {}", preview()))
    };
    let last_visit = match flags & 1 {
        1 => Some(Box::new(LastVisit {
            etag: text(&mut rest, "etag")?,
            last_modified: text(&mut rest, "last_modified")?,
            content_hash: text(&mut rest, "content_hash")?,
        })),
        _ => None,
    };
    let (purpose, lastmod) = match version {
        ITEM_V3 => {
            let purpose = get_varint(&mut rest)
                .and_then(purpose_of)
                .ok_or_else(|| format!("bad purpose: {}", preview()))?;
            let lastmod = text(&mut rest, "lastmod")?;
            (purpose, lastmod.map(String::into_boxed_str))
        }
        _ => (Purpose::Page, None),
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
    request.last_visit = last_visit;
    request.purpose = purpose;
    request.lastmod = lastmod;
    Ok(request)
}

/// One `varint len+1 | bytes` field; `None` for an absent one.
fn get_field<'a>(input: &mut &'a [u8], name: &str) -> Result<Option<&'a [u8]>, String> {
    let len = get_varint(input)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("bad {name} length"))?;
    match len {
        0 => Ok(None),
        n => {
            let len = n - 1;
            if input.len() < len {
                return Err(format!("{name} longer than the item"));
            }
            let (field, after) = input.split_at(len);
            *input = after;
            Ok(Some(field))
        }
    }
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
    fn revisits_round_trip_as_version_2() {
        let mut request = Request::new("http://example.com/a").with_meta(&b"7"[..]);
        for last in [
            LastVisit::default(),
            LastVisit {
                etag: Some("W/\"x\"".into()),
                last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
                content_hash: Some("00ff00ff00ff00ff".into()),
            },
        ] {
            request.last_visit = Some(Box::new(last));
            let item = encode(&request);
            assert_eq!(item[0], ITEM_V2);
            assert_eq!(decode(&item).unwrap(), request);
        }
        assert!(decode(b"\x02\x00\x00\x05ab")
            .unwrap_err()
            .contains("etag longer"));
        assert!(decode(b"\x02\x00\x00\x02\xff\x00\x00http://h/")
            .unwrap_err()
            .contains("etag is not UTF-8"));
    }

    #[test]
    fn sitemap_requests_and_lastmod_round_trip_as_version_3() {
        let mut request = Request::new("http://example.com/sitemap.xml").with_meta(&b"7"[..]);
        request.depth = 2;
        for purpose in [
            Purpose::SitemapDiscovery,
            Purpose::Sitemap { nesting: 0 },
            Purpose::Sitemap { nesting: 2 },
        ] {
            request.purpose = purpose;
            for last in [None, Some(Box::new(LastVisit::default()))] {
                request.last_visit = last;
                let item = encode(&request);
                assert_eq!(item[0], ITEM_V3);
                assert_eq!(decode(&item).unwrap(), request);
            }
        }
        let mut page = Request::new("http://example.com/a");
        page.lastmod = Some("2024-01-02".into());
        assert_eq!(decode(&encode(&page)).unwrap(), page);
        assert!(decode(b"\x03\x00\x00\x00\x80")
            .unwrap_err()
            .contains("bad purpose"));
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

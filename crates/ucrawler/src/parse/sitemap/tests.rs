//! The sitemap reader on hand-made files: both forms, gzip, entities and CDATA, nested
//! elements that are not entries, and every limit.

use std::io::{Cursor, Write};

use super::*;

fn read_all(bytes: Vec<u8>) -> (Vec<Entry>, Option<SitemapKind>, Option<SitemapError>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut reader = match SitemapReader::new(Cursor::new(bytes)).await {
            Ok(reader) => reader,
            Err(e) => return (Vec::new(), None, Some(e)),
        };
        let mut entries = Vec::new();
        loop {
            match reader.next_entry().await {
                Ok(Some(entry)) => entries.push(entry),
                Ok(None) => return (entries, reader.kind(), None),
                Err(e) => return (entries, reader.kind(), Some(e)),
            }
        }
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://h/a?x=1&amp;y=2 </loc><lastmod>2024-01-02</lastmod>
    <image:image><image:loc>https://h/img.jpg</image:loc></image:image></url>
  <!-- a comment <url><loc>https://h/no</loc></url> -->
  <url><loc><![CDATA[https://h/b]]></loc><changefreq>daily</changefreq></url>
  <url><lastmod>2024-01-03</lastmod></url>
  <url><loc>https://h/&#99;</loc></url>
  <url><loc>https://h/&unknown;</loc></url>
</urlset>"#;

#[test]
fn urlset_entries_in_order_with_lastmod() {
    let (entries, kind, error) = read_all(URLSET.as_bytes().to_vec());
    assert_eq!(error, None);
    assert_eq!(kind, Some(SitemapKind::Urlset));
    let locs: Vec<&str> = entries.iter().map(|e| e.loc.as_str()).collect();
    assert_eq!(locs, ["https://h/a?x=1&y=2", "https://h/b", "https://h/c"]);
    assert_eq!(entries[0].lastmod.as_deref(), Some("2024-01-02"));
    assert_eq!(entries[1].lastmod, None);
}

#[test]
fn gzipped_index() {
    let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://h/s1.xml.gz</loc><lastmod>2024-05-01T10:00:00+00:00</lastmod></sitemap>
      <sitemap><loc>https://h/s2.xml</loc></sitemap></sitemapindex>"#;
    let (entries, kind, error) = read_all(gzip(index.as_bytes()));
    assert_eq!(error, None);
    assert_eq!(kind, Some(SitemapKind::Index));
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].lastmod.as_deref(),
        Some("2024-05-01T10:00:00+00:00")
    );
}

#[test]
fn not_a_sitemap() {
    let (_, _, error) = read_all(b"<!DOCTYPE html><html><title>x</title></html>".to_vec());
    assert_eq!(
        error,
        Some(SitemapError::NotASitemap("root element <html>".into()))
    );
    let (_, _, error) = read_all(Vec::new());
    assert!(matches!(error, Some(SitemapError::NotASitemap(_))));
}

#[test]
fn broken_file_keeps_the_entries_before_the_break() {
    let text = "<urlset><url><loc>https://h/1</loc></url><url><loc>https://h/2</loc></url>\
                <url><loc>https://h/3</lo></url></urlset>";
    let (entries, _, error) = read_all(text.as_bytes().to_vec());
    assert_eq!(entries.len(), 2);
    assert!(
        matches!(error, Some(SitemapError::Malformed { entries: 2, .. })),
        "{error:?}"
    );
    let cut = "<urlset><url><loc>https://h/1</loc></url><url><loc>https://h/2";
    let (entries, _, error) = read_all(cut.as_bytes().to_vec());
    assert_eq!(entries.len(), 1);
    assert!(matches!(error, Some(SitemapError::Malformed { .. })));
}

#[test]
fn entry_cap() {
    let mut text = String::from("<urlset>");
    for i in 0..MAX_SITEMAP_ENTRIES + 10 {
        text.push_str(&format!("<url><loc>https://h/{i}</loc></url>"));
    }
    text.push_str("</urlset>");
    let (entries, _, error) = read_all(text.into_bytes());
    assert_eq!(entries.len(), MAX_SITEMAP_ENTRIES);
    assert_eq!(error, Some(SitemapError::TooManyEntries));
}

#[test]
fn byte_cap_counts_uncompressed_bytes() {
    // 2 KiB of padding per entry: the file passes 50 MiB before 50,000 entries. Gzipped, it is
    // a few hundred KiB on the wire.
    let padding = " ".repeat(2048);
    let mut text = String::from("<urlset>");
    for i in 0..30_000 {
        text.push_str(&format!("<url>{padding}<loc>https://h/{i}</loc></url>"));
    }
    text.push_str("</urlset>");
    let (entries, _, error) = read_all(gzip(text.as_bytes()));
    assert_eq!(error, Some(SitemapError::TooLarge));
    let expected = (MAX_SITEMAP_BYTES as usize - 8) / (2048 + 33);
    assert!(
        entries.len().abs_diff(expected) < 200,
        "{} entries, about {expected} expected",
        entries.len()
    );
}

#[test]
fn one_event_is_bounded() {
    let text = format!(
        "<urlset><url><loc>https://h/1</loc></url><!--{}--></urlset>",
        "x".repeat(MAX_EVENT_BYTES as usize)
    );
    let (entries, _, error) = read_all(text.into_bytes());
    assert_eq!(entries.len(), 1);
    assert_eq!(error, Some(SitemapError::EventTooLarge));
}

#[test]
fn bad_gzip_is_a_decode_error() {
    let mut data = gzip(b"<urlset><url><loc>https://h/1</loc></url></urlset>");
    let middle = data.len() / 2;
    data[middle..].fill(0xff);
    let (_, _, error) = read_all(data);
    assert!(
        matches!(error, Some(SitemapError::Transport(CrawlError::Decode(_)))),
        "{error:?}"
    );
}

//! Sitemaps (sitemaps.org): `<urlset>` and `<sitemapindex>` files, gzipped (`.xml.gz`, told by
//! its magic bytes, not its name) or not, read as a stream by quick-xml. Entries come out one by
//! one and what is held is one XML event, at most [`MAX_EVENT_BYTES`], whatever the file's
//! size. The protocol's limits are ours: [`MAX_SITEMAP_ENTRIES`] entries and
//! [`MAX_SITEMAP_BYTES`] (uncompressed) per file; past them reading stops with an error, the
//! entries before it stand. Only direct children count: `<url><image:image><image:loc>` is not
//! a page.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::GzipDecoder;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader, ReadBuf};

use crate::error::CrawlError;

/// Uncompressed bytes read from one sitemap (the protocol's 50 MiB).
pub const MAX_SITEMAP_BYTES: u64 = 50 << 20;
/// Entries read from one sitemap (the protocol's 50,000).
pub const MAX_SITEMAP_ENTRIES: usize = 50_000;
/// One XML event (a tag, a text, a comment): what the reader buffers at most.
pub const MAX_EVENT_BYTES: u64 = 64 << 10;
/// A `<loc>` or `<lastmod>` longer than this makes its entry unusable.
const MAX_FIELD_BYTES: usize = 8 << 10;

/// Which of the two sitemap forms a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitemapKind {
    /// `<urlset>`: pages.
    Urlset,
    /// `<sitemapindex>`: more sitemaps.
    Index,
}

/// One `<url>` or `<sitemap>`: its location and `<lastmod>`, trimmed, entities resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub loc: String,
    pub lastmod: Option<String>,
}

/// Why a sitemap could not be read (to its end).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SitemapError {
    /// The body broke off (retried like any transfer).
    #[error("{0}")]
    Transport(CrawlError),
    #[error("not a sitemap: {0}")]
    NotASitemap(String),
    #[error("malformed sitemap after {entries} entries: {message}")]
    Malformed { entries: usize, message: String },
    #[error("sitemap over {MAX_SITEMAP_BYTES} bytes uncompressed: the rest is ignored")]
    TooLarge,
    #[error("sitemap with over {MAX_SITEMAP_ENTRIES} entries: the rest are ignored")]
    TooManyEntries,
    #[error("an XML element or text over {MAX_EVENT_BYTES} bytes: the rest is ignored")]
    EventTooLarge,
}

/// The limit a [`Limited`] reader hit, carried through quick-xml's I/O error.
#[derive(Debug, Clone, Copy, thiserror::Error)]
enum Limit {
    #[error("file limit")]
    File,
    #[error("event limit")]
    Event,
}

/// A body's reader that counts what is consumed, and fails at [`MAX_SITEMAP_BYTES`] in all or
/// [`MAX_EVENT_BYTES`] since the last [`Limited::mark`] (one event).
struct Limited<R> {
    inner: R,
    total: u64,
    since_mark: u64,
}

impl<R> Limited<R> {
    fn mark(&mut self) {
        self.since_mark = 0;
    }
}

impl<R: AsyncBufRead + Unpin> AsyncRead for Limited<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = match self.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(available)) => available,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncBufRead + Unpin> AsyncBufRead for Limited<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let room = (MAX_SITEMAP_BYTES - this.total).min(MAX_EVENT_BYTES - this.since_mark);
        let buf = match Pin::new(&mut this.inner).poll_fill_buf(cx) {
            Poll::Ready(Ok(buf)) => buf,
            other => return other,
        };
        if room == 0 && !buf.is_empty() {
            let limit = match this.total >= MAX_SITEMAP_BYTES {
                true => Limit::File,
                false => Limit::Event,
            };
            return Poll::Ready(Err(io::Error::other(limit)));
        }
        Poll::Ready(Ok(&buf[..buf.len().min(room as usize)]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.total += amt as u64;
        this.since_mark += amt as u64;
        Pin::new(&mut this.inner).consume(amt);
    }
}

type Body = Pin<Box<dyn AsyncBufRead + Send>>;

/// Which field of an entry the text being read belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    Loc,
    Lastmod,
    Other,
}

/// Reads one sitemap's entries from its (transfer-decoded) body.
pub struct SitemapReader {
    xml: Reader<Limited<Body>>,
    buf: Vec<u8>,
    kind: Option<SitemapKind>,
    /// Open elements: 1 inside the root, 2 inside an entry, 3 inside a field.
    depth: usize,
    field: Field,
    entry: Option<(String, String)>,
    /// The entry has a field too long or an unknown entity: it is skipped.
    spoiled: bool,
    entries: usize,
}

impl SitemapReader {
    /// A reader over `body`, gunzipped when it starts with gzip's magic bytes.
    pub async fn new(body: impl AsyncBufRead + Send + 'static) -> Result<Self, SitemapError> {
        let mut body: Body = Box::pin(body);
        let head = body.fill_buf().await.map_err(transport)?;
        if head.starts_with(&[0x1f, 0x8b]) {
            let mut gunzip = GzipDecoder::new(body);
            gunzip.multiple_members(true);
            body = Box::pin(BufReader::with_capacity(16 << 10, gunzip));
        }
        let limited = Limited {
            inner: body,
            total: 0,
            since_mark: 0,
        };
        Ok(Self {
            xml: Reader::from_reader(limited),
            buf: Vec::new(),
            kind: None,
            depth: 0,
            field: Field::Other,
            entry: None,
            spoiled: false,
            entries: 0,
        })
    }

    /// The file's form, once its root element was read.
    pub fn kind(&self) -> Option<SitemapKind> {
        self.kind
    }

    /// The next entry, `None` at the end of the file.
    pub async fn next_entry(&mut self) -> Result<Option<Entry>, SitemapError> {
        // The event borrows the buffer: taken out of `self` while it is looked at.
        let mut buf = std::mem::take(&mut self.buf);
        let next = self.next_in(&mut buf).await;
        self.buf = buf;
        next
    }

    async fn next_in(&mut self, buf: &mut Vec<u8>) -> Result<Option<Entry>, SitemapError> {
        loop {
            buf.clear();
            self.xml.get_mut().mark();
            let event = match self.xml.read_event_into_async(buf).await {
                Ok(event) => event,
                Err(error) => return Err(self.xml_error(error)),
            };
            match event {
                Event::Start(start) => {
                    let name = start.local_name().as_ref().to_vec();
                    self.depth += 1;
                    self.open(&name)?;
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    if let Some(entry) = self.close()? {
                        return Ok(Some(entry));
                    }
                }
                Event::Text(text) => {
                    let text = text.decode().map_err(|e| self.malformed(e))?;
                    self.append(&text);
                }
                Event::CData(data) => {
                    let text = data.decode().map_err(|e| self.malformed(e))?;
                    self.append(&text);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => reference
                            .decode()
                            .ok()
                            .and_then(|name| resolve_predefined_entity(&name))
                            .map(str::to_string),
                        Err(_) => None,
                    };
                    match resolved {
                        Some(text) => self.append(&text),
                        // An entity the file would have to define: no DTD is read here.
                        None => self.spoiled |= self.field != Field::Other,
                    }
                }
                Event::Eof => {
                    return match (self.kind, self.depth) {
                        (None, _) => Err(SitemapError::NotASitemap("no root element".into())),
                        (Some(_), 0) => Ok(None),
                        (Some(_), _) => Err(self.malformed("the file ends inside an element")),
                    };
                }
                _ => {} // declarations, comments, processing instructions, empty elements
            }
        }
    }

    fn open(&mut self, name: &[u8]) -> Result<(), SitemapError> {
        match self.depth {
            1 => {
                self.kind = Some(match name {
                    b"urlset" => SitemapKind::Urlset,
                    b"sitemapindex" => SitemapKind::Index,
                    other => {
                        let other = String::from_utf8_lossy(other);
                        return Err(SitemapError::NotASitemap(format!("root element <{other}>")));
                    }
                });
            }
            2 if matches!(name, b"url" | b"sitemap") => {
                self.entry = Some((String::new(), String::new()));
                self.spoiled = false;
            }
            3 if self.entry.is_some() => {
                self.field = match name {
                    b"loc" => Field::Loc,
                    b"lastmod" => Field::Lastmod,
                    _ => Field::Other,
                };
            }
            _ => self.field = Field::Other,
        }
        Ok(())
    }

    /// An element closed: the entry, if it was one's end and it is usable.
    fn close(&mut self) -> Result<Option<Entry>, SitemapError> {
        self.field = Field::Other;
        if self.depth != 1 {
            return Ok(None);
        }
        let Some((loc, lastmod)) = self.entry.take() else {
            return Ok(None);
        };
        self.entries += 1;
        if self.entries > MAX_SITEMAP_ENTRIES {
            return Err(SitemapError::TooManyEntries);
        }
        let loc = loc.trim();
        if self.spoiled || loc.is_empty() {
            return Ok(None);
        }
        let lastmod = lastmod.trim();
        Ok(Some(Entry {
            loc: loc.to_string(),
            lastmod: (!lastmod.is_empty() && lastmod.len() <= 64).then(|| lastmod.to_string()),
        }))
    }

    fn append(&mut self, text: &str) {
        let Some((loc, lastmod)) = self.entry.as_mut() else {
            return;
        };
        let target = match self.field {
            Field::Loc => loc,
            Field::Lastmod => lastmod,
            Field::Other => return,
        };
        if target.len() + text.len() > MAX_FIELD_BYTES {
            self.spoiled = true;
        } else {
            target.push_str(text);
        }
    }

    fn malformed(&self, message: impl ToString) -> SitemapError {
        SitemapError::Malformed {
            entries: self.entries,
            message: message.to_string(),
        }
    }

    fn xml_error(&self, error: quick_xml::Error) -> SitemapError {
        if let quick_xml::Error::Io(io) = &error {
            if let Some(limit) = io.get_ref().and_then(|e| e.downcast_ref::<Limit>()) {
                return match limit {
                    Limit::File => SitemapError::TooLarge,
                    Limit::Event => SitemapError::EventTooLarge,
                };
            }
            if let Some(e) = io.get_ref().and_then(|e| e.downcast_ref::<CrawlError>()) {
                return SitemapError::Transport(e.clone());
            }
            return SitemapError::Transport(CrawlError::Decode(format!(
                "bad compressed sitemap: {io}"
            )));
        }
        self.malformed(error)
    }
}

/// An error reading the body before any XML: the transport's, or the gzip data's.
fn transport(error: io::Error) -> SitemapError {
    match error.get_ref().and_then(|e| e.downcast_ref::<CrawlError>()) {
        Some(e) => SitemapError::Transport(e.clone()),
        None => SitemapError::Transport(CrawlError::Decode(format!("sitemap body: {error}"))),
    }
}

#[cfg(test)]
mod tests;

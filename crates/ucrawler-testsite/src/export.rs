//! [`Site::export_at`]: the site as static files, for another web server (nginx) to serve.

use std::io;
use std::path::Path;

use crate::site::parse_number;
use crate::timeline::PageState;
use crate::{version, Site};

/// What [`Site::export_at`] did to the directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exported {
    /// Live pages, now all in the directory.
    pub pages: usize,
    /// Page files (re)written: new or different.
    pub written: usize,
    /// Page files already there with the same bytes, left untouched (same mtime, so the same
    /// `ETag` and `Last-Modified` from a static server).
    pub unchanged: usize,
    /// Page files deleted: removed pages, or pages this generation does not have.
    pub deleted: usize,
}

impl Site {
    /// [`Site::export_at`] the current generation; returns the number of live pages.
    pub fn export(&self, dir: &Path, base: &str) -> io::Result<usize> {
        Ok(self.export_at(dir, base, self.generation())?.pages)
    }

    /// Makes `dir` hold generation `generation` as static files: `index.html` for `/`,
    /// `page/{i}.html`, plus `robots.txt`; absolute links in the files use `base`. Exporting
    /// over an earlier export rewrites only the pages that differ and deletes the removed
    /// ones (a static server answers 404 for them, never 410). `/page/{i}.html?sort=asc` is
    /// served from the same file by any static server.
    pub fn export_at(&self, dir: &Path, base: &str, generation: u32) -> io::Result<Exported> {
        let pages_dir = dir.join("page");
        std::fs::create_dir_all(&pages_dir)?;
        write_if_changed(&dir.join("robots.txt"), self.robots_txt().as_bytes())?;
        let t = self.timeline(generation);
        let ids = t.ids(generation);
        let mut done = Exported::default();
        for id in 0..ids {
            let path = match id {
                0 => dir.join("index.html"),
                _ => pages_dir.join(format!("{id}.html")),
            };
            match t.state(id, generation) {
                PageState::Live { version } => {
                    let html = version::html(&t, id, version, base);
                    match write_if_changed(&path, html.as_bytes())? {
                        true => done.written += 1,
                        false => done.unchanged += 1,
                    }
                    done.pages += 1;
                }
                _ => done.deleted += usize::from(remove_if_present(&path)?),
            }
        }
        // Pages of another generation exported here before.
        for entry in std::fs::read_dir(&pages_dir)? {
            let path = entry?.path();
            let id = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".html"))
                .and_then(parse_number);
            if id.is_some_and(|id| id >= ids) {
                done.deleted += usize::from(remove_if_present(&path)?);
            }
        }
        Ok(done)
    }
}

/// Writes `bytes` unless the file already holds them; whether it wrote.
fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    match std::fs::read(path) {
        Ok(old) if old == bytes => Ok(false),
        _ => std::fs::write(path, bytes).map(|()| true),
    }
}

fn remove_if_present(path: &Path) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

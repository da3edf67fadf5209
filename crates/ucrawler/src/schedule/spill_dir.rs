//! The directory of spill files (frontier segments, seen-set runs): a subdirectory of
//! `state_dir`, or a private one under the system's temporary directory. Spill files are
//! rebuilt by every run (resume replays the journal), so the directory is cleared on first use
//! and removed on drop.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

pub(crate) struct SpillDir {
    path: PathBuf,
    cleared: bool,
}

impl SpillDir {
    /// `dir`, or `None` = a new `ucrawler-<kind>-<pid>-<n>` under the temporary directory.
    /// Nothing is created until [`SpillDir::file`] is called.
    pub fn new(dir: Option<PathBuf>, kind: &str) -> Self {
        let path = dir.unwrap_or_else(|| {
            let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
            std::env::temp_dir().join(format!("ucrawler-{kind}-{}-{n}", std::process::id()))
        });
        Self {
            path,
            cleared: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in the directory, creating the directory if needed. The first call
    /// removes what a killed run left there.
    pub fn file(&mut self, name: &str) -> io::Result<PathBuf> {
        if !self.cleared {
            let _ = std::fs::remove_dir_all(&self.path);
            self.cleared = true;
        }
        // Again every time: a temporary directory may have been cleaned up under us.
        std::fs::create_dir_all(&self.path)?;
        Ok(self.path.join(name))
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_on_first_use_cleared_and_removed_on_drop() {
        let base = std::env::temp_dir().join(format!("ucrawler-spilldir-{}", std::process::id()));
        let stale = base.join("segment-00000007.bin");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(&stale, b"left by a killed run").unwrap();
        let mut dir = SpillDir::new(Some(base.clone()), "test");
        assert!(stale.exists(), "nothing touched before first use");
        let file = dir.file("a.bin").unwrap();
        assert_eq!(file, base.join("a.bin"));
        assert!(!stale.exists(), "cleared on first use");
        std::fs::write(&file, b"x").unwrap();
        let _ = dir.file("b.bin").unwrap();
        assert!(file.exists(), "cleared only once");
        drop(dir);
        assert!(!base.exists());

        let temp = SpillDir::new(None, "test");
        let other = SpillDir::new(None, "test");
        assert_ne!(temp.path(), other.path());
        assert!(temp.path().starts_with(std::env::temp_dir()));
    }
}

//! Exporting one generation over another: changed files rewritten, removed ones deleted,
//! unchanged ones untouched (a static server keeps their `ETag` and `Last-Modified`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ucrawler_testsite::{Churn, Exported, Site, SiteConfig};

const BASE: &str = "http://127.0.0.1:8080";

fn file(dir: &Path, url: &str) -> PathBuf {
    match Site::page_id(&url[BASE.len()..]).unwrap() {
        0 => dir.join("index.html"),
        id => dir.join(format!("page/{id}.html")),
    }
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn plain(urls: &std::collections::BTreeSet<String>) -> Vec<&String> {
    urls.iter().filter(|u| !u.contains('?')).collect()
}

#[test]
fn exporting_a_generation_over_another_touches_only_what_changed() {
    let dir = std::env::temp_dir().join(format!("ucrawler-testsite-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let site = Site::new(SiteConfig {
        pages: 200,
        churn: Churn::new(0.1, 0.05, 0.03).unwrap(),
        ..SiteConfig::default()
    });
    let first = site.export_at(&dir, BASE, 0).unwrap();
    assert_eq!(first.pages, 200);
    assert_eq!((first.written, first.unchanged, first.deleted), (200, 0, 0));
    // Back-date every file so a rewrite shows in its mtime.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let changes = site.changes(BASE, 0, 1);
    for url in plain(&site.expected_urls_at(BASE, None, 0)) {
        let f = std::fs::File::options().write(true).open(file(&dir, url));
        f.unwrap().set_modified(old).unwrap();
    }

    let second = site.export_at(&dir, BASE, 1).unwrap();
    let count = |set| plain(set).len();
    let expected = Exported {
        pages: 200 - count(&changes.removed) + count(&changes.added),
        written: count(&changes.changed) + count(&changes.added),
        unchanged: count(&changes.unchanged),
        deleted: count(&changes.removed),
    };
    assert_eq!(second, expected);
    for url in plain(&changes.unchanged) {
        assert_eq!(mtime(&file(&dir, url)), old, "{url} untouched");
    }
    for url in plain(&changes.changed)
        .into_iter()
        .chain(plain(&changes.added))
    {
        let bytes = std::fs::read(file(&dir, url)).unwrap();
        assert!(bytes == site.render_at(BASE, &url[BASE.len()..], 1).unwrap().body);
    }
    for url in plain(&changes.removed) {
        assert!(!file(&dir, url).exists(), "{url} deleted");
    }

    // And back: the added pages go, the removed ones return.
    let back = site.export_at(&dir, BASE, 0).unwrap();
    assert_eq!(back.pages, 200);
    assert_eq!(back.deleted, count(&changes.added));
    assert!(plain(&changes.added)
        .iter()
        .all(|u| !file(&dir, u).exists()));
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Exports the test site as static files for another web server (bench/run serves them with
//! nginx) and writes the URLs a complete same-host crawl from `/` must find:
//! `cargo run --release -p ucrawler-testsite --example export -- PAGES DIR BASE EXPECTED_FILE`
//! where BASE is `http://127.0.0.1:PORT` (the absolute links in the pages use it).

use ucrawler_testsite::{Site, SiteConfig};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pages, dir, base, expected] = args.as_slice() else {
        eprintln!("usage: export PAGES DIR BASE EXPECTED_FILE");
        std::process::exit(2);
    };
    let pages: usize = pages.parse().expect("PAGES is a number");
    let base = base.trim_end_matches('/');
    let site = Site::new(SiteConfig {
        pages,
        ..SiteConfig::default()
    });
    site.export(std::path::Path::new(dir), base)?;
    let mut list = String::new();
    for url in site.expected_urls(base, None) {
        list.push_str(&url);
        list.push('\n');
    }
    std::fs::write(expected, list)
}

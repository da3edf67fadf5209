//! Exports the test site as static files for another web server (bench/run serves them with
//! nginx) and writes the URLs a complete same-host crawl from `/` must find:
//! `cargo run --release -p ucrawler-testsite --example export -- PAGES DIR BASE EXPECTED_FILE
//! [GENERATION]` where BASE is `http://127.0.0.1:PORT` (the absolute links in the pages use
//! it). With a GENERATION past 0 it also writes `EXPECTED_FILE.changes`: the URLs changed,
//! unchanged, removed and added since the generation before, a line each. Exporting generation 1 over an export of generation 0 rewrites the changed pages,
//! deletes the removed ones and leaves the others untouched (default churn: 5 % changed, 1 %
//! removed, 2 % added).

use ucrawler_testsite::{Site, SiteConfig};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (pages, dir, base, expected, generation) = match args.as_slice() {
        [p, d, b, e] => (p, d, b, e, "0"),
        [p, d, b, e, g] => (p, d, b, e, g.as_str()),
        _ => {
            eprintln!("usage: export PAGES DIR BASE EXPECTED_FILE [GENERATION]");
            std::process::exit(2);
        }
    };
    let pages: usize = pages.parse().expect("PAGES is a number");
    let generation: u32 = generation.parse().expect("GENERATION is a number");
    let base = base.trim_end_matches('/');
    let site = Site::new(SiteConfig {
        pages,
        ..SiteConfig::default()
    });
    let done = site.export_at(std::path::Path::new(dir), base, generation)?;
    eprintln!("{done:?}");
    let mut list = String::new();
    for url in site.expected_urls_at(base, None, generation) {
        list.push_str(&url);
        list.push('\n');
    }
    std::fs::write(expected, list)?;
    if generation > 0 {
        // What a recrawl from the generation before must report, a set per line:
        // "changed URL...", "unchanged URL...", "removed URL...", "added URL...".
        let changes = site.changes(base, generation - 1, generation);
        let mut text = String::new();
        for (name, urls) in [
            ("changed", &changes.changed),
            ("unchanged", &changes.unchanged),
            ("removed", &changes.removed),
            ("added", &changes.added),
        ] {
            text.push_str(name);
            for url in urls {
                text.push(' ');
                text.push_str(url);
            }
            text.push('\n');
        }
        std::fs::write(format!("{expected}.changes"), text)?;
    }
    Ok(())
}

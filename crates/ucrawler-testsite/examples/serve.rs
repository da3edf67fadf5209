//! Serves the test site until killed:
//! `cargo run --release -p ucrawler-testsite --example serve -- [PAGES] [ADDR]`
//! (defaults: 1000 pages on 127.0.0.1:0).

use ucrawler_testsite::{SiteConfig, TestSite};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let pages = args.next().and_then(|p| p.parse().ok()).unwrap_or(1000);
    let addr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| "127.0.0.1:0".parse().expect("valid default address"));
    let site = TestSite::start_on(
        addr,
        SiteConfig {
            pages,
            ..SiteConfig::default()
        },
    )?;
    println!("{}", site.url("/"));
    loop {
        std::thread::park();
    }
}

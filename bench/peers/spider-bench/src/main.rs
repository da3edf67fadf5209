//! bench/run's peer (6): the `spider` crate crawls one site with concurrency 64, robots.txt
//! obeyed, same host only (subdomains and TLD off). spider extracts links and each page's title
//! itself (its lol_html pass builds `Page::metadata`).
//!
//! Output, one line per page: `URL\tTITLE`.
//! - Default: after the crawl, the URLs spider crawled (`Website::get_links`), without titles.
//!   Its only per-page hook, a tokio broadcast subscription, costs memory the other way: the
//!   `Website` keeps a receiver of its own that never reads, so the channel retains its last
//!   `capacity` pages (HTML included) until overwritten; and a reader that falls behind loses
//!   pages. So the benchmark's numbers come from the plain crawl.
//! - `--subscribe N`: reads every page from a subscription of capacity N and prints its URL and
//!   title (pages lost by a lagging reader are counted on stderr).
//!
//! Usage: spider-bench URL [--subscribe N] > pages.tsv

use std::io::Write;

use spider::tokio::sync::broadcast::error::RecvError;
use spider::website::Website;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: spider-bench URL [--subscribe N]");
    let subscribe: Option<usize> = match args.next().as_deref() {
        Some("--subscribe") => Some(
            args.next()
                .and_then(|n| n.parse().ok())
                .expect("--subscribe N"),
        ),
        Some(other) => panic!("unknown argument {other:?}"),
        None => None,
    };
    let mut website = Website::new(&url);
    website
        .with_respect_robots_txt(true)
        .with_subdomains(false)
        .with_tld(false)
        .with_concurrency_limit(Some(64));
    let mut website = website.build().expect("valid spider configuration");
    let printer = subscribe.map(|capacity| {
        let mut rx = website.subscribe(capacity);
        tokio::spawn(async move {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            let (mut pages, mut lagged) = (0u64, 0u64);
            loop {
                match rx.recv().await {
                    Ok(page) => {
                        let title = page
                            .metadata
                            .as_ref()
                            .and_then(|m| m.title.as_ref())
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        writeln!(
                            out,
                            "{}\t{}",
                            page.get_url(),
                            title.replace(['\t', '\n'], " ")
                        )
                        .expect("stdout");
                        pages += 1;
                    }
                    Err(RecvError::Lagged(n)) => lagged += n,
                    Err(RecvError::Closed) => break,
                }
            }
            out.flush().expect("stdout");
            (pages, lagged)
        })
    });
    let started = std::time::Instant::now();
    website.crawl().await;
    let elapsed = started.elapsed();
    let links = website.get_links();
    match printer {
        Some(printer) => {
            website.unsubscribe();
            let (pages, lagged) = printer.await.expect("printer task");
            eprintln!(
                "spider: {pages} pages received, {lagged} lost by the channel, {} links visited, crawl {:.2}s",
                links.len(),
                elapsed.as_secs_f64()
            );
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            for link in &links {
                writeln!(out, "{}\t", link.as_ref()).expect("stdout");
            }
            out.flush().expect("stdout");
            eprintln!(
                "spider: {} links visited, crawl {:.2}s",
                links.len(),
                elapsed.as_secs_f64()
            );
        }
    }
}

//! What comes back to the scheduler: a parsed page's links (deduplicated, checked against the
//! trap guard and the budgets, journaled, queued, and then the page delivered) and the requests
//! a site's sitemaps gave.

use crate::distributed::Command;
use crate::page::{Purpose, Request};
use crate::pipeline::Delivered;
use crate::schedule::canonical::canonical_of_duplicate;
use crate::schedule::trap_guard::TrapGuard;
use crate::url::{fingerprint, host_key};

use super::Scheduler;

impl Scheduler {
    /// A page went through the parser with these links; `final_url`: where it was redirected.
    pub(super) fn take_parsed(
        &mut self,
        final_url: Option<String>,
        mut links: Vec<Request>,
        mut delivered: Box<Delivered>,
    ) {
        self.outstanding -= 1;
        if self.ctx.config.canonical_dedup {
            links.extend(canonical_of_duplicate(&mut delivered.page));
        }
        if self.shared.is_some() {
            // Redis deduplicates; the agent queues the links before it acknowledges the page
            // (commands are handled in order).
            links.retain(|link| TrapGuard::admit_shape(link, &self.ctx.counters));
            if !links.is_empty() {
                self.tell_agent(Command::Links(links));
            }
            self.ctx.deliver(*delivered);
            return;
        }
        // A redirect target already crawled (or queued) is not crawled again: its links are (or
        // will be) followed from there.
        let redirected = final_url.is_some();
        let fresh_target = final_url.is_none_or(|url| self.seen.insert(fingerprint(&url)));
        // Journaled as done with the page: a resumed crawl must not fetch it again.
        delivered.covers_target = redirected && fresh_target;
        if fresh_target {
            for link in links {
                self.take_link(link);
            }
            // The host's next pages are weighed by how long this one took (see Frontier).
            if let Ok(url) = url::Url::parse(&delivered.page.url) {
                let fetch = delivered.page.timings.fetch;
                self.frontier.note_latency(&host_key(&url), fetch);
            }
        }
        self.flush_journal();
        self.publish_sizes();
        self.ctx.deliver(*delivered);
    }

    /// Requests a site's robots.txt or sitemaps gave: pages (at the seed's depth) go where
    /// links go; sitemaps within their site's cap.
    pub(super) fn take_found(&mut self, mut found: Vec<Request>) {
        if self.shared.is_some() {
            // Redis deduplicates pages and sitemaps alike; the sitemap cap per site is this
            // worker's (each index is read by one worker).
            let counters = &self.ctx.counters;
            found.retain(|request| match request.purpose {
                Purpose::Page => TrapGuard::admit_shape(request, counters),
                _ => self.sitemap_plan.admit(request, counters),
            });
            if !found.is_empty() {
                self.tell_agent(Command::Links(found));
            }
            return;
        }
        for request in found {
            match request.purpose {
                Purpose::Page => self.take_link(request),
                _ => {
                    let counters = &self.ctx.counters;
                    if self.sitemap_plan.admit(&request, counters)
                        && self.seen.insert(request.fingerprint())
                    {
                        self.journal(&request);
                        self.queue(request);
                    }
                }
            }
        }
        self.flush_journal();
        self.publish_sizes();
    }

    /// Queues a discovered page unless it was seen, is a trap, or is past a budget.
    fn take_link(&mut self, link: Request) {
        let counters = &self.ctx.counters;
        if self.seen.insert(fingerprint(&link.url))
            && self.traps.admit(&link, counters)
            && self.admit(&link)
        {
            self.journal(&link);
            self.queue(link);
        }
    }

    /// Makes what was journaled durable (links before the page that found them goes out).
    fn flush_journal(&mut self) {
        if let Some(journal) = &mut self.journal {
            if let Err(e) = journal.flush() {
                tracing::error!("cannot write the crawl journal: {e}");
            }
        }
    }
}

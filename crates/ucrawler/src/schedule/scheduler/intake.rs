//! The scheduler's intake: seeds (given, forwarded to Redis in a shared crawl, or replayed from
//! the journal of an earlier run) and requests leased from Redis, on their way into the frontier.

use tokio::sync::mpsc;
use url::Url;

use super::{Scheduler, SEED_BATCH};
use crate::distributed::Command;
use crate::page::Request;
use crate::schedule::journal::{Journal, Replay};
use crate::url::{fingerprint, parse_request_url};

impl Scheduler {
    /// Journals this crawl; with a replay, continues the crawl journaled before.
    pub fn set_journal(&mut self, journal: Journal, replay: Option<Replay>) {
        if let Some(replay) = replay {
            self.resumed = true;
            // Redirect targets were fetched with the page that led there: seen, though never
            // enqueued.
            for done_url in replay.done {
                self.seen.insert(done_url);
            }
            for (request, done) in replay.requests {
                if request.depth == 0 {
                    // A seed of the earlier run: its host is trusted before anything is fetched
                    // (the seeds given again arrive later, through their channel: replayed pages
                    // of a private seed host were refused by the address guard meanwhile).
                    self.trust_seed_host(&request.url);
                }
                self.sitemap_plan.replayed(&request);
                // Every request journaled was admitted once: it counts against its host again.
                let admitted = !request.purpose.is_page() || self.admit(&request);
                if self.seen.insert(request.fingerprint()) && !done && admitted {
                    self.queue(request);
                }
            }
            self.publish_sizes();
        }
        self.journal = Some(journal);
    }

    /// Makes this crawl a recrawl: `revisits` are taken before the seeds.
    pub fn set_revisits(&mut self, revisits: mpsc::Receiver<Request>) {
        self.revisits = Some(revisits);
    }

    pub(super) fn journal(&mut self, request: &Request) {
        if let Some(journal) = &mut self.journal {
            if let Err(e) = journal.record(request) {
                tracing::error!("cannot write the crawl journal: {e}");
            }
        }
    }

    /// Seeds are always fetched, even if repeated (each may carry its own `meta`), and mark
    /// their URL as seen so discovered links do not fetch it again.
    ///
    /// Revisits (seeds with a last visit: a recrawl's known URLs, at their depth) are taken as
    /// fast as they come, the frontier spilling to disk, so a recrawl's are all seen before any
    /// link is followed (see `Scheduler::revisits`); a revisit given as a seed (Ruby, or
    /// `crawl` with last visits) of a URL already seen is dropped: a link got there first.
    pub(super) fn add_seed(&mut self, mut request: Request) {
        self.normalize_seed(&mut request);
        let new = self.seen.insert(fingerprint(&request.url));
        if request.last_visit.is_some() {
            self.revisiting = true;
        }
        if self.revisiting && !new {
            // A recrawl's seed given again is its revisit, already queued.
            return;
        }
        if self.resumed && !new {
            return; // done, or already queued again from the journal
        }
        if !self.admit(&request) {
            return;
        }
        let discovery = self.sitemap_plan.discovery(&request);
        self.journal(&request);
        self.queue(request);
        if let Some(discovery) = discovery {
            // Behind the seed in its host's queue: the seed's page comes first.
            self.journal(&discovery);
            self.queue(discovery);
        }
        self.publish_sizes();
    }

    /// Normalizes a seed's URL (an invalid one stays as it is, to fail as a page) and trusts its
    /// host (see `private_addresses`), unless it was found by a link (a recrawl's revisit of a
    /// discovered page: its host proved nothing, and may resolve elsewhere now).
    fn normalize_seed(&self, request: &mut Request) {
        if let Ok(url) = parse_request_url(&request.url) {
            if let Some(host) = url.host_str().filter(|_| request.depth == 0) {
                self.ctx.guard.trust_seed_host(host);
            }
            request.url = url.into();
        }
    }

    /// The address guard trusts the host of a seed (see `private_addresses`).
    fn trust_seed_host(&self, seed: &str) {
        if let Ok(url) = Url::parse(seed) {
            if let Some(host) = url.host_str() {
                self.ctx.guard.trust_seed_host(host);
            }
        }
    }

    /// A shared crawl's seeds go to Redis, with those already waiting in one batch.
    pub(super) fn forward_seeds(&mut self, first: Request) {
        let mut batch = vec![first];
        while batch.len() < SEED_BATCH {
            match self.seeds.try_recv() {
                Ok(request) => batch.push(request),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.seeds_open = false;
                    break;
                }
            }
        }
        for request in &mut batch {
            self.normalize_seed(request);
        }
        self.tell_agent(Command::Seeds(batch));
        if !self.seeds_open {
            self.tell_agent(Command::SeedsClosed);
        }
    }

    /// A request leased from Redis: queued here until its host is free.
    pub(super) fn add_leased(&mut self, request: Request) {
        if request.depth == 0 {
            // A seed (maybe queued by `ucrawler enqueue` elsewhere): its host is trusted.
            self.trust_seed_host(&request.url);
        }
        if let Some(discovery) = self.sitemap_plan.discovery(&request) {
            // To Redis, like a link: its seen set makes it one discovery per site for the
            // whole fleet, and any worker may take it.
            self.tell_agent(Command::Links(vec![discovery]));
        }
        self.queue(request);
        self.publish_sizes();
    }
}

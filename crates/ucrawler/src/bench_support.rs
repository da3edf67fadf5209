//! Entry points for the criterion benches of parts that are not public (`benches/`): not part
//! of the API, no stability promised.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::page::Request;
use crate::politeness::{HostGate, Limits};
use crate::schedule::Frontier;

/// The scheduler's admission path without the network: a frontier of `hosts` × `pages`
/// requests, admitted through the host gate with at most `concurrency` in flight, the oldest
/// request ending whenever that is reached (so hosts keep going busy and free again).
pub struct Admission {
    frontier: Frontier,
    gate: HostGate,
    limits: Limits,
    concurrency: usize,
    in_flight: VecDeque<String>,
    freed: bool,
}

impl Admission {
    pub fn new(hosts: usize, pages: usize, per_host: usize, concurrency: usize) -> Self {
        let mut frontier = Frontier::new(None, hosts * pages + 1);
        for page in 0..pages {
            for host in 0..hosts {
                let key = format!("host{host}.example:80");
                frontier.push(Request::new(format!("http://{key}/page/{page}")));
            }
        }
        Self {
            frontier,
            gate: HostGate::new(),
            limits: Limits {
                per_host,
                delay: Duration::ZERO,
            },
            concurrency,
            in_flight: VecDeque::new(),
            freed: false,
        }
    }

    /// Admits the next request (ending the oldest in flight first when all places are taken);
    /// `false` once every request was admitted.
    pub fn admit(&mut self) -> bool {
        let now = Instant::now();
        if self.in_flight.len() >= self.concurrency {
            if let Some(host) = self.in_flight.pop_front() {
                self.gate
                    .finish(&host, self.limits, now, Duration::ZERO, None);
                self.freed = true;
            }
        }
        let Some((host, _request)) = self.frontier.pop_ready(
            &self.gate,
            self.limits,
            now,
            std::mem::take(&mut self.freed),
        ) else {
            // Every queued host is busy: end a request and look again.
            return match self.in_flight.pop_front() {
                Some(host) => {
                    self.gate
                        .finish(&host, self.limits, now, Duration::ZERO, None);
                    self.freed = true;
                    true
                }
                None => false,
            };
        };
        if self.gate.try_start(&host, self.limits, now, None, false) {
            self.in_flight.push_back(host.to_string());
        }
        true
    }
}

//! The live status of a crawl on stderr, from the engine's stats: a line redrawn 5 times a
//! second on a terminal, or a plain line every few seconds when stderr is a file or a pipe (a
//! log keeps every line, so it gets few).

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ucrawler::units::format_size;
use ucrawler::Stats;

use crate::human;

/// How often a plain line is printed by default (`--progress-interval`).
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(5);
/// How often the terminal line is redrawn.
const TERMINAL_REFRESH: Duration = Duration::from_millis(200);
/// The rate and the ETA look at this much of the recent past: long enough to smooth out bursts,
/// short enough to follow a crawl that slows down.
const WINDOW: Duration = Duration::from_secs(10);
/// Below this much history the rate is the crawl's average instead.
const MIN_WINDOW: Duration = Duration::from_secs(1);
/// Estimates beyond this are not estimates.
const MAX_ETA: Duration = Duration::from_secs(100 * 24 * 3600);

enum Sink {
    Off,
    Terminal(ProgressBar),
    /// Plain lines to stderr, this far apart.
    Lines(Duration),
}

pub struct Progress {
    sink: Sink,
    next: Instant,
    window: Window,
    /// `max_pages`: the crawl ends there, whatever the frontier holds.
    max_pages: Option<u64>,
}

impl Progress {
    /// `enabled`: not `--quiet`; `plain_every`: the interval of plain lines (zero: none).
    pub fn start(enabled: bool, plain_every: Duration, max_pages: Option<u64>) -> Self {
        let sink = if !enabled {
            Sink::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(TERMINAL_REFRESH);
            Sink::Terminal(bar)
        } else if plain_every.is_zero() {
            Sink::Off
        } else {
            Sink::Lines(plain_every)
        };
        let every = match &sink {
            Sink::Lines(every) => *every,
            _ => TERMINAL_REFRESH,
        };
        Self {
            sink,
            next: Instant::now() + every,
            window: Window::default(),
            max_pages,
        }
    }

    /// Shows the crawl's state if it is time to (`stats` is only called then).
    pub fn refresh(&mut self, stats: impl FnOnce() -> Stats) {
        let now = Instant::now();
        if matches!(self.sink, Sink::Off) || now < self.next {
            return;
        }
        let stats = stats();
        self.window
            .push(stats.elapsed, stats.pages, stats.frontier, WINDOW);
        let rate = self.window.rate().unwrap_or(stats.pages_per_sec);
        let cap_left = self.max_pages.map(|max| max.saturating_sub(stats.pages));
        let eta = eta(rate, self.window.queue_shrank(), stats.frontier, cap_left);
        let line = status_line(&stats, rate, eta);
        match &self.sink {
            Sink::Off => {}
            Sink::Terminal(bar) => {
                bar.set_message(line);
                self.next = now + TERMINAL_REFRESH;
            }
            Sink::Lines(every) => {
                eprintln!("progress: {line}");
                self.next = now + *every;
            }
        }
    }

    /// Clears the terminal line (the report follows).
    pub fn finish(&self) {
        if let Sink::Terminal(bar) = &self.sink {
            bar.finish_and_clear();
        }
    }
}

/// `1,234 pages, 567 queued, 3 errors, 246 pages/s, 12.3 MiB, memory 40.1 MiB of 1.0 GiB,
/// hosts 12 active 1 paused, elapsed 0:05, ETA 0:02`.
pub fn status_line(stats: &Stats, rate: f64, eta: Option<Duration>) -> String {
    let mut line = format!(
        "{}, {} queued, {}, {} pages/s, {}, memory {} of {}, hosts {} active {} paused, elapsed {}",
        human::counted(stats.pages, "page"),
        human::count(stats.frontier),
        human::counted(stats.errors, "error"),
        human::rate(rate),
        format_size(stats.bytes),
        format_size(stats.memory.used),
        format_size(stats.memory.limit),
        human::count(stats.hosts_active),
        human::count(stats.hosts_paused),
        human::clock(stats.elapsed),
    );
    if let Some(eta) = eta {
        line.push_str(&format!(", ETA {}", human::clock(eta)));
    }
    line
}

/// How long the rest takes at `rate` pages/s, when that can be told: the queue shrank over the
/// window (a frontier still growing says nothing about the end), or `max_pages` will end the
/// crawl before the queue runs out (`cap_left`: pages until then).
pub fn eta(rate: f64, queue_shrank: bool, queued: u64, cap_left: Option<u64>) -> Option<Duration> {
    if !rate.is_finite() || rate <= 0.0 {
        return None;
    }
    let left = match cap_left {
        Some(left) if left <= queued => left,
        _ if queue_shrank && queued > 0 => queued,
        _ => return None,
    };
    Duration::try_from_secs_f64(left as f64 / rate)
        .ok()
        .filter(|eta| *eta <= MAX_ETA)
}

/// Pages and queue size over the recent past: `(elapsed, pages, queued)`, oldest first, the
/// oldest one at least the window's span old once there is that much history.
#[derive(Default)]
struct Window(VecDeque<(Duration, u64, u64)>);

impl Window {
    fn push(&mut self, elapsed: Duration, pages: u64, queued: u64, span: Duration) {
        self.0.push_back((elapsed, pages, queued));
        while self.0.len() > 2 && elapsed.saturating_sub(self.0[1].0) >= span {
            self.0.pop_front();
        }
    }

    /// Pages/s between the oldest sample and the newest, once they are `MIN_WINDOW` apart.
    fn rate(&self) -> Option<f64> {
        let (&(then, pages_then, _), &(now, pages_now, _)) = (self.0.front()?, self.0.back()?);
        let span = now.saturating_sub(then);
        (span >= MIN_WINDOW)
            .then(|| pages_now.saturating_sub(pages_then) as f64 / span.as_secs_f64())
    }

    fn queue_shrank(&self) -> bool {
        match (self.0.front(), self.0.back()) {
            (Some(&(_, _, then)), Some(&(_, _, now))) => now < then,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use ucrawler::memory::MemoryStats;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_eta_only_when_the_end_can_be_told() {
        // The queue shrinks: what is queued, at the rate.
        assert_eq!(eta(100.0, true, 1000, None), Some(secs(10)));
        // Still growing, or nothing queued, or no progress: no ETA.
        assert_eq!(eta(100.0, false, 1000, None), None);
        assert_eq!(eta(100.0, true, 0, None), None);
        assert_eq!(eta(0.0, true, 1000, None), None);
        assert_eq!(eta(f64::NAN, true, 1000, None), None);
        // max_pages comes first: growing or not, the crawl ends there.
        assert_eq!(eta(50.0, false, 1000, Some(100)), Some(secs(2)));
        // The queue runs out first.
        assert_eq!(eta(50.0, true, 100, Some(1000)), Some(secs(2)));
        assert_eq!(eta(50.0, false, 100, Some(1000)), None);
        // Nonsense is left out.
        assert_eq!(eta(1e-9, true, u64::MAX, None), None);
    }

    #[test]
    fn the_rate_is_over_the_recent_window() {
        let mut window = Window::default();
        window.push(secs(0), 0, 10, secs(10));
        assert_eq!(window.rate(), None, "not enough history");
        // 10 pages/s for 20 s, then 100 pages/s for 10 s.
        for t in 1..=20 {
            window.push(secs(t), t * 10, 10 + t, secs(10));
        }
        assert_eq!(window.rate(), Some(10.0));
        assert!(!window.queue_shrank());
        for t in 21..=30 {
            window.push(secs(t), 200 + (t - 20) * 100, 30 - (t - 20), secs(10));
        }
        assert_eq!(window.rate(), Some(100.0));
        assert!(window.queue_shrank());
        assert!(window.0.len() <= 12, "bounded: {}", window.0.len());
    }

    #[test]
    fn the_status_line_has_every_field() {
        let stats = Stats {
            pages: 12_345,
            frontier: 6_789,
            errors: 1,
            bytes: 3 * 1024 * 1024,
            elapsed: secs(75),
            memory: MemoryStats {
                used: 40 * 1024 * 1024,
                limit: 1024 * 1024 * 1024,
                ..MemoryStats::default()
            },
            hosts_active: 1_200,
            hosts_paused: 3,
            ..Stats::default()
        };
        assert_eq!(
            status_line(&stats, 159.7006, Some(secs(42))),
            "12,345 pages, 6,789 queued, 1 error, 160 pages/s, 3.0 MiB, \
             memory 40.0 MiB of 1.0 GiB, hosts 1,200 active 3 paused, elapsed 1:15, ETA 0:42"
        );
        assert!(status_line(&stats, 12.34, None)
            .ends_with("12.3 pages/s, 3.0 MiB, memory 40.0 MiB of 1.0 GiB, hosts 1,200 active 3 paused, elapsed 1:15"));
    }
}

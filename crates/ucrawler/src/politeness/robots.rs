//! robots.txt (RFC 9309): fetched once per host (`scheme://host:port`) and cached with a TTL in a
//! bounded table shared by all crawls of a crawler. Matching (user-agent groups, Allow/Disallow
//! with `*` and `$`, longest match wins) is the `texting_robots` crate's. A 4xx robots.txt allows
//! everything; a 5xx (or a robots.txt that times out) disallows everything, and a host whose
//! robots.txt cannot be reached fails its pages with that transport error (so a dead host reads
//! as `connect`, not as `robots_disallowed`), both for `UNREACHABLE_TTL`; then robots.txt is
//! fetched again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use reqwest::header::LOCATION;
use reqwest::Client;
use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::CrawlError;

/// How long a fetched robots.txt is trusted.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long an unreachable (or 5xx) robots.txt means "disallow all" before we ask again.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(60);
/// robots.txt bodies are read up to this size (RFC 9309 asks for at least 500 KiB).
const MAX_ROBOTS_BYTES: usize = 512 * 1024;
/// Redirects followed for robots.txt (RFC 9309: at least five).
const MAX_ROBOTS_REDIRECTS: usize = 5;

/// The rules for one origin.
#[derive(Debug, Clone)]
pub enum Rules {
    AllowAll,
    DisallowAll,
    Parsed(Arc<Robot>),
    /// robots.txt could not be fetched at all (refused address, DNS, connect, timeout): pages
    /// of the host fail with this error until `UNREACHABLE_TTL` has passed.
    Unreachable(CrawlError),
}

impl Rules {
    pub fn allows(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll | Rules::Unreachable(_) => url.path() == "/robots.txt",
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The group's Crawl-delay, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot
                .delay
                .and_then(|d| Duration::try_from_secs_f32(d).ok()),
            _ => None,
        }
    }
}

struct Entry {
    cell: OnceCell<(Rules, Instant)>,
}

/// The per-crawler robots.txt cache.
pub struct RobotsCache {
    agent: String,
    capacity: usize,
    entries: Mutex<Table>,
}

/// Entries by origin, and origins in insertion order (the eviction order).
#[derive(Default)]
struct Table {
    map: HashMap<String, Arc<Entry>>,
    order: VecDeque<String>,
}

/// `scheme://host:port`, the unit robots.txt applies to.
pub fn origin(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The robots.txt product token of a User-Agent: `ucrawler/0.1 (+…)` → `ucrawler`.
pub fn product_token(user_agent: &str) -> String {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or("ucrawler")
        .to_string()
}

impl RobotsCache {
    pub fn new(user_agent: &str, capacity: usize) -> Self {
        Self {
            agent: product_token(user_agent),
            capacity: capacity.max(1),
            entries: Mutex::new(Table::default()),
        }
    }

    fn entry(&self, key: &str) -> Arc<Entry> {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Table { map, order } = &mut *guard;
        if let Some(entry) = map.get(key) {
            let expired = entry
                .cell
                .get()
                .is_some_and(|(_, expires)| *expires <= Instant::now());
            if !expired {
                return entry.clone();
            }
        }
        while map.len() >= self.capacity {
            // Oldest first; an entry already replaced is skipped.
            let Some(oldest) = order.pop_front() else {
                break;
            };
            map.remove(&oldest);
        }
        let entry = Arc::new(Entry {
            cell: OnceCell::new(),
        });
        if map.insert(key.to_string(), entry.clone()).is_none() {
            order.push_back(key.to_string());
        }
        entry
    }

    /// The rules for `url`'s origin if already known (no fetching).
    pub fn cached(&self, url: &Url) -> Option<Rules> {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (rules, expires) = guard.map.get(&origin(url))?.cell.get()?;
        (*expires > Instant::now()).then(|| rules.clone())
    }

    /// The rules for `url`'s origin, fetching robots.txt once if needed (concurrent callers
    /// for one origin share that fetch).
    pub async fn rules(&self, client: &Client, url: &Url, timeout: Duration) -> Rules {
        let key = origin(url);
        let entry = self.entry(&key);
        let (rules, _) = entry
            .cell
            .get_or_init(|| async {
                let (rules, ttl) = self.fetch(client, url, timeout).await;
                (rules, Instant::now() + ttl)
            })
            .await;
        rules.clone()
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    async fn fetch(&self, client: &Client, url: &Url, timeout: Duration) -> (Rules, Duration) {
        let Ok(mut target) = url.join("/robots.txt") else {
            return (Rules::AllowAll, TTL);
        };
        let fetched = tokio::time::timeout(timeout, async {
            for _ in 0..=MAX_ROBOTS_REDIRECTS {
                let mut response = match client.get(target.clone()).send().await {
                    Ok(response) => response,
                    Err(e) => return Some(Err(CrawlError::from_reqwest(&e))),
                };
                let status = response.status();
                if status.is_redirection() {
                    let location = response.headers().get(LOCATION)?.to_str().ok()?;
                    target = target.join(location).ok()?;
                    continue;
                }
                if !status.is_success() {
                    return Some(Ok((status.as_u16(), BytesMut::new())));
                }
                let mut body = BytesMut::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    let room = MAX_ROBOTS_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_ROBOTS_BYTES {
                        break;
                    }
                }
                return Some(Ok((status.as_u16(), body)));
            }
            None
        })
        .await
        .ok()
        .flatten();
        rules_for(&self.agent, fetched)
    }
}

/// What a robots.txt fetch means: its status and body, a transport error, or `None` when it
/// timed out or redirected too often. Returns the rules and how long to trust them.
pub(crate) fn rules_for(
    agent: &str,
    fetched: Option<Result<(u16, BytesMut), CrawlError>>,
) -> (Rules, Duration) {
    match fetched {
        Some(Ok((status, body))) if (200..300).contains(&status) => {
            match Robot::new(agent, &body) {
                Ok(robot) => (Rules::Parsed(Arc::new(robot)), TTL),
                // Unparseable rules: behave as if there were none (RFC 9309 §2.3.1.3 spirit).
                Err(_) => (Rules::AllowAll, TTL),
            }
        }
        Some(Ok((status, _))) if (400..500).contains(&status) => (Rules::AllowAll, TTL),
        // Out of descriptors for a moment: ask again at once, never remember it.
        Some(Err(error)) if error.is_out_of_descriptors() => {
            (Rules::Unreachable(error), Duration::ZERO)
        }
        Some(Err(error)) => (Rules::Unreachable(error), UNREACHABLE_TTL),
        _ => (Rules::DisallowAll, UNREACHABLE_TTL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn robot(txt: &str) -> Rules {
        Rules::Parsed(Arc::new(Robot::new("ucrawler", txt.as_bytes()).unwrap()))
    }

    fn allows(rules: &Rules, path: &str) -> bool {
        rules.allows(&Url::parse(&format!("http://example.com{path}")).unwrap())
    }

    #[test]
    fn rfc9309_examples() {
        // RFC 9309 §5.1: the group for our product token, else `*`.
        let rules = robot(
            "User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n\n\
             User-Agent: foobot\nDisallow:/\nAllow:/example/page.html\nAllow:/example/allowed.gif\n\n\
             User-Agent: ucrawler\nDisallow: /private\nAllow: /private/open$\nCrawl-delay: 2\n",
        );
        assert!(allows(&rules, "/example/"), "our own group replaces `*`");
        assert!(!allows(&rules, "/private/x"));
        assert!(allows(&rules, "/private/open"), "longest match wins");
        assert!(!allows(&rules, "/private/open/more"), "`$` anchors the end");
        assert_eq!(rules.crawl_delay(), Some(Duration::from_secs(2)));

        let star =
            robot("User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n");
        assert!(!allows(&star, "/img/a.gif"));
        assert!(allows(&star, "/img/a.gif?x=1"), "`$` is the end of the URL");
        assert!(!allows(&star, "/example/page.html"));
        assert!(allows(&star, "/publications/x"));
        assert_eq!(star.crawl_delay(), None);

        // §2.2.2: when Allow and Disallow match equally long, Allow wins.
        let tie = robot("User-Agent: *\nDisallow: /page\nAllow: /page\n");
        assert!(allows(&tie, "/page"));
    }

    #[test]
    fn fallbacks() {
        let url = Url::parse("http://example.com/x").unwrap();
        assert!(Rules::AllowAll.allows(&url));
        assert!(!Rules::DisallowAll.allows(&url));
        assert_eq!(product_token("ucrawler/0.1.0 (+https://x)"), "ucrawler");
        assert_eq!(product_token("MyBot"), "MyBot");
        assert_eq!(origin(&url), "http://example.com:80");
    }

    #[test]
    fn cache_is_bounded() {
        let cache = RobotsCache::new("ucrawler/1", 3);
        for i in 0..10 {
            cache.entry(&format!("http://h{i}:80"));
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn fetch_outcomes() {
        let url = Url::parse("http://example.com/page").unwrap();
        let ok = |status: u16, body: &str| {
            rules_for("ucrawler", Some(Ok((status, BytesMut::from(body)))))
        };
        let (rules, ttl) = ok(200, "User-agent: *\nDisallow: /page\n");
        assert!(!rules.allows(&url) && ttl == TTL);
        let (rules, ttl) = ok(404, "");
        assert!(rules.allows(&url) && ttl == TTL, "4xx: allow all");
        let (rules, ttl) = ok(503, "");
        assert!(
            !rules.allows(&url) && ttl == UNREACHABLE_TTL,
            "5xx: disallow for a while"
        );
        let (rules, _) = rules_for("ucrawler", None);
        assert!(!rules.allows(&url), "timed out: disallow for a while");
        let (rules, ttl) = rules_for("ucrawler", Some(Err(CrawlError::Connect("refused".into()))));
        assert!(
            matches!(rules, Rules::Unreachable(CrawlError::Connect(_))) && ttl == UNREACHABLE_TTL
        );
    }
}

//! The rules of one robots.txt for our product token (RFC 9309), parsed and matched by hand.
//!
//! Why not a regex per rule (as `texting_robots` compiles): its memory is out of all proportion
//! to the file. Measured: 20 `*` rules cost 175 KB per origin, 200 cost 1.7 MB before the first
//! match and twice that after; a 500 KiB robots.txt of wildcard rules is a memory bomb outside
//! `max_memory`, and one pattern over the regex size limit voided the whole file. Here a rule is
//! its pattern text: an origin's rules cost about the bytes of its group, and a match is linear.
//!
//! - Groups: consecutive `User-agent` lines open one; the groups naming our token
//!   (case-insensitive, the name up to its first character outside `[A-Za-z_-]`) are merged,
//!   else those of `*`, else nothing applies.
//! - Rules: `Allow`/`Disallow` with `*` (any sequence) and a final `$` (end of URL), matched
//!   against the path and query; the longest pattern wins, `Allow` on a tie; an empty
//!   `Disallow` is no rule; `/robots.txt` is always allowed.
//! - Bytes outside ASCII are percent-encoded and escapes put in the same form as our URLs.

use url::{Position, Url};

use crate::url::normalize_escapes;

/// A pattern longer than this is cut (a `Disallow`, which then covers more) or dropped (an
/// `Allow`, which would cover less). Keeps a match linear in a bounded pattern.
const MAX_PATTERN: usize = 2048;
/// `Sitemap:` lines kept, at most (the rest are ignored), and the longest URL kept.
const MAX_SITEMAP_LINES: usize = 50;
const MAX_SITEMAP_URL: usize = 2048;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct RobotRules {
    rules: Vec<Rule>,
    /// The group's `Crawl-delay` in seconds, as written (the caller caps it).
    pub crawl_delay: Option<f64>,
    /// The file's `Sitemap:` URLs (they belong to no group), as written, bounded.
    pub sitemaps: Vec<Box<str>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    /// Without its final `$`; `*` runs collapsed to one.
    pattern: Box<str>,
    anchored: bool,
}

impl Rule {
    /// Length for "the longest match wins": the pattern as written, `$` included.
    fn weight(&self) -> usize {
        self.pattern.len() + usize::from(self.anchored)
    }

    fn matches(&self, path: &str) -> bool {
        let mut segments = self.pattern.split('*');
        let first = segments.next().unwrap_or_default();
        let Some(mut rest) = path.strip_prefix(first) else {
            return false;
        };
        let Some(last) = segments.next_back() else {
            // No `*`: a prefix, or the whole path with `$`.
            return !self.anchored || rest.is_empty();
        };
        // Each literal between stars at its leftmost place leaves the most room for the rest.
        for middle in segments {
            match rest.find(middle) {
                Some(at) => rest = &rest[at + middle.len()..],
                None => return false,
            }
        }
        if self.anchored {
            rest.ends_with(last)
        } else {
            rest.contains(last)
        }
    }
}

/// Whether a group applies, and where its lines go.
#[derive(Default)]
struct Group {
    ours: bool,
    star: bool,
}

impl RobotRules {
    /// Parses `body` for the product token `agent` (as [`super::product_token`] gives it).
    pub fn parse(agent: &str, body: &[u8]) -> RobotRules {
        let text = String::from_utf8_lossy(body);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (mut ours, mut star) = (RobotRules::default(), RobotRules::default());
        let mut named_us = false;
        let mut group: Option<Group> = None;
        let mut in_rules = false;
        let mut sitemaps = Vec::new();
        for line in text.split(['\n', '\r', '\0']) {
            let line = line.split('#').next().unwrap_or_default();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "user-agent" | "useragent" | "user agent" => {
                    if in_rules || group.is_none() {
                        group = Some(Group::default());
                        in_rules = false;
                    }
                    let name: String = value
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '*'))
                        .collect();
                    if let Some(group) = group.as_mut() {
                        if name == "*" {
                            group.star = true;
                        } else if !name.is_empty() && name.eq_ignore_ascii_case(agent) {
                            group.ours = true;
                            named_us = true;
                        }
                    }
                }
                field @ ("allow" | "disallow" | "disalow" | "dissallow" | "crawl-delay") => {
                    in_rules = true;
                    let Some(group) = group.as_ref() else {
                        continue; // rules before any User-agent apply to no one
                    };
                    for (applies, rules) in [(group.ours, &mut ours), (group.star, &mut star)] {
                        if applies {
                            rules.add(field, value);
                        }
                    }
                }
                "sitemap" | "site-map" => {
                    // `#` ended the line above: a URL's fragment is no part of a sitemap's.
                    let fits = !value.is_empty() && value.len() <= MAX_SITEMAP_URL;
                    if fits && sitemaps.len() < MAX_SITEMAP_LINES {
                        sitemaps.push(value.into());
                    }
                }
                _ => {}
            }
        }
        let mut rules = if named_us { ours } else { star };
        rules.sitemaps = sitemaps;
        rules
    }

    fn add(&mut self, field: &str, value: &str) {
        if field == "crawl-delay" {
            if self.crawl_delay.is_none() {
                self.crawl_delay = value.parse::<f64>().ok();
            }
            return;
        }
        let allow = field == "allow";
        if value.is_empty() {
            return; // `Disallow:` with nothing allows everything: no rule.
        }
        let (mut pattern, mut anchored) = match value.strip_suffix('$') {
            Some(stripped) => (normalize_pattern(stripped), true),
            None => (normalize_pattern(value), false),
        };
        if pattern.len() > MAX_PATTERN {
            if allow {
                return;
            }
            let mut cut = MAX_PATTERN;
            while !pattern.is_char_boundary(cut) {
                cut -= 1;
            }
            pattern.truncate(cut);
            anchored = false;
        }
        self.rules.push(Rule {
            allow,
            pattern: pattern.into_boxed_str(),
            anchored,
        });
    }

    /// Whether `url` may be fetched.
    pub fn allowed(&self, url: &Url) -> bool {
        // Path and query, borrowed from the URL's text: checked for every request, so no copy.
        let path = &url[Position::BeforePath..Position::AfterQuery];
        if path == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            let candidate = (rule.weight(), rule.allow);
            if best.is_none_or(|b| candidate > b) && rule.matches(path) {
                best = Some(candidate);
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }

    /// Bytes these rules hold (for the cache's bound).
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .rules
                .iter()
                .map(|rule| std::mem::size_of::<Rule>() + rule.pattern.len())
                .sum::<usize>()
            + self
                .sitemaps
                .iter()
                .map(|url| std::mem::size_of::<Box<str>>() + url.len())
                .sum::<usize>()
    }
}

/// A pattern in the form our URLs have: non-ASCII percent-encoded, escapes normalized, a
/// leading `/` when it has none, `*` runs collapsed.
fn normalize_pattern(raw: &str) -> String {
    let mut encoded = String::with_capacity(raw.len() + 1);
    if !raw.starts_with(['/', '*']) {
        encoded.push('/');
    }
    let mut last_star = false;
    for c in raw.chars() {
        if c == '*' && last_star {
            continue;
        }
        last_star = c == '*';
        if c.is_ascii() {
            encoded.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if encoded.contains('%') {
        normalize_escapes(&encoded)
    } else {
        encoded
    }
}

//! `X-Robots-Tag` response headers: `noindex`, `nofollow` and `none`, for every crawler or
//! for our product token (`ucrawler: nofollow`), honoured like `<meta name="robots">`. Other
//! directives (`noarchive`, `unavailable_after: …`) and other crawlers' are ignored.

use reqwest::header::HeaderMap;

/// Header values read at most: a server cannot make us parse more than this.
const MAX_VALUES: usize = 16;
const MAX_VALUE_LEN: usize = 1024;
/// Directives that take a value after a colon (not a crawler's name).
const VALUED: [&str; 4] = [
    "unavailable_after",
    "max-snippet",
    "max-image-preview",
    "max-video-preview",
];

/// What a response's `X-Robots-Tag` headers ask of us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RobotsTag {
    pub noindex: bool,
    pub nofollow: bool,
}

impl RobotsTag {
    /// From a response's headers, for the product token `agent`.
    pub fn from_headers(headers: &HeaderMap, agent: &str) -> Self {
        let mut tag = RobotsTag::default();
        for value in headers.get_all("x-robots-tag").iter().take(MAX_VALUES) {
            if let Ok(value) = value.to_str() {
                if value.len() <= MAX_VALUE_LEN {
                    tag.add(value, agent);
                }
            }
        }
        tag
    }

    /// One header value: directives, comma-separated, each list optionally led by `agent:`.
    fn add(&mut self, value: &str, agent: &str) {
        let mut applies = true;
        for part in value.split(',') {
            let mut directive = part.trim();
            if let Some((prefix, rest)) = directive.split_once(':') {
                let prefix = prefix.trim();
                if VALUED.iter().any(|d| prefix.eq_ignore_ascii_case(d)) {
                    continue;
                }
                // `name: directives` scopes what follows to that crawler.
                applies = prefix.eq_ignore_ascii_case(agent);
                directive = rest.trim();
            }
            if !applies {
                continue;
            }
            match directive.to_ascii_lowercase().as_str() {
                "noindex" => self.noindex = true,
                "nofollow" => self.nofollow = true,
                "none" => (self.noindex, self.nofollow) = (true, true),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn tag(values: &[&str]) -> RobotsTag {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-robots-tag", HeaderValue::from_str(value).unwrap());
        }
        RobotsTag::from_headers(&headers, "ucrawler")
    }

    #[test]
    fn directives_for_everyone_and_for_us() {
        assert_eq!(tag(&[]), RobotsTag::default());
        assert_eq!(
            tag(&["NoIndex"]),
            RobotsTag {
                noindex: true,
                nofollow: false
            }
        );
        assert_eq!(
            tag(&["none"]),
            RobotsTag {
                noindex: true,
                nofollow: true
            }
        );
        assert!(tag(&["noarchive", "nofollow"]).nofollow);
        assert!(tag(&["UCrawler: nofollow"]).nofollow);
        assert_eq!(tag(&["googlebot: noindex, nofollow"]), RobotsTag::default());
        assert_eq!(
            tag(&["googlebot: noindex, ucrawler: nofollow"]),
            RobotsTag {
                noindex: false,
                nofollow: true
            }
        );
        assert!(tag(&["unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"]).noindex);
        assert!(tag(&["max-snippet: 20, nofollow"]).nofollow);
    }
}

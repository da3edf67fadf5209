//! A page's links: resolved against its base, normalized, without session-id parameters
//! (`strip_query_params`), each kept once up to `max_links_per_page`, with whether every anchor
//! to it is `rel="nofollow"`.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use url::Url;

use crate::config::Config;
use crate::url::{fingerprint, resolve};

/// How a page's links are collected, from the crawler's configuration.
#[derive(Debug, Clone)]
pub(super) struct LinkPolicy {
    pub max_links: usize,
    /// Query parameters removed from every link, lower-cased (`jsessionid` also goes as a
    /// `;jsessionid=` path parameter).
    strip_params: Vec<String>,
}

impl LinkPolicy {
    pub fn new(config: &Config) -> Self {
        Self {
            max_links: config.max_links_per_page,
            strip_params: (config.strip_query_params.iter())
                .map(|name| name.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Resolves `hrefs` (with whether their anchor is `rel="nofollow"`) against `base`:
    /// the links, and those of them every anchor to which is nofollow.
    pub fn collect<'a>(
        &self,
        base: &Url,
        hrefs: impl Iterator<Item = (Cow<'a, str>, bool)>,
    ) -> (Vec<Url>, Vec<Url>) {
        // Sized once: growing them a link at a time was a fair share of a page's allocations.
        let expected = hrefs.size_hint().0.min(self.max_links);
        let mut links = Vec::with_capacity(expected);
        // Per link: whether every anchor to it so far was nofollow.
        let mut seen: HashMap<u64, usize> = HashMap::with_capacity(expected);
        let mut only_nofollow = Vec::with_capacity(expected);
        for (href, nofollow) in hrefs {
            let Some(mut link) = resolve(base, &href) else {
                continue;
            };
            self.strip(&mut link);
            match seen.entry(fingerprint(link.as_str())) {
                Entry::Occupied(at) => only_nofollow[*at.get()] &= nofollow,
                Entry::Vacant(slot) if links.len() < self.max_links => {
                    slot.insert(links.len());
                    links.push(link);
                    only_nofollow.push(nofollow);
                }
                Entry::Vacant(_) => {}
            }
        }
        if links.capacity() > 2 * links.len() {
            links.shrink_to_fit(); // many repeated hrefs: the page keeps only what it links to
        }
        let nofollow = (links.iter().zip(only_nofollow))
            .filter(|(_, nofollow)| *nofollow)
            .map(|(link, _)| link.clone())
            .collect();
        (links, nofollow)
    }

    /// Removes the session-id parameters: the same page under a new id on every visit would be a
    /// new URL each time (a trap, and duplicates).
    fn strip(&self, url: &mut Url) {
        if self.strip_params.is_empty() {
            return;
        }
        let stripped = |name: &str| {
            let name = name.to_ascii_lowercase();
            self.strip_params.contains(&name)
        };
        if let Some(query) = url.query() {
            // Only the stripped pairs go: the rest of the query stays byte for byte.
            let kept: Vec<&str> = (query.split('&'))
                .filter(|pair| pair.is_empty() || !stripped(pair.split('=').next().unwrap_or("")))
                .collect();
            if kept.len() != query.split('&').count() {
                let kept = kept.join("&");
                url.set_query((!kept.is_empty()).then_some(kept.as_str()));
            }
        }
        if url.path().contains(';') {
            // Java's `;jsessionid=…` path parameter.
            let path: Vec<String> = (url.path().split('/'))
                .map(|segment| match segment.split_once(';') {
                    Some((name, param)) if stripped(param.split('=').next().unwrap_or("")) => {
                        name.to_string()
                    }
                    _ => segment.to_string(),
                })
                .collect();
            url.set_path(&path.join("/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(html_hrefs: &[&str], strip: &[&str]) -> Vec<String> {
        let config = Config {
            strip_query_params: strip.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        };
        let base = Url::parse("http://h.test/dir/").unwrap();
        let hrefs = html_hrefs.iter().map(|h| (Cow::Borrowed(*h), false));
        let (links, _) = LinkPolicy::new(&config).collect(&base, hrefs);
        links.into_iter().map(String::from).collect()
    }

    #[test]
    fn session_ids_are_stripped_and_the_rest_kept() {
        let strip = ["jsessionid", "PHPSESSID", "sid"];
        assert_eq!(
            links(
                &[
                    "/a?PHPSESSID=1&page=2",
                    "/a?page=2&phpsessid=9",
                    "/b;jsessionid=ABC?x=1",
                    "/c?sid=1",
                    "/d?side=1&sid",
                    "/e?a=1&&b=2",
                ],
                &strip
            ),
            [
                "http://h.test/a?page=2",
                "http://h.test/b?x=1",
                "http://h.test/c",
                "http://h.test/d?side=1",
                "http://h.test/e?a=1&&b=2"
            ]
        );
        assert_eq!(
            links(&["/a?sid=1"], &[]),
            ["http://h.test/a?sid=1"],
            "nothing to strip"
        );
    }

    #[test]
    fn a_page_of_repeated_hrefs_keeps_only_room_for_its_links() {
        let base = Url::parse("http://h.test/").unwrap();
        let hrefs = (0..1000).map(|i| (Cow::Owned(format!("/{}", i % 3)), false));
        let (links, _) = LinkPolicy::new(&Config::default()).collect(&base, hrefs);
        assert_eq!(links.len(), 3);
        assert!(links.capacity() < 1000, "{}", links.capacity());
    }
}

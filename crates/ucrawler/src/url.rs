//! URL normalization and scope rules. A URL is normalized once, when it is discovered; from then
//! on its string form is its identity (and its 64-bit fingerprint the key of the seen set).

use regex::RegexSet;
use url::Url;

use crate::config::Config;
use crate::error::{ConfigError, CrawlError};

/// Parses a request's URL (a seed's, or one read back from a queue) and normalizes it. Only http and https are crawlable.
pub fn parse_request_url(input: &str) -> Result<Url, CrawlError> {
    let url =
        Url::parse(input.trim()).map_err(|e| CrawlError::InvalidUrl(format!("{input:?}: {e}")))?;
    if !is_crawlable(&url) {
        return Err(CrawlError::InvalidUrl(format!(
            "{input:?}: only http and https URLs with a host can be crawled"
        )));
    }
    Ok(normalize(url))
}

/// Resolves an `href` found on a page against the page's base URL (its `<base href>` if any,
/// else its final URL). Returns `None` for empty or non-http(s) links.
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim_matches(|c: char| c.is_ascii_whitespace());
    if href.is_empty() || href.starts_with('#') {
        // A link to the page itself: nothing new to crawl.
        return None;
    }
    let url = base.join(href).ok()?;
    is_crawlable(&url).then(|| normalize(url))
}

/// The target of a redirect: its `Location` header's bytes resolved against the current URL,
/// normalized; `None` when unusable or not http(s). Raw non-ASCII bytes (servers send UTF-8 or
/// Latin-1 unescaped) are percent-encoded as browsers, curl and Scrapy do, never dropped.
pub fn location_target(current: &Url, location: &[u8]) -> Option<Url> {
    let location = match std::str::from_utf8(location) {
        // Valid UTF-8: the URL parser encodes it (and an IDN host becomes punycode).
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => std::borrow::Cow::Owned(percent_encode_non_ascii(location)),
    };
    let target = current.join(location.trim()).ok()?;
    matches!(target.scheme(), "http" | "https").then(|| normalize(target))
}

fn percent_encode_non_ascii(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii() {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A document's base URL: its `<base href>` resolved against its own URL, unless that fails or
/// names a `data:` or `javascript:` URL, where the HTML standard falls back to the document's
/// URL (a hostile `<base>` must not erase every link of the page).
pub fn base_url(page_url: &Url, base_href: Option<&str>) -> Url {
    base_href
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|base| !matches!(base.scheme(), "data" | "javascript"))
        .unwrap_or_else(|| page_url.clone())
}

fn is_crawlable(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

/// Normalizes a parsed URL: the `url` crate already lower-cases scheme and host, converts IDN
/// hosts to punycode, removes default ports and dot segments and turns an empty path into `/`;
/// on top of that we drop the fragment and put percent-escapes into one form (unreserved
/// characters decoded, other escapes in upper-case hex, a `%` that starts none as `%25`), so
/// `/%7euser` and `/~user` are one URL, and normalizing twice changes nothing.
pub fn normalize(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.path().contains('%') {
        let path = normalize_escapes(url.path());
        url.set_path(&path);
    }
    if let Some(query) = url.query().filter(|q| q.contains('%')) {
        let query = normalize_escapes(query);
        url.set_query(Some(&query));
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

pub(crate) fn normalize_escapes(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_escape = bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit();
        if is_escape {
            let hex = &input[i + 1..i + 3];
            if let Ok(value) = u8::from_str_radix(hex, 16) {
                if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
                    out.push(value as char);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        if bytes[i] == b'%' {
            // A `%` that starts no escape is written as one, `%25`: left bare, it could join a
            // decoded hex digit into a new escape (`%%44f` → `%Df`), and normalizing again
            // would change the URL — and its fingerprint, so dedup would miss it.
            out.push_str("%25");
            i += 1;
            continue;
        }
        // Not an escape: copy the (possibly multi-byte) character as is.
        let ch_len = input[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&input[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// The politeness and same-host key of a URL: `host:port`.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The 64-bit fingerprint of a normalized URL (xxh3: stable across processes and versions, so
/// seen sets can be persisted and shared through Redis).
pub fn fingerprint(url: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(url.as_bytes())
}

/// The URL with its password hidden, for logs and error messages (Redis URLs carry one).
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparsable: it may still hold a password; keep only what precedes any '@'.
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_string(),
        },
    }
}

/// Path segments repeated this many times in a row make a loop (`/a/b/a/b/a/b/`).
const LOOP_REPEATS: usize = 3;
/// Longest run of segments checked for repeats.
const LOOP_SPAN: usize = 4;

/// Whether the path repeats a run of 1 to 4 segments 3 times in a row (`/a/a/a/`,
/// `/x/a/b/a/b/a/b/`): the mark of relative links that resolve deeper on every page, a crawler
/// trap, not a site's structure.
pub fn is_path_loop(url: &Url) -> bool {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    (1..=LOOP_SPAN).any(|span| {
        let needed = span * LOOP_REPEATS;
        segments.len() >= needed
            && segments.windows(needed).any(|window| {
                let (first, rest) = window.split_at(span);
                rest.chunks(span).all(|chunk| chunk == first)
            })
    })
}

/// Which discovered links a crawl follows.
#[derive(Debug, Clone)]
pub struct Scope {
    same_host: bool,
    max_url_length: usize,
    allow: Option<RegexSet>,
    deny: Option<RegexSet>,
}

impl Scope {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            same_host: config.same_host,
            max_url_length: config.max_url_length,
            allow: compile("allow", &config.allow)?,
            deny: compile("deny", &config.deny)?,
        })
    }

    /// Whether to follow `link`, found on a page requested as `page` and answered from `final_url`.
    pub fn allows(&self, link: &Url, page: &Url, final_url: &Url) -> bool {
        if self.same_host && !same_host(link, page) && !same_host(link, final_url) {
            return false;
        }
        self.allows_pattern(link.as_str())
    }

    /// The rules for a rendered page's own requests (scripts, data): `deny` and
    /// `max_url_length` hold for every request; `allow` and `same_host` choose the pages to
    /// follow, not what a page needs to render (a script on a CDN).
    pub fn for_resources(&self) -> Scope {
        Scope {
            same_host: false,
            allow: None,
            ..self.clone()
        }
    }

    /// `max_url_length` and the allow/deny rules, not same_host (redirects of seeds).
    pub fn allows_pattern(&self, url: &str) -> bool {
        if url.len() > self.max_url_length {
            return false;
        }
        if self.deny.as_ref().is_some_and(|deny| deny.is_match(url)) {
            return false;
        }
        self.allow.as_ref().is_none_or(|allow| allow.is_match(url))
    }
}

fn same_host(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn compile(option: &str, patterns: &[String]) -> Result<Option<RegexSet>, ConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for pattern in patterns {
        // Compile one by one first so the error names the pattern at fault.
        regex::Regex::new(pattern).map_err(|e| ConfigError::Regex {
            option: option.to_string(),
            message: format!("{pattern:?}: {e}"),
        })?;
    }
    RegexSet::new(patterns)
        .map(Some)
        .map_err(|e| ConfigError::Regex {
            option: option.to_string(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://Example.COM:80/dir/page.html").unwrap()
    }

    fn r(href: &str) -> Option<String> {
        resolve(&base(), href).map(String::from)
    }

    #[test]
    fn resolves_relative_forms() {
        assert_eq!(
            r("other.html").unwrap(),
            "http://example.com/dir/other.html"
        );
        assert_eq!(r("../up.html").unwrap(), "http://example.com/up.html");
        assert_eq!(r("../../../../x").unwrap(), "http://example.com/x");
        assert_eq!(r("/a/./b/../c").unwrap(), "http://example.com/a/c");
        assert_eq!(r("//other.org/x").unwrap(), "http://other.org/x");
        assert_eq!(r("?q=1").unwrap(), "http://example.com/dir/page.html?q=1");
        assert_eq!(r("  /padded  ").unwrap(), "http://example.com/padded");
        assert_eq!(r("\n/x\t").unwrap(), "http://example.com/x");
    }

    #[test]
    fn redirect_targets_keep_raw_bytes() {
        let page = base();
        let t = |bytes: &[u8]| location_target(&page, bytes).map(String::from);
        assert_eq!(
            t("/caf\u{e9}".as_bytes()).unwrap(),
            "http://example.com/caf%C3%A9"
        );
        assert_eq!(
            t(b"/caf\xe9?q=\xff").unwrap(),
            "http://example.com/caf%E9?q=%FF"
        );
        assert_eq!(
            t(b" next.html ").unwrap(),
            "http://example.com/dir/next.html"
        );
        assert_eq!(
            t("http://b\u{fc}cher.de/".as_bytes()).unwrap(),
            "http://xn--bcher-kva.de/"
        );
        assert_eq!(t(b"javascript:alert(1)"), None);
        assert_eq!(t(b"http://[::1"), None);
    }

    #[test]
    fn base_falls_back_to_the_document_url() {
        let page = base();
        let b = |href: Option<&str>| base_url(&page, href).to_string();
        assert_eq!(b(Some("http://other.test/b/")), "http://other.test/b/");
        assert_eq!(b(Some(" sub/ ")), "http://example.com/dir/sub/");
        assert_eq!(b(None), page.to_string());
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:void(0)//",
            "data:text/html,x",
            "http://[::1",
        ] {
            assert_eq!(b(Some(hostile)), page.to_string(), "{hostile}");
        }
    }

    #[test]
    fn drops_fragments_and_self_links() {
        assert_eq!(r("/x#top").unwrap(), "http://example.com/x");
        assert_eq!(r("#top"), None);
        assert_eq!(r(""), None);
        assert_eq!(r("   "), None);
    }

    #[test]
    fn skips_other_schemes() {
        for href in [
            "mailto:a@b.c",
            "javascript:void(0)",
            "tel:+1",
            "data:text/plain,x",
            "ftp://h/x",
        ] {
            assert_eq!(r(href), None, "{href}");
        }
        assert_eq!(r("HTTPS://Example.com/").unwrap(), "https://example.com/");
    }

    #[test]
    fn normalizes_hosts_ports_and_escapes() {
        let n = |s: &str| normalize(Url::parse(s).unwrap()).to_string();
        assert_eq!(n("HTTP://WWW.Example.com:80"), "http://www.example.com/");
        assert_eq!(n("https://example.com:443/a"), "https://example.com/a");
        assert_eq!(n("http://example.com:8080/a"), "http://example.com:8080/a");
        assert_eq!(n("http://bücher.de/"), "http://xn--bcher-kva.de/");
        assert_eq!(n("http://h/%7euser/%2fx%3f"), "http://h/~user/%2Fx%3F");
        assert_eq!(n("http://h/a b"), "http://h/a%20b");
        assert_eq!(n("http://h/caf%c3%a9"), "http://h/caf%C3%A9");
        assert_eq!(n("http://h/x?a=%41&b=%2f"), "http://h/x?a=A&b=%2F");
        assert_eq!(n("http://h/x?"), "http://h/x");
        assert_eq!(n("http://h/x#f"), "http://h/x");
        assert_eq!(n("http://h/%"), "http://h/%25");
        assert_eq!(n("http://h/%zz"), "http://h/%25zz");
        // Found by the fuzzer: a bare `%` before a decoded hex digit made a new escape.
        for path in ["%%44f", "%%32b", "4%4%44", "%%%41%", "a%2%41"] {
            let once = n(&format!("http://h/{path}?{path}"));
            assert_eq!(n(&once), once, "{path}");
        }
    }

    #[test]
    fn seeds_must_be_http() {
        assert!(parse_request_url("http://example.com").is_ok());
        assert_eq!(
            parse_request_url(" http://example.com/a#b ")
                .unwrap()
                .as_str(),
            "http://example.com/a"
        );
        assert_eq!(
            parse_request_url("example.com").unwrap_err().kind(),
            "invalid_url"
        );
        assert_eq!(
            parse_request_url("ftp://example.com/").unwrap_err().kind(),
            "invalid_url"
        );
        assert_eq!(
            parse_request_url("http://").unwrap_err().kind(),
            "invalid_url"
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(
            fingerprint("http://example.com/"),
            fingerprint("http://example.com/")
        );
        assert_ne!(
            fingerprint("http://example.com/"),
            fingerprint("http://example.com/a")
        );
        // Stable across versions: persisted seen sets depend on it.
        assert_eq!(fingerprint(""), 0x2d06800538d394c2);
    }

    #[test]
    fn scope_rules() {
        let mut config = Config::default();
        let page = Url::parse("http://example.com/").unwrap();
        let scope = Scope::new(&config).unwrap();
        let link = |s: &str| Url::parse(s).unwrap();
        assert!(scope.allows(&link("http://example.com/a"), &page, &page));
        assert!(!scope.allows(&link("http://example.com:8080/a"), &page, &page));
        assert!(!scope.allows(&link("http://other.com/a"), &page, &page));
        let redirected = link("http://www.example.com/");
        assert!(scope.allows(&link("http://www.example.com/a"), &page, &redirected));

        config.same_host = false;
        config.allow = vec!["/blog/".into()];
        config.deny = vec![r"\.pdf$".into()];
        let scope = Scope::new(&config).unwrap();
        assert!(scope.allows(&link("http://other.com/blog/x"), &page, &page));
        assert!(!scope.allows(&link("http://other.com/blog/x.pdf"), &page, &page));
        assert!(!scope.allows(&link("http://other.com/shop/x"), &page, &page));

        config.max_url_length = 64;
        let scope = Scope::new(&config).unwrap();
        let long = format!("http://other.com/blog/{}", "x".repeat(64 - 22));
        assert!(scope.allows(&link(&long), &page, &page));
        assert!(!scope.allows(&link(&format!("{long}y")), &page, &page));

        config.deny = vec!["(".into()];
        let err = Scope::new(&config).unwrap_err().to_string();
        assert!(err.contains("deny") && err.contains("\"(\""), "{err}");
    }

    #[test]
    fn host_keys() {
        assert_eq!(
            host_key(&Url::parse("https://a.com/x").unwrap()),
            "a.com:443"
        );
        assert_eq!(
            host_key(&Url::parse("http://a.com:8080/").unwrap()),
            "a.com:8080"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("redis://:secret@h:6379/0"),
            "redis://:***@h:6379/0"
        );
        assert_eq!(redact_password("redis://h:6379"), "redis://h:6379");
    }

    #[test]
    fn path_loops() {
        let looping = |path: &str| is_path_loop(&Url::parse(&format!("http://h{path}")).unwrap());
        assert!(looping("/a/a/a/"));
        assert!(looping("/x/a/b/a/b/a/b/c"));
        assert!(looping("/1/2/3/4/1/2/3/4/1/2/3/4"));
        assert!(!looping("/a/a/b/"));
        assert!(!looping("/a/b/a/b/"));
        assert!(!looping("/2026/12/02/post"));
        assert!(!looping("/"));
        assert!(
            !looping("/1/2/3/4/5/1/2/3/4/5/1/2/3/4/5"),
            "a run past 4 segments"
        );
    }
}

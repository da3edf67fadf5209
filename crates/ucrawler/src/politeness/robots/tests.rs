//! robots.txt: matching (RFC 9309 examples), fetch outcomes, rules that do not compile, and
//! the spellings real robots.txt files use.

use super::*;
use std::time::Instant;

fn robot(txt: &str) -> Rules {
    Rules::Parsed(Arc::new(RobotRules::parse("ucrawler", txt.as_bytes())))
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
    assert_eq!(
        rules.crawl_delay(Duration::MAX),
        Some(Duration::from_secs(2))
    );

    let star =
        robot("User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n");
    assert!(!allows(&star, "/img/a.gif"));
    assert!(allows(&star, "/img/a.gif?x=1"), "`$` is the end of the URL");
    assert!(!allows(&star, "/example/page.html"));
    assert!(allows(&star, "/publications/x"));
    assert_eq!(star.crawl_delay(Duration::MAX), None);

    // §2.2.2: when Allow and Disallow match equally long, Allow wins.
    let tie = robot("User-Agent: *\nDisallow: /page\nAllow: /page\n");
    assert!(allows(&tie, "/page"));
}

#[test]
fn absurd_crawl_delays_are_capped_not_ignored() {
    let cap = Duration::from_secs(30);
    for value in [
        "1e20",
        "inf",
        "99999999999999999999999999999999999999999",
        "3600",
    ] {
        let rules = robot(&format!(
            "User-agent: *\nCrawl-delay: {value}\nDisallow: /x\n"
        ));
        assert_eq!(rules.crawl_delay(cap), Some(cap), "{value}");
    }
    for value in ["-5", "NaN", "soon"] {
        let rules = robot(&format!("User-agent: *\nCrawl-delay: {value}\n"));
        assert_eq!(rules.crawl_delay(cap), None, "{value}");
    }
    let rules = robot("User-agent: *\nCrawl-delay: 0.5\n");
    assert_eq!(rules.crawl_delay(cap), Some(Duration::from_millis(500)));
}

#[test]
fn complex_and_huge_rules_match_exactly_in_bounded_memory() {
    // 45 stars: a regex engine refused it (and the whole file with it); here it is a pattern.
    let bomb = format!("/shop/*{}$", "a*".repeat(45));
    let rules = robot(&format!(
        "User-agent: *\nDisallow: /private/\nDisallow: {bomb}\n"
    ));
    assert!(!allows(&rules, "/private/x"), "the other rules hold");
    assert!(!allows(&rules, &format!("/shop/{}", "a".repeat(45))));
    assert!(allows(&rules, &format!("/shop/{}", "a".repeat(44))));
    assert!(allows(&rules, "/shop/item"));

    // 500 KiB of wildcard rules: about their bytes in memory (a regex each took 1.7 MB per 200).
    let mut txt = String::from("User-agent: *\n");
    while txt.len() < 500 * 1024 {
        txt.push_str(&format!("Disallow: /*/s{}/*.php$\n", txt.len()));
    }
    let parsed = RobotRules::parse("ucrawler", txt.as_bytes());
    assert!(
        parsed.memory() < 2 * txt.len(),
        "{} bytes for {}",
        parsed.memory(),
        txt.len()
    );
    let started = Instant::now();
    let url = Url::parse("http://example.com/a/b/c/d.html?q=1").unwrap();
    assert!(parsed.allowed(&url));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a match is linear"
    );
}

#[test]
fn rfc9309_groups_and_matching() {
    let rules = robot(
        "Disallow: /early\n\
         User-agent: other\nUser-agent: UCRAWLER/2.0\nDisallow: /a\n\n\
         User-agent: *\nDisallow: /\n\n\
         User-agent: ucrawler\nDisallow: /b\nAllow: /b/open\n",
    );
    assert!(!allows(&rules, "/a/x"), "groups naming us are merged");
    assert!(!allows(&rules, "/b/x"));
    assert!(allows(&rules, "/b/open"), "longer Allow wins");
    assert!(
        allows(&rules, "/c"),
        "the * group does not apply when one names us"
    );
    assert!(allows(&rules, "/early"));
    assert!(allows(&rules, "/robots.txt"));

    let star = robot("User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\nAllow: /tmp*/x/ok\nDisallow: /caf\u{e9}\nDisallow: /%7euser\n");
    assert!(!allows(&star, "/docs/a.pdf"));
    assert!(
        allows(&star, "/docs/a.pdf?dl=1"),
        "$ is the end of path and query"
    );
    assert!(!allows(&star, "/tmp123/x/y"));
    assert!(allows(&star, "/tmp123/x/ok/z"));
    assert!(
        !allows(&star, "/caf%C3%A9/menu"),
        "non-ASCII is percent-encoded"
    );
    assert!(
        !allows(&star, "/~user/x"),
        "escapes are normalized like URLs"
    );
    assert!(allows(&star, "/cafe"));
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
fn cache_is_bounded_in_bytes() {
    let cache = RobotsCache::new("ucrawler/1", 1000);
    for i in 0..10 {
        let key = format!("http://h{i}:80");
        let entry = cache.entry(&key);
        cache.account(&key, &entry, 10 << 20);
        assert!(cache.bytes() <= MAX_CACHE_BYTES, "{} bytes", cache.bytes());
    }
    assert_eq!(cache.len(), MAX_CACHE_BYTES / (10 << 20));
    let key = "http://h9:80";
    let fresh = cache.entry(key);
    assert!(Arc::ptr_eq(&fresh, &cache.entry(key)), "the newest stays");
}

#[test]
fn fetch_outcomes() {
    let url = Url::parse("http://example.com/page").unwrap();
    let ok =
        |status: u16, body: &str| rules_for("ucrawler", Some(Ok((status, BytesMut::from(body)))));
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
    assert!(matches!(rules, Rules::Unreachable(CrawlError::Connect(_))) && ttl == UNREACHABLE_TTL);
}

// The spellings real robots.txt files use.

fn disallows(body: &[u8], path: &str) -> bool {
    let (rules, _) = rules_for("ucrawler", Some(Ok((200, BytesMut::from(body)))));
    !rules.allows(&Url::parse(&format!("http://example.com{path}")).unwrap())
}

#[test]
fn real_world_spellings() {
    assert!(
        disallows(b"\xef\xbb\xbfUser-agent: *\nDisallow: /x\n", "/x"),
        "BOM"
    );
    assert!(
        disallows(b"User-agent: *\r\nDisallow: /x\r\n", "/x"),
        "CRLF"
    );
    assert!(disallows(b"User-agent: *\rDisallow: /x\r", "/x"), "CR only");
    assert!(disallows(b"user-AGENT: *\ndisallow: /x\n", "/x"), "case");
    assert!(disallows(b"User-agent: *\n\x00Disallow: /x\n", "/x"), "NUL");
    assert!(
        disallows(b"  User-agent : *  \n  Disallow :   /x  # comment\n", "/x"),
        "spaces"
    );
    assert!(
        disallows(b"User-agent: UCrawler\nDisallow: /x\n", "/x"),
        "token case"
    );
    assert!(
        !disallows(b"User-agent: *\nDisallow:\n", "/x"),
        "empty Disallow"
    );
    assert!(
        disallows(b"User-agent: *\nDisallow: /caf\xc3\xa9\n", "/caf%C3%A9"),
        "UTF-8"
    );
    assert!(
        !disallows(b"\xff\xfe garbage \x80\x81", "/x"),
        "binary garbage allows"
    );
    let huge: Vec<u8> = b"User-agent: *\nDisallow: /x\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'#', 600 * 1024))
        .collect();
    assert!(disallows(&huge, "/x"), "a huge file keeps its first rules");
}

#[test]
fn sitemap_lines_belong_to_no_group_and_are_bounded() {
    let mut txt = String::from(
        "Sitemap: https://h/first.xml\nUser-agent: other\nDisallow: /\nsitemap:https://h/second.xml.gz # note\nSitemap:\n",
    );
    txt.push_str(&format!("Sitemap: https://h/{}\n", "x".repeat(3000)));
    for i in 0..100 {
        txt.push_str(&format!("Sitemap: https://h/s{i}.xml\n"));
    }
    let rules = robot(&txt);
    let sitemaps = rules.sitemaps();
    assert_eq!(&*sitemaps[0], "https://h/first.xml");
    assert_eq!(&*sitemaps[1], "https://h/second.xml.gz");
    assert_eq!(
        &*sitemaps[2], "https://h/s0.xml",
        "empty and overlong lines are skipped"
    );
    assert_eq!(sitemaps.len(), 50);
    assert!(Rules::AllowAll.sitemaps().is_empty());
}

//! Tests of `extract`.
use super::*;
use crate::config::ExtractRule;

fn extract(html: &str) -> Extracted {
    let config = Config::builder()
        .extract("price", ExtractRule::text(".price"))
        .extract("hero", ExtractRule::attr("img.hero", "src"))
        .build()
        .unwrap();
    Extractor::new(&config)
        .unwrap()
        .extract(html, &Url::parse("http://h.test/dir/page").unwrap())
}

#[test]
fn builtin_fields() {
    let page = extract(
        r#"<html><head><title>  Hello
           World </title><meta name="Description" content=" A  page "><link rel="alternate canonical" href="/canon">
           <meta name="robots" content="NOINDEX, follow"></head><body></body></html>"#,
    );
    assert_eq!(page.title.as_deref(), Some("Hello World"));
    assert_eq!(page.description.as_deref(), Some("A page"));
    assert_eq!(page.canonical.as_deref(), Some("http://h.test/canon"));
    assert!(page.noindex && !page.nofollow);
    assert!(extract(r#"<meta name=robots content="none">"#).nofollow);
}

#[test]
fn links_resolved_against_base_and_deduplicated() {
    let page = extract(
        r#"<base href="http://other.test/base/"><a href="x">1</a><a href="x#frag">2</a>
           <a href=" /abs ">3</a><a href="mailto:a@b">4</a><a>no href</a><area href="//cdn.test/y">
           <a href="">empty</a><a href="javascript:void(0)">js</a>"#,
    );
    let links: Vec<_> = page.links.iter().map(Url::as_str).collect();
    assert_eq!(
        links,
        [
            "http://other.test/base/x",
            "http://other.test/abs",
            "http://cdn.test/y"
        ]
    );
}

#[test]
fn hostile_base_falls_back_to_the_page_url() {
    let html = r#"<base href="javascript:alert(1)"><a href="x">1</a><a href="/y">2</a>"#;
    let url = Url::parse("http://h.test/dir/page").unwrap();
    let expected = ["http://h.test/dir/x", "http://h.test/y"];
    let streaming = Extractor::new(&Config::default())
        .unwrap()
        .extract(html, &url);
    let dom = Extractor::new(&Config::default())
        .unwrap()
        .extract_dom(html, &url);
    for page in [streaming, dom] {
        let links: Vec<_> = page.links.iter().map(Url::as_str).collect();
        assert_eq!(links, expected);
    }
}

#[test]
fn rules_and_broken_html() {
    let page = extract(
        "<p class=price>$1.00<p class=price> $2 <b>50</b>\u{FFFD}<img class=hero src=' /h.jpg '><div><span></table></html>",
    );
    assert_eq!(page.extracted["price"], ["$1.00", "$2 50\u{FFFD}"]);
    assert_eq!(page.extracted["hero"], ["/h.jpg"]);
    assert_eq!(page.title, None);
}

/// The DOM refused: title and links from the streaming pass, every rule empty, the reason.
#[test]
fn a_refused_dom_keeps_the_streaming_fields() {
    let deep = "<div>".repeat(dom::MAX_DEPTH + 10);
    let page = extract(&format!(
        "<title>Deep</title><a href=/x>x</a><p class=price>$1</p>{deep}"
    ));
    assert_eq!(page.dom_refused, Some(DomRefusal::TooDeep));
    assert_eq!(page.title.as_deref(), Some("Deep"));
    assert_eq!(page.links.len(), 1);
    assert!(page.extracted["price"].is_empty() && page.extracted["hero"].is_empty());
}

/// Nested matches repeat their text: 200 copies of 100 KB are over the document's bound.
#[test]
fn extracted_values_are_bounded_with_the_tree() {
    let config = Config::builder()
        .extract("all", ExtractRule::text("div"))
        .build()
        .unwrap();
    let html = "<div>".repeat(200) + &"y".repeat(100_000);
    let page = Extractor::new(&config)
        .unwrap()
        .extract(&html, &Url::parse("http://h/").unwrap());
    let limit = dom::max_bytes(html.len());
    assert_eq!(page.dom_refused, Some(DomRefusal::TooLarge { limit }));
    assert!(page.extracted["all"].is_empty());
}

#[test]
fn max_links_is_a_bound() {
    let html: String = (0..50).map(|i| format!("<a href=/p{i}>x</a>")).collect();
    let config = Config {
        max_links_per_page: 10,
        ..Config::default()
    };
    let page = Extractor::new(&config)
        .unwrap()
        .extract(&html, &Url::parse("http://h/").unwrap());
    assert_eq!(page.links.len(), 10);
}

/// The DOM's built-in fields, as a page the streaming pass gave up on gets them.
fn from_dom(extractor: &Extractor, html: &str, url: &Url) -> Extracted {
    let mut memory = Unmetered;
    let mut budget = DomBudget::new(dom::max_bytes(html.len()), &mut memory);
    let document = dom::parse(html, &mut budget).expect("within the DOM's bounds");
    extractor.builtins_from_dom(&document, url, &mut Unmetered)
}

/// The streaming pass and the DOM agree on the built-in fields (the DOM's are the fallback).
#[test]
fn streaming_and_dom_agree() {
    let extractor = Extractor::new(&Config::default()).unwrap();
    let url = Url::parse("http://h.test/dir/page").unwrap();
    let site = ucrawler_testsite::Site::new(ucrawler_testsite::SiteConfig::default());
    let mut cases: Vec<String> = (1..=20)
        .filter_map(|id| site.page_html("http://h.test", id))
        .collect();
    cases.extend(
        [
            r#"<title>Tom &amp; Jerry &eacute;t&eacute; &#x41;&#66;</title><a href="/x?a=1&amp;b=2">x</a>"#,
            r#"<a href="/caf&eacute;">1</a><a href="/?x=1&copy=2">2</a><a href='/?q="&lt;"'>3</a>"#,
            r#"<base href="/base/"><a href=rel>1</a><link rel="Canonical" href="../canon?a&amp;b">"#,
            r#"<meta name=ROBOTS content="noindex, NoFollow"><meta name=description content=" a &amp;  b ">"#,
            r#"<meta name=description content=first><meta name=description content=second>"#,
            "<title>one</title><title>two</title><a href=/a><area href=/b><a href=/a#f>",
            "<html><head><title>Malformed</title><a href=/1><div><a href='/2'><table><a href=/3></table></html>",
            "<title>  spaced\n\n title </title><!-- <a href=/commented> --><script>var a = '<a href=/js>';</script>",
            "<svg><title>svg title</title></svg><a href=\"javascript:x\">j</a><a href=\"mailto:a@b\">m</a>",
            "",
            "no markup at all",
            "<a href=/unterminated",
            "<title>unterminated",
            "<title>a\0b</title><a href=\"/a\0b\">n</a><meta name=description content=\"x\0\">",
            "<base href=\"/b\0/\"><a href=c>1</a><link rel=canonical href=\"/\0\">",
            "<a href=/x rel=nofollow>1</a><a href=/y rel='external NOFOLLOW'>2</a><a href=/y>3</a><area href=/z rel=nofollow>",
            r#"<script type="application/LD+json">{"@type": "A", "x": "&amp;"}</script><script type=application/ld+json>[1,</script>"#,
            r#"<meta property="OG:title" content="a &amp;  b"><meta name=twitter:card content=summary><meta property=og:image content=/1><meta property=og:image content=/2>"#,
            r#"<template><script type=application/ld+json>{"t": 1}</script></template><noscript><meta property=og:type content=x></noscript>"#,
        ]
        .map(String::from),
    );
    for html in &cases {
        let mut streamed = scan(html, true)
            .expect("lol_html takes any input")
            .into_extracted(&url, &LinkPolicy::new(&Config::default()), &mut Unmetered);
        assert!(
            streamed.content_hash.take().is_some(),
            "the streaming pass hashes"
        );
        assert_eq!(streamed, from_dom(&extractor, html, &url), "{html}");
    }
}

/// Where the two parsers differ, the streaming pass decides, with rules or without: a crawl
/// with `extract` rules follows the same links as one without.
#[test]
fn rules_do_not_change_the_builtin_fields() {
    let plain = Extractor::new(&Config::default()).unwrap();
    let config = Config::builder()
        .extract("anchors", ExtractRule::text("a"))
        .build()
        .unwrap();
    let with_rules = Extractor::new(&config).unwrap();
    let url = Url::parse("http://h.test/").unwrap();
    let html =
        "<title>t\0</title><select><option>1<a href=/in-select>x</a></select><a href=/out>y</a>";
    let streamed = plain.extract(html, &url);
    let links: Vec<&str> = streamed.links.iter().map(Url::path).collect();
    assert_eq!(links, ["/in-select", "/out"]);
    assert_eq!(streamed.title.as_deref(), Some("t\u{FFFD}"));
    // html5ever's tree rules drop an <a> inside <select>: the DOM alone would lose the link.
    assert_eq!(from_dom(&plain, html, &url).links.len(), 1);
    let mut ruled = with_rules.extract(html, &url);
    assert_eq!(ruled.extracted["anchors"], ["y"]);
    ruled.extracted.clear();
    assert_eq!(ruled, streamed);
}

#[test]
fn invalid_selector_names_the_rule() {
    let config = Config::builder()
        .extract("broken", ExtractRule::text("p["))
        .build()
        .unwrap();
    let err = Extractor::new(&config).err().unwrap().to_string();
    assert!(err.contains("broken") && err.contains("p["), "{err}");
}

/// The content hash follows the text a reader sees, not the markup around it.
#[test]
fn content_hash_ignores_markup_scripts_and_attributes() {
    let plain = Extractor::new(&Config::builder().hash_content(true).build().unwrap()).unwrap();
    let url = Url::parse("http://h.test/").unwrap();
    let hash = |html: &str| plain.extract(html, &url).content_hash.unwrap();
    let page = |token: &str, script: &str| {
        format!(
            "<title>Shop</title><form><input type=hidden name=csrf value={token}></form>\
             <script>var now = {script};</script><style>p {{ color: red }}</style>\
             <p class=a>Price: <b>10</b> EUR</p>"
        )
    };
    let first = hash(&page("abc", "1"));
    assert_eq!(hash(&page("xyz", "2")), first, "token and script differ");
    assert_eq!(
        hash("<title>Shop</title>\n<div><p id=x>Price:  <i>10</i>\n EUR</p></div>"),
        first,
        "markup and whitespace differ"
    );
    assert_ne!(
        hash(&page("abc", "1").replace("10", "11")),
        first,
        "the price"
    );
    assert_ne!(
        hash(&page("abc", "1").replace("Shop", "Shop 2")),
        first,
        "the title"
    );
    // With rules the hash is the same: it comes from the streaming pass either way.
    let config = Config::builder()
        .extract("p", ExtractRule::text("p"))
        .hash_content(true)
        .build()
        .unwrap();
    let ruled = Extractor::new(&config).unwrap();
    assert_eq!(
        ruled.extract(&page("q", "3"), &url).content_hash.unwrap(),
        first
    );
}

#[test]
fn nofollow_links_are_those_only_linked_with_rel_nofollow() {
    let plain = Extractor::new(&Config::default()).unwrap();
    let url = Url::parse("http://h.test/").unwrap();
    let page = plain.extract(
        "<a href=/a rel=nofollow>1</a><a href=/b rel='ugc nofollow'>2</a><a href=/b>3</a>\
         <a href=/c rel=noopener>4</a><a href=/a#x rel=NoFollow>5</a>",
        &url,
    );
    fn paths(links: &[Url]) -> Vec<&str> {
        links.iter().map(Url::path).collect()
    }
    assert_eq!(paths(&page.links), ["/a", "/b", "/c"]);
    assert_eq!(paths(&page.nofollow_links), ["/a"]);
}

/// The text is hashed when asked for or when the crawl keeps its visits for a recrawl, not
/// otherwise (lol_html then skips decoding it).
#[test]
fn content_hash_only_when_asked_for_or_kept() {
    let url = Url::parse("http://h.test/").unwrap();
    let html = "<title>t</title><p>Some text</p>";
    let hashed = |config: crate::config::ConfigBuilder| {
        let extractor = Extractor::new(&config.build().unwrap()).unwrap();
        let hash = extractor.extract(html, &url).content_hash;
        assert_eq!(extractor.extract_dom(html, &url).content_hash, hash);
        hash.is_some()
    };
    assert!(!hashed(Config::builder()));
    assert!(hashed(Config::builder().hash_content(true)));
    assert!(hashed(Config::builder().state_dir("/nonexistent")));
    assert!(hashed(Config::builder().redis("redis://127.0.0.1:1", "c")));
    // Per page: a last visit's hash is compared, whatever the crawl's setting.
    let plain = Extractor::new(&Config::default()).unwrap();
    let forced = plain.extract_within(html, &url, &mut Unmetered, true);
    assert_eq!(forced.title.as_deref(), Some("t"));
    assert_eq!(forced.content_hash.map(|h| h.len()), Some(16));
}

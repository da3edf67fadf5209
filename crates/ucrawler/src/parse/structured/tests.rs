//! Tests of structured data, through the extractor (the streaming pass and, with rules, the
//! DOM path).
use serde_json::json;
use url::Url;

use super::*;
use crate::config::{Config, ExtractRule};
use crate::parse::Extractor;

fn extract_with(config: &Config, html: &str) -> Structured {
    let url = Url::parse("http://h.test/").unwrap();
    Extractor::new(config)
        .unwrap()
        .extract(html, &url)
        .structured
}

/// The streaming pass's result, checked to be the DOM path's too.
fn structured(html: &str) -> Structured {
    let streaming = extract_with(&Config::default(), html);
    let rules = Config::builder()
        .extract("h1", ExtractRule::text("h1"))
        .build()
        .unwrap();
    assert_eq!(extract_with(&rules, html), streaming, "with extract rules");
    streaming
}

fn script(script_type: &str, text: &str) -> String {
    format!("<script type=\"{script_type}\">{text}</script>")
}

#[test]
fn json_ld_blocks_are_parsed_whatever_the_type_spelling() {
    let html = [
        script(
            "application/ld+json",
            r#"{"@type": "Product", "name": "A &amp; B"}"#,
        ),
        script(
            " Application/LD+JSON; charset=utf-8",
            r#"{"@type": "Offer"}"#,
        ),
        script("application/json", r#"{"@type": "NotLd"}"#),
        script("text/javascript", "var x = 1;"),
        "<script>{\"@type\": \"Untyped\"}</script>".into(),
        script("application/ld+json", r#"[{"@type": "A"}, {"@type": "B"}]"#),
        script("application/ld+json", r#"{"@graph": [{"@type": "C"}]}"#),
    ]
    .concat();
    let found = structured(&format!("<head>{html}</head><body><p>text</p></body>"));
    assert_eq!(
        found.json_ld,
        [
            json!({"@type": "Product", "name": "A &amp; B"}),
            json!({"@type": "Offer"}),
            json!([{"@type": "A"}, {"@type": "B"}]),
            json!({"@graph": [{"@type": "C"}]}),
        ],
        "script text is not HTML: entities stay; arrays and graphs stay as they are"
    );
    assert!(found.json_ld_errors.is_empty());
}

#[test]
fn an_invalid_block_is_reported_and_the_others_kept() {
    let html = [
        script("application/ld+json", r#"{"@type": "First"}"#),
        script("application/ld+json", r#"{"@type": "Broken",}"#),
        script("application/ld+json", ""),
        script("application/ld+json", r#"{"@type": "Last"}"#),
        script(
            "application/ld+json",
            &format!("{}1{}", "[".repeat(200), "]".repeat(200)),
        ),
    ]
    .concat();
    let found = structured(&html);
    assert_eq!(
        found.json_ld,
        [json!({"@type": "First"}), json!({"@type": "Last"})]
    );
    assert_eq!(found.json_ld_errors.len(), 3, "{:?}", found.json_ld_errors);
    assert!(found.json_ld_errors[0].starts_with("block 2: trailing comma at line 1"));
    assert!(found.json_ld_errors[1].starts_with("block 3: EOF while parsing"));
    assert!(found.json_ld_errors[2].starts_with("block 5: recursion limit exceeded"));
}

#[test]
fn a_block_past_its_cap_is_reported_not_parsed() {
    let long = format!(r#"{{"text": "{}"}}"#, "x".repeat(MAX_JSON_LD_BLOCK));
    let html = [
        script("application/ld+json", &long),
        script("application/ld+json", r#"{"@type": "After"}"#),
    ]
    .concat();
    let found = structured(&html);
    assert_eq!(found.json_ld, [json!({"@type": "After"})]);
    assert_eq!(
        found.json_ld_errors,
        ["block 1: longer than 262144 bytes, not parsed"]
    );
    // An unclosed block runs to the end of the document, and is cut there.
    let unclosed = format!(r#"<script type="application/ld+json">{long}"#);
    assert_eq!(structured(&unclosed).json_ld_errors.len(), 1);
}

#[test]
fn the_page_total_and_the_block_count_are_capped() {
    let quarter = format!(r#"{{"text": "{}"}}"#, "x".repeat(250 << 10));
    let mut html = script("application/ld+json", &quarter).repeat(5);
    html.push_str(&script("application/ld+json", r#"{"small": 1}"#));
    let found = structured(&html);
    assert_eq!(
        found.json_ld.len(),
        5,
        "four big blocks and the small one fit"
    );
    assert_eq!(
        found.json_ld_errors,
        ["block 5: past the page's 1048576 bytes of JSON-LD, not parsed"]
    );

    let many = script("application/ld+json", r#"{"n": 1}"#).repeat(MAX_JSON_LD_BLOCKS + 4);
    let found = structured(&many);
    assert_eq!(found.json_ld.len(), MAX_JSON_LD_BLOCKS);
    assert_eq!(
        found.json_ld_errors,
        ["4 more blocks past the first 16 not read"]
    );
}

#[test]
fn template_content_counts_noscript_content_does_not() {
    let html = format!(
        "<template>{}<meta property=og:title content=T></template>\
         <noscript>{}<meta property=og:type content=N></noscript>",
        script("application/ld+json", r#"{"in": "template"}"#),
        script("application/ld+json", r#"{"in": "noscript"}"#),
    );
    let found = structured(&format!("<body>{html}</body>"));
    assert_eq!(found.json_ld, [json!({"in": "template"})]);
    assert_eq!(found.open_graph.keys().collect::<Vec<_>>(), ["og:title"]);
}

#[test]
fn parsed_values_take_memory_from_the_crawl() {
    struct Spent;
    impl DomMemory for Spent {
        fn try_grow(&mut self, _: u64) -> bool {
            false
        }
        fn force_grow(&mut self, _: u64) {}
    }
    let html = script("application/ld+json", r#"{"@type": "Product"}"#);
    let url = Url::parse("http://h.test/").unwrap();
    let extractor = Extractor::new(&Config::default()).unwrap();
    let found = extractor
        .extract_within(&html, &url, &mut Spent, false)
        .structured;
    assert!(found.json_ld.is_empty());
    assert_eq!(
        found.json_ld_errors,
        ["block 1: not kept: the crawl's max_memory is spent"]
    );
}

#[test]
fn open_graph_and_twitter_properties() {
    let html = r#"<head>
        <meta property="og:title" content="  The   title &amp; more ">
        <meta property="OG:Image" content="/a.jpg"><meta property="og:image" content="/b.jpg">
        <meta property="og:image:width" content="640">
        <meta name="twitter:card" content="summary"><meta property="twitter:site" content="@s">
        <meta name="og:description" content="name= works too">
        <meta property="article:tag" content="x"><meta property="article:tag" content="y">
        <meta property="fb:app_id" content="1"><meta name="description" content="d">
        <meta property="og:" content="no name"><meta property="og:empty" content=" ">
        <meta property="og:locale">
        <meta property="og:type" name="twitter:title" content="property first">
        </head>"#;
    let found = structured(html);
    let expected: BTreeMap<String, Vec<String>> = [
        ("article:tag", &["x", "y"][..]),
        ("og:description", &["name= works too"]),
        ("og:image", &["/a.jpg", "/b.jpg"]),
        ("og:image:width", &["640"]),
        ("og:title", &["The title & more"]),
        ("og:type", &["property first"]),
        ("twitter:card", &["summary"]),
        ("twitter:site", &["@s"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(found.open_graph, expected);
    assert!(found.json_ld.is_empty() && found.json_ld_errors.is_empty());
}

#[test]
fn properties_are_capped_in_number_and_length() {
    let mut html = String::new();
    for i in 0..MAX_OPEN_GRAPH_VALUES + 10 {
        html.push_str(&format!("<meta property=og:image content=/{i}.jpg>"));
    }
    let found = structured(&html);
    assert_eq!(found.open_graph["og:image"].len(), MAX_OPEN_GRAPH_VALUES);
    assert_eq!(found.open_graph["og:image"][0], "/0.jpg");

    // 2047 ASCII bytes, then a 2-byte character across the cut.
    let long = format!(
        "{}é{}",
        "x".repeat(MAX_OPEN_GRAPH_VALUE - 1),
        "y".repeat(100)
    );
    let found = structured(&format!("<meta property=og:description content='{long}'>"));
    let cut = &found.open_graph["og:description"][0];
    assert_eq!(cut.len(), MAX_OPEN_GRAPH_VALUE - 1);
    assert!(long.starts_with(cut.as_str()));
}

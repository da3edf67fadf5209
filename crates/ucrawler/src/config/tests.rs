//! Tests of `config`.
use super::*;

#[test]
fn json_with_units_and_rules() {
    let config = Config::from_json(
        r#"{"max_body": "5MiB", "delay": "250ms", "timeout": 2.5, "depth": 1,
            "extract": {"price": ".price", "hero": ["img.hero", "src"]}}"#,
    )
    .unwrap();
    assert_eq!(config.max_body, 5 << 20);
    assert_eq!(config.delay, Duration::from_millis(250));
    assert_eq!(config.timeout, Duration::from_millis(2500));
    assert_eq!(config.depth, Some(1));
    assert_eq!(config.extract["price"], ExtractRule::text(".price"));
    assert_eq!(config.extract["hero"], ExtractRule::attr("img.hero", "src"));
    assert_eq!(config.per_host, 2, "unset options keep their defaults");
}

#[test]
fn errors_name_the_option() {
    let err = Config::from_json(r#"{"max_bodyy": 1}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_bodyy"), "{err}");
    let err = Config::from_json(r#"{"max_body": "lots"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_body") && err.contains("lots"), "{err}");
    let err = Config::from_json(r#"{"concurrency": 0}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("concurrency"), "{err}");
    let err = Config::from_json(r#"{"depth": -1}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("depth"), "{err}");
}

#[test]
fn builder_validates() {
    let config = Config::builder().depth(2).per_host(4usize).build().unwrap();
    assert_eq!((config.depth, config.per_host), (Some(2), 4));
    assert!(Config::builder().concurrency(0usize).build().is_err());
    let err = Config::builder()
        .seen_memory(MIN_SEEN_MEMORY - 1)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `seen_memory`: must be at least 16"
    );
    let err = Config::from_json(r#"{"resume": true}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `resume`: needs state_dir, the directory of the crawl to continue"
    );
    let config = Config::builder().seen_memory(MIN_SEEN_MEMORY).build();
    assert_eq!(config.map(|c| c.seen_memory), Ok(16));
}

#[test]
fn cli_rule_form() {
    assert_eq!(ExtractRule::parse(".price"), ExtractRule::text(".price"));
    assert_eq!(
        ExtractRule::parse("img.hero@src"),
        ExtractRule::attr("img.hero", "src")
    );
}

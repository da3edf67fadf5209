//! Pages as the CLI prints them, one JSON object a line (shared by the CLI's test files).

use std::collections::BTreeSet;

use serde_json::Value;

pub fn parse(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}

/// The URLs of the pages whose `change` is `change`.
pub fn with_change(pages: &[Value], change: &str) -> BTreeSet<String> {
    pages
        .iter()
        .filter(|page| page["change"] == change)
        .map(|page| page["url"].as_str().unwrap().to_string())
        .collect()
}

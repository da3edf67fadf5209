//! Reading what a page declares in structured data: its JSON-LD nodes and their types, a value
//! by path (the rule the Ruby `page.structured` and Rails `"json_ld.PATH"` sources share), an
//! OpenGraph property; and what that data weighs in memory.

use serde_json::{Map, Value};

use super::Page;

impl Page {
    /// The JSON-LD nodes of the page in document order: each block that is an object, each
    /// element of a block that is an array, each node of a `@graph` (after the object holding
    /// it). Nested nodes (`offers` of a `Product`) stay inside their node.
    pub fn json_ld_nodes(&self) -> Vec<&Map<String, Value>> {
        let mut nodes = Vec::new();
        let mut pending: Vec<&Value> = self.json_ld.iter().rev().collect();
        while let Some(value) = pending.pop() {
            match value {
                Value::Array(items) => pending.extend(items.iter().rev()),
                Value::Object(node) => {
                    nodes.push(node);
                    if let Some(graph) = node.get("@graph") {
                        pending.push(graph);
                    }
                }
                _ => {}
            }
        }
        nodes
    }

    /// Every `@type` of the [`json_ld_nodes`](Self::json_ld_nodes) (a node may have several),
    /// once each, in document order: `["Product", "BreadcrumbList"]`.
    pub fn json_ld_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        for node in self.json_ld_nodes() {
            let declared = match node.get("@type") {
                Some(Value::Array(many)) => &many[..],
                Some(one) => std::slice::from_ref(one),
                None => &[],
            };
            for name in declared.iter().filter_map(Value::as_str) {
                if !types.contains(&name) {
                    types.push(name);
                }
            }
        }
        types
    }

    /// The first value at `path` (keys joined by `.`: `"offers.price"`, `"@type"`) in the
    /// [`json_ld_nodes`](Self::json_ld_nodes), in document order. Where the path meets an array,
    /// a number picks an element (`"image.0"`) and a key is looked up in each element in turn
    /// (`offers` as a list of offers: the first one with a price). A `null` is no match.
    /// `None` for an empty key (`"a..b"`).
    pub fn json_ld_value(&self, path: &str) -> Option<&Value> {
        let keys: Vec<&str> = path.split('.').collect();
        if keys.iter().any(|key| key.is_empty()) {
            return None;
        }
        (self.json_ld_nodes().into_iter()).find_map(|node| node_value(node, &keys))
    }

    /// The first value of an OpenGraph or Twitter card property (`"og:title"`, any case).
    pub fn open_graph_value(&self, property: &str) -> Option<&str> {
        let values = self.open_graph.get(&property.to_ascii_lowercase())?;
        values.first().map(String::as_str)
    }
}

fn node_value<'a>(node: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    let (key, rest) = keys.split_first()?;
    lookup(node.get(*key)?, rest)
}

fn lookup<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let Some((key, rest)) = keys.split_first() else {
        return Some(value).filter(|value| !value.is_null());
    };
    match value {
        Value::Object(node) => node_value(node, keys),
        Value::Array(items) => match key.parse::<usize>() {
            Ok(index) => lookup(items.get(index)?, rest),
            Err(_) => items.iter().find_map(|item| lookup(item, keys)),
        },
        _ => None,
    }
}

const STRING: usize = std::mem::size_of::<String>();
const VALUE: usize = std::mem::size_of::<Value>();
/// A map's B-tree node: room for 11 entries, allocated whole (a 1-key object pays for 11).
const MAP_NODE: usize = 11 * (STRING + VALUE) + 16;

/// What a parsed JSON value holds on the heap, roughly: its strings, its arrays' slots, its
/// objects' B-tree nodes (assumed two-thirds full past the first).
pub(crate) fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => {
            items.capacity() * VALUE + items.iter().map(value_bytes).sum::<usize>()
        }
        Value::Object(node) if node.is_empty() => 0,
        Value::Object(node) => {
            let nodes = (node.len() * 3 / 2).div_ceil(11).max(1);
            nodes * MAP_NODE
                + node
                    .iter()
                    .map(|(key, value)| key.len() + value_bytes(value))
                    .sum::<usize>()
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// The page's structured data on the heap, for [`Page::memory_bytes`].
pub(super) fn heap_bytes(page: &Page) -> usize {
    let json_ld = page.json_ld.capacity() * VALUE
        + page.json_ld.iter().map(value_bytes).sum::<usize>()
        + page
            .json_ld_errors
            .iter()
            .map(|e| e.len() + STRING)
            .sum::<usize>();
    let open_graph: usize = (page.open_graph.iter())
        .map(|(key, values)| {
            key.len() + 2 * STRING + values.iter().map(|v| v.len() + STRING).sum::<usize>()
        })
        .sum();
    json_ld + open_graph
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(blocks: Vec<Value>) -> Page {
        Page {
            json_ld: blocks,
            ..Page::default()
        }
    }

    #[test]
    fn nodes_unpack_arrays_and_graphs_in_document_order() {
        let page = page(vec![
            json!({"@type": "WebSite", "name": "w"}),
            json!([{"@type": ["Product", "Thing"]}, {"@type": "Product"}]),
            json!({"@context": "https://schema.org", "@graph": [
                {"@type": "BreadcrumbList"}, {"@type": "Organization"}
            ]}),
            json!("not a node"),
        ]);
        assert_eq!(
            page.json_ld_nodes().len(),
            6,
            "the @graph holder is a node too"
        );
        assert_eq!(
            page.json_ld_types(),
            [
                "WebSite",
                "Product",
                "Thing",
                "BreadcrumbList",
                "Organization"
            ]
        );
        assert_eq!(page.json_ld.len(), 4, "the blocks stay as they are");
    }

    #[test]
    fn a_path_finds_the_first_match_across_blocks_and_arrays() {
        let page = page(vec![
            json!({"@type": "BreadcrumbList", "itemListElement": []}),
            json!({"@graph": [{"@type": "Product", "name": "Lamp",
                "offers": [{"price": null}, {"price": "9.99", "priceCurrency": "EUR"}],
                "image": ["a.jpg", "b.jpg"]}]}),
            json!({"@type": "Product", "name": "Other", "offers": {"price": 5}}),
        ]);
        assert_eq!(page.json_ld_value("@type"), Some(&json!("BreadcrumbList")));
        assert_eq!(page.json_ld_value("name"), Some(&json!("Lamp")));
        assert_eq!(page.json_ld_value("offers.price"), Some(&json!("9.99")));
        assert_eq!(page.json_ld_value("image.1"), Some(&json!("b.jpg")));
        assert_eq!(
            page.json_ld_value("image"),
            Some(&json!(["a.jpg", "b.jpg"]))
        );
        assert_eq!(
            page.json_ld_value("offers.0.price"),
            None,
            "null is no match"
        );
        assert_eq!(page.json_ld_value("missing"), None);
        assert_eq!(page.json_ld_value("offers..price"), None);
        assert_eq!(page.json_ld_value(""), None);
    }

    #[test]
    fn open_graph_values_by_any_case() {
        let mut page = Page::default();
        (page.open_graph).insert("og:image".into(), vec!["a.jpg".into(), "b.jpg".into()]);
        assert_eq!(page.open_graph_value("OG:Image"), Some("a.jpg"));
        assert_eq!(page.open_graph_value("og:title"), None);
    }

    #[test]
    fn memory_counts_the_parsed_values() {
        let empty = Page::default().memory_bytes();
        let small = page(vec![json!({"@type": "Product"})]);
        assert!(small.memory_bytes() >= empty + MAP_NODE as u64);
        let items: Vec<Value> = (0..1000).map(|i| json!({"n": i})).collect();
        let big = page(vec![Value::Array(items)]);
        assert!(big.memory_bytes() >= empty + 1000 * (VALUE + MAP_NODE) as u64);
    }
}

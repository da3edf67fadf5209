//! The engine's layout rules, checked on its source (see the "Layout" map in `src/lib.rs`):
//! no import cycles between its modules (each file, and each top-level folder, taken as one
//! module), leaf types that import no stage, and files of at most ~500 lines besides their tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The leaf types: what every stage may import, and which import nothing but each other.
const LEAVES: &[&str] = &[
    "config",
    "error",
    "page",
    "url",
    "units",
    "stats",
    "memory",
    "codec",
    "random",
    "fork_local",
    "last_visit",
];
const MAX_LINES: usize = 520;

/// One source file as a module: its path (`["schedule", "scheduler", "intake"]`) and text.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    code: String,
}

fn modules() -> Vec<Module> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let file = entry.unwrap().path();
            if file.is_dir() {
                dirs.push(file);
                continue;
            }
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut path: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests may import anything.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            found.push(Module { path, file, code });
        }
    }
    found
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path: Vec<String> = tree
            .split(" as ")
            .next()
            .unwrap_or_default()
            .split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        return vec![path];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(close) = tree.rfind('}').filter(|close| *close > open) else {
        return Vec::new(); // not a use tree (prose that says "use {")
    };
    let inner = &tree[open + 1..close];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|tail| {
            let mut path = prefix.clone();
            path.extend(tail.into_iter().filter(|s| s != "self"));
            path
        })
        .collect()
}

/// The crate-relative paths a module refers to: `use` statements (re-exports of its own
/// children left out: declaring a child is not depending on it) and inline `crate::` paths.
fn references(module: &Module) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let code = &module.code;
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let line_start = rest[..at].rfind('\n').map_or(0, |n| n + 1);
        let head = rest[line_start..at].trim();
        let is_statement = head.is_empty() || head.starts_with("pub");
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        if is_statement {
            let tree = &rest[at + 4..end];
            for path in expand(tree) {
                let first = path.first().map(String::as_str).unwrap_or_default();
                let absolute: Option<Vec<String>> = match first {
                    "crate" => Some(path[1..].to_vec()),
                    "super" => {
                        let mut base = module.path.clone();
                        let mut tail = &path[..];
                        while tail.first().map(String::as_str) == Some("super") {
                            base.pop();
                            tail = &tail[1..];
                        }
                        base.extend(tail.iter().cloned());
                        Some(base)
                    }
                    // A child's item, re-exported or used: not a dependency on a sibling.
                    _ if head.starts_with("pub") => None,
                    // std, external crates, or a child module of this one.
                    _ => None,
                };
                paths.extend(absolute);
            }
        }
        rest = &rest[end.min(rest.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1..];
    }
    for (at, _) in code.match_indices("crate::") {
        let tail: String = code[at + 7..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let before = code[..at].rfind('\n').map_or(0, |n| n + 1);
        if code[before..at].trim_start().starts_with("use ")
            || code[before..at].trim_start().starts_with("//")
        {
            continue;
        }
        paths.push(tail.split("::").map(str::to_string).collect());
    }
    paths
}

/// The file a crate-relative path names: the deepest module on it, followed through the
/// re-exports (`pub use child::Item`) of directory modules.
fn resolve(modules: &[Module], path: &[String]) -> Option<usize> {
    let index = |p: &[String]| modules.iter().position(|m| m.path == p);
    let mut depth = path.len();
    while depth > 0 && index(&path[..depth]).is_none() {
        depth -= 1;
    }
    let found = index(&path[..depth])?;
    let Some(item) = path.get(depth) else {
        return Some(found);
    };
    // An item of a directory module: is it re-exported from a child?
    for line in modules[found].code.lines() {
        let line = line.trim();
        if !(line.starts_with("pub use ") || line.starts_with("pub(crate) use ")) {
            continue;
        }
        let statement = line.split_once("use ").map(|(_, s)| s).unwrap_or_default();
        for reexport in expand(statement.trim_end_matches(';')) {
            if reexport.last() == Some(item) && reexport.len() > 1 {
                let mut child = modules[found].path.clone();
                child.push(reexport[0].clone());
                if let Some(target) = resolve(modules, &[&child[..], &reexport[1..]].concat()) {
                    return Some(target);
                }
            }
        }
    }
    Some(found)
}

fn name(module: &Module) -> String {
    if module.path.is_empty() {
        "lib".into()
    } else {
        module.path.join("::")
    }
}

/// A cycle in `edges`, if any (as the list of its nodes).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str()) {
            if let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn edges(modules: &[Module]) -> (BTreeMap<String, BTreeSet<String>>, usize) {
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut count = 0;
    for module in modules {
        let from = name(module);
        for path in references(module) {
            let Some(target) = resolve(modules, &path) else {
                continue;
            };
            let to = name(&modules[target]);
            if to != from && to != "lib" {
                count += 1;
                files.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    (files, count)
}

#[test]
fn no_import_cycles_between_files_or_folders() {
    let modules = modules();
    let (files, count) = edges(&modules);
    assert!(count > 100, "the parser found only {count} imports");
    assert!(
        files["schedule::scheduler"].contains("fetch::task"),
        "known edge missing: {:?}",
        files["schedule::scheduler"]
    );
    if let Some(cycle) = find_cycle(&files) {
        panic!("import cycle between files: {}", cycle.join(" -> "));
    }
    let top = |n: &str| n.split("::").next().unwrap_or(n).to_string();
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &files {
        for to in tos {
            if top(from) != top(to) {
                folders.entry(top(from)).or_default().insert(top(to));
            }
        }
    }
    // `cargo test --test layout -- --nocapture` shows the dependency graph of the folders.
    for (from, tos) in &folders {
        println!(
            "{from} -> {}",
            tos.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(cycle) = find_cycle(&folders) {
        panic!(
            "import cycle between top-level modules: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn leaf_types_import_no_stage() {
    let modules = modules();
    let (files, _) = edges(&modules);
    for leaf in LEAVES {
        for to in files.get(*leaf).into_iter().flatten() {
            assert!(
                LEAVES.contains(&to.as_str()),
                "leaf `{leaf}` imports `{to}`"
            );
        }
    }
}

#[test]
fn files_stay_small() {
    for module in modules() {
        let lines = module.code.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines besides its tests",
            module.file.display()
        );
    }
}

#[test]
fn use_trees_expand() {
    let paths = expand("crate::a::{b, c::{D, e as f}, self}");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "crate::a::b",
            "crate::a::c::D",
            "crate::a::c::e",
            "crate::a"
        ]
    );
}

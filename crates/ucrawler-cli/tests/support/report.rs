//! The end report the CLI prints on stderr: a headline, then rows of a label and a value
//! (shared by the CLI's test files).

/// The value of the row `label` (`  ended    stopped by SIGTERM` → `stopped by SIGTERM`).
pub fn row<'a>(stderr: &'a str, label: &str) -> Option<&'a str> {
    stderr.lines().find_map(|line| {
        let rest = line.strip_prefix("  ")?.strip_prefix(label)?;
        rest.starts_with("  ").then(|| rest.trim())
    })
}

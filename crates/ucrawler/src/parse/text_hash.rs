//! The content hash of a page (see [`crate::last_visit`]): the text a reader sees — text,
//! the title, CDATA; not scripts, styles, markup or attributes — as words: split at whitespace
//! and at tags, so the same text hashes the same however it is indented, cut into chunks or
//! wrapped in elements.

use lol_html::html_content::TextType;
use xxhash_rust::xxh3::Xxh3;

#[derive(Default)]
pub(super) struct TextHash {
    hasher: Xxh3,
    /// Whitespace was seen since the last word.
    space: bool,
    /// A word was hashed.
    started: bool,
}

impl TextHash {
    /// Whether text of this kind is part of what a reader sees.
    pub fn counts(kind: TextType) -> bool {
        !matches!(kind, TextType::ScriptData | TextType::RawText)
    }

    /// Adds a piece of text, which may cut a word or a run of whitespace anywhere.
    pub fn add(&mut self, text: &str) {
        for (i, word) in text.split(char::is_whitespace).enumerate() {
            if i > 0 {
                self.space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.space && self.started {
                self.hasher.update(b" ");
            }
            self.space = false;
            self.started = true;
            self.hasher.update(word.as_bytes());
        }
    }

    /// The end of a text node (a tag follows): a word ends here.
    pub fn end_node(&mut self) {
        self.space = true;
    }

    /// 16 hex digits.
    pub fn finish(&self) -> String {
        format!("{:016x}", self.hasher.digest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(chunks: &[&str]) -> String {
        let mut hash = TextHash::default();
        for chunk in chunks {
            hash.add(chunk);
        }
        hash.finish()
    }

    #[test]
    fn whitespace_and_chunking_do_not_count() {
        let whole = hash(&["Hello world, again"]);
        assert_eq!(hash(&["  Hello", "\n\t world,", " again  "]), whole);
        assert_eq!(hash(&["Hel", "lo wor", "ld, ag", "ain"]), whole);
        assert_eq!(hash(&["Hello ", " ", "world,", "\u{a0}again"]), whole);
        assert_ne!(hash(&["Hello world, again!"]), whole);
        assert_ne!(hash(&["Helloworld, again"]), whole);
        let mut nodes = TextHash::default();
        nodes.add("Hello");
        nodes.end_node();
        nodes.add("world, again");
        assert_eq!(nodes.finish(), whole, "a tag between words");
        assert_eq!(hash(&["x"]).len(), 16);
    }
}

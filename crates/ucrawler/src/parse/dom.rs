//! scraper's DOM, built within bounds. html5ever's tree builder may create many elements per
//! tag (a formatting element left open is re-created in every paragraph after it: 27 KB of
//! markup made 2.25 million elements) and scans its stack of open elements for most tags (200k
//! nested `<div>` took minutes). So the tree is built through a sink that estimates the bytes
//! it allocates (taking them from `max_memory`) and measures how deep it nests, and a gate
//! between tokenizer and tree builder counts tokens and the depth they land at; the parse stops
//! at the first token after a bound is crossed ([`DomRefusal`]). The DOM is then refused
//! whole: the caller falls back to the streaming pass. The estimate was checked against an
//! allocator on 1,500 pages: 0.8–3.4× what scraper allocates, 1.2× at the median.

mod sink;

use ego_tree::NodeId;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::TokenizerResult;
use scraper::Html;

use sink::BoundedSink;

/// Elements nested deeper than this refuse the DOM. html5ever scans its stack of open elements
/// for most tags, so depth is what makes a parse quadratic; browsers stop nesting at 512
/// (Blink, WebKit).
pub const MAX_DEPTH: usize = 256;

/// A document's tree and the values its rules extract may take this many times its HTML
/// (estimated). A tree is at most a node per two bytes of markup (`<p>x`), ~256 bytes each,
/// unless the parser re-creates elements: real pages measured 5–29×, a formatting-element bomb
/// 15,000×.
pub const MAX_DOM_RATIO: u64 = 128;
/// ... and at least this much (small pages).
const MIN_DOM_BYTES: u64 = 1 << 20;

/// The most a document of `html_len` bytes may take.
pub fn max_bytes(html_len: usize) -> u64 {
    (html_len as u64)
        .saturating_mul(MAX_DOM_RATIO)
        .max(MIN_DOM_BYTES)
}

/// A parse may take this many steps per byte of HTML, a step being a token times the depth it
/// lands at (what html5ever scans its stack over): real pages take under 2, closing tags over
/// 250 open ones 60 (0.9 s per MB; stopped here after 0.15 s).
pub const MAX_STEPS_PER_BYTE: u64 = 16;
/// ... and at least this many (small pages; ~10 ms).
const MIN_STEPS: u64 = 1 << 20;

/// Nodes a parse may create per token (a tag, a run of text), past [`MIN_NODES`]: one each,
/// and a few copies where formatting tags are misnested; a formatting-element bomb makes
/// hundreds.
pub const MAX_NODES_PER_TOKEN: u64 = 8;
/// ... past this many (the first tokens make `html`, `head` and `body` too).
const MIN_NODES: u64 = 4096;

/// Input fed to the tokenizer at a time: the bounds are checked between tokens, the input is
/// copied into the parser only as far as it goes.
const CHUNK: usize = 16 * 1024;

/// Why a document's tree was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomRefusal {
    #[error("elements nest deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("the tree needs more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the tree needs more memory than max_memory has left")]
    OutOfMemory,
    #[error("the parse needs more than {limit} steps (tags over deep nesting)")]
    TooSlow { limit: u64 },
    #[error("the parser re-creates elements: {nodes} nodes from {tokens} tokens")]
    Amplified { nodes: u64, tokens: u64 },
}

/// Where a tree's bytes come from: the engine's `max_memory` budget, or nothing (unmetered).
pub trait DomMemory {
    /// Takes `bytes` more if `max_memory` has them.
    fn try_grow(&mut self, bytes: u64) -> bool;
    /// Records `bytes` allocated anyway (the rest of the token that crossed a bound).
    fn force_grow(&mut self, bytes: u64);
}

/// No budget to answer to (the library's `Extractor::extract`): only the document's own bounds.
pub struct Unmetered;

impl DomMemory for Unmetered {
    fn try_grow(&mut self, _bytes: u64) -> bool {
        true
    }
    fn force_grow(&mut self, _bytes: u64) {}
}

/// The bytes a document's extraction may use (its tree, then the values its rules extract): at
/// most `max_bytes`, each taken from `memory` as it is needed.
pub struct DomBudget<'m> {
    max_bytes: u64,
    used: u64,
    granted: u64,
    memory: &'m mut dyn DomMemory,
}

impl<'m> DomBudget<'m> {
    pub fn new(max_bytes: u64, memory: &'m mut dyn DomMemory) -> Self {
        Self {
            max_bytes,
            used: 0,
            granted: 0,
            memory,
        }
    }

    /// Counts `bytes` more. Over a bound they are still counted (they are allocated): the
    /// caller stops and drops what it built.
    pub fn take(&mut self, bytes: u64) -> Result<(), DomRefusal> {
        self.used += bytes;
        if self.used <= self.granted {
            return Ok(());
        }
        if self.used > self.max_bytes {
            self.force();
            return Err(DomRefusal::TooLarge {
                limit: self.max_bytes,
            });
        }
        // A quarter more than needed: fewer calls on the shared budget.
        let want = (self.used + self.used / 4).min(self.max_bytes) - self.granted;
        if self.memory.try_grow(want) {
            self.granted += want;
            Ok(())
        } else {
            self.force();
            Err(DomRefusal::OutOfMemory)
        }
    }

    /// The memory behind the budget, for what a page keeps beyond its tree (its JSON-LD).
    pub fn memory(&mut self) -> &mut dyn DomMemory {
        &mut *self.memory
    }

    fn force(&mut self) {
        if self.used > self.granted {
            self.memory.force_grow(self.used - self.granted);
            self.granted = self.used;
        }
    }
}

/// Parses `html` into a DOM within `budget` and the bounds above. The input's copy inside the
/// parser counts too: text nodes share it.
pub fn parse(html: &str, budget: &mut DomBudget<'_>) -> Result<Html, DomRefusal> {
    budget.take(html.len() as u64)?;
    let max_steps = (html.len() as u64)
        .saturating_mul(MAX_STEPS_PER_BYTE)
        .max(MIN_STEPS);
    let sink = BoundedSink::new(budget, max_steps);
    let builder = TreeBuilder::new(sink, TreeBuilderOpts::default());
    let tokenizer = Tokenizer::new(Gate(builder), TokenizerOpts::default());
    let input = BufferQueue::default();
    let mut start = 0;
    while start < html.len() {
        let mut end = (start + CHUNK).min(html.len());
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        input.push_back(StrTendril::from_slice(&html[start..end]));
        while let TokenizerResult::Script(_) = tokenizer.feed(&input) {}
        tokenizer.sink.0.sink.check()?;
        start = end;
    }
    tokenizer.end();
    tokenizer.sink.0.sink.check()?;
    Ok(tokenizer.sink.0.sink.finish())
}

/// Between tokenizer and tree builder: once a bound is crossed, tokens go no further.
struct Gate<'b, 'm>(TreeBuilder<NodeId, BoundedSink<'b, 'm>>);

impl TokenSink for Gate<'_, '_> {
    type Handle = NodeId;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<NodeId> {
        if !self.0.sink.step() {
            return TokenSinkResult::Continue;
        }
        self.0.process_token(token, line_number)
    }

    fn end(&self) {
        if self.0.sink.check().is_ok() {
            self.0.end();
        }
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

#[cfg(test)]
mod tests {
    use super::sink::SLOT;
    use super::*;

    /// Grants up to `limit` bytes and records everything taken.
    struct Recorder {
        taken: u64,
        limit: u64,
    }

    impl DomMemory for Recorder {
        fn try_grow(&mut self, bytes: u64) -> bool {
            let fits = self.taken + bytes <= self.limit;
            if fits {
                self.taken += bytes;
            }
            fits
        }
        fn force_grow(&mut self, bytes: u64) {
            self.taken += bytes;
        }
    }

    fn bounded(html: &str) -> Result<Html, DomRefusal> {
        parse(
            html,
            &mut DomBudget::new(max_bytes(html.len()), &mut Unmetered),
        )
    }

    fn nested(tag: &str, depth: usize) -> String {
        format!("<title>t</title>{}", format!("<{tag}>").repeat(depth))
    }

    fn formatting_bomb(tags: usize, paragraphs: usize) -> String {
        let open: String = (0..tags).map(|i| format!("<b n={i}>")).collect();
        format!("<p>{open}</p>{}", "<p>x</p>".repeat(paragraphs))
    }

    /// Within its bounds, the tree is the one scraper builds by itself, chunk boundaries
    /// (even inside a character) and all.
    #[test]
    fn same_tree_as_scraper() {
        let site = ucrawler_testsite::Site::new(ucrawler_testsite::SiteConfig::default());
        let mut cases: Vec<String> = (0..5)
            .filter_map(|id| site.page_html("http://h.test", id))
            .collect();
        cases.extend([
            "<p>é".repeat(CHUNK),
            "x".repeat(CHUNK - 1) + "é<b>bold<i>both</b>italic</i>",
            "<table><b>fostered<tr><td>cell</table><template><p>in template</template>".into(),
            "<script>document.write('<div>')</script><svg><title>s</title></svg><math><mi>x".into(),
            "<!DOCTYPE html><html><body><a href=x><a href=y>nested</a></a><form><form>".into(),
            String::new(),
        ]);
        for html in &cases {
            let ours = bounded(html).expect("within bounds").html();
            assert_eq!(ours, Html::parse_document(html).html(), "{html:.200}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        assert!(bounded(&nested("div", MAX_DEPTH - 10)).is_ok());
        assert_eq!(
            bounded(&nested("div", 200_000)).err(),
            Some(DomRefusal::TooDeep)
        );
        // Formatting elements nest too (the bomb's first paragraph).
        assert_eq!(
            bounded(&formatting_bomb(1_500, 1_500)).err(),
            Some(DomRefusal::TooDeep)
        );
    }

    /// A shallow bomb (200 elements re-created per paragraph) is stopped early.
    #[test]
    fn amplification_is_bounded() {
        let refused = bounded(&formatting_bomb(200, 3_000)).err();
        assert!(
            matches!(refused, Some(DomRefusal::Amplified { nodes, .. }) if nodes < 2 * MIN_NODES),
            "{refused:?}"
        );
    }

    /// Tags over deep nesting make html5ever scan its stack for each: bounded per byte.
    #[test]
    fn steps_are_bounded() {
        let html = nested("b", 250) + &"</x>".repeat(100_000);
        let limit = html.len() as u64 * MAX_STEPS_PER_BYTE;
        assert_eq!(bounded(&html).err(), Some(DomRefusal::TooSlow { limit }));
        assert!(bounded(&(nested("b", 250) + &"</x>".repeat(1_000))).is_ok());
    }

    /// A tree past its size stops there, having taken from the budget what it allocated: at
    /// most twice the bound (the last token adds at most as many nodes as exist).
    #[test]
    fn size_is_bounded_and_taken_from_memory() {
        let html = "<p>x".repeat(100_000);
        let limit = 1 << 20;
        let mut memory = Recorder {
            taken: 0,
            limit: u64::MAX,
        };
        let refused = parse(&html, &mut DomBudget::new(limit, &mut memory)).err();
        assert_eq!(refused, Some(DomRefusal::TooLarge { limit }));
        assert!(
            memory.taken > limit && memory.taken < 2 * limit,
            "{} taken, limit {limit}",
            memory.taken
        );
        // Within the default bound for its size, the same page is parsed.
        assert!(bounded(&html).is_ok());
    }

    #[test]
    fn a_spent_budget_refuses_the_tree() {
        let html = nested("p", 100);
        let mut memory = Recorder {
            taken: 0,
            limit: 8 << 10,
        };
        let refused = parse(&html, &mut DomBudget::new(u64::MAX, &mut memory)).err();
        assert_eq!(refused, Some(DomRefusal::OutOfMemory));
        // Enough memory: the same page parses, and what it took is an estimate of its tree.
        let mut memory = Recorder {
            taken: 0,
            limit: u64::MAX,
        };
        let document = parse(&html, &mut DomBudget::new(u64::MAX, &mut memory)).unwrap();
        let nodes = document.tree.nodes().count() as u64;
        assert!(
            memory.taken >= nodes * SLOT,
            "{} for {nodes} nodes",
            memory.taken
        );
    }
}

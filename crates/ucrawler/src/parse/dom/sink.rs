//! The tree sink behind [`super::parse`]: scraper's, counting what it builds (an estimate of
//! the bytes it allocates, taken from the [`DomBudget`]), how deep it nests and the tokens it
//! is given, and refusing at the first bound crossed.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};

use ego_tree::NodeId;
use html5ever::tendril::StrTendril;
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

use super::{DomBudget, DomRefusal, MAX_DEPTH, MAX_NODES_PER_TOKEN, MIN_NODES};

/// One node's place in ego-tree's `Vec` (links and scraper's `Node`).
pub(super) const SLOT: u64 = 5 * 8 + std::mem::size_of::<scraper::Node>() as u64;
/// One attribute in an element's list (name and value tendril), besides its bytes, and the
/// interned name it may add (counted for every attribute: clones of one are cheaper).
const ATTRIBUTE: u64 = (std::mem::size_of::<QualName>() + 16 + 48) as u64;
/// A string's header on the heap (a tendril's), besides its bytes.
const STRING: u64 = 16;

/// scraper's sink, counting what it builds.
pub(super) struct BoundedSink<'b, 'm> {
    inner: HtmlTreeSink,
    budget: RefCell<&'b mut DomBudget<'m>>,
    nodes: Cell<u64>,
    /// The last parent measured, and its depth (appends to one parent come in runs).
    last_parent: Cell<Option<(NodeId, usize)>>,
    /// The depth of the last node placed.
    depth: Cell<usize>,
    tokens: Cell<u64>,
    steps: Cell<u64>,
    max_steps: u64,
    refused: RefCell<Option<DomRefusal>>,
}

impl<'b, 'm> BoundedSink<'b, 'm> {
    pub(super) fn new(budget: &'b mut DomBudget<'m>, max_steps: u64) -> Self {
        let sink = Self {
            inner: HtmlTreeSink::new(Html::new_document()),
            budget: RefCell::new(budget),
            nodes: Cell::new(0),
            last_parent: Cell::new(None),
            depth: Cell::new(0),
            tokens: Cell::new(0),
            steps: Cell::new(0),
            max_steps,
            refused: RefCell::new(None),
        };
        sink.added(1, 0); // the document
        sink
    }

    /// `nodes` more nodes and `extra` bytes besides their slots.
    fn added(&self, nodes: u64, extra: u64) {
        let before = capacity(self.nodes.get());
        self.nodes.set(self.nodes.get() + nodes);
        let grown = (capacity(self.nodes.get()) - before) * SLOT;
        let taken = self.budget.borrow_mut().take(grown + extra);
        if let Err(refusal) = taken {
            self.refuse(refusal);
        }
        let (nodes, tokens) = (self.nodes.get(), self.tokens.get());
        if nodes > tokens * MAX_NODES_PER_TOKEN + MIN_NODES {
            self.refuse(DomRefusal::Amplified { nodes, tokens });
        }
    }

    /// A token is about to go to the tree builder: false if it must not (a bound is crossed).
    /// It costs the depth where the last node went, a stand-in for the stack it scans.
    pub(super) fn step(&self) -> bool {
        if self.refused.borrow().is_some() {
            return false;
        }
        self.tokens.set(self.tokens.get() + 1);
        let steps = self.steps.get() + self.depth.get() as u64 + 1;
        self.steps.set(steps);
        if steps > self.max_steps {
            self.refuse(DomRefusal::TooSlow {
                limit: self.max_steps,
            });
            return false;
        }
        true
    }

    fn refuse(&self, why: DomRefusal) {
        self.refused.borrow_mut().get_or_insert(why);
    }

    pub(super) fn check(&self) -> Result<(), DomRefusal> {
        match self.refused.borrow().clone() {
            None => Ok(()),
            Some(refusal) => Err(refusal),
        }
    }

    /// A node goes under `parent`: the tree must stay within [`MAX_DEPTH`].
    fn placed_under(&self, parent: NodeId) {
        let depth = match self.last_parent.get() {
            Some((last, depth)) if last == parent => depth,
            _ => {
                let html = self.inner.0.borrow();
                let depth = html.tree.get(parent).map_or(0, |n| n.ancestors().count());
                self.last_parent.set(Some((parent, depth)));
                depth
            }
        };
        self.depth.set(depth + 1);
        if depth >= MAX_DEPTH {
            self.refuse(DomRefusal::TooDeep);
        }
    }

    fn text(&self, text: &StrTendril) {
        // A text node, or more text on the last one (not told apart here: a slot at most).
        self.added(1, text.len() as u64 + STRING);
    }
}

/// Slots in ego-tree's `Vec` of nodes: it doubles, so its capacity is a power of two.
fn capacity(nodes: u64) -> u64 {
    if nodes == 0 {
        0
    } else {
        nodes.max(4).next_power_of_two()
    }
}

fn attributes_bytes(attrs: &[Attribute]) -> u64 {
    attrs
        .iter()
        .map(|a| ATTRIBUTE + (a.name.local.len() + a.value.len()) as u64)
        .sum()
}

impl TreeSink for BoundedSink<'_, '_> {
    type Handle = NodeId;
    type Output = Html;
    type ElemName<'a>
        = Ref<'a, QualName>
    where
        Self: 'a;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg);
    }

    fn get_document(&self) -> NodeId {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let template = u64::from(flags.template);
        let bytes = name.local.len() as u64 + attributes_bytes(&attrs);
        self.added(1 + template, bytes);
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.added(1, text.len() as u64 + STRING);
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.added(1, (target.len() + data.len()) as u64 + 2 * STRING);
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.placed_under(*parent);
        if let NodeOrText::AppendText(text) = &child {
            self.text(text);
        }
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        self.placed_under(*prev_element);
        if let NodeOrText::AppendText(text) = &child {
            self.text(text);
        }
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        let bytes = (name.len() + public_id.len() + system_id.len()) as u64 + 3 * STRING;
        self.added(1, bytes);
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &NodeId) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &NodeId) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        match &new_node {
            NodeOrText::AppendText(text) => self.text(text),
            // A node that moves takes its subtree along: depths cached are stale.
            NodeOrText::AppendNode(_) => self.last_parent.set(None),
        }
        // Beside `sibling`: as deep as it is, measured when it was placed.
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        self.added(0, attributes_bytes(&attrs));
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.last_parent.set(None);
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        // The children go one level below `new_parent`; what is under them moves with them
        // (the adoption agency moves them at most one level: checked on their next append).
        self.placed_under(*new_parent);
        self.last_parent.set(None);
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }
}

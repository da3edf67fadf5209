//! Extraction from HTML. A streaming pass (lol_html: no DOM is built) finds the title, meta
//! tags, canonical, links and structured data ([`structured`]); with `extract` rules, scraper also builds the DOM their CSS
//! selectors need. The built-in fields come from the streaming pass either way (the DOM's only
//! if lol_html gives up on the input), so rules never change which links a crawl follows: the
//! two parsers differ at the edges (an `<a>` inside `<select>` is a link to lol_html, as in
//! today's HTML parser, and dropped by html5ever's older tree rules). The DOM is bounded
//! ([`dom`]): a document it refuses keeps its built-in fields, gets empty rule values and the
//! reason. Selectors are compiled once per crawler (an invalid one is a configuration error
//! naming its rule); each page is parsed on a parser thread.

use std::borrow::Cow;
use std::collections::BTreeMap;

use scraper::{ElementRef, Selector};
use url::Url;

use super::dom::{self, DomBudget, DomMemory, DomRefusal, Unmetered};
use super::links::LinkPolicy;
use super::structured::{self, Structured};
use super::text_hash::TextHash;
use crate::config::Config;
use crate::error::ConfigError;
use crate::url::{base_url, resolve};
use scan::{scan, Raw};

/// What a page yielded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    pub noindex: bool,
    pub nofollow: bool,
    /// Absolute, normalized, unique, in document order, at most `max_links_per_page`.
    pub links: Vec<Url>,
    /// Those of `links` every link to which on the page is `rel="nofollow"`.
    pub nofollow_links: Vec<Url>,
    pub extracted: BTreeMap<String, Vec<String>>,
    /// The text a reader sees, hashed ([`crate::last_visit`]); `None` if not asked for
    /// (`hash_content`) or if the streaming pass gave up on the page.
    pub content_hash: Option<String>,
    /// Why the DOM the rules need was not built (their values are then empty).
    pub dom_refused: Option<DomRefusal>,
    /// JSON-LD and OpenGraph / Twitter card properties.
    pub structured: Structured,
}

impl Extracted {
    /// A `<meta name="robots">` content: `noindex`, `nofollow`, `none`.
    fn add_robots_directives(&mut self, content: &str) {
        for directive in content.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            match directive.as_str() {
                "noindex" => self.noindex = true,
                "nofollow" => self.nofollow = true,
                "none" => (self.noindex, self.nofollow) = (true, true),
                _ => {}
            }
        }
    }

    /// The page's links from `hrefs` (with whether their anchor is `rel="nofollow"`).
    fn add_links<'a>(
        &mut self,
        base: &Url,
        hrefs: impl Iterator<Item = (Cow<'a, str>, bool)>,
        policy: &LinkPolicy,
    ) {
        (self.links, self.nofollow_links) = policy.collect(base, hrefs);
    }
}

/// Whether a `rel` attribute holds the `nofollow` token.
fn is_nofollow_rel(rel: Option<&str>) -> bool {
    rel.is_some_and(|rel| {
        rel.split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("nofollow"))
    })
}

fn is_canonical_rel(rel: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|r| r.eq_ignore_ascii_case("canonical"))
}

/// One extracted value's `String`, besides its bytes.
const VALUE: u64 = std::mem::size_of::<String>() as u64;

struct Rule {
    name: String,
    selector: Selector,
    attr: Option<String>,
}

/// Compiled selectors for the built-in fields and the configured rules.
pub struct Extractor {
    title: Selector,
    base: Selector,
    links: Selector,
    meta: Selector,
    canonical: Selector,
    scripts: Selector,
    properties: Selector,
    rules: Vec<Rule>,
    links_policy: LinkPolicy,
    /// What [`Self::extract`] does about the content hash ([`Config::hashes_every_page`]).
    hash_text: bool,
}

fn builtin(css: &str) -> Selector {
    // Constant selectors: a failure here is a bug in this file, caught by every test.
    Selector::parse(css).unwrap_or_else(|e| panic!("built-in selector {css:?}: {e}"))
}

impl Extractor {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let rules = config
            .extract
            .iter()
            .map(|(name, rule)| {
                let selector =
                    Selector::parse(&rule.selector).map_err(|e| ConfigError::Selector {
                        rule: name.clone(),
                        message: format!("{:?}: {e}", rule.selector),
                    })?;
                Ok(Rule {
                    name: name.clone(),
                    selector,
                    attr: rule.attr.clone(),
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            title: builtin("title"),
            base: builtin("base[href]"),
            links: builtin("a[href], area[href]"),
            meta: builtin("meta[name][content]"),
            canonical: builtin("link[rel][href]"),
            scripts: builtin("script"),
            properties: builtin("meta[content]"),
            rules,
            links_policy: LinkPolicy::new(config),
            hash_text: config.hashes_every_page(),
        })
    }

    /// Whether a page's text is hashed: the crawl's setting ([`Config::hashes_every_page`]), or
    /// its last visit has a hash to compare with.
    pub(crate) fn hashes_text(&self, last_visit_hashed: bool) -> bool {
        self.hash_text || last_visit_hashed
    }

    /// Extracts everything from `html`, served from `page_url` (the final URL). The DOM, if
    /// rules need one, is held to its own bounds only ([`dom`]).
    pub fn extract(&self, html: &str, page_url: &Url) -> Extracted {
        self.extract_within(html, page_url, &mut Unmetered, self.hash_text)
    }

    /// [`Self::extract`], the DOM's bytes taken from `memory` (the crawl's `max_memory`), the
    /// text hashed if `hash_text` (the crawl's setting, or this page's last visit has a hash).
    pub(crate) fn extract_within(
        &self,
        html: &str,
        page_url: &Url,
        memory: &mut dyn DomMemory,
        hash_text: bool,
    ) -> Extracted {
        if self.rules.is_empty() {
            if let Some(raw) = scan(html, hash_text) {
                return raw.into_extracted(page_url, &self.links_policy, memory);
            }
        }
        self.extract_dom_within(html, page_url, memory, hash_text)
    }

    /// [`Self::extract`] with the DOM built even without rules (its bounds then apply).
    pub fn extract_dom(&self, html: &str, page_url: &Url) -> Extracted {
        self.extract_dom_within(html, page_url, &mut Unmetered, self.hash_text)
    }

    fn extract_dom_within(
        &self,
        html: &str,
        page_url: &Url,
        memory: &mut dyn DomMemory,
        hash_text: bool,
    ) -> Extracted {
        let mut budget = DomBudget::new(dom::max_bytes(html.len()), memory);
        self.extract_from_dom(html, page_url, &mut budget, hash_text)
            .unwrap_or_else(|refusal| {
                self.refused(html, page_url, refusal, budget.memory(), hash_text)
            })
    }

    /// A document whose DOM was refused: the streaming pass's fields, every rule empty.
    fn refused(
        &self,
        html: &str,
        page_url: &Url,
        refusal: DomRefusal,
        memory: &mut dyn DomMemory,
        hash_text: bool,
    ) -> Extracted {
        let mut out = scan(html, hash_text)
            .map(|raw| raw.into_extracted(page_url, &self.links_policy, memory))
            .unwrap_or_default();
        for rule in &self.rules {
            out.extracted.insert(rule.name.clone(), Vec::new());
        }
        out.dom_refused = Some(refusal);
        out
    }

    fn extract_from_dom(
        &self,
        html: &str,
        page_url: &Url,
        budget: &mut DomBudget<'_>,
        hash_text: bool,
    ) -> Result<Extracted, DomRefusal> {
        let document = dom::parse(html, budget)?;
        let mut out = match scan(html, hash_text) {
            Some(raw) => raw.into_extracted(page_url, &self.links_policy, budget.memory()),
            None => self.builtins_from_dom(&document, page_url, budget.memory()),
        };
        for rule in &self.rules {
            let mut values = Vec::new();
            for el in document.select(&rule.selector) {
                let value = match &rule.attr {
                    Some(attr) => el.value().attr(attr).map(|v| v.trim().to_string()),
                    None => Some(text_of(el)),
                };
                if let Some(value) = value {
                    // Nested matches repeat their text: values are bounded with the tree.
                    budget.take(value.len() as u64 + VALUE)?;
                    values.push(value);
                }
            }
            out.extracted.insert(rule.name.clone(), values);
        }
        Ok(out)
    }

    /// The built-in fields read from the DOM, for a page the streaming pass gave up on.
    fn builtins_from_dom(
        &self,
        document: &scraper::Html,
        page_url: &Url,
        memory: &mut dyn DomMemory,
    ) -> Extracted {
        let base_href = document
            .select(&self.base)
            .next()
            .and_then(|el| el.value().attr("href"));
        let base = base_url(page_url, base_href);

        let mut out = Extracted {
            title: document
                .select(&self.title)
                .next()
                .map(text_of)
                .filter(|t| !t.is_empty()),
            ..Extracted::default()
        };

        for meta in document.select(&self.meta) {
            let (Some(name), Some(content)) =
                (meta.value().attr("name"), meta.value().attr("content"))
            else {
                continue;
            };
            if name.eq_ignore_ascii_case("description") && out.description.is_none() {
                out.description = Some(collapse_whitespace(content));
            } else if name.eq_ignore_ascii_case("robots") {
                out.add_robots_directives(content);
            }
        }

        out.canonical = document
            .select(&self.canonical)
            .find(|el| el.value().attr("rel").is_some_and(is_canonical_rel))
            .and_then(|el| el.value().attr("href"))
            .and_then(|href| resolve(&base, href))
            .map(String::from);

        let hrefs = document.select(&self.links).filter_map(|anchor| {
            let anchor = anchor.value();
            let nofollow = is_nofollow_rel(anchor.attr("rel"));
            anchor
                .attr("href")
                .map(|href| (Cow::Borrowed(href), nofollow))
        });
        out.add_links(&base, hrefs, &self.links_policy);
        out.structured = structured::from_dom(document, [&self.scripts, &self.properties], memory);
        out
    }
}

/// The built-in fields as they appear in the markup (entities not yet decoded, URLs not yet
/// resolved), gathered in one streaming pass.
/// An attribute value with its character references decoded (the HTML attribute rules).
fn attribute(value: &str) -> String {
    unescaped(value).into_owned()
}

/// An attribute's text as the tokenizer gives it, borrowed when it holds no reference or NUL
/// (most links: one copy fewer per link).
fn unescaped(value: &str) -> Cow<'_, str> {
    htmlize::unescape_attribute(without_nul(value))
}

/// A NUL in an attribute or a title is U+FFFD to the HTML tokenizer (lol_html passes it on).
fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

impl Raw {
    fn into_extracted(
        self,
        page_url: &Url,
        policy: &LinkPolicy,
        memory: &mut dyn DomMemory,
    ) -> Extracted {
        let base = base_url(page_url, self.base.map(|href| attribute(&href)).as_deref());
        let mut out = Extracted {
            title: Some(collapse_whitespace(&htmlize::unescape(without_nul(
                &self.title,
            ))))
            .filter(|t| !t.is_empty()),
            description: self
                .description
                .map(|d| collapse_whitespace(&attribute(&d))),
            canonical: self
                .canonical
                .and_then(|href| resolve(&base, &attribute(&href)))
                .map(String::from),
            content_hash: self.text.as_ref().map(TextHash::finish),
            structured: self.structured.finish(memory),
            ..Extracted::default()
        };
        for content in &self.robots {
            out.add_robots_directives(&attribute(content));
        }
        let hrefs = (self.hrefs.iter()).map(|(href, nofollow)| (unescaped(href), *nofollow));
        out.add_links(&base, hrefs, policy);
        out
    }
}

fn text_of(element: ElementRef<'_>) -> String {
    let mut text = String::new();
    for piece in element.text() {
        text.push_str(piece);
    }
    collapse_whitespace(&text)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

mod scan;
#[cfg(test)]
mod tests;

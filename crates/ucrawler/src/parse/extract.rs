//! Extraction from HTML. Without `extract` rules, a streaming pass (lol_html: no DOM is built)
//! finds the title, meta tags, canonical and links; with rules, scraper builds the DOM their CSS
//! selectors need and both come from it. The DOM is bounded ([`dom`]): a document it refuses
//! gets the streaming pass's fields, empty rule values and the reason. Selectors are compiled
//! once per crawler (an invalid one is a configuration error naming its rule); each page is
//! parsed once, on a parser thread.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use scraper::{ElementRef, Selector};
use url::Url;

use super::dom::{self, DomBudget, DomMemory, DomRefusal, Unmetered};
use crate::config::Config;
use crate::error::ConfigError;
use crate::url::{base_url, fingerprint, resolve};

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
    pub extracted: BTreeMap<String, Vec<String>>,
    /// Why the DOM the rules need was not built (their values are then empty).
    pub dom_refused: Option<DomRefusal>,
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

    /// Resolves `hrefs` against `base` and keeps each crawlable link once, up to `max_links`.
    fn add_links<'a>(
        &mut self,
        base: &Url,
        hrefs: impl Iterator<Item = Cow<'a, str>>,
        max_links: usize,
    ) {
        let mut seen = HashSet::new();
        for href in hrefs {
            if self.links.len() >= max_links {
                break;
            }
            if let Some(link) = resolve(base, &href) {
                if seen.insert(fingerprint(link.as_str())) {
                    self.links.push(link);
                }
            }
        }
    }
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
    rules: Vec<Rule>,
    max_links: usize,
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
            rules,
            max_links: config.max_links_per_page,
        })
    }

    /// Extracts everything from `html`, served from `page_url` (the final URL). The DOM, if
    /// rules need one, is held to its own bounds only ([`dom`]).
    pub fn extract(&self, html: &str, page_url: &Url) -> Extracted {
        self.extract_within(html, page_url, &mut Unmetered)
    }

    /// [`Self::extract`], the DOM's bytes taken from `memory` (the crawl's `max_memory`).
    pub(crate) fn extract_within(
        &self,
        html: &str,
        page_url: &Url,
        memory: &mut dyn DomMemory,
    ) -> Extracted {
        if self.rules.is_empty() {
            if let Some(raw) = scan(html) {
                return raw.into_extracted(page_url, self.max_links);
            }
        }
        self.extract_dom_within(html, page_url, memory)
    }

    /// Extraction from scraper's DOM: what selector rules need (and the fallback if the
    /// streaming pass fails).
    pub fn extract_dom(&self, html: &str, page_url: &Url) -> Extracted {
        self.extract_dom_within(html, page_url, &mut Unmetered)
    }

    fn extract_dom_within(
        &self,
        html: &str,
        page_url: &Url,
        memory: &mut dyn DomMemory,
    ) -> Extracted {
        let mut budget = DomBudget::new(dom::max_bytes(html.len()), memory);
        self.extract_from_dom(html, page_url, &mut budget)
            .unwrap_or_else(|refusal| self.refused(html, page_url, refusal))
    }

    /// A document whose DOM was refused: the streaming pass's fields, every rule empty.
    fn refused(&self, html: &str, page_url: &Url, refusal: DomRefusal) -> Extracted {
        let mut out = scan(html)
            .map(|raw| raw.into_extracted(page_url, self.max_links))
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
    ) -> Result<Extracted, DomRefusal> {
        let document = dom::parse(html, budget)?;
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

        let hrefs = document
            .select(&self.links)
            .filter_map(|anchor| anchor.value().attr("href"));
        out.add_links(&base, hrefs.map(Cow::Borrowed), self.max_links);

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
}

/// The built-in fields as they appear in the markup (entities not yet decoded, URLs not yet
/// resolved), gathered in one streaming pass.
#[derive(Default)]
struct Raw {
    titles: usize,
    title: String,
    base: Option<String>,
    description: Option<String>,
    robots: Vec<String>,
    canonical: Option<String>,
    hrefs: Vec<String>,
}

/// The streaming pass; `None` if lol_html gives up on the input (the DOM path then decides).
fn scan(html: &str) -> Option<Raw> {
    use lol_html::{element, text, HtmlRewriter, Settings};
    let raw = RefCell::new(Raw::default());
    let settings = Settings::new()
        .append_element_content_handler(element!("title", |_| {
            raw.borrow_mut().titles += 1;
            Ok(())
        }))
        // Only the first <title>, as in the DOM path.
        .append_element_content_handler(text!("title", |chunk| {
            let mut raw = raw.borrow_mut();
            if raw.titles == 1 {
                raw.title.push_str(chunk.as_str());
            }
            Ok(())
        }))
        .append_element_content_handler(element!("base[href]", |el| {
            let mut raw = raw.borrow_mut();
            if raw.base.is_none() {
                raw.base = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(element!("meta[name][content]", |el| {
            let (Some(name), Some(content)) =
                (el.get_attribute("name"), el.get_attribute("content"))
            else {
                return Ok(());
            };
            let mut raw = raw.borrow_mut();
            if name.eq_ignore_ascii_case("description") {
                raw.description.get_or_insert(content);
            } else if name.eq_ignore_ascii_case("robots") {
                raw.robots.push(content);
            }
            Ok(())
        }))
        .append_element_content_handler(element!("link[rel][href]", |el| {
            let mut raw = raw.borrow_mut();
            let canonical = el
                .get_attribute("rel")
                .is_some_and(|rel| is_canonical_rel(&rel));
            if canonical && raw.canonical.is_none() {
                raw.canonical = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(element!("a[href], area[href]", |el| {
            if let Some(href) = el.get_attribute("href") {
                raw.borrow_mut().hrefs.push(href);
            }
            Ok(())
        }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter.write(html.as_bytes()).ok()?;
    rewriter.end().ok()?;
    Some(raw.into_inner())
}

/// An attribute value with its character references decoded (the HTML attribute rules).
fn attribute(value: &str) -> String {
    htmlize::unescape_attribute(value).into_owned()
}

impl Raw {
    fn into_extracted(self, page_url: &Url, max_links: usize) -> Extracted {
        let base = base_url(page_url, self.base.map(|href| attribute(&href)).as_deref());
        let mut out = Extracted {
            title: Some(collapse_whitespace(&htmlize::unescape(&self.title)))
                .filter(|t| !t.is_empty()),
            description: self
                .description
                .map(|d| collapse_whitespace(&attribute(&d))),
            canonical: self
                .canonical
                .and_then(|href| resolve(&base, &attribute(&href)))
                .map(String::from),
            ..Extracted::default()
        };
        for content in &self.robots {
            out.add_robots_directives(&attribute(content));
        }
        let hrefs = self.hrefs.iter().map(|href| Cow::Owned(attribute(href)));
        out.add_links(&base, hrefs, max_links);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExtractRule;

    fn extract(html: &str) -> Extracted {
        let config = Config::builder()
            .extract("price", ExtractRule::text(".price"))
            .extract("hero", ExtractRule::attr("img.hero", "src"))
            .build()
            .unwrap();
        Extractor::new(&config)
            .unwrap()
            .extract(html, &Url::parse("http://h.test/dir/page").unwrap())
    }

    #[test]
    fn builtin_fields() {
        let page = extract(
            r#"<html><head><title>  Hello
               World </title><meta name="Description" content=" A  page "><link rel="alternate canonical" href="/canon">
               <meta name="robots" content="NOINDEX, follow"></head><body></body></html>"#,
        );
        assert_eq!(page.title.as_deref(), Some("Hello World"));
        assert_eq!(page.description.as_deref(), Some("A page"));
        assert_eq!(page.canonical.as_deref(), Some("http://h.test/canon"));
        assert!(page.noindex && !page.nofollow);
        assert!(extract(r#"<meta name=robots content="none">"#).nofollow);
    }

    #[test]
    fn links_resolved_against_base_and_deduplicated() {
        let page = extract(
            r#"<base href="http://other.test/base/"><a href="x">1</a><a href="x#frag">2</a>
               <a href=" /abs ">3</a><a href="mailto:a@b">4</a><a>no href</a><area href="//cdn.test/y">
               <a href="">empty</a><a href="javascript:void(0)">js</a>"#,
        );
        let links: Vec<_> = page.links.iter().map(Url::as_str).collect();
        assert_eq!(
            links,
            [
                "http://other.test/base/x",
                "http://other.test/abs",
                "http://cdn.test/y"
            ]
        );
    }

    #[test]
    fn hostile_base_falls_back_to_the_page_url() {
        let html = r#"<base href="javascript:alert(1)"><a href="x">1</a><a href="/y">2</a>"#;
        let url = Url::parse("http://h.test/dir/page").unwrap();
        let expected = ["http://h.test/dir/x", "http://h.test/y"];
        let streaming = Extractor::new(&Config::default())
            .unwrap()
            .extract(html, &url);
        let dom = Extractor::new(&Config::default())
            .unwrap()
            .extract_dom(html, &url);
        for page in [streaming, dom] {
            let links: Vec<_> = page.links.iter().map(Url::as_str).collect();
            assert_eq!(links, expected);
        }
    }

    #[test]
    fn rules_and_broken_html() {
        let page = extract(
            "<p class=price>$1.00<p class=price> $2 <b>50</b>\u{FFFD}<img class=hero src=' /h.jpg '><div><span></table></html>",
        );
        assert_eq!(page.extracted["price"], ["$1.00", "$2 50\u{FFFD}"]);
        assert_eq!(page.extracted["hero"], ["/h.jpg"]);
        assert_eq!(page.title, None);
    }

    /// The DOM refused: title and links from the streaming pass, every rule empty, the reason.
    #[test]
    fn a_refused_dom_keeps_the_streaming_fields() {
        let deep = "<div>".repeat(dom::MAX_DEPTH + 10);
        let page = extract(&format!(
            "<title>Deep</title><a href=/x>x</a><p class=price>$1</p>{deep}"
        ));
        assert_eq!(page.dom_refused, Some(DomRefusal::TooDeep));
        assert_eq!(page.title.as_deref(), Some("Deep"));
        assert_eq!(page.links.len(), 1);
        assert!(page.extracted["price"].is_empty() && page.extracted["hero"].is_empty());
    }

    /// Nested matches repeat their text: 200 copies of 100 KB are over the document's bound.
    #[test]
    fn extracted_values_are_bounded_with_the_tree() {
        let config = Config::builder()
            .extract("all", ExtractRule::text("div"))
            .build()
            .unwrap();
        let html = "<div>".repeat(200) + &"y".repeat(100_000);
        let page = Extractor::new(&config)
            .unwrap()
            .extract(&html, &Url::parse("http://h/").unwrap());
        let limit = dom::max_bytes(html.len());
        assert_eq!(page.dom_refused, Some(DomRefusal::TooLarge { limit }));
        assert!(page.extracted["all"].is_empty());
    }

    #[test]
    fn max_links_is_a_bound() {
        let html: String = (0..50).map(|i| format!("<a href=/p{i}>x</a>")).collect();
        let config = Config {
            max_links_per_page: 10,
            ..Config::default()
        };
        let page = Extractor::new(&config)
            .unwrap()
            .extract(&html, &Url::parse("http://h/").unwrap());
        assert_eq!(page.links.len(), 10);
    }

    /// The streaming pass and the DOM agree on the built-in fields, whatever the markup.
    #[test]
    fn streaming_and_dom_agree() {
        let extractor = Extractor::new(&Config::default()).unwrap();
        let url = Url::parse("http://h.test/dir/page").unwrap();
        let site = ucrawler_testsite::Site::new(ucrawler_testsite::SiteConfig::default());
        let mut cases: Vec<String> = (1..=20)
            .filter_map(|id| site.page_html("http://h.test", id))
            .collect();
        cases.extend(
            [
                r#"<title>Tom &amp; Jerry &eacute;t&eacute; &#x41;&#66;</title><a href="/x?a=1&amp;b=2">x</a>"#,
                r#"<a href="/caf&eacute;">1</a><a href="/?x=1&copy=2">2</a><a href='/?q="&lt;"'>3</a>"#,
                r#"<base href="/base/"><a href=rel>1</a><link rel="Canonical" href="../canon?a&amp;b">"#,
                r#"<meta name=ROBOTS content="noindex, NoFollow"><meta name=description content=" a &amp;  b ">"#,
                r#"<meta name=description content=first><meta name=description content=second>"#,
                "<title>one</title><title>two</title><a href=/a><area href=/b><a href=/a#f>",
                "<html><head><title>Malformed</title><a href=/1><div><a href='/2'><table><a href=/3></table></html>",
                "<title>  spaced\n\n title </title><!-- <a href=/commented> --><script>var a = '<a href=/js>';</script>",
                "<svg><title>svg title</title></svg><a href=\"javascript:x\">j</a><a href=\"mailto:a@b\">m</a>",
                "",
                "no markup at all",
                "<a href=/unterminated",
                "<title>unterminated",
            ]
            .map(String::from),
        );
        for html in &cases {
            let streamed = scan(html)
                .expect("lol_html takes any input")
                .into_extracted(&url, 10_000);
            assert_eq!(streamed, extractor.extract_dom(html, &url), "{html}");
        }
    }

    #[test]
    fn invalid_selector_names_the_rule() {
        let config = Config::builder()
            .extract("broken", ExtractRule::text("p["))
            .build()
            .unwrap();
        let err = Extractor::new(&config).err().unwrap().to_string();
        assert!(err.contains("broken") && err.contains("p["), "{err}");
    }
}

//! `render: auto` — whether a fetched page is a shell its scripts fill in (and so worth a
//! render in Chromium), told from the HTML alone in one streaming pass.
//!
//! The rule, from what script-built pages served to a crawler look like (create-react-app,
//! Vue CLI, Angular, Nuxt/Next and Gatsby in client mode: an empty mount point, a bundle, a
//! `<noscript>` asking for JavaScript) against server-rendered pages (text and links in the
//! HTML, scripts or not). A page is a shell when it has a script and either
//! - almost no text a reader sees (under [`SHELL_TEXT`] characters) and under [`SHELL_LINKS`]
//!   links, or
//! - a `<noscript>` that mentions JavaScript, or a framework's mount point (`#root`, `#app`,
//!   `#__next`, `#__nuxt`, `#___gatsby`, `<app-root>`), with little text (under [`HINTED_TEXT`]
//!   characters): a server-rendered page with a cookie banner's `<noscript>` has more.

use std::cell::{Cell, RefCell};

use lol_html::html_content::TextType;
use lol_html::{doc_text, element, text, HtmlRewriter, Settings};

/// Visible characters (whitespace excluded) below which a page with scripts is a shell.
pub const SHELL_TEXT: usize = 200;
/// Links below which a page with scripts and little text is a shell.
pub const SHELL_LINKS: usize = 3;
/// Visible characters below which a page with a JavaScript hint is a shell.
pub const HINTED_TEXT: usize = 1000;
/// The most of a body looked at: a shell is small, and a page this large has its content.
const LOOK_AT: usize = 512 << 10;

/// What the rule saw, for stats and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShellSigns {
    pub scripts: usize,
    pub links: usize,
    pub text: usize,
    /// A `<noscript>` mentioning JavaScript, or a framework's mount point.
    pub hinted: bool,
}

impl ShellSigns {
    pub fn is_shell(&self) -> bool {
        self.scripts > 0
            && ((self.text < SHELL_TEXT && self.links < SHELL_LINKS)
                || (self.hinted && self.text < HINTED_TEXT))
    }
}

/// Reads `html` (bytes, any ASCII-compatible charset) for the signs of a script-built page.
pub fn shell_signs(html: &[u8]) -> ShellSigns {
    let (scripts, links, text, hinted) =
        (Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(false));
    let noscript = RefCell::new(String::new());
    {
        let settings = Settings::new()
            .append_element_content_handler(element!("script", |_| {
                scripts.set(scripts.get() + 1);
                Ok(())
            }))
            .append_element_content_handler(element!("a[href]", |_| {
                links.set(links.get() + 1);
                Ok(())
            }))
            .append_element_content_handler(element!(
                "#root, #app, #__next, #__nuxt, #___gatsby, app-root",
                |_| {
                    hinted.set(true);
                    Ok(())
                }
            ))
            .append_element_content_handler(text!("noscript", |chunk| {
                let mut noscript = noscript.borrow_mut();
                if noscript.len() < 4096 {
                    noscript.push_str(chunk.as_str());
                }
                Ok(())
            }))
            .append_document_content_handler(doc_text!(|chunk| {
                if !matches!(chunk.text_type(), TextType::ScriptData | TextType::RawText) {
                    let visible = chunk.as_str().chars().filter(|c| !c.is_whitespace());
                    text.set(text.get() + visible.count());
                }
                Ok(())
            }));
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        // A malformed document is still read as far as it goes: the signs are what was seen.
        let _ = rewriter.write(&html[..html.len().min(LOOK_AT)]);
        let _ = rewriter.end();
    }
    let noscript = noscript.into_inner();
    let noscript_hint = noscript.to_ascii_lowercase().contains("javascript");
    ShellSigns {
        scripts: scripts.get(),
        links: links.get(),
        // Not <noscript>'s: lol_html reads it as raw text, as a browser running scripts does.
        text: text.get(),
        hinted: hinted.get() || noscript_hint,
    }
}

/// Whether `html` looks built by its scripts (see the module's rule).
pub fn looks_script_built(html: &[u8]) -> bool {
    shell_signs(html).is_shell()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_shells_are_shells() {
        let cra = br#"<!doctype html><html><head><title>React App</title>
            <script defer src="/static/js/main.js"></script></head>
            <body><noscript>You need to enable JavaScript to run this app.</noscript>
            <div id="root"></div></body></html>"#;
        let vue =
            br#"<html><body><div id="app"></div><script src="/js/app.js"></script></body></html>"#;
        let angular = br#"<html><body><app-root></app-root><script src="main.js" type="module"></script></body></html>"#;
        for page in [&cra[..], vue, angular] {
            assert!(
                looks_script_built(page),
                "{}",
                String::from_utf8_lossy(page)
            );
        }
    }

    #[test]
    fn server_rendered_pages_are_not() {
        let words = "Every article has its words in the HTML itself. ".repeat(40);
        let article = format!(
            "<html><head><script src=/analytics.js></script></head><body><div id=root>\
             <h1>News</h1><p>{words}</p><a href=/a>a</a><a href=/b>b</a><a href=/c>c</a>\
             </div><noscript>Enable JavaScript for comments.</noscript></body></html>"
        );
        assert!(!looks_script_built(article.as_bytes()));
        // A small page without scripts cannot be filled in by them.
        assert!(!looks_script_built(
            b"<html><body><p>Hello</p></body></html>"
        ));
        // A short page of links with a script is a page of links.
        let menu = b"<html><body><script>x()</script><a href=/1>1</a><a href=/2>2</a><a href=/3>3</a></body></html>";
        assert!(!looks_script_built(menu));
    }

    #[test]
    fn signs_are_counted() {
        let signs = shell_signs(
            b"<html><body><style>p{color:red}</style><script>var long_code = 1;</script>\
              <p>Hi there</p><a href=/x>x</a><noscript>Please turn on JavaScript</noscript></body></html>",
        );
        assert_eq!(signs.scripts, 1);
        assert_eq!(signs.links, 1);
        assert_eq!(signs.text, "Hithere".len() + "x".len());
        assert!(signs.hinted);
        assert!(signs.is_shell());
        assert_eq!(shell_signs(b"\xff\xfe<<<>>").scripts, 0);
    }
}

//! The options that take one of several forms: which private addresses may be crawled, which
//! sitemaps are read, and an extraction rule.

use serde::{Deserialize, Serialize};

/// Which non-public addresses may be crawled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivateAddresses {
    /// Never: not even for seeds.
    Deny,
    /// Only for hosts that are the host of a seed (the default): a seed may be an intranet
    /// site, but a link or redirect cannot lead the crawler into the private network.
    #[default]
    Seeds,
    /// Always (the guard is off).
    Allow,
}

/// Which sitemaps a crawl reads for each seed's site (`host:port`). Their URLs enter the crawl
/// at the seed's depth, within scope and on the site's host; sitemap fetches pass robots.txt,
/// the address guard and politeness like any request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sitemaps {
    /// None (the default): a crawl reaches what its seeds link to.
    #[default]
    Off,
    /// Those named by the site's robots.txt (`Sitemap:` lines), else `/sitemap.xml`.
    On,
    /// Only those named by robots.txt.
    Robots,
}

impl std::str::FromStr for Sitemaps {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "false" | "no" => Ok(Self::Off),
            "on" | "true" | "yes" => Ok(Self::On),
            "robots" => Ok(Self::Robots),
            other => Err(format!("{other:?}: expected on, robots or off")),
        }
    }
}

/// Which pages are rendered in headless Chromium after their HTTP fetch (see `render_*`).
/// The document itself is always fetched over HTTP, under every rule of a plain fetch; the
/// browser is handed that response and fetches only the page's scripts and data, each through
/// the crawler's own client (address guard, robots.txt, the page's host politeness).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Render {
    /// No page (the default).
    #[default]
    Never,
    /// Every HTML page answered 2xx.
    Always,
    /// HTML pages that look built by scripts: see `parse::looks_script_built`.
    Auto,
}

impl std::str::FromStr for Render {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "never" | "false" | "no" | "off" => Ok(Self::Never),
            "always" | "true" | "yes" | "on" => Ok(Self::Always),
            "auto" => Ok(Self::Auto),
            other => Err(format!("{other:?}: expected never, always or auto")),
        }
    }
}

/// A named extraction rule: the text of the elements matching `selector`, or the value of
/// `attr` on them. In a config file or from Ruby: `".price"` or `["img.hero", "src"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RuleForm", into = "RuleForm")]
pub struct ExtractRule {
    pub selector: String,
    pub attr: Option<String>,
}

impl ExtractRule {
    pub fn text(selector: impl Into<String>) -> Self {
        Self {
            selector: selector.into(),
            attr: None,
        }
    }

    pub fn attr(selector: impl Into<String>, attr: impl Into<String>) -> Self {
        Self {
            selector: selector.into(),
            attr: Some(attr.into()),
        }
    }

    /// Parses the CLI form `SELECTOR` or `SELECTOR@ATTR`.
    pub fn parse(spec: &str) -> Self {
        match spec.rsplit_once('@') {
            Some((selector, attr)) if !attr.is_empty() && !attr.contains([' ', ']', '>']) => {
                Self::attr(selector, attr)
            }
            _ => Self::text(spec),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RuleForm {
    Text(String),
    Attr(String, String),
}

impl From<RuleForm> for ExtractRule {
    fn from(form: RuleForm) -> Self {
        match form {
            RuleForm::Text(selector) => Self::text(selector),
            RuleForm::Attr(selector, attr) => Self::attr(selector, attr),
        }
    }
}

impl From<ExtractRule> for RuleForm {
    fn from(rule: ExtractRule) -> Self {
        match rule.attr {
            Some(attr) => RuleForm::Attr(rule.selector, attr),
            None => RuleForm::Text(rule.selector),
        }
    }
}

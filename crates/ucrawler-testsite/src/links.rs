//! The link graph of the normal site, and how each link is spelled in the HTML.
//!
//! Rendering ([`crate::html`]) and [`crate::Site::expected_urls`] both use this module, so
//! the expected crawl result is exactly what the HTML contains.
//!
//! Graph: page `i` links to its "tree children" `8i+1 ..= 8i+8` (so every page is reachable
//! from `/`), plus pseudo-random targets, 20–80 in-site body links in total. About one page in
//! ten also links to `/page/{j}.html?sort=asc` (always together with a plain link to
//! `/page/{j}.html`, so following `<link rel=canonical>` or not changes nothing). Every page
//! also carries the same navigation bar (`/` and pages 1..=29) and a logo link to `/`.

use crate::rng::{Rng, STREAM_LINKS};

/// How a link's `href` is spelled. All spellings resolve to the same URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `/page/5.html`
    Root,
    /// `5.html` (from `/page/`) or `page/5.html` (from `/`)
    DocRelative,
    /// `../page/5.html` (from `/page/`) or `./page/5.html` (from `/`)
    DotDot,
    /// `./5.html` (from `/page/`) or `./page/5.html` (from `/`)
    Dot,
    /// `{base}/page/5.html`
    Absolute,
    /// `//{host:port}/page/5.html`
    ProtocolRelative,
}

const FORMS: [Form; 6] = [
    Form::Root,
    Form::DocRelative,
    Form::DotDot,
    Form::Dot,
    Form::Absolute,
    Form::ProtocolRelative,
];

/// One `<a href>` to a page of the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) target: usize,
    /// `?sort=asc` variant of the target.
    pub(crate) sort: bool,
    pub(crate) form: Form,
    /// `#section-N` (`0` = none).
    pub(crate) fragment: u8,
    /// Whitespace around the href value: `href="  /page/5.html "`.
    pub(crate) padded: bool,
}

/// Number of entries in the navigation bar (page 0 plus pages 1..NAV_LEN).
pub(crate) const NAV_LEN: usize = 30;

/// The navigation bar shared by every page: `/` and pages 1..=29 (those that exist), in
/// position-independent spellings (root-relative, absolute, protocol-relative).
pub(crate) fn nav_links(pages: usize) -> impl Iterator<Item = Link> {
    (0..NAV_LEN.min(pages)).map(|target| Link {
        target,
        sort: false,
        form: match (target, target % 3) {
            (0, _) | (_, 1) => Form::Root,
            (_, 0) => Form::Absolute,
            _ => Form::ProtocolRelative,
        },
        fragment: 0,
        padded: false,
    })
}

/// The in-site links in the body of page `id` (without the navigation bar), in page order.
pub(crate) fn body_links(seed: u64, pages: usize, id: usize) -> Vec<Link> {
    let mut rng = Rng::new(seed, id as u64, STREAM_LINKS);
    let total = rng.range(20, 80) as usize;
    let mut out = Vec::with_capacity(total + 2);
    let first_child = id.saturating_mul(8).saturating_add(1);
    for child in first_child..first_child.saturating_add(8).min(pages) {
        out.push(spell(&mut rng, child, false));
    }
    if pages > 1 && rng.chance(10) {
        let j = 1 + rng.below(pages as u64 - 1) as usize;
        out.push(spell(&mut rng, j, false));
        out.push(spell(&mut rng, j, true));
    }
    while out.len() < total {
        let target = rng.below(pages as u64) as usize;
        out.push(spell(&mut rng, target, false));
    }
    // Interleave the tree children with the random links (deterministic Fisher–Yates).
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    out
}

pub(crate) fn spell(rng: &mut Rng, target: usize, sort: bool) -> Link {
    let form = FORMS[rng.below(FORMS.len() as u64) as usize];
    let fragment = if rng.chance(6) {
        rng.range(1, 3) as u8
    } else {
        0
    };
    let padded = rng.chance(12);
    Link {
        target,
        sort,
        form,
        fragment,
        padded,
    }
}

/// Appends the decimal representation of `n`.
pub(crate) fn push_num(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends the root-relative path of page `target`: `/` or `/page/{target}.html`.
pub(crate) fn push_page_path(out: &mut String, target: usize) {
    if target == 0 {
        out.push('/');
    } else {
        out.push_str("/page/");
        push_num(out, target as u64);
        out.push_str(".html");
    }
}

/// Appends the href value of `link` as written on page `from`.
///
/// `base` is `http://host:port` (no trailing slash) and `authority` its `host:port` part.
pub(crate) fn push_href(out: &mut String, link: &Link, from: usize, base: &str, authority: &str) {
    if link.padded {
        out.push_str("  ");
    }
    let at_root = from == 0;
    match link.form {
        Form::Root => push_page_path(out, link.target),
        Form::Absolute => {
            out.push_str(base);
            push_page_path(out, link.target);
        }
        Form::ProtocolRelative => {
            out.push_str("//");
            out.push_str(authority);
            push_page_path(out, link.target);
        }
        Form::DocRelative | Form::DotDot | Form::Dot if link.target == 0 => {
            out.push_str(match (at_root, link.form) {
                (true, _) => "./",
                (false, Form::Dot) => "./../",
                (false, _) => "../",
            });
        }
        Form::DocRelative | Form::DotDot | Form::Dot => {
            out.push_str(match (at_root, link.form) {
                (true, Form::DocRelative) => "page/",
                (true, _) => "./page/",
                (false, Form::DocRelative) => "",
                (false, Form::DotDot) => "../page/",
                (false, _) => "./",
            });
            push_num(out, link.target as u64);
            out.push_str(".html");
        }
    }
    if link.sort {
        out.push_str("?sort=asc");
    }
    if link.fragment > 0 {
        out.push_str("#section-");
        out.push((b'0' + link.fragment) as char);
    }
    if link.padded {
        out.push(' ');
    }
}

/// `host:port` of a base URL such as `http://127.0.0.1:8080`.
pub(crate) fn authority(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn href(link: Link, from: usize) -> String {
        let mut s = String::new();
        push_href(&mut s, &link, from, "http://h:1", "h:1");
        s
    }

    fn link(target: usize, form: Form) -> Link {
        Link {
            target,
            sort: false,
            form,
            fragment: 0,
            padded: false,
        }
    }

    #[test]
    fn spellings() {
        assert_eq!(href(link(5, Form::Root), 3), "/page/5.html");
        assert_eq!(href(link(5, Form::DocRelative), 3), "5.html");
        assert_eq!(href(link(5, Form::DocRelative), 0), "page/5.html");
        assert_eq!(href(link(5, Form::DotDot), 3), "../page/5.html");
        assert_eq!(href(link(5, Form::Dot), 3), "./5.html");
        assert_eq!(href(link(5, Form::Absolute), 3), "http://h:1/page/5.html");
        assert_eq!(
            href(link(5, Form::ProtocolRelative), 3),
            "//h:1/page/5.html"
        );
        assert_eq!(href(link(0, Form::DotDot), 3), "../");
        assert_eq!(href(link(0, Form::Dot), 0), "./");
        let fancy = Link {
            sort: true,
            fragment: 2,
            padded: true,
            ..link(7, Form::Root)
        };
        assert_eq!(href(fancy, 1), "  /page/7.html?sort=asc#section-2 ");
    }

    #[test]
    fn body_links_contain_children_and_are_in_range() {
        for id in 0..200 {
            let links = body_links(1, 1000, id);
            assert!((20..=82).contains(&links.len()), "{}", links.len());
            assert!(links.iter().all(|l| l.target < 1000));
            for child in (8 * id + 1..=8 * id + 8).filter(|&c| c < 1000) {
                assert!(links.iter().any(|l| l.target == child && !l.sort));
            }
            for sorted in links.iter().filter(|l| l.sort) {
                assert!(links.iter().any(|l| l.target == sorted.target && !l.sort));
            }
        }
        assert!(body_links(1, 1, 0).iter().all(|l| l.target == 0));
    }

    #[test]
    fn numbers_and_authority() {
        let mut s = String::new();
        push_num(&mut s, 0);
        s.push(' ');
        push_num(&mut s, 18_446_744_073_709_551_615);
        assert_eq!(s, "0 18446744073709551615");
        assert_eq!(authority("http://127.0.0.1:80"), "127.0.0.1:80");
        assert_eq!(authority("http://[::1]:9/x"), "[::1]:9");
    }
}

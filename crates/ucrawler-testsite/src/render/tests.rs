use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use http_body_util::BodyExt;

use super::mixed::{is_shell, links};
use super::*;
use crate::{SiteConfig, TestSite, DEFAULT_ROBOTS_TXT};

const BASE: &str = "http://127.0.0.1:40000";
const HOST: &str = "127.0.0.1:40000";

fn get(path: &str) -> (u16, String, Vec<u8>) {
    let resp = respond(path, HOST).unwrap_or_else(|| panic!("{path} not routed"));
    let status = resp.status().as_u16();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = runtime.block_on(resp.into_body().collect()).unwrap();
    (status, content_type, body.to_bytes().to_vec())
}

fn page(path: &str) -> String {
    let (status, content_type, body) = get(path);
    assert_eq!(status, 200, "{path}");
    assert!(content_type.starts_with("text/html"), "{path}");
    let body = String::from_utf8(body).unwrap();
    assert_well_formed(path, &body);
    body
}

/// Every opened element of these kinds is closed, in order, and the document is whole.
fn assert_well_formed(path: &str, body: &str) {
    assert!(body.starts_with("<!DOCTYPE html>\n<html"), "{path}");
    assert!(body.ends_with("</body></html>\n"), "{path}");
    let tags = [
        "html", "head", "title", "body", "div", "script", "noscript", "style", "p", "nav", "a",
        "video", "h1",
    ];
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if open.last() == Some(&"script") && !rest.starts_with("/script>") {
            continue; // script text is not markup
        }
        let (closing, name_from) = match rest.strip_prefix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let name: String = name_from
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !tags.contains(&name.as_str()) {
            continue;
        }
        let name = tags.iter().find(|t| **t == name).unwrap();
        if closing {
            assert_eq!(open.pop(), Some(*name), "{path}: </{name}> unbalanced");
        } else {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "{path}: {open:?} left open");
}

fn is_shell_body(body: &str) -> bool {
    body.contains("<title></title>")
        && body.contains("<div id=\"root\"></div>")
        && body.contains("<noscript>You need to enable JavaScript to run this app.</noscript>")
}

#[test]
fn script_built_section_has_no_links_in_its_html() {
    let mut paths = vec!["/render/".to_string()];
    paths.extend((1..=SCRIPT_PAGES).map(script_page_path));
    for path in &paths {
        let body = page(path);
        assert!(is_shell_body(&body), "{path}");
        assert!(!body.contains("<a") && !body.contains("href=\""), "{path}");
        assert!(body.contains("<script src=\"/render/app.js\"></script>"));
    }
    for path in [
        "/render/p/0",
        "/render/p/13",
        "/render/p/01",
        "/render/px",
        "/renderx",
    ] {
        assert!(respond(path, HOST).is_none(), "{path}");
    }
}

#[test]
fn app_js_table_matches_the_expected_set() {
    let (status, content_type, js) = get("/render/app.js");
    assert_eq!((status, content_type.as_str()), (200, pages_js()));
    let js = String::from_utf8(js).unwrap();
    let mut linked = BTreeSet::from(["/render/".to_string()]);
    for i in 0..=SCRIPT_PAGES {
        let path = match i {
            0 => "/render/".to_string(),
            _ => script_page_path(i),
        };
        let links = script_page_links(i);
        let list: Vec<String> = links.iter().map(|n| n.to_string()).collect();
        let row = format!(
            "'{path}': {{ title: '{}', links: [{}] }}",
            title(&path).unwrap(),
            list.join(", ")
        );
        assert!(js.contains(&row), "{row}");
        linked.extend(links.iter().map(|&n| script_page_path(n)));
    }
    assert_eq!(script_page_links(SCRIPT_PAGES), vec![1, 2]);
    let urls: BTreeSet<String> = linked.iter().map(|p| format!("{BASE}{p}")).collect();
    assert_eq!(urls, expected_script_built_urls(BASE));
    assert_eq!(urls.len(), SCRIPT_PAGES + 1);
    assert!(urls.contains("http://127.0.0.1:40000/render/"));
    assert!(urls.contains("http://127.0.0.1:40000/render/p/12"));
    assert_eq!(
        expected_without_rendering("http://LOCALHOST:80/"),
        BTreeSet::from(["http://localhost/render/".to_string()])
    );
}

fn pages_js() -> &'static str {
    "text/javascript; charset=utf-8"
}

#[test]
fn single_pages_build_their_links_only_in_scripts() {
    for (path, links) in SCRIPT_LINKS {
        let body = page(path);
        assert!(is_shell_body(&body), "{path}");
        assert!(!body.contains("<a") && !body.contains("href=\""), "{path}");
        let title = title(path).unwrap();
        assert!(title.starts_with("Render: "));
        assert!(
            body.contains(&format!("document.title = '{title}';")),
            "{path}"
        );
        for link in links {
            assert!(!body.contains(link), "{path} has {link} in its HTML");
            let name = link.trim_start_matches("/render/");
            if !name.starts_with("fetched/") {
                assert!(body.contains(&format!("L('{name}')")), "{path}: {name}");
            }
            assert!(page(link).contains(&format!("<title>Render: {name}</title>")));
        }
        let expected = expected_from(BASE, path, true).unwrap();
        assert_eq!(expected.len(), 1 + links.len());
        let without = expected_from(BASE, path, false).unwrap();
        assert_eq!(without, BTreeSet::from([format!("{BASE}{path}")]));
    }
    assert_eq!(
        expected_from(BASE, "/render/", true),
        Some(expected_script_built_urls(BASE))
    );
    assert_eq!(expected_from(BASE, "/render/popped", true), None);
    let (_, content_type, data) = get("/render/data.json");
    assert_eq!(content_type, "application/json");
    let data = String::from_utf8(data).unwrap();
    for link in SCRIPT_LINKS[1].1 {
        assert!(data.contains(&format!("\"{link}\"")));
    }
    assert_eq!(delay("/render/data.json"), Some(DATA_DELAY));
    assert_eq!(delay("/render/fetch"), None);
    assert!(page("/render/timer").contains(&format!("}}, {TIMER_DELAY_MS});")));
    assert!(page("/render/spin").contains("while (true) {}"));
    assert!(page("/render/big").contains(&format!("i < {}", BIG_TEXT_BYTES / 1000)));
}

#[test]
fn never_requested_paths_are_served_and_never_linked() {
    let site = crate::Site::new(SiteConfig::default());
    for path in NEVER_REQUESTED {
        if path.starts_with("/img/") {
            assert!(site.render(BASE, path).is_some());
        } else {
            let (status, _, body) = get(path);
            assert!(status == 200 && !body.is_empty(), "{path}");
        }
        for (page_path, _) in SCRIPT_LINKS {
            let body = page(page_path);
            let embedded = body.contains(path);
            let media = page_path == "/render/media" && MEDIA.contains(&path);
            let secret = page_path == "/render/private" && path == SECRET_JS;
            assert_eq!(embedded, media || secret, "{page_path} and {path}");
        }
    }
    assert_eq!(get("/render/clip.mp4").1, "video/mp4");
    assert_eq!(get("/render/font.woff2").1, "font/woff2");
    let media = page("/render/media");
    assert!(media.contains("<img src=\"/img/1.jpg\"") && media.contains("url(/render/font.woff2)"));
    assert!(String::from_utf8(get(SECRET_JS).2)
        .unwrap()
        .contains("'stolen'"));
    assert!(page("/render/popup").contains("window.open(P('popped'))"));
    assert!(page("/render/away").contains("location.href = P('elsewhere')"));
    assert!(!DEFAULT_ROBOTS_TXT.contains("/render"));
}

#[test]
fn private_loads_its_script_from_the_chosen_host() {
    let script = |path: &str, host: &str| {
        let body = match respond(path, host).unwrap() {
            resp if resp.status() == 200 => page_on(path, host),
            resp => return format!("status {}", resp.status().as_u16()),
        };
        let at = body.find("<script src=\"").unwrap() + 13;
        body[at..at + body[at..].find('"').unwrap()].to_string()
    };
    assert_eq!(
        script("/render/private", HOST),
        "http://127.0.0.2:40000/render/secret.js"
    );
    assert_eq!(
        script("/render/private", "localhost"),
        "http://127.0.0.2/render/secret.js"
    );
    assert_eq!(
        script(&private_path("127.0.0.3:5000"), HOST),
        "http://127.0.0.3:5000/render/secret.js"
    );
    assert_eq!(
        script("/render/private?x=1&to=%5B%3A%3A1%5D%3A9", HOST),
        "http://[::1]:9/render/secret.js"
    );
    assert_eq!(script("/render/private?to=a\"b", HOST), "status 400");
    assert_eq!(script("/render/private?to=", HOST), "status 400");
}

fn page_on(path: &str, host: &str) -> String {
    let resp = respond(path, host).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = runtime.block_on(resp.into_body().collect()).unwrap();
    let body = String::from_utf8(body.to_bytes().to_vec()).unwrap();
    assert_well_formed(path, &body);
    body
}

#[test]
fn mixed_site_is_reachable_only_through_its_shells() {
    let rendered = expected_mixed(BASE, true);
    let plain = expected_mixed(BASE, false);
    assert_eq!(rendered.len(), MIXED_PAGES);
    assert_eq!(plain.len(), 11);
    assert!(plain.is_subset(&rendered));
    assert!(plain.contains("http://127.0.0.1:40000/render/mixed/"));
    assert!(plain.contains("http://127.0.0.1:40000/render/mixed/10"));
    assert!(!plain.contains("http://127.0.0.1:40000/render/mixed/11"));
    assert!(rendered.contains("http://127.0.0.1:40000/render/mixed/199"));
    for pages in [1, 5, 10, 11, 15, 20, 21, 1000] {
        assert_eq!(expected_mixed_sized(BASE, pages, true).len(), pages);
        assert_eq!(
            expected_mixed_sized(BASE, pages, false).len(),
            pages.min(11)
        );
    }
    let shells = (0..MIXED_PAGES).filter(|&i| is_shell(i)).count();
    assert_eq!(shells, 19);
    // Plain pages of a ten past the first are linked only from its shell.
    for i in 0..MIXED_PAGES {
        for n in links(MIXED_PAGES, i) {
            if !is_shell(n) && n >= 10 && n / 10 != i / 10 {
                assert!(is_shell(i), "{i} links {n}");
            }
        }
    }
}

#[test]
fn mixed_pages_serve_their_links() {
    for (pages, i) in [
        (MIXED_PAGES, 0),
        (MIXED_PAGES, 7),
        (MIXED_PAGES, 10),
        (MIXED_PAGES, 199),
    ]
    .into_iter()
    .chain([(25, 0), (25, 20), (25, 24)])
    {
        let root = mixed_root(pages);
        let path = match i {
            0 => root.clone(),
            _ => format!("{root}{i}"),
        };
        let body = page(&path);
        let links = links(pages, i);
        if is_shell(i) {
            assert!(is_shell_body(&body) && !body.contains("<a") && !body.contains(&root));
            let list: Vec<String> = links.iter().map(|n| n.to_string()).collect();
            assert!(
                body.contains(&format!("[{}].forEach", list.join(", "))),
                "{path}"
            );
            assert!(body.contains(&format!("var base = P('{}');", &root[8..])));
        } else {
            assert!(body.contains(&format!("<title>{}</title>", title(&path).unwrap())));
            assert_eq!(body.matches("<a href=").count(), links.len(), "{path}");
            for n in links {
                let target = if n == 0 {
                    root.clone()
                } else {
                    format!("{root}{n}")
                };
                assert!(body.contains(&format!("<a href=\"{target}\">")), "{path}");
            }
            assert!(body.len() > 1000, "{path}: too little text");
        }
    }
    assert_eq!(title("/render/mixed/10").unwrap(), "Render: mixed 10");
    assert_eq!(title("/render/mixed-25/").unwrap(), "Render: mixed home");
    for path in [
        "/render/mixed/200",
        "/render/mixed/0",
        "/render/mixed/01",
        "/render/mixed",
        "/render/mixed-0/",
        "/render/mixed-25/25",
        "/render/mixed-1000001/",
        "/render/mixedx/",
    ] {
        assert!(respond(path, HOST).is_none(), "{path}");
    }
    assert_eq!(mixed_root(MIXED_PAGES), "/render/mixed/");
    assert_eq!(
        expected_mixed_sized("http://127.0.0.1:40000", 12, false)
            .into_iter()
            .next_back()
            .unwrap(),
        "http://127.0.0.1:40000/render/mixed-12/9"
    );
}

#[test]
fn served_by_the_test_site() {
    let site = TestSite::start(SiteConfig::default()).unwrap();
    let fetch = |path: &str| {
        let mut stream = TcpStream::connect(site.addr()).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            site.addr()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    };
    let started = Instant::now();
    let data = fetch("/render/data.json");
    assert!(started.elapsed() >= DATA_DELAY);
    assert!(data.starts_with("HTTP/1.1 200") && data.contains("/render/fetched/1"));
    let private = fetch("/render/private");
    let port = site.addr().port();
    assert!(private.contains(&format!("http://127.0.0.2:{port}/render/secret.js")));
    assert!(fetch("/render/").contains("<div id=\"root\"></div>"));
    assert!(fetch("/render/p/99").starts_with("HTTP/1.1 404"));
    let robots = fetch("/robots.txt");
    assert!(!robots.contains("/render"));
}

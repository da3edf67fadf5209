//! The pages, scripts and resources of `/render/` (see [`super`]).

use hyper::Response;

use super::{script_page_links, title, BIG_TEXT_BYTES, SCRIPT_PAGES, TIMER_DELAY_MS};
use crate::body::Body;
use crate::reply::{html, page_text, response};

const JS: &str = "text/javascript; charset=utf-8";

/// Helpers every shell script starts with: `P(name)` is `'/render/' + name`, `A(href, text)`
/// appends a link to `#root`, `L(name)` links `P(name)`.
const PRELUDE: &str = "var root = document.getElementById('root');\n\
function P(name) { return '/render/' + name; }\n\
function A(href, text) {\n  var a = document.createElement('a');\n  a.href = href;\n  \
a.textContent = text;\n  root.appendChild(a);\n  root.appendChild(document.createTextNode(' '));\n}\n\
function L(name) { A(P(name), name); }\n";

/// A small, well-formed MP4 `ftyp` box (the bytes do not matter: it must never be fetched).
const MP4: &[u8] = &[
    0, 0, 0, 24, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i', b's', b'o',
    b'm', b'm', b'p', b'4', b'1',
];
/// The WOFF2 signature and zeros (never parsed: it must never be fetched).
const WOFF2: &[u8] = &[
    b'w', b'O', b'F', b'2', 0, 1, 0, 0, 0, 0, 0, 48, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// A shell: empty title, `#root`, the `<noscript>` hint, `head_extra` in the head and
/// `scripts` (already wrapped in `<script>` tags) at the end of the body.
pub(super) fn shell(head_extra: &str, body_extra: &str, scripts: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title></title>\
         {head_extra}</head>\n<body>\n<div id=\"root\"></div>\n{body_extra}\
         <noscript>You need to enable JavaScript to run this app.</noscript>\n{scripts}\
         </body></html>\n"
    )
}

/// An inline script: the prelude, the title of `path`, then `code`.
pub(super) fn inline(path: &str, code: &str) -> String {
    let title = title(path).unwrap_or_default();
    format!("<script>\n{PRELUDE}document.title = '{title}';\n{code}</script>\n")
}

/// `/render/` (`i` 0) or `/render/p/{i}`: the same shell, built by `/render/app.js`.
pub(super) fn app_shell() -> Response<Body> {
    let body = shell("", "", "<script src=\"/render/app.js\"></script>\n");
    html(200, body)
}

/// `/render/app.js`: the link table of `/render/` and `/render/p/{i}`, keyed by path.
pub(super) fn app_js() -> String {
    let mut table = String::from("{\n");
    for i in 0..=SCRIPT_PAGES {
        let path = match i {
            0 => "/render/".to_string(),
            _ => super::script_page_path(i),
        };
        let links: Vec<String> = script_page_links(i).iter().map(|n| n.to_string()).collect();
        let title = title(&path).unwrap_or_default();
        table.push_str(&format!(
            "  '{path}': {{ title: '{title}', links: [{}] }},\n",
            links.join(", ")
        ));
    }
    table.push('}');
    format!(
        "(function () {{\n{PRELUDE}var pages = {table};\n\
         var page = pages[location.pathname];\n\
         if (!page) {{ return; }}\n\
         document.title = page.title;\n\
         page.links.forEach(function (n) {{ A(P('p/' + n), 'page ' + n); }});\n}})();\n"
    )
}

/// `/render/private?to=HOST:PORT`; `host` is the request's `host[:port]`.
pub(super) fn private(query: &str, host: &str) -> Response<Body> {
    let to = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "to")
        .map(|(_, value)| value.into_owned());
    let to = match to {
        Some(to) if is_host_port(&to) => to,
        Some(_) => return html(400, page_text("Bad ?to= (host:port expected)", "")),
        None => match host.rsplit_once(':') {
            Some((_, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                format!("127.0.0.2:{port}")
            }
            _ => "127.0.0.2".to_string(),
        },
    };
    let scripts = format!(
        "{}<script src=\"http://{to}/render/secret.js\"></script>\n",
        inline("/render/private", "L('private-link');\n")
    );
    html(200, shell("", "", &scripts))
}

/// A plain `host[:port]` (nothing that could leave the attribute).
fn is_host_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
}

/// A plain page (its title, no links).
pub(super) fn plain(name: &str) -> Response<Body> {
    let title = title(&format!("/render/{name}")).unwrap_or_default();
    html(200, page_text(&title, "<p>A plain page.</p>\n"))
}

/// The other pages and resources by name (after `/render/`, before any query).
pub(super) fn respond(name: &str) -> Option<Response<Body>> {
    let page = |name: &str, code: &str| html(200, shell("", "", &inline(name, code)));
    Some(match name {
        "app.js" => response(200, JS, Body::full(app_js())),
        "timer" => page(
            "/render/timer",
            &format!(
                "window.addEventListener('load', function () {{\n  \
                 setTimeout(function () {{ L('timer-target'); }}, {TIMER_DELAY_MS});\n}});\n"
            ),
        ),
        "fetch" => page(
            "/render/fetch",
            "fetch(P('data.json'))\n  .then(function (r) { return r.json(); })\n  \
             .then(function (d) { d.links.forEach(function (h) { A(h, h); }); });\n",
        ),
        "data.json" => response(
            200,
            "application/json",
            Body::full(&br#"{"links":["/render/fetched/1","/render/fetched/2"]}"#[..]),
        ),
        "never" => page(
            "/render/never",
            "L('never-link');\n\
             setInterval(function () { fetch(P('tick?') + Date.now()); }, 100);\n",
        ),
        "tick" => response(200, "text/plain; charset=utf-8", Body::full("tick\n")),
        "popup" => page(
            "/render/popup",
            "L('popup-link');\nwindow.open(P('popped'));\n",
        ),
        "away" => page(
            "/render/away",
            "L('away-link');\n\
             window.addEventListener('load', function () {\n  \
             setTimeout(function () { location.href = P('elsewhere'); }, 100);\n});\n",
        ),
        "secret.js" => response(
            200,
            JS,
            Body::full(
                "(function () {\n  var a = document.createElement('a');\n  \
                 a.href = '/render/' + 'stolen';\n  a.textContent = 'stolen';\n  \
                 (document.getElementById('root') || document.body).appendChild(a);\n})();\n",
            ),
        ),
        "media" => media(),
        "clip.mp4" => response(200, "video/mp4", Body::full(MP4)),
        "font.woff2" => response(200, "font/woff2", Body::full(WOFF2)),
        "hog" => page(
            "/render/hog",
            "var hog = [];\nsetInterval(function () {\n  \
             for (var i = 0; i < 50; i++) { hog.push(new Array(1e6).fill(i)); }\n}, 10);\n",
        ),
        "spin" => page("/render/spin", "while (true) {}\n"),
        "big" => page("/render/big", &big_js()),
        _ => return None,
    })
}

fn media() -> Response<Body> {
    let head = "<style>@font-face { font-family: Render; \
                src: url(/render/font.woff2) format('woff2'); }\n\
                body { font-family: Render, sans-serif; }</style>";
    let body = "<p>Media that a renderer must not load.</p>\n\
                <img src=\"/img/1.jpg\" alt=\"an image\" width=\"1\" height=\"1\">\n\
                <video src=\"/render/clip.mp4\" autoplay muted></video>\n";
    let scripts = inline("/render/media", "L('media-link');\n");
    html(200, shell(head, body, &scripts))
}

/// `/render/big`'s script: [`BIG_TEXT_BYTES`] of text in 1,000-byte paragraphs.
fn big_js() -> String {
    // 50 bytes, 20 times: 1,000 bytes a paragraph.
    const SENTENCE: &str = "Rendered text that only exists after the scripts. ";
    const _: () = assert!(SENTENCE.len() == 50);
    format!(
        "var text = '{SENTENCE}'.repeat(20);\n\
         for (var i = 0; i < {}; i++) {{\n  \
         var p = document.createElement('p');\n  p.textContent = text;\n  \
         root.appendChild(p);\n}}\n",
        BIG_TEXT_BYTES / 1000
    )
}

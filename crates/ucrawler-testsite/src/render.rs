//! Pages for JavaScript rendering under `/render/` (issue #18): titles and links that exist
//! only after scripts run, pages that never settle, open popups, navigate away, load a
//! private-address script, hog memory or spin, a 5 MB script-built DOM, and a mixed site for
//! the `render: auto` benchmark. None is linked from the normal site; tests seed a page.
//! Deterministic; scripts are inline or same-host (`/render/app.js`), and no URL of a
//! script-built link appears in the raw HTML (scripts join `'/render/' + name`), so a crawler
//! that does not run scripts finds none of them. Script-built pages are "shells": an empty
//! `<title></title>`, `<div id="root"></div>`, `<noscript>You need to enable JavaScript to run
//! this app.</noscript>` and scripts. After rendering each has the title [`title`] gives
//! (e.g. `Render: timer`). [`crate::DEFAULT_ROBOTS_TXT`] does not disallow `/render/`.
//!
//! | Path | Serves | After rendering |
//! |------|--------|-----------------|
//! | `/render/`, `/render/p/{i}` (1 ≤ i ≤ [`SCRIPT_PAGES`]) | a shell loading `/render/app.js`, which reads `location.pathname`, sets the title and builds the links from a table in the script: `/render/` links every `/render/p/{i}`, `/render/p/{i}` the next two (wrapping) | [`expected_script_built_urls`] (without: [`expected_without_rendering`]) |
//! | `/render/timer` | a shell adding `/render/timer-target` [`TIMER_DELAY_MS`] after `load` | see [`SCRIPT_LINKS`] and [`expected_from`] |
//! | `/render/fetch` | a shell that `fetch()`es `/render/data.json` (served after [`DATA_DELAY`]) and links what it lists: `/render/fetched/1`, `/render/fetched/2` | |
//! | `/render/never` | never settles: `fetch('/render/tick?' + Date.now())` every 100 ms; links `/render/never-link` at once | |
//! | `/render/popup` | `window.open('/render/popped')` at load; links `/render/popup-link` | [`POPPED`] never requested |
//! | `/render/away` | links `/render/away-link`, then 100 ms after load `location.href = '/render/elsewhere'` | [`ELSEWHERE`] never requested |
//! | `/render/private?to=HOST:PORT` | `<script src="http://HOST:PORT/render/secret.js">` (default `to`: `127.0.0.2` and the port of the request's `Host`), which would link `/render/stolen`; links `/render/private-link` itself | [`SECRET_JS`] (on the other host) and [`STOLEN`] never requested |
//! | `/render/media` | `<img src="/img/1.jpg">`, `<video src="/render/clip.mp4">`, an `@font-face` font `/render/font.woff2` used by its text; links `/render/media-link` | [`MEDIA`] never requested (blocked) |
//! | `/render/hog` | sets the title, then allocates ~400 MB a second without end | the render is cut (memory bound), the crawl goes on |
//! | `/render/spin` | sets the title, then `while (true) {}` | the render is cut (timeout) |
//! | `/render/big` | builds [`BIG_TEXT_BYTES`] of text in 1,000-byte `<p>`s | past `max_body` |
//! | `/render/mixed/`, `/render/mixed/{i}` (1 ≤ i < [`MIXED_PAGES`]) | the mixed site (see [`expected_mixed`]): every 10th page is a shell, the others plain pages with text and `<a>` links | |
//! | `/render/mixed-{M}/...` (1 ≤ M ≤ [`MAX_MIXED_PAGES`]) | the same with M pages ([`expected_mixed_sized`]) | |
//!
//! Also served: `/render/app.js`, `/render/data.json`, `/render/tick`, `/render/secret.js`,
//! `/render/clip.mp4`, `/render/font.woff2` and every linked plain page (a small page titled
//! `Render: {name}`, linking nowhere), including the ones in [`NEVER_REQUESTED`], so a wrong
//! request answers 200 and shows in the request log.
//!
//! To point `/render/private` at a second server a test watches, start it on another loopback
//! address (`TestSite::start_on("127.0.0.2:0".parse()?, config)` with `log_requests`) and
//! seed [`private_path`]`(&second.addr().to_string())`: a renderer without the address guard
//! loads its [`SECRET_JS`] (seen in the second server's request log) and finds [`STOLEN`]; a
//! correct one neither. The default `to` proves less: a [`crate::TestSite`] listens on its own
//! address only, so nothing answers at `127.0.0.2:{port}` unless a test starts a server there.

mod mixed;
mod pages;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::time::Duration;

use hyper::Response;

use crate::body::Body;
use crate::site::{normalized_origin, parse_number};

pub use mixed::{expected_mixed, expected_mixed_sized, mixed_root, MAX_MIXED_PAGES, MIXED_PAGES};

/// Pages `/render/p/{i}` (1..=12) of the script-built section.
pub const SCRIPT_PAGES: usize = 12;
/// The delay of `/render/timer` before it adds its link, after `load`.
pub const TIMER_DELAY_MS: u64 = 300;
/// How long `/render/data.json` takes to answer (to test a network-idle settle rule).
pub const DATA_DELAY: Duration = Duration::from_millis(100);
/// Text `/render/big` builds (5,000 paragraphs of 1,000 bytes).
pub const BIG_TEXT_BYTES: usize = 5_000_000;

/// Opened by `/render/popup` with `window.open`; linked from nowhere.
pub const POPPED: &str = "/render/popped";
/// Where `/render/away` navigates 100 ms after load; linked from nowhere.
pub const ELSEWHERE: &str = "/render/elsewhere";
/// Linked only by [`SECRET_JS`].
pub const STOLEN: &str = "/render/stolen";
/// The script `/render/private` loads from another (private) address.
pub const SECRET_JS: &str = "/render/secret.js";
/// The image, video and font of `/render/media`.
pub const MEDIA: [&str; 3] = ["/img/1.jpg", "/render/clip.mp4", "/render/font.woff2"];
/// Paths a correct crawler never requests on any host when rendering the pages above (and
/// without rendering: none is linked).
pub const NEVER_REQUESTED: [&str; 7] = [
    POPPED, ELSEWHERE, STOLEN, SECRET_JS, MEDIA[0], MEDIA[1], MEDIA[2],
];

/// The single pages and the links their scripts build (none is in their raw HTML).
pub const SCRIPT_LINKS: [(&str, &[&str]); 10] = [
    ("/render/timer", &["/render/timer-target"]),
    ("/render/fetch", &["/render/fetched/1", "/render/fetched/2"]),
    ("/render/never", &["/render/never-link"]),
    ("/render/popup", &["/render/popup-link"]),
    ("/render/away", &["/render/away-link"]),
    ("/render/private", &["/render/private-link"]),
    ("/render/media", &["/render/media-link"]),
    ("/render/hog", &[]),
    ("/render/spin", &[]),
    ("/render/big", &[]),
];

/// Plain pages (a title, no links): the targets of [`SCRIPT_LINKS`] and the never-requested
/// pages.
const PLAIN: [&str; 11] = [
    "timer-target",
    "fetched/1",
    "fetched/2",
    "never-link",
    "popup-link",
    "away-link",
    "private-link",
    "media-link",
    "popped",
    "elsewhere",
    "stolen",
];

/// `/render/private?to={to}`: its script comes from `http://{to}/render/secret.js`. `to` is
/// `host:port` (e.g. `127.0.0.2:40000` or `[::1]:40000`).
pub fn private_path(to: &str) -> String {
    format!("/render/private?to={to}")
}

/// `/render/p/{i}`.
pub fn script_page_path(i: usize) -> String {
    format!("/render/p/{i}")
}

/// The pages `/render/p/{i}` links (`i` 0 is `/render/`): all of them for `/render/`, the
/// next two (wrapping after [`SCRIPT_PAGES`]) for the others.
pub fn script_page_links(i: usize) -> Vec<usize> {
    if i == 0 {
        return (1..=SCRIPT_PAGES).collect();
    }
    vec![i % SCRIPT_PAGES + 1, (i + 1) % SCRIPT_PAGES + 1]
}

/// What a crawl of `{base}/render/` (`base` is `http://host:port`) finds when it renders:
/// `{base}/render/` and every `{base}/render/p/{i}` (URLs as the `url` crate writes them).
pub fn expected_script_built_urls(base: &str) -> BTreeSet<String> {
    let origin = normalized_origin(base);
    let pages = (1..=SCRIPT_PAGES).map(|i| format!("{origin}{}", script_page_path(i)));
    pages.chain([format!("{origin}/render/")]).collect()
}

/// What a crawl of `{base}/render/` finds without rendering: only `{base}/render/`.
pub fn expected_without_rendering(base: &str) -> BTreeSet<String> {
    BTreeSet::from([format!("{}/render/", normalized_origin(base))])
}

/// What a crawl seeded with `{base}{seed}` finds, rendering or not, for `/render/` and the
/// pages of [`SCRIPT_LINKS`] (a `?to=` query on `/render/private` is kept in the seed);
/// `None` for another seed. Pages that are never requested are not in it.
pub fn expected_from(base: &str, seed: &str, rendered: bool) -> Option<BTreeSet<String>> {
    if seed == "/render/" {
        return Some(match rendered {
            true => expected_script_built_urls(base),
            false => expected_without_rendering(base),
        });
    }
    let path = seed.split_once('?').map_or(seed, |(path, _)| path);
    let (_, links) = SCRIPT_LINKS.iter().find(|(page, _)| *page == path)?;
    let origin = normalized_origin(base);
    let mut urls = BTreeSet::from([format!("{origin}{seed}")]);
    if rendered {
        urls.extend(links.iter().map(|link| format!("{origin}{link}")));
    }
    Some(urls)
}

/// The title of a page under `/render/` after rendering (the raw HTML of a shell has an
/// empty one; a plain page has it in its HTML), or `None` for no such page or one without a
/// title (scripts, data, media). `/render/p/3` is `Render: page 3`, `/render/` `Render:
/// home`, `/render/mixed/5` `Render: mixed 5`, `/render/timer` `Render: timer`.
pub fn title(path: &str) -> Option<String> {
    let name = path.strip_prefix("/render/")?;
    if name.is_empty() {
        return Some("Render: home".into());
    }
    if let Some(i) = name.strip_prefix("p/").and_then(parse_number) {
        return (1..=SCRIPT_PAGES)
            .contains(&i)
            .then(|| format!("Render: page {i}"));
    }
    if let Some((pages, i)) = mixed::parse(name) {
        return (i < pages).then(|| mixed::title(i));
    }
    let script = SCRIPT_LINKS.iter().any(|(page, _)| *page == path);
    (script || PLAIN.contains(&name)).then(|| format!("Render: {name}"))
}

/// How long to wait before answering `path` (only `/render/data.json` waits).
pub(crate) fn delay(path: &str) -> Option<Duration> {
    (path == "/render/data.json").then_some(DATA_DELAY)
}

/// The response for a `/render/...` path and query, or `None` if it is not one. `host` is
/// the request's `host[:port]`.
pub(crate) fn respond(path_and_query: &str, host: &str) -> Option<Response<Body>> {
    let rest = path_and_query.strip_prefix("/render/")?;
    let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some((pages, i)) = mixed::parse(name) {
        return (i < pages).then(|| mixed::page(pages, i));
    }
    if let Some(i) = name.strip_prefix("p/") {
        parse_number(i).filter(|i| (1..=SCRIPT_PAGES).contains(i))?;
        return Some(pages::app_shell());
    }
    if PLAIN.contains(&name) {
        return Some(pages::plain(name));
    }
    Some(match name {
        "" => pages::app_shell(),
        "private" => pages::private(query, host),
        _ => pages::respond(name)?,
    })
}

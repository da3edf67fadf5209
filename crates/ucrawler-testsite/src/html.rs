//! HTML of a normal page. One preallocated `String`, words from a fixed list, no formatting
//! machinery: a 50 KB page takes a few tens of microseconds.

use std::sync::OnceLock;

use crate::links::{self, push_num, Link};
use crate::rng::{at_version, Rng, STREAM_PRICE, STREAM_TEXT, STREAM_TITLE};

/// 256 words (a power of two, so picking one is a mask).
const WORDS: [&str; 256] = [
    "alpha", "anchor", "apple", "arbor", "atlas", "autumn", "badge", "bakery", "ballad", "banner",
    "basket", "beacon", "berry", "binder", "blossom", "border", "bottle", "bramble", "breeze",
    "bridge", "bronze", "bucket", "butter", "cabin", "cactus", "camera", "candle", "canvas",
    "canyon", "carbon", "carpet", "castle", "cedar", "cellar", "chalk", "charm", "cherry", "cider",
    "cinder", "circle", "clover", "cobalt", "comet", "copper", "coral", "cotton", "crater",
    "crystal", "dahlia", "dawn", "delta", "desert", "dial", "dolphin", "dragon", "drift", "dune",
    "eagle", "echo", "ember", "engine", "falcon", "fable", "feather", "fern", "fiber", "field",
    "flame", "flint", "forest", "fossil", "fountain", "galaxy", "garden", "garnet", "gentle",
    "glacier", "glade", "granite", "gravel", "harbor", "harvest", "hazel", "helium", "heron",
    "hollow", "honey", "horizon", "indigo", "island", "ivory", "jasper", "jungle", "kernel",
    "kettle", "lagoon", "lantern", "lattice", "lemon", "lilac", "linen", "lotus", "lumber",
    "magnet", "maple", "marble", "meadow", "mellow", "meteor", "mirror", "mosaic", "mountain",
    "nectar", "needle", "nickel", "noble", "north", "oasis", "ocean", "olive", "onyx", "orbit",
    "orchid", "otter", "paddle", "palace", "pebble", "pepper", "pillow", "pine", "pixel", "planet",
    "plaza", "pocket", "poplar", "prairie", "prism", "pulse", "quartz", "quiet", "quill", "rabbit",
    "radar", "rain", "raven", "reef", "ribbon", "ridge", "river", "rocket", "rose", "ruby",
    "saddle", "saffron", "salmon", "sand", "sapphire", "satin", "scarlet", "shadow", "shell",
    "signal", "silver", "slate", "solar", "spark", "spice", "spiral", "spruce", "stone", "storm",
    "summit", "sunset", "swift", "table", "tango", "temple", "thistle", "thunder", "timber",
    "topaz", "tower", "trail", "tulip", "tundra", "twilight", "umber", "valley", "velvet",
    "vessel", "violet", "voyage", "walnut", "water", "willow", "window", "winter", "wonder",
    "yarrow", "zenith", "zephyr", "acorn", "amber", "aspen", "birch", "cobble", "dusk", "elm",
    "frost", "grove", "haven", "iris", "juniper", "lark", "moss", "nova", "oak", "petal", "reed",
    "sage", "thorn", "vale", "wren", "yew", "zinc", "quasar", "nimbus", "cirrus", "stratus",
    "aurora", "basalt", "cipher", "domain", "fathom", "gazebo", "hammock", "inlet", "jetty",
    "keystone", "ledger", "mantle", "nomad", "outpost", "parcel", "quarry", "rampart", "sentinel",
    "trellis", "upland", "vertex", "wharf", "yonder", "zodiac", "almond", "bison", "cocoa",
];

const STYLE: &str = "\n:root{--fg:#222;--bg:#fdfdfd;--accent:#0a58ca;--muted:#6c757d}\n\
*{box-sizing:border-box}\nbody{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);background:var(--bg);line-height:1.6}\n\
.site-header{display:flex;align-items:center;justify-content:space-between;padding:1rem 2rem;border-bottom:1px solid #e5e5e5}\n\
.logo{font-weight:700;font-size:1.25rem;text-decoration:none;color:var(--accent)}\n\
.main-nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.5rem;margin:0;padding:.5rem 2rem}\n\
.main-nav a{color:var(--muted);text-decoration:none}.main-nav a:hover{color:var(--accent)}\n\
main{max-width:960px;margin:0 auto;padding:1rem 2rem}\n\
article h1{font-size:2rem;margin:1rem 0}article h2{margin-top:2rem;border-bottom:1px solid #eee}\n\
.hero{width:100%;height:auto;border-radius:8px}\n\
.price{font-size:1.5rem;font-weight:600;color:#198754}.sku{color:var(--muted);margin-left:1rem}\n\
table.specs{border-collapse:collapse;width:100%}table.specs td,table.specs th{border:1px solid #ddd;padding:.25rem .5rem}\n\
figure{margin:1rem 0}figcaption{font-size:.875rem;color:var(--muted)}\n\
footer{margin-top:3rem;padding:2rem;background:#f1f3f5;font-size:.875rem}\n";

const SCRIPT: &str = "\n(function(){\n  'use strict';\n  var start = Date.now();\n\
  document.addEventListener('DOMContentLoaded', function(){\n\
    var links = document.querySelectorAll('a[href]');\n\
    for (var i = 0; i < links.length; i++) {\n\
      if (links[i].host && links[i].host !== location.host) { links[i].rel = 'noopener'; }\n\
    }\n\
    var price = document.querySelector('.price');\n\
    if (price) { price.setAttribute('data-loaded', String(Date.now() - start)); }\n\
  });\n})();\n";

const EXTERNAL: [(&str, &str); 7] = [
    ("https://www.example.com/x", "Example"),
    ("http://example.org/y", "Example.org"),
    ("mailto:someone@example.com", "Mail us"),
    ("javascript:void(0)", "Do nothing"),
    ("tel:+123", "Call us"),
    ("ftp://example.net/pub/file.txt", "FTP mirror"),
    ("https://cdn.example.net/assets/app.css", "Stylesheet"),
];

/// What one version of a page carries. Version 0 of page `id < pages` is the original page;
/// each later version has its own text, title words and price.
pub(crate) struct PageSpec<'a> {
    pub(crate) seed: u64,
    /// Pages of generation 0 (the range of image numbers).
    pub(crate) pages: usize,
    pub(crate) id: usize,
    pub(crate) version: u32,
    /// The navigation bar.
    pub(crate) nav: &'a [Link],
    /// The in-site links of the body, in page order.
    pub(crate) body: &'a [Link],
}

/// The title ("Page N — " and words of its own per version).
pub(crate) fn title(seed: u64, id: usize, version: u32) -> String {
    let mut rng = Rng::new(seed, id as u64, at_version(STREAM_TITLE, version));
    let mut out = String::with_capacity(48);
    out.push_str("Page ");
    push_num(&mut out, id as u64);
    out.push_str(" \u{2014} ");
    let n = rng.range(2, 4);
    push_words(&mut out, &mut rng, n, true);
    out
}

/// `$N.NN`
pub(crate) fn price(seed: u64, id: usize, version: u32) -> String {
    let mut rng = Rng::new(seed, id as u64, at_version(STREAM_PRICE, version));
    let dollars = rng.range(1, 999);
    let cents = rng.below(100);
    let mut out = String::with_capacity(8);
    out.push('$');
    push_num(&mut out, dollars);
    out.push('.');
    if cents < 10 {
        out.push('0');
    }
    push_num(&mut out, cents);
    out
}

fn push_words(out: &mut String, rng: &mut Rng, n: u64, capitalize: bool) {
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let start = out.len();
        out.push_str(WORDS[(rng.next_u64() & 255) as usize]);
        if capitalize && i == 0 {
            if let Some(first) = out.get_mut(start..start + 1) {
                first.make_ascii_uppercase();
            }
        }
    }
}

/// Number of distinct sentences (a power of two).
const SENTENCES: usize = 4096;

/// A fixed table of [`SENTENCES`] sentences ("Word word ... word. "), built once from the
/// word list: text is assembled sentence by sentence, one copy each, which is ~10× cheaper
/// than word by word.
struct SentenceTable {
    text: String,
    /// End offset of each sentence in `text` (sentence `i` starts where `i - 1` ends).
    ends: Vec<u32>,
}

fn sentence_table() -> &'static SentenceTable {
    static TABLE: OnceLock<SentenceTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = Rng::new(0x5EED, 0, 0);
        let mut text = String::with_capacity(SENTENCES * 80);
        let mut ends = Vec::with_capacity(SENTENCES);
        for _ in 0..SENTENCES {
            let n = rng.range(6, 16);
            push_words(&mut text, &mut rng, n, true);
            text.push_str(". ");
            ends.push(text.len() as u32);
        }
        SentenceTable { text, ends }
    })
}

fn push_sentence(out: &mut String, rng: &mut Rng) {
    let table = sentence_table();
    let i = (rng.next_u64() as usize) & (SENTENCES - 1);
    let start = if i == 0 {
        0
    } else {
        table.ends[i - 1] as usize
    };
    out.push_str(&table.text[start..table.ends[i] as usize]);
}

fn push_paragraph(out: &mut String, rng: &mut Rng) {
    out.push_str("<p>");
    for _ in 0..rng.range(3, 7) {
        push_sentence(out, rng);
    }
    out.push_str("</p>\n");
}

/// A complete page. `base` is `http://host:port`.
pub(crate) fn page(spec: &PageSpec, base: &str) -> String {
    let PageSpec {
        seed,
        pages,
        id,
        version,
        ..
    } = *spec;
    let authority = links::authority(base);
    let mut rng = Rng::new(seed, id as u64, at_version(STREAM_TEXT, version));
    let target_len = rng.range(32_000, 76_000) as usize;
    let mut out = String::with_capacity(target_len + 4096);
    let title = title(seed, id, version);

    // <head>
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>");
    out.push_str(&title);
    out.push_str("</title>\n<meta name=\"description\" content=\"");
    push_sentence(&mut out, &mut rng);
    out.push_str("\">\n<link rel=\"canonical\" href=\"");
    out.push_str(base);
    links::push_page_path(&mut out, id);
    out.push_str("\">\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</head>\n<body>\n");

    // Header and navigation.
    out.push_str("<header class=\"site-header\"><a class=\"logo\" href=\"/\">Synthetic Site</a>");
    out.push_str("<span class=\"tagline\">");
    push_words(&mut out, &mut rng, 4, true);
    out.push_str("</span></header>\n<nav class=\"main-nav\"><ul>\n");
    for link in spec.nav {
        out.push_str("<li><a href=\"");
        links::push_href(&mut out, link, id, base, authority);
        if link.target == 0 {
            out.push_str("\">Home</a></li>\n");
        } else {
            out.push_str("\">Page ");
            push_num(&mut out, link.target as u64);
            out.push_str("</a></li>\n");
        }
    }
    out.push_str("</ul></nav>\n<main>\n<article>\n<h1>");
    out.push_str(&title);
    out.push_str("</h1>\n<p class=\"lead\">");
    push_sentence(&mut out, &mut rng);
    push_sentence(&mut out, &mut rng);
    out.push_str("</p>\n<img class=\"hero\" src=\"/img/");
    push_num(&mut out, id as u64);
    out.push_str(".jpg\" alt=\"");
    push_words(&mut out, &mut rng, 3, true);
    out.push_str("\" width=\"800\" height=\"400\">\n<div class=\"product\"><span class=\"price\">");
    out.push_str(&price(seed, id, version));
    out.push_str("</span><span class=\"sku\">SKU-");
    push_num(&mut out, id as u64);
    out.push_str("</span></div>\n");

    // Body links (20..=80 of them), spread over paragraphs in three sections.
    let body = spec.body;
    let per_section = body.len().div_ceil(3).max(1);
    for (section, chunk) in body.chunks(per_section).enumerate() {
        push_section_heading(&mut out, &mut rng, section + 1);
        push_link_paragraphs(&mut out, &mut rng, chunk, id, base, authority);
        match section {
            0 => push_list(&mut out, &mut rng),
            1 => push_table(&mut out, &mut rng),
            _ => push_figures(&mut out, &mut rng, pages),
        }
    }

    // Filler text up to the target size.
    out.push_str("<h2 id=\"more\">");
    push_words(&mut out, &mut rng, 3, true);
    out.push_str("</h2>\n");
    while out.len() + 1200 < target_len {
        push_paragraph(&mut out, &mut rng);
    }
    out.push_str("</article>\n</main>\n<footer>\n<p>");
    for (href, text) in EXTERNAL {
        out.push_str("<a href=\"");
        out.push_str(href);
        out.push_str("\">");
        out.push_str(text);
        out.push_str("</a> | ");
    }
    out.push_str("<a href=\"");
    out.push_str(base);
    out.push_str("\">Home</a></p>\n<p>&copy; Synthetic Site. ");
    push_sentence(&mut out, &mut rng);
    out.push_str("</p>\n</footer>\n</body>\n</html>\n");
    out
}

fn push_section_heading(out: &mut String, rng: &mut Rng, n: usize) {
    out.push_str("<h2 id=\"section-");
    push_num(out, n as u64);
    out.push_str("\">");
    push_words(out, rng, 3, true);
    out.push_str("</h2>\n");
}

fn push_link_paragraphs(
    out: &mut String,
    rng: &mut Rng,
    links: &[Link],
    from: usize,
    base: &str,
    authority: &str,
) {
    let mut rest = links;
    while !rest.is_empty() {
        let take = (rng.range(3, 6) as usize).min(rest.len());
        out.push_str("<p>");
        for link in &rest[..take] {
            push_sentence(out, rng);
            let n = rng.range(2, 8);
            push_words(out, rng, n, true);
            out.push_str(" <a href=\"");
            links::push_href(out, link, from, base, authority);
            out.push_str("\">");
            let n = rng.range(1, 4);
            push_words(out, rng, n, false);
            out.push_str("</a> ");
        }
        push_sentence(out, rng);
        out.push_str("</p>\n");
        rest = &rest[take..];
    }
}

fn push_list(out: &mut String, rng: &mut Rng) {
    out.push_str("<ul class=\"features\">\n");
    for _ in 0..rng.range(5, 10) {
        out.push_str("<li>");
        let n = rng.range(3, 9);
        push_words(out, rng, n, true);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

fn push_table(out: &mut String, rng: &mut Rng) {
    out.push_str("<table class=\"specs\">\n<thead><tr>");
    for _ in 0..4 {
        out.push_str("<th>");
        push_words(out, rng, 1, true);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for _ in 0..rng.range(5, 10) {
        out.push_str("<tr>");
        for col in 0..4 {
            out.push_str("<td>");
            if col == 3 {
                push_num(out, rng.below(10_000));
            } else {
                let n = rng.range(1, 3);
                push_words(out, rng, n, col == 0);
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn push_figures(out: &mut String, rng: &mut Rng, pages: usize) {
    for _ in 0..rng.range(2, 3) {
        out.push_str("<figure><img src=\"/img/");
        push_num(out, rng.below(pages as u64));
        out.push_str(".jpg\" alt=\"");
        push_words(out, rng, 3, true);
        out.push_str("\" loading=\"lazy\"><figcaption>");
        push_words(out, rng, 6, true);
        out.push_str("</figcaption></figure>\n");
    }
}

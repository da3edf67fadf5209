//! `/__testsite/generation` (answers the generation served) and `/__testsite/generation/N`
//! (moves the site to generation N, then answers it): for specs that run `ucrawler
//! serve-testsite` as a child process. Never linked from the site.

use hyper::header::CACHE_CONTROL;
use hyper::Response;

use crate::body::Body;
use crate::reply::{response, small_page, with_header};
use crate::site::{parse_number, MAX_GENERATION};
use crate::Site;

const PREFIX: &str = "/__testsite/generation";

pub(crate) fn respond(path: &str, site: &Site) -> Option<Response<Body>> {
    let rest = path.strip_prefix(PREFIX)?;
    let generation = match rest {
        "" | "/" => site.generation(),
        _ => {
            let wanted = parse_number(rest.strip_prefix('/')?)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n <= MAX_GENERATION);
            let Some(generation) = wanted else {
                return Some(small_page(400, "Bad generation"));
            };
            site.set_generation(generation);
            generation
        }
    };
    let body = Body::full(format!("{generation}\n"));
    let resp = response(200, "text/plain; charset=utf-8", body);
    Some(with_header(resp, CACHE_CONTROL, "no-store"))
}

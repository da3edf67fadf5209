//! `/moved/{path}` answers `301` to `/{path}`: the old address of a site page, as after a site
//! moves. Seeds given this way reach their pages through a redirect first (the resume test: a
//! redirect's target must count as done in the journal).

use hyper::Response;

use crate::body::Body;
use crate::reply::redirect;

/// The old address of the page at `path` (`/page/5.html` → `/moved/page/5.html`).
pub fn moved_url(path: &str) -> String {
    format!("/moved{path}")
}

pub(crate) fn respond(path: &str) -> Option<Response<Body>> {
    let target = path.strip_prefix("/moved/")?;
    Some(redirect(301, &format!("/{target}")))
}

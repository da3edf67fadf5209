//! Volatile pages: a per-request token in the markup, as dynamic sites have (a CSRF field, a
//! render timestamp), so the bytes differ on every request while the text and links do not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::links::push_num;
use crate::rng::{hash, STREAM_VOLATILE};

/// Requests answered with a token, in this process.
static DRAWS: AtomicU64 = AtomicU64::new(0);

/// `html` with a hidden `csrf` input and a timestamp `<script>` before `</body>`.
pub(crate) fn inject(html: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let draw = DRAWS.fetch_add(1, Ordering::Relaxed);
    let token = hash(now.as_nanos() as u64, draw, STREAM_VOLATILE);
    let at = html.rfind("</body>").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + 128);
    out.push_str(&html[..at]);
    out.push_str("<input type=\"hidden\" name=\"csrf\" value=\"");
    out.push_str(&format!("{token:016x}"));
    out.push_str("\">\n<script>window.renderedAt = ");
    push_num(&mut out, now.as_millis() as u64);
    out.push_str(";</script>\n");
    out.push_str(&html[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_sit_before_body_end() {
        let page = "<html><body><p>Hi</p></body></html>\n";
        let (a, b) = (inject(page), inject(page));
        assert_ne!(a, b);
        assert!(a.starts_with("<html><body><p>Hi</p><input type=\"hidden\" name=\"csrf\""));
        assert!(a.ends_with(";</script>\n</body></html>\n"));
        assert!(inject("no body").starts_with("no body<input"));
    }
}

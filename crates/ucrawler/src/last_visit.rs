//! Recrawling: what the last visit of a URL learned ([`LastVisit`], carried by a `Request`),
//! and what the new visit makes of it ([`Change`]).
//!
//! A visit keeps the server's validators (`ETag`, `Last-Modified`: the next request is
//! conditional, and a `304 Not Modified` costs no body) and a content hash, so a server
//! without validators still tells us whether the page changed. The hash covers the text a
//! reader sees — the title and the document's text, whitespace collapsed — not the markup,
//! attributes, scripts or styles: CSRF tokens, nonces, inline-script timestamps and reordered
//! attributes change the bytes of every response, not the page. A rotating text ad does count.

use serde::Serialize;

/// Validators longer than this are not kept (nor sent back): real ones are tens of bytes, and a
/// request carries them through the frontier, the journal and Redis.
pub const MAX_VALIDATOR_LEN: usize = 256;

/// What the previous visit of a URL learned, sent back with the next visit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastVisit {
    /// The `ETag` the server sent, as sent (quotes and `W/` included).
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent, as sent.
    pub last_modified: Option<String>,
    /// The page's [`content_hash`](crate::Page::content_hash).
    pub content_hash: Option<String>,
}

impl LastVisit {
    /// Drops validators past [`MAX_VALIDATOR_LEN`] or with bytes a header cannot carry, and
    /// empty values.
    pub fn sanitized(mut self) -> Self {
        let usable = |v: &String| {
            !v.is_empty()
                && v.len() <= MAX_VALIDATOR_LEN
                && v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        };
        self.etag = self.etag.filter(usable);
        self.last_modified = self.last_modified.filter(usable);
        self.content_hash = self.content_hash.filter(usable);
        self
    }
}

/// What a visit found against the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// No last visit.
    New,
    /// The content (or, for a page not parsed, its validators) differs.
    Changed,
    /// `304 Not Modified`, or the same content hash.
    Unchanged,
    /// `404` or `410` for a URL that had a last visit.
    Gone,
}

impl Change {
    pub const ALL: [Change; 4] = [
        Change::New,
        Change::Changed,
        Change::Unchanged,
        Change::Gone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
            Change::Gone => "gone",
        }
    }
}

/// What this visit found, from its status, its validators and hash, and the last visit.
/// `None` when the visit tells nothing about the content (a transport error, robots.txt, a
/// server error, a redirect not followed).
pub fn classify(
    last: Option<&LastVisit>,
    status: u16,
    failed: bool,
    now: &LastVisit,
) -> Option<Change> {
    match (status, last) {
        (304, Some(_)) => Some(Change::Unchanged),
        (404 | 410, Some(_)) => Some(Change::Gone),
        (200..=299, _) if !failed => Some(match last {
            None => Change::New,
            Some(last) => compare(last, now),
        }),
        _ => None,
    }
}

fn compare(last: &LastVisit, now: &LastVisit) -> Change {
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let unchanged = match (&last.content_hash, &now.content_hash) {
        // Parsed both times: the content decides, whatever the validators say.
        (Some(_), Some(_)) => same(&last.content_hash, &now.content_hash),
        // Not parsed (not HTML, cut): the validators decide.
        _ => same(&last.etag, &now.etag) || same(&last.last_modified, &now.last_modified),
    };
    if unchanged {
        Change::Unchanged
    } else {
        Change::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(etag: Option<&str>, hash: Option<&str>) -> LastVisit {
        LastVisit {
            etag: etag.map(String::from),
            last_modified: None,
            content_hash: hash.map(String::from),
        }
    }

    #[test]
    fn classification() {
        let last = visit(Some("\"a\""), Some("h1"));
        let now = visit(Some("\"b\""), Some("h1"));
        assert_eq!(classify(None, 200, false, &now), Some(Change::New));
        assert_eq!(
            classify(Some(&last), 304, false, &now),
            Some(Change::Unchanged)
        );
        assert_eq!(classify(Some(&last), 410, true, &now), Some(Change::Gone));
        assert_eq!(
            classify(None, 404, true, &now),
            None,
            "never seen: not gone"
        );
        // A new ETag with the same text (a CSRF token in the markup): unchanged.
        assert_eq!(
            classify(Some(&last), 200, false, &now),
            Some(Change::Unchanged)
        );
        let edited = visit(Some("\"b\""), Some("h2"));
        assert_eq!(
            classify(Some(&last), 200, false, &edited),
            Some(Change::Changed)
        );
        // Not parsed: the validators decide.
        let pdf = visit(Some("\"a\""), None);
        assert_eq!(
            classify(Some(&pdf), 200, false, &pdf),
            Some(Change::Unchanged)
        );
        assert_eq!(
            classify(Some(&pdf), 200, false, &visit(None, None)),
            Some(Change::Changed),
            "nothing to compare: changed"
        );
        assert_eq!(classify(Some(&last), 500, true, &now), None);
        assert_eq!(classify(Some(&last), 200, true, &now), None, "a failed 200");
        assert_eq!(classify(None, 304, false, &now), None, "304 to no question");
    }

    #[test]
    fn sanitized_drops_what_a_header_cannot_carry() {
        let visit = LastVisit {
            etag: Some("x".repeat(MAX_VALIDATOR_LEN + 1)),
            last_modified: Some("Mon\r\nX: y".into()),
            content_hash: Some(String::new()),
        }
        .sanitized();
        assert_eq!(visit, LastVisit::default());
        let kept = LastVisit {
            etag: Some("W/\"abc\"".into()),
            ..LastVisit::default()
        };
        assert_eq!(kept.clone().sanitized(), kept);
    }
}

//! The names of a shared crawl's Redis keys (listed in the module docs).

/// Seen-set buckets: keeps each bucket an intset up to ~33M URLs (see the module docs).
pub(super) const SEEN_BUCKETS: u64 = 1 << 16;

pub(super) struct Keys {
    pub(super) base: String,
    pub(super) pending: String,
    pub(super) leases: String,
    pub(super) reclaimed: String,
    pub(super) counters: String,
    pub(super) seed_hosts: String,
    pub(super) visits: String,
    pub(super) host_pages: String,
    pub(super) over_budget: String,
    /// Oversight (heartbeats, history, errors, failed items, the dashboard's control).
    pub(super) workers: String,
    pub(super) beats: String,
    pub(super) history: String,
    pub(super) errors: String,
    pub(super) error_kinds: String,
    pub(super) failed_items: String,
    pub(super) control: String,
}

impl Keys {
    pub(super) fn new(prefix: &str, name: &str) -> Self {
        let base = format!("{prefix}:{{{name}}}");
        Self {
            pending: format!("{base}:pending"),
            leases: format!("{base}:leases"),
            reclaimed: format!("{base}:reclaimed"),
            counters: format!("{base}:counters"),
            seed_hosts: format!("{base}:seed_hosts"),
            visits: format!("{base}:visits"),
            host_pages: format!("{base}:host_pages"),
            over_budget: format!("{base}:over_budget"),
            workers: format!("{base}:workers"),
            beats: format!("{base}:beats"),
            history: format!("{base}:history"),
            errors: format!("{base}:errors"),
            error_kinds: format!("{base}:error_kinds"),
            failed_items: format!("{base}:failed_items"),
            control: format!("{base}:control"),
            base,
        }
    }

    pub(super) fn seen(&self, fingerprint: u64) -> String {
        format!("{}:seen:{}", self.base, fingerprint % SEEN_BUCKETS)
    }

    pub(super) fn op(&self, id: u64) -> String {
        format!("{}:op:{id:016x}", self.base)
    }
}

/// The names of the shared crawls under `prefix` (a SET, one slot of its own).
pub(super) fn registry_key(prefix: &str) -> String {
    format!("{prefix}:crawls")
}

/// The politeness keys of `host`, shared by every crawl under `prefix`: (holds, next start).
pub(super) fn host_keys(prefix: &str, host: &str) -> (String, String) {
    // Hash tag on the host: both keys of a host in one slot, hosts spread over the cluster.
    let base = format!("{prefix}:host:{{{host}}}");
    (format!("{base}:holds"), format!("{base}:next"))
}

/// Escapes Redis glob characters.
pub(super) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

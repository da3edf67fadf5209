//! Entry points for the cargo-fuzz targets (`fuzz/`) into the parsers of untrusted bytes that
//! are not public: not part of the API, no stability promised. Each is a thin wrapper over the
//! function the engine itself calls, so the fuzzer exercises exactly that code. The public
//! parsers (`url`, `units`, `parse::charset`, `parse::Extractor`) are fuzzed directly.

use std::io::Read;
use std::time::Duration;

use bytes::BytesMut;
use url::Url;

use crate::page::Request;

/// What a `200` robots.txt with `body` means for `agent`: for each of `urls`, whether it may
/// be fetched, and the Crawl-delay.
pub fn robots(agent: &str, body: &[u8], urls: &[Url]) -> (Vec<bool>, Option<Duration>) {
    let (rules, _ttl) = crate::politeness::rules_for(agent, Some(Ok((200, BytesMut::from(body)))));
    let allowed = urls.iter().map(|url| rules.allows(url)).collect();
    (allowed, rules.crawl_delay(Duration::MAX))
}

/// A request's binary form (journal records, spill segments, Redis items).
pub fn encode_item(request: &Request) -> Vec<u8> {
    crate::codec::encode(request)
}

/// Decodes one item as the journal, the spill and the Redis frontier do.
pub fn decode_item(item: &[u8]) -> Result<Request, String> {
    crate::codec::decode(item)
}

/// Reads one length-framed item, as the journal and the spill do.
pub fn read_framed(input: &mut impl Read) -> Option<Request> {
    crate::codec::read_framed(input)
}

/// What a resume reads from `enqueued.log` and `done.log`: every request, with whether it
/// was done.
pub fn journal_replay(enqueued: &[u8], done: &[u8]) -> Vec<(Request, bool)> {
    crate::schedule::journal::replay(enqueued, done).requests
}

/// A Redis lease member (`"<id>:<item>"`) as `take` splits it: the lease id and request, or
/// the lease id (when readable) of a member it drops as corrupt.
pub fn redis_lease_member(member: Vec<u8>) -> Result<(u64, Request), Option<u64>> {
    crate::distributed::redis::decode_member(member)
        .map(|leased| (leased.lease.id(), leased.request))
        .map_err(|(lease, _reason)| lease.map(|lease| lease.id()))
}

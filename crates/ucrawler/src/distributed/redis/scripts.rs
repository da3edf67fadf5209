//! The Lua scripts of the Redis frontier: each step of the protocol (push, take, ack, extend,
//! host holds) is one atomic script, so a reply lost on the way back and the call replayed
//! changes nothing twice. Loaded by hash (EVALSHA), reloaded after a NOSCRIPT.

use std::sync::LazyLock;

use redis::Script;

pub(super) struct Scripts {
    pub push: Script,
    pub take: Script,
    pub ack: Script,
    pub extend: Script,
    pub acquire_host: Script,
    pub release_host: Script,
    pub heartbeat: Script,
    pub requeue_failed: Script,
}

/// Shared by all scripts: the Redis clock in ms, a type check done before any write (a script
/// is not rolled back when a command fails half-way), and chunked variadic calls (Lua's
/// `unpack` has a stack limit).
const LUA_PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function check(key, want)
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= want then
    error({err = 'WRONGTYPE key ' .. key .. ' holds a ' .. t .. ', expected a ' .. want})
  end
end
local function chunked(cmd, key, args)
  for i = 1, #args, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, #args)))
  end
end
local function ms(n) return string.format('%d', n) end
"#;

/// KEYS: pending, counters, seed_hosts, op marker, host_pages, over_budget, then the seen
/// bucket of each request. ARGV: force, op ttl ms (0: no marker), budget per host (0: none),
/// host count, hosts..., then (fingerprint, item, host key) triples.
const PUSH_LUA: &str = r#"
check(KEYS[1], 'list'); check(KEYS[2], 'hash'); check(KEYS[3], 'set')
check(KEYS[5], 'hash'); check(KEYS[6], 'hash')
local op_ttl = tonumber(ARGV[2])
if op_ttl > 0 then
  local earlier = redis.call('GET', KEYS[4])
  if earlier then return tonumber(earlier) end
end
local force = ARGV[1] == '1'
local budget = tonumber(ARGV[3])
local nhosts = tonumber(ARGV[4])
local base = 4 + nhosts
local items, added, over = {}, {}, 0
for i = 7, #KEYS do
  local j = base + 3 * (i - 7)
  local fresh = redis.pcall('SADD', KEYS[i], ARGV[j + 1])
  if type(fresh) == 'table' then
    -- A bucket of the wrong type: undo this call's additions so nothing is seen but unqueued.
    for _, a in ipairs(added) do redis.call('SREM', a[1], a[2]) end
    return {err = fresh.err .. ' (key ' .. KEYS[i] .. ')'}
  end
  if fresh == 1 then added[#added + 1] = {KEYS[i], ARGV[j + 1]} end
  if fresh == 1 or force then
    -- Past its host's budget a request stays seen, never queued: for every worker at once.
    local host = ARGV[j + 3]
    if budget > 0 and host ~= '' and redis.call('HINCRBY', KEYS[5], host, 1) > budget then
      redis.call('HINCRBY', KEYS[5], host, -1)
      redis.call('HINCRBY', KEYS[6], host, 1)
      over = over + 1
    else
      items[#items + 1] = ARGV[j + 2]
    end
  end
end
if nhosts > 0 then
  local hosts = {}
  for i = 5, base do hosts[#hosts + 1] = ARGV[i] end
  chunked('SADD', KEYS[3], hosts)
end
chunked('RPUSH', KEYS[1], items)
if #added > 0 then redis.call('HINCRBY', KEYS[2], 'seen', #added) end
if #items > 0 then redis.call('HINCRBY', KEYS[2], 'queued', #items) end
if over > 0 then redis.call('HINCRBY', KEYS[2], 'over_host_budget', over) end
if op_ttl > 0 then redis.call('SET', KEYS[4], #items, 'PX', op_ttl) end
return #items
"#;

/// KEYS: pending, leases, counters, reclaimed. ARGV: max, lease ms, reclaim batch.
const TAKE_LUA: &str = r#"
check(KEYS[1], 'list'); check(KEYS[2], 'zset'); check(KEYS[3], 'hash'); check(KEYS[4], 'set')
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
if #expired > 0 then
  -- Back to the front, earliest deadline first: LPUSH reverses, so push the latest first.
  local items, ids = {}, {}
  for i = #expired, 1, -1 do
    local m = expired[i]
    local sep = string.find(m, ':', 1, true)
    if sep then
      items[#items + 1] = string.sub(m, sep + 1)
      ids[#ids + 1] = string.sub(m, 1, sep - 1)
    else
      items[#items + 1] = m
    end
  end
  chunked('LPUSH', KEYS[1], items)
  chunked('ZREM', KEYS[2], expired)
  chunked('SADD', KEYS[4], ids)
  redis.call('HINCRBY', KEYS[3], 'reclaimed', #expired)
end
local max = tonumber(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, max - 1)
if #items == 0 then return {} end
redis.call('LTRIM', KEYS[1], #items, -1)
local last = redis.call('HINCRBY', KEYS[3], 'lease_seq', #items)
local deadline = ms(now + tonumber(ARGV[2]))
local members = {}
for i, item in ipairs(items) do
  members[i] = ms(last - #items + i) .. ':' .. item
end
for i = 1, #members, 500 do
  local args = {}
  for k = i, math.min(i + 499, #members) do
    args[#args + 1] = deadline
    args[#args + 1] = members[k]
  end
  redis.call('ZADD', KEYS[2], unpack(args))
end
return members
"#;

/// KEYS: leases, counters, reclaimed, visits, failed items. ARGV: member, lease id, counter
/// ('' for none: a sitemap),
/// visit op ('', 'set', 'del'), visit field, visit item, failed items kept. The visit is updated
/// only with a counted ack; a counted failure's item is kept (the newest `ARGV[7]`) for
/// `requeue_failed`. Returns 1 counted, 2 duplicate (the lease had been reclaimed), 0 already
/// acknowledged.
const ACK_LUA: &str = r#"
check(KEYS[1], 'zset'); check(KEYS[2], 'hash'); check(KEYS[3], 'set'); check(KEYS[4], 'hash')
check(KEYS[5], 'list')
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
  if ARGV[3] == 'failed' then
    local sep = string.find(ARGV[1], ':', 1, true)
    redis.call('RPUSH', KEYS[5], string.sub(ARGV[1], sep + 1))
    redis.call('LTRIM', KEYS[5], -tonumber(ARGV[7]), -1)
  end
  if ARGV[4] == 'set' then
    redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
  elseif ARGV[4] == 'del' then
    redis.call('HDEL', KEYS[4], ARGV[5])
  end
  return 1
end
if redis.call('SREM', KEYS[3], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
  return 2
end
return 0
"#;

/// KEYS: leases. ARGV: lease ms, members...
const EXTEND_LUA: &str = r#"
check(KEYS[1], 'zset')
local deadline = ms(now_ms() + tonumber(ARGV[1]))
local n = 0
for i = 2, #ARGV, 500 do
  local args = {}
  for k = i, math.min(i + 499, #ARGV) do
    args[#args + 1] = deadline
    args[#args + 1] = ARGV[k]
  end
  n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', unpack(args))
end
return n
"#;

/// KEYS: holds, next. ARGV: token, per_host, gap ms, hold ms, busy poll ms.
/// Returns 0 when granted, else the ms to wait.
const ACQUIRE_HOST_LUA: &str = r#"
check(KEYS[1], 'zset'); check(KEYS[2], 'string')
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local wait = 0
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if next_start > now then wait = next_start - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local busy = math.min(tonumber(first[2]) - now, tonumber(ARGV[5]))
  if busy < 1 then busy = 1 end
  if busy > wait then wait = busy end
end
if wait > 0 then return wait end
local gap, hold = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], ms(now + hold), ARGV[1])
if redis.call('PTTL', KEYS[1]) < hold then redis.call('PEXPIRE', KEYS[1], hold) end
if gap > 0 then redis.call('SET', KEYS[2], ms(now + gap), 'PX', gap) end
return 0
"#;

/// KEYS: holds, next. ARGV: token, pause ms.
const RELEASE_HOST_LUA: &str = r#"
check(KEYS[1], 'zset'); check(KEYS[2], 'string')
redis.call('ZREM', KEYS[1], ARGV[1])
local pause = tonumber(ARGV[2])
if pause > 0 then
  local target = now_ms() + pause
  local current = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if target > current then redis.call('SET', KEYS[2], ms(target), 'PX', pause) end
end
return 0
"#;

/// KEYS: workers, beats, history, errors, error_kinds, control. ARGV: worker id, worker JSON,
/// bucket seconds, buckets kept, pages since the last beat, errors since, error kinds since
/// (`kind=n` joined by spaces), error samples kept, then new error samples (JSON, oldest
/// first). Beats are stamped with the Redis clock; workers silent for 60 s are forgotten.
/// Returns the crawl's control state ('' when running).
const HEARTBEAT_LUA: &str = r#"
check(KEYS[1], 'hash'); check(KEYS[2], 'hash'); check(KEYS[3], 'hash'); check(KEYS[4], 'list')
check(KEYS[5], 'hash'); check(KEYS[6], 'string')
local now = now_ms()
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ms(now))
local beats = redis.call('HGETALL', KEYS[2])
for i = 1, #beats, 2 do
  if now - tonumber(beats[i + 1]) > 60000 then
    redis.call('HDEL', KEYS[2], beats[i]); redis.call('HDEL', KEYS[1], beats[i])
  end
end
local width = tonumber(ARGV[3])
local bucket = math.floor(now / 1000 / width) * width
local pages, errors = tonumber(ARGV[5]), tonumber(ARGV[6])
if pages > 0 then redis.call('HINCRBY', KEYS[3], 'p:' .. bucket, pages) end
if errors > 0 then redis.call('HINCRBY', KEYS[3], 'e:' .. bucket, errors) end
local oldest = bucket - width * tonumber(ARGV[4])
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  if tonumber(string.sub(field, 3)) <= oldest then redis.call('HDEL', KEYS[3], field) end
end
for kind, n in string.gmatch(ARGV[7], '([%w_]+)=(%d+)') do
  redis.call('HINCRBY', KEYS[5], kind, tonumber(n))
end
for i = 9, #ARGV do redis.call('LPUSH', KEYS[4], ARGV[i]) end
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[8]) - 1)
return redis.call('GET', KEYS[6]) or ''
"#;

/// KEYS: failed items, counters, pending. ARGV: most items. Moves the oldest failed items to
/// the end of pending in one step (a replay moves the next ones: nothing is lost either way),
/// counting them out of `failed` and into `queued`; they were admitted (seen, budgeted) when
/// first queued. Returns how many moved.
const REQUEUE_FAILED_LUA: &str = r#"
check(KEYS[1], 'list'); check(KEYS[2], 'hash'); check(KEYS[3], 'list')
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  chunked('RPUSH', KEYS[3], items)
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('HINCRBY', KEYS[2], 'failed', -#items)
  redis.call('HINCRBY', KEYS[2], 'queued', #items)
end
return #items
"#;

pub(super) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| {
    let script = |body: &str| Script::new(&format!("{LUA_PRELUDE}{body}"));
    Scripts {
        push: script(PUSH_LUA),
        take: script(TAKE_LUA),
        ack: script(ACK_LUA),
        extend: script(EXTEND_LUA),
        acquire_host: script(ACQUIRE_HOST_LUA),
        release_host: script(RELEASE_HOST_LUA),
        heartbeat: script(HEARTBEAT_LUA),
        requeue_failed: script(REQUEUE_FAILED_LUA),
    }
});

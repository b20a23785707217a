/**
 * Lua scripts of the Redis feature store. Each touches only keys of one hash tag (one slot on a
 * cluster), so it runs atomically everywhere. ioredis sends them by SHA and falls back to the
 * full text when a server has not seen them yet.
 */

/**
 * Points serving at a version only when its info is stored.
 * KEYS: versions hash, active pointer. ARGV: version. Returns 1, or 0 when the info is missing.
 */
export const ACTIVATE_VERSION = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;

/**
 * Forgets a version's metadata unless it is the active one.
 * KEYS: versions hash, active pointer, vector counts hash, trending hash. ARGV: version.
 * Returns 1, or 0 when the version is active.
 */
export const DROP_VERSION_METADATA = `
if redis.call('GET', KEYS[2]) == ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
return 1
`;

/**
 * Replaces a user's history and counters (batch load).
 * KEYS: history list, profile hash.
 * ARGV: total, first ('' = none), last ('' = none), n, n history entries (newest first),
 *       m, m (field, count) pairs.
 */
export const REPLACE_PROFILE = `
redis.call('DEL', KEYS[1], KEYS[2])
local n = tonumber(ARGV[4])
if n > 0 then redis.call('RPUSH', KEYS[1], unpack(ARGV, 5, 4 + n)) end
redis.call('HSET', KEYS[2], 'total', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], 'first', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'last', ARGV[3]) end
local m = tonumber(ARGV[5 + n])
if m > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, 6 + n, 5 + n + 2 * m)) end
return 1
`;

/**
 * One online update of a user, all or nothing.
 * KEYS: user vector (of the update's version), history list, profile hash, applied-events zset.
 * ARGV: now (ms), event TTL (ms), history limit, has vector ('1'/'0'), vector bytes,
 *       e, e event ids, p, p × (history entry, ts, product group, product type).
 * Returns -1 when every event id was already applied (nothing changed), else 1 when the user
 * vector key was created, 0 when it existed or no vector was given.
 */
export const APPLY_USER_UPDATE = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local e = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - ttl)
if e > 0 then
  local fresh = false
  for j = 7, 6 + e do
    if not redis.call('ZSCORE', KEYS[4], ARGV[j]) then fresh = true break end
  end
  if not fresh then return -1 end
end
local created = 0
if ARGV[4] == '1' then
  created = 1 - redis.call('EXISTS', KEYS[1])
  redis.call('SET', KEYS[1], ARGV[5])
end
local i = 7 + e
local p = tonumber(ARGV[i])
i = i + 1
for _ = 1, p do
  local entry, ts, group, kind = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  redis.call('LPUSH', KEYS[2], entry)
  redis.call('HINCRBY', KEYS[3], 'total', 1)
  local first = redis.call('HGET', KEYS[3], 'first')
  if (not first) or ts < first then redis.call('HSET', KEYS[3], 'first', ts) end
  local last = redis.call('HGET', KEYS[3], 'last')
  if (not last) or ts > last then redis.call('HSET', KEYS[3], 'last', ts) end
  redis.call('HINCRBY', KEYS[3], 'g:' .. group, 1)
  redis.call('HINCRBY', KEYS[3], 't:' .. kind, 1)
end
if p > 0 then redis.call('LTRIM', KEYS[2], 0, limit - 1) end
if e > 0 then
  for j = 7, 6 + e do redis.call('ZADD', KEYS[4], now, ARGV[j]) end
  redis.call('PEXPIRE', KEYS[4], ttl)
end
return created
`;

/**
 * Numbers ids: each key of ARGV keeps the number it was given before, or gets the counter's
 * value and the counter moves on. KEYS: counter, live ids (key → idx), live ids (idx → key).
 * Returns false when the counter does not exist (no id map loaded yet), else a flat list
 * `idx, created (1|0)` per key.
 */
export const ASSIGN_IDS = `
local next = redis.call('GET', KEYS[1])
if not next then return false end
next = tonumber(next)
local out = {}
for i = 1, #ARGV do
  local idx = redis.call('HGET', KEYS[2], ARGV[i])
  if idx then
    out[#out + 1] = tonumber(idx)
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[2], ARGV[i], next)
    redis.call('HSET', KEYS[3], next, ARGV[i])
    out[#out + 1] = next
    out[#out + 1] = 1
    next = next + 1
  end
end
redis.call('SET', KEYS[1], next)
return out
`;

/**
 * Drops live numbers the batch adopted. KEYS: live (key → idx), live-idx (idx → key); ARGV: key,
 * idx pairs. A pair goes only while the live entry still names that number. Returns the count.
 */
export const FORGET_LIVE_IDS = `
local dropped = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i + 1])
    dropped = dropped + 1
  end
end
return dropped
`;

/** Raises the counter to ARGV[1] unless it is higher already. KEYS: counter. Returns the counter. */
export const RAISE_ID_COUNTER = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], wanted)
  return wanted
end
return current
`;

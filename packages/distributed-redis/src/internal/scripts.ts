import { Script } from './script.js';

// Every script takes user names only through KEYS and ARGV; nothing is ever spliced into source.
// Values compare by prefix so an election can store `<token><value>`: tokens are fixed-length hex.
// Times inside scripts come from the server's TIME, so holders on machines with different clocks agree.

const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

// The fence counter never expires. When it is missing (first use, or a server restarted without
// persistence) it starts from the server clock in microseconds instead of 1, so tokens keep
// increasing across such restarts unless the clock goes back (see docs/distributed-redis.md).
const FENCE = `local function nextFence(key)
  local value = redis.call('INCR', key)
  if value == 1 then
    local clock = redis.call('TIME')
    value = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
    redis.call('SET', key, string.format('%.0f', value))
  end
  return value
end`;

const HOLDS = `local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then`;

/**
 * KEYS: lock, fence. ARGV: value, ttl ms, channel to announce on ('' for none), and optionally
 * the highest fence the caller has seen (Redlock: keeps the servers' counters in step).
 * Returns the new fence (> 0) or minus the milliseconds the current holder has left.
 */
export const lockAcquire: Script = new Script(
  `${FENCE}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = nextFence(KEYS[2])
  local seen = tonumber(ARGV[4] or '')
  if seen and fence <= seen then
    fence = seen + 1
    redis.call('SET', KEYS[2], string.format('%.0f', fence))
  end
  if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], 'acquired') end
  return fence
end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return -1 end
return -left`,
  2,
);

/**
 * KEYS: lock. ARGV: token, channel ('' for none). Deletes only our own hold and announces it.
 * Returns 1, or 0 when not ours.
 */
export const lockRelease: Script = new Script(
  `${HOLDS}
  redis.call('DEL', KEYS[1])
  if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], 'released') end
  return 1
end
return 0`,
  1,
);

/** KEYS: lock. ARGV: token, ttl ms. Extends only our own hold. Returns 1, or 0 when not ours. */
export const lockExtend: Script = new Script(
  `${HOLDS}
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
  1,
);

/**
 * Redlock's compare-and-raise. KEYS: lock, fence. ARGV: token, value. Raises the counter to
 * `value` if it is lower, and returns 1 only while the hold is still ours: a raise that lands
 * after the hold expired could come after another holder's `INCR` there, so it must not count.
 * Raising anyway is harmless (the counter only grows).
 */
export const fenceRaise: Script = new Script(
  `local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0`,
  2,
);

/** KEYS: lock. Returns { pttl, value } (value absent when there is no holder). */
export const lockRead: Script = new Script(`return { redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1]) }`, 1);

// Keeps a sorted set of entries scored by expiry (and companions) alive exactly as long as its latest entry.
const KEEP = (
  zset: string,
  others: string,
): string => `local last = redis.call('ZRANGE', ${zset}, -1, -1, 'WITHSCORES')[2]
if last then
  local keep = tonumber(last) - now + 1000
  redis.call('PEXPIRE', ${zset}, keep)
  ${others.length > 0 ? `for _, key in ipairs({ ${others} }) do redis.call('PEXPIRE', key, keep) end` : ''}
end`;

/**
 * Semaphore. KEYS: holders (zset token -> expiry), weights (hash token -> permits, plus `used`),
 * queue (zset waiter -> ticket), queue expiry (zset waiter -> expiry), fence.
 * ARGV: token, permits, limit, ttl ms, waiter id ('' = do not queue), channel.
 * Grants when the queue is empty or headed by this waiter and the permits fit (strict FIFO
 * across processes); otherwise queues the waiter. Returns the fence, or minus a retry hint in ms.
 */
export const semaphoreAcquire: Script = new Script(
  `${NOW}
${FENCE}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then
  local freed = 0
  for i = 1, #dead do
    freed = freed + tonumber(redis.call('HGET', KEYS[2], dead[i]) or '0')
    redis.call('HDEL', KEYS[2], dead[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2])
  else redis.call('HINCRBY', KEYS[2], 'used', -freed) end
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
if #gone > 0 then
  for i = 1, #gone do redis.call('ZREM', KEYS[3], gone[i]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
end
local permits = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local waiter = ARGV[5]
local used = tonumber(redis.call('HGET', KEYS[2], 'used') or '0')
local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
if (head == nil or head == waiter) and used + permits <= limit then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], permits)
  redis.call('HINCRBY', KEYS[2], 'used', permits)
  if head ~= nil then
    redis.call('ZREM', KEYS[3], waiter)
    redis.call('ZREM', KEYS[4], waiter)
  end
  ${KEEP('KEYS[1]', 'KEYS[2]')}
  local fence = nextFence(KEYS[5])
  if used + permits < limit and redis.call('ZCARD', KEYS[3]) > 0 then redis.call('PUBLISH', ARGV[6], 'available') end
  return fence
end
if waiter ~= '' then
  if not redis.call('ZSCORE', KEYS[3], waiter) then redis.call('ZADD', KEYS[3], nextFence(KEYS[5]), waiter) end
  redis.call('ZADD', KEYS[4], now + ttl, waiter)
  ${KEEP('KEYS[4]', 'KEYS[3]')}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
if first then return -math.max(1, tonumber(first) - now) end
return -ttl`,
  5,
);

/** KEYS: holders, weights. ARGV: token, channel. Returns 1 when released in time, 0 when it had expired or was gone. */
export const semaphoreRelease: Script = new Script(
  `${NOW}
local permits = redis.call('HGET', KEYS[2], ARGV[1])
if not permits then return 0 end
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'used', -tonumber(permits))
redis.call('ZREM', KEYS[1], ARGV[1])
-- The last holder out removes the bookkeeping, so an idle semaphore leaves only its counter.
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[2], 'released')
if expiry > now then return 1 end
return 0`,
  2,
);

/**
 * KEYS: entries (zset token -> expiry), companion key kept alive with it. ARGV: token, ttl ms.
 * Extends an entry that has not expired yet. Returns 1, or 0 when it is gone or expired.
 */
export const entryExtend: Script = new Script(
  `${NOW}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
${KEEP('KEYS[1]', 'KEYS[2]')}
return 1`,
  2,
);

/** KEYS: queue, queue expiry. ARGV: waiter id, channel. Leaves a fair queue; announces so the next in line moves up. */
export const queueWithdraw: Script = new Script(
  `if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('PUBLISH', ARGV[2], 'withdrawn')
  return 1
end
return 0`,
  2,
);

const PURGE_RW = `redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)`;

/**
 * Read side. KEYS: writer, readers (zset token -> expiry), waiting writers (zset id -> expiry), fence.
 * ARGV: token, ttl ms. Refused while a writer holds or waits (writer preference).
 */
export const readAcquire: Script = new Script(
  `${NOW}
${FENCE}
${PURGE_RW}
local writer = redis.call('PTTL', KEYS[1])
if writer > 0 then return -writer end
if writer == -1 then return -1000 end
local waiting = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
if waiting then return -math.max(1, tonumber(waiting) - now) end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
${KEEP('KEYS[2]', '')}
return nextFence(KEYS[4])`,
  4,
);

/**
 * Write side. KEYS as `readAcquire`. ARGV: token, ttl ms, waiter id ('' = do not register).
 * A refused writer registers as waiting, which holds back new readers.
 */
export const writeAcquire: Script = new Script(
  `${NOW}
${FENCE}
${PURGE_RW}
local writer = redis.call('PTTL', KEYS[1])
if writer == -2 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  if ARGV[3] ~= '' then redis.call('ZREM', KEYS[3], ARGV[3]) end
  return nextFence(KEYS[4])
end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[3])
  ${KEEP('KEYS[3]', '')}
end
if writer > 0 then return -writer end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
if first then return -math.max(1, tonumber(first) - now) end
return -1000`,
  4,
);

/** KEYS: readers. ARGV: token, channel. Returns 1 when released in time, 0 when expired or gone. */
export const readRelease: Script = new Script(
  `${NOW}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'released')
if tonumber(expiry) > now then return 1 end
return 0`,
  1,
);

/** KEYS: waiting writers. ARGV: waiter id, channel. */
export const writerWithdraw: Script = new Script(
  `if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[2], 'withdrawn')
  return 1
end
return 0`,
  1,
);

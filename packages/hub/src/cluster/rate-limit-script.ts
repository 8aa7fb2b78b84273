import { createHash } from 'node:crypto';

/**
 * One Lua script decides every limit of a request and charges all or none, so hubs sharing a
 * Redis never race between the check and the charge. It mirrors `policy/algorithms.ts` operation
 * for operation (same doubles, same order), so a Redis store and a memory store answer alike.
 *
 * KEYS: one hash per counter (fields t, a, b as in CounterState).
 * ARGV: mode ('check' | 'charge'), now in ms ('' = Redis TIME), charge amount, then per key:
 *       algorithm ('s' sliding, 'f' fixed, 't' token bucket), limit, windowMs, burst, cost.
 * Reply: admitted (1/0), then per key: allowed (1/0), remaining, resetMs, retryAfterMs (-1 = never).
 */
export const RATE_LIMIT_LUA = `
local mode = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local tm = redis.call('TIME')
  now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
end
local amount = tonumber(ARGV[3])
local INF = -1
local n = #KEYS
local rolled = {}
local reply = { 1 }

local function fmt(x) return string.format('%.17g', x) end

for i = 1, n do
  local base = 3 + (i - 1) * 5
  local alg = ARGV[base + 1]
  local limit = tonumber(ARGV[base + 2])
  local w = tonumber(ARGV[base + 3])
  local burst = tonumber(ARGV[base + 4])
  local cost = tonumber(ARGV[base + 5])
  local h = redis.call('HMGET', KEYS[i], 't', 'a', 'b')
  local st, sa, sb = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
  local t, a, b
  if alg == 't' then
    if not st then
      t, a, b = now, burst, 0
    else
      local refill = (math.max(0, now - st) * limit) / w
      t, a, b = now, math.min(burst, sa + refill), 0
    end
  else
    local idx = math.floor(now / w)
    if not st or idx - st > 1 then
      t, a, b = idx, 0, 0
    elseif idx - st == 1 then
      t, a = idx, 0
      if alg == 's' then b = sa else b = 0 end
    else
      t, a, b = st, sa, sb
    end
  end
  rolled[i] = { alg = alg, limit = limit, w = w, burst = burst, cost = cost, t = t, a = a, b = b }

  local need = math.max(1, cost)
  local allowed, remaining, resetMs, retry
  if alg == 't' then
    allowed = a >= need
    local left = a
    if allowed then left = a - cost end
    local perMs = limit / w
    remaining = math.max(0, math.floor(left))
    resetMs = math.ceil(math.max(0, burst - left) / perMs)
    if allowed then retry = 0
    elseif need > burst then retry = INF
    else retry = math.ceil((need - a) / perMs) end
  else
    local elapsed = now - t * w
    local untilRoll = math.max(1, w - elapsed)
    local used = a
    if alg == 's' then used = a + (b * (w - elapsed)) / w end
    allowed = used + need <= limit
    retry = 0
    if not allowed then
      if need > limit then
        retry = INF
      elseif alg == 'f' then
        retry = untilRoll
      elseif a + need <= limit then
        local e = w * (1 - (limit - a - need) / b)
        retry = math.max(1, math.ceil(e - elapsed))
      else
        local e = 0
        if a ~= 0 then e = w * (1 - (limit - need) / a) end
        retry = math.max(1, math.ceil(w - elapsed + e))
      end
    end
    local charge = 0
    if allowed then charge = cost end
    remaining = math.max(0, math.floor(limit - used - charge))
    if allowed then resetMs = untilRoll else resetMs = retry end
  end
  if not allowed then reply[1] = 0 end
  local ok = 0
  if allowed then ok = 1 end
  reply[#reply + 1] = ok
  reply[#reply + 1] = remaining
  reply[#reply + 1] = resetMs
  reply[#reply + 1] = retry
end

if mode == 'charge' or reply[1] == 1 then
  for i = 1, n do
    local r = rolled[i]
    local units = r.cost
    if mode == 'charge' then units = amount end
    local ttl
    if r.alg == 't' then
      r.a = r.a - units
      -- Until the bucket is full again; a fresh bucket is full, so forgetting it then is exact.
      ttl = math.ceil((r.burst - r.a) * r.w / r.limit) + r.w
    else
      r.a = r.a + units
      -- A bucket matters for its own window and, as the previous one, the next.
      ttl = 2 * r.w + 1000
    end
    redis.call('HSET', KEYS[i], 't', fmt(r.t), 'a', fmt(r.a), 'b', fmt(r.b))
    redis.call('PEXPIRE', KEYS[i], math.max(1, ttl))
  end
end
if mode == 'charge' then return { 1 } end
return reply
`;

export const RATE_LIMIT_SHA = createHash('sha1').update(RATE_LIMIT_LUA).digest('hex');

package store

import "github.com/redis/go-redis/v9"

// Lua scripts run atomically in Redis. Times come from the Redis server (TIME) so that
// instances with skewed clocks agree on when a lease expires. Every key a script touches
// for one endpoint carries the endpoint's hash tag, so in a Cluster they share a slot.
//
// Keys per endpoint E (prefix P):
//
//	P:{E}:conns        ZSET connection ID -> expiry (ms): the endpoint's live leases
//	P:{E}:user:U       ZSET connection ID -> expiry (ms): user U's leases on E
//	P:{E}:kill:ID      reason: termination request, the fallback for a missed message
//
// Registry (one slot): P:{instances} ZSET instance -> expiry, P:{instances}:I the
// instance's JSON record. P:epoch marks when this Redis last started holding counts.

const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// acquire: KEYS conns, user; ARGV id, ttl ms, endpoint limit, user limit.
// Returns 0 admitted, 1 endpoint full, 2 user full.
var acquireScript = redis.NewScript(luaNow + `
local ttl = tonumber(ARGV[2])
local eplimit, ulimit = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if eplimit >= 0 and redis.call('ZCARD', KEYS[1]) >= eplimit then return 1 end
if ulimit >= 0 and redis.call('ZCARD', KEYS[2]) >= ulimit then return 2 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 0
`)

// renew: KEYS conns, user, kill; ARGV id, ttl ms, endpoint limit, user limit, unchecked
// (1 or 0). A lease still present and unexpired is extended. One that is missing (Redis
// lost its keys) or expired (its instance could not renew it in time, e.g. paused) may
// have had its slot taken meanwhile: it is re-acquired only within the limits, so that
// it never comes back on top of a full endpoint. An unchecked lease (admitted fail-open)
// is added back regardless, as it was admitted without counting in the first place.
// Returns {status, killed, reason}: status 0 renewed, 1 re-acquired, 2 no room (the
// lease stays out); killed 1 when a kill mark asks for the connection's end, with its
// reason.
var renewScript = redis.NewScript(luaNow + `
local id, ttl = ARGV[1], tonumber(ARGV[2])
local status = 0
local score = redis.call('ZSCORE', KEYS[1], id)
if not score or tonumber(score) <= now then
  status = 1
  if ARGV[5] ~= '1' then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    local eplimit, ulimit = tonumber(ARGV[3]), tonumber(ARGV[4])
    if (eplimit >= 0 and redis.call('ZCARD', KEYS[1]) >= eplimit) or
       (ulimit >= 0 and redis.call('ZCARD', KEYS[2]) >= ulimit) then
      status = 2
    end
  end
end
if status < 2 then
  redis.call('ZADD', KEYS[1], now + ttl, id)
  redis.call('ZADD', KEYS[2], now + ttl, id)
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
end
local kill = redis.call('GET', KEYS[3])
if kill then return {status, 1, kill} end
return {status, 0, ''}
`)

// Statuses the renew script answers.
const (
	renewRenewed    = 0
	renewReacquired = 1
	renewNoRoom     = 2
)

// release: KEYS conns, user, kill; ARGV id.
var releaseScript = redis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 0
`)

// count: KEYS a lease ZSET. Live members only.
var countScript = redis.NewScript(luaNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`)

// register: KEYS instances, record; ARGV instance ID, JSON, ttl ms.
var registerScript = redis.NewScript(luaNow + `
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
return 0
`)

// instances: KEYS instances; ARGV record key prefix. Returns the live records.
var instancesScript = redis.NewScript(luaNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local r = redis.call('GET', ARGV[1] .. id)
  if r then out[#out + 1] = r end
end
return out
`)

// epoch: KEYS epoch. Sets it to now if missing; returns its age in ms.
var epochScript = redis.NewScript(luaNow + `
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('SET', KEYS[1], now)
  return 0
end
return now - tonumber(e)
`)

// epochAge: KEYS epoch. Its age in ms, or -1 when missing (Redis lost its keys).
var epochAgeScript = redis.NewScript(luaNow + `
local e = redis.call('GET', KEYS[1])
if not e then return -1 end
return now - tonumber(e)
`)

// Login records (throttling): P:{login}:K, a hash of f (failures) and t (the last
// failure, ms by Redis's clock), expiring `forget` after the last failure. One hash tag
// for all, so that one script reads several keys on one Cluster slot.

// loginFailed: KEYS the records; ARGV forget ms. Returns {failures, ms since} per key.
var loginFailedScript = redis.NewScript(luaNow + `
local out = {}
for i, k in ipairs(KEYS) do
  local f = redis.call('HINCRBY', k, 'f', 1)
  redis.call('HSET', k, 't', now)
  redis.call('PEXPIRE', k, ARGV[1])
  out[i] = {f, 0}
end
return out
`)

// loginAttempts: KEYS the records. Returns {failures, ms since the last} per key, {0, 0}
// for none (or one that is not ours to read).
var loginAttemptsScript = redis.NewScript(luaNow + `
local out = {}
for i, k in ipairs(KEYS) do
  local f, t = 0, now
  if redis.call('TYPE', k).ok == 'hash' then
    local v = redis.call('HMGET', k, 'f', 't')
    f, t = tonumber(v[1]) or 0, tonumber(v[2]) or now
  end
  out[i] = {f, math.max(0, now - t)}
end
return out
`)

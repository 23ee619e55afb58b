package broker

import "github.com/redis/go-redis/v9"

// Wire formats, built by the scripts and read by wire.go. On a room's
// channel:
//
//	m<seq>\n<ms>\n<flags>\n<from>\n<data>           a message (ms: Redis time)
//	p<event>\n<node>\n<members>\n<users>\n<id>\n<user>  presence: join or leave
//	e                                               the room is emptied
//
// A member record in rooms:{R}:m is <node>\n<addr>\n<joined ms>\n<user>.

// luaCreate numbers the room (KEYS[1] meta, KEYS[2] stream) if it has no
// numbering: epoch, size, ttl.
const luaCreate = `
local function create(meta, hist, epoch, size, ttl)
  if redis.call('EXISTS', meta) == 0 then
    redis.call('HSET', meta, 'e', epoch, 's', 0, 'size', size, 'ttl', ttl)
    redis.call('DEL', hist)
  end
end
local function counts(meta, members, users)
  return redis.call('HLEN', members), redis.call('HLEN', users) + tonumber(redis.call('HGET', meta, 'a') or '0')
end
local function keep(meta, minkey)
  local ttl = tonumber(redis.call('HGET', meta, 'ttl') or '0')
  if ttl < tonumber(minkey) then ttl = tonumber(minkey) end
  return ttl
end
`

// publishScript orders one message. KEYS: meta, stream, members, publish
// key. ARGV: key ("" none), require members ("1"), new epoch, size, ttl
// ms, channel, from, flags, data, min key ttl ms. Returns {"dup",
// "<seq>:<delivered>"}, {"none"} or {"ok", seq, members}.
var publishScript = redis.NewScript(luaCreate + `
local members = redis.call('HLEN', KEYS[3])
if ARGV[1] ~= '' then
  local r = redis.call('GET', KEYS[4])
  if r then return {'dup', r} end
end
if ARGV[2] == '1' and members == 0 then return {'none'} end
create(KEYS[1], KEYS[2], ARGV[3], ARGV[4], ARGV[5])
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
local lim = redis.call('HMGET', KEYS[1], 'size', 'ttl')
local size, ttl = tonumber(lim[1]), tonumber(lim[2])
if size > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', size, seq .. '-0', 'f', ARGV[7], 't', ARGV[8], 'd', ARGV[9])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
local k = keep(KEYS[1], ARGV[10])
if members == 0 then redis.call('PEXPIRE', KEYS[1], k) end
if ARGV[1] ~= '' then redis.call('SET', KEYS[4], seq .. ':' .. members, 'PX', k) end
local t = redis.call('TIME')
local ms = string.format('%d', t[1] * 1000 + math.floor(t[2] / 1000))
redis.call('PUBLISH', ARGV[6], 'm' .. seq .. '\n' .. ms .. '\n' .. ARGV[8] .. '\n' .. ARGV[7] .. '\n' .. ARGV[9])
return {'ok', seq, members}
`)

// joinScript records a member. KEYS: meta, stream, members, ids, users,
// node set. ARGV: id, record, user, new epoch, size, ttl ms, channel, node.
// Returns {epoch, seq, members, users}.
var joinScript = redis.NewScript(luaCreate + `
create(KEYS[1], KEYS[2], ARGV[4], ARGV[5], ARGV[6])
redis.call('PERSIST', KEYS[1])
local added = redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2])
if added == 0 and string.match(redis.call('HGET', KEYS[3], ARGV[1]), '^[^\n]*') ~= ARGV[8] then
  -- recorded again by another node name (a reload renamed this node):
  -- the record moves; the old name's set keeps a stale id its sweep drops
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[6], ARGV[1])
end
if added == 1 then
  redis.call('ZADD', KEYS[4], 0, ARGV[1])
  redis.call('SADD', KEYS[6], ARGV[1])
  if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[3], 1) else redis.call('HINCRBY', KEYS[1], 'a', 1) end
end
local n, u = counts(KEYS[1], KEYS[3], KEYS[5])
if added == 1 then
  redis.call('PUBLISH', ARGV[7], 'pjoin\n' .. ARGV[8] .. '\n' .. n .. '\n' .. u .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
end
local pos = redis.call('HMGET', KEYS[1], 'e', 's')
return {pos[1], tonumber(pos[2]), n, u}
`)

// luaRemove is the removal of one member shared by leave and sweep.
const luaRemove = `
local function remove(meta, members, ids, users, nodeset, id, user, channel, node)
  if redis.call('HDEL', members, id) == 0 then return false end
  redis.call('ZREM', ids, id)
  redis.call('SREM', nodeset, id)
  if user ~= '' then
    if redis.call('HINCRBY', users, user, -1) <= 0 then redis.call('HDEL', users, user) end
  else
    redis.call('HINCRBY', meta, 'a', -1)
  end
  local n, u = counts(meta, members, users)
  redis.call('PUBLISH', channel, 'pleave\n' .. node .. '\n' .. n .. '\n' .. u .. '\n' .. id .. '\n' .. user)
  return true
end
local function emptied(meta, minkey)
  if redis.call('HLEN', KEYS[2]) == 0 and redis.call('EXISTS', meta) == 1 then
    redis.call('HDEL', meta, 'a')
    redis.call('PEXPIRE', meta, keep(meta, minkey))
  end
end
`

// leaveScript forgets a member. KEYS: meta, members, ids, users, node set.
// ARGV: id, user, channel, node, min key ttl ms. Returns {members, users}.
var leaveScript = redis.NewScript(luaCreate + luaRemove + `
remove(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
emptied(KEYS[1], ARGV[5])
local n, u = counts(KEYS[1], KEYS[2], KEYS[4])
return {n, u}
`)

// sweepScript forgets a node's members of a room but those listed (and
// those recorded since by another node name). KEYS:
// meta, members, ids, users, node set. ARGV: channel, node, min key ttl
// ms, ids to keep... Returns the room's member count after.
var sweepScript = redis.NewScript(luaCreate + luaRemove + `
local kept = {}
for i = 4, #ARGV do kept[ARGV[i]] = true end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if not kept[id] then
    local rec = redis.call('HGET', KEYS[2], id)
    if rec and string.match(rec, '^[^\n]*') == ARGV[2] then
      local user = string.match(rec, '^[^\n]*\n[^\n]*\n[^\n]*\n(.*)$') or ''
      remove(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], id, user, ARGV[1], ARGV[2])
    else
      redis.call('SREM', KEYS[5], id)
    end
  end
end
emptied(KEYS[1], ARGV[3])
return redis.call('HLEN', KEYS[2])
`)

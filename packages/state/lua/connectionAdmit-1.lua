--[[
  Admit one WebSocket connection of a tenant if fewer than `limit` are open across all replicas.
  KEYS[1] the tenant's connection leases (zset: member "<replica>/<connection>", score = lease expiry ms)
  ARGV[1] member   ARGV[2] lease ms   ARGV[3] limit
  Returns {admitted (1|0), open connections after the call}.
  Time is the Redis server's, so replicas with skewed clocks agree on which leases have lapsed.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {1, open} end
if open >= tonumber(ARGV[3]) then return {0, open} end
local expiry = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], expiry)
return {1, open + 1}

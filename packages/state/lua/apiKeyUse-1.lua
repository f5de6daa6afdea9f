--[[
  Authenticate with an API key and record its use, in one round trip (no cache anywhere: a
  revoked key — its hash deleted — fails on the very next request, on every replica).
  KEYS[1] the key's hash
  ARGV[1] sha256 of the presented key (hex)  ARGV[2] now ISO  ARGV[3] now ms
  Returns {} when unknown, revoked, expired or the hash differs; else the record as a flat array.
]]
local stored = redis.call('HGET', KEYS[1], 'hash')
if not stored or stored ~= ARGV[1] then return {} end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_ms') or '')
if expires and expires > 0 and expires <= tonumber(ARGV[3]) then return {} end
redis.call('HSET', KEYS[1], 'last_used_at', ARGV[2])
return redis.call('HGETALL', KEYS[1])

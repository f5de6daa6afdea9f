--[[
  Extend the leases of a replica's open connections of one tenant. A lease that lapsed while the
  replica could not reach Redis is written again: the connection is still open and counts.
  KEYS[1] the tenant's connection leases   ARGV[1] lease ms   ARGV[2..] members
  Returns the number of leases written.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
if #ARGV > 1 then redis.call('PEXPIREAT', KEYS[1], expiry) end
return #ARGV - 1

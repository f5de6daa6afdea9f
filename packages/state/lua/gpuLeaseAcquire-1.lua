--[[
  Take a GPU slot's lease if it is free (or already ours: a repeated acquire refreshes it).
  KEYS[1] the slot's lease key
  ARGV[1] holder token  ARGV[2] TTL ms
  Returns 1 when the caller holds the lease, 0 when someone else does.
]]
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1

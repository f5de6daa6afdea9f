--[[
  Extend a GPU slot's lease, only if the caller still holds it (an expired lease taken over by
  another holder is never stolen back).
  KEYS[1] the slot's lease key
  ARGV[1] holder token  ARGV[2] TTL ms
  Returns 1 when renewed, 0 when the lease is no longer the caller's.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1

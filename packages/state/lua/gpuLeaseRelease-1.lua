--[[
  Free a GPU slot, only if the caller holds its lease (a late release never frees another's slot).
  KEYS[1] the slot's lease key
  ARGV[1] holder token
  Returns 1 when released, 0 when the lease was not the caller's (expired or taken over).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1

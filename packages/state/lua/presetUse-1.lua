--[[
  Count a start that used a preset. Built-ins get their usage record on first use.
  KEYS[1] presets hash   ARGV[1] name  ARGV[2] now ISO  ARGV[3] '1' if built-in
  Returns 1 if counted, 0 if the preset does not exist.
]]
local prev = redis.call('HGET', KEYS[1], ARGV[1])
local p
if prev then p = cjson.decode(prev)
elseif ARGV[3] == '1' then p = {created_at = ARGV[2], config = cjson.decode('{}'), usage_count = 0}
else return 0 end
p.usage_count = (tonumber(p.usage_count) or 0) + 1
p.last_used = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(p))
return 1

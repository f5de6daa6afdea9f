--[[
  Save or replace a user preset, keeping its creation time and usage history.
  KEYS[1] presets hash   ARGV[1] name  ARGV[2] config JSON  ARGV[3] now ISO
  Returns the stored preset JSON.
]]
local prev = redis.call('HGET', KEYS[1], ARGV[1])
local p = prev and cjson.decode(prev) or {created_at = ARGV[3], last_used = cjson.null, usage_count = 0}
p.config = cjson.decode(ARGV[2])
local out = cjson.encode(p)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out

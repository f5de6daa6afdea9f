--[[
  Write a new session: its hash and a pending hash for each of its phases, in one script (a MULTI
  of nine HSETs is nine commands and replies for the client to make and read).
  KEYS: session, events, 8 phase hashes (canonical order)
  ARGV: the session hash's fields and values, alternating; `phases` (a JSON array) among them
]]
--@include session
redis.call('HSET', KEYS[1], unpack(ARGV))
for _, p in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'phases'))) do
  redis.call('HSET', phaseKey(p), 'status', 'pending', 'progress', 0, 'attempts', 0)
end
return 1

--[[
  Append one event to a session's stream and ring the doorbell.
  KEYS[1] the session's event stream
  ARGV[1] pub/sub channel
  ARGV[2] envelope JSON without event_id (must start with "{")
  ARGV[3] approximate max stream length
  Returns the stream id (the event_id).
]]
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
redis.call('PUBLISH', ARGV[1], '{"event_id":"' .. id .. '",' .. string.sub(ARGV[2], 2))
return id

-- Append an event to the session's stream and announce it with its id on pub/sub (see emit-1.lua).
local function emit(streamKey, channel, maxlen, envelope)
  local payload = cjson.encode(envelope)
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'e', payload)
  redis.call('PUBLISH', channel, '{"event_id":"' .. id .. '",' .. string.sub(payload, 2))
  return id
end

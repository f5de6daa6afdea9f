-- Append an event to the session's stream and announce it, with its id and the stream's epoch, on
-- pub/sub. KEYS[1] must be the session hash: the epoch lives there, made on the first event, so it
-- changes whenever the history was lost (a client holding the old epoch knows to reload).
-- Read once per script run: a script may emit several events of the same session.
local emitCache = {}

local function streamEpoch()
  if emitCache.epoch then return emitCache.epoch end
  local epoch = redis.call('HGET', KEYS[1], 'events_epoch')
  if not epoch then
    if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
    local t = redis.call('TIME')
    epoch = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('HSET', KEYS[1], 'events_epoch', epoch)
  end
  emitCache.epoch = epoch
  return epoch
end

-- The owning tenant travels with every published event, so realtime replicas deliver it only to
-- sockets of that tenant without reading the session (sessions from before tenants: 'default').
local function streamTenant()
  if not emitCache.tenant then emitCache.tenant = cjson.encode(redis.call('HGET', KEYS[1], 'tenant') or 'default') end
  return emitCache.tenant
end

local function emitRaw(streamKey, channel, maxlen, payload)
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'e', payload)
  redis.call('PUBLISH', channel, '{"event_id":"' .. id .. '","epoch":"' .. streamEpoch() .. '","tenant":' .. streamTenant() .. ',' .. string.sub(payload, 2))
  return id
end

local function emit(streamKey, channel, maxlen, envelope)
  return emitRaw(streamKey, channel, maxlen, cjson.encode(envelope))
end

-- Append an event to the session's stream and announce it, with its id and the stream's epoch, on
-- pub/sub. KEYS[1] must be the session hash: the epoch lives there, made on the first event, so it
-- changes whenever the history was lost (a client holding the old epoch knows to reload).
-- Read once per script run: a script may emit several events of the same session. Realtime
-- replicas split a message on newlines: it may carry several envelopes (see holdAnnouncements).
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

-- A script that emits several events may hold their announcements back (holdAnnouncements) and
-- publish them as one message, the envelopes separated by newlines (JSON never holds a raw
-- newline), at its end (publishHeld): one PUBLISH, and one message for each realtime replica to
-- read, instead of one per event. It must then call publishHeld on every way out.
local held = nil

local function holdAnnouncements()
  held = {}
end

local function emitRaw(streamKey, channel, maxlen, payload)
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'e', payload)
  local announcement = '{"event_id":"' .. id .. '","epoch":"' .. streamEpoch() .. '","tenant":' .. streamTenant() .. ',' .. string.sub(payload, 2)
  if held then
    held[#held + 1] = announcement
    held.channel = channel
  else
    redis.call('PUBLISH', channel, announcement)
  end
  return id
end

-- Publish what holdAnnouncements held back; returns `result`, so a script can end with
-- `return publishHeld(result)`.
local function publishHeld(result)
  if held and #held > 0 then redis.call('PUBLISH', held.channel, table.concat(held, '\n')) end
  held = nil
  return result
end

local function emit(streamKey, channel, maxlen, envelope)
  return emitRaw(streamKey, channel, maxlen, cjson.encode(envelope))
end

-- An agent record as the worker sends it, in four ARGV slots from `i`: its id, its record (the
-- AgentStatus JSON), '1' when it counts as active (active or executing), and its agent_update
-- event data (JSON). The worker builds all four, so the script decodes nothing. nil when ARGV[i] is ''.
local function agentAt(i)
  if (ARGV[i] or '') == '' then return nil end
  return {id = ARGV[i], record = ARGV[i + 1], active = ARGV[i + 2] == '1', data = ARGV[i + 3]}
end

-- The twin of isActiveAgent (views.ts), on a stored record's raw JSON.
local function countsActive(record)
  return record and (string.find(record, '"state":"executing"', 1, true) or string.find(record, '"state":"active"', 1, true)) and true or false
end

-- The session's active count within one script run: as stored (read at most once) and as moved
-- by the records made so far (a completion records two agents: the finished one and the next
-- phase's).
local agentCache = {}

local function storedActive()
  if not agentCache.stored then
    agentCache.stored = tonumber(redis.call('HGET', KEYS[1], 'active_agents') or '0') or 0
    agentCache.active = agentCache.active or agentCache.stored
  end
  return agentCache.stored
end

-- Record an agent's latest state, keep the session's `active_agents` count in step (by the change
-- this record makes: the state it replaces is found on the raw JSON — every record is
-- JSON.stringify output, no spaces, and a quote inside a string value is escaped), and emit the
-- agent_update event. KEYS[1] must be the session hash (emit's epoch and tenant live there).
-- `sessionId`: the session's id when the caller has read it already.
local function recordAgent(eventsKey, agentsKey, a, nowIso, channel, maxlen, sessionId)
  local before = redis.call('HGET', agentsKey, a.id)
  redis.call('HSET', agentsKey, a.id, a.record)
  local delta = (a.active and 1 or 0) - (countsActive(before) and 1 or 0)
  storedActive()
  local active = agentCache.active
  if delta ~= 0 then
    active = math.max(0, active + delta)
    agentCache.active = active
    if not agentCache.deferred then redis.call('HSET', KEYS[1], 'active_agents', active) end
  end
  sessionId = sessionId or redis.call('HGET', KEYS[1], 'session_id') or ''
  emitRaw(eventsKey, channel, maxlen, '{"event_type":"agent_update","timestamp":' .. cjson.encode(nowIso) .. ',"session_id":'
    .. cjson.encode(sessionId) .. ',"data":' .. a.data .. '}')
  return active
end

-- A script that records several agents and emits several events (a claim, a completion) defers
-- their side writes to its end, finishScript: the announcements go out as one message (see
-- holdAnnouncements), and the session's active count is written once, if it changed at all (a
-- completion's two records usually cancel out: the finished agent stops, the next one starts).
-- Such a script must end every way out with `return finishScript(result)`.
local function deferWrites()
  holdAnnouncements()
  agentCache.deferred = true
end

local function finishScript(result)
  if agentCache.deferred and agentCache.stored and agentCache.active ~= agentCache.stored then
    redis.call('HSET', KEYS[1], 'active_agents', agentCache.active)
  end
  agentCache.deferred = nil
  return publishHeld(result)
end

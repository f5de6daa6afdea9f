-- The session as one JSON document {session: {...}, phases: {name: {...}}, agents: [...]}, or ''
-- when it does not exist. KEYS as the session scripts: session, events, 8 phase hashes (canonical
-- order), agents. A single string decodes far faster on the client than a reply of hundreds of
-- nested elements. Needs the session include (its PHASES).
local function readSnapshot()
  local function toObject(flat)
    local o = {}
    for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
    return o
  end
  local session = redis.call('HGETALL', KEYS[1])
  if #session == 0 then return '', nil end
  local phases = {}
  for i, p in ipairs(PHASES) do
    local h = redis.call('HGETALL', KEYS[2 + i])
    if #h > 0 then phases[p] = toObject(h) end
  end
  -- Agent records are JSON already (written by the worker): spliced in as they are.
  local agents = redis.call('HVALS', KEYS[11])
  local phasesJson = next(phases) and cjson.encode(phases) or '{}'
  local fields = toObject(session)
  return '{"session":' .. cjson.encode(fields) .. ',"phases":' .. phasesJson .. ',"agents":[' .. table.concat(agents, ',') .. ']}', fields
end

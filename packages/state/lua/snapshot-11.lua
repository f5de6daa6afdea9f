--[[
  A consistent point-in-time read of a session in one round trip: the session hash, the hashes of
  its requested phases, and its agents. (A MULTI of eleven HGETALLs costs Redis and the client
  eleven commands and replies; this is one.)
  KEYS: session, events, 8 phase hashes (canonical order), agents
  ARGV[1] tenant scope: the reader's tenant, or '*' (admin: every tenant)
  Returns '' when the session does not exist or belongs to another tenant (indistinguishable on
  purpose), else one JSON document {session: {...}, phases: {name: {...}}, agents: [...]}: a
  single string decodes far faster on the client than a reply of hundreds of nested elements.
]]
if ARGV[1] ~= '*' and (redis.call('HGET', KEYS[1], 'tenant') or 'default') ~= ARGV[1] then return '' end
local function toObject(flat)
  local o = {}
  for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
  return o
end
local session = redis.call('HGETALL', KEYS[1])
if #session == 0 then return '' end
local PHASES = {'cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'}
local phases = {}
for i, p in ipairs(PHASES) do
  local h = redis.call('HGETALL', KEYS[2 + i])
  if #h > 0 then phases[p] = toObject(h) end
end
-- Agent records are JSON already (written by the worker): spliced in as they are.
local agents = redis.call('HVALS', KEYS[11])
local phasesJson = next(phases) and cjson.encode(phases) or '{}'
return '{"session":' .. cjson.encode(toObject(session)) .. ',"phases":' .. phasesJson .. ',"agents":[' .. table.concat(agents, ',') .. ']}'

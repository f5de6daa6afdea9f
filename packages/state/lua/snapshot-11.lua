--[[
  A consistent point-in-time read of a session in one round trip: the session hash, the hashes of
  its requested phases, and its agents. (A MULTI of eleven HGETALLs costs Redis and the client
  eleven commands and replies; this is one.)
  KEYS: session, events, 8 phase hashes (canonical order), agents
  Returns {} when the session does not exist, else {session, {phase, hash}..., agents} as flat arrays.
]]
local session = redis.call('HGETALL', KEYS[1])
if #session == 0 then return {} end
local PHASES = {'cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'}
local out = {session}
for i, p in ipairs(PHASES) do
  local h = redis.call('HGETALL', KEYS[2 + i])
  if #h > 0 then
    out[#out + 1] = p
    out[#out + 1] = h
  end
end
out[#out + 1] = '__agents'
out[#out + 1] = redis.call('HGETALL', KEYS[11])
return out

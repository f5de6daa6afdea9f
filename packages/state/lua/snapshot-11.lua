--[[
  A consistent point-in-time read of a session in one round trip: the session hash, the hashes of
  its requested phases, and its agents. (A MULTI of eleven HGETALLs costs Redis and the client
  eleven commands and replies; this is one.)
  KEYS: session, events, 8 phase hashes (canonical order), agents
  ARGV[1] tenant scope: the reader's tenant, or '*' (admin: every tenant)
  Returns {} when the session does not exist or belongs to another tenant (indistinguishable on
  purpose), else {session, {phase, hash}..., agents} as flat arrays.
]]
if ARGV[1] ~= '*' and (redis.call('HGET', KEYS[1], 'tenant') or 'default') ~= ARGV[1] then return {} end
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

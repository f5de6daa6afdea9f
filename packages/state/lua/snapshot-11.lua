--[[
  A consistent point-in-time read of a session in one round trip: the session hash, the hashes of
  its requested phases, and its agents. (A MULTI of eleven HGETALLs costs Redis and the client
  eleven commands and replies; this is one.)
  KEYS: session, events, 8 phase hashes (canonical order), agents
  ARGV[1] tenant scope: the reader's tenant, or '*' (admin: every tenant)
  Returns '' when the session does not exist or belongs to another tenant (indistinguishable on
  purpose), else the document readSnapshot (includes/snapshot.lua) builds.
]]
--@include session
--@include snapshot
if ARGV[1] ~= '*' and (redis.call('HGET', KEYS[1], 'tenant') or 'default') ~= ARGV[1] then return '' end
return (readSnapshot())

--[[
  A session that reached a terminal status, read and set to expire in one script: its snapshot
  (for the history record the caller writes) and, when it is terminal, an expiry on every key of
  the session's slot that the caller names.
  KEYS: session, events, 8 phase hashes, agents, the session's checkpoint index
  ARGV[1] retention in ms
  Returns {} when the session does not exist, else {snapshot JSON, '1' when it was terminal and
  now expires, the ids of its checkpoints...} (the caller expires each checkpoint's keys: their
  names are not known before this read).
]]
--@include session
--@include snapshot
local json, fields = readSnapshot()
if json == '' then return {} end
if not TERMINAL[fields.status] then return {json, '0'} end
local out = {json, '1'}
for i = 1, 12 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
for _, id in ipairs(redis.call('ZRANGE', KEYS[12], 0, -1)) do out[#out + 1] = id end
return out

--[[
  The worker found its session paused between steps: park the phase so it holds no worker slot.
  Resume bumps run_gen and enqueues a new job that continues from the saved resume state.
  KEYS: session, events, 8 phase hashes
  ARGV[1] phase  ARGV[2] run_gen  ARGV[3] resume state JSON ('' = keep)  ARGV[4] now ISO
  Returns {'parked'} | {'continue'} (resumed before we parked) | {'stopped', status} | {'stale'}
]]
--@include session
local phase, gen, resume, nowIso = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local s = redis.call('HMGET', KEYS[1], 'status', 'current_phase', 'run_gen')
if not s[1] then return {'stopped', 'gone'} end
if s[3] ~= gen or s[2] ~= phase then return {'stale'} end
if s[1] == 'running' then return {'continue'} end
if s[1] ~= 'paused' then return {'stopped', s[1]} end
local pKey = phaseKey(phase)
if resume ~= '' then redis.call('HSET', pKey, 'resume_state', resume) end
redis.call('HSET', pKey, 'status', 'paused')
redis.call('HSET', KEYS[1], 'parked', '1', 'worker_id', '', 'updated_at', nowIso)
return {'parked'}

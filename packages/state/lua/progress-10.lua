--[[
  Record a progress step of the running phase (and, optionally, its in-phase resume state).
  Progress is recorded only while the session runs, so a paused session emits nothing.
  KEYS: session, events, 8 phase hashes
  ARGV[1] phase  ARGV[2] run_gen  ARGV[3] phase percent  ARGV[4] metrics JSON  ARGV[5] message
  ARGV[6] now ISO  ARGV[7] now ms  ARGV[8] memory MB  ARGV[9] channel  ARGV[10] maxlen
  ARGV[11] resume state JSON ('' = unchanged)  ARGV[12] measured GPU utilisation % ('' = none measured)
  Returns {status, total} ; status 'stale' when this job no longer owns the phase.
]]
--@include emit
--@include session
local phase, gen, pct, metrics, message = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local nowIso, nowMs, mem, channel, maxlen, resume = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local s = redis.call('HMGET', KEYS[1], 'status', 'session_id', 'current_phase', 'run_gen', 'phases')
local status = s[1]
if not status then return {'gone', '0'} end
if s[4] ~= gen or s[3] ~= phase then return {'stale', '0'} end
if status ~= 'running' then return {status, redis.call('HGET', KEYS[1], 'total_progress') or '0'} end
local pKey = phaseKey(phase)
if resume ~= '' then redis.call('HSET', pKey, 'resume_state', resume) end
redis.call('HSET', pKey, 'progress', pct, 'custom_metrics', metrics, 'memory_mb', mem)
if ARGV[12] ~= '' then redis.call('HSET', pKey, 'gpu', ARGV[12]) end
local total = totalProgress(cjson.decode(s[5]), pct)
redis.call('HSET', KEYS[1], 'phase_progress', pct, 'total_progress', total, 'heartbeat_ms', nowMs, 'updated_at', nowIso)
emit(KEYS[2], channel, maxlen, progressEnvelope(s[2], nowIso, phase, pct, total, 'running', message, cjson.decode(metrics)))
return {'running', tostring(total)}

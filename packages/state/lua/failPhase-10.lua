--[[
  A phase failed for good (no retry left): the session ends failed, the error is kept on the phase,
  and an error event (recoverable: false) plus a phase_complete (success: false) go out.
  KEYS: session, events, 8 phase hashes
  ARGV[1] phase  ARGV[2] run_gen  ARGV[3] error code  ARGV[4] error message  ARGV[5] duration s
  ARGV[6] now ISO  ARGV[7] now ms  ARGV[8] channel  ARGV[9] maxlen
  Returns {'failed'} | {'stale', why}
]]
--@include emit
--@include session
local phase, gen, code, message, duration = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local nowIso, nowMs, channel, maxlen = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local s = redis.call('HMGET', KEYS[1], 'status', 'session_id', 'current_phase', 'run_gen', 'phases', 'phase_progress')
if not s[1] then return {'stale', 'gone'} end
if s[4] ~= gen or s[3] ~= phase then return {'stale', 'superseded'} end
if TERMINAL[s[1]] then return {'stale', s[1]} end
local pKey = phaseKey(phase)
redis.call('HSET', pKey, 'status', 'failed', 'ended_ms', nowMs, 'duration_seconds', duration, 'error_message', message, 'error_code', code)
local total = totalProgress(cjson.decode(s[5]), tonumber(s[6]) or 0)
redis.call('HSET', KEYS[1], 'status', 'failed', 'status_reason', code .. ': ' .. message, 'end_reason', 'failed',
  'total_progress', total, 'updated_at', nowIso, 'ended_at', nowIso, 'ended_ms', nowMs, 'worker_id', '')
emit(KEYS[2], channel, maxlen, {event_type = 'error', timestamp = nowIso, session_id = s[2],
  data = {error_code = code, error_message = message, phase = phase, recoverable = false}})
emit(KEYS[2], channel, maxlen, {event_type = 'phase_complete', timestamp = nowIso, session_id = s[2],
  data = {phase = phase, success = false, duration_seconds = tonumber(duration), metrics = cjson.decode('{}'), error_message = message}})
emit(KEYS[2], channel, maxlen, progressEnvelope(s[2], nowIso, phase, tonumber(s[6]) or 0, total, 'failed', message, nil))
return {'failed'}

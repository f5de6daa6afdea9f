--[[
  Apply a control action atomically (the transition table lives in contracts; the caller passes
  the statuses the action is allowed from and the status it leads to).
  KEYS: session, events, 8 phase hashes
  ARGV[1] action  ARGV[2] allowed-from statuses, comma separated  ARGV[3] target status
  ARGV[4] now ISO  ARGV[5] now ms  ARGV[6] channel  ARGV[7] stream maxlen  ARGV[8] reason
  ARGV[9] control channel: the worker running the phase hears the action there, whichever replica
  ARGV[10] tenant scope of the caller ('*' = every tenant): another tenant's session is not_found
  ARGV[11] '1' when the action was forced (resume past a failed blocking quality gate)
  Returns {'not_found'} | {'invalid', from} | {'gate_blocked', from}
    | {'ok', from, to, enqueue ('1'|''), run_gen, current_phase, overridden}
  overridden: on a forced resume past a failed blocking gate, the reason the session had been
  paused for (so the caller can audit what was overridden); '' otherwise
]]
--@include emit
--@include session
local action, allowed, target = ARGV[1], ARGV[2], ARGV[3]
local nowIso, nowMs, channel, maxlen, reason = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local s = redis.call('HMGET', KEYS[1], 'status', 'session_id', 'current_phase', 'parked', 'run_gen', 'phases', 'phase_progress', 'status_reason')
local status = s[1]
if not status then return {'not_found'} end
if ARGV[10] ~= '*' and (redis.call('HGET', KEYS[1], 'tenant') or 'default') ~= ARGV[10] then return {'not_found'} end
if not string.find(',' .. allowed .. ',', ',' .. status .. ',', 1, true) then return {'invalid', status} end
local sessionId, current, parked, gen = s[2], s[3] or '', s[4], s[5]
local gateBlocked = redis.call('HGET', KEYS[1], 'gate_blocked') == '1'
if action == 'resume' and gateBlocked and ARGV[11] ~= '1' then return {'gate_blocked', status} end
local overridden = ''
if action == 'resume' and gateBlocked then overridden = (s[8] and s[8] ~= '') and s[8] or 'a blocking quality gate failed' end
local phases = cjson.decode(s[6])
local pKey = current ~= '' and phaseKey(current) or nil
local enqueue = ''

if action == 'pause' then
  redis.call('HSET', KEYS[1], 'status', target, 'status_reason', reason, 'updated_at', nowIso)
  if pKey and redis.call('HGET', pKey, 'status') == 'running' then redis.call('HSET', pKey, 'status', 'paused') end
elseif action == 'resume' and gateBlocked and current == '' then
  -- forced past a failed gate of the last phase: the run is complete
  redis.call('HSET', KEYS[1], 'status', 'completed', 'status_reason', 'completed; quality gate overridden by force',
    'gate_blocked', '0', 'parked', '0', 'updated_at', nowIso, 'ended_at', nowIso, 'ended_ms', nowMs, 'end_reason', 'completed')
elseif action == 'resume' then
  redis.call('HSET', KEYS[1], 'status', target, 'status_reason', gateBlocked and 'quality gate overridden by force' or '', 'gate_blocked', '0', 'updated_at', nowIso)
  if pKey and redis.call('HGET', pKey, 'status') == 'paused' then redis.call('HSET', pKey, 'status', 'running') end
  if parked == '1' then
    -- The phase's job was parked (it holds no worker slot): a new generation takes over.
    gen = tostring(redis.call('HINCRBY', KEYS[1], 'run_gen', 1))
    redis.call('HSET', KEYS[1], 'parked', '0')
    enqueue = '1'
  end
else -- stop / cancel
  redis.call('HSET', KEYS[1], 'status', target, 'status_reason', reason, 'end_reason', action,
    'updated_at', nowIso, 'ended_at', nowIso, 'ended_ms', nowMs, 'parked', '0')
  if pKey then
    local ps = redis.call('HGET', pKey, 'status')
    if ps == 'running' or ps == 'paused' or ps == 'pending' then
      redis.call('HSET', pKey, 'status', 'cancelled', 'ended_ms', nowMs)
    end
  end
end

local total = totalProgress(phases, tonumber(s[7]) or 0)
if redis.call('HGET', KEYS[1], 'status') == 'completed' then total = 100 end
redis.call('HSET', KEYS[1], 'total_progress', total)
emit(KEYS[2], channel, maxlen, progressEnvelope(sessionId, nowIso, current, tonumber(s[7]) or 0, total,
  redis.call('HGET', KEYS[1], 'status'), action .. ': ' .. reason, nil))
local newStatus = redis.call('HGET', KEYS[1], 'status')
redis.call('PUBLISH', ARGV[9], cjson.encode({session_id = sessionId, action = action, status = newStatus, run_gen = gen}))
return {'ok', status, newStatus, enqueue, gen, current, overridden}

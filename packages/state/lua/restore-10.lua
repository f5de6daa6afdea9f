--[[
  Restore a session from a checkpoint snapshot. Refuses while the session is live (the caller then
  restores into a new session id). The run generation always moves forward, so jobs of the old
  run can never touch the restored one.
  KEYS: session, events, 8 phase hashes
  ARGV[1] snapshot JSON {session = {field = value}, phases = {phase = {field = value}}}
  ARGV[2] now ISO  ARGV[3] now ms  ARGV[4] channel  ARGV[5] maxlen
  Returns {'busy', status} | {'ok', run_gen, next_phase or ''}
]]
--@include emit
--@include session
local snap = cjson.decode(ARGV[1])
local nowIso, nowMs, channel, maxlen = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', KEYS[1], 'status')
if status and not TERMINAL[status] then return {'busy', status} end
local oldGen = tonumber(redis.call('HGET', KEYS[1], 'run_gen') or '0') or 0
local snapGen = tonumber(snap.session.run_gen or '0') or 0
local gen = math.max(oldGen, snapGen) + 1
redis.call('DEL', KEYS[1])
for i = 3, 10 do redis.call('DEL', KEYS[i]) end
for field, value in pairs(snap.session) do redis.call('HSET', KEYS[1], field, tostring(value)) end
-- The snapshot's epoch belongs to its stream: a session without that stream starts a new epoch.
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HDEL', KEYS[1], 'events_epoch') end
local phases = cjson.decode(snap.session.phases)
local nextPhase = ''
for _, p in ipairs(phases) do
  local fields = snap.phases[p]
  if fields then
    for field, value in pairs(fields) do redis.call('HSET', phaseKey(p), field, tostring(value)) end
  end
  local ps = redis.call('HGET', phaseKey(p), 'status')
  if ps ~= 'completed' then
    -- Unfinished phases start again clean (their in-phase resume state is kept).
    redis.call('HSET', phaseKey(p), 'status', 'pending', 'progress', 0, 'error_message', '')
    if nextPhase == '' then nextPhase = p end
  end
end
local total = totalProgress(phases, 0, completedPhases(phases, true))
local newStatus = nextPhase == '' and 'completed' or 'initializing'
redis.call('HSET', KEYS[1], 'status', newStatus, 'current_phase', nextPhase, 'phase_progress', 0, 'total_progress', total,
  'run_gen', gen, 'parked', '0', 'status_reason', 'restored from checkpoint', 'end_reason', '', 'ended_at', '', 'ended_ms', '',
  'updated_at', nowIso, 'worker_id', '', 'active_agents', 0)
if newStatus == 'completed' then redis.call('HSET', KEYS[1], 'ended_at', nowIso, 'ended_ms', nowMs, 'end_reason', 'completed') end
emit(KEYS[2], channel, maxlen, progressEnvelope(snap.session.session_id, nowIso, nextPhase, 0, total, newStatus, 'restored from checkpoint', nil))
return {'ok', tostring(gen), nextPhase}

--[[
  Record a finished phase and advance the session, exactly once per phase: a redelivered job
  finds the phase completed and changes nothing. The caller enqueues the next phase when told to
  (with a job id derived from session, phase and run generation, so that is idempotent too).
  KEYS: session, events, 8 phase hashes, agents hash
  ARGV[1] phase  ARGV[2] run_gen  ARGV[3] job id  ARGV[4] custom metrics JSON
  ARGV[5] duration seconds  ARGV[6] memory MB  ARGV[7] gate results JSON array  ARGV[8] now ISO
  ARGV[9] now ms  ARGV[10] channel  ARGV[11] maxlen  ARGV[12] gpu utilization ('' = none)
  ARGV[13] artifacts JSON object (name → reference)
  ARGV[14] '1' when a blocking quality gate failed: progression stops, the session pauses
  ARGV[15] the reason shown when blocked
  ARGV[16..19] the phase's agent in its final state (see agentAt in includes/agent.lua; recorded
  before the completion, so a reader who sees the phase completed never sees its agent still
  executing); ARGV[16] '' = none
  ARGV[20] a worker id: when the session goes on to a next phase, that worker claims it at once
  for the same job (phase chaining) — '' = the caller enqueues it   ARGV[21..24] the next phase's
  agent (the claim leaves the config and phases out: the caller has them)
  Returns {'dup'} | {'stale', why} | {'next', phase, run_gen[, the claim of that phase as claimPhase
        returns it, when ARGV[20] is set]} | {'parked', next_phase} | {'completed'} | {'blocked', next_phase or ''}
]]
--@include emit
--@include session
--@include agent
--@include claim
-- The events of one completion (the agent stopped, the phase complete, the next phase started and
-- its agent) are announced as one pub/sub message, and the active-agent count is written once
-- (see deferWrites in includes/agent.lua).
local function complete()
  local phase, gen, jobId, metricsJson, duration, mem, gatesJson = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local nowIso, nowMs, channel, maxlen, gpu, artifacts = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]
  local blocked, blockedReason = ARGV[14] == '1', ARGV[15] or ''
  local head = readHead()
  local status, sessionId = head.status, head.sessionId
  if not status then return {'stale', 'gone'} end
  local pKey = phaseKey(phase)
  if redis.call('HGET', pKey, 'status') == 'completed' then return {'dup'} end
  if head.runGen ~= gen or head.currentPhase ~= phase then return {'stale', 'superseded'} end
  if TERMINAL[status] then return {'stale', status} end
  local finalAgent = agentAt(16)
  if finalAgent then recordAgent(KEYS[2], KEYS[11], finalAgent, nowIso, channel, maxlen, sessionId) end

  redis.call('HSET', pKey, 'status', 'completed', 'progress', 100, 'ended_ms', nowMs, 'duration_seconds', duration,
    'memory_mb', mem, 'custom_metrics', metricsJson, 'gate_results', gatesJson, 'completed_job', jobId,
    'resume_state', '', 'error_message', '', 'gpu', gpu, 'artifacts', artifacts)
  local phases = cjson.decode(head.phasesJson)
  local nextPhase = nil
  for i, p in ipairs(phases) do
    if p == phase then nextPhase = phases[i + 1] end
  end
  local done = countCompletion(phases, head.completedCount)
  local total = totalProgress(phases, 0, done)
  -- The metrics and gate results go into the event as the worker serialised them: a cjson
  -- decode/encode round trip would turn every empty array (a passing gate's recommendations, an
  -- indicator with no checks) into an object.
  local function splice(json, placeholder, raw)
    local i, j = string.find(json, '"' .. placeholder .. '"', 1, true)
    return string.sub(json, 1, i - 1) .. raw .. string.sub(json, j + 1)
  end
  local payload = cjson.encode({
    event_type = 'phase_complete', timestamp = nowIso, session_id = sessionId,
    data = {phase = phase, success = true, duration_seconds = tonumber(duration), metrics = '@@af_metrics@@',
            quality_gates = '@@af_gates@@'}
  })
  emitRaw(KEYS[2], channel, maxlen, splice(splice(payload, '@@af_metrics@@', metricsJson), '@@af_gates@@', gatesJson))

  if blocked then
    -- A blocking gate failed: the session pauses here, holding no job; only `resume` with force
    -- (or cancel) moves it on.
    redis.call('HSET', KEYS[1], 'status', 'paused', 'status_reason', blockedReason, 'gate_blocked', '1', 'parked', '1',
      'current_phase', nextPhase or '', 'phase_progress', 0, 'total_progress', total, 'updated_at', nowIso, 'worker_id', '')
    if nextPhase then redis.call('HSET', phaseKey(nextPhase), 'status', 'pending') end
    emit(KEYS[2], channel, maxlen, progressEnvelope(sessionId, nowIso, nextPhase or phase, 0, total, 'paused', blockedReason, nil))
    return {'blocked', nextPhase or ''}
  end

  if nextPhase then
    local chainWorker = ARGV[20] or ''
    if status == 'paused' or chainWorker == '' then
      redis.call('HSET', KEYS[1], 'current_phase', nextPhase, 'phase_progress', 0, 'total_progress', total, 'updated_at', nowIso)
      redis.call('HSET', phaseKey(nextPhase), 'status', 'pending')
      if status == 'paused' then
        -- Paused during the last step: the next phase waits, holding no worker slot.
        redis.call('HSET', KEYS[1], 'parked', '1')
        return {'parked', nextPhase}
      end
      emit(KEYS[2], channel, maxlen, progressEnvelope(sessionId, nowIso, nextPhase, 0, total, status, 'phase ' .. nextPhase .. ' queued', nil))
      return {'next', nextPhase, gen}
    end
    -- Claimed here for the same job: the phase is never queued (the claim moves current_phase and
    -- the phase's status straight to running), its 'started' progress is the next event.
    local claim = claimPhase(nextPhase, gen, chainWorker, nowIso, nowMs, channel, maxlen, agentAt(21), '1', {
      head = head, phases = phases, done = done, prev = phase, prevMetrics = metricsJson, prevArtifacts = artifacts,
    })
    local out = {'next', nextPhase, gen}
    for _, v in ipairs(claim) do out[#out + 1] = v end
    return out
  end
  redis.call('HSET', KEYS[1], 'status', 'completed', 'current_phase', '', 'phase_progress', 0, 'total_progress', 100,
    'updated_at', nowIso, 'ended_at', nowIso, 'ended_ms', nowMs, 'end_reason', 'completed', 'worker_id', '')
  emit(KEYS[2], channel, maxlen, progressEnvelope(sessionId, nowIso, phase, 100, 100, 'completed', 'pipeline completed', nil))
  return {'completed'}
end

deferWrites()
return finishScript(complete())

-- The phase scripts' shared reads and the claim. KEYS as the phase scripts: session, events,
-- 8 phase hashes, agents hash. Needs the emit, session and agent includes.

-- The session fields a phase script needs, in one HMGET, with the emit and agent caches primed
-- from it (the stream's epoch and tenant, the active-agent count): nothing later re-reads them.
local function readHead()
  local v = redis.call('HMGET', KEYS[1], 'status', 'session_id', 'current_phase', 'run_gen', 'phases', 'completed_count',
    'events_epoch', 'tenant', 'active_agents', 'enable_checkpoints', 'enable_monitoring', 'swarm_topology', 'max_agents')
  if v[7] then emitCache.epoch = v[7] end
  if v[1] then
    emitCache.tenant = cjson.encode(v[8] or 'default')
    agentCache.stored = tonumber(v[9] or '0') or 0
    agentCache.active = agentCache.stored
  end
  return {status = v[1], sessionId = v[2], currentPhase = v[3], runGen = v[4], phasesJson = v[5], completedCount = v[6],
    cfg = {v[10] or '0', v[11] or '1', v[12] or '', v[13] or ''}}
end

-- A worker claims a phase (startPhase, or completePhase going straight on to the next phase of
-- the same job). Guards make redelivered or superseded jobs harmless.
-- Returns {'gone'} | {'skip', reason} | {'parked'}
--       | {'run', the \31-joined fields: resume_state, attempt, config JSON, enable_checkpoints, previous phase,
--          its metrics JSON, its artifacts JSON, enable_monitoring, swarm_topology, max_agents, phases JSON}
-- (everything the worker needs to run the phase, so it reads nothing else). With `lean` = '1' the
-- config and phases come back empty: the caller holds them from an earlier claim of the same run
-- generation, and within one generation they never change (only a restore, which starts a new
-- generation, rewrites them).
-- `chained`: set by completePhase claiming the next phase in the same run — what it has just read
-- (the session's head, its phases decoded, the completed count, the phase just completed and its
-- outputs), so the claim neither re-reads nor re-checks it, and also moves the session's
-- current_phase (which completePhase left to it): {head, phases, done, prev, prevMetrics, prevArtifacts}.
local function claimPhase(phase, gen, workerId, nowIso, nowMs, channel, maxlen, agent, lean, chained)
  local head, phases
  local pKey = phaseKey(phase)
  local p
  if chained then
    head, phases = chained.head, chained.phases
    p = redis.call('HMGET', pKey, 'progress', 'started_ms', 'resume_state')
  else
    head = readHead()
    local status = head.status
    if not status then return {'gone'} end
    if TERMINAL[status] then return {'skip', status} end
    if head.runGen ~= gen then return {'skip', 'superseded by run generation ' .. tostring(head.runGen)} end
    if head.currentPhase ~= phase then return {'skip', 'session is at phase ' .. tostring(head.currentPhase)} end
    local h = redis.call('HMGET', pKey, 'status', 'progress', 'started_ms', 'resume_state')
    if h[1] == 'completed' then return {'skip', 'phase already completed'} end
    if status == 'paused' then
      redis.call('HSET', KEYS[1], 'parked', '1')
      redis.call('HSET', pKey, 'status', 'paused')
      return {'parked'}
    end
    phases = cjson.decode(head.phasesJson)
    p = {h[2], h[3], h[4]}
  end
  local status, sessionId = head.status, head.sessionId
  local attempt = redis.call('HINCRBY', pKey, 'attempts', 1)
  -- A new run of the phase: the live GPU reading of an earlier one no longer applies.
  if (p[2] or '') == '' then
    redis.call('HSET', pKey, 'status', 'running', 'gpu', '', 'started_ms', nowMs)
  else
    redis.call('HSET', pKey, 'status', 'running', 'gpu', '')
  end
  local pct = tonumber(p[1] or '0') or 0
  local total = totalProgress(phases, pct, chained and chained.done)
  redis.call('HSET', KEYS[1], 'status', 'running', 'worker_id', workerId, 'heartbeat_ms', nowMs, 'updated_at', nowIso,
    'total_progress', total, 'phase_progress', pct, 'current_phase', phase)
  if status == 'initializing' then
    redis.call('HSET', KEYS[1], 'started_ms', nowMs)
  end
  emit(KEYS[2], channel, maxlen, progressEnvelope(sessionId, nowIso, phase, pct, total, 'running', 'phase ' .. phase .. ' started', nil))
  if agent then recordAgent(KEYS[2], KEYS[11], agent, nowIso, channel, maxlen, sessionId) end
  -- The last completed phase before this one (searched backwards): its outputs feed this phase.
  local prev, prevMetrics, prevArtifacts = '', '', ''
  if chained then
    prev, prevMetrics, prevArtifacts = chained.prev, chained.prevMetrics, chained.prevArtifacts
  else
    local at = #phases + 1
    for i, ph in ipairs(phases) do
      if ph == phase then at = i end
    end
    for i = at - 1, 1, -1 do
      local h = redis.call('HMGET', phaseKey(phases[i]), 'status', 'custom_metrics', 'artifacts')
      if h[1] == 'completed' then
        prev, prevMetrics, prevArtifacts = phases[i], h[2] or '', h[3] or ''
        break
      end
    end
  end
  local cfg = head.cfg
  local config, phasesOut = '', ''
  if lean ~= '1' then config, phasesOut = redis.call('HGET', KEYS[1], 'config') or '{}', head.phasesJson end
  -- One string, the fields separated by \31 (never found in JSON or in any of these values): the
  -- client decodes one reply element instead of twelve.
  return {'run', table.concat({p[3] or '', attempt, config, cfg[1], prev, prevMetrics, prevArtifacts, cfg[2], cfg[3], cfg[4], phasesOut}, '\31')}
end

-- A worker claims a phase (startPhase, or completePhase going straight on to the next phase of
-- the same job). Guards make redelivered or superseded jobs harmless. KEYS as the phase scripts:
-- session, events, 8 phase hashes, agents hash. Needs the emit, session and agent includes.
-- Returns {'gone'} | {'skip', reason} | {'parked'}
--       | {'run', resume_state, attempt, config JSON, enable_checkpoints, previous phase, its metrics JSON,
--          its artifacts JSON, enable_monitoring, swarm_topology, max_agents, phases JSON}
-- (everything the worker needs to run the phase, so it reads nothing else). With `lean` = '1' the
-- config and phases come back empty: the caller holds them from an earlier claim of the same run
-- generation, and within one generation they never change (only a restore, which starts a new
-- generation, rewrites them).
local function claimPhase(phase, gen, workerId, nowIso, nowMs, channel, maxlen, agent, lean)
  local s = redis.call('HMGET', KEYS[1], 'status', 'session_id', 'current_phase', 'run_gen', 'phases')
  local status = s[1]
  if not status then return {'gone'} end
  if TERMINAL[status] then return {'skip', status} end
  if s[4] ~= gen then return {'skip', 'superseded by run generation ' .. tostring(s[4])} end
  if s[3] ~= phase then return {'skip', 'session is at phase ' .. tostring(s[3])} end
  local pKey = phaseKey(phase)
  local ps = redis.call('HGET', pKey, 'status')
  if ps == 'completed' then return {'skip', 'phase already completed'} end
  if status == 'paused' then
    redis.call('HSET', KEYS[1], 'parked', '1')
    redis.call('HSET', pKey, 'status', 'paused')
    return {'parked'}
  end
  local attempt = redis.call('HINCRBY', pKey, 'attempts', 1)
  redis.call('HSET', KEYS[1], 'status', 'running', 'worker_id', workerId, 'heartbeat_ms', nowMs, 'updated_at', nowIso)
  -- A new run of the phase: the live GPU reading of an earlier one no longer applies.
  redis.call('HSET', pKey, 'status', 'running', 'gpu', '')
  if (redis.call('HGET', pKey, 'started_ms') or '') == '' then redis.call('HSET', pKey, 'started_ms', nowMs) end
  if status == 'initializing' then
    redis.call('HSET', KEYS[1], 'started_ms', nowMs)
  end
  local phases = cjson.decode(s[5])
  local pct = tonumber(redis.call('HGET', pKey, 'progress') or '0') or 0
  local total = totalProgress(phases, pct)
  redis.call('HSET', KEYS[1], 'total_progress', total, 'phase_progress', pct)
  emit(KEYS[2], channel, maxlen, progressEnvelope(s[2], nowIso, phase, pct, total, 'running', 'phase ' .. phase .. ' started', nil))
  if agent then recordAgent(KEYS[2], KEYS[11], agent, nowIso, channel, maxlen) end
  -- The last completed phase before this one (searched backwards): its outputs feed this phase.
  local prev, prevMetrics, prevArtifacts = '', '', ''
  local at = #phases + 1
  for i, p in ipairs(phases) do
    if p == phase then at = i end
  end
  for i = at - 1, 1, -1 do
    local h = redis.call('HMGET', phaseKey(phases[i]), 'status', 'custom_metrics', 'artifacts')
    if h[1] == 'completed' then
      prev, prevMetrics, prevArtifacts = phases[i], h[2] or '', h[3] or ''
      break
    end
  end
  local cfg = redis.call('HMGET', KEYS[1], 'enable_checkpoints', 'enable_monitoring', 'swarm_topology', 'max_agents')
  local config, phasesJson = '', ''
  if lean ~= '1' then config, phasesJson = redis.call('HGET', KEYS[1], 'config') or '{}', s[5] end
  return {'run', redis.call('HGET', pKey, 'resume_state') or '', attempt, config, cfg[1] or '0', prev, prevMetrics, prevArtifacts, cfg[2] or '1', cfg[3] or '', cfg[4] or '', phasesJson}
end

-- Helpers shared by the session scripts. KEYS[1] is the session hash, KEYS[2] its event stream,
-- KEYS[3..10] the phase hashes in canonical order.
local PHASES = {'cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'}
local function phaseKey(phase)
  for i, p in ipairs(PHASES) do
    if p == phase then return KEYS[2 + i] end
  end
  return nil
end
local TERMINAL = {completed = true, failed = true, cancelled = true}

-- How many of the session's phases are completed. Kept on the session hash (`completed_count`,
-- moved by completePhase and restore) so progress never reads every phase hash; counted from the
-- phase hashes, and stored, when `recount` is set or the field is missing (a session written
-- before the field existed).
local function completedPhases(phases, recount)
  if not recount then
    local n = tonumber(redis.call('HGET', KEYS[1], 'completed_count') or '')
    if n then return n end
  end
  local done = 0
  for _, p in ipairs(phases) do
    if redis.call('HGET', phaseKey(p), 'status') == 'completed' then done = done + 1 end
  end
  redis.call('HSET', KEYS[1], 'completed_count', done)
  return done
end

-- A phase has just been marked completed: the count after it. `before`: the stored count as the
-- script read it (false when the session has none yet).
local function countCompletion(phases, before)
  if before then return redis.call('HINCRBY', KEYS[1], 'completed_count', 1) end
  return completedPhases(phases, true)
end

-- Total progress: completed phases count 100 each, the running one its own percent. `done`: the
-- completed count when the caller has it already.
local function totalProgress(phases, currentPct, done)
  done = done or completedPhases(phases)
  local total = (done * 100 + (currentPct or 0)) / #phases
  if total > 100 then total = 100 end
  return math.floor(total * 100 + 0.5) / 100, done
end

local function nullable(v)
  if v == false or v == nil or v == '' then return cjson.null end
  return v
end

local function progressEnvelope(sessionId, nowIso, phase, phasePct, totalPct, status, message, metrics)
  return {
    event_type = 'pipeline_progress', timestamp = nowIso, session_id = sessionId,
    data = {phase = nullable(phase), progress_percent = phasePct, total_progress_percent = totalPct,
            status = status, message = message, metrics = metrics or {}}
  }
end

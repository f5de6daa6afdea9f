-- Record an agent's latest state, keep the session's active-agent count in step, and emit the
-- agent_update event. KEYS[1] must be the session hash (emit's epoch and tenant live there).
local function recordAgent(eventsKey, agentsKey, agentJson, nowIso, channel, maxlen)
  local agent = cjson.decode(agentJson)
  redis.call('HSET', agentsKey, agent.agent_id, agentJson)
  -- Counted on the raw JSON (every record is JSON.stringify output: no spaces, and a quote inside
  -- a string value is escaped, so the pattern only matches the state field): decoding each record
  -- cost more than the rest of the script.
  local active = 0
  for _, raw in ipairs(redis.call('HVALS', agentsKey)) do
    if string.find(raw, '"state":"executing"', 1, true) or string.find(raw, '"state":"active"', 1, true) then active = active + 1 end
  end
  redis.call('HSET', KEYS[1], 'active_agents', active)
  emit(eventsKey, channel, maxlen, {
    event_type = 'agent_update', timestamp = nowIso, session_id = redis.call('HGET', KEYS[1], 'session_id'),
    data = {agent_id = agent.agent_id, role = agent.role, phase = agent.phase, state = agent.state,
            task = agent.current_task, memory_usage_mb = agent.memory_usage_mb, cpu_usage_percent = agent.cpu_usage_percent}
  })
  return active
end

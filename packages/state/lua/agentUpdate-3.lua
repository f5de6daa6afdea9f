--[[
  Record an agent's latest state, keep the session's active-agent count in step, and emit the
  agent_update event — one round trip.
  KEYS[1] session hash  KEYS[2] event stream  KEYS[3] agents hash
  ARGV[1] agent JSON (AgentStatus)  ARGV[2] now ISO  ARGV[3] channel  ARGV[4] maxlen
  Returns the number of active agents.
]]
--@include emit
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local agent = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[3], agent.agent_id, ARGV[1])
local active = 0
for _, raw in ipairs(redis.call('HVALS', KEYS[3])) do
  local a = cjson.decode(raw)
  if a.state == 'active' or a.state == 'executing' then active = active + 1 end
end
redis.call('HSET', KEYS[1], 'active_agents', active)
emit(KEYS[2], ARGV[3], ARGV[4], {
  event_type = 'agent_update', timestamp = ARGV[2], session_id = redis.call('HGET', KEYS[1], 'session_id'),
  data = {agent_id = agent.agent_id, role = agent.role, phase = agent.phase, state = agent.state,
          task = agent.current_task, memory_usage_mb = agent.memory_usage_mb, cpu_usage_percent = agent.cpu_usage_percent}
})
return active

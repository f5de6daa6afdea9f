--[[
  Record an agent's latest state, keep the session's active-agent count in step, and emit the
  agent_update event — one round trip.
  KEYS[1] session hash  KEYS[2] event stream  KEYS[3] agents hash
  ARGV[1..4] the agent (see agentAt in includes/agent.lua)  ARGV[5] now ISO  ARGV[6] channel  ARGV[7] maxlen
  Returns the number of active agents.
]]
--@include emit
--@include agent
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return recordAgent(KEYS[2], KEYS[3], agentAt(1), ARGV[5], ARGV[6], ARGV[7])

--[[
  A worker claims a phase job. Guards make redelivered or superseded jobs harmless.
  KEYS: session, events, 8 phase hashes, agents hash
  ARGV[1] phase  ARGV[2] run_gen of the job  ARGV[3] worker id  ARGV[4] now ISO  ARGV[5] now ms
  ARGV[6] channel  ARGV[7] maxlen
  ARGV[8..11] the phase's agent (see agentAt in includes/agent.lua), recorded (executing) when the
  claim succeeds; ARGV[8] '' = none (a worker that already holds the session's config, e.g.
  running the next phase of its own job, knows the agent before claiming and saves a round trip)
  ARGV[12] '1': leave the config and phases out of the reply (the caller has them; see claimPhase)
  Returns what claimPhase returns (includes/claim.lua). Its events (the phase's start, its agent)
  are announced as one pub/sub message.
]]
--@include emit
--@include session
--@include agent
--@include claim
deferWrites()
return finishScript(claimPhase(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], agentAt(8), ARGV[12] or ''))

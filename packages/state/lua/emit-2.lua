--[[
  Append one event to a session's stream and ring the doorbell.
  KEYS[1] the session hash (holds the stream's epoch)  KEYS[2] the session's event stream
  ARGV[1] pub/sub channel  ARGV[2] envelope JSON without event_id (must start with "{")
  ARGV[3] approximate max stream length
  Returns the stream id (the event_id).
]]
--@include emit
return emitRaw(KEYS[2], ARGV[1], ARGV[3], ARGV[2])

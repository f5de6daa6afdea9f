--[[
  Keep the history record of a finished session and cap the histories at ARGV[3] records each,
  dropping the oldest. Atomic, so concurrent finishers never trim more than the excess, and a
  record is only kept while its session is still listed (a trimmed session leaves no orphan).
  All three keys share the {history} hash tag.
  KEYS[1] every tenant's history (sorted by start time)  KEYS[2] history records hash
  KEYS[3] the session's tenant's history
  ARGV[1] session id  ARGV[2] record JSON  ARGV[3] max records
  Returns the number of records dropped.
]]
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
local max = tonumber(ARGV[3])
local dropped = 0
local excess = redis.call('ZCARD', KEYS[1]) - max
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREM', KEYS[1], unpack(oldest))
  redis.call('HDEL', KEYS[2], unpack(oldest))
  dropped = #oldest
end
-- A tenant's own list is capped too (its records go with the global trim above).
excess = redis.call('ZCARD', KEYS[3]) - max
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1) end
return dropped

--[[
  Keep the history record of a finished session and cap the history at ARGV[3] records, dropping
  the oldest. Atomic, so concurrent finishers never trim more than the excess, and a record is
  only kept while its session is still listed (a trimmed session leaves no orphan record).
  KEYS[1] history sorted set (by start time)  KEYS[2] history records hash
  ARGV[1] session id  ARGV[2] record JSON  ARGV[3] max records
  Returns the number of records dropped.
]]
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess <= 0 then return 0 end
local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
redis.call('ZREM', KEYS[1], unpack(oldest))
redis.call('HDEL', KEYS[2], unpack(oldest))
return #oldest

-- Publish one result, once per task id (workers/publish.py, ResultPublisher.publish).
--
-- A message Redis delivers again after a crash (published but not acknowledged) must not
-- give the CMS a second entry, so the result goes out only if this task id has no
-- published marker yet; its attempt counter has done its job then. The in-flight record
-- the client wrote is cleared either way.
--
-- KEYS[1]  results stream             streams.results
-- KEYS[2]  result key for the item    streams.result_key_prefix .. item id
-- KEYS[3]  published marker           {state}published:{task id}
-- KEYS[4]  dead-letter stream         streams.dead
-- KEYS[5]  attempt counter            {state}attempts:{task id}
-- KEYS[6]  in-flight payloads (hash)  {state}inflight
-- KEYS[7]  in-flight sent-at (zset)   {state}inflight:sent-at
-- ARGV[1]  the result, as JSON
-- ARGV[2]  result key TTL, seconds    streams.result_ttl_s
-- ARGV[3]  streams' approximate MAXLEN
-- ARGV[4]  published marker TTL, seconds
-- ARGV[5]  item id
-- ARGV[6]  task id
-- ARGV[7]  payload for the dead-letter stream, JSON; '' when the result is not dead
-- Returns the results-stream entry id, or false when the task id was already published.

local results_stream, result_key, published_key = KEYS[1], KEYS[2], KEYS[3]
local dead_stream, attempts_key = KEYS[4], KEYS[5]
local in_flight_payloads, in_flight_sent_at = KEYS[6], KEYS[7]
local result, result_ttl_s, maxlen, marker_ttl_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local item_id, task_id, dead_payload = ARGV[5], ARGV[6], ARGV[7]

redis.call('HDEL', in_flight_payloads, task_id)
redis.call('ZREM', in_flight_sent_at, task_id)
if not redis.call('SET', published_key, '1', 'NX', 'EX', marker_ttl_s) then
  return false
end
local entry = redis.call('XADD', results_stream, 'MAXLEN', '~', maxlen, '*',
                         'id', item_id, 'task_id', task_id, 'result', result)
redis.call('SET', result_key, result, 'EX', result_ttl_s)
redis.call('DEL', attempts_key)
if dead_payload ~= '' then
  redis.call('XADD', dead_stream, 'MAXLEN', '~', maxlen, '*', 'id', item_id,
             'task_id', task_id, 'result', result, 'payload', dead_payload)
end
return entry

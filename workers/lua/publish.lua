-- Publish one result, once per task id (workers/publish.py, ResultPublisher.publish).
--
-- A message Redis delivers again after a crash (published but not acknowledged) must not
-- give the CMS a second entry, so the result goes out only if this task id has no
-- published marker yet; its attempt counter has done its job then. The in-flight record
-- the client wrote is cleared either way.
--
-- The results stream is trimmed to exactly MAXLEN here, not by XADD's MAXLEN ~: Redis 7.0
-- cannot trim only what every consumer group acknowledged (8.2's ACKED can), so before
-- trimming, each entry about to go that a group has not read (after its last-delivered
-- id) or read but not acknowledged (in its PEL) is recorded in that group's missed stream
-- (KEYS[8] .. group name, as qualitygate.protocol.Keys.missed names it), so nothing is
-- lost in silence: the CMS fetches those results by id while their result keys live.
--
-- Results can finish out of order (v1 and v2 of an item graded by two workers): the result
-- key only takes the result of the item's latest submission (KEYS[9]), or any result when
-- there is none (items sent before it existed). A superseded result still goes on the
-- stream, so a CMS reading it sees every grade, with a field superseded = 1.
--
-- KEYS[1]  results stream             streams.results
-- KEYS[2]  result key for the item    streams.result_key_prefix .. item id
-- KEYS[3]  published marker           {state}published:{task id}
-- KEYS[4]  dead-letter stream         streams.dead
-- KEYS[5]  attempt counter            {state}attempts:{task id}
-- KEYS[6]  in-flight payloads (hash)  {state}inflight
-- KEYS[7]  in-flight sent-at (zset)   {state}inflight:sent-at
-- KEYS[8]  missed-stream prefix       {state}missed:  (the group name follows)
-- KEYS[9]  the item's latest task id  {state}latest-task:{item id}
-- ARGV[1]  the result, as JSON
-- ARGV[2]  result key TTL, seconds    streams.result_ttl_s
-- ARGV[3]  streams' MAXLEN
-- ARGV[4]  published marker TTL, seconds
-- ARGV[5]  item id
-- ARGV[6]  task id
-- ARGV[7]  payload for the dead-letter stream, JSON; '' when the result is not dead
-- ARGV[8]  missed streams' approximate MAXLEN    streams.missed_maxlen
-- Returns false when the task id was already published, else
-- {results-stream entry id, group, missed count, group, missed count, ...} with one pair
-- per group that had entries trimmed before it read or acknowledged them.

local results_stream, result_key, published_key = KEYS[1], KEYS[2], KEYS[3]
local dead_stream, attempts_key = KEYS[4], KEYS[5]
local in_flight_payloads, in_flight_sent_at, missed_prefix = KEYS[6], KEYS[7], KEYS[8]
local latest_task_key = KEYS[9]
local result, result_ttl_s, maxlen, marker_ttl_s = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local item_id, task_id, dead_payload, missed_maxlen = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

-- Stream ids "ms-seq" compared as numbers (ms since 1970 fits a double exactly).
local function id_after(a, b)
  local a_ms, a_seq = string.match(a, '^(%d+)-(%d+)$')
  local b_ms, b_seq = string.match(b, '^(%d+)-(%d+)$')
  a_ms, b_ms = tonumber(a_ms), tonumber(b_ms)
  if a_ms ~= b_ms then return a_ms > b_ms end
  return tonumber(a_seq) > tonumber(b_seq)
end

local function as_table(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- Record, per group, the doomed entries it still needed; returns {group, count, ...}.
local function record_missed(doomed)
  local last_doomed = doomed[#doomed][1]
  local report = {}
  for _, flat in ipairs(redis.call('XINFO', 'GROUPS', results_stream)) do
    local group = as_table(flat)
    local pending = {}
    if tonumber(group['pending']) > 0 then
      for _, p in ipairs(redis.call('XPENDING', results_stream, group['name'], doomed[1][1],
                                    last_doomed, #doomed)) do
        pending[p[1]] = true
      end
    end
    local missed_key, count = missed_prefix .. group['name'], 0
    for _, entry in ipairs(doomed) do
      if pending[entry[1]] or id_after(entry[1], group['last-delivered-id']) then
        local fields = as_table(entry[2])
        redis.call('XADD', missed_key, 'MAXLEN', '~', missed_maxlen, '*', 'entry', entry[1],
                   'id', fields['id'] or '', 'task_id', fields['task_id'] or '')
        count = count + 1
      end
    end
    if count > 0 then
      redis.call('EXPIRE', missed_key, result_ttl_s)
      table.insert(report, group['name'])
      table.insert(report, count)
    end
  end
  return report
end

redis.call('HDEL', in_flight_payloads, task_id)
redis.call('ZREM', in_flight_sent_at, task_id)
if not redis.call('SET', published_key, '1', 'NX', 'EX', marker_ttl_s) then
  return false
end
local latest_task = redis.call('GET', latest_task_key)
local superseded = latest_task and latest_task ~= task_id
local entry
if superseded then
  entry = redis.call('XADD', results_stream, '*', 'id', item_id, 'task_id', task_id,
                     'result', result, 'superseded', '1')
else
  entry = redis.call('XADD', results_stream, '*',
                     'id', item_id, 'task_id', task_id, 'result', result)
end
local reply = {entry}
local excess = redis.call('XLEN', results_stream) - maxlen
if excess > 0 then
  local doomed = redis.call('XRANGE', results_stream, '-', '+', 'COUNT', excess)
  for _, value in ipairs(record_missed(doomed)) do table.insert(reply, value) end
  redis.call('XTRIM', results_stream, 'MAXLEN', maxlen)
end
if not superseded then redis.call('SET', result_key, result, 'EX', result_ttl_s) end
redis.call('DEL', attempts_key)
if dead_payload ~= '' then
  redis.call('XADD', dead_stream, 'MAXLEN', '~', maxlen, '*', 'id', item_id,
             'task_id', task_id, 'result', result, 'payload', dead_payload)
end
return reply

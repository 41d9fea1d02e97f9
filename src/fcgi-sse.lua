#!lua name=fcgi_sse
-- fcgi-sse.lua -- the Redis functions of fcgi-sse's channels: ids assigned in Redis, history in streams
--
-- Loaded by every responder at start (FUNCTION LOAD REPLACE; the same text is compiled into
-- the binary and installed as share/fcgi-sse/fcgi-sse.lua). Keys:
--   fcgi-sse:last        the last id issued, MS-SEQ, over all channels and all publishers
--   fcgi-sse:chan:NAME   channel NAME: a stream of entries {type TYPE ('' for none), data DATA}
-- Publish (any client; this is what the responders call):
--   FCALL fcgi_sse_publish 2 fcgi-sse:last fcgi-sse:chan:NAME HISTORY TYPE DATA  -> MS-SEQ (the id)
-- Ids: Redis's own TIME in ms, a dash, a sequence; strictly after fcgi-sse:last, so strictly
-- increasing across all channels whatever the publishers' clocks (if TIME is not after the
-- last id's ms, the sequence goes on). The channel keeps its newest HISTORY entries; those
-- removed are deleted with XDEL so that XINFO STREAM's max-deleted-entry-id tells a resuming
-- subscriber that it missed some (XADD's own MAXLEN trimming does not record it).
-- Strings only in single quotes, no backslashes: the build turns each line into a C string.

local function name_ok(s, max)
  return #s >= 1 and #s <= max and string.find(s, '^[A-Za-z0-9_.:-]+$') ~= nil
end

local function publish(keys, args)
  local prefix = 'fcgi-sse:chan:'
  if #keys ~= 2 or keys[1] ~= 'fcgi-sse:last' or string.sub(keys[2], 1, #prefix) ~= prefix then
    return redis.error_reply('ERR fcgi_sse_publish: keys are fcgi-sse:last fcgi-sse:chan:NAME')
  end
  if not name_ok(string.sub(keys[2], #prefix + 1), 128) then
    return redis.error_reply('ERR fcgi_sse_publish: a channel name is 1 to 128 of [A-Za-z0-9_.:-]')
  end
  local history = tonumber(args[1])
  if #args ~= 3 or not history or history < 1 or history ~= math.floor(history) then
    return redis.error_reply('ERR fcgi_sse_publish: arguments are HISTORY TYPE DATA')
  end
  if args[2] ~= '' and not name_ok(args[2], 64) then
    return redis.error_reply('ERR fcgi_sse_publish: an event type is 1 to 64 of [A-Za-z0-9_.:-]')
  end
  if string.find(args[3], '%z') then
    return redis.error_reply('ERR fcgi_sse_publish: the data must be text without NUL bytes')
  end
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local seq = 0
  local last = redis.call('GET', keys[1])
  if last then
    local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
    lms = tonumber(lms)
    if ms <= lms then
      ms = lms
      seq = tonumber(lseq) + 1
    end
  end
  -- never at or before the channel's newest entry (XADD would refuse it): the same rule
  -- again, should fcgi-sse:last have been lost (deleted, or an older copy restored)
  local top = redis.call('XREVRANGE', keys[2], '+', '-', 'COUNT', 1)
  if top[1] then
    local tms, tseq = string.match(top[1][1], '^(%d+)-(%d+)$')
    tms = tonumber(tms)
    tseq = tonumber(tseq)
    if ms < tms or (ms == tms and seq <= tseq) then
      ms = tms
      seq = tseq + 1
    end
  end
  local id = string.format('%.0f-%.0f', ms, seq)
  redis.call('XADD', keys[2], id, 'type', args[2], 'data', args[3])
  redis.call('SET', keys[1], id)
  local over = redis.call('XLEN', keys[2]) - history
  if over > 0 then
    local old = redis.call('XRANGE', keys[2], '-', '+', 'COUNT', over)
    local ids = {}
    for i = 1, #old do
      ids[i] = old[i][1]
    end
    redis.call('XDEL', keys[2], unpack(ids))
  end
  return id
end

-- For each channel key: {max-deleted-entry-id or '', first entry id or '', entries after
-- AFTER (exclusive), at most COUNT}; the first two only when INFO is '1' (a resume checks
-- for a gap once). FCALL_RO fcgi_sse_fetch N KEY... AFTER COUNT INFO
local function fetch(keys, args)
  local out = {}
  for i = 1, #keys do
    local del, first = '', ''
    if args[3] == '1' and redis.call('EXISTS', keys[i]) == 1 then
      local x = redis.call('XINFO', 'STREAM', keys[i])
      for j = 1, #x, 2 do
        if x[j] == 'max-deleted-entry-id' then del = x[j + 1] end
        if x[j] == 'first-entry' and x[j + 1] then first = x[j + 1][1] end
      end
    end
    out[i] = {del, first, redis.call('XRANGE', keys[i], '(' .. args[1], '+', 'COUNT', args[2])}
  end
  return out
end

redis.register_function('fcgi_sse_publish', publish)
redis.register_function{function_name = 'fcgi_sse_fetch', callback = fetch, flags = {'no-writes'}}

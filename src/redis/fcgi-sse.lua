#!lua name=fcgi_sse
-- fcgi-sse.lua -- the Redis functions of fcgi-sse's channels: ids assigned in Redis, history in streams
--
-- Loaded by every responder at start (FUNCTION LOAD REPLACE; the same text is compiled into
-- the binary and installed as share/fcgi-sse/fcgi-sse.lua). Every responder sharing a Redis
-- must run the same version. Keys:
--   fcgi-sse:last        the last id issued, MS-SEQ, over all channels and all publishers
--   fcgi-sse:chan:NAME   channel NAME: a stream of entries {type TYPE ('' for none), data DATA}
--   fcgi-sse:log         every message of every channel, in id order, for the responders'
--                        one blocking read: {c NAME, type TYPE, data DATA, n N}, N counting
--                        the entries (a responder that sees N jump knows it missed some);
--                        the newest 10000 or so are kept (MAXLEN ~)
-- Publish (any client; this is what the responders call):
--   FCALL fcgi_sse_publish 2 fcgi-sse:last fcgi-sse:chan:NAME HISTORY TYPE DATA  -> MS-SEQ (the id)
-- Ids: Redis's own TIME in ms, a dash, a sequence; strictly after fcgi-sse:last, so strictly
-- increasing across all channels whatever the publishers' clocks (if TIME is not after the
-- last id's ms, the sequence goes on). The channel keeps its newest HISTORY entries; those
-- removed are deleted with XDEL so that XINFO STREAM's max-deleted-entry-id tells a resuming
-- subscriber that it missed some (XADD's own MAXLEN trimming does not record it).
-- fcgi-sse:log is written without being named in KEYS: like the single fcgi-sse:last, it
-- keeps fcgi-sse to one Redis server (no Redis Cluster).
-- Ids whose parts do not fit in 63 bits (no publish makes them: TIME is milliseconds) are
-- foreign: a fetch skips them, and a publish refuses to follow one.
-- Strings only in single quotes, no backslashes: the build turns each line into a C string.

local LOG = 'fcgi-sse:log'
local LOG_KEEP = 10000
-- a part of an id at most: 2^63 - 1, as text (19 digits)
local PART_MAX = '9223372036854775807'

local function name_ok(s, max)
  return #s >= 1 and #s <= max and string.find(s, '^[A-Za-z0-9_.:-]+$') ~= nil
end

-- a channel: a name, or an internal channel's ('@' and a name, which no request can name:
-- the Mercure hub's updates)
local function channel_ok(s)
  if string.sub(s, 1, 1) == '@' then return name_ok(string.sub(s, 2), 127) end
  return name_ok(s, 128)
end

-- 1 when the decimal text a (no leading zero, as Redis writes ids) is at most b
local function part_le(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end

-- the two parts of an id as text, or nil when it is not one that fits in 63 bits each
local function split(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if not ms or not part_le(ms, PART_MAX) or not part_le(seq, PART_MAX) then return nil end
  return ms, seq
end

-- a < b for two ids that split
local function id_lt(a, b)
  local ams, aseq = split(a)
  local bms, bseq = split(b)
  if ams ~= bms then return not part_le(bms, ams) end
  return aseq ~= bseq and part_le(aseq, bseq)
end

-- the newer of (ms, seq) and the id `top` (text): the id to go after, or nil when top is
-- foreign or past what a Lua number holds exactly
local function after_top(ms, seq, top)
  local tms, tseq = split(top)
  if not tms then return nil end
  tms = tonumber(tms)
  tseq = tonumber(tseq)
  if tms >= 2^53 or tseq >= 2^53 then return nil end
  if ms < tms or (ms == tms and seq <= tseq) then
    return tms, tseq + 1
  end
  return ms, seq
end

local function publish(keys, args)
  local prefix = 'fcgi-sse:chan:'
  if #keys ~= 2 or keys[1] ~= 'fcgi-sse:last' or string.sub(keys[2], 1, #prefix) ~= prefix then
    return redis.error_reply('ERR fcgi_sse_publish: keys are fcgi-sse:last fcgi-sse:chan:NAME')
  end
  local name = string.sub(keys[2], #prefix + 1)
  if not channel_ok(name) then
    return redis.error_reply('ERR fcgi_sse_publish: a channel name is 1 to 128 of [A-Za-z0-9_.:-], or @ and 1 to 127 of them')
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
  -- strictly after the last id issued, the channel's newest entry (should fcgi-sse:last
  -- have been lost: deleted, or an older copy restored) and the log's newest
  local tops = {}
  tops[1] = redis.call('GET', keys[1])
  local top = redis.call('XREVRANGE', keys[2], '+', '-', 'COUNT', 1)
  if top[1] then tops[#tops + 1] = top[1][1] end
  local logtop = redis.call('XREVRANGE', LOG, '+', '-', 'COUNT', 1)
  local n = 1
  if logtop[1] then
    tops[#tops + 1] = logtop[1][1]
    local f = logtop[1][2]
    for j = 1, #f, 2 do
      if f[j] == 'n' and string.match(f[j + 1], '^%d+$') then n = tonumber(f[j + 1]) + 1 end
    end
  end
  for j = 1, #tops do
    if tops[j] then
      ms, seq = after_top(ms, seq, tops[j])
      if not ms then
        return redis.error_reply('ERR fcgi_sse_publish: the newest id of ' .. keys[2] ..
          ', fcgi-sse:last or ' .. LOG .. ' is not one fcgi-sse makes: delete that entry')
      end
    end
  end
  local id = string.format('%.0f-%.0f', ms, seq)
  redis.call('XADD', keys[2], id, 'type', args[2], 'data', args[3])
  redis.call('XADD', LOG, 'MAXLEN', '~', LOG_KEEP, id, 'c', name, 'type', args[2],
             'data', args[3], 'n', string.format('%.0f', n))
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

-- What a subscriber missed, from the channels' streams, merged in id order:
--   FCALL_RO fcgi_sse_fetch N fcgi-sse:last KEY... AFTER COUNT BYTES INFO
-- returns {CURSOR, MORE, RESET, ENTRY...}, each ENTRY {I, ID, FIELDS} (I: which KEY, from 0;
-- FIELDS as XRANGE gives them): the entries after AFTER, at most COUNT of them and, past
-- the first, at most BYTES of ids and fields. MORE is 1 when that cut them short: CURSOR is
-- then the last id returned, and the next fetch goes on after it. MORE 0: they are all the
-- entries after AFTER that exist, and CURSOR is fcgi-sse:last (or AFTER if later): the
-- subscriber has everything up to it. RESET (when INFO is 1: a resume checks once) is ''
-- unless a channel deleted an entry after AFTER: then the oldest id still kept (or CURSOR).
-- Each stream is read in slices of 64, as the merge needs them, so the work is about what
-- is returned.
local SLICE = 64

local function fetch(keys, args)
  local n = #keys - 1
  local after, count, bytes, info = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  if n < 1 or keys[1] ~= 'fcgi-sse:last' or not split(after) or not count or count < 1 or
     not bytes or bytes < 1 then
    return redis.error_reply('ERR fcgi_sse_fetch: keys are fcgi-sse:last KEY..., arguments ' ..
      'AFTER COUNT BYTES INFO')
  end
  local reset, oldest = false, nil
  if info == '1' then
    for i = 1, n do
      if redis.call('EXISTS', keys[i + 1]) == 1 then
        local x = redis.call('XINFO', 'STREAM', keys[i + 1])
        for j = 1, #x, 2 do
          if x[j] == 'max-deleted-entry-id' and split(x[j + 1]) and id_lt(after, x[j + 1]) then
            reset = true
          end
          if x[j] == 'first-entry' and x[j + 1] and split(x[j + 1][1]) and
             (not oldest or id_lt(x[j + 1][1], oldest)) then
            oldest = x[j + 1][1]
          end
        end
      end
    end
  end
  local buf, pos, from, done = {}, {}, {}, {}
  for i = 1, n do
    buf[i], pos[i], from[i], done[i] = {}, 1, after, false
  end
  -- the next entry of stream i that fcgi-sse can read (foreign ids skipped), or nil
  local function head(i)
    while true do
      if pos[i] > #buf[i] then
        if done[i] then return nil end
        buf[i] = redis.call('XRANGE', keys[i + 1], '(' .. from[i], '+', 'COUNT', SLICE)
        pos[i] = 1
        done[i] = #buf[i] < SLICE
        if #buf[i] == 0 then return nil end
        from[i] = buf[i][#buf[i]][1]
      end
      local e = buf[i][pos[i]]
      if split(e[1]) then return e end
      pos[i] = pos[i] + 1
    end
  end
  local out = {'', 0, ''}
  local used, taken, more = 0, 0, 0
  while true do
    local best, be = nil, nil
    for i = 1, n do
      local e = head(i)
      if e and (not be or id_lt(e[1], be[1])) then best, be = i, e end
    end
    if not best then break end
    local size = #be[1]
    for j = 1, #be[2] do size = size + #be[2][j] end
    if taken > 0 and (taken >= count or used + size > bytes) then
      more = 1
      break
    end
    out[#out + 1] = {best - 1, be[1], be[2]}
    used, taken = used + size, taken + 1
    pos[best] = pos[best] + 1
    out[1] = be[1]
  end
  if more == 0 then
    local last = redis.call('GET', keys[1])
    if last and split(last) and id_lt(after, last) and (out[1] == '' or id_lt(out[1], last)) then
      out[1] = last
    elseif out[1] == '' then
      out[1] = after
    end
  end
  out[2] = more
  if reset then out[3] = oldest or out[1] end
  return out
end

-- Where the responders' read starts: {LAST, NEWEST-LOG-ID, N}: fcgi-sse:last ('' when
-- none), the newest entry of fcgi-sse:log and its N ('' and 0 when the log is empty).
--   FCALL_RO fcgi_sse_head 1 fcgi-sse:last
local function head(keys, args)
  local last = redis.call('GET', keys[1]) or ''
  local top = redis.call('XREVRANGE', LOG, '+', '-', 'COUNT', 1)
  local id, n = '', 0
  if top[1] then
    id = top[1][1]
    local f = top[1][2]
    for j = 1, #f, 2 do
      if f[j] == 'n' and string.match(f[j + 1], '^%d+$') then n = tonumber(f[j + 1]) end
    end
  end
  return {last, id, n}
end

redis.register_function('fcgi_sse_publish', publish)
redis.register_function{function_name = 'fcgi_sse_fetch', callback = fetch, flags = {'no-writes'}}
redis.register_function{function_name = 'fcgi_sse_head', callback = head, flags = {'no-writes'}}

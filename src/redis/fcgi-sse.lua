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
--                        the newest 10000 or so are kept (MAXLEN ~), none older than the TTL
--                        a publish gives; a channel's delete or purge is an entry
--                        {c NAME, ctl delete|purge, n N} there, which every responder acts on
--   fcgi-sse:age         one entry for each message the channels' streams hold, with the same
--                        id, oldest first: {c NAME, b BYTES}: what the TTL and the bytes bound
--                        drop first, whatever its channel
--   fcgi-sse:bytes       the BYTES of those messages, added up (a message's BYTES: the length
--                        of its id, its type and its data)
--   fcgi-sse:chanbytes   a hash: each channel's share of fcgi-sse:bytes
--   fcgi-sse:gone        the newest id of a channel's stream that went (deleted, purged, or
--                        emptied by the bounds): a resume from before it may have missed some
-- Publish (any client; this is what the responders call):
--   FCALL fcgi_sse_publish 2 fcgi-sse:last fcgi-sse:chan:NAME HISTORY TYPE DATA [TTL BYTES]
--     -> MS-SEQ (the id)
-- Ids: Redis's own TIME in ms, a dash, a sequence; strictly after fcgi-sse:last, so strictly
-- increasing across all channels whatever the publishers' clocks (if TIME is not after the
-- last id's ms, the sequence goes on). The channel keeps its newest HISTORY entries; those
-- removed are deleted with XDEL so that XINFO STREAM's max-deleted-entry-id tells a resuming
-- subscriber that it missed some (XADD's own MAXLEN trimming does not record it).
-- With TTL (ms) and BYTES (both 0: none), the publish then drops, oldest first over all
-- channels, the messages older than TTL and those past BYTES in all (never the one it adds),
-- each with XDEL too. fcgi-sse:log, fcgi-sse:age and the others are written without being
-- named in KEYS: like the single fcgi-sse:last, which orders ids across every channel, they
-- keep fcgi-sse to one Redis server (no Redis Cluster).
-- Ids whose parts do not fit in 63 bits (no publish makes them: TIME is milliseconds) are
-- foreign: a fetch skips them, and a publish refuses to follow one.
-- Strings only in single quotes, no backslashes: the build turns each line into a C string.

local LOG = 'fcgi-sse:log'
local LOG_KEEP = 10000
local PREFIX = 'fcgi-sse:chan:'
local AGE = 'fcgi-sse:age'
local BYTES = 'fcgi-sse:bytes'
local CHANBYTES = 'fcgi-sse:chanbytes'
local GONE = 'fcgi-sse:gone'
-- messages the TTL drops in one call at most (the rest: the next publish, or fcgi_sse_trim)
local EXPIRE_MAX = 1024
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

-- The next id, after every one issued: Redis's TIME in ms and a sequence, strictly after
-- fcgi-sse:last, the channel's newest entry (should fcgi-sse:last have been lost: deleted, or
-- an older copy restored) and the log's newest. Returns the id, the log's next count and the
-- time in ms; or nil and an error reply when one of those is not an id fcgi-sse makes.
local function issue(lastkey, chankey, who)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local ms, seq = now, 0
  local tops = {}
  tops[1] = redis.call('GET', lastkey)
  local top = redis.call('XREVRANGE', chankey, '+', '-', 'COUNT', 1)
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
        return nil, redis.error_reply('ERR ' .. who .. ': the newest id of ' .. chankey ..
          ', fcgi-sse:last or ' .. LOG .. ' is not one fcgi-sse makes: delete that entry')
      end
    end
  end
  return string.format('%.0f-%.0f', ms, seq), n, now
end

-- the value of field `name` in an entry's field list, or nil
local function field(f, name)
  for j = 1, #f, 2 do
    if f[j] == name then return f[j + 1] end
  end
  return nil
end

-- fcgi-sse:gone is raised to id (an id that splits) when it is newer
local function raise_gone(id)
  local g = redis.call('GET', GONE)
  if split(id) and (not g or not split(g) or id_lt(g, id)) then redis.call('SET', GONE, id) end
end

-- A channel's counted messages go from the accounts: its share of fcgi-sse:bytes, all at once
-- (its records in fcgi-sse:age stay, and count nothing when they come up)
local function forget_bytes(name)
  local share = tonumber(redis.call('HGET', CHANBYTES, name) or '0') or 0
  if share ~= 0 then redis.call('DECRBY', BYTES, share) end
  redis.call('HDEL', CHANBYTES, name)
end

-- The stream of channel `name` goes (deleted, purged, emptied): its newest id ever is kept in
-- fcgi-sse:gone, so that a resume from before it is told it may have missed some.
local function drop_stream(name)
  local key = PREFIX .. name
  if redis.call('EXISTS', key) == 1 then
    local x = redis.call('XINFO', 'STREAM', key)
    local last = nil
    for j = 1, #x, 2 do
      if x[j] == 'last-generated-id' then last = x[j + 1] end
    end
    if last then raise_gone(last) end
    redis.call('DEL', key)
  end
  forget_bytes(name)
end

-- A counted message of `name` left its channel (id, BYTES size): out of the accounts
local function uncount(name, size)
  redis.call('DECRBY', BYTES, size)
  if redis.call('HINCRBY', CHANBYTES, name, -size) <= 0 then redis.call('HDEL', CHANBYTES, name) end
end

-- Drops the message of the record r of fcgi-sse:age ({id, {c, NAME, b, BYTES}}) from its
-- channel (XDEL, which the channel's max-deleted-entry-id records), with the record. A record
-- whose message is gone already (its channel deleted or purged) counts nothing. A stream left
-- empty goes (drop_stream).
local function evict(r)
  local id, f = r[1], r[2]
  local name, size = field(f, 'c'), tonumber(field(f, 'b') or '0') or 0
  redis.call('XDEL', AGE, id)
  if not name or not channel_ok(name) then return end
  local key = PREFIX .. name
  if redis.call('XDEL', key, id) == 1 then
    uncount(name, size)
    if redis.call('XLEN', key) == 0 then drop_stream(name) end
  end
end

-- Drops what is older than ttl ms at now (ms), oldest first, at most EXPIRE_MAX; and
-- fcgi-sse:log's entries older than that (approximately: whole nodes). keep: an id never
-- dropped (the message being published), or nil. Returns how many were dropped.
local function expire(now, ttl, keep)
  local dropped = 0
  if ttl <= 0 then return 0 end
  local cutoff = now - ttl
  while dropped < EXPIRE_MAX do
    local r = redis.call('XRANGE', AGE, '-', '+', 'COUNT', 1)[1]
    if not r or r[1] == keep then break end
    local ms = split(r[1])
    if ms and tonumber(ms) >= cutoff then break end
    evict(r)
    dropped = dropped + 1
  end
  if keep then redis.call('XTRIM', LOG, 'MINID', '~', string.format('%.0f-0', cutoff)) end
  return dropped
end

-- Drops the oldest messages, whatever their channel, while fcgi-sse:bytes is over max (0:
-- none); never keep. Returns how many records it took.
local function bound(max, keep)
  local dropped = 0
  if max <= 0 then return 0 end
  while (tonumber(redis.call('GET', BYTES) or '0') or 0) > max do
    local r = redis.call('XRANGE', AGE, '-', '+', 'COUNT', 1)[1]
    if not r or r[1] == keep then break end
    evict(r)
    dropped = dropped + 1
  end
  return dropped
end

-- a non-negative whole number of the arguments, or nil
local function whole(s)
  local v = tonumber(s)
  if not v or v < 0 or v ~= math.floor(v) then return nil end
  return v
end

local function publish(keys, args)
  if #keys ~= 2 or keys[1] ~= 'fcgi-sse:last' or string.sub(keys[2], 1, #PREFIX) ~= PREFIX then
    return redis.error_reply('ERR fcgi_sse_publish: keys are fcgi-sse:last fcgi-sse:chan:NAME')
  end
  local name = string.sub(keys[2], #PREFIX + 1)
  if not channel_ok(name) then
    return redis.error_reply('ERR fcgi_sse_publish: a channel name is 1 to 128 of [A-Za-z0-9_.:-], or @ and 1 to 127 of them')
  end
  local history = whole(args[1])
  local ttl, max = whole(args[4] or '0'), whole(args[5] or '0')
  if (#args ~= 3 and #args ~= 5) or not history or history < 1 or not ttl or not max then
    return redis.error_reply('ERR fcgi_sse_publish: arguments are HISTORY TYPE DATA [TTL BYTES]')
  end
  if args[2] ~= '' and not name_ok(args[2], 64) then
    return redis.error_reply('ERR fcgi_sse_publish: an event type is 1 to 64 of [A-Za-z0-9_.:-]')
  end
  if string.find(args[3], '%z') then
    return redis.error_reply('ERR fcgi_sse_publish: the data must be text without NUL bytes')
  end
  local id, n, now = issue(keys[1], keys[2], 'fcgi_sse_publish')
  if not id then return n end
  redis.call('XADD', keys[2], id, 'type', args[2], 'data', args[3])
  local size = #id + #args[2] + #args[3]
  redis.call('XADD', AGE, id, 'c', name, 'b', size)
  redis.call('INCRBY', BYTES, size)
  redis.call('HINCRBY', CHANBYTES, name, size)
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
    for i = 1, #old do
      -- counted when it has its record (one published before fcgi-sse:age existed has none)
      if redis.call('XDEL', AGE, old[i][1]) == 1 then
        uncount(name, #old[i][1] + #(field(old[i][2], 'type') or '') +
                      #(field(old[i][2], 'data') or ''))
      end
    end
  end
  expire(now, ttl, id)
  bound(max, id)
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
-- unless a channel deleted an entry after AFTER, or a channel's stream that went (fcgi-sse:gone)
-- had one: then the oldest id still kept (or CURSOR).
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
    local gone = redis.call('GET', GONE)
    if gone and split(gone) and id_lt(after, gone) then reset = true end
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

-- A channel's figures: {FOUND, LENGTH, BYTES, FIRST, LAST, DROPPED}: FOUND 0 when its stream
-- does not exist (then the rest 0 and ''); LENGTH its entries, BYTES their share of
-- fcgi-sse:bytes, the ids of its oldest and newest entry and the newest it deleted ('' for none).
--   FCALL_RO fcgi_sse_channel 2 fcgi-sse:last fcgi-sse:chan:NAME
local function describe(key, name)
  if redis.call('EXISTS', key) == 0 then return {0, 0, 0, '', '', ''} end
  local x = redis.call('XINFO', 'STREAM', key)
  local len, first, last, dropped = 0, '', '', ''
  for j = 1, #x, 2 do
    if x[j] == 'length' then len = x[j + 1]
    elseif x[j] == 'first-entry' and x[j + 1] then first = x[j + 1][1]
    elseif x[j] == 'last-entry' and x[j + 1] then last = x[j + 1][1]
    elseif x[j] == 'max-deleted-entry-id' and x[j + 1] ~= '0-0' then dropped = x[j + 1] end
  end
  return {1, len, tonumber(redis.call('HGET', CHANBYTES, name) or '0') or 0, first, last, dropped}
end

-- the channel a control names (KEYS: fcgi-sse:last fcgi-sse:chan:NAME), or nil and the error
local function controlled(keys, who)
  if #keys ~= 2 or keys[1] ~= 'fcgi-sse:last' or string.sub(keys[2], 1, #PREFIX) ~= PREFIX then
    return nil, redis.error_reply('ERR ' .. who .. ': keys are fcgi-sse:last fcgi-sse:chan:NAME')
  end
  local name = string.sub(keys[2], #PREFIX + 1)
  if not channel_ok(name) then
    return nil, redis.error_reply('ERR ' .. who .. ': a channel name is 1 to 128 of [A-Za-z0-9_.:-]')
  end
  if string.sub(name, 1, 1) == '@' then
    return nil, redis.error_reply('ERR ' .. who .. ': an internal channel (@NAME) belongs to its owner')
  end
  return name
end

local function channel(keys, args)
  local name, err = controlled(keys, 'fcgi_sse_channel')
  if not name then return err end
  return describe(keys[2], name)
end

-- A channel's delete or purge, for every responder: its stream goes (fcgi-sse:gone keeps its
-- newest id: a resume from before it gets a reset), its bytes leave the accounts, and an entry
-- {c NAME, ctl ACTION, n N} in fcgi-sse:log, with the next id, tells every responder: on a
-- delete, each ends its subscribers' streams of the channel; on a purge, drops its own copy.
-- The entry is written even when the stream did not exist (a responder may hold subscribers of
-- it). Returns the channel's figures before (as fcgi_sse_channel) and the entry's id.
--   FCALL fcgi_sse_control 2 fcgi-sse:last fcgi-sse:chan:NAME delete|purge
local function control(keys, args)
  local name, err = controlled(keys, 'fcgi_sse_control')
  if not name then return err end
  if #args ~= 1 or (args[1] ~= 'delete' and args[1] ~= 'purge') then
    return redis.error_reply('ERR fcgi_sse_control: the argument is delete or purge')
  end
  local id, n = issue(keys[1], keys[2], 'fcgi_sse_control')
  if not id then return n end
  local out = describe(keys[2], name)
  drop_stream(name)
  redis.call('XADD', LOG, 'MAXLEN', '~', LOG_KEEP, id, 'c', name, 'ctl', args[1],
             'n', string.format('%.0f', n))
  redis.call('SET', keys[1], id)
  out[#out + 1] = id
  return out
end

-- What a publish drops, without a publish: the messages older than TTL (ms) and those past
-- BYTES in all (0: none). Each responder calls it every few seconds, so that channels nobody
-- publishes to give their memory back. Returns how many it dropped.
--   FCALL fcgi_sse_trim 1 fcgi-sse:last TTL BYTES
local function trim(keys, args)
  local ttl, max = whole(args[1]), whole(args[2])
  if #keys ~= 1 or keys[1] ~= 'fcgi-sse:last' or #args ~= 2 or not ttl or not max then
    return redis.error_reply('ERR fcgi_sse_trim: keys are fcgi-sse:last, arguments TTL BYTES')
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return expire(now, ttl, nil) + bound(max, nil)
end

redis.register_function('fcgi_sse_publish', publish)
redis.register_function('fcgi_sse_control', control)
redis.register_function('fcgi_sse_trim', trim)
redis.register_function{function_name = 'fcgi_sse_channel', callback = channel, flags = {'no-writes'}}
redis.register_function{function_name = 'fcgi_sse_fetch', callback = fetch, flags = {'no-writes'}}
redis.register_function{function_name = 'fcgi_sse_head', callback = head, flags = {'no-writes'}}

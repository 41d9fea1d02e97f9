#!/usr/bin/env python3
"""redis_inputs.py -- writes fuzz_redis's seed corpus, readably.

Usage: tests/fuzz/redis_inputs.py [CORPUS_DIR]   (default tests/fuzz/corpus/redis, next to it)
The encoding is fuzz_redis.c's: a configuration byte, then operations (op % NOPS) with their
parameter bytes; keep the tables below in step with its enum op, enum kind, enum cls and
gen_fields(). Seeds reach replies with entries (live, resumed, trimmed, large, hostile), the
reconnect, a hole in the log, the fetch slots; regress-* are what the harness found (see
results.md), which fail on the code they were found on.
"""
import os
import sys

OP = dict(SUB=0, UNSUB=1, PUB=2, ARM=3, XADD=4, TRIM=5, TIME=6, HOLD=7, CLOSE=8, RAW=9,
          STALL=10, LISTEN=11, SETLAST=12, FLUSH=13, CROWD=14, RESTART=15, PUMP=16)
KIND = dict(LOAD=0, PING=1, HEAD=2, XREAD=3, PUB=4, FETCH=5, AUTH=6, SELECT=7, OTHER=8, ANY=9)
CLS = dict(HONEST=0, ERROR=1, NIL=2, NILARR=3, INT=4, STATUS=5, EMPTY=6, ID=7, SHAPED=8,
           RAW=9, CLOSE=10, HOLD=11)
# OP_TIME's steps: 1, 6, 100, 250, 1000, 2100, 5100, 10100, 15100, 60000 ms
T_100MS, T_2S, T_5S, T_10S = 2, 5, 6, 7
# channels: a b c d L(128 bytes) x; a subscription's mask takes bits of the first five; the
# model's streams are theirs and fcgi-sse:log
A, B, C, D, L, X, LOG = range(7)
# gen_id(): 0 after the id asked for, 1 it, 2 before it, 11 after the previous one
ID_NEXT, ID_SAME, ID_BEFORE, ID_AFTER_PREV = 0, 1, 2, 11


def conf(max_message=1, history=2, auth=0, small_sndbuf=0, heartbeat=0):
    """--max-message 64/1024/9000/16M, --history 2/5/64/1000, auth: none/password/user and
    password/SELECT 3, send buffer 64k/16k, heartbeats off/15 s."""
    return bytes([max_message | history << 2 | auth << 4 | small_sndbuf << 6 | heartbeat << 7])


def op(name, *args):
    return bytes([OP[name], *args])


def sub(mask, last_mode=0, *args):
    """last_mode: 0 none, 1 0-0, 2 an entry's id (args: stream, index), 3 fcgi-sse:last,
    4 MS-SEQ from two bytes, 5 the largest id, 6 the id before an entry's."""
    return op('SUB', mask, last_mode, *args)


def pub(name, body, event=0):
    """event: 0 none, 1 t, 2 reset, 3 message, 4 a 64-byte type."""
    return op('PUB', name, event, len(body)) + body


def big_pub(name, size_byte, event=0):
    """size_byte >= 240: a body of 2000, 8100, 8999 or 20000 bytes (size_byte % 4)."""
    return op('PUB', name, event, size_byte)


def fields(data, mode, event=0):
    """gen_fields(): mode 0 type '' + data, 1 type + data, 2 data only, 3 no data, ..."""
    return bytes([len(data)]) + data + bytes([mode, event])


def log_fields(channel, data, n_mode=0, mode=0, event=0):
    """gen_log_fields(): c NAME (channel), n: 0 the next count, 5 a jump, 6 none; then
    gen_fields()."""
    return bytes([0, n_mode, channel]) + fields(data, mode, event)


def xadd(stream, id_mode, id_args, fields_bytes, set_last=False):
    """An entry another writer adds (stream LOG: log_fields). id_mode 0: after the top ('*');
    1: (2^63 + byte)-0;
    2: (2^64-1)-(2^64-1 - byte % 2); 3: the top's ms with seq 2^63-1 + byte % 2; 4: the top's
    ms + byte, seq byte."""
    return op('XADD', stream, id_mode, *id_args, 0 if set_last else 1) + fields_bytes


def arm(kind, cls, params=b''):
    return op('ARM', KIND[kind], CLS[cls], len(params)) + params


SEEDS = {
    # live: a subscriber of a and b, two publishes
    'live': conf() + sub(0b11) + pub(A, b'hello', 1) + pub(B, b'bye\nline') + op('PUMP'),
    # resumed from 0-0 over what another writer added
    'resume': conf() + xadd(A, 0, [], fields(b'one', 1)) + xadd(B, 0, [], fields(b'two', 0)) +
              xadd(A, 0, [], fields(b'three', 1, 1)) + sub(0b11, 1) + pub(B, b'four', 1) +
              op('PUMP'),
    # --history 2: resumed past what was trimmed (event: reset)
    'resume-trimmed': conf(max_message=3, history=0) + pub(A, b'x') + pub(A, b'y') + pub(A, b'z') +
                      sub(0b1, 4, 1, 0) + pub(A, b'w') + op('PUMP'),
    # AUTH user password, heartbeats, a stalled subscriber of c and the 128-byte name
    'auth-stall': conf(max_message=2, auth=2, small_sndbuf=1, heartbeat=1) + sub(0b10100) +
                  sub(0b100) + op('STALL', 0) + pub(C, b'a' * 60) + pub(L, b'b', 1) +
                  op('TIME', T_10S) + op('STALL', 0) + pub(C, b'c', 3) + op('PUMP'),
    # the read answered with entries of the shape it expects, made by the input (shaped()):
    # one stream, fcgi-sse:log, two entries after the position, of channel a
    'hostile-read': conf() + sub(0b1) +
                    arm('XREAD', 'SHAPED', bytes([0, 0, 1, 0, 2]) +
                        bytes([0, ID_NEXT]) + log_fields(A, b'h1', mode=1) +
                        bytes([0, ID_AFTER_PREV]) + log_fields(A, b'h2')) +
                    pub(A, b'm') + op('PUMP'),
    # a fetch answered by the input: two entries of b, the cursor at the second, not more,
    # no reset
    'hostile-fetch': conf(history=3) + pub(B, b'p1') + pub(B, b'p2') +
                     arm('FETCH', 'SHAPED', bytes([2]) +
                         bytes([0, 0, ID_NEXT]) + fields(b'f1', 1) +
                         bytes([0, 0, ID_AFTER_PREV]) + fields(b'f2', 0) +
                         bytes([0, 0, 1, 1, 2])) +
                     sub(0b10, 1) + op('PUMP'),
    # SELECT 3; a publish held past the watchdog, the socket gone, the link back
    'down-up': conf(auth=3) + sub(0b1) + op('HOLD') + pub(A, b'slow') + op('TIME', T_10S) +
               op('HOLD') + op('LISTEN') + op('TIME', T_100MS) + op('LISTEN') +
               op('TIME', T_100MS) + pub(A, b'again') + op('PUMP'),
    # subscribers that come before Redis was ever reached: with no socket to connect to, one
    # waits 10 s and gets a 503; once Redis is there, the next waits for the link (its 200 is
    # sent once the responder knows where it starts) and gets what follows
    'before-redis': conf() + op('LISTEN') + sub(0b1) + op('TIME', T_10S) + op('LISTEN') +
                    sub(0b10) + op('TIME', T_2S) + op('TIME', T_100MS) + pub(B, b'after') +
                    op('PUMP'),
    # another writer's entry in fcgi-sse:log whose count jumps: a hole; subscribers fetch
    'log-hole': conf() + sub(0b1) + pub(A, b'one') + xadd(LOG, 0, [], log_fields(A, b'x', 5)) +
                pub(A, b'two') + op('PUMP'),
    # 64 subscribers that resume and read nothing hold every fetch slot; one more waits
    'crowd': conf(max_message=2, history=1, small_sndbuf=1) + pub(A, b'one') + pub(A, b'two', 1) +
             op('HOLD') + op('CROWD', 0xc7, 1, 0) + sub(0b1, 1) + op('HOLD') + big_pub(A, 0xf1) +
             pub(A, b'last') + op('PUMP'),
    # messages larger than one write, to a subscriber that stalls, and one that resumes
    'big': conf(max_message=2, history=0, small_sndbuf=1) + sub(0b10) + op('STALL', 0) +
           big_pub(B, 0xf1) + big_pub(B, 0xf2) + big_pub(B, 0xf1) + big_pub(B, 0xf1) +
           sub(0b10, 1) + op('TIME', T_10S) + op('STALL', 0) + op('PUMP'),
}

# Found on d165bc2 (tests/fuzz/results.md), the same attacks on today's protocol: they pass
# since the issue 18 fixes (finding 7) and the subscription's fetch floor (the resume that
# never ended).
SEEDS.update({
    # issue 18, finding 7: another writer adds an entry with an id above 2^63-1 where the
    # blocking read reads (fcgi-sse:log; on d165bc2 the channel's stream): the read must go
    # past it, not read it forever
    'regress-foreign-id-read': conf() + sub(0b1) + xadd(LOG, 2, [0], log_fields(A, b'x')) +
                               pub(A, b'after') + op('PUMP'),
    # finding 7, the fetch: --max-message 16 MiB; a holds 3 entries above 2^63-1; a
    # subscriber of five channels resumes from 0-0: the fetch must skip them, not come back
    # full of ids it cannot parse and be sent again forever
    'regress-foreign-id-fetch': conf(max_message=3) + xadd(A, 1, [0], fields(b'x', 0)) +
                                xadd(A, 1, [1], fields(b'y', 0)) +
                                xadd(A, 1, [2], fields(b'z', 0)) + sub(0b11111, 1) + op('PUMP'),
    # a resume that never ended (sub.c on d165bc2): --history 2; a live subscriber of a makes
    # the responder store 3 messages (its local history drops the first); a's stream loses
    # every entry (XDEL); a subscriber resumes from 0-0: Redis has nothing after 0-0, the
    # local history has a gap after 0-0: it fetched from 0-0 again, forever, with an
    # event: reset each time
    'regress-resume-loop': conf(history=0) + sub(0b1) + pub(A, b'1') + pub(A, b'2') +
                           pub(A, b'3') + op('TRIM', A, 3) + sub(0b1, 1) + op('PUMP'),
    # the same after Redis restarts without persistence (the stream is gone: no reset)
    'regress-resume-loop-restart': conf(history=0) + sub(0b1) + pub(A, b'1') + pub(A, b'2') +
                                   pub(A, b'3') + op('RESTART') + op('TIME', T_100MS) +
                                   sub(0b1, 1) + op('PUMP'),
})


# Found on 7ca233d, fixed on main by 84f2ea7 and 99874d1.
SEEDS.update({
    # a subscriber resumes with a Last-Event-ID after every id Redis issued; the fetch came
    # back with that id as its cursor (fcgi_sse_fetch returns AFTER when nothing is newer),
    # which was taken for an id Redis issued: every later subscriber without a Last-Event-ID
    # started there, and the next subscriber of a got nothing of what followed
    'regress-future-last-event-id': conf() + sub(0b1, 5) + sub(0b1) + pub(A, b'lost') +
                                    op('PUMP'),
    # the watchdog gives the link up (the read 10 s without a reply) in the same turn as
    # Redis's nil for that read comes: on_read() ran before the teardown timer and asked
    # fcgi_sse_head on the dying link, whose reply never came, leaving the read marked busy:
    # after the reconnect no read was sent, and nothing delivered until the watchdog gave the
    # link up again, 10 s later
    'regress-read-stops-after-reconnect': conf() + sub(0b1) + op('TIME', 8) + op('TIME', 4) +
                                          pub(A, b'late') + op('PUMP'),
})


def write(directory, inputs):
    os.makedirs(directory, exist_ok=True)
    for name, data in inputs.items():
        with open(os.path.join(directory, name), 'wb') as f:
            f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    write(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'corpus', 'redis'), SEEDS)


if __name__ == '__main__':
    main()

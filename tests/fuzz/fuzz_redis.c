/* fuzz_redis.c -- libFuzzer harness of the Redis link (redis/, subscriptions, through hiredis) against a fake Redis the input scripts
 * In process: the responder's parts as main.c wires them with --redis (a channel engine, the
 * Redis link as publish backend and history, subscriptions, the hub, the controller, the
 * intake), per input, in one long-lived loop (responder_start: every use of their API).
 * The harness plays both sides: the web server (whole FastCGI requests over socketpairs, as
 * fuzz_intake does: subscriptions GET .../events?channel=... with or without Last-Event-ID, and
 * publishes POST .../publish with REMOTE_USER) and Redis, on a unix socket in a temporary
 * directory given to the link as unix:/path. hiredis does its real parsing of every byte.
 * The fake Redis reads each command the responder sends (a RESP array of bulk strings: AUTH,
 * SELECT, FUNCTION LOAD, PING, FCALL_RO fcgi_sse_head, XREAD ... BLOCK ... fcgi-sse:log, FCALL
 * fcgi_sse_publish, FCALL_RO fcgi_sse_fetch) and, unless the input armed another reply for that
 * kind of command, answers it as Redis would from a model of its keys: the streams
 * fcgi-sse:chan:NAME and fcgi-sse:log (entries, last id generated, max-deleted-entry-id; the
 * log trimmed), fcgi-sse:last, the functions' semantics written again from
 * src/redis/fcgi-sse.lua, XREAD blocking until an entry comes or its BLOCK time. The model
 * itself may hold what a real Redis can: entries other writers added (ids above 2^63-1, missing
 * or extra fields, text that is not UTF-8, long types; in the log, counts that jump or are
 * missing, names of no channel), trimmed streams, any fcgi-sse:last, functions flushed, nothing
 * at all after a restart.
 * Input: one byte of configuration (--max-message, --history, AUTH/SELECT, the send buffer,
 * heartbeats), then up to OPS_MAX operations, a byte each (op % NOPS) with the bytes that
 * parametrise it: subscribe (channels, Last-Event-ID), unsubscribe, publish (small bodies from
 * the input, or large ones), arm a reply (kind of command; class: honest, error, nil, nil
 * array, integer, status, empty array, a hostile id, a reply of the expected shape with hostile
 * contents (ids above 2^63-1, that do not parse, 0-0, going backwards, repeated; entries with
 * missing, extra or non-string fields, text that is not UTF-8, long types, nested arrays,
 * stream names not asked for, more entries than COUNT, cursors and counts that lie), raw bytes,
 * a close, a hold), add an entry as another writer would, trim a stream, advance the clock,
 * hold every reply, close a Redis connection, write raw bytes, stall a subscriber, close the
 * listening socket, set fcgi-sse:last, flush the functions, open a crowd of 64+ subscribers
 * that resume and read nothing (past the fetch slots; one an input, marked by a byte, and at
 * most CROWD_OPS operations after it), restart Redis without persistence, turn the loop longer.
 * After each operation the loop turns (loop_once with no wait) until quiet, at most 16 times.
 * The clock: CLOCK_MONOTONIC, read by every deadline of the responder (clock.h), is the
 * machine's plus what the input advanced (this file's clock_gettime), so the watchdogs, the
 * backoff, the blocking read's BLOCK and the heartbeats run within an execution's milliseconds.
 * CLOCK_REALTIME (message ages, libFuzzer's own timing) is left alone.
 * Properties, for every input: no crash, no sanitizer report, no leak (LeakSanitizer at exit);
 * the process never spins: at the end Redis turns honest and the loop must become quiet, and
 * SPIN_TURNS turns in a row in which the responder sends only commands it already sent (and
 * nothing reaches a client) abort; what a subscriber receives (decoded with sse_decode.h, an
 * event at a time) is well-formed FastCGI and SSE, only messages and `event: reset` (with an id
 * as data), message ids in canonical form, strictly increasing, after its Last-Event-ID, each
 * one an entry that a reply of the fake Redis carried for one of its channels (a log entry for
 * the channel it names, a fetched one for its key), with that entry's id, type and data (the
 * fake's replies are decoded by a second hiredis reader, as the responder's reader sees them);
 * nothing lost or held back: when Redis was honest all along (nothing armed, no raw bytes,
 * closes, restarts, holds, flushes, foreign entries or trims), a subscriber that got its 200,
 * stayed to the end and got no `event: reset` received, by the end (Redis answering at once, no
 * clock passing), every message stored after its header block was seen (or, with a
 * Last-Event-ID and nothing deleted after it, every one after it) of its channels; each publish
 * is answered once, and an id it is answered with is one the fake Redis returned to a publish;
 * afterwards no stream is open, no timer is queued, and as many descriptors are open as before
 * the input.
 * The fake never sends a reply no command waits for: hiredis 0.14 asserts (aborts) on an
 * unsolicited reply that is not an error, whatever the client does.
 * FUZZ_REDIS_SHOW=1 in the environment prints what each subscriber received on stderr,
 * FUZZ_REDIS_TRACE=1 each operation, command and reply. Run with -close_fd_mask=2 to keep the
 * responder's log out of the output (tests/fuzz/run.sh does).
 * Found by this harness (see results.md; the regress-* seeds are their inputs, for today's
 * protocol): on d165bc2, issue 18's finding 7 (an entry with an id above 2^63-1 made the
 * blocking read return it forever, and a fetch full of them be sent again forever) and a resume
 * that never ended (Redis holding nothing after a subscriber's cursor while the local history
 * had dropped messages after it: the same fetch forever); on 7ca233d, a future Last-Event-ID
 * that became where every later subscriber started (they got nothing), and a read that stopped
 * after a reconnect when Redis's nil came in the turn the watchdog gave the link up. All four
 * were fixed on main. */
#include "config.h"

#include "channels/chan.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/text.h"
#include "http/msgid.h"
#include "http/stats.h"
#include "redis/redis.h"
#include "redis/redisurl.h"
#include "server/dispatch.h"
#include "server/intake.h"
#include "sources/subscription.h"
#include "stream/admit.h"
#include "stream/hub.h"

/* The harness's plumbing and checks: no coverage feedback (the fuzzer is to explore the
 * responder and the input's structure, not how the checks walk what came back; they cost
 * half the time instrumented), and not inlined where it is kept. */
#define PLUMBING __attribute__((no_sanitize("coverage"), noinline))
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "sse_decode.h"
#pragma clang attribute pop

#include <hiredis/hiredis.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n);

#define OPS_MAX 32           /* operations an input runs at most */
#define OP_TURNS 16          /* loop turns after each operation at most */
#define CONNS_MAX 8          /* fake Redis connections at once (more are closed) */
#define WEBS_MAX 96          /* subscribers and publishes at once (past the 64 fetch slots) */
#define CROWD 64             /* subscribers a crowd opens at least */
#define SUBS_MAX 12          /* subscribers at once otherwise (each one more costs every publish) */
#define CROWD_OPS 8          /* operations after a crowd at most */
#define CROWD_MARK 0xc7      /* the byte a crowd's operation needs after it: a crowd costs 20
                                usual inputs, it must not be in most of them */
#define NAMES 6              /* channels a, b, c, d, a 128-byte name, and x (never subscribed) */
#define SUB_NAMES 5
#define LOG NAMES            /* the streams of the model: the channels', and fcgi-sse:log */
#define NSTREAMS (NAMES + 1)
#define ENTRIES_MAX 24       /* entries a stream of the model keeps (fcgi-sse:log too: it is
                                trimmed as Redis's MAXLEN ~ 10000 does, only sooner) */
#define ARMED_MAX 8
#define REPLY_ENTRIES_MAX 1100   /* past REDIS_FETCH_COUNT (1024) */
#define SPIN_TURNS 256       /* turns that only repeat what was sent: a spin */
#define SETTLE_MAX 20000     /* turns before the end must be quiet, whatever happens (the
                                largest inputs need under 2,000) */
#define SIGS 8192
#define KEY_PREFIX "fcgi-sse:chan:"
#define LUA_EXACT (1ULL << 53) /* past this, the functions' Lua numbers are not exact */
#define PART_MAX 9223372036854775807ULL /* a part of an id fcgi-sse makes at most */

/* ---------------------------------------------------------------- failing */

extern void __sanitizer_report_error_summary(const char *summary) __attribute__((weak));

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    char m[700];
    va_list ap;
    int n = snprintf(m, sizeof m, "fuzz_redis: ");

    va_start(ap, fmt);
    vsnprintf(m + n, sizeof m - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", m);
    /* also where the sanitizers report (stderr is /dev/null under -close_fd_mask=2) */
    if (__sanitizer_report_error_summary)
        __sanitizer_report_error_summary(m);
    abort();
}

/* ---------------------------------------------------------------- the clock */

/* Added to CLOCK_MONOTONIC: what the input advanced so far (0 at its start: no timer of the
 * loop outlives an input). */
static long long vclock_ns;

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    int rc;

    if (!real) {
        void *p = dlsym(RTLD_NEXT, "clock_gettime");
        if (!p)
            abort();
        memcpy(&real, &p, sizeof real);
    }
    rc = real(id, ts);
    if (rc == 0 && id == CLOCK_MONOTONIC && vclock_ns) {
        long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + vclock_ns;
        ts->tv_sec = (time_t)(t / 1000000000LL);
        ts->tv_nsec = (long)(t % 1000000000LL);
    }
    return rc;
}

/* ---------------------------------------------------------------- bytes */

struct buf {
    char *p;
    size_t len, cap;
};

PLUMBING static void buf_add(struct buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            fail("out of memory");
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

PLUMBING static void buf_fmt(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
PLUMBING static void buf_fmt(struct buf *b, const char *fmt, ...)
{
    char t[160];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t)
        fail("buf_fmt: too long");
    buf_add(b, t, (size_t)n);
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* RESP2, as Redis writes it */
PLUMBING static void r_arr(struct buf *b, long long n)
{
    buf_fmt(b, "*%lld\r\n", n);
}

PLUMBING static void r_bulk(struct buf *b, const void *s, size_t n)
{
    buf_fmt(b, "$%zu\r\n", n);
    buf_add(b, s, n);
    buf_add(b, "\r\n", 2);
}

PLUMBING static void r_str(struct buf *b, const char *s)
{
    r_bulk(b, s, strlen(s));
}

PLUMBING static void r_int(struct buf *b, long long v)
{
    buf_fmt(b, ":%lld\r\n", v);
}

PLUMBING static void r_nil(struct buf *b)
{
    buf_add(b, "$-1\r\n", 5);
}

PLUMBING static void r_nilarr(struct buf *b)
{
    buf_add(b, "*-1\r\n", 5);
}

/* A status (+) or error (-) line: s without CR or LF. */
PLUMBING static void r_line(struct buf *b, char type, const char *s)
{
    buf_add(b, &type, 1);
    buf_add(b, s, strlen(s));
    buf_add(b, "\r\n", 2);
}

/* The input, read a byte at a time (0 once it is used up). */
struct rd {
    const uint8_t *p;
    size_t n, off;
};

static unsigned u8(struct rd *r)
{
    return r->off < r->n ? r->p[r->off++] : 0;
}

static const uint8_t *take(struct rd *r, size_t *n)
{
    const uint8_t *p = r->p + r->off;

    if (*n > r->n - r->off)
        *n = r->n - r->off;
    r->off += *n;
    return p;
}

/* ---------------------------------------------------------------- stream ids as Redis has them */

struct xid {
    unsigned long long ms, seq;
};

static int xcmp(struct xid a, struct xid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

static size_t xfmt(char *t, struct xid a)
{
    return (size_t)sprintf(t, "%llu-%llu", a.ms, a.seq);
}

static struct xid xnext(struct xid a)
{
    if (a.seq < ULLONG_MAX) {
        a.seq++;
    } else if (a.ms < ULLONG_MAX) {
        a.ms++;
        a.seq = 0;
    }
    return a;
}

static struct xid xprev(struct xid a)
{
    if (a.seq) {
        a.seq--;
    } else if (a.ms) {
        a.ms--;
        a.seq = ULLONG_MAX;
    }
    return a;
}

static int u64_parse(const char *s, size_t n, unsigned long long *v)
{
    size_t i;

    *v = 0;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (s[i] < '0' || s[i] > '9' || *v > (ULLONG_MAX - d) / 10)
            return -1;
        *v = *v * 10 + d;
    }
    return 0;
}

/* Redis's MS-SEQ (or MS): unsigned 64-bit parts. 0, or -1. */
static int xparse(const char *s, size_t n, struct xid *o)
{
    const char *dash = memchr(s, '-', n);

    if (!dash) {
        o->seq = 0;
        return u64_parse(s, n, &o->ms);
    }
    return u64_parse(s, (size_t)(dash - s), &o->ms) < 0 ||
                   u64_parse(dash + 1, n - (size_t)(dash - s) - 1, &o->seq) < 0
               ? -1
               : 0;
}

/* ---------------------------------------------------------------- the run of one input */

enum kind { K_LOAD, K_PING, K_HEAD, K_XREAD, K_PUB, K_FETCH, K_AUTH, K_SELECT, K_OTHER, K_ANY };

/* How a command is answered (an armed reply). */
enum cls { C_HONEST, C_ERROR, C_NIL, C_NILARR, C_INT, C_STATUS, C_EMPTY, C_ID, C_SHAPED, C_RAW,
           C_CLOSE, C_HOLD, NCLS };

struct spec {
    int kind, cls;
    const uint8_t *p;
    size_t n;
};

struct cmd {
    struct cmd *next;
    int kind;
    int argc;
    char **argv;
    size_t *lens;
    int has_spec, held;
    struct spec spec;
    long long block_until;         /* XREAD: the fake's clock at which BLOCK ends */
};

struct rconn {
    int fd;                        /* -1: unused */
    long long id;                  /* CLIENT ID */
    struct buf in, out;
    size_t in_off, out_off;
    redisReader *mirror;           /* what the client's reader makes of our replies */
    struct cmd *head, *tail;       /* read, not yet answered (in the client's view) */
    int dead;                      /* the mirror failed: close once flushed */
};

struct web {
    int fd;                        /* -1: unused */
    int sub;                       /* a subscription (else a publish) */
    int stalled;                   /* not read until the end */
    unsigned mask;                 /* its channels (names) */
    int have_last;
    struct msgid last;             /* its Last-Event-ID */
    struct buf got;
    int eof;
    int eof_early;                 /* closed before the end (dropped, refused, failed) */
    unsigned long header_turn;     /* the turn its header block was first seen (0: not yet) */
};

struct entry {
    struct xid id;
    struct buf fields;             /* the RESP array of its fields */
    size_t size;                   /* its id's and fields' bytes, as fcgi_sse_fetch counts */
    int has_n;                     /* a field n of digits (fcgi-sse:log's count) */
    unsigned long long n;
};

struct xstream {
    int exists;
    unsigned n;
    struct entry e[ENTRIES_MAX];
    struct xid lastgen, maxdel;
};

/* An entry a reply carried, for a channel of ours: what a subscriber may be given for it. */
struct offer {
    int name;
    struct msgid id;
    char *type;                    /* its last type field ("" for none), as a C string */
    char **data;                   /* its data fields, as a client reads them (normalised) */
    size_t *dlen;
    unsigned ndata;
};

static struct {
    struct rconn conns[CONNS_MAX];
    struct web webs[WEBS_MAX];
    struct xstream st[NSTREAMS];
    char last[64];
    size_t last_len;
    int has_last;
    int loaded;                    /* the functions (FUNCTION FLUSH clears them) */
    struct spec armed[ARMED_MAX];
    unsigned narmed;
    int hold, settle, final;
    int crowd;                     /* a crowd was opened */
    long long next_client_id;
    unsigned long max_message, history;
    struct offer *offers;
    size_t noffers, capoffers;
    unsigned long long *ohash;     /* the offers' hashes (0: free), to keep each entry once */
    size_t ohcap;
    struct msgid *pubids;
    size_t npubids, cappubids;
    struct stored {                /* every publish the model stored */
        struct xid id;
        int name;
        unsigned long turn;
    } *stored;
    size_t nstored, capstored;
    int hostile;                   /* Redis was not honest all along: no loss check */
    unsigned long turns;
    unsigned long progress;        /* what counts as progress at the end */
    char lastcmd[200];
} R;

static struct loop *loop;
static struct stats stats;
static struct intake_config icfg;
/* the responder (responder_start) */
static struct chan_engine *engine;
static struct redis *bus;
static struct hub *hub;
static struct dispatch ctl;
static struct intake *intake;
static int lfd = -1;               /* the fake Redis's listening socket */
static char sock_dir[80], sock_path[108];
static char long_name[CHAN_NAME_MAX + 1];
static const char *names[NAMES] = { "a", "b", "c", "d", long_name, "x" };
static char keys[NSTREAMS][sizeof KEY_PREFIX + CHAN_NAME_MAX];
static size_t keylens[NSTREAMS];
static struct {
    unsigned long long h;
    unsigned gen;
} sigs[SIGS];
static unsigned sig_gen;

static void listen_open(void);
static int tracing;                /* FUZZ_REDIS_TRACE: operations, commands and replies */

/* Traces bytes, escaped, at most 300 of them. */
PLUMBING static void trace_bytes(const char *what, long long conn, const char *p, size_t n)
{
    size_t i;

    if (!tracing)
        return;
    fprintf(stderr, "  %s %lld: ", what, conn);
    for (i = 0; i < n && i < 300; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r' && i + 1 < n && p[i + 1] == '\n') {
            fputs("\\r\\n ", stderr);
            i++;
        } else if (c < 0x20 || c >= 0x7f || c == '\\') {
            fprintf(stderr, "\\x%02x", c);
        } else {
            fputc(c, stderr);
        }
    }
    fprintf(stderr, "%s\n", n > 300 ? "..." : "");
}

/* ---------------------------------------------------------------- the responder */

/* The responder's parts wired as main.c wires them with --redis (every use of their API is
 * here and in responder_stop: adapt them when it changes): the engine, the Redis link (its
 * publish backend and its history), subscriptions, the hub, the controller and the intake. */
static void responder_start(const struct redis_config *rc, const struct chan_limits *lim,
                            long long heartbeat_ns, int sndbuf)
{
    struct sub_params sp;
    struct hub_hooks hooks = { admit_ended, &stats, &stats.streams_dropped_slow };

    engine = chan_engine_create(lim, clock_wall_ms(), sub_deliver, NULL);
    if (!engine)
        fail("chan_engine_create");
    bus = redis_create(loop, rc, engine, &stats);
    if (!bus)
        fail("redis_create");
    memset(&sp, 0, sizeof sp);
    sp.engine = engine;
    sp.heartbeat_ns = heartbeat_ns;
    sp.delivered = &stats.events_delivered;
    sp.history = redis_history(bus);
    sp.retry_ms = 3000;
    hub = hub_create(loop, &hooks);
    if (!hub)
        fail("hub_create");
    memset(&ctl, 0, sizeof ctl);
    ctl.subs = sub_create(&sp);
    if (!ctl.subs)
        fail("sub_create");
    ctl.retry_ms = 3000;
    ctl.stats = &stats;
    ctl.engine = engine;
    ctl.pub.remote_user = 1;
    ctl.pub.backend = redis_backend(bus);
    ctl.pub.engine = engine;
    ctl.max_message = rc->max_message;
    ctl.hub = hub;
    ctl.sndbuf = sndbuf;
    icfg.serve = dispatch_request;
    icfg.serve_arg = &ctl;
    icfg.body_max = rc->max_message;
    icfg.timeout_ns = 10000000000LL;
    icfg.mem_max = 4u << 20;
    intake = intake_start(loop, &icfg);
    if (!intake)
        fail("intake_start");
}

/* Lets go of everything, in main's order: streams end, then the link (publishes in flight
 * are answered 503), then the engine. */
static void responder_stop(void)
{
    static const volatile sig_atomic_t no_stop = 0;

    intake_destroy(intake);
    intake = NULL;
    hub_close(hub, &no_stop);
    hub_destroy(hub);
    hub = NULL;
    sub_destroy((struct subs *)ctl.subs);
    redis_destroy(bus);
    bus = NULL;
    chan_engine_destroy(engine);
    engine = NULL;
}

/* ---------------------------------------------------------------- the model */

/* The stream of the model named key (a channel's, or the log), or -1. */
static int model_name(const char *key, size_t len)
{
    int i;

    for (i = 0; i < NSTREAMS; i++)
        if (len == keylens[i] && memcmp(key, keys[i], len) == 0)
            return i;
    return -1;
}

/* XDEL of the k oldest entries. */
static void model_del_oldest(int s, unsigned k)
{
    struct xstream *x = &R.st[s];

    while (k-- && x->n) {
        if (xcmp(x->e[0].id, x->maxdel) > 0)
            x->maxdel = x->e[0].id;
        buf_free(&x->e[0].fields);
        memmove(&x->e[0], &x->e[1], (x->n - 1) * sizeof x->e[0]);
        x->n--;
        memset(&x->e[x->n], 0, sizeof x->e[0]);
    }
}

/* XADD s id fields (taken). 0, or -1 as Redis refuses it (not after the last id, or 0-0). */
/* What fcgi_sse_fetch and fcgi_sse_head read of an entry's fields: their bytes, and n. */
static void entry_meta(struct entry *e)
{
    redisReader *rr = redisReaderCreate();
    void *v = NULL;
    const redisReply *f;
    size_t i;
    char t[64];

    e->size = xfmt(t, e->id);
    if (!rr || redisReaderFeed(rr, e->fields.p, e->fields.len) != REDIS_OK ||
        redisReaderGetReply(rr, &v) != REDIS_OK || !v)
        fail("entry_meta");
    f = v;
    for (i = 0; f->type == REDIS_REPLY_ARRAY && i < f->elements; i++) {
        const redisReply *k = f->element[i], *val = i + 1 < f->elements ? f->element[i + 1] : NULL;
        e->size += k->type == REDIS_REPLY_STRING ? k->len : 0;
        if (i % 2 == 0 && val && k->type == REDIS_REPLY_STRING && val->type == REDIS_REPLY_STRING &&
            k->len == 1 && k->str[0] == 'n' && val->len &&
            strspn(val->str, "0123456789") == val->len) {
            e->has_n = u64_parse(val->str, val->len, &e->n) == 0;
        }
    }
    freeReplyObject(v);
    redisReaderFree(rr);
}

/* XADD s id fields (taken), as Redis: 0, or -1 when it refuses it (not after the stream's
 * last id, or 0-0). The oldest entry goes past ENTRIES_MAX (as XDEL: max-deleted-entry-id). */
static int model_add(int s, struct xid id, struct buf *fields)
{
    struct xstream *x = &R.st[s];

    if ((id.ms == 0 && id.seq == 0) || (x->exists && xcmp(id, x->lastgen) <= 0)) {
        buf_free(fields);
        return -1;
    }
    if (x->n == ENTRIES_MAX)
        model_del_oldest(s, 1);
    memset(&x->e[x->n], 0, sizeof x->e[x->n]);
    x->e[x->n].id = id;
    x->e[x->n].fields = *fields;
    memset(fields, 0, sizeof *fields);
    entry_meta(&x->e[x->n]);
    x->n++;
    x->lastgen = id;
    x->exists = 1;
    R.progress++;
    return 0;
}

static void model_free(void)
{
    int s;
    unsigned i;

    for (s = 0; s < NSTREAMS; s++)
        for (i = 0; i < R.st[s].n; i++)
            buf_free(&R.st[s].e[i].fields);
}

/* The ms Redis's TIME would give: from the clock the input advances, not the machine's. */
static unsigned long long model_now_ms(void)
{
    return 1700000000000ULL + (unsigned long long)(vclock_ns / 1000000);
}

/* ---------------------------------------------------------------- hostile parts of replies */

static const char *const bad_ids[] = {
    "", "-", "1", "1-", "-1", "a-b", "1-2-3", " 1-1", "+1-1", "1-1 ", "0x10-0", "1e3-0",
    "\xd9\xa1-\xd9\xa1", "1-1\r", "00000000000000000000001-0", "000000000000000000000001-0",
    "1--1", "18446744073709551616-0", "1-18446744073709551616", "9223372036854775807-",
};
static const char *const edge_ids[] = {
    "0-0", "0-1", "1-0", "9223372036854775807-0", "9223372036854775807-9223372036854775807",
    "9223372036854775808-0", "1-9223372036854775808", "18446744073709551615-18446744073709551615",
    "99999999999999999999999-1", "9223372036854775806-9223372036854775807",
};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A bulk string that is, or is not, an id: relative to ref (what was asked for) and to *prev
 * (the one before in this reply). */
static void gen_id(struct buf *o, struct rd *r, struct xid ref, struct xid *prev)
{
    char t[64];
    struct xid id;
    size_t n;
    const uint8_t *p;

    switch (u8(r) % 12) {
    case 0:
        id = xnext(ref);
        break;
    case 1:
        id = ref;
        break;
    case 2:
        id = xprev(ref);
        break;
    case 3:
        r_str(o, edge_ids[u8(r) % COUNT_OF(edge_ids)]);
        return;
    case 4:
        /* bad_ids[0] is "": a bulk string of length 0 */
        r_str(o, bad_ids[u8(r) % COUNT_OF(bad_ids)]);
        return;
    case 5:
        id = *prev;
        break;
    case 7:
        id.ms = ref.ms + u8(r);
        id.seq = u8(r);
        break;
    case 8:
        n = u8(r) % 12;
        p = take(r, &n);
        r_bulk(o, p, n);
        return;
    default:
        id = xnext(*prev);
        break;
    }
    *prev = id;
    r_bulk(o, t, xfmt(t, id));
}

static const char *const types[] = { "t", "update", "x.y:z-1", "reset", "message", "" };
static const char *const bad_types[] = { "a b", "\xc3\xa9", "a\nb", "a\rb", "t\x01", "a/b" };
static const char *const inject[] = {
    "line1\nline2", "a\r\nb\rc", "\n\nid: 1-1\nevent: x\ndata: forged\n\n", "\r", "\n", "",
    "data: x", ":comment\n",
};
static const char *const not_utf8[] = { "\xff\xfe", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                        "ab\xe2\x82", "\x80" };

/* A stream entry's fields: those a publish writes, or (any real Redis may hold them)
 * fields another writer chose; hostile: also what no Redis sends (not strings, odd counts). */
static void gen_fields(struct buf *o, struct rd *r, int hostile)
{
    char d[80];
    size_t dn = u8(r) % 24, i;
    const uint8_t *dp = take(r, &dn);
    unsigned mode = u8(r) % (hostile ? 19 : 14);
    const char *t = types[u8(r) % COUNT_OF(types)];
    char *big;
    size_t bign;

    memcpy(d, dp, dn);
    switch (mode) {
    case 0:
    case 1:
        r_arr(o, 4);
        r_str(o, "type");
        r_str(o, mode ? t : "");
        r_str(o, "data");
        r_bulk(o, d, dn);
        return;
    case 2: /* data only */
        r_arr(o, 2);
        r_str(o, "data");
        r_bulk(o, d, dn);
        return;
    case 3: /* no data */
        r_arr(o, 2);
        r_str(o, "type");
        r_str(o, t);
        return;
    case 4: /* extra fields around */
        r_arr(o, 8);
        r_str(o, "x");
        r_str(o, "y");
        r_str(o, "type");
        r_str(o, t);
        r_str(o, "data");
        r_bulk(o, d, dn);
        r_str(o, "id");
        r_str(o, "1-1");
        return;
    case 5: /* data twice */
        r_arr(o, 6);
        r_str(o, "data");
        r_str(o, "first");
        r_str(o, "type");
        r_str(o, t);
        r_str(o, "data");
        r_bulk(o, d, dn);
        return;
    case 6: /* a type over 64 bytes */
        r_arr(o, 4);
        r_str(o, "type");
        memset(d, 't', 65);
        r_bulk(o, d, 64 + u8(r) % 2);
        r_str(o, "data");
        r_str(o, "x");
        return;
    case 7:
        r_arr(o, 4);
        r_str(o, "type");
        r_str(o, bad_types[u8(r) % COUNT_OF(bad_types)]);
        r_str(o, "data");
        r_bulk(o, d, dn);
        return;
    case 8:
        r_arr(o, 4);
        r_str(o, "type");
        r_str(o, t);
        r_str(o, "data");
        r_str(o, not_utf8[u8(r) % COUNT_OF(not_utf8)]);
        return;
    case 9: /* a NUL */
        r_arr(o, 2);
        r_str(o, "data");
        r_bulk(o, "a\0b", 3);
        return;
    case 10:
        r_arr(o, 4);
        r_str(o, "type");
        r_str(o, t);
        r_str(o, "data");
        r_str(o, inject[u8(r) % COUNT_OF(inject)]);
        return;
    case 11: /* past --max-message, or (when it allows) larger than one write */
        bign = u8(r) % 2 || R.max_message < 8500 ? R.max_message + 1 : 8500;
        if (bign > 20000)
            bign = 8500;
        big = malloc(bign);
        if (!big)
            fail("out of memory");
        for (i = 0; i < bign; i++)
            big[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
        r_arr(o, 2);
        r_str(o, "data");
        r_bulk(o, big, bign);
        free(big);
        return;
    case 12: /* names in another case */
        r_arr(o, 4);
        r_str(o, "Type");
        r_str(o, t);
        r_str(o, "DATA");
        r_bulk(o, d, dn);
        return;
    case 13: /* names with more after a NUL */
        r_arr(o, 2);
        r_bulk(o, "data\0x", 6);
        r_bulk(o, d, dn);
        return;
    case 14:
        r_arr(o, 3);
        r_str(o, "data");
        r_bulk(o, d, dn);
        r_str(o, "type");
        return;
    case 15:
        r_arr(o, 2);
        r_str(o, "data");
        r_arr(o, 1);
        r_bulk(o, d, dn);
        return;
    case 16:
        r_arr(o, 4);
        r_str(o, "type");
        r_int(o, 5);
        r_str(o, "data");
        r_nil(o);
        return;
    case 17:
        r_bulk(o, d, dn);
        return;
    default:
        if (u8(r) % 2)
            r_nilarr(o);
        else
            r_int(o, 2);
        return;
    }
}

/* One entry [id, fields], or not quite. */
/* A reply written back as RESP (a nil as the nil bulk string). */
PLUMBING static void r_reply(struct buf *o, const redisReply *v)
{
    size_t i;

    switch (v->type) {
    case REDIS_REPLY_STRING:
        r_bulk(o, v->str, v->len);
        break;
    case REDIS_REPLY_ARRAY:
        r_arr(o, (long long)v->elements);
        for (i = 0; i < v->elements; i++)
            r_reply(o, v->element[i]);
        break;
    case REDIS_REPLY_INTEGER:
        r_int(o, v->integer);
        break;
    case REDIS_REPLY_STATUS:
        r_line(o, '+', v->str);
        break;
    case REDIS_REPLY_ERROR:
        r_line(o, '-', v->str);
        break;
    default:
        r_nil(o);
        break;
    }
}

/* An entry's fields in fcgi-sse:log: a channel's (gen_fields) with c NAME and n COUNT, as a
 * publish writes them, or not quite (no c, a name no channel has, a count that jumps, is
 * missing, not a number). */
static void gen_log_fields(struct buf *o, struct rd *r, int hostile)
{
    static const char *const bad_n[] = { "0", "x", "18446744073709551616", "-1", "" };
    const struct xstream *lg = &R.st[LOG];
    unsigned long long top = lg->n && lg->e[lg->n - 1].has_n ? lg->e[lg->n - 1].n : 0;
    unsigned cm = u8(r) % 8, nm = u8(r) % 8, cn = u8(r);
    struct buf t = { 0 };
    redisReader *rr = redisReaderCreate();
    void *v = NULL;
    const redisReply *f;
    char num[32];
    size_t i;

    gen_fields(&t, r, hostile);
    if (!rr || redisReaderFeed(rr, t.p, t.len) != REDIS_OK ||
        redisReaderGetReply(rr, &v) != REDIS_OK || !v)
        fail("gen_log_fields");
    f = v;
    if (f->type != REDIS_REPLY_ARRAY) {
        buf_add(o, t.p, t.len);
    } else {
        r_arr(o, (long long)f->elements + (cm == 5 ? 0 : 2) + (nm == 6 ? 0 : 2));
        if (cm != 5) {
            r_str(o, "c");
            r_str(o, cm < 5 ? names[cn % NAMES] : cm == 6 ? "a b" : "zz");
        }
        for (i = 0; i < f->elements; i++)
            r_reply(o, f->element[i]);
        if (nm != 6) {
            r_str(o, "n");
            if (nm < 5)
                snprintf(num, sizeof num, "%llu", top + 1);
            else if (nm == 5)
                snprintf(num, sizeof num, "%llu", top + 2 + cn % 3);
            else
                snprintf(num, sizeof num, "%s", top && cn % 6 == 5 ? "" : bad_n[cn % 5]);
            if (nm == 7 && cn % 6 == 5)
                snprintf(num, sizeof num, "%llu", top); /* the same count again */
            r_str(o, num);
        }
    }
    freeReplyObject(v);
    redisReaderFree(rr);
    buf_free(&t);
}

/* One entry [id, fields] (log: fcgi-sse:log's fields), or not quite. */
static void gen_entry(struct buf *o, struct rd *r, struct xid ref, struct xid *prev, int log)
{
    void (*fields)(struct buf *, struct rd *, int) = log ? gen_log_fields : gen_fields;

    switch (u8(r) % 8) {
    case 4:
        r_arr(o, 1);
        gen_id(o, r, ref, prev);
        return;
    case 5:
        r_arr(o, 3);
        gen_id(o, r, ref, prev);
        fields(o, r, 1);
        r_str(o, "extra");
        return;
    case 6:
        r_arr(o, 2);
        r_int(o, (long long)u8(r));
        fields(o, r, 1);
        return;
    case 7:
        r_arr(o, 2);
        r_arr(o, 1);
        gen_id(o, r, ref, prev);
        fields(o, r, 1);
        return;
    default:
        r_arr(o, 2);
        gen_id(o, r, ref, prev);
        fields(o, r, 1);
        return;
    }
}

/* The entries of one stream: a few, or more than COUNT; or not an array. */
/* The entries of one stream: a few, or more than COUNT; or not an array. */
static void gen_entries(struct buf *o, struct rd *r, struct xid ref, unsigned long count, int log)
{
    unsigned form = u8(r) % 8, b;
    unsigned long n, i;
    struct xid prev = ref;

    if (form == 5) {
        r_nilarr(o);
        return;
    }
    if (form == 6) {
        r_int(o, 1);
        return;
    }
    if (form == 7) {
        r_str(o, "1-1");
        return;
    }
    b = u8(r);
    n = b < 200 ? b % 8 : count + b % 4;
    if (n > REPLY_ENTRIES_MAX)
        n = REPLY_ENTRIES_MAX;
    r_arr(o, (long long)n);
    for (i = 0; i < n; i++)
        gen_entry(o, r, ref, &prev, log);
}

/* ---------------------------------------------------------------- commands */

static int arg_is(const struct cmd *k, int i, const char *s)
{
    return i < k->argc && k->lens[i] == strlen(s) && strcasecmp(k->argv[i], s) == 0;
}

static long long arg_ll(const struct cmd *k, int i)
{
    return i < k->argc ? strtoll(k->argv[i], NULL, 10) : 0;
}

/* XREAD COUNT c BLOCK ms STREAMS k... id...: where the keys start, and how many. */
static int xread_keys(const struct cmd *k, int *first)
{
    int i;

    for (i = 1; i < k->argc; i++)
        if (arg_is(k, i, "STREAMS"))
            break;
    *first = i + 1;
    return i < k->argc ? (k->argc - i - 1) / 2 : 0;
}

static unsigned long xread_count(const struct cmd *k)
{
    int i;

    for (i = 1; i + 1 < k->argc; i++)
        if (arg_is(k, i, "COUNT"))
            return (unsigned long)arg_ll(k, i + 1);
    return 0;
}

PLUMBING static void cmd_free(struct cmd *k)
{
    int i;

    for (i = 0; i < k->argc; i++)
        free(k->argv[i]);
    free(k->argv);
    free(k->lens);
    free(k);
}

/* ---------------------------------------------------------------- offers: what replies carried */

PLUMBING static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* 1 when an offer with hash h was recorded before; else records h. */
PLUMBING static int offer_seen(unsigned long long h)
{
    size_t i;

    if (!h)
        h = 1;
    if (2 * (R.noffers + 1) > R.ohcap) {
        size_t cap = R.ohcap ? R.ohcap * 2 : 256, j;
        unsigned long long *t = calloc(cap, sizeof *t);
        if (!t)
            fail("out of memory");
        for (j = 0; j < R.ohcap; j++) {
            if (!R.ohash[j])
                continue;
            for (i = R.ohash[j] % cap; t[i]; i = (i + 1) % cap)
                ;
            t[i] = R.ohash[j];
        }
        free(R.ohash);
        R.ohash = t;
        R.ohcap = cap;
    }
    for (i = h % R.ohcap; R.ohash[i]; i = (i + 1) % R.ohcap)
        if (R.ohash[i] == h)
            return 1;
    R.ohash[i] = h;
    return 0;
}

/* An entry (its id, its fields or NULL) a reply carried for channel `name` (or -1). */
PLUMBING static void offer_entry(int name, const redisReply *idr, const redisReply *fr)
{
    const redisReply *f;
    struct offer *o;
    struct msgid id;
    unsigned long long h = 1469598103934665603ULL;
    size_t i;

    if (name < 0 || name >= NAMES || idr->type != REDIS_REPLY_STRING ||
        msgid_parse(idr->str, &id) < 0)
        return; /* no subscriber can be given it as a message */
    f = fr && fr->type == REDIS_REPLY_ARRAY ? fr : NULL;
    h = fnv(h, &name, sizeof name);
    h = fnv(h, &id, sizeof id);
    for (i = 0; f && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        h = fnv(h, k->str, strlen(k->str) + 1);
        h = fnv(h, v->str, v->len);
        h = fnv(h, "", 1);
    }
    if (offer_seen(h))
        return; /* the same entry again (a read or fetch repeated) */
    if (R.noffers == R.capoffers) {
        size_t cap = R.capoffers ? R.capoffers * 2 : 64;
        struct offer *p = realloc(R.offers, cap * sizeof *p);
        if (!p)
            fail("out of memory");
        R.offers = p;
        R.capoffers = cap;
    }
    o = &R.offers[R.noffers++];
    memset(o, 0, sizeof *o);
    o->name = name;
    o->id = id;
    o->data = calloc(f ? f->elements / 2 + 1 : 1, sizeof *o->data);
    o->dlen = calloc(f ? f->elements / 2 + 1 : 1, sizeof *o->dlen);
    o->type = strdup("");
    if (!o->data || !o->dlen || !o->type)
        fail("out of memory");
    /* names compared as C strings, as the responder compares them */
    for (i = 0; f && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "data") == 0) {
            o->data[o->ndata] = normalised(v->str, v->len, &o->dlen[o->ndata]);
            o->ndata++;
        } else if (strcmp(k->str, "type") == 0) {
            free(o->type);
            o->type = strdup(v->str);
            if (!o->type)
                fail("out of memory");
        }
    }
}

/* A reply (as the client's reader saw it) to command k. */
/* The channel an entry of fcgi-sse:log names (its field c, as a C string), or -1. */
PLUMBING static int log_name(const redisReply *f)
{
    size_t i;
    int k, name = -1;

    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *key = f->element[i], *v = f->element[i + 1];
        if (key->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strcmp(key->str, "c") != 0)
            continue;
        name = -1; /* the last one counts */
        for (k = 0; k < NAMES; k++)
            if (strcmp(v->str, names[k]) == 0)
                name = k;
    }
    return name;
}

/* A reply (as the client's reader saw it) to command k. */
PLUMBING static void offer_reply(const struct cmd *k, const redisReply *rep)
{
    size_t i, j;

    if (k->kind == K_XREAD && rep->type == REDIS_REPLY_ARRAY) {
        /* [[fcgi-sse:log, [[id, fields]...]]]: each entry of the channel its c names */
        for (i = 0; i < rep->elements; i++) {
            const redisReply *s = rep->element[i];
            if (s->type != REDIS_REPLY_ARRAY || s->elements < 2 ||
                s->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            for (j = 0; j < s->element[1]->elements; j++) {
                const redisReply *e = s->element[1]->element[j];
                if (e->type == REDIS_REPLY_ARRAY && e->elements >= 2)
                    offer_entry(log_name(e->element[1]), e->element[0], e->element[1]);
            }
        }
    } else if (k->kind == K_FETCH && rep->type == REDIS_REPLY_ARRAY) {
        /* {CURSOR, MORE, RESET, {I, ID, FIELDS}...}: of the I-th key after fcgi-sse:last */
        long long nk = arg_ll(k, 2) - 1;
        for (i = 3; i < rep->elements; i++) {
            const redisReply *e = rep->element[i];
            long long x;
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
                e->element[0]->type != REDIS_REPLY_INTEGER)
                continue;
            x = e->element[0]->integer;
            if (x >= 0 && x < nk && 4 + x < k->argc)
                offer_entry(model_name(k->argv[4 + x], k->lens[4 + x]), e->element[1],
                            e->element[2]);
        }
    } else if (k->kind == K_PUB && rep->type == REDIS_REPLY_STRING) {
        struct msgid id;
        if (msgid_parse(rep->str, &id) == 0) {
            if (R.npubids == R.cappubids) {
                size_t cap = R.cappubids ? R.cappubids * 2 : 16;
                struct msgid *p = realloc(R.pubids, cap * sizeof *p);
                if (!p)
                    fail("out of memory");
                R.pubids = p;
                R.cappubids = cap;
            }
            R.pubids[R.npubids++] = id;
        }
    }
}

PLUMBING static void offers_free(void)
{
    size_t i;
    unsigned j;

    for (i = 0; i < R.noffers; i++) {
        for (j = 0; j < R.offers[i].ndata; j++)
            free(R.offers[i].data[j]);
        free(R.offers[i].data);
        free(R.offers[i].dlen);
        free(R.offers[i].type);
    }
    free(R.offers);
    free(R.ohash);
    free(R.pubids);
    free(R.stored);
}

/* ---------------------------------------------------------------- the fake Redis's connections */

static void conn_close(struct rconn *c)
{
    while (c->head) {
        struct cmd *k = c->head;
        c->head = k->next;
        cmd_free(k);
    }
    c->tail = NULL;
    if (c->mirror)
        redisReaderFree(c->mirror);
    buf_free(&c->in);
    buf_free(&c->out);
    close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Bytes of replies go out: the second reader pairs each whole one with the oldest command
 * waiting, as hiredis pairs them with callbacks. */
PLUMBING static void mirror_feed(struct rconn *c, const char *p, size_t n)
{
    if (redisReaderFeed(c->mirror, p, n) != REDIS_OK) {
        c->dead = 1;
        return;
    }
    for (;;) {
        void *v = NULL;
        redisReply *rep;
        struct cmd *k;

        if (redisReaderGetReply(c->mirror, &v) != REDIS_OK) {
            c->dead = 1; /* a protocol error: the responder drops the connection too */
            return;
        }
        if (!v)
            return;
        rep = v;
        k = c->head;
        if (!k) {
            if (rep->type != REDIS_REPLY_ERROR)
                fail("the fake Redis sent a reply no command waits for");
            c->dead = 1; /* hiredis disconnects on an unsolicited error */
            freeReplyObject(rep);
            return;
        }
        offer_reply(k, rep);
        freeReplyObject(rep);
        c->head = k->next;
        if (!c->head)
            c->tail = NULL;
        cmd_free(k);
    }
}

/* Raw bytes: sent while a command waits for them, never past the reply of the last one. */
static void emit_raw(struct rconn *c, const uint8_t *p, size_t n)
{
    size_t i;

    trace_bytes("raw bytes on", c->id, (const char *)p, n);
    for (i = 0; i < n && c->head && !c->dead; i++) {
        buf_add(&c->out, p + i, 1);
        mirror_feed(c, (const char *)p + i, 1);
    }
}

/* One whole reply; after raw bytes that left one half-sent, it is raw bytes too. */
static void emit(struct rconn *c, const struct buf *b)
{
    if (c->dead)
        return;
    /* (hiredis 0.14's reader: ridx 0 with no type yet is the start of the next reply) */
    if (!(c->mirror->ridx == -1 || (c->mirror->ridx == 0 && c->mirror->rstack[0].type == -1)) ||
        c->mirror->pos < c->mirror->len) {
        emit_raw(c, (const uint8_t *)b->p, b->len);
        return;
    }
    trace_bytes("reply on", c->id, b->p, b->len);
    buf_add(&c->out, b->p, b->len);
    mirror_feed(c, b->p, b->len);
}

/* The live connection number i (mod their number), or NULL. */
static struct rconn *conn_pick(unsigned i)
{
    int live = 0, k;

    for (k = 0; k < CONNS_MAX; k++)
        live += R.conns[k].fd >= 0;
    if (!live)
        return NULL;
    i %= (unsigned)live;
    for (k = 0; k < CONNS_MAX; k++)
        if (R.conns[k].fd >= 0 && i-- == 0)
            return &R.conns[k];
    return NULL;
}

static int kind_of(const struct cmd *k)
{
    if (arg_is(k, 0, "FUNCTION") && arg_is(k, 1, "LOAD"))
        return K_LOAD;
    if (arg_is(k, 0, "PING"))
        return K_PING;
    if (arg_is(k, 0, "FCALL_RO") && arg_is(k, 1, "fcgi_sse_head"))
        return K_HEAD;
    if (arg_is(k, 0, "XREAD"))
        return K_XREAD;
    if (arg_is(k, 0, "FCALL") && arg_is(k, 1, "fcgi_sse_publish"))
        return K_PUB;
    if (arg_is(k, 0, "FCALL_RO") && arg_is(k, 1, "fcgi_sse_fetch"))
        return K_FETCH;
    if (arg_is(k, 0, "AUTH"))
        return K_AUTH;
    if (arg_is(k, 0, "SELECT"))
        return K_SELECT;
    return K_OTHER;
}

/* A command arrived: its reply may be armed; a new one (at the end) is progress. */
static void cmd_arrived(struct rconn *c, struct cmd *k)
{
    unsigned long long h = 1469598103934665603ULL;
    unsigned i, slot;
    int a;
    size_t j, w = 0;

    k->kind = kind_of(k);
    for (a = 0; a < k->argc; a++) {
        for (j = 0; j < k->lens[a]; j++)
            h = (h ^ (unsigned char)k->argv[a][j]) * 1099511628211ULL;
        h = (h ^ 0x100) * 1099511628211ULL;
        if (w + 1 < sizeof R.lastcmd) {
            int m = snprintf(R.lastcmd + w, sizeof R.lastcmd - w, "%s%.*s", a ? " " : "",
                             (int)(k->lens[a] < 40 ? k->lens[a] : 40), k->argv[a]);
            if (m > 0)
                w += (size_t)m;
        }
    }
    if (w >= sizeof R.lastcmd)
        R.lastcmd[sizeof R.lastcmd - 1] = '\0';
    if (tracing)
        fprintf(stderr, "  command on %lld: %s\n", c->id, R.lastcmd);
    for (slot = (unsigned)(h % SIGS), i = 0; i < SIGS; i++, slot = (slot + 1) % SIGS) {
        if (sigs[slot].gen != sig_gen) {
            sigs[slot].gen = sig_gen;
            sigs[slot].h = h;
            R.progress++;
            break;
        }
        if (sigs[slot].h == h)
            break;
    }
    if (k->kind == K_XREAD) {
        long long ms = 0;
        for (a = 1; a + 1 < k->argc; a++)
            if (arg_is(k, a, "BLOCK"))
                ms = arg_ll(k, a + 1);
        k->block_until = clock_now_ns() + ms * 1000000LL;
    }
    for (i = 0; i < R.narmed; i++) {
        if (R.armed[i].kind == K_ANY || R.armed[i].kind == k->kind) {
            k->has_spec = 1;
            k->spec = R.armed[i];
            memmove(&R.armed[i], &R.armed[i + 1], (R.narmed - i - 1) * sizeof R.armed[0]);
            R.narmed--;
            break;
        }
    }
}

/* Parses the commands read so far (arrays of bulk strings, all a client sends). */
PLUMBING static void conn_parse(struct rconn *c)
{
    for (;;) {
        const char *p = c->in.p + c->in_off, *end = c->in.p + c->in.len, *nl;
        struct cmd *k;
        long long n, i;

        if (p >= end)
            break;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (*p != '*' || nl[-1] != '\r')
            fail("the client sent something other than a RESP array");
        n = strtoll(p + 1, NULL, 10);
        if (n < 1 || n > 100000)
            fail("the client sent an array of %lld", n);
        k = calloc(1, sizeof *k);
        if (!k || !(k->argv = calloc((size_t)n, sizeof *k->argv)) ||
            !(k->lens = calloc((size_t)n, sizeof *k->lens)))
            fail("out of memory");
        p = nl + 1;
        for (i = 0; i < n; i++) {
            long long len;
            if (p >= end || !(nl = memchr(p, '\n', (size_t)(end - p))))
                break;
            if (*p != '$' || nl[-1] != '\r')
                fail("the client sent an array element that is not a bulk string");
            len = strtoll(p + 1, NULL, 10);
            if (len < 0 || len > (1LL << 30))
                fail("the client sent a bulk string of %lld bytes", len);
            p = nl + 1;
            if (end - p < len + 2)
                break;
            if (p[len] != '\r' || p[len + 1] != '\n')
                fail("a bulk string of the client does not end with CRLF");
            k->argv[i] = malloc((size_t)len + 1);
            if (!k->argv[i])
                fail("out of memory");
            memcpy(k->argv[i], p, (size_t)len);
            k->argv[i][len] = '\0';
            k->lens[i] = (size_t)len;
            k->argc++;
            p += len + 2;
        }
        if (i < n) {
            cmd_free(k); /* not all there yet */
            break;
        }
        c->in_off = (size_t)(p - c->in.p);
        cmd_arrived(c, k);
        if (c->tail)
            c->tail->next = k;
        else
            c->head = k;
        c->tail = k;
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    }
}

/* ---------------------------------------------------------------- honest replies */

static void entry_resp(struct buf *o, const struct entry *e)
{
    char t[64];

    r_arr(o, 2);
    r_bulk(o, t, xfmt(t, e->id));
    buf_add(o, e->fields.p, e->fields.len);
}

static void reply_err(struct rconn *c, const char *s)
{
    struct buf o = { 0 };

    r_line(&o, '-', s);
    emit(c, &o);
    buf_free(&o);
}

/* fcgi-sse:last matches the function's ^(%d+)-(%d+)$ */
/* FCALL fcgi_sse_publish 2 fcgi-sse:last fcgi-sse:chan:NAME HISTORY TYPE DATA, as the function. */
/* The function's split(): an id of two parts of digits, each at most 2^63-1. */
static int id_split(const char *t, size_t n, struct xid *o)
{
    const char *dash = memchr(t, '-', n);

    return dash && dash > t && dash + 1 < t + n && strspn(t, "0123456789") == (size_t)(dash - t) &&
                   strspn(dash + 1, "0123456789") == n - (size_t)(dash - t) - 1 &&
                   xparse(t, n, o) == 0 && o->ms <= PART_MAX && o->seq <= PART_MAX
               ? 0
               : -1;
}

/* The function's after_top(): *id past top (text), or -1 when top is foreign or past what
 * Lua's numbers hold exactly. */
static int after_top(struct xid *id, const char *top, size_t n)
{
    struct xid t;

    if (id_split(top, n, &t) < 0 || t.ms >= LUA_EXACT || t.seq >= LUA_EXACT)
        return -1;
    if (xcmp(*id, t) <= 0) {
        id->ms = t.ms;
        id->seq = t.seq + 1;
    }
    return 0;
}

/* FCALL fcgi_sse_publish 2 fcgi-sse:last fcgi-sse:chan:NAME HISTORY TYPE DATA, as the function:
 * the id after fcgi-sse:last, the channel's newest entry and the log's; the entry in the
 * channel and in fcgi-sse:log (c, type, data, n); the channel trimmed to HISTORY. */
static void honest_publish(struct rconn *c, struct cmd *k)
{
    struct buf o = { 0 }, f = { 0 }, lf = { 0 };
    struct xid id;
    unsigned long long history, n = 1;
    int s;
    char t[64];
    size_t tn;
    struct xstream *lg = &R.st[LOG];

    if (!R.loaded) {
        reply_err(c, "ERR Function not found");
        return;
    }
    if (k->argc != 8 || !arg_is(k, 2, "2") || strcmp(k->argv[3], "fcgi-sse:last") != 0 ||
        (s = model_name(k->argv[4], k->lens[4])) < 0 || s >= NAMES ||
        u64_parse(k->argv[5], k->lens[5], &history) < 0 || history < 1 ||
        memchr(k->argv[7], '\0', k->lens[7])) {
        reply_err(c, "ERR fcgi_sse_publish: the fake Redis refuses this");
        return;
    }
    id.ms = model_now_ms();
    id.seq = 0;
    if ((R.has_last && after_top(&id, R.last, R.last_len) < 0) ||
        (R.st[s].n && (tn = xfmt(t, R.st[s].e[R.st[s].n - 1].id),
                       after_top(&id, t, tn) < 0)) ||
        (lg->n && (tn = xfmt(t, lg->e[lg->n - 1].id), after_top(&id, t, tn) < 0))) {
        reply_err(c, "ERR fcgi_sse_publish: the newest id of a key is not one fcgi-sse makes");
        return;
    }
    if (lg->n && lg->e[lg->n - 1].has_n)
        n = lg->e[lg->n - 1].n + 1;
    if ((R.st[s].exists && xcmp(id, R.st[s].lastgen) <= 0) ||
        (lg->exists && xcmp(id, lg->lastgen) <= 0)) {
        reply_err(c, "ERR The ID specified in XADD is equal or smaller than the target stream "
                     "top item");
        return;
    }
    r_arr(&f, 4);
    r_str(&f, "type");
    r_bulk(&f, k->argv[6], k->lens[6]);
    r_str(&f, "data");
    r_bulk(&f, k->argv[7], k->lens[7]);
    r_arr(&lf, 8);
    r_str(&lf, "c");
    r_str(&lf, names[s]);
    r_str(&lf, "type");
    r_bulk(&lf, k->argv[6], k->lens[6]);
    r_str(&lf, "data");
    r_bulk(&lf, k->argv[7], k->lens[7]);
    r_str(&lf, "n");
    buf_fmt(&lf, "$%d\r\n%llu\r\n", snprintf(t, sizeof t, "%llu", n), n);
    if (model_add(s, id, &f) < 0 || model_add(LOG, id, &lf) < 0)
        fail("honest_publish: the model refused an id it checked");
    if (R.nstored == R.capstored) {
        size_t cap = R.capstored ? R.capstored * 2 : 32;
        struct stored *sp = realloc(R.stored, cap * sizeof *sp);
        if (!sp)
            fail("out of memory");
        R.stored = sp;
        R.capstored = cap;
    }
    R.stored[R.nstored].id = id;
    R.stored[R.nstored].name = s;
    R.stored[R.nstored++].turn = R.turns;
    R.last_len = xfmt(R.last, id);
    R.has_last = 1;
    if (R.st[s].n > history)
        model_del_oldest(s, (unsigned)(R.st[s].n - history));
    r_bulk(&o, t, xfmt(t, id));
    emit(c, &o);
    buf_free(&o);
}

/* FCALL_RO fcgi_sse_fetch N KEY... AFTER COUNT INFO */
/* FCALL_RO fcgi_sse_fetch N fcgi-sse:last KEY... AFTER COUNT BYTES INFO, as the function:
 * {CURSOR, MORE, RESET, {I, ID, FIELDS}...}, the entries after AFTER merged in id order
 * (foreign ids skipped), at most COUNT and, past the first, BYTES of them. */
static void honest_fetch(struct rconn *c, struct cmd *k)
{
    struct buf o = { 0 }, body = { 0 };
    long long nk = arg_ll(k, 2) - 1, i;
    struct xid after, oldest = { 0, 0 }, cursor = { 0, 0 }, cut;
    unsigned long long count, bytes, used = 0, taken = 0;
    unsigned pos[CHAN_SUB_MAX + 1];
    int st[CHAN_SUB_MAX + 1], reset = 0, have_oldest = 0, have_cursor = 0, more = 0;
    char t[64];

    if (!R.loaded) {
        reply_err(c, "ERR Function not found");
        return;
    }
    if (nk < 1 || nk > CHAN_SUB_MAX || k->argc != 3 + 1 + nk + 4 ||
        strcmp(k->argv[3], "fcgi-sse:last") != 0 ||
        id_split(k->argv[4 + nk], k->lens[4 + nk], &after) < 0 ||
        u64_parse(k->argv[5 + nk], k->lens[5 + nk], &count) < 0 || count < 1 ||
        u64_parse(k->argv[6 + nk], k->lens[6 + nk], &bytes) < 0 || bytes < 1) {
        reply_err(c, "ERR fcgi_sse_fetch: keys are fcgi-sse:last KEY..., arguments AFTER COUNT "
                     "BYTES INFO");
        return;
    }
    for (i = 0; i < nk; i++) {
        const struct xstream *x;
        st[i] = model_name(k->argv[4 + i], k->lens[4 + i]);
        pos[i] = 0;
        x = st[i] >= 0 ? &R.st[st[i]] : NULL;
        if (!x || !x->exists || !arg_is(k, 7 + (int)nk, "1"))
            continue;
        /* XINFO STREAM: max-deleted-entry-id, first-entry */
        if (x->maxdel.ms <= PART_MAX && x->maxdel.seq <= PART_MAX && xcmp(after, x->maxdel) < 0)
            reset = 1;
        if (x->n && x->e[0].id.ms <= PART_MAX && x->e[0].id.seq <= PART_MAX &&
            (!have_oldest || xcmp(x->e[0].id, oldest) < 0)) {
            oldest = x->e[0].id;
            have_oldest = 1;
        }
    }
    for (;;) {
        int best = -1;
        const struct entry *be = NULL;
        for (i = 0; i < nk; i++) {
            const struct xstream *x = st[i] >= 0 ? &R.st[st[i]] : NULL;
            /* head(i): the next entry after AFTER whose id is not foreign */
            while (x && pos[i] < x->n &&
                   (xcmp(x->e[pos[i]].id, after) <= 0 || x->e[pos[i]].id.ms > PART_MAX ||
                    x->e[pos[i]].id.seq > PART_MAX))
                pos[i]++;
            if (x && pos[i] < x->n && (!be || xcmp(x->e[pos[i]].id, be->id) < 0)) {
                best = (int)i;
                be = &x->e[pos[i]];
            }
        }
        if (!be)
            break;
        if (taken > 0 && (taken >= count || used + be->size > bytes)) {
            more = 1;
            break;
        }
        r_arr(&body, 3);
        r_int(&body, best);
        r_bulk(&body, t, xfmt(t, be->id));
        buf_add(&body, be->fields.p, be->fields.len);
        used += be->size;
        taken++;
        pos[best]++;
        cursor = be->id;
        have_cursor = 1;
    }
    if (!more) {
        if (R.has_last && id_split(R.last, R.last_len, &cut) == 0 && xcmp(after, cut) < 0 &&
            (!have_cursor || xcmp(cursor, cut) < 0)) {
            cursor = cut;
            have_cursor = 1;
        } else if (!have_cursor) {
            cursor = after;
        }
    }
    r_arr(&o, 3 + (long long)taken);
    r_bulk(&o, t, xfmt(t, cursor));
    r_int(&o, more);
    if (reset)
        r_bulk(&o, t, xfmt(t, have_oldest ? oldest : cursor));
    else
        r_str(&o, "");
    buf_add(&o, body.p, body.len);
    emit(c, &o);
    buf_free(&o);
    buf_free(&body);
}

/* FCALL_RO fcgi_sse_head 1 fcgi-sse:last: {LAST, NEWEST-LOG-ID, N}. */
static void honest_head(struct rconn *c)
{
    struct buf o = { 0 };
    const struct xstream *lg = &R.st[LOG];
    char t[64];

    if (!R.loaded) {
        reply_err(c, "ERR Function not found");
        return;
    }
    r_arr(&o, 3);
    if (R.has_last)
        r_bulk(&o, R.last, R.last_len);
    else
        r_str(&o, "");
    if (lg->n) {
        r_bulk(&o, t, xfmt(t, lg->e[lg->n - 1].id));
        r_int(&o, lg->e[lg->n - 1].has_n ? (long long)lg->e[lg->n - 1].n : 0);
    } else {
        r_str(&o, "");
        r_int(&o, 0);
    }
    emit(c, &o);
    buf_free(&o);
}

/* XREAD COUNT c BLOCK ms STREAMS KEY... ID...: 1 answered, 0 blocked. */
static int honest_xread(struct rconn *c, struct cmd *k)
{
    struct buf o = { 0 }, body = { 0 };
    int first, nk = xread_keys(k, &first), i, m = 0;
    unsigned long count = xread_count(k);

    for (i = 0; i < nk; i++) {
        struct xid after;
        int s = model_name(k->argv[first + i], k->lens[first + i]);
        const struct xstream *x = s >= 0 ? &R.st[s] : NULL;
        unsigned long have = 0;
        unsigned j;
        if (xparse(k->argv[first + nk + i], k->lens[first + nk + i], &after) < 0) {
            buf_free(&body);
            reply_err(c, "ERR Invalid stream ID specified as stream command argument");
            return 1;
        }
        for (j = 0; x && j < x->n; j++)
            have += xcmp(x->e[j].id, after) > 0;
        if (count && have > count)
            have = count;
        if (!have)
            continue;
        m++;
        r_arr(&body, 2);
        r_bulk(&body, k->argv[first + i], k->lens[first + i]);
        r_arr(&body, (long long)have);
        for (j = 0; j < x->n && have; j++) {
            if (xcmp(x->e[j].id, after) > 0) {
                entry_resp(&body, &x->e[j]);
                have--;
            }
        }
    }
    if (!m && clock_now_ns() < k->block_until) {
        buf_free(&body);
        return 0;
    }
    if (m) {
        r_arr(&o, m);
        buf_add(&o, body.p, body.len);
    } else {
        r_nilarr(&o);
    }
    emit(c, &o);
    buf_free(&o);
    buf_free(&body);
    return 1;
}

/* Answers k (the oldest command of c) as Redis would. 1, or 0 while it blocks. */
/* Answers k (the oldest command of c) as Redis would. 1, or 0 while it blocks. */
static int honest(struct rconn *c, struct cmd *k)
{
    struct buf o = { 0 };

    switch (k->kind) {
    case K_LOAD:
        R.loaded = 1;
        r_str(&o, "fcgi_sse");
        break;
    case K_PING:
        r_line(&o, '+', "PONG");
        break;
    case K_HEAD:
        honest_head(c);
        return 1;
    case K_XREAD:
        return honest_xread(c, k);
    case K_PUB:
        honest_publish(c, k);
        return 1;
    case K_FETCH:
        honest_fetch(c, k);
        return 1;
    case K_AUTH:
    case K_SELECT:
        r_line(&o, '+', "OK");
        break;
    default:
        r_line(&o, '-', "ERR unknown command");
        break;
    }
    emit(c, &o);
    buf_free(&o);
    return 1;
}

/* ---------------------------------------------------------------- armed replies */

static struct xid ref_of_last(void)
{
    struct xid l = { 0, 0 };

    if (R.has_last)
        (void)xparse(R.last, R.last_len, &l);
    return l;
}

/* A reply of the shape k expects, with hostile contents. */
/* A reply of the shape k expects, with hostile contents. */
static void shaped(struct buf *o, struct rd *r, const struct cmd *k)
{
    static const long long ints[] = { 0, -1, 1, LLONG_MAX, LLONG_MIN, 1LL << 40, 7 };
    struct xid prev = { 0, 0 }, ref = { 0, 0 };
    struct buf t = { 0 };
    int first, nk, i;
    unsigned m, b, form;
    unsigned long count;

    switch (k->kind) {
    case K_XREAD:
        /* [[fcgi-sse:log, [entry...]]], the entries with the log's fields */
        nk = xread_keys(k, &first);
        if (nk > 0)
            (void)xparse(k->argv[first + nk], k->lens[first + nk], &ref);
        m = u8(r) % 8;
        m = m < 5 ? 1 : m - 5; /* mostly one stream, as asked; or none, or two */
        r_arr(o, m);
        while (m--) {
            form = u8(r) % 8;
            r_arr(o, form == 5 ? 1 : form == 6 ? 3 : 2);
            if (form == 7)
                r_int(o, 3);
            else
                r_str(o, u8(r) % 8 ? "fcgi-sse:log" : KEY_PREFIX "a");
            if (form != 5)
                gen_entries(o, r, ref, xread_count(k), 1);
            if (form == 6)
                r_str(o, "extra");
        }
        return;
    case K_FETCH:
        /* {CURSOR, MORE, RESET, {I, ID, FIELDS}...} */
        nk = (int)arg_ll(k, 2) - 1;
        count = nk > 0 && 5 + nk < k->argc ? (unsigned long)arg_ll(k, 5 + nk) : 1;
        if (nk > 0 && 4 + nk < k->argc)
            (void)xparse(k->argv[4 + nk], k->lens[4 + nk], &ref);
        prev = ref;
        b = u8(r);
        m = b < 200 ? b % 6 : (unsigned)count + b % 3;
        if (m > REPLY_ENTRIES_MAX)
            m = REPLY_ENTRIES_MAX;
        for (i = 0; i < (int)m; i++) {
            form = u8(r) % 8;
            r_arr(&t, form == 5 ? 2 : 3);
            if (form == 6)
                r_str(&t, "0");
            else
                r_int(&t, form == 4 ? (u8(r) % 2 ? nk : -1)
                          : nk > 0  ? (long long)(u8(r) % (unsigned)nk)
                                    : 0);
            if (form == 7)
                r_int(&t, 5);
            else
                gen_id(&t, r, ref, &prev);
            if (form != 5)
                gen_fields(&t, r, 1);
        }
        form = u8(r) % 8;
        r_arr(o, form == 5 ? 2 : 3 + (long long)m);
        switch (u8(r) % 4) { /* the cursor */
        case 0:
        case 1:
            if (m) {
                char idt[64];
                r_bulk(o, idt, xfmt(idt, prev));
                break;
            }
            /* fall through */
        case 2:
            gen_id(o, r, prev, &prev);
            break;
        default:
            if (form == 6)
                r_int(o, 1);
            else
                gen_id(o, r, ref, &prev);
            break;
        }
        if (form == 7)
            r_str(o, "1");
        else
            r_int(o, u8(r) % 4 == 0 ? 1 : u8(r) % 8 == 0 ? 2 : 0);
        if (form != 5) {
            switch (u8(r) % 4) { /* the reset */
            case 0:
                gen_id(o, r, ref, &prev);
                break;
            case 1:
                r_int(o, 0);
                break;
            default:
                r_str(o, "");
                break;
            }
            buf_add(o, t.p, t.len);
        }
        buf_free(&t);
        return;
    case K_HEAD:
        /* {LAST, NEWEST-LOG-ID, N} */
        ref = ref_of_last();
        form = u8(r) % 6;
        if (form == 5) {
            r_nilarr(o);
            return;
        }
        r_arr(o, form == 3 ? 2 : 3);
        for (i = 0; i < 2; i++) {
            switch (u8(r) % 5) {
            case 0:
                r_str(o, "");
                break;
            case 1:
                r_int(o, 1);
                break;
            case 2:
                r_str(o, i ? "18446744073709551615-0" : "9223372036854775808-0");
                break;
            default:
                gen_id(o, r, ref, &prev);
                break;
            }
        }
        if (form != 3) {
            if (form == 4)
                r_str(o, "3");
            else
                r_int(o, u8(r) % 2 ? (long long)u8(r) : ints[u8(r) % COUNT_OF(ints)]);
        }
        return;
    case K_PUB:
        ref = ref_of_last();
        switch (u8(r) % 5) {
        case 0:
            r_int(o, 12);
            return;
        case 1:
            r_arr(o, 1);
            gen_id(o, r, ref, &prev);
            return;
        case 2:
            r_line(o, '+', "1-1");
            return;
        default:
            gen_id(o, r, ref, &prev);
            return;
        }
    default:
        switch (u8(r) % 4) {
        case 0:
            r_int(o, ints[u8(r) % COUNT_OF(ints)]);
            return;
        case 1:
            r_arr(o, 2);
            r_line(o, '+', "OK");
            r_nil(o);
            return;
        case 2:
            r_str(o, "OK");
            return;
        default:
            r_line(o, '+', "QUEUED");
            return;
        }
    }
}

static const char *const errors[] = {
    "ERR fuzz", "ERR Function not found", "NOSCRIPT No matching script", "LOADING Redis is loading",
    "ERR \"quoted\\ \x01\x7f\xff", "WRONGTYPE Operation against a key holding the wrong kind",
    "NOPERM this user has no permissions", "ERR",
};

/* Answers k (the oldest command of c) with its armed reply. */
static void armed_reply(struct rconn *c, struct cmd *k)
{
    struct spec sp = k->spec;
    struct rd r = { sp.p, sp.n, 0 };
    struct buf o = { 0 };
    struct xid prev = { 0, 0 };
    char e[400];
    size_t n;

    k->has_spec = 0;
    switch (sp.cls) {
    case C_ERROR:
        if (u8(&r) % 4 == 0) {
            memset(e, 'E', 300);
            e[300] = '\0';
            r_line(&o, '-', e);
        } else {
            r_line(&o, '-', errors[u8(&r) % COUNT_OF(errors)]);
        }
        break;
    case C_NIL:
        r_nil(&o);
        break;
    case C_NILARR:
        r_nilarr(&o);
        break;
    case C_INT:
        r_int(&o, (long long)(signed char)u8(&r));
        break;
    case C_STATUS:
        r_line(&o, '+', "OK");
        break;
    case C_EMPTY:
        r_arr(&o, 0);
        break;
    case C_ID:
        gen_id(&o, &r, ref_of_last(), &prev);
        break;
    case C_SHAPED:
        shaped(&o, &r, k);
        break;
    case C_RAW:
        n = sp.n;
        emit_raw(c, sp.p, n);
        return;
    case C_CLOSE:
        conn_close(c);
        return;
    default:
        (void)honest(c, k);
        return;
    }
    emit(c, &o);
    buf_free(&o);
}

/* ---------------------------------------------------------------- the fake Redis, each turn */

PLUMBING static int fake_accept(void)
{
    int act = 0;

    while (lfd >= 0) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail("accept4: %s", strerror(errno));
            break;
        }
        act = 1;
        R.progress++;
        for (i = 0; i < CONNS_MAX && R.conns[i].fd >= 0; i++)
            ;
        if (i == CONNS_MAX) {
            close(fd); /* too many: it sees the connection closed */
            continue;
        }
        memset(&R.conns[i], 0, sizeof R.conns[i]);
        R.conns[i].fd = fd;
        R.conns[i].id = ++R.next_client_id;
        R.conns[i].mirror = redisReaderCreate();
        if (!R.conns[i].mirror)
            fail("redisReaderCreate");
    }
    return act;
}

static char rbuf[65536];

PLUMBING static int conn_read(struct rconn *c)
{
    char *t = rbuf;
    int act = 0;

    for (;;) {
        ssize_t r = read(c->fd, t, sizeof rbuf);
        if (r > 0) {
            buf_add(&c->in, t, (size_t)r);
            act = 1;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(c); /* the responder closed it (or reset it) */
        return 1;
    }
    if (act)
        conn_parse(c);
    return act;
}

static int conn_serve(struct rconn *c)
{
    int act = 0;

    while (c->fd >= 0 && c->head && !c->dead) {
        struct cmd *k = c->head;
        if (k->has_spec && !R.settle) {
            if (k->spec.cls == C_HOLD) {
                if (!k->held)
                    break;
                k->has_spec = 0; /* released: honest from now on */
            } else {
                armed_reply(c, k);
                act = 1;
                continue;
            }
        }
        if (R.hold && !R.settle)
            break;
        if (!honest(c, k))
            break;
        act = 1;
        if (c->fd >= 0 && c->head == k)
            c->dead = 1; /* raw bytes before made it part of a longer reply: give up on it */
    }
    return act;
}

PLUMBING static int conn_flush(struct rconn *c)
{
    int act = 0;

    while (c->fd >= 0 && c->out_off < c->out.len) {
        ssize_t w = write(c->fd, c->out.p + c->out_off, c->out.len - c->out_off);
        if (w > 0) {
            c->out_off += (size_t)w;
            act = 1;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(c); /* EPIPE, ECONNRESET: the responder is gone from it */
        return 1;
    }
    if (c->fd >= 0 && c->out_off == c->out.len)
        c->out.len = c->out_off = 0;
    if (c->fd >= 0 && c->dead && c->out.len == 0) {
        conn_close(c);
        act = 1;
    }
    return act;
}

/* What is ready to read, of the listening socket [0], the connections [1, 1 + CONNS_MAX)
 * and the web server's side [1 + CONNS_MAX, ...). */
static struct pollfd pfd[1 + CONNS_MAX + WEBS_MAX];

PLUMBING static void ready_poll(void)
{
    int i;

    pfd[0].fd = lfd;
    for (i = 0; i < CONNS_MAX; i++)
        pfd[1 + i].fd = R.conns[i].fd;
    for (i = 0; i < WEBS_MAX; i++) {
        const struct web *w = &R.webs[i];
        pfd[1 + CONNS_MAX + i].fd =
            w->fd >= 0 && !w->eof && (!w->stalled || R.settle || R.final) ? w->fd : -1;
    }
    for (i = 0; i < 1 + CONNS_MAX + WEBS_MAX; i++) {
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
    }
    if (poll(pfd, 1 + CONNS_MAX + WEBS_MAX, 0) < 0 && errno != EINTR)
        fail("poll: %s", strerror(errno));
}

static int fake_io(void)
{
    int act = pfd[0].revents ? fake_accept() : 0, i;

    for (i = 0; i < CONNS_MAX; i++)
        if (R.conns[i].fd >= 0 && pfd[1 + i].revents && R.conns[i].fd == pfd[1 + i].fd)
            act |= conn_read(&R.conns[i]);
    for (i = 0; i < CONNS_MAX; i++)
        if (R.conns[i].fd >= 0)
            act |= conn_serve(&R.conns[i]);
    for (i = 0; i < CONNS_MAX; i++)
        if (R.conns[i].fd >= 0)
            act |= conn_flush(&R.conns[i]);
    return act;
}

/* ---------------------------------------------------------------- the web server's side */

static void fcgi_record(struct buf *b, int type, const void *c, size_t n)
{
    unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
                           (unsigned char)(n & 0xff), 0, 0 };

    buf_add(b, h, 8);
    buf_add(b, c, n);
}

static void fcgi_len(struct buf *b, size_t n)
{
    unsigned char l[4] = { (unsigned char)((n >> 24) | 0x80), (unsigned char)(n >> 16),
                           (unsigned char)(n >> 8), (unsigned char)n };

    if (n < 128) {
        l[0] = (unsigned char)n;
        buf_add(b, l, 1);
    } else {
        buf_add(b, l, 4);
    }
}

static void fcgi_param(struct buf *b, const char *k, const char *v)
{
    fcgi_len(b, strlen(k));
    fcgi_len(b, strlen(v));
    buf_add(b, k, strlen(k));
    buf_add(b, v, strlen(v));
}

/* Sends one whole request on a new connection the intake adopts; NULL when there are too many. */
static struct web *web_request(int sub, unsigned mask, const char *query, const char *last,
                        const char *body, size_t blen)
{
    static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
    struct buf req = { 0 }, params = { 0 };
    struct web *w = NULL;
    int sv[2], i;
    size_t off = 0;

    for (i = 0; i < WEBS_MAX; i++)
        if (R.webs[i].fd < 0) {
            w = &R.webs[i];
            break;
        }
    if (!w)
        return NULL;
    fcgi_param(&params, "REQUEST_METHOD", sub ? "GET" : "POST");
    fcgi_param(&params, "SCRIPT_NAME", sub ? "/sse/events" : "/sse/publish");
    fcgi_param(&params, "QUERY_STRING", query);
    if (last)
        fcgi_param(&params, "HTTP_LAST_EVENT_ID", last);
    if (!sub)
        fcgi_param(&params, "REMOTE_USER", "fuzz");
    fcgi_record(&req, 1, begin, 8);
    fcgi_record(&req, 4, params.p, params.len);
    fcgi_record(&req, 4, "", 0);
    if (blen)
        fcgi_record(&req, 5, body, blen);
    fcgi_record(&req, 5, "", 0);
    buf_free(&params);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        fail("socketpair: %s", strerror(errno));
    while (off < req.len) {
        ssize_t n = write(sv[0], req.p + off, req.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("the request does not fit in the socket");
        off += (size_t)n;
    }
    buf_free(&req);
    memset(w, 0, sizeof *w);
    w->fd = sv[0];
    w->sub = sub;
    w->mask = mask;
    if (intake_adopt(intake, sv[1]) < 0)
        fail("intake_adopt");
    return w;
}

PLUMBING static void web_stdout(const struct web *w, struct buf *out, int *ends);

/* Reads what came back (unless it stalls); notes when a subscription's header block came. */
PLUMBING static int web_read(struct web *w)
{
    char *t = rbuf;
    int act = 0;

    if (w->eof || (w->stalled && !R.settle && !R.final))
        return 0;
    for (;;) {
        ssize_t r = read(w->fd, t, sizeof rbuf);
        if (r > 0) {
            buf_add(&w->got, t, (size_t)r);
            act = 1;
            R.progress++;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        w->eof = 1; /* closed (or reset with our bytes unread) */
        w->eof_early = !R.final;
        act = 1;
        break;
    }
    if (act && w->sub && !w->header_turn) {
        struct buf out = { 0 };
        int ends;
        web_stdout(w, &out, &ends);
        if (out.len && memmem(out.p, out.len, "\r\n\r\n", 4))
            w->header_turn = R.turns;
        buf_free(&out);
    }
    return act;
}

static int web_io(void)
{
    int act = 0, i;

    for (i = 0; i < WEBS_MAX; i++)
        if (R.webs[i].fd >= 0 && pfd[1 + CONNS_MAX + i].revents &&
            pfd[1 + CONNS_MAX + i].fd == R.webs[i].fd)
            act |= web_read(&R.webs[i]);
    return act;
}

/* STDOUT of the records of w (whole ones; a stream dropped may end inside one). */
PLUMBING static void web_stdout(const struct web *w, struct buf *out, int *ends)
{
    size_t off = 0;

    *ends = 0;
    while (w->got.len - off >= 8) {
        const unsigned char *h = (const unsigned char *)w->got.p + off;
        size_t clen = ((size_t)h[4] << 8) | h[5], next = off + 8 + clen + h[6];
        if (next > w->got.len)
            break;
        if (h[0] != 1 || h[2] != 0 || h[3] != 1)
            fail("a record not of version 1 for request 1");
        if (*ends)
            fail("a record after END_REQUEST");
        if (h[1] == 6)
            buf_add(out, h + 8, clen);
        else if (h[1] == 3)
            (*ends)++;
        else if (h[1] != 7)
            fail("a record of type %u", h[1]);
        off = next;
    }
}

/* An entry offered for one of mask's channels with this id, type and data. */
PLUMBING static int offered(unsigned mask, struct msgid id, const char *type, const char *data,
                            size_t dlen)
{
    size_t i;
    unsigned j;

    for (i = 0; i < R.noffers; i++) {
        const struct offer *o = &R.offers[i];
        if (o->name >= SUB_NAMES || !(mask & (1u << o->name)) || msgid_cmp(o->id, id) != 0 ||
            strcmp(type, o->type[0] ? o->type : "message") != 0)
            continue;
        for (j = 0; j < o->ndata; j++)
            if (o->dlen[j] == dlen && memcmp(o->data[j], data, dlen) == 0)
                return 1;
    }
    return 0;
}

/* Nothing lost or held back (the subscriber got a 200, stayed to the end, and Redis was
 * honest all along and answered everything at once at the end): every message stored after
 * the subscriber's header block was seen (or, with a Last-Event-ID and nothing deleted after
 * it, every one after it), of its channels, reached it. got[0, n): the ids it received,
 * increasing. */
PLUMBING static void loss_check(const struct web *w, const struct msgid *got, size_t n)
{
    size_t i;
    unsigned k;

    for (k = 0; w->have_last && k < SUB_NAMES; k++) {
        struct msgid d = { R.st[k].maxdel.ms, R.st[k].maxdel.seq };
        if ((w->mask & (1u << k)) && R.st[k].exists && msgid_cmp(d, w->last) > 0)
            return; /* one after its Last-Event-ID was deleted: a reset may come first */
    }
    for (i = 0; i < R.nstored; i++) {
        const struct stored *m = &R.stored[i];
        struct msgid id = { m->id.ms, m->id.seq };
        size_t lo = 0, hi = n;
        if (m->name >= SUB_NAMES || !(w->mask & (1u << m->name)) ||
            (w->have_last ? msgid_cmp(id, w->last) <= 0 : m->turn <= w->header_turn))
            continue;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (msgid_cmp(got[mid], id) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || msgid_cmp(got[lo], id) != 0)
            fail("a message not delivered: %llu-%llu on channel %s, published %s, had not "
                 "reached a subscriber of %#x%s by the end, with Redis answering at once (%zu "
                 "events)", m->id.ms, m->id.seq,
                 m->name == 4 ? "L..." : names[m->name],
                 w->have_last ? "after its Last-Event-ID" : "after its header block was seen",
                 w->mask, w->have_last ? " (resumed)" : "", n);
    }
}

PLUMBING static void sub_check(const struct web *w, const struct buf *out)
{
    const char *body, *p, *end;
    struct msgid prev = { 0, 0 }, *got = NULL;
    int have_prev = 0, prev_is_last = 0, blocks = 0, had_reset = 0;
    size_t ngot = 0, capgot = 0;

    if (out->len == 0)
        return;
    if (out->len < 8 || memcmp(out->p, "Status: ", 8) != 0)
        fail("a subscription's answer does not start with a Status: line");
    if (memcmp(out->p + 8, "200", 3) != 0)
        return;
    body = strstr(out->p, "\r\n\r\n");
    if (!body)
        return; /* cut short */
    body += 4;
    if (w->have_last) {
        prev = w->last;
        have_prev = prev_is_last = 1;
    }
    end = out->p + out->len;
    if (getenv("FUZZ_REDIS_SHOW"))
        fprintf(stderr, "-- subscriber of %#x%s:\n%.*s\n", w->mask,
                w->have_last ? " (resumed)" : "", (int)(end - body), body);
    if (memchr(body, '\0', (size_t)(end - body)))
        fail("a NUL in an event stream");
    for (p = body; p < end;) {
        const char *q = memmem(p, (size_t)(end - p), "\n\n", 2);
        struct dec d;
        size_t n;
        if (!q)
            break; /* the last event was cut short (a stream dropped) */
        n = (size_t)(q + 2 - p);
        decode(&d, p, n);
        if (d.events > 1 || d.unknown_lines || (blocks && d.retry_lines))
            fail("a block of the event stream holds more than one event or a foreign line: %.*s",
                 (int)(n < 300 ? n : 300), p);
        if (d.events == 1) {
            struct dec_event *e = &d.ev[0];
            struct msgid id;
            char canon[MSGID_STR_MAX];
            if (!e->id[0]) {
                if (strcmp(e->type, "reset") != 0 || msgid_parse(e->data, &id) < 0)
                    fail("an event with no id that is not a reset: %.*s",
                         (int)(n < 300 ? n : 300), p);
                had_reset = 1;
            } else {
                if (msgid_parse(e->id, &id) < 0)
                    fail("an event id that is not an id: %s", e->id);
                msgid_format(canon, id);
                if (strcmp(canon, e->id) != 0)
                    fail("an event id not in canonical form: %s", e->id);
                if (have_prev && msgid_cmp(id, prev) <= 0)
                    fail("ids of a subscriber do not increase: %s after %llu-%llu%s", e->id,
                         prev.ms, prev.seq, prev_is_last ? " (its Last-Event-ID)" : "");
                prev = id;
                have_prev = 1;
                prev_is_last = 0;
                if (e->data_len > R.max_message ||
                    (strcmp(e->type, "message") != 0 && !text_name_ok(e->type, CHAN_TYPE_MAX)))
                    fail("a message fcgi_sse_publish would not make reached a subscriber: %.*s",
                         (int)(n < 300 ? n : 300), p);
                if (!offered(w->mask, id, e->type, e->data, e->data_len))
                    fail("an event no reply carried for the subscriber's channels: %.*s",
                         (int)(n < 300 ? n : 300), p);
                if (ngot == capgot) {
                    struct msgid *g;
                    capgot = capgot ? capgot * 2 : 64;
                    g = realloc(got, capgot * sizeof *g);
                    if (!g)
                        fail("out of memory");
                    got = g;
                }
                got[ngot++] = id;
            }
        }
        dec_free(&d);
        blocks++;
        p += n;
    }
    if (R.final && !R.hostile && !w->eof_early && w->header_turn && !had_reset)
        loss_check(w, got, ngot);
    free(got);
}

PLUMBING static void publish_check(const struct web *w, const struct buf *out, int ends)
{
    const char *idp;
    struct msgid id;
    char t[MSGID_STR_MAX + 1];
    size_t i, n;

    if (ends != 1)
        fail("a publish not answered (%d END_REQUEST)", ends);
    if (out->len < 12 || memcmp(out->p, "Status: ", 8) != 0)
        fail("a publish's answer does not start with a Status: line");
    if (memcmp(out->p + 8, "200", 3) != 0)
        return;
    idp = strstr(out->p, "\"id\":\"");
    if (!idp)
        fail("a publish answered 200 without an id");
    idp += 6;
    n = strcspn(idp, "\"");
    if (n >= sizeof t)
        fail("a publish answered with a long id");
    memcpy(t, idp, n);
    t[n] = '\0';
    if (msgid_parse(t, &id) < 0)
        fail("a publish answered with %s", t);
    for (i = 0; i < R.npubids; i++)
        if (msgid_cmp(R.pubids[i], id) == 0)
            return;
    fail("a publish answered with an id Redis did not give: %s", t);
    (void)w;
}

PLUMBING static void web_close(struct web *w)
{
    struct buf out = { 0 };
    int ends;

    w->stalled = 0;
    while (web_read(w))
        ;
    web_stdout(w, &out, &ends);
    if (w->sub)
        sub_check(w, &out);
    else
        publish_check(w, &out, ends);
    buf_free(&out);
    buf_free(&w->got);
    close(w->fd);
    w->fd = -1;
}

/* ---------------------------------------------------------------- turning the loop */

static int turn(void)
{
    int r, act;

    R.turns++;
    r = loop_once(loop, 0, NULL);
    if (r < 0)
        fail("loop_once");
    act = r > 0;
    ready_poll();
    act |= fake_io();
    act |= web_io();
    return act;
}

/* Until two quiet turns in a row, at most max. */
static void pump(int max)
{
    int i, idle = 0;

    for (i = 0; i < max && idle < 2; i++)
        idle = turn() ? 0 : idle + 1;
}

/* Redis is honest: the loop must become quiet, or at least keep doing something new. */
static void quiet(void)
{
    int idle = 0, i, same = 0;

    sig_gen++;
    for (i = 0; idle < 2; i++) {
        unsigned long before = R.progress;
        int act = turn();
        idle = act ? 0 : idle + 1;
        same = act && R.progress == before ? same + 1 : 0;
        if (same > SPIN_TURNS)
            fail("a spin: %d turns sending only what was sent before, and nothing reaches a "
                 "client; the last command: %s", SPIN_TURNS, R.lastcmd);
        if (i > SETTLE_MAX)
            fail("still busy after %d turns; the last command: %s", SETTLE_MAX, R.lastcmd);
    }
}

/* Redis turns honest (and the link gets the time to come back if it is down). */
static void settle(void)
{
    int round;

    if (tracing)
        fprintf(stderr, "settle: Redis is honest\n");
    R.settle = 1;
    R.narmed = 0;
    if (lfd < 0)
        listen_open();
    for (round = 0; round < 3; round++) {
        quiet();
        if (stats.redis.connected)
            break;
        vclock_ns += 5100 * 1000000LL; /* past the longest backoff */
    }
}

/* ---------------------------------------------------------------- operations */

enum op { OP_SUB, OP_UNSUB, OP_PUB, OP_ARM, OP_XADD, OP_TRIM, OP_TIME, OP_HOLD, OP_CLOSE, OP_RAW,
          OP_STALL, OP_LISTEN, OP_SETLAST, OP_FLUSH, OP_CROWD, OP_RESTART, OP_PUMP, NOPS };

static void listen_open(void)
{
    struct sockaddr_un sa;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    unlink(sock_path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0)
        fail("the fake Redis's socket %s: %s", sock_path, strerror(errno));
}

static void listen_close(void)
{
    close(lfd);
    lfd = -1;
    unlink(sock_path);
}

static struct web *web_pick(unsigned i, int sub)
{
    int live = 0, k;

    for (k = 0; k < WEBS_MAX; k++)
        live += R.webs[k].fd >= 0 && R.webs[k].sub == sub;
    if (!live)
        return NULL;
    i %= (unsigned)live;
    for (k = 0; k < WEBS_MAX; k++)
        if (R.webs[k].fd >= 0 && R.webs[k].sub == sub && i-- == 0)
            return &R.webs[k];
    return NULL;
}

static void op_sub(struct rd *r)
{
    unsigned mask = u8(r) % (1u << SUB_NAMES), mode = u8(r) % 8, i;
    char query[1024], last[64];
    size_t q = 0;
    const char *lp = last;
    struct xid id = { 0, 0 };
    struct web *w;
    int k, subs = 0;

    for (k = 0; k < WEBS_MAX; k++)
        subs += R.webs[k].fd >= 0 && R.webs[k].sub;
    if (subs >= SUBS_MAX && !R.crowd)
        return;
    if (!mask)
        mask = 1;
    for (i = 0; i < SUB_NAMES; i++)
        if (mask & (1u << i))
            q += (size_t)snprintf(query + q, sizeof query - q, "%schannel=%s", q ? "&" : "",
                                  names[i]);
    switch (mode) {
    case 1:
        strcpy(last, "0-0");
        break;
    case 2:
    case 6: {
        unsigned s = u8(r) % NAMES, e = u8(r);
        if (R.st[s].n)
            id = R.st[s].e[e % R.st[s].n].id;
        if (mode == 6)
            id = xprev(id);
        xfmt(last, id);
        break;
    }
    case 3:
        if (R.has_last)
            snprintf(last, sizeof last, "%.*s", (int)R.last_len, R.last);
        else
            strcpy(last, "1-0");
        break;
    case 4:
        snprintf(last, sizeof last, "%u-%u", u8(r), u8(r));
        break;
    case 5:
        strcpy(last, "9223372036854775807-9223372036854775807");
        break;
    default:
        lp = NULL;
        break;
    }
    if (tracing)
        fprintf(stderr, "  ?%s Last-Event-ID: %s\n", query, lp ? lp : "(none)");
    w = web_request(1, mask, query, lp, NULL, 0);
    if (w && lp && msgid_parse(last, &w->last) == 0)
        w->have_last = 1;
}

static void op_pub(struct rd *r)
{
    static const char *const ptypes[] = {
        NULL, "t", "reset", "message",
        "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt", /* 64 */
    };
    static const size_t big[] = { 2000, 8100, 8999, 20000 };
    unsigned name = u8(r) % NAMES;
    const char *t = ptypes[u8(r) % COUNT_OF(ptypes)];
    unsigned b = u8(r);
    size_t n = b % 64, i;
    const uint8_t *p;
    static char body[20000];
    char query[256];

    if (b >= 240) {
        /* a large one: in pieces to a subscriber, or over --max-message (413) */
        n = big[b % COUNT_OF(big)];
        for (i = 0; i < n; i++)
            body[i] = i % 80 == 79 ? '\n' : (char)('A' + i % 26);
        p = (const uint8_t *)body;
    } else {
        p = take(r, &n);
    }
    snprintf(query, sizeof query, "channel=%s%s%s", names[name], t ? "&event=" : "", t ? t : "");
    if (tracing)
        trace_bytes(query, 0, (const char *)p, n);
    web_request(0, 0, query, NULL, (const char *)p, n);
}

static void op_arm(struct rd *r)
{
    struct spec sp;

    sp.kind = (int)(u8(r) % (K_ANY + 1));
    sp.cls = (int)(u8(r) % NCLS);
    sp.n = u8(r) % 64;
    sp.p = take(r, &sp.n);
    if (R.narmed < ARMED_MAX)
        R.armed[R.narmed++] = sp;
}

static void op_xadd(struct rd *r)
{
    int s = (int)(u8(r) % NSTREAMS);
    unsigned mode = u8(r) % 8;
    struct xstream *x = &R.st[s];
    struct xid id, top = x->exists ? x->lastgen : (struct xid){ 0, 0 };
    struct buf f = { 0 };
    int set_last;

    switch (mode) {
    case 1: /* past 2^63-1: a writer that is not fcgi-sse */
        id.ms = 9223372036854775808ULL + u8(r);
        id.seq = 0;
        break;
    case 2:
        id.ms = ULLONG_MAX;
        id.seq = ULLONG_MAX - u8(r) % 2;
        break;
    case 3:
        id.ms = top.ms;
        id.seq = 9223372036854775807ULL + u8(r) % 2;
        break;
    case 4:
        id.ms = top.ms + u8(r);
        id.seq = u8(r);
        break;
    default: /* "*": the time, or after the top */
        id.ms = model_now_ms();
        id.seq = 0;
        if (xcmp(id, top) <= 0)
            id = xnext(top);
        break;
    }
    set_last = u8(r) % 4 == 0;
    if (s == LOG)
        gen_log_fields(&f, r, 0);
    else
        gen_fields(&f, r, 0);
    if (tracing) {
        char t[64];
        xfmt(t, id);
        trace_bytes(t, s, f.p, f.len);
    }
    if (model_add(s, id, &f) == 0 && set_last) {
        R.last_len = xfmt(R.last, id);
        R.has_last = 1;
    }
}

static void op_setlast(struct rd *r)
{
    struct buf o = { 0 };
    struct xid prev = ref_of_last();
    redisReader *rr;
    void *v = NULL;

    if (u8(r) % 4 == 0) {
        R.has_last = 0;
        return;
    }
    gen_id(&o, r, prev, &prev);
    /* the bulk string's contents */
    rr = redisReaderCreate();
    if (!rr || redisReaderFeed(rr, o.p, o.len) != REDIS_OK ||
        redisReaderGetReply(rr, &v) != REDIS_OK || !v)
        fail("op_setlast");
    if (((redisReply *)v)->type == REDIS_REPLY_STRING && ((redisReply *)v)->len < sizeof R.last) {
        memcpy(R.last, ((redisReply *)v)->str, ((redisReply *)v)->len);
        R.last_len = ((redisReply *)v)->len;
        R.has_last = 1;
    }
    freeReplyObject(v);
    redisReaderFree(rr);
    buf_free(&o);
}

static void op_time(struct rd *r)
{
    static const long long steps_ms[] = { 1, 6, 100, 250, 1000, 2100, 5100, 10100, 15100, 60000 };
    int i;

    vclock_ns += steps_ms[u8(r) % COUNT_OF(steps_ms)] * 1000000LL;
    for (i = 0; i < CONNS_MAX; i++) {
        struct cmd *k;
        if (R.conns[i].fd >= 0)
            for (k = R.conns[i].head; k; k = k->next)
                k->held = 1; /* a slow reply comes now */
    }
}

static void op(struct rd *r)
{
    static const char *const op_names[] = { "subscribe", "unsubscribe", "publish", "arm",
                                            "xadd", "trim", "time", "hold", "close", "raw",
                                            "stall", "listen", "setlast", "flush", "crowd",
                                            "restart", "pump" };
    struct rconn *c;
    struct web *w;
    size_t n;
    const uint8_t *p;
    unsigned which = u8(r) % NOPS;

    if (tracing)
        fprintf(stderr, "op %s (input byte %zu)\n", op_names[which], r->off - 1);
    /* what a Redis that keeps what it stored and answers at once does not do: no loss check */
    if (which == OP_ARM || which == OP_XADD || which == OP_TRIM || which == OP_HOLD ||
        which == OP_CLOSE || which == OP_RAW || which == OP_LISTEN || which == OP_SETLAST ||
        which == OP_FLUSH || which == OP_RESTART)
        R.hostile = 1;
    switch (which) {
    case OP_SUB:
        op_sub(r);
        break;
    case OP_UNSUB:
        w = web_pick(u8(r), 1);
        if (w)
            web_close(w);
        break;
    case OP_PUB:
        op_pub(r);
        break;
    case OP_ARM:
        op_arm(r);
        break;
    case OP_XADD:
        op_xadd(r);
        break;
    case OP_TRIM: {
        int s = (int)(u8(r) % NSTREAMS);
        model_del_oldest(s, u8(r) % 4 + 1);
        break;
    }
    case OP_TIME:
        op_time(r);
        break;
    case OP_HOLD:
        R.hold = !R.hold;
        break;
    case OP_CLOSE:
        c = conn_pick(u8(r));
        if (c)
            conn_close(c);
        break;
    case OP_RAW:
        c = conn_pick(u8(r));
        n = u8(r) % 64;
        p = take(r, &n);
        if (!c)
            break;
        if (!c->head && n && p[0] == '-') {
            /* an error no command waits for (a server refusing a client) */
            struct buf o = { 0 };
            r_line(&o, '-', "ERR max number of clients reached");
            buf_add(&c->out, o.p, o.len);
            mirror_feed(c, o.p, o.len);
            buf_free(&o);
        } else {
            emit_raw(c, p, n);
        }
        break;
    case OP_STALL:
        w = web_pick(u8(r), 1);
        if (w)
            w->stalled = !w->stalled;
        break;
    case OP_LISTEN:
        if (lfd >= 0)
            listen_close();
        else
            listen_open();
        break;
    case OP_SETLAST:
        op_setlast(r);
        break;
    case OP_FLUSH:
        R.loaded = 0;
        break;
    case OP_RESTART: {
        /* Redis restarts without persistence: connections, keys and functions gone */
        int i;
        for (i = 0; i < CONNS_MAX; i++)
            if (R.conns[i].fd >= 0)
                conn_close(&R.conns[i]);
        model_free();
        memset(R.st, 0, sizeof R.st);
        R.has_last = 0;
        R.loaded = 0;
        break;
    }
    case OP_CROWD: {
        /* subscribers that resume and read nothing: they hold the fetch slots */
        unsigned k, name, i;
        char query[256], last[64];
        struct xid l = { 0, 0 };
        if (u8(r) != CROWD_MARK || R.crowd)
            break; /* one an input */
        k = CROWD + u8(r) % 4;
        name = u8(r) % SUB_NAMES;
        R.crowd = 1;
        snprintf(query, sizeof query, "channel=%s", names[name]);
        /* from the newest id: a fetch holds its slot while in flight, whatever it brings
         * (a crowd resuming from 0-0 fetched all the history 64 times over) */
        if (R.has_last && id_split(R.last, R.last_len, &l) < 0)
            l.ms = l.seq = 0;
        xfmt(last, l);
        for (i = 0; i < k; i++) {
            w = web_request(1, 1u << name, query, last, NULL, 0);
            if (!w)
                break;
            w->stalled = 1;
            w->have_last = msgid_parse(last, &w->last) == 0;
        }
        break;
    }
    default:
        pump(256);
        return;
    }
    pump(OP_TURNS);
}

/* ---------------------------------------------------------------- setup and the input */

static void cleanup_dir(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

static void setup(void)
{
    struct sockaddr_un sa;
    socklen_t sl;
    struct sigaction ign;
    const char *tmp = getenv("TMPDIR");
    int fd, i;

    if (FCGX_Init() != 0)
        fail("FCGX_Init");
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);
    loop = loop_create();
    if (!loop)
        fail("loop_create");
    /* the intake's listening socket, never connected to (abstract: nothing to clean) */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                     (size_t)snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1,
                                      "fcgi-sse-fuzz-redis-%ld", (long)getpid()));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0)
        fail("the listening socket");
    icfg.listen_fd = fd;
    /* the fake Redis: a unix socket in a directory of its own */
    if (!tmp || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(sock_dir, sizeof sock_dir, "%s/fuzz-redis-XXXXXX", tmp);
    if (!mkdtemp(sock_dir))
        fail("mkdtemp %s: %s", sock_dir, strerror(errno));
    snprintf(sock_path, sizeof sock_path, "%s/redis.sock", sock_dir);
    atexit(cleanup_dir);
    listen_open();
    memset(long_name, 'L', CHAN_NAME_MAX);
    for (i = 0; i < NAMES; i++)
        keylens[i] = (size_t)snprintf(keys[i], sizeof keys[i], KEY_PREFIX "%s", names[i]);
    keylens[LOG] = (size_t)snprintf(keys[LOG], sizeof keys[LOG], "fcgi-sse:log");
}

/* Descriptors open now (libFuzzer may open some between inputs, never during one). */
PLUMBING static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int k = 0;

    if (!d)
        fail("opendir /proc/self/fd");
    while (readdir(d))
        k++;
    closedir(d);
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    static int ready;
    static const unsigned long max_messages[] = { 64, 1024, 9000, 16ul << 20 };
    static const unsigned long histories[] = { 2, 5, 64, 1000 };
    struct rd r = { in, n, 0 };
    struct redis_config rc;
    struct chan_limits lim = { 64, 3600000ULL, 1u << 20, 0, 0 };
    char err[200];
    unsigned conf;
    int fds, i, ops, after;

    if (!ready) {
        setup();
        tracing = getenv("FUZZ_REDIS_TRACE") != NULL;
        ready = 1;
    }
    fds = open_fds();
    memset(&R, 0, sizeof R);
    for (i = 0; i < CONNS_MAX; i++)
        R.conns[i].fd = -1;
    for (i = 0; i < WEBS_MAX; i++)
        R.webs[i].fd = -1;
    vclock_ns = 0;
    R.loaded = 0;
    conf = u8(&r);
    if (tracing)
        fprintf(stderr, "config %#x: --max-message %lu, --history %lu, auth/db %u, sndbuf %s, "
                "heartbeat %s\n", conf, max_messages[conf & 3], histories[(conf >> 2) & 3],
                (conf >> 4) & 3, conf & 0x40 ? "16k" : "64k", conf & 0x80 ? "15 s" : "off");
    R.max_message = max_messages[conf & 3];
    R.history = histories[(conf >> 2) & 3];
    lim.history = R.history; /* --history is both the engine's and the streams' */

    memset(&stats, 0, sizeof stats);
    stats.max_streams = WEBS_MAX;
    memset(&rc, 0, sizeof rc);
    {
        char url[sizeof sock_path + 8];
        snprintf(url, sizeof url, "unix:%s", sock_path);
        if (redisurl_parse(url, &rc.url, err, sizeof err) < 0)
            fail("%s", err);
    }
    switch ((conf >> 4) & 3) {
    case 1:
        strcpy(rc.url.password, "secret");
        break;
    case 2:
        strcpy(rc.url.user, "fuzz");
        strcpy(rc.url.password, "secret");
        break;
    case 3:
        rc.url.db = 3;
        break;
    }
    rc.history = R.history;
    rc.max_message = R.max_message;
    responder_start(&rc, &lim, conf & 0x80 ? 15000000000LL : 0, conf & 0x40 ? 16384 : 65536);

    /* no turn before the first operation: it races the link's first connection (a
     * subscriber may come before Redis was ever reached) */
    for (ops = 0, after = 0; ops < OPS_MAX && r.off < r.n; ops++) {
        if (R.crowd && after++ == CROWD_OPS)
            break;
        op(&r);
    }
    settle();

    /* the end: everything let go of */
    R.final = 1;
    responder_stop();
    for (i = 0; i < CONNS_MAX; i++)
        if (R.conns[i].fd >= 0)
            conn_close(&R.conns[i]);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            break;
        close(fd);
    }
    for (i = 0; i < WEBS_MAX; i++) {
        struct web *w = &R.webs[i];
        if (w->fd < 0)
            continue;
        (void)web_read(w);
        if (!w->eof)
            fail("a connection of the web server is still open after the end");
        web_close(w);
    }
    model_free();
    offers_free();

    if (stats.streams_open != 0)
        fail("a stream slot was not given back");
    if (loop_timers(loop) != 0)
        fail("a timer left in the loop");
    if (open_fds() != fds)
        fail("a descriptor left open");
    return 0;
}

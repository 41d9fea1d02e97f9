/* rbus_int.h -- what the parts of the Redis link share: the link, its channels and fetches (rbus*.c only) */
#ifndef FCGI_SSE_RBUS_INT_H
#define FCGI_SSE_RBUS_INT_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "rbus.h"

#define RBUS_KEY_LAST "fcgi-sse:last"
#define RBUS_KEY_PREFIX "fcgi-sse:chan:"
#define RBUS_KEY_MAX (sizeof RBUS_KEY_PREFIX + CHAN_NAME_MAX)
/* The blocking read: at most this long (a watchdog sees a dead link
 * within it plus RBUS_REPLY_NS); its reply at most about RBUS_READ_BYTES
 * (entries of --max-message over all its channels), and at most
 * RBUS_READ_COUNT entries a stream. */
#define RBUS_BLOCK_MS 5000
#define RBUS_READ_COUNT 256
#define RBUS_READ_BYTES (16 * 1024 * 1024)
/* A reply (or a connection) later than this: the link is taken for dead. */
#define RBUS_REPLY_NS (5 * 1000000000LL)
#define RBUS_CONNECT_NS (2 * 1000000000LL)
/* Reconnecting: after 100 ms, doubling up to 5 s. */
#define RBUS_BACKOFF_MIN_NS 100000000LL
#define RBUS_BACKOFF_MAX_NS (5 * 1000000000LL)
/* Publishes waiting for Redis at most (more: 503). */
#define RBUS_PUB_MAX 4096
/* Fetches holding a slot (in flight, or their batch being written) at
 * most; with RBUS_FETCH_BYTES each, resumes hold at most their product. */
#define RBUS_FETCH_SLOTS 64
#define RBUS_FETCH_BYTES (1024 * 1024)
/* CLIENT UNBLOCK that found the read not yet blocked: tried again after this. */
#define RBUS_UNBLOCK_RETRY_NS 5000000LL

/* A channel the blocking read covers: some local subscriber wants it. */
struct rchan {
    struct rchan *next;
    unsigned refs;                 /* rbus_watch calls not yet undone; 0: to be freed */
    int known;                     /* pos is fixed */
    int asking;                    /* GET fcgi-sse:last in flight to fix it */
    unsigned known_gen;            /* the bus's gen when pos was fixed */
    struct msgid pos;              /* the newest entry read (or the start): read after it */
    size_t keylen;
    char key[RBUS_KEY_MAX];        /* fcgi-sse:chan:NAME */
};

enum rbus_state { RBUS_DOWN, RBUS_CONNECTING, RBUS_UP };

struct rbus_fetch {
    struct rbus *b;
    struct rbus_fetch *next;       /* the queue waiting for a slot or for Redis */
    rbus_fetch_fn fn;
    void *arg;                     /* NULL: released while in flight */
    int queued, in_flight, slot;
    int now;                       /* only the last id issued */
    int check_reset;
    struct msgid after;
    unsigned n;
    char keys[CHAN_SUB_MAX][RBUS_KEY_MAX];
};

struct rbus {
    struct loop *loop;
    struct chan_engine *engine;
    struct stats_redis *st;
    struct rbus_config cfg;
    struct ctl_publisher publisher;
    enum rbus_state state;
    redisAsyncContext *cmd;        /* commands: FUNCTION LOAD, FCALL, GET, CLIENT UNBLOCK */
    redisAsyncContext *rd;         /* the blocking read */
    int cmd_ready, rd_ready;       /* handshakes answered */
    long long rd_id;               /* CLIENT ID of rd (for CLIENT UNBLOCK) */
    struct loop_timer retry;       /* reconnect after backoff */
    struct loop_timer watchdog;    /* connect and reply timeouts, each second */
    struct loop_timer teardown;    /* frees what a failure left, outside hiredis's calls */
    struct loop_timer unblock;     /* CLIENT UNBLOCK again */
    long long backoff_ns, connect_started, cmd_progress, rd_sent;
    unsigned long cmd_pending;     /* commands in flight on cmd */
    int connected_once;
    struct rchan *chans;
    unsigned long nchans, nreaped;
    unsigned gen, read_gen;        /* bumped when a channel's pos is fixed / of the read */
    int reading, in_read;
    unsigned long read_count;      /* COUNT of the read in flight */
    unsigned long pub_pending;
    struct rbus_fetch *fq_head, *fq_tail;
    unsigned slots;
    struct log_limit warn;
};


/* rbus.c: the link */
/* A connection failed (or Redis misbehaved): both go, the reconnect is
 * scheduled (why + detail is what /status shows, the first cause kept). */
void rbus_down(struct rbus *b, const char *why, const char *detail);
/* Frees both contexts (never from inside a hiredis callback of another). */
void rbus_free_contexts(struct rbus *b);
/* Sends a command on the command connection, counted for the watchdog. 0, or -1. */
int rbus_cmd(struct rbus *b, redisCallbackFn *fn, void *priv, int argc, const char **argv,
             const size_t *lens);
/* The fields of a stream entry as fcgi_sse_publish writes them: 1 when it is
 * such a message, 0 when only its id parses (logged, skipped), -1 otherwise. */
int rbus_fields(struct rbus *b, const redisReply *e, struct msgid *id, const char **type,
                const char **data, size_t *len);
/* The message of an entry, or NULL (skipped, *bad when not even its id parses; or ENOMEM). */
struct msg *rbus_entry(struct rbus *b, const redisReply *e, struct msgid *id, int *bad);

/* rbus_pub.c: publishing (the ctl_publisher) */
void rbus_publish(void *ctx, struct stream *s, const char *channel, const char *type,
                  const char *body, size_t len);

/* rbus_read.c: the blocking read */
/* One XREAD BLOCK over the channels wanted, unless one is in flight. */
void rbus_read_next(struct rbus *b);
/* Fixes where the read of c starts (GET fcgi-sse:last). */
void rbus_ask_pos(struct rbus *b, struct rchan *c);
/* The unblock timer: CLIENT UNBLOCK again. */
void rbus_on_unblock(struct loop *l, struct loop_timer *t);

/* rbus_fetch.c: fetches for subscribers */
/* Sends the fetches that wait, while there are slots and Redis is up. */
void rbus_fetch_pump(struct rbus *b);

#endif

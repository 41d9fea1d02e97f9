/* msgid.h -- message ids MS-SEQ: Unix time in ms, a sequence within it; strictly increasing (pure) */
#ifndef FCGI_SSE_HTTP_MSGID_H
#define FCGI_SSE_HTTP_MSGID_H

#include <stddef.h>

/* The form Redis stream ids use: one Last-Event-ID covers every channel
 * of a connection because ids grow across all channels of a responder. */
struct msgid {
    unsigned long long ms;    /* Unix time in milliseconds */
    unsigned long long seq;   /* within that millisecond, from 0 */
};

/* Room for "MS-SEQ" and its NUL. */
#define MSGID_STR_MAX 42

/* <0, 0, >0 as a is before, equal to, after b. */
int msgid_cmp(struct msgid a, struct msgid b);

/* 1 for 0-0, the id before every message. */
int msgid_is_zero(struct msgid a);

/* Writes "MS-SEQ" (NUL-terminated) into buf (MSGID_STR_MAX bytes);
 * returns its length. */
size_t msgid_format(char *buf, struct msgid id);

/* Parses "MS-SEQ": decimal digits, a dash, decimal digits, nothing else
 * (no sign, no space), each part below 2^63. 0, or -1. */
int msgid_parse(const char *s, struct msgid *out);

/* The next id after *last at wall time now_ms: (now_ms, 0) when the clock
 * moved on, else (last.ms, last.seq + 1), so that ids never go back even
 * when the clock steps back. Stores it in *last and returns it. */
struct msgid msgid_next(struct msgid *last, unsigned long long now_ms);

#endif

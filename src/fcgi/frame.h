/* frame.h -- checks a FastCGI request's records as they arrive, before libfcgi reads any (pure) */
#ifndef FCGI_SSE_FCGI_FRAME_H
#define FCGI_SSE_FCGI_FRAME_H

#include <stddef.h>

/* Params (all name-value pairs) larger than this are refused: no web
 * server sends request headers of this size. */
#define FRAME_PARAMS_MAX (128 * 1024)

/* What a request may look like, for libfcgi to be handed it. libfcgi
 * (2.4.2) trusts its peer: it answers management records with sprintf
 * into a 64-byte stack buffer, leaks on unknown ones, takes the end of
 * another request id's params for its own, adds two 31-bit lengths in an
 * int and aborts when the allocation fails, and writes on a blocking
 * socket. So only one shape passes: BEGIN_REQUEST (responder role) for
 * one request id, PARAMS records up to an empty one, STDIN records up to
 * an empty one, all with that id; no management record (request id 0),
 * no other type, no second BEGIN. */
struct frame_limits {
    size_t body_max;      /* STDIN content allowed; beyond it FRAME_TOO_BIG */
    size_t raw_max;       /* bytes of records (headers, padding included) in all */
};

enum frame_result {
    FRAME_MORE = 0,   /* nothing wrong so far; the request has not ended */
    FRAME_DONE,       /* the request is complete: bytes [0, end) */
    FRAME_TOO_BIG,    /* the params are complete ([0, params_end)) but the
                         body is over body_max: answer 413 */
    FRAME_ABORT,      /* the web server aborted it (FCGI_ABORT_REQUEST) */
    FRAME_BAD         /* refuse the connection; why says what was wrong */
};

/* Follows the name-value pair encoding across PARAMS records. */
struct frame_nv {
    int field;              /* 0: name length, 1: value length, 2: skipping the bytes */
    int have;               /* bytes of the current length read */
    unsigned char len[4];
    unsigned long lens[2];
    unsigned long skip;     /* name + value bytes still to pass */
};

/* The state of one connection's request. Zero it, set limits, then
 * call frame_scan with the bytes received so far, as often as more
 * arrive (the same buffer, longer). */
struct frame {
    struct frame_limits lim;
    size_t off;             /* start of the first record not yet checked */
    unsigned req_id;        /* 0 until BEGIN_REQUEST */
    int phase;              /* 0: before BEGIN, 1: params, 2: stdin, 3: done */
    size_t params_len;      /* params content so far */
    size_t body_len;        /* stdin content so far */
    size_t params_end;      /* once phase >= 2: just past the empty PARAMS record */
    size_t end;             /* once done: just past the empty STDIN record */
    int keep_conn;          /* FCGI_KEEP_CONN was asked for (we close anyway) */
    struct frame_nv nv;
    const char *why;        /* with FRAME_BAD: a static one-line reason */
    int oversize;           /* with FRAME_BAD: the bytes passed lim.raw_max */
};

/* Checks buf[0, n), which must start with the bytes of earlier calls.
 * Only whole records are judged; a record still arriving is waited for
 * (FRAME_MORE). Once a result other than FRAME_MORE was returned, the
 * same result is returned again. Never reads outside buf[0, n). */
enum frame_result frame_scan(struct frame *f, const unsigned char *buf, size_t n);

/* Rewrites the whole records of buf[0, n) in place without their padding
 * (a trailing partial record is dropped) and returns the new length.
 * libfcgi 2.4.2 does not skip the padding of BEGIN_REQUEST nor of the
 * record that ends the params (SetReaderType forgets it) and would read
 * it as records: whatever a peer hid there would reach libfcgi unchecked.
 * So it is only ever given records without padding. */
size_t frame_strip_padding(unsigned char *buf, size_t n);

#endif

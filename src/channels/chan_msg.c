/* chan_msg.c -- one message of the channel engine: made once (an SSE event, or an internal channel's codec), counted while held */
#include "config.h"

#include "channels/chan_int.h"
#include "http/sse.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void msg_ref(struct msg *m)
{
    m->refs++;
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0) {
        if (m->held)
            *m->held -= m->cost;
        free(m);
    }
}

/* The bytes of the event: id, event, data lines, blank line (sse_encode). */
static size_t wire_size(size_t idlen, const char *type, const char *data, size_t len)
{
    size_t lines = 1, i;

    for (i = 0; i < len; i++)
        if (data[i] == '\n' || (data[i] == '\r' && !(i + 1 < len && data[i + 1] == '\n')))
            lines++;
    return 4 + idlen + 1 + (type ? 7 + strlen(type) + 1 : 0) + len + lines * 7 + 1;
}

struct msg *msg_alloc(struct msgid id, size_t wire_cap, size_t meta_len)
{
    const size_t align = _Alignof(max_align_t);
    size_t off = (offsetof(struct msg, wire) + wire_cap + align - 1) / align * align;
    size_t size = off + meta_len;
    struct msg *m;

    if (wire_cap > SIZE_MAX / 2 || meta_len > SIZE_MAX / 2 || !(m = malloc(size))) {
        errno = ENOMEM;
        return NULL;
    }
    memset(m, 0, offsetof(struct msg, wire));
    m->id = id;
    m->refs = 1;
    m->cost = sizeof *m + wire_cap + meta_len; /* what it holds: padding aside */
    m->meta = meta_len ? (char *)m + off : NULL;
    return m;
}

/* Counts m's bytes in e's held_bytes while no history holds it. */
static struct msg *held_by(struct chan_engine *e, struct msg *m)
{
    if (m && e) {
        m->held = &e->held;
        e->held += m->cost;
    }
    return m;
}

/* The message of channel `name` (not yet counted anywhere): an internal
 * channel's from the codec, any other's encoded here. */
struct msg *chan_make_msg(const struct chan_engine *e, const char *name, struct msgid id,
                            const char *type, const char *data, size_t len)
{
    char idstr[MSGID_STR_MAX];
    struct sse_event ev;
    struct msg *m;
    size_t cap;
    ssize_t n;

    if (name && name[0] == CHAN_INTERNAL) {
        if (!e || !e->codec) {
            errno = EINVAL; /* nobody here reads that channel's messages */
            return NULL;
        }
        return e->codec->make(e->codec->ctx, id, type, data, len);
    }
    msgid_format(idstr, id);
    cap = wire_size(strlen(idstr), type, data, len);
    m = msg_alloc(id, cap, 0);
    if (!m)
        return NULL;
    ev.id = idstr;
    ev.event = type;
    ev.data = data;
    ev.data_len = len;
    n = sse_encode(m->wire, cap, &ev);
    if (n < 0) {
        free(m);
        errno = EINVAL;
        return NULL;
    }
    m->len = (size_t)n;
    return m;
}

struct msg *msg_create(struct chan_engine *e, struct msgid id, const char *type,
                       const char *data, size_t len)
{
    return held_by(e, chan_make_msg(e, NULL, id, type, data, len));
}

struct msg *msg_create_in(struct chan_engine *e, const char *name, struct msgid id,
                          const char *type, const char *data, size_t len)
{
    return held_by(e, chan_make_msg(e, name, id, type, data, len));
}

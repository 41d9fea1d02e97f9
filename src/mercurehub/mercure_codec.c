/* mercure_codec.c -- the Mercure hub's updates in the channel engine: each stored text made once into the event subscribers get, and its topics kept beside it */
#include "config.h"

#include "mercurehub/mercure_int.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

/* Bytes of the meta of u (id: the one subscribers see). */
static size_t meta_size(const struct update *u, size_t id_len)
{
    size_t n = sizeof(struct mercure_meta), i;

    n = (n + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    n += u->ntopics * (sizeof(const char *) + sizeof(size_t));
    for (i = 0; i < u->ntopics; i++)
        n += u->topic_lens[i] + 1;
    return n + id_len + 1;
}

/* Writes u's meta into mem (meta_size bytes). */
static void meta_write(void *mem, const struct update *u, const char *id, size_t id_len)
{
    struct mercure_meta *mm = mem;
    size_t off = (sizeof *mm + alignof(max_align_t) - 1) / alignof(max_align_t) *
                 alignof(max_align_t);
    const char **topics = (const char **)((char *)mem + off);
    size_t *lens = (size_t *)(topics + u->ntopics);
    char *p = (char *)(lens + u->ntopics);
    size_t i;

    mm->ntopics = u->ntopics;
    mm->is_private = u->is_private;
    for (i = 0; i < u->ntopics; i++) {
        memcpy(p, u->topics[i], u->topic_lens[i]);
        p[u->topic_lens[i]] = '\0';
        topics[i] = p;
        lens[i] = u->topic_lens[i];
        p += u->topic_lens[i] + 1;
    }
    memcpy(p, id, id_len);
    p[id_len] = '\0';
    mm->id = p;
    mm->id_len = id_len;
    mm->topics = topics;
    mm->lens = lens;
}

struct msg *mercure_codec_make(void *ctx, struct msgid id, const char *type, const char *data,
                               size_t len)
{
    struct mercure *m = ctx;
    char hub_id[UUID_URN_MAX], why[128];
    const char *sid;
    size_t sid_len, wire;
    struct update u;
    struct msg *msg;
    long n;

    if (type || update_load(&u, data, len, why, sizeof why) < 0) {
        if (log_allow(&m->warn))
            log_warn("mercure: an update stored as %llu-%llu is not one the hub makes: skipped",
                     id.ms, id.seq);
        errno = EINVAL;
        return NULL;
    }
    sid_len = uuid_from_msgid(hub_id, id.ms, id.seq);
    sid = u.id ? u.id : hub_id;
    sid_len = u.id ? u.id_len : sid_len;
    wire = update_wire_size(&u, sid_len);
    msg = msg_alloc(id, wire, meta_size(&u, sid_len));
    if (!msg) {
        update_free(&u);
        return NULL;
    }
    n = update_wire(msg->wire, wire, &u, sid, sid_len);
    if (n < 0) {
        update_free(&u);
        msg_unref(msg);
        errno = EINVAL;
        return NULL;
    }
    msg->len = (size_t)n;
    meta_write(msg->meta, &u, sid, sid_len);
    update_free(&u);
    return msg;
}

/* subevent.c -- Mercure's active subscriptions: subscription event topics and documents, the subscriptions API's paths and collections (pure, jansson) */
#include "config.h"

#include "mercure/subevent.h"
#include "mercure/topic.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char subevent_context[] = "https://mercure.rocks/";

/* The match type a current subscription's topic and document name. */
static const char *subevent_type(const struct subevent_sub *s)
{
    return s->type_name ? s->type_name : "exact";
}

/* Appends '/' and s[0, n) percent-encoded once at out + *o (room checked by the caller). */
static void subevent_var(char *out, size_t *o, size_t cap, const char *s, size_t n)
{
    long k;

    out[(*o)++] = '/';
    k = topic_encode(out + *o, cap - *o, s, n);
    *o += k > 0 ? (size_t)k : 0;
}

char *subevent_topic(const struct subevent_sub *s, const char *hub_path)
{
    static const char sub[] = "/subscriptions";
    const char *type = subevent_type(s);
    size_t hp = strlen(hub_path), tl = strlen(type), sl = strlen(s->subscriber), o = hp;
    size_t cap = hp + sizeof sub + 3 * (tl + s->match_len + sl) + 4;
    char *out = malloc(cap);

    if (!out)
        return NULL;
    memcpy(out, hub_path, hp);
    memcpy(out + o, sub, sizeof sub - 1);
    o += sizeof sub - 1;
    if (s->gen == SEL_CURRENT)
        subevent_var(out, &o, cap, type, tl);
    subevent_var(out, &o, cap, s->match, s->match_len);
    subevent_var(out, &o, cap, s->subscriber, sl);
    out[o] = '\0';
    return out;
}

/* Sets key to value (a new reference, or NULL when it could not be made) in o. 0, or -1. */
static int subevent_put(json_t *o, const char *key, json_t *value)
{
    return value ? json_object_set_new(o, key, value) : -1;
}

json_t *subevent_doc(const struct subevent_sub *s, const char *hub_path)
{
    char *id = subevent_topic(s, hub_path);
    json_t *o = json_object();
    int r = id && o ? 0 : -1;

    if (r == 0 && s->gen == SEL_LEGACY)
        r = subevent_put(o, "@context", json_string(subevent_context));
    if (r == 0)
        r = subevent_put(o, "id", json_string(id));
    if (r == 0 && s->gen == SEL_CURRENT) {
        r = subevent_put(o, "type", json_string("subscription"));
        r |= subevent_put(o, "match_type", json_string(subevent_type(s)));
        r |= subevent_put(o, "match", json_stringn(s->match, s->match_len));
    } else if (r == 0) {
        r = subevent_put(o, "type", json_string("Subscription"));
        r |= subevent_put(o, "topic", json_stringn(s->match, s->match_len));
    }
    if (r == 0) {
        r = subevent_put(o, "subscriber", json_string(s->subscriber));
        r |= subevent_put(o, "active", json_boolean(s->active));
    }
    if (r == 0 && s->payload)
        r = subevent_put(o, "payload", json_deep_copy(s->payload));
    free(id);
    if (r != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void subevent_path_free(struct subevent_path *p)
{
    if (!p)
        return;
    free(p->match);
    free(p->subscriber);
    memset(p, 0, sizeof *p);
}

/* Decodes segment number k (1-based) s[0, n) into a new string *out of *outlen bytes.
 * 0, 404 or 500. */
static int subevent_segment(const char *s, size_t n, size_t k, char **out, size_t *outlen,
                            char *why, size_t whylen)
{
    char *d;
    long len;

    if (n == 0)
        return text_fail(404, why, whylen, "segment %zu of the path is empty", k);
    if (n > 3 * TOPIC_MAX)
        return text_fail(404, why, whylen, "segment %zu of the path is too long", k);
    if (!(d = malloc(n + 1)))
        return text_fail(500, why, whylen, "out of memory");
    len = topic_decode(d, n + 1, s, n);
    if (len < 0 || (size_t)len > TOPIC_MAX || !topic_text_ok(d, (size_t)len, NULL)) {
        free(d);
        return text_fail(404, why, whylen, "segment %zu of the path is not %s", k,
                             len < 0 ? "percent-encoded text" : "a topic, matcher or "
                             "subscriber");
    }
    *out = d;
    *outlen = (size_t)len;
    return 0;
}

/* Contract in subevent.h. path is what follows "{hub path}/subscriptions" in the request's
 * path: "" is the collection, "/{a}" and "/{a}/{b}" ... its segments. */
int subevent_path_parse(struct subevent_path *p, const char *path, size_t len,
                        enum sel_gen gen, char *why, size_t whylen)
{
    const char *seg[3];
    size_t seglen[3], nseg = 0, i, base = gen == SEL_CURRENT ? 1 : 0, tl = 0;
    char *type = NULL;
    int st;

    memset(p, 0, sizeof *p);
    if (whylen)
        why[0] = '\0';
    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        if (path[i] != '/')
            continue;
        if (nseg == 3 || (i == 0) != (nseg == 0))
            break;
        seg[nseg++] = path + i + 1;
    }
    if (i < len || path[0] != '/' || nseg < 1 + base || nseg > 2 + base)
        return text_fail(404, why, whylen, "no subscriptions API resource has this path "
                             "(%s)", gen == SEL_CURRENT ? "/{match_type}/{match}[/{subscriber}]"
                             : "/{topic}[/{subscriber}]");
    for (i = 0; i < nseg; i++)
        seglen[i] = (size_t)((i + 1 < nseg ? seg[i + 1] - 1 : path + len) - seg[i]);
    if (base) {
        if ((st = subevent_segment(seg[0], seglen[0], 1, &type, &tl, why, whylen)))
            return st;
        if (strcmp(type, "exact") != 0 && strcmp(type, "urlpattern") != 0) {
            free(type);
            return text_fail(404, why, whylen, "the match type is neither exact nor "
                                 "urlpattern");
        }
        memcpy(p->match_type, type, tl + 1);
        free(type);
    }
    p->depth = (int)(nseg - base);
    st = subevent_segment(seg[base], seglen[base], base + 1, &p->match, &p->match_len, why,
                          whylen);
    if (!st && p->depth == 2)
        st = subevent_segment(seg[base + 1], seglen[base + 1], base + 2, &p->subscriber,
                              &p->subscriber_len, why, whylen);
    if (st)
        subevent_path_free(p);
    return st;
}

/* Contract in subevent.h. In a legacy collection, the documents' "@context" is dropped:
 * they are nodes of the collection, which defines it (the legacy draft's examples). */
json_t *subevent_collection(enum sel_gen gen, const char *id, const char *last_event_id,
                            json_t *docs)
{
    json_t *o = json_object(), *d;
    size_t i;
    int r = o ? 0 : -1;

    if (r == 0 && gen == SEL_LEGACY) {
        json_array_foreach(docs, i, d)
            json_object_del(d, "@context");
        r = subevent_put(o, "@context", json_string(subevent_context));
    }
    if (r == 0)
        r = subevent_put(o, "id", json_string(id));
    if (r == 0)
        r = subevent_put(o, "type", json_string(gen == SEL_LEGACY ? "Subscriptions"
                                                                  : "subscriptions"));
    if (r == 0 && gen == SEL_LEGACY)
        r = subevent_put(o, "lastEventID", json_string(last_event_id ? last_event_id
                                                                     : "earliest"));
    if (r == 0) /* json_object_set_new takes docs, even when it fails */
        r = json_object_set_new(o, "subscriptions", docs);
    else
        json_decref(docs);
    if (r != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

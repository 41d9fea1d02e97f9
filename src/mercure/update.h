/* update.h -- a Mercure update: the publish form read and checked, kept as one text, written as its event (pure, jansson) */
#ifndef FCGI_SSE_MERCURE_UPDATE_H
#define FCGI_SSE_MERCURE_UPDATE_H

#include <stddef.h>

/* Bounds of one update (the drafts leave them to the hub; over one: 413). */
#define UPDATE_TOPICS_MAX 64    /* topic fields */
#define UPDATE_ID_MAX 1024      /* bytes of an id */
#define UPDATE_TYPE_MAX 1024    /* bytes of a type */
#define UPDATE_RETRY_DIGITS 18  /* digits of a retry (fits an unsigned 64-bit) */

/* An update. Every string is UTF-8 checked as the current draft says (topic_text_ok for
 * topics, id and type) and points into `mem`; lengths exclude the NUL each has. */
struct update {
    size_t ntopics;                 /* 1 to UPDATE_TOPICS_MAX; [0] is the canonical topic */
    const char *topics[UPDATE_TOPICS_MAX];
    size_t topic_lens[UPDATE_TOPICS_MAX];
    const char *data;               /* "" when the form had no data field */
    size_t data_len;
    const char *id;                 /* the publisher's id, or NULL: the hub makes one */
    size_t id_len;
    const char *type;               /* NULL: none */
    size_t type_len;
    unsigned long long retry;       /* 0: none */
    int is_private;                 /* the form had a `private` field, whatever its value */
    char *mem;                      /* owned; update_free releases it */
};

/* Reads an application/x-www-form-urlencoded publish body[0, len) (the URL Standard's
 * parser: '&'-separated, '+' is a space, %XX decoded, a name without '=' has the empty
 * value) into *u. Fields: `topic` (repeatable, at least one), `data`, `id`, `type`,
 * `retry`, `private`; any other field is ignored. Each field but topic counts once (the
 * first occurrence). Refused with 400: no topic; a topic, id or type that is not
 * topic_text_ok, or an empty topic; a topic that is exactly "*"; a topic in the hub's
 * reserved namespace (topic_reserved against hub_url); data that is not UTF-8 or holds
 * NUL (U+0000: the stored text holds none); an id that
 * is empty, starts with '#' or is "earliest"; type "mercure" or empty; a retry that is not
 * 1 to UPDATE_RETRY_DIGITS ASCII digits; a '%' not followed by two hex digits. Refused
 * with 413: more than UPDATE_TOPICS_MAX topics, a topic over TOPIC_MAX bytes, an id or
 * type over its bound. Returns 0 with *u filled, or the HTTP status (400, 413; 500 when
 * memory runs out) with a one-line reason in why that never quotes the input (it names
 * the field, and for a topic its position: "topic 3 is in the hub's reserved
 * namespace"). *u is empty after a refusal (update_free is harmless). The body may not
 * hold a NUL byte (400). */
int update_from_form(struct update *u, const char *body, size_t len, const char *hub_url,
                     char *why, size_t whylen);

void update_free(struct update *u);

/* The text an update is stored as (in the channel engine and in Redis): a JSON object
 * {"t": [topics], "d": data, "i": id (absent: the hub's), "y": type (absent: none),
 * "r": retry (absent: 0), "p": true (absent: public)}, compact, UTF-8, no NUL. malloc'd
 * into *out (NUL-terminated) with its length in *len: 0, or -1 when memory runs out. */
int update_store(const struct update *u, char **out, size_t *len);

/* Reads back a stored text (len bytes, from Redis too: checked as update_from_form
 * checks, but for the reserved namespace and the reserved type "mercure", which the hub's
 * own subscription events have). 0 with *u, or -1 with a one-line reason. */
int update_load(struct update *u, const char *text, size_t len, char *why, size_t whylen);

/* The event subscribers get: `event: TYPE` when it has one, `retry: N` when not 0,
 * `id: ID` (u->id, else hub_id), one `data: ` line per line of data (split at CR, LF,
 * CRLF; one `data: ` line when empty), then the blank line. Bytes it takes:
 * update_wire_size; update_wire writes them into buf (cap bytes) and returns the length,
 * or -1 when cap is short. */
size_t update_wire_size(const struct update *u, size_t hub_id_len);
long update_wire(char *buf, size_t cap, const struct update *u, const char *hub_id,
                 size_t hub_id_len);

#endif

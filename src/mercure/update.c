/* update.c -- a Mercure update: the publish form read and checked, stored as one JSON text and read back, written as its SSE event (pure, jansson) */
#include "config.h"

#include "mercure/update.h"
#include "mercure/topic.h"
#include "mercure/topic_int.h"
#include "core/text.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void update_free(struct update *u)
{
    if (!u)
        return;
    free(u->mem);
    memset(u, 0, sizeof *u);
}

/* What topic_text_ok's reason says, as the end of a sentence about a field. */
static const char *update_text_why(const char *why)
{
    if (strcmp(why, "not UTF-8") == 0)
        return "is not UTF-8";
    if (strcmp(why, "a control character") == 0)
        return "holds a control character";
    return "holds a format character (Unicode Cf)";
}

/* Checks topic number pos (1-based) but for the reserved namespace: 0, 400 or 413. */
static int update_topic_ok(const char *s, size_t n, size_t pos, char *why, size_t whylen)
{
    const char *bad;

    if (n > TOPIC_MAX)
        return text_fail(413, why, whylen, "topic %zu is longer than %d bytes", pos,
                           TOPIC_MAX);
    if (n == 0)
        return text_fail(400, why, whylen, "topic %zu is empty", pos);
    if (!topic_text_ok(s, n, &bad))
        return text_fail(400, why, whylen, "topic %zu %s", pos, update_text_why(bad));
    if (n == 1 && s[0] == '*')
        return text_fail(400, why, whylen, "topic %zu is the wildcard *, which no update "
                           "may have", pos);
    return 0;
}

/* Checks an id: 0, 400 or 413. */
static int update_id_ok(const char *s, size_t n, char *why, size_t whylen)
{
    const char *bad;

    if (n > UPDATE_ID_MAX)
        return text_fail(413, why, whylen, "id is longer than %d bytes", UPDATE_ID_MAX);
    if (n == 0)
        return text_fail(400, why, whylen, "id is empty");
    if (s[0] == '#')
        return text_fail(400, why, whylen, "id starts with '#', which only the hub's own "
                           "ids may");
    if (n == 8 && memcmp(s, "earliest", 8) == 0)
        return text_fail(400, why, whylen, "id is earliest, a reserved value");
    if (!topic_text_ok(s, n, &bad))
        return text_fail(400, why, whylen, "id %s", update_text_why(bad));
    return 0;
}

/* Checks a type (hub: the hub's own "mercure" is allowed): 0, 400 or 413. */
static int update_type_ok(const char *s, size_t n, int hub, char *why, size_t whylen)
{
    const char *bad;

    if (n > UPDATE_TYPE_MAX)
        return text_fail(413, why, whylen, "type is longer than %d bytes", UPDATE_TYPE_MAX);
    if (n == 0)
        return text_fail(400, why, whylen, "type is empty");
    if (!hub && n == 7 && memcmp(s, "mercure", 7) == 0)
        return text_fail(400, why, whylen, "type mercure is reserved for the hub's own "
                           "events");
    if (!topic_text_ok(s, n, &bad))
        return text_fail(400, why, whylen, "type %s", update_text_why(bad));
    return 0;
}

/* Checks data: UTF-8 without NUL. 0 or 400. */
static int update_data_ok(const char *s, size_t n, char *why, size_t whylen)
{
    if (memchr(s, '\0', n))
        return text_fail(400, why, whylen, "data holds a NUL character");
    if (!text_utf8_ok(s, n))
        return text_fail(400, why, whylen, "data is not UTF-8");
    return 0;
}

/* The publish form's fields. */
enum update_field { UF_OTHER, UF_TOPIC, UF_DATA, UF_ID, UF_TYPE, UF_RETRY, UF_PRIVATE };

/* Which field a (still encoded) name is: decoded as the URL Standard's form parser decodes
 * names ('+' a space, a bad '%' kept), then compared byte for byte. */
static enum update_field update_field_of(const char *name, size_t len)
{
    static const char *const names[] = { "topic", "data", "id", "type", "retry", "private" };
    char buf[32];
    long n = topic_unescape(buf, sizeof buf, name, len, 1, 1);
    size_t i;

    for (i = 0; n > 0 && i < sizeof names / sizeof names[0]; i++)
        if ((size_t)n == strlen(names[i]) && memcmp(buf, names[i], (size_t)n) == 0)
            return (enum update_field)(UF_TOPIC + i);
    return UF_OTHER;
}

/* Reads one recognized field whose value v[0, *n) is decoded in place. 0, or a status. */
static int update_field(struct update *u, enum update_field fld, char *v, size_t n,
                        const char *hub_url, char *why, size_t whylen)
{
    int r;

    switch (fld) {
    case UF_TOPIC:
        if ((r = update_topic_ok(v, n, u->ntopics + 1, why, whylen)))
            return r;
        if ((r = topic_reserved(v, n, hub_url)) < 0)
            return text_fail(500, why, whylen, "out of memory while checking topic %zu (or "
                               "the hub URL is not a URL)", u->ntopics + 1);
        if (r)
            return text_fail(400, why, whylen, "topic %zu is in the hub's reserved "
                               "namespace", u->ntopics + 1);
        u->topics[u->ntopics] = v;
        u->topic_lens[u->ntopics++] = n;
        return 0;
    case UF_DATA:
        if ((r = update_data_ok(v, n, why, whylen)))
            return r;
        u->data = v;
        u->data_len = n;
        return 0;
    case UF_ID:
        if ((r = update_id_ok(v, n, why, whylen)))
            return r;
        u->id = v;
        u->id_len = n;
        return 0;
    case UF_TYPE:
        if ((r = update_type_ok(v, n, 0, why, whylen)))
            return r;
        u->type = v;
        u->type_len = n;
        return 0;
    case UF_RETRY:
        if (n == 0 || n > UPDATE_RETRY_DIGITS || strspn(v, "0123456789") != n ||
            text_parse_uint(v, 0, ~0ULL, &u->retry) < 0)
            return text_fail(400, why, whylen, "retry is not 1 to %d ASCII digits",
                               UPDATE_RETRY_DIGITS);
        return 0;
    default:
        return 0;
    }
}

/* Reads the fields of the form held (NUL-terminated) in u->mem. 0, or a status. */
static int update_fields(struct update *u, const char *hub_url, char *why, size_t whylen)
{
    static const char *const field_names[] = { "", "topic", "data", "id", "type", "retry" };
    const char *q = u->mem;
    struct text_field f;
    unsigned seen = 0;
    int r;

    while (text_form_next(&q, "&", &f)) {
        enum update_field fld = update_field_of(f.name, f.name_len);
        char *v = (char *)f.value; /* in u->mem: decoded where it is */
        long n;

        if (fld == UF_OTHER || (fld != UF_TOPIC && (seen & (1u << fld))))
            continue; /* unknown fields are ignored, and a field but topic counts once */
        seen |= 1u << fld;
        if (fld == UF_PRIVATE) {
            u->is_private = 1; /* whatever its value: it is not even decoded */
            continue;
        }
        if (fld == UF_TOPIC && u->ntopics == UPDATE_TOPICS_MAX)
            return text_fail(413, why, whylen, "more than %d topic fields",
                               UPDATE_TOPICS_MAX);
        /* The value ends at the '&' (or NUL) the parser has passed: its room, with a NUL. */
        n = topic_unescape(v, f.value_len + 1, v, f.value_len, 1, 0);
        if (n < 0 && fld == UF_TOPIC)
            return text_fail(400, why, whylen, "topic %zu holds a '%%' not followed by two "
                               "hex digits", u->ntopics + 1);
        if (n < 0)
            return text_fail(400, why, whylen, "%s holds a '%%' not followed by two hex "
                               "digits", field_names[fld]);
        if ((r = update_field(u, fld, v, (size_t)n, hub_url, why, whylen)))
            return r;
    }
    if (u->ntopics == 0)
        return text_fail(400, why, whylen, "no topic field");
    return 0;
}

int update_from_form(struct update *u, const char *body, size_t len, const char *hub_url,
                     char *why, size_t whylen)
{
    int r;

    memset(u, 0, sizeof *u);
    if (whylen)
        why[0] = '\0';
    if (memchr(body, '\0', len))
        return text_fail(400, why, whylen, "the body holds a NUL byte");
    /* The body, NUL-terminated, then an empty string for absent data. Every value is
     * decoded in place (never longer than its text), so the fields point into this copy. */
    if (!(u->mem = malloc(len + 2)))
        return text_fail(500, why, whylen, "out of memory");
    memcpy(u->mem, body, len);
    u->mem[len] = u->mem[len + 1] = '\0';
    u->data = u->mem + len + 1;
    if ((r = update_fields(u, hub_url, why, whylen))) {
        update_free(u);
        return r;
    }
    return 0;
}

/* Adds key: value (a new reference, NULL when memory ran out) to o. 0, or -1. */
static int update_put(json_t *o, const char *key, json_t *value)
{
    return value ? json_object_set_new(o, key, value) : -1;
}

/* Contract in update.h. */
int update_store(const struct update *u, char **out, size_t *len)
{
    json_t *o = json_object(), *t = json_array();
    size_t i;
    int r = o && t ? 0 : -1;

    for (i = 0; r == 0 && i < u->ntopics; i++)
        r = json_array_append_new(t, json_stringn(u->topics[i], u->topic_lens[i]));
    if (r == 0) {
        r = json_object_set(o, "t", t);
        r |= update_put(o, "d", json_stringn(u->data ? u->data : "", u->data_len));
    }
    if (r == 0 && u->id)
        r = update_put(o, "i", json_stringn(u->id, u->id_len));
    if (r == 0 && u->type)
        r = update_put(o, "y", json_stringn(u->type, u->type_len));
    if (r == 0 && u->retry)
        r = update_put(o, "r", json_integer((json_int_t)u->retry));
    if (r == 0 && u->is_private)
        r = update_put(o, "p", json_true());
    *out = NULL;
    if (r == 0)
        *out = json_dumps(o, JSON_COMPACT);
    json_decref(t);
    json_decref(o);
    if (!*out)
        return -1;
    *len = strlen(*out);
    return 0;
}

/* The string member key of o into (*s, *n): 1 when present, 0 when absent, -1 when it is
 * not a string. */
static int update_member(const json_t *o, const char *key, const char **s, size_t *n)
{
    const json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 1;
}

/* Copies s[0, n) into *at (advanced past it and its NUL). The copy. */
static const char *update_copy(char **at, const char *s, size_t n)
{
    char *p = *at;

    memcpy(p, s, n);
    p[n] = '\0';
    *at = p + n + 1;
    return p;
}

/* Reads the members of a stored update o into *u (strings still in o). 0, or -1. */
static int update_members(struct update *u, const json_t *o, char *why, size_t whylen)
{
    const json_t *t = json_object_get(o, "t"), *r = json_object_get(o, "r"),
                 *p = json_object_get(o, "p"), *v;
    size_t i;

    if (!json_is_array(t) || json_array_size(t) == 0 ||
        json_array_size(t) > UPDATE_TOPICS_MAX)
        return text_fail(-1, why, whylen, "t is not 1 to %d topics",
                           UPDATE_TOPICS_MAX);
    json_array_foreach(t, i, v) {
        if (!json_is_string(v))
            return text_fail(-1, why, whylen, "topic %zu is not a string",
                               i + 1);
        u->topics[i] = json_string_value(v);
        u->topic_lens[i] = json_string_length(v);
        if (update_topic_ok(u->topics[i], u->topic_lens[i], i + 1, why, whylen))
            return -1;
    }
    u->ntopics = json_array_size(t);
    u->data = "";
    if (update_member(o, "d", &u->data, &u->data_len) < 0 ||
        update_member(o, "i", &u->id, &u->id_len) < 0 ||
        update_member(o, "y", &u->type, &u->type_len) < 0)
        return text_fail(-1, why, whylen, "d, i or y is not a string");
    if (update_data_ok(u->data, u->data_len, why, whylen) ||
        (u->id && update_id_ok(u->id, u->id_len, why, whylen)) ||
        (u->type && update_type_ok(u->type, u->type_len, 1, why, whylen)))
        return -1;
    if (r && (!json_is_integer(r) || json_integer_value(r) < 0 ||
              json_integer_value(r) > 999999999999999999LL))
        return text_fail(-1, why, whylen, "r is not a retry");
    u->retry = r ? (unsigned long long)json_integer_value(r) : 0;
    if (p && !json_is_boolean(p))
        return text_fail(-1, why, whylen, "p is not a boolean");
    u->is_private = json_is_true(p);
    return 0;
}

/* Contract in update.h. The hub's own updates (subscription events) may have type mercure
 * as well as reserved topics: only the hub stores updates. */
int update_load(struct update *u, const char *text, size_t len, char *why, size_t whylen)
{
    json_error_t e;
    json_t *o;
    size_t i, total;
    char *at, reason[128];

    memset(u, 0, sizeof *u);
    if (whylen)
        why[0] = '\0';
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(o)) {
        json_decref(o);
        return text_fail(-1, why, whylen, "stored update: not a JSON object");
    }
    if (update_members(u, o, reason, sizeof reason) < 0) {
        json_decref(o);
        memset(u, 0, sizeof *u);
        return text_fail(-1, why, whylen, "stored update: %s", reason);
    }
    total = u->data_len + 1 + (u->id ? u->id_len + 1 : 0) + (u->type ? u->type_len + 1 : 0);
    for (i = 0; i < u->ntopics; i++)
        total += u->topic_lens[i] + 1;
    if (!(at = u->mem = malloc(total))) {
        json_decref(o);
        memset(u, 0, sizeof *u);
        return text_fail(-1, why, whylen, "stored update: out of memory");
    }
    for (i = 0; i < u->ntopics; i++)
        u->topics[i] = update_copy(&at, u->topics[i], u->topic_lens[i]);
    u->data = update_copy(&at, u->data, u->data_len);
    if (u->id)
        u->id = update_copy(&at, u->id, u->id_len);
    if (u->type)
        u->type = update_copy(&at, u->type, u->type_len);
    json_decref(o);
    return 0;
}

/* The number of lines data[0, len) splits into at CR, LF and CRLF (1 when empty), and in
 * *breaks the bytes the line breaks take. */
static size_t update_lines(const char *data, size_t len, size_t *breaks)
{
    size_t i, lines = 1;

    *breaks = 0;
    for (i = 0; i < len; i++) {
        if (data[i] != '\r' && data[i] != '\n')
            continue;
        lines++;
        (*breaks)++;
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
            i++;
            (*breaks)++;
        }
    }
    return lines;
}

size_t update_wire_size(const struct update *u, size_t hub_id_len)
{
    char digits[24];
    size_t breaks, lines = update_lines(u->data ? u->data : "", u->data_len, &breaks);
    size_t n = 4 + (u->id ? u->id_len : hub_id_len) + 1;       /* "id: " ID LF */

    if (u->type)
        n += 7 + u->type_len + 1;                               /* "event: " TYPE LF */
    if (u->retry)
        n += 7 + text_u64(digits, u->retry) + 1;                /* "retry: " N LF */
    n += lines * 7 + u->data_len - breaks;                      /* "data: " LINE LF */
    return n + 1;                                               /* the blank line */
}

/* Appends s[0, n) at *o. */
static void update_put_bytes(char *buf, size_t *o, const char *s, size_t n)
{
    memcpy(buf + *o, s, n);
    *o += n;
}

long update_wire(char *buf, size_t cap, const struct update *u, const char *hub_id,
                 size_t hub_id_len)
{
    const char *data = u->data ? u->data : ""; /* an update made by hand may have none */
    char digits[24];
    size_t o = 0, i, start = 0;

    if (cap < update_wire_size(u, hub_id_len))
        return -1;
    if (u->type) {
        update_put_bytes(buf, &o, "event: ", 7);
        update_put_bytes(buf, &o, u->type, u->type_len);
        buf[o++] = '\n';
    }
    if (u->retry) {
        update_put_bytes(buf, &o, "retry: ", 7);
        update_put_bytes(buf, &o, digits, text_u64(digits, u->retry));
        buf[o++] = '\n';
    }
    update_put_bytes(buf, &o, "id: ", 4);
    update_put_bytes(buf, &o, u->id ? u->id : hub_id, u->id ? u->id_len : hub_id_len);
    buf[o++] = '\n';
    for (i = 0; i <= u->data_len; i++) {
        if (i < u->data_len && data[i] != '\r' && data[i] != '\n')
            continue;
        update_put_bytes(buf, &o, "data: ", 6);
        update_put_bytes(buf, &o, data + start, i - start);
        buf[o++] = '\n';
        if (i < u->data_len && data[i] == '\r' && i + 1 < u->data_len && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    buf[o++] = '\n';
    return (long)o;
}

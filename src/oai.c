/* oai.c -- the OpenAI chat-completions wire format: the request read, chunks and answers written (pure, jansson) */
#include "config.h"

#include "oai.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int oai_parse(const char *body, size_t len, char *model, int *stream, const char **why)
{
    json_error_t err;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
    json_t *m, *st, *md;
    int rc = -1;

    *stream = 0;
    model[0] = '\0';
    if (!j || !json_is_object(j)) {
        *why = "the body must be a JSON object";
        goto out;
    }
    m = json_object_get(j, "messages");
    if (!json_is_array(m) || json_array_size(m) == 0) {
        *why = "'messages' must be a non-empty array";
        goto out;
    }
    md = json_object_get(j, "model");
    if (md && !json_is_string(md)) {
        *why = "'model' must be a string";
        goto out;
    }
    if (md) {
        size_t n = json_string_length(md);
        if (n > OAI_MODEL_MAX) {
            *why = "'model' is too long";
            goto out;
        }
        memcpy(model, json_string_value(md), n);
        model[n] = '\0';
        if (strlen(model) != n) {
            *why = "'model' must not hold NUL";
            goto out;
        }
    }
    st = json_object_get(j, "stream");
    if (st && !json_is_boolean(st) && !json_is_null(st)) {
        *why = "'stream' must be a boolean";
        goto out;
    }
    *stream = json_is_true(st);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* The length of the UTF-8 sequence starting with c, or 0 if c starts none. */
static size_t seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* 1 when s[0, len) is one well-formed character (len = seq_len(s[0])). */
static int char_ok(const unsigned char *s, size_t len)
{
    unsigned long cp = len == 1 ? s[0] : len == 2 ? (s[0] & 0x1fu) : len == 3 ? (s[0] & 0x0fu)
                                                                                : (s[0] & 0x07u);
    size_t k;

    if (len == 1)
        return s[0] != 0;
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return 1;
}

size_t oai_utf8_whole(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t back;

    /* find the last lead byte among the final 3 bytes */
    for (back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = s[n - back];
        if ((c & 0xc0) == 0x80)
            continue;            /* a continuation byte: look further back */
        if (seq_len(c) > back)
            return n - back;     /* its character has not all arrived */
        return n;
    }
    return n;
}

void oai_utf8_clean(char *str, size_t n)
{
    unsigned char *s = (unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        size_t len = seq_len(s[i]);
        if (len && len <= n - i && char_ok(s + i, len)) {
            i += len;
            continue;
        }
        s[i++] = '?';
    }
}

/* Dumps j (stolen) compact into a malloc'd string with prefix and suffix. */
static char *dump(json_t *j, const char *prefix, const char *suffix, size_t *len)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    size_t np = strlen(prefix), nt, ns = strlen(suffix);
    char *out = NULL;

    json_decref(j);
    if (!text)
        return NULL;
    nt = strlen(text);
    out = malloc(np + nt + ns + 1);
    if (out) {
        memcpy(out, prefix, np);
        memcpy(out + np, text, nt);
        memcpy(out + np + nt, suffix, ns + 1);
        *len = np + nt + ns;
    }
    free(text);
    return out;
}

char *oai_chunk(const struct oai_reply *r, const char *text, size_t n, int first,
                const char *finish, size_t *len)
{
    json_t *delta = json_object();
    json_t *j;

    if (!delta)
        return NULL;
    if (first && json_object_set_new(delta, "role", json_string("assistant")) < 0) {
        json_decref(delta);
        return NULL;
    }
    if ((n || !finish) && json_object_set_new(delta, "content", json_stringn(text, n)) < 0) {
        json_decref(delta);
        return NULL;
    }
    j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id", r->id, "object",
                  "chat.completion.chunk", "created", (json_int_t)r->created, "model", r->model,
                  "choices", "index", 0, "delta", delta, "finish_reason",
                  finish ? json_string(finish) : json_null());
    return dump(j, "data: ", "\n\n", len);
}

char *oai_completion(const struct oai_reply *r, const char *text, size_t n, size_t *len)
{
    json_t *content = json_stringn(text, n);
    json_t *j;

    if (!content)
        return NULL;
    j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:o}, s:s}]}", "id", r->id, "object",
                  "chat.completion", "created", (json_int_t)r->created, "model", r->model,
                  "choices", "index", 0, "message", "role", "assistant", "content", content,
                  "finish_reason", "stop");
    return dump(j, "", "", len);
}

char *oai_error(const char *message, const char *type, size_t *len)
{
    json_t *j = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", message, "type", type,
                          "param", "code");
    return dump(j, "", "", len);
}

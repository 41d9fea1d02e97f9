/* openai.c -- the OpenAI chat-completions wire format: the request read, chunks and answers written (pure, jansson) */
#include "config.h"

#include "sources/openai.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int openai_parse(const char *body, size_t len, char *model, int *stream, const char **why)
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
        if (n > OPENAI_MODEL_MAX) {
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

char *openai_chunk(const struct openai_reply *r, const char *text, size_t n, int first,
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

char *openai_completion(const struct openai_reply *r, const char *text, size_t n, size_t *len)
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

char *openai_error(const char *message, const char *type, size_t *len)
{
    json_t *j = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", message, "type", type,
                          "param", "code");
    return dump(j, "", "", len);
}

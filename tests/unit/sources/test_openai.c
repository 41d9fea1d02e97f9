/* test_openai.c -- unit tests of openai: the chat request read, chunks, answers and errors as JSON */
#include "config.h"

#include "sources/openai.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int parse(const char *body, char *model, int *stream)
{
    const char *why = NULL;
    int rc = openai_parse(body, strlen(body), model, stream, &why);
    return rc == 0 || (why && *why) ? rc : -2;
}

/* Parses the JSON of "data: {...}\n\n" (or a bare object). */
static json_t *load(const char *s, size_t n)
{
    if (n >= 6 && memcmp(s, "data: ", 6) == 0) {
        s += 6;
        n -= 6;
    }
    return json_loadb(s, n, 0, NULL);
}

int main(void)
{
    char model[OPENAI_MODEL_MAX + 1];
    struct openai_reply r = { "chatcmpl-x", 1700000000, "m" };
    int stream;
    size_t len;
    char *c;
    json_t *j;

    /* ---- requests */
    ok(parse("{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"stream\":true}", model, &stream) == 0 && strcmp(model, "gpt") == 0 && stream == 1,
       "parse: model and stream: true");
    ok(parse("{\"messages\":[{}]}", model, &stream) == 0 && model[0] == 0 && stream == 0,
       "parse: no model, no stream: \"\" and 0");
    ok(parse("{\"messages\":[{}],\"stream\":null}", model, &stream) == 0 && stream == 0,
       "parse: stream null is false");
    ok(parse("not json", model, &stream) == -1, "parse: not JSON: refused with a reason");
    ok(parse("[1]", model, &stream) == -1, "parse: not an object: refused");
    ok(parse("{\"model\":\"m\"}", model, &stream) == -1, "parse: no messages: refused");
    ok(parse("{\"messages\":[]}", model, &stream) == -1, "parse: empty messages: refused");
    ok(parse("{\"messages\":{}}", model, &stream) == -1, "parse: messages not an array: refused");
    ok(parse("{\"messages\":[1],\"model\":3}", model, &stream) == -1, "parse: model not a string");
    ok(parse("{\"messages\":[1],\"stream\":\"yes\"}", model, &stream) == -1,
       "parse: stream not a boolean");
    ok(parse("{\"messages\":[1],\"model\":\"a\\u0000b\"}", model, &stream) == -1,
       "parse: a NUL in model is refused");
    ok(parse("{\"messages\":[1],\"messages\":[2]}", model, &stream) == -1,
       "parse: duplicate keys are refused");

    /* ---- chunks */
    c = openai_chunk(&r, "he\"llo\n", 7, 1, NULL, &len);
    ok(c && len > 8 && memcmp(c, "data: ", 6) == 0 && memcmp(c + len - 2, "\n\n", 2) == 0 &&
           !memchr(c, '\n', len - 2), "chunk: one data: line, then a blank line");
    j = c ? load(c, len) : NULL;
    ok(j && strcmp(json_string_value(json_object_get(j, "object")), "chat.completion.chunk") == 0 &&
           strcmp(json_string_value(json_object_get(j, "id")), "chatcmpl-x") == 0 &&
           json_integer_value(json_object_get(j, "created")) == 1700000000 &&
           strcmp(json_string_value(json_object_get(j, "model")), "m") == 0,
       "chunk: object, id, created, model");
    {
        json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
        json_t *d = json_object_get(ch, "delta");
        ok(ch && json_integer_value(json_object_get(ch, "index")) == 0 &&
               json_is_null(json_object_get(ch, "finish_reason")) &&
               strcmp(json_string_value(json_object_get(d, "role")), "assistant") == 0 &&
               strcmp(json_string_value(json_object_get(d, "content")), "he\"llo\n") == 0,
           "chunk: the first has role assistant, the content escaped, finish_reason null");
    }
    json_decref(j);
    free(c);
    c = openai_chunk(&r, "", 0, 0, "stop", &len);
    j = c ? load(c, len) : NULL;
    {
        json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
        json_t *d = json_object_get(ch, "delta");
        ok(ch && json_object_size(d) == 0 &&
               strcmp(json_string_value(json_object_get(ch, "finish_reason")), "stop") == 0,
           "chunk: the last has an empty delta and finish_reason stop");
    }
    json_decref(j);
    free(c);
    c = openai_completion(&r, "whole text", 10, &len);
    j = c ? load(c, len) : NULL;
    {
        json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
        json_t *m = json_object_get(ch, "message");
        ok(j && strcmp(json_string_value(json_object_get(j, "object")), "chat.completion") == 0 &&
               strcmp(json_string_value(json_object_get(m, "content")), "whole text") == 0 &&
               strcmp(json_string_value(json_object_get(m, "role")), "assistant") == 0 &&
               strcmp(json_string_value(json_object_get(ch, "finish_reason")), "stop") == 0,
           "completion: one chat.completion with the whole text");
    }
    json_decref(j);
    free(c);
    c = openai_error("it \"broke\"", "server_error", &len);
    j = c ? load(c, len) : NULL;
    {
        json_t *e = json_object_get(j, "error");
        ok(e && strcmp(json_string_value(json_object_get(e, "message")), "it \"broke\"") == 0 &&
               strcmp(json_string_value(json_object_get(e, "type")), "server_error") == 0,
           "error: {\"error\":{\"message\",\"type\"}}");
    }
    json_decref(j);
    free(c);
    return done_testing();
}

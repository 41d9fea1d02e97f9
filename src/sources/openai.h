/* openai.h -- the OpenAI chat-completions wire format: the request read, chunks and answers written (pure, jansson) */
#ifndef FCGI_SSE_SOURCES_OPENAI_H
#define FCGI_SSE_SOURCES_OPENAI_H

#include <stddef.h>

#define OPENAI_MODEL_MAX 255

/* What every chunk of one reply repeats. */
struct openai_reply {
    char id[48];                    /* "chatcmpl-" and 24 hex digits */
    long long created;              /* Unix seconds */
    char model[OPENAI_MODEL_MAX + 1];  /* the request's "model" */
};

/* Reads a chat-completions request: a JSON object with a non-empty
 * "messages" array, an optional string "model" (copied into model,
 * OPENAI_MODEL_MAX + 1 bytes; "" when absent) and an optional boolean
 * "stream" (*stream, default 0). 0, or -1 with *why a fixed sentence. */
int openai_parse(const char *body, size_t len, char *model, int *stream, const char **why);

/* One SSE event "data: {chat.completion.chunk}\n\n", malloc'd (*len
 * set): content text[0, n) (UTF-8, cleaned), "role":"assistant" when
 * first, "finish_reason":finish (NULL: null; then text may be empty and
 * the delta holds no content). NULL on ENOMEM. */
char *openai_chunk(const struct openai_reply *r, const char *text, size_t n, int first,
                const char *finish, size_t *len);

/* The whole answer of a request with "stream": false: one
 * chat.completion object (malloc'd JSON, *len set), or NULL. */
char *openai_completion(const struct openai_reply *r, const char *text, size_t n, size_t *len);

/* {"error":{"message":message,"type":type,"param":null,"code":null}},
 * malloc'd (*len set), or NULL. */
char *openai_error(const char *message, const char *type, size_t *len);

#endif

/* program.h -- the program source: a child program's stdout as events (lines, or OpenAI chunks), its body on stdin */
#ifndef FCGI_SSE_SOURCES_PROGRAM_H
#define FCGI_SSE_SOURCES_PROGRAM_H

#include <stddef.h>

#include "sources/process.h"
#include "http/req.h"
#include "stream/stream.h"

struct programs;

struct program_params {
    struct loop *loop;             /* where the pipes are watched */
    struct processes *procs;           /* where the programs run */
    long long heartbeat_ns;        /* a comment after this much silence; 0 = off */
    long long timeout_ns;          /* --run-timeout: SIGTERM after this; 0 = off */
    size_t max_line;               /* --max-line: a line longer is cut */
    unsigned long *events;         /* counts events written (stats) */
    unsigned long *started;        /* counts programs started (stats), or NULL */
    unsigned long *failed;         /* counts programs that could not be started, or NULL */
};

/* The exit status of a run whose program could not be started (posix_spawn
 * failed: no such file, not executable, no fds...): a shell's 127. */
#define PROGRAM_NOT_STARTED 127

/* The program source. NULL with errno (ENOMEM, or ENOSPC: the loop has no
 * room for the hook that frees ended runs). */
struct programs *program_create(const struct program_params *p);
/* Frees rs and what ended runs left (after the hub is destroyed). */
void program_destroy(struct programs *rs);

/* The program's environment, from the request's params (call before
 * stream_begin, which drops them): REQUEST_METHOD, QUERY_STRING,
 * CONTENT_TYPE, CONTENT_LENGTH (body_len), REMOTE_USER (unless empty),
 * REMOTE_ADDR, REMOTE_PORT, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, REQUEST_URI,
 * SCRIPT_NAME, PATH_INFO, LAST_EVENT_ID, HTTP_ACCEPT, HTTP_ACCEPT_LANGUAGE,
 * HTTP_USER_AGENT, HTTP_REFERER, RUN_NAME (name), and of our own
 * environment only PATH, LANG and TZ. Never Authorization nor Cookie.
 * One malloc'd block (free() it), NULL-terminated; NULL on ENOMEM. */
char **program_env(req_param_fn get, void *ctx, const char *name, size_t body_len);

enum program_mode {
    PROGRAM_LINES = 0,     /* .../run/NAME: each stdout line an event, then `event: exit` */
    PROGRAM_CHAT,          /* chat.completion.chunk events, then [DONE] */
    PROGRAM_CHAT_WHOLE     /* one chat.completion answer ("stream": false) */
};

/* Starts the program for a begun stream s (stream_begin; for PROGRAM_LINES
 * and PROGRAM_CHAT its header block was flushed, for PROGRAM_CHAT_WHOLE nothing
 * was written yet) and makes it s's source. Takes env and *body (sets it
 * to NULL) in every case. name labels the log lines; model is the
 * request's (PROGRAM_CHAT*). A program that cannot be started still makes a
 * run (logged): it ends at once with status PROGRAM_NOT_STARTED (`event: exit`
 * 127; for chat, the OpenAI error chunk or a 500 error JSON). 0, or -1
 * with errno (ENOMEM, or the loop refused a pipe: nothing runs; the
 * caller ends s). */
int program_start(struct programs *rs, struct stream *s, enum program_mode mode, const char *path,
              const char *name, const char *model, char **env, char **body, size_t body_len,
              long long now);

#endif
